/**
 * A CloudFormation template as the offline runner walks it: dependencies, create/delete order, parameters, rules,
 * and the difference between the template deployed last and the one being deployed.
 */
import { IntrinsicResolver, isPlainObject, ResolveContext } from './intrinsics';
import { resourceTypeFacts } from './resource-spec';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: Record<string, unknown>;
  readonly CreationPolicy?: unknown;
  readonly UpdatePolicy?: unknown;
}

export interface CfnParameter {
  readonly Type: string;
  readonly Default?: unknown;
  readonly AllowedValues?: unknown[];
  readonly AllowedPattern?: string;
  readonly Description?: string;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, CfnParameter>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, unknown>;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Condition?: string; readonly Export?: { readonly Name?: unknown } }>;
  readonly Rules?: Record<string, { readonly RuleCondition?: unknown; readonly Assertions: { Assert: unknown; AssertDescription?: string }[] }>;
  readonly Transform?: unknown;
}

/** The version any `/cdk-bootstrap/<qualifier>/version` SSM parameter reads offline ([inferred]: CDK only needs >= 6). */
export const OFFLINE_BOOTSTRAP_VERSION = '30';

export interface ParameterOptions {
  /** Values given at deploy time, by parameter name; they win over defaults. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** SSM parameter values for `AWS::SSM::Parameter::Value<...>` parameters, by SSM name. */
  readonly ssmParameters?: Readonly<Record<string, string>>;
}

/** Resolves parameter values: override, else default; SSM-typed ones are looked up; lists are split. */
export function resolveParameters(template: CfnTemplate, options: ParameterOptions = {}): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, param] of Object.entries(template.Parameters ?? {})) {
    const given = options.overrides?.[name] ?? param.Default;
    if (given === undefined) {
      problems.push(`parameter ${name} has no value and no default`);
      continue;
    }
    let value = String(given);
    if (param.AllowedValues && !param.AllowedValues.map(String).includes(value)) {
      problems.push(`parameter ${name} must be one of ${JSON.stringify(param.AllowedValues)}, got: ${JSON.stringify(value)}`);
    }
    if (param.AllowedPattern && !new RegExp(`^(?:${param.AllowedPattern})$`).test(value)) {
      problems.push(`parameter ${name} must match /${param.AllowedPattern}/, got: ${JSON.stringify(value)}`);
    }
    if (param.Type.startsWith('AWS::SSM::Parameter::Value<')) {
      const looked = options.ssmParameters?.[value] ?? (/^\/cdk-bootstrap\/[^/]+\/version$/.test(value) ? OFFLINE_BOOTSTRAP_VERSION : undefined);
      if (looked === undefined) {
        problems.push(`parameter ${name} reads SSM parameter ${value}, which has no offline value`);
        continue;
      }
      value = looked;
    }
    values[name] = param.Type === 'CommaDelimitedList' || param.Type.includes('List<') ? value.split(',').map((s) => s.trim()) : value;
  }
  for (const name of Object.keys(options.overrides ?? {})) {
    if (!template.Parameters?.[name]) problems.push(`parameter ${name} is given but the template does not declare it`);
  }
  if (problems.length > 0) throw new Error(`Invalid parameters: ${problems.join('; ')}`);
  return values;
}

/** Checks the template's Rules (CDK's CheckBootstrapVersion among them); throws with every failed assertion's description. */
export function checkRules(template: CfnTemplate, resolver: IntrinsicResolver): void {
  const failed: string[] = [];
  for (const [name, rule] of Object.entries(template.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && !resolver.evaluateCondition(rule.RuleCondition, `Rules.${name}.RuleCondition`)) continue;
    rule.Assertions.forEach((assertion, i) => {
      if (!resolver.evaluateCondition(assertion.Assert, `Rules.${name}.Assertions[${i}].Assert`)) {
        failed.push(`${name}: ${assertion.AssertDescription ?? 'assertion failed'}`);
      }
    });
  }
  if (failed.length > 0) throw new Error(`Template rules failed: ${failed.join('; ')}`);
}

/** Logical ids a value refers to through Ref, Fn::GetAtt (both forms) and Fn::Sub (both forms). */
export function referencedNames(value: unknown): Set<string> {
  const names = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!isPlainObject(v)) return;
    for (const [key, arg] of Object.entries(v)) {
      if (key === 'Ref' && typeof arg === 'string') names.add(arg);
      else if (key === 'Fn::GetAtt' && typeof arg === 'string') names.add(arg.split('.')[0]);
      else if (key === 'Fn::GetAtt' && Array.isArray(arg) && typeof arg[0] === 'string') names.add(arg[0]);
      else if (key === 'Fn::Sub') {
        const [text, vars] = Array.isArray(arg) ? [arg[0], arg[1]] : [arg, undefined];
        const own = isPlainObject(vars) ? new Set(Object.keys(vars)) : new Set<string>();
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
            const name = m[1].trim();
            if (!own.has(name)) names.add(name.startsWith('AWS::') ? name : name.split('.')[0]);
          }
        }
        if (vars !== undefined) visit(vars);
        continue;
      }
      visit(arg);
    }
  };
  visit(value);
  return names;
}

