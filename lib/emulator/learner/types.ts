/**
 * The learner's contract with the emulator service: plain, JSON-serializable data only.
 *
 * Pure: no aws-cdk-lib, no AWS SDK, no I/O.
 */

/** A rectangle in pixels, origin at the top-left. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One image of a dataset with its ground truth. */
export interface LabeledImage {
  sourceRef: string;
  bytes: Buffer;
  /** Image-level labels (classification). */
  labels: string[];
  /** Detection boxes, in pixels. */
  boxes: Array<Box & { label: string }>;
}

export type ModelKind = 'IMAGE_LEVEL_LABELS' | 'OBJECT_LOCALIZATION';

/** What was learned for one label: the mean feature of its training examples. */
export interface LabelCentroid {
  /** Normalised 4x4x4 RGB histogram (64 bins) of foreground pixels. */
  hist: number[];
  /** Share of the example's bounding box covered by its foreground: a cheap shape cue. */
  fill: number;
  /** Training images (classification) or boxes (detection) the centroid was averaged over. */
  examples: number;
}

export interface TrainedModel {
  readonly kind: ModelKind;
  /** Labels learned, sorted by code point. */
  readonly labels: string[];
  readonly algorithm: 'centroid-histogram-v1';
  /** One per label, same order as `labels`. */
  readonly centroids: LabelCentroid[];
  readonly trainingImages: number;
}

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major. */
  data: Uint8Array;
}

export interface Detection {
  name: string;
  /** 0..1 */
  confidence: number;
  /** Ratios of the image size (detection models only). */
  box?: { left: number; top: number; width: number; height: number };
}

export interface LabelMetrics {
  label: string;
  /** The assumed threshold: the score in 0..1 at which F1 on the test set is best. */
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  /** Test images that carry the label (an image-level label, or at least one box). */
  testImages: number;
}

export interface EvaluatedImage {
  sourceRef: string;
  /** Every candidate the model produced, highest confidence first. */
  predictions: Detection[];
  /** Parallel to `predictions`: the prediction agrees with the ground truth (label present; for boxes, IoU >= 0.5). */
  presentInGroundTruth: boolean[];
  width: number;
  height: number;
}

export interface Evaluation {
  /** Micro-averaged over the evaluated labels at their assumed thresholds, so f1 = 2PR/(P+R). */
  f1: number;
  precision: number;
  recall: number;
  /** Detection only: mean over labels and IoU thresholds 0.50..0.95 (COCO style). */
  averagePrecision?: number;
  averageRecall?: number;
  /** Labels found in the test set's ground truth, sorted by F1 (highest first), then name. */
  perLabel: LabelMetrics[];
  /** Classification only: share of a ground-truth label's test images whose top prediction is each label. */
  confusionMatrix?: Array<{ GroundTruthLabel: string; PredictedLabel: string; Value: number }>;
  images: EvaluatedImage[];
  /** Labels of the model and of the test set, sorted; EvaluationDetails.Labels of the summary file. */
  labels?: string[];
}
