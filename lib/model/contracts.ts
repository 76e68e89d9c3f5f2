// The contract between CustomLabelsModel, its workflow and its handlers (lambda/prepare, gate, notify, model-version).
// Everything here is plain TypeScript: no aws-cdk-lib, no AWS SDK, so the handler bundles stay small.
import { createHash } from 'node:crypto';

/** CloudFormation resource type of the model-version custom resource. */
export const MODEL_VERSION_RESOURCE_TYPE = 'Custom::CustomLabelsModelVersion';
/** EventBridge `source` of the workflow's outcome events. */
export const EVENT_SOURCE = 'cdk-rekognition-custom-labels';
export const DETAIL_TYPE_SUCCEEDED = 'Custom Labels Model Version Succeeded';
export const DETAIL_TYPE_FAILED = 'Custom Labels Model Version Failed';
/** Namespace of the metrics the notify handler writes in embedded metric format. */
export const METRIC_NAMESPACE = 'CdkRekognitionCustomLabels';
export const METRIC_TRAINING_FAILED = 'TrainingFailed';
/**
 * Where a run's wait-condition handle URL waits for the notify step, in the data bucket: a presigned URL in the
 * execution input would be written to the state machine's log (includeExecutionData), where any reader could signal.
 */
export const WAIT_HANDLES_PREFIX = 'wait-handles/';

/** Value of the serving-version parameter while no version has been promoted (SSM refuses empty values). */
export const NO_SERVING_VERSION = 'none';

export const MODEL_TYPES = ['CLASSIFICATION', 'MULTI_LABEL_CLASSIFICATION', 'OBJECT_LOCALIZATION'] as const;
export type ModelTypeName = (typeof MODEL_TYPES)[number];

/** An S3 object in the shape the Rekognition API uses. */
export interface S3Location {
  readonly Bucket: string;
  readonly Name: string;
}

/**
 * Where one side of the data (training or testing) comes from when the workflow runs.
 * - asset: a manifest generated (and validated) at synth (gzip), whose source-refs name content-addressed keys
 *   (`s3://cdk-local-images/<sha256>/<name>`), with its images in zip packs; the prepare handler copies each pack's
 *   images into `images/` of the data bucket once and points every source-ref there.
 * - s3: a manifest already in S3 whose images are already in S3 (used as is).
 * - dataset: the entries of an existing dataset (ListDatasetEntries), copied into a manifest.
 * - split: (testing only) our deterministic stratified split of the training manifest.
 * - service: (testing only) Rekognition's own split (DistributeDatasetEntries into an empty TEST dataset).
 * - none: (testing only) the training asset was split at synth; the testing side is given as its own asset.
 */
export type DataSource =
  | { readonly kind: 'asset'; readonly manifest: S3Location; readonly packs?: readonly S3Location[] }
  | { readonly kind: 's3'; readonly manifest: S3Location; readonly objectVersion?: string }
  | { readonly kind: 'dataset'; readonly datasetArn: string };

export type TestSource = DataSource
  | { readonly kind: 'split'; readonly ratio: number; readonly seed: number }
  | { readonly kind: 'service' };

export interface GateSettings {
  /** Minimum overall F1 (0..1); 0 = no minimum. */
  readonly minF1: number;
  /** Minimum F1 of every label (0..1); 0 = no minimum. */
  readonly minLabelF1: number;
  /** The new version's overall F1 must be at least the serving version's. */
  readonly mustNotRegress: boolean;
}

export interface DeploymentSettings {
  readonly enabled: boolean;
  readonly minInferenceUnits: number;
  /** [inferred] equals min when the user gives no maximum: the service then has no room to scale, as without MaxInferenceUnits. */
  readonly maxInferenceUnits: number;
}

