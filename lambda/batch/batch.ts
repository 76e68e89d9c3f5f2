/**
 * The BatchAnalysis function: takes and releases the model's lease (starting the model when no one runs it, stopping
 * it when no holder is left), analyses a batch of images with adaptive concurrency, and sums a run up.
 */
import { randomUUID } from 'node:crypto';

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
import { S3LineWriter } from '../shared/s3-lines';
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

/*
 * The pace of a batch. The service documents no TPS per inference unit, so each batch learns its share of the model.
 * It starts calls at a *rate* (calls per second; at most MAX_IN_FLIGHT in flight, and below 1/latency one call at a time
 * with a gap before the next): each success adds INCREASE/rate, i.e. INCREASE calls/s per second (additive increase,
 * which makes batches converge to equal shares), and the first refusal after a success multiplies the rate by DECREASE
 * (multiplicative decrease; calls already in flight when it fell do not cut it again), as does every refusal after a
 * whole gap's wait. A refused image is retried first, after the batch's back-off: RETRY_MS, doubled per refusal in a
 * row, at most the batch's gap, reset by a success.
 * A refused call costs the model nothing (it is not served), while a free slot the batches leave unused is lost: so
 * the decrease is gentle and the retry soon, keeping the sum of the batches' rates a little above the capacity.
 * A fresh container's first batch starts at START_RATE and grows fast (SLOW_START per success) until its first refusal.
 * The Map runs 4 batches per inference unit, so a batch's share (TPS per unit / 4) does not depend on the units, and
 * START_RATE needs none. When a batch ends its rate goes to a pool per model version in module state, and the next
 * batch on a warm container starts where the last one ended. (On Lambda a container runs one batch at a time; the
 * offline runner hosts every concurrent batch of a function in one module instance, reused across invocations: taking
 * a pace from the pool and giving it back gives each running batch its own pace either way.)
 * A batch gives up (THROUGHPUT_ERROR, the Map retries it later) only when no image completed for NO_PROGRESS_MS while
 * the model kept refusing: it never gives up on an image while the model serves it at any pace.
 */
const MAX_IN_FLIGHT = 16;
const START_RATE = 1;
const SLOW_START = 0.5;
const INCREASE = 0.2;
const DECREASE = 0.85;
const MIN_RATE = 0.1;
const MAX_RATE = 200;
/**
 * No image done for 3 minutes: the model serves this batch nothing. Long enough for dozens of tries at the slowest pace
 * (MIN_RATE) while other batches or callers take the model; short enough that the batch fails well inside the
 * function's 15-minute timeout (a timeout is not retried, and loses the attempt's count of refusals).
 */
const NO_PROGRESS_MS = 3 * 60_000;
/** ... and refused this many times in a row meanwhile: time alone (a paused container, a slow clock) is not the model refusing. */
const NO_PROGRESS_REFUSALS = 10;
/** The function's timeout is 15 minutes: a batch still running after 12 fails for throughput so that the Map retries it. */
const BATCH_DEADLINE_MS = 12 * 60_000;
/** The first retry of a refused image waits this long; each refusal in a row doubles it, up to the batch's gap. */
const RETRY_MS = 50;
/** Learned paces per model version, one per batch that ended on this container (see above). */
const paces = new Map<string, number[]>();

