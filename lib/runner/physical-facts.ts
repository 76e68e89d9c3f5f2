/**
 * The physical id and attributes CloudFormation gives a resource, built from its type's facts in the resource database
 * (resource-spec.ts): a generated name when the template gives none, the ARN from the type's template, and every
 * attribute the type declares. Types the runner emulates start from these and replace what their service answers.
 *
 * [inferred] The database does not say how each service forms names, ids and URLs, so the rules are general:
 * - a generated name is `<stack>-<logicalId>-<12 random characters>`, at most 64 characters (the strictest common
 *   limit: IAM roles, Lambda functions), as CloudFormation forms most generated names;
 * - a generated id is a UUID; a `...Url` attribute is `https://<service>.<region>.amazonaws.com/<account>/<name>`
 *   (SQS's form); an attribute with nothing better to go on holds `<name>` (strings), 0, false, [] or {}.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { isPlainObject } from './intrinsics';
import { AttributeKind, ResourceTypeFacts } from './resource-spec';

export interface PhysicalContext {
  readonly stackName: string;
  readonly logicalId: string;
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  /** Epoch ms (the virtual clock), for date attributes. @default Date.now */
  now?(): number;
}

export interface PhysicalFacts {
  /** What `Ref` returns (CloudFormation's physical id). */
  readonly physicalId: string;
  /** The name the resource has (given in the template or generated). */
  readonly name: string;
  readonly arn: string;
  readonly attributes: Record<string, unknown>;
}

/** Longest generated name ([inferred], see above). */
export const GENERATED_NAME_MAX = 64;

/** A name like CloudFormation generates: `<stack>-<logicalId>-<random>`, cut to `maxLength`. */
export function generatedName(stackName: string, logicalId: string, maxLength = GENERATED_NAME_MAX, lowerCase = false): string {
  const suffix = randomSuffix(12, lowerCase);
  const head = `${stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1);
  const name = `${head}-${suffix}`;
  return lowerCase ? name.toLowerCase().replace(/[^a-z0-9.-]/g, '-') : name;
}

export function randomSuffix(length: number, lowerCase: boolean): string {
  const alphabet = lowerCase ? 'abcdefghijklmnopqrstuvwxyz0123456789' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** `AWS::SQS::Queue` -> { service: 'sqs', short: 'Queue' } */
function typeParts(type: string): { service: string; short: string } {
  const [, service = '', short = ''] = type.split('::');
  return { service: service.toLowerCase(), short };
}

/** The property that names the resource: the Ref identifier, a property of the ARN template, or `Name`/`<Type>Name`. */
export function nameProperty(type: string, facts: ResourceTypeFacts): string | undefined {
  const { short } = typeParts(type);
  const isProp = (p: string): boolean => facts.properties.includes(p);
  if (facts.ref.length === 1 && isProp(facts.ref[0]) && !/Id$|Identifier$/.test(facts.ref[0])) return facts.ref[0];
  for (const m of (facts.arnTemplate ?? '').matchAll(/\$\{([^}]+)\}/g)) if (isProp(m[1]) && m[1].endsWith('Name')) return m[1];
  return [`${short}Name`, 'Name'].find(isProp);
}

/**
 * The physical id, name, ARN and attributes of a resource of `type` with these (resolved) properties. `known` pins
 * values an emulated service chose (its own name or id); they win over generated ones.
 */
export function physicalFacts(ctx: PhysicalContext, type: string, facts: ResourceTypeFacts, props: Record<string, unknown>,
  known: { name?: string } = {}): PhysicalFacts {
  const { service, short } = typeParts(type);
  const str = (key: string): string | undefined => (typeof props[key] === 'string' && props[key] !== '' ? (props[key] as string) : undefined);
  const nameProp = nameProperty(type, facts);
  const name = known.name ?? (nameProp ? str(nameProp) : undefined) ?? generatedName(ctx.stackName, ctx.logicalId);
  const id = randomUUID();
  const isOwnArn = (attr: string): boolean => attr === 'Arn' || attr === `${short}Arn`
    || (attr.endsWith('Arn') && facts.ref.includes(attr));
  const isName = (v: string): boolean => v === nameProp || v === 'Name' || v === `${short}Name`;
  const isId = (v: string): boolean => v === 'Id' || v === `${short}Id` || (facts.ref.includes(v) && /Id$|Identifier$/.test(v));

  const variable = (v: string): string => {
    if (v === 'Partition') return ctx.partition;
    if (v === 'Region') return ctx.region;
    if (v === 'Account') return ctx.accountId;
    const given = str(v);
    if (given !== undefined) return given;
    if (v.endsWith('WithPath')) return `${(str('Path') ?? '/').replace(/^\//, '')}${variable(v.slice(0, -'WithPath'.length))}`;
    if (v.endsWith('WithoutLeadingSlash')) return variable(v.slice(0, -'WithoutLeadingSlash'.length)).replace(/^\//, '');
    if (isName(v) || v.endsWith('Name')) return name;
    if (isId(v) || /Id$|Identifier$/.test(v)) return id;
    return name;
  };
  const arn = facts.arnTemplate
    ? facts.arnTemplate.replace(/\$\{([^}]+)\}/g, (_m, v: string) => variable(v))
    : `arn:${ctx.partition}:${service}:${ctx.region}:${ctx.accountId}:${short.toLowerCase()}/${name}`;

  const attributes: Record<string, unknown> = {};
  for (const [attr, { kind, example }] of Object.entries(facts.attributes)) {
    attributes[attr] = attributeValue(attr, kind, example);
  }
  function attributeValue(attr: string, kind: AttributeKind, example: string | undefined): unknown {
    if (facts.properties.includes(attr) && props[attr] !== undefined) return props[attr];
    if (isOwnArn(attr)) return arn;
    if (isName(attr)) return name;
    if (isId(attr)) return id;
    if (/Ur[lL]$/.test(attr)) return `https://${service}.${ctx.region}.amazonaws.com/${ctx.accountId}/${name}`;
    if (/Id$|Identifier$/.test(attr) && kind === 'string') return id;
    if (/(Date|Time|Timestamp)$/.test(attr) && kind === 'string') return new Date(ctx.now?.() ?? Date.now()).toISOString();
    if (attr.endsWith('Arn') && kind === 'string') return `${arn}/${attr.slice(0, -3).replace(/^./, (c) => c.toLowerCase())}`;
    switch (kind) {
      case 'number': return 0;
      case 'boolean': return false;
      case 'list': return [];
      case 'object': return {};
      default: return example ?? name;
    }
  }

  const parts = facts.ref.map((r) => str(r) ?? (typeof attributes[r] === 'string' ? (attributes[r] as string) : undefined)
    ?? (isName(r) ? name : isId(r) ? id : undefined)).filter((p): p is string => p !== undefined);
  const physicalId = parts.length > 0 ? parts.join('|') : name;
  return { physicalId, name, arn, attributes };
}

/** An attribute value as `Fn::GetAtt` hands it on (objects as JSON text, as CloudFormation passes them). */
export function attributeForIntrinsic(value: unknown): unknown {
  return isPlainObject(value) ? JSON.stringify(value) : value;
}
