/**
 * Upload windows: images uploaded under the input prefix are collected for the batch window, then one run analyses
 * exactly those images.
 *
 * - `upload` (the EventBridge rule's target, one call per "Object Created" event) writes a marker
 *   `windows/pending/<event id>.json` naming the key, THEN opens a window if none is open: `windows/open.json` created
 *   with If-None-Match: *, naming the run it starts (StartExecution with `{"window": {"waitSeconds": ...}}`).
 * - The run waits for the window, then `collect` (only if open.json still names it) deletes open.json, THEN lists the
 *   markers, writes their keys to `runs/<run>/uploads.json` for the Map, THEN deletes the markers it listed.
 *
 * Why nothing is lost: an upload's marker exists before its upload looks for an open window. If it finds one, that
 * window's collect deletes open.json after that moment and lists after the deletion, so it sees the marker. If it finds
 * none, it opens a window whose collect lists later still. Either way some collect lists every marker; a collect that
 * never runs (its run was stopped or failed) leaves its markers for the next window: open.json of a run that did not
 * collect is taken over once it is `waitSeconds + STALE_AFTER` old, and the hourly sweep opens a window for markers
 * nobody is collecting.
 * Why nothing is analysed twice: one marker per event (a redelivered event rewrites the same marker), keys are
 * de-duplicated within a window, and windows follow each other: the next window's collect lists at least a window
 * (>= 1 minute) after this one's listing, by when this one has deleted the markers it took. The gap: a collect that
 * stalls between listing and deleting for longer than the window (or an open.json taken over while its run was only
 * slow) can make two windows take the same uploads; both analyses are then written, in their own runs.
 * An image uploaded twice in two windows is two uploads, analysed once in each.
 */
import { createHash, randomBytes } from 'node:crypto';

import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

import {
  BatchSettings, CollectedWindow, OPEN_WINDOW_FILE, OpenWindow, PENDING_FOLDER, RUNS_PREFIX, UploadEvent, UPLOADS_FILE, WINDOWS_PREFIX,
} from '../../lib/batch/contracts';

export interface WindowClients {
  readonly s3: S3Client;
  readonly sfn: SFNClient;
}

/** An open window whose run has not collected this long after the window closed is taken over (the run died). */
export const STALE_AFTER_SECONDS = 10 * 60;

const isNamed = (e: unknown, ...names: string[]): boolean => e instanceof Error && names.includes(e.name);

const windowsPrefix = (settings: BatchSettings): string => `${settings.outputPrefix}${WINDOWS_PREFIX}`;
const openKey = (settings: BatchSettings): string => `${windowsPrefix(settings)}${OPEN_WINDOW_FILE}`;
const pendingPrefix = (settings: BatchSettings): string => `${windowsPrefix(settings)}${PENDING_FOLDER}`;

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key!));
    token = res.NextContinuationToken;
  } while (token);
  return keys;
}

/**
 * The open window and its ETag, or undefined. Listed first: the function may list only under the output prefix, so a
 * read of a missing key would be refused (403), not answered NoSuchKey.
 */
async function readOpen(settings: BatchSettings, s3: S3Client): Promise<{ window: OpenWindow; etag: string } | undefined> {
  const key = openKey(settings);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: settings.outputBucket, Prefix: key, MaxKeys: 1 }));
  if (!(listed.Contents ?? []).some((o) => o.Key === key)) return undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: settings.outputBucket, Key: key }));
    return { window: JSON.parse(await res.Body!.transformToString()) as OpenWindow, etag: res.ETag! };
  } catch (e) {
    if (isNamed(e, 'NoSuchKey')) return undefined;
    throw e;
  }
}

/** A run name Step Functions accepts (letters, digits, - and _; at most 80). */
function runName(now: number): string {
  return `uploads-${new Date(now).toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`;
}

/**
 * Opens a window unless one is open (or takes over one whose run never collected it). Returns the run that collects
 * the window this call joined or opened.
 */
