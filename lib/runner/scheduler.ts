/**
 * A local EventBridge Scheduler: every deployed AWS::Scheduler::Schedule fires on the virtual clock. Its next
 * occurrence is a daemon sleep (it never moves time by itself; it fires when something else makes time pass it, such
 * as `runner.runFor`), so schedules interleave in virtual time with executions and handlers. A redeploy that changes or
 * deletes a schedule re-arms or cancels it (sync()).
 *
 * Targets: a Lambda function ARN (invoked asynchronously, Target.Input as the event), a state machine ARN
 * (StartExecution with Target.Input), and the universal target `arn:aws:scheduler:::aws-sdk:sfn:startExecution`
 * (Target.Input holds the API's parameters). Each is called as the schedule's RoleArn: the role must trust
 * scheduler.amazonaws.com and allow the action on the target, else the invocation fails, is logged and counted.
 * Modelled: State, StartDate/EndDate, time zones, FlexibleTimeWindow (FLEXIBLE fires at a deterministic offset inside
 * the window, derived from the schedule's name and occurrence), ActionAfterCompletion DELETE for at(). Not modelled:
 * retries (a failed invocation is recorded once, with the RetryPolicy it would have had) and dead-letter queues (the
 * DeadLetterConfig ARN is recorded on the failure; nothing is sent).
 */
import * as crypto from 'node:crypto';

import type { VirtualClock } from '../emulator/clock';
import { nextOccurrence, parseScheduleDate, parseScheduleExpression, ScheduleExpression } from '../shared/schedule-expression';
import { DeployedResourceRef, DeployedWorld } from './deployed-world';
import { isPlainObject } from './intrinsics';

/** The universal target that starts an execution (Scheduler User Guide, "Using universal targets"). */
export const SFN_START_EXECUTION_TARGET = /^arn:[^:]+:scheduler:::aws-sdk:sfn:startExecution$/;
const SCHEDULER_PRINCIPAL = 'scheduler.amazonaws.com';

/** One time a schedule fired. Times are virtual epoch ms. */
export interface ScheduleInvocation {
  /** The schedule's name (its physical id). */
  readonly schedule: string;
  /** `<stack>/<logicalId>` */
  readonly resource: string;
  /** The occurrence the expression named. */
  readonly scheduledAt: number;
  /** When it fired (later than scheduledAt within a flexible window, or when time jumped past several occurrences). */
  readonly at: number;
  /** The target's ARN. */
  readonly target: string;
  /** Whether the target accepted the call (for a function: the asynchronous invocation was accepted). */
  outcome: 'SUCCEEDED' | 'FAILED';
  /** Why it failed: `<error name>: <message>`. */
  error?: string;
  /** The execution a state machine target started. */
  executionArn?: string;
  /** For a function target: how the asynchronous run ended (undefined while it runs). */
  functionResult?: 'SUCCEEDED' | 'FAILED';
  functionError?: string;
  /** A failed invocation: the dead-letter queue AWS would send it to (nothing is sent offline). */
  deadLetterArn?: string;
}

/** What the scheduler needs from the runner. */
export interface SchedulerHost {
  readonly clock: VirtualClock;
  readonly world: DeployedWorld;
  /** The denial message of a call `action` on `resource` made as `roleArn`; undefined when allowed (or IAM is off). */
  decide(roleArn: string, session: string, action: string, resource: string): Promise<string | undefined>;
  /** Whether IAM is enforced (then the role must exist and trust the scheduler). */
  readonly enforced: boolean;
  /** Keeps virtual time from moving until `work` settles. */
  hold<T>(work: Promise<T>): Promise<T>;
  /** Invokes a deployed function; resolves with its result. */
  invokeFunction(arn: string, payload: unknown): Promise<unknown>;
  /** Starts an execution; returns its ARN; throws the service's error. */
  startExecution(stateMachineArn: string, name: string | undefined, input: string): string;
  log(line: string): void;
}

interface Armed {
  readonly fingerprint: string;
  readonly abort: AbortController;
}

/** A schedule's settings, read from its resolved properties. */
interface ScheduleSpec {
  readonly name: string;
  readonly expression: ScheduleExpression;
  readonly timeZone: string;
  readonly enabled: boolean;
  readonly start?: number;
  readonly end?: number;
  readonly flexibleMinutes: number;
  readonly deleteAfterCompletion: boolean;
  readonly target: Record<string, unknown>;
}

