/**
 * `custom-labels manifest validate|stats|convert|split|review|merge`: a thin face over the manifest toolkit (argument parsing
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
import { mergeManifests, selectForReview } from '../manifest/feedback';
import { ImageInspector, ImageProbe, LocalImageInspector, SyncImageInspector } from '../manifest/image';
import { ManifestFileError } from '../manifest/reader';
import { formatReportText } from '../manifest/report';
import { DEFAULT_SPLIT_SEED, DEFAULT_TEST_RATIO, splitManifest, SplitResult } from '../manifest/split';
import { formatStatsText, manifestStats } from '../manifest/stats';
import { CREATION_DATE_FORMAT, MANIFEST_LIMITS } from '../manifest/types';
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
  review    choose the predictions people should review (low confidence, plus a sample of the rest)
  merge     merge reviewed manifests into a training manifest (newest human annotation of an image wins)

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

const REVIEW_USAGE = `Usage: custom-labels manifest review <predictions> --out <review.manifest> [--below 0.7] [--sample 0.05] [--seed <text>]

Chooses the prediction lines (a batch analysis's predictions manifest) people should review: every image with a
prediction below --below, and a reproducible sample of --sample of the others (confident mistakes are found only
that way). Open the result with 'custom-labels label <images> --predictions <review.manifest> --manifest <out>'.

Options:
  --out <file>         the review manifest to write (required)
  --below <c>          confidence (0..1) below which a prediction is always reviewed (default 0.7)
  --sample <share>     share (0..1) of the other images to review (default 0.05)
  --seed <text>        seed of the sample: the same seed chooses the same images (default: the predictions file's name)
  --format text|json   the summary as text on stderr (default) or JSON on stdout
  -h, --help           this help
Exit codes: 0 written, 2 usage or I/O error.
`;

const MERGE_USAGE = `Usage: custom-labels manifest merge <training.manifest> <reviewed.manifest>... --out <file>

Merges reviewed lines into a training manifest, one line per image (source-ref): a reviewed line replaces the
training line of its image when its human annotation is at least as new (creation-date; the later file wins a tie),
new images are appended, lines without a human annotation are left out. The result is validated as a training
manifest and written only when it is valid. --out may be the training manifest itself (it is replaced atomically).

Options:
  --out <file>         the merged manifest to write (required)
  --format text|json   the summary as text on stderr (default) or JSON on stdout
  -h, --help           this help
Exit codes: 0 merged, 1 the merged manifest would be invalid (nothing is written), 2 usage or I/O error.
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
  review: {
    usage: REVIEW_USAGE,
    options: { out: { type: 'string' }, below: { type: 'string' }, sample: { type: 'string' }, seed: { type: 'string' }, ...FORMAT, ...HELP },
    run: runReview,
  },
  merge: { usage: MERGE_USAGE, options: { out: { type: 'string' }, ...FORMAT, ...HELP }, run: runMerge },
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

function readManifestText(sub: string, file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError(`${sub}: cannot read ${file}: no such file`);
  }
  if (stat.isDirectory()) throw new UsageError(`${sub}: cannot read ${file}: it is a folder`);
  if (stat.size > MANIFEST_LIMITS.maxFileBytes) {
    throw new UsageError(`${sub}: ${file} is ${stat.size} bytes; a manifest may have at most ${MANIFEST_LIMITS.maxFileBytes}`);
  }
  return fs.readFileSync(file, 'utf8');
}

async function runReview(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const file = oneFile('review', positionals, io, 'a predictions manifest');
  const below = parseNumber('review', 'below', values.below, 0.7);
  if (!(below >= 0 && below <= 1)) throw new UsageError(`review: --below must be from 0 to 1, got: ${below}`);
  const share = parseNumber('review', 'sample', values.sample, 0.05);
  if (!(share >= 0 && share <= 1)) throw new UsageError(`review: --sample must be from 0 to 1, got: ${share}`);
  const out = path.resolve(io.cwd, required('review', values, 'out'));
  if (out === file) throw new UsageError('review: --out must not be the predictions manifest');
  const fmt = format('review', values);
  const seed = typeof values.seed === 'string' ? values.seed : path.basename(file);
  const selection = selectForReview(readManifestText('review', file), { belowConfidence: below, sampleShare: share, seed });
  await writeAtomically([out], async ([stream]) => {
    stream.write(selection.manifest);
  });
  const { manifest: _text, ...summary } = selection;
  if (fmt === 'json') io.stdout.write(JSON.stringify({ out, ...summary }) + '\n');
  else {
    io.stderr.write(`${selection.lowConfidence + selection.sampled} of ${selection.images} image(s) to review -> ${out}\n`
      + `  ${selection.lowConfidence} below ${below}, ${selection.sampled} sampled (${share} of the rest)\n`
      + (selection.skippedLines > 0 ? `  ${selection.skippedLines} line(s) without a prediction skipped\n` : ''));
  }
  return EXIT.ok;
}

async function runMerge(values: Values, positionals: string[], io: CliIo): Promise<number> {
  if (positionals.length < 2) {
    throw new UsageError("merge needs a training manifest and at least one reviewed manifest. Run 'custom-labels manifest merge --help'.");
  }
  const [base, ...reviewed] = positionals.map((p) => path.resolve(io.cwd, p));
  const out = path.resolve(io.cwd, required('merge', values, 'out'));
  const fmt = format('merge', values);
  const merged = mergeManifests(readManifestText('merge', base), reviewed.map((f) => readManifestText('merge', f)));
  if (merged.valid) {
    await writeAtomically([out], async ([stream]) => {
      stream.write(merged.manifest);
    });
  }
  const { manifest: _text, ...summary } = merged;
  if (fmt === 'json') io.stdout.write(JSON.stringify({ out, written: merged.valid, ...summary }) + '\n');
  else {
    const lines = [`${merged.valid ? `wrote ${out}` : 'nothing written'}: ${merged.added} added, ${merged.replaced} replaced, `
      + `${merged.older} older than the training line, ${merged.notReviewed} not human-annotated, ${merged.unreadable} unreadable`];
    for (const e of merged.errors.slice(0, MAX_LISTED)) lines.push(`error: ${e.line === null ? '' : `line ${e.line}: `}${e.code} ${e.message}`);
    if (merged.errors.length > MAX_LISTED) lines.push(`... and ${merged.errors.length - MAX_LISTED} more error(s)`);
    io.stderr.write(lines.join('\n') + '\n');
  }
  if (!merged.valid) {
    io.stderr.write(`custom-labels manifest merge: the merged manifest is not a valid training manifest; ${out} was not written\n`);
    return EXIT.invalid;
  }
  return EXIT.ok;
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
