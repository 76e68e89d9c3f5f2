/**
 * What a local deploy does for each resource type. Every type starts from what CloudFormation's resource database says
 * it is (physical-facts.ts: the physical id `Ref` returns, the ARN, every attribute). The types the offline world
 * emulates then do their part: S3 buckets become buckets in the local S3, Rekognition projects and datasets are created
 * in the emulator, SSM parameters are served, functions and state machines run when called, wait conditions block until
 * signalled, nested stacks are deployed, and IAM roles and policies, bucket policies and KMS keys decide every request
 * (lib/iam), schedules fire (scheduler.ts), rules route events (event-bus.ts). Every other type is recorded only.
 * Custom resources are in custom-resources.ts.
 */

import { DatasetType, Rekognition } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateBucketCommand, DeleteBucketCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

import { checkTimeZone } from '../shared/schedule-expression';
import { checkErrorNames } from './asl';
import { distributedMapProblems } from './distributed-map';
import { parseEventPattern } from './event-pattern';
import { isPlainObject } from './intrinsics';
import { checkLambdaFunction, checkWaitConditionTimeout } from './limits';
import { ResourceRecord } from './local-state';
import { generatedName, PhysicalFacts, physicalFacts, randomSuffix } from './physical-facts';
import { resourceTypeFacts } from './resource-spec';
import { scheduleSpec } from './scheduler';

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
  /** Deploys nested stacks. @default - AWS::CloudFormation::Stack fails */
  readonly nestedStacks?: NestedStackHost;
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
  /** True when nothing offline stands behind the resource (a type the runner does not emulate). */
  readonly recordedOnly?: boolean;
}

interface Provisioner {
  /** What the type does offline, in a few words. */
  readonly does: string;
  /** The name the service gives when the template gives none. @default - the generated name of physical-facts.ts */
  name?(ctx: ProvisionContext, props: Record<string, unknown>): string;
  /** Creates it; `facts` is what the resource database says (physical id, name, ARN, attributes). */
  create(ctx: ProvisionContext, props: Record<string, unknown>, facts: PhysicalFacts): Promise<Provisioned>;
  /** In-place update. @default the physical id is kept; attributes that mirror a property take its new value */
  update?(ctx: ProvisionContext, props: Record<string, unknown>, record: ResourceRecord): Promise<Provisioned>;
  delete?(ctx: ProvisionContext, record: ResourceRecord): Promise<void>;
}

/** The runner's side of nested stacks (AWS::CloudFormation::Stack). */
export interface NestedStackHost {
  create(props: Record<string, unknown>, facts: PhysicalFacts): Promise<Provisioned>;
  update(props: Record<string, unknown>, record: ResourceRecord): Promise<Provisioned>;
  delete(record: ResourceRecord): Promise<void>;
}

/** Thrown when a resource operation fails, with CloudFormation's kind of reason. */
export class ResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceError';
  }
}

const str = (props: Record<string, unknown>, key: string): string | undefined => (typeof props[key] === 'string' ? (props[key] as string) : undefined);

/** What the database says, with the name and attributes an emulated service chose on top. */
const asIs = (facts: PhysicalFacts): Provisioned => ({ physicalId: facts.physicalId, attributes: facts.attributes });

