/**
 * Runs an Amazon States Language definition offline with aws-local-stepfunctions, on a virtual clock.
 *
 * Every Task is routed to a handler by its Resource (a Task with no route would call real AWS, so the run is refused);
 * Wait states and Retry pauses take no real time but are reported through hooks, so a caller can advance the emulator's
 * clock by exactly what AWS would have waited.
 */
import './polyfill';

import type * as Sfn from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };

import { analyzeDefinition, DEFAULT_RECORDED_INTEGRATIONS, isObject, readPath, routeResource, TaskRoute, UnsupportedDefinitionError } from './asl';
import { extractDistributedMaps, runDistributedMap } from './distributed-map';
import { MAX_HISTORY_EVENTS, MAX_STATE_PAYLOAD_BYTES } from './limits';
import { evaluateTemplate } from './payload-template';
import { toLambdaTaskError, toSdkTaskError, toTaskError } from './sfn-errors';
import { interpreterTimeoutError, moveTaskTimeouts, taskTimeoutSeconds, withinTaskTimeout } from './task-timeouts';

// The package's types say ESM, but it ships a CommonJS build that require() loads (package.json exports "require").
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine }: typeof Sfn = require('aws-local-stepfunctions');

export type RunStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One line of the compact history. `at` is virtual seconds since the start. */
export interface RunEvent {
  readonly type: 'StateEntered' | 'StateExited' | 'StateFailed' | 'StateRetried' | 'StateCaught' | 'Wait' | 'TaskCall';
  readonly state: string;
  readonly at: number;
  readonly stateType?: string;
  /** Map iteration index, for states inside a Map. */
  readonly index?: number;
  readonly error?: string;
  readonly cause?: string;
  /** Wait: seconds waited (virtual); StateRetried: the pause before the retry. */
  readonly seconds?: number;
  /** Wait: the Timestamp/TimestampPath waited for. */
  readonly timestamp?: string;
  /** StateRetried: 1 for the first retry of that retrier. */
  readonly attempt?: number;
  /** StateCaught: the state the Catch goes to. */
  readonly next?: string;
  /** TaskCall: how it was served. */
  readonly route?: 'sdk' | 'lambda' | 'record' | 'override';
  readonly service?: string;
  readonly action?: string;
  readonly functionArn?: string;
  /** TaskCall with route 'record': what would have been sent. */
  readonly parameters?: unknown;
}

export interface RunStateMachineOptions {
  /** The definition, as an object or the JSON string of a resolved DefinitionString. */
  readonly definition: string | Record<string, unknown>;
  readonly input?: unknown;
  /** Serves `arn:aws:states:::aws-sdk:<service>:<action>` Tasks; gets the resolved Parameters (PascalCase). */
  readonly sdkHandler?: (service: string, action: string, parameters: Record<string, unknown>) => unknown;
  /** Serves `lambda:invoke` Tasks (result wrapped as Step Functions does) and bare function ARNs (bare result). */
  readonly lambdaHandler?: (functionArn: string, payload: unknown) => unknown;
  /** Sees recorded integrations (see `recordedIntegrations`); its return value, if any, is the Task's result. */
  readonly record?: (service: string, action: string, parameters: unknown) => unknown;
  /** `service:action` entries (action may be `*`) served by `record` instead of a handler. @default DEFAULT_RECORDED_INTEGRATIONS */
  readonly recordedIntegrations?: readonly string[];
  /** Handlers by Task state name; they win over routing by Resource. */
  readonly taskHandlers?: Readonly<Record<string, (input: unknown) => unknown>>;
  /** Called when a Wait state starts: seconds (Seconds/SecondsPath) or an ISO timestamp (Timestamp/TimestampPath). */
  readonly onWait?: (wait: number | string, stateName: string) => void | Promise<void>;
  /** Called when a state is retried, with the pause AWS would take (IntervalSeconds * BackoffRate^n, capped). */
  readonly onRetry?: (delaySeconds: number, stateName: string, attempt: number, error: string | undefined) => void | Promise<void>;
  /** The virtual clock in epoch ms, to turn a Wait Timestamp into seconds. @default start time + virtual seconds so far */
  readonly clock?: () => number;
  /** Extra Context Object fields (`$$`), e.g. Execution.Id. */
  readonly context?: Record<string, unknown>;
  /**
   * The history quota of Standard workflows: an execution whose history would pass it fails (events counted as Step
   * Functions writes them: see `historyEvents`). @default 25000
   */
  readonly maxHistoryEvents?: number;
  readonly signal?: AbortSignal;
  /** Authorizes what Step Functions itself does as the role (a distributed Map starting child executions); throws the denial. */
  readonly authorize?: (action: string, resource: string) => Promise<void>;
  /** Virtual seconds after which the run times out (an EXPRESS child's 5 minutes). @default - the definition's TimeoutSeconds */
  readonly maxSeconds?: number;
}

