/**
 * The offline runner's side of IAM: the deployed stacks are the directory the access checks read (roles, their
 * inline, attached and managed policies, bucket policies, key policies, bucket encryption), and each function and state
 * machine signs its requests with an access key of its own role.
 */
import { PolicyDocument } from '../iam/engine';
import { awsManagedPolicy, isAwsManagedPolicyArn } from '../iam/managed-policies';
import { AccessControl, AccessDirectory, Caller, RolePolicies } from '../iam/world';
import { isPlainObject } from './intrinsics';
import { ResourceRecord } from './local-state';
import { ssmRequests } from './sdk-tasks';

export interface DeployedResource {
  readonly logicalId: string;
  readonly record: ResourceRecord;
}

/** Credentials of a role session, as SDK clients and Lambda environments take them. */
export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** Reads policies from what is deployed now; `resources` is called at each check. */
export class DeployedDirectory implements AccessDirectory {
  constructor(private readonly resources: () => readonly DeployedResource[], private readonly region: string, private readonly accountId: string,
    private readonly partition: string) {}

  rolePolicies(roleArn: string): RolePolicies {
    const all = this.resources();
    const role = all.find(({ record }) => record.type === 'AWS::IAM::Role' && record.attributes.Arn === roleArn);
    if (!role) return { policies: [], unknownManagedPolicies: [] };
    const roleName = role.record.physicalId;
    const policies: PolicyDocument[] = [];
    const unknownManagedPolicies: string[] = [];
    const props = role.record.properties;
    for (const inline of Array.isArray(props.Policies) ? props.Policies : []) {
      if (isPlainObject(inline)) policies.push({ name: String(inline.PolicyName ?? 'inline'), policy: inline.PolicyDocument });
    }
    for (const arn of Array.isArray(props.ManagedPolicyArns) ? props.ManagedPolicyArns.map(String) : []) {
      const customer = all.find(({ record }) => record.type === 'AWS::IAM::ManagedPolicy' && record.physicalId === arn);
      if (customer) {
        policies.push({ name: arn, policy: customer.record.properties.PolicyDocument });
      } else if (isAwsManagedPolicyArn(arn)) {
        const known = awsManagedPolicy(arn);
        if (known) policies.push({ name: arn, policy: known });
        else unknownManagedPolicies.push(arn);
      }
    }
    for (const { logicalId, record } of all) {
      if (record.type !== 'AWS::IAM::Policy' && record.type !== 'AWS::IAM::ManagedPolicy') continue;
      const roles = Array.isArray(record.properties.Roles) ? record.properties.Roles.map(String) : [];
      if (!roles.includes(roleName)) continue;
      policies.push({ name: String(record.properties.PolicyName ?? record.properties.ManagedPolicyName ?? logicalId),
        policy: record.properties.PolicyDocument });
    }
    return { policies: policies.filter((p) => isPlainObject(p.policy)), unknownManagedPolicies };
  }

  resourcePolicy(resourceArn: string): unknown {
    for (const { record } of this.resources()) {
      if (record.type === 'AWS::S3::BucketPolicy' && `arn:${this.partition}:s3:::${String(record.properties.Bucket)}` === resourceArn) {
        return record.properties.PolicyDocument;
      }
      if (record.type === 'AWS::KMS::Key' && record.attributes.Arn === resourceArn) return record.properties.KeyPolicy;
    }
    return undefined;
  }

  bucketKey(bucket: string): string | undefined {
    const found = this.resources().find(({ record }) => record.type === 'AWS::S3::Bucket' && record.physicalId === bucket);
    const config = found && isPlainObject(found.record.properties.BucketEncryption)
      ? found.record.properties.BucketEncryption.ServerSideEncryptionConfiguration : undefined;
    for (const rule of Array.isArray(config) ? config : []) {
      const sse = isPlainObject(rule) && isPlainObject(rule.ServerSideEncryptionByDefault) ? rule.ServerSideEncryptionByDefault : undefined;
      const key = sse && typeof sse.KMSMasterKeyID === 'string' ? sse.KMSMasterKeyID : undefined;
      // Without a key id S3 uses the AWS managed key aws/s3, whose policy lets every principal of the account use it through S3.
      if (sse?.SSEAlgorithm === 'aws:kms' && key) return this.keyArn(key);
    }
    return undefined;
  }

  private keyArn(key: string): string {
    if (key.startsWith('arn:')) return key;
    return `arn:${this.partition}:kms:${this.region}:${this.accountId}:${key.startsWith('alias/') ? key : `key/${key}`}`;
  }
}

/** Keys and callers for deployed functions and state machines; undefined everywhere when IAM is not enforced. */
export class RunnerIdentities {
  constructor(private readonly access: AccessControl | undefined) {}

  get enforced(): boolean {
    return this.access !== undefined;
  }

  /** The credentials a resource running as `roleArn` signs with (session: a function's name). */
  credentials(roleArn: string | undefined, sessionName: string): SessionCredentials | undefined {
    if (!this.access || !roleArn) return undefined;
    return { accessKeyId: this.access.keyFor({ roleArn, sessionName }), secretAccessKey: 'offline', sessionToken: 'offline' };
  }

  /** The caller a check evaluates for a resource running as `roleArn`. */
  caller(roleArn: string | undefined, sessionName: string): Caller | undefined {
    const credentials = this.credentials(roleArn, sessionName);
    return credentials && this.access?.callerForKey(credentials.accessKeyId);
  }

  async check(caller: Caller | undefined, action: string, resource: string): Promise<void> {
    if (this.access && caller) await this.access.check(caller, { action, resource });
  }
}

/** The IAM requests of a call to the runner's own JSON endpoints (Step Functions, SSM, EventBridge). */
export function localServiceRequests(targetPrefix: string, operation: string, input: Record<string, unknown>,
  where: { partition: string; region: string; accountId: string }): { action: string; resource: string }[] {
  const str = (key: string): string => (typeof input[key] === 'string' ? (input[key] as string) : '*');
  if (targetPrefix === 'AWSStepFunctions.') {
    const resource = operation === 'StartExecution' || operation === 'ListExecutions' || operation === 'StartSyncExecution'
      ? str('stateMachineArn') : str('executionArn');
    return [{ action: `states:${operation}`, resource }];
  }
  if (targetPrefix === 'AmazonSSM.') return ssmRequests(operation, input);
  if (targetPrefix === 'AWSEvents.') {
    const entries = Array.isArray(input.Entries) ? input.Entries.filter(isPlainObject) : [];
    const buses = new Set(entries.map((e) => String(e.EventBusName ?? 'default')));
    return [...buses].map((bus) => ({ action: `events:${operation}`,
      resource: bus.startsWith('arn:') ? bus : `arn:${where.partition}:events:${where.region}:${where.accountId}:event-bus/${bus}` }));
  }
  return [{ action: `${targetPrefix.replace(/\.$/, '').toLowerCase()}:${operation}`, resource: '*' }];
}
