/** F1 = 2PR/(P+R); 0 when both are 0. */
export function f1Score(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** One scored decision for a label: a classification score, or a predicted box (hit = it matched a ground-truth box). */
export interface ScoredHit {
  score: number;
  hit: boolean;
}

export interface ThresholdChoice {
  threshold: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * The assumed threshold: the decisions "score >= threshold" with the best F1 against `positives` ground-truth items
 * (ties go to the stricter decisions), placed midway between the lowest score they take and the highest score they
 * leave out (0 when they leave none): the service calls it the value that gives the best F1 on the test set, and a
 * threshold sitting exactly on a test score would turn a hair's difference in a new image's score into a missing label
 * [inferred: the service does not say where in that interval it puts the value]. No scores at all: threshold 1.
 */
export function chooseThreshold(items: ScoredHit[], positives: number): ThresholdChoice {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  let best: ThresholdChoice = { threshold: 1, truePositives: 0, falsePositives: 0, falseNegatives: positives, precision: 0, recall: 0, f1: 0 };
  let tp = 0;
  let fp = 0;
  let first = true;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].hit) tp++;
    else fp++;
    // Decide only at the end of a run of equal scores: a threshold takes all of them or none.
    if (i + 1 < sorted.length && sorted[i + 1].score === sorted[i].score) continue;
    const precision = tp / (tp + fp);
    const recall = positives > 0 ? tp / positives : 0;
    const f1 = f1Score(precision, recall);
    if (first || f1 > best.f1) {
      const below = i + 1 < sorted.length ? sorted[i + 1].score : 0;
      const threshold = (sorted[i].score + below) / 2;
      best = { threshold, truePositives: tp, falsePositives: fp, falseNegatives: positives - tp, precision, recall, f1 };
      first = false;
    }
  }
  return best;
}

export interface PixelBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function iou(a: PixelBox, b: PixelBox): number {
  const ix = Math.max(0, Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left));
  const iy = Math.max(0, Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** All-point interpolated area under the precision/recall curve of hits ranked by score (as in PASCAL VOC 2010+). */
export function averagePrecision(ranked: boolean[], positives: number): number {
  if (positives === 0) return 0;
  const precisions: number[] = [];
  const recalls: number[] = [];
  let tp = 0;
  ranked.forEach((hit, i) => {
    if (hit) tp++;
    precisions.push(tp / (i + 1));
    recalls.push(tp / positives);
  });
  for (let i = precisions.length - 2; i >= 0; i--) precisions[i] = Math.max(precisions[i], precisions[i + 1]);
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < recalls.length; i++) {
    ap += (recalls[i] - prevRecall) * precisions[i];
    prevRecall = recalls[i];
  }
  return ap;
}
