/**
 * The BatchAnalysis function: takes and releases the model's lease (starting the model when no one runs it, stopping
 * it when no holder is left), analyses a batch of images with adaptive concurrency, and sums a run up.
 */
import { DetectCustomLabelsCommand, RekognitionClient, StartProjectVersionCommand, StopProjectVersionCommand } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import {
  AnalyseBatchInput, AnalyseResult, BatchSettings, BatchSummary, ImageResult, IMAGES_FOLDER, LabelResult, LeaseDocument, LEASES_PREFIX, MAP_FOLDER,
  MODEL_ERROR,
  ModelLease, PREDICTIONS_FILE, RUNS_PREFIX, SUMMARY_FILE, THROUGHPUT_ERROR,
} from '../../lib/batch/contracts';
import { probeImageHeader } from '../../lib/manifest/image';
import { CLASSIFICATION_TYPE, DETECTION_TYPE } from '../../lib/manifest/types';
import { describeVersion, NOT_SERVABLE, STARTABLE, VersionStatus } from '../shared/model-version';
import { live, updateLease } from './lease';

export interface Clients {
  readonly rekognition: RekognitionClient;
  /**
   * DetectCustomLabels calls: a client without the SDK's own retries (its quick retries land in the same second as the
   * refused call); the batch backs off itself. @default rekognition
   */
  readonly detector?: RekognitionClient;
  readonly s3: S3Client;
}

/** An error the state machine routes by name. */
export class BatchError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const errorName = (e: unknown): string => (e instanceof Error ? e.name : 'Error');

/** Refusals for throughput (and transient service errors): retried with back-off, never a lost image. */
const THROUGHPUT_ERRORS = ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerError', 'ServiceUnavailableException'];
/** Refusals of one image (poisoned, too large, unreadable): recorded in its result, the run goes on. */
const IMAGE_ERRORS = ['InvalidImageFormatException', 'ImageTooLargeException', 'InvalidS3ObjectException', 'InvalidParameterException'];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------------
// The model and its lease

function store(settings: BatchSettings, clients: Clients) {
  return { s3: clients.s3, bucket: settings.outputBucket, prefix: settings.outputPrefix };
}

const fail = (message: string): Error => new BatchError(MODEL_ERROR, message);

function describe(versionArn: string, settings: BatchSettings, clients: Clients): Promise<VersionStatus> {
  return describeVersion(clients.rekognition, versionArn, settings.projectArn, fail);
}

/**
 * How many batches the Map runs at once: 4 per inference unit the model may have. Each batch then finds its own pace
 * (additive increase, multiplicative decrease), so the Map's bound only caps the total.
 */
function mapConcurrency(settings: BatchSettings, units: number): number {
  return Math.min(1000, 4 * Math.max(1, units, settings.maxInferenceUnits ?? settings.minInferenceUnits));
}

async function startIfStopped(versionArn: string, status: string, settings: BatchSettings, clients: Clients): Promise<boolean> {
  if (!STARTABLE.includes(status)) return false;
  await clients.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: settings.minInferenceUnits,
    ...(settings.maxInferenceUnits === undefined ? {} : { MaxInferenceUnits: settings.maxInferenceUnits }) }));
  return true;
}

/**
 * Takes the lease for `holder` (an execution name) and starts the model when it is stopped, recording that the lease
 * started it. A stop under way is waited for (the status answers STOPPING; `status` starts it again once STOPPED).
 */
export async function acquire(versionArn: string, holder: string, settings: BatchSettings, clients: Clients): Promise<ModelLease> {
  if (!/^arn:[^:]+:rekognition:/.test(versionArn)) throw new BatchError(MODEL_ERROR, `No model version serves yet (the parameter holds: ${versionArn})`);
  await updateLease(store(settings, clients), versionArn, (doc) => {
    const now = Date.now();
    return { doc: { ...live(doc, now), holders: { ...live(doc, now).holders, [holder]: { expiresAt: now + settings.leaseSeconds * 1000 } },
      releasedBy: undefined, releasedAt: undefined }, value: undefined };
  });
  return status(versionArn, 0, settings, clients);
}

/** The model's status for the wait loop; starts it when it is stopped (after a stop that was under way). */
export async function status(versionArn: string, checks: number, settings: BatchSettings, clients: Clients): Promise<ModelLease> {
  const d = await describe(versionArn, settings, clients);
  if (NOT_SERVABLE.includes(d.status)) throw new BatchError(MODEL_ERROR, `The model version ${versionArn} is ${d.status}: ${d.message}`);
  let started = false;
  if (STARTABLE.includes(d.status)) {
    // The lease must say it started the model before the model runs: else a release in between would leave it running.
    const stopping = await updateLease(store(settings, clients), versionArn, (doc) => {
      if ((doc.stoppingUntil ?? 0) > Date.now()) return { value: true };
      return { doc: { ...doc, startedByLease: true }, value: false };
    });
    if (!stopping) started = await startIfStopped(versionArn, d.status, settings, clients);
  }
  return { versionArn, status: started ? 'STARTING' : d.status, started, mapConcurrency: mapConcurrency(settings, d.units), checks: checks + 1 };
}

