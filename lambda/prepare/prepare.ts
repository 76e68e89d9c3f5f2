/**
 * The prepare handler's logic: inspect the project (probe), and turn the model's data into manifests in the data
 * bucket whose images are all in S3 (prepare).
 *
 * Everything streams, so memory does not grow with the data: manifests are read line by line from S3 (a 1 GB manifest
 * is never held whole), validated as they pass, and written back in 8 MiB multipart parts; image packs are read with
 * ranged GETs (their central directory and entries, ZIP64 included) and copied entry by entry. A split reads its
 * source twice (plan, then write) instead of keeping it.
 */
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';

import { DescribeDatasetCommand, DescribeProjectsCommand, DescribeProjectVersionsCommand, ListDatasetEntriesCommand,
  ProjectVersionDescription, RekognitionClient } from '@aws-sdk/client-rekognition';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand,
  PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';

import { ManifestLine, readManifestLines } from '../../lib/manifest/reader';
import { SplitPlanner } from '../../lib/manifest/split';
import { ManifestIssue } from '../../lib/manifest/types';
import { ManifestValidation, ManifestValidator, pairIssues, validateManifestPairSync, validateManifestSync } from '../../lib/manifest/validator';
import { DataSource, PrepareRequest, PrepareResult, ProbeRequest, ProbeResult, RunConfig, S3Location, TestSource } from '../../lib/model/contracts';
import { openZip, RangeSource, ReadStats } from './zip';

export interface PrepareDeps {
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
}

export interface PrepareOptions {
  /** Filled with what the run read and wrote (the benchmark's figures). */
  readonly stats?: PrepareStats;
  /** Image uploads in flight at once. @default 32 */
  readonly concurrency?: number;
  /** Bytes of a multipart part (S3's minimum is 5 MiB). @default 8 MiB */
  readonly partBytes?: number;
}

const IN_PROGRESS = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'DELETE_IN_PROGRESS']);
const MAX_ERRORS_IN_MESSAGE = 10;
/** Where a pack's images go, and where a finished copy of a pack is recorded (by the pack's asset key). */
const IMAGES_PREFIX = 'images/';
const PACK_MARKERS = `${IMAGES_PREFIX}.packs/`;

export async function probe(req: ProbeRequest, deps: PrepareDeps): Promise<ProbeResult> {
  const projects = await deps.rekognition.send(new DescribeProjectsCommand({ ProjectNames: [req.projectName] }));
  const project = projects.ProjectDescriptions?.find((p) => p.ProjectArn === req.projectArn) ?? projects.ProjectDescriptions?.[0];
  if (!project) throw new Error(`Project ${req.projectName} not found`);
  const reasons: string[] = [];
  const datasets = { train: '', test: '' };
  for (const d of project.Datasets ?? []) {
    if (d.DatasetType === 'TRAIN') datasets.train = d.DatasetArn ?? '';
    if (d.DatasetType === 'TEST') datasets.test = d.DatasetArn ?? '';
    if (d.Status && IN_PROGRESS.has(d.Status)) reasons.push(`dataset ${d.DatasetArn} is ${d.Status}`);
  }
  let version: ProbeResult['version'] = { exists: false, arn: '', status: '', statusMessage: '' };
  let token: string | undefined;
  do {
    const page = await deps.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: req.projectArn, NextToken: token }));
    for (const v of page.ProjectVersionDescriptions ?? []) {
      const name = versionNameOf(v);
      if (name === req.versionName) version = { exists: true, arn: v.ProjectVersionArn ?? '', status: v.Status ?? '', statusMessage: v.StatusMessage ?? '' };
      else if (v.Status === 'TRAINING_IN_PROGRESS') reasons.push(`version ${name} is TRAINING_IN_PROGRESS`);
    }
    token = page.NextToken;
  } while (token);
  return { busy: reasons.length > 0, busyReason: reasons.join('; '), version, datasets };
}

export function versionNameOf(v: ProjectVersionDescription): string {
  return (v.ProjectVersionArn ?? '').split('/')[3] ?? '';
}

/** What one prepare read and wrote, for the benchmark. */
export interface PrepareStats {
  /** Bytes and requests of the packs' ranged reads. */
  readonly packReads: ReadStats;
  /** Bytes of the manifests read (as stored: gzip for assets). */
  manifestBytesRead: number;
  imageBytesWritten: number;
}

