// aws-cdk-lib checks every synthesized template against CloudFormation's schemas and only warns (it downgrades its own
// errors to warnings): seconds per synth of a stack with a workflow, minutes over the suite. The offline runner checks
// what a deploy needs (resource types, properties it uses, limits); the workers inherit this from the parent.
process.env.CDK_VALIDATION ??= 'false';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking runs once in `npm run build`; per-file checking under ts-jest costs 3x the time and memory.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 60000,
};
