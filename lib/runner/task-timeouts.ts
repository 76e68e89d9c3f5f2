/**
 * Task timeouts (TimeoutSeconds, TimeoutSecondsPath), measured from the moment the Task's call starts.
 *
 * aws-local-stepfunctions times a Task in real time from the moment it hands the Task to our handler. Our handler
 * first waits for the virtual time of the states before it (a Wait, a retry pause), which the interpreter skips; on a
 * stopped clock that wait lasts as long as the emulator's jobs compute (a training over 80,000 images: three minutes),
 * so a Describe call after a Wait timed out before it was made. Here the interpreter gets a timeout it never reaches, and
 * the handler times the call itself, in real time as before: a call the offline world cannot answer within the Task's
 * own timeout still fails the Task. Virtual time is not used: it may jump while a handler computes in memory (that work
 * takes no virtual time), so a virtual timer would time out calls AWS would have answered.
 */
import type * as Sfn from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };

import { readPath, replaceStates } from './asl';
import { DISTRIBUTED_MAP_RESOURCE } from './distributed-map';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ExecutionError, StateMachine }: typeof Sfn = require('aws-local-stepfunctions');

/** What the interpreter is given instead: under Node's largest timer (2^31 ms), and past any run we make. */
export const INTERPRETER_TASK_TIMEOUT_SECONDS = 2_000_000;
/** AWS's timeout of a Task without TimeoutSeconds or TimeoutSecondsPath. */
export const AWS_DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;

/** A Task's own timeout: a number of seconds, or the path that gives it. */
export interface TaskTimeout {
  readonly seconds?: number;
  readonly path?: string;
}

type State = Record<string, unknown>;

/**
 * The definition with every Task's timeout moved out of the interpreter's reach (Map ItemProcessor/Iterator and
 * Parallel Branches included), and each Task's own timeout by state name. The distributed Maps' stand-in Tasks have no
 * timeout in AWS and get none.
 */
export function moveTaskTimeouts(definition: State): { runnable: State; timeouts: Map<string, TaskTimeout> } {
  const timeouts = new Map<string, TaskTimeout>();
  const runnable = replaceStates(definition, (name, raw) => {
    if (raw.Type !== 'Task' || raw.Resource === DISTRIBUTED_MAP_RESOURCE) return undefined;
    const { TimeoutSeconds: seconds, TimeoutSecondsPath: path, ...rest } = raw;
    timeouts.set(name, { ...(typeof seconds === 'number' ? { seconds } : {}), ...(typeof path === 'string' ? { path } : {}) });
    return { ...rest, TimeoutSeconds: INTERPRETER_TASK_TIMEOUT_SECONDS };
  });
  return { runnable: runnable as State, timeouts };
}

/** The Task's timeout in seconds for this input; a path that gives no whole number >= 1 is the run's error (States.Runtime). */
export function taskTimeoutSeconds(timeout: TaskTimeout | undefined, input: unknown, context: unknown): number {
  if (timeout?.seconds !== undefined) return timeout.seconds;
  if (timeout?.path === undefined) return AWS_DEFAULT_TASK_TIMEOUT_SECONDS;
  const value = readPath(timeout.path, input, context);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`TimeoutSecondsPath ${JSON.stringify(timeout.path)} gave ${JSON.stringify(value)}, not a whole number of seconds >= 1`);
  }
  return value;
}

let timeoutError: Promise<() => Error> | undefined;

/**
 * Makes the interpreter's own States.Timeout error. Its Retry and Catch tell a timeout from other task failures by class
 * (States.TaskFailed matches every task error but a timeout), and the class is not exported: a one-Task machine that
 * times out after 1 ms hands it over, once per process.
 */
export function interpreterTimeoutError(): Promise<() => Error> {
  timeoutError ??= (async () => {
    let release = (): void => undefined;
    const never = new Promise<never>((_, reject) => { release = () => reject(new Error('released')); });
    never.catch(() => undefined);
    const machine = new StateMachine({
      StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:probe', TimeoutSeconds: 0.001, End: true } },
    } as unknown as Sfn.StateMachineDefinition, { validationOptions: { noValidate: true } });
    try {
      await machine.run({}, { overrides: { taskResourceLocalHandlers: { T: () => never } } }).result;
    } catch (err) {
      const cause = err instanceof ExecutionError ? err.cause : undefined;
      if (cause instanceof Error && cause.name === 'States.Timeout') {
        const Timeout = cause.constructor as new () => Error;
        return () => new Timeout();
      }
      throw new Error(`aws-local-stepfunctions no longer times a Task out as this runner expects: ${String(cause ?? err)}`, { cause: err });
    } finally {
      release();
    }
    throw new Error('aws-local-stepfunctions no longer times a Task out as this runner expects: the probe finished');
  })();
  return timeoutError;
}

/**
 * Runs a Task's call within its timeout, in real time from the call's start (the interpreter's own bound at most).
 * Rejects with the interpreter's States.Timeout error.
 */
export async function withinTaskTimeout<T>(call: () => Promise<T>, seconds: number, makeTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(makeTimeout()), Math.min(seconds, INTERPRETER_TASK_TIMEOUT_SECONDS) * 1000);
  });
  try {
    return await Promise.race([call(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
