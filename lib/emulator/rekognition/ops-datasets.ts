import { createHash } from 'node:crypto';

import { Caller } from '../../iam/world';
import { mulberry32 } from '../../manifest/random';
import { ERRORS } from '../../manifest/types';
import { LineResult, validateManifest } from '../../manifest/validator';
import { readDenied } from './caller-access';
import { datasetDurationMs, DURATIONS, EmulatorCore, seconds } from './core';
import { inUse, invalidParameter, notReady, ServiceError } from './errors';
import { Handler } from './ops-projects';
import { paginate } from './pagination';
import { Params, readS3Object, RULES } from './params';
import { parseS3Uri } from './s3';
import { DatasetRecord, DatasetType, EntryRecord, JobResult, S3ObjectRef } from './state';

const IN_PROGRESS = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS']);
const COMPLETE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE']);
/** GroundTruthBlob: 1..5 MiB (reference §2). */
const MAX_CHANGES_BYTES = 5 * 1024 * 1024;

/** A validated line, as stored in a dataset. */
export function toEntry(line: LineResult): EntryRecord {
  const hasErrors = line.errors.length > 0;
  return {
    sourceRef: line.sourceRef ?? '',
    line: line.text,
    annotated: hasErrors ? line.annotated() : line.text,
    labels: [...line.labels],
    boxLabels: line.boxes.map((b) => b.label),
    hasErrors,
  };
}

/**
 * Validates JSON lines with CreateDataset semantics: dropped lines (§6.3 C) are not stored, lines with non-terminal
 * errors are stored with their `errors` arrays, and a terminal file error fails the whole operation.
 */
export async function importLines(content: Buffer): Promise<{ ok: true; entries: EntryRecord[] } | { ok: false; code: string; message: string }> {
  const entries: EntryRecord[] = [];
  const validation = await validateManifest(content, {
    role: 'dataset',
    onLine: (line) => {
      if (!line.dropped && line.sourceRef) entries.push(toEntry(line));
    },
  });
  const terminal = validation.errors.find((e) => e.line === null);
  if (!validation.valid && terminal) return { ok: false, code: terminal.code, message: terminal.message };
  return { ok: true, entries };
}

function lineCount(content: Buffer): number {
  let n = 0;
  for (let i = content.indexOf(10); i !== -1; i = content.indexOf(10, i + 1)) n += 1;
  return content.length > 0 && content[content.length - 1] !== 10 ? n + 1 : n;
}

function failure(code: string, message: string, lines: number): JobResult {
  return { durationMs: datasetDurationMs(lines), ok: false, code, message };
}

/**
 * The caller must be able to read every image of the imported lines itself (reference §9a): the first one it cannot
 * fails the import with ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET [inferred: the service's terminal code for this].
 */
async function imagesDenied(core: EmulatorCore, caller: Caller | undefined, entries: readonly EntryRecord[], lines: number):
Promise<JobResult | undefined> {
  if (!caller || !core.access) return undefined;
  const objects = entries.map((e) => parseS3Uri(e.sourceRef)).filter((o) => o !== undefined).map((o) => ({ bucket: o.bucket, key: o.key }));
  const denied = await readDenied(core.access, caller, objects);
  if (!denied) return undefined;
  core.log(`import: ${denied.message}`);
  return failure('ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET', ERRORS.ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET, lines);
}

async function importFromS3(core: EmulatorCore, source: S3ObjectRef, caller: Caller | undefined): Promise<JobResult> {
  const manifestDenied = await readDenied(core.access, caller, [{ bucket: source.Bucket, key: source.Name, version: source.Version }]);
  if (manifestDenied) {
    core.log(`import: ${manifestDenied.message}`);
    return failure('ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET', ERRORS.ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET, 0);
  }
  const content = await core.s3.get(source.Bucket, source.Name, source.Version);
  if (content === undefined) {
    return failure('ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT', ERRORS.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT, 0);
  }
  const lines = lineCount(content);
  const outcome = await importLines(content);
  if (!outcome.ok) return failure(outcome.code, outcome.message, lines);
  return await imagesDenied(core, caller, outcome.entries, lines) ?? { durationMs: datasetDurationMs(lines), ok: true, entries: outcome.entries };
}

