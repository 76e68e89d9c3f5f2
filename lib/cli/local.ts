/**
 * `custom-labels local deploy|destroy`: runs a synthesized cloud assembly against the emulator and local S3.
 * A thin face over the runner: argument parsing, progress on stderr, a summary on stdout (JSON with --json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { CreateBucketCommand } from '@aws-sdk/client-s3';

import { StateDirLockedError } from '../emulator/state-dir-lock';
import { PolicyEngineMissingError } from '../iam/engine';
import { LocalDeployError, LocalRunner } from '../runner/local-runner';
import { RunnerStateStore } from '../runner/local-state';
import { ModelSummary } from '../runner/model-summary';
import { PreflightError } from '../runner/preflight';
import { formatDuration } from '../runner/report';
import { DeployResult, DestroyResult } from '../runner/runner-types';
import { CliIo, EXIT, UsageError } from './io';

const USAGE = `Usage: custom-labels local deploy  [STACK ...] [--app cdk.out] [--state-dir .custom-labels-local] [--parameters K=V ...] [--bucket NAME ...] [--json] [--no-iam] [--verbose]
       custom-labels local destroy [STACK ...] [--app cdk.out] [--state-dir .custom-labels-local] [-e] [--json] [--no-iam] [--verbose]

Deploys a synthesized CDK app (run 'npx cdk synth' first) to a local Rekognition Custom Labels emulator and S3, offline:
stacks in dependency order, custom resources run their handlers in-process, state machines run locally, waits take no
real time. What the app needs that cannot run offline is refused before anything is created, naming the construct
path. What was deployed, the emulator's projects and models and the S3 objects are kept in the state directory, so a
second deploy sends only the changes, and 'custom-labels emulator --state-dir <dir>' serves them once this command
has finished (one of them holds the directory at a time).

deploy takes the stacks to deploy (default: all; the stacks they depend on come too). destroy takes the stacks to
delete (default: every stack deployed; the stacks that depend on them go first), as cdk destroy does; with --app, only
that app's stacks.

Options:
  --app <dir>            the cloud assembly (default: cdk.out)
  --state-dir <dir>      where deployed state lives (default: .custom-labels-local); destroy needs it to exist
  --parameters K=V       a stack parameter value (repeatable)
  --stack <name>         same as naming STACK (repeatable)
  --bucket <name>        deploy: a bucket your stack imports by name (Bucket.fromBucketName), created empty in the
                         local S3 first when it is not there (repeatable); in AWS it must exist before the deploy too
  --json                 print the summary as one JSON object for machines
  -e, --exclusively      destroy only the named stacks, not the stacks that depend on them
  --no-iam               do not enforce IAM (by default every function and state machine calls as its own role, and
                         what its policies do not allow is refused with AWS's AccessDenied); the run then proves
                         nothing about permissions
  --verbose              also print the handlers' logs and the local services' requests
  -h, --help             this help
deploy ends with a summary: each stack, and each model's version (name and ARN), F1, whether it serves and runs, its
workflow's virtual time and what its versions cost so far. Exit codes: 0 success, 1 the deploy or destroy failed
(rolled back), 2 usage error (bad arguments, a missing state directory, the state directory in use, a feature the
runner cannot run).
`;

const OPTIONS = {
  app: { type: 'string' },
  'state-dir': { type: 'string' },
  parameters: { type: 'string', multiple: true },
  stack: { type: 'string', multiple: true },
  bucket: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  exclusively: { type: 'boolean', short: 'e' },
  'no-iam': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface LocalArgs {
  readonly action: 'deploy' | 'destroy';
  /** The cloud assembly; for destroy only when --app was given. */
  readonly app?: string;
  readonly stateDir: string;
  readonly parameters: Record<string, string>;
  readonly stacks?: string[];
  /** deploy: buckets imported by name, created in the local S3 when missing. */
  readonly buckets: string[];
  readonly verbose: boolean;
  /** Enforce IAM (default) or not (--no-iam). */
  readonly iam: boolean;
  readonly json: boolean;
  /** destroy: only the named stacks. */
  readonly exclusively: boolean;
}

