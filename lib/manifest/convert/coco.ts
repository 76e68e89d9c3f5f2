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
 */
import * as fs from 'node:fs';

import { DETECTION_TYPE } from '../types';
import { ConvertError, ConvertOptions, ConvertSource, ConvertSummary, imageKey, isContent, labelProblem, openForReading, resolveStamp,
  SeenImages, sourceRefOf, SummaryBuilder, writeLines } from './common';

const MAX_BOXES = 50;
const DATE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)/;

interface CocoImage { id?: unknown; file_name?: unknown; width?: unknown; height?: unknown; date_captured?: unknown }
interface CocoAnnotation { id?: unknown; image_id?: unknown; category_id?: unknown; bbox?: unknown }
interface CocoCategory { id?: unknown; name?: unknown }

function parseCoco(source: ConvertSource): { images: CocoImage[]; annotations: CocoAnnotation[]; categories: CocoCategory[] } {
  let text: string;
  if (Buffer.isBuffer(source)) text = source.toString('utf8');
  else if (isContent(source)) text = source;
  else {
    fs.closeSync(openForReading(source));
    text = fs.readFileSync(source, 'utf8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ConvertError(`the COCO file is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConvertError('the COCO file must be a JSON object with images, annotations and categories arrays');
  }
  const d = doc as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(d[key])) throw new ConvertError(`the COCO file has no ${key} array: not a COCO object-detection file`);
  }
  return { images: d.images as CocoImage[], annotations: d.annotations as CocoAnnotation[], categories: d.categories as CocoCategory[] };
}

const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v !== '');
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** `date_captured` as the service's date-time, or undefined when absent or unreadable. */
function creationDateOf(dateCaptured: unknown): string | undefined {
  if (typeof dateCaptured !== 'string') return undefined;
  const m = DATE.exec(dateCaptured.trim());
  return m ? `${m[1]}T${m[2]}` : undefined;
}

interface Category { classId: number; name: string; fragment: string }

/**
 * What the line loop needs, in flat arrays. The parsed document is dropped before lines are built: it would
 * otherwise survive every young-generation GC the line strings cause and be copied each time.
 */
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
}

function prepare(source: ConvertSource, summary: SummaryBuilder): Prepared {
  const coco = parseCoco(source);

  // class_id in the manifest must be an integer: COCO ids normally are; others get a number of their own.
  const categoryIndex = new Map<number | string, number>();
  const cats: Category[] = [];
  const classIds = new Set<number>();
  let nextSynthetic = 1_000_000;
  for (const c of coco.categories) {
    if (!c || !isId(c.id) || typeof c.name !== 'string') {
      summary.skip(`category ${JSON.stringify(c?.id ?? null)}`, 'a category needs an id and a name');
      continue;
    }
    const problem = labelProblem(c.name);
    if (problem) {
      summary.skip(`category ${c.id}`, problem);
      continue;
    }
    if (categoryIndex.has(c.id)) {
      summary.skip(`category ${c.id}`, 'the category id appears more than once; the first is used');
      continue;
    }
    let classId = typeof c.id === 'number' && Number.isInteger(c.id) && c.id >= 0 ? c.id : -1;
    if (classId < 0 || classIds.has(classId)) {
      while (classIds.has(nextSynthetic)) nextSynthetic++;
      classId = nextSynthetic++;
    }
    classIds.add(classId);
    categoryIndex.set(c.id, cats.length);
    cats.push({ classId, name: c.name, fragment: `"${classId}":${JSON.stringify(c.name)}` });
  }

  const images = coco.images.length;
  const imageIndex = new Map<number | string, number>();
  const imageIds = new Array<unknown>(images);
  const fileNames = new Array<unknown>(images);
  const dates = new Array<unknown>(images);
  const widths = new Float64Array(images);
  const heights = new Float64Array(images);
  for (let i = 0; i < images; i++) {
    const img = coco.images[i];
    if (!img) continue;
    if (isId(img.id) && !imageIndex.has(img.id)) imageIndex.set(img.id, i);
    imageIds[i] = img.id;
    fileNames[i] = img.file_name;
    dates[i] = img.date_captured;
    widths[i] = isPositive(img.width) ? img.width : NaN;
    heights[i] = isPositive(img.height) ? img.height : NaN;
  }

  // Annotations grouped by image once, in linear time (counting sort into one flat index array).
  const nAnn = coco.annotations.length;
  const annImage = new Int32Array(nAnn).fill(-1);
  const annCat = new Int32Array(nAnn);
  const annIds = new Array<unknown>(nAnn);
  const bbox = new Float64Array(nAnn * 4);
  const start = new Int32Array(images + 1);
  for (let i = 0; i < nAnn; i++) {
    const a = coco.annotations[i];
    annIds[i] = a?.id;
    const idx = a && isId(a.image_id) ? imageIndex.get(a.image_id) : undefined;
    if (idx === undefined) {
      summary.skip(annotationItem(a?.id, i), `image_id ${JSON.stringify(a?.image_id ?? null)} is not in images[]`);
      continue;
    }
    const cat = isId(a.category_id) ? categoryIndex.get(a.category_id) : undefined;
    if (cat === undefined) {
      summary.skip(annotationItem(a.id, i), `category_id ${JSON.stringify(a.category_id ?? null)} is not in categories[]`);
      continue;
    }
    annImage[i] = idx;
    annCat[i] = cat;
    start[idx + 1]++;
    const b = a.bbox;
    if (Array.isArray(b) && b.length === 4 && typeof b[0] === 'number' && typeof b[1] === 'number' && typeof b[2] === 'number'
      && typeof b[3] === 'number' && Number.isFinite(b[0] + b[1] + b[2] + b[3])) {
      bbox[i * 4] = b[0];
      bbox[i * 4 + 1] = b[1];
      bbox[i * 4 + 2] = b[2];
      bbox[i * 4 + 3] = b[3];
    } else {
      bbox[i * 4] = NaN;
    }
  }
  for (let i = 0; i < images; i++) start[i + 1] += start[i];
  const byImage = new Int32Array(start[images]);
  const fill = start.slice(0, images);
  for (let i = 0; i < nAnn; i++) if (annImage[i] >= 0) byImage[fill[annImage[i]]++] = i;
  return { cats, images, imageIds, fileNames, widths, heights, dates, start, byImage, annIds, annCat, bbox };
}

