import { AccessControl } from '../../iam/world';
import { VirtualClock } from '../clock';
import { TrainedModel } from '../learner';
import { CapacityTable, ModelCapacity } from './capacity';
import { notFound, ServiceError } from './errors';
import { LocalS3Access } from './s3';
import {
  DatasetRecord, emptyState, EmulatorState, EntryRecord, JobKind, JobRecord, JobResult, ProjectRecord, StateStore, VersionRecord,
} from './state';

/** Forces the outcome of trainings whose version name matches (a glob with `*` and `?`, or exact; absent = all). */
export interface ForcedTraining {
  readonly versionName?: string;
  /** Scales the evaluation so that the overall F1 is this (0..1). */
  readonly f1?: number;
  /** Fails the training with this code; the message defaults to the toolkit's message for the code. */
  readonly failure?: { code: string; message?: string };
  /** How long training takes (virtual ms), instead of the data's size. */
  readonly durationMs?: number;
}

/**
 * Account quotas of Custom Labels. [inferred] The service's quota pages name quotas on concurrent trainings and on
 * inference units but we could not read their defaults: the emulator holds 2 trainings at once by default (refusing a
 * third with LimitExceededException) and no limit on inference units unless one is given.
 */
export interface AccountQuotas {
  /** Versions TRAINING_IN_PROGRESS at once in the account. @default 2 */
  readonly concurrentTrainings?: number;
  /** Inference units (minimum units of STARTING and RUNNING versions) at once in the account. @default - no limit */
  readonly inferenceUnits?: number;
}

export const DEFAULT_QUOTAS: Required<AccountQuotas> = { concurrentTrainings: 2, inferenceUnits: Number.POSITIVE_INFINITY };

/** Makes StartProjectVersion end in FAILED for matching versions. */
export interface ForcedStart {
  readonly versionName?: string;
  readonly fail: true;
  readonly message?: string;
}

/** Virtual durations of the asynchronous work (documented model; [inferred], the service publishes none but training's range). */
export const DURATIONS = {
  datasetBaseMs: 20_000,
  datasetPerLineMs: 20,
  trainingBaseMs: 30 * 60_000,
  trainingPerImageMs: 2_000,
  trainingMaxMs: 24 * 3600_000,
  startMs: 5 * 60_000,
  stopMs: 60_000,
  deleteMs: 10_000,
  copyMs: 10 * 60_000,
} as const;

/**
 * The least virtual duration of the jobs whose duration is known only from their result (an import's lines): a request
 * made before it cannot find the job due, so it need not wait for the job's work.
 */
const MIN_DURATION_MS: Partial<Record<JobKind, number>> = {
  datasetCreate: DURATIONS.datasetBaseMs,
  datasetUpdate: DURATIONS.datasetBaseMs,
};

export function trainingDurationMs(trainingImages: number): number {
  return Math.min(DURATIONS.trainingMaxMs, DURATIONS.trainingBaseMs + DURATIONS.trainingPerImageMs * trainingImages);
}

export function datasetDurationMs(lines: number): number {
  return DURATIONS.datasetBaseMs + DURATIONS.datasetPerLineMs * lines;
}

/** Epoch ms to the wire's epoch seconds. */
export function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

export function globMatch(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(value);
}

/**
 * State, clock, jobs and stores shared by the operation handlers.
 *
 * A job is an asynchronous transition: its work (reading S3, validating, training) runs eagerly in the background,
 * and its result is applied when the clock reaches startedAt + durationMs AND the work has finished. `settle` applies
 * every due job, in ready-time order, before each operation runs, so every response sees a consistent world.
 */
export class EmulatorCore {
  state: EmulatorState;
  readonly models = new Map<string, TrainedModel>();
  readonly forcedTrainings: ForcedTraining[] = [];
  readonly forcedStarts: ForcedStart[] = [];
  /** What each running model takes (throughput, latency, auto scaling). */
  readonly capacity: CapacityTable;
  private readonly work = new Map<number, Promise<JobResult>>();
  private settling: Promise<void> = Promise.resolve();
  closed = false;