export interface StateMachineRunResult {
  readonly status: RunStatus;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly events: readonly RunEvent[];
  /** Total of the Wait states and Retry pauses, in seconds. */
  readonly virtualSeconds: number;
  /** The events Step Functions would have written to the execution's history (see HISTORY_EVENTS). */
  readonly historyEvents: number;
}

const VALIDATED = new Set<string>();

/** [inferred] The error of an execution whose history passes the quota; the service documents the quota, not the name. */
export const HISTORY_LIMIT_ERROR = 'States.Runtime';

/**
 * History events Step Functions writes (HistoryEvent types): ExecutionStarted and the end; per state <Type>StateEntered
 * and <Type>StateExited (a Fail state: entered only); per Task attempt TaskScheduled, TaskStarted and the outcome
 * (LambdaFunction* for Lambda tasks); per Map/Parallel MapStateStarted and its end, and per iteration its start and end.
 */
export const HISTORY_EVENTS = { execution: 2, state: 2, taskAttempt: 3, mapIteration: 2, mapRun: 2 } as const;

interface Retrier { IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number }

/** The pause before retry number `attempt` (1-based) of a retrier, as Step Functions computes it (jitter ignored). */
export function retryDelaySeconds(retrier: Retrier, attempt: number): number {
  const delay = (retrier.IntervalSeconds ?? 1) * Math.pow(retrier.BackoffRate ?? 2, attempt - 1);
  return retrier.MaxDelaySeconds !== undefined && delay > retrier.MaxDelaySeconds ? retrier.MaxDelaySeconds : delay;
}