export class LocalScheduler {
  private readonly armed = new Map<string, Armed>();
  private readonly invocations: ScheduleInvocation[] = [];
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly host: SchedulerHost) {}

  /** Every invocation so far, oldest first. */
  list(): readonly ScheduleInvocation[] {
    return this.invocations;
  }

  /** Arms new and changed schedules, cancels deleted ones; call after each change to a schedule and when a session opens. */
  sync(): void {
    if (this.stopped) return;
    const live = new Map<string, DeployedResourceRef>();
    for (const ref of this.host.world.allResources()) {
      if (ref.record.type === 'AWS::Scheduler::Schedule' && !ref.record.extra?.deletedAfterCompletion) live.set(`${ref.stackName}/${ref.logicalId}`, ref);
    }
    for (const [key, armed] of this.armed) {
      const ref = live.get(key);
      if (!ref || fingerprint(ref) !== armed.fingerprint) {
        armed.abort.abort();
        this.armed.delete(key);
      }
    }
    for (const [key, ref] of live) {
      if (this.armed.has(key)) continue;
      const abort = new AbortController();
      this.armed.set(key, { fingerprint: fingerprint(ref), abort });
      void this.run(key, ref, abort.signal);
    }
  }

  /** Resolves once the deliveries under way and the function invocations they started have ended. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Cancels every schedule (the session closes). */
  stop(): void {
    this.stopped = true;
    for (const armed of this.armed.values()) armed.abort.abort();
    this.armed.clear();
  }

  /** Work idle() waits for. */
  private track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return tracked;
  }

  private async run(key: string, ref: DeployedResourceRef, signal: AbortSignal): Promise<void> {
    const { clock } = this.host;
    let spec: ScheduleSpec;
    try {
      spec = scheduleSpec(ref.record.physicalId, ref.record.properties);
    } catch (err) {
      this.host.log(`schedule ${key}: not armed: ${(err as Error).message}`);
      return;
    }
    if (!spec.enabled) return;
    const extra = ref.record.extra ?? {};
    const anchor = typeof extra.anchor === 'number' ? extra.anchor : clock.now();
    const rateAnchor = spec.start ?? anchor;
    let after = Math.max(anchor - 1, typeof extra.lastOccurrence === 'number' ? extra.lastOccurrence : -Infinity);
    if (spec.start !== undefined) after = Math.max(after, spec.start - 1);
    while (!signal.aborted) {
      const next = nextOccurrence(spec.expression, after, spec.timeZone, rateAnchor);
      if (next === undefined || (spec.end !== undefined && next > spec.end)) return;
      const fireAt = next + flexibleOffset(spec, next);
      // Chunks keep a running clock's real timer within setTimeout's range.
      while (!signal.aborted && clock.now() < fireAt) await clock.sleep(Math.min(fireAt - clock.now(), 20 * 86_400_000), { daemon: true, signal });
      if (signal.aborted) return;
      after = next;
      ref.record.extra = { ...ref.record.extra, lastOccurrence: next };
      // Time stands still while the scheduler decides and delivers (an IAM decision is neither HTTP nor a sleep).
      await this.track(this.host.hold(this.fire(key, spec, next)));
      if (spec.expression.kind === 'at') {
        if (spec.deleteAfterCompletion) {
          // The service deletes the schedule; the stack still lists it (drift), as in AWS.
          ref.record.extra = { ...ref.record.extra, deletedAfterCompletion: true };
          this.host.log(`schedule ${spec.name}: deleted after completion (ActionAfterCompletion DELETE)`);
        }
        return;
      }
    }
  }

  private async fire(key: string, spec: ScheduleSpec, scheduledAt: number): Promise<void> {
    const target = spec.target;
    const arn = String(target.Arn ?? '');
    const roleArn = String(target.RoleArn ?? '');
    const input = typeof target.Input === 'string' ? target.Input : undefined;
    const invocation: ScheduleInvocation = { schedule: spec.name, resource: key, scheduledAt, at: this.host.clock.now(), target: arn, outcome: 'SUCCEEDED' };
    this.invocations.push(invocation);
    try {
      await this.checkRole(roleArn);
      if (/^arn:[^:]+:lambda:/.test(arn)) {
        const functionArn = this.host.world.functionArnOf(arn);
        await this.authorize(roleArn, spec.name, 'lambda:InvokeFunction', functionArn);
        if (!this.host.world.findFunction(arn)) throw named('ResourceNotFoundException', `Function not found: ${arn}`);
        const payload = input === undefined ? {} : parseOr(input);
        const done = this.host.invokeFunction(arn, payload).then(
          () => { invocation.functionResult = 'SUCCEEDED'; },
          (err: unknown) => {
            invocation.functionResult = 'FAILED';
            invocation.functionError = describe(err);
            this.host.log(`schedule ${spec.name}: ${arn} failed: ${invocation.functionError}`);
          },
        );
        void this.track(done);
      } else if (/^arn:[^:]+:states:[^:]*:[^:]*:stateMachine:/.test(arn)) {
        await this.authorize(roleArn, spec.name, 'states:StartExecution', arn);
        invocation.executionArn = this.host.startExecution(arn, undefined, input ?? '{}');
      } else if (SFN_START_EXECUTION_TARGET.test(arn)) {
        const params = input === undefined ? {} : parseOr(input);
        const p = isPlainObject(params) ? params : {};
        const machine = String(p.StateMachineArn ?? '');
        if (!machine) throw named('ValidationException', 'StateMachineArn is required');
        await this.authorize(roleArn, spec.name, 'states:StartExecution', machine);
        invocation.executionArn = this.host.startExecution(machine, typeof p.Name === 'string' ? p.Name : undefined,
          typeof p.Input === 'string' ? p.Input : JSON.stringify(p.Input ?? {}));
      } else {
        // Refused up front (preflight.ts); here only when a caller skipped it.
        throw named('ValidationException', `The offline scheduler does not deliver to ${arn}`);
      }
      this.host.log(`schedule ${spec.name}: invoked ${arn}${invocation.executionArn ? ` (${invocation.executionArn})` : ''}`);
    } catch (err) {
      invocation.outcome = 'FAILED';
      invocation.error = describe(err);
      const dlq = isPlainObject(target.DeadLetterConfig) && typeof target.DeadLetterConfig.Arn === 'string' ? target.DeadLetterConfig.Arn : undefined;
      if (dlq) invocation.deadLetterArn = dlq;
      const retry = isPlainObject(target.RetryPolicy) ? target.RetryPolicy : {};
      this.host.log(`schedule ${spec.name}: invocation of ${arn} FAILED: ${invocation.error} (not retried offline; AWS would retry up to `
        + `${retry.MaximumRetryAttempts ?? 185} times within ${retry.MaximumEventAgeInSeconds ?? 86400} s${dlq ? `, then send it to ${dlq}` : ''})`);
    }
  }

  /**
   * The role must exist and its trust policy allow scheduler.amazonaws.com to assume it. [inferred] The error text:
   * Scheduler reports a role it cannot assume in its invocation metrics and logs, not to a caller; ours says what failed.
   */
  private async checkRole(roleArn: string): Promise<void> {
    if (!this.host.enforced) return;
    const role = this.host.world.allResources().find(({ record }) => record.type === 'AWS::IAM::Role' && record.attributes.Arn === roleArn);
    if (!role) throw named('AccessDeniedException', `Scheduler could not assume the role ${roleArn}: no such role`);
    if (!trusts(role.record.properties.AssumeRolePolicyDocument, SCHEDULER_PRINCIPAL)) {
      throw named('AccessDeniedException', `Scheduler could not assume the role ${roleArn}: its trust policy does not allow `
        + `${SCHEDULER_PRINCIPAL} to perform sts:AssumeRole`);
    }
  }

  private async authorize(roleArn: string, session: string, action: string, resource: string): Promise<void> {
    const denied = await this.host.decide(roleArn, session, action, resource);
    if (denied) throw named('AccessDeniedException', denied);
  }
}

