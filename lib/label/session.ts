/**
 * A labeling session: the images of a folder, the manifest being edited (lines for other images kept verbatim), the
 * predictions under review, and saving: every accepted change rewrites the manifest atomically (a temporary file
 * renamed over it) and moves the revision on; a change made on an older revision is refused (a stale browser tab).
 *
 * Output is deterministic: the manifest's own lines keep their order and their text unless their image was changed;
 * new lines follow, sorted by source-ref; only changed labels get a new `creation-date`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { MANIFEST_LIMITS } from '../manifest/types';
import { inferLocation, listImages, LocalImage, SourceRefMatcher } from './images';
import { Annotation, buildLine, creationDateOf, EMPTY_ANNOTATION, ParsedLine, parseLine, PixelBox, sameAnnotation } from './lines';
import { parsePredictions, Prediction } from './predictions';

export type Decision = 'pending' | 'accepted' | 'fixed' | 'rejected';

export interface LabelSessionOptions {
  readonly imagesDir: string;
  readonly manifestFile: string;
  /** Labels offered from the start (more come from the manifest, the predictions and the page). */
  readonly labels?: string[];
  /** A predictions manifest: opens the session in review mode. */
  readonly predictionsFile?: string;
  /** Where new lines point: s3://<bucket>/<prefix><relative path>. @default - inferred from the manifest, then the predictions */
  readonly bucket?: { bucket: string; prefix: string };
  /** @default 'custom-labels/label' */
  readonly jobName?: string;
  /** The clock that stamps `creation-date` on changed labels. @default () => new Date() */
  readonly now?: () => Date;
}

/** A problem with the session's inputs (exit code 2 in the CLI) or their content (exit code 1). */
export class LabelSessionError extends Error {
  constructor(message: string, readonly kind: 'usage' | 'invalid') {
    super(message);
    this.name = 'LabelSessionError';
  }
}

/** A save refused because the page saw an older revision, or the file changed on disk (HTTP 409). */
export class StaleRevisionError extends Error {
  constructor(message: string, readonly revision: number) {
    super(message);
    this.name = 'StaleRevisionError';
  }
}

/** A change the page sent that cannot be applied (HTTP 400). */
export class BadChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadChangeError';
  }
}

export interface ImageChange {
  readonly id: number;
  readonly labels: string[];
  readonly boxes: PixelBox[];
  /** Review decisions by prediction id. */
  readonly decisions?: Record<string, Decision>;
}

interface ImageState {
  readonly image: LocalImage;
  readonly sourceRef: string;
  /** Index into `lines` of the image's line in the manifest as loaded; undefined for an image it had no line for. */
  readonly lineIndex?: number;
  /** The image's line now (undefined: none). */
  text?: string;
  parsed?: ParsedLine;
  annotation: Annotation;
  readonly predictions: Prediction[];
  decisions: Decision[];
}

/** One image as the page sees it. */
export interface ImageView {
  readonly id: number;
  readonly path: string;
  readonly url: string;
  readonly sourceRef: string;
  readonly width: number;
  readonly height: number;
  readonly labels: string[];
  readonly boxes: PixelBox[];
  /** The manifest has a line for it. */
  readonly labeled: boolean;
  readonly predictions: Array<Prediction & { decision: Decision }>;
}

export interface SessionView {
  readonly revision: number;
  readonly mode: 'label' | 'review';
  readonly manifest: string;
  readonly labels: string[];
  readonly images: ImageView[];
  /** Image ids in the order to work through them (review: lowest confidence first). */
  readonly order: number[];
  /** Lines of the manifest kept as they are (other images, unreadable lines). */
  readonly otherLines: number;
  readonly sourceRefPattern: string;
  readonly minBoxSide: number;
}

const MAX_LABELS_PER_IMAGE = 50;

export class LabelSession {
  readonly mode: 'label' | 'review';
  readonly manifestFile: string;
  readonly location: { bucket: string; prefix: string; from: 'option' | 'manifest' | 'predictions' };
  private readonly images: ImageState[];
  /** The manifest's lines as loaded; entries of edited images are replaced by their state's text when written. */
  private readonly lines: string[];
  private readonly labels: string[];
  private readonly jobName: string;
  private readonly now: () => Date;
  private revision = 1;
  /** Hash of the manifest file as last read or written (undefined: it did not exist). */
  private diskHash: string | undefined;
  readonly otherLines: number;
  readonly skippedImages: string[];
  readonly skippedPredictionLines: number;
  readonly unmatchedPredictionLines: number;

