/**
 * EventBridge Scheduler's schedule expressions (Scheduler User Guide, "Schedule types"): `rate(value unit)`,
 * `cron(minutes hours day-of-month month day-of-week year)` evaluated in the schedule's IANA time zone, and
 * `at(yyyy-mm-ddThh:mm:ss)`, with the next occurrence after a given instant. Time zones come from Intl (Node's ICU), so
 * daylight saving time follows the tz database: a cron time that does not exist (clocks go forward) is skipped, one that
 * exists twice (clocks go back) fires once, at its first instant, as the guide says.
 *
 * One parser serves both ends: ModelSchedule checks its windows with it at synth (the problem, naming the field, in the
 * construct's error), and the offline runner refuses what it refuses, with Scheduler's ValidationException. Pure: no
 * aws-cdk-lib here.
 */

/** A parsed expression. */
export type ScheduleExpression =
  | { readonly kind: 'rate'; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly cron: CronFields }
  | { readonly kind: 'at'; readonly local: LocalTime };

export interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

interface CronFields {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number> | undefined; // undefined: every year
  readonly dom: DayRule | undefined; // undefined: `?`
  readonly dow: DayRule | undefined;
}

/** A day-of-month or day-of-week field: does it match a given date? */
type DayRule = (y: number, m: number, d: number) => boolean;

/**
 * A bad expression or time zone, with the message Scheduler's ValidationException carries; `problem` says what is wrong
 * in words for a synth-time error.
 */
export class ScheduleValidationError extends Error {
  constructor(message: string, readonly problem: string = message) {
    super(message);
    this.name = 'ValidationException';
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const RATE_UNITS: Readonly<Record<string, number>> = {
  minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000,
};
/** Years a cron year field may name (the EventBridge cron reference). */
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

/**
 * Parses an expression; throws ScheduleValidationError. [inferred] The message: Scheduler's ValidationException for a
 * bad expression reads `Invalid Schedule Expression <expression>.` in the reports we found; the service documents none.
 */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const invalid = (problem: string): ScheduleValidationError => new ScheduleValidationError(`Invalid Schedule Expression ${expression}.`, problem);
  const m = /^(rate|cron|at)\((.*)\)$/.exec(expression.trim());
  if (!m) throw invalid('not a cron(...), rate(...) or at(...) expression');
  const body = m[2].trim();
  if (m[1] === 'rate') {
    const r = /^(\d+) ([a-z]+)$/.exec(body);
    if (!r || !(r[2] in RATE_UNITS)) throw invalid('rate() takes a whole number and minute(s), hour(s) or day(s), e.g. rate(5 minutes)');
    const n = Number(r[1]);
    if (n < 1) throw invalid('the rate must be at least 1');
    // As EventBridge's rate expressions: singular for 1, plural otherwise (rate(1 hours) is refused).
    if ((n === 1) !== !r[2].endsWith('s')) throw invalid(`use "${r[2].replace(/s$/, '')}" for 1 and "${r[2].replace(/s?$/, 's')}" otherwise`);
    return { kind: 'rate', periodMs: n * RATE_UNITS[r[2]] };
  }
  if (m[1] === 'at') {
    const a = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
    if (!a) throw invalid('at() takes a date and time as yyyy-mm-ddThh:mm:ss');
    const [year, month, day, hour, minute, second] = a.slice(1).map(Number);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
      throw invalid('the at() date and time do not exist');
    }
    return { kind: 'at', local: { year, month, day, hour, minute, second } };
  }
  const fields = body.split(/\s+/);
  if (fields.length !== 6) throw invalid(`cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  const [min, hour, dom, month, dow, year] = fields;
  const field = <T>(i: number, parse: () => T): T => {
    const f = CRON_FIELDS[i];
    if (fields[i] === '?' && i !== 2 && i !== 4) throw invalid(`${f.name} field may not be "?"`);
    try {
      return parse();
    } catch {
      throw invalid(`${f.name} field ${JSON.stringify(fields[i])} is not valid (${f.allowed})`);
    }
  };
  const cron: CronFields = {
    minutes: field(0, () => parseSet(min, 0, 59)),
    hours: field(1, () => parseSet(hour, 0, 23)),
    dom: dom === '?' ? undefined : field(2, () => parseDom(dom)),
    months: field(3, () => parseSet(month, 1, 12, MONTHS, 1)),
    dow: dow === '?' ? undefined : field(4, () => parseDow(dow)),
    years: year === '*' ? undefined : field(5, () => parseSet(year, MIN_YEAR, MAX_YEAR)),
  };
  // One of day-of-month and day-of-week must be `?` (and only one).
  if ((dom === '?') === (dow === '?')) throw invalid('exactly one of day-of-month and day-of-week must be "?"');
  return { kind: 'cron', cron };
}

/** The six cron fields, for messages. */
const CRON_FIELDS: ReadonlyArray<{ readonly name: string; readonly allowed: string }> = [
  { name: 'minutes', allowed: '0-59' },
  { name: 'hours', allowed: '0-23' },
  { name: 'day-of-month', allowed: '1-31, ?, L, LW or nW' },
  { name: 'month', allowed: '1-12 or JAN-DEC' },
  { name: 'day-of-week', allowed: '1-7 or SUN-SAT, ?, L, nL or n#k' },
  { name: 'year', allowed: `${MIN_YEAR}-${MAX_YEAR}` },
];

/** What is wrong with a Scheduler expression (a sentence naming the first problem found), or undefined when it is valid. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  try {
    parseScheduleExpression(expression);
    return undefined;
  } catch (e) {
    if (e instanceof ScheduleValidationError) return e.problem;
    throw e;
  }
}

/** `*`, `n`, `a-b`, `a/s`, `a-b/s`, `* /s`, comma lists; names (JAN, MON) where the field has them. Throws on anything else. */
function parseSet(text: string, lo: number, hi: number, names?: readonly string[], nameBase = 0): Set<number> {
  const value = (v: string): number => {
    const i = names ? names.indexOf(v.toUpperCase()) : -1;
    const n = i >= 0 ? i + nameBase : /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= lo && n <= hi)) throw new Error(`out of range: ${v}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    if (part.split('/').length > 2) throw new Error('two steps');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || (stepText !== undefined && !/^\d+$/.test(stepText))) throw new Error('bad step');
    let from: number;
    let to: number;
    if (range === '*') {
      from = lo;
      to = hi;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      from = value(a);
      to = value(b);
    } else {
      from = value(range);
      to = stepText === undefined ? from : hi;
    }
    // A range that wraps (FRI-MON, 22-2) runs past the end back to the start.
    const span = to >= from ? to - from : to + (hi - lo + 1) - from;
    for (let k = 0; k <= span; k += step) out.add(((from - lo + k) % (hi - lo + 1)) + lo);
  }
  if (out.size === 0) throw new Error('empty');
  return out;
}

