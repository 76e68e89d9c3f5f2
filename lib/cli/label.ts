/**
 * `custom-labels label`: serves the labeling (or review) page for a folder of images on 127.0.0.1 until SIGINT or
 * SIGTERM; the page writes the manifest. A thin face over lib/label: arguments, one JSON line on stdout, a log on stderr.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { startLabelServer } from '../label/server';
import { LabelSession, LabelSessionError } from '../label/session';
import { normalizePrefix } from '../manifest/convert/common';
import { CliIo, EXIT, UsageError } from './io';

const USAGE = `Usage: custom-labels label <images-dir> --manifest <file> [--labels a,b,c] [--predictions <manifest>]
                           [--bucket s3://bucket/prefix] [--port N] [--open]

Serves a page on 127.0.0.1 to label the PNG and JPEG images under <images-dir> (image-level labels, one or several,
and bounding boxes), with a keyboard shortcut for every action, and saves each change to the manifest (atomically:
a temporary file renamed over it). An existing manifest is loaded and edited; its lines for other images are kept
as they are. With --predictions it opens in review mode: the predictions, lowest confidence first, to accept, fix or
reject; what is accepted or fixed is written as human-annotated lines.
When the page is served it prints one JSON line on stdout: {"url":"http://127.0.0.1:<port>/",...}
Saves are logged on stderr. Stop with Ctrl-C (SIGINT) or SIGTERM.

Options:
  --manifest <file>       the Ground Truth manifest to write (and to load when it exists) (required)
  --labels <a,b,c>        labels to offer (more can be added on the page; the manifest's labels are offered too)
  --predictions <file>    a manifest of predictions (human-annotated "no", with confidences) to review
  --bucket <s3://b/p>     new lines get source-ref s3://b/p/<path under images-dir>. Default: the bucket and prefix
                          the manifest's lines use for these images, else the predictions'; needed when neither has
                          a line for an image of the folder. Existing lines keep their source-ref.
  --port <n>              the port; 0 picks a free one (default 0)
  --open                  open the page in a browser ($BROWSER, else xdg-open; best effort)
  -h, --help              this help
Exit codes: 0 stopped by a signal, 1 no image under <images-dir> (or no prediction in --predictions),
2 usage or I/O error (or the port is in use).
`;

const OPTIONS = {
  manifest: { type: 'string' },
  labels: { type: 'string' },
  predictions: { type: 'string' },
  bucket: { type: 'string' },
  port: { type: 'string' },
  open: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface LabelArgs {
  readonly imagesDir: string;
  readonly manifest: string;
  readonly labels: string[];
  readonly predictions?: string;
  readonly bucket?: { bucket: string; prefix: string };
  readonly port: number;
  readonly open: boolean;
}

/** Parses the command's arguments; throws UsageError with a one-line message. Undefined means --help. */
export function parseLabelArgs(args: string[], cwd: string): LabelArgs | undefined {
  let values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    // parseArgs' messages run on with advice about '--'; the first sentence is the useful part.
    const raw = (err as { message?: unknown }).message;
    const message = (typeof raw === 'string' ? raw : String(err)).split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${message}. Run 'custom-labels label --help'.`);
  }
  if (values.help) return undefined;
  if (positionals.length === 0) throw new UsageError("needs an images folder. Run 'custom-labels label --help'.");
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const imagesDir = path.resolve(cwd, positionals[0]);
  if (!isDirectory(imagesDir)) throw new UsageError(`the images folder does not exist: ${imagesDir}`);
  if (!values.manifest) throw new UsageError("--manifest is required. Run 'custom-labels label --help'.");
  const manifest = path.resolve(cwd, values.manifest);
  if (!isDirectory(path.dirname(manifest))) throw new UsageError(`cannot write ${manifest}: its folder does not exist`);
  if (isDirectory(manifest)) throw new UsageError(`cannot write ${manifest}: it is a folder`);
  const labels = (values.labels ?? '').split(',').map((l) => l.trim()).filter((l) => l !== '');
  const tooLong = labels.find((l) => [...l].length > 256);
  if (tooLong) throw new UsageError(`--labels: a label has at most 256 characters, got ${[...tooLong].length}`);
  const predictions = values.predictions === undefined ? undefined : path.resolve(cwd, values.predictions);
  if (predictions !== undefined && !fs.existsSync(predictions)) throw new UsageError(`predictions manifest not found: ${predictions}`);
  return { imagesDir, manifest, labels, predictions, bucket: values.bucket === undefined ? undefined : parseBucket(values.bucket),
    port: parsePort(values.port), open: values.open ?? false };
}

function parseBucket(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  // S3 bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens.
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new UsageError(`--bucket must be s3://<bucket>[/<prefix>] with a valid bucket name, got: ${uri}`);
  }
  return { bucket: m[1], prefix: normalizePrefix(m[2]) };
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got: ${raw}`);
  return n;
}

/** Runs `custom-labels label ...` until SIGINT or SIGTERM; resolves to 0 once the server is closed. */
export async function runLabelCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseLabelArgs(args, io.cwd);
  if (!parsed) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  let session: LabelSession;
  try {
    session = new LabelSession({
      imagesDir: parsed.imagesDir, manifestFile: parsed.manifest, labels: parsed.labels, predictionsFile: parsed.predictions, bucket: parsed.bucket,
    });
  } catch (err) {
    if (err instanceof LabelSessionError) {
      if (err.kind === 'usage') throw new UsageError(err.message);
      io.stderr.write(`custom-labels label: ${err.message}\n`);
      return EXIT.invalid;
    }
    throw err;
  }
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };

  let signalled: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  const onSigint = (): void => signalled('SIGINT');
  const onSigterm = (): void => signalled('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    let server;
    try {
      server = await startLabelServer({ session, port: parsed.port, log });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`port ${parsed.port} is already in use; choose another with --port (0 = any free port)`);
      throw err;
    }
    describeSession(session, parsed, log);
    io.stdout.write(`${JSON.stringify({ url: server.url, manifest: session.manifestFile, images: session.imageCount, mode: session.mode })}\n`);
    if (parsed.open) openInBrowser(server.url, log);
    const received = await signal;
    log(`${received}: stopping`);
    await server.close();
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

function describeSession(session: LabelSession, parsed: LabelArgs, log: (line: string) => void): void {
  const { bucket, prefix, from } = session.location;
  const source = from === 'option' ? '--bucket' : from === 'manifest' ? 'the manifest\'s lines' : 'the predictions\' lines';
  log(`${session.imageCount} image(s) under ${parsed.imagesDir}; new lines: s3://${bucket}/${prefix}<path> (from ${source})`);
  if (session.otherLines > 0) log(`${session.otherLines} line(s) of ${session.manifestFile} are for other images and are kept as they are`);
  if (session.skippedImages.length > 0) log(`skipped ${session.skippedImages.length} file(s) that are not readable PNG or JPEG images, e.g. ${session.skippedImages[0]}`);
  if (session.mode === 'review') {
    const notes = [];
    if (session.unmatchedPredictionLines > 0) notes.push(`${session.unmatchedPredictionLines} for images not in the folder`);
    if (session.skippedPredictionLines > 0) notes.push(`${session.skippedPredictionLines} without a prediction or not JSON`);
    log(`review mode${notes.length > 0 ? `; prediction lines left out: ${notes.join(', ')}` : ''}`);
  }
}

/** $BROWSER when set, else xdg-open; detached. A failure is only logged (the URL is on stdout anyway). */
function openInBrowser(url: string, log: (line: string) => void): void {
  const command = process.env.BROWSER || 'xdg-open';
  try {
    const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
    child.on('error', (err) => log(`could not open a browser with ${command} (${err.message}); open ${url}`));
    child.unref();
  } catch (err) {
    log(`could not open a browser with ${command} (${(err as Error).message}); open ${url}`);
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
