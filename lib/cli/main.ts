import { packageVersion } from '../shared/package-info';
import { CliIo, EXIT, UsageError } from './io';

/** A sub-command: parses its own arguments and resolves to the process exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  /**
   * The offline packages the command loads: 'offline' for all of the offline tools' (lib/shared/offline-packages.ts).
   * Checked before the command's modules load, so a missing one gets one line that says how to install it.
   */
  readonly needs: 'offline' | readonly string[];
  readonly load: () => Promise<Command>;
}

// Loaded lazily so that `custom-labels manifest ...` never pays for the emulator's dependencies. require, not import():
// under module node16 a CommonJS file keeps import() as a native ESM import, which needs './x.js' and breaks jest.
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, CommandEntry> = {
  manifest: {
    summary: 'validate, convert, split and count Ground Truth manifests',
    needs: [],
    load: async () => (require('./manifest') as typeof import('./manifest')).runManifestCommand,
  },
  emulator: {
    summary: 'run Rekognition Custom Labels and S3 locally',
    needs: 'offline',
    load: async () => (require('./emulator') as typeof import('./emulator')).runEmulatorCommand,
  },
  local: {
    summary: 'deploy or destroy a synthesized app (cdk.out) against the local emulator, offline',
    needs: 'offline',
    load: async () => (require('./local') as typeof import('./local')).runLocalCommand,
  },
  label: {
    needs: [],
    summary: 'label images (classes and boxes) or review predictions in a local page; writes the manifest',
    load: async () => (require('./label') as typeof import('./label')).runLabelCommand,
  },
  report: {
    needs: ['jpeg-js', 'pngjs'], // to inline the images
    summary: 'write an evaluation report (one self-contained HTML page) from an evaluation summary',
    load: async () => (require('./report') as typeof import('./report')).runReportCommand,
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const USAGE = `Usage: custom-labels <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Options:
  -h, --help     this help ('custom-labels help <command>' or 'custom-labels <command> --help' for a command's)
  -V, --version  the version of cdk-rekognition-custom-labels

'emulator' and 'local' need the offline tools' packages, 'report' needs jpeg-js and pngjs (see the README's "Install").
Exit codes: 0 success, 1 the input is invalid (or the operation failed), 2 usage or I/O error.
`;

/** Runs the CLI; never throws: errors become a one-line message on stderr and an exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (first === 'help' && rest.length > 0) return main([...rest, '--help'], io);
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout).write(USAGE);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = COMMANDS[first];
  if (!entry) {
    io.stderr.write(`custom-labels: unknown command '${first}'. Run 'custom-labels --help'.\n`);
    return EXIT.usage;
  }
  try {
    if (entry.needs === 'offline' || entry.needs.length > 0) {
      // Only here: the constructs and `manifest` never load the offline tools' modules.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('../shared/offline-packages') as typeof import('../shared/offline-packages'))
        .assertOfflinePackages('this command', undefined, entry.needs === 'offline' ? undefined : entry.needs);
    }
    return await (await entry.load())(rest, io);
  } catch (err) {
    io.stderr.write(`custom-labels ${first}: ${oneLine(err)}\n`);
    return err instanceof UsageError || isNodeIoError(err) || isMissingPackages(err) ? EXIT.usage : EXIT.invalid;
  }
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

function isNodeIoError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!);
}

function isMissingPackages(err: unknown): boolean {
  return err instanceof Error && err.name === 'MissingOfflinePackagesError';
}
