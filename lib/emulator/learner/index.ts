export { evaluateModel, withForcedF1 } from './evaluate';
export type { ImageFormat } from './image';
export { decodeImage, ImageDecodeError, imageFormat } from './image';
export { averagePrecision, chooseThreshold, f1Score, iou } from './metrics';
export { detect, trainModel } from './model';
export { evaluationSummaryJson, serviceTimestamp, testingOutputManifest } from './output';
export * from './types';