function readDatasetArn(p: Params, name = 'DatasetArn'): string {
  return p.str(name, { ...RULES.datasetArn, required: true });
}

const createDataset: Handler = (core, p, { caller }) => {
  const projectArn = p.str('ProjectArn', { ...RULES.projectArn, required: true });
  const type = p.str('DatasetType', { values: ['TRAIN', 'TEST'], required: true }) as DatasetType;
  const tags = p.tags('Tags') ?? {};
  const source = p.obj('DatasetSource');
  let manifest: S3ObjectRef | undefined;
  let copyFrom: DatasetRecord | undefined;
  if (source) {
    const gt = source.obj('GroundTruthManifest');
    const sourceArn = source.str('DatasetArn', RULES.datasetArn);
    if ((gt === undefined) === (sourceArn === undefined)) {
      throw invalidParameter('DatasetSource must have exactly one of GroundTruthManifest and DatasetArn.');
    }
    if (gt) manifest = readS3Object(gt.obj('S3Object', true));
    if (sourceArn) copyFrom = core.dataset(sourceArn);
  }
  const project = core.project(projectArn);
  if (project.status === 'DELETING') throw inUse(`The project ${project.arn} is being deleted.`);
  const existing = project.datasets[type];
  if (existing !== undefined && core.state.datasets[existing]) {
    // [inferred] a project holds at most one dataset of each type; the reference picks ResourceAlreadyExists.
    throw new ServiceError('ResourceAlreadyExistsException', `The project already has a ${type} dataset: ${existing}.`);
  }
  if (copyFrom && !COMPLETE.has(copyFrom.status)) {
    throw invalidParameter(`The source dataset ${copyFrom.arn} is ${copyFrom.status}; it must be CREATE_COMPLETE or UPDATE_COMPLETE.`);
  }
  const base = project.arn.replace(/\/[0-9]+$/, '');
  const { ms, arn } = core.uniqueStamp((t) => `${base}/dataset/${type.toLowerCase()}/${t}`, (a) => core.state.datasets[a] !== undefined);
  core.state.datasets[arn] = {
    arn, projectArn: project.arn, type, createdAt: ms, updatedAt: ms, status: 'CREATE_IN_PROGRESS', entries: [], tags,
  };
  project.datasets[type] = arn;
  if (manifest) {
    const from = manifest;
    core.startJob('datasetCreate', arn, undefined, () => importFromS3(core, from, caller));
  } else {
    const entries = copyFrom ? copyFrom.entries.map((e) => ({ ...e })) : [];
    const durationMs = datasetDurationMs(entries.length);
    core.startJob('datasetCreate', arn, durationMs, () => ({ durationMs, ok: true, entries }));
  }
  return { DatasetArn: arn };
};

function stats(d: DatasetRecord): Record<string, number> {
  const labels = new Set<string>();
  let labeled = 0;
  let errors = 0;
  for (const e of d.entries) {
    if (e.labels.length > 0) labeled += 1;
    if (e.hasErrors) errors += 1;
    e.labels.forEach((l) => labels.add(l));
  }
  return { LabeledEntries: labeled, TotalEntries: d.entries.length, TotalLabels: labels.size, ErrorEntries: errors };
}

const describeDataset: Handler = (core, p) => {
  const d = core.dataset(readDatasetArn(p));
  return {
    DatasetDescription: {
      CreationTimestamp: seconds(d.createdAt),
      LastUpdatedTimestamp: seconds(d.updatedAt),
      Status: d.status,
      StatusMessage: d.statusMessage,
      StatusMessageCode: d.statusMessageCode,
      DatasetStats: stats(d),
    },
  };
};

