/**
 * `npm run bench:emulator`: how fast the offline world is.
 * 1. DetectCustomLabels requests per second on a RUNNING classification model (64x64 PNG in Bytes, real SDK client,
 *    fixed concurrency), against a bare node:http server that answers the same SDK call with a fixed body: the ratio
 *    emulator/bare shows what the emulator's own work costs (target >= 0.3).
 * 2. A full lifecycle at timeScale Infinity: project, 1,000 generated images uploaded and imported, training, start,
 *    100 detections, stop, delete; the wall time (target < 10 s).
 * Prints one line per figure, then one JSON line with all figures; exits 1 when a target is missed.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

import {
  CreateDatasetCommand,
  CreateProjectCommand,
  CreateProjectVersionCommand,
  DeleteDatasetCommand,
  DeleteProjectCommand,
  DeleteProjectVersionCommand,
  DescribeDatasetCommand,
  DescribeProjectsCommand,
  DescribeProjectVersionsCommand,
  DetectCustomLabelsCommand,
  RekognitionClient,
  StartProjectVersionCommand,
  StopProjectVersionCommand,
} from '@aws-sdk/client-rekognition';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { LocalCloud, startLocalCloud } from '../lib/emulator/local-cloud';
import { classificationLine, Stamp } from '../lib/manifest/convert/common';
import { classificationSamples, SampleImage } from '../lib/samples';

const TARGET_RATIO = 0.3;
const TARGET_LIFECYCLE_MS = 10_000;
const CONCURRENCY = 16;
const BUCKET = 'bench';
const CREDENTIALS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' };
const LABELS = ['red-circle', 'blue-square', 'green-triangle', 'yellow-circle'];

interface Clients {
  readonly rek: RekognitionClient;
  readonly s3: S3Client;
}

interface RunningModel {
  readonly projectArn: string;
  readonly versionArn: string;
  readonly datasetArns: string[];
  readonly test: SampleImage[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done` holds; every wait of the emulator at timeScale Infinity ends as soon as its work is done. */
async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean,
  failed: (value: T) => string | undefined = () => undefined): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await read();
    const failure = failed(value);
    if (failure !== undefined) throw new Error(`${what} failed: ${failure}`);
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still waiting after 120 s`);
    await sleep(5);
  }
}

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await task(next++);
  }));
}

function manifest(samples: SampleImage[], prefix: string): string {
  const stamp: Stamp = { bucket: BUCKET, prefix, creationDate: '2024-01-01T00:00:00.000', jobName: 'bench/shapes' };
  return samples.map((s) => classificationLine(stamp, `s3://${BUCKET}/${prefix}${s.relPath}`, [{ name: s.labels[0], id: LABELS.indexOf(s.labels[0]) }]))
    .join('\n') + '\n';
}

