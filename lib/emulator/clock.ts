/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Virtual epoch ms at construction. @default Date.now() */
  readonly start?: number;
  /**
   * Virtual ms per real ms: 1 is real time, 600 makes a 30-minute training take 3 s, 0 stops the clock (tests
   * then move it with `advance`), Infinity makes every duration elapse at once.
   * @default 1
   */
  readonly timeScale?: number;
}

/** Options of {@link VirtualClock.sleep}. */
export interface SleepOptions {
  /**
   * A timer nobody waits on (a schedule's next occurrence): time is never moved forward for it alone, it fires when
   * something else makes time pass it.
   * @default false
   */
  readonly daemon?: boolean;
  /** Ends the sleep early (it resolves) when aborted. */
  readonly signal?: AbortSignal;
  /**
   * The sleep holds an HTTP request open (a service answering after a virtual latency): a driver that moves time when
   * the process is idle counts such requests as asleep, not as work in flight.
   * @default false
   */
  readonly holdsRequest?: boolean;
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly daemon: boolean;
  readonly resolve: () => void;
  done: boolean;
}

/**
 * The emulator's notion of time: virtual now = start + real elapsed x timeScale + manual advances.
 *
 * Every asynchronous status of the emulator becomes terminal when this clock passes its ready time, so a test
 * drives a 30-minute training by calling `advance` instead of sleeping.
 *
 * `sleep` waits for virtual time. On a stopped clock (timeScale 0) a sleep ends only when the clock is moved past it:
 * by `advance`, or by a driver that moves time to the next timer whenever the process has nothing else to do (the
 * offline runner attaches one, see lib/runner/virtual-time.ts). So concurrent waits overlap in virtual time instead
 * of adding up.
 */
export class VirtualClock {
  readonly timeScale: number;
  private readonly start: number;
  private readonly realStart: number;
  private advanced = 0;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private sleepingRequests = 0;
  private heldWork = 0;
  private readonly listeners = new Set<() => void>();

  constructor(options: VirtualClockOptions = {}) {
    const timeScale = options.timeScale ?? 1;
    if (Number.isNaN(timeScale) || timeScale < 0) {
      throw new Error(`timeScale must be a number >= 0 (or Infinity), got: ${timeScale}`);
    }
    this.timeScale = timeScale;
    this.start = options.start ?? Date.now();
    this.realStart = performance.now();
  }

  /** Virtual epoch ms. An infinite scale runs at real speed here; {@link reached} makes it jump instead. */
  now(): number {
    const scale = this.timeScale === Infinity ? 1 : this.timeScale;
    const real = scale === 0 ? 0 : (performance.now() - this.realStart) * scale;
    return Math.floor(this.start + real + this.advanced);
  }

  /**
   * True once virtual time has reached `time`. With an infinite scale the clock first jumps forward to `time`, so
   * every duration elapses at once while timestamps stay ordered and plausible.
   */
  reached(time: number): boolean {
    const now = this.now();
    if (now >= time) return true;
    if (this.timeScale !== Infinity) return false;
    this.advanced += time - now;
    return true;
  }

  /** Moves virtual time forward by `ms` (>= 0); the sleeps it passes end, earliest first. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error(`advance(ms) needs a finite number >= 0, got: ${ms}`);
    this.advanced += ms;
    this.fireDue();
  }

  /**
   * Resolves once virtual time has moved `ms` forward. On a running clock (timeScale > 0) that takes ms / timeScale of
   * real time (an infinite scale jumps at once); on a stopped clock, until something moves it (see the class comment).
   */
  sleep(ms: number, options: SleepOptions = {}): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) return Promise.reject(new Error(`sleep(ms) needs a finite number >= 0, got: ${ms}`));
    if (options.signal?.aborted) return Promise.resolve();
    if (this.timeScale === Infinity) {
      this.advance(ms);
      return Promise.resolve();
    }
    // Whole milliseconds: now() is whole, so a fractional deadline would never be due.
    const at = this.now() + Math.ceil(ms);
    return new Promise<void>((resolve) => {
      let realTimer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (timer.done) return;
        timer.done = true;
        if (realTimer) clearTimeout(realTimer);
        if (options.holdsRequest) this.sleepingRequests -= 1;
        options.signal?.removeEventListener('abort', finish);
        const i = this.timers.indexOf(timer);
        if (i >= 0) this.timers.splice(i, 1);
        resolve();
        this.notify();
      };
      const timer: Timer = { at, seq: this.seq++, daemon: options.daemon === true, resolve: finish, done: false };
      if (options.holdsRequest) this.sleepingRequests += 1;
      options.signal?.addEventListener('abort', finish, { once: true });
      if (ms === 0) {
        queueMicrotask(finish);
        return;
      }
      this.insert(timer);
      if (this.timeScale > 0) realTimer = setTimeout(finish, ms / this.timeScale);
      this.notify();
    });
  }

  /** The earliest pending sleep's virtual time, and whether anything but daemon timers waits. */
  nextTimer(): { at: number; awaited: boolean } | undefined {
    const first = this.timers[0];
    if (!first) return undefined;
    return { at: first.at, awaited: this.timers.some((t) => !t.daemon) };
  }

  /** Sleeps that hold an HTTP request open (see {@link SleepOptions.holdsRequest}). */
  get requestsAsleep(): number {
    return this.sleepingRequests;
  }

  /**
   * Marks `work` as computing something whose virtual duration is modelled apart (a service's import or training): a
   * driver that moves a stopped clock waits for it, so a request never finds a job due whose result is still being
   * computed (it would wait for it, in real time, past its caller's timeout).
   */
  hold<T>(work: Promise<T>): Promise<T> {
    this.heldWork += 1;
    this.notify();
    return work.finally(() => {
      this.heldWork -= 1;
      this.notify();
    });
  }

  /** Work held by {@link hold} and not finished. */
  get workHeld(): number {
    return this.heldWork;
  }

  /** Called whenever a sleep starts or ends; returns the function that stops the calls. */
  onTimersChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private insert(timer: Timer): void {
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1].at > timer.at || (this.timers[i - 1].at === timer.at && this.timers[i - 1].seq > timer.seq))) i -= 1;
    this.timers.splice(i, 0, timer);
  }

  private fireDue(): void {
    const now = this.now();
    const due = this.timers.filter((t) => t.at <= now);
    for (const t of due) t.resolve();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
