/**
 * The guard's arithmetic, pure: from the last ledger and what a guard run sees now, the new ledger and the limit the
 * model would pass before the next run (if any). Running time is sampled every guard interval, so every figure is an
 * upper bound: an interval counts as running when the model ran at either end of it, at the larger unit count of the
 * two ends. The guard stops at the last run before a limit would be reached, so it errs towards stopping early.
 */
import { GuardVerdict, Ledger } from '../../lib/schedule/contracts';

/** What a guard run sees. */
export interface Observation {
  readonly now: number;
  readonly status: string;
  /** MaxInferenceUnits of the version (MinInferenceUnits without auto scaling). */
  readonly units: number;
  readonly versionArn: string;
}

export interface GuardLimits {
  readonly timeZone: string;
  readonly guardSeconds: number;
  readonly maxRunningSeconds?: number;
  readonly dailyInferenceUnitHoursBudget?: number;
}

/** Billed statuses: RUNNING, and STOPPING counted too ([inferred]: the service does not say when billing ends). */
const BILLED = new Set(['RUNNING', 'STOPPING']);

/** The figure at the next run reaches the limit (a little slack for sums of floating-point fractions). */
const reaches = (next: number, max: number): boolean => next >= max - 1e-9;

/** The local calendar day (YYYY-MM-DD) of `at` in `timeZone`, and the ms since that day's local midnight. */
export function localDay(at: number, timeZone: string): { day: string; sinceMidnightMs: number } {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  // Wall-clock time since midnight: on a day whose clocks change just after midnight this is off by the change, which
  // only matters for an interval that spans both midnight and the change.
  const sinceMidnightMs = ((Number(parts.hour) * 60 + Number(parts.minute)) * 60 + Number(parts.second)) * 1000 + (at % 1000);
  return { day: `${parts.year}-${parts.month}-${parts.day}`, sinceMidnightMs };
}

/** The ledger after a guard run observing `seen`, and the limit about to be passed, if any. */
export function account(last: Ledger | undefined, seen: Observation, limits: GuardLimits): { ledger: Ledger; verdict?: GuardVerdict } {
  const { day, sinceMidnightMs } = localDay(seen.now, limits.timeZone);
  const guardMs = limits.guardSeconds * 1000;
  const billedNow = BILLED.has(seen.status);
  // The interval since the last run; with no last run (the first guard run), one guard interval.
  const intervalMs = last ? Math.max(0, seen.now - last.checkedAt) : guardMs;
  const counted = billedNow || (last !== undefined && BILLED.has(last.status));
  const units = Math.max(seen.units, last && BILLED.has(last.status) ? last.units : 0);
  const sameDay = last !== undefined && last.day === day;
  // A new day starts from zero plus the part of this interval after local midnight.
  const todayMs = sameDay ? intervalMs : Math.min(intervalMs, sinceMidnightMs);
  const unitSeconds = (sameDay ? last.unitSeconds : 0) + (counted ? todayMs / 1000 * units : 0);
  const running = seen.status === 'RUNNING';
  const runningSince = running
    ? (last?.status === 'RUNNING' && last.runningSince !== undefined ? last.runningSince : seen.now - intervalMs)
    : undefined;
  const ledger: Ledger = { day, unitSeconds, checkedAt: seen.now, status: seen.status, units: seen.units, versionArn: seen.versionArn,
    ...(runningSince === undefined ? {} : { runningSince }) };
  if (!running) return { ledger };
  const budget = limits.dailyInferenceUnitHoursBudget;
  if (budget !== undefined) {
    const figure = unitSeconds / 3600;
    const next = figure + guardMs / 1000 * seen.units / 3600;
    if (reaches(next, budget)) return { ledger, verdict: { limit: 'dailyInferenceUnitHoursBudget', figure, next, max: budget } };
  }
  const maxRunning = limits.maxRunningSeconds;
  if (maxRunning !== undefined && runningSince !== undefined) {
    const figure = (seen.now - runningSince) / 3600_000;
    const next = figure + guardMs / 3600_000;
    if (reaches(next, maxRunning / 3600)) return { ledger, verdict: { limit: 'maxRunningTime', figure, next, max: maxRunning / 3600 } };
  }
  return { ledger };
}

/** True when today's budget is spent (the next unit-hour would pass it): a start is refused. */
export function budgetSpent(last: Ledger | undefined, now: number, units: number, limits: GuardLimits): GuardVerdict | undefined {
  const budget = limits.dailyInferenceUnitHoursBudget;
  if (budget === undefined || last === undefined || last.day !== localDay(now, limits.timeZone).day) return undefined;
  const figure = last.unitSeconds / 3600;
  const next = figure + limits.guardSeconds * units / 3600;
  return reaches(next, budget) ? { limit: 'dailyInferenceUnitHoursBudget', figure, next, max: budget } : undefined;
}