/**
 * Releases `holder`'s entry. Returns whether the model may now be stopped after the idle delay (no holder left and
 * the lease started it): the state machine then waits `stopWhenIdle` and calls `idleStop`.
 */
export async function release(versionArn: string, holder: string, settings: BatchSettings, clients: Clients): Promise<{ idle: boolean }> {
  if (!/^arn:[^:]+:rekognition:/.test(versionArn)) return { idle: false };
  return updateLease(store(settings, clients), versionArn, (doc) => {
    const now = Date.now();
    const rest = live(doc, now).holders;
    delete rest[holder];
    const idle = Object.keys(rest).length === 0 && doc.startedByLease;
    return { doc: { ...doc, holders: rest, ...(idle ? { releasedBy: holder, releasedAt: now } : {}) }, value: { idle } };
  });
}

/**
 * Stops the model if it is still idle: no holder took the lease since `holder` released it (`releasedBy`), or, for the
 * sweep (`holder` undefined), every holder expired and the last release is `stopWhenIdle` old.
 */
export async function idleStop(versionArn: string, holder: string | undefined, settings: BatchSettings,
  clients: Clients): Promise<{ stopped: boolean }> {
  const stopFor = 10 * 60_000;
  const mine = await updateLease(store(settings, clients), versionArn, (doc) => {
    const now = Date.now();
    const current = live(doc, now);
    const quiet = holder === undefined
      ? (doc.releasedAt ?? 0) + settings.stopWhenIdleSeconds * 1000 <= now
      : doc.releasedBy === holder;
    if (Object.keys(current.holders).length > 0 || !doc.startedByLease || !quiet) return { value: false };
    return { doc: { ...current, startedByLease: false, stoppingUntil: now + stopFor }, value: true };
  });
  if (!mine) return { stopped: false };
  const d = await describe(versionArn, settings, clients);
  if (d.status === 'RUNNING' || d.status === 'STARTING') {
    await clients.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
  }
  await updateLease(store(settings, clients), versionArn, (doc) => ({ doc: { ...doc, stoppingUntil: undefined }, value: undefined }));
  return { stopped: true };
}

/**
 * The backstop, run on a schedule: for every lease document, drops expired holders and stops the model when none is
 * left, the lease started it and the last release is `stopWhenIdle` old (a run that was aborted never released).
 */
export async function sweep(settings: BatchSettings, clients: Clients): Promise<{ stopped: string[] }> {
  const stopped: string[] = [];
  for (const key of await listKeys(clients, settings.outputBucket, `${settings.outputPrefix}${LEASES_PREFIX}`)) {
    const doc = JSON.parse(await text(clients, settings.outputBucket, key)) as LeaseDocument;
    if ((await idleStop(doc.versionArn, undefined, settings, clients)).stopped) stopped.push(doc.versionArn);
  }
  return { stopped };
}

// ---------------------------------------------------------------------------------------------------------------------
// Analysis

const MAX_WINDOW = 16;
const MAX_ATTEMPTS = 12;
const MAX_BACKOFF_MS = 8000;