  constructor(options: LabelSessionOptions) {
    this.manifestFile = path.resolve(options.manifestFile);
    this.jobName = options.jobName ?? 'custom-labels/label';
    this.now = options.now ?? (() => new Date());
    const { images, skipped } = listImages(options.imagesDir);
    this.skippedImages = skipped;
    if (images.length === 0) throw new LabelSessionError(`no PNG or JPEG image under ${options.imagesDir}`, 'invalid');
    const matcher = new SourceRefMatcher(images);

    const manifestText = readIfExists(this.manifestFile);
    this.diskHash = manifestText === undefined ? undefined : hash(manifestText);
    this.lines = manifestText === undefined ? [] : splitManifest(manifestText);
    const parsedLines = this.lines.map((t) => parseLine(t));

    let predictionLines: ReturnType<typeof parsePredictions> | undefined;
    if (options.predictionsFile !== undefined) {
      const text = readIfExists(options.predictionsFile);
      if (text === undefined) throw new LabelSessionError(`predictions manifest not found: ${options.predictionsFile}`, 'usage');
      predictionLines = parsePredictions(text);
      if (predictionLines.lines.length === 0) {
        throw new LabelSessionError(`the predictions manifest has no line with a prediction (human-annotated "no"): ${options.predictionsFile}`, 'invalid');
      }
    }
    this.mode = predictionLines ? 'review' : 'label';
    this.skippedPredictionLines = predictionLines?.skippedLines ?? 0;

    const fromManifest = inferLocation(parsedLines.flatMap((p) => (p ? [p.sourceRef] : [])), matcher);
    const fromPredictions = predictionLines ? inferLocation(predictionLines.lines.map((l) => l.sourceRef), matcher) : undefined;
    if (options.bucket) this.location = { ...options.bucket, from: 'option' };
    else if (fromManifest) this.location = { ...fromManifest, from: 'manifest' };
    else if (fromPredictions) this.location = { ...fromPredictions, from: 'predictions' };
    else {
      throw new LabelSessionError('--bucket is needed: no line of the manifest (or of the predictions) names an image of the folder, '
        + 'so there is no bucket to take from it', 'usage');
    }

    // The first line that names an image is that image's line; duplicates and other lines are kept as they are.
    const lineOf = new Map<number, number>();
    parsedLines.forEach((p, i) => {
      const m = p ? matcher.match(p.sourceRef) : undefined;
      if (m && !lineOf.has(m.index)) lineOf.set(m.index, i);
    });
    this.otherLines = this.lines.filter((t) => t.trim() !== '').length - lineOf.size;

    const predictionsOf = new Map<number, Prediction[]>();
    let unmatched = 0;
    for (const line of predictionLines?.lines ?? []) {
      const m = matcher.match(line.sourceRef);
      if (!m) unmatched++;
      else if (!predictionsOf.has(m.index)) predictionsOf.set(m.index, line.predictions);
    }
    this.unmatchedPredictionLines = unmatched;

    this.images = images.map((image, index) => {
      const lineIndex = lineOf.get(index);
      const parsed = lineIndex === undefined ? undefined : parsedLines[lineIndex]!;
      const annotation = parsed?.annotation ?? EMPTY_ANNOTATION;
      const predictions = predictionsOf.get(index) ?? [];
      return {
        image,
        sourceRef: parsed?.sourceRef ?? `s3://${this.location.bucket}/${this.location.prefix}${image.rel}`,
        lineIndex,
        text: lineIndex === undefined ? undefined : this.lines[lineIndex],
        parsed,
        annotation,
        predictions,
        decisions: predictions.map((p) => (parsed ? decidedBefore(p, annotation) : 'pending')),
      };
    });
    const seen = new Set<string>();
    this.labels = [];
    const addLabel = (l: string): void => {
      if (!seen.has(l)) {
        seen.add(l);
        this.labels.push(l);
      }
    };
    (options.labels ?? []).forEach(addLabel);
    for (const s of this.images) {
      s.annotation.labels.forEach(addLabel);
      s.annotation.boxes.forEach((b) => addLabel(b.label));
    }
    for (const s of this.images) s.predictions.forEach((p) => addLabel(p.label));
  }

  get imageCount(): number {
    return this.images.length;
  }

  /** The file behind an image id, or undefined. */
  imageByPath(rel: string): LocalImage | undefined {
    return this.images.find((s) => s.image.rel === rel)?.image;
  }

  view(): SessionView {
    const images = this.images.map((s, id) => this.imageView(s, id));
    return {
      revision: this.revision,
      mode: this.mode,
      manifest: this.manifestFile,
      labels: [...this.labels],
      images,
      order: this.order(),
      otherLines: this.otherLines,
      sourceRefPattern: `s3://${this.location.bucket}/${this.location.prefix}<path>`,
      minBoxSide: 2,
    };
  }