  constructor(
    readonly clock: VirtualClock,
    readonly region: string,
    readonly accountId: string,
    readonly s3: LocalS3Access,
    readonly tpsPerInferenceUnit: number,
    readonly log: (line: string) => void,
    private readonly store?: StateStore,
    /** Checks the caller's own S3 rights where the service uses them; absent: nothing is checked. */
    readonly access?: AccessControl,
    readonly quotas: Required<AccountQuotas> = DEFAULT_QUOTAS,
    capacities: readonly ModelCapacity[] = [],
  ) {
    this.capacity = new CapacityTable(tpsPerInferenceUnit, capacities);
    this.state = emptyState();
    const loaded = store?.load();
    if (loaded) this.restore(loaded);
  }

  arnPrefix(): string {
    return `arn:aws:rekognition:${this.region}:${this.accountId}`;
  }

  /** A creation timestamp whose ARN is unique: two resources made in the same virtual ms get consecutive ms. */
  uniqueStamp(make: (ms: number) => string, taken: (arn: string) => boolean): { ms: number; arn: string } {
    let ms = this.clock.now();
    while (taken(make(ms))) ms += 1;
    return { ms, arn: make(ms) };
  }

  project(arn: string): ProjectRecord {
    const project = this.state.projects.find((p) => p.arn === arn);
    if (!project) throw notFound('project', arn);
    return project;
  }

  dataset(arn: string): DatasetRecord {
    const dataset = this.state.datasets[arn];
    if (!dataset) throw notFound('dataset', arn);
    return dataset;
  }

  version(arn: string): VersionRecord {
    const version = this.state.versions[arn];
    if (!version) throw notFound('project version', arn);
    return version;
  }

  /** The project, dataset or version an ARN names (tagging works on all three). */
  taggable(arn: string): { tags: Record<string, string> } {
    const found = this.state.projects.find((p) => p.arn === arn) ?? this.state.datasets[arn] ?? this.state.versions[arn];
    if (!found) throw new ServiceError('ResourceNotFoundException', `The resource ${arn} was not found.`);
    return found;
  }

