import {
  evaluateModel, Evaluation, evaluationSummaryJson, LabeledImage, serviceTimestamp, testingOutputManifest, trainModel,
} from '../../../lib/emulator/learner';
import { classificationSamples, detectionSamples, SampleImage } from '../../../lib/samples/shapes';

const END = new Date('2019-11-21T07:30:23.910Z');
const ARN = 'arn:aws:rekognition:us-east-1:123456789012:project/p/version/v1/1574317227432';
const toLabeled = (s: SampleImage): LabeledImage => ({ sourceRef: `s3://bucket/${s.relPath}`, bytes: s.bytes, labels: s.labels, boxes: s.boxes });

const classification: Evaluation = {
  f1: 0.75, precision: 0.7, recall: 0.8,
  perLabel: [
    { label: 'cat', threshold: 0.5, precision: 0.5, recall: 0.5, f1: 0.5, testImages: 2 },
    { label: 'dog', threshold: 0.2, precision: 1, recall: 0.8, f1: 0.9, testImages: 5 },
  ],
  confusionMatrix: [{ GroundTruthLabel: 'cat', PredictedLabel: 'dog', Value: 0.5 }],
  images: [
    { sourceRef: 's3://b/1.png', predictions: [{ name: 'cat', confidence: 0.9 }, { name: 'dog', confidence: 0.3 }, { name: 'cow', confidence: 0.1 }],
      presentInGroundTruth: [true, false, false], width: 64, height: 64 },
    { sourceRef: 's3://b/2.png', predictions: [{ name: 'dog', confidence: 0.1 }, { name: 'cat', confidence: 0.05 }],
      presentInGroundTruth: [true, false], width: 64, height: 64 },
  ],
  labels: ['cat', 'cow', 'dog'],
};

describe('serviceTimestamp', () => {
  test('UTC, microseconds, no zone, as in the service examples', () => {
    expect(serviceTimestamp(END)).toBe('2019-11-21T07:30:23.910000');
  });
});

describe('evaluationSummaryJson', () => {
  test('classification: the §7 layout, ConfusionMatrix but no mAP/mAR, labels sorted by F1', () => {
    const text = evaluationSummaryJson({ projectVersionArn: ARN, evaluation: classification, trainingImages: 30, testingImages: 7, endTime: END });
    const summary = JSON.parse(text) as Record<string, unknown>;

    expect(Object.keys(summary)).toEqual(['Version', 'EvaluationDetails', 'AggregatedEvaluationResults', 'LabelEvaluationResults']);
    expect(summary).toEqual({
      Version: 1,
      EvaluationDetails: {
        ProjectVersionArn: ARN, EvaluationEndTimestamp: '2019-11-21T07:30:23.910000', Labels: ['cat', 'cow', 'dog'],
        NumberOfTrainingImages: 30, NumberOfTestingImages: 7,
      },
      AggregatedEvaluationResults: {
        Metrics: { Precision: 0.7, Recall: 0.8, F1Score: 0.75, ConfusionMatrix: [{ GroundTruthLabel: 'cat', PredictedLabel: 'dog', Value: 0.5 }] },
      },
      LabelEvaluationResults: [
        { Label: 'dog', NumberOfTestingImages: 5, Metrics: { Threshold: 0.2, Precision: 1, Recall: 0.8, F1Score: 0.9 } },
        { Label: 'cat', NumberOfTestingImages: 2, Metrics: { Threshold: 0.5, Precision: 0.5, Recall: 0.5, F1Score: 0.5 } },
      ],
    });
  });

  test('detection: AveragePrecision and AverageRecall, no ConfusionMatrix; Labels fall back to the evaluated labels', () => {
    const detection: Evaluation = { ...classification, confusionMatrix: undefined, averagePrecision: 0.61, averageRecall: 0.72, labels: undefined };
    const text = evaluationSummaryJson({ projectVersionArn: ARN, evaluation: detection, trainingImages: 1, testingImages: 2, endTime: END });
    const summary = JSON.parse(text);
    expect(summary.AggregatedEvaluationResults.Metrics).toEqual({
      Precision: 0.7, Recall: 0.8, F1Score: 0.75, AveragePrecision: 0.61, AverageRecall: 0.72,
    });
    expect(summary.EvaluationDetails.Labels).toEqual(['cat', 'dog']);
  });
});

