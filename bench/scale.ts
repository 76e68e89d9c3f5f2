/**
 * `npm run build && npm run bench:scale -- [images ...]` (default 25000): the data path of a local folder at scale.
 * `npm run bench:scale -- --s3-manifest [lines ...]` (default 250000, 1 GB): the prepare function on a manifest in S3
 * (see manifestMain).
 *
 * For each size, with generated 64x64 PNGs in three label folders:
 * 1. synth (a process of its own: wall time, peak RSS), cold (no cache) and warm (image facts and packs cached);
 *    baseline: reading every image once (what any synth must do the first time);
 * 2. the prepare function, run by the offline runner in a process of its own held to its configured MemorySize:
 *    wall and CPU time, peak RSS, bytes read; baseline: the same number of PutObject calls to the same local S3;
 * 3. the rest of the workflow (the service imports the datasets, trains, evaluates): checked, not judged;
 * 4. the bytes a deploy uploads after one image changed (the assets whose keys the previous synth did not have).
 * Prints a table, then one JSON line; exits 1 when a target is missed (every image reaches the service's datasets and
 * the workflow succeeds; synth RSS < 1 GB, prepare within MemorySize and,
 * at Lambda's CPU share, within 900 s; the one-image change uploads one image; per-image CPU at the largest size within
 * 1.5x of the smallest).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { DescribeDatasetCommand, DescribeProjectsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';

import { LocalCloud, startLocalCloud } from '../lib/emulator/local-cloud';
import { MANIFEST_LIMITS } from '../lib/manifest/types';
import { LambdaReport } from '../lib/runner/lambda-process';
import { LocalRunner } from '../lib/runner/local-runner';
import { RunEvent } from '../lib/runner/state-machine';
import { numberedPngFactory } from '../lib/samples/numbered-png';

const LABELS = ['circle', 'square', 'triangle'];
/** The bucket a model trained on a manifest in S3 reads (imported by name). */
const REMOTE_BUCKET = 'remote';

const pngFactory = (): ((n: number) => Buffer) => numberedPngFactory(200);

function generate(dir: string, images: number): number {
  const png = pngFactory();
  let bytes = 0;
  for (const label of LABELS) fs.mkdirSync(path.join(dir, label), { recursive: true });
  for (let i = 0; i < images; i++) {
    const data = png(i);
    bytes += data.length;
    fs.writeFileSync(path.join(dir, LABELS[i % LABELS.length], `${String(i).padStart(6, '0')}.png`), data);
  }
  return bytes;
}

function synth(source: string, outdir: string, cacheDir: string): { ms: number; cpuMs: number; maxRssMb: number } {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'scale-synth.js'), source, outdir, cacheDir],
    { encoding: 'utf8', env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' }, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.trim().split('\n').pop()!) as { ms: number; cpuMs: number; maxRssMb: number };
}

/** Every file asset of a cloud assembly: object key and the bytes its source uploads. */
function assets(outdir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of fs.readdirSync(outdir).filter((f) => f.endsWith('.assets.json'))) {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, name), 'utf8')) as {
      files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }> };
    for (const file of Object.values(manifest.files)) {
      if (file.source.path.endsWith('.json')) continue; // the template
      const source = path.join(outdir, file.source.path);
      const size = fs.statSync(source).isDirectory() ? dirBytes(source) : fs.statSync(source).size;
      for (const d of Object.values(file.destinations)) out.set(d.objectKey, size);
    }
  }
  return out;
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? dirBytes(path.join(dir, e.name))
    : fs.statSync(path.join(dir, e.name)).size), 0);
}

function readAll(dir: string): number {
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const label of fs.readdirSync(dir)) {
    for (const f of fs.readdirSync(path.join(dir, label))) bytes += fs.readFileSync(path.join(dir, label, f)).length;
  }
  if (bytes === 0) throw new Error('no images');
  return Number(process.hrtime.bigint() - started) / 1e6;
}