/** Parses `local <action> ...`; undefined means --help. Throws UsageError with a one-line message. */
export function parseLocalArgs(args: string[], cwd: string): LocalArgs | undefined {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') return undefined;
  if (action !== 'deploy' && action !== 'destroy') throw new UsageError(`unknown action '${action}': use 'local deploy' or 'local destroy'`);
  let values: { app?: string; 'state-dir'?: string; parameters?: string[]; stack?: string[]; bucket?: string[]; json?: boolean; exclusively?: boolean; 'no-iam'?: boolean; verbose?: boolean;
    help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true }));
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
  if (action === 'destroy' && values.parameters !== undefined) throw new UsageError('local destroy takes no --parameters');
  if (action === 'destroy' && values.bucket !== undefined) throw new UsageError('local destroy takes no --bucket');
  for (const b of values.bucket ?? []) {
    // S3's bucket naming rules (general purpose buckets), so a typo fails here rather than as the deploy's NoSuchBucket.
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) || b.includes('..')) throw new UsageError(`--bucket takes an S3 bucket name, got: ${b}`);
  }
  const stacks = [...positionals, ...(values.stack ?? [])];
  return {
    action,
    app: values.app !== undefined || action === 'deploy' ? path.resolve(cwd, values.app ?? 'cdk.out') : undefined,
    stateDir: path.resolve(cwd, values['state-dir'] ?? '.custom-labels-local'),
    parameters,
    stacks: stacks.length > 0 ? stacks : undefined,
    buckets: values.bucket ?? [],
    verbose: values.verbose ?? false,
    iam: !(values['no-iam'] ?? false),
    json: values.json ?? false,
    exclusively: values.exclusively ?? false,
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
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  if (parsed.app !== undefined && !fs.existsSync(path.join(parsed.app, 'manifest.json'))) {
    throw new UsageError(`${parsed.app} is not a cloud assembly (no manifest.json): run 'npx cdk synth' first, or pass --app`);
  }
  if (parsed.action === 'destroy' && !new RunnerStateStore(parsed.stateDir).exists()) {
    throw new UsageError(`no offline deployment in ${parsed.stateDir} (looked for ${new RunnerStateStore(parsed.stateDir).file}): `
      + 'check --state-dir; nothing was destroyed');
  }
  if (!parsed.iam) log('custom-labels local: --no-iam: IAM is not enforced, so this run proves nothing about the permissions of the stack\'s roles');
  let runner: LocalRunner;
  try {
    runner = await LocalRunner.open({
      stateDir: parsed.stateDir, log, debug: parsed.verbose ? (line: string) => log(`  ${line}`) : undefined, iam: parsed.iam,
      holder: `custom-labels local ${parsed.action}`, mustExist: parsed.action === 'destroy',
    });
  } catch (err) {
    if (err instanceof PolicyEngineMissingError || err instanceof StateDirLockedError) throw new UsageError(err.message);
    throw err;
  }
  const iam = parsed.iam ? 'enforced' : 'off';
  try {
    if (parsed.action === 'deploy') {
      await createImportedBuckets(runner, parsed.buckets, log);
      const result = await runner.deploy(parsed.app!, { parameters: parsed.parameters, stacks: parsed.stacks });
      await runner.settle();
      const models = await runner.models();
      io.stdout.write(parsed.json ? `${JSON.stringify(deploySummary(result, models, iam))}\n` : deployText(result, models, iam));
    } else {
      const result = await runner.destroy({ stacks: parsed.stacks, assemblyDir: parsed.app, exclusively: parsed.exclusively });
      io.stdout.write(parsed.json ? `${JSON.stringify(destroySummary(result, iam))}\n` : destroyText(result, iam));
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof LocalDeployError) {
      io.stderr.write(`custom-labels local ${parsed.action}: ${err.message}\n`);
      return EXIT.invalid;
    }
    if (err instanceof PreflightError) {
      // Every refusal, one per line: the first line is the one-line error.
      io.stderr.write(`custom-labels local ${parsed.action}: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  } finally {
    await runner.close();
  }
}

/** Creates the buckets a stack imports by name in the local S3, unless they are there already. */
async function createImportedBuckets(runner: LocalRunner, buckets: readonly string[], log: (line: string) => void): Promise<void> {
  const s3 = runner.cloud.s3.client();
  for (const bucket of buckets) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      log(`custom-labels local: created the bucket ${bucket} in the local S3 (--bucket)`);
    } catch (err) {
      if ((err as Error).name !== 'BucketAlreadyOwnedByYou' && (err as Error).name !== 'BucketAlreadyExists') throw err;
    }
  }
}

/** The JSON summary of a deploy. */
export function deploySummary(result: DeployResult, models: readonly ModelSummary[], iam: string): Record<string, unknown> {
  const stacks = result.stacks.map((s) => ({
    stackName: s.stackName, status: s.status, created: s.created.length, updated: s.updated, replaced: s.replaced, deleted: s.deleted,
    outputs: s.outputs, recordedOnly: s.recordedOnly.map((id) => `${id} (${s.resources[id]?.type ?? '?'})`), virtualSeconds: s.virtualSeconds,
  }));
  return { stacks, models, iam };
}

/** The summary of a deploy, for people: each stack, what was only recorded, each model, IAM. */
export function deployText(result: DeployResult, models: readonly ModelSummary[], iam: string): string {
  const lines: string[] = [];
  for (const s of result.stacks) {
    lines.push(`${s.stackName}: ${s.status} (${s.created.length} created, ${s.updated.length} updated, ${s.replaced.length} replaced, `
      + `${s.deleted.length} deleted; ${formatDuration(s.virtualSeconds)} virtual)`);
    for (const [name, value] of Object.entries(s.outputs)) lines.push(`  output ${name} = ${value}`);
    if (s.recordedOnly.length > 0) {
      lines.push(`  recorded only (nothing offline behind them): ${s.recordedOnly.map((id) => `${id} (${s.resources[id]?.type ?? '?'})`).join(', ')}`);
    }
  }
  for (const m of models) {
    lines.push(`model ${m.model}: version ${m.versionName || '(none)'}${m.versionArn ? ` ${m.versionArn}` : ''}`);
    lines.push(`  F1 ${m.f1 !== undefined ? m.f1.toFixed(3) : 'n/a'}, ${m.serving ? 'serving' : 'not serving'}, ${m.running ? 'running' : 'not running'}`
      + `${m.workflowSeconds !== undefined ? `, workflow ${formatDuration(m.workflowSeconds)} virtual` : ''}, meter $${m.dollars.toFixed(2)}`);
  }
  lines.push(`IAM: ${iam}`);
  return `${lines.join('\n')}\n`;
}

/** The JSON summary of a destroy. */
export function destroySummary(result: DestroyResult, iam: string): Record<string, unknown> {
  const stacks = result.stacks.map((s) => ({ stackName: s.stackName, deleted: s.deleted.length, existed: s.existed,
    retained: Object.fromEntries(Object.entries(s.retained).map(([id, r]) => [id, `${r.type} ${r.physicalId}`])), virtualSeconds: s.virtualSeconds }));
  return { stacks, iam };
}

function destroyText(result: DestroyResult, iam: string): string {
  const lines = result.stacks.map((s) => {
    if (!s.existed) return `${s.stackName}: not deployed (nothing to do)`;
    const retained = Object.entries(s.retained).map(([id, r]) => `${id} (${r.type} ${r.physicalId})`);
    return `${s.stackName}: DELETE_COMPLETE (${s.deleted.length} deleted${retained.length > 0 ? `; retained: ${retained.join(', ')}` : ''})`;
  });
  lines.push(`IAM: ${iam}`);
  return `${lines.join('\n')}\n`;
}
