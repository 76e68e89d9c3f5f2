/**
 * `custom-labels report`: the evaluation report as one self-contained HTML file. A thin face over lib/report
 * (argument parsing, reading files, writing the page atomically).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { parseGateSpec, ReportGate } from '../report/gate';
import { buildEvaluationReport, ReportImageLoader } from '../report/html';
import { ReportInputError } from '../report/summary';
import { CliIo, EXIT, UsageError } from './io';

const USAGE = `Usage: custom-labels report <EvaluationResultSummary.json> --out <report.html> [--testing-output <manifest>]
                            [--images <dir>] [--gate minF1=0.8,minLabelF1=0.5] [--title <text>] [--format text|json]

Writes one self-contained HTML page (no external requests; images inlined, scaled down when large): overall and
per-label precision, recall and F1 with the assumed thresholds, the confusion matrix (classification), the gate's
verdict, and the false positives and false negatives with their images and boxes.

Options:
  --out <file>              the HTML file to write (required)
  --testing-output <file>   the testing-output manifest (TestingDataResult.Output): lists the false positives and
                            false negatives from its rekognition-custom-labels-evaluation-details
  --images <dir>            a local folder standing for s3://<bucket>/: the examples' images (s3://b/a/x.png is <dir>/a/x.png)
  --gate <spec>             minF1=<0..1>,minLabelF1=<0..1> (either or both): shows the verdict; exit 1 when it fails
  --title <text>            the page's title (default: Evaluation report)
  --format text|json        the outcome as text on stderr (default) or one JSON line on stdout
  -h, --help                this help
Exit codes: 0 written (and the gate passed), 1 written but the gate failed, or the summary is not an evaluation
summary (nothing written), 2 usage or I/O error.
`;

const OPTIONS = {
  'out': { type: 'string' },
  'testing-output': { type: 'string' },
  'images': { type: 'string' },
  'gate': { type: 'string' },
  'title': { type: 'string' },
  'format': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

/** Runs `custom-labels report ...`; resolves to the exit code. */
export async function runReportCommand(args: string[], io: CliIo): Promise<number> {
  let values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    // parseArgs' messages run on with advice about '--'; the first sentence is the useful part.
    const raw = (err as { message?: unknown }).message;
    const message = (typeof raw === 'string' ? raw : String(err)).split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${message}. Run 'custom-labels report --help'.`);
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError("needs an EvaluationResultSummary file. Run 'custom-labels report --help'.");
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  if (!values.out) throw new UsageError("--out is required. Run 'custom-labels report --help'.");
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got: ${format}`);
  let gate: ReportGate | undefined;
  try {
    gate = values.gate === undefined ? undefined : parseGateSpec(values.gate);
  } catch (err) {
    throw new UsageError(`--gate: ${(err as Error).message}`);
  }
  const summaryFile = path.resolve(io.cwd, positionals[0]);
  const out = path.resolve(io.cwd, values.out);
  const summaryText = readText(summaryFile, 'summary');
  const testingOutput = values['testing-output'] === undefined ? undefined : readText(path.resolve(io.cwd, values['testing-output']), 'testing-output manifest');
  const imagesDir = values.images === undefined ? undefined : path.resolve(io.cwd, values.images);
  if (imagesDir !== undefined && !isDirectory(imagesDir)) throw new UsageError(`--images is not a folder: ${imagesDir}`);
  if (!isDirectory(path.dirname(out))) throw new UsageError(`cannot write ${out}: its folder does not exist`);
  if (isDirectory(out)) throw new UsageError(`cannot write ${out}: it is a folder`);

  let report;
  try {
    report = await buildEvaluationReport({
      summary: summaryText, testingOutput, gate, title: values.title, loadImage: imagesDir ? folderLoader(imagesDir) : undefined,
    });
  } catch (err) {
    if (err instanceof ReportInputError) {
      io.stderr.write(`custom-labels report: ${positionals[0]}: ${err.message}\n`);
      return EXIT.invalid;
    }
    throw err;
  }
  writeAtomically(out, report.html);
  const outcome = {
    out,
    f1: report.summary.f1,
    labels: report.summary.perLabel.length,
    falsePositives: report.falsePositives.reduce((n, e) => n + e.predictions.length, 0),
    falseNegatives: report.falseNegatives.reduce((n, e) => n + e.predictions.length, 0),
    missingImages: report.missingImages.length,
    gate: report.verdict ? { passed: report.verdict.passed, reason: report.verdict.reason } : null,
  };
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(outcome)}\n`);
  } else {
    const lines = [`wrote ${out} (F1 ${report.summary.f1.toFixed(3)}, ${outcome.labels} label(s)`
      + (testingOutput !== undefined ? `, ${outcome.falsePositives} false positive(s), ${outcome.falseNegatives} false negative(s))` : ')')];
    if (report.skippedLines > 0) lines.push(`note: ${report.skippedLines} line(s) of the testing-output manifest could not be read`);
    if (imagesDir !== undefined && report.missingImages.length > 0) {
      lines.push(`note: ${report.missingImages.length} example image(s) not found under ${imagesDir}, e.g. ${report.missingImages[0]}`);
    }
    if (report.verdict) lines.push(report.verdict.reason);
    io.stderr.write(`${lines.join('\n')}\n`);
  }
  return report.verdict && !report.verdict.passed ? EXIT.invalid : EXIT.ok;
}

function readText(file: string, what: string): string {
  if (isDirectory(file)) throw new UsageError(`the ${what} is a folder, not a file: ${file}`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${what} not found: ${file}`);
    throw err;
  }
}

/** `s3://<bucket>/<key>` -> `<dir>/<key>`; keys that would leave the folder are not read. */
export function folderLoader(dir: string): ReportImageLoader {
  const root = path.resolve(dir);
  return (sourceRef) => {
    const m = /^s3:\/\/[^/]+\/(.+)$/s.exec(sourceRef);
    if (!m) return undefined;
    const file = path.resolve(root, m[1]);
    if (!file.startsWith(root + path.sep)) return undefined;
    try {
      return fs.readFileSync(file);
    } catch {
      return undefined;
    }
  };
}

/** Temp file beside the target, then rename: a reader never sees half a report. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
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