  /** `startedAt`: when the work began in virtual time (a training starts when its version is created). @default now */
  startJob(kind: JobKind, target: string, durationMs: number | undefined, work: () => Promise<JobResult> | JobResult,
    startedAt = this.clock.now()): JobRecord {
    const job: JobRecord = { id: this.state.nextJobId++, kind, target, startedAt, durationMs };
    this.state.jobs.push(job);
    const promise = Promise.resolve()
      .then(work)
      .catch((err: unknown): JobResult => {
        this.log(`job ${kind} ${target} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        return { durationMs: durationMs ?? MIN_DURATION_MS[kind] ?? 0, ok: false, code: 'SERVICE_ERROR',
          message: 'Amazon Rekognition experienced a service issue.' };
      })
      .then((result) => {
        job.result = result;
        this.work.delete(job.id);
        if (!this.closed) this.save();
        return result;
      });
    this.work.set(job.id, this.clock.hold(promise));
    return job;
  }

  /** Drops a pending job (e.g. a start cancelled by a stop). */
  cancelJobs(target: string, kind?: JobKind): void {
    this.state.jobs = this.state.jobs.filter((j) => j.target !== target || (kind !== undefined && j.kind !== kind));
  }

  pendingJob(target: string): JobRecord | undefined {
    return this.state.jobs.find((j) => j.target === target);
  }

  /** Applies every due job; serialised so that concurrent requests never apply a job twice. */
  settle(apply: (job: JobRecord, result: JobResult, at: number) => void): Promise<void> {
    const run = this.settling.then(() => this.settleNow(apply));
    this.settling = run.catch(() => undefined);
    return run;
  }

  private async settleNow(apply: (job: JobRecord, result: JobResult, at: number) => void): Promise<void> {
    let changed = false;
    const readyAt = (j: JobRecord): number => j.startedAt + (j.result?.durationMs ?? j.durationMs ?? Number.MAX_SAFE_INTEGER);
    const jobs = [...this.state.jobs].sort((a, b) => readyAt(a) - readyAt(b) || a.id - b.id);
    for (const job of jobs) {
      const known = job.result?.durationMs ?? job.durationMs;
      if (known !== undefined && !this.clock.reached(job.startedAt + known)) continue;
      // An import of 80,000 lines decides and validates for half a minute or more: a CreateDataset of the test set right
      // after the training set's must not wait for it (the workflow's call timed out), and cannot find it due yet.
      if (known === undefined && !this.clock.reached(job.startedAt + (MIN_DURATION_MS[job.kind] ?? 0))) continue;
      const result = job.result ?? await this.work.get(job.id);
      if (!result || !this.state.jobs.includes(job)) continue;
      const at = job.startedAt + result.durationMs;
      if (!this.clock.reached(at)) continue;
      this.state.jobs = this.state.jobs.filter((j) => j !== job);
      apply(job, result, at);
      changed = true;
    }
    if (changed) this.save();
  }

  /** Applies, synchronously, the due jobs whose work has finished (for readers that cannot wait, like the meter). */
  settleReady(apply: (job: JobRecord, result: JobResult, at: number) => void): void {
    const ready = this.state.jobs
      .filter((j) => j.result !== undefined && this.clock.now() >= j.startedAt + j.result.durationMs)
      .sort((a, b) => a.startedAt + a.result!.durationMs - (b.startedAt + b.result!.durationMs) || a.id - b.id);
    for (const job of ready) {
      this.state.jobs = this.state.jobs.filter((j) => j !== job);
      apply(job, job.result!, job.startedAt + job.result!.durationMs);
    }
    if (ready.length > 0) this.save();
  }

  /** Resolves when no background work is running. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work.values()]);
    await this.settling;
  }

  save(): void {
    this.store?.save(this.state);
  }

  putModel(id: string, model: TrainedModel): void {
    this.models.set(id, model);
    this.store?.saveModel(id, model);
  }

  model(id: string | undefined): TrainedModel | undefined {
    if (id === undefined) return undefined;
    let model = this.models.get(id);
    if (!model && this.store) {
      model = this.store.loadModel(id) as TrainedModel | undefined;
      if (model) this.models.set(id, model);
    }
    return model;
  }

  /** Forgets a model once no version uses it any more. */
  releaseModel(id: string | undefined): void {
    if (id === undefined || Object.values(this.state.versions).some((v) => v.modelId === id)) return;
    this.models.delete(id);
    this.store?.deleteModel(id);
  }

  forcedTraining(versionName: string): ForcedTraining | undefined {
    return [...this.forcedTrainings].reverse().find((f) => globMatch(f.versionName, versionName));
  }

  forcedStart(versionName: string): ForcedStart | undefined {
    return [...this.forcedStarts].reverse().find((f) => globMatch(f.versionName, versionName));
  }

  /**
   * Work that was running when a previous process stopped is lost: its job fails now with a service error
   * (finished work was saved with its result and still completes normally).
   */
  private restore(loaded: EmulatorState): void {
    this.state = { ...emptyState(), ...loaded };
    for (const job of this.state.jobs) {
      if (!job.result) {
        job.result = { durationMs: job.durationMs ?? 0, ok: false, code: 'SERVICE_ERROR', message: 'The emulator restarted before the operation finished.' };
      }
    }
  }
}

/** Upserts entries by source-ref, keeping the order of first appearance. */
export function upsertEntries(existing: EntryRecord[], changes: EntryRecord[]): EntryRecord[] {
  const index = new Map(existing.map((e, i) => [e.sourceRef, i]));
  const merged = [...existing];
  for (const entry of changes) {
    const at = index.get(entry.sourceRef);
    if (at === undefined) {
      index.set(entry.sourceRef, merged.length);
      merged.push(entry);
    } else {
      merged[at] = entry;
    }
  }
  return merged;
}
