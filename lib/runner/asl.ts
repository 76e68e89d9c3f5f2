/**
 * Static checks and routing for an Amazon States Language definition before aws-local-stepfunctions runs it.
 *
 * The interpreter keys its overrides by state name and sends any Task without one to real AWS Lambda, silently
 * ignores JSONata and JSONPath variables, and drops falsy Pass results; each of those is refused here, by name.
 */

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
          for (const field of ['ItemReader', 'ResultWriter', 'ItemBatcher']) {
            if (raw[field] !== undefined) throw new UnsupportedDefinitionError(`${statePath}.${field}: a distributed Map cannot run offline`);
          }
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