/** The model's settings, rendered by the construct into the custom resource's `Config` property (one JSON string). */
export interface ModelVersionConfig {
  /** A stable id of the model inside its stack (its construct path). */
  readonly modelPath: string;
  readonly projectArn: string;
  readonly projectName: string;
  readonly versionPrefix: string;
  /** Hash of what is known at synth: the generated manifests, image assets and training settings. */
  readonly synthFingerprint: string;
  /** `true` when the synth fingerprint covers all the data (local data): the version name is known at synth. */
  readonly fingerprintComplete: boolean;
  readonly modelType: ModelTypeName | '';
  readonly training: DataSource;
  readonly testing: TestSource;
  readonly dataBucket: string;
  readonly outputBucket: string;
  readonly kmsKeyId: string;
  readonly tags: Record<string, string>;
  readonly gate: GateSettings;
  readonly deployment: DeploymentSettings;
  readonly trainingTimeoutSeconds: number;
  readonly servingParameterName: string;
  /**
   * The wait-condition handle's presigned URL, or '' when the stack does not wait for training. Never part of a run's
   * input: the model-version handler stores it under {@link WAIT_HANDLES_PREFIX} for the notify step.
   */
  readonly waitHandleUrl: string;
  /** '' when no topic is given. */
  readonly notificationTopicArn: string;
  /** What a Delete of the model does to its versions: RETAIN keeps them stopped, DESTROY deletes them. */
  readonly removal: 'RETAIN' | 'DESTROY';
}

/** Properties of the custom resource as CloudFormation passes them (strings only). */
export interface ModelVersionProperties {
  readonly Config: string;
  readonly StateMachineArn: string;
}

/** Attributes the custom resource returns (`Fn::GetAtt`). */
export interface ModelVersionData {
  readonly VersionName: string;
  readonly ExecutionArn: string;
}

/**
 * What bounds every wait of a run. The waits for a busy project, a free training slot, the datasets and training share
 * one budget (`trainingTimeout`), counted in seconds waited; starting and stopping a model have counters of their own.
 */
export interface WorkflowLimits {
  /** Seconds the run may wait, in total, for the project, a training slot, its datasets and training. */
  readonly waitBudgetSeconds: number;
  /** The poll interval while the project is busy, a training slot is taken, or the version trains. */
  readonly trainingPollSeconds: number;
  /** The poll interval while datasets are deleted or imported. */
  readonly datasetPollSeconds: number;
  readonly startPollSeconds: number;
  readonly maxStartPolls: number;
  readonly maxStopPolls: number;
}

/**
 * History events one iteration of each wait loop adds (Step Functions writes two per Pass, Choice or Wait state and
 * five per Task; see definition.test.ts, which counts them on the definition itself).
 */
export const LOOP_EVENTS = { training: 13, datasets: 16, starting: 13 } as const;
/** Events the budget-bound loops may use, of the 25,000 an execution may have: the rest is for the fixed states and retries. */
export const LOOP_EVENT_BUDGET = 15_000;
/** Execution history quota of Standard workflows. */
export const MAX_HISTORY_EVENTS = 25_000;

/** Bounds of every wait loop for a training timeout (the shared wait budget). */
export function workflowLimits(trainingTimeoutSeconds: number): WorkflowLimits {
  // Poll as often as the history allows: the budget's loops together stay within LOOP_EVENT_BUDGET events.
  const interval = (floor: number, events: number): number => Math.max(floor, Math.ceil(trainingTimeoutSeconds * events / LOOP_EVENT_BUDGET));
  return {
    waitBudgetSeconds: Math.ceil(trainingTimeoutSeconds),
    trainingPollSeconds: interval(60, LOOP_EVENTS.training),
    datasetPollSeconds: interval(15, LOOP_EVENTS.datasets),
    // The SDK's own waiter polls a start every 30 s, 40 times (20 min); we allow 30 min, and 10 min for a stop.
    startPollSeconds: 30,
    maxStartPolls: 60,
    maxStopPolls: 20,
  };
}

