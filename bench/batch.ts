/**
 * `npm run build && npm run bench:batch [-- --images N] [--tps 3,10,40]` (default 20000 images; `--images 200` is a
 * smoke run): BatchAnalysis deployed by the offline runner (IAM enforced) against the emulator, on the virtual clock.
 * 1. Throughput: N images (64x64 PNGs) through the Distributed Map against models of 3, 10 and 40 TPS (one project
 *    each, 200 ms per call), with the construct's defaults (50 images per batch, 4 batches per inference unit). Per
 *    capacity: images analysed and lost, refusals seen and retried, DetectCustomLabels calls per image, the Map's
 *    virtual duration, sustained throughput = images / the Map's virtual seconds, its ratio to the capacity (target
 *    >= 0.9), the busiest virtual second (never above the capacity), and wall time against a baseline measured in the
 *    same run: the same number of DetectCustomLabels calls made straight to the emulator (16 in flight, no limit).
 * 2. Idle cost: two bursts (min(500, N/4) images each) 40 virtual minutes apart on a stopped model, with the default
 *    stopWhenIdle (15 min). The meter (cloud.usage()) must show one start per burst and, after each burst's Map, at
 *    most stopWhenIdle + 1 virtual minute of running. A table of inference-unit hours and dollars ($4 per IU-hour)
 *    for: our defaults (measured), an hourly idle check (computed from the measured times, see hourlyCheck) and a
 *    model never stopped (24 h a day).
 * `--profile` prints, per capacity, the calls admitted/refused per 10 virtual seconds of the Map.
 * Prints tables, then one JSON line; exits 1 when a target is missed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Rekognition } from '@aws-sdk/client-rekognition';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { BatchSummary } from '../lib/batch/contracts';
import { startLocalCloud } from '../lib/emulator/local-cloud';
import { BatchAnalysis, CustomLabelsModel } from '../lib/index';
import { LocalRunner } from '../lib/runner/local-runner';
import { numberedPngFactory } from '../lib/samples/numbered-png';
import { classificationSamples } from '../lib/samples/shapes';

const IMAGES = 'bench-batch-images';
const RESULTS = 'bench-batch-results';
const STACK = 'BenchBatch';
const LATENCY_MS = 200;
const DEFAULT_CAPACITIES = [3, 10, 40];
/** The idle-cost model's capacity (its bursts are short either way). */
const IDLE_TPS = 10;
const STOP_WHEN_IDLE_MIN = 15;
const BURST_GAP_MIN = 40;
const DOLLARS_PER_IU_HOUR = 4;

const project = (tps: number): string => `bench-tps-${tps}`;
const IDLE_PROJECT = 'bench-idle';
const BASELINE_PROJECT = 'bench-baseline';
const minutes = (ms: number): number => ms / 60_000;

