import * as fs from 'node:fs';
import * as path from 'node:path';

/** An S3 location as the API names it. */
export interface S3ObjectRef { Bucket: string; Name: string; Version?: string }

export type DatasetType = 'TRAIN' | 'TEST';
export type DatasetStatus = 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'CREATE_FAILED' | 'UPDATE_IN_PROGRESS' | 'UPDATE_COMPLETE'
  | 'UPDATE_FAILED' | 'DELETE_IN_PROGRESS';
export type VersionStatus = 'TRAINING_IN_PROGRESS' | 'TRAINING_COMPLETED' | 'TRAINING_FAILED' | 'STARTING' | 'RUNNING' | 'FAILED'
  | 'STOPPING' | 'STOPPED' | 'DELETING' | 'COPYING_IN_PROGRESS' | 'COPYING_COMPLETED' | 'COPYING_FAILED';
export type ModelKind = 'IMAGE_LEVEL_LABELS' | 'OBJECT_LOCALIZATION';

/** One dataset entry, keyed by its source-ref. */
export interface EntryRecord {
  sourceRef: string;
  /** The line as imported (what training validates again). */
  line: string;
  /** The line with §6.4 `errors` arrays, as ListDatasetEntries returns it. */
  annotated: string;
  /** Distinct labels of the entry's valid annotations. */
  labels: string[];
  /** One label per valid bounding box. */
  boxLabels: string[];
  hasErrors: boolean;
}

export interface PolicyRecord { name: string; revisionId: string; document: string; createdAt: number; updatedAt: number }

export interface ProjectRecord {
  arn: string;
  name: string;
  createdAt: number;
  status: 'CREATED' | 'DELETING';
  feature: string;
  autoUpdate?: string;
  tags: Record<string, string>;
  datasets: Partial<Record<DatasetType, string>>;
  policies: PolicyRecord[];
}

export interface DatasetRecord {
  arn: string;
  projectArn: string;
  type: DatasetType;
  createdAt: number;
  updatedAt: number;
  status: DatasetStatus;
  statusMessage?: string;
  statusMessageCode?: 'SUCCESS' | 'SERVICE_ERROR' | 'CLIENT_ERROR';
  entries: EntryRecord[];
  tags: Record<string, string>;
}

/** A JSON value the API returns as is (TrainingDataResult and friends). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface VersionRecord {
  arn: string;
  projectArn: string;
  name: string;
  createdAt: number;
  status: VersionStatus;
  statusMessage?: string;
  description?: string;
  outputConfig: { S3Bucket: string; S3KeyPrefix?: string };
  kmsKeyId?: string;
  tags: Record<string, string>;
  minInferenceUnits?: number;
  maxInferenceUnits?: number;
  trainingEndAt?: number;
  billableTrainingSeconds?: number;
  evaluationResult?: { F1Score: number; Summary: { S3Object: S3ObjectRef } };
  manifestSummary?: { S3Object: S3ObjectRef };
  trainingDataResult?: Json;
  testingDataResult?: Json;
  sourceVersionArn?: string;
  /** Key of the trained model in the model store. */
  modelId?: string;
  kind?: ModelKind;
  /** Assumed threshold per label, 0..1 (reference §7). */
  thresholds?: Record<string, number>;
  /** Closed inference-unit seconds plus the open interval, for the meter. */
  meter: { inferenceUnitSeconds: number; runningSince?: number; runningUnits?: number };
}

export type JobKind = 'datasetCreate' | 'datasetUpdate' | 'training' | 'start' | 'stop' | 'deleteVersion' | 'deleteDataset'
  | 'deleteProject' | 'copy';

/** The outcome of a job's work; applied to the target once the clock reaches startedAt + durationMs. */
export interface JobResult {
  durationMs: number;
  ok: boolean;
  message?: string;
  code?: string;
  /** datasetCreate/datasetUpdate: the entries to store (create) or upsert (update). */
  entries?: EntryRecord[];
  /** datasetUpdate by DistributeDatasetEntries: replace rather than upsert. */
  replace?: boolean;
  /** training and copy: the fields to set on the version. */
  version?: Partial<VersionRecord>;
}

export interface JobRecord {
  id: number;
  kind: JobKind;
  target: string;
  startedAt: number;
  /** Known up front for most jobs; training from external manifests learns it from the work. */
  durationMs?: number;
  /** Set when the work has finished (persisted, so a restart keeps finished work). */
  result?: JobResult;
}

export interface EmulatorState {
  projects: ProjectRecord[];
  datasets: Record<string, DatasetRecord>;
  versions: Record<string, VersionRecord>;
  jobs: JobRecord[];
  nextJobId: number;
  /** Final meter readings of deleted versions: what was spent stays spent. */
  retired: Array<{ projectVersionArn: string; trainingSeconds: number; inferenceUnitSeconds: number; status: string }>;
}

export function emptyState(): EmulatorState {
  return { projects: [], datasets: {}, versions: {}, jobs: [], nextJobId: 1, retired: [] };
}

/** Saves and loads the state and the trained models under a directory; every write is atomic (temp file + rename). */
export class StateStore {
  constructor(private readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
  }

  load(): EmulatorState | undefined {
    const file = path.join(this.dir, 'state.json');
    if (!fs.existsSync(file)) return undefined;
    return JSON.parse(fs.readFileSync(file, 'utf8')) as EmulatorState;
  }

  save(state: EmulatorState): void {
    writeAtomic(path.join(this.dir, 'state.json'), JSON.stringify(state));
  }

  saveModel(id: string, model: unknown): void {
    writeAtomic(this.modelFile(id), JSON.stringify(model));
  }

  loadModel(id: string): unknown {
    const file = this.modelFile(id);
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
  }

  deleteModel(id: string): void {
    fs.rmSync(this.modelFile(id), { force: true });
  }

  private modelFile(id: string): string {
    return path.join(this.dir, 'models', `${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
