/**
 * Predictions to review: a manifest in Ground Truth form whose label attributes carry `human-annotated: "no"` and
 * confidences (a batch inference output written as a manifest, or the testing-output manifest of a training).
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */
import { CLASSIFICATION_TYPE, DETECTION_TYPE } from '../manifest/types';
import { PixelBox } from './lines';

export interface Prediction {
  /** Index within its image, in review order (lowest confidence first). */
  readonly id: number;
  readonly kind: 'label' | 'box';
  readonly label: string;
  /** 0..1 (percentages, as DetectCustomLabels gives them, are divided by 100). */
  readonly confidence: number;
  /** Box predictions only, in pixels. */
  readonly box?: PixelBox;
}

export interface PredictionLine {
  readonly sourceRef: string;
  readonly predictions: Prediction[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function confidenceOf(v: unknown): number {
  if (!isNumber(v) || v < 0) return 0;
  return v > 1 ? Math.min(1, v / 100) : v;
}

/**
 * The predictions of each line (lines without a machine-made attribute, or that are not JSON, are left out), each
 * line's predictions sorted by confidence, lowest first.
 */
export function parsePredictions(text: string): { lines: PredictionLine[]; skippedLines: number } {
  const lines: PredictionLine[] = [];
  let skippedLines = 0;
  for (const raw of text.split('\n')) {
    const t = raw.trim().replace(/^\uFEFF/, '');
    if (t === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      skippedLines++;
      continue;
    }
    if (!isObject(obj) || typeof obj['source-ref'] !== 'string') {
      skippedLines++;
      continue;
    }
    const found = predictionsOf(obj);
    if (found.length === 0) {
      skippedLines++;
      continue;
    }
    const sorted = found
      .map((p, i) => ({ p, i }))
      .sort((a, b) => a.p.confidence - b.p.confidence || a.i - b.i)
      .map(({ p }, id) => ({ ...p, id }));
    lines.push({ sourceRef: obj['source-ref'], predictions: sorted });
  }
  return { lines, skippedLines };
}

function predictionsOf(obj: Json): Array<Omit<Prediction, 'id'>> {
  const out: Array<Omit<Prediction, 'id'>> = [];
  for (const key of Object.keys(obj)) {
    const meta = obj[`${key}-metadata`];
    if (key.endsWith('-metadata') || !isObject(meta) || meta['human-annotated'] !== 'no') continue;
    const value = obj[key];
    if (meta.type === CLASSIFICATION_TYPE && typeof meta['class-name'] === 'string' && meta['class-name'] !== '') {
      out.push({ kind: 'label', label: meta['class-name'], confidence: confidenceOf(meta.confidence) });
    } else if (meta.type === DETECTION_TYPE && isObject(value) && Array.isArray(value.annotations)) {
      const classMap = isObject(meta['class-map']) ? meta['class-map'] : {};
      const objects = Array.isArray(meta.objects) ? meta.objects : [];
      value.annotations.forEach((a: unknown, i: number) => {
        if (!isObject(a)) return;
        const label = classMap[String(a.class_id)];
        const { left, top, width, height } = a;
        if (typeof label !== 'string' || !isNumber(left) || !isNumber(top) || !isNumber(width) || !isNumber(height)) return;
        const o = objects[i];
        out.push({
          kind: 'box', label, confidence: confidenceOf(isObject(o) ? o.confidence : undefined),
          box: { label, left: Math.round(left), top: Math.round(top), width: Math.round(width), height: Math.round(height) },
        });
      });
    }
  }
  return out;
}
