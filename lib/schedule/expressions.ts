/**
 * EventBridge Scheduler's expressions and time zones, checked at synth so a typo fails `cdk synth` instead of the
 * deploy. The parser is the one the offline runner fires schedules with (lib/shared/schedule-expression.ts), so synth
 * refuses what the runner would.
 */
import { checkTimeZone, parseScheduleExpression, scheduleExpressionProblem, ScheduleValidationError } from '../shared/schedule-expression';

export { scheduleExpressionProblem };

/** The schedule's period in seconds for rate() expressions, else undefined. */
export function rateSeconds(expression: string): number | undefined {
  let parsed;
  try {
    parsed = parseScheduleExpression(expression);
  } catch (e) {
    if (e instanceof ScheduleValidationError) return undefined;
    throw e;
  }
  return parsed.kind === 'rate' ? parsed.periodMs / 1000 : undefined;
}

/** True when `timeZone` is an IANA time zone name this Node.js knows (Scheduler takes IANA names). */
export function isTimeZone(timeZone: string): boolean {
  try {
    checkTimeZone(timeZone);
    return true;
  } catch {
    return false;
  }
}