/** Reads a schedule's resolved properties; throws on what the provisioner would have refused. */
export function scheduleSpec(name: string, props: Record<string, unknown>): ScheduleSpec {
  const expression = parseScheduleExpression(String(props.ScheduleExpression ?? ''));
  const window = isPlainObject(props.FlexibleTimeWindow) ? props.FlexibleTimeWindow : {};
  return {
    name,
    expression,
    timeZone: typeof props.ScheduleExpressionTimezone === 'string' ? props.ScheduleExpressionTimezone : 'UTC',
    enabled: props.State !== 'DISABLED',
    start: typeof props.StartDate === 'string' ? parseScheduleDate(props.StartDate) : undefined,
    end: typeof props.EndDate === 'string' ? parseScheduleDate(props.EndDate) : undefined,
    flexibleMinutes: window.Mode === 'FLEXIBLE' ? Number(window.MaximumWindowInMinutes ?? 0) : 0,
    deleteAfterCompletion: props.ActionAfterCompletion === 'DELETE',
    target: isPlainObject(props.Target) ? props.Target : {},
  };
}

/** Whether a trust policy lets `service` assume the role (Allow, sts:AssumeRole, Principal.Service; conditions are not evaluated). */
export function trusts(document: unknown, service: string): boolean {
  const doc = typeof document === 'string' ? parseOr(document) : document;
  if (!isPlainObject(doc)) return false;
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
  const matches = (s: Record<string, unknown>): boolean => {
    const actions = list(s.Action);
    const principal = isPlainObject(s.Principal) ? s.Principal : {};
    return actions.some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*') && list(principal.Service).includes(service);
  };
  const all = statements.filter(isPlainObject);
  if (all.some((s) => s.Effect === 'Deny' && matches(s))) return false;
  return all.some((s) => s.Effect === 'Allow' && matches(s));
}

/** FLEXIBLE: a deterministic offset in [0, window) from the name and the occurrence, whole minutes. */
function flexibleOffset(spec: ScheduleSpec, occurrence: number): number {
  if (spec.flexibleMinutes <= 0) return 0;
  const h = crypto.createHash('sha256').update(`${spec.name}@${occurrence}`).digest().readUInt32BE(0);
  return (h % spec.flexibleMinutes) * 60_000;
}

function fingerprint(ref: DeployedResourceRef): string {
  return JSON.stringify([ref.record.physicalId, ref.record.properties, ref.record.extra?.anchor]);
}

/** JSON when the text is JSON, else the text. */
export function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An error with an AWS error name. */
export function named(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** `<name>: <message>` of a thrown value. */
export function describe(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown };
  return `${typeof e?.name === 'string' ? e.name : 'Error'}: ${typeof e?.message === 'string' ? e.message : String(err)}`;
}
