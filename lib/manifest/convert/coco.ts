/**
 * COCO object detection (images[], annotations[], categories[]) -> one object-localization line per image
 * (reference §5.3 and the service's COCO transform).
 *
 * Decisions (documented for users):
 * - `bbox` is `[x, y, width, height]` in pixels, possibly fractional. We round the box's EDGES (left, top, right,
 *   bottom) and take width/height as their differences, so a rounded box never grows past the image; an edge up to
 *   1 px outside the frame (a rounding artefact of the labelling tool) is clamped, more than that skips the box.
 * - The class-map of a line holds only the categories used on that line (a 250-category map on every line would
 *   bloat the manifest toward the 100,000-character line limit). `class_id` is the COCO category id.
 * - An image without annotations is skipped with a reason: a detection line with no boxes is only a warning for
 *   the service and the image would be ignored. An image with more than 50 boxes is skipped too (the service
 *   rejects the line). Annotations pointing at an unknown image or category are skipped and listed.
 * - `creation-date` is `date_captured` when it reads as a date-time (`2013-11-14 17:02:52` becomes
 *   `2013-11-14T17:02:52`), else the converter's creation date. `depth` is 3.
 * - Lines follow the order of images[]. Annotations are indexed by image once (linear time).
 * - Speed: a file or Buffer is read by scanCoco (coco-bytes.ts) into flat columns, without JSON.parse's object graph;
 *   text, and anything scanCoco gives up on, by JSON.parse. Lines are built as bytes (ByteLines).
 */
import * as fs from 'node:fs';

import { findJsonSyntaxError, formatJsonSyntaxError } from '../json-error';
import { DETECTION_TYPE } from '../types';
import { AnnotationColumns, CocoColumns, ImageColumns, scanCoco } from './coco-bytes';
import { assertText, ByteLines, ByteWriter, ConvertError, ConvertOptions, ConvertSource, ConvertSummary, imageKey, isContent, labelProblem,
  openForReading, putAscii, putBytes, putNumber, resolveStamp, SeenImages, sourceRefOf, Stamp, SummaryBuilder } from './common';

const MAX_BOXES = 50;
const DATE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)/;

interface CocoImage { id?: unknown; file_name?: unknown; width?: unknown; height?: unknown; date_captured?: unknown }
interface CocoAnnotation { id?: unknown; image_id?: unknown; category_id?: unknown; bbox?: unknown }
interface CocoCategory { id?: unknown; name?: unknown }

/**
 * The document's columns. Bytes (a file, a Buffer) are read by scanCoco; text, and bytes scanCoco gives up on
 * (invalid JSON, unusual shapes), by JSON.parse, which also gives the error messages.
 */
