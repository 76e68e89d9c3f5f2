/**
 * The AWS SDK integrations of a state machine, served offline: `aws-sdk:rekognition:*` by the emulator through the real
 * Rekognition client, `aws-sdk:s3:*` by the local S3, `aws-sdk:ssm:*` by a parameter store. Shared by the offline
 * runner and by tests that run a definition with runStateMachine.
 */
import { Rekognition } from '@aws-sdk/client-rekognition';
import { S3 } from '@aws-sdk/client-s3';

import type { LocalCloud } from '../emulator/local-cloud';
import type { Caller } from '../iam/world';
import { OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { LocalServiceError } from './local-services';

/** An SSM parameter as the offline services keep it. */
export interface StoredParameter {
  readonly value: string;
  readonly version: number;
  readonly type: string;
}

/** Where the offline SSM reads and writes parameters. */
export interface ParameterStore {
  get(name: string): StoredParameter | undefined;
  /** Writes the value (creating the parameter when absent) and returns its new version. `type`: the request's Type, if any. */
  put(name: string, value: string, type: string | undefined): number;
}

/** A parameter store in memory (parameters nobody declared, or a test's own). */
export class MemoryParameterStore implements ParameterStore {
  private readonly parameters = new Map<string, StoredParameter>();

  constructor(initial: Readonly<Record<string, string>> = {}) {
    for (const [name, value] of Object.entries(initial)) this.put(name, value, undefined);
  }

  get(name: string): StoredParameter | undefined {
    return this.parameters.get(name);
  }

  put(name: string, value: string, type: string | undefined): number {
    const version = (this.parameters.get(name)?.version ?? 0) + 1;
    this.parameters.set(name, { value, version, type: type ?? 'String' });
    return version;
  }
}

/**
 * SSM's GetParameter, GetParameters and PutParameter in the JSON shapes of the real service; other operations and
 * errors are LocalServiceErrors named as SSM names them. `now` is epoch ms (the virtual clock).
 */
export function ssmOperation(store: ParameterStore, operation: string, input: Record<string, unknown>, now: () => number): unknown {
  const describe = (name: string): Record<string, unknown> | undefined => {
    const p = store.get(name);
    if (!p) return undefined;
    return {
      Name: name, Type: p.type, Value: p.value, Version: p.version, DataType: 'text', LastModifiedDate: now() / 1000,
      ARN: `arn:${OFFLINE_PARTITION}:ssm:${OFFLINE_REGION}:${OFFLINE_ACCOUNT_ID}:parameter/${name.replace(/^\//, '')}`,
    };
  };
  switch (operation) {
    case 'GetParameter': {
      const name = String(input.Name ?? '');
      const p = describe(name);
      if (!p) throw new LocalServiceError('ParameterNotFound', `Parameter ${name} not found.`);
      return { Parameter: p };
    }
    case 'GetParameters': {
      const names = Array.isArray(input.Names) ? input.Names.map(String) : [];
      return { Parameters: names.map(describe).filter((p) => p !== undefined), InvalidParameters: names.filter((n) => !describe(n)) };
    }
    case 'PutParameter': {
      const name = String(input.Name ?? '');
      const value = String(input.Value ?? '');
      if (!name) throw new LocalServiceError('ValidationException', 'Name is required');
      if (store.get(name) !== undefined && input.Overwrite !== true) {
        throw new LocalServiceError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      }
      const version = store.put(name, value, input.Type === undefined || input.Type === null ? undefined : String(input.Type));
      return { Version: version, Tier: 'Standard' };
    }
    default:
      throw new LocalServiceError('UnknownOperationException', `SSM ${operation} is not served offline`);
  }
}

/** Who a state machine's tasks run as: its role's credentials, and the caller to authorize in-process calls for. */
export interface TaskIdentity {
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  readonly caller?: Caller;
}

/** Serves `arn:aws:states:::aws-sdk:<service>:<action>` Tasks (the `sdkHandler` of runStateMachine). */
export type SdkTaskHandler = (service: string, action: string, parameters: Record<string, unknown>, identity?: TaskIdentity) => Promise<unknown>;

/** The SSM parameter ARN IAM authorizes a call on. */
export function parameterArn(name: string): string {
  return `arn:${OFFLINE_PARTITION}:ssm:${OFFLINE_REGION}:${OFFLINE_ACCOUNT_ID}:parameter/${name.replace(/^\//, '')}`;
}

/** The IAM actions and resources of an SSM call served offline. */
export function ssmRequests(operation: string, input: Record<string, unknown>): { action: string; resource: string }[] {
  const names = operation === 'GetParameters' && Array.isArray(input.Names) ? input.Names.map(String) : [String(input.Name ?? '')];
  return names.map((name) => ({ action: `ssm:${operation}`, resource: parameterArn(name) }));
}

/** The `aws-sdk:<service>:*` integrations served offline (by sdkTaskHandler). */
export const OFFLINE_SDK_SERVICES: readonly string[] = ['rekognition', 's3', 'ssm'];

/**
 * The SDK integrations against a local cloud: Rekognition and S3 through the real clients with maxAttempts 1 (a state
 * machine's own Retry must see throttling, as Step Functions' integrations do), SSM from `parameters`. Errors are the
 * clients' own; runStateMachine names them as Step Functions does (Rekognition.ThrottlingException...).
 */
export function sdkTaskHandler(cloud: LocalCloud, parameters: ParameterStore): SdkTaskHandler {
  const unsigned = { accessKeyId: 'offline', secretAccessKey: 'offline' };
  // One client per role: a state machine's calls are signed with its role's key, which the services authorize.
  const clients = new Map<string, Rekognition>();
  const rekognitionFor = (identity?: TaskIdentity): Rekognition => {
    const credentials = identity?.credentials ?? unsigned;
    let client = clients.get(credentials.accessKeyId);
    if (!client) {
      client = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: OFFLINE_REGION, credentials, maxAttempts: 1 });
      clients.set(credentials.accessKeyId, client);
    }
    return client;
  };
  return async (service, action, input, identity) => {
    if (service === 'rekognition') return callAction(rekognitionFor(identity), 'Rekognition', action, input);
    if (service === 's3') {
      const s3 = new S3({ endpoint: cloud.s3Endpoint, region: OFFLINE_REGION, forcePathStyle: true, maxAttempts: 1,
        credentials: identity?.credentials ?? unsigned });
      try {
        return await callAction(s3, 'S3', action, input);
      } finally {
        s3.destroy();
      }
    }
    if (service === 'ssm') {
      const operation = action.charAt(0).toUpperCase() + action.slice(1);
      for (const request of ssmRequests(operation, input)) {
        const denied = identity?.caller ? await cloud.access.decide(identity.caller, request) : undefined;
        if (denied) throw new LocalServiceError('AccessDeniedException', denied.message);
      }
      return ssmOperation(parameters, operation, input, () => cloud.clock.now());
    }
    throw Object.assign(new Error(`aws-sdk:${service}:${action} has no offline service`), { name: 'UnsupportedOffline' });
  };
}

async function callAction(client: object, service: string, action: string, parameters: Record<string, unknown>): Promise<unknown> {
  const method = (client as Record<string, unknown>)[action];
  if (typeof method !== 'function') {
    throw Object.assign(new Error(`${service} has no action ${action}`), { name: 'UnknownOperation' });
  }
  return (method as (input: unknown) => Promise<unknown>).call(client, parameters);
}