const isPolicy = (type: string): boolean => type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy';

/** A template's resources and the order CloudFormation would create and delete them in. */
export class TemplateModel {
  readonly logicalIds: readonly string[];
  private readonly deps = new Map<string, ReadonlySet<string>>();

  constructor(readonly template: CfnTemplate) {
    this.logicalIds = Object.keys(template.Resources ?? {});
    const ids = new Set(this.logicalIds);
    for (const id of this.logicalIds) {
      const resource = this.resource(id);
      const explicit = resource.DependsOn === undefined ? [] : ([] as string[]).concat(resource.DependsOn);
      for (const d of explicit) {
        if (!ids.has(d)) throw new Error(`Resources.${id}.DependsOn names ${JSON.stringify(d)}, which is not a resource`);
      }
      const implicit = [...referencedNames(resource.Properties ?? {})].filter((n) => ids.has(n));
      this.deps.set(id, new Set([...explicit, ...implicit].filter((d) => d !== id)));
    }
  }

  resource(logicalId: string): CfnResource {
    const r = this.template.Resources?.[logicalId];
    if (!r) throw new Error(`No resource ${JSON.stringify(logicalId)} in the template`);
    return r;
  }

  /** Resources this one needs first: DependsOn plus every Ref/GetAtt/Sub to another resource. */
  dependencies(logicalId: string): ReadonlySet<string> {
    this.resource(logicalId);
    return this.deps.get(logicalId) ?? new Set();
  }

  /** Resources that need this one. */
  dependents(logicalId: string): string[] {
    return this.logicalIds.filter((id) => this.deps.get(id)?.has(logicalId));
  }

  /**
   * Every resource after all it depends on, as the runner creates them one at a time where CloudFormation creates
   * independent resources in parallel. Ties keep template order, except:
   * - IAM policies come as late as their dependents allow: a resource that does not depend on the policy granting its
   *   permissions may run before that policy exists in AWS, so deploying policies last makes such a missing dependency
   *   fail offline every time;
   * - wait conditions come after everything that does not need them, so that everything else already runs (two models
   *   of a stack train at once, as they do in AWS, instead of one after the other behind the first one's wait); only the
   *   policies nothing depends on come later still.
   * Throws on a cycle, naming it.
   */
  createOrder(): string[] {
    return this.order((id) => this.deps.get(id) ?? new Set(), (id, waitedFor) => {
      const type = this.resource(id).Type;
      if (isPolicy(type)) return waitedFor ? 1 : 3;
      return type === 'AWS::CloudFormation::WaitCondition' ? 2 : 0;
    });
  }

  /** Dependents before what they depend on; IAM policies go as early as they can (the strict mirror of createOrder). */
  deleteOrder(): string[] {
    const dependents = new Map<string, Set<string>>(this.logicalIds.map((id) => [id, new Set<string>()]));
    for (const id of this.logicalIds) for (const d of this.deps.get(id) ?? []) dependents.get(d)?.add(id);
    return this.order((id) => dependents.get(id) ?? new Set(), (id) => (isPolicy(this.resource(id).Type) ? 0 : 1));
  }

  /**
   * A topological order over `before(id)` (what must come first): among ready resources the lowest rank goes first.
   * `rank` learns whether anything still waits for the resource.
   */
  private order(before: (id: string) => ReadonlySet<string>, rank: (id: string, waitedFor: boolean) => number): string[] {
    const remaining = new Map(this.logicalIds.map((id) => [id, new Set(before(id))]));
    const order: string[] = [];
    while (remaining.size > 0) {
      const ready = [...remaining.keys()].filter((id) => remaining.get(id)!.size === 0);
      if (ready.length === 0) throw new Error(`Circular dependency between resources: ${this.cycle([...remaining.keys()], before).join(' -> ')}`);
      const ranked = ready.map((id) => ({ id, rank: rank(id, [...remaining.values()].some((w) => w.has(id))) }));
      const next = ranked.reduce((best, r) => (r.rank < best.rank ? r : best)).id;
      order.push(next);
      remaining.delete(next);
      for (const waiting of remaining.values()) waiting.delete(next);
    }
    return order;
  }

  private cycle(ids: string[], before: (id: string) => ReadonlySet<string>): string[] {
    const trail: string[] = [];
    let id = ids[0];
    while (!trail.includes(id)) {
      trail.push(id);
      id = [...before(id)].find((d) => ids.includes(d)) ?? id;
    }
    return [...trail.slice(trail.indexOf(id)), id];
  }

