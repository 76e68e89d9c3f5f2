/**
 * Manifest lines as the labeling page edits them: what an image carries (image-level labels, boxes), read from a
 * Ground Truth line, and the line written back when the user changed it (reference §5.1-§5.3).
 *
 * An edited line keeps its source-ref, the keys that are not label attributes, and the attribute (with its metadata,
 * `creation-date` included) of every label the user did not change; only what changed is stamped with the new date.
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */
import { CLASSIFICATION_TYPE, DETECTION_TYPE } from '../manifest/types';

/** A bounding box in pixels of the image, origin at the top-left (integers, inside the frame). */
export interface PixelBox {
  readonly label: string;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** What one image carries. */
export interface Annotation {
  /** Image-level labels, in the order they were added. */
  readonly labels: string[];
  readonly boxes: PixelBox[];
}

type Json = Record<string, unknown>;

/** A manifest line read for editing. */
export interface ParsedLine {
  readonly sourceRef: string;
  readonly obj: Json;
  readonly annotation: Annotation;
  /** Classification attribute key of each image-level label (the first one when a label appears twice). */
  readonly labelKeys: Map<string, string>;
  /** Keys of the detection attributes the boxes were read from. */
  readonly boxKeys: string[];
  /** Label attribute keys that could not be read (dropped when the line is rewritten). */
  readonly unreadableKeys: string[];
}

export const EMPTY_ANNOTATION: Annotation = { labels: [], boxes: [] };

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Parses a line's text; undefined when it is not a JSON object with a string source-ref. */
export function parseLine(text: string): ParsedLine | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(obj) || typeof obj['source-ref'] !== 'string') return undefined;
  const labels: string[] = [];
  const boxes: PixelBox[] = [];
  const labelKeys = new Map<string, string>();
  const boxKeys: string[] = [];
  const unreadableKeys: string[] = [];
  for (const key of Object.keys(obj)) {
    if (key === 'source-ref' || key.endsWith('-metadata') || !Object.hasOwn(obj, `${key}-metadata`)) continue;
    const value = obj[key];
    const meta = obj[`${key}-metadata`];
    if (isObject(meta) && meta.type === CLASSIFICATION_TYPE && typeof meta['class-name'] === 'string' && meta['class-name'] !== '') {
      const label = meta['class-name'];
      if (!labelKeys.has(label)) {
        labelKeys.set(label, key);
        labels.push(label);
      }
    } else if (isObject(meta) && meta.type === DETECTION_TYPE && isObject(value) && Array.isArray(value.annotations)) {
      const classMap = isObject(meta['class-map']) ? meta['class-map'] : {};
      boxKeys.push(key);
      for (const a of value.annotations) {
        const label = isObject(a) ? classMap[String(a.class_id)] : undefined;
        if (isObject(a) && typeof label === 'string' && isInt(a.left) && isInt(a.top) && isInt(a.width) && isInt(a.height)) {
          boxes.push({ label, left: a.left, top: a.top, width: a.width, height: a.height });
        }
      }
    } else {
      unreadableKeys.push(key);
    }
  }
  return { sourceRef: obj['source-ref'], obj, annotation: { labels, boxes }, labelKeys, boxKeys, unreadableKeys };
}

export function sameBoxes(a: readonly PixelBox[], b: readonly PixelBox[]): boolean {
  return a.length === b.length && a.every((x, i) => x.label === b[i].label && x.left === b[i].left && x.top === b[i].top
    && x.width === b[i].width && x.height === b[i].height);
}

export function sameAnnotation(a: Annotation, b: Annotation): boolean {
  return a.labels.length === b.labels.length && a.labels.every((l, i) => l === b.labels[i]) && sameBoxes(a.boxes, b.boxes);
}

export interface LineStamp {
  /** `creation-date` of what changed, e.g. 2026-12-07T10:00:00.000 (UTC). */
  readonly creationDate: string;
  readonly jobName: string;
  /** The real image's size, for image_size. */
  readonly width: number;
  readonly height: number;
}

/**
 * The line for `annotation`, or undefined when it carries nothing (an image with no label has no line).
 * `previous` is the image's current line, if any: its source-ref, its other keys and the attributes of unchanged
 * labels are kept.
 */
