import { CliIo, EXIT, UsageError } from './io';

/** A sub-command: parses its own arguments and resolves to the process exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

// Loaded lazily so that `custom-labels manifest ...` never pays for the emulator's dependencies. require, not import():
// under module node16 a CommonJS file keeps import() as a native ESM import, which needs './x.js' and breaks jest.
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, CommandEntry> = {
  manifest: {
    summary: 'validate, convert, split and count Ground Truth manifests',
    load: async () => (require('./manifest') as typeof import('./manifest')).runManifestCommand,
  },
  emulator: {
    summary: 'run Rekognition Custom Labels and S3 locally',
    load: async () => (require('./emulator') as typeof import('./emulator')).runEmulatorCommand,
  },
  local: {
    summary: 'deploy or destroy a synthesized app (cdk.out) against the local emulator, offline',
    load: async () => (require('./local') as typeof import('./local')).runLocalCommand,
  },
  label: {
    summary: 'label images (classes and boxes) or review predictions in a local page; writes the manifest',
    load: async () => (require('./label') as typeof import('./label')).runLabelCommand,
  },
  report: {
    summary: 'write an evaluation report (one self-contained HTML page) from an evaluation summary',
    load: async () => (require('./report') as typeof import('./report')).runReportCommand,
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const USAGE = `Usage: custom-labels <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Run 'custom-labels <command> --help' for a command's options.
Exit codes: 0 success, 1 the input is invalid (or the operation failed), 2 usage or I/O error.
`;

/** Runs the CLI; never throws: errors become a one-line message on stderr and an exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`custom-labels: unknown command '${name}'. Run 'custom-labels --help'.\n`);
    return EXIT.usage;
  }
  try {
    return await (await entry.load())(rest, io);
  } catch (err) {
    io.stderr.write(`custom-labels ${name}: ${oneLine(err)}\n`);
    return err instanceof UsageError || isNodeIoError(err) ? EXIT.usage : EXIT.invalid;
  }
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

function isNodeIoError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!);
}
