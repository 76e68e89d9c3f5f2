/**
 * The feedback loop's two manifest operations: choosing the predictions people should review, and merging reviewed
 * lines into a training manifest.
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK (the FeedbackLoop's function and `custom-labels manifest merge` share it).
 */
import { createHash } from 'node:crypto';

import { parsePredictions } from '../label/predictions';
import { splitLines } from './reader';
import { ManifestIssue } from './types';
import { validateManifestSync } from './validator';

export interface ReviewSelectionOptions {
  /** Predictions with a confidence below this (0..1) are always reviewed. */
  readonly belowConfidence: number;
  /** The share (0..1) of the other images sampled for review: confident mistakes are found only this way. */
  readonly sampleShare: number;
  /** Makes the sample reproducible; the same seed and predictions choose the same images. */
  readonly seed: string;
}

export interface ReviewSelection {
  /** The review manifest: the chosen prediction lines, unchanged, in their input order. */
  readonly manifest: string;
  /** Images with predictions. */
  readonly images: number;
  /** Chosen because one of their predictions is below the band. */
  readonly lowConfidence: number;
  /** Chosen by the sample. */
  readonly sampled: number;
  /** Lines that are not JSON, have no source-ref, or carry no machine-made prediction (nothing to review). */
  readonly skippedLines: number;
}

