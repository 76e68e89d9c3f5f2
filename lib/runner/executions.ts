/**
 * A local Step Functions: the executions of the state machines a local deploy recorded, run with runStateMachine on
 * the emulator's virtual clock, and the API operations our handlers call (StartExecution, DescribeExecution,
 * ListExecutions, StopExecution) in the awsJson1_0 shapes of the real service.
 */
import { LocalServiceError } from './local-services';
import { RunEvent, runStateMachine, RunStatus } from './state-machine';

export type ExecutionStatus = 'RUNNING' | RunStatus;

/** One execution, as the runner keeps it. Times are virtual epoch ms. */
export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  status: ExecutionStatus;
  readonly startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** The compact history (`at` in virtual seconds since the start). */
  events: readonly RunEvent[];
}

/** What the service needs from the runner. */
export interface ExecutionHost {
  /** The resolved definition and name of a recorded state machine, by ARN. */
  stateMachine(arn: string): { definition: string; name: string } | undefined;
  /** SDK integrations, called as the execution's state machine role. */
  sdkHandler(service: string, action: string, parameters: Record<string, unknown>, execution: ExecutionRecord): Promise<unknown>;
  /** Lambda tasks, invoked as the execution's state machine role. */
  lambdaHandler(functionArn: string, payload: unknown, execution: ExecutionRecord): Promise<unknown>;
  /** Calls Step Functions makes itself as the execution's role (a distributed Map starting children); throws the denial. */
  authorize?(action: string, resource: string, execution: ExecutionRecord): Promise<void>;
  /** SNS/EventBridge calls: authorized for the state machine role, then recorded, never sent. */
  record(service: string, action: string, parameters: unknown, execution: ExecutionRecord): void | Promise<void>;
  /** Virtual epoch ms now. */
  now(): number;
  /** Moves virtual time forward (Wait states, retry pauses) when the host has no {@link sleep}. */
  advance(ms: number): void;
  /**
   * Waits for virtual time to pass (Wait states, retry pauses), so that concurrent executions wait at the same time as
   * in AWS; ends early when the execution is stopped. @default - advance() moves the clock at once
   */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  /**
   * Called when an execution reaches a Wait state, before time moves; a returned promise holds the execution there
   * (a test uses it to act "during training"). Released when the execution is stopped.
   */
  beforeWait?(execution: ExecutionRecord, stateName: string): void | Promise<void>;
  log?(line: string): void;
}

/** Error names and messages of the real service (answered as HTTP 400 with that `__type`). */
export class StepFunctionsError extends LocalServiceError {}

interface Running {
  readonly record: ExecutionRecord;
  readonly abort: AbortController;
  done: Promise<void>;
}

export class LocalStepFunctions {
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, Running>();

  constructor(private readonly host: ExecutionHost) {}

