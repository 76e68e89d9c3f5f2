export type { ScoredImage } from './evaluate';
export { evaluateModel, evaluateScored, scoreImage, withForcedF1 } from './evaluate';
export type { ImageFormat } from './image';
export { decodeImage, ImageDecodeError, imageFormat } from './image';
export { averagePrecision, chooseThreshold, f1Score, iou } from './metrics';
export { detect, Trainer, trainModel } from './model';
export { evaluationSummaryJson, serviceTimestamp, testingOutputManifest } from './output';
export * from './types';