/** A number in [0, 1) from the seed and the image: the same image is sampled the same way in every run of a seed. */
function draw(seed: string, sourceRef: string): number {
  return createHash('sha256').update(`${seed}\u0000${sourceRef}`).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/**
 * Chooses the prediction lines to review: every image with a prediction below `belowConfidence`, and a reproducible
 * sample of `sampleShare` of the rest. A source-ref seen twice counts once (its last line).
 */
export function selectForReview(predictions: string, options: ReviewSelectionOptions): ReviewSelection {
  if (!(options.belowConfidence >= 0 && options.belowConfidence <= 1)) {
    throw new RangeError(`belowConfidence must be from 0 to 1, got: ${options.belowConfidence}`);
  }
  if (!(options.sampleShare >= 0 && options.sampleShare <= 1)) throw new RangeError(`sampleShare must be from 0 to 1, got: ${options.sampleShare}`);
  const { lines, skippedLines } = parsePredictions(predictions);
  const lowest = new Map<string, number>();
  for (const line of lines) lowest.set(line.sourceRef, Math.min(...line.predictions.map((p) => p.confidence)));
  const texts = new Map<string, string>();
  for (const raw of predictions.split('\n')) {
    const text = raw.trim().replace(/^\uFEFF/, '');
    const ref = sourceRefOf(text);
    if (ref !== undefined && lowest.has(ref)) {
      texts.delete(ref);
      texts.set(ref, text);
    }
  }
  let lowConfidence = 0;
  let sampled = 0;
  const chosen: string[] = [];
  for (const [ref, text] of texts) {
    if (lowest.get(ref)! < options.belowConfidence) lowConfidence++;
    else if (draw(options.seed, ref) < options.sampleShare) sampled++;
    else continue;
    chosen.push(text);
  }
  return { manifest: chosen.length > 0 ? `${chosen.join('\n')}\n` : '', images: texts.size, lowConfidence, sampled, skippedLines };
}

export interface ManifestMerge {
  /** The merged manifest (valid for training); '' when nothing was merged into an empty base. */
  readonly manifest: string;
  /** Reviewed images that were not in the base: appended in their order. */
  readonly added: number;
  /** Base lines replaced by a newer human annotation of the same image, in place. */
  readonly replaced: number;
  /** Reviewed lines older than the base's annotation of the same image: the base's line stays. */
  readonly older: number;
  /** Reviewed lines without a human annotation (predictions nobody confirmed): never merged. */
  readonly notReviewed: number;
  /** Reviewed lines that are not JSON or have no source-ref. */
  readonly unreadable: number;
  /**
   * The merged manifest is a valid training manifest (role training) and no line a review wrote has an error: the
   * service would drop such a line silently, and the review would be lost.
   */
  readonly valid: boolean;
  readonly errors: ManifestIssue[];
  readonly warnings: ManifestIssue[];
  /** sha256 of the merged manifest: names the object it is written to. */
  readonly sha256: string;
}

type Json = Record<string, unknown>;

function parse(text: string): Json | undefined {
  try {
    const obj = JSON.parse(text) as unknown;
    return typeof obj === 'object' && obj !== null && !Array.isArray(obj) && typeof (obj as Json)['source-ref'] === 'string' ? obj as Json : undefined;
  } catch {
    return undefined;
  }
}

function sourceRefOf(text: string): string | undefined {
  return text === '' ? undefined : parse(text)?.['source-ref'] as string | undefined;
}

/**
 * The newest `creation-date` of the line's human annotations (ms since epoch, read as UTC), or undefined when no
 * label attribute says `human-annotated: "yes"`.
 */
export function humanAnnotationTime(line: Json): number | undefined {
  let newest: number | undefined;
  for (const [key, meta] of Object.entries(line)) {
    if (!key.endsWith('-metadata') || typeof meta !== 'object' || meta === null) continue;
    const m = meta as Json;
    if (m['human-annotated'] !== 'yes') continue;
    const date = typeof m['creation-date'] === 'string' ? m['creation-date'] : '';
    const utc = /(Z|[+-]\d\d:?\d\d)$/.test(date) ? date : `${date}Z`;
    const t = Date.parse(utc.replace(' ', 'T'));
    const at = Number.isFinite(t) ? t : 0;
    newest = newest === undefined ? at : Math.max(newest, at);
  }
  return newest;
}

/**
 * Merges reviewed manifests into a base training manifest, deduplicated by `source-ref`: a reviewed line replaces the
 * base's line of the same image when its newest human annotation is at least as new (the later file wins a tie), and
 * is appended when the image is new. Only human-annotated lines are merged. The base's other lines stay as they are,
 * in their order. The result is validated as a training manifest, and each line a review wrote must be valid; the
 * caller decides what an invalid result means.
 */
export function mergeManifests(base: string, reviewed: readonly string[]): ManifestMerge {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const line of splitLines(base)) {
    const obj = parse(line.text.trim());
    const ref = obj?.['source-ref'] as string | undefined;
    if (ref !== undefined && index.has(ref)) {
      // A duplicate in the base: the service drops it anyway; the first stays, as it does there.
      continue;
    }
    if (ref !== undefined) index.set(ref, out.length);
    out.push(line.text.trim());
  }
  const baseLines = out.length;
  let added = 0;
  let replaced = 0;
  let older = 0;
  let notReviewed = 0;
  let unreadable = 0;
  const replacedAt = new Set<number>();
  /** Indexes of the lines a review wrote (an invalid one fails the merge, though the service would drop it). */
  const fromReview = new Set<number>();
  for (const text of reviewed) {
    for (const line of splitLines(text)) {
      const obj = parse(line.text.trim());
      if (!obj) {
        unreadable++;
        continue;
      }
      const time = humanAnnotationTime(obj);
      if (time === undefined) {
        notReviewed++;
        continue;
      }
      const ref = obj['source-ref'] as string;
      const at = index.get(ref);
      const compact = JSON.stringify(obj);
      if (at === undefined) {
        index.set(ref, out.length);
        fromReview.add(out.length);
        out.push(compact);
        added++;
        continue;
      }
      const current = parse(out[at]);
      const currentTime = current ? humanAnnotationTime(current) : undefined;
      if (currentTime !== undefined && time < currentTime) {
        older++;
        continue;
      }
      out[at] = compact;
      fromReview.add(at);
      if (!replacedAt.has(at) && at < baseLines) replaced++;
      replacedAt.add(at);
    }
  }
  const manifest = out.length > 0 ? `${out.join('\n')}\n` : '';
  const validation = validateManifestSync(manifest, { role: 'training' });
  const reviewErrors = validation.errors.filter((e) => e.line !== null && fromReview.has(e.line - 1));
  return {
    manifest, added, replaced, older, notReviewed, unreadable,
    valid: validation.valid && reviewErrors.length === 0, errors: validation.errors, warnings: validation.warnings,
    sha256: createHash('sha256').update(manifest).digest('hex'),
  };
}
