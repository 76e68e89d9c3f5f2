/**
 * The manifest toolkit's contract: codes, messages, limits and the report shape.
 *
 * Codes and messages are the service's own (reference §6.3). Where the service drops a line silently
 * and documents no code, we name one ourselves and say so.
 *
 * Pure: no aws-cdk-lib and no AWS SDK here (see design-notes "Dependency rules").
 */

/** Limits the service enforces on a manifest and its images (reference §6.1, §6.2). */
export const MANIFEST_LIMITS = {
  /** Manifest file size, bytes (1 GB). */
  maxFileBytes: 1024 * 1024 * 1024,
  /** Dataset objects (lines) per manifest; blank and invalid lines count too. */
  maxLines: 250_000,
  /** A JSON line longer than this many characters is dropped. */
  maxLineChars: 100_000,
  /** Cumulative share of invalid lines (warnings excluded) above which the manifest fails. */
  maxInvalidRatio: 0.2,
  minLabelsClassification: 2,
  minLabelsDetection: 1,
  maxLabels: 250,
  /** ERROR_INVALID_LABEL_NAME_LENGTH fires above this (reference §10.2: the manifest rule says 256). */
  maxLabelNameChars: 256,
  maxBoxesPerImage: 50,
  /** Share of training labels the test labels must cover. */
  minLabelOverlap: 0.5,
  minImageSide: 64,
  maxImageSide: 4096,
  maxImageBytes: 15 * 1024 * 1024,
  maxAspectRatio: 20,
  /** Boxes are checked after any image side over this is scaled down to it. */
  boxScaleSide: 1280,
  /** Guidance, not enforced: fewer images than this for a label draws a warning in stats. */
  recommendedImagesPerLabel: 10,
} as const;

/** How the service reads a manifest: image-level labels, bounding boxes, or neither could be told. */
export type UseCase = 'IMAGE_LEVEL_LABELS' | 'OBJECT_LOCALIZATION' | 'NOT_DETERMINED';

/** A `creation-date` the service accepts: a date-time, optionally with fractions and a UTC zone (reference §5). */
export const CREATION_DATE_FORMAT = /^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d{1,9})?(Z|[+-]00:?00)?$/;

export const CLASSIFICATION_TYPE = 'groundtruth/image-classification';
export const DETECTION_TYPE = 'groundtruth/object-detection';

/** Where inside a JSON line an error belongs (reference §6.4). */
export type ErrorLevel = 'line' | 'attribute' | 'annotation' | 'metadata' | 'file';