  /** A resolver for this template with its parameters, conditions and mappings filled in. */
  resolver(ctx: Omit<ResolveContext, 'conditions' | 'mappings' | 'resourceIds'>): IntrinsicResolver {
    return new IntrinsicResolver({
      ...ctx,
      conditions: this.template.Conditions ?? {},
      mappings: this.template.Mappings ?? {},
      resourceIds: new Set(this.logicalIds),
    });
  }

  /** Whether a resource exists under the current conditions. */
  isActive(logicalId: string, resolver: IntrinsicResolver): boolean {
    const condition = this.resource(logicalId).Condition;
    return condition === undefined || resolver.condition(condition, `Resources.${logicalId}.Condition`);
  }
}

/** A resource as deployed or about to be: its type and (resolved) properties. */
export interface ResourceSnapshot {
  readonly type: string;
  readonly properties: Record<string, unknown>;
}

/**
 * What an update does to the physical resource: `none` (updated in place), `replace` (a new one is created and the old
 * one deleted), `runtime` (a custom resource: replaced only if its handler returns a new physical id), `unknown` (a
 * type the runner has no rule for; treat as an in-place update).
 */
export type Replacement = 'none' | 'replace' | 'runtime' | 'unknown';

export type ChangeKind = 'add' | 'remove' | 'update' | 'unchanged';

export interface ResourceChange {
  readonly logicalId: string;
  readonly change: ChangeKind;
  readonly type: string;
  readonly oldType?: string;
  readonly oldProperties?: Record<string, unknown>;
  readonly newProperties?: Record<string, unknown>;
  /** Top-level property names whose values differ. */
  readonly changedProperties: readonly string[];
  readonly replacement: Replacement;
}

export interface TemplateDiff {
  readonly changes: readonly ResourceChange[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
}

/**
 * How an update of these top-level properties affects a resource of this type: the resource database marks the
 * properties whose change replaces the resource ("Update requires: Replacement").
 */
export function replacementFor(type: string, changedProperties: readonly string[]): Replacement {
  if (changedProperties.length === 0) return 'none';
  if (type === 'AWS::CloudFormation::CustomResource' || type.startsWith('Custom::')) return 'runtime';
  const facts = resourceTypeFacts(type);
  if (!facts) return 'unknown';
  return changedProperties.some((p) => facts.replacing.includes(p)) ? 'replace' : 'none';
}

/** Top-level property names whose values differ (deep JSON comparison). */
export function changedProperties(oldProps: Record<string, unknown>, newProps: Record<string, unknown>): string[] {
  const names = new Set([...Object.keys(oldProps), ...Object.keys(newProps)]);
  return [...names].filter((n) => !deepEqual(oldProps[n], newProps[n])).sort();
}

/**
 * Compares two sets of resources. Give resolved properties (the deployed ones from state, the new ones resolved against
 * the current physical ids) to get CloudFormation's view; raw template properties give a syntactic diff.
 * A type change is a replacement.
 */
export function diffResources(oldResources: Record<string, ResourceSnapshot>, newResources: Record<string, ResourceSnapshot>): TemplateDiff {
  const changes: ResourceChange[] = [];
  for (const [id, next] of Object.entries(newResources)) {
    const prev = oldResources[id];
    if (!prev) {
      changes.push({ logicalId: id, change: 'add', type: next.type, newProperties: next.properties, changedProperties: [], replacement: 'none' });
      continue;
    }
    const changed = changedProperties(prev.properties, next.properties);
    const typeChanged = prev.type !== next.type;
    changes.push({
      logicalId: id,
      change: changed.length > 0 || typeChanged ? 'update' : 'unchanged',
      type: next.type,
      oldType: prev.type,
      oldProperties: prev.properties,
      newProperties: next.properties,
      changedProperties: changed,
      replacement: typeChanged ? 'replace' : replacementFor(next.type, changed),
    });
  }
  for (const [id, prev] of Object.entries(oldResources)) {
    if (!newResources[id]) {
      changes.push({ logicalId: id, change: 'remove', type: prev.type, oldProperties: prev.properties, changedProperties: [], replacement: 'none' });
    }
  }
  const ids = (kind: ChangeKind): string[] => changes.filter((c) => c.change === kind).map((c) => c.logicalId);
  return { changes, added: ids('add'), removed: ids('remove'), updated: ids('update'), unchanged: ids('unchanged') };
}

/** A syntactic diff of two templates' raw resources (no resolution, conditions ignored). */
export function diffTemplates(oldTemplate: CfnTemplate | undefined, newTemplate: CfnTemplate): TemplateDiff {
  const snapshots = (t: CfnTemplate | undefined): Record<string, ResourceSnapshot> =>
    Object.fromEntries(Object.entries(t?.Resources ?? {}).map(([id, r]) => [id, { type: r.Type, properties: r.Properties ?? {} }]));
  return diffResources(snapshots(oldTemplate), snapshots(newTemplate));
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