function parseDom(text: string): DayRule {
  if (text === 'L') return (y, m, d) => d === daysInMonth(y, m);
  if (text === 'LW') return (y, m, d) => d === lastWeekday(y, m);
  const w = /^(\d{1,2})W$/.exec(text);
  if (w) {
    const target = Number(w[1]);
    if (target < 1 || target > 31) throw new Error('W day');
    return (y, m, d) => d === nearestWeekday(y, m, target);
  }
  const days = parseSet(text, 1, 31);
  return (_y, _m, d) => days.has(d);
}

function parseDow(text: string): DayRule {
  // Day-of-week: 1-7 is SUN-SAT.
  const dayValue = (v: string): number => {
    const i = DAYS.indexOf(v.toUpperCase());
    const n = i >= 0 ? i + 1 : /^\d$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1 && n <= 7)) throw new Error('day');
    return n;
  };
  if (text === 'L') return (y, m, d) => weekday(y, m, d) === 7;
  const last = /^([A-Za-z]{3}|\d)L$/.exec(text);
  if (last) {
    const wd = dayValue(last[1]);
    return (y, m, d) => weekday(y, m, d) === wd && d + 7 > daysInMonth(y, m);
  }
  const nth = /^([A-Za-z]{3}|\d)#([1-5])$/.exec(text);
  if (nth) {
    const wd = dayValue(nth[1]);
    const n = Number(nth[2]);
    return (y, m, d) => weekday(y, m, d) === wd && Math.ceil(d / 7) === n;
  }
  const days = parseSet(text, 1, 7, DAYS, 1);
  return (y, m, d) => days.has(weekday(y, m, d));
}

