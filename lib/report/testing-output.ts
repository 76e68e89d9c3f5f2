/**
 * Reads the testing-output manifest that training writes (reference §7): per test image, its ground truth
 * (`rekognition-custom-labels-training-*`) and the model's predictions (`rekognition-custom-labels-evaluation*`, or any
 * attribute marked `human-annotated: "no"`), each prediction with the outcome in its
 * `rekognition-custom-labels-evaluation-details`.
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */

export type Outcome = 'true-positive' | 'true-negative' | 'false-positive' | 'false-negative';

/** A rectangle in pixels, origin at the top-left. */
export interface PixelRect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface EvaluatedPrediction {
  readonly label: string;
  /** 0..1 */
  readonly confidence: number;
  /** Detection predictions only. */
  readonly box?: PixelRect;
  /** From the evaluation details; undefined when the line has none. */
  readonly outcome?: Outcome;
}

export interface TestingImage {
  readonly sourceRef: string;
  /** 1-based line of the manifest. */
  readonly line: number;
  readonly width?: number;
  readonly height?: number;
  readonly truthLabels: string[];
  readonly truthBoxes: Array<PixelRect & { label: string }>;
  readonly predictions: EvaluatedPrediction[];
}

export interface TestingOutput {
  readonly images: TestingImage[];
  /** Lines that are not JSON objects with a source-ref (blank lines are not counted). */
  readonly skippedLines: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const EVALUATION_PREFIX = 'rekognition-custom-labels-evaluation';
const DETAILS = 'rekognition-custom-labels-evaluation-details';

function outcomeOf(details: unknown): Outcome | undefined {
  if (!isObject(details)) return undefined;
  if (details['is-false-positive'] === true) return 'false-positive';
  if (details['is-false-negative'] === true) return 'false-negative';
  if (details['is-true-positive'] === true) return 'true-positive';
  if (details['is-true-negative'] === true) return 'true-negative';
  return undefined;
}

function rectOf(a: Json): PixelRect | undefined {
  const { left, top, width, height } = a;
  return isNumber(left) && isNumber(top) && isNumber(width) && isNumber(height) ? { left, top, width, height } : undefined;
}

/** Parses the manifest's text; lines that cannot be read are counted, not thrown. */
export function parseTestingOutput(text: string): TestingOutput {
  const images: TestingImage[] = [];
  let skippedLines = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineText = (i === 0 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw).trim();
    if (lineText === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(lineText);
    } catch {
      skippedLines++;
      return;
    }
    if (!isObject(obj) || typeof obj['source-ref'] !== 'string') {
      skippedLines++;
      return;
    }
    images.push(parseLine(obj, obj['source-ref'], i + 1));
  });
  return { images, skippedLines };
}

function parseLine(obj: Json, sourceRef: string, line: number): TestingImage {
  const truthLabels: string[] = [];
  const truthBoxes: Array<PixelRect & { label: string }> = [];
  const predictions: EvaluatedPrediction[] = [];
  let width: number | undefined;
  let height: number | undefined;
  for (const key of Object.keys(obj)) {
    const meta = obj[`${key}-metadata`];
    if (key === 'source-ref' || key.endsWith('-metadata') || !isObject(meta)) continue;
    const predicted = key.startsWith(EVALUATION_PREFIX) || meta['human-annotated'] === 'no';
    const value = obj[key];
    if (meta.type === 'groundtruth/image-classification' && typeof meta['class-name'] === 'string') {
      const label = meta['class-name'];
      if (predicted) {
        predictions.push({ label, confidence: isNumber(meta.confidence) ? meta.confidence : 0, outcome: outcomeOf(meta[DETAILS]) });
      } else if (!truthLabels.includes(label)) {
        truthLabels.push(label);
      }
    } else if (meta.type === 'groundtruth/object-detection' && isObject(value)) {
      const size = Array.isArray(value.image_size) && isObject(value.image_size[0]) ? value.image_size[0] : undefined;
      if (size && isNumber(size.width) && isNumber(size.height)) {
        width ??= size.width;
        height ??= size.height;
      }
      const classMap = isObject(meta['class-map']) ? meta['class-map'] : {};
      const objects = Array.isArray(meta.objects) ? meta.objects : [];
      const annotations = Array.isArray(value.annotations) ? value.annotations : [];
      annotations.forEach((a: unknown, k: number) => {
        if (!isObject(a)) return;
        const rect = rectOf(a);
        const label = classMap[String(a.class_id)];
        if (!rect || typeof label !== 'string') return;
        const o = isObject(objects[k]) ? objects[k] : {};
        if (predicted) {
          predictions.push({ label, confidence: isNumber(o.confidence) ? o.confidence : 0, box: rect, outcome: outcomeOf(o[DETAILS]) });
        } else {
          truthBoxes.push({ label, ...rect });
        }
      });
    }
  }
  return { sourceRef, line, width, height, truthLabels, truthBoxes, predictions };
}