/** Back-off before retry `attempt` (1, 2, ...): exponential, capped, with full jitter over its upper half. */
function backoffMs(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, 200 * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

interface Item {
  readonly Key: string;
}

/** The results file of a batch: named by its first key and size, so a retried batch overwrites its own file. */
function resultsKey(settings: BatchSettings, runId: string, items: readonly Item[]): string {
  const first = items[0]?.Key ?? '';
  const safe = first.replace(/[^A-Za-z0-9_.-]/g, '_').slice(-120);
  return `${settings.outputPrefix}${RUNS_PREFIX}${runId}/${IMAGES_FOLDER}${safe}-${items.length}.jsonl`;
}

/**
 * Analyses a batch of images. Calls run `window` at a time: one more per window of successes (additive increase),
 * half as many after a throughput refusal (multiplicative decrease), the refused image retried after a jittered
 * back-off. An image the service refuses for itself is recorded with the service's error. Throws THROUGHPUT_ERROR when
 * an image was refused MAX_ATTEMPTS times (the Map retries the batch), and any other error as it came.
 */
export async function analyse(input: AnalyseBatchInput, items: readonly Item[], settings: BatchSettings, clients: Clients): Promise<AnalyseResult> {
  const pending = items.map((item) => ({ key: item.Key, attempts: 0 }));
  const results = new Map<string, ImageResult>();
  let window = 1;
  let active = 0;
  let throttled = 0;

  const one = async (job: { key: string; attempts: number }): Promise<void> => {
    const image = `s3://${input.inputBucket}/${job.key}`;
    try {
      const res = await (clients.detector ?? clients.rekognition).send(new DetectCustomLabelsCommand({ ProjectVersionArn: input.versionArn,
        Image: { S3Object: { Bucket: input.inputBucket, Name: job.key } },
        ...(settings.minConfidence === undefined ? {} : { MinConfidence: settings.minConfidence }) }));
      window = Math.min(MAX_WINDOW, window + 1 / window);
      const labels: LabelResult[] = (res.CustomLabels ?? []).map((l) => ({
        name: l.Name ?? '', confidence: l.Confidence ?? 0,
        ...(l.Geometry?.BoundingBox ? { boundingBox: { left: l.Geometry.BoundingBox.Left ?? 0, top: l.Geometry.BoundingBox.Top ?? 0,
          width: l.Geometry.BoundingBox.Width ?? 0, height: l.Geometry.BoundingBox.Height ?? 0 } } : {}),
      }));
      const imageSize = labels.some((l) => l.boundingBox) ? await sizeOf(input.inputBucket, job.key, clients) : undefined;
      results.set(job.key, { image, modelVersion: input.versionArn, labels, ...(imageSize ? { imageSize } : {}) });
    } catch (e) {
      const name = errorName(e);
      if (IMAGE_ERRORS.includes(name)) {
        results.set(job.key, { image, modelVersion: input.versionArn, error: { code: name, message: (e as Error).message } });
        return;
      }
      // The model stopped serving mid-run (someone stopped it): the batch fails as a whole, its images unprocessed. The
      // run does not start the model again: a stop by hand is a decision about cost, not a fault to heal.
      if (name === 'ResourceNotReadyException') {
        throw new BatchError(MODEL_ERROR, `The model version ${input.versionArn} stopped serving during the run (${(e as Error).message}); `
          + 'the batch does not restart a model someone stopped');
      }
      if (!THROUGHPUT_ERRORS.includes(name)) throw e;
      throttled++;
      window = Math.max(1, window / 2);
      job.attempts++;
      if (job.attempts >= MAX_ATTEMPTS) {
        throw new BatchError(THROUGHPUT_ERROR, `${image}: refused ${job.attempts} times (${name}: ${(e as Error).message})`);
      }
      await sleep(backoffMs(job.attempts));
      pending.push(job);
    }
  };

  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = (): void => {
      if (failed) return;
      if (pending.length === 0 && active === 0) return resolve();
      while (active < Math.floor(window) && pending.length > 0) {
        const job = pending.shift()!;
        active++;
        one(job).then(() => {
          active--;
          pump();
        }, (e: unknown) => {
          failed = true;
          reject(e);
        });
      }
    };
    pump();
  });

  const key = resultsKey(settings, input.runId, items);
  const lines = items.map((item) => JSON.stringify(results.get(item.Key)));
  await clients.s3.send(new PutObjectCommand({ Bucket: settings.outputBucket, Key: key, Body: `${lines.join('\n')}\n`,
    ContentType: 'application/x-ndjson' }));
  const failed = [...results.values()].filter((r) => r.error).length;
  return { resultsKey: key, analysed: items.length - failed, failed, throttled };
}

/** Width and height from the image's first 64 KiB (boxes in the predictions manifest are in pixels). */
async function sizeOf(bucket: string, key: string, clients: Clients): Promise<{ width: number; height: number } | undefined> {
  const res = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-65535' }));
  const head = Buffer.from(await res.Body!.transformToByteArray());
  const probe = probeImageHeader(head, head.length);
  return probe.width && probe.height ? { width: probe.width, height: probe.height } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Summary

async function text(clients: Clients, bucket: string, key: string): Promise<string> {
  return (await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

async function listKeys(clients: Clients, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key!));
    token = res.NextContinuationToken;
  } while (token);
  return keys;
}

