// Type-checks everything (tests included), compiles the library with jsii, and bundles the Lambda handlers so that users
// of the library never run esbuild or Docker at synth time.
//
// jsii compiles tsconfig.build.json (lib, bin, lambda, bench) to dist/ as tsc would, and checks that what lib/index.ts
// exports can be used from other languages (no union types, no function-typed props, named structs ...): the
// assembly it writes (.jsii) is what jsii-pacmak turns into the Python package (`npm run package:python`). A jsii
// error or warning fails the build. The tests' type-check (tsc --noEmit over tsconfig.json) runs beside it: two
// processes, one per core.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { bundleLambdas, root } from './bundle-lambdas.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);

/** Runs a command with its output held back and printed whole when it ends (two at once would interleave). */
function run(what, command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (output.trim()) process.stderr.write(`${what}:\n${output.trimEnd()}\n`);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (exit ${code})`));
    });
  });
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, '.jsii'), { force: true });
// jsii 6 warns at every start that Node.js 20 is past its end of life (the README says which versions we test).
const jsiiEnv = { JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };
const results = await Promise.allSettled([
  run('tsc (tests included)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']),
  run('jsii', bin('jsii'), ['--fail-on-warnings'], jsiiEnv),
]);
const failed = results.filter((r) => r.status === 'rejected');
if (failed.length > 0) {
  for (const f of failed) console.error(f.reason.message);
  process.exit(1);
}
// The labeling page (plain HTML, CSS and JavaScript) is served from beside its compiled server module.
cpSync(join(root, 'lib', 'label', 'page'), join(root, 'dist', 'lib', 'label', 'page'), { recursive: true });
const handlers = await bundleLambdas();

const cli = join(root, 'dist', 'bin', 'custom-labels.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
console.error(`built: library, jsii assembly (.jsii), ${handlers.length} lambda bundle(s)`);
