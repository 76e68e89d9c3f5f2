/**
 * `custom-labels manifest validate|stats|convert|split`: a thin face over the manifest toolkit (argument parsing
 * and printing only). Results go to stdout (JSON with `--format json`), progress and summaries to stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';

import { convertCoco } from '../manifest/convert/coco';
import { ConvertOptions, ConvertSummary } from '../manifest/convert/common';
import { convertCsv } from '../manifest/convert/csv';
import { convertFolders } from '../manifest/convert/folders';
import { convertGroundTruthMultiLabel } from '../manifest/convert/gt-multilabel';
import { ImageInspector, ImageProbe, LocalImageInspector, SyncImageInspector } from '../manifest/image';
import { ManifestFileError } from '../manifest/reader';
import { formatReportText } from '../manifest/report';
import { DEFAULT_SPLIT_SEED, DEFAULT_TEST_RATIO, splitManifest, SplitResult } from '../manifest/split';
import { formatStatsText, manifestStats } from '../manifest/stats';
import { CREATION_DATE_FORMAT } from '../manifest/types';
import { validateManifest, validateManifestPair } from '../manifest/validator';
import { attachNegativeValues } from './args';
import { CliIo, EXIT, UsageError } from './io';
import { createProgress } from './progress';

const USAGE = `Usage: custom-labels manifest <sub-command> [options]

Sub-commands:
  validate  check a manifest (and its test manifest) against the service's rules
  stats     count images and boxes per label, with guidance
  convert   make a manifest from folders, a CSV, a COCO file or Ground Truth multi-label output
  split     split a manifest into training and testing manifests (deterministic, stratified by label)

Run 'custom-labels manifest <sub-command> --help' for its options.
Exit codes: 0 success (valid), 1 the manifest is invalid or the operation failed, 2 usage or I/O error.
`;

const VALIDATE_USAGE = `Usage: custom-labels manifest validate <file> [--test <file>] [--image-root <dir> [--image-prefix <prefix>]] [--format text|json]

Checks a training manifest (and, with --test, the pair) against the service's rules: the error codes, line
numbers and summary the service would produce.

Options:
  --test <file>        the testing manifest: also checks label overlap and images in both
  --image-root <dir>   a local folder standing for s3://<bucket>/: also checks each image (format, size, dimensions)
  --image-prefix <p>   the key prefix --image-root stands for: after 'convert --from folders ./images --bucket
                       s3://my-bucket/images', validate with --image-root ./images --image-prefix images/
  --format text|json   text for people (default) or the JSON report on stdout
  -h, --help           this help
Exit codes: 0 valid, 1 invalid, 2 usage or I/O error.
`;

const STATS_USAGE = `Usage: custom-labels manifest stats <file> [--test <file>] [--format text|json]

Counts valid images and boxes per label (and per side with --test) and prints guidance.

Options:
  --test <file>        the testing manifest
  --format text|json   text for people (default) or JSON on stdout
  -h, --help           this help
Exit codes: 0 done, 2 usage or I/O error.
`;

const CONVERT_USAGE = `Usage: custom-labels manifest convert --from folders|csv|coco|gt-multilabel <input> --bucket <s3://bucket/prefix> --out <file>

Writes a Ground Truth manifest the service accepts.
  folders        <input> is a folder: <input>/<label>/<image>.{png,jpg,jpeg} (sub-folders belong to the label)
  csv            <input> is a CSV file: image,label[,label...] per row (a header row is detected)
  coco           <input> is a COCO object-detection JSON file
  gt-multilabel  <input> is a SageMaker Ground Truth multi-label output manifest

Options:
  --from <kind>        the input's kind (required)
  --bucket <s3://...>  where the images are (or will be) uploaded: s3://bucket or s3://bucket/prefix (required)
  --out <file>         the manifest to write (required); written only when the conversion succeeds
  --creation-date <t>  the lines' creation-date, a UTC date-time such as 2024-05-01T12:00:00.000 (default
                       2020-01-01T00:00:00.000: fixed, so the same input always gives the same manifest)
  --format text|json   the summary as text on stderr (default) or JSON on stdout
  -h, --help           this help
Exit codes: 0 converted, 1 nothing could be converted, 2 usage or I/O error.
`;

const SPLIT_USAGE = `Usage: custom-labels manifest split <file> --test-ratio 0.2 --seed 7 --out-train <file> --out-test <file>

Splits the manifest's valid lines into training and testing manifests: the same seed gives the same split, each
label gets its share of test images, and no image is on both sides.

Options:
  --test-ratio <r>     share of each label's images for testing, 0 < r < 1 (default 0.2)
  --seed <n>           seed of the shuffle, an integer (default 7, as TestData.split in the constructs)
  --out-train <file>   the training manifest to write (required)
  --out-test <file>    the testing manifest to write (required)
  --format text|json   the summary as text on stderr (default) or JSON on stdout
  -h, --help           this help
Exit codes: 0 split, 1 a side is empty (nothing is written), 2 usage or I/O error.
`;

type Values = Record<string, string | boolean | undefined>;
type Sub = (values: Values, positionals: string[], io: CliIo) => Promise<number>;

interface SubCommand {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly run: Sub;
}

const FORMAT = { format: { type: 'string' } } as const;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

const SUBCOMMANDS: Record<string, SubCommand> = {
  validate: {
    usage: VALIDATE_USAGE,
    options: { test: { type: 'string' }, 'image-root': { type: 'string' }, 'image-prefix': { type: 'string' }, ...FORMAT, ...HELP },
    run: runValidate,
  },
  stats: { usage: STATS_USAGE, options: { test: { type: 'string' }, ...FORMAT, ...HELP }, run: runStats },
  convert: {
    usage: CONVERT_USAGE,
    options: { from: { type: 'string' }, bucket: { type: 'string' }, out: { type: 'string' }, 'creation-date': { type: 'string' }, ...FORMAT, ...HELP },
    run: runConvert,
  },
  split: {
    usage: SPLIT_USAGE,
    options: {
      'test-ratio': { type: 'string' }, seed: { type: 'string' }, 'out-train': { type: 'string' }, 'out-test': { type: 'string' },
      ...FORMAT, ...HELP,
    },
    run: runSplit,
  },
};

/** Runs `custom-labels manifest ...`; resolves to the exit code. Usage problems throw UsageError (exit 2 in main). */
export async function runManifestCommand(args: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) throw new UsageError(`unknown sub-command '${name}'. Run 'custom-labels manifest --help'.`);
  let parsed: { values: Values; positionals: string[] };
  try {
    const args = attachNegativeValues(rest, sub.options);
    parsed = parseArgs({ args, options: sub.options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    // parseArgs' messages run on with advice about '--'; the first sentence is the useful part.
    const message = (err instanceof Error ? err.message : String(err)).split('. ')[0];
    throw new UsageError(`${name}: ${message}. Run 'custom-labels manifest ${name} --help'.`);
  }
  if (parsed.values.help) {
    io.stdout.write(sub.usage);
    return EXIT.ok;
  }
  try {
    return await sub.run(parsed.values, parsed.positionals, io);
  } catch (err) {
    // A file that is not a manifest at all (binary) is a usage error like a missing file or a folder (exit 2);
    // a manifest over 1 GB keeps its own code: the service itself rejects it (exit 1).
    if (err instanceof ManifestFileError && err.code === 'ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT') throw new UsageError(err.message);
    throw err;
  }
}

function oneFile(sub: string, positionals: string[], io: CliIo, what = 'a manifest file'): string {
  if (positionals.length === 0) throw new UsageError(`${sub} needs ${what}. Run 'custom-labels manifest ${sub} --help'.`);
  if (positionals.length > 1) throw new UsageError(`${sub}: unexpected argument '${positionals[1]}'`);
  return path.resolve(io.cwd, positionals[0]);
}

function format(sub: string, values: Values): 'text' | 'json' {
  const f = values.format ?? 'text';
  if (f !== 'text' && f !== 'json') throw new UsageError(`${sub}: --format must be text or json, got: ${String(f)}`);
  return f;
}

function optionalPath(values: Values, key: string, io: CliIo): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? path.resolve(io.cwd, v) : undefined;
}

