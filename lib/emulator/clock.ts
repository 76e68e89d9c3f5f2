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

/**
 * The emulator's notion of time: virtual now = start + real elapsed x timeScale + manual advances.
 *
 * Every asynchronous status of the emulator becomes terminal when this clock passes its ready time, so a test
 * drives a 30-minute training by calling `advance` instead of sleeping.
 */
export class VirtualClock {
  readonly timeScale: number;
  private readonly start: number;
  private readonly realStart: number;
  private advanced = 0;

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

  /** Moves virtual time forward by `ms` (>= 0). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error(`advance(ms) needs a finite number >= 0, got: ${ms}`);
    this.advanced += ms;
  }
}
