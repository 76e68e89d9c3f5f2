import { inTurns } from '../../lib/emulator/turns';

describe('inTurns', () => {
  test('runs every item in order and lets the event loop turn between groups', async () => {
    const seen: number[] = [];
    const turnsAt: number[] = [];
    let done = false;
    const tick = (): void => {
      if (done) return;
      turnsAt.push(seen.length);
      setImmediate(tick);
    };
    setImmediate(tick);
    await inTurns(Array.from({ length: 10 }, (_, i) => i), (i) => seen.push(i), 4);
    done = true;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Other work ran after the 4th and the 8th item, and not in the middle of a group.
    expect(turnsAt).toEqual([4, 8]);
  });
});
