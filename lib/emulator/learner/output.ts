import { compareStrings } from './model';
import { EvaluatedImage, Evaluation, LabeledImage, LabelMetrics, ModelKind } from './types';

const TRAINING_JOB = 'rekognition-custom-labels-training-job';
const EVALUATION_JOB = 'rekognition-custom-labels-evaluation-job';
const CLASSIFICATION_TYPE = 'groundtruth/image-classification';
const DETECTION_TYPE = 'groundtruth/object-detection';

/** The service's timestamp style, e.g. 2019-11-21T07:30:23.910943 (UTC, microseconds, no zone). */
export function serviceTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}

function byF1(a: LabelMetrics, b: LabelMetrics): number {
  return b.f1 - a.f1 || compareStrings(a.label, b.label);
}

/**
 * The EvaluationResultSummary-<project>-<version>.json file (reference §7). AveragePrecision/AverageRecall appear
 * for detection and ConfusionMatrix for classification only; LabelEvaluationResults are sorted by F1, highest first
 * [inferred: the docs say "sorted by F1" without a direction].
 */
export function evaluationSummaryJson(args: {
  projectVersionArn: string;
  evaluation: Evaluation;
  trainingImages: number;
  testingImages: number;
  endTime: Date;
}): string {
  const { evaluation } = args;
  const metrics: Record<string, unknown> = {
    Precision: evaluation.precision,
    Recall: evaluation.recall,
    F1Score: evaluation.f1,
  };
  if (evaluation.averagePrecision !== undefined) metrics.AveragePrecision = evaluation.averagePrecision;
  if (evaluation.averageRecall !== undefined) metrics.AverageRecall = evaluation.averageRecall;
  if (evaluation.confusionMatrix !== undefined) metrics.ConfusionMatrix = evaluation.confusionMatrix;
  const summary = {
    Version: 1,
    EvaluationDetails: {
      ProjectVersionArn: args.projectVersionArn,
      EvaluationEndTimestamp: serviceTimestamp(args.endTime),
      Labels: evaluation.labels ?? evaluation.perLabel.map((m) => m.label).sort(compareStrings),
      NumberOfTrainingImages: args.trainingImages,
      NumberOfTestingImages: args.testingImages,
    },
    AggregatedEvaluationResults: { Metrics: metrics },
    LabelEvaluationResults: [...evaluation.perLabel].sort(byF1).map((m) => ({
      Label: m.label,
      NumberOfTestingImages: m.testImages,
      Metrics: { Threshold: m.threshold, Precision: m.precision, Recall: m.recall, F1Score: m.f1 },
    })),
  };
  return JSON.stringify(summary);
}

function details(predicted: boolean, present: boolean): Record<string, unknown> {
  return {
    'version': 1,
    'is-true-positive': predicted && present,
    'is-true-negative': !predicted && !present,
    'is-false-positive': predicted && !present,
    'is-false-negative': !predicted && present,
    'is-present-in-ground-truth': present,
    'ground-truth-labelling-jobs': [TRAINING_JOB],
  };
}

/**
 * The testing manifest snapshot (reference §7): one JSON line per evaluated test image, ground truth under
 * rekognition-custom-labels-training-*, predictions under rekognition-custom-labels-evaluation*. Every prediction for
 * an evaluated label is listed, each flagged against that label's assumed threshold [inferred: the docs do not say
 * whether predictions below the threshold are listed; the true-negative flag suggests they are].
 */
export function testingOutputManifest(args: { evaluation: Evaluation; testing: LabeledImage[]; kind: ModelKind; endTime: Date }): string {
  const { evaluation } = args;
  const created = serviceTimestamp(args.endTime);
  const thresholds = new Map(evaluation.perLabel.map((m) => [m.label, m.threshold]));
  const classIds = new Map([...thresholds.keys()].sort(compareStrings).map((label, i) => [label, i]));
  const classMap = Object.fromEntries([...classIds].map(([label, id]) => [String(id), label]));
  const evaluated = new Map(evaluation.images.map((i) => [i.sourceRef, i]));
  const lines: string[] = [];
  for (const image of args.testing) {
    const result = evaluated.get(image.sourceRef);
    if (!result) continue;
    const line = args.kind === 'IMAGE_LEVEL_LABELS'
      ? classificationLine(image, result, thresholds, classIds, created)
      : detectionLine(image, result, thresholds, classIds, classMap, created);
    lines.push(`${JSON.stringify(line)}\n`);
  }
  return lines.join('');
}

