/**
 * What a local deploy does for each resource type: S3 buckets become buckets in the local S3, Rekognition projects
 * and datasets are created in the emulator, wait conditions block until signalled, and resources with nothing to
 * emulate (IAM, logs, SSM parameters, topics, rules, functions, state machines) are recorded with their properties and
 * the physical ids and attributes CloudFormation would give them. Custom resources are in custom-resources.ts.
 */
import { randomBytes } from 'node:crypto';

import { DatasetType, Rekognition } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

import { checkErrorNames } from './asl';
import { distributedMapProblems } from './distributed-map';
import { isPlainObject } from './intrinsics';
import { checkLambdaFunction, checkWaitConditionTimeout } from './limits';
import { ResourceRecord } from './local-state';

/** What a provisioner may use. */
export interface ProvisionContext {
  readonly stackName: string;
  readonly logicalId: string;
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly s3: S3Client;
  readonly rekognition: Rekognition;
  /** `http://127.0.0.1:<port>` of the runner's local services. */
  readonly servicesEndpoint: string;
  /** Virtual epoch ms. */
  now(): number;
  advance(ms: number): void;
  /** True when nothing runs that could still signal a wait condition (no execution of the session is running). */
  idle(): boolean;
  /** Signals received so far by the wait-condition handle with this URL. */
  signals(handleUrl: string): readonly WaitSignal[];
  log(line: string): void;
}

/** A signal PUT to a wait-condition handle. */
export interface WaitSignal {
  readonly Status: string;
  readonly UniqueId: string;
  readonly Data: string;
  readonly Reason: string;
}

export interface Provisioned {
  readonly physicalId: string;
  readonly attributes: Record<string, unknown>;
  readonly extra?: Record<string, unknown>;
}

interface Provisioner {
  create(ctx: ProvisionContext, props: Record<string, unknown>): Promise<Provisioned>;
  /** In-place update. @default the create result's physical id is kept and attributes recomputed */
  update?(ctx: ProvisionContext, props: Record<string, unknown>, record: ResourceRecord): Promise<Provisioned>;
  delete?(ctx: ProvisionContext, record: ResourceRecord): Promise<void>;
}

/** Thrown when a resource operation fails, with CloudFormation's kind of reason. */
export class ResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceError';
  }
}

