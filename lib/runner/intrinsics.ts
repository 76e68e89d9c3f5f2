/**
 * CloudFormation intrinsic functions, resolved the way CloudFormation does for the templates our constructs synthesize.
 *
 * Anything not handled here fails with an error that names the intrinsic and where it was found, so a template the
 * offline runner cannot honour is refused instead of deployed wrongly.
 */

/** Pseudo-parameter defaults of the offline world. */
export const OFFLINE_ACCOUNT_ID = '123456789012';
export const OFFLINE_REGION = 'us-east-1';
export const OFFLINE_PARTITION = 'aws';

/** Returned by `Ref: AWS::NoValue`; removed from the object or list that holds it. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** A failure to resolve, with the template path it happened at. */
export class IntrinsicError extends Error {
  constructor(message: string, readonly path: string) {
    super(`${message} at ${path}`);
    this.name = 'IntrinsicError';
  }
}

export interface ResolveContext {
  readonly stackName: string;
  /** @default OFFLINE_ACCOUNT_ID */
  readonly accountId?: string;
  /** @default OFFLINE_REGION */
  readonly region?: string;
  /** @default OFFLINE_PARTITION */
  readonly partition?: string;
  /** @default 'amazonaws.com' */
  readonly urlSuffix?: string;
  /** @default `arn:<partition>:cloudformation:<region>:<account>:stack/<stackName>/00000000-0000-0000-0000-000000000000` */
  readonly stackId?: string;
  /** Resolved parameter values by name (see `resolveParameters` in template.ts). */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** The template's `Conditions` section, evaluated on demand. */
  readonly conditions?: Readonly<Record<string, unknown>>;
  /** The template's `Mappings` section. */
  readonly mappings?: Readonly<Record<string, unknown>>;
  /** Names of the template's resources: a Ref or GetAtt to any other name is an error. */
  readonly resourceIds?: ReadonlySet<string>;
  /** Physical id of a resource; undefined when it has none (yet). */
  readonly ref?: (logicalId: string) => string | undefined;
  /** An attribute of a resource; undefined when it has no such attribute. */
  readonly getAtt?: (logicalId: string, attribute: string) => unknown;
  /** The value another stack exports under this name (Fn::ImportValue); throws when there is none. */
  readonly importValue?: (exportName: string) => string;
  /** An output of another stack (Fn::GetStackOutput); throws when there is none. */
  readonly stackOutput?: (stackName: string, outputName: string, region: string | undefined) => string;
  /** @default [`<region>a`, `<region>b`, `<region>c`] */
  readonly availabilityZones?: readonly string[];
}

const CONDITION_FUNCTIONS = new Set(['Fn::And', 'Fn::Or', 'Fn::Not', 'Fn::Equals', 'Fn::Contains']);

/** Resolves template values against one stack's parameters, conditions and resources. */
export class IntrinsicResolver {
  private readonly conditionCache = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();

  constructor(private readonly ctx: ResolveContext) {}

  get accountId(): string { return this.ctx.accountId ?? OFFLINE_ACCOUNT_ID; }
  get region(): string { return this.ctx.region ?? OFFLINE_REGION; }
  get partition(): string { return this.ctx.partition ?? OFFLINE_PARTITION; }

  /** Resolves a value; `NO_VALUE` at the top becomes undefined. */
  resolve(value: unknown, path: string): unknown {
    const resolved = this.walk(value, path);
    return resolved === NO_VALUE ? undefined : resolved;
  }

  /** Evaluates a named condition of the template's `Conditions` section. */
  condition(name: string, path = `Conditions.${name}`): boolean {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const definition = this.ctx.conditions?.[name];
    if (definition === undefined) throw new IntrinsicError(`unknown condition ${JSON.stringify(name)}`, path);
    if (this.evaluating.has(name)) throw new IntrinsicError(`circular condition ${JSON.stringify(name)}`, path);
    this.evaluating.add(name);
    try {
      const result = this.evaluateCondition(definition, `Conditions.${name}`);
      this.conditionCache.set(name, result);
      return result;
    } finally {
      this.evaluating.delete(name);
    }
  }

