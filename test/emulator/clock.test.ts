import { VirtualClock } from '../../lib/emulator/clock';

describe('VirtualClock', () => {
  test('a stopped clock moves only when advanced', () => {
    const clock = new VirtualClock({ start: 1_000, timeScale: 0 });
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    expect(clock.reached(1_250)).toBe(true);
    expect(clock.reached(1_251)).toBe(false);
    expect(clock.now()).toBe(1_250);
  });

  test('a sleep of a fraction of a millisecond ends at the next whole one (a jitter of Math.random() once stalled time)', async () => {
    const clock = new VirtualClock({ start: 1_000, timeScale: 0 });
    let done = false;
    const sleeping = clock.sleep(10.4).then(() => { done = true; });
    expect(clock.nextTimer()).toEqual({ at: 1_011, awaited: true });
    clock.advance(clock.nextTimer()!.at - clock.now());
    await sleeping;
    expect([done, clock.now()]).toEqual([true, 1_011]);
  });

  test('a scaled clock runs timeScale virtual ms per real ms', async () => {
    const clock = new VirtualClock({ start: 0, timeScale: 1000 });
    const realStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const realElapsed = performance.now() - realStart;
    expect(clock.now()).toBeGreaterThanOrEqual(Math.floor(realElapsed * 1000) - 1000);
    expect(clock.now()).toBeLessThan((realElapsed + 50) * 1000);
  });

  test('an infinite scale jumps to any time it is asked to reach, so durations elapse at once', () => {
    const clock = new VirtualClock({ start: 5_000, timeScale: Infinity });
    expect(clock.now()).toBeLessThan(5_000 + 10_000);
    expect(clock.reached(5_000 + 3600_000)).toBe(true);
    expect(clock.now()).toBeGreaterThanOrEqual(5_000 + 3600_000);
  });

  test('bad arguments are refused with a message', () => {
    expect(() => new VirtualClock({ timeScale: -1 })).toThrow('timeScale must be a number >= 0 (or Infinity), got: -1');
    expect(() => new VirtualClock().advance(-5)).toThrow('advance(ms) needs a finite number >= 0, got: -5');
  });
});

describe('VirtualClock.sleep', () => {
  test('on a stopped clock a sleep ends when the clock is moved past it, earliest first', async () => {
    const clock = new VirtualClock({ start: 0, timeScale: 0 });
    const ended: string[] = [];
    const b = clock.sleep(200).then(() => ended.push(`b@${clock.now()}`));
    const a = clock.sleep(100).then(() => ended.push(`a@${clock.now()}`));
    expect(clock.nextTimer()).toEqual({ at: 100, awaited: true });
    clock.advance(100);
    await a;
    expect(ended).toEqual(['a@100']);
    clock.advance(150);
    await b;
    expect(ended).toEqual(['a@100', 'b@250']);
    expect(clock.nextTimer()).toBeUndefined();
  });

  test('daemon timers are not awaited; an aborted sleep ends at once; requests held asleep are counted', async () => {
    const clock = new VirtualClock({ start: 0, timeScale: 0 });
    void clock.sleep(1000, { daemon: true });
    expect(clock.nextTimer()).toEqual({ at: 1000, awaited: false });
    const abort = new AbortController();
    const held = clock.sleep(50, { signal: abort.signal, holdsRequest: true });
    expect(clock.requestsAsleep).toBe(1);
    expect(clock.nextTimer()).toEqual({ at: 50, awaited: true });
    abort.abort();
    await held;
    expect(clock.requestsAsleep).toBe(0);
    expect(clock.now()).toBe(0);
  });

  test('a running clock ends sleeps in real time (scaled); an infinite scale at once', async () => {
    const scaled = new VirtualClock({ start: 0, timeScale: 1000 });
    const t0 = performance.now();
    await scaled.sleep(20_000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    const instant = new VirtualClock({ start: 0, timeScale: Infinity });
    await instant.sleep(3600_000);
    expect(instant.now()).toBeGreaterThanOrEqual(3600_000);
  });
});
