import { PNG } from 'pngjs';

import { applyReportGate, parseGateSpec } from '../../lib/report/gate';
import { buildEvaluationReport, renderEvaluationReport } from '../../lib/report/html';
import { parseEvaluationSummary, ReportInputError } from '../../lib/report/summary';
import { parseTestingOutput } from '../../lib/report/testing-output';
import { thumbnail } from '../../lib/report/thumbnail';
import { renderPng } from '../../lib/samples/shapes';

// The schema's layout (figures under Metrics) and the API example's (figures directly under AggregatedEvaluationResults).
const NESTED = {
  Version: 1,
  EvaluationDetails: { ProjectVersionArn: 'arn:aws:rekognition:us-east-1:123456789012:project/my-project/version/v0/1574317227432',
    EvaluationEndTimestamp: '2019-11-21T07:30:23.910943', Labels: ['CAP', 'WATCH'], NumberOfTrainingImages: 5216, NumberOfTestingImages: 624 },
  AggregatedEvaluationResults: { Metrics: { Precision: 0.97, Recall: 0.96, F1Score: 0.965, AveragePrecision: 0.0, AverageRecall: 0.0,
    ConfusionMatrix: [{ GroundTruthLabel: 'CAP', PredictedLabel: 'WATCH', Value: 0.0085 }] } },
  LabelEvaluationResults: [{ Label: 'CAP', NumberOfTestingImages: 390, Metrics: { Threshold: 0.988, Precision: 0.982, Recall: 0.977, F1Score: 0.979 } }],
};
const FLAT = { ...NESTED, AggregatedEvaluationResults: { F1Score: 0.965, Precision: 0.97, Recall: 0.96, ConfusionMatrix: [{ GroundTruthLabel: 'CAP', PredictedLabel: 'WATCH', Value: 0.0085 }] } };

describe('parseEvaluationSummary', () => {
  test.each([['nested under Metrics', NESTED], ['directly under AggregatedEvaluationResults', FLAT]])('reads the layout %s', (_name, doc) => {
    const s = parseEvaluationSummary(JSON.stringify(doc));
    expect(s).toMatchObject({
      projectVersionArn: NESTED.EvaluationDetails.ProjectVersionArn, labels: ['CAP', 'WATCH'], trainingImages: 5216, testingImages: 624,
      precision: 0.97, recall: 0.96, f1: 0.965, confusionMatrix: [{ truth: 'CAP', predicted: 'WATCH', value: 0.0085 }],
      perLabel: [{ label: 'CAP', testImages: 390, threshold: 0.988, precision: 0.982, recall: 0.977, f1: 0.979 }],
    });
  });

  test('says what is missing, in one line', () => {
    expect(() => parseEvaluationSummary('{oops')).toThrow(ReportInputError);
    expect(() => parseEvaluationSummary('{oops')).toThrow(/^the evaluation summary is not JSON: /);
    expect(() => parseEvaluationSummary('[]')).toThrow('the evaluation summary must be a JSON object');
    expect(() => parseEvaluationSummary({ Version: 1 })).toThrow('the evaluation summary has no AggregatedEvaluationResults object');
    expect(() => parseEvaluationSummary({ AggregatedEvaluationResults: { Metrics: { Precision: 1, Recall: 1 } } }))
      .toThrow('the evaluation summary has no number at AggregatedEvaluationResults.Metrics.F1Score');
    expect(() => parseEvaluationSummary({ ...NESTED, LabelEvaluationResults: [{ Label: 'x', Metrics: { Precision: 1, Recall: 1 } }] }))
      .toThrow('the evaluation summary has no number at LabelEvaluationResults[0].Metrics.F1Score');
  });
});

