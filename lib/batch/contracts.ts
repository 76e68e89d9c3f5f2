/**
 * What the BatchAnalysis state machine passes to its function, and what it gets back. Shared by the construct and the
 * handler (no aws-cdk-lib here).
 */

/** Under the output prefix: the lease documents (one per model version) that say which batches need the model. */
export const LEASES_PREFIX = 'leases/';
/** Under the output prefix: upload windows (`windows/open.json`, one marker per upload under `windows/pending/`). */
export const WINDOWS_PREFIX = 'windows/';
export const OPEN_WINDOW_FILE = 'open.json';
export const PENDING_FOLDER = 'pending/';
/** Under a run's folder: the images of an upload window, a JSON array of `{ "Key": ... }` the Map reads. */
export const UPLOADS_FILE = 'uploads.json';
/** Under the output prefix: one folder per run (`runs/<execution name>/`). */
export const RUNS_PREFIX = 'runs/';
/** Under a run's folder: the results, one JSON Lines file per batch of images (one JSON object per image). */
export const IMAGES_FOLDER = 'images/';
/** Under a run's folder: the Distributed Map's own ResultWriter output. */
export const MAP_FOLDER = 'map/';
export const SUMMARY_FILE = 'summary.json';
export const PREDICTIONS_FILE = 'predictions.manifest';
/** The error a batch of images fails with when the model kept refusing calls for too long: the Map's Retry takes it. */
export const THROUGHPUT_ERROR = 'ThroughputExceeded';
/** The error of a model that could not be started (its start FAILED, or it was deleted). */
export const MODEL_ERROR = 'ModelNotAvailable';

/** The function's environment: the batch's configuration. */
export interface BatchSettings {
  /** The version to analyse with, when fixed (an imported version). */
  readonly versionArn?: string;
  /** The SSM parameter naming the serving version (a CustomLabelsModel), read at the start of each run. */
  readonly versionParameter?: string;
  /** The project's ARN, when known at synth (else looked up by name). */
  readonly projectArn?: string;
  readonly outputBucket: string;
  /** '' or ending in '/'. */
  readonly outputPrefix: string;
  readonly minInferenceUnits: number;
  readonly maxInferenceUnits?: number;
  /** A holder's entry expires this long after it was taken (the backstop of a run that never released). */
  readonly leaseSeconds: number;
  /** How long the model stays running after the last holder released it. */
  readonly stopWhenIdleSeconds: number;
  /** Passed to DetectCustomLabels; undefined: the model's own threshold. */
  readonly minConfidence?: number;
}

/** One holder of a model: a run that needs it (execution name), until `expiresAt` (epoch ms). */
export interface LeaseHolder {
  readonly expiresAt: number;
}

/**
 * The lease document of a model version, written with S3 conditional writes (If-None-Match / If-Match), so two runs
 * never both believe they changed it.
 */
export interface LeaseDocument {
  readonly versionArn: string;
  readonly holders: Record<string, LeaseHolder>;
  /** True when a lease holder started the model: only then does the lease stop it (a model someone else runs stays). */
  readonly startedByLease: boolean;
  /** Set by the last holder's release: the idle stop acts only if no one took and released the lease since. */
  readonly releasedBy?: string;
  readonly releasedAt?: number;
  /** A stop under way (epoch ms until which acquirers wait): the status then moves to STOPPING. */
  readonly stoppingUntil?: number;
}

/** The state machine's input on demand: nothing is needed; `prefix` narrows the input prefix for one run. */
export interface BatchRequest {
  /** A key prefix under the construct's input prefix. @default - the whole input prefix */
  readonly prefix?: string;
}

/** What the EventBridge rule sends the function for each upload under the input prefix. */
export interface UploadEvent {
  readonly action: 'upload';
  readonly stateMachineArn: string;
  /** The window's length: a run opened now waits this long before it collects. */
  readonly waitSeconds: number;
  /** The event's id: a marker per event, so a redelivered event is one upload and a re-upload is another. */
  readonly eventId: string;
  /** The object's key, as EventBridge gives it (not URL-encoded, unlike S3's own notifications). */
  readonly key: string;
}

/** The open window (`windows/open.json`): at most one at a time, created with If-None-Match: *. */
export interface OpenWindow {
  /** The execution that collects this window. */
  readonly run: string;
  readonly openedAt: number;
  readonly waitSeconds: number;
}

/** `collect`: how many images the window took, and the file the Map reads them from. */
export interface CollectedWindow {
  readonly runId: string;
  readonly images: number;
  /** Key (in the output bucket) of the window's images, a JSON array of `{ "Key": ... }`; absent when there are none. */
  readonly itemsKey?: string;
}

/** `acquire` and `status`: the model, and whether it serves yet. */
export interface ModelLease {
  readonly versionArn: string;
  /** The version's status after the call (STARTING, RUNNING, STOPPING, ...). */
  readonly status: string;
  /** True when this run started the model. */
  readonly started: boolean;
  /** How many batches of images the Map runs at once: from the model's units, see the handler. */
  readonly mapConcurrency: number;
  /** Status checks so far (bounds the wait loop). */
  readonly checks: number;
}

/** The Map's per-batch input (BatchInput), beside `Items`. */
export interface AnalyseBatchInput {
  readonly versionArn: string;
  readonly runId: string;
  readonly inputBucket: string;
}

/** One image's result: one line of a results file. */
export interface ImageResult {
  readonly image: string;
  readonly modelVersion: string;
  readonly labels?: LabelResult[];
  /** Image size in pixels, when the model found boxes (read from the image's header). */
  readonly imageSize?: { width: number; height: number };
  /** The service's error for an image it could not analyse (a poisoned image): the run goes on. */
  readonly error?: { code: string; message: string };
}

export interface LabelResult {
  readonly name: string;
  /** 0..100, as DetectCustomLabels gives it. */
  readonly confidence: number;
  /** Ratios of the image's width and height, as DetectCustomLabels gives them. */
  readonly boundingBox?: { left: number; top: number; width: number; height: number };
}

/** What a batch of images reports to the Map (kept small: the Map's results hold one per batch). */
export interface AnalyseResult {
  readonly resultsKey: string;
  readonly analysed: number;
  readonly failed: number;
  readonly throttled: number;
}

/** The run summary, written to `runs/<run>/summary.json` and returned as the execution's output. */
export interface BatchSummary {
  readonly runId: string;
  readonly modelVersion: string;
  /** Every image the run listed: analysed + failed + unprocessed. */
  readonly images: number;
  readonly analysed: number;
  /** Images the service refused (poisoned, too large, ...), by error code. */
  readonly failed: number;
  readonly failures: Record<string, number>;
  /** Images of batches that failed as a whole (beyond the tolerated failures' retries): listed in `unprocessedImages`. */
  readonly unprocessed: number;
  readonly unprocessedImages: string[];
  /** Batches of images that failed as a whole, by the error they failed with (e.g. ModelNotAvailable: the model was stopped). */
  readonly failedBatches: Record<string, number>;
  /** Calls refused for throughput, every one the batches saw (attempts the Map retried included); each was retried. */
  readonly throttled: number;
  /** Analysed images per label (the label with the highest confidence of each image). */
  readonly labels: Record<string, number>;
  readonly resultsPrefix: string;
  /** `s3://` of the predictions manifest (Ground Truth form, `human-annotated: "no"`): FeedbackLoop reads it. */
  readonly predictionsManifest: string;
}