  /**
   * Applies the page's changes made on `baseRevision`; writes the manifest when a line changed. Throws
   * StaleRevisionError when the page is behind (another tab saved) or the file changed on disk, BadChangeError for
   * a change that cannot be valid.
   */
  save(baseRevision: number, changes: ImageChange[], labels: string[] = []): { revision: number; changedLines: number; images: ImageView[] } {
    if (baseRevision !== this.revision) {
      throw new StaleRevisionError(`newer work was saved from another tab or window (revision ${this.revision}; this page has revision ${baseRevision})`,
        this.revision);
    }
    const checked = changes.map((c) => this.check(c));
    for (const l of labels) this.checkLabel(l, 'labels');
    const stamp = creationDateOf(this.now());
    let changedLines = 0;
    const updates: Array<{ state: ImageState; text: string | undefined; parsed: ParsedLine | undefined; annotation: Annotation }> = [];
    for (const c of checked) {
      const state = this.images[c.id];
      if (sameAnnotation(state.annotation, c.annotation)) continue;
      const text = buildLine(state.sourceRef, c.annotation, state.parsed,
        { creationDate: stamp, jobName: this.jobName, width: state.image.width, height: state.image.height });
      updates.push({ state, text, parsed: text === undefined ? undefined : parseLine(text), annotation: c.annotation });
    }
    if (updates.length > 0) {
      const before = updates.map((u) => ({ state: u.state, text: u.state.text, parsed: u.state.parsed, annotation: u.state.annotation }));
      for (const u of updates) Object.assign(u.state, { text: u.text, parsed: u.parsed, annotation: u.annotation });
      try {
        this.write();
      } catch (err) {
        for (const b of before) Object.assign(b.state, { text: b.text, parsed: b.parsed, annotation: b.annotation });
        throw err;
      }
      changedLines = updates.length;
    }
    let decided = false;
    for (const c of checked) {
      if (!c.decisions) continue;
      const state = this.images[c.id];
      const next = state.decisions.map((d, i) => c.decisions![i] ?? d);
      decided ||= next.some((d, i) => d !== state.decisions[i]);
      state.decisions = next;
    }
    let addedLabels = 0;
    for (const l of labels.concat(checked.flatMap((c) => [...c.annotation.labels, ...c.annotation.boxes.map((b) => b.label)]))) {
      if (this.labels.includes(l)) continue;
      this.labels.push(l);
      addedLabels++;
    }
    if (changedLines > 0 || decided || addedLabels > 0) this.revision++;
    return { revision: this.revision, changedLines, images: checked.map((c) => this.imageView(this.images[c.id], c.id)) };
  }