describe('gate', () => {
  test('parses minF1 and minLabelF1, either or both', () => {
    expect(parseGateSpec('minF1=0.8,minLabelF1=0.5')).toEqual({ minF1: 0.8, minLabelF1: 0.5 });
    expect(parseGateSpec(' minLabelF1 = 0.25 ')).toEqual({ minLabelF1: 0.25 });
    expect(() => parseGateSpec('minF1=1.5')).toThrow('the gate\'s minF1 must be a number from 0 to 1, got: "1.5"');
    expect(() => parseGateSpec('maxF1=0.5')).toThrow('the gate accepts minF1 and minLabelF1, got: "maxF1=0.5"');
    expect(() => parseGateSpec('minF1=0.5,minF1=0.6')).toThrow('the gate gives minF1 twice');
    expect(() => parseGateSpec('')).toThrow(/^the gate must be minF1=/);
  });

  test('the verdict names every failed check as the workflow\'s gate does: overall first, then labels worst first', () => {
    const summary = parseEvaluationSummary({ ...NESTED, LabelEvaluationResults: [
      { Label: 'a', Metrics: { Precision: 1, Recall: 0.5, F1Score: 0.6 } }, { Label: 'b', Metrics: { Precision: 1, Recall: 0.2, F1Score: 0.3 } },
      { Label: 'c', Metrics: { Precision: 1, Recall: 1, F1Score: 1 } }] });
    expect(applyReportGate({ minF1: 0.99, minLabelF1: 0.7 }, summary)).toEqual({
      passed: false, failingLabels: ['b', 'a'],
      failures: ['overall F1 0.965 is below minF1 0.990', 'label "b" F1 0.300 is below minLabelF1 0.700', 'label "a" F1 0.600 is below minLabelF1 0.700'],
      reason: 'Evaluation gate failed: overall F1 0.965 is below minF1 0.990; label "b" F1 0.300 is below minLabelF1 0.700; '
        + 'label "a" F1 0.600 is below minLabelF1 0.700',
    });
    expect(applyReportGate({ minF1: 0.9 }, summary)).toMatchObject({ passed: true, reason: 'Evaluation gate passed: overall F1 0.965' });
  });

  test('GIVEN mustNotRegress and a better serving version THEN it fails naming both F1s; an equal one passes and is named', () => {
    const summary = parseEvaluationSummary(NESTED);
    expect(applyReportGate({ mustNotRegress: true, servingF1: 0.97 }, summary).reason)
      .toBe('Evaluation gate failed: overall F1 0.965 is below the serving version\'s 0.970 (mustNotRegress)');
    expect(applyReportGate({ mustNotRegress: true, servingF1: 0.965 }, summary).reason)
      .toBe('Evaluation gate passed: overall F1 0.965, serving version 0.965');
    expect(applyReportGate({ mustNotRegress: false, servingF1: 0.99 }, summary).passed).toBe(true);
    expect(applyReportGate({ mustNotRegress: true }, summary).passed).toBe(true);
  });
});

describe('parseTestingOutput', () => {
  test('reads ground truth and flagged predictions of both kinds; unreadable lines are counted', () => {
    const details = (fp: boolean): Record<string, unknown> => ({ 'version': 1, 'is-true-positive': !fp, 'is-true-negative': false, 'is-false-positive': fp,
      'is-false-negative': false, 'is-present-in-ground-truth': !fp, 'ground-truth-labelling-jobs': ['rekognition-custom-labels-training-job'] });
    const cls = {
      'source-ref': 's3://b/1.png',
      'rekognition-custom-labels-training-0': 0,
      'rekognition-custom-labels-training-0-metadata': { 'class-name': 'cat', 'type': 'groundtruth/image-classification', 'human-annotated': 'yes' },
      'rekognition-custom-labels-evaluation-0': 1,
      'rekognition-custom-labels-evaluation-0-metadata': { 'class-name': 'dog', 'confidence': 0.7, 'type': 'groundtruth/image-classification',
        'human-annotated': 'no', 'rekognition-custom-labels-evaluation-details': details(true) },
    };
    const det = {
      'source-ref': 's3://b/2.png',
      'rekognition-custom-labels-training-0': { image_size: [{ width: 200, height: 100, depth: 3 }], annotations: [{ class_id: 0, left: 1, top: 2, width: 3, height: 4 }] },
      'rekognition-custom-labels-training-0-metadata': { 'class-map': { 0: 'cap' }, 'type': 'groundtruth/object-detection', 'human-annotated': 'yes' },
      'rekognition-custom-labels-evaluation': { image_size: [{ width: 200, height: 100, depth: 3 }], annotations: [{ class_id: 0, left: 5, top: 6, width: 7, height: 8 }] },
      'rekognition-custom-labels-evaluation-metadata': { 'class-map': { 0: 'cap' }, 'type': 'groundtruth/object-detection', 'human-annotated': 'no',
        'objects': [{ 'confidence': 0.9, 'rekognition-custom-labels-evaluation-details': details(false) }] },
    };
    const out = parseTestingOutput(`${JSON.stringify(cls)}\n\nnot json\n${JSON.stringify(det)}\n`);
    expect(out.skippedLines).toBe(1);
    expect(out.images).toEqual([
      { sourceRef: 's3://b/1.png', line: 1, width: undefined, height: undefined, truthLabels: ['cat'], truthBoxes: [],
        predictions: [{ label: 'dog', confidence: 0.7, outcome: 'false-positive' }] },
      { sourceRef: 's3://b/2.png', line: 4, width: 200, height: 100, truthLabels: [], truthBoxes: [{ label: 'cap', left: 1, top: 2, width: 3, height: 4 }],
        predictions: [{ label: 'cap', confidence: 0.9, box: { left: 5, top: 6, width: 7, height: 8 }, outcome: 'true-positive' }] },
    ]);
  });
});