function required(sub: string, values: Values, key: string): string {
  const v = values[key];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${sub}: --${key} is required. Run 'custom-labels manifest ${sub} --help'.`);
  return v;
}

async function runValidate(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const file = oneFile('validate', positionals, io);
  const fmt = format('validate', values);
  const test = optionalPath(values, 'test', io);
  const imageRoot = optionalPath(values, 'image-root', io);
  if (imageRoot !== undefined && !isDirectory(imageRoot)) throw new UsageError(`validate: --image-root is not a folder: ${imageRoot}`);
  const imagePrefix = values['image-prefix'];
  if (imagePrefix !== undefined && imageRoot === undefined) throw new UsageError('validate: --image-prefix needs --image-root');
  const images = imageRoot === undefined ? undefined
    : new MissingImageRecorder(new LocalImageInspector(imageRoot, { prefix: typeof imagePrefix === 'string' ? imagePrefix : undefined }));
  const progress = createProgress(io, 'validating');
  try {
    if (test === undefined) {
      const report = await validateManifest(file, { role: 'training', images, onProgress: progress.update });
      progress.done();
      io.stdout.write(fmt === 'json' ? JSON.stringify(report.toJSON()) + '\n' : formatReportText(report, { file: positionals[0] }));
      images?.printHint(io);
      return report.valid ? EXIT.ok : EXIT.invalid;
    }
    const pair = await validateManifestPair(file, test, { images, onProgress: progress.update });
    progress.done();
    if (fmt === 'json') {
      io.stdout.write(JSON.stringify({ valid: pair.valid, training: pair.training.toJSON(), testing: pair.testing.toJSON(), errors: pair.errors }) + '\n');
    } else {
      io.stdout.write(formatReportText(pair, { file: positionals[0] }));
    }
    images?.printHint(io);
    return pair.valid ? EXIT.ok : EXIT.invalid;
  } finally {
    progress.done();
  }
}

/**
 * Passes probes through to a LocalImageInspector and remembers the first image it could not find, so that the CLI
 * can say what to do: usually --image-root stands for a prefix of the bucket, not its root.
 */
class MissingImageRecorder implements ImageInspector, SyncImageInspector {
  private firstMissing: { bucket: string; key: string; location?: string } | undefined;
  private missing = 0;

  constructor(private readonly inner: LocalImageInspector) {}

  probeSync(bucket: string, key: string): ImageProbe {
    const probe = this.inner.probeSync(bucket, key);
    if (!probe.exists && probe.problem !== 'permission denied') {
      this.missing++;
      this.firstMissing ??= { bucket, key, location: probe.location };
    }
    return probe;
  }

  async probe(bucket: string, key: string): Promise<ImageProbe> {
    return this.probeSync(bucket, key);
  }

  /** One line on stderr when images were not found: what --image-root stands for, and the fix when we can tell it. */
  printHint(io: CliIo): void {
    const m = this.firstMissing;
    if (m === undefined) return;
    const { root, prefix } = this.inner;
    const at = m.location ?? `${root} (outside the prefix ${prefix})`;
    let fix = `pass the folder that stands for s3://${m.bucket}/${prefix} as --image-root${prefix ? '' : ' (add --image-prefix <prefix> when it stands for a prefix)'}`;
    const parts = m.key.split('/');
    for (let n = 1; n < parts.length; n++) {
      const candidate = parts.slice(n).join('/');
      if (fs.existsSync(path.join(root, candidate))) {
        fix = `${root} holds ${candidate}: it stands for s3://${m.bucket}/${parts.slice(0, n).join('/')}/, so add --image-prefix ${parts.slice(0, n).join('/')}/`;
        break;
      }
    }
    if (prefix !== '' && fs.existsSync(path.join(root, m.key))) fix = `${root} holds ${m.key} itself: drop --image-prefix`;
    io.stderr.write(`hint: ${this.missing} image(s) not found under --image-root; s3://${m.bucket}/${m.key} was looked for at ${at}; ${fix}\n`);
  }
}