/** The service's error codes and messages. `{}` in a message is replaced by the caller. */
export const ERRORS = {
  // A. terminal manifest-file errors
  ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT: 'The manifest file extension or contents are invalid.',
  ERROR_EMPTY_MANIFEST: 'The manifest file is empty.',
  ERROR_MANIFEST_SIZE_TOO_LARGE: 'The manifest file size exceeds the maximum supported size.',
  ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM: 'The manifest file has too many rows.',
  ERROR_TOO_MANY_RECORDS_IN_ERROR: 'The manifest file has too many terminal errors.',
  ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE: "The manifest file doesn't have enough labeled images to distribute the dataset.",
  ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET: 'The S3 bucket permissions are incorrect.',
  ERROR_CANNOT_WRITE_OUTPUT_S3_BUCKET: 'Unable to write to output S3 bucket.',
  // B. terminal manifest-content errors
  ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST: 'The manifest file contains too many invalid rows.',
  ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS: 'The manifest file contains images from multiple S3 buckets.',
  ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET: 'The permissions for the images S3 bucket are invalid.',
  ERROR_FAILED_IMAGES_S3_COPY: 'Failed to copy images from S3 bucket.',
  ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_AUTOSPLIT: 'The manifest file contains insufficient labeled images per label to perform auto-split.',
  ERROR_MANIFEST_TOO_FEW_LABELS: 'The manifest file has too few labels.',
  ERROR_MANIFEST_TOO_MANY_LABELS: 'The manifest file has too many labels.',
  ERROR_INSUFFICIENT_LABEL_OVERLAP: 'Less than 50% label overlap between the training and testing manifest files.',
  ERROR_MANIFEST_TOO_FEW_USABLE_LABELS: 'The manifest file has too few usable labels.',
  ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP: 'Less than 50% usable label overlap between the training and testing manifest files.',
  // D. non-terminal JSON-line errors
  ERROR_MISSING_SOURCE_REF: 'The source-ref key is missing.',
  ERROR_INVALID_SOURCE_REF_FORMAT: 'The format of the source-ref value is invalid.',
  ERROR_NO_LABEL_ATTRIBUTES: 'No label attributes found.',
  ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT: 'The format of the label attribute {} is invalid.',
  ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT: 'The format of the label attribute metadata is invalid.',
  ERROR_NO_VALID_LABEL_ATTRIBUTES: 'No valid label attributes found.',
  ERROR_MISSING_BOUNDING_BOX_CONFIDENCE: 'One or more bounding boxes has a missing confidence value.',
  ERROR_MISSING_CLASS_MAP_ID: 'One of more class ids is missing from the class map.',
  ERROR_INVALID_JSON_LINE: 'The JSON Line has an invalid format.',
  ERROR_INVALID_IMAGE: 'The image is invalid. Check S3 path and/or image properties.',
  ERROR_INVALID_IMAGE_DIMENSION: 'The image dimension(s) do not conform to allowed dimensions.',
  ERROR_INVALID_BOUNDING_BOX: 'The bounding box has off frame values.',
  ERROR_BOUNDING_BOX_TOO_SMALL: 'The height and width of the bounding box is too small.',
  ERROR_TOO_MANY_BOUNDING_BOXES: 'There are more bounding boxes than the allowed maximum.',
  ERROR_NO_VALID_ANNOTATIONS: 'No valid annotations found.',
  // [inferred] the reference gives the condition but not the text of these two.
  ERROR_UNSUPPORTED_USE_CASE_TYPE: 'The use case type {} is not supported.',
  ERROR_INVALID_LABEL_NAME_LENGTH: 'The label name {} is longer than 256 characters.',
  // [inferred] §6.3 C: the service drops these lines silently and documents no code; we name them so a
  // user can find them. They count as invalid lines.
  ERROR_JSON_LINE_TOO_LONG: 'The JSON Line is longer than 100,000 characters and is dropped.',
  ERROR_DUPLICATE_SOURCE_REF: 'The source-ref appears on an earlier line; an image may appear only once per dataset.',
  // [inferred] the train/test rule "same images in train and test must not happen" has no documented code.
  ERROR_IMAGE_IN_TRAINING_AND_TESTING: 'The image appears in both the training and the testing manifest.',
  // [inferred] per-label minimum (§6.2 "valid objects per label ≥ 1") has no code of its own.
  ERROR_LABEL_WITHOUT_VALID_IMAGES: 'The label {} has no valid images.',
} as const;

export const WARNINGS = {
  WARNING_UNANNOTATED_RECORD: 'Record is unannotated.',
  WARNING_NO_ANNOTATIONS: 'No annotations provided.',
  WARNING_NO_ATTRIBUTE_ANNOTATIONS: 'No attribute annotations provided.',
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type WarningCode = keyof typeof WARNINGS;

/** One problem found in a manifest. */
export interface ManifestIssue {
  /** 1-based line number; null for file-level errors. */
  readonly line: number | null;
  readonly code: string;
  readonly message: string;
  /** Where in the line it belongs; 'file' when `line` is null. */
  readonly level: ErrorLevel;
  /** The label attribute key, for attribute, annotation and metadata errors. */
  readonly attribute?: string;
  /** The index into `annotations`, for annotation errors. */
  readonly annotationIndex?: number;
  /** Our own explanation (e.g. "4097x100 px"); never written into annotated lines, which carry only code and message. */
  readonly detail?: string;
  /** For ERROR_INVALID_JSON_LINE: the 1-based column (in characters) where the line stops being JSON. */
  readonly column?: number;
}

export interface LabelCount {
  /** Valid lines that carry the label (image-level or at least one box). */
  images: number;
  /** Valid bounding boxes of the label. */
  boxes: number;
}

/** The validation report; `toJSON` of it is the CLI's `--format json` output. */
export interface ValidationReport {
  readonly valid: boolean;
  readonly useCase: UseCase;
  readonly totalLines: number;
  readonly validLines: number;
  readonly invalidLines: number;
  readonly ignoredLines: number;
  readonly labels: Record<string, LabelCount>;
  readonly errors: ManifestIssue[];
  readonly warnings: ManifestIssue[];
}
