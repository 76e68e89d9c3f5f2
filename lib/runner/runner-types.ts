/**
 * The public shapes of the offline runner: how a session is opened, what a deploy and a destroy report, the stack
 * events, and the error a failed deploy throws.
 */
import type { LocalCloud } from '../emulator/local-cloud';
import type { ExecutionRecord } from './executions';
import type { LambdaProcessOptions } from './lambda-process';
import type { StackStatus } from './local-state';

/** One line of a stack's event log, as CloudFormation shows it. `at` is virtual epoch ms. */
export interface StackEvent {
  readonly at: number;
  readonly stackName: string;
  readonly logicalId: string;
  readonly resourceType: string;
  readonly status: string;
  readonly physicalId?: string;
  readonly reason?: string;
}

/** A call a state machine made to SNS or EventBridge, recorded instead of sent. */
export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  readonly parameters: unknown;
  readonly executionArn: string;
  /** Virtual epoch ms. */
  readonly at: number;
}

export interface LocalRunnerOptions {
  /**
   * Where the runner keeps what it deployed (`runner/`), and where a cloud it starts keeps S3 and the emulator. The
   * session holds the directory's lock until close(): another runner or `custom-labels emulator` on it is refused.
   */
  readonly stateDir: string;
  /**
   * The emulator and local S3 to deploy into. Its clock should not run on its own (timeScale 0) for exact virtual times.
   * @default - startLocalCloud({ stateDir, timeScale: 0 }), stopped by close()
   */
  readonly cloud?: LocalCloud;
  /** Progress: one line per resource event and per finished execution. @default - none */
  readonly log?: (line: string) => void;
  /** Handlers' console output and the local services' request log. @default - none */
  readonly debug?: (line: string) => void;
  /** Sees every stack event as it happens. */
  readonly onEvent?: (event: StackEvent) => void;
  /** Called when an execution reaches a Wait state; a returned promise holds it there until it resolves or the execution stops. */
  readonly beforeWait?: (execution: ExecutionRecord, stateName: string) => void | Promise<void>;
  /**
   * Enforce IAM as AWS does: every function, state machine and framework component calls as its own role, and the
   * services refuse what the role's policies (and bucket and key policies) do not allow. Turning it off means a green
   * run says nothing about permissions.
   * @default true
   */
  readonly iam?: boolean;
  /**
   * Refuse to open a state directory that does not hold a runner's state yet (what a destroy wants: a mistyped
   * directory is an error, not an empty success).
   * @default false
   */
  readonly mustExist?: boolean;
  /** Who holds the state directory's lock, as another process's refusal names it. @default 'the offline runner' */
  readonly holder?: string;
  /**
   * Run every Lambda invocation in a child process whose peak memory is held to the function's MemorySize (and
   * reported, with CPU and wall time): slower, for measuring. @default - functions run in this process, unmeasured
   */
  readonly lambdaProcesses?: LambdaProcessOptions;
}

export interface DeployOptions {
  /** Parameter values; each stack takes the ones it declares. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Stack names to deploy (with the stacks they depend on first). @default - every stack */
  readonly stacks?: readonly string[];
}

export interface StackResourceSummary {
  readonly type: string;
  readonly physicalId: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface StackDeployResult {
  readonly stackName: string;
  readonly status: StackStatus | 'NO_CHANGES';
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly replaced: readonly string[];
  readonly deleted: readonly string[];
  readonly unchanged: readonly string[];
  readonly outputs: Readonly<Record<string, string>>;
  readonly resources: Readonly<Record<string, StackResourceSummary>>;
  /**
   * Resources with nothing offline behind them (types the runner does not emulate, e.g. queues, tables, topics): they
   * were recorded with their properties and the physical id and attributes CloudFormation would give them, nothing more.
   */
  readonly recordedOnly: readonly string[];
  /** Virtual seconds the deploy of this stack took. */
  readonly virtualSeconds: number;
}

export interface DeployResult {
  readonly stacks: readonly StackDeployResult[];
  readonly events: readonly StackEvent[];
}

export interface StackDestroyResult {
  readonly stackName: string;
  readonly deleted: readonly string[];
  /** Resources kept because of their DeletionPolicy (Retain), with their physical ids. */
  readonly retained: Readonly<Record<string, StackResourceSummary>>;
  readonly virtualSeconds: number;
  /** False when the state directory held no such stack (nothing was done). */
  readonly existed: boolean;
}

export interface DestroyResult {
  readonly stacks: readonly StackDestroyResult[];
  readonly events: readonly StackEvent[];
}

export interface DestroyOptions {
  /** Stack names (or artifact ids) to delete, with the stacks that depend on them first. @default - every stack */
  readonly stacks?: readonly string[];
  /** Only the named stacks, not the stacks that depend on them (`cdk destroy --exclusively`). @default false */
  readonly exclusively?: boolean;
}

/** A deploy or destroy that failed: the stack's final status, the resource that failed and why. */
export class LocalDeployError extends Error {
  constructor(
    readonly stackName: string,
    readonly status: StackStatus,
    readonly logicalId: string,
    readonly reason: string,
    readonly rollbackProblems: readonly string[] = [],
  ) {
    super(`Stack ${stackName} ${status}: ${logicalId} failed: ${reason}`
      + (rollbackProblems.length > 0 ? `; the rollback failed too: ${rollbackProblems.join('; ')}` : ''));
    this.name = 'LocalDeployError';
  }
}
