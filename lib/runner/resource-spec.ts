/**
 * What CloudFormation says about every resource type, from the AWS CDK's own resource database
 * (`@aws-cdk/aws-service-spec`): the attributes `Fn::GetAtt` may read, the identifier `Ref` returns, the ARN template,
 * the properties whose change replaces the resource, and the Transform a type needs. No list of types is kept here.
 *
 * The database is 15 MB of JSON (about 1.5 s to load): the facts the runner needs are derived once per database
 * version into a small index cached in the temp folder (`bench/runner.ts` measures both), and loaded on first use.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The kind of value an attribute holds. */
export type AttributeKind = 'string' | 'number' | 'boolean' | 'list' | 'object';

/** The facts of one resource type. */
export interface ResourceTypeFacts {
  /** What `Ref` returns: CloudFormation's identifier (or the Cloud Control primary identifier), one or more names. */
  readonly ref: readonly string[];
  /** Attribute names (nested ones as `A.B`) and kinds; a string attribute with allowed values keeps the first. */
  readonly attributes: Readonly<Record<string, { readonly kind: AttributeKind; readonly example?: string }>>;
  /** E.g. `arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`. */
  readonly arnTemplate?: string;
  /** Top-level properties whose change replaces the resource ("Update requires: Replacement"). */
  readonly replacing: readonly string[];
  /** Every top-level property name. */
  readonly properties: readonly string[];
  /** A Transform the type needs (`AWS::Serverless-2016-10-31` for SAM types). */
  readonly transform?: string;
}

export interface SpecIndex {
  readonly version: string;
  readonly types: Record<string, ResourceTypeFacts>;
}

const SPEC_PACKAGE = '@aws-cdk/aws-service-spec';
let index: SpecIndex | undefined;

/** The facts of a resource type, or undefined when CloudFormation does not know the type. */
export function resourceTypeFacts(type: string): ResourceTypeFacts | undefined {
  return loadIndex().types[type];
}

/** The version of the resource database the facts come from. */
export function resourceSpecVersion(): string {
  return loadIndex().version;
}

/** Where the derived index of a database version is cached. */
export function specCacheFile(version: string, dir = os.tmpdir()): string {
  return path.join(dir, `cdk-rekognition-custom-labels-spec-${version}-${SCHEMA}.json`);
}

// Bumped when the shape of the derived index changes.
const SCHEMA = 1;

/**
 * Loads the index: from memory, else from the cache when there is one for the installed database version, else from
 * the database (and writes the cache). For the benchmark: `fresh` derives it from the database, `reload` skips memory.
 */
export function loadIndex(options: { fresh?: boolean; reload?: boolean; cacheDir?: string } = {}): SpecIndex {
  if (index && !options.fresh && !options.reload) return index;
  const version = specPackageVersion();
  const file = specCacheFile(version, options.cacheDir);
  if (!options.fresh) {
    try {
      const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as SpecIndex;
      if (cached.version === version) return (index = cached);
    } catch {
      // No cache yet (or a broken one): derive it.
    }
  }
  const derived = deriveIndex(version);
  try {
    const tmp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(derived));
    fs.renameSync(tmp, file);
  } catch {
    // A read-only temp folder costs the next run the load again, nothing else.
  }
  return (index = derived);
}

function specPackageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`${SPEC_PACKAGE}/package.json`) as { version: string }).version;
}

interface SpecTypeRef { readonly type: string; readonly allowedValues?: readonly string[] }
interface SpecResource {
  readonly cloudFormationType: string;
  readonly primaryIdentifier?: string[];
  readonly cfnRefIdentifier?: string[];
  readonly properties: Record<string, { readonly causesReplacement?: string }>;
  readonly attributes: Record<string, { readonly type: SpecTypeRef }>;
  readonly arnTemplate?: string;
  readonly cloudFormationTransform?: string;
}

function deriveIndex(version: string): SpecIndex {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const spec = require(SPEC_PACKAGE) as { loadAwsServiceSpecSync(): { all(kind: 'resource'): SpecResource[] } };
  const types: Record<string, ResourceTypeFacts> = {};
  for (const r of spec.loadAwsServiceSpecSync().all('resource')) {
    const attributes: Record<string, { kind: AttributeKind; example?: string }> = {};
    for (const [name, a] of Object.entries(r.attributes)) {
      const example = a.type.allowedValues?.[0];
      attributes[name] = { kind: kindOf(a.type.type), ...(example !== undefined ? { example } : {}) };
    }
    types[r.cloudFormationType] = {
      ref: r.cfnRefIdentifier ?? r.primaryIdentifier ?? [],
      attributes,
      ...(r.arnTemplate ? { arnTemplate: r.arnTemplate } : {}),
      replacing: Object.entries(r.properties).filter(([, p]) => p.causesReplacement === 'yes').map(([k]) => k),
      properties: Object.keys(r.properties),
      ...(r.cloudFormationTransform ? { transform: r.cloudFormationTransform } : {}),
    };
  }
  return { version, types };
}

function kindOf(type: string): AttributeKind {
  switch (type) {
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'list';
    case 'json':
    case 'map':
    case 'ref':
      return 'object';
    default:
      return 'string';
  }
}