interface PrepareFigures {
  wallMs: number;
  report: LambdaReport;
  prepared: { ms: number; images: number; trainingLines: number; testingLines: number; manifestBytesRead: number; imageBytesWritten: number;
    packReads: { requests: number; bytes: number } };
  putBaselineMsPerObject: number;
  /** Wall ms of each step around prepare: baseline PUTs, the rest of the deploy, the rest of the workflow, closing. */
  phases: Record<string, number>;
  /** The workflow's executions by status, and the entries of the service's datasets (training + test). */
  workflow: { executions: Record<string, number>; datasetEntries: number; versionStatus?: string };
}

interface RunOptions {
  /** Puts the data the stack reads from S3 (an imported bucket's objects) before the deploy. */
  readonly seed?: (cloud: LocalCloud) => Promise<void>;
  /** Stops the workflow once prepare has run (its images are not in S3: only prepare is measured). @default false */
  readonly prepareOnly?: boolean;
}

async function prepareRun(outdir: string, stateDir: string, tempRoot: string | undefined, options: RunOptions = {}): Promise<PrepareFigures> {
  const cloud = await startLocalCloud({ timeScale: 0, tempRoot, buckets: ['baseline', REMOTE_BUCKET] });
  try {
    await options.seed?.(cloud);
    // Baseline: what a PutObject of one small object costs against this local S3 right now.
    const s3 = new S3Client({ endpoint: cloud.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
    const body = Buffer.alloc(400, 1);
    const count = 2000;
    let next = 0;
    const baselineStart = Date.now();
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < count) await s3.send(new PutObjectCommand({ Bucket: 'baseline', Key: `o${next++}`, Body: body }));
    }));
    const putBaselineMsPerObject = (Date.now() - baselineStart) / count;
    const phases: Record<string, number> = { baselineMs: Date.now() - baselineStart };
    s3.destroy();

    const reports: LambdaReport[] = [];
    let prepared: PrepareFigures['prepared'] | undefined;
    const runner = await LocalRunner.open({
      stateDir, cloud,
      // The local S3 stores each object as files and is slower than S3: the prepare function runs to its end however long
      // that takes, and is judged on its CPU time at Lambda's CPU share (below).
      lambdaProcesses: { onReport: (r) => reports.push(r), timeoutSeconds: 4 * 3600 },
      debug: (line) => {
        const at = line.indexOf('{"prepared":');
        if (at >= 0) prepared = (JSON.parse(line.slice(at)) as { prepared: PrepareFigures['prepared'] }).prepared;
      },
    });
    // The runner, the emulator and the local S3's front share this process: a long synchronous stretch in any of them
    // delays every request and timer (the workflow's SDK calls time out after 60 s of real time, as in AWS).
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const started = Date.now();
    const deploying = runner.deploy(outdir);
    while (prepared === undefined && !reports.some((r) => /Prepare/.test(r.functionName) && !r.ok)) {
      await new Promise((r) => setTimeout(r, 200));
      if (Date.now() - started > 4 * 3_600_000) throw new Error('prepare did not finish within four hours');
    }
    const wallMs = Date.now() - started;
    // The function's report comes when its process has exited, just after its last log line.
    const prepareReport = () => reports.filter((r) => /Prepare/.test(r.functionName) && (!prepared || r.durationMs >= prepared.ms - 1000))
      .sort((a, b) => b.durationMs - a.durationMs)[0];
    while (prepared && !prepareReport()) await new Promise((r) => setTimeout(r, 100));
    const report = prepareReport();
    let at = Date.now();
    await deploying;
    phases.deployRestMs = Date.now() - at;
    if (!prepared) throw new Error(`prepare failed: ${JSON.stringify(report)}`);
    // The workflow goes on after the deploy (the model does not wait for training): the service imports what prepare
    // wrote, trains and evaluates. Its result is checked, so that the data path is proven end to end at this size.
    at = Date.now();
    if (options.prepareOnly) await stopExecutions(runner);
    await runner.settle();
    phases.workflowMs = Date.now() - at;
    loopDelay.disable();
    phases.maxEventLoopDelayMs = Math.round(loopDelay.max / 1e6);
    const workflow = options.prepareOnly ? { executions: {}, datasetEntries: 0 } : await workflowOutcome(runner, cloud.rekognitionEndpoint);
    // No destroy: it measures nothing asked for, and stopping the cloud removes its S3 folder; the runner's state is in
    // `root`, removed below.
    at = Date.now();
    await runner.close();
    phases.closeMs = Date.now() - at;
    return { wallMs, report, prepared, putBaselineMsPerObject, phases, workflow };
  } finally {
    await cloud.stop();
  }
}

