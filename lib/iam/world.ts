/**
 * Who may do what in the offline world. Every deployed role gets its own access key; a service that receives a request
 * signed with such a key asks this object whether the role may do it, and a denial carries AWS's message. A key nobody
 * registered (a user's own SDK code against `custom-labels emulator`) is not checked, unless a policy was given for
 * such callers (`custom-labels emulator --iam-policy`).
 */
import { createHash } from 'node:crypto';

import { EngineDecision, evaluate, PolicyDocument, requirePolicyEngine } from './engine';

/** A role session: who signs the requests of one function, state machine or framework component. */
export interface RoleSession {
  /** `arn:<partition>:iam::<account>:role/<path><name>` */
  readonly roleArn: string;
  /** Lambda uses the function name; others are ours. */
  readonly sessionName: string;
}

/** What a role may do now: its policies, and what the offline world could not read. */
export interface RolePolicies {
  readonly policies: readonly PolicyDocument[];
  /** AWS managed policies attached to the role that the offline world does not know (their permissions are missing). */
  readonly unknownManagedPolicies: readonly string[];
}

/**
 * Where the policies come from at each check: the offline runner reads them from its deployed stacks, so a permission
 * exists exactly while the resource that grants it is deployed.
 */
export interface AccessDirectory {
  /** The identity policies of a role. */
  rolePolicies(roleArn: string): RolePolicies;
  /** The resource-based policy of a bucket (`arn:aws:s3:::name`) or a KMS key (its ARN), if any. */
  resourcePolicy(resourceArn: string): unknown;
  /** The customer managed KMS key a bucket encrypts new objects with by default, if any. */
  bucketKey(bucket: string): string | undefined;
}

/** A directory held in maps, filled by hand (tests, `custom-labels emulator --iam-policy`). */
export class MapDirectory implements AccessDirectory {
  readonly roles = new Map<string, RolePolicies>();
  readonly resources = new Map<string, unknown>();
  readonly bucketKeys = new Map<string, string>();

  rolePolicies(roleArn: string): RolePolicies {
    return this.roles.get(roleArn) ?? { policies: [], unknownManagedPolicies: [] };
  }

  resourcePolicy(resourceArn: string): unknown {
    return this.resources.get(resourceArn);
  }

  bucketKey(bucket: string): string | undefined {
    return this.bucketKeys.get(bucket);
  }
}

/** A resolved caller, as AWS writes it in messages: `arn:aws:sts::<account>:assumed-role/<name>/<session>`. */
export interface Caller {
  readonly arn: string;
  readonly roleArn: string;
  readonly accountId: string;
  /** @internal The policies to evaluate (for a registered role: read when asked, so they follow the deploy). */
  readonly policies: () => RolePolicies;
}

/** A denial: `code` is the error name the service answers with, `message` AWS's text. */
export class AccessDenied extends Error {
  constructor(readonly action: string, readonly resource: string, message: string) {
    super(message);
    this.name = 'AccessDenied';
  }
}

export interface AccessControlOptions {
  /** The account of every resource (one account offline). */
  readonly accountId: string;
  readonly region: string;
  readonly partition?: string;
  /**
   * The identity policy of callers whose key no role owns. @default - such callers are not checked
   */
  readonly unknownCallerPolicy?: unknown;
}

/** What a check needs besides the caller: the action, the resource ARN (or `*`) and request context keys. */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  /** Extra context keys (aws:SecureTransport, aws:PrincipalArn... are filled in). */
  readonly context?: Readonly<Record<string, string | string[]>>;
}

/** One decision, kept for reports and tests. */
export interface AccessRecord {
  readonly caller: string;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
}

const UNKNOWN_CALLER_ROLE = 'offline-user';

export class AccessControl {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  private readonly sessions = new Map<string, RoleSession>();
  private directory: AccessDirectory = new MapDirectory();
  private readonly decisions: AccessRecord[] = [];
  private readonly unknownCallerPolicy?: unknown;

  constructor(options: AccessControlOptions) {
    this.accountId = options.accountId;
    this.region = options.region;
    this.partition = options.partition ?? 'aws';
    this.unknownCallerPolicy = options.unknownCallerPolicy;
    if (options.unknownCallerPolicy !== undefined) requirePolicyEngine();
  }

  /**
   * The access key of a role session: `ASIA` and 16 characters derived from the role and session, so a restarted
   * runner gives a function the same key. Registers the session.
   */
  keyFor(session: RoleSession): string {
    requirePolicyEngine();
    const key = `ASIA${base32(createHash('sha256').update(`${session.roleArn}\u0000${session.sessionName}`).digest()).slice(0, 16)}`;
    this.sessions.set(key, session);
    return key;
  }

  /** Where policies are read from at each check (the runner: its deployed stacks). */
  useDirectory(directory: AccessDirectory): void {
    this.directory = directory;
  }

  /** The customer key a bucket encrypts with: its objects' reads need kms:Decrypt, writes kms:GenerateDataKey. */
  bucketKey(bucket: string): string | undefined {
    return this.directory.bucketKey(bucket);
  }