async function runStats(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const file = oneFile('stats', positionals, io);
  const fmt = format('stats', values);
  const stats = await manifestStats(file, optionalPath(values, 'test', io));
  io.stdout.write(fmt === 'json' ? JSON.stringify(stats) + '\n' : formatStatsText(stats));
  return EXIT.ok;
}

const CONVERTERS = ['folders', 'csv', 'coco', 'gt-multilabel'] as const;

/** `s3://bucket/prefix` (or a bare bucket name) -> bucket and prefix. */
export function parseBucketUri(uri: string): { bucket: string; prefix: string } {
  const m = /^(?:s3:\/\/)?([^/]+)(?:\/(.*))?$/.exec(uri);
  // S3 bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens.
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new UsageError(`convert: --bucket must be s3://<bucket>[/<prefix>] with a valid bucket name, got: ${uri}`);
  }
  return { bucket: m[1], prefix: m[2] ?? '' };
}

async function runConvert(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const from = required('convert', values, 'from');
  if (!(CONVERTERS as readonly string[]).includes(from)) {
    throw new UsageError(`convert: --from must be one of ${CONVERTERS.join(', ')}, got: ${from}`);
  }
  const input = oneFile('convert', positionals, io, from === 'folders' ? 'an image folder' : 'an input file');
  const creationDate = values['creation-date'];
  if (creationDate !== undefined && (typeof creationDate !== 'string' || !CREATION_DATE_FORMAT.test(creationDate))) {
    throw new UsageError(`convert: --creation-date must be a UTC date-time such as 2024-05-01T12:00:00.000, got: ${String(creationDate)}`);
  }
  const options: ConvertOptions = { ...parseBucketUri(required('convert', values, 'bucket')), creationDate };
  const out = path.resolve(io.cwd, required('convert', values, 'out'));
  const fmt = format('convert', values);
  const progress = createProgress(io, 'converting');
  let summary: ConvertSummary;
  try {
    summary = await writeAtomically([out], ([stream]) => {
      switch (from) {
        case 'folders': return convertFolders(input, options, stream);
        case 'csv': return convertCsv(input, options, stream, progress.update);
        case 'coco': return convertCoco(input, options, stream);
        default: return convertGroundTruthMultiLabel(input, options, stream, progress.update);
      }
    }, (s) => s.lines > 0);
  } finally {
    progress.done();
  }
  const written = summary.lines > 0;
  if (fmt === 'json') io.stdout.write(JSON.stringify({ out, written, ...summary }) + '\n');
  else io.stderr.write(convertSummaryText(summary, out));
  if (!written) {
    io.stderr.write(`custom-labels manifest convert: no manifest line was produced from ${positionals[0]}; ${out} was not written\n`);
    return EXIT.invalid;
  }
  return EXIT.ok;
}

