/**
 * Custom resources, offline: the real CloudFormation request (Create, Update with OldResourceProperties, Delete) goes to
 * the resource's handler, run in-process.
 *
 * - CDK Provider framework (the service token's function names USER_ON_EVENT_FUNCTION_ARN in its environment): the
 *   runner plays the framework: onEvent, then isComplete polled at the waiter state machine's interval on the virtual
 *   clock, with the framework's rules (default physical id, no physical-id change on Delete, Data merged, "Operation
 *   timed out" after the last attempt, a failed Create answered with the framework's marker id).
 * - Any other Node.js Lambda: invoked with a ResponseURL the runner serves; the handler's PUT is the answer.
 */
import { randomUUID } from 'node:crypto';

import { LambdaFunctionSpec } from './lambda-host';

/** The request CloudFormation sends. */
export interface CustomResourceRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ServiceToken: string;
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceType: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly OldResourceProperties?: Record<string, unknown>;
}

export interface CustomResourceResult {
  readonly physicalId: string;
  readonly data: Record<string, unknown>;
}

export interface CustomResourceHost {
  findFunction(arnOrName: string): LambdaFunctionSpec | undefined;
  invoke(spec: LambdaFunctionSpec, event: unknown): Promise<unknown>;
  /** The resolved definition of a recorded state machine (the framework's waiter), by ARN. */
  stateMachineDefinition(arn: string): string | undefined;
  advance(ms: number): void;
  /** A URL the handler may PUT its response to, and the promise of that response. */
  responseUrl(): { url: string; response: Promise<Record<string, unknown>>; cancel(): void };
  /**
   * Refuses, by throwing AWS's message, a call the framework makes as one of its roles: `lambda:InvokeFunction` of a
   * user function, `states:StartExecution` of the waiter. @default - nothing is checked
   */
  authorize?(as: { readonly roleArn?: string; readonly session: string }, action: string, resource: string): Promise<void>;
  /** The role a recorded state machine (the framework's waiter) runs as. */
  stateMachineRole?(arn: string): string | undefined;
  log(line: string): void;
}

/** The Provider framework's marker for the physical id of a Create that failed. */
export const CREATE_FAILED_MARKER = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

/** A custom resource answered FAILED: the message is the handler's reason. */
export class CustomResourceFailed extends Error {
  constructor(message: string, readonly physicalId?: string) {
    super(message);
    this.name = 'CustomResourceFailed';
  }
}

/** CloudFormation passes every scalar property of a custom resource as a string. */
export function stringifyScalars(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stringifyScalars);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyScalars(v)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

export function newRequestId(): string {
  return randomUUID();
}

/** Sends the request to the resource's handler and resolves to its answer; rejects with CustomResourceFailed. */
export async function invokeCustomResource(host: CustomResourceHost, request: CustomResourceRequest): Promise<CustomResourceResult> {
  const token = request.ServiceToken;
  if (typeof token !== 'string' || token === '') throw new CustomResourceFailed('ServiceToken is missing');
  if (/^arn:[^:]+:sns:/.test(token)) throw new CustomResourceFailed(`SNS-backed custom resources (${token}) cannot run offline`);
  const fn = host.findFunction(token);
  if (!fn) throw new CustomResourceFailed(`ServiceToken ${token} names no function of the deployed stacks`);
  const onEventArn = fn.environment.USER_ON_EVENT_FUNCTION_ARN;
  if (onEventArn) return providerFramework(host, fn, onEventArn, request);
  return directLambda(host, fn, request);
}

