import {
  detect, evaluateModel, Evaluation, ImageDecodeError, iou, LabeledImage, TrainedModel, trainModel, withForcedF1,
} from '../../../lib/emulator/learner';
import { classificationSamples, detectionSamples, renderPng, SampleImage } from '../../../lib/samples/shapes';

const toLabeled = (s: SampleImage): LabeledImage => ({ sourceRef: `s3://bucket/${s.relPath}`, bytes: s.bytes, labels: s.labels, boxes: s.boxes });

describe('classification', () => {
  const training = classificationSamples({ perLabel: 40, seed: 1 }).map(toLabeled);
  const testing = classificationSamples({ perLabel: 20, seed: 2 }).map(toLabeled);
  const model = trainModel('IMAGE_LEVEL_LABELS', training);
  const evaluation = evaluateModel(model, testing);

  test('learns the labels of the training set, sorted', () => {
    expect(model.kind).toBe('IMAGE_LEVEL_LABELS');
    expect(model.labels).toEqual(['blue-square', 'green-triangle', 'red-circle']);
    expect(model.trainingImages).toBe(120);
  });

  test('reaches F1 >= 0.9 on a held-out set generated with another seed', () => {
    expect(evaluation.f1).toBeGreaterThanOrEqual(0.9);
    for (const m of evaluation.perLabel) {
      expect(m.f1).toBeGreaterThanOrEqual(0.9);
      expect(m.testImages).toBe(20);
    }
  });

  test('predictions depend on the image', () => {
    // GIVEN images drawn here, not taken from the sample generator
    const redCircle = renderPng(64, 64, [{ kind: 'circle', color: [224, 32, 32], left: 10, top: 14, size: 30 }], { noiseSeed: 5 });
    const blueSquare = renderPng(64, 64, [{ kind: 'square', color: [32, 32, 224], left: 30, top: 20, size: 24 }], { noiseSeed: 6 });

    // THEN each ranks its own label first, with every label scored in 0..1
    const a = detect(model, redCircle);
    const b = detect(model, blueSquare);
    expect(a[0].name).toBe('red-circle');
    expect(b[0].name).toBe('blue-square');
    expect(a.map((d) => d.name).sort()).toEqual(model.labels);
    for (const d of [...a, ...b]) {
      expect(d.confidence).toBeGreaterThanOrEqual(0);
      expect(d.confidence).toBeLessThanOrEqual(1);
      expect(d.box).toBeUndefined();
    }
    expect(a[0].confidence).toBeGreaterThan(a[1].confidence);
  });

  test('shape counts, not only colour: same-colour labels are told apart', () => {
    const labels = ['red-circle', 'red-square', 'red-triangle'];
    const m = trainModel('IMAGE_LEVEL_LABELS', classificationSamples({ perLabel: 30, seed: 11, labels }).map(toLabeled));
    const e = evaluateModel(m, classificationSamples({ perLabel: 15, seed: 12, labels }).map(toLabeled));
    expect(e.f1).toBeGreaterThanOrEqual(0.9);
  });

  test('multi-label: images carrying several labels are scored per label', () => {
    // GIVEN the detection samples read as image-level labels (1..3 shapes, labels = the shapes present)
    const asImageLabels = (x: SampleImage): LabeledImage => ({ ...toLabeled(x), boxes: [] });
    const m = trainModel('IMAGE_LEVEL_LABELS', detectionSamples({ images: 120, seed: 13 }).map(asImageLabels));
    const e = evaluateModel(m, detectionSamples({ images: 60, seed: 14 }).map(asImageLabels));
    expect(e.f1).toBeGreaterThanOrEqual(0.85);
  });

  test('also learns from JPEG images', () => {
    const m = trainModel('IMAGE_LEVEL_LABELS', classificationSamples({ perLabel: 8, seed: 21, format: 'jpeg' }).map(toLabeled));
    const e = evaluateModel(m, classificationSamples({ perLabel: 5, seed: 22, format: 'jpeg' }).map(toLabeled));
    expect(e.f1).toBeGreaterThanOrEqual(0.9);
  });

  test('thresholds are in 0..1 and per-label figures obey F1 = 2PR/(P+R)', () => {
    for (const m of evaluation.perLabel) {
      expect(m.threshold).toBeGreaterThanOrEqual(0);
      expect(m.threshold).toBeLessThanOrEqual(1);
      expect(m.f1).toBeCloseTo((2 * m.precision * m.recall) / (m.precision + m.recall), 10);
    }
    expect(evaluation.f1).toBeCloseTo((2 * evaluation.precision * evaluation.recall) / (evaluation.precision + evaluation.recall), 10);
  });

  test('each label\'s threshold lies midway between two neighbouring observed scores and separates what it should', () => {
    for (const m of evaluation.perLabel) {
      const scores = evaluation.images.map((img) => img.predictions.find((p) => p.name === m.label)!.confidence);
      const above = Math.min(...scores.filter((x) => x >= m.threshold));
      const below = Math.max(0, ...scores.filter((x) => x < m.threshold));
      expect(m.threshold).toBeCloseTo((above + below) / 2, 10);
      // recount precision and recall at that threshold from the raw scores
      const predicted = evaluation.images.filter((_, i) => scores[i] >= m.threshold);
      const tp = predicted.filter((img) => testing.find((t) => t.sourceRef === img.sourceRef)!.labels.includes(m.label)).length;
      expect(m.precision).toBeCloseTo(tp / predicted.length, 10);
      expect(m.recall).toBeCloseTo(tp / m.testImages, 10);
    }
  });

  test('the confusion matrix holds, per ground-truth label, fractions that sum to 1', () => {
    const matrix = evaluation.confusionMatrix!;
    expect(matrix).toHaveLength(9);
    for (const truth of model.labels) {
      const row = matrix.filter((c) => c.GroundTruthLabel === truth);
      expect(row.reduce((s, c) => s + c.Value, 0)).toBeCloseTo(1, 10);
      expect(row.find((c) => c.PredictedLabel === truth)!.Value).toBeGreaterThanOrEqual(0.9);
    }
    expect(evaluation.averagePrecision).toBeUndefined();
  });

  test('perLabel is sorted by F1, highest first', () => {
    const f1s = evaluation.perLabel.map((m) => m.f1);
    expect(f1s).toEqual([...f1s].sort((a, b) => b - a));
  });

  test('a test label the model never learned scores 0; a learned label absent from the test set has no row', () => {
    // GIVEN a test set without blue squares and with yellow circles the model never saw
    const extra = classificationSamples({ perLabel: 5, seed: 3, labels: ['yellow-circle', 'red-circle'] }).map(toLabeled);
    const e = evaluateModel(model, extra);
    expect(e.perLabel.map((m) => m.label).sort()).toEqual(['red-circle', 'yellow-circle']);
    const yellow = e.perLabel.find((m) => m.label === 'yellow-circle')!;
    expect([yellow.precision, yellow.recall, yellow.f1]).toEqual([0, 0, 0]);
    expect(e.labels).toEqual(['blue-square', 'green-triangle', 'red-circle', 'yellow-circle']);
  });

  test('presentInGroundTruth flags the predictions that name a true label', () => {
    const img = evaluation.images[0];
    const truth = testing[0].labels;
    expect(img.presentInGroundTruth).toEqual(img.predictions.map((p) => truth.includes(p.name)));
    expect([img.width, img.height]).toEqual([64, 64]);
  });
});