export function buildLine(sourceRef: string, annotation: Annotation, previous: ParsedLine | undefined, stamp: LineStamp): string | undefined {
  if (annotation.labels.length === 0 && annotation.boxes.length === 0) return undefined;
  const labelAttributes = new Set([...(previous?.labelKeys.values() ?? []), ...(previous?.boxKeys ?? []), ...(previous?.unreadableKeys ?? [])]);
  const out: Json = { 'source-ref': previous?.sourceRef ?? sourceRef };
  if (previous) {
    // Keys that are not label attributes (notes, ids of other tools) stay as they were, in their order.
    for (const [k, v] of Object.entries(previous.obj)) {
      if (k === 'source-ref' || labelAttributes.has(k) || (k.endsWith('-metadata') && labelAttributes.has(k.slice(0, -9)))) continue;
      out[k] = v;
    }
  }
  const taken = new Set(Object.keys(out));
  annotation.labels.forEach((label, i) => {
    const key = annotation.labels.length === 1 ? 'label' : `label-${i}`;
    const oldKey = previous?.labelKeys.get(label);
    const uniqueKey = taken.has(key) ? freeKey(taken, key) : key;
    taken.add(uniqueKey).add(`${uniqueKey}-metadata`);
    if (oldKey !== undefined) {
      out[uniqueKey] = previous!.obj[oldKey];
      out[`${uniqueKey}-metadata`] = previous!.obj[`${oldKey}-metadata`];
    } else {
      out[uniqueKey] = i;
      out[`${uniqueKey}-metadata`] = {
        'confidence': 1,
        'job-name': stamp.jobName,
        'class-name': label,
        'human-annotated': 'yes',
        'creation-date': stamp.creationDate,
        'type': CLASSIFICATION_TYPE,
      };
    }
  });
  if (annotation.boxes.length > 0) {
    if (previous && previous.boxKeys.length > 0 && sameBoxes(previous.annotation.boxes, annotation.boxes)) {
      for (const k of previous.boxKeys) {
        const key = taken.has(k) ? freeKey(taken, k) : k;
        taken.add(key).add(`${key}-metadata`);
        out[key] = previous.obj[k];
        out[`${key}-metadata`] = previous.obj[`${k}-metadata`];
      }
    } else {
      const key = freeKey(taken, 'bounding-box');
      out[key] = boxAttribute(annotation.boxes, stamp);
      out[`${key}-metadata`] = boxMetadata(annotation.boxes, stamp);
    }
  }
  return JSON.stringify(out);
}

function freeKey(taken: Set<string>, base: string): string {
  if (!taken.has(base) && !taken.has(`${base}-metadata`)) return base;
  for (let i = 1; ; i++) {
    const key = `${base}-${i}`;
    if (!taken.has(key) && !taken.has(`${key}-metadata`)) return key;
  }
}

/** Class ids: the boxes' distinct labels sorted by code point, numbered from 0. */
function classIds(boxes: readonly PixelBox[]): Map<string, number> {
  const names = [...new Set(boxes.map((b) => b.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(names.map((n, i) => [n, i]));
}

function boxAttribute(boxes: readonly PixelBox[], stamp: LineStamp): Json {
  const ids = classIds(boxes);
  return {
    image_size: [{ width: stamp.width, height: stamp.height, depth: 3 }],
    annotations: boxes.map((b) => ({ class_id: ids.get(b.label)!, top: b.top, left: b.left, width: b.width, height: b.height })),
  };
}

function boxMetadata(boxes: readonly PixelBox[], stamp: LineStamp): Json {
  const ids = classIds(boxes);
  return {
    'objects': boxes.map(() => ({ confidence: 1 })),
    'class-map': Object.fromEntries([...ids].map(([name, id]) => [String(id), name])),
    'type': DETECTION_TYPE,
    'human-annotated': 'yes',
    'creation-date': stamp.creationDate,
    'job-name': stamp.jobName,
  };
}

/** `now` as the service writes dates: ISO 8601 without the zone letter (UTC), milliseconds. */
export function creationDateOf(date: Date): string {
  return date.toISOString().slice(0, 23);
}
