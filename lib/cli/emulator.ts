/**
 * `custom-labels emulator`: runs the local S3 and the Rekognition Custom Labels emulator until SIGINT/SIGTERM.
 * A thin face over startLocalCloud: argument parsing, one JSON line on stdout, a request log on stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { startLocalCloud } from '../emulator/local-cloud';
import { StateDirLockedError } from '../emulator/state-dir-lock';
import { PolicyEngineMissingError } from '../iam/engine';
import { attachNegativeValues } from './args';
import { CliIo, EXIT, UsageError } from './io';

const USAGE = `Usage: custom-labels emulator [--port 4599] [--s3-port 4598] [--time-scale 600] [--state-dir <dir> [--create]] [--iam-policy <file.json>]

Runs Amazon Rekognition Custom Labels and S3 locally, on 127.0.0.1 only. When both accept requests it prints one
JSON line on stdout: {"rekognition":"http://127.0.0.1:4599","s3":"http://127.0.0.1:4598"}
Point the AWS SDKs at them with AWS_ENDPOINT_URL_REKOGNITION and AWS_ENDPOINT_URL_S3 (any credentials work).
Requests are logged on stderr, one line each. Stop with Ctrl-C (SIGINT) or SIGTERM.

Options:
  --port <n>          the Rekognition port; 0 picks a free one (default 4599)
  --s3-port <n>       the S3 port; 0 picks a free one (default 4598)
  --time-scale <x>    virtual seconds per real second: 600 makes a 30-minute training take 3 s; Infinity makes
                      every wait end at once; 1 is real time (default 600)
  --state-dir <dir>   keep projects, datasets, models and S3 objects there across restarts (default: nothing
                      is kept). The directory must exist (a 'custom-labels local deploy' made it) unless
                      --create is given; while the emulator runs it holds the directory, and a
                      'custom-labels local' on it is refused until the emulator stops
  --create            start with an empty state directory when --state-dir does not exist
  --iam-policy <file> authorize every request against this IAM identity policy (a JSON policy document), as
                      AWS would for a role holding it: AccessDenied with AWS's message when it does not allow
                      the call, and Rekognition reads and writes S3 with those rights (default: any
                      credentials may do anything)
  -h, --help          this help
Exit codes: 0 stopped by a signal, 1 the servers failed, 2 usage error (a port or the state directory in use, a
missing state directory).
`;

const OPTIONS = {
  port: { type: 'string' },
  's3-port': { type: 'string' },
  'time-scale': { type: 'string' },
  'state-dir': { type: 'string' },
  'iam-policy': { type: 'string' },
  create: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface EmulatorArgs {
  readonly port: number;
  readonly s3Port: number;
  readonly timeScale: number;
  readonly stateDir?: string;
  /** The identity policy every caller is authorized against. */
  readonly iamPolicy?: unknown;
}

/** Parses the command's arguments; throws UsageError with a one-line message. Undefined means --help. */
export function parseEmulatorArgs(args: string[], cwd: string): EmulatorArgs | undefined {
  let values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };
  try {
    ({ values } = parseArgs({ args: attachNegativeValues(args, OPTIONS), options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    // parseArgs' messages run on with advice about '--'; the first sentence is the useful part.
    // (Errors from node:util are not `instanceof Error` inside jest's sandbox, hence the duck typing.)
    const raw = (err as { message?: unknown }).message;
    const message = (typeof raw === 'string' ? raw : String(err)).split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${message}. Run 'custom-labels emulator --help'.`);
  }
  if (values.help) return undefined;
  const stateDir = values['state-dir'];
  if (stateDir === '') throw new UsageError('--state-dir must not be empty');
  if (values.create && stateDir === undefined) throw new UsageError('--create needs --state-dir');
  if (stateDir !== undefined && !values.create && !fs.existsSync(path.resolve(cwd, stateDir))) {
    throw new UsageError(`--state-dir ${path.resolve(cwd, stateDir)} does not exist (looked for that folder); pass --create to start `
      + 'with an empty one, or check the path');
  }
  return {
    port: parsePort('port', values.port, 4599),
    s3Port: parsePort('s3-port', values['s3-port'], 4598),
    timeScale: parseTimeScale(values['time-scale']),
    stateDir: stateDir === undefined ? undefined : path.resolve(cwd, stateDir),
    iamPolicy: values['iam-policy'] === undefined ? undefined : readPolicy(path.resolve(cwd, values['iam-policy'])),
  };
}

/** Reads an IAM policy document; throws UsageError naming the file and what is wrong. */
function readPolicy(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`--iam-policy: cannot read ${file}`);
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--iam-policy: ${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof policy !== 'object' || policy === null || !('Statement' in policy)) {
    throw new UsageError(`--iam-policy: ${file} must hold an IAM policy document ({"Version": "2012-10-17", "Statement": [...]})`);
  }
  return policy;
}

function parsePort(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new UsageError(`--${flag} must be an integer from 0 to 65535, got: ${raw}`);
  return n;
}

function parseTimeScale(raw: string | undefined): number {
  if (raw === undefined) return 600;
  const n = /^inf(inity)?$/i.test(raw) ? Infinity : Number(raw);
  if (raw.trim() === '' || Number.isNaN(n) || n < 0) throw new UsageError(`--time-scale must be a number >= 0 or Infinity, got: ${raw}`);
  return n;
}

/** Runs `custom-labels emulator ...` until SIGINT or SIGTERM; resolves to 0 once both servers are closed. */
export async function runEmulatorCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseEmulatorArgs(args, io.cwd);
  if (!parsed) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  // Listen before starting so that a signal during start-up is not lost (and does not kill the process).
  let signalled: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  const onSignal = (s: NodeJS.Signals): void => signalled(s);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let cloud;
    try {
      cloud = await startLocalCloud({
        rekognitionPort: parsed.port,
        s3Port: parsed.s3Port,
        timeScale: parsed.timeScale,
        stateDir: parsed.stateDir,
        unknownCallerPolicy: parsed.iamPolicy,
        holder: 'custom-labels emulator',
        log: (line) => io.stderr.write(`${line}\n`),
      });
    } catch (err) {
      if (err instanceof PolicyEngineMissingError || err instanceof StateDirLockedError) throw new UsageError(err.message);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UsageError(`a port is already in use (${(err as Error).message}); choose others with --port and --s3-port (0 = any free port)`);
      }
      throw err;
    }
    io.stdout.write(`${JSON.stringify({ rekognition: cloud.rekognitionEndpoint, s3: cloud.s3Endpoint })}\n`);
    const received = await signal;
    io.stderr.write(`${new Date().toISOString()} ${received}: stopping\n`);
    await cloud.stop();
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