const deleteDataset: Handler = (core, p) => {
  const d = core.dataset(readDatasetArn(p));
  if (IN_PROGRESS.has(d.status)) throw inUse(`The dataset ${d.arn} is ${d.status}; wait for it to finish.`);
  if (d.status !== 'DELETE_IN_PROGRESS') {
    d.status = 'DELETE_IN_PROGRESS';
    d.statusMessage = undefined;
    d.statusMessageCode = undefined;
    core.startJob('deleteDataset', d.arn, DURATIONS.deleteMs, () => ({ durationMs: DURATIONS.deleteMs, ok: true }));
  }
  return {};
};

/** List calls on a dataset in progress are refused with ResourceNotReady ([inferred], reference §4). */
function listable(core: EmulatorCore, p: Params): DatasetRecord {
  const d = core.dataset(readDatasetArn(p));
  if (IN_PROGRESS.has(d.status)) throw notReady(`The dataset ${d.arn} is ${d.status}.`);
  if (d.status === 'DELETE_IN_PROGRESS') throw inUse(`The dataset ${d.arn} is being deleted.`);
  return d;
}

const listDatasetEntries: Handler = (core, p) => {
  const containsLabels = p.strList('ContainsLabels', { min: 1, max: 10 }, RULES.datasetLabel);
  const labeled = p.bool('Labeled');
  const sourceRefContains = p.str('SourceRefContains', RULES.sourceRefContains);
  const hasErrors = p.bool('HasErrors');
  const d = listable(core, p);
  const matching = d.entries.filter((e) => (containsLabels === undefined || containsLabels.some((l) => e.labels.includes(l)))
    && (labeled === undefined || (e.labels.length > 0) === labeled)
    && (sourceRefContains === undefined || e.sourceRef.includes(sourceRefContains))
    && (hasErrors === undefined || e.hasErrors === hasErrors));
  const filters = { d: d.arn, containsLabels, labeled, sourceRefContains, hasErrors };
  const { page, nextToken } = paginate(matching, p, 'ListDatasetEntries', filters);
  return { DatasetEntries: page.map((e) => e.annotated), NextToken: nextToken };
};

const listDatasetLabels: Handler = (core, p) => {
  const d = listable(core, p);
  const counts = new Map<string, { EntryCount: number; BoundingBoxCount: number }>();
  for (const e of d.entries) {
    for (const l of e.labels) {
      const c = counts.get(l) ?? { EntryCount: 0, BoundingBoxCount: 0 };
      c.EntryCount += 1;
      counts.set(l, c);
    }
    for (const l of e.boxLabels) counts.get(l)!.BoundingBoxCount += 1;
  }
  const labels = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const { page, nextToken } = paginate(labels, p, 'ListDatasetLabels', d.arn);
  return { DatasetLabelDescriptions: page.map(([LabelName, LabelStats]) => ({ LabelName, LabelStats })), NextToken: nextToken };
};

const updateDatasetEntries: Handler = (core, p, { caller }) => {
  const arn = readDatasetArn(p);
  const changes = p.obj('Changes', true).blob('GroundTruth', { required: true, min: 1, max: MAX_CHANGES_BYTES })!;
  const d = core.dataset(arn);
  if (IN_PROGRESS.has(d.status) || d.status === 'DELETE_IN_PROGRESS') {
    throw inUse(`The dataset ${d.arn} is ${d.status}; wait for it to finish.`);
  }
  d.status = 'UPDATE_IN_PROGRESS';
  d.statusMessage = undefined;
  d.statusMessageCode = undefined;
  const lines = lineCount(changes);
  core.startJob('datasetUpdate', d.arn, undefined, async () => {
    const outcome = await importLines(changes);
    if (!outcome.ok) return failure(outcome.code, outcome.message, lines);
    return await imagesDenied(core, caller, outcome.entries, lines) ?? { durationMs: datasetDurationMs(lines), ok: true, entries: outcome.entries };
  });
  return {};
};

/** Share of TRAIN that DistributeDatasetEntries moves to TEST (reference §3). */
const DISTRIBUTE_SHARE = 0.2;