export async function prepare(req: PrepareRequest, deps: PrepareDeps, options: PrepareOptions = {}): Promise<PrepareResult> {
  const config = req.config;
  const stats: PrepareStats = options.stats ?? newPrepareStats();
  const io = new ManifestIO(deps, config, stats, options.partBytes ?? 8 * 1024 * 1024);
  const test: TestSource = config.testing;
  const training = await io.lines(config.training, 'training', test.kind === 'split');
  let trainingOut: Written;
  let testingOut: Written | undefined;
  if (test.kind === 'split') {
    ({ training: trainingOut, testing: testingOut } = await splitInto(io, training, test.ratio, test.seed));
  } else {
    trainingOut = await io.write('training', training.replay(), 'training');
    if (test.kind !== 'service') {
      const testing = await io.lines(test, 'testing', false);
      testingOut = await io.write('testing', testing.replay(), 'testing', trainingOut.validation);
    }
  }
  const problems = [...issues('training manifest', trainingOut.validation.errors), ...(testingOut ? issues('testing manifest', testingOut.validation.errors) : [])];
  if (problems.length === 0 && testingOut) problems.push(...pairIssues(trainingOut.validation, testingOut.validation).map((e) => `training/testing: ${e.code} ${e.message}`));
  rejectIf(problems);

  let images = 0;
  const packs = [config.training, config.testing].flatMap((s) => (s.kind === 'asset' ? s.packs ?? [] : []));
  const seen = new Set<string>();
  for (const pack of packs) {
    if (seen.has(`${pack.Bucket}/${pack.Name}`)) continue;
    seen.add(`${pack.Bucket}/${pack.Name}`);
    images += await copyPack(deps.s3, pack, config.dataBucket, stats, options.concurrency ?? 32);
  }
  return {
    training: trainingOut.location,
    testing: testingOut?.location ?? { Bucket: '', Name: '' },
    serviceSplit: testingOut === undefined,
    trainingLines: trainingOut.lines,
    testingLines: testingOut?.lines ?? 0,
    images,
  };
}

export function newPrepareStats(): PrepareStats {
  return { packReads: { requests: 0, bytes: 0 }, manifestBytesRead: 0, imageBytesWritten: 0 };
}

interface Written {
  readonly location: S3Location;
  readonly lines: number;
  readonly validation: ManifestValidation;
}

/** Lines of a manifest that can be read again (each call to replay() reads it anew). */
interface LineSource {
  replay(): AsyncIterable<ManifestLine>;
}

/** Splits the training source into both sides: pass 1 validates the whole and plans, pass 2 writes the sides. */
async function splitInto(io: ManifestIO, source: LineSource, ratio: number, seed: number): Promise<{ training: Written; testing: Written }> {
  const planner = new SplitPlanner({ testRatio: ratio, seed });
  // The split keeps only valid lines: the whole manifest is checked first, or bad lines would vanish without a word.
  const whole = new ManifestValidator({ role: 'training' });
  const included: number[] = [];
  const dataset = new ManifestValidator({ role: 'dataset', onLine: (l) => { if (planner.add(l)) included.push(l.lineNumber); } });
  for await (const line of source.replay()) {
    whole.push(line);
    dataset.push(line);
  }
  rejectIf(issues('training manifest', whole.finish().errors));
  dataset.finish();
  const { sides } = planner.plan();
  const training = io.writer('training');
  const testing = io.writer('testing');
  const trainingCheck = new ManifestValidator({ role: 'training' });
  const testingCheck = new ManifestValidator({ role: 'testing' });
  let k = 0;
  for await (const line of source.replay()) {
    if (k >= included.length || line.lineNumber !== included[k]) continue;
    const toTest = sides[k++] === 1;
    const out = toTest ? testing : training;
    const check = toTest ? testingCheck : trainingCheck;
    check.push({ ...line, lineNumber: out.lines + 1 });
    await out.write(line.text);
  }
  const [trainingAt, testingAt] = [await training.close(), await testing.close()];
  return {
    training: { location: trainingAt, lines: training.lines, validation: trainingCheck.finish() },
    testing: { location: testingAt, lines: testing.lines, validation: testingCheck.finish() },
  };
}

/** Reads the sources of a run's data and writes its manifests. */
class ManifestIO {
  private readonly s3: S3Client;
  private readonly rekognition: RekognitionClient;

  constructor(deps: PrepareDeps, private readonly config: RunConfig, private readonly stats: PrepareStats, private readonly partBytes: number) {
    this.s3 = deps.s3;
    this.rekognition = deps.rekognition;
  }