async function stopExecutions(runner: LocalRunner): Promise<void> {
  const sfn = new SFNClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    for (const e of runner.executions().filter((x) => x.status === 'RUNNING')) {
      await sfn.send(new StopExecutionCommand({ executionArn: e.executionArn, cause: 'bench:scale measures prepare only' }));
    }
  } finally {
    sfn.destroy();
  }
}

function eventsAround(events: readonly RunEvent[]): RunEvent[] {
  const failed = events.findIndex((ev) => ev.type === 'StateFailed' || ev.type === 'StateRetried' || ev.type === 'StateCaught');
  return failed < 0 ? events.slice(-8) : events.slice(Math.max(0, failed - 6), failed + 2);
}

async function workflowOutcome(runner: LocalRunner, endpoint: string): Promise<PrepareFigures['workflow']> {
  const executions: Record<string, number> = {};
  for (const e of runner.executions()) {
    executions[e.status] = (executions[e.status] ?? 0) + 1;
    if (e.status !== 'SUCCEEDED') {
      console.error(`execution ${e.name} ${e.status}: ${e.error ?? ''} ${(e.cause ?? '').slice(0, 2000)}; its first failure and the events `
        + `before it: ${JSON.stringify(eventsAround(e.events))}`);
    }
  }
  const rekognition = new RekognitionClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    let datasetEntries = 0;
    const projects = await rekognition.send(new DescribeProjectsCommand({}));
    for (const p of projects.ProjectDescriptions ?? []) {
      for (const d of p.Datasets ?? []) {
        const described = await rekognition.send(new DescribeDatasetCommand({ DatasetArn: d.DatasetArn }));
        datasetEntries += described.DatasetDescription?.DatasetStats?.TotalEntries ?? 0;
      }
    }
    const [model] = await runner.models();
    return { executions, datasetEntries, versionStatus: model?.status };
  } finally {
    rekognition.destroy();
  }
}

/** Bytes per line (newline included) that make a manifest of the service's most lines its largest file: 4,294. */
const MANIFEST_LINE_BYTES = Math.floor(MANIFEST_LIMITS.maxFileBytes / MANIFEST_LIMITS.maxLines);

/** An object-detection line of exactly MANIFEST_LINE_BYTES bytes: 48 boxes (of 50 allowed), the job name pads the rest. */
function detectionLine(i: number): string {
  const annotations: string[] = [];
  const objects: string[] = [];
  for (let k = 0; k < 48; k++) {
    annotations.push(`{"class_id":${(i + k) % 3},"top":${4 + (k % 6) * 70},"left":${4 + (k % 8) * 75},"width":60,"height":50}`);
    objects.push('{"confidence":1}');
  }
  const line = (pad: string) => `{"source-ref":"s3://${REMOTE_BUCKET}/images/${String(i).padStart(6, '0')}.jpg","bounding-box":{`
    + `"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[${annotations.join(',')}]},"bounding-box-metadata":{`
    + `"objects":[${objects.join(',')}],"class-map":{"0":"helmet","1":"vest","2":"glove"},"type":"groundtruth/object-detection",`
    + `"human-annotated":"yes","creation-date":"2026-01-01T00:00:00","job-name":"labeling-job/scale${pad}"}}\n`;
  const pad = MANIFEST_LINE_BYTES - Buffer.byteLength(line(''));
  if (pad < 0) throw new Error(`a line is ${-pad} bytes over ${MANIFEST_LINE_BYTES}`);
  return line('-'.repeat(pad));
}

