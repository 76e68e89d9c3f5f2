import { createProgress, renderBar } from '../../lib/cli/progress';
import { MemoryIo, memoryIo } from './memory-io';

function io(isTTY: boolean): { io: MemoryIo; err: () => string } {
  const m = memoryIo('/', isTTY);
  return { io: m, err: m.err };
}

describe('createProgress', () => {
  test('draws nothing when stderr is not a terminal', () => {
    const t = io(false);
    let now = 0;
    const p = createProgress(t.io, 'validating', { now: () => now });
    now = 5000;
    p.update(50 * 1024 * 1024, 100 * 1024 * 1024);
    p.done();
    expect(t.err()).toBe('');
  });

  test('on a terminal: nothing for a short run, a bar once the run passes 1 s, cleared at the end', () => {
    // GIVEN a terminal and a clock
    const t = io(true);
    let now = 0;
    const p = createProgress(t.io, 'validating', { now: () => now });
    // WHEN progress comes in before 1 s on a small input
    now = 500;
    p.update(1024, 5 * 1024 * 1024);
    // THEN nothing is drawn
    expect(t.err()).toBe('');
    // WHEN the run passes 1 s
    now = 1200;
    p.update(2.5 * 1024 * 1024, 5 * 1024 * 1024);
    // THEN a bar is drawn over the line, and cleared by done()
    expect(t.err()).toBe(`\r${renderBar('validating', 2.5 * 1024 * 1024, 5 * 1024 * 1024)}\x1b[K`);
    p.done();
    expect(t.err().endsWith('\r\x1b[K')).toBe(true);
  });

  test('on a terminal: a bar at once for an input over 10 MB, redrawn at most every 100 ms', () => {
    const t = io(true);
    let now = 0;
    const p = createProgress(t.io, 'splitting', { now: () => now });
    p.update(1, 20 * 1024 * 1024);
    now = 50;
    p.update(2, 20 * 1024 * 1024);
    now = 150;
    p.update(3, 20 * 1024 * 1024);
    expect(t.err().split('\r').filter((s) => s.startsWith('splitting'))).toHaveLength(2);
  });
});

describe('renderBar', () => {
  test('a 30-cell bar with the share and sizes', () => {
    expect(renderBar('x', 5 * 1024 * 1024, 10 * 1024 * 1024)).toBe(`x [${'#'.repeat(15)}${'.'.repeat(15)}]  50%  5.0 MB / 10.0 MB`);
    expect(renderBar('x', 3 * 1024 * 1024)).toBe('x 3.0 MB');
  });
});
