import { localToUtc, nextOccurrence, parseScheduleExpression, scheduleExpressionProblem, ScheduleValidationError } from '../../lib/shared/schedule-expression';

/** The next `n` occurrences after `from`, as UTC minutes. */
function next(expression: string, from: string, n: number, timeZone = 'UTC'): string[] {
  const expr = parseScheduleExpression(expression);
  const out: string[] = [];
  let after = Date.parse(from);
  for (let i = 0; i < n; i++) {
    const at = nextOccurrence(expr, after, timeZone, Date.parse(from));
    if (at === undefined) break;
    out.push(new Date(at).toISOString().slice(0, 16));
    after = at;
  }
  return out;
}

describe('schedule expressions', () => {
  test('cron: lists, ranges, steps, names, a range that wraps past midnight', () => {
    expect(next('cron(0/20 22-1 ? * SAT *)', '2036-03-28T00:00Z', 7)).toEqual(['2036-03-29T00:00', '2036-03-29T00:20', '2036-03-29T00:40',
      '2036-03-29T01:00', '2036-03-29T01:20', '2036-03-29T01:40', '2036-03-29T22:00']);
    expect(next('cron(15,45 8 ? JAN,MAR MON-WED 2036)', '2036-03-28T00:00Z', 3)).toEqual(['2036-03-31T08:15', '2036-03-31T08:45']);
    expect(next('cron(0 12 1-3 * ? *)', '2036-03-28T00:00Z', 4)).toEqual(['2036-04-01T12:00', '2036-04-02T12:00', '2036-04-03T12:00',
      '2036-05-01T12:00']);
  });

  test('cron: L, W, LW, # and nL in day fields', () => {
    expect(next('cron(0 8 L * ? *)', '2036-01-01T00:00Z', 3)).toEqual(['2036-01-31T08:00', '2036-02-29T08:00', '2036-03-31T08:00']);
    // The 15th of March 2036 is a Saturday: the nearest weekday is Friday the 14th; of June (Sunday): Monday the 16th.
    expect(next('cron(0 8 15W * ? *)', '2036-03-01T00:00Z', 4)).toEqual(['2036-03-14T08:00', '2036-04-15T08:00', '2036-05-15T08:00',
      '2036-06-16T08:00']);
    expect(next('cron(0 8 LW * ? *)', '2036-05-01T00:00Z', 1)).toEqual(['2036-05-30T08:00']);
    // The third Friday; the last Monday (1 is Sunday, so 2 is Monday).
    expect(next('cron(0 8 ? * 6#3 *)', '2036-03-28T00:00Z', 2)).toEqual(['2036-04-18T08:00', '2036-05-16T08:00']);
    expect(next('cron(0 8 ? * 2L *)', '2036-03-28T00:00Z', 2)).toEqual(['2036-03-31T08:00', '2036-04-28T08:00']);
  });

  test('time zones follow daylight saving time: a missing local time is skipped, a repeated one fires once', () => {
    // Berlin: clocks go forward on 2036-03-30 at 02:00 and back on 2036-10-26 at 03:00.
    expect(next('cron(30 2 * * ? *)', '2036-03-28T00:00Z', 3, 'Europe/Berlin')).toEqual(['2036-03-28T01:30', '2036-03-29T01:30', '2036-03-31T00:30']);
    expect(next('cron(30 2 * * ? *)', '2036-10-25T00:00Z', 3, 'Europe/Berlin')).toEqual(['2036-10-25T00:30', '2036-10-26T00:30', '2036-10-27T01:30']);
    expect(localToUtc({ year: 2036, month: 3, day: 30, hour: 2, minute: 30, second: 0 }, 'Europe/Berlin')).toBeUndefined();
    // at() in a zone; rate counts from its anchor, whatever the zone.
    expect(next('at(2036-03-30T09:00:00)', '2036-03-28T00:00Z', 2, 'America/New_York')).toEqual(['2036-03-30T13:00']);
    expect(next('rate(90 minutes)', '2036-03-28T00:00Z', 2, 'Europe/Berlin')).toEqual(['2036-03-28T01:30', '2036-03-28T03:00']);
  });

  test.each([
    'cron(0 9 * * MON *)', 'cron(0 9 ? * ? *)', 'cron(0 9 * *)', 'cron(60 9 * * ? *)', 'cron(0 24 * * ? *)', 'cron(0 9 ? * 8 *)',
    'cron(0 9 32 * ? *)', 'cron(0 9 * FOO ? *)', 'cron(0 9 * * ? 2200)', 'rate(0 minutes)', 'rate(5 weeks)', 'rate(1.5 hours)',
    'at(2036-02-30T09:00:00)', 'at(2036-03-30 09:00:00)', 'every(5 minutes)', '', 'rate(1 hours)', 'rate(5 minute)', 'cron(0 ? * * MON *)',
  ])('%s is refused with Scheduler\'s message', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ScheduleValidationError);
    expect(() => parseScheduleExpression(expression)).toThrow(`Invalid Schedule Expression ${expression}.`);
  });

  // The same parser checks ModelSchedule's windows at synth: its problem names the field and what the field allows.
  test.each([
    ['cron(0 9 * * MON *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['cron(0 9 * *)', 'cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got 4'],
    ['cron(60 9 ? * MON *)', 'minutes field "60" is not valid (0-59)'],
    ['cron(0 ? * * MON *)', 'hours field may not be "?"'],
    ['cron(0 9 ? * 8 *)', 'day-of-week field "8" is not valid (1-7 or SUN-SAT, ?, L, nL or n#k)'],
    ['cron(0 9 32W * ? *)', 'day-of-month field "32W" is not valid (1-31, ?, L, LW or nW)'],
    ['cron(0 9 ? FOO MON *)', 'month field "FOO" is not valid (1-12 or JAN-DEC)'],
    ['cron(0 9 ? * MON 2200)', 'year field "2200" is not valid (1970-2199)'],
    ['rate(1 hours)', 'use "hour" for 1 and "hours" otherwise'],
    ['rate(0 minutes)', 'the rate must be at least 1'],
    ['rate(5 weeks)', 'rate() takes a whole number and minute(s), hour(s) or day(s), e.g. rate(5 minutes)'],
    ['at(2036-02-30T09:00:00)', 'the at() date and time do not exist'],
    ['every(5 minutes)', 'not a cron(...), rate(...) or at(...) expression'],
  ])('%s: %s', (expression, problem) => {
    expect(scheduleExpressionProblem(expression)).toBe(problem);
  });

  test('valid expressions have no problem', () => {
    for (const e of ['cron(0 8 ? * MON-FRI *)', 'cron(0/15 * * * ? *)', 'cron(0 8 LW * ? 2036)', 'cron(0 8 ? * 6#3 *)', 'rate(1 minute)',
      'rate(12 hours)', 'at(2036-03-30T09:00:00)']) {
      expect(scheduleExpressionProblem(e)).toBeUndefined();
    }
  });
});
