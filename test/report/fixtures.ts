/**
 * Evaluation files made offline by the emulator's learner, as training writes them: a summary, the testing-output
 * manifest and the test images in a folder standing for the bucket. Deterministic (seeded samples, fixed end time).
 */
import * as path from 'node:path';

import {
  evaluateModel, evaluationSummaryJson, LabeledImage, ModelKind, testingOutputManifest, trainModel,
} from '../../lib/emulator/learner';
import { classificationSamples, detectionSamples, SampleImage, writeSamplesToFolder } from '../../lib/samples/shapes';

export const BUCKET = 'report-bucket';
const END = new Date('2026-11-21T07:30:23.910Z');

export interface EvaluationFixture {
  readonly kind: ModelKind;
  readonly summary: string;
  readonly testingOutput: string;
  /** Folder standing for s3://report-bucket/ (the test images are under test/). */
  readonly imagesDir: string;
  readonly testImages: SampleImage[];
}

const toLabeled = (prefix: string) => (s: SampleImage): LabeledImage =>
  ({ sourceRef: `s3://${BUCKET}/${prefix}/${s.relPath}`, bytes: s.bytes, labels: s.labels, boxes: s.boxes });

/**
 * A model trained on few images, so that the evaluation has false positives and negatives to show.
 * Classification: three red shapes told apart by shape alone; detection: the default shapes, 96 px images.
 */
export function evaluationFixture(kind: ModelKind, dir: string): EvaluationFixture {
  const labels = ['red-circle', 'red-square', 'red-triangle'];
  const [training, testing] = kind === 'IMAGE_LEVEL_LABELS'
    ? [classificationSamples({ perLabel: 2, seed: 301, labels }), classificationSamples({ perLabel: 4, seed: 302, labels })]
    : [detectionSamples({ images: 6, seed: 311, size: 96 }), detectionSamples({ images: 6, seed: 312, size: 96 })];
  const model = trainModel(kind, training.map(toLabeled('train')));
  // The learner is good at shapes: a few test images carry a wrong ground truth, so there are mistakes to show.
  const testLabeled = testing.map(toLabeled('test')).map((image, i) => (i % 4 === 1 ? mislabel(image, model.labels) : image));
  const evaluation = evaluateModel(model, testLabeled);
  const arn = `arn:aws:rekognition:us-east-1:123456789012:project/report-${kind === 'IMAGE_LEVEL_LABELS' ? 'cls' : 'det'}/version/v1/1795000000000`;
  const summary = evaluationSummaryJson({
    projectVersionArn: arn, evaluation, trainingImages: training.length, testingImages: testing.length, endTime: END,
  });
  const testingOutput = testingOutputManifest({ evaluation, testing: testLabeled, kind, endTime: END });
  const imagesDir = path.join(dir, 'bucket');
  writeSamplesToFolder(path.join(imagesDir, 'test'), testing);
  return { kind, summary, testingOutput, imagesDir, testImages: testing };
}

/** The image with each label (and box label) replaced by the next of `labels`. */
function mislabel(image: LabeledImage, labels: string[]): LabeledImage {
  const next = (l: string): string => labels[(labels.indexOf(l) + 1) % labels.length];
  return { ...image, labels: image.labels.map(next), boxes: image.boxes.map((b) => ({ ...b, label: next(b.label) })) };
}
