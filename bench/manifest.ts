/**
 * The manifest toolkit's benchmark: `npm run build && npm run bench:manifest`.
 *
 * Targets (exit 1 when one is missed):
 * - validator speed: a bare loop (node readline + JSON.parse per line) over a 250,000-line object-detection
 *   manifest takes at least half the time validateManifest takes on it (ratio bare/validator >= 0.5), best of 3.
 * - validator memory: peak RSS while validating the 50,000- and the 250,000-line manifests, each measured in a fresh
 *   child process: both < 200 MB, and flat: the larger may exceed the smaller by at most 25% [our definition].
 * - converters: CSV (100,000 rows) and COCO (100,000 annotations) to a manifest file, each against a bare parse
 *   of the same input (CSV: read lines + split on commas; COCO: JSON.parse of the file): ratio converter/bare < 2.
 * Prints a table, then one JSON line with every figure.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { convertCoco } from '../lib/manifest/convert/coco';
import { ConvertSummary } from '../lib/manifest/convert/common';
import { convertCsv } from '../lib/manifest/convert/csv';
import { validateManifest } from '../lib/manifest/validator';

const MB = 1024 * 1024;
const TARGETS = { minValidatorRatio: 0.5, maxRssMb: 200, maxRssGrowth: 0.25, maxConverterRatio: 2 };
const RUNS = 3;

/** An object-detection line: 1-3 boxes of 3 labels on a 640x480 image. */
function detectionLine(i: number): string {
  const n = 1 + (i % 3);
  const annotations: string[] = [];
  const objects: string[] = [];
  for (let k = 0; k < n; k++) {
    annotations.push(`{"class_id":${(i + k) % 3},"top":${10 + k * 40},"left":${20 + k * 50},"width":${100 + (i % 50)},"height":${80 + (i % 30)}}`);
    objects.push('{"confidence":1}');
  }
  return `{"source-ref":"s3://bench-bucket/images/${i}.jpg","bounding-box":{"image_size":[{"width":640,"height":480,"depth":3}],`
    + `"annotations":[${annotations.join(',')}]},"bounding-box-metadata":{"objects":[${objects.join(',')}],`
    + '"class-map":{"0":"helmet","1":"vest","2":"glove"},"type":"groundtruth/object-detection","human-annotated":"yes",'
    + '"creation-date":"2024-01-01T00:00:00","job-name":"bench"}}';
}

function writeManifest(file: string, lines: number): void {
  const fd = fs.openSync(file, 'w');
  let batch = '';
  for (let i = 0; i < lines; i++) {
    batch += detectionLine(i) + '\n';
    if (batch.length > MB) {
      fs.writeSync(fd, batch);
      batch = '';
    }
  }
  fs.writeSync(fd, batch);
  fs.closeSync(fd);
}