  /** Forgets every role session and the directory (a runner closing). */
  reset(): void {
    this.sessions.clear();
    this.directory = new MapDirectory();
  }

  /** The caller an access key stands for, or undefined when nothing restricts it. */
  callerForKey(accessKeyId: string | undefined): Caller | undefined {
    const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
    if (session) {
      const roleName = session.roleArn.split('/').pop() ?? session.roleArn;
      const account = session.roleArn.split(':')[4] || this.accountId;
      return {
        arn: `arn:${this.partition}:sts::${account}:assumed-role/${roleName}/${session.sessionName}`,
        roleArn: session.roleArn,
        accountId: account,
        policies: () => this.directory.rolePolicies(session.roleArn),
      };
    }
    if (this.unknownCallerPolicy === undefined) return undefined;
    const roleArn = `arn:${this.partition}:iam::${this.accountId}:role/${UNKNOWN_CALLER_ROLE}`;
    const policy = this.unknownCallerPolicy;
    return {
      arn: `arn:${this.partition}:sts::${this.accountId}:assumed-role/${UNKNOWN_CALLER_ROLE}/${accessKeyId ?? 'anonymous'}`,
      roleArn,
      accountId: this.accountId,
      policies: () => ({ policies: [{ name: 'iam-policy', policy }], unknownManagedPolicies: [] }),
    };
  }

  /** The caller of an HTTP request (its SigV4 access key), or undefined when nothing restricts it. */
  callerOf(headers: Readonly<Record<string, string | string[] | undefined>>, url?: string): Caller | undefined {
    return this.callerForKey(accessKeyOf(headers, url));
  }

  /** Resolves when `caller` may make the request; throws AccessDenied with AWS's message when not. */
  async check(caller: Caller | undefined, request: AccessRequest): Promise<void> {
    const denial = await this.decide(caller, request);
    if (denial) throw denial;
  }

  /** The denial of a request, or undefined when it is allowed (or the caller is not restricted). */
  async decide(caller: Caller | undefined, request: AccessRequest): Promise<AccessDenied | undefined> {
    if (!caller) return undefined;
    const { policies, unknownManagedPolicies } = caller.policies();
    const decision: EngineDecision = await evaluate({
      principal: caller.arn,
      action: request.action,
      resource: request.resource,
      resourceAccount: this.accountId,
      context: {
        'aws:SecureTransport': 'true',
        'aws:PrincipalArn': caller.roleArn,
        'aws:PrincipalAccount': caller.accountId,
        'aws:RequestedRegion': this.region,
        ...request.context,
      },
      identityPolicies: policies,
      resourcePolicy: this.resourcePolicyFor(request.resource),
    });
    this.decisions.push({ caller: caller.arn, action: request.action, resource: request.resource, allowed: decision.allowed });
    if (decision.allowed) return undefined;
    let message = deniedMessage(caller.arn, request.action, request.resource, decision);
    if (unknownManagedPolicies.length > 0) {
      message += ` (offline, the AWS managed ${unknownManagedPolicies.length === 1 ? 'policy' : 'policies'} `
        + `${unknownManagedPolicies.join(', ')} attached to ${caller.roleArn} grant nothing: the offline world does not know their content)`;
    }
    return new AccessDenied(request.action, request.resource, message);
  }

  /** Every decision so far (oldest first). */
  history(): readonly AccessRecord[] {
    return this.decisions;
  }

  private resourcePolicyFor(resource: string): unknown {
    const s3 = /^arn:[^:]+:s3:::([^/]+)/.exec(resource);
    return this.directory.resourcePolicy(s3 ? `arn:${this.partition}:s3:::${s3[1]}` : resource);
  }
}

/** AWS's text for a denied request (IAM User Guide, "Troubleshoot access denied error messages"). */
export function deniedMessage(principal: string, action: string, resource: string, decision: Pick<EngineDecision, 'explicit' | 'policyType'>): string {
  const kind = decision.policyType === 'resource' ? 'resource-based' : 'identity-based';
  // S3 quotes the resource; the JSON services do not, and leave out "on resource" for actions without resources.
  const on = resource === '*' ? '' : ` on resource: ${resource.startsWith('arn:aws:s3:::') ? `"${resource}"` : resource}`;
  return decision.explicit
    ? `User: ${principal} is not authorized to perform: ${action}${on} with an explicit deny in ${kind === 'identity-based' ? 'an' : 'a'} ${kind} policy`
    : `User: ${principal} is not authorized to perform: ${action}${on} because no ${kind} policy allows the ${action} action`;
}

/** The access key of a SigV4-signed request: the Authorization header, or X-Amz-Credential of a presigned URL. */
export function accessKeyOf(headers: Readonly<Record<string, string | string[] | undefined>>, url?: string): string | undefined {
  const auth = headers.authorization ?? headers.Authorization;
  const text = Array.isArray(auth) ? auth[0] : auth;
  const header = text ? /Credential=([^/,\s]+)\//.exec(text) : null;
  if (header) return header[1];
  if (url) {
    const query = /[?&]X-Amz-Credential=([^&]+)/i.exec(url);
    if (query) return decodeURIComponent(query[1]).split('/')[0];
  }
  return undefined;
}

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