function classificationLine(image: LabeledImage, result: EvaluatedImage, thresholds: Map<string, number>, classIds: Map<string, number>,
  created: string): Record<string, unknown> {
  const line: Record<string, unknown> = { 'source-ref': image.sourceRef };
  [...new Set(image.labels)].forEach((label, i) => {
    line[`rekognition-custom-labels-training-${i}`] = classIds.get(label) ?? 0;
    line[`rekognition-custom-labels-training-${i}-metadata`] = {
      'confidence': 1,
      'job-name': TRAINING_JOB,
      'class-name': label,
      'human-annotated': 'yes',
      'creation-date': created,
      'type': CLASSIFICATION_TYPE,
    };
  });
  let n = 0;
  result.predictions.forEach((p, k) => {
    const threshold = thresholds.get(p.name);
    if (threshold === undefined) return;
    line[`rekognition-custom-labels-evaluation-${n}`] = classIds.get(p.name) ?? 0;
    line[`rekognition-custom-labels-evaluation-${n}-metadata`] = {
      'confidence': p.confidence,
      'job-name': EVALUATION_JOB,
      'class-name': p.name,
      'human-annotated': 'no',
      'creation-date': created,
      'type': CLASSIFICATION_TYPE,
      'rekognition-custom-labels-evaluation-details': details(p.confidence >= threshold, result.presentInGroundTruth[k] ?? false),
    };
    n++;
  });
  return line;
}

function detectionLine(image: LabeledImage, result: EvaluatedImage, thresholds: Map<string, number>, classIds: Map<string, number>,
  classMap: Record<string, string>, created: string): Record<string, unknown> {
  const imageSize = [{ width: result.width, height: result.height, depth: 3 }];
  const annotations: Array<Record<string, number>> = [];
  const objects: Array<Record<string, unknown>> = [];
  result.predictions.forEach((p, k) => {
    const threshold = thresholds.get(p.name);
    if (threshold === undefined || !p.box) return;
    annotations.push({
      class_id: classIds.get(p.name) ?? 0,
      top: Math.round(p.box.top * result.height),
      left: Math.round(p.box.left * result.width),
      width: Math.max(1, Math.round(p.box.width * result.width)),
      height: Math.max(1, Math.round(p.box.height * result.height)),
    });
    objects.push({
      'confidence': p.confidence,
      'rekognition-custom-labels-evaluation-details': details(p.confidence >= threshold, result.presentInGroundTruth[k] ?? false),
    });
  });
  const confidences = objects.map((o) => o.confidence as number);
  return {
    'source-ref': image.sourceRef,
    'rekognition-custom-labels-training-0': {
      annotations: image.boxes.map((b) => ({ class_id: classIds.get(b.label) ?? 0, top: b.top, left: b.left, width: b.width, height: b.height })),
      image_size: imageSize,
    },
    'rekognition-custom-labels-training-0-metadata': {
      'job-name': TRAINING_JOB,
      'class-map': classMap,
      'human-annotated': 'yes',
      'objects': image.boxes.map(() => ({ confidence: 1 })),
      'creation-date': created,
      'type': DETECTION_TYPE,
    },
    'rekognition-custom-labels-evaluation': { annotations, image_size: imageSize },
    'rekognition-custom-labels-evaluation-metadata': {
      // [inferred] the docs show one line-level confidence without saying what it is; we use the best object's.
      'confidence': confidences.length > 0 ? Math.max(...confidences) : 0,
      'job-name': EVALUATION_JOB,
      'class-map': classMap,
      'human-annotated': 'no',
      'objects': objects,
      'creation-date': created,
      'type': DETECTION_TYPE,
    },
  };
}