describe('renderEvaluationReport', () => {
  test('a self-contained page: escaped text, no external reference, the same bytes for the same input', async () => {
    const doc = { ...NESTED, LabelEvaluationResults: [{ Label: '<script>alert(1)</script>', Metrics: { Threshold: 0.5, Precision: 1, Recall: 1, F1Score: 1 } }] };
    const html = await renderEvaluationReport({ summary: JSON.stringify(doc), gate: { minF1: 0.5 } });
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">');
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/url\(/);
    expect(await renderEvaluationReport({ summary: JSON.stringify(doc), gate: { minF1: 0.5 } })).toBe(html);
  });

  test('example images come from the loader; one that fails or is not an image is listed as missing', async () => {
    const line = (ref: string): string => JSON.stringify({ 'source-ref': ref,
      'p': 0, 'p-metadata': { 'class-name': 'CAP', 'confidence': 0.9, 'type': 'groundtruth/image-classification', 'human-annotated': 'no',
        'rekognition-custom-labels-evaluation-details': { 'is-false-positive': true } } });
    const png = renderPng(64, 64, []);
    const report = await buildEvaluationReport({
      summary: NESTED, testingOutput: [line('s3://b/ok.png'), line('s3://b/throws.png'), line('s3://b/text.png')].join('\n'),
      loadImage: (ref) => {
        if (ref.endsWith('throws.png')) throw new Error('no such key');
        return ref.endsWith('ok.png') ? png : Buffer.from('hello');
      },
    });
    expect(report.falsePositives).toHaveLength(3);
    expect(report.missingImages).toEqual(['s3://b/throws.png', 's3://b/text.png']);
    expect(report.html).toContain(`href="data:image/png;base64,${png.toString('base64')}"`);
    expect(report.html.match(/image not available/g)).toHaveLength(2);
  });
});

describe('thumbnail', () => {
  test('small images as they are; large ones scaled to 480 px as JPEG, keeping the original size for the boxes', () => {
    const small = renderPng(100, 50, []);
    expect(thumbnail(small)).toEqual({ dataUri: `data:image/png;base64,${small.toString('base64')}`, width: 100, height: 50, scaled: false });
    const large = renderPng(1600, 800, [{ kind: 'square', color: [224, 32, 32], left: 0, top: 0, size: 800 }]);
    const t = thumbnail(large)!;
    expect(t).toMatchObject({ width: 1600, height: 800, scaled: true });
    expect(t.dataUri.startsWith('data:image/jpeg;base64,')).toBe(true);
    expect(t.dataUri.length).toBeLessThan(large.length);
    const jpegBytes = Buffer.from(t.dataUri.split(',')[1], 'base64');
    expect([jpegBytes[0], jpegBytes[1]]).toEqual([0xff, 0xd8]);
    expect(thumbnail(Buffer.from('nope'))).toBeUndefined();
    expect(PNG.sync.read(small).width).toBe(100);
  });
});