function parseCoco(source: ConvertSource): CocoColumns {
  let text: string;
  if (typeof source === 'string' && isContent(source)) {
    text = source;
  } else {
    let bytes: Buffer;
    if (Buffer.isBuffer(source)) {
      bytes = source;
    } else {
      fs.closeSync(openForReading(source));
      bytes = fs.readFileSync(source);
    }
    assertText(bytes, Buffer.isBuffer(source) ? 'the COCO content' : source, 'a COCO JSON file');
    const columns = scanCoco(bytes);
    if (columns !== undefined) return columns;
    text = bytes.toString('utf8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    // JSON.parse's message gives a byte position at best, and may quote the input: say line and column instead.
    const e = findJsonSyntaxError(text);
    throw new ConvertError(`the COCO file is not valid JSON: ${e === undefined ? 'it cannot be parsed' : formatJsonSyntaxError(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConvertError('the COCO file must be a JSON object with images, annotations and categories arrays');
  }
  const d = doc as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(d[key])) throw new ConvertError(`the COCO file has no ${key} array: not a COCO object-detection file`);
  }
  return { categories: d.categories as CocoCategory[], images: imageColumns(d.images as CocoImage[]),
    annotations: annotationColumns(d.annotations as CocoAnnotation[]) };
}

/** Parsed images as columns (an entry that is not an object has none of the fields). */
function imageColumns(list: CocoImage[]): ImageColumns {
  const count = list.length;
  const c: ImageColumns = { count, ids: new Array<unknown>(count), fileNames: new Array<unknown>(count), dates: new Array<unknown>(count),
    widths: new Array<unknown>(count), heights: new Array<unknown>(count) };
  for (let i = 0; i < count; i++) {
    const img = list[i];
    if (!img) continue;
    c.ids[i] = img.id;
    c.fileNames[i] = img.file_name;
    c.dates[i] = img.date_captured;
    c.widths[i] = img.width;
    c.heights[i] = img.height;
  }
  return c;
}

/** Parsed annotations as columns, the bbox as scanCoco stores it. */
function annotationColumns(list: CocoAnnotation[]): AnnotationColumns {
  const count = list.length;
  const c: AnnotationColumns = { count, ids: new Array<unknown>(count), imageIds: new Array<unknown>(count),
    categoryIds: new Array<unknown>(count), bbox: new Float64Array(count * 4) };
  for (let i = 0; i < count; i++) {
    const a = list[i];
    c.ids[i] = a?.id;
    c.imageIds[i] = a?.image_id;
    c.categoryIds[i] = a?.category_id;
    const b = a?.bbox;
    if (Array.isArray(b) && b.length === 4 && typeof b[0] === 'number' && typeof b[1] === 'number' && typeof b[2] === 'number'
      && typeof b[3] === 'number' && Number.isFinite(b[0] + b[1] + b[2] + b[3])) {
      c.bbox[i * 4] = b[0];
      c.bbox[i * 4 + 1] = b[1];
      c.bbox[i * 4 + 2] = b[2];
      c.bbox[i * 4 + 3] = b[3];
    } else {
      c.bbox[i * 4] = NaN;
    }
  }
  return c;
}

const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v !== '');
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** `date_captured` as the service's date-time, or undefined when absent or unreadable. */
function creationDateOf(dateCaptured: unknown): string | undefined {
  if (typeof dateCaptured !== 'string') return undefined;
  const m = DATE.exec(dateCaptured.trim());
  return m ? `${m[1]}T${m[2]}` : undefined;
}

const enc = (text: string): Buffer => Buffer.from(text);

interface Category {
  classId: number;
  name: string;
  /** `"<class_id>":<name>` for the class-map. */
  fragment: Buffer;
  /** `{"class_id":<class_id>,"top":` opening its boxes. */
  box: Buffer;
}

/**
 * Positions of COCO ids. Ids are usually small integers (1..N): those index a typed array, which costs far less
 * than a Map lookup per annotation; other ids (strings, large or fractional numbers) go to a Map. Same answers as
 * a Map<number | string, number>.
 */
class IdIndex {
  private readonly dense: Int32Array;
  private readonly map = new Map<number | string, number>();

  constructor(count: number) {
    this.dense = new Int32Array(count * 4 + 1024);
  }

  get(id: number | string): number | undefined {
    if (typeof id === 'number' && id >= 0 && id < this.dense.length && (id | 0) === id) {
      const v = this.dense[id];
      return v === 0 ? undefined : v - 1;
    }
    return this.map.get(id);
  }

  has(id: number | string): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number | string, position: number): void {
    if (typeof id === 'number' && id >= 0 && id < this.dense.length && (id | 0) === id) this.dense[id] = position + 1;
    else this.map.set(id, position);
  }
}

/** What the line loop needs, in flat arrays. */
interface Prepared {
  cats: Category[];
  images: number;
  imageIds: unknown[];
  fileNames: unknown[];
  widths: Float64Array;
  heights: Float64Array;
  dates: unknown[];
  /** Annotation indices grouped by image: those of image i are byImage[start[i] .. start[i + 1]). */
  start: Int32Array;
  byImage: Int32Array;
  annIds: unknown[];
  annCat: Int32Array;
  /** x, y, width, height per annotation; NaN when the bbox is not four numbers. */
  bbox: Float64Array;
  /** Annotations that name each category (by position in `cats`), usable or not. */
  catAnnotations: Int32Array;
}

// prepare's loops are separate functions: each gets optimised on its own, quickly (one big function would be
// compiled again after each loop's first exit, a deoptimisation for want of type feedback).
function prepare(source: ConvertSource, summary: SummaryBuilder): Prepared {
  const coco = parseCoco(source);
  const { cats, index } = categoriesOf(coco.categories, summary);
  const images = imagesOf(coco.images);
  const annotations = annotationsOf(coco.annotations, images.index, index, coco.images.count, cats.length, summary);
  return { cats, images: coco.images.count, imageIds: coco.images.ids, fileNames: coco.images.fileNames, widths: images.widths,
    heights: images.heights, dates: coco.images.dates, ...annotations };
}

function categoriesOf(categories: CocoCategory[], summary: SummaryBuilder): { cats: Category[]; index: IdIndex } {
  // class_id in the manifest must be an integer: COCO ids normally are; others get a number of their own.
  const index = new IdIndex(categories.length);
  const cats: Category[] = [];
  const classIds = new Set<number>();
  let nextSynthetic = 1_000_000;
  for (const c of categories) {
    if (!c || !isId(c.id) || typeof c.name !== 'string') {
      summary.skip(`category ${JSON.stringify(c?.id ?? null)}`, 'a category needs an id and a name');
      continue;
    }
    const problem = labelProblem(c.name);
    if (problem) {
      summary.skip(`category ${c.id}`, problem);
      continue;
    }
    if (index.has(c.id)) {
      summary.skip(`category ${c.id}`, 'the category id appears more than once; the first is used');
      continue;
    }
    let classId = typeof c.id === 'number' && Number.isInteger(c.id) && c.id >= 0 ? c.id : -1;
    if (classId < 0 || classIds.has(classId)) {
      while (classIds.has(nextSynthetic)) nextSynthetic++;
      classId = nextSynthetic++;
    }
    classIds.add(classId);
    index.set(c.id, cats.length);
    cats.push({ classId, name: c.name, fragment: enc(`"${classId}":${JSON.stringify(c.name)}`), box: enc(`{"class_id":${classId},"top":`) });
  }
  return { cats, index };
}

function imagesOf(c: ImageColumns): { index: IdIndex; widths: Float64Array; heights: Float64Array } {
  const index = new IdIndex(c.count);
  const widths = new Float64Array(c.count);
  const heights = new Float64Array(c.count);
  for (let i = 0; i < c.count; i++) {
    const id = c.ids[i];
    if (isId(id) && !index.has(id)) index.set(id, i);
    const w = c.widths[i];
    const h = c.heights[i];
    widths[i] = isPositive(w) ? w : NaN;
    heights[i] = isPositive(h) ? h : NaN;
  }
  return { index, widths, heights };
}

/** Annotations grouped by image once, in linear time (counting sort into one flat index array). */
function annotationsOf(c: AnnotationColumns, imageIndex: IdIndex, categoryIndex: IdIndex, images: number, categories: number,
  summary: SummaryBuilder): Pick<Prepared, 'start' | 'byImage' | 'annIds' | 'annCat' | 'bbox' | 'catAnnotations'> {
  const nAnn = c.count;
  const catAnnotations = new Int32Array(categories);
  const annImage = new Int32Array(nAnn).fill(-1);
  const annCat = new Int32Array(nAnn);
  const start = new Int32Array(images + 1);
  for (let i = 0; i < nAnn; i++) {
    const imageId = c.imageIds[i];
    const idx = isId(imageId) ? imageIndex.get(imageId) : undefined;
    if (idx === undefined) {
      summary.skip(annotationItem(c.ids[i], i), `image_id ${JSON.stringify(imageId ?? null)} is not in images[]`);
      continue;
    }
    const categoryId = c.categoryIds[i];
    const cat = isId(categoryId) ? categoryIndex.get(categoryId) : undefined;
    if (cat !== undefined) catAnnotations[cat]++;
    if (cat === undefined) {
      summary.skip(annotationItem(c.ids[i], i), `category_id ${JSON.stringify(categoryId ?? null)} is not in categories[]`);
      continue;
    }
    annImage[i] = idx;
    annCat[i] = cat;
    start[idx + 1]++;
  }
  for (let i = 0; i < images; i++) start[i + 1] += start[i];
  const byImage = new Int32Array(start[images]);
  const fill = start.slice(0, images);
  for (let i = 0; i < nAnn; i++) if (annImage[i] >= 0) byImage[fill[annImage[i]]++] = i;
  return { start, byImage, annIds: c.ids, annCat, bbox: c.bbox, catAnnotations };
}

const WIDTH = enc(',"bounding-box":{"image_size":[{"width":');
const HEIGHT = enc(',"height":');
const ANNOTATIONS = enc(',"depth":3}],"annotations":[');
const LEFT = enc(',"left":');
const BOX_WIDTH = enc(',"width":');
const BOX_END = enc('},');
const OBJECTS_START = enc(']},"bounding-box-metadata":{"objects":[');
const CLASS_MAP = enc('],"class-map":{');
const CREATION_DATE = enc(`},"type":"${DETECTION_TYPE}","human-annotated":"yes","creation-date":`);
/** The most a number takes as JSON (`-1.7976931348623157e+308`). */
const NUMBER_BYTES = 24;
/** Bytes of a line besides its source-ref, boxes, class-map, objects, date and job name. */
const FIXED_BYTES = WIDTH.length + HEIGHT.length + ANNOTATIONS.length + OBJECTS_START.length + CLASS_MAP.length + CREATION_DATE.length + 64;

/**
 * The converter's core, shared by the generator and the stream writer: `image(i)` writes image i's line as
 * bytes, its boxes checked and rounded first (into typed arrays), then copied with pre-encoded fixed parts.
 */
class CocoLines {
  readonly images: number;
  private readonly summary = new SummaryBuilder();
  private readonly stamp: Stamp;
  private readonly p: Prepared;
  private readonly seen = new SeenImages();
  /** `{"source-ref":"s3://bucket/prefix`: a key that needs no escape is appended as is. */
  private readonly head: Buffer;
  private readonly jobName: Buffer;
  private readonly defaultDate: Buffer;
  private lastDate: unknown;
  private lastDateBytes: Buffer;
  // Per line: boxes per category, and which categories the line uses (`mark` holds the image that last used it).
  private readonly mark: Int32Array;
  private readonly boxesOf: Int32Array;
  private readonly used: number[] = [];
  /** Lines written per category. */
  private readonly catLines: Int32Array;
  // The line's usable boxes: category; top, left, width, height.
  private boxCats = new Int32Array(64);
  private boxes = new Float64Array(4 * 64);

  constructor(source: ConvertSource, options: ConvertOptions) {
    this.stamp = resolveStamp(options, 'coco');
    this.p = prepare(source, this.summary);
    this.images = this.p.images;
    this.head = enc(`{"source-ref":${JSON.stringify(sourceRefOf(this.stamp, '')).slice(0, -1)}`);
    this.jobName = enc(`,"job-name":${JSON.stringify(this.stamp.jobName)}}}\n`);
    this.defaultDate = enc(JSON.stringify(this.stamp.creationDate));
    this.lastDateBytes = this.defaultDate;
    this.mark = new Int32Array(this.p.cats.length).fill(-1);
    this.boxesOf = new Int32Array(this.p.cats.length);
    this.catLines = new Int32Array(this.p.cats.length);
  }

  /** Writes the line of image i into `out` (true), or lists why it has none (false). */
  image(i: number, out: ByteLines): boolean {
    const p = this.p;
    const summary = this.summary;
    const fileName = p.fileNames[i];
    if (typeof fileName !== 'string' || fileName === '') {
      summary.skip(imageItem(p.imageIds[i], i), 'the image has no file_name');
      return false;
    }
    if (Number.isNaN(p.widths[i]) || Number.isNaN(p.heights[i])) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} has no positive width and height (image_size needs them)`);
      return false;
    }
    if (p.start[i + 1] === p.start[i]) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} has no annotations (a detection line without boxes is ignored by the service)`);
      return false;
    }
    const W = Math.round(p.widths[i]);
    const H = Math.round(p.heights[i]);
    const n = this.usableBoxes(i, fileName, W, H);
    if (n === 0) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} has no usable box`);
      return false;
    }
    if (n > MAX_BOXES) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} has ${n} boxes, the service allows at most ${MAX_BOXES} per image`);
      return false;
    }
    const key = imageKey(fileName);
    if (key === undefined) {
      summary.skip(imageItem(p.imageIds[i], i), `file_name must be a relative path or an s3:// URI, got: ${fileName}`);
      return false;
    }
    if (this.seen.check(key)) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} is listed by an earlier image`);
      return false;
    }
    summary.bareLine();
    const cats = p.cats;
    const used = this.used;
    if (used.length > 1) used.sort((a, b) => cats[a].classId - cats[b].classId);
    const raw = p.dates[i];
    if (raw !== this.lastDate) {
      const date = creationDateOf(raw);
      this.lastDate = raw;
      this.lastDateBytes = date === undefined ? this.defaultDate : enc(`"${date}"`);
    }
    this.write(out, key, W, H, n);
    return true;
  }

  /** The summary, with a warning for each category that ended up in no line: its label is not in the manifest. */
  result(): ConvertSummary {
    const { cats, catAnnotations } = this.p;
    for (let c = 0; c < cats.length; c++) {
      if (this.catLines[c] > 0) continue;
      const n = catAnnotations[c];
      this.summary.warn(`category ${cats[c].classId} ${JSON.stringify(cats[c].name)} is not in the manifest: `
        + (n === 0 ? 'no annotation uses it' : `none of its ${n} annotation(s) could be used (see skipped)`));
    }
    return this.summary.result();
  }

  /** Checks and rounds image i's boxes into boxCats/boxes, fills `used` and `boxesOf`, lists the unusable ones; their count. */
  private usableBoxes(i: number, fileName: string, W: number, H: number): number {
    const p = this.p;
    const { start, byImage, bbox, annCat } = p;
    const { mark, boxesOf, used } = this;
    if (start[i + 1] - start[i] > this.boxCats.length) {
      this.boxCats = new Int32Array((start[i + 1] - start[i]) * 2);
      this.boxes = new Float64Array((start[i + 1] - start[i]) * 8);
    }
    const boxCats = this.boxCats;
    const boxes = this.boxes;
    let n = 0;
    used.length = 0;
    let problems: Array<[string, string]> | undefined;
    for (let k = start[i]; k < start[i + 1]; k++) {
      const ai = byImage[k];
      const x = bbox[ai * 4];
      const y = bbox[ai * 4 + 1];
      const w = bbox[ai * 4 + 2];
      const h = bbox[ai * 4 + 3];
      const problem = Number.isNaN(x) ? 'bbox must be [x, y, width, height] numbers' : boxProblem(x, y, w, h, W, H);
      if (problem !== undefined) {
        (problems ??= []).push([annotationItem(p.annIds[ai], ai), `${fileName}: ${problem}`]);
        continue;
      }
      // Edges rounded, then clamped into the frame (an overflow of at most 1 px passed boxProblem).
      const left = Math.max(0, Math.round(x));
      const top = Math.max(0, Math.round(y));
      const width = Math.min(W, Math.round(x + w)) - left;
      const height = Math.min(H, Math.round(y + h)) - top;
      if (width <= 0 || height <= 0) {
        (problems ??= []).push([annotationItem(p.annIds[ai], ai), `${fileName}: bbox ${JSON.stringify([x, y, w, h])} is smaller than a pixel`]);
        continue;
      }
      const c = annCat[ai];
      if (mark[c] !== i) {
        mark[c] = i;
        boxesOf[c] = 0;
        used.push(c);
      }
      boxesOf[c]++;
      boxCats[n] = c;
      boxes[n * 4] = top;
      boxes[n * 4 + 1] = left;
      boxes[n * 4 + 2] = width;
      boxes[n * 4 + 3] = height;
      n++;
    }
    if (problems) for (const [what, why] of problems) this.summary.skip(what, why);
    return n;
  }

  /** Writes the line (its n boxes and `used` categories are ready), counting its labels. */
  private write(out: ByteLines, key: string, W: number, H: number, n: number): void {
    const { cats } = this.p;
    const { boxCats, boxes, used, boxesOf, head, jobName, lastDateBytes } = this;
    const objects = objectsOf(n);
    // Room for the whole line first: a source-ref takes at most 6 bytes per character of the key (JSON escapes).
    let size = FIXED_BYTES + head.length + key.length * 6 + 2 * NUMBER_BYTES + objects.length + lastDateBytes.length + jobName.length;
    for (let b = 0; b < n; b++) size += cats[boxCats[b]].box.length + 4 * NUMBER_BYTES + 32;
    for (let u = 0; u < used.length; u++) size += cats[used[u]].fragment.length + 1;
    out.room(size);
    const o = out.buf;
    let q = key.startsWith('s3://') ? -1 : putAscii(o, out.pos, head, key);
    if (q < 0) q = out.pos + o.write(`{"source-ref":${JSON.stringify(sourceRefOf(this.stamp, key))}`, out.pos, 'utf8');
    q = putBytes(o, q, WIDTH);
    q = putNumber(o, q, W);
    q = putBytes(o, q, HEIGHT);
    q = putNumber(o, q, H);
    q = putBytes(o, q, ANNOTATIONS);
    for (let b = 0; b < n; b++) {
      q = putBytes(o, q, cats[boxCats[b]].box);
      q = putNumber(o, q, boxes[b * 4]);
      q = putBytes(o, q, LEFT);
      q = putNumber(o, q, boxes[b * 4 + 1]);
      q = putBytes(o, q, BOX_WIDTH);
      q = putNumber(o, q, boxes[b * 4 + 2]);
      q = putBytes(o, q, HEIGHT);
      q = putNumber(o, q, boxes[b * 4 + 3]);
      q = putBytes(o, q, BOX_END);
    }
    // OBJECTS_START overwrites the last box's comma.
    q = putBytes(o, q - 1, OBJECTS_START);
    q = putBytes(o, q, objects);
    q = putBytes(o, q, CLASS_MAP);
    for (let u = 0; u < used.length; u++) {
      const c = used[u];
      this.summary.label(cats[c].name, 1, boxesOf[c]);
      this.catLines[c]++;
      if (u > 0) o[q++] = 44;
      q = putBytes(o, q, cats[c].fragment);
    }
    q = putBytes(o, q, CREATION_DATE);
    q = putBytes(o, q, lastDateBytes);
    q = putBytes(o, q, jobName);
    out.endedAt(q);
  }
}

/** The manifest lines for a COCO file (a path) or COCO JSON (a Buffer, or a string starting with `{`); returns the summary. */
export function* cocoToManifestLines(source: ConvertSource, options: ConvertOptions): Generator<string, ConvertSummary> {
  const core = new CocoLines(source, options);
  const out = new ByteLines();
  for (let i = 0; i < core.images; i++) if (core.image(i, out)) yield out.takeLine();
  return core.result();
}

const OBJECTS: Buffer[] = [];
/** `{"confidence":1}` n times, comma-separated (memoised: n is at most 50). */
function objectsOf(n: number): Buffer {
  while (OBJECTS.length <= n) OBJECTS.push(enc(Array(OBJECTS.length).fill('{"confidence":1}').join(',')));
  return OBJECTS[n];
}

function imageItem(id: unknown, i: number): string {
  return `image ${isId(id) ? id : `#${i}`}`;
}

function annotationItem(id: unknown, i: number): string {
  return `annotation ${isId(id) ? id : `#${i}`}`;
}

/** Writes the manifest for a COCO file or content to `out` (not ended), respecting backpressure. */
export async function convertCoco(source: ConvertSource, options: ConvertOptions, out: NodeJS.WritableStream): Promise<ConvertSummary> {
  const core = new CocoLines(source, options);
  const lines = new ByteLines();
  const writer = new ByteWriter(out, lines);
  try {
    for (let i = 0; i < core.images; i++) {
      core.image(i, lines);
      if (lines.hasFull()) await writer.flush();
    }
    await writer.end();
  } finally {
    writer.close();
  }
  return core.result();
}

/** Why a numeric COCO bbox cannot be used in a W x H image, or undefined. */
function boxProblem(x: number, y: number, w: number, h: number, W: number, H: number): string | undefined {
  if (w <= 0 || h <= 0) return `bbox ${JSON.stringify([x, y, w, h])} has no area`;
  if (x < -1 || y < -1 || x + w > W + 1 || y + h > H + 1) return `bbox ${JSON.stringify([x, y, w, h])} lies outside the ${W}x${H} image`;
  return undefined;
}
