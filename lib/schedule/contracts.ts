/**
 * What the ModelSchedule state machine ("Control") passes to its function, and what it gets back. Shared by the
 * construct and the handler (no aws-cdk-lib here).
 */

/** The ledger of running time per day, in the schedule's bucket. */
export const LEDGER_KEY = 'ledger.json';
/** The error of a model that could not be started (its start FAILED, or the version is gone or not servable). */
export const MODEL_ERROR = 'ModelNotAvailable';
/** The error of a stop that did not reach STOPPED. */
export const STOP_ERROR = 'ModelStopFailed';
/** Status checks while a start or a stop is under way: 30 s apart. */
export const CHECK_SECONDS = 30;
export const MAX_START_CHECKS = 120;
export const MAX_STOP_CHECKS = 40;

/** Where a lease document lives: the schedule's bucket, or a BatchAnalysis output bucket and prefix. */
export interface LeaseLocation {
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
}

/** The function's environment: the schedule's configuration. */
export interface ScheduleSettings {
  /** The holder name in the lease documents (the construct's path). */
  readonly holder: string;
  /** The version, when fixed (an imported version). */
  readonly versionArn?: string;
  /** The project's ARN, when known at synth (else looked up by name). */
  readonly projectArn?: string;
  /** The schedule's own bucket: its lease document and ledger. */
  readonly bucket: string;
  /** The lease documents of BatchAnalysis constructs sharing the model. */
  readonly batchLeases: readonly LeaseLocation[];
  readonly minInferenceUnits: number;
  readonly maxInferenceUnits?: number;
  /** IANA name: the ledger's days are this zone's days. */
  readonly timeZone: string;
  readonly guardSeconds: number;
  readonly maxRunningSeconds?: number;
  readonly dailyInferenceUnitHoursBudget?: number;
  /** The schedule's hold on the model expires this long after it was taken or refreshed (by the guard). */
  readonly holdSeconds: number;
}

/** What the state machine sends: `action` and what that action needs. */
export interface ScheduleEvent {
  readonly action: 'start' | 'startStatus' | 'stop' | 'stopStatus' | 'guard';
  readonly versionArn: string;
  readonly checks?: number;
  /** stopStatus: the previous result of the wait loop (its alarm is passed on). */
  readonly previous?: StopResult;
}

/** `start`, `startStatus`: the model and whether it serves yet. */
export interface StartResult {
  readonly versionArn: string;
  readonly status: string;
  /** True when this call started the model. */
  readonly started: boolean;
  /** The start was refused because today's budget is spent: `alarm` says why. */
  readonly refused: boolean;
  readonly alarm?: string;
  readonly checks: number;
}

/** `stop`, `stopStatus`, `guard`: whether a stop is under way and, for a guard stop, the alarm to publish. */
export interface StopResult {
  readonly versionArn: string;
  readonly status: string;
  /** True while the state machine must wait for STOPPED. */
  readonly stopping: boolean;
  /** Set when the model was left to other holders (a batch still runs). */
  readonly leftTo?: string[];
  /** The alarm message, when a cost guard stopped the model. */
  readonly alarm?: string;
  readonly checks: number;
}

/**
 * The running-time ledger: updated by each guard run, with S3 conditional writes. Inference-unit hours are counted as
 * running time × the version's MaxInferenceUnits (MinInferenceUnits without auto scaling): an upper bound, since the
 * API does not tell how many units run at a time ([inferred]); the guard errs towards stopping early.
 */
export interface Ledger {
  /** The day (YYYY-MM-DD in the schedule's time zone) `unitSeconds` belongs to. */
  readonly day: string;
  /** Inference-unit seconds counted on `day`. */
  readonly unitSeconds: number;
  /** Epoch ms of the last guard run, and what it saw. */
  readonly checkedAt: number;
  readonly status: string;
  readonly units: number;
  readonly versionArn: string;
  /** Epoch ms since when the model has run without a break (counted from the check before the one that first saw it). */
  readonly runningSince?: number;
}

/** Which limit a guard run found passed (or about to be passed before the next run). */
export interface GuardVerdict {
  readonly limit: 'dailyInferenceUnitHoursBudget' | 'maxRunningTime';
  /** The figure now: inference-unit hours counted today, or hours running without a break. */
  readonly figure: number;
  /** The figure at the next guard run if the model kept running: the guard stops when this passes `max`. */
  readonly next: number;
  readonly max: number;
}