/** One predictions-manifest line (Ground Truth form, machine-made) for an analysed image with labels, else undefined. */
export function predictionLine(result: ImageResult, jobName: string, createdAt: string): string | undefined {
  const labels = [...(result.labels ?? [])].sort((a, b) => b.confidence - a.confidence);
  if (result.error || labels.length === 0) return undefined;
  const line: Record<string, unknown> = { 'source-ref': result.image };
  const meta = { 'human-annotated': 'no', 'creation-date': createdAt, 'job-name': jobName };
  const boxes = labels.filter((l) => l.boundingBox);
  if (boxes.length > 0 && result.imageSize) {
    const names = [...new Set(boxes.map((b) => b.name))];
    const { width, height } = result.imageSize;
    line.prediction = {
      image_size: [{ width, height, depth: 3 }],
      annotations: boxes.map((b) => ({ class_id: names.indexOf(b.name), left: Math.round(b.boundingBox!.left * width),
        top: Math.round(b.boundingBox!.top * height), width: Math.round(b.boundingBox!.width * width),
        height: Math.round(b.boundingBox!.height * height) })),
    };
    line['prediction-metadata'] = { ...meta, 'type': DETECTION_TYPE, 'class-map': Object.fromEntries(names.map((n, i) => [String(i), n])),
      'objects': boxes.map((b) => ({ confidence: b.confidence / 100 })) };
  } else {
    // Classification: one attribute per label the model gave, the most confident first.
    labels.forEach((l, i) => {
      const attr = i === 0 ? 'prediction' : `prediction-${i}`;
      line[attr] = 0;
      line[`${attr}-metadata`] = { ...meta, 'type': CLASSIFICATION_TYPE, 'class-name': l.name, 'confidence': l.confidence / 100 };
    });
  }
  return JSON.stringify(line);
}

/**
 * Sums a run up: reads every results file and the Map's failed batches, writes the summary and the predictions
 * manifest. Every image the Map listed is in exactly one of analysed, failed or unprocessed.
 */
export async function summarise(runId: string, versionArn: string, settings: BatchSettings, clients: Clients): Promise<BatchSummary> {
  const run = `${settings.outputPrefix}${RUNS_PREFIX}${runId}/`;
  const bucket = settings.outputBucket;
  const byImage = new Map<string, ImageResult>();
  for (const key of await listKeys(clients, bucket, `${run}${IMAGES_FOLDER}`)) {
    for (const l of (await text(clients, bucket, key)).split('\n')) {
      if (l.trim() === '') continue;
      const r = JSON.parse(l) as ImageResult;
      byImage.set(r.image, r);
    }
  }
  // Batches that failed as a whole (beyond their retries) or never ran (the Map stopped): their images come from the
  // ResultWriter's FAILED and PENDING files; the SUCCEEDED ones count the throughput refusals that were retried.
  const unprocessed: string[] = [];
  const failedBatches: Record<string, number> = {};
  let throttled = 0;
  for (const key of await listKeys(clients, bucket, `${run}${MAP_FOLDER}`)) {
    const group = /\/(SUCCEEDED|FAILED|PENDING)_\d+\.json$/.exec(key)?.[1];
    if (!group) continue;
    const records = JSON.parse(await text(clients, bucket, key)) as Array<{ Input?: string; Output?: string; Error?: string }>;
    for (const rec of records) {
      if (group === 'SUCCEEDED') {
        throttled += (JSON.parse(rec.Output ?? '{}') as Partial<AnalyseResult>).throttled ?? 0;
        continue;
      }
      if (group === 'FAILED') failedBatches[rec.Error ?? 'Unknown'] = (failedBatches[rec.Error ?? 'Unknown'] ?? 0) + 1;
      const input = JSON.parse(rec.Input ?? '{}') as { Items?: Item[]; BatchInput?: AnalyseBatchInput };
      for (const item of input.Items ?? []) {
        const image = `s3://${input.BatchInput?.inputBucket ?? ''}/${item.Key}`;
        if (!byImage.has(image)) unprocessed.push(image);
      }
    }
  }
  const failures: Record<string, number> = {};
  const labels: Record<string, number> = {};
  let analysed = 0;
  const lines: string[] = [];
  const createdAt = new Date().toISOString().replace(/Z$/, '');
  for (const r of byImage.values()) {
    if (r.error) {
      failures[r.error.code] = (failures[r.error.code] ?? 0) + 1;
      continue;
    }
    analysed++;
    const top = [...(r.labels ?? [])].sort((a, b) => b.confidence - a.confidence)[0];
    if (top) labels[top.name] = (labels[top.name] ?? 0) + 1;
    const line = predictionLine(r, `batch-${runId}`, createdAt);
    if (line) lines.push(line);
  }
  const predictionsKey = `${run}${PREDICTIONS_FILE}`;
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: predictionsKey, Body: lines.length ? `${lines.join('\n')}\n` : '' }));
  const failed = byImage.size - analysed;
  const summary: BatchSummary = {
    runId, modelVersion: versionArn, images: byImage.size + unprocessed.length, analysed, failed, failures,
    unprocessed: unprocessed.length, unprocessedImages: unprocessed.slice(0, 1000), failedBatches, throttled, labels,
    resultsPrefix: `s3://${bucket}/${run}${IMAGES_FOLDER}`, predictionsManifest: `s3://${bucket}/${predictionsKey}`,
  };
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${run}${SUMMARY_FILE}`, Body: JSON.stringify(summary, null, 2),
    ContentType: 'application/json' }));
  return summary;
}
