import { applyGate, parseSummary } from '../../../lambda/gate/gate';

const settings = { minF1: 0.85, minLabelF1: 0.7, mustNotRegress: true };

describe('applyGate', () => {
  test('GIVEN every figure above its minimum and no serving version THEN it passes', () => {
    expect(applyGate(settings, { f1: 0.9, labels: [{ label: 'a', f1: 0.8 }] }, undefined))
      .toEqual({ passed: true, reason: 'Evaluation gate passed: overall F1 0.900' });
  });

  test('GIVEN weak labels THEN the reason names each, worst first, with its figure', () => {
    const r = applyGate(settings, { f1: 0.9, labels: [{ label: 'a', f1: 0.69 }, { label: 'b', f1: 0.2 }, { label: 'c', f1: 0.95 }] }, undefined);
    expect(r).toEqual({ passed: false, reason: 'Evaluation gate failed: label "b" F1 0.200 is below minLabelF1 0.700; '
      + 'label "a" F1 0.690 is below minLabelF1 0.700' });
  });

  test('GIVEN a worse F1 than the serving version THEN mustNotRegress fails it; an equal F1 passes', () => {
    expect(applyGate(settings, { f1: 0.88, labels: [] }, 0.9).reason)
      .toBe('Evaluation gate failed: overall F1 0.880 is below the serving version\'s 0.900 (mustNotRegress)');
    expect(applyGate(settings, { f1: 0.9, labels: [] }, 0.9).passed).toBe(true);
    expect(applyGate({ ...settings, mustNotRegress: false }, { f1: 0.88, labels: [] }, 0.9).passed).toBe(true);
  });

  test('GIVEN an overall F1 below minF1 THEN it fails naming both figures', () => {
    expect(applyGate(settings, { f1: 0.5, labels: [] }, undefined).reason).toBe('Evaluation gate failed: overall F1 0.500 is below minF1 0.850');
  });
});

describe('parseSummary', () => {
  test('reads Metrics.F1Score and per-label F1 (reference §7 layout)', () => {
    const text = JSON.stringify({ AggregatedEvaluationResults: { Metrics: { F1Score: 0.97 } },
      LabelEvaluationResults: [{ Label: 'CAP', Metrics: { F1Score: 0.979 } }, { Label: 'WATCH', Metrics: { F1Score: 0.95 } }] });
    expect(parseSummary(text)).toEqual({ f1: 0.97, labels: [{ label: 'CAP', f1: 0.979 }, { label: 'WATCH', f1: 0.95 }] });
  });

  test('accepts F1Score directly under AggregatedEvaluationResults (the API example layout)', () => {
    expect(parseSummary(JSON.stringify({ AggregatedEvaluationResults: { F1Score: 0.5 } })).f1).toBe(0.5);
  });

  test('fails clearly without an overall F1', () => {
    expect(() => parseSummary('{}')).toThrow('The evaluation summary has no AggregatedEvaluationResults F1Score');
  });
});