describe('detection', () => {
  const training = detectionSamples({ images: 60, seed: 31 }).map(toLabeled);
  const testing = detectionSamples({ images: 30, seed: 32 }).map(toLabeled);
  const model = trainModel('OBJECT_LOCALIZATION', training);
  const evaluation = evaluateModel(model, testing);

  test('reaches F1 >= 0.9 on a held-out set, with mAP and mAR in 0..1 and no confusion matrix', () => {
    expect(evaluation.f1).toBeGreaterThanOrEqual(0.9);
    expect(evaluation.averagePrecision).toBeGreaterThanOrEqual(0.8);
    expect(evaluation.averagePrecision).toBeLessThanOrEqual(1);
    expect(evaluation.averageRecall).toBeGreaterThanOrEqual(0.8);
    expect(evaluation.averageRecall).toBeLessThanOrEqual(1);
    expect(evaluation.confusionMatrix).toBeUndefined();
  });

  test('finds each drawn shape with its label and a box (ratios) that overlaps it', () => {
    // GIVEN two shapes drawn here
    const bytes = renderPng(64, 64, [
      { kind: 'circle', color: [224, 32, 32], left: 4, top: 6, size: 20 },
      { kind: 'square', color: [32, 32, 224], left: 36, top: 30, size: 22 },
    ], { noiseSeed: 9 });

    const found = detect(model, bytes);

    expect(found).toHaveLength(2);
    const circle = found.find((d) => d.name === 'red-circle')!;
    const square = found.find((d) => d.name === 'blue-square')!;
    const px = (b: NonNullable<typeof circle.box>) => ({ left: b.left * 64, top: b.top * 64, width: b.width * 64, height: b.height * 64 });
    expect(iou(px(circle.box!), { left: 4, top: 6, width: 20, height: 20 })).toBeGreaterThan(0.8);
    expect(iou(px(square.box!), { left: 36, top: 30, width: 22, height: 22 })).toBeGreaterThan(0.8);
    expect(found[0].confidence).toBeGreaterThanOrEqual(found[1].confidence);
  });

  test('an image with nothing on it yields no detections', () => {
    expect(detect(model, renderPng(64, 64, [], { noiseSeed: 1 }))).toEqual([]);
  });

  test('testImages counts the test images carrying each label', () => {
    for (const m of evaluation.perLabel) {
      expect(m.testImages).toBe(testing.filter((t) => t.boxes.some((b) => b.label === m.label)).length);
    }
  });
});

