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