/** The manifest lines for a COCO file (a path) or COCO JSON (a Buffer, or a string starting with `{`); returns the summary. */
export function* cocoToManifestLines(source: ConvertSource, options: ConvertOptions): Generator<string, ConvertSummary> {
  const stamp = resolveStamp(options, 'coco');
  const summary = new SummaryBuilder();
  const p = prepare(source, summary);
  const { cats, start, byImage, annCat, bbox } = p;

  const seen = new SeenImages();
  const jobName = JSON.stringify(stamp.jobName);
  const defaultDate = JSON.stringify(stamp.creationDate);
  // Per line: boxes per category, and which categories the line uses (`mark` holds the image that last used it).
  const mark = new Int32Array(cats.length).fill(-1);
  const boxesOf = new Int32Array(cats.length);
  const used: number[] = [];
  for (let i = 0; i < p.images; i++) {
    const fileName = p.fileNames[i];
    if (typeof fileName !== 'string' || fileName === '') {
      summary.skip(imageItem(p.imageIds[i], i), 'the image has no file_name');
      continue;
    }
    if (Number.isNaN(p.widths[i]) || Number.isNaN(p.heights[i])) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} has no positive width and height (image_size needs them)`);
      continue;
    }
    if (start[i + 1] === start[i]) {
      summary.skip(imageItem(p.imageIds[i], i), `${fileName} has no annotations (a detection line without boxes is ignored by the service)`);
      continue;
    }
    const W = Math.round(p.widths[i]);
    const H = Math.round(p.heights[i]);
    let annotations = '';
    let boxes = 0;
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
      annotations += `${boxes === 0 ? '' : ','}{"class_id":${cats[c].classId},"top":${top},"left":${left},"width":${width},"height":${height}}`;
      boxes++;
    }
    if (problems) for (const [what, why] of problems) summary.skip(what, why);
    const item = (): string => imageItem(p.imageIds[i], i);
    if (boxes === 0) {
      summary.skip(item(), `${fileName} has no usable box`);
      continue;
    }
    if (boxes > MAX_BOXES) {
      summary.skip(item(), `${fileName} has ${boxes} boxes, the service allows at most ${MAX_BOXES} per image`);
      continue;
    }
    const key = imageKey(fileName);
    if (key === undefined) {
      summary.skip(item(), `file_name must be a relative path or an s3:// URI, got: ${fileName}`);
      continue;
    }
    if (seen.check(key)) {
      summary.skip(item(), `${fileName} is listed by an earlier image`);
      continue;
    }
    summary.bareLine();
    if (used.length > 1) used.sort((a, b) => cats[a].classId - cats[b].classId);
    let classMap = '';
    for (const c of used) {
      summary.label(cats[c].name, 1, boxesOf[c]);
      classMap += (classMap === '' ? '' : ',') + cats[c].fragment;
    }
    const date = creationDateOf(p.dates[i]);
    yield `{"source-ref":${JSON.stringify(sourceRefOf(stamp, key))},"bounding-box":{"image_size":[{"width":${W},"height":${H},"depth":3}],`
      + `"annotations":[${annotations}]},"bounding-box-metadata":{"objects":[${objects(boxes)}],"class-map":{${classMap}},`
      + `"type":"${DETECTION_TYPE}","human-annotated":"yes","creation-date":${date === undefined ? defaultDate : `"${date}"`},`
      + `"job-name":${jobName}}}`;
  }
  return summary.result();
}

const OBJECTS: string[] = [''];
/** `{"confidence":1}` n times, comma-separated (memoised: n is at most 50). */
function objects(n: number): string {
  while (OBJECTS.length <= n) OBJECTS.push(OBJECTS.length === 1 ? '{"confidence":1}' : `${OBJECTS[OBJECTS.length - 1]},{"confidence":1}`);
  return OBJECTS[n];
}

function imageItem(id: unknown, i: number): string {
  return `image ${isId(id) ? id : `#${i}`}`;
}

function annotationItem(id: unknown, i: number): string {
  return `annotation ${isId(id) ? id : `#${i}`}`;
}

/** Writes the manifest for a COCO file or content to `out` (not ended), respecting backpressure. */
export function convertCoco(source: ConvertSource, options: ConvertOptions, out: NodeJS.WritableStream): Promise<ConvertSummary> {
  return writeLines(cocoToManifestLines(source, options), out);
}

/** Why a numeric COCO bbox cannot be used in a W x H image, or undefined. */
function boxProblem(x: number, y: number, w: number, h: number, W: number, H: number): string | undefined {
  if (w <= 0 || h <= 0) return `bbox ${JSON.stringify([x, y, w, h])} has no area`;
  if (x < -1 || y < -1 || x + w > W + 1 || y + h > H + 1) return `bbox ${JSON.stringify([x, y, w, h])} lies outside the ${W}x${H} image`;
  return undefined;
}