/** The version, its ARN and output location, resolved for one run. */
export interface RunConfig extends Omit<ModelVersionConfig, 'waitHandleUrl'> {
  readonly versionName: string;
  /** The key (in the data bucket) of the object holding this run's wait-condition handle URL; '' when the stack does not wait. */
  readonly waitHandleKey: string;
  /** Whether `tags` has any (the datasets are tagged after they are created). */
  readonly hasTags: boolean;
  readonly outputPrefix: string;
  /** Key prefix of this run's manifests in the data bucket. */
  readonly manifestPrefix: string;
}

/** The state machine's execution input. Loop counters start at 0 (a Pass `Result` of 0 is ignored locally, so they live here). */
export interface WorkflowInput {
  readonly config: RunConfig;
  readonly limits: WorkflowLimits;
  readonly loops: {
    /** Seconds waited so far from the shared budget. */
    readonly waited: { s: number };
    readonly starting: { n: number };
    readonly stopping: { n: number };
  };
}

// ---- Lambda payloads -------------------------------------------------------------------------------------------

export interface ProbeRequest {
  readonly action: 'probe';
  readonly projectArn: string;
  readonly projectName: string;
  readonly versionName: string;
}

/** What the project looks like now. Absent things are '' so JSONPath never meets a missing field. */
export interface ProbeResult {
  /** Another version trains, or a dataset is being created, updated or deleted. */
  readonly busy: boolean;
  readonly busyReason: string;
  readonly version: { readonly exists: boolean; readonly arn: string; readonly status: string; readonly statusMessage: string };
  readonly datasets: { readonly train: string; readonly test: string };
}

export interface PrepareRequest {
  readonly action: 'prepare';
  readonly config: RunConfig;
}

export interface PrepareResult {
  readonly training: S3Location;
  /** Bucket and Name are '' when `serviceSplit`. */
  readonly testing: S3Location;
  readonly serviceSplit: boolean;
  readonly trainingLines: number;
  readonly testingLines: number;
  readonly images: number;
}

export interface GateRequest {
  readonly projectArn: string;
  readonly versionName: string;
  readonly gate: GateSettings;
  /** The serving version's ARN, or NO_SERVING_VERSION. */
  readonly servingVersionArn: string;
}

export interface LabelScore {
  readonly label: string;
  readonly f1: number;
}

export interface GateResult {
  readonly passed: boolean;
  /** Why it failed (names the label and figure), or a one-line summary when it passed. */
  readonly reason: string;
  readonly versionArn: string;
  readonly status: string;
  readonly f1: number;
  /** -1 when nothing serves. */
  readonly servingF1: number;
  readonly labels: LabelScore[];
  /** The evaluation report's S3 URI (beside the evaluation summary), or '' when it could not be written. */
  readonly report: string;
  /** Why the report could not be written, or ''. */
  readonly reportError: string;
}

/** A Catch's output, or one we build for a failed status. `details` carries a service description when there is one. */
export interface WorkflowError {
  readonly Error: string;
  readonly Cause?: string;
  readonly details?: unknown;
}

export interface NotifyRequest {
  readonly action: 'success' | 'failure';
  /** The whole state at that point. */
  readonly state: {
    readonly config: RunConfig;
    readonly version?: { readonly arn?: string };
    readonly gate?: Partial<GateResult>;
    readonly serving?: { readonly arn?: string };
    readonly error?: WorkflowError;
    readonly stopPreviousError?: WorkflowError;
  };
}

export interface Outcome {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly detailType: string;
  readonly reason: string;
  /** The EventBridge detail (and the wait-condition Data). */
  readonly detail: {
    readonly status: 'SUCCEEDED' | 'FAILED';
    readonly projectArn: string;
    readonly projectName: string;
    readonly versionName: string;
    readonly versionArn: string;
    readonly f1: number;
    readonly deployed: boolean;
    readonly reason: string;
    /** The version's evaluation report (an HTML page, s3://...), or '' when the run ended before the gate wrote one. */
    readonly evaluationReport: string;
  };
  /** The SNS message text. */
  readonly message: string;
  readonly signalled: boolean;
}

