/**
 * The default event bus, offline: events from the local S3 (buckets with EventBridge notifications enabled by CDK's
 * `Custom::S3BucketNotifications`) and from PutEvents reach the deployed AWS::Events::Rule resources whose pattern
 * matches, and each rule's targets are called asynchronously on the virtual clock: a Lambda function (allowed by its
 * resource policy, AWS::Lambda::Permission for events.amazonaws.com and the rule's ARN, as in AWS) or a state machine
 * (StartExecution as the target's RoleArn, which must trust events.amazonaws.com). Target input: the event, Input,
 * InputPath or InputTransformer. Not modelled: scheduled rules (ScheduleExpression: use EventBridge Scheduler), other
 * buses, retries and dead-letter queues (a failed delivery is recorded once).
 */
import * as crypto from 'node:crypto';

import type { ObjectCreated } from '../emulator/s3';
import { DeployedResourceRef, DeployedWorld } from './deployed-world';
import { parseEventPattern } from './event-pattern';
import { matchesPattern } from './event-pattern';
import { isPlainObject } from './intrinsics';
import { describe, named, parseOr, trusts } from './scheduler';

const EVENTS_PRINCIPAL = 'events.amazonaws.com';

/** An event as EventBridge delivers it. */
export interface BusEvent {
  readonly 'version': '0';
  readonly 'id': string;
  readonly 'detail-type': string;
  readonly 'source': string;
  readonly 'account': string;
  readonly 'time': string;
  readonly 'region': string;
  readonly 'resources': readonly string[];
  readonly 'detail': unknown;
}

/** One target call of a rule. */
export interface EventDelivery {
  /** `<stack>/<logicalId>` of the rule. */
  readonly rule: string;
  readonly eventId: string;
  /** Virtual epoch ms. */
  readonly at: number;
  readonly target: string;
  /** What the target got (after Input, InputPath or InputTransformer). */
  readonly input: unknown;
  outcome: 'SUCCEEDED' | 'FAILED';
  error?: string;
  executionArn?: string;
  functionResult?: 'SUCCEEDED' | 'FAILED';
  functionError?: string;
}

export interface EventBusHost {
  readonly world: DeployedWorld;
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly enforced: boolean;
  now(): number;
  /** The denial message of `action` on `resource` as `roleArn`; undefined when allowed. */
  decide(roleArn: string, session: string, action: string, resource: string): Promise<string | undefined>;
  hold<T>(work: Promise<T>): Promise<T>;
  invokeFunction(arn: string, payload: unknown): Promise<unknown>;
  startExecution(stateMachineArn: string, input: string): string;
  log(line: string): void;
}

export class LocalEventBus {
  private readonly events: BusEvent[] = [];
  private readonly deliveries: EventDelivery[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly host: EventBusHost) {}

  /** Every event put on the default bus in this session. */
  eventList(): readonly BusEvent[] {
    return this.events;
  }

  deliveryList(): readonly EventDelivery[] {
    return this.deliveries;
  }

  /** Whether a deployed `Custom::S3BucketNotifications` turned EventBridge notifications on for this bucket. */
  wantsBucket(bucket: string): boolean {
    return this.host.world.allResources().some(({ record }) => record.type === 'Custom::S3BucketNotifications'
      && String(record.properties.BucketName) === bucket && isPlainObject(record.properties.NotificationConfiguration)
      && isPlainObject(record.properties.NotificationConfiguration.EventBridgeConfiguration));
  }

  /** S3's "Object Created" event (S3 User Guide, "EventBridge message structure"), once the write's facts are known. */
  objectCreated(created: Promise<ObjectCreated | undefined>): void {
    this.track(this.host.hold(created.then((e) => {
      if (e && this.wantsBucket(e.bucket)) this.putObjectCreated(e);
    })));
  }

