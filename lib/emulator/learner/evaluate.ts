import { averagePrecision, chooseThreshold, f1Score, iou, PixelBox, ScoredHit, ThresholdChoice } from './metrics';
import { compareStrings, detectSized } from './model';
import { Detection, EvaluatedImage, Evaluation, LabeledImage, LabelMetrics, TrainedModel } from './types';

/** A predicted box matches a ground-truth box of the same label at IoU >= this (the F1 and threshold figures). */
const MATCH_IOU = 0.5;
/** mAP and mAR average over these IoU thresholds, as COCO does [inferred: the service does not say which]. */
const IOU_STEPS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/** A test image with the model's raw predictions for it. */
export interface ScoredImage {
  readonly image: LabeledImage;
  readonly predictions: Detection[];
  readonly width: number;
  readonly height: number;
}
type Scored = ScoredImage;

function byF1(a: LabelMetrics, b: LabelMetrics): number {
  return b.f1 - a.f1 || compareStrings(a.label, b.label);
}

function toMetrics(label: string, choice: ThresholdChoice, testImages: number): LabelMetrics {
  return { label, threshold: choice.threshold, precision: choice.precision, recall: choice.recall, f1: choice.f1, testImages };
}

/** Micro average over labels, so the aggregate obeys F1 = 2PR/(P+R) [inferred: the docs give no averaging rule]. */
function aggregate(choices: ThresholdChoice[]): { precision: number; recall: number; f1: number } {
  let tp = 0, fp = 0, fn = 0;
  for (const c of choices) {
    tp += c.truePositives;
    fp += c.falsePositives;
    fn += c.falseNegatives;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return { precision, recall, f1: f1Score(precision, recall) };
}

function sortedUnion(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort(compareStrings);
}

/**
 * Scores the model on the test images. Labels evaluated = labels in the test set's ground truth; a model label absent
 * from the test set has no row (nothing to measure it against) [inferred]; a test label the model never learned
 * gets precision, recall and F1 of 0. Throws ImageDecodeError for an unreadable image.
 */
export function evaluateModel(model: TrainedModel, testing: LabeledImage[]): Evaluation {
  return evaluateScored(model, testing.map((image) => scoreImage(model, image)));
}

/** The model's predictions for one test image (evaluateModel's per-image step; throws ImageDecodeError). */
export function scoreImage(model: TrainedModel, image: LabeledImage): ScoredImage {
  return { image, ...detectSized(model, image.bytes) };
}

/** evaluateModel, from images scored already (see scoreImage). */
export function evaluateScored(model: TrainedModel, scored: ScoredImage[]): Evaluation {
  return model.kind === 'IMAGE_LEVEL_LABELS' ? evaluateClassification(model, scored) : evaluateDetection(model, scored);
}

function evaluateClassification(model: TrainedModel, scored: Scored[]): Evaluation {
  const labels = sortedUnion(...scored.map((s) => s.image.labels));
  const choices: ThresholdChoice[] = [];
  const perLabel: LabelMetrics[] = [];
  for (const label of labels) {
    const items: ScoredHit[] = scored.map((s) => ({
      score: s.predictions.find((p) => p.name === label)?.confidence ?? 0,
      hit: s.image.labels.includes(label),
    }));
    const positives = items.filter((i) => i.hit).length;
    // A label the model never learned predicts nothing: every test image carrying it is a miss.
    const choice = model.labels.includes(label)
      ? chooseThreshold(items, positives)
      : chooseThreshold([], positives);
    choices.push(choice);
    perLabel.push(toMetrics(label, choice, positives));
  }
  // Each ground-truth label's images, spread over the label the model ranks first.
  const confusionMatrix: NonNullable<Evaluation['confusionMatrix']> = [];
  for (const truth of labels) {
    const carrying = scored.filter((s) => s.image.labels.includes(truth));
    for (const predicted of model.labels) {
      const count = carrying.filter((s) => s.predictions[0]?.name === predicted).length;
      confusionMatrix.push({ GroundTruthLabel: truth, PredictedLabel: predicted, Value: carrying.length > 0 ? count / carrying.length : 0 });
    }
  }
  const images: EvaluatedImage[] = scored.map((s) => ({
    sourceRef: s.image.sourceRef,
    predictions: s.predictions,
    presentInGroundTruth: s.predictions.map((p) => s.image.labels.includes(p.name)),
    width: s.width,
    height: s.height,
  }));
  return { ...aggregate(choices), perLabel: perLabel.sort(byF1), confusionMatrix, images, labels: sortedUnion(model.labels, labels) };
}

interface Candidate {
  image: number;
  index: number;
  score: number;
  box: PixelBox;
}

/** Greedy matching, highest score first: each prediction takes the unmatched truth box it overlaps most. */
function match(candidates: Candidate[], truths: PixelBox[][], minIou: number): boolean[] {
  const taken = truths.map((boxes) => boxes.map(() => false));
  return candidates.map((c) => {
    let best = -1;
    let bestIou = minIou;
    truths[c.image].forEach((t, j) => {
      const v = iou(c.box, t);
      if (!taken[c.image][j] && v >= bestIou) {
        best = j;
        bestIou = v;
      }
    });
    if (best < 0) return false;
    taken[c.image][best] = true;
    return true;
  });
}

function evaluateDetection(model: TrainedModel, scored: Scored[]): Evaluation {
  const labels = sortedUnion(...scored.map((s) => s.image.boxes.map((b) => b.label)));
  const present = scored.map((s) => s.predictions.map(() => false));
  const choices: ThresholdChoice[] = [];
  const perLabel: LabelMetrics[] = [];
  let apSum = 0;
  let arSum = 0;
  for (const label of labels) {
    const truths = scored.map((s) => s.image.boxes.filter((b) => b.label === label));
    const positives = truths.reduce((n, t) => n + t.length, 0);
    const candidates: Candidate[] = [];
    scored.forEach((s, image) => s.predictions.forEach((p, index) => {
      if (p.name !== label || !p.box) return;
      const box = { left: p.box.left * s.width, top: p.box.top * s.height, width: p.box.width * s.width, height: p.box.height * s.height };
      candidates.push({ image, index, score: p.confidence, box });
    }));
    candidates.sort((a, b) => b.score - a.score || a.image - b.image || a.index - b.index);
    const hits = match(candidates, truths, MATCH_IOU);
    hits.forEach((hit, k) => {
      present[candidates[k].image][candidates[k].index] = hit;
    });
    const choice = chooseThreshold(candidates.map((c, k) => ({ score: c.score, hit: hits[k] })), positives);
    choices.push(choice);
    perLabel.push(toMetrics(label, choice, truths.filter((t) => t.length > 0).length));
    let ap = 0;
    let ar = 0;
    for (const step of IOU_STEPS) {
      const stepHits = step === MATCH_IOU ? hits : match(candidates, truths, step);
      ap += averagePrecision(stepHits, positives);
      ar += positives > 0 ? stepHits.filter((h) => h).length / positives : 0;
    }
    apSum += ap / IOU_STEPS.length;
    arSum += ar / IOU_STEPS.length;
  }
  const images: EvaluatedImage[] = scored.map((s, i) => ({
    sourceRef: s.image.sourceRef,
    predictions: s.predictions,
    presentInGroundTruth: present[i],
    width: s.width,
    height: s.height,
  }));
  return {
    ...aggregate(choices),
    averagePrecision: labels.length > 0 ? apSum / labels.length : 0,
    averageRecall: labels.length > 0 ? arSum / labels.length : 0,
    perLabel: perLabel.sort(byF1),
    images,
    labels: sortedUnion(model.labels, labels),
  };
}

/** Precision and recall with the given F1 that keep the P/R ratio of the originals (P = R = F1 when it can't). */
function withF1(precision: number, recall: number, f1: number): { precision: number; recall: number; f1: number } {
  if (precision <= 0 || recall <= 0) return { precision: f1, recall: f1, f1 };
  const ratio = precision / recall;
  let p = (f1 * (ratio + 1)) / 2;
  let r = p / ratio;
  if (p > 1) {
    p = 1;
    r = f1 / (2 - f1);
  } else if (r > 1) {
    r = 1;
    p = f1 / (2 - f1);
  }
  return { precision: p, recall: r, f1 };
}

/**
 * For tests that need a given score: the aggregate F1 becomes `f1`; every label's F1 (and mAP, mAR) is scaled by the
 * same factor (capped at 1), each precision/recall pair keeping its ratio so F1 = 2PR/(P+R) still holds. Thresholds,
 * predictions and the confusion matrix are unchanged. From an all-zero evaluation every label gets `f1`.
 */
export function withForcedF1(evaluation: Evaluation, f1: number): Evaluation {
  if (!(f1 >= 0 && f1 <= 1)) throw new Error(`f1 must be a number within 0..1, got: ${f1}`);
  const factor = evaluation.f1 > 0 ? f1 / evaluation.f1 : undefined;
  const scale = (v: number): number => (factor === undefined ? f1 : Math.min(1, v * factor));
  const perLabel = evaluation.perLabel
    .map((m) => ({ ...m, ...withF1(m.precision, m.recall, scale(m.f1)) }))
    .sort(byF1);
  const forced: Evaluation = { ...evaluation, ...withF1(evaluation.precision, evaluation.recall, f1), perLabel };
  if (evaluation.averagePrecision !== undefined) forced.averagePrecision = scale(evaluation.averagePrecision);
  if (evaluation.averageRecall !== undefined) forced.averageRecall = scale(evaluation.averageRecall);
  return forced;
}