// ---- pure helpers shared by construct and handlers --------------------------------------------------------------

/** A short, stable hash (hex) of its parts. */
export function fingerprint(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex').slice(0, 16);
}

/** `<prefix>-<16 hex>`: the version name for a data fingerprint (valid per the service's VersionName pattern). */
export function versionNameFor(prefix: string, dataFingerprint: string): string {
  return `${prefix}-${dataFingerprint}`;
}

/** Does `name` belong to the model with this prefix? (Another model's prefix may start with ours.) */
export function isVersionOfModel(name: string, prefix: string): boolean {
  return name.length === prefix.length + 17 && name.startsWith(`${prefix}-`) && /^[0-9a-f]{16}$/.test(name.slice(prefix.length + 1));
}

/** Step Functions execution names: 1..80 characters of [A-Za-z0-9_-]. */
export function executionNameFor(versionName: string, requestId: string): string {
  const safe = versionName.replace(/[^A-Za-z0-9_-]/g, '_');
  const suffix = fingerprint(requestId).slice(0, 8);
  return `${safe.slice(0, 80 - suffix.length - 1)}-${suffix}`;
}

/** The execution-name prefix of every run of one version (see executionNameFor). */
export function executionPrefixFor(versionName: string): string {
  return versionName.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - 9);
}

/** The key of the object that holds the wait-handle URL of the run named `executionName`. */
export function waitHandleKeyFor(executionName: string): string {
  return `${WAIT_HANDLES_PREFIX}${executionName}`;
}

/** The run's full configuration once the version name is known (without the handle URL: see {@link RunConfig.waitHandleKey}). */
export function runConfigFor(config: ModelVersionConfig, versionName: string, waitHandleKey = ''): RunConfig {
  const { waitHandleUrl: _url, ...rest } = config;
  return {
    ...rest,
    waitHandleKey,
    hasTags: Object.keys(config.tags).length > 0,
    versionName,
    outputPrefix: `output/${config.projectName}/${versionName}/`,
    manifestPrefix: `manifests/${config.projectName}/${versionName}/`,
  };
}

export function workflowInputFor(config: ModelVersionConfig, versionName: string, waitHandleKey = ''): WorkflowInput {
  return {
    config: runConfigFor(config, versionName, waitHandleKey),
    limits: workflowLimits(config.trainingTimeoutSeconds),
    loops: { waited: { s: 0 }, starting: { n: 0 }, stopping: { n: 0 } },
  };
}

/** Parses the `Config` property; throws naming what is wrong. */
export function parseModelVersionConfig(raw: unknown): ModelVersionConfig {
  if (typeof raw !== 'string') throw new Error(`Config must be a JSON string, got: ${typeof raw}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new Error(`Config is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error('Config must be a JSON object');
  const c = parsed as Record<string, unknown>;
  for (const key of ['projectArn', 'projectName', 'versionPrefix', 'synthFingerprint', 'dataBucket', 'outputBucket', 'servingParameterName']) {
    if (typeof c[key] !== 'string' || c[key] === '') throw new Error(`Config.${key} must be a non-empty string, got: ${JSON.stringify(c[key])}`);
  }
  for (const key of ['training', 'testing', 'gate', 'deployment']) {
    if (typeof c[key] !== 'object' || c[key] === null) throw new Error(`Config.${key} must be an object, got: ${JSON.stringify(c[key])}`);
  }
  if (typeof c.trainingTimeoutSeconds !== 'number' || c.trainingTimeoutSeconds <= 0) {
    throw new Error(`Config.trainingTimeoutSeconds must be a positive number, got: ${JSON.stringify(c.trainingTimeoutSeconds)}`);
  }
  return parsed as ModelVersionConfig;
}