/** `--tps 3,10`: the capacities to measure. */
function capacitiesArg(): number[] {
  const at = process.argv.indexOf('--tps');
  if (at < 0) return DEFAULT_CAPACITIES;
  const list = (process.argv[at + 1] ?? '').split(',').map(Number);
  if (list.length === 0 || list.some((n) => !(n > 0))) throw new Error(`--tps must be a list of capacities like 3,10,40, got: ${process.argv[at + 1]}`);
  return list;
}

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1, got: ${process.argv[at + 1]}`);
  return value;
}

const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** Puts `count` numbered PNGs under `prefix`, 32 in flight. */
async function upload(client: S3Client, prefix: string, count: number): Promise<void> {
  const png = numberedPngFactory(128);
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < count) {
      const n = next++;
      await client.send(new PutObjectCommand({ Bucket: IMAGES, Key: `${prefix}${String(n).padStart(6, '0')}.png`, Body: png(n) }));
    }
  }));
}

/** Bytes a run wrote, by kind: results (images/*.jsonl), the Map's ResultWriter files, the predictions manifest. */
async function runBytes(client: S3Client, prefix: string): Promise<{ results: number; resultFiles: number; map: number; predictions: number }> {
  const out = { results: 0, resultFiles: 0, map: 0, predictions: 0 };
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (o.Key!.includes('/images/')) {
        out.results += o.Size ?? 0;
        out.resultFiles++;
      } else if (o.Key!.includes('/map/')) out.map += o.Size ?? 0;
      else if (o.Key!.endsWith('/predictions.manifest')) out.predictions += o.Size ?? 0;
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

function synth(outdir: string, versions: Record<string, string>, capacities: readonly number[]): string {
  // aws-cdk-lib's own template validation only warns, and takes seconds per construct; the runner's deploy checks the template.
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, STACK, { env: { region: 'us-east-1' } });
  const images = s3.Bucket.fromBucketName(stack, 'Images', IMAGES);
  const results = s3.Bucket.fromBucketName(stack, 'Results', RESULTS);
  // The construct's defaults (imagesPerBatch 50, stopWhenIdle 15 min, one inference unit): they are what is measured.
  for (const tps of capacities) {
    new BatchAnalysis(stack, `Tps${tps}`, {
      model: CustomLabelsModel.fromVersionArn(stack, `Model${tps}`, versions[project(tps)]),
      input: { bucket: images, prefix: 'images/' },
      output: { bucket: results, prefix: `tps${tps}/` },
      // Every label in each result (the largest results, for the output sizes); the pace does not depend on it.
      minConfidence: 0,
    });
  }
  new BatchAnalysis(stack, 'Idle', {
    model: CustomLabelsModel.fromVersionArn(stack, 'ModelIdle', versions[IDLE_PROJECT]),
    input: { bucket: images, prefix: 'burst/' },
    output: { bucket: results, prefix: 'idle/' },
  });
  app.synth();
  return outdir;
}

/**
 * The Map's span in virtual ms: from its ItemReader's first listing of the input bucket to its ResultWriter's
 * manifest.json (written once every child has ended). The interpreter's own history times do not count the time
 * tasks take, so the S3 calls the Map makes are the clock readings.
 */
function mapSpan(calls: ReadonlyArray<{ at: number; what: string; path: string }>, from: number, outputPrefix: string):
{ start: number; end: number } {
  const mine = calls.slice(from);
  const start = mine.find((c) => c.what === 'list')?.at;
  const end = mine.filter((c) => c.what === 'manifest' && c.path.startsWith(`/${RESULTS}/${outputPrefix}`)).pop()?.at;
  if (start === undefined || end === undefined) throw new Error(`no Map listing or ResultWriter manifest under ${outputPrefix} in the S3 log`);
  return { start, end };
}

interface ThroughputRow {
  tps: number;
  images: number;
  analysed: number;
  lost: number;
  refused: number;
  retried: number;
  callsPerImage: number;
  mapVirtualSeconds: number;
  sustainedTps: number;
  ratio: number;
  peakSecond: number;
  resultBytesPerImage: number;
  predictionBytesPerImage: number;
  resultFiles: number;
  mapResultBytes: number;
  wallSeconds: number;
  wallMsPerImage: number;
  status: string;
}

/**
 * `--profile`: admitted/refused calls per 10 virtual seconds of the Map, from its start (where the pace is learned, and
 * the tail where the last batches end, show against the steady state).
 */
function profile(answers: ReadonlyArray<{ at: number; ok: boolean }>, map: { start: number; end: number },
  perSecond: ReadonlyMap<number, number>): string {
  const start = Math.floor(map.start / 1000);
  const buckets: Array<[number, number]> = [];
  for (let from = start; from < map.end / 1000; from += 10) {
    let admitted = 0;
    for (let second = from; second < from + 10; second++) admitted += perSecond.get(second) ?? 0;
    buckets.push([admitted, 0]);
  }
  // A refusal answers at once: its time is when it was refused.
  for (const a of answers.filter((x) => !x.ok)) {
    const bucket = buckets[Math.floor((Math.floor(a.at / 1000) - start) / 10)];
    if (bucket) bucket[1]++;
  }
  return buckets.map(([admitted, refused]) => `${admitted}/${refused}`).join(' ');
}

/**
 * What an hourly idle check (the AWS batch sample's design) would have run: the model starts when a burst starts
 * (serving as soon as ours did) and a check at every full hour of the clock stops it when no burst is under way, so
 * it runs until the first full hour after the burst's last analysis (through the next burst when that starts first).
 */
function hourlyCheck(bursts: ReadonlyArray<{ servingFrom: number; mapEnd: number }>): { ms: number; starts: number } {
  const hour = 3_600_000;
  let ms = 0;
  let starts = 0;
  let runningUntil = -Infinity;
  let runningFrom = 0;
  for (const b of bursts) {
    if (b.servingFrom >= runningUntil) {
      if (runningUntil > -Infinity) ms += runningUntil - runningFrom;
      runningFrom = b.servingFrom;
      starts++;
    }
    runningUntil = Math.max(runningUntil, Math.floor(b.mapEnd / hour) * hour + hour);
  }
  return { ms: ms + runningUntil - runningFrom, starts };
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const images = argValue('--images', 20_000);
  const capacities = capacitiesArg();
  // 500 a burst, fewer for a smoke run.
  const burstImages = Math.min(500, Math.ceil(images / 4));
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batch-'));
  const tempRoot = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
  // Each DetectCustomLabels answer at its virtual time (the emulator logs a call when it answers; runs go one at a time).
  const answers: Array<{ at: number; ok: boolean; throttled: boolean }> = [];
  const starts: string[] = [];
  // The Map's own S3 calls at their virtual times: its ItemReader lists the input bucket, its ResultWriter writes manifest.json last.
  const mapCalls: Array<{ at: number; what: 'list' | 'manifest'; path: string }> = [];
  let clockNow = (): number => 0;
  const cloud = await startLocalCloud({
    timeScale: 0, tempRoot, buckets: [IMAGES, RESULTS], quotas: { concurrentTrainings: 10 },
    modelCapacity: [
      ...capacities.map((tps) => ({ projectName: project(tps), tpsPerInferenceUnit: tps, latencyMs: LATENCY_MS })),
      { projectName: IDLE_PROJECT, tpsPerInferenceUnit: IDLE_TPS, latencyMs: LATENCY_MS },
      { projectName: BASELINE_PROJECT, tpsPerInferenceUnit: 1_000_000 },
    ],
    log: (line) => {
      const parts = line.split(' ');
      if (parts[1] === 'S3') {
        if (parts[2] === 'GET' && (parts[3] === `/${IMAGES}` || parts[3] === `/${IMAGES}/`)) mapCalls.push({ at: clockNow(), what: 'list', path: parts[3] });
        if (parts[2] === 'PUT' && parts[3].startsWith(`/${RESULTS}/`) && parts[3].endsWith('/manifest.json')) {
          mapCalls.push({ at: clockNow(), what: 'manifest', path: parts[3] });
        }
        return;
      }
      if (parts[1] === 'StartProjectVersion' && parts[2] === '200') starts.push(line);
      if (parts[1] !== 'DetectCustomLabels') return;
      answers.push({ at: clockNow(), ok: parts[2] === '200',
        throttled: line.endsWith('ProvisionedThroughputExceededException') });
    },
  });
  clockNow = () => cloud.clock.now();
  // The functions pace on the virtual clock: refuse on it alone, as AWS would (see CapacityTable.virtualClockOnly).
  cloud.emulator.capacity.virtualClockOnly(true);
  let idleSnapshot: { at: number; meterSeconds: number } | undefined;
  const meterSeconds = (arn: string): number => cloud.usage().versions.filter((v) => v.projectVersionArn === arn)
    .reduce((s, v) => s + v.inferenceUnitSeconds, 0);
  const versions: Record<string, string> = {};
  const runner = await LocalRunner.open({
    stateDir: path.join(dir, 'state'), cloud,
    beforeWait: (execution, state) => {
      // The idle burst has released the model: the meter's reading when its stopWhenIdle wait begins.
      if (state === 'WaitIdle' && execution.stateMachineArn.includes('Idle')) {
        idleSnapshot = { at: cloud.clock.now(), meterSeconds: meterSeconds(versions[IDLE_PROJECT]) };
      }
    },
  });
  const admin = cloud.s3.client();
  const rekognition = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1', credentials });
  let ok = true;
  try {
    // One trained version per project, made in the emulator (training is the model workflow's benchmark).
    const samples = classificationSamples({ perLabel: 3, seed: 7 });
    const manifest = async (prefix: string): Promise<string> => {
      const lines: string[] = [];
      for (const s of samples) {
        await admin.send(new PutObjectCommand({ Bucket: IMAGES, Key: `${prefix}${s.relPath}`, Body: s.bytes }));
        lines.push(JSON.stringify({ 'source-ref': `s3://${IMAGES}/${prefix}${s.relPath}`, 'shape': 0, 'shape-metadata': { 'class-name': s.labels[0],
          'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes', 'creation-date': '2026-01-01T00:00:00.000',
          'job-name': 'shape' } }));
      }
      return lines.join('\n');
    };
    await admin.send(new PutObjectCommand({ Bucket: IMAGES, Key: 'training/train.manifest', Body: await manifest('training/train/') }));
    await admin.send(new PutObjectCommand({ Bucket: IMAGES, Key: 'training/test.manifest', Body: await manifest('training/test/') }));
    const projects = [...capacities.map(project), IDLE_PROJECT, BASELINE_PROJECT];
    for (const name of projects) {
      const projectArn = (await rekognition.createProject({ ProjectName: name })).ProjectArn!;
      for (const type of ['TRAIN', 'TEST'] as const) {
        await rekognition.createDataset({ ProjectArn: projectArn, DatasetType: type,
          DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: IMAGES, Name: `training/${type.toLowerCase()}.manifest` } } } });
      }
    }
    cloud.clock.advance(60_000);
    await cloud.emulator.idle();
    for (const name of projects) {
      const projectArn = (await rekognition.describeProjects({ ProjectNames: [name] })).ProjectDescriptions![0].ProjectArn!;
      versions[name] = (await rekognition.createProjectVersion({ ProjectArn: projectArn, VersionName: 'v1',
        OutputConfig: { S3Bucket: RESULTS, S3KeyPrefix: `training/${name}/` } })).ProjectVersionArn!;
    }
    cloud.clock.advance(24 * 3_600_000);
    await cloud.emulator.idle();

    const uploadStart = Date.now();
    await upload(admin, 'images/', images);
    await upload(admin, 'burst/', burstImages);
    console.error(`setup: ${images} + ${burstImages} images uploaded in ${((Date.now() - uploadStart) / 1000).toFixed(1)} s`);

    const deployStart = Date.now();
    await runner.deploy(synth(path.join(dir, 'cdk.out'), versions, capacities));
    await runner.settle();
    console.error(`setup: synth and deploy in ${((Date.now() - deployStart) / 1000).toFixed(1)} s`);
    const sfn = new SFNClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials });
    const machines = Object.entries(runner.stackState(STACK)!.resources).filter(([, r]) => r.type === 'AWS::StepFunctions::StateMachine');
    const machineOf = (id: string): string => machines.find(([logicalId]) => logicalId.startsWith(id))![1].physicalId;
    const run = async (machine: string): Promise<{ summary?: BatchSummary; status: string; wallMs: number }> => {
      const wall = Date.now();
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: '{}' }));
      await runner.settle();
      const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (done.status !== 'SUCCEEDED') console.error(`${executionArn}: ${done.status} ${done.error ?? ''} ${done.cause ?? ''}`);
      return { summary: done.output ? JSON.parse(done.output) as BatchSummary : undefined, status: done.status!, wallMs: Date.now() - wall };
    };

    // Baseline: the same number of calls straight to the emulator, at no throughput limit, 16 in flight.
    await rekognition.startProjectVersion({ ProjectVersionArn: versions[BASELINE_PROJECT], MinInferenceUnits: 1 });
    cloud.clock.advance(30 * 60_000);
    await cloud.emulator.idle();
    const baselineStart = Date.now();
    let sent = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (sent < images) {
        sent++;
        await rekognition.detectCustomLabels({ ProjectVersionArn: versions[BASELINE_PROJECT],
          Image: { S3Object: { Bucket: IMAGES, Name: `images/${String(sent % images).padStart(6, '0')}.png` } } });
      }
    }));
    const baselineMsPerCall = (Date.now() - baselineStart) / images;
    await rekognition.stopProjectVersion({ ProjectVersionArn: versions[BASELINE_PROJECT] });
    console.error(`baseline: ${baselineMsPerCall.toFixed(2)} ms of wall time per DetectCustomLabels call`);

    // 1. Throughput.
    const rows: ThroughputRow[] = [];
    for (const tps of capacities) {
      const from = answers.length;
      const mapFrom = mapCalls.length;
      const r = await run(machineOf(`Tps${tps}`));
      const mine = answers.slice(from);
      const map = mapSpan(mapCalls, mapFrom, `tps${tps}/`);
      const mapVirtualSeconds = (map.end - map.start) / 1000;
      // Admitted calls per virtual second (answers come LATENCY_MS after admission).
      const perSecond = new Map<number, number>();
      for (const a of mine.filter((x) => x.ok)) {
        const second = Math.floor((a.at - LATENCY_MS) / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      }
      if (process.argv.includes('--profile')) console.error(`${tps} TPS profile: ${profile(mine, map, perSecond)}`);
      const s = r.summary;
      const bytes = await runBytes(admin, `tps${tps}/runs/`);
      const row: ThroughputRow = {
        tps, images, analysed: s?.analysed ?? 0, lost: images - (s?.analysed ?? 0), refused: mine.filter((a) => a.throttled).length,
        retried: s?.throttled ?? 0, callsPerImage: Number((mine.filter((a) => a.ok).length / images).toFixed(3)),
        mapVirtualSeconds: Number(mapVirtualSeconds.toFixed(1)), sustainedTps: Number((images / mapVirtualSeconds).toFixed(2)),
        ratio: Number((images / mapVirtualSeconds / tps).toFixed(3)), peakSecond: Math.max(0, ...perSecond.values()),
        resultBytesPerImage: Math.round(bytes.results / images), predictionBytesPerImage: Math.round(bytes.predictions / images),
        resultFiles: bytes.resultFiles, mapResultBytes: bytes.map,
        wallSeconds: Number((r.wallMs / 1000).toFixed(1)), wallMsPerImage: Number((r.wallMs / images).toFixed(2)), status: r.status,
      };
      rows.push(row);
      console.error(`${tps} TPS: ${JSON.stringify(row)}`);
      if (row.status !== 'SUCCEEDED' || row.lost !== 0 || row.refused !== row.retried || row.ratio < 0.9 || row.peakSecond > tps) ok = false;
    }

    // 2. Idle cost: two bursts BURST_GAP_MIN apart on the stopped idle model.
    const idleArn = versions[IDLE_PROJECT];
    const idleMachine = machineOf('Idle');
    const scenarioStart = cloud.clock.now();
    const meterStart = meterSeconds(idleArn);
    const bursts = [];
    for (let i = 0; i < 2; i++) {
      const begin = scenarioStart + i * BURST_GAP_MIN * 60_000;
      if (cloud.clock.now() > begin) throw new Error(`burst ${i + 1} cannot start ${BURST_GAP_MIN} min after the first: the first ran longer`);
      cloud.clock.advance(begin - cloud.clock.now());
      const startsBefore = starts.length;
      const meterBefore = meterSeconds(idleArn);
      idleSnapshot = undefined;
      const mapFrom = mapCalls.length;
      const r = await run(idleMachine);
      // The stop takes the service a moment: wait for STOPPED on the clock, a virtual second at a time.
      while (cloud.usage().running.includes(idleArn)) {
        cloud.clock.advance(1000);
        await cloud.emulator.idle();
      }
      const meterAfter = meterSeconds(idleArn);
      if (!idleSnapshot) throw new Error(`burst ${i + 1}: the run never waited to stop the model (status ${r.status})`);
      const snapshot: { at: number; meterSeconds: number } = idleSnapshot;
      const mapEnd = mapSpan(mapCalls, mapFrom, 'idle/').end;
      // Running time after the Map: from its end to the wait's start (the model ran throughout), then the meter from there to STOPPED.
      const afterMapMs = snapshot.at - mapEnd + (meterAfter - snapshot.meterSeconds) * 1000;
      const servingFrom = snapshot.at - (snapshot.meterSeconds - meterBefore) * 1000;
      bursts.push({
        burst: i + 1, startedAtMin: Number(minutes(begin - scenarioStart).toFixed(2)), images: r.summary?.analysed ?? 0, status: r.status,
        modelStarts: starts.length - startsBefore, servingFromMin: Number(minutes(servingFrom - scenarioStart).toFixed(2)),
        mapEndMin: Number(minutes(mapEnd - scenarioStart).toFixed(2)), runningAfterMapMin: Number(minutes(afterMapMs).toFixed(2)),
        iuHours: Number(((meterAfter - meterBefore) / 3600).toFixed(4)), servingFrom, mapEnd,
      });
      console.error(`burst ${i + 1}: ${JSON.stringify(bursts[i])}`);
      if (r.status !== 'SUCCEEDED' || bursts[i].modelStarts !== 1 || bursts[i].runningAfterMapMin > STOP_WHEN_IDLE_MIN + 1
        || bursts[i].images !== burstImages) ok = false;
    }
    const measuredHours = (meterSeconds(idleArn) - meterStart) / 3600;
    const hourly = hourlyCheck(bursts);
    const cost = [
      { design: `ours: stop ${STOP_WHEN_IDLE_MIN} min after the last run (measured)`, iuHours: measuredHours, starts: bursts.reduce((n, b) => n + b.modelStarts, 0) },
      { design: 'an hourly idle check (computed from the measured times)', iuHours: hourly.ms / 3_600_000, starts: hourly.starts },
      { design: 'never stopped (24 h a day)', iuHours: 24, starts: 1 },
    ].map((c) => ({ ...c, iuHours: Number(c.iuHours.toFixed(3)), dollars: Number((c.iuHours * DOLLARS_PER_IU_HOUR).toFixed(2)) }));

    console.log(`Throughput: ${images} images per capacity, ${LATENCY_MS} ms per call, defaults (50 images per batch, 4 batches per unit); `
      + `baseline ${baselineMsPerCall.toFixed(2)} ms wall per direct call`);
    console.log('capacity  analysed  lost  refused/retried  calls/image  Map (virtual)  sustained  ratio (>= 0.9)  peak second  wall (per image, x baseline)');
    for (const r of rows) {
      console.log(`${String(r.tps).padStart(4)} TPS  ${String(r.analysed).padStart(8)}  ${String(r.lost).padStart(4)}  `
        + `${`${r.refused}/${r.retried}`.padStart(15)}  ${r.callsPerImage.toFixed(3).padStart(11)}  ${`${r.mapVirtualSeconds.toFixed(0)} s`.padStart(13)}  `
        + `${`${r.sustainedTps.toFixed(2)}/s`.padStart(9)}  ${r.ratio.toFixed(3).padStart(14)}  ${String(r.peakSecond).padStart(11)}  `
        + `${r.wallSeconds} s (${r.wallMsPerImage} ms, ${(r.wallMsPerImage / baselineMsPerCall).toFixed(1)}x)`);
    }
    const b = rows[rows.length - 1];
    console.log(`Output per image: ${b.resultBytesPerImage} B of results, ${b.predictionBytesPerImage} B of predictions manifest; `
      + `${b.resultFiles} results files; the Map's ResultWriter files ${b.mapResultBytes} B in all (${(b.mapResultBytes / b.resultFiles).toFixed(0)} B a batch)`);
    console.log(`Idle cost: two bursts of ${burstImages} images ${BURST_GAP_MIN} virtual minutes apart, ${IDLE_TPS} TPS, stopWhenIdle ${STOP_WHEN_IDLE_MIN} min`);
    for (const b of bursts) {
      console.log(`burst ${b.burst} at ${b.startedAtMin} min: ${b.modelStarts} start(s), serving from ${b.servingFromMin} min, Map ended ${b.mapEndMin} min `
        + `(${new Date(b.mapEnd).toISOString().slice(11, 16)} UTC on the virtual clock), `
        + `running after it ${b.runningAfterMapMin} min (<= ${STOP_WHEN_IDLE_MIN + 1}), ${b.iuHours} IU-hours`);
    }
    console.log('design                                                  IU-hours  dollars  model starts');
    for (const c of cost) console.log(`${c.design.padEnd(56)}${c.iuHours.toFixed(3).padStart(8)}  ${`$${c.dollars.toFixed(2)}`.padStart(7)}  ${c.starts}`);
    const wallSeconds = Number(((Date.now() - started) / 1000).toFixed(1));
    console.log(`wall: ${wallSeconds} s in all; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(JSON.stringify({ images, baselineMsPerCall: Number(baselineMsPerCall.toFixed(3)), throughput: rows,
      idle: { bursts: bursts.map(({ servingFrom: _s, mapEnd: _m, ...b }) => b), cost }, wallSeconds, loadAverage: os.loadavg() }));
    return ok ? 0 : 1;
  } finally {
    await runner.close();
    await cloud.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
