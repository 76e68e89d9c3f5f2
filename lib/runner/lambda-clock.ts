/**
 * The virtual clock as Lambda handlers see it offline: `Date` and the timer functions of a function's modules follow the
 * emulator's clock instead of the machine's, so a handler that backs off, paces its calls or stamps a lease sees the
 * same time as the services it calls, and its waits overlap with everything else in virtual time.
 *
 * Timers still pending when no invocation of the function runs any more are dropped: a frozen Lambda environment does
 * not run them either, and a forgotten SDK housekeeping timer must not make virtual time jump.
 */

/** What a handler's virtual time needs from the runner. */
export interface LambdaClock {
  /** Virtual epoch ms. */
  now(): number;
  /** Resolves after `ms` of virtual time, or at once when `signal` aborts. */
  sleep(ms: number, options: { signal: AbortSignal }): Promise<void>;
}

/** The globals a function's module wrapper receives in place of Node's. */
export interface LambdaTimerGlobals {
  readonly Date: DateConstructor;
  readonly setTimeout: typeof setTimeout;
  readonly clearTimeout: typeof clearTimeout;
  readonly setInterval: typeof setInterval;
  readonly clearInterval: typeof clearInterval;
}

/** A timer handle that looks enough like Node's Timeout for SDK code (ref/unref/hasRef/refresh, a primitive id). */
class VirtualTimeout {
  readonly abort = new AbortController();
  constructor(readonly id: number) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  close(): this {
    this.abort.abort();
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

/** Virtual timers of one loaded function (its module instances), and the invocations that run it. */
export class LambdaTimers {
  readonly globals: LambdaTimerGlobals;
  private readonly pending = new Set<VirtualTimeout>();
  private running = 0;
  private nextId = 1;

  constructor(private readonly clock: LambdaClock) {
    const start = (callback: (...args: unknown[]) => void, ms: number | undefined, args: unknown[], repeat: boolean): VirtualTimeout => {
      const handle = new VirtualTimeout(this.nextId++);
      this.pending.add(handle);
      const delay = Math.max(1, Number(ms) || 0);
      const loop = async (): Promise<void> => {
        do {
          await this.clock.sleep(delay, { signal: handle.abort.signal });
          if (handle.abort.signal.aborted) break;
          callback(...args);
        } while (repeat && !handle.abort.signal.aborted);
        this.pending.delete(handle);
      };
      void loop();
      return handle;
    };
    const clear = (handle: unknown): void => {
      if (handle instanceof VirtualTimeout) {
        handle.abort.abort();
        this.pending.delete(handle);
      } else if (handle !== undefined && handle !== null) {
        // A timer from outside the function (a real one): leave it to Node.
        globalThis.clearTimeout(handle as NodeJS.Timeout);
      }
    };
    type Callback = (...args: unknown[]) => void;
    const once = (callback: Callback, ms?: number, ...args: unknown[]): VirtualTimeout => start(callback, ms, args, false);
    const every = (callback: Callback, ms?: number, ...args: unknown[]): VirtualTimeout => start(callback, ms, args, true);
    this.globals = {
      Date: virtualDate(() => clock.now()),
      setTimeout: once as unknown as typeof setTimeout,
      clearTimeout: clear as typeof clearTimeout,
      setInterval: every as unknown as typeof setInterval,
      clearInterval: clear as typeof clearInterval,
    };
  }

  /** An invocation starts. */
  enter(): void {
    this.running += 1;
  }

  /** An invocation ended: once none runs, pending timers are dropped (see the file comment). */
  leave(): void {
    this.running -= 1;
    if (this.running > 0) return;
    for (const handle of this.pending) handle.abort.abort();
    this.pending.clear();
  }
}

/** A Date whose `now()` and argument-less constructor read `now`; everything else is the real Date. */
export function virtualDate(now: () => number): DateConstructor {
  const Real = Date;
  class VirtualDate extends Real {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now());
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return now();
    }
  }
  // Date() called without `new` gives the current time as a string.
  return new Proxy(VirtualDate, {
    apply: () => new Real(now()).toString(),
  }) as unknown as DateConstructor;
}
