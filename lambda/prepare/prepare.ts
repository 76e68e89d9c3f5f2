/**
 * The prepare handler's logic: inspect the project (probe), and turn the model's data into manifests in the data
 * bucket whose images are all in that bucket (prepare).
 */
import { DescribeDatasetCommand, DescribeProjectsCommand, DescribeProjectVersionsCommand, ListDatasetEntriesCommand,
  ProjectVersionDescription, RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { splitManifestLines } from '../../lib/manifest/split';
import { validateManifestPairSync, validateManifestSync } from '../../lib/manifest/validator';
import { DataSource, PrepareRequest, PrepareResult, ProbeRequest, ProbeResult, RunConfig, S3Location, TestSource } from '../../lib/model/contracts';
import { readZip } from './zip';

export interface PrepareDeps {
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
}

const IN_PROGRESS = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'DELETE_IN_PROGRESS']);
const MAX_ERRORS_IN_MESSAGE = 10;

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

export async function prepare(req: PrepareRequest, deps: PrepareDeps): Promise<PrepareResult> {
  const config = req.config;
  const images = { count: 0 };
  let training = await manifestOf(config.training, config, deps, images);
  let testing: string | undefined;
  const test: TestSource = config.testing;
  if (test.kind === 'split') {
    // The split keeps only valid lines: check the whole manifest first, or bad lines would vanish without a word.
    checkManifests(training, undefined);
    const split = splitManifestLines(training, { testRatio: test.ratio, seed: test.seed });
    training = joinLines(split.training);
    testing = joinLines(split.testing);
  } else if (test.kind !== 'service') {
    testing = await manifestOf(test, config, deps, images);
  }
  checkManifests(training, testing);
  const trainingLocation = await put(deps, config.dataBucket, `${config.manifestPrefix}training.manifest`, training);
  const testingLocation = testing === undefined ? { Bucket: '', Name: '' }
    : await put(deps, config.dataBucket, `${config.manifestPrefix}testing.manifest`, testing);
  return {
    training: trainingLocation,
    testing: testingLocation,
    serviceSplit: testing === undefined,
    trainingLines: countLines(training),
    testingLines: testing === undefined ? 0 : countLines(testing),
    images: images.count,
  };
}

/** Fails (with the service's codes and line numbers) when the service would reject the manifests. */
export function checkManifests(training: string, testing: string | undefined): void {
  const problems: string[] = [];
  const t = validateManifestSync(training, { role: 'training' });
  problems.push(...t.errors.map((e) => `training manifest ${e.line === null ? '(file)' : `line ${e.line}`}: ${e.code} ${e.message}`));
  if (testing !== undefined) {
    const s = validateManifestSync(testing, { role: 'testing' });
    problems.push(...s.errors.map((e) => `testing manifest ${e.line === null ? '(file)' : `line ${e.line}`}: ${e.code} ${e.message}`));
    if (problems.length === 0) {
      const pair = validateManifestPairSync(training, testing);
      problems.push(...pair.errors.map((e) => `training/testing: ${e.code} ${e.message}`));
    }
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_ERRORS_IN_MESSAGE);
    if (problems.length > listed.length) listed.push(`... and ${problems.length - listed.length} more`);
    throw new Error(`The data would be rejected by Rekognition:\n${listed.join('\n')}`);
  }
}

async function manifestOf(source: DataSource, config: RunConfig, deps: PrepareDeps, images: { count: number }): Promise<string> {
  switch (source.kind) {
    case 'asset': {
      const manifest = (await getObject(deps, source.manifest)).toString('utf8');
      if (!source.images) return manifest;
      const prefix = `images/${source.imagesHash ?? 'local'}/`;
      images.count += await unpackImages(deps, source.images, config.dataBucket, prefix);
      return rewriteSourceRefs(manifest, config.dataBucket, prefix);
    }
    case 's3':
      return (await getObject(deps, source.manifest, source.objectVersion)).toString('utf8');
    case 'dataset':
      return datasetManifest(deps, source.datasetArn);
  }
}

/** Unpacks the image zip into `s3://bucket/prefix<path>`, once: a marker object records a finished unpack. */
export async function unpackImages(deps: PrepareDeps, zip: S3Location, bucket: string, prefix: string): Promise<number> {
  const marker = `${prefix}.unpacked`;
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: marker }));
    return 0;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const entries = readZip(await getObject(deps, zip));
  let count = 0;
  const queue = [...entries];
  // A few uploads in flight at a time: enough to hide latency, bounded memory.
  const worker = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      await deps.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${entry.name}`, Body: entry.read() }));
      count++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await deps.s3.send(new PutObjectCommand({ Bucket: bucket, Key: marker, Body: String(count) }));
  return count;
}

/** Points every `source-ref` (`s3://<any bucket>/<key>`) at `s3://<bucket>/<prefix><key>`. Other lines pass unchanged. */
export function rewriteSourceRefs(manifest: string, bucket: string, prefix: string): string {
  const out: string[] = [];
  for (const line of manifest.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      out.push(line);
      continue;
    }
    const obj = parsed as Record<string, unknown>;
    const ref = obj['source-ref'];
    const m = typeof ref === 'string' ? /^s3:\/\/[^/]+\/(.+)$/.exec(ref) : null;
    if (m) obj['source-ref'] = `s3://${bucket}/${prefix}${m[1]}`;
    out.push(m ? JSON.stringify(obj) : line);
  }
  return joinLines(out);
}

/** The entries of a dataset as a manifest, without the `errors` arrays the service adds to them. */
export async function datasetManifest(deps: PrepareDeps, datasetArn: string): Promise<string> {
  const described = await deps.rekognition.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }));
  const status = described.DatasetDescription?.Status;
  if (status !== 'CREATE_COMPLETE' && status !== 'UPDATE_COMPLETE') {
    throw new Error(`Dataset ${datasetArn} is ${status}: its entries can be copied only when it is CREATE_COMPLETE or UPDATE_COMPLETE`);
  }
  const lines: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: datasetArn, NextToken: token, MaxResults: 100 }));
    for (const entry of page.DatasetEntries ?? []) lines.push(JSON.stringify(stripErrors(JSON.parse(entry))));
    token = page.NextToken;
  } while (token);
  if (lines.length === 0) throw new Error(`Dataset ${datasetArn} has no entries`);
  return joinLines(lines);
}

function stripErrors(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripErrors);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'errors') out[k] = stripErrors(v);
  return out;
}

async function getObject(deps: PrepareDeps, location: S3Location, versionId?: string): Promise<Buffer> {
  const res = await deps.s3.send(new GetObjectCommand({ Bucket: location.Bucket, Key: location.Name, VersionId: versionId || undefined }));
  if (!res.Body) throw new Error(`s3://${location.Bucket}/${location.Name} has no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

async function put(deps: PrepareDeps, bucket: string, key: string, content: string): Promise<S3Location> {
  await deps.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content, ContentType: 'application/x-ndjson' }));
  return { Bucket: bucket, Name: key };
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NotFound' || err?.name === 'NoSuchKey' || err?.$metadata?.httpStatusCode === 404;
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function countLines(text: string): number {
  return text.split('\n').filter((l) => l.trim() !== '').length;
}