const distributeDatasetEntries: Handler = (core, p) => {
  const items = p.objList('Datasets', { required: true, min: 2, max: 2 })!;
  const arns = items.map((x) => readDatasetArn(x, 'Arn'));
  const datasets = arns.map((a) => core.dataset(a));
  const train = datasets.find((d) => d.type === 'TRAIN');
  const test = datasets.find((d) => d.type === 'TEST');
  if (!train || !test) throw invalidParameter('Datasets must hold one TRAIN and one TEST dataset.');
  if (train.projectArn !== test.projectArn) throw invalidParameter('The TRAIN and TEST datasets must belong to the same project.');
  for (const d of datasets) {
    if (!COMPLETE.has(d.status)) throw notReady(`The dataset ${d.arn} is ${d.status}.`);
  }
  // [inferred] the reference says TEST must be empty, not which error a non-empty one gives.
  if (test.entries.length > 0) throw invalidParameter(`The TEST dataset ${test.arn} must be empty to distribute entries into it.`);
  const durationMs = datasetDurationMs(train.entries.length);
  const split = distribute(train);
  for (const d of [train, test]) {
    d.status = 'UPDATE_IN_PROGRESS';
    d.statusMessage = undefined;
    d.statusMessageCode = undefined;
    const entries = d === train ? split?.train : split?.test;
    core.startJob('datasetUpdate', d.arn, durationMs, (): JobResult => (entries
      ? { durationMs, ok: true, entries, replace: true }
      : failure('ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE', ERRORS.ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE, train.entries.length)));
  }
  return {};
};

/**
 * Moves about 20% of each label's labeled entries to TEST, at least one per label, in a seeded-random order.
 * [inferred] The reference says "20% of the training entries move" and documents
 * ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE, which only makes sense if the split looks at each label: so a
 * label needs 2 labeled entries (one per side) or the distribution fails (undefined), and an entry moves only while it
 * leaves each of its labels at least one entry in TRAIN. Unlabeled entries and entries with errors stay in TRAIN.
 */
function distribute(train: DatasetRecord): { train: EntryRecord[]; test: EntryRecord[] } | undefined {
  const labeled = train.entries.filter((e) => e.labels.length > 0 && !e.hasErrors);
  const left = new Map<string, number>();
  labeled.forEach((e) => e.labels.forEach((l) => left.set(l, (left.get(l) ?? 0) + 1)));
  if (left.size === 0 || [...left.values()].some((n) => n < 2)) return undefined;
  const wanted = new Map([...left].map(([label, n]) => [label, Math.max(1, Math.round(n * DISTRIBUTE_SHARE))]));
  const seed = createHash('sha256').update(train.arn).digest().readUInt32BE(0);
  const random = mulberry32(seed);
  const order = labeled.map((e) => ({ e, r: random() })).sort((a, b) => a.r - b.r).map((x) => x.e);
  const moved = new Set<EntryRecord>();
  for (const e of order) {
    if (!e.labels.some((l) => wanted.get(l)! > 0) || e.labels.some((l) => left.get(l)! < 2)) continue;
    moved.add(e);
    for (const l of e.labels) {
      wanted.set(l, wanted.get(l)! - 1);
      left.set(l, left.get(l)! - 1);
    }
  }
  return { train: train.entries.filter((e) => !moved.has(e)), test: train.entries.filter((e) => moved.has(e)) };
}

export const DATASET_HANDLERS: Record<string, Handler> = {
  CreateDataset: createDataset,
  DescribeDataset: describeDataset,
  DeleteDataset: deleteDataset,
  ListDatasetEntries: listDatasetEntries,
  ListDatasetLabels: listDatasetLabels,
  UpdateDatasetEntries: updateDatasetEntries,
  DistributeDatasetEntries: distributeDatasetEntries,
};

export { COMPLETE as DATASET_COMPLETE, IN_PROGRESS as DATASET_IN_PROGRESS };