const details = (tp: boolean, tn: boolean, fp: boolean, fn: boolean, present: boolean): Record<string, unknown> => ({
  'version': 1, 'is-true-positive': tp, 'is-true-negative': tn, 'is-false-positive': fp, 'is-false-negative': fn,
  'is-present-in-ground-truth': present, 'ground-truth-labelling-jobs': ['rekognition-custom-labels-training-job'],
});

describe('testingOutputManifest', () => {
  test('classification: ground truth and every evaluated prediction, flagged against its label\'s threshold', () => {
    const testing: LabeledImage[] = [
      { sourceRef: 's3://b/1.png', bytes: Buffer.alloc(0), labels: ['cat'], boxes: [] },
      { sourceRef: 's3://b/unusable.png', bytes: Buffer.alloc(0), labels: ['cat'], boxes: [] },
    ];
    const text = testingOutputManifest({ evaluation: classification, testing, kind: 'IMAGE_LEVEL_LABELS', endTime: END });

    // only images the evaluation used appear, one JSON object a line
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const created = '2019-11-21T07:30:23.910000';
    const meta = (name: string, confidence: number, extra: Record<string, unknown>): Record<string, unknown> => ({
      'confidence': confidence, 'job-name': 'rekognition-custom-labels-evaluation-job', 'class-name': name, 'human-annotated': 'no',
      'creation-date': created, 'type': 'groundtruth/image-classification', ...extra,
    });
    expect(JSON.parse(lines[0])).toEqual({
      'source-ref': 's3://b/1.png',
      'rekognition-custom-labels-training-0': 0,
      'rekognition-custom-labels-training-0-metadata': {
        'confidence': 1, 'job-name': 'rekognition-custom-labels-training-job', 'class-name': 'cat', 'human-annotated': 'yes',
        'creation-date': created, 'type': 'groundtruth/image-classification',
      },
      // cat 0.9 >= 0.5 and true: TP; dog 0.3 >= 0.2 but false: FP; cow is not an evaluated label: left out
      'rekognition-custom-labels-evaluation-0': 0,
      'rekognition-custom-labels-evaluation-0-metadata': meta('cat', 0.9, { 'rekognition-custom-labels-evaluation-details': details(true, false, false, false, true) }),
      'rekognition-custom-labels-evaluation-1': 1,
      'rekognition-custom-labels-evaluation-1-metadata': meta('dog', 0.3, { 'rekognition-custom-labels-evaluation-details': details(false, false, true, false, false) }),
    });
  });

  test('classification: below-threshold predictions are false negatives or true negatives', () => {
    const testing: LabeledImage[] = [{ sourceRef: 's3://b/2.png', bytes: Buffer.alloc(0), labels: ['dog'], boxes: [] }];
    const line = JSON.parse(testingOutputManifest({ evaluation: classification, testing, kind: 'IMAGE_LEVEL_LABELS', endTime: END }));
    // dog 0.1 < 0.2 and true: FN; cat 0.05 < 0.5 and false: TN
    expect(line['rekognition-custom-labels-evaluation-0-metadata']['rekognition-custom-labels-evaluation-details']).toEqual(details(false, false, false, true, true));
    expect(line['rekognition-custom-labels-evaluation-1-metadata']['rekognition-custom-labels-evaluation-details']).toEqual(details(false, true, false, false, false));
  });

  test('detection: boxes in pixels under one attribute each, flags per object, a shared class map', () => {
    const evaluation: Evaluation = {
      f1: 1, precision: 1, recall: 1, averagePrecision: 1, averageRecall: 1,
      perLabel: [{ label: 'cap', threshold: 0.6, precision: 1, recall: 1, f1: 1, testImages: 1 }, { label: 'ball', threshold: 0.4, precision: 1, recall: 1, f1: 1, testImages: 1 }],
      images: [{
        sourceRef: 's3://b/d.png',
        predictions: [
          { name: 'cap', confidence: 0.95, box: { left: 0.5, top: 0.25, width: 0.25, height: 0.5 } },
          { name: 'ball', confidence: 0.3, box: { left: 0, top: 0, width: 0.1, height: 0.1 } },
        ],
        presentInGroundTruth: [true, false],
        width: 200, height: 100,
      }],
    };
    const testing: LabeledImage[] = [{ sourceRef: 's3://b/d.png', bytes: Buffer.alloc(0), labels: [], boxes: [{ label: 'cap', left: 100, top: 25, width: 50, height: 50 }] }];
    const line = JSON.parse(testingOutputManifest({ evaluation, testing, kind: 'OBJECT_LOCALIZATION', endTime: END }));
    const created = '2019-11-21T07:30:23.910000';
    const classMap = { 0: 'ball', 1: 'cap' };
    expect(line).toEqual({
      'source-ref': 's3://b/d.png',
      'rekognition-custom-labels-training-0': {
        annotations: [{ class_id: 1, top: 25, left: 100, width: 50, height: 50 }], image_size: [{ width: 200, height: 100, depth: 3 }],
      },
      'rekognition-custom-labels-training-0-metadata': {
        'job-name': 'rekognition-custom-labels-training-job', 'class-map': classMap, 'human-annotated': 'yes', 'objects': [{ confidence: 1 }],
        'creation-date': created, 'type': 'groundtruth/object-detection',
      },
      'rekognition-custom-labels-evaluation': {
        annotations: [{ class_id: 1, top: 25, left: 100, width: 50, height: 50 }, { class_id: 0, top: 0, left: 0, width: 20, height: 10 }],
        image_size: [{ width: 200, height: 100, depth: 3 }],
      },
      'rekognition-custom-labels-evaluation-metadata': {
        'confidence': 0.95, 'job-name': 'rekognition-custom-labels-evaluation-job', 'class-map': classMap, 'human-annotated': 'no',
        'objects': [
          { 'confidence': 0.95, 'rekognition-custom-labels-evaluation-details': details(true, false, false, false, true) },
          { 'confidence': 0.3, 'rekognition-custom-labels-evaluation-details': details(false, true, false, false, false) },
        ],
        'creation-date': created, 'type': 'groundtruth/object-detection',
      },
    });
  });

  test('from a real evaluation: one line per image, each prediction in exactly one of TP/TN/FP/FN, same bytes every run', () => {
    const run = (): { summary: string; manifest: string } => {
      const training = detectionSamples({ images: 20, seed: 61 }).map(toLabeled);
      const testing = detectionSamples({ images: 10, seed: 62 }).map(toLabeled);
      const evaluation = evaluateModel(trainModel('OBJECT_LOCALIZATION', training), testing);
      return {
        summary: evaluationSummaryJson({ projectVersionArn: ARN, evaluation, trainingImages: 20, testingImages: 10, endTime: END }),
        manifest: testingOutputManifest({ evaluation, testing, kind: 'OBJECT_LOCALIZATION', endTime: END }),
      };
    };
    const a = run();
    const b = run();
    expect(b.summary).toBe(a.summary);
    expect(b.manifest).toBe(a.manifest);
    const lines = a.manifest.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(10);
    for (const line of lines) {
      for (const o of line['rekognition-custom-labels-evaluation-metadata'].objects) {
        const d = o['rekognition-custom-labels-evaluation-details'];
        const flags = [d['is-true-positive'], d['is-true-negative'], d['is-false-positive'], d['is-false-negative']];
        expect(flags.filter((f) => f)).toHaveLength(1);
      }
    }
  });

  test('classification from a real evaluation lists every evaluated label per image', () => {
    const training = classificationSamples({ perLabel: 10, seed: 71 }).map(toLabeled);
    const testing = classificationSamples({ perLabel: 3, seed: 72 }).map(toLabeled);
    const evaluation = evaluateModel(trainModel('IMAGE_LEVEL_LABELS', training), testing);
    const lines = testingOutputManifest({ evaluation, testing, kind: 'IMAGE_LEVEL_LABELS', endTime: END }).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(9);
    for (const line of lines) {
      const names = [0, 1, 2].map((i) => line[`rekognition-custom-labels-evaluation-${i}-metadata`]['class-name']).sort();
      expect(names).toEqual(['blue-square', 'green-triangle', 'red-circle']);
    }
  });
});