type Overrides = NonNullable<Sfn.RunOptions['overrides']>;
type LocalHandler = NonNullable<Overrides['taskResourceLocalHandlers']>[string];
type LogEvent = ReturnType<Sfn.StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Runs the definition to the end and reports how it ended, with its compact history and virtual duration. */
export async function runStateMachine(options: RunStateMachineOptions): Promise<StateMachineRunResult> {
  const given: unknown = typeof options.definition === 'string' ? JSON.parse(options.definition) : options.definition;
  if (!isObject(given)) throw new UnsupportedDefinitionError('the state machine definition is not a JSON object');
  // Distributed Maps are served by distributed-map.ts: the interpreter sees a Task in their place.
  const { runnable: withoutMaps, maps: distributedMaps } = extractDistributedMaps(given);
  const info = analyzeDefinition(withoutMaps);
  // Each Task's timeout runs from its call's start (task-timeouts.ts), not from when the interpreter reaches it.
  const { runnable: definition, timeouts } = moveTaskTimeouts(withoutMaps);
  const makeTimeout = await interpreterTimeoutError();
  const events: RunEvent[] = [];
  const startMs = Date.now();
  let virtualSeconds = 0;
  let history = 1; // ExecutionStarted
  let stop: { status: RunStatus; error: string; cause: string } | undefined;
  let hookError: unknown;
  let hookChain: Promise<void> = Promise.resolve();
  const clock = options.clock ?? (() => startMs + virtualSeconds * 1000);
  const ownTimeout = typeof definition.TimeoutSeconds === 'number' ? definition.TimeoutSeconds : undefined;
  const timeoutSeconds = options.maxSeconds === undefined ? ownTimeout : Math.min(ownTimeout ?? Infinity, options.maxSeconds);
  let abortExecution = (): void => undefined;

  const halt = (status: RunStatus, error: string, cause: string): void => {
    stop ??= { status, error, cause };
    abortExecution();
  };
  const enqueue = (hook: () => void | Promise<void>): void => {
    hookChain = hookChain.then(hook).catch((err: unknown) => {
      hookError ??= err;
      abortExecution();
    });
  };
  const advance = (seconds: number): void => {
    virtualSeconds += seconds;
    if (timeoutSeconds !== undefined && virtualSeconds > timeoutSeconds) {
      halt('TIMED_OUT', 'States.Timeout', `virtual time ${virtualSeconds}s passed the definition's TimeoutSeconds (${timeoutSeconds})`);
    }
  };
  // Handlers wait for queued events and hooks first, so a Task always sees the clock its preceding waits set.
  const settle = async (): Promise<void> => {
    let seen: Promise<void>;
    do {
      seen = hookChain;
      await new Promise<void>((resolve) => setImmediate(resolve));
      await seen;
    } while (seen !== hookChain);
  };

  const givenExecution = isObject(options.context?.Execution) ? options.context.Execution : {};
  const pathContext = { ...options.context, Execution: { ...givenExecution, Input: options.input ?? {} } };
  const handlers: Record<string, LocalHandler> = {};
  const unrouted: string[] = [];
  for (const name of Object.keys(options.taskHandlers ?? {})) {
    if (!info.tasks.some((t) => t.stateName === name)) {
      throw new UnsupportedDefinitionError(`taskHandlers names ${JSON.stringify(name)}, which is not a Task state`);
    }
  }
  let recordCount = 0;
  const parentExecution = isObject(options.context?.Execution) ? options.context.Execution : {};
  const distributedHandler = (name: string) => (input: unknown): Promise<unknown> => runDistributedMap(name, distributedMaps[name], input, {
    context: { ...options.context, Execution: { ...parentExecution, Input: options.input ?? {} } },
    now: clock,
    sdk: async (service, action, parameters) => {
      if (!options.sdkHandler) throw new UnsupportedDefinitionError(`${name}: a distributed Map needs an sdkHandler to reach S3`);
      return options.sdkHandler(service, action, parameters);
    },
    authorize: options.authorize,
    runChild: async (childDefinition, input, context, limits) => runStateMachine({
      ...options, definition: childDefinition, input, context, signal: limits.signal, maxSeconds: limits.maxSeconds,
      maxHistoryEvents: limits.maxSeconds === undefined ? options.maxHistoryEvents : Number.MAX_SAFE_INTEGER,
    }).catch((err: unknown) => ({ status: 'FAILED' as const, error: 'States.Runtime', cause: err instanceof Error ? err.message : String(err) })),
    template: evaluateTemplate,
    signal: options.signal,
  });
  for (const task of info.tasks) {
    const own = options.taskHandlers?.[task.stateName] ?? (distributedMaps[task.stateName] ? distributedHandler(task.stateName) : undefined);
    const route = own ? undefined : routeResource(task.resource, options.recordedIntegrations ?? DEFAULT_RECORDED_INTEGRATIONS);
    const call = own ? async (input: unknown) => toJson(await own(input)) : route && serveRoute(route, options, () => ++recordCount);
    if (!call) {
      unrouted.push(`${task.stateName} (${task.resource})`);
      continue;
    }
    const describe: Omit<RunEvent, 'at'> = route
      ? describeRoute(task.stateName, route)
      : { type: 'TaskCall', state: task.stateName, route: 'override' };
    const timeout = timeouts.get(task.stateName);
    handlers[task.stateName] = async (input) => {
      await settle();
      // Once the run is halted (virtual timeout, guard), no further call may reach a service.
      if (stop) throw toTaskError({ name: 'States.Runtime', message: `the run was stopped: ${stop.cause}` });
      const at = virtualSeconds;
      const extra = describe.route === 'record' ? { parameters: input } : {};
      let seconds: number;
      try {
        seconds = taskTimeoutSeconds(timeout, input, pathContext);
      } catch (err) {
        halt('FAILED', 'States.Runtime', `${task.stateName}: ${err instanceof Error ? err.message : String(err)}`);
        throw toTaskError({ name: 'States.Runtime', message: `the run was stopped: ${stop!.cause}` });
      }
      let timedOut: Error | undefined;
      try {
        const result = await withinTaskTimeout(() => call(input), seconds, () => (timedOut = makeTimeout()));
        events.push({ ...describe, ...extra, at });
        if (Buffer.byteLength(JSON.stringify(result ?? null)) > MAX_STATE_PAYLOAD_BYTES) {
          // A terminal error: no Retry or Catch (not even States.ALL) handles it.
          halt('FAILED', 'States.DataLimitExceeded', `The state/task '${task.stateName}' returned a result with a size exceeding the maximum number `
            + 'of bytes service limit.');
        }
        return result as never;
      } catch (err) {
        if (timedOut !== undefined && err === timedOut) {
          // The interpreter's own class: its Retry and Catch tell a timeout from States.TaskFailed by it.
          events.push({ ...describe, ...extra, at, error: 'States.Timeout', cause: `no answer within TimeoutSeconds (${seconds} s of real time)` });
          throw err;
        }
        const e = route?.kind === 'sdk' ? toSdkTaskError(route.service, err) : route?.kind === 'lambda' ? toLambdaTaskError(err) : toTaskError(err);
        events.push({ ...describe, ...extra, at, error: e.name, cause: e.message });
        throw e;
      }
    };
  }
  if (unrouted.length > 0) {
    throw new UnsupportedDefinitionError(`No offline route for Task ${unrouted.join(', ')}: it would call real AWS. Give a handler for it.`);
  }

  const overrides: Overrides = {
    taskResourceLocalHandlers: handlers,
    waitTimeOverrides: Object.fromEntries(info.waitStates.map((n) => [n, 0])),
    retryIntervalOverrides: Object.fromEntries(info.retryStates.map((n) => [n, 0])),
  };
  // The interpreter's validation costs about half a second per construction: validate each distinct definition once.
  const key = JSON.stringify(definition);
  const machine = new StateMachine(definition as unknown as Sfn.StateMachineDefinition, { validationOptions: { noValidate: VALIDATED.has(key) } });
  VALIDATED.add(key);
  const execution = machine.run((options.input ?? {}) as never, { overrides, context: options.context });
  abortExecution = execution.abort;
  const onAbort = (): void => halt('ABORTED', 'Runner.Aborted', 'the caller aborted the run');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const lastError = new Map<string, string>();
  const maxHistory = options.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  const addHistory = (state: string, count: number): void => {
    history += count;
    // The execution's end event needs a place too.
    if (history + 1 > maxHistory) {
      halt('FAILED', HISTORY_LIMIT_ERROR, `The execution history would pass its quota of ${maxHistory} events at state ${state}`
        + ' (Standard workflows): a wait loop polls too often for its bound');
    }
  };
  const onEvent = (ev: LogEvent): void => {
    if ((ev.type === 'MapIterationStarted' || ev.type === 'ParallelBranchStarted') && !stop) {
      addHistory('Map', HISTORY_EVENTS.mapIteration);
      return;
    }
    // After a halt the interpreter may still finish the current state; the history ends where AWS would have stopped.
    if (!('state' in ev) || stop) return;
    const common = { state: ev.state.name, stateType: ev.state.type, at: virtualSeconds, ...(ev.index !== undefined ? { index: ev.index } : {}) };
    switch (ev.type) {
      case 'StateEntered': {
        events.push({ type: 'StateEntered', ...common });
        // Entered (and, but for a Fail state, exited), plus the first attempt's three events for a Task or a Map's start.
        addHistory(ev.state.name, (ev.state.type === 'Fail' ? 1 : HISTORY_EVENTS.state)
          + (ev.state.type === 'Task' ? HISTORY_EVENTS.taskAttempt : ev.state.type === 'Map' || ev.state.type === 'Parallel' ? HISTORY_EVENTS.mapRun : 0));
        if (ev.state.type === 'Wait') onWaitState(ev.state.name, ev.state.input, common);
        break;
      }
      case 'StateExited': {
        events.push({ type: 'StateExited', ...common });
        const size = ev.state.output === undefined ? 0 : Buffer.byteLength(JSON.stringify(ev.state.output));
        if (size > MAX_STATE_PAYLOAD_BYTES) {
          halt('FAILED', 'States.DataLimitExceeded', `The state/task '${ev.state.name}' returned a result with a size exceeding the maximum number of `
            + 'bytes service limit.');
        }
        break;
      }
      case 'StateFailed':
        lastError.set(ev.state.name, ev.Error);
        events.push({ type: 'StateFailed', ...common, error: ev.Error, cause: typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause) });
        break;
      case 'StateRetried': {
        addHistory(ev.state.name, HISTORY_EVENTS.taskAttempt);
        const delay = retryDelaySeconds(ev.retry.retrier, ev.retry.attempt);
        const error = lastError.get(ev.state.name);
        events.push({ type: 'StateRetried', ...common, seconds: delay, attempt: ev.retry.attempt, error });
        advance(delay);
        if (options.onRetry) enqueue(() => options.onRetry!(delay, ev.state.name, ev.retry.attempt, error));
        break;
      }
      case 'StateCaught':
        events.push({ type: 'StateCaught', ...common, error: lastError.get(ev.state.name), next: ev.catch.catcher.Next });
        break;
      default:
        break;
    }
  };
  const onWaitState = (name: string, rawInput: unknown, common: Omit<RunEvent, 'type'>): void => {
    const state = info.states.get(name) ?? {};
    const input = state.InputPath === null ? {} : typeof state.InputPath === 'string' ? readPath(state.InputPath, rawInput, pathContext) : rawInput;
    let wait: number | string | undefined;
    if (typeof state.Seconds === 'number') wait = state.Seconds;
    else if (typeof state.Timestamp === 'string') wait = state.Timestamp;
    else if (typeof state.SecondsPath === 'string') wait = readPath(state.SecondsPath, input, pathContext) as number;
    else if (typeof state.TimestampPath === 'string') wait = readPath(state.TimestampPath, input, pathContext) as string;
    const isSeconds = typeof wait === 'number' && Number.isInteger(wait) && wait >= 0;
    const isTimestamp = typeof wait === 'string' && !Number.isNaN(Date.parse(wait));
    if (!isSeconds && !isTimestamp) {
      // The interpreter skips these paths under a wait override, so the check that AWS makes is made here.
      const source = JSON.stringify(state.SecondsPath ?? state.TimestampPath);
      halt('FAILED', 'States.Runtime', `Wait state ${name}: ${source} gave ${JSON.stringify(wait)}`);
      return;
    }
    const seconds = isSeconds ? (wait as number) : Math.max(0, (Date.parse(wait as string) - clock()) / 1000);
    events.push({ ...common, type: 'Wait', seconds, ...(isTimestamp ? { timestamp: wait as string } : {}) });
    advance(seconds);
    if (options.onWait) enqueue(() => options.onWait!(wait as number | string, name));
  };
  const consumer = (async () => {
    for await (const ev of execution.eventLogs) {
      try {
        onEvent(ev);
      } catch (err) {
        halt('FAILED', 'States.Runtime', err instanceof Error ? err.message : String(err));
      }
    }
  })();

  let result: { status: RunStatus; output?: unknown; error?: string; cause?: string };
  try {
    result = { status: 'SUCCEEDED', output: await execution.result };
  } catch (err) {
    if (err instanceof ExecutionError && err.cause instanceof Error) {
      result = { status: 'FAILED', error: err.cause.name, cause: err.cause.message };
    } else if (err instanceof ExecutionTimeoutError) {
      result = { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'the definition\'s TimeoutSeconds passed in real time' };
    } else if (err instanceof ExecutionAbortedError) {
      result = { status: 'ABORTED' };
    } else {
      throw err;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  await consumer;
  await hookChain;
  if (hookError !== undefined) throw hookError;
  if (stop) result = stop;
  return { ...result, events, virtualSeconds, historyEvents: history + 1 };
}

function describeRoute(state: string, route: TaskRoute): Omit<RunEvent, 'at'> {
  if (route.kind === 'lambda') return { type: 'TaskCall', state, route: 'lambda', ...(route.functionArn ? { functionArn: route.functionArn } : {}) };
  return { type: 'TaskCall', state, route: route.kind, service: route.service, action: route.action };
}

function serveRoute(route: TaskRoute, options: RunStateMachineOptions, nextId: () => number): ((input: unknown) => Promise<unknown>) | undefined {
  const { sdkHandler, lambdaHandler } = options;
  switch (route.kind) {
    case 'sdk':
      if (!sdkHandler) return undefined;
      return async (input) => {
        const out = toJson(await sdkHandler(route.service, route.action, isObject(input) ? input : {}));
        if (isObject(out)) delete out.$metadata; // SDK integrations return the API response only
        return out;
      };
    case 'lambda':
      if (!lambdaHandler) return undefined;
      if (route.style === 'arn') return async (input) => toJson(await lambdaHandler(route.functionArn!, input));
      return async (input) => {
        const params = isObject(input) ? input : {};
        if (typeof params.FunctionName !== 'string') {
          throw Object.assign(new Error('lambda:invoke needs Parameters.FunctionName'), { name: 'States.Runtime' });
        }
        // [inferred] no Payload parameter: the function receives an empty event.
        const payload = toJson(await lambdaHandler(params.FunctionName, params.Payload ?? {}));
        return { StatusCode: 200, Payload: payload, ExecutedVersion: '$LATEST' };
      };
    case 'record':
      return async (input) => {
        const id = nextId();
        const given = options.record ? await options.record(route.service, route.action, input) : undefined;
        return given !== undefined ? toJson(given) : defaultRecordResult(route.action, id, input);
      };
  }
}

// [inferred] the response shapes of SNS Publish and EventBridge PutEvents, with made-up ids.
function defaultRecordResult(action: string, id: number, input: unknown): unknown {
  const fakeId = `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`;
  if (action === 'publish') return { MessageId: fakeId };
  if (action === 'putEvents') {
    const entries = isObject(input) && Array.isArray(input.Entries) ? input.Entries : [{}];
    return { Entries: entries.map((_e, i) => ({ EventId: `${fakeId}-${i}` })), FailedEntryCount: 0 };
  }
  return {};
}

/** Step Functions passes JSON between states: Dates become ISO strings, undefined becomes null. */
function toJson(value: unknown): unknown {
  const text = JSON.stringify(value ?? null);
  return JSON.parse(text ?? 'null');
}