/** The emulated types and what each does offline (the README's table lists the same). */
const PROVISIONERS: Record<string, Provisioner> = {
  'AWS::S3::Bucket': {
    does: 'a bucket in the local S3; deleting a bucket that holds objects fails as in AWS',
    name: (ctx, props) => str(props, 'BucketName') ?? generatedName(ctx.stackName, ctx.logicalId, 63, true),
    create: async (ctx, _props, facts) => {
      const name = facts.physicalId;
      try {
        await ctx.s3.send(new CreateBucketCommand({ Bucket: name }));
      } catch (err) {
        const code = errorName(err);
        if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') throw new ResourceError(`${name} already exists`);
        throw err;
      }
      return { physicalId: name, attributes: { ...facts.attributes, ...bucketAttributes(ctx, name) } };
    },
    update: async (ctx, _props, record) => ({ physicalId: record.physicalId,
      attributes: { ...record.attributes, ...bucketAttributes(ctx, record.physicalId) } }),
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
  'AWS::S3::BucketPolicy': {
    does: 'decides every request to its bucket (IAM enforcement)',
    create: async (ctx, props, facts) => {
      // PutBucketPolicy on a bucket that does not exist fails (a bucket imported by name must exist before the deploy).
      const bucket = str(props, 'Bucket');
      if (bucket !== undefined) {
        await ctx.s3.send(new HeadBucketCommand({ Bucket: bucket })).catch((err: unknown) => {
          if (errorName(err) === 'NotFound' || errorName(err) === 'NoSuchBucket') {
            throw new ResourceError(`The specified bucket does not exist (Service: S3, Status Code: 404): ${bucket}`);
          }
          throw err;
        });
      }
      return asIs(facts);
    },
  },
  'AWS::IAM::Role': { does: 'the identity its functions and state machines call with; its inline policies decide', create: async (_c, _p, facts) => asIs(facts) },
  'AWS::IAM::Policy': { does: 'decides the requests of the roles it is attached to', create: async (_ctx, _props, facts) => asIs(facts) },
  'AWS::IAM::ManagedPolicy': { does: 'decides the requests of the roles it is attached to', create: async (_ctx, _props, facts) => asIs(facts) },
  'AWS::KMS::Key': { does: 'its key policy decides the use of the key (no bytes are encrypted)', create: async (_ctx, _props, facts) => asIs(facts) },
  'AWS::Lambda::Permission': { does: 'decides which EventBridge rule may invoke its function (its resource policy)',
    create: async (_ctx, _props, facts) => asIs(facts) },
  'AWS::Lambda::Function': {
    does: 'runs in-process when invoked (Node.js runtimes), as its role, with its environment',
    create: async (_ctx, props, facts) => {
      checkLambdaFunction(props);
      return asIs(facts);
    },
  },
  'AWS::StepFunctions::StateMachine': {
    does: 'runs on aws-local-stepfunctions when started, its tasks as its role',
    create: async (_ctx, props, facts) => {
      checkStateMachineErrorNames(props);
      return asIs(facts);
    },
  },
  'AWS::SSM::Parameter': {
    does: 'served by the runner\'s SSM endpoint (GetParameter, PutParameter)',
    // CloudFormation names a parameter without a Name `CFN-<logicalId>-<random>`.
    name: (ctx, props) => str(props, 'Name') ?? `CFN-${ctx.logicalId}-${randomSuffix(12, false)}`,
    create: async (_ctx, props, facts) => ({ physicalId: facts.physicalId, attributes: { ...facts.attributes, ...ssmAttributes(props) },
      extra: { version: 1 } }),
    update: async (_ctx, props, record) => {
      // A Value or Type change in the template overwrites what the workflow wrote, as CloudFormation does.
      const version = (typeof record.extra?.version === 'number' ? record.extra.version : 1) + 1;
      return { physicalId: record.physicalId, attributes: { ...record.attributes, ...ssmAttributes(props) }, extra: { ...record.extra, version } };
    },
  },
  'AWS::Rekognition::Project': {
    does: 'a project in the emulator (tags updated in place, deleted with the stack)',
    create: async (ctx, props, facts) => {
      const name = str(props, 'ProjectName') ?? facts.name;
      const res = await ctx.rekognition.createProject({ ProjectName: name, Tags: tagMap(props.Tags) });
      return { physicalId: name, attributes: { ...facts.attributes, Arn: res.ProjectArn ?? '' } };
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
    does: 'an empty dataset in the emulator',
    create: async (ctx, props, facts) => {
      const res = await ctx.rekognition.createDataset({ ProjectArn: str(props, 'ProjectArn'),
        DatasetType: str(props, 'DatasetType') as DatasetType | undefined, Tags: tagMap(props.Tags) });
      const datasetArn = res.DatasetArn ?? '';
      return { physicalId: datasetArn, attributes: { ...facts.attributes, DatasetArn: datasetArn } };
    },
    delete: async (ctx, record) => {
      try {
        await ctx.rekognition.deleteDataset({ DatasetArn: record.physicalId });
      } catch (err) {
        if (errorName(err) !== 'ResourceNotFoundException') throw new ResourceError(`DeleteDataset failed: ${errorName(err)}: ${errorMessage(err)}`);
      }
    },
  },
  'AWS::CloudFormation::WaitConditionHandle': {
    does: 'a URL on the runner\'s local services that takes signals',
    create: async (ctx, _props, facts) => {
      const url = `${ctx.servicesEndpoint}/wait-condition/${encodeURIComponent(ctx.stackName)}/${ctx.logicalId}/${randomSuffix(16, true)}`;
      return { physicalId: url, attributes: facts.attributes };
    },
  },
  'AWS::CloudFormation::WaitCondition': {
    does: 'blocks the stack until its handle has Count signals, or fails on a failure signal or its Timeout (virtual time)',
    create: async (ctx, props, facts) => waitForSignals(ctx, props, facts),
  },
  'AWS::CloudFormation::Stack': {
    does: 'a nested stack, deployed, updated and deleted with its parent from its template in the local S3',
    create: async (ctx, props, facts) => nestedStacks(ctx).create(props, facts),
    update: async (ctx, props, record) => nestedStacks(ctx).update(props, record),
    delete: async (ctx, record) => nestedStacks(ctx).delete(record),
  },
  'AWS::Scheduler::Schedule': {
    does: 'fires on the virtual clock (rate, cron and at expressions in its time zone), invoking its Lambda or Step Functions target as its role',
    create: async (ctx, props, facts) => ({ ...asIs(facts), extra: { anchor: checkSchedule(ctx, props, facts.physicalId) } }),
    // A changed schedule starts over from the update (a rate counts from it).
    update: async (ctx, props, record) => ({ physicalId: record.physicalId, attributes: record.attributes,
      extra: { ...record.extra, anchor: checkSchedule(ctx, props, record.physicalId), deletedAfterCompletion: undefined } }),
  },
  'AWS::Events::Rule': {
    does: 'routes events of the default bus (S3 Object Created, PutEvents) that match its pattern to its Lambda and Step Functions targets',
    create: async (_ctx, props, facts) => {
      checkRule(props);
      return asIs(facts);
    },
    update: async (_ctx, props, record) => {
      checkRule(props);
      return { physicalId: record.physicalId, attributes: record.attributes };
    },
  },
  'AWS::CDK::Metadata': {
    does: 'the CDK\'s version report, which CloudFormation keeps for the CDK: nothing to do',
    create: async (ctx) => ({ physicalId: `${ctx.stackName}-${ctx.logicalId}-${randomSuffix(12, false)}`, attributes: {} }),
  },
};

/** Refuses what Scheduler's CreateSchedule would (ValidationException); returns the virtual time it takes effect. */
function checkSchedule(ctx: ProvisionContext, props: Record<string, unknown>, name: string): number {
  const spec = scheduleSpec(name, props);
  checkTimeZone(spec.timeZone);
  return ctx.now();
}

/** Refuses what PutRule would (InvalidEventPatternException). */
function checkRule(props: Record<string, unknown>): void {
  if (props.EventPattern !== undefined) parseEventPattern(props.EventPattern);
}

function nestedStacks(ctx: ProvisionContext): NestedStackHost {
  if (!ctx.nestedStacks) throw new ResourceError('nested stacks need the runner');
  return ctx.nestedStacks;
}

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

/** Whether the offline world does something for this type (see PROVISIONERS); the others are recorded only. */
export function isEmulatedType(type: string): boolean {
  return type in PROVISIONERS;
}

/** The emulated types and what each does offline. */
export function emulatedTypes(): Record<string, string> {
  return Object.fromEntries(Object.entries(PROVISIONERS).map(([type, p]) => [type, p.does]));
}

export async function createResource(ctx: ProvisionContext, type: string, props: Record<string, unknown>): Promise<Provisioned> {
  const p = PROVISIONERS[type];
  const facts = resourceTypeFacts(type);
  if (!facts) {
    if (p) return p.create(ctx, props, { physicalId: '', name: '', arn: '', attributes: {} });
    // Refused before the deploy (preflight.ts); here only when a caller skipped it.
    throw new ResourceError(`Template format error: Unrecognized resource types: [${type}]`);
  }
  const given = p?.name?.(ctx, props);
  const physical = physicalFacts({ ...ctx, now: ctx.now }, type, facts, props, given !== undefined ? { name: given } : {});
  if (!p) {
    ctx.log(`${ctx.logicalId}: ${type} has no offline behaviour; recorded with the physical id and attributes CloudFormation would give it`);
    return { ...asIs(physical), recordedOnly: true };
  }
  return p.create(ctx, props, physical);
}

export async function updateResource(ctx: ProvisionContext, record: ResourceRecord, props: Record<string, unknown>): Promise<Provisioned> {
  const p = PROVISIONERS[record.type];
  if (p?.update) return p.update(ctx, props, record);
  // Attributes that mirror a property follow it; the rest stay.
  const mirrored = Object.fromEntries(Object.keys(record.attributes).filter((a) => props[a] !== undefined).map((a) => [a, props[a]]));
  return { physicalId: record.physicalId, attributes: { ...record.attributes, ...mirrored }, extra: record.extra, recordedOnly: !p };
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
async function waitForSignals(ctx: ProvisionContext, props: Record<string, unknown>, facts: PhysicalFacts): Promise<Provisioned> {
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
      return { physicalId: name, attributes: { ...facts.attributes, Data: JSON.stringify(data) } };
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
