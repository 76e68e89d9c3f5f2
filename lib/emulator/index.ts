import '../shared/offline-guard';

export * from './clock';
export * from './local-cloud';
export type { AccountQuotas, ForcedStart, ForcedTraining } from './rekognition/core';
export { DURATIONS } from './rekognition/core';
export * from './rekognition/emulator';
export { ERROR_NAMES, ServiceError } from './rekognition/errors';
export type { FaultSpec, RandomFaultSpec } from './rekognition/faults';
export type { LocalS3, LocalS3Options } from './s3';
export { startLocalS3 } from './s3';
export * from './state-dir-lock';