  /** The lines of a source; a dataset is copied to S3 first when it must be read twice. */
  async lines(source: DataSource, side: string, twice: boolean): Promise<LineSource> {
    switch (source.kind) {
      case 'asset': {
        const rewrite = source.packs !== undefined && source.packs.length > 0;
        return { replay: () => this.objectLines(source.manifest, undefined, rewrite ? this.config.dataBucket : undefined) };
      }
      case 's3': {
        // Read twice (a split), the object must not change in between: the second read asks for the ETag of the first.
        const pin: { versionId?: string; etag?: string } = { versionId: source.objectVersion || undefined };
        return { replay: () => this.objectLines(source.manifest, pin) };
      }
      case 'dataset': {
        if (!twice) return { replay: () => datasetLines(this.rekognition, source.datasetArn) };
        const copy = this.writer(`${side}-source`);
        for await (const line of datasetLines(this.rekognition, source.datasetArn)) await copy.write(line.text);
        const at = await copy.close();
        return { replay: () => this.objectLines(at) };
      }
    }
  }

  /** Writes the lines of `source` to `<manifestPrefix><name>.manifest`, validating them as they pass. */
  async write(name: string, source: AsyncIterable<ManifestLine>, role: 'training' | 'testing', crossCheck?: ManifestValidation): Promise<Written> {
    const out = this.writer(name);
    const v = new ManifestValidator({ role, crossCheck });
    for await (const line of source) {
      v.push(line);
      if (line.text.trim() !== '' || line.tooLong) await out.write(line.text);
    }
    const location = await out.close();
    return { location, lines: out.lines, validation: v.finish() };
  }

  writer(name: string): ManifestWriter {
    return new ManifestWriter(this.s3, this.config.dataBucket, `${this.config.manifestPrefix}${name}.manifest`, this.partBytes);
  }

  /** Lines of an S3 object (gunzipped when it is gzip), source-refs pointed at `images/` of `imagesBucket` when given. */
  async* objectLines(at: S3Location, pin: { versionId?: string; etag?: string } = {}, imagesBucket?: string): AsyncIterable<ManifestLine> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: at.Bucket, Key: at.Name, VersionId: pin.versionId, IfMatch: pin.etag }));
    if (!res.Body) throw new Error(`s3://${at.Bucket}/${at.Name} has no body`);
    pin.etag ??= res.ETag;
    const stats = this.stats;
    const counted = (async function* (body: AsyncIterable<Uint8Array>) {
      for await (const chunk of body) {
        stats.manifestBytesRead += chunk.length;
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      }
    })(res.Body as unknown as AsyncIterable<Uint8Array>);
    for await (const line of readManifestLines(Readable.from(gunzipped(counted)), { includeBlank: true })) {
      yield imagesBucket && !line.tooLong ? { ...line, text: rewriteSourceRef(line.text, imagesBucket, IMAGES_PREFIX) } : line;
    }
  }
}

/** The chunks, gunzipped when they start with gzip's magic bytes (the manifests of assets are compressed). */
async function* gunzipped(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const rest = (async function* () {
    yield first.value;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  })();
  if (first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b) {
    yield* Readable.from(rest).pipe(zlib.createGunzip()) as AsyncIterable<Buffer>;
  } else {
    yield* rest;
  }
}

/** Writes lines to an S3 object: one PutObject when small, else a multipart upload of `partBytes` parts. */
export class ManifestWriter {
  lines = 0;
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private uploadId?: string;
  private readonly parts: { ETag?: string; PartNumber: number }[] = [];

  constructor(private readonly s3: S3Client, private readonly bucket: string, private readonly key: string, private readonly partBytes: number) {}

  async write(text: string): Promise<void> {
    const buf = Buffer.from(`${text}\n`, 'utf8');
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    this.bytes += buf.length;
    this.lines++;
    if (this.pendingBytes >= this.partBytes) await this.flushPart();
  }

  async close(): Promise<S3Location> {
    try {
      if (this.uploadId === undefined) {
        await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: Buffer.concat(this.pending),
          ContentType: 'application/x-ndjson' }));
      } else {
        if (this.pendingBytes > 0) await this.flushPart();
        await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts } }));
      }
    } catch (err) {
      if (this.uploadId !== undefined) {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId })).catch(() => undefined);
      }
      throw err;
    }
    this.pending = [];
    return { Bucket: this.bucket, Name: this.key };
  }

  private async flushPart(): Promise<void> {
    this.uploadId ??= (await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key,
      ContentType: 'application/x-ndjson' }))).UploadId;
    const body = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const PartNumber = this.parts.length + 1;
    const res = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body }));
    this.parts.push({ ETag: res.ETag, PartNumber });
  }
}