describe('determinism and serialisation', () => {
  const run = (): { model: TrainedModel; evaluation: Evaluation } => {
    const model = trainModel('OBJECT_LOCALIZATION', detectionSamples({ images: 20, seed: 41 }).map(toLabeled));
    return { model, evaluation: evaluateModel(model, detectionSamples({ images: 10, seed: 42 }).map(toLabeled)) };
  };

  test('two runs give identical models and metrics', () => {
    const a = run();
    const b = run();
    expect(JSON.stringify(a.model)).toBe(JSON.stringify(b.model));
    expect(JSON.stringify(a.evaluation)).toBe(JSON.stringify(b.evaluation));
  });

  test('a model that went through JSON detects exactly as before', () => {
    const { model } = run();
    const revived = JSON.parse(JSON.stringify(model)) as TrainedModel;
    const bytes = detectionSamples({ images: 1, seed: 43 })[0].bytes;
    expect(detect(revived, bytes)).toEqual(detect(model, bytes));
  });

  test('detect refuses a model it did not train', () => {
    const fake = { kind: 'IMAGE_LEVEL_LABELS', labels: ['a'] } as unknown as TrainedModel;
    expect(() => detect(fake, renderPng(64, 64, []))).toThrow('The model was not trained by this learner (algorithm centroid-histogram-v1).');
  });

  test('corrupt bytes raise ImageDecodeError from train, detect and evaluate', () => {
    const bad: LabeledImage = { sourceRef: 's3://b/x.png', bytes: Buffer.from('not an image'), labels: ['a'], boxes: [] };
    const { model } = run();
    expect(() => trainModel('IMAGE_LEVEL_LABELS', [bad])).toThrow(ImageDecodeError);
    expect(() => detect(model, bad.bytes)).toThrow(ImageDecodeError);
    expect(() => evaluateModel(model, [bad])).toThrow('The image is neither a PNG nor a JPEG.');
  });

  test('an unknown kind is refused by name', () => {
    expect(() => trainModel('CONTENT_MODERATION' as unknown as 'IMAGE_LEVEL_LABELS', [])).toThrow(
      'kind must be IMAGE_LEVEL_LABELS or OBJECT_LOCALIZATION, got: CONTENT_MODERATION');
  });
});