/** The first occurrence strictly after `afterMs`, or undefined when there is none (before 2200). */
export function nextOccurrence(expr: ScheduleExpression, afterMs: number, timeZone: string, rateAnchorMs: number): number | undefined {
  if (expr.kind === 'rate') {
    if (afterMs < rateAnchorMs) return rateAnchorMs;
    return rateAnchorMs + (Math.floor((afterMs - rateAnchorMs) / expr.periodMs) + 1) * expr.periodMs;
  }
  if (expr.kind === 'at') {
    const at = localToUtc(expr.local, timeZone);
    return at !== undefined && at > afterMs ? at : undefined;
  }
  const { cron } = expr;
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  // Walk local calendar days from the day `afterMs` falls on (in the zone; a day earlier, for offsets).
  const start = localFields(afterMs - 86_400_000, timeZone);
  let day = Date.UTC(start.year, start.month - 1, start.day);
  for (let i = 0; i < 366 * 8; i++, day += 86_400_000) {
    const date = new Date(day);
    const y = date.getUTCFullYear();
    const mo = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (y > MAX_YEAR) return undefined;
    if (cron.years && !cron.years.has(y)) continue;
    if (!cron.months.has(mo)) continue;
    if (cron.dom && !cron.dom(y, mo, d)) continue;
    if (cron.dow && !cron.dow(y, mo, d)) continue;
    for (const h of hours) {
      for (const mi of minutes) {
        const at = localToUtc({ year: y, month: mo, day: d, hour: h, minute: mi, second: 0 }, timeZone);
        if (at !== undefined && at > afterMs) return at;
      }
    }
  }
  return undefined;
}

/** Throws ScheduleValidationError unless `timeZone` is an IANA zone Intl knows. */
export function checkTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    // [inferred] Scheduler's wording for an unknown zone is not documented.
    throw new ScheduleValidationError(`Invalid ScheduleExpressionTimezone ${timeZone}.`);
  }
}

/** A date-time string of CloudFormation's StartDate/EndDate (ISO 8601, UTC when no offset) as epoch ms. */
export function parseScheduleDate(text: string): number {
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(ms)) throw new ScheduleValidationError(`Invalid date ${text}.`);
  return ms;
}

/**
 * The UTC instant of a local wall time in `timeZone`: undefined when it does not exist (skipped by a DST change), the
 * earlier instant when it exists twice.
 */
export function localToUtc(t: LocalTime, timeZone: string): number | undefined {
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  const candidates = new Set<number>();
  for (const probe of [wall - 86_400_000 / 2, wall, wall + 86_400_000 / 2]) candidates.add(wall - offsetMs(probe, timeZone));
  const matching = [...candidates].filter((c) => {
    const f = localFields(c, timeZone);
    return f.year === t.year && f.month === t.month && f.day === t.day && f.hour === t.hour && f.minute === t.minute;
  }).sort((a, b) => a - b);
  return matching[0];
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetMs(atMs: number, timeZone: string): number {
  const f = localFields(atMs, timeZone);
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - Math.floor(atMs / 1000) * 1000;
}

export function localFields(atMs: number, timeZone: string): LocalTime {
  const parts = formatter(timeZone).formatToParts(new Date(atMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour') % 24, minute: get('minute'), second: get('second') };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** 1 (Sunday) .. 7 (Saturday), as cron's day-of-week counts. */
function weekday(y: number, m: number, d: number): number {
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;
}

/** The weekday (Mon-Fri) nearest to day `target` within the month (`15W`). */
function nearestWeekday(y: number, m: number, target: number): number {
  const last = daysInMonth(y, m);
  const t = Math.min(target, last);
  const wd = weekday(y, m, t);
  if (wd === 7) return t === 1 ? 3 : t - 1; // Saturday: Friday before, or Monday after the 1st
  if (wd === 1) return t === last ? t - 2 : t + 1; // Sunday: Monday after, or Friday before the last day
  return t;
}

function lastWeekday(y: number, m: number): number {
  const last = daysInMonth(y, m);
  const wd = weekday(y, m, last);
  return wd === 7 ? last - 1 : wd === 1 ? last - 2 : last;
}