/** The entries of a dataset as manifest lines, without the `errors` arrays the service adds to them. */
async function* datasetLines(rekognition: RekognitionClient, datasetArn: string): AsyncIterable<ManifestLine> {
  const described = await rekognition.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }));
  const status = described.DatasetDescription?.Status;
  if (status !== 'CREATE_COMPLETE' && status !== 'UPDATE_COMPLETE') {
    throw new Error(`Dataset ${datasetArn} is ${status}: its entries can be copied only when it is CREATE_COMPLETE or UPDATE_COMPLETE`);
  }
  let lineNumber = 0;
  let token: string | undefined;
  do {
    const page = await rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: datasetArn, NextToken: token, MaxResults: 100 }));
    for (const entry of page.DatasetEntries ?? []) {
      const text = JSON.stringify(stripErrors(JSON.parse(entry)));
      yield { lineNumber: ++lineNumber, text, tooLong: false, length: Buffer.byteLength(text) };
    }
    token = page.NextToken;
  } while (token);
  if (lineNumber === 0) throw new Error(`Dataset ${datasetArn} has no entries`);
}

/**
 * Copies a pack's images to `images/<key>` of the data bucket, once: a marker (named after the pack's asset key, a hash
 * of its content) records a finished copy. Each upload carries the zip's CRC-32, so S3 checks what arrives.
 */
export async function copyPack(s3: S3Client, pack: S3Location, bucket: string, stats: PrepareStats, concurrency: number): Promise<number> {
  const marker = `${PACK_MARKERS}${pack.Name}`;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: marker }));
    return 0;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket: pack.Bucket, Key: pack.Name }));
  const source: RangeSource = {
    size: head.ContentLength ?? 0,
    read: async (start, end) => {
      const res = await s3.send(new GetObjectCommand({ Bucket: pack.Bucket, Key: pack.Name, Range: `bytes=${start}-${end - 1}`, IfMatch: head.ETag }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
  };
  const zip = await openZip(source, stats.packReads);
  let count = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for await (const entry of zip.entries()) {
      if (failure !== undefined) break;
      const upload = (async () => {
        const body = await entry.read();
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(entry.info.crc32);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${IMAGES_PREFIX}${entry.info.name}`, Body: body, ChecksumCRC32: crc.toString('base64') }));
        stats.imageBytesWritten += body.length;
        count++;
      })().catch((err: unknown) => { failure ??= err; });
      inFlight.add(upload);
      void upload.finally(() => inFlight.delete(upload));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    zip.close();
  }
  if (failure !== undefined) throw failure;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: marker, Body: String(count) }));
  return count;
}

/** Fails (with the service's codes and line numbers) when the service would reject the manifests (small manifests in memory). */
export function checkManifests(training: string, testing: string | undefined): void {
  const problems: string[] = [];
  problems.push(...issues('training manifest', validateManifestSync(training, { role: 'training' }).errors));
  if (testing !== undefined) {
    problems.push(...issues('testing manifest', validateManifestSync(testing, { role: 'testing' }).errors));
    if (problems.length === 0) problems.push(...validateManifestPairSync(training, testing).errors.map((e) => `training/testing: ${e.code} ${e.message}`));
  }
  rejectIf(problems);
}

function issues(what: string, errors: readonly ManifestIssue[]): string[] {
  return errors.map((e) => `${what} ${e.line === null ? '(file)' : `line ${e.line}`}: ${e.code} ${e.message}${e.detail ? ` (${e.detail})` : ''}`);
}

function rejectIf(problems: string[]): void {
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_ERRORS_IN_MESSAGE);
  if (problems.length > listed.length) listed.push(`... and ${problems.length - listed.length} more`);
  throw new Error(`The data would be rejected by Rekognition:\n${listed.join('\n')}`);
}

/** Points a line's `source-ref` (`s3://<any bucket>/<key>`) at `s3://<bucket>/<prefix><key>`; other lines pass unchanged. */
export function rewriteSourceRef(line: string, bucket: string, prefix: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof parsed !== 'object' || parsed === null) return line;
  const obj = parsed as Record<string, unknown>;
  const ref = obj['source-ref'];
  const m = typeof ref === 'string' ? /^s3:\/\/[^/]+\/(.+)$/s.exec(ref) : null;
  if (!m) return line;
  obj['source-ref'] = `s3://${bucket}/${prefix}${m[1]}`;
  return JSON.stringify(obj);
}

/** Points every `source-ref` of a manifest at `s3://<bucket>/<prefix><key>`; blank lines go. */
export function rewriteSourceRefs(manifest: string, bucket: string, prefix: string): string {
  const out = manifest.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => rewriteSourceRef(l, bucket, prefix));
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

function stripErrors(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripErrors);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'errors') out[k] = stripErrors(v);
  return out;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NotFound' || err?.name === 'NoSuchKey' || err?.$metadata?.httpStatusCode === 404;
}
