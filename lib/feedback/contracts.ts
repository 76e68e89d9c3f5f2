/**
 * What the FeedbackLoop's state machine passes to its function, and what it gets back. Shared by the construct and
 * the handler (no aws-cdk-lib here).
 */

/** Where review manifests are left in the review bucket. */
export const REVIEWS_PREFIX = 'reviews/';
/** Where reviewers put reviewed manifests in the review bucket. */
export const REVIEWED_PREFIX = 'reviewed/';
/** Under the merged prefix: the key of the latest merged manifest, so the next merge builds on it. */
export const LATEST_POINTER = 'latest';
/** EventBridge detail types of the loop's events (source: the model workflow's). */
export const DETAIL_TYPE_REVIEW_READY = 'Custom Labels Review Manifest Ready';
export const DETAIL_TYPE_MANIFEST_MERGED = 'Custom Labels Training Manifest Merged';

/** The function's environment: the loop's configuration. */
export interface FeedbackSettings {
  readonly reviewBucket: string;
  readonly trainingBucket: string;
  readonly trainingKey: string;
  readonly mergedPrefix: string;
  /** 0..1 */
  readonly belowConfidence: number;
  /** 0..1 */
  readonly sampleShare: number;
}

/** The state machine's input, passed to the function as it is. */
export interface FeedbackRequest {
  /** `s3://bucket/key` of a predictions manifest: choose what to review. */
  readonly predictions?: string;
  /** `s3://<review bucket>/reviewed/...` of one or more reviewed manifests: merge them. */
  readonly reviewed?: string | string[];
  /** Merge into this manifest (`s3://<training bucket>/key`) instead of the latest merged one (or the training manifest). */
  readonly base?: string;
  /** Seed of the review sample. @default the execution's name */
  readonly seed?: string;
}

export interface ReviewResult {
  readonly action: 'select';
  /** `s3://` of the review manifest, or '' when nothing needs review. */
  readonly reviewManifest: string;
  readonly images: number;
  readonly lowConfidence: number;
  readonly sampled: number;
  readonly skippedLines: number;
}

export interface MergeResult {
  readonly action: 'merge';
  /** `s3://` of the merged manifest: train on it with TrainingData.fromS3Manifest(bucket, key). */
  readonly trainingManifest: string;
  readonly bucket: string;
  readonly key: string;
  /** The manifest the reviews were merged into. */
  readonly base: string;
  /** False when the merge gave the base's content back (the same key: no retraining). */
  readonly changed: boolean;
  readonly added: number;
  readonly replaced: number;
  readonly older: number;
  readonly notReviewed: number;
  readonly lines: number;
}