/** Uploads the images and manifests, imports them as TRAIN (80%) and TEST (20%) datasets, trains and starts a model. */
async function trainRunningModel(c: Clients, name: string, samples: SampleImage[], phase: (name: string) => void): Promise<RunningModel> {
  const prefix = `${name}/`;
  const { ProjectArn } = await c.rek.send(new CreateProjectCommand({ ProjectName: name }));
  const projectArn = ProjectArn!;
  await pool(samples.length, 32, async (i) => {
    await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}${samples[i].relPath}`, Body: samples[i].bytes, ContentType: 'image/png' }));
  });
  // Every fifth image of each label is a test image: deterministic and stratified.
  const test = samples.filter((_, i) => i % 5 === 4);
  const train = samples.filter((_, i) => i % 5 !== 4);
  await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}train.manifest`, Body: manifest(train, prefix) }));
  await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}test.manifest`, Body: manifest(test, prefix) }));
  phase('upload');
  const datasetArns: string[] = [];
  for (const [type, key] of [['TRAIN', 'train.manifest'], ['TEST', 'test.manifest']] as const) {
    const { DatasetArn } = await c.rek.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: type, DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: `${prefix}${key}` } } },
    }));
    datasetArns.push(DatasetArn!);
  }
  for (const arn of datasetArns) {
    await waitFor(`import of ${arn}`, () => c.rek.send(new DescribeDatasetCommand({ DatasetArn: arn })),
      (d) => d.DatasetDescription?.Status === 'CREATE_COMPLETE',
      (d) => (d.DatasetDescription?.Status === 'CREATE_FAILED' ? d.DatasetDescription.StatusMessage ?? 'CREATE_FAILED' : undefined));
  }
  phase('import');
  const { ProjectVersionArn } = await c.rek.send(new CreateProjectVersionCommand({
    ProjectArn: projectArn, VersionName: 'v1', OutputConfig: { S3Bucket: BUCKET, S3KeyPrefix: `${prefix}output/` },
  }));
  const versionArn = ProjectVersionArn!;
  const status = async (): Promise<{ status?: string; message?: string }> => {
    const out = await c.rek.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: ['v1'] }));
    const v = out.ProjectVersionDescriptions?.[0];
    return { status: v?.Status, message: v?.StatusMessage };
  };
  await waitFor('training', status, (v) => v.status === 'TRAINING_COMPLETED', (v) => (v.status === 'TRAINING_FAILED' ? v.message : undefined));
  phase('train');
  await c.rek.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
  await waitFor('start', status, (v) => v.status === 'RUNNING', (v) => (v.status === 'FAILED' ? v.message : undefined));
  phase('start');
  return { projectArn, versionArn, datasetArns, test };
}

/** Stops the model and deletes version, datasets and project, waiting for each to go. */
async function tearDown(c: Clients, m: RunningModel): Promise<void> {
  await c.rek.send(new StopProjectVersionCommand({ ProjectVersionArn: m.versionArn }));
  const versions = (): Promise<string[]> => c.rek.send(new DescribeProjectVersionsCommand({ ProjectArn: m.projectArn }))
    .then((o) => (o.ProjectVersionDescriptions ?? []).map((v) => v.Status ?? ''));
  await waitFor('stop', versions, (s) => s[0] === 'STOPPED');
  await c.rek.send(new DeleteProjectVersionCommand({ ProjectVersionArn: m.versionArn }));
  await waitFor('version deletion', versions, (s) => s.length === 0);
  for (const arn of m.datasetArns) await c.rek.send(new DeleteDatasetCommand({ DatasetArn: arn }));
  const project = (): Promise<{ datasets: number } | undefined> => c.rek.send(new DescribeProjectsCommand({}))
    .then((o) => o.ProjectDescriptions?.find((p) => p.ProjectArn === m.projectArn))
    .then((p) => (p ? { datasets: p.Datasets?.length ?? 0 } : undefined));
  await waitFor('dataset deletion', project, (p) => p?.datasets === 0);
  await c.rek.send(new DeleteProjectCommand({ ProjectArn: m.projectArn }));
  await waitFor('project deletion', project, (p) => p === undefined);
}

interface LifecycleFigures {
  readonly wallMs: number;
  readonly phasesMs: Record<string, number>;
  readonly cpuMs: Record<string, number>;
  readonly detections: number;
  readonly correct: number;
}

async function lifecycle(c: Clients): Promise<LifecycleFigures> {
  const started = performance.now();
  let last = started;
  let lastCpu = process.cpuUsage();
  const phasesMs: Record<string, number> = {};
  const cpuMs: Record<string, number> = {};
  // CPU time of this process per phase (s3rver's child not included): readable even when the machine is busy.
  const phase = (name: string): void => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    phasesMs[name] = Math.round(now - last);
    cpuMs[name] = Math.round((cpu.user + cpu.system) / 1000);
    last = now;
    lastCpu = process.cpuUsage();
  };
  const samples = classificationSamples({ seed: 42, perLabel: 250, labels: LABELS, size: 64 });
  phase('generate');
  const model = await trainRunningModel(c, 'lifecycle', samples, phase);
  let correct = 0;
  const detections = 100;
  await pool(detections, CONCURRENCY, async (i) => {
    const image = model.test[i % model.test.length];
    const out = await c.rek.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: model.versionArn, Image: { Bytes: image.bytes }, MinConfidence: 0,
    }));
    if (out.CustomLabels?.[0]?.Name === image.labels[0]) correct++;
  });
  phase('detect');
  await tearDown(c, model);
  phase('teardown');
  return { wallMs: Math.round(performance.now() - started), phasesMs, cpuMs, detections, correct };
}

/** Completed calls per second of `call` over `ms`, with CONCURRENCY callers. */
async function rate(call: () => Promise<unknown>, ms: number): Promise<{ calls: number; seconds: number; errors: number }> {
  const started = performance.now();
  const deadline = started + ms;
  let calls = 0;
  let errors = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      try {
        await call();
        calls++;
      } catch {
        errors++;
      }
    }
  }));
  return { calls, seconds: (performance.now() - started) / 1000, errors };
}

/** Answers every request with the same DetectCustomLabels body, after reading the request like a server must. */
async function startBareServer(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const body = JSON.stringify({ CustomLabels: [{ Name: 'red-circle', Confidence: 99.5 }] });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': randomUUID() });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function throughput(c: Clients): Promise<{ emulatorRps: number; bareRps: number; ratio: number; errors: number }> {
  const model = await trainRunningModel(c, 'throughput', classificationSamples({ seed: 7, perLabel: 30, labels: LABELS, size: 64 }), () => undefined);
  const bytes = model.test[0].bytes;
  const bare = await startBareServer();
  const bareClient = new RekognitionClient({ endpoint: bare.endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  const command = (): DetectCustomLabelsCommand => new DetectCustomLabelsCommand({ ProjectVersionArn: model.versionArn, Image: { Bytes: bytes } });
  const emulatorCall = (): Promise<unknown> => c.rek.send(command());
  const bareCall = (): Promise<unknown> => bareClient.send(command());
  try {
    await rate(emulatorCall, 500);
    await rate(bareCall, 500);
    // Alternating rounds, so that load from elsewhere on the machine hits both sides alike.
    const totals = { emulator: { calls: 0, seconds: 0, errors: 0 }, bare: { calls: 0, seconds: 0, errors: 0 } };
    for (let round = 0; round < 3; round++) {
      for (const [side, call] of [['emulator', emulatorCall], ['bare', bareCall]] as const) {
        const r = await rate(call, 1000);
        totals[side].calls += r.calls;
        totals[side].seconds += r.seconds;
        totals[side].errors += r.errors;
      }
    }
    const emulatorRps = totals.emulator.calls / totals.emulator.seconds;
    const bareRps = totals.bare.calls / totals.bare.seconds;
    return {
      emulatorRps: Math.round(emulatorRps),
      bareRps: Math.round(bareRps),
      ratio: round2(emulatorRps / bareRps),
      errors: totals.emulator.errors + totals.bare.errors,
    };
  } finally {
    bareClient.destroy();
    await bare.close();
    await tearDown(c, model);
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

async function main(): Promise<number> {
  // The SDK's once-per-process notice about Node 22 would sit in the middle of the figures.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The TPS budget is raised so that throttling cannot cut the measured rate.
  // S3 objects in memory where the system offers it: s3rver writes three files per object, and a slow disk would
  // measure the disk rather than the emulator.
  const tempRoot = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
  const cloud: LocalCloud = await startLocalCloud({ timeScale: Infinity, buckets: [BUCKET], tpsPerInferenceUnit: 1_000_000, tempRoot });
  const c: Clients = {
    rek: new RekognitionClient({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 }),
    s3: new S3Client({ endpoint: cloud.s3Endpoint, region: 'us-east-1', credentials: CREDENTIALS }),
  };
  try {
    const life = await lifecycle(c);
    const phases = Object.entries(life.phasesMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s (cpu ${(life.cpuMs[k] / 1000).toFixed(2)})`).join(', ');
    console.log(`lifecycle: ${(life.wallMs / 1000).toFixed(2)} s (target < ${TARGET_LIFECYCLE_MS / 1000} s): ${phases}; `
      + `${life.correct}/${life.detections} detections right`);
    const detect = await throughput(c);
    console.log(`DetectCustomLabels, ${CONCURRENCY} concurrent: emulator ${detect.emulatorRps} req/s, bare node:http ${detect.bareRps} req/s, `
      + `ratio ${detect.ratio} (target >= ${TARGET_RATIO})${detect.errors ? `, ${detect.errors} errors` : ''}`);
    const ok = life.wallMs < TARGET_LIFECYCLE_MS && detect.ratio >= TARGET_RATIO && detect.errors === 0;
    console.log(JSON.stringify({
      lifecycle: { ...life, targetMs: TARGET_LIFECYCLE_MS, images: 1000, s3Directory: tempRoot ?? 'os.tmpdir()' },
      detect: { ...detect, concurrency: CONCURRENCY, targetRatio: TARGET_RATIO },
      ok,
    }));
    return ok ? 0 : 1;
  } finally {
    c.rek.destroy();
    c.s3.destroy();
    await cloud.stop();
  }
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(`bench:emulator failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