describe('speed (CPU time, so other processes on the machine do not count)', () => {
  test('train + evaluate on 1,000 64x64 PNGs well under 2 s; detect on one under 1 ms', () => {
    const images = classificationSamples({ perLabel: 334, seed: 51 }).map(toLabeled);
    const start = process.cpuUsage();
    const model = trainModel('IMAGE_LEVEL_LABELS', images.slice(0, 800));
    evaluateModel(model, images.slice(800));
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);

    const detStart = process.cpuUsage();
    for (let i = 0; i < 200; i++) detect(model, images[i].bytes);
    const detUsed = process.cpuUsage(detStart);
    expect((detUsed.user + detUsed.system) / 1000 / 200).toBeLessThan(1);
  });
});

describe('withForcedF1', () => {
  const base: Evaluation = {
    f1: 0.8, precision: 0.8, recall: 0.8, averagePrecision: 0.6, averageRecall: 0.7,
    perLabel: [
      { label: 'a', threshold: 0.5, precision: 0.9, recall: 0.9, f1: 0.9, testImages: 3 },
      { label: 'b', threshold: 0.4, precision: 1, recall: 0.5, f1: 2 / 3, testImages: 4 },
    ],
    images: [],
  };

  test('scales the aggregate and every label by the same factor, keeping F1 = 2PR/(P+R)', () => {
    const forced = withForcedF1(base, 0.4);
    expect(forced.f1).toBe(0.4);
    expect(forced.precision).toBeCloseTo(0.4, 10);
    expect(forced.recall).toBeCloseTo(0.4, 10);
    const a = forced.perLabel.find((m) => m.label === 'a')!;
    const b = forced.perLabel.find((m) => m.label === 'b')!;
    expect(a.f1).toBeCloseTo(0.45, 10);
    expect(b.f1).toBeCloseTo(1 / 3, 10);
    // b keeps P/R = 2: P = 2R, 2*2R*R/(3R) = 4R/3 = 1/3 -> R = 0.25, P = 0.5
    expect(b.precision).toBeCloseTo(0.5, 10);
    expect(b.recall).toBeCloseTo(0.25, 10);
    expect(forced.averagePrecision).toBeCloseTo(0.3, 10);
    expect(forced.averageRecall).toBeCloseTo(0.35, 10);
    expect(b.threshold).toBe(0.4);
  });

  test('raising caps at 1 and keeps labels sorted by F1', () => {
    const forced = withForcedF1(base, 1);
    expect(forced.perLabel.map((m) => m.label)).toEqual(['a', 'b']);
    expect(forced.perLabel[0].f1).toBe(1);
    // b: 2/3 * 1.25 = 0.8333 with P capped at 1 -> R = F/(2-F)
    expect(forced.perLabel[1].f1).toBeCloseTo(5 / 6, 10);
    expect(forced.perLabel[1].precision).toBe(1);
    expect(forced.perLabel[1].recall).toBeCloseTo((5 / 6) / (2 - 5 / 6), 10);
  });

  test('from an all-zero evaluation every label gets the forced figure', () => {
    const zero: Evaluation = { ...base, f1: 0, precision: 0, recall: 0, perLabel: [{ ...base.perLabel[0], precision: 0, recall: 0, f1: 0 }] };
    const forced = withForcedF1(zero, 0.7);
    expect(forced.perLabel[0]).toMatchObject({ precision: 0.7, recall: 0.7, f1: 0.7 });
  });

  test('does not change its input and refuses figures outside 0..1', () => {
    const copy = JSON.parse(JSON.stringify(base)) as Evaluation;
    withForcedF1(base, 0.2);
    expect(base).toEqual(copy);
    expect(() => withForcedF1(base, 1.5)).toThrow('f1 must be a number within 0..1, got: 1.5');
    expect(() => withForcedF1(base, Number.NaN)).toThrow('f1 must be a number within 0..1, got: NaN');
  });
});
