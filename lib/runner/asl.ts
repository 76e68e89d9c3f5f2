/**
 * Static checks and routing for an Amazon States Language definition before aws-local-stepfunctions runs it.
 *
 * The interpreter keys its overrides by state name and sends any Task without one to real AWS Lambda, silently
 * ignores JSONata and JSONPath variables, and drops falsy Pass results; each of those is refused here, by name.
 */
import { isDistributedMap } from './distributed-map';
import { serviceDisplayName } from './sfn-errors';

export type TaskRoute =
  /** `arn:aws:states:::aws-sdk:<service>:<action>` */
  | { readonly kind: 'sdk'; readonly service: string; readonly action: string }
  /** `arn:aws:states:::lambda:invoke` (style 'invoke') or a bare function ARN (style 'arn'). */
  | { readonly kind: 'lambda'; readonly style: 'invoke' | 'arn'; readonly functionArn?: string }
  /** An integration that is only recorded (SNS, EventBridge, ...). */
  | { readonly kind: 'record'; readonly service: string; readonly action: string };

export interface TaskInfo {
  readonly stateName: string;
  readonly resource: string;
  /** Where the state sits in the definition, e.g. `States.Train.ItemProcessor.States.Describe`. */
  readonly path: string;
}

export interface DefinitionInfo {
  /** Every state, nested ones included, by name. */
  readonly states: ReadonlyMap<string, Record<string, unknown>>;
  readonly tasks: readonly TaskInfo[];
  readonly waitStates: readonly string[];
  /** States with a Retry field. */
  readonly retryStates: readonly string[];
}

/** Integrations recorded rather than called unless the caller says otherwise (`service:action`, action may be `*`). */
export const DEFAULT_RECORDED_INTEGRATIONS: readonly string[] = ['sns:publish', 'events:putEvents', 'eventbridge:putEvents'];

/** Refusals for things aws-local-stepfunctions would get silently wrong. */
export class UnsupportedDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedDefinitionError';
  }
}

type AslState = Record<string, unknown>;

/**
 * A copy of a definition with states replaced: `replace` gives a state's stand-in, or undefined to keep it, in which
 * case the states of an inline Map's ItemProcessor/Iterator and of a Parallel's Branches are visited too.
 */
export function replaceStates(definition: unknown, replace: (name: string, state: AslState) => AslState | undefined): unknown {
  const rewrite = (machine: unknown): unknown => {
    if (!isObject(machine) || !isObject(machine.States)) return machine;
    const states: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries(machine.States)) {
      const replaced = isObject(raw) ? replace(name, raw) : undefined;
      if (replaced) {
        states[name] = replaced;
      } else if (isObject(raw) && raw.Type === 'Map') {
        const key = raw.ItemProcessor ? 'ItemProcessor' : 'Iterator';
        states[name] = { ...raw, [key]: rewrite(raw[key]) };
      } else if (isObject(raw) && raw.Type === 'Parallel' && Array.isArray(raw.Branches)) {
        states[name] = { ...raw, Branches: raw.Branches.map(rewrite) };
      } else {
        states[name] = raw;
      }
    }
    return { ...machine, States: states };
  };
  return rewrite(definition);
}

/** Walks a definition (Map ItemProcessor/Iterator and Parallel Branches included), refusing what cannot run offline. */
export function analyzeDefinition(definition: Record<string, unknown>): DefinitionInfo {
  const states = new Map<string, Record<string, unknown>>();
  const tasks: TaskInfo[] = [];
  const waitStates: string[] = [];
  const retryStates: string[] = [];
  const visit = (machine: unknown, path: string): void => {
    if (!isObject(machine) || !isObject(machine.States)) throw new UnsupportedDefinitionError(`${path || 'definition'} has no States`);
    refuseJsonata(machine, path || 'the definition');
    for (const [name, raw] of Object.entries(machine.States)) {
      const statePath = `${path ? `${path}.` : ''}States.${name}`;
      if (!isObject(raw)) throw new UnsupportedDefinitionError(`${statePath} is not an object`);
      if (states.has(name)) {
        throw new UnsupportedDefinitionError(`state name ${JSON.stringify(name)} is used twice (${statePath}); state names must be unique`);
      }
      states.set(name, raw);
      refuseJsonata(raw, statePath);
      refuseAssign(raw, statePath);
      if (raw.Retry !== undefined) retryStates.push(name);
      switch (raw.Type) {
        case 'Task':
          if (typeof raw.Resource !== 'string') throw new UnsupportedDefinitionError(`${statePath}.Resource must be a string`);
          tasks.push({ stateName: name, resource: raw.Resource, path: statePath });
          break;
        case 'Wait':
          waitStates.push(name);
          break;
        case 'Pass':
          if ('Result' in raw && (raw.Result === 0 || raw.Result === false || raw.Result === '' || raw.Result === null)) {
            throw new UnsupportedDefinitionError(
              `${statePath}.Result is ${JSON.stringify(raw.Result)}: aws-local-stepfunctions ignores a falsy Pass Result; use Parameters`);
          }
          break;
        case 'Map':
          // A distributed Map's children are executions of their own (distributed-map.ts analyses them when they run).
          if (isDistributedMap(raw)) break;
          visit(raw.ItemProcessor ?? raw.Iterator, `${statePath}.${raw.ItemProcessor ? 'ItemProcessor' : 'Iterator'}`);
          break;
        case 'Parallel':
          if (!Array.isArray(raw.Branches)) throw new UnsupportedDefinitionError(`${statePath}.Branches must be a list`);
          raw.Branches.forEach((b, i) => visit(b, `${statePath}.Branches[${i}]`));
          break;
        default:
          break;
      }
    }
  };
  visit(definition, '');
  return { states, tasks, waitStates, retryStates };
}