  /** Evaluates a condition expression (Fn::Equals/Not/And/Or/Contains or `{ Condition: name }`). */
  evaluateCondition(expr: unknown, path: string): boolean {
    if (isPlainObject(expr)) {
      const keys = Object.keys(expr);
      if (keys.length === 1 && keys[0] === 'Condition' && typeof expr.Condition === 'string') {
        return this.condition(expr.Condition, path);
      }
      if (keys.length === 1 && CONDITION_FUNCTIONS.has(keys[0])) {
        return this.conditionFunction(keys[0], expr[keys[0]], `${path}.${keys[0]}`);
      }
    }
    const value = this.resolve(expr, path);
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new IntrinsicError(`expected a condition, got ${JSON.stringify(value)}`, path);
  }

  private conditionFunction(name: string, args: unknown, path: string): boolean {
    switch (name) {
      case 'Fn::Equals': {
        const [a, b] = expectArray(args, 2, 2, name, path);
        return sameValue(this.resolve(a, `${path}[0]`), this.resolve(b, `${path}[1]`));
      }
      case 'Fn::Not': {
        const [c] = expectArray(args, 1, 1, name, path);
        return !this.evaluateCondition(c, `${path}[0]`);
      }
      case 'Fn::And':
        return expectArray(args, 2, 10, name, path).every((c, i) => this.evaluateCondition(c, `${path}[${i}]`));
      case 'Fn::Or':
        return expectArray(args, 2, 10, name, path).some((c, i) => this.evaluateCondition(c, `${path}[${i}]`));
      default: {
        // Fn::Contains is a Rules-only function; CDK's CheckBootstrapVersion rule uses it.
        const [list, item] = expectArray(args, 2, 2, name, path);
        const values = this.resolve(list, `${path}[0]`);
        if (!Array.isArray(values)) throw new IntrinsicError(`${name} needs a list`, `${path}[0]`);
        const wanted = this.resolve(item, `${path}[1]`);
        return values.some((v) => sameValue(v, wanted));
      }
    }
  }