export async function openWindow(stateMachineArn: string, waitSeconds: number, settings: BatchSettings,
  clients: WindowClients): Promise<{ run: string; opened: boolean }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = Date.now();
    const current = await readOpen(settings, clients.s3);
    if (current && current.window.openedAt + (current.window.waitSeconds + STALE_AFTER_SECONDS) * 1000 > now) {
      return { run: current.window.run, opened: false };
    }
    const window: OpenWindow = { run: runName(now), openedAt: now, waitSeconds };
    try {
      await clients.s3.send(new PutObjectCommand({ Bucket: settings.outputBucket, Key: openKey(settings), Body: JSON.stringify(window),
        ContentType: 'application/json', ...(current ? { IfMatch: current.etag } : { IfNoneMatch: '*' }) }));
    } catch (e) {
      // Another upload opened (or took over) the window first: join it.
      if (isNamed(e, 'PreconditionFailed', 'ConditionalRequestConflict')) continue;
      throw e;
    }
    try {
      await clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name: window.run, input: JSON.stringify({ window: { waitSeconds } }) }));
    } catch (e) {
      // No run collects this window: close it, so the retried event (the marker is written) opens another.
      await clients.s3.send(new DeleteObjectCommand({ Bucket: settings.outputBucket, Key: openKey(settings) })).catch(() => undefined);
      throw e;
    }
    return { run: window.run, opened: true };
  }
  throw new Error('Could not open or join an upload window: open.json kept changing');
}

/** The rule's target: records the upload, then makes sure a window collects it. */
export async function upload(event: UploadEvent, settings: BatchSettings,
  clients: WindowClients): Promise<{ marker: string; run: string; opened: boolean }> {
  // One marker per event; the id is hashed so the name is safe whatever the event carries.
  const marker = `${pendingPrefix(settings)}${createHash('sha256').update(event.eventId).digest('hex').slice(0, 40)}.json`;
  await clients.s3.send(new PutObjectCommand({ Bucket: settings.outputBucket, Key: marker, Body: JSON.stringify({ key: event.key, at: Date.now() }),
    ContentType: 'application/json' }));
  return { marker, ...await openWindow(event.stateMachineArn, event.waitSeconds, settings, clients) };
}

/** Runs `fn` over `items`, `width` at a time. */
async function eachLimited<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** The window's run takes its uploads: see the module comment for the order of the writes. */
export async function collect(runId: string, settings: BatchSettings, clients: WindowClients): Promise<CollectedWindow> {
  const bucket = settings.outputBucket;
  const itemsKey = `${settings.outputPrefix}${RUNS_PREFIX}${runId}/${UPLOADS_FILE}`;
  // A retried collect that already wrote its list returns it.
  const done = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: itemsKey, MaxKeys: 1 }));
  if ((done.Contents ?? []).some((o) => o.Key === itemsKey)) {
    const res = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: itemsKey }));
    return { runId, images: (JSON.parse(await res.Body!.transformToString()) as unknown[]).length, itemsKey };
  }
  const open = await readOpen(settings, clients.s3);
  // Not (or no longer) this run's window: another run collects it (or took it over), with these uploads.
  if (open?.window.run !== runId) return { runId, images: 0 };
  await clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: openKey(settings) }));
  const markers = await listKeys(clients.s3, bucket, pendingPrefix(settings));
  const keys = await eachLimited(markers, 16, async (key) => {
    const res = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (JSON.parse(await res.Body!.transformToString()) as { key: string }).key;
  });
  const unique = [...new Set(keys)].sort();
  if (unique.length > 0) {
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: itemsKey, Body: JSON.stringify(unique.map((Key) => ({ Key }))),
      ContentType: 'application/json' }));
  }
  // One at a time: the local S3 (s3rver) fails DeleteObjects and concurrent deletes in one folder, and the offline run
  // must be the code that runs in AWS. About 50 deletes a second: a window of 10,000 uploads takes a few minutes.
  for (const key of markers) await clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  return unique.length > 0 ? { runId, images: unique.length, itemsKey } : { runId, images: 0 };
}

/** For the sweep: opens a window when uploads are pending and no run is collecting them. */
export async function reopenIfPending(stateMachineArn: string, waitSeconds: number, settings: BatchSettings,
  clients: WindowClients): Promise<string | undefined> {
  const pending = await clients.s3.send(new ListObjectsV2Command({ Bucket: settings.outputBucket, Prefix: pendingPrefix(settings), MaxKeys: 1 }));
  if ((pending.Contents ?? []).length === 0) return undefined;
  const { run, opened } = await openWindow(stateMachineArn, waitSeconds, settings, clients);
  return opened ? run : undefined;
}