function refuseJsonata(node: Record<string, unknown>, path: string): void {
  if (node.QueryLanguage === 'JSONata') {
    throw new UnsupportedDefinitionError(
      `${path} uses QueryLanguage JSONata, which aws-local-stepfunctions ignores silently: the offline runner needs JSONPath`);
  }
}

function refuseAssign(state: Record<string, unknown>, path: string): void {
  const holders: [unknown, string][] = [[state, path]];
  for (const key of ['Choices', 'Catch']) {
    if (Array.isArray(state[key])) (state[key] as unknown[]).forEach((item, i) => holders.push([item, `${path}.${key}[${i}]`]));
  }
  for (const [holder, at] of holders) {
    if (isObject(holder) && holder.Assign !== undefined) {
      throw new UnsupportedDefinitionError(`${at}.Assign: JSONPath variables are not supported by aws-local-stepfunctions`);
    }
  }
}

/**
 * How a Task's Resource is served offline, or undefined when nothing can serve it (it would go to real AWS).
 * Throws for integration patterns that cannot work offline (`.sync`, `.waitForTaskToken`).
 */
export function routeResource(resource: string, recordedIntegrations: readonly string[] = DEFAULT_RECORDED_INTEGRATIONS): TaskRoute | undefined {
  const lambdaArn = /^arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/.exec(resource);
  if (lambdaArn) return { kind: 'lambda', style: 'arn', functionArn: resource };
  const integration = /^arn:[^:]+:states:::(.+)$/.exec(resource);
  if (!integration) return undefined;
  const spec = integration[1];
  const suffix = /\.(sync(:2)?|waitForTaskToken)$/.exec(spec);
  if (suffix) throw new UnsupportedDefinitionError(`${resource}: the .${suffix[1]} integration pattern is not supported offline`);
  const parts = spec.split(':');
  const recorded = (service: string, action: string): boolean => recordedIntegrations.some((entry) => {
    const [s, a] = entry.split(':');
    return s === service && (a === '*' || a === action);
  });
  if (parts[0] === 'aws-sdk' && parts.length === 3) {
    const [, service, action] = parts;
    return recorded(service, action) ? { kind: 'record', service, action } : { kind: 'sdk', service, action };
  }
  if (parts.length !== 2) return undefined;
  const [service, action] = parts;
  if (service === 'lambda' && action === 'invoke') return { kind: 'lambda', style: 'invoke' };
  return recorded(service, action) ? { kind: 'record', service, action } : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a simple JSONPath (`$`, `$.a.b`, `$['a b']`, `$.list[0]`, `$$.Execution.Input.x`): enough for Wait states'
 * SecondsPath/TimestampPath and InputPath. Filters, wildcards and slices throw.
 */
export function readPath(jsonPath: string, input: unknown, context: unknown = {}): unknown {
  let rest: string;
  let value: unknown;
  if (jsonPath.startsWith('$$')) {
    value = context;
    rest = jsonPath.slice(2);
  } else if (jsonPath.startsWith('$')) {
    value = input;
    rest = jsonPath.slice(1);
  } else {
    throw new UnsupportedDefinitionError(`${JSON.stringify(jsonPath)} is not a JSONPath`);
  }
  const step = /^(?:\.([A-Za-z_$][\w$-]*)|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\])/;
  const steps: (string | number)[] = [];
  while (rest.length > 0) {
    const m = step.exec(rest);
    if (!m) throw new UnsupportedDefinitionError(`JSONPath ${JSON.stringify(jsonPath)} is beyond what the offline runner reads for Wait states`);
    rest = rest.slice(m[0].length);
    steps.push(m[4] !== undefined ? Number(m[4]) : m[1] ?? m[2] ?? m[3]);
  }
  for (const s of steps) {
    if (typeof s === 'number') value = Array.isArray(value) ? value[s] : undefined;
    else value = isObject(value) ? value[s] : undefined;
  }
  return value;
}

