/**
 * EventBridge Scheduler's schedule expressions, checked at synth so a typo fails `cdk synth` instead of the deploy:
 * `cron(minutes hours day-of-month month day-of-week year)`, `rate(value unit)` and `at(yyyy-mm-ddThh:mm:ss)`.
 * The rules follow the Scheduler user guide ("Schedule types"): six cron fields, one of day-of-month and day-of-week
 * must be `?`, `L`/`W`/`#` only where the guide allows them, rate units minute(s)/hour(s)/day(s) with a positive
 * whole value. Pure: no aws-cdk-lib here (the handler may reuse it).
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Extra tokens allowed in this field (`L`, `W`, `#`, `?`). */
  readonly dayOfMonth?: boolean;
  readonly dayOfWeek?: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: readonly Field[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, dayOfMonth: true },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, dayOfWeek: true },
  { name: 'year', min: 1970, max: 2199 },
];

/** One value of a field: a number in range, or a name (JAN, MON) where the field has names. */
function value(field: Field, text: string): boolean {
  if (/^\d+$/.test(text)) return Number(text) >= field.min && Number(text) <= field.max;
  return field.names !== undefined && field.names.includes(text.toUpperCase());
}

/** The problem with one cron field, or undefined. */
function fieldProblem(field: Field, text: string): string | undefined {
  const bad = `${field.name} field ${JSON.stringify(text)} is not valid (${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ''})`;
  if (text === '?') return field.dayOfMonth || field.dayOfWeek ? undefined : `${field.name} field may not be "?"`;
  if (field.dayOfMonth && (text === 'L' || /^(\d{1,2})W$/.test(text) || text === 'LW')) {
    const day = /^(\d{1,2})W$/.exec(text)?.[1];
    return day === undefined || value(field, day) ? undefined : bad;
  }
  if (field.dayOfWeek) {
    const nth = /^([^#]+)#([1-5])$/.exec(text);
    if (nth) return value(field, nth[1]) ? undefined : bad;
    const last = /^([^L]+)L$/.exec(text);
    if (text === 'L' || (last && value(field, last[1]))) return undefined;
  }
  for (const part of text.split(',')) {
    const [range, step] = part.split('/');
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return bad;
    if (range === '*') continue;
    const ends = range.split('-');
    if (ends.length > 2 || !ends.every((e) => value(field, e))) return bad;
  }
  return undefined;
}

const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;

/**
 * What is wrong with a Scheduler expression, or undefined when it is valid.
 * @returns a sentence naming the first problem found
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const at = AT.exec(expression);
  if (at) {
    const [y, mo, d, h, mi, s] = at.slice(1).map(Number);
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    const same = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
    return same ? undefined : 'the at() date and time do not exist';
  }
  if (expression.startsWith('rate(')) {
    const rate = RATE.exec(expression);
    if (!rate) return 'rate() takes a whole number and minute(s), hour(s) or day(s), e.g. rate(5 minutes)';
    const n = Number(rate[1]);
    if (n < 1) return 'the rate must be at least 1';
    if ((n === 1) !== !rate[2].endsWith('s')) return `use "${rate[2].replace(/s$/, '')}" for 1 and "${rate[2].replace(/s?$/, 's')}" otherwise`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) return 'not a cron(...), rate(...) or at(...) expression';
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) return `cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
  for (let i = 0; i < 6; i++) {
    const problem = fieldProblem(FIELDS[i], fields[i]);
    if (problem) return problem;
  }
  if ((fields[2] === '?') === (fields[4] === '?')) return 'exactly one of day-of-month and day-of-week must be "?"';
  return undefined;
}

/** The schedule's period in seconds for rate() expressions, else undefined. */
export function rateSeconds(expression: string): number | undefined {
  const rate = RATE.exec(expression);
  if (!rate) return undefined;
  return Number(rate[1]) * ({ minute: 60, hour: 3600, day: 86400 } as Record<string, number>)[rate[2].replace(/s$/, '')];
}

/** True when `timeZone` is an IANA time zone name this Node.js knows (Scheduler takes IANA names). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