  /** The manifest's text as it is written. */
  manifestText(): string {
    const byLine = new Map<number, ImageState>();
    const added: ImageState[] = [];
    for (const s of this.images) {
      if (s.lineIndex !== undefined) byLine.set(s.lineIndex, s);
      else if (s.text !== undefined) added.push(s);
    }
    const out: string[] = [];
    this.lines.forEach((text, i) => {
      const s = byLine.get(i);
      if (!s) out.push(text);
      else if (s.text !== undefined) out.push(s.text);
    });
    added.sort((a, b) => (a.sourceRef < b.sourceRef ? -1 : a.sourceRef > b.sourceRef ? 1 : 0)).forEach((s) => out.push(s.text!));
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  private write(): void {
    const current = readIfExists(this.manifestFile);
    if ((current === undefined ? undefined : hash(current)) !== this.diskHash) {
      throw new StaleRevisionError(`${this.manifestFile} was changed by another program; restart 'custom-labels label' to load it`, this.revision);
    }
    const text = this.manifestText();
    writeAtomically(this.manifestFile, text);
    this.diskHash = hash(text);
  }

  private order(): number[] {
    const ids = this.images.map((_, i) => i);
    if (this.mode !== 'review') return ids;
    // Review: the image with the least confident prediction first; images without predictions last, by path.
    const lowest = (i: number): number => (this.images[i].predictions.length > 0 ? this.images[i].predictions[0].confidence : Infinity);
    return ids.sort((a, b) => lowest(a) - lowest(b) || a - b);
  }

  private imageView(s: ImageState, id: number): ImageView {
    return {
      id,
      path: s.image.rel,
      url: `/images/${s.image.rel.split('/').map(encodeURIComponent).join('/')}`,
      sourceRef: s.sourceRef,
      width: s.image.width,
      height: s.image.height,
      labels: [...s.annotation.labels],
      boxes: s.annotation.boxes.map((b) => ({ ...b })),
      labeled: s.text !== undefined,
      predictions: s.predictions.map((p, i) => ({ ...p, decision: s.decisions[i] })),
    };
  }

  private checkLabel(label: unknown, where: string): string {
    if (typeof label !== 'string' || label.trim() === '' || label !== label.trim()) {
      throw new BadChangeError(`${where}: a label must be a non-empty string without leading or trailing spaces, got: ${JSON.stringify(label)}`);
    }
    if ([...label].length > MANIFEST_LIMITS.maxLabelNameChars) {
      throw new BadChangeError(`${where}: a label has at most ${MANIFEST_LIMITS.maxLabelNameChars} characters, got ${[...label].length}`);
    }
    return label;
  }

  private check(c: ImageChange): { id: number; annotation: Annotation; decisions?: Record<number, Decision> } {
    if (!c || typeof c !== 'object' || !Number.isInteger(c.id) || c.id < 0 || c.id >= this.images.length) {
      throw new BadChangeError(`a change names no image of this session: ${JSON.stringify(c?.id)}`);
    }
    const { image } = this.images[c.id];
    const where = image.rel;
    if (!Array.isArray(c.labels) || !Array.isArray(c.boxes)) throw new BadChangeError(`${where}: labels and boxes must be arrays`);
    const labels = [...new Set(c.labels.map((l) => this.checkLabel(l, where)))];
    if (labels.length > MAX_LABELS_PER_IMAGE) throw new BadChangeError(`${where}: at most ${MAX_LABELS_PER_IMAGE} image-level labels`);
    if (c.boxes.length > MANIFEST_LIMITS.maxBoxesPerImage) {
      throw new BadChangeError(`${where}: the service allows at most ${MANIFEST_LIMITS.maxBoxesPerImage} boxes per image, got ${c.boxes.length}`);
    }
    const boxes = c.boxes.map((b, i) => {
      const label = this.checkLabel(b?.label, `${where} box ${i + 1}`);
      const nums = [b.left, b.top, b.width, b.height];
      if (!nums.every((n) => Number.isInteger(n))) throw new BadChangeError(`${where} box ${i + 1}: left, top, width and height must be integers`);
      if (b.left < 0 || b.top < 0 || b.width < 2 || b.height < 2 || b.left + b.width > image.width || b.top + b.height > image.height) {
        throw new BadChangeError(`${where} box ${i + 1}: ${b.left},${b.top} ${b.width}x${b.height} is not inside the ${image.width}x${image.height} image `
          + '(or is smaller than 2x2 px)');
      }
      return { label, left: b.left, top: b.top, width: b.width, height: b.height };
    });
    let decisions: Record<number, Decision> | undefined;
    if (c.decisions !== undefined) {
      decisions = {};
      for (const [k, d] of Object.entries(c.decisions)) {
        const i = Number(k);
        if (!Number.isInteger(i) || i < 0 || i >= this.images[c.id].predictions.length || !['pending', 'accepted', 'fixed', 'rejected'].includes(d)) {
          throw new BadChangeError(`${where}: bad review decision ${JSON.stringify(k)}: ${JSON.stringify(d)}`);
        }
        decisions[i] = d;
      }
    }
    return { id: c.id, annotation: { labels, boxes }, decisions };
  }
}

/**
 * [inferred] A prediction for an image the manifest already has a line for was reviewed in an earlier session:
 * accepted when the line has it (the label, or a box of its label that overlaps it by IoU >= 0.9), fixed when a box of
 * its label overlaps it by IoU >= 0.5, rejected otherwise.
 */
function decidedBefore(p: Prediction, annotation: Annotation): Decision {
  if (p.kind === 'label') return annotation.labels.includes(p.label) ? 'accepted' : 'rejected';
  const best = Math.max(0, ...annotation.boxes.filter((b) => b.label === p.label).map((b) => iou(b, p.box!)));
  return best >= 0.9 ? 'accepted' : best >= 0.5 ? 'fixed' : 'rejected';
}

function iou(a: PixelBox, b: PixelBox): number {
  const ix = Math.max(0, Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left));
  const iy = Math.max(0, Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top));
  const union = a.width * a.height + b.width * b.height - ix * iy;
  return union > 0 ? (ix * iy) / union : 0;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Lines without their terminators (LF or CRLF); a final newline does not make an empty last line. */
function splitManifest(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Writes to a temporary file beside `file`, flushes it to disk and renames it over `file`: a reader (or a crash)
 * sees the old manifest or the new one, never half of one.
 */
export function writeAtomically(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