function writeCsv(file: string, rows: number): void {
  const lines = ['image,label'];
  for (let i = 0; i < rows; i++) lines.push(i % 10 === 0 ? `images/${i}.jpg,"label ${i % 7}",extra` : `images/${i}.jpg,label${i % 7}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function writeCoco(file: string, annotations: number): void {
  const imageCount = annotations / 5;
  const doc = {
    info: { description: 'bench' },
    images: Array.from({ length: imageCount }, (_, i) => ({
      id: i + 1, file_name: `images/${i}.jpg`, width: 1024, height: 768, date_captured: '2023-05-01 10:00:00',
    })),
    annotations: Array.from({ length: annotations }, (_, i) => ({
      id: i + 1, image_id: (i % imageCount) + 1, category_id: (i % 4) + 1, bbox: [(i % 500) + 0.5, (i % 300) + 0.25, 120.5, 90.75],
      area: 10935.4, iscrowd: 0,
    })),
    categories: ['helmet', 'vest', 'glove', 'boot'].map((name, i) => ({ id: i + 1, name, supercategory: 'ppe' })),
  };
  fs.writeFileSync(file, JSON.stringify(doc));
}

async function bareManifestLoop(file: string): Promise<number> {
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    if (line.length > 0 && JSON.parse(line) !== null) n++;
  }
  return n;
}

async function bareCsv(file: string): Promise<number> {
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) n += line.split(',').length;
  return n;
}

function bareCoco(file: string): number {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { annotations: unknown[] };
  return doc.annotations.length;
}

async function toFile(out: string, run: (stream: NodeJS.WritableStream) => Promise<ConvertSummary>): Promise<ConvertSummary> {
  // The CLI's settings for its output files.
  const stream = fs.createWriteStream(out, { highWaterMark: 1024 * 1024 });
  const summary = await run(stream);
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
  return summary;
}

/** Best of `RUNS` wall-clock times, ms; a GC before each run when --expose-gc is on. */
async function best(work: () => Promise<unknown> | unknown): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t = process.hrtime.bigint();
    await work();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min;
}

/** Child mode: validates `file`, sampling RSS every 2 ms and at each chunk, and prints the peak in MB. */
async function childRss(file: string): Promise<void> {
  let peak = process.memoryUsage.rss();
  const sample = (): void => { peak = Math.max(peak, process.memoryUsage.rss()); };
  const timer = setInterval(sample, 2);
  const report = await validateManifest(file, { onProgress: sample });
  sample();
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ peakRssMb: peak / MB, validLines: report.validLines }) + '\n');
}

function peakRssOf(file: string): Promise<{ peakRssMb: number; validLines: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--child-rss', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the RSS child exited with code ${code}`));
      else resolve(JSON.parse(out) as { peakRssMb: number; validLines: number });
    });
  });
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-manifest-'));
  try {
    const started = Date.now();
    const big = path.join(dir, 'od-250k.manifest');
    const small = path.join(dir, 'od-50k.manifest');
    const csv = path.join(dir, 'labels-100k.csv');
    const coco = path.join(dir, 'coco-100k.json');
    writeManifest(big, 250_000);
    writeManifest(small, 50_000);
    writeCsv(csv, 100_000);
    writeCoco(coco, 100_000);

    const bareMs = await best(() => bareManifestLoop(big));
    let validLines = 0;
    const validatorMs = await best(async () => { validLines = (await validateManifest(big)).validLines; });
    const rss50k = await peakRssOf(small);
    const rss250k = await peakRssOf(big);

    const csvBareMs = await best(() => bareCsv(csv));
    let csvLines = 0;
    const csvMs = await best(async () => { csvLines = (await toFile(path.join(dir, 'csv.manifest'), (s) => convertCsv(csv, { bucket: 'bench-bucket' }, s))).lines; });
    const cocoBareMs = await best(() => bareCoco(coco));
    let cocoLines = 0;
    const cocoMs = await best(async () => {
      cocoLines = (await toFile(path.join(dir, 'coco.manifest'), (s) => convertCoco(coco, { bucket: 'bench-bucket' }, s))).lines;
    });

    const figures = {
      validator: { lines: 250_000, validLines, bareMs: round(bareMs), validatorMs: round(validatorMs), ratio: round(bareMs / validatorMs, 3) },
      rss: { peak50kMb: round(rss50k.peakRssMb), peak250kMb: round(rss250k.peakRssMb), growth: round(rss250k.peakRssMb / rss50k.peakRssMb - 1, 3) },
      csv: { rows: 100_000, lines: csvLines, bareMs: round(csvBareMs), converterMs: round(csvMs), ratio: round(csvMs / csvBareMs, 3) },
      coco: { annotations: 100_000, lines: cocoLines, bareMs: round(cocoBareMs), converterMs: round(cocoMs), ratio: round(cocoMs / cocoBareMs, 3) },
      totalSeconds: round((Date.now() - started) / 1000),
    };
    const checks = [
      { name: 'validator bare/validator', value: figures.validator.ratio, target: `>= ${TARGETS.minValidatorRatio}`,
        ok: figures.validator.ratio >= TARGETS.minValidatorRatio && validLines === 250_000 },
      { name: 'peak RSS 50k lines (MB)', value: figures.rss.peak50kMb, target: `< ${TARGETS.maxRssMb}`, ok: figures.rss.peak50kMb < TARGETS.maxRssMb },
      { name: 'peak RSS 250k lines (MB)', value: figures.rss.peak250kMb, target: `< ${TARGETS.maxRssMb}`, ok: figures.rss.peak250kMb < TARGETS.maxRssMb },
      { name: 'RSS growth 50k -> 250k', value: figures.rss.growth, target: `<= ${TARGETS.maxRssGrowth}`, ok: figures.rss.growth <= TARGETS.maxRssGrowth },
      { name: 'CSV converter/bare', value: figures.csv.ratio, target: `< ${TARGETS.maxConverterRatio}`,
        ok: figures.csv.ratio < TARGETS.maxConverterRatio && csvLines === 100_000 },
      { name: 'COCO converter/bare', value: figures.coco.ratio, target: `< ${TARGETS.maxConverterRatio}`,
        ok: figures.coco.ratio < TARGETS.maxConverterRatio && cocoLines === 20_000 },
    ];
    const rows = [
      `validator: bare loop ${figures.validator.bareMs} ms, validateManifest ${figures.validator.validatorMs} ms (250,000 lines, best of ${RUNS})`,
      `peak RSS:  ${figures.rss.peak50kMb} MB (50k lines), ${figures.rss.peak250kMb} MB (250k lines)`,
      `CSV:       bare ${figures.csv.bareMs} ms, converter ${figures.csv.converterMs} ms (100,000 rows)`,
      `COCO:      bare ${figures.coco.bareMs} ms, converter ${figures.coco.converterMs} ms (100,000 annotations)`,
      '',
      `${'check'.padEnd(28)} ${'value'.padStart(10)}  ${'target'.padEnd(8)}  result`,
      ...checks.map((c) => `${c.name.padEnd(28)} ${String(c.value).padStart(10)}  ${c.target.padEnd(8)}  ${c.ok ? 'ok' : 'MISSED'}`),
    ];
    console.log(rows.join('\n'));
    const ok = checks.every((c) => c.ok);
    console.log(JSON.stringify({ ok, ...figures, checks: checks.map((c) => ({ name: c.name, value: c.value, ok: c.ok })) }));
    return ok ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

if (process.argv[2] === '--child-rss') {
  childRss(process.argv[3]).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  main().then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