const MAX_LISTED = 20;

/** The summary for people: what was written (nothing is, without a line), what was skipped and why, the warnings. */
export function convertSummaryText(summary: ConvertSummary, out: string): string {
  const lines = summary.lines > 0 ? [`wrote ${summary.lines} line(s) to ${out}`] : [];
  for (const [label, c] of Object.entries(summary.labels)) {
    lines.push(`  ${label}: ${c.images} image(s)${c.boxes > 0 ? `, ${c.boxes} box(es)` : ''}`);
  }
  if (summary.skipped.length > 0) {
    lines.push(`skipped ${summary.skipped.length}:`);
    for (const s of summary.skipped.slice(0, MAX_LISTED)) lines.push(`  ${s.item}: ${s.reason}`);
    if (summary.skipped.length > MAX_LISTED) lines.push(`  ... and ${summary.skipped.length - MAX_LISTED} more`);
  }
  for (const w of summary.warnings) lines.push(`warning: ${w}`);
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function parseNumber(sub: string, flag: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${sub}: --${flag} must be a number, got: ${String(raw)}`);
  return n;
}

async function runSplit(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const file = oneFile('split', positionals, io);
  const testRatio = parseNumber('split', 'test-ratio', values['test-ratio'], DEFAULT_TEST_RATIO);
  if (!(testRatio > 0 && testRatio < 1)) throw new UsageError(`split: --test-ratio must be between 0 and 1 (exclusive), got: ${testRatio}`);
  const seed = parseNumber('split', 'seed', values.seed, DEFAULT_SPLIT_SEED);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`split: --seed must be an integer, got: ${String(values.seed)}`);
  const outTrain = path.resolve(io.cwd, required('split', values, 'out-train'));
  const outTest = path.resolve(io.cwd, required('split', values, 'out-test'));
  if (outTrain === outTest) throw new UsageError('split: --out-train and --out-test must be different files');
  if (outTrain === file || outTest === file) throw new UsageError('split: an output file must not be the input manifest');
  const fmt = format('split', values);
  const progress = createProgress(io, 'splitting');
  let result: SplitResult;
  try {
    result = await writeAtomically([outTrain, outTest], ([training, testing]) =>
      splitManifest(file, { testRatio, seed, training, testing, onProgress: progress.update }),
    // A split with an empty side is a failure: neither file is written.
    (r) => r.training.lines > 0 && r.testing.lines > 0);
  } finally {
    progress.done();
  }
  const written = result.training.lines > 0 && result.testing.lines > 0;
  if (fmt === 'json') io.stdout.write(JSON.stringify({ outTrain, outTest, written, ...result }) + '\n');
  else io.stderr.write(splitSummaryText(result, outTrain, outTest));
  if (!written) {
    io.stderr.write(`custom-labels manifest split: the ${result.training.lines === 0 ? 'training' : 'testing'} manifest would be empty; `
      + `neither ${outTrain} nor ${outTest} was written\n`);
    return EXIT.invalid;
  }
  return EXIT.ok;
}

/** The summary for people; the files are named only when the split was written (both sides non-empty). */
export function splitSummaryText(result: SplitResult, outTrain: string, outTest: string): string {
  const written = result.training.lines > 0 && result.testing.lines > 0;
  const lines = [
    `training: ${result.training.lines} line(s)${written ? ` -> ${outTrain}` : ''}`,
    `testing:  ${result.testing.lines} line(s)${written ? ` -> ${outTest}` : ''}`,
  ];
  for (const label of Object.keys(result.training.labels)) {
    const tr = result.training.labels[label];
    const te = result.testing.labels[label];
    lines.push(`  ${label}: ${tr.images} / ${te.images} image(s)${tr.boxes + te.boxes > 0 ? `, ${tr.boxes} / ${te.boxes} box(es)` : ''}`);
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  return lines.join('\n') + '\n';
}

/**
 * Writes to temporary files beside `targets` and renames them into place only when `work` succeeds, so a failed
 * run never leaves a half-written manifest behind.
 */
async function writeAtomically<T>(targets: string[], work: (streams: NodeJS.WritableStream[]) => Promise<T>,
  keep: (result: T) => boolean = () => true): Promise<T> {
  for (const t of targets) {
    if (!isDirectory(path.dirname(t))) throw new UsageError(`cannot write ${t}: its folder does not exist`);
    if (isDirectory(t)) throw new UsageError(`cannot write ${t}: it is a folder`);
  }
  const temps = targets.map((t) => `${t}.${process.pid}.tmp`);
  // A 1 MiB buffer lets the converter keep working while the previous batch is being written.
  const streams = temps.map((t) => fs.createWriteStream(t, { fd: fs.openSync(t, 'w'), highWaterMark: 1024 * 1024 }));
  try {
    const result = await work(streams);
    await Promise.all(streams.map((s) => new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.end(() => resolve());
    })));
    if (keep(result)) temps.forEach((t, i) => fs.renameSync(t, targets[i]));
    else temps.forEach((t) => fs.rmSync(t, { force: true }));
    return result;
  } catch (err) {
    streams.forEach((s) => s.destroy());
    temps.forEach((t) => fs.rmSync(t, { force: true }));
    throw err;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