  private walk(value: unknown, path: string): unknown {
    if (Array.isArray(value)) {
      return value.map((v, i) => this.walk(v, `${path}[${i}]`)).filter((v) => v !== NO_VALUE);
    }
    if (!isPlainObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], value[keys[0]], `${path}.${keys[0]}`);
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const resolved = this.walk(value[key], `${path}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, args: unknown, path: string): unknown {
    switch (name) {
      case 'Ref': return this.ref(this.resolveString(args, name, path), path);
      case 'Fn::GetAtt': return this.getAtt(args, path);
      case 'Fn::Join': return this.join(args, path);
      case 'Fn::Sub': return this.sub(args, path);
      case 'Fn::Select': return this.select(args, path);
      case 'Fn::Split': {
        const [delimiter, source] = expectArray(args, 2, 2, name, path);
        const d = this.resolveString(delimiter, name, `${path}[0]`);
        return this.resolveString(source, name, `${path}[1]`).split(d);
      }
      case 'Fn::If': {
        const [cond, whenTrue, whenFalse] = expectArray(args, 3, 3, name, path);
        if (typeof cond !== 'string') throw new IntrinsicError('Fn::If needs a condition name first', `${path}[0]`);
        return this.condition(cond, `${path}[0]`) ? this.walk(whenTrue, `${path}[1]`) : this.walk(whenFalse, `${path}[2]`);
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
        return this.conditionFunction(name, args, path);
      case 'Fn::GetAZs': {
        const region = this.resolve(args, path);
        const r = typeof region === 'string' && region !== '' ? region : this.region;
        return this.ctx.availabilityZones ? [...this.ctx.availabilityZones] : ['a', 'b', 'c'].map((s) => `${r}${s}`);
      }
      case 'Fn::Base64': return Buffer.from(this.resolveString(args, name, path), 'utf8').toString('base64');
      case 'Fn::FindInMap': return this.findInMap(args, path);
      case 'Fn::ImportValue': {
        const exportName = this.resolveString(args, name, path);
        if (!this.ctx.importValue) throw new IntrinsicError('Fn::ImportValue needs the other stacks of the app', path);
        return this.ctx.importValue(exportName);
      }
      case 'Fn::GetStackOutput': {
        if (!isPlainObject(args)) throw new IntrinsicError('Fn::GetStackOutput needs { StackName, OutputName }', path);
        const stackName = this.resolveString(args.StackName, name, `${path}.StackName`);
        const outputName = this.resolveString(args.OutputName, name, `${path}.OutputName`);
        const region = args.Region === undefined ? undefined : this.resolveString(args.Region, name, `${path}.Region`);
        if (!this.ctx.stackOutput) throw new IntrinsicError('Fn::GetStackOutput needs the other stacks of the app', path);
        return this.ctx.stackOutput(stackName, outputName, region);
      }
      default:
        throw new IntrinsicError(`unsupported intrinsic ${name}`, path.slice(0, path.length - name.length - 1));
    }
  }

  private ref(name: string, path: string): unknown {
    switch (name) {
      case 'AWS::AccountId': return this.accountId;
      case 'AWS::Region': return this.region;
      case 'AWS::Partition': return this.partition;
      case 'AWS::URLSuffix': return this.ctx.urlSuffix ?? 'amazonaws.com';
      case 'AWS::StackName': return this.ctx.stackName;
      case 'AWS::StackId': return this.ctx.stackId ?? defaultStackId(this.partition, this.region, this.accountId, this.ctx.stackName);
      case 'AWS::NoValue': return NO_VALUE;
      case 'AWS::NotificationARNs': return [];
      default: break;
    }
    if (this.ctx.parameters && Object.prototype.hasOwnProperty.call(this.ctx.parameters, name)) return this.ctx.parameters[name];
    if (this.ctx.resourceIds && !this.ctx.resourceIds.has(name)) {
      throw new IntrinsicError(`Ref to ${JSON.stringify(name)}, which is neither a parameter nor a resource`, path);
    }
    const physicalId = this.ctx.ref?.(name);
    if (physicalId === undefined) throw new IntrinsicError(`Ref to resource ${JSON.stringify(name)}, which has no physical id yet`, path);
    return physicalId;
  }

  private getAtt(args: unknown, path: string): unknown {
    let logicalId: string;
    let attribute: string;
    if (typeof args === 'string') {
      const dot = args.indexOf('.');
      if (dot <= 0) throw new IntrinsicError(`Fn::GetAtt needs "LogicalId.Attribute", got ${JSON.stringify(args)}`, path);
      logicalId = args.slice(0, dot);
      attribute = args.slice(dot + 1);
    } else {
      const [id, attr] = expectArray(args, 2, 2, 'Fn::GetAtt', path);
      if (typeof id !== 'string') throw new IntrinsicError('Fn::GetAtt needs a logical id', `${path}[0]`);
      logicalId = id;
      attribute = this.resolveString(attr, 'Fn::GetAtt', `${path}[1]`);
    }
    if (this.ctx.resourceIds && !this.ctx.resourceIds.has(logicalId)) {
      throw new IntrinsicError(`Fn::GetAtt to unknown resource ${JSON.stringify(logicalId)}`, path);
    }
    const value = this.ctx.getAtt?.(logicalId, attribute);
    if (value === undefined) throw new IntrinsicError(`resource ${JSON.stringify(logicalId)} has no attribute ${JSON.stringify(attribute)}`, path);
    return value;
  }

  private join(args: unknown, path: string): string {
    const [delimiter, list] = expectArray(args, 2, 2, 'Fn::Join', path);
    const d = this.resolveString(delimiter, 'Fn::Join', `${path}[0]`);
    const items = this.resolve(list, `${path}[1]`);
    if (!Array.isArray(items)) throw new IntrinsicError('Fn::Join needs a list', `${path}[1]`);
    return items.map((item, i) => scalarString(item, 'Fn::Join', `${path}[1][${i}]`)).join(d);
  }

  private sub(args: unknown, path: string): string {
    let template: unknown = args;
    let variables: Record<string, unknown> = {};
    if (Array.isArray(args)) {
      const [t, vars] = expectArray(args, 2, 2, 'Fn::Sub', path);
      if (!isPlainObject(vars)) throw new IntrinsicError('Fn::Sub needs a map of variables', `${path}[1]`);
      template = t;
      variables = vars;
    }
    if (typeof template !== 'string') throw new IntrinsicError('Fn::Sub needs a string', path);
    return template.replace(/\$\{([^}]*)\}/g, (_match, raw: string) => {
      // `${!Literal}` stands for the text `${Literal}`.
      if (raw.startsWith('!')) return `\${${raw.slice(1)}}`;
      const name = raw.trim();
      if (Object.prototype.hasOwnProperty.call(variables, name)) {
        return scalarString(this.resolve(variables[name], `${path}[1].${name}`), 'Fn::Sub', `${path}[1].${name}`);
      }
      const dot = name.indexOf('.');
      const isPseudo = name.startsWith('AWS::');
      const value = dot > 0 && !isPseudo ? this.getAtt(name, path) : this.ref(name, path);
      return scalarString(value, 'Fn::Sub', `${path}(\${${name}})`);
    });
  }

  private select(args: unknown, path: string): unknown {
    const [index, list] = expectArray(args, 2, 2, 'Fn::Select', path);
    const i = Number(this.resolve(index, `${path}[0]`));
    const items = this.resolve(list, `${path}[1]`);
    if (!Array.isArray(items)) throw new IntrinsicError('Fn::Select needs a list', `${path}[1]`);
    if (!Number.isInteger(i) || i < 0 || i >= items.length) {
      throw new IntrinsicError(`Fn::Select index ${JSON.stringify(index)} is out of range for a list of ${items.length}`, path);
    }
    return items[i];
  }

  private findInMap(args: unknown, path: string): unknown {
    const [mapName, topKey, secondKey] = expectArray(args, 3, 3, 'Fn::FindInMap', path);
    const m = this.resolveString(mapName, 'Fn::FindInMap', `${path}[0]`);
    const k1 = this.resolveString(topKey, 'Fn::FindInMap', `${path}[1]`);
    const k2 = this.resolveString(secondKey, 'Fn::FindInMap', `${path}[2]`);
    const map = this.ctx.mappings?.[m];
    const top = isPlainObject(map) ? map[k1] : undefined;
    const value = isPlainObject(top) ? top[k2] : undefined;
    if (value === undefined) throw new IntrinsicError(`Fn::FindInMap found nothing at ${m}.${k1}.${k2}`, path);
    return value;
  }

  private resolveString(value: unknown, fn: string, path: string): string {
    return scalarString(this.resolve(value, path), fn, path);
  }
}

export function defaultStackId(partition: string, region: string, accountId: string, stackName: string): string {
  return `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stackName}/00000000-0000-0000-0000-000000000000`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectArray(args: unknown, min: number, max: number, fn: string, path: string): unknown[] {
  if (!Array.isArray(args) || args.length < min || args.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw new IntrinsicError(`${fn} needs a list of ${want} arguments, got ${JSON.stringify(args)}`, path);
  }
  return args;
}

function scalarString(value: unknown, fn: string, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicError(`${fn} needs a string, got ${JSON.stringify(value)}`, path);
}

// CloudFormation passes every scalar as a string, so 5 and "5" are the same value to a condition.
function sameValue(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}
