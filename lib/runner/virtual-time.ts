/**
 * Moves the emulator's stopped clock the way a discrete-event simulation does: whenever this process has nothing left
 * to do but wait for virtual time (no HTTP request in flight except those a service holds for a virtual latency, no
 * pending callbacks), the clock jumps to the earliest sleep somebody awaits. Executions' Wait states and retry pauses,
 * the virtual timers of Lambda handlers, service latencies and schedules all sleep on the clock, so concurrent waits
 * overlap in virtual time as they do in AWS, instead of adding up.
 *
 * "Nothing left to do" is read from Node's own instrumentation: every HTTP client request of the process (the AWS SDK
 * clients of handlers, tasks, the emulator and the local S3 front) is counted from its start to its close through the
 * `http.client.request.start` diagnostics channel, and two event-loop turns without any change must pass before a jump.
 * Work that neither talks HTTP nor sleeps on the clock (a handler unzipping in memory) takes no virtual time: a jump
 * may happen meanwhile, as if that work were instant. The emulator's jobs (an import validating and authorizing every
 * line, a training decoding every image) are held on the clock instead: time waits for them, since their results are
 * due at a virtual time of their own and a request that found one due would wait for it in real time.
 */
import * as diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

import type { VirtualClock } from '../emulator/clock';

const REQUEST_START = 'http.client.request.start';

/** Drives a stopped {@link VirtualClock}; one per runner session, detached by close(). */
export class VirtualTimeDriver {
  private inFlight = 0;
  private generation = 0;
  private scheduled = false;
  private closed = false;
  private readonly unsubscribeTimers: () => void;
  private readonly onRequest = (message: unknown): void => {
    const request = (message as { request?: ClientRequest }).request;
    if (!request) return;
    this.inFlight += 1;
    this.touch();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      this.touch();
    };
    request.once('close', end);
    request.once('error', end);
  };

  constructor(private readonly clock: VirtualClock) {
    diagnostics.subscribe(REQUEST_START, this.onRequest);
    this.unsubscribeTimers = clock.onTimersChanged(() => this.touch());
  }

  /** HTTP requests in flight that are not held asleep by a service, plus the services' work held on the clock. */
  get busyRequests(): number {
    return Math.max(0, this.inFlight - this.clock.requestsAsleep) + this.clock.workHeld;
  }

  /** Holds time still until `work` settles (work that is neither HTTP nor a sleep, such as an IAM decision, counts as busy). */
  hold<T>(work: Promise<T>): Promise<T> {
    // The clock counts it and tells this driver (onTimersChanged), as for the emulator's jobs.
    return this.clock.hold(work);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    diagnostics.unsubscribe(REQUEST_START, this.onRequest);
    this.unsubscribeTimers();
  }

  private touch(): void {
    this.generation += 1;
    if (this.scheduled || this.closed) return;
    if (!this.clock.nextTimer()?.awaited) return;
    this.scheduled = true;
    setImmediate(() => this.settle(this.generation));
  }

  /** Two quiet turns of the event loop, then the jump. */
  private settle(seen: number): void {
    if (this.closed) return;
    if (this.busyRequests > 0 || seen !== this.generation) {
      this.scheduled = false;
      if (this.busyRequests === 0) this.touch();
      return;
    }
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed || this.busyRequests > 0 || seen !== this.generation) {
        if (!this.closed && this.busyRequests === 0) this.touch();
        return;
      }
      const next = this.clock.nextTimer();
      if (!next?.awaited) return;
      this.clock.advance(Math.max(0, next.at - this.clock.now()));
    });
  }
}
