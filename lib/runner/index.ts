// The offline runner: deploy, update and destroy a synthesized cloud assembly against the emulator and local S3.
import '../shared/offline-guard';

export * from '../shared/schedule-expression';
export * from './assembly';
export * from './custom-resources';
export * from './executions';
export * from './lambda-host';
export * from './local-runner';
export * from './local-state';
export * from './model-summary';
export * from './preflight';
export * from './report';
export * from './scheduler';
export * from './sdk-tasks';
export * from './state-machine';