  private putObjectCreated(e: ObjectCreated): void {
    this.put({ source: 'aws.s3', detailType: 'Object Created', resources: [`arn:${this.host.partition}:s3:::${e.bucket}`], detail: {
      'version': '0',
      'bucket': { name: e.bucket },
      'object': { key: e.key, size: e.size, etag: e.etag, sequencer: e.sequencer },
      'request-id': e.requestId,
      'requester': this.host.accountId,
      'source-ip-address': e.sourceIp,
      'reason': e.reason,
    } });
  }

  /** Puts an event on the default bus; matching rules deliver it asynchronously. Returns the event id. */
  put(entry: { source: string; detailType: string; detail: unknown; resources?: readonly string[] }): string {
    const event: BusEvent = {
      'version': '0', 'id': crypto.randomUUID(), 'detail-type': entry.detailType, 'source': entry.source, 'account': this.host.accountId,
      'time': new Date(this.host.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), 'region': this.host.region, 'resources': [...(entry.resources ?? [])],
      'detail': entry.detail,
    };
    this.events.push(event);
    this.track(this.host.hold(this.route(event)));
    return event.id;
  }

  /** Resolves once every delivery under way, and the function runs they started, ended. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => this.host.log(`event bus: ${String(err)}`)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async route(event: BusEvent): Promise<void> {
    for (const rule of this.rules()) {
      const props = rule.record.properties;
      let pattern: Record<string, unknown>;
      try {
        pattern = parseEventPattern(props.EventPattern);
      } catch {
        continue;
      }
      if (!matchesPattern(pattern, event)) continue;
      const ruleArn = String(rule.record.attributes.Arn ?? '');
      for (const target of Array.isArray(props.Targets) ? props.Targets.filter(isPlainObject) : []) {
        await this.deliver(rule, ruleArn, target, event);
      }
    }
  }

  /** Enabled rules with a pattern on the default bus. */
  private rules(): DeployedResourceRef[] {
    return this.host.world.allResources().filter(({ record }) => {
      if (record.type !== 'AWS::Events::Rule' || record.properties.EventPattern === undefined) return false;
      const bus = record.properties.EventBusName;
      const state = record.properties.State ?? 'ENABLED';
      return (bus === undefined || bus === 'default' || String(bus).endsWith(':event-bus/default')) && String(state).startsWith('ENABLED');
    });
  }

  private async deliver(rule: DeployedResourceRef, ruleArn: string, target: Record<string, unknown>, event: BusEvent): Promise<void> {
    const arn = String(target.Arn ?? '');
    const ruleName = rule.record.physicalId;
    const delivery: EventDelivery = { rule: `${rule.stackName}/${rule.logicalId}`, eventId: event.id, at: this.host.now(), target: arn,
      input: targetInput(target, event, ruleArn, ruleName), outcome: 'SUCCEEDED' };
    this.deliveries.push(delivery);
    try {
      if (/^arn:[^:]+:lambda:/.test(arn)) {
        const fn = this.host.world.findFunction(arn);
        if (!fn) throw named('ResourceNotFoundException', `Function not found: ${arn}`);
        if (this.host.enforced && !this.lambdaAllows(fn.functionName, fn.functionArn, ruleArn)) {
          throw named('AccessDeniedException', `User: ${EVENTS_PRINCIPAL} is not authorized to perform: lambda:InvokeFunction on resource: `
            + `${fn.functionArn} because no resource-based policy allows the lambda:InvokeFunction action`);
        }
        const done = this.host.invokeFunction(arn, delivery.input).then(
          () => { delivery.functionResult = 'SUCCEEDED'; },
          (err: unknown) => {
            delivery.functionResult = 'FAILED';
            delivery.functionError = describe(err);
          },
        );
        this.track(done);
      } else if (/^arn:[^:]+:states:[^:]*:[^:]*:stateMachine:/.test(arn)) {
        const roleArn = String(target.RoleArn ?? '');
        if (this.host.enforced) {
          const role = this.host.world.allResources().find(({ record }) => record.type === 'AWS::IAM::Role' && record.attributes.Arn === roleArn);
          if (!role || !trusts(role.record.properties.AssumeRolePolicyDocument, EVENTS_PRINCIPAL)) {
            throw named('AccessDeniedException', `EventBridge could not assume the role ${roleArn || '(none given)'}: it must trust ${EVENTS_PRINCIPAL}`);
          }
          const denied = await this.host.decide(roleArn, ruleName, 'states:StartExecution', arn);
          if (denied) throw named('AccessDeniedException', denied);
        }
        delivery.executionArn = this.host.startExecution(arn, typeof delivery.input === 'string' ? delivery.input : JSON.stringify(delivery.input));
      } else {
        throw named('ValidationException', `The offline event bus does not deliver to ${arn}`);
      }
      this.host.log(`rule ${ruleName}: delivered event ${event.id} to ${arn}`);
    } catch (err) {
      delivery.outcome = 'FAILED';
      delivery.error = describe(err);
      this.host.log(`rule ${ruleName}: delivery of event ${event.id} to ${arn} FAILED: ${delivery.error} (not retried offline)`);
    }
  }