/** The batch's back-off after `streak` refusals in a row (reset by a success), with jitter over its upper half. */
function retryMs(streak: number, rate: number): number {
  const ceiling = Math.max(RETRY_MS, Math.min(RETRY_MS * 2 ** (streak - 1), 1000 / rate));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

interface Item {
  readonly Key: string;
}

/** The results file of a batch: named by its first key and size, so a retried batch overwrites its own file. */
function resultsKey(settings: BatchSettings, runId: string, items: readonly Item[]): string {
  return `${settings.outputPrefix}${RUNS_PREFIX}${runId}/${IMAGES_FOLDER}${batchName(items)}.jsonl`;
}

function batchName(items: readonly Item[]): string {
  const first = items[0]?.Key ?? '';
  return `${first.replace(/[^A-Za-z0-9_.-]/g, '_').slice(-120)}-${items.length}`;
}

/** Refusals of batch attempts that failed (the Map retries them; their outputs are lost): one small object per attempt. */
const REFUSALS_FOLDER = 'refusals/';

/** One image: its result, or the service's refusal for throughput (thrown), or any other error (thrown). */
async function detectOne(input: AnalyseBatchInput, key: string, settings: BatchSettings, clients: Clients): Promise<ImageResult> {
  const image = `s3://${input.inputBucket}/${key}`;
  try {
    const res = await (clients.detector ?? clients.rekognition).send(new DetectCustomLabelsCommand({ ProjectVersionArn: input.versionArn,
      Image: { S3Object: { Bucket: input.inputBucket, Name: key } },
      ...(settings.minConfidence === undefined ? {} : { MinConfidence: settings.minConfidence }) }));
    const labels: LabelResult[] = (res.CustomLabels ?? []).map((l) => ({
      name: l.Name ?? '', confidence: l.Confidence ?? 0,
      ...(l.Geometry?.BoundingBox ? { boundingBox: { left: l.Geometry.BoundingBox.Left ?? 0, top: l.Geometry.BoundingBox.Top ?? 0,
        width: l.Geometry.BoundingBox.Width ?? 0, height: l.Geometry.BoundingBox.Height ?? 0 } } : {}),
    }));
    const imageSize = labels.some((l) => l.boundingBox) ? await sizeOf(input.inputBucket, key, clients) : undefined;
    return { image, modelVersion: input.versionArn, labels, ...(imageSize ? { imageSize } : {}) };
  } catch (e) {
    const name = errorName(e);
    if (IMAGE_ERRORS.includes(name)) return { image, modelVersion: input.versionArn, error: { code: name, message: (e as Error).message } };
    // The model stopped serving mid-run (someone stopped it): the batch fails as a whole, its images unprocessed. The
    // run does not start the model again: a stop by hand is a decision about cost, not a fault to heal.
    if (name === 'ResourceNotReadyException') {
      throw new BatchError(MODEL_ERROR, `The model version ${input.versionArn} stopped serving during the run (${(e as Error).message}); `
        + 'the batch does not restart a model someone stopped');
    }
    throw e;
  }
}

/**
 * Analyses a batch of images at the batch's learned pace (see above). An image the service refuses for itself is
 * recorded with the service's error. Throws THROUGHPUT_ERROR when no image completed for NO_PROGRESS_MS of refusals (or the batch
 * ran BATCH_DEADLINE_MS), and any other error as it came; a failed attempt's refusals are written beside the results.
 */
export async function analyse(input: AnalyseBatchInput, items: readonly Item[], settings: BatchSettings, clients: Clients): Promise<AnalyseResult> {
  const pending = items.map((item) => item.Key);
  const results = new Map<string, ImageResult>();
  const pool = paces.get(input.versionArn) ?? [];
  paces.set(input.versionArn, pool);
  const warm = pool.pop();
  let rate = warm ?? START_RATE;
  let slowStart = warm === undefined;
  let throttled = 0;
  let active = 0;
  const began = Date.now();
  let nextStart = began;
  let progressAt = began;
  let lastDecrease = -Infinity;
  let lastRefusal = '';
  let streak = 0;
  let failure: { error: unknown } | undefined;
  let wake = (): void => undefined;

  const one = async (key: string, startedAt: number): Promise<void> => {
    try {
      results.set(key, await detectOne(input, key, settings, clients));
      progressAt = Date.now();
      streak = 0;
      rate = Math.min(MAX_RATE, slowStart ? rate + SLOW_START : rate + INCREASE / rate);
    } catch (e) {
      const name = errorName(e);
      if (!THROUGHPUT_ERRORS.includes(name)) throw e;
      throttled++;
      lastRefusal = `${name}: ${(e as Error).message}`;
      slowStart = false;
      // Once per streak of refusals; again for each refusal after a whole gap's wait (the pace is too fast, e.g. one
      // learned before the model lost an inference unit).
      if ((streak === 0 && startedAt >= lastDecrease) || RETRY_MS * 2 ** (streak - 1) >= 1000 / rate) {
        rate = Math.max(MIN_RATE, rate * DECREASE);
        lastDecrease = Date.now();
      }
      streak++;
      nextStart = Date.now() + retryMs(streak, rate);
      pending.unshift(key);
    }
  };

  try {
    while (!failure && (pending.length > 0 || active > 0)) {
      const now = Date.now();
      if ((streak >= NO_PROGRESS_REFUSALS && now - progressAt >= NO_PROGRESS_MS) || now - began >= BATCH_DEADLINE_MS) {
        throw new BatchError(THROUGHPUT_ERROR, `${items.length - results.size} of ${items.length} images left after ${Math.round((now - began) / 1000)} s, `
          + `none done in the last ${Math.round((now - progressAt) / 1000)} s (${throttled} refusals, the last: ${lastRefusal})`);
      }
      if (pending.length > 0 && active < MAX_IN_FLIGHT && now >= nextStart) {
        const key = pending.shift()!;
        active++;
        nextStart = Math.max(now, nextStart) + 1000 / rate;
        one(key, now).catch((error: unknown) => {
          failure ??= { error };
        }).finally(() => {
          active--;
          wake();
        });
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = pending.length > 0 && active < MAX_IN_FLIGHT ? setTimeout(resolve, nextStart - now) : undefined;
        wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
    }
    if (failure) throw failure.error;
  } catch (e) {
    if (throttled > 0) await recordRefusals(input, items, throttled, settings, clients);
    throw e;
  } finally {
    pool.push(rate);
  }

  const key = resultsKey(settings, input.runId, items);
  const lines = items.map((item) => JSON.stringify(results.get(item.Key)));
  await clients.s3.send(new PutObjectCommand({ Bucket: settings.outputBucket, Key: key, Body: `${lines.join('\n')}\n`,
    ContentType: 'application/x-ndjson' }));
  const failed = [...results.values()].filter((r) => r.error).length;
  return { resultsKey: key, analysed: items.length - failed, failed, throttled };
}

/** Writes a failed attempt's refusal count; a write that fails loses the count, not the batch's error. */
async function recordRefusals(input: AnalyseBatchInput, items: readonly Item[], refused: number, settings: BatchSettings,
  clients: Clients): Promise<void> {
  const key = `${settings.outputPrefix}${RUNS_PREFIX}${input.runId}/${REFUSALS_FOLDER}${batchName(items)}-${randomUUID()}.json`;
  try {
    await clients.s3.send(new PutObjectCommand({ Bucket: settings.outputBucket, Key: key, Body: JSON.stringify({ refused }),
      ContentType: 'application/json' }));
  } catch {
    // Counting is best effort; the batch's own error matters more.
  }
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

/** How many results files the summary reads at once (in order: the predictions manifest keeps the listing's order). */
const SUMMARY_READS = 16;

/**
 * Sums a run up: reads the Map's failed and pending batches and every results file, writes the summary and the
 * predictions manifest. Every image the Map listed is in exactly one of analysed, failed or unprocessed. Memory stays
 * bounded at any size: results files are read SUMMARY_READS at a time and counted, not kept, and the manifest goes up
 * in parts (S3LineWriter); what is kept is the listing of results files and the images of failed batches.
 */
export async function summarise(runId: string, versionArn: string, settings: BatchSettings, clients: Clients): Promise<BatchSummary> {
  const run = `${settings.outputPrefix}${RUNS_PREFIX}${runId}/`;
  const bucket = settings.outputBucket;
  // Batches that failed as a whole (beyond their retries) or never ran (the Map stopped): their images come from the
  // ResultWriter's FAILED and PENDING files; the SUCCEEDED ones count the refusals of the attempts that succeeded.
  const unprocessed = new Set<string>();
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
      for (const item of input.Items ?? []) unprocessed.add(`s3://${input.BatchInput?.inputBucket ?? ''}/${item.Key}`);
    }
  }
  // Refusals of attempts that failed (retried by the Map, or not): written by the batch beside its results.
  for (const key of await listKeys(clients, bucket, `${run}${REFUSALS_FOLDER}`)) {
    throttled += (JSON.parse(await text(clients, bucket, key)) as { refused?: number }).refused ?? 0;
  }
  const failures: Record<string, number> = {};
  const labels: Record<string, number> = {};
  let results = 0;
  let analysed = 0;
  const createdAt = new Date().toISOString().replace(/Z$/, '');
  const predictionsKey = `${run}${PREDICTIONS_FILE}`;
  const manifest = new S3LineWriter(clients.s3, bucket, predictionsKey, 'application/x-ndjson');
  const keys = await listKeys(clients, bucket, `${run}${IMAGES_FOLDER}`);
  const reads: Array<Promise<string>> = [];
  for (let i = 0; i < keys.length; i++) {
    while (reads.length < SUMMARY_READS && i + reads.length < keys.length) {
      const read = text(clients, bucket, keys[i + reads.length]);
      read.catch(() => undefined); // rejected while an earlier read is awaited: it rejects again when its turn comes
      reads.push(read);
    }
    for (const l of (await reads.shift()!).split('\n')) {
      if (l.trim() === '') continue;
      const r = JSON.parse(l) as ImageResult;
      results++;
      // A batch the Map counted as failed after it wrote its results (rare): its images are not unprocessed.
      unprocessed.delete(r.image);
      if (r.error) {
        failures[r.error.code] = (failures[r.error.code] ?? 0) + 1;
        continue;
      }
      analysed++;
      const top = [...(r.labels ?? [])].sort((x, y) => y.confidence - x.confidence)[0];
      if (top) labels[top.name] = (labels[top.name] ?? 0) + 1;
      const line = predictionLine(r, `batch-${runId}`, createdAt);
      if (line) await manifest.write(line);
    }
  }
  await manifest.close();
  const summary: BatchSummary = {
    runId, modelVersion: versionArn, images: results + unprocessed.size, analysed, failed: results - analysed, failures,
    unprocessed: unprocessed.size, unprocessedImages: [...unprocessed].slice(0, 1000), failedBatches, throttled, labels,
    resultsPrefix: `s3://${bucket}/${run}${IMAGES_FOLDER}`, predictionsManifest: `s3://${bucket}/${predictionsKey}`,
  };
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${run}${SUMMARY_FILE}`, Body: JSON.stringify(summary, null, 2),
    ContentType: 'application/json' }));
  return summary;
}