async function providerFramework(
  host: CustomResourceHost, framework: LambdaFunctionSpec, onEventArn: string, request: CustomResourceRequest,
): Promise<CustomResourceResult> {
  if (request.RequestType === 'Delete' && request.PhysicalResourceId === CREATE_FAILED_MARKER) {
    return { physicalId: CREATE_FAILED_MARKER, data: {} };
  }
  const userFunction = (arn: string, role: string): LambdaFunctionSpec => {
    const spec = host.findFunction(arn);
    if (!spec) throw new CustomResourceFailed(`The Provider framework's ${role} function ${arn} is not in the deployed stacks`);
    return spec;
  };
  const fail = (err: unknown, fallbackId?: string): CustomResourceFailed => {
    const message = typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
      ? (err as { message: string }).message : String(err);
    // As the framework does: a failed Create without an id gets the marker, so its Delete is answered without a call.
    const id = request.PhysicalResourceId ?? fallbackId ?? (request.RequestType === 'Create' ? CREATE_FAILED_MARKER : undefined);
    return new CustomResourceFailed(message, id);
  };
  const authorize = async (as: LambdaFunctionSpec | { roleArn?: string; session: string }, action: string, resource: string): Promise<void> => {
    const who = 'functionName' in as ? { roleArn: as.roleArn, session: as.functionName } : as;
    await host.authorize?.(who, action, resource);
  };
  let onEventResult: Record<string, unknown>;
  try {
    const onEvent = userFunction(onEventArn, 'onEvent');
    await authorize(framework, 'lambda:InvokeFunction', onEvent.functionArn);
    onEventResult = asRecord(await host.invoke(onEvent, request));
  } catch (err) {
    throw err instanceof CustomResourceFailed ? err : fail(err);
  }
  const returnedId = typeof onEventResult.PhysicalResourceId === 'string' && onEventResult.PhysicalResourceId !== ''
    ? onEventResult.PhysicalResourceId : undefined;
  const physicalId = returnedId ?? (request.RequestType === 'Create' ? request.RequestId : request.PhysicalResourceId ?? request.RequestId);
  if (request.RequestType === 'Delete' && physicalId !== request.PhysicalResourceId) {
    throw fail(`DELETE: cannot change the physical resource ID from "${request.PhysicalResourceId}" to "${physicalId}" during deletion`);
  }
  const onEventData = asRecord(onEventResult.Data);
  const isCompleteArn = framework.environment.USER_IS_COMPLETE_FUNCTION_ARN;
  if (!isCompleteArn) return { physicalId, data: onEventData };

  const waiterArn = framework.environment.WAITER_STATE_MACHINE_ARN ?? '';
  const waiterDefinition = host.stateMachineDefinition(waiterArn);
  const waiter = waiterSchedule(waiterDefinition);
  const event = { ...request, ...onEventResult, PhysicalResourceId: physicalId, Data: onEventData };
  const isComplete = userFunction(isCompleteArn, 'isComplete');
  // The framework's onEvent starts the waiter state machine, whose role invokes the framework's isComplete function,
  // whose role invokes the user's: each hop is a call its own role must be allowed to make.
  const frameworkIsComplete = waiterTaskFunction(waiterDefinition);
  const frameworkIsCompleteSpec = frameworkIsComplete ? host.findFunction(frameworkIsComplete) : undefined;
  try {
    await authorize(framework, 'states:StartExecution', waiterArn);
  } catch (err) {
    throw fail(err, physicalId);
  }
  try {
    if (frameworkIsComplete) {
      await authorize({ roleArn: host.stateMachineRole?.(waiterArn), session: waiterArn.split(':').pop() ?? 'waiter' },
        'lambda:InvokeFunction', frameworkIsCompleteSpec?.functionArn ?? frameworkIsComplete);
    }
  } catch (err) {
    // The waiter retries every failure of its task, then its onTimeout handler answers CloudFormation.
    host.log(`Provider framework waiter cannot invoke its isComplete function: ${(err as Error).message}`);
    for (let attempt = 0; attempt < waiter.maxAttempts; attempt++) {
      host.advance(waiter.intervalSeconds * Math.pow(waiter.backoffRate, attempt) * 1000);
    }
    throw fail('Operation timed out', physicalId);
  }
  for (let attempt = 0; ; attempt++) {
    let result: Record<string, unknown>;
    try {
      if (frameworkIsCompleteSpec) await authorize(frameworkIsCompleteSpec, 'lambda:InvokeFunction', isComplete.functionArn);
      result = asRecord(await host.invoke(isComplete, event));
    } catch (err) {
      throw fail(err, physicalId);
    }
    if (result.IsComplete === true) return { physicalId, data: { ...onEventData, ...asRecord(result.Data) } };
    if (Object.keys(asRecord(result.Data)).length > 0) throw fail('"Data" is not allowed if "IsComplete" is "False"', physicalId);
    if (attempt >= waiter.maxAttempts) throw fail('Operation timed out', physicalId);
    host.advance(waiter.intervalSeconds * Math.pow(waiter.backoffRate, attempt) * 1000);
  }
}

/** The polling schedule of a Provider framework waiter state machine: its isComplete task's Retry. */
export function waiterSchedule(definition: string | undefined): { intervalSeconds: number; maxAttempts: number; backoffRate: number } {
  // [inferred] without a readable waiter, the framework's defaults: every 5 s for 30 min.
  const fallback = { intervalSeconds: 5, maxAttempts: 360, backoffRate: 1 };
  if (!definition) return fallback;
  try {
    type Retrier = { IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number };
    const parsed = JSON.parse(definition) as { States?: Record<string, { Retry?: Retrier[] }> };
    for (const state of Object.values(parsed.States ?? {})) {
      const retry = state.Retry?.[0];
      if (retry) {
        return { intervalSeconds: retry.IntervalSeconds ?? 1, maxAttempts: retry.MaxAttempts ?? 3, backoffRate: retry.BackoffRate ?? 2 };
      }
    }
  } catch {
    // Not JSON: fall back.
  }
  return fallback;
}

/** The function ARN of the waiter's first Task (the framework's isComplete function). */
function waiterTaskFunction(definition: string | undefined): string | undefined {
  if (!definition) return undefined;
  try {
    const parsed = JSON.parse(definition) as { States?: Record<string, { Type?: string; Resource?: unknown }> };
    const task = Object.values(parsed.States ?? {}).find((st) => st.Type === 'Task' && typeof st.Resource === 'string');
    return task?.Resource as string | undefined;
  } catch {
    return undefined;
  }
}

async function directLambda(host: CustomResourceHost, fn: LambdaFunctionSpec, request: CustomResourceRequest): Promise<CustomResourceResult> {
  const { url, response, cancel } = host.responseUrl();
  let answered: Record<string, unknown>;
  try {
    await host.invoke(fn, { ...request, ResponseURL: url });
    // The handler may answer after it returns (cfn-response style) but not long after.
    let timer: NodeJS.Timeout | undefined;
    answered = await Promise.race([response, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new CustomResourceFailed(`${fn.functionName} returned without sending a response to the ResponseURL`)), 5000);
    })]).finally(() => clearTimeout(timer));
  } catch (err) {
    cancel();
    if (err instanceof CustomResourceFailed) throw err;
    const message = typeof err === 'object' && err !== null ? String((err as { message?: unknown }).message) : String(err);
    throw new CustomResourceFailed(`${fn.functionName} failed: ${message}`, request.PhysicalResourceId);
  }
  const physicalId = typeof answered.PhysicalResourceId === 'string' ? answered.PhysicalResourceId : request.PhysicalResourceId ?? '';
  if (answered.Status !== 'SUCCESS') throw new CustomResourceFailed(String(answered.Reason ?? 'FAILED'), physicalId || undefined);
  if (!physicalId) throw new CustomResourceFailed('The response has no PhysicalResourceId');
  return { physicalId, data: asRecord(answered.Data) };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
