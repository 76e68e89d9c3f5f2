/**
 * `custom-labels local deploy|destroy`: runs a synthesized cloud assembly against the emulator and local S3.
 * A thin face over the runner's deployLocal/destroyLocal: argument parsing, progress on stderr, a JSON summary on stdout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { PolicyEngineMissingError } from '../iam/engine';
import { deployLocal, destroyLocal, LocalDeployError } from '../runner/local-runner';
import { CliIo, EXIT, UsageError } from './io';

const USAGE = `Usage: custom-labels local deploy  [--app cdk.out] [--state-dir .custom-labels-local] [--parameters K=V ...] [--no-iam] [--verbose]
       custom-labels local destroy [--state-dir .custom-labels-local] [--stack <name> ...] [--no-iam] [--verbose]

Deploys a synthesized CDK app (run 'npx cdk synth' first) to a local Rekognition Custom Labels emulator and S3, offline:
custom resources run their handlers in-process, state machines run locally, waits take no real time. What was deployed,
the emulator's projects and models and the S3 objects are kept in the state directory, so a second deploy sends only
the changes, and 'custom-labels emulator --state-dir <dir>' serves them to any SDK or the AWS CLI.

Options:
  --app <dir>            the cloud assembly (default: cdk.out)
  --state-dir <dir>      where deployed state lives (default: .custom-labels-local)
  --parameters K=V       a stack parameter value (repeatable)
  --stack <name>         only this stack (repeatable; default: all)
  --no-iam               do not enforce IAM (by default every function and state machine calls as its own role, and
                         what its policies do not allow is refused with AWS's AccessDenied); the run then proves
                         nothing about permissions
  --verbose              also print the handlers' logs and the local services' requests
  -h, --help             this help
Prints one JSON summary on stdout. Exit codes: 0 success, 1 the deploy or destroy failed (rolled back), 2 usage error.
`;

const OPTIONS = {
  app: { type: 'string' },
  'state-dir': { type: 'string' },
  parameters: { type: 'string', multiple: true },
  stack: { type: 'string', multiple: true },
  'no-iam': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface LocalArgs {
  readonly action: 'deploy' | 'destroy';
  readonly app: string;
  readonly stateDir: string;
  readonly parameters: Record<string, string>;
  readonly stacks?: string[];
  readonly verbose: boolean;
  /** Enforce IAM (default) or not (--no-iam). */
  readonly iam: boolean;
}

/** Parses `local <action> ...`; undefined means --help. Throws UsageError with a one-line message. */
export function parseLocalArgs(args: string[], cwd: string): LocalArgs | undefined {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') return undefined;
  if (action !== 'deploy' && action !== 'destroy') throw new UsageError(`unknown action '${action}': use 'local deploy' or 'local destroy'`);
  let values: { app?: string; 'state-dir'?: string; parameters?: string[]; stack?: string[]; 'no-iam'?: boolean; verbose?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    const raw = (err as { message?: unknown }).message;
    const message = (typeof raw === 'string' ? raw : String(err)).split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${message}. Run 'custom-labels local --help'.`);
  }
  if (values.help) return undefined;
  const parameters: Record<string, string> = {};
  for (const p of values.parameters ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--parameters takes KEY=VALUE, got: ${p}`);
    parameters[p.slice(0, eq)] = p.slice(eq + 1);
  }
  if (action === 'destroy' && values.app !== undefined) throw new UsageError('local destroy takes no --app: it deletes what the state directory holds');
  return {
    action,
    app: path.resolve(cwd, values.app ?? 'cdk.out'),
    stateDir: path.resolve(cwd, values['state-dir'] ?? '.custom-labels-local'),
    parameters,
    stacks: values.stack,
    verbose: values.verbose ?? false,
    iam: !(values['no-iam'] ?? false),
  };
}

/** Runs `custom-labels local ...`. */
export async function runLocalCommand(args: string[], io: CliIo): Promise<number> {
  if (args.length === 0) {
    io.stderr.write(USAGE);
    return EXIT.usage;
  }
  const parsed = parseLocalArgs(args, io.cwd);
  if (!parsed) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  // The SDK's notice about Node 22 would sit in the middle of the deploy's progress.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  if (!parsed.iam) log('custom-labels local: --no-iam: IAM is not enforced, so this run proves nothing about the permissions of the stack\'s roles');
  const common = { stateDir: parsed.stateDir, log, debug: parsed.verbose ? (line: string) => log(`  ${line}`) : undefined, iam: parsed.iam };
  try {
    if (parsed.action === 'deploy') {
      if (!fs.existsSync(path.join(parsed.app, 'manifest.json'))) {
        throw new UsageError(`${parsed.app} is not a cloud assembly (no manifest.json): run 'npx cdk synth' first, or pass --app`);
      }
      const result = await deployLocal({ ...common, assemblyDir: parsed.app, parameters: parsed.parameters, stacks: parsed.stacks });
      const stacks = result.stacks.map((s) => ({
        stackName: s.stackName, status: s.status, created: s.created.length, updated: s.updated, replaced: s.replaced, deleted: s.deleted,
        outputs: s.outputs, virtualSeconds: s.virtualSeconds,
      }));
      io.stdout.write(`${JSON.stringify({ stacks, iam: parsed.iam ? 'enforced' : 'off' })}\n`);
    } else {
      const result = await destroyLocal({ ...common, stacks: parsed.stacks });
      const stacks = result.stacks.map((s) => ({ stackName: s.stackName, deleted: s.deleted.length,
        retained: Object.fromEntries(Object.entries(s.retained).map(([id, r]) => [id, `${r.type} ${r.physicalId}`])), virtualSeconds: s.virtualSeconds }));
      io.stdout.write(`${JSON.stringify({ stacks, iam: parsed.iam ? 'enforced' : 'off' })}\n`);
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof LocalDeployError) {
      io.stderr.write(`custom-labels local ${parsed.action}: ${err.message}\n`);
      return EXIT.invalid;
    }
    if (err instanceof PolicyEngineMissingError) throw new UsageError(err.message);
    throw err;
  }
}