/** A name like CloudFormation generates: `<stack>-<logicalId>-<random>`, cut to `maxLength`. */
export function generatedName(stackName: string, logicalId: string, maxLength: number, lowerCase = false): string {
  const suffix = randomSuffix(12, lowerCase);
  const head = `${stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1);
  const name = `${head}-${suffix}`;
  return lowerCase ? name.toLowerCase().replace(/[^a-z0-9.-]/g, '-') : name;
}

function randomSuffix(length: number, lowerCase: boolean): string {
  const alphabet = lowerCase ? 'abcdefghijklmnopqrstuvwxyz0123456789' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

const str = (props: Record<string, unknown>, key: string): string | undefined => (typeof props[key] === 'string' ? (props[key] as string) : undefined);
const arn = (ctx: ProvisionContext, service: string, resource: string, region = ctx.region, account = ctx.accountId): string =>
  `arn:${ctx.partition}:${service}:${region}:${account}:${resource}`;

/** Recorded only: a physical id and the attributes CloudFormation documents; nothing runs. */
function recorded(make: (ctx: ProvisionContext, props: Record<string, unknown>) => Provisioned): Provisioner {
  return {
    create: async (ctx, props) => make(ctx, props),
    update: async (ctx, props, record) => ({ ...make(ctx, props), physicalId: record.physicalId }),
  };
}

const PROVISIONERS: Record<string, Provisioner> = {
  'AWS::S3::Bucket': {
    create: async (ctx, props) => {
      const name = str(props, 'BucketName') ?? generatedName(ctx.stackName, ctx.logicalId, 63, true);
      try {
        await ctx.s3.send(new CreateBucketCommand({ Bucket: name }));
      } catch (err) {
        const code = errorName(err);
        if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') throw new ResourceError(`${name} already exists`);
        throw err;
      }
      return { physicalId: name, attributes: bucketAttributes(ctx, name) };
    },
    update: async (ctx, _props, record) => ({ physicalId: record.physicalId, attributes: bucketAttributes(ctx, record.physicalId) }),
    delete: async (ctx, record) => {
      const listed = await ctx.s3.send(new ListObjectsV2Command({ Bucket: record.physicalId, MaxKeys: 1 })).catch((err: unknown) => {
        if (errorName(err) === 'NoSuchBucket') return undefined;
        throw err;
      });
      if (!listed) return;
      if ((listed.KeyCount ?? listed.Contents?.length ?? 0) > 0) {
        throw new ResourceError(`The bucket you tried to delete is not empty (Service: S3, Status Code: 409): ${record.physicalId}`);
      }
      await ctx.s3.send(new DeleteBucketCommand({ Bucket: record.physicalId }));
    },
  },
  'AWS::S3::BucketPolicy': recorded(() => ({ physicalId: `bucket-policy-${randomSuffix(12, true)}`, attributes: {} })),
  'AWS::IAM::Role': recorded((ctx, props) => {
    const name = str(props, 'RoleName') ?? generatedName(ctx.stackName, ctx.logicalId, 64);
    return { physicalId: name, attributes: { Arn: arn(ctx, 'iam', `role${str(props, 'Path') ?? '/'}${name}`, '', ctx.accountId),
      RoleId: `AROA${randomSuffix(17, false).toUpperCase()}` } };
  }),
  'AWS::IAM::Policy': recorded((ctx) => ({ physicalId: `${ctx.stackName.slice(0, 20)}-${ctx.logicalId.slice(0, 20)}-${randomSuffix(12, false)}`,
    attributes: {} })),
  'AWS::IAM::ManagedPolicy': recorded((ctx, props) => {
    const policyArn = arn(ctx, 'iam', `policy/${str(props, 'ManagedPolicyName') ?? generatedName(ctx.stackName, ctx.logicalId, 128)}`, '');
    return { physicalId: policyArn, attributes: { PolicyArn: policyArn } };
  }),
  'AWS::Logs::LogGroup': recorded((ctx, props) => {
    const name = str(props, 'LogGroupName') ?? generatedName(ctx.stackName, ctx.logicalId, 512);
    return { physicalId: name, attributes: { Arn: arn(ctx, 'logs', `log-group:${name}:*`) } };
  }),
  'AWS::Lambda::Function': recorded((ctx, props) => {
    checkLambdaFunction(props);
    const name = str(props, 'FunctionName') ?? generatedName(ctx.stackName, ctx.logicalId, 64);
    return { physicalId: name, attributes: { Arn: arn(ctx, 'lambda', `function:${name}`), SnapStartResponse: {} } };
  }),
  'AWS::Lambda::Permission': recorded(() => ({ physicalId: `permission-${randomSuffix(12, false)}`, attributes: {} })),
  'AWS::StepFunctions::StateMachine': recorded((ctx, props) => {
    checkStateMachineErrorNames(props);
    const name = str(props, 'StateMachineName') ?? `${ctx.logicalId.slice(0, 66)}-${randomSuffix(12, false)}`;
    const smArn = arn(ctx, 'states', `stateMachine:${name}`);
    return { physicalId: smArn, attributes: { Arn: smArn, Name: name, StateMachineRevisionId: smArn } };
  }),
  'AWS::SNS::Topic': recorded((ctx, props) => {
    const name = str(props, 'TopicName') ?? generatedName(ctx.stackName, ctx.logicalId, 256);
    const topicArn = arn(ctx, 'sns', name);
    return { physicalId: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
  }),
  'AWS::SNS::Subscription': recorded((ctx, props) => ({ physicalId: `${str(props, 'TopicArn') ?? arn(ctx, 'sns', 'topic')}:${randomSuffix(12, true)}`,
    attributes: {} })),
  'AWS::SNS::TopicPolicy': recorded(() => ({ physicalId: `topic-policy-${randomSuffix(12, false)}`, attributes: {} })),
  'AWS::Events::Rule': recorded((ctx, props) => {
    const name = str(props, 'Name') ?? generatedName(ctx.stackName, ctx.logicalId, 64);
    const bus = str(props, 'EventBusName');
    return { physicalId: name, attributes: { Arn: arn(ctx, 'events', `rule/${bus && bus !== 'default' ? `${bus}/` : ''}${name}`) } };
  }),
  'AWS::Scheduler::Schedule': recorded((ctx, props) => {
    const name = str(props, 'Name') ?? generatedName(ctx.stackName, ctx.logicalId, 64);
    return { physicalId: name, attributes: { Arn: arn(ctx, 'scheduler', `schedule/${str(props, 'GroupName') ?? 'default'}/${name}`) } };
  }),
  'AWS::KMS::Key': recorded((ctx) => {
    const keyId = [8, 4, 4, 4, 12].map((n) => randomBytes(n).toString('hex').slice(0, n)).join('-');
    return { physicalId: keyId, attributes: { Arn: arn(ctx, 'kms', `key/${keyId}`), KeyId: keyId } };
  }),
  'AWS::KMS::Alias': recorded((_ctx, props) => ({ physicalId: str(props, 'AliasName') ?? `alias/${randomSuffix(12, false)}`, attributes: {} })),
  'AWS::CDK::Metadata': recorded(() => ({ physicalId: `cdk-metadata-${randomSuffix(12, false)}`, attributes: {} })),
  'AWS::SSM::Parameter': {
    create: async (ctx, props) => {
      const name = str(props, 'Name') ?? `CFN-${ctx.logicalId}-${randomSuffix(12, false)}`;
      return { physicalId: name, attributes: ssmAttributes(props), extra: { version: 1 } };
    },
    update: async (_ctx, props, record) => {
      // A Value or Type change in the template overwrites what the workflow wrote, as CloudFormation does.
      const version = (typeof record.extra?.version === 'number' ? record.extra.version : 1) + 1;
      return { physicalId: record.physicalId, attributes: ssmAttributes(props), extra: { ...record.extra, version } };
    },
  },
  'AWS::Rekognition::Project': {
    create: async (ctx, props) => {
      const name = str(props, 'ProjectName') ?? generatedName(ctx.stackName, ctx.logicalId, 255);
      const res = await ctx.rekognition.createProject({ ProjectName: name, Tags: tagMap(props.Tags) });
      return { physicalId: name, attributes: { Arn: res.ProjectArn ?? '' } };
    },
    update: async (ctx, props, record) => {
      // Only Tags can change in place.
      const projectArn = String(record.attributes.Arn ?? '');
      const tags = tagMap(props.Tags) ?? {};
      const old = tagMap(record.properties.Tags) ?? {};
      const removed = Object.keys(old).filter((k) => !(k in tags));
      if (removed.length > 0) await ctx.rekognition.untagResource({ ResourceArn: projectArn, TagKeys: removed });
      if (Object.keys(tags).length > 0) await ctx.rekognition.tagResource({ ResourceArn: projectArn, Tags: tags });
      return { physicalId: record.physicalId, attributes: record.attributes };
    },
    delete: async (ctx, record) => {
      const projectArn = String(record.attributes.Arn ?? '');
      try {
        await ctx.rekognition.deleteProject({ ProjectArn: projectArn });
      } catch (err) {
        if (errorName(err) === 'ResourceNotFoundException') return;
        throw new ResourceError(`DeleteProject failed: ${errorName(err)}: ${errorMessage(err)}`);
      }
      // CloudFormation waits until the project is gone; poll on the virtual clock.
      for (let i = 0; i < 120; i++) {
        const res = await ctx.rekognition.describeProjects({ ProjectNames: [record.physicalId] });
        if (!(res.ProjectDescriptions ?? []).some((p) => p.ProjectArn === projectArn)) return;
        ctx.advance(5000);
      }
      throw new ResourceError(`Project ${record.physicalId} was still being deleted after 10 minutes`);
    },
  },
  'AWS::Rekognition::Dataset': {
    create: async (ctx, props) => {
      const res = await ctx.rekognition.createDataset({ ProjectArn: str(props, 'ProjectArn'),
        DatasetType: str(props, 'DatasetType') as DatasetType | undefined, Tags: tagMap(props.Tags) });
      const datasetArn = res.DatasetArn ?? '';
      return { physicalId: datasetArn, attributes: { Arn: datasetArn } };
    },
    delete: async (ctx, record) => {
      try {
        await ctx.rekognition.deleteDataset({ DatasetArn: record.physicalId });
      } catch (err) {
        if (errorName(err) !== 'ResourceNotFoundException') throw new ResourceError(`DeleteDataset failed: ${errorName(err)}: ${errorMessage(err)}`);
      }
    },
  },
  'AWS::CloudFormation::WaitConditionHandle': recorded((ctx) => {
    const url = `${ctx.servicesEndpoint}/wait-condition/${encodeURIComponent(ctx.stackName)}/${ctx.logicalId}/${randomSuffix(16, true)}`;
    return { physicalId: url, attributes: {} };
  }),
  'AWS::CloudFormation::WaitCondition': {
    create: async (ctx, props) => waitForSignals(ctx, props),
  },
};

/** Refuses a definition whose Retry or Catch names an error its Task can never raise (see checkErrorNames). */
function checkStateMachineErrorNames(props: Record<string, unknown>): void {
  let definition: unknown = props.Definition;
  if (typeof props.DefinitionString === 'string') {
    let text = props.DefinitionString;
    if (isPlainObject(props.DefinitionSubstitutions)) {
      for (const [key, value] of Object.entries(props.DefinitionSubstitutions)) text = text.split(`\${${key}}`).join(String(value));
    }
    try {
      definition = JSON.parse(text);
    } catch {
      throw new ResourceError('Invalid State Machine Definition: the definition is not valid JSON');
    }
  }
  if (isPlainObject(definition)) {
    const problems = [...checkErrorNames(definition), ...distributedMapProblems(definition)];
    if (problems.length > 0) throw new ResourceError(`Invalid State Machine Definition:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The resource types the runner knows; others are recorded with a generated id and no attributes (with a note). */
export function isKnownType(type: string): boolean {
  return type in PROVISIONERS;
}

export async function createResource(ctx: ProvisionContext, type: string, props: Record<string, unknown>): Promise<Provisioned> {
  const p = PROVISIONERS[type];
  if (!p) {
    ctx.log(`${ctx.logicalId}: ${type} has no offline behaviour; recorded with a generated physical id`);
    return { physicalId: generatedName(ctx.stackName, ctx.logicalId, 128), attributes: {} };
  }
  return p.create(ctx, props);
}

export async function updateResource(ctx: ProvisionContext, record: ResourceRecord, props: Record<string, unknown>): Promise<Provisioned> {
  const p = PROVISIONERS[record.type];
  if (p?.update) return p.update(ctx, props, record);
  return { physicalId: record.physicalId, attributes: record.attributes, extra: record.extra };
}

export async function deleteResource(ctx: ProvisionContext, record: ResourceRecord): Promise<void> {
  await PROVISIONERS[record.type]?.delete?.(ctx, record);
}

function bucketAttributes(ctx: ProvisionContext, name: string): Record<string, unknown> {
  return {
    Arn: `arn:${ctx.partition}:s3:::${name}`,
    DomainName: `${name}.s3.amazonaws.com`,
    RegionalDomainName: `${name}.s3.${ctx.region}.amazonaws.com`,
    DualStackDomainName: `${name}.s3.dualstack.${ctx.region}.amazonaws.com`,
    WebsiteURL: `http://${name}.s3-website-${ctx.region}.amazonaws.com`,
  };
}

function ssmAttributes(props: Record<string, unknown>): Record<string, unknown> {
  return { Type: str(props, 'Type') ?? 'String', Value: props.Value === undefined ? '' : String(props.Value) };
}

/** CloudFormation's `[{Key, Value}]` tags as the Rekognition API's map (lower-case keys accepted too). */
function tagMap(tags: unknown): Record<string, string> | undefined {
  if (!Array.isArray(tags) || tags.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const t of tags) {
    if (!isPlainObject(t)) continue;
    const key = t.Key ?? t.key;
    const value = t.Value ?? t.value;
    if (typeof key === 'string') out[key] = String(value ?? '');
  }
  return out;
}

/**
 * Blocks until the handle has `Count` SUCCESS signals (Data: `{"<UniqueId>": "<Data>"}`), fails on a FAILURE signal
 * with its reason, and times out once `Timeout` seconds pass on the virtual clock. When nothing is left running that
 * could signal, the remaining time passes at once (waiting longer cannot change the outcome).
 */
async function waitForSignals(ctx: ProvisionContext, props: Record<string, unknown>): Promise<Provisioned> {
  const handle = str(props, 'Handle');
  if (!handle) throw new ResourceError('WaitCondition needs a Handle');
  const count = Number(props.Count ?? 1);
  const timeoutSeconds = checkWaitConditionTimeout(props.Timeout);
  const deadline = ctx.now() + timeoutSeconds * 1000;
  const name = `${ctx.stackName}-${ctx.logicalId}-${randomSuffix(12, false)}`;
  for (;;) {
    const signals = ctx.signals(handle);
    const failure = signals.find((s) => s.Status === 'FAILURE');
    if (failure) throw new ResourceError(`WaitCondition received failed message: '${failure.Reason}' for uniqueId: ${failure.UniqueId}`);
    const successes = signals.filter((s) => s.Status === 'SUCCESS');
    if (successes.length >= count) {
      const data = Object.fromEntries(successes.map((s) => [s.UniqueId, s.Data]));
      return { physicalId: name, attributes: { Data: JSON.stringify(data) } };
    }
    if (ctx.now() >= deadline) {
      throw new ResourceError(`WaitCondition timed out. Received ${successes.length} conditions when expecting ${count}`);
    }
    if (ctx.idle() && ctx.signals(handle).length === signals.length) ctx.advance(Math.max(0, deadline - ctx.now()));
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function errorName(err: unknown): string {
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : 'Error';
}

export function errorMessage(err: unknown): string {
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(err);
}