  /** Every execution of this session, oldest first. */
  list(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Resolves once no execution is running (new ones started meanwhile are waited for too). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  start(stateMachineArn: string, name: string | undefined, input: string | undefined): ExecutionRecord {
    const machine = this.host.stateMachine(stateMachineArn);
    if (!machine) throw new StepFunctionsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const execName = name ?? cryptoName();
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(execName)) throw new StepFunctionsError('InvalidName', `Invalid Name: '${execName}'`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${execName}`;
    const text = input ?? '{}';
    const existing = this.executions.get(executionArn);
    if (existing) {
      // The service is idempotent for a running execution started again with the same input.
      if (existing.status === 'RUNNING' && existing.input === text) return existing;
      throw new StepFunctionsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new StepFunctionsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
    }
    const record: ExecutionRecord = {
      executionArn, stateMachineArn, name: execName, input: text, status: 'RUNNING', startDate: this.host.now(), events: [],
    };
    this.executions.set(executionArn, record);
    const abort = new AbortController();
    const running: Running = { record, abort, done: Promise.resolve() };
    running.done = this.run(running, machine.definition, parsed).finally(() => this.running.delete(executionArn));
    this.running.set(executionArn, running);
    return record;
  }

  describe(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record) throw new StepFunctionsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  /** Stops a running execution and waits (briefly, in real time) for it to end. */
  async stop(executionArn: string, error?: string, cause?: string): Promise<ExecutionRecord> {
    const record = this.describe(executionArn);
    const running = this.running.get(executionArn);
    if (!running) return record;
    record.error = error;
    record.cause = cause;
    running.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running.done, new Promise((resolve) => { timer = setTimeout(resolve, 10_000); })]);
    clearTimeout(timer);
    return record;
  }

  /** Stops every running execution of a state machine (it is being deleted). */
  async stopAll(stateMachineArn?: string): Promise<void> {
    const targets = [...this.running.values()].filter((r) => stateMachineArn === undefined || r.record.stateMachineArn === stateMachineArn);
    await Promise.all(targets.map((r) => this.stop(r.record.executionArn, 'States.Aborted', 'The state machine was deleted')));
  }

  /** The awsJson1_0 operations. */
  async handle(operation: string, input: Record<string, unknown>): Promise<unknown> {
    const str = (key: string): string | undefined => (typeof input[key] === 'string' ? (input[key] as string) : undefined);
    const required = (key: string): string => {
      const v = str(key);
      if (!v) throw new StepFunctionsError('ValidationException', `1 validation error detected: Value null at '${key}' failed to satisfy constraint`);
      return v;
    };
    switch (operation) {
      case 'StartExecution': {
        const record = this.start(required('stateMachineArn'), str('name'), str('input'));
        return { executionArn: record.executionArn, startDate: record.startDate / 1000 };
      }
      case 'DescribeExecution':
        return describeShape(this.describe(required('executionArn')));
      case 'StopExecution': {
        const record = await this.stop(required('executionArn'), str('error'), str('cause'));
        return { stopDate: (record.stopDate ?? this.host.now()) / 1000 };
      }
      case 'ListExecutions': {
        const arn = required('stateMachineArn');
        if (!this.host.stateMachine(arn)) throw new StepFunctionsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        const filter = str('statusFilter');
        const executions = this.list()
          .filter((e) => e.stateMachineArn === arn && (filter === undefined || e.status === filter))
          .reverse()
          .map((e) => ({
            executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status,
            startDate: e.startDate / 1000, ...(e.stopDate !== undefined ? { stopDate: e.stopDate / 1000 } : {}),
          }));
        return { executions };
      }
      default:
        throw new StepFunctionsError('UnknownOperationException', `The offline runner's Step Functions does not serve ${operation}`);
    }
  }

  private async run(running: Running, definition: string, input: unknown): Promise<void> {
    const { record, abort } = running;
    const host = this.host;
    try {
      const result = await runStateMachine({
        definition,
        input,
        sdkHandler: (service, action, parameters) => host.sdkHandler(service, action, parameters, record),
        lambdaHandler: (functionArn, payload) => host.lambdaHandler(functionArn, payload, record),
        record: async (service, action, parameters) => {
          await host.record(service, action, parameters, record);
          return undefined;
        },
        onWait: async (wait, stateName) => {
          if (host.beforeWait && !abort.signal.aborted) {
            const held = host.beforeWait(record, stateName);
            if (held) {
              // A stop releases the hold, so the run can end.
              await Promise.race([held, new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }))]);
            }
          }
          if (abort.signal.aborted) return;
          const ms = typeof wait === 'number' ? wait * 1000 : Math.max(0, Date.parse(wait) - host.now());
          if (host.sleep) await host.sleep(ms, abort.signal);
          else host.advance(ms);
        },
        onRetry: async (delaySeconds) => {
          if (abort.signal.aborted) return;
          if (host.sleep) await host.sleep(delaySeconds * 1000, abort.signal);
          else host.advance(delaySeconds * 1000);
        },
        clock: () => host.now(),
        authorize: host.authorize ? (action, resource) => host.authorize!(action, resource, record) : undefined,
        context: {
          Execution: { Id: record.executionArn, Name: record.name, StartTime: new Date(record.startDate).toISOString(), RoleArn: '' },
          StateMachine: { Id: record.stateMachineArn, Name: record.stateMachineArn.split(':').pop() },
        },
        signal: abort.signal,
      });
      record.status = result.status;
      record.events = result.events;
      if (result.status === 'SUCCEEDED') record.output = JSON.stringify(result.output ?? null);
      if (result.status !== 'ABORTED') {
        record.error = result.error;
        record.cause = result.cause;
      }
    } catch (err) {
      record.status = 'FAILED';
      record.error = 'Runner.Error';
      record.cause = err instanceof Error ? err.message : String(err);
    }
    record.stopDate = host.now();
    host.log?.(`execution ${record.name}: ${record.status}${record.error ? ` ${record.error}: ${(record.cause ?? '').slice(0, 300)}` : ''}`);
  }
}

function describeShape(e: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: e.startDate / 1000,
    ...(e.stopDate !== undefined ? { stopDate: e.stopDate / 1000 } : {}),
    input: e.input,
    ...(e.output !== undefined ? { output: e.output } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
    ...(e.cause !== undefined ? { cause: e.cause } : {}),
  };
}

let counter = 0;
function cryptoName(): string {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}`;
}