function writeManifest(file: string, lines: number): number {
  const fd = fs.openSync(file, 'w');
  try {
    let batch: string[] = [];
    for (let i = 0; i < lines; i++) {
      batch.push(detectionLine(i));
      if (batch.length === 1000) {
        fs.writeSync(fd, batch.join(''));
        batch = [];
      }
    }
    fs.writeSync(fd, batch.join(''));
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

/**
 * `--s3-manifest`: a model trained on a manifest in S3 (TrainingData.fromS3Manifest, the default split), lines of
 * 4,294 bytes, so that 250,000 lines are the service's 1 GB. Measures the prepare function, which validates the
 * manifest and writes both sides (reading it twice: plan, then write); its images are not generated, so the workflow is
 * stopped after prepare.
 */
async function manifestMain(sizes: number[], tempRoot: string | undefined): Promise<number> {
  let ok = true;
  const rows = [];
  for (const lines of sizes) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `bench-scale-manifest-${lines}-`));
    try {
      const file = path.join(root, 'training.manifest');
      const manifestBytes = writeManifest(file, lines);
      const key = 'manifests/training.manifest';
      const synthed = synth(`s3://${REMOTE_BUCKET}/${key}`, path.join(root, 'out'), path.join(root, 'cache'));
      const seed = async (cloud: LocalCloud) => {
        const s3 = cloud.s3.client();
        try {
          await s3.send(new PutObjectCommand({ Bucket: REMOTE_BUCKET, Key: key, Body: fs.createReadStream(file), ContentLength: manifestBytes }));
        } finally {
          s3.destroy();
        }
      };
      const prepare = await prepareRun(path.join(root, 'out'), path.join(root, 'state'), tempRoot, { seed, prepareOnly: true });
      const p = prepare.prepared;
      const row = {
        lines, manifestBytes, synthMs: synthed.ms, synthRssMb: synthed.maxRssMb,
        prepareWallMs: prepare.wallMs, prepareFunctionMs: prepare.report.durationMs, prepareCpuMs: prepare.report.cpuMs,
        prepareRssMb: prepare.report.maxMemoryUsedMb, prepareMemorySizeMb: prepare.report.memorySizeMb,
        trainingLines: p.trainingLines, testingLines: p.testingLines, manifestBytesRead: p.manifestBytesRead,
        loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
      };
      rows.push(row);
      console.error(`${lines} lines: ${JSON.stringify(row)}`);
      // Every line lands on one side; the source is read twice, whole, and never more.
      if (row.trainingLines + row.testingLines !== lines || row.manifestBytesRead !== 2 * manifestBytes) ok = false;
      if (lambdaSeconds(row) > 900 || row.prepareRssMb > row.prepareMemorySizeMb) ok = false;
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  console.log('  lines  manifest   prepare wall / fn / CPU (RSS of MemorySize)   read   training + test lines');
  for (const r of rows) {
    console.log(`${String(r.lines).padStart(7)}  ${(r.manifestBytes / 1024 ** 2).toFixed(0).padStart(5)} MiB  `
      + `${(r.prepareWallMs / 1000).toFixed(0)} / ${(r.prepareFunctionMs / 1000).toFixed(0)} / ${(r.prepareCpuMs / 1000).toFixed(0)} s `
      + `(${r.prepareRssMb} of ${r.prepareMemorySizeMb} MB), in Lambda >= ${lambdaSeconds(r).toFixed(0)} of 900 s  `
      + `${(r.manifestBytesRead / 1024 ** 2).toFixed(0)} MiB  ${r.trainingLines} + ${r.testingLines}`);
  }
  console.log(JSON.stringify({ rows }));
  return ok ? 0 : 1;
}

/**
 * `/dev/shm` for the local S3's files when it has room for `bytes` and 512 MiB more: s3rver writes three files per
 * object, and on a disk the run measures the disk. A container's /dev/shm is often 64 MiB: then the OS temp folder.
 */
function memoryTempRoot(bytes: number): string | undefined {
  try {
    const fsStats = fs.statfsSync('/dev/shm');
    return fsStats.bavail * fsStats.bsize >= bytes + 512 * 1024 * 1024 ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}

/** The least duration of the prepare function in Lambda: its CPU time at the CPU share of its MemorySize. */
function lambdaSeconds(r: { prepareCpuMs: number; prepareMemorySizeMb: number }): number {
  return r.prepareCpuMs / 1000 * Math.max(1, 1769 / r.prepareMemorySizeMb);
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const args = process.argv.slice(2);
  const sizes = args.map(Number).filter((n) => n > 0);
  if (args.includes('--s3-manifest')) {
    const lines = sizes.length > 0 ? sizes : [MANIFEST_LIMITS.maxLines];
    // The source, both sides and s3rver's copy of each part.
    return manifestMain(lines, memoryTempRoot(4 * MANIFEST_LINE_BYTES * Math.max(...lines)));
  }
  if (sizes.length === 0) sizes.push(25_000);
  // About 4.5 KB per image in s3rver's folder (the image, its metadata, the packs, the manifests).
  const tempRoot = memoryTempRoot(8 * 1024 * Math.max(...sizes));
  const rows = [];
  let ok = true;
  for (const images of sizes) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `bench-scale-${images}-`));
    try {
      // Wall ms of each step of the run (where the benchmark's own time goes).
      const steps: Record<string, number> = {};
      let stepAt = Date.now();
      const step = (name: string) => {
        steps[name] = Date.now() - stepAt;
        stepAt = Date.now();
      };
      const imagesDir = path.join(root, 'images');
      const imageBytes = generate(imagesDir, images);
      step('generateMs');
      const cacheDir = path.join(root, 'cache');
      const readMs = readAll(imagesDir);
      step('readAllMs');
      const cold = synth(imagesDir, path.join(root, 'out-cold'), cacheDir);
      step('synthColdMs');
      const warm = synth(imagesDir, path.join(root, 'out-warm'), cacheDir);
      step('synthWarmMs');
      console.error(`${images} images: synth cold ${JSON.stringify(cold)}, warm ${JSON.stringify(warm)}, read all ${Math.round(readMs)} ms`);
      const prepare = await prepareRun(path.join(root, 'out-warm'), path.join(root, 'state'), tempRoot);
      step('prepareRunMs');
      console.error(`${images} images: prepare run ${JSON.stringify({ wallMs: prepare.wallMs, ...prepare.phases, ...prepare.workflow })}`);

      // One image changes: what would a deploy upload?
      const before = assets(path.join(root, 'out-warm'));
      const changed = path.join(imagesDir, LABELS[0], `${String(0).padStart(6, '0')}.png`);
      fs.writeFileSync(changed, pngFactory()(images + 1));
      synth(imagesDir, path.join(root, 'out-changed'), cacheDir);
      step('synthChangedMs');
      const after = assets(path.join(root, 'out-changed'));
      const uploaded = [...after].filter(([key]) => !before.has(key));
      const uploadedBytes = uploaded.reduce((n, [, size]) => n + size, 0);
      const packsUploaded = uploaded.filter(([key]) => key.endsWith('.zip'));

      const row = {
        images, imageBytes,
        synthColdMs: cold.ms, synthColdCpuMs: cold.cpuMs, synthColdRssMb: cold.maxRssMb,
        synthWarmMs: warm.ms, synthWarmCpuMs: warm.cpuMs, synthWarmRssMb: warm.maxRssMb, readAllMs: Math.round(readMs),
        prepareWallMs: prepare.wallMs, prepareFunctionMs: prepare.report.durationMs, prepareCpuMs: prepare.report.cpuMs,
        prepareRssMb: prepare.report.maxMemoryUsedMb, prepareMemorySizeMb: prepare.report.memorySizeMb,
        prepareImages: prepare.prepared.images, packBytesRead: prepare.prepared.packReads.bytes, packRequests: prepare.prepared.packReads.requests,
        manifestBytesRead: prepare.prepared.manifestBytesRead, putBaselineMsPerObject: Number(prepare.putBaselineMsPerObject.toFixed(2)),
        datasetEntries: prepare.workflow.datasetEntries, executions: prepare.workflow.executions, versionStatus: prepare.workflow.versionStatus,
        changeUploadBytes: uploadedBytes, changeUploads: uploaded.map(([key, size]) => `${key} ${size}`),
        changePackBytes: packsUploaded.reduce((n, [, size]) => n + size, 0), oneImageBytes: fs.statSync(changed).size,
        steps: { ...steps, ...prepare.phases },
      };
      rows.push({ ...row, loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))) });
      console.error(`${images} images: ${JSON.stringify(rows[rows.length - 1])}`);
      if (row.synthColdRssMb >= 1024 || row.synthWarmRssMb >= 1024) ok = false;
      if (row.prepareImages !== images) ok = false;
      // Every image reaches the service, and every execution of the workflow succeeds.
      if (row.datasetEntries !== images || Object.keys(row.executions).some((s) => s !== 'SUCCEEDED')) ok = false;
      // Lambda gives one vCPU at 1,769 MB, proportionally less below: the function's CPU time at that share is its least
      // duration in Lambda (uploads overlap the CPU work, 32 in flight). Its wall time here is the local S3's.
      if (lambdaSeconds(row) > 900 || row.prepareRssMb > row.prepareMemorySizeMb) ok = false;
      // One pack of one image: its zip is the image plus its headers and central directory record.
      if (packsUploaded.length !== 1 || row.changePackBytes > row.oneImageBytes + 512) ok = false;
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  console.log('images   synth cold wall / CPU (RSS)   synth warm wall / CPU (RSS)   read all   '
    + 'prepare wall / fn / CPU (RSS of MemorySize)   PUT baseline   1-image change');
  for (const r of rows) {
    console.log(`${String(r.images).padStart(7)}  ${(r.synthColdMs / 1000).toFixed(1).padStart(6)} / ${(r.synthColdCpuMs / 1000).toFixed(1)} s (${r.synthColdRssMb} MB)  `
      + `${(r.synthWarmMs / 1000).toFixed(1).padStart(6)} / ${(r.synthWarmCpuMs / 1000).toFixed(1)} s (${r.synthWarmRssMb} MB)  ${(r.readAllMs / 1000).toFixed(1).padStart(6)} s  `
      + `${(r.prepareWallMs / 1000).toFixed(0)} / ${(r.prepareFunctionMs / 1000).toFixed(0)} / ${(r.prepareCpuMs / 1000).toFixed(0)} s `
      + `(${r.prepareRssMb} of ${r.prepareMemorySizeMb} MB), ${(r.prepareCpuMs / r.images).toFixed(2)} ms CPU/image, `
      + `in Lambda >= ${lambdaSeconds(r).toFixed(0)} of 900 s  `
      + `${r.putBaselineMsPerObject} ms/PUT  ${r.changeUploadBytes} B (pack ${r.changePackBytes} B, image ${r.oneImageBytes} B)`);
  }
  for (const r of rows) {
    console.log(`${String(r.images).padStart(7)}  workflow after the deploy: ${(r.steps.workflowMs / 1000).toFixed(0)} s `
      + `(longest event-loop stall ${(r.steps.maxEventLoopDelayMs / 1000).toFixed(1)} s), executions `
      + `${JSON.stringify(r.executions)}, ${r.datasetEntries} dataset entries, version ${r.versionStatus ?? 'none'}`);
  }
  if (rows.length > 1) {
    const [small, large] = [rows[0], rows[rows.length - 1]];
    const per = (r: typeof small, k: 'synthWarmCpuMs' | 'synthColdCpuMs' | 'prepareCpuMs') => r[k] / r.images;
    for (const k of ['synthWarmCpuMs', 'synthColdCpuMs', 'prepareCpuMs'] as const) {
      const growth = per(large, k) / per(small, k);
      console.log(`${k} per image at ${large.images} / at ${small.images}: ${growth.toFixed(2)} (target <= 1.5: linear or better)`);
      if (growth > 1.5) ok = false;
    }
  }
  console.log(JSON.stringify({ rows }));
  return ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