  /** The function's resource policy, from its AWS::Lambda::Permission resources: events.amazonaws.com, this rule (or any). */
  private lambdaAllows(functionName: string, functionArn: string, ruleArn: string): boolean {
    return this.host.world.allResources().some(({ record }) => {
      if (record.type !== 'AWS::Lambda::Permission') return false;
      const p = record.properties;
      const named = String(p.FunctionName ?? '');
      const unqualified = named.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):[^:]+$/, '$1');
      if (unqualified !== functionArn && unqualified !== functionName && !functionArn.endsWith(`:${unqualified}`)) return false;
      if (p.Action !== 'lambda:InvokeFunction' && p.Action !== 'lambda:*') return false;
      if (p.Principal !== EVENTS_PRINCIPAL && p.Principal !== '*') return false;
      if (p.SourceAccount !== undefined && String(p.SourceAccount) !== this.host.accountId) return false;
      return p.SourceArn === undefined || glob(String(p.SourceArn)).test(ruleArn);
    });
  }
}

/** Input (constant JSON), InputPath, InputTransformer, or the whole event (EventBridge User Guide, "Input transformation"). */
export function targetInput(target: Record<string, unknown>, event: BusEvent, ruleArn: string, ruleName: string): unknown {
  if (typeof target.Input === 'string') return parseOr(target.Input);
  if (typeof target.InputPath === 'string') return jsonPath(event, target.InputPath);
  if (isPlainObject(target.InputTransformer)) {
    const t = target.InputTransformer;
    const values: Record<string, unknown> = {
      'aws.events.event': event, 'aws.events.event.json': event, 'aws.events.rule-arn': ruleArn, 'aws.events.rule-name': ruleName,
      'aws.events.event.ingestion-time': event.time,
    };
    if (isPlainObject(t.InputPathsMap)) for (const [name, p] of Object.entries(t.InputPathsMap)) values[name] = jsonPath(event, String(p));
    const template = String(t.InputTemplate ?? '');
    // In quotes a value goes in as text; outside, as JSON. A missing path gives null.
    const text = template.replace(/"<([A-Za-z0-9_.-]+)>"/g, (m, name: string) => (name in values ? JSON.stringify(asText(values[name])) : m))
      .replace(/<([A-Za-z0-9_.-]+)>/g, (m, name: string) => {
        if (!(name in values)) return m;
        const v = values[name];
        return v === undefined ? 'null' : JSON.stringify(v);
      });
    return parseOr(text);
  }
  return event;
}

function asText(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
}

/** `$`, `$.a.b`, `$.a[0]`, `$['a-b']`: the paths EventBridge takes. */
function jsonPath(root: unknown, path: string): unknown {
  if (!path.startsWith('$')) return undefined;
  let v: unknown = root;
  for (const m of path.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+)\]|\['([^']+)'\]/g)) {
    const key = m[1] ?? m[3];
    if (key !== undefined) v = isPlainObject(v) ? v[key] : undefined;
    else v = Array.isArray(v) ? v[Number(m[2])] : undefined;
  }
  return v;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