/** The error names Step Functions itself raises (Amazon States Language, "Error names"). */
export const STATES_ERRORS = new Set([
  'States.ALL', 'States.BranchFailed', 'States.DataLimitExceeded', 'States.ExceedToleratedFailureThreshold', 'States.HeartbeatTimeout',
  'States.Http.Socket', 'States.IntrinsicFailure', 'States.ItemReaderFailed', 'States.NoChoiceMatched', 'States.ParameterPathFailure',
  'States.Permissions', 'States.QueryEvaluationError', 'States.ResultPathMatchFailure', 'States.ResultWriterFailed', 'States.Runtime',
  'States.TaskFailed', 'States.Timeout',
]);

/**
 * Retry and Catch entries naming an error their Task can never raise: AWS accepts them and they never match, so a
 * retry silently never happens. AWS SDK integrations raise `<Service>.<Name>Exception` for the service's error shapes
 * (the AWS SDK package's exception classes, when it is installed here), plus `<Service>.SdkClientException`; Lambda
 * tasks raise the function's own error names; every task may raise the `States.*` errors.
 */
export function checkErrorNames(definition: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const visit = (machine: unknown, path: string): void => {
    if (!isObject(machine) || !isObject(machine.States)) return;
    for (const [name, state] of Object.entries(machine.States)) {
      if (!isObject(state)) continue;
      const statePath = `${path}States.${name}`;
      if (state.Type === 'Map') visit(state.ItemProcessor ?? state.Iterator, `${statePath}.ItemProcessor.`);
      if (state.Type === 'Parallel' && Array.isArray(state.Branches)) state.Branches.forEach((b, i) => visit(b, `${statePath}.Branches[${i}].`));
      const route = state.Type === 'Task' && typeof state.Resource === 'string' ? safeRoute(state.Resource) : undefined;
      for (const field of ['Retry', 'Catch'] as const) {
        const entries = Array.isArray(state[field]) ? state[field] : [];
        entries.forEach((entry, i) => {
          const names = isObject(entry) && Array.isArray(entry.ErrorEquals) ? entry.ErrorEquals : [];
          for (const error of names) {
            const why = typeof error === 'string' ? unknownErrorReason(error, route) : 'is not a string';
            if (why) problems.push(`${statePath}.${field}[${i}] names ${JSON.stringify(error)}, which ${why}`);
          }
        });
      }
    }
  };
  visit(definition, '');
  return problems;
}

function safeRoute(resource: string): TaskRoute | undefined {
  try {
    return routeResource(resource, []);
  } catch {
    return undefined;
  }
}

/** Why a Task with this route never raises `error`, or undefined when it may. */
function unknownErrorReason(error: string, route: TaskRoute | undefined): string | undefined {
  if (error.startsWith('States.')) return STATES_ERRORS.has(error) ? undefined : 'is not an error Step Functions raises';
  if (!route || route.kind === 'lambda') return undefined;
  const prefix = `${serviceDisplayName(route.service)}.`;
  const expected = `errors of ${route.kind === 'sdk' ? `aws-sdk:${route.service}` : route.service} tasks are named "${prefix}<Name>Exception"`;
  if (!error.startsWith(prefix)) return `Step Functions never raises for this task (${expected})`;
  const rest = error.slice(prefix.length);
  if (!rest.endsWith('Exception')) return `Step Functions never raises: ${expected}`;
  if (route.kind !== 'sdk' || rest === 'SdkClientException') return undefined;
  const shapes = sdkErrorShapes(route.service);
  if (!shapes) return undefined;
  const shape = shapes.has(rest) ? rest : rest.replace(/Exception$/, '');
  return shapes.has(shape) ? undefined : `is not an error of ${route.service}'s API (its AWS SDK knows no ${rest})`;
}

const SHAPES = new Map<string, Set<string> | undefined>();

/** The exception class names of an AWS SDK v3 client package, when it is installed here. */
function sdkErrorShapes(service: string): Set<string> | undefined {
  if (!SHAPES.has(service)) {
    let shapes: Set<string> | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const client = require(`@aws-sdk/client-${service.toLowerCase()}`) as Record<string, unknown>;
      shapes = new Set(Object.entries(client).filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error)
        .map(([k]) => k));
    } catch {
      shapes = undefined;
    }
    SHAPES.set(service, shapes);
  }
  return SHAPES.get(service);
}
