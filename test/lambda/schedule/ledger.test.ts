import { account, budgetSpent, localDay } from '../../../lambda/schedule/ledger';
import { Ledger } from '../../../lib/schedule/contracts';

// The guard's arithmetic: running time sampled every guard interval, counted as an upper bound, days of the schedule's zone.
const V = 'arn:aws:rekognition:us-east-1:123456789012:project/p/version/v/1';
const MIN = 60_000;
const at = (iso: string): number => Date.parse(iso);
const limits = { timeZone: 'Europe/Berlin', guardSeconds: 300 };

/** Runs the guard at each [time, status, units] and returns every ledger and verdict. */
function run(seen: Array<[string, string, number]>, extra: { maxRunningSeconds?: number; dailyInferenceUnitHoursBudget?: number } = {}) {
  let ledger: Ledger | undefined;
  return seen.map(([time, status, units]) => {
    const out = account(ledger, { now: at(time), status, units, versionArn: V }, { ...limits, ...extra });
    ledger = out.ledger;
    return out;
  });
}

describe('guard ledger', () => {
  test('local days in the schedule\'s zone, across daylight saving time', () => {
    expect(localDay(at('2026-12-07T22:59:00Z'), 'Europe/Berlin')).toEqual({ day: '2026-12-07', sinceMidnightMs: (23 * 60 + 59) * MIN });
    expect(localDay(at('2026-12-07T23:05:00Z'), 'Europe/Berlin')).toEqual({ day: '2026-12-08', sinceMidnightMs: 5 * MIN });
    // Summer time: UTC+2.
    expect(localDay(at('2026-07-01T22:30:00Z'), 'Europe/Berlin').day).toBe('2026-07-02');
    expect(localDay(at('2026-07-01T22:30:00Z'), 'UTC').day).toBe('2026-07-01');
  });

  test('an interval counts when the model ran at either end, at the larger unit count (an upper bound)', () => {
    const out = run([
      ['2026-12-07T07:00:00Z', 'STOPPED', 0],
      ['2026-12-07T07:05:00Z', 'STARTING', 2],
      ['2026-12-07T07:10:00Z', 'RUNNING', 2], // counted in full: 5 min × 2
      ['2026-12-07T07:15:00Z', 'RUNNING', 2], // + 5 min × 2
      ['2026-12-07T07:20:00Z', 'STOPPED', 0], // ran at the start of the interval: + 5 min × 2
      ['2026-12-07T07:25:00Z', 'STOPPED', 0],
    ]);
    expect(out.map((o) => o.ledger.unitSeconds)).toEqual([0, 0, 600, 1200, 1800, 1800]);
    expect(out.map((o) => o.ledger.runningSince)).toEqual([undefined, undefined, at('2026-12-07T07:05:00Z'), at('2026-12-07T07:05:00Z'),
      undefined, undefined]);
    expect(out.every((o) => o.verdict === undefined)).toBe(true);
  });

  test('the first guard run counts one interval back; a missed run counts its whole gap', () => {
    const out = run([['2026-12-07T07:00:00Z', 'RUNNING', 1], ['2026-12-07T07:20:00Z', 'RUNNING', 1]]);
    expect(out.map((o) => o.ledger.unitSeconds)).toEqual([300, 1500]);
    expect(out[1].ledger.runningSince).toBe(at('2026-12-07T06:55:00Z'));
  });

  test('a new day (midnight in Berlin, 23:00 UTC) starts from the part of the interval after midnight', () => {
    const out = run([['2026-12-07T22:50:00Z', 'RUNNING', 3], ['2026-12-07T22:58:00Z', 'RUNNING', 3], ['2026-12-07T23:02:00Z', 'RUNNING', 3]]);
    expect(out.map((o) => [o.ledger.day, o.ledger.unitSeconds])).toEqual([['2026-12-07', 900], ['2026-12-07', 900 + 1440], ['2026-12-08', 360]]);
    // Running time without a break does not start over at midnight.
    expect(out[2].ledger.runningSince).toBe(at('2026-12-07T22:45:00Z'));
  });

  test('the budget: the guard stops at the last run before the day\'s inference-unit hours reach it', () => {
    // 2 units, budget 1 unit-hour: 10 unit-minutes per 5-minute interval, so the 5th run (50) sees 60 at the next one.
    const times = [0, 5, 10, 15, 20].map((m) => `2026-12-07T08:${String(m).padStart(2, '0')}:00Z`);
    const out = run(times.map((t) => [t, 'RUNNING', 2]), { dailyInferenceUnitHoursBudget: 1 });
    expect(out.slice(0, 4).map((o) => o.verdict)).toEqual([undefined, undefined, undefined, undefined]);
    expect(out[4].verdict).toEqual({ limit: 'dailyInferenceUnitHoursBudget', figure: 50 / 60, next: 1, max: 1 });
    // A window that opens later that day is refused; the next day it is not.
    expect(budgetSpent(out[4].ledger, at('2026-12-07T12:00:00Z'), 2, { ...limits, dailyInferenceUnitHoursBudget: 1 })?.limit)
      .toBe('dailyInferenceUnitHoursBudget');
    expect(budgetSpent(out[4].ledger, at('2026-12-08T07:00:00Z'), 2, { ...limits, dailyInferenceUnitHoursBudget: 1 })).toBeUndefined();
    // A stopped model is not stopped again.
    expect(run([[times[0], 'STOPPED', 0]], { dailyInferenceUnitHoursBudget: 0.01 })[0].verdict).toBeUndefined();
  });

  test('maxRunningTime: stopped at the last run before it is reached, whoever started the model', () => {
    const times = Array.from({ length: 11 }, (_, i) => new Date(at('2026-12-07T08:00:00Z') + i * 5 * MIN).toISOString());
    const out = run(times.map((t) => [t, 'RUNNING', 1]), { maxRunningSeconds: 3600 });
    // Running since 07:55 (one interval before the first run): at 08:50 it has run 55 minutes, 60 at the next run.
    expect(out.findIndex((o) => o.verdict)).toBe(10);
    expect(out[10].verdict).toEqual({ limit: 'maxRunningTime', figure: 55 / 60, next: 1, max: 1 });
  });
});
