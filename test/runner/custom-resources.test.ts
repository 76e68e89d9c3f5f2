import { stringifyScalars, waiterSchedule } from '../../lib/runner/custom-resources';

describe('custom resource helpers', () => {
  test('CloudFormation passes scalars as strings, keeping lists and maps', () => {
    expect(stringifyScalars({ a: 1, b: true, c: 'x', d: [2, { e: false }], f: null })).toEqual({ a: '1', b: 'true', c: 'x', d: ['2', { e: 'false' }], f: null });
  });

  test('the poll schedule comes from the Provider framework waiter\'s Retry', () => {
    const definition = JSON.stringify({ StartAt: 't', States: { t: { Type: 'Task', Resource: 'r', End: true,
      Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 30, MaxAttempts: 120, BackoffRate: 1 }] } } });
    expect(waiterSchedule(definition)).toEqual({ intervalSeconds: 30, maxAttempts: 120, backoffRate: 1 });
    expect(waiterSchedule(undefined)).toEqual({ intervalSeconds: 5, maxAttempts: 360, backoffRate: 1 });
    expect(waiterSchedule('not json')).toEqual({ intervalSeconds: 5, maxAttempts: 360, backoffRate: 1 });
  });
});
