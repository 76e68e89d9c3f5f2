export * from './clock';
export type { ForcedStart, ForcedTraining } from './rekognition/core';
export { DURATIONS } from './rekognition/core';
export * from './rekognition/emulator';
export { ERROR_NAMES, ServiceError } from './rekognition/errors';
export type { FaultSpec, RandomFaultSpec } from './rekognition/faults';
