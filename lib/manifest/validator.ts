/**
 * Validates a Ground Truth manifest against the service's rules (reference §5, §6), streaming, in constant
 * memory. The core is synchronous and push-based (CDK constructors validate local data at synth); the async
 * functions are thin wrappers that read chunks and, when images are checked, probe ahead concurrently.
 */
import { HashSet64 } from './hash-set';
import { ImageInspector, ImageProbe, SyncImageInspector } from './image';
import { findJsonSyntaxError, formatJsonSyntaxError } from './json-error';
import { forEachManifestLine, isBlank, ManifestInput, ManifestLine, splitLines } from './reader';
import {
  CLASSIFICATION_TYPE,
  CREATION_DATE_FORMAT,
  DETECTION_TYPE,
  ErrorCode,
  ErrorLevel,
  ERRORS,
  LabelCount,
  MANIFEST_LIMITS,
  ManifestIssue,
  UseCase,
  ValidationReport,
  WarningCode,
  WARNINGS,
} from './types';

export type ManifestRole = 'training' | 'testing' | 'dataset';
export type LineKind = 'IMAGE_LEVEL_LABELS' | 'OBJECT_LOCALIZATION' | 'BOTH';

export interface BoundingBox {
  label: string;
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The verdict on one non-blank line. */
export interface LineResult {
  lineNumber: number;
  /**
   * Format-agnostic: 'valid' when at least one label attribute is valid. The use case is only known at the end,
   * so a valid line of the format not chosen still says 'valid' here; the report's counts call it ignored.
   */
  status: 'valid' | 'invalid' | 'ignored';
  /** §6.3 C: the service drops the line silently (bad JSON, bad/missing source-ref, duplicate, too long). */
  dropped: boolean;
  sourceRef?: string;
  bucket?: string;
  key?: string;
  /** Formats of the label attributes present on the line (by their metadata `type`). */
  kind?: LineKind;
  /** Distinct labels of the line's valid annotations; empty unless the line is valid. */
  labels: string[];
  /** Valid boxes, in pixels; empty unless the line is valid. */
  boxes: BoundingBox[];
  /** From the first detection attribute's image_size. */
  imageSize?: { width: number; height: number };
  errors: ManifestIssue[];
  warnings: ManifestIssue[];
  /** The original line ('' for a line that is too long). */
  text: string;
  /** The line with `errors` arrays inserted at the §6.4 levels, as ListDatasetEntries returns it. Built on call. */
  annotated(): string;
}

export interface ValidatorOptions {
  /**
   * 'training' (default) and 'testing' apply every rule. 'dataset' is CreateDataset/UpdateDatasetEntries:
   * only §6.3 A errors and ERROR_TOO_MANY_RECORDS_IN_ERROR are terminal; the B rules do not apply.
   */
  role?: ManifestRole;
  /** When given, image checks run (ERROR_INVALID_IMAGE, ERROR_INVALID_IMAGE_DIMENSION). */
  images?: SyncImageInspector;
  /** Called in line order for every non-blank line. */
  onLine?: (line: LineResult) => void;
}

export interface ValidateOptions {
  role?: ManifestRole;
  /** When given, image checks run, up to `imageConcurrency` probes at a time. */
  images?: ImageInspector;
  onLine?: (line: LineResult) => void;
  onProgress?: (bytesRead: number, totalBytes?: number) => void;
  /** @default 16 */
  imageConcurrency?: number;
}

export interface ManifestValidation extends ValidationReport {
  readonly role: ManifestRole;
  /** Distinct image buckets seen (normally 1; at most 100 are listed). */
  readonly buckets: string[];
  /** Invalid lines, 1-based: `error_json_line_indices` of manifest_summary.json. */
  readonly errorLineNumbers: number[];
  /** Physical lines, blank ones included (the row limit counts them). */
  readonly rows: number;
  /** Lines the service would drop silently (§6.3 C); they are part of `invalidLines`. */
  readonly droppedLines: number;
  /** Valid lines of the format not chosen as the use case; they are part of `ignoredLines`. */
  readonly otherFormatLines: number;
  /** Exactly the CLI's JSON shape. */
  toJSON(): ValidationReport;
}

export interface PairValidation {
  valid: boolean;
  training: ManifestValidation;
  testing: ManifestValidation;
  /** Errors across the two manifests; `line` is a testing line for ERROR_IMAGE_IN_TRAINING_AND_TESTING. */
  errors: ManifestIssue[];
}

const S3_URI = /^s3:\/\/([^/\s]+)\/(.+)$/s;
// [inferred] "UTC date-time": ISO 8601 date and time ('T' or, as COCO's date_captured has it, a space), optional
// fraction, and no zone, 'Z' or a zero offset. Other offsets are not UTC and are refused.
const MAX_BUCKETS_LISTED = 100;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Length in code points (as for the line limit); strings are only walked when UTF-16 length is over the limit. */
function overLength(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

function issue(
  line: number | null, code: ErrorCode | WarningCode, level: ErrorLevel, fill?: string, attribute?: string, annotationIndex?: number,
  detail?: string,
): ManifestIssue {
  let message: string = code in ERRORS ? ERRORS[code as ErrorCode] : WARNINGS[code as WarningCode];
  if (fill !== undefined) message = message.replace('{}', fill);
  return { line, code, message, level, attribute, annotationIndex, detail };
}

class LineResultImpl implements LineResult {
  status: 'valid' | 'invalid' | 'ignored' = 'invalid';
  dropped = false;
  sourceRef?: string;
  bucket?: string;
  key?: string;
  kind?: LineKind;
  labels: string[] = [];
  boxes: BoundingBox[] = [];
  imageSize?: { width: number; height: number };
  errors: ManifestIssue[] = [];
  warnings: ManifestIssue[] = [];

  constructor(readonly lineNumber: number, readonly text: string) {}

  annotated(): string {
    return annotateLine(this.text, this.errors);
  }
}

/** Per-line working state between parsing and the (possibly asynchronous) image check. */
class Pending {
  readonly result: LineResultImpl;
  lineErrors = 0;
  validAttrs = 0;
  warnAttrs = 0;
  errorAttrs = 0;
  hasCls = false;
  hasDet = false;
  clsLabels: string[] | undefined;
  /** Labels met on annotations/attributes that turned out invalid (for ERROR_LABEL_WITHOUT_VALID_IMAGES). */
  seenCls: string[] | undefined;
  seenDet: string[] | undefined;
  validCls = false;
  validDet = false;
  inBothManifests = false;

  constructor(lineNumber: number, text: string) {
    this.result = new LineResultImpl(lineNumber, text);
  }

  error(code: ErrorCode, level: ErrorLevel, fill?: string, attribute?: string, annotationIndex?: number, detail?: string): void {
    this.result.errors.push(issue(this.result.lineNumber, code, level, fill, attribute, annotationIndex, detail));
    if (level === 'line') this.lineErrors++;
  }

  warning(code: WarningCode, attribute?: string): void {
    this.result.warnings.push(issue(this.result.lineNumber, code, attribute === undefined ? 'line' : 'attribute', undefined, attribute));
  }

  drop(code: ErrorCode, detail?: string): Pending {
    this.result.dropped = true;
    this.error(code, 'line', undefined, undefined, undefined, detail);
    return this;
  }

  /** Drops a line that is not JSON, saying where and why (the column and reason of the first syntax error). */
  dropInvalidJson(text: string): Pending {
    const e = findJsonSyntaxError(text);
    if (e === undefined) return this.drop('ERROR_INVALID_JSON_LINE');
    this.result.dropped = true;
    this.result.errors.push({ ...issue(this.result.lineNumber, 'ERROR_INVALID_JSON_LINE', 'line', undefined, undefined, undefined,
      formatJsonSyntaxError(e, true)), column: e.column });
    this.lineErrors++;
    return this;
  }

  /** True when image checks may change the verdict: only lines that are otherwise valid are probed. */
  get wantsImage(): boolean {
    return !this.result.dropped && this.lineErrors === 0 && this.validAttrs > 0;
  }
}

interface Internals {
  sourceRefs: HashSet64;
  allLabels: Set<string>;
}

const INTERNALS = new WeakMap<ManifestValidation, Internals>();

/**
 * The synchronous, push-based validator. Feed it every line (blank ones too, so the row count is right), in
 * order, then call finish() once.
 */
export class ManifestValidator {
  private readonly role: ManifestRole;
  private readonly images?: SyncImageInspector;
  private readonly onLine?: (line: LineResult) => void;
  private readonly sourceRefs = new HashSet64();
  /** Training's source-refs, when this validates the testing half of a pair. */
  private readonly crossRefs?: HashSet64;
  private readonly crossErrors: ManifestIssue[] = [];

  private rows = 0;
  private total = 0;
  private valid = 0;
  private invalid = 0;
  private warned = 0;
  private dropped = 0;
  private validClsLines = 0;
  private validDetLines = 0;
  private readonly clsLabels = new Map<string, LabelCount>();
  private readonly detLabels = new Map<string, LabelCount>();
  private readonly buckets = new Set<string>();
  private bucketCount = 0;
  private readonly errors: ManifestIssue[] = [];
  private readonly warnings: ManifestIssue[] = [];
  private readonly errorLines: number[] = [];
  private finished = false;

  constructor(options: ValidatorOptions & { crossCheck?: ManifestValidation } = {}) {
    this.role = options.role ?? 'training';
    this.images = options.images;
    this.onLine = options.onLine;
    if (options.crossCheck) this.crossRefs = INTERNALS.get(options.crossCheck)?.sourceRefs;
  }

  push(line: ManifestLine): void {
    const p = this.prepare(line);
    if (!p) return;
    let probe: ImageProbe | undefined;
    if (this.images && p.wantsImage) {
      try {
        probe = this.images.probeSync(p.result.bucket!, p.result.key!);
      } catch {
        probe = { exists: false };
      }
    }
    this.complete(p, probe);
  }

  /** Parses and checks a line, everything but its image. Null for a blank line. @internal */
  prepare(line: ManifestLine): Pending | null {
    if (this.finished) throw new Error('ManifestValidator: push() after finish()');
    if (line.lineNumber > this.rows) this.rows = line.lineNumber;
    if (!line.tooLong && isBlank(line.text)) return null;
    const p = new Pending(line.lineNumber, line.text);
    if (line.tooLong) return p.drop('ERROR_JSON_LINE_TOO_LONG');
    let obj: unknown;
    try {
      obj = JSON.parse(line.text);
    } catch {
      return p.dropInvalidJson(line.text);
    }
    if (!isObject(obj)) return p.drop('ERROR_INVALID_JSON_LINE', 'the line is JSON but not an object');
    const ref = obj['source-ref'];
    if (ref === undefined) return p.drop('ERROR_MISSING_SOURCE_REF');
    const m = typeof ref === 'string' ? S3_URI.exec(ref) : null;
    if (!m) return p.drop('ERROR_INVALID_SOURCE_REF_FORMAT');
    const r = p.result;
    r.sourceRef = ref as string;
    r.bucket = m[1];
    r.key = m[2];
    if (!this.sourceRefs.addString(r.sourceRef)) return p.drop('ERROR_DUPLICATE_SOURCE_REF');
    if (this.crossRefs && this.crossRefs.hasString(r.sourceRef)) p.inBothManifests = true;
    this.checkAttributes(p, obj);
    return p;
  }

  /** Applies the image verdict, settles the line and updates the counts. @internal */
  complete(p: Pending, probe: ImageProbe | undefined): void {
    const r = p.result;
    if (probe && p.wantsImage) this.checkImage(p, probe);
    if (r.dropped || p.lineErrors > 0) {
      r.status = 'invalid';
    } else if (p.validAttrs > 0) {
      r.status = 'valid';
    } else if (p.errorAttrs === 0 && p.warnAttrs > 0) {
      r.status = 'ignored';
    } else {
      p.error('ERROR_NO_VALID_LABEL_ATTRIBUTES', 'line');
      r.status = 'invalid';
    }
    if (r.bucket !== undefined && !r.dropped) this.noteBucket(r.bucket);
    if (p.inBothManifests) this.crossErrors.push(issue(r.lineNumber, 'ERROR_IMAGE_IN_TRAINING_AND_TESTING', 'line', undefined, undefined, undefined, r.sourceRef));
    this.count(p);
    for (const e of r.errors) this.errors.push(e);
    for (const w of r.warnings) this.warnings.push(w);
    if (this.onLine) this.onLine(r);
  }

  finish(): ManifestValidation {
    if (this.finished) throw new Error('ManifestValidator: finish() called twice');
    this.finished = true;
    const fileErrors: ManifestIssue[] = [];
    const fileError = (code: ErrorCode, fill?: string, detail?: string): void => {
      fileErrors.push(issue(null, code, 'file', fill, undefined, undefined, detail));
    };

    const useCase: UseCase = this.validClsLines === 0 && this.validDetLines === 0 ? 'NOT_DETERMINED'
      // [inferred] mixed manifests: the format with more valid lines wins, a tie goes to image-level labels.
      : this.validClsLines >= this.validDetLines ? 'IMAGE_LEVEL_LABELS' : 'OBJECT_LOCALIZATION';
    const chosenValid = useCase === 'IMAGE_LEVEL_LABELS' ? this.validClsLines : useCase === 'OBJECT_LOCALIZATION' ? this.validDetLines : 0;
    const otherFormat = this.valid - chosenValid;
    const ignored = this.warned + otherFormat;
    const chosen = useCase === 'IMAGE_LEVEL_LABELS' ? this.clsLabels : useCase === 'OBJECT_LOCALIZATION' ? this.detLabels : new Map<string, LabelCount>();

    const labels: Record<string, LabelCount> = {};
    const withoutImages: string[] = [];
    for (const [name, c] of chosen) {
      if (c.images > 0) labels[name] = { images: c.images, boxes: c.boxes };
      else withoutImages.push(name);
    }
    const labelCount = Object.keys(labels).length;
    const allLabels = new Set<string>();
    for (const m of [this.clsLabels, this.detLabels]) for (const [name, c] of m) if (c.images > 0) allLabels.add(name);

    if (this.total === 0) {
      fileError('ERROR_EMPTY_MANIFEST');
    } else {
      if (this.rows > MANIFEST_LIMITS.maxLines) {
        fileError('ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM', undefined, `${this.rows} rows; at most ${MANIFEST_LIMITS.maxLines}`);
      }
      if (this.role === 'dataset') {
        // [inferred] "too many" dropped lines: the same 20% share as the content rule, over all non-blank lines.
        if (this.dropped / this.total > MANIFEST_LIMITS.maxInvalidRatio) {
          fileError('ERROR_TOO_MANY_RECORDS_IN_ERROR', undefined, `${this.dropped} of ${this.total} lines are unreadable`);
        }
      } else {
        const counted = this.total - ignored;
        // [inferred] the boundary: exactly 20% invalid passes, anything over fails.
        if (counted > 0 && this.invalid / counted > MANIFEST_LIMITS.maxInvalidRatio) {
          fileError('ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST', undefined, `${this.invalid} of ${counted} lines are invalid (ignored lines excluded); at most 20% may be`);
        }
        if (this.bucketCount > 1) {
          fileError('ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS', undefined, `buckets: ${[...this.buckets].join(', ')}`);
        }
        // Minimums per limits.md (reference §10.1): image-level labels need 2, boxes 1.
        const min = useCase === 'IMAGE_LEVEL_LABELS' ? MANIFEST_LIMITS.minLabelsClassification : MANIFEST_LIMITS.minLabelsDetection;
        if (allLabels.size < min) {
          fileError('ERROR_MANIFEST_TOO_FEW_LABELS', undefined, `${allLabels.size} label(s) with valid images; at least ${min} needed`);
        } else if (labelCount < min) {
          fileError('ERROR_MANIFEST_TOO_FEW_USABLE_LABELS', undefined, `${labelCount} label(s) of the use case ${useCase}; at least ${min} needed`);
        }
        if (labelCount > MANIFEST_LIMITS.maxLabels) {
          fileError('ERROR_MANIFEST_TOO_MANY_LABELS', undefined, `${labelCount} labels; at most ${MANIFEST_LIMITS.maxLabels}`);
        }
        // Test datasets may have labels with no images (limits.md: images per label >= 0).
        if (this.role === 'training') for (const name of withoutImages) fileError('ERROR_LABEL_WITHOUT_VALID_IMAGES', name);
      }
    }

    const errors = fileErrors.concat(this.errors);
    const report: ManifestValidation = {
      valid: fileErrors.length === 0,
      useCase,
      totalLines: this.total,
      validLines: chosenValid,
      invalidLines: this.invalid,
      ignoredLines: ignored,
      labels,
      errors,
      warnings: this.warnings,
      role: this.role,
      buckets: [...this.buckets],
      errorLineNumbers: this.errorLines,
      rows: this.rows,
      droppedLines: this.dropped,
      otherFormatLines: otherFormat,
      toJSON: () => reportJson(report),
    };
    Object.defineProperty(report, 'toJSON', { enumerable: false });
    INTERNALS.set(report, { sourceRefs: this.sourceRefs, allLabels });
    if (this.crossErrors.length > 0) CROSS.set(report, this.crossErrors);
    return report;
  }

  private noteBucket(bucket: string): void {
    if (this.buckets.has(bucket)) return;
    this.bucketCount++;
    if (this.buckets.size < MAX_BUCKETS_LISTED) this.buckets.add(bucket);
  }

  private count(p: Pending): void {
    const r = p.result;
    this.total++;
    if (r.dropped) this.dropped++;
    if (r.status === 'invalid') {
      this.invalid++;
      this.errorLines.push(r.lineNumber);
    } else if (r.status === 'ignored') {
      this.warned++;
    }
    if (p.hasCls && p.hasDet) r.kind = 'BOTH';
    else if (p.hasCls) r.kind = 'IMAGE_LEVEL_LABELS';
    else if (p.hasDet) r.kind = 'OBJECT_LOCALIZATION';

    if (p.seenCls) for (const name of p.seenCls) if (!this.clsLabels.has(name)) this.clsLabels.set(name, { images: 0, boxes: 0 });
    if (p.seenDet) for (const name of p.seenDet) if (!this.detLabels.has(name)) this.detLabels.set(name, { images: 0, boxes: 0 });
    if (r.status !== 'valid') {
      // Labels of a line that does not count are only "seen".
      if (p.clsLabels) for (const name of p.clsLabels) if (!this.clsLabels.has(name)) this.clsLabels.set(name, { images: 0, boxes: 0 });
      for (const b of r.boxes) if (!this.detLabels.has(b.label)) this.detLabels.set(b.label, { images: 0, boxes: 0 });
      r.boxes = [];
      return;
    }
    this.valid++;
    const labels: string[] = [];
    if (p.validCls && p.clsLabels) {
      this.validClsLines++;
      for (const name of p.clsLabels) {
        bump(this.clsLabels, name, 0);
        labels.push(name);
      }
    }
    if (p.validDet) {
      this.validDetLines++;
      const boxes = r.boxes;
      for (let i = 0; i < boxes.length; i++) {
        const name = boxes[i].label;
        let first = true;
        for (let j = 0; j < i; j++) {
          if (boxes[j].label === name) {
            first = false;
            break;
          }
        }
        if (first) {
          let n = 1;
          for (let j = i + 1; j < boxes.length; j++) if (boxes[j].label === name) n++;
          bump(this.detLabels, name, n);
          if (!labels.includes(name)) labels.push(name);
        }
      }
    }
    r.labels = labels;
  }

  private checkAttributes(p: Pending, obj: Json): void {
    let pairs = 0;
    let others = 0;
    for (const key in obj) {
      if (key === 'source-ref') continue;
      if (key.endsWith('-metadata')) {
        if (!Object.hasOwn(obj, key.slice(0, -9))) others++;
        continue;
      }
      const metaKey = key + '-metadata';
      if (!Object.hasOwn(obj, metaKey)) {
        others++;
        continue;
      }
      pairs++;
      this.checkAttribute(p, key, obj[key], obj[metaKey]);
    }
    if (pairs === 0) {
      // [inferred] a line with nothing but its source-ref is unannotated (ignored, a warning); a line with other keys
      // but no complete attribute/metadata pair has ERROR_NO_LABEL_ATTRIBUTES. Keys beside a complete pair are ignored.
      if (others === 0) {
        p.warning('WARNING_UNANNOTATED_RECORD');
        p.warnAttrs++;
      } else {
        p.error('ERROR_NO_LABEL_ATTRIBUTES', 'line');
      }
    }
  }

  private checkAttribute(p: Pending, key: string, value: unknown, meta: unknown): void {
    if (!isObject(meta)) {
      p.error('ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', undefined, key, undefined, 'metadata is not an object');
      p.errorAttrs++;
      return;
    }
    const type = meta.type;
    if (type === CLASSIFICATION_TYPE) {
      p.hasCls = true;
      this.checkClassification(p, key, value, meta);
    } else if (type === DETECTION_TYPE) {
      p.hasDet = true;
      this.checkDetection(p, key, value, meta);
    } else if (typeof type === 'string') {
      p.error('ERROR_UNSUPPORTED_USE_CASE_TYPE', 'attribute', type, key);
      p.errorAttrs++;
    } else {
      p.error('ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', undefined, key, undefined, 'type is missing');
      p.errorAttrs++;
    }
  }

  /** human-annotated and creation-date, common to both formats; returns what is wrong, or undefined. */
  private commonMetadataProblem(meta: Json): string | undefined {
    const human = meta['human-annotated'];
    if (human !== 'yes' && human !== 'no') return 'human-annotated must be "yes" or "no"';
    const date = meta['creation-date'];
    if (typeof date !== 'string' || !CREATION_DATE_FORMAT.test(date)) return 'creation-date must be a UTC date-time such as 2020-03-06T17:46:39.176';
    return undefined;
  }

  private checkClassification(p: Pending, key: string, value: unknown, meta: Json): void {
    let ok = true;
    if (!isInt(value)) {
      p.error('ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT', 'attribute', key, key, undefined, 'the value must be an integer');
      ok = false;
    }
    const name = meta['class-name'];
    const confidence = meta.confidence;
    let problem = this.commonMetadataProblem(meta);
    if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) problem ??= 'confidence must be a number from 0 to 1';
    if (typeof name !== 'string' || name.length === 0) problem ??= 'class-name must be a non-empty string';
    if (problem) {
      p.error('ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', undefined, key, undefined, problem);
      ok = false;
    }
    if (typeof name === 'string' && name.length > 0) {
      if (overLength(name, MANIFEST_LIMITS.maxLabelNameChars)) {
        p.error('ERROR_INVALID_LABEL_NAME_LENGTH', 'attribute', name, key);
        ok = false;
      } else if (!ok) {
        (p.seenCls ??= []).push(name);
      }
    }
    if (!ok) {
      p.errorAttrs++;
      return;
    }
    p.validAttrs++;
    p.validCls = true;
    const labels = (p.clsLabels ??= []);
    if (!labels.includes(name as string)) labels.push(name as string);
  }

  private checkDetection(p: Pending, key: string, value: unknown, meta: Json): void {
    const bad = (detail: string): void => {
      p.error('ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT', 'attribute', key, key, undefined, detail);
      p.errorAttrs++;
    };
    if (!isObject(value)) return bad('the value must be an object with image_size and annotations');
    const sizes = value.image_size;
    const size = Array.isArray(sizes) && sizes.length === 1 ? sizes[0] : undefined;
    if (!isObject(size) || !isInt(size.width) || !isInt(size.height) || !isInt(size.depth) || size.width <= 0 || size.height <= 0) {
      return bad('image_size must be a one-element array of {width, height, depth} integers');
    }
    const width = size.width;
    const height = size.height;
    const r = p.result;
    r.imageSize ??= { width, height };
    const annotations = value.annotations;
    if (annotations !== undefined && !Array.isArray(annotations)) return bad('annotations must be an array');

    let problem = this.commonMetadataProblem(meta);
    const classMap = meta['class-map'];
    const objects = meta.objects;
    if (!isObject(classMap)) problem ??= 'class-map must be an object';
    if (objects !== undefined && !Array.isArray(objects)) problem ??= 'objects must be an array';
    if (problem) {
      p.error('ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', undefined, key, undefined, problem);
      p.errorAttrs++;
      return;
    }
    if (annotations === undefined || annotations.length === 0) {
      // [inferred] the two warnings overlap in the docs: a human said "no boxes" (human-annotated yes) is
      // WARNING_NO_ANNOTATIONS; otherwise the attribute simply carries none.
      p.warning(meta['human-annotated'] === 'yes' ? 'WARNING_NO_ANNOTATIONS' : 'WARNING_NO_ATTRIBUTE_ANNOTATIONS', key);
      p.warnAttrs++;
      return;
    }
    if (annotations.length > MANIFEST_LIMITS.maxBoxesPerImage) {
      p.error('ERROR_TOO_MANY_BOUNDING_BOXES', 'line', undefined, key, undefined, `${annotations.length} boxes; at most ${MANIFEST_LIMITS.maxBoxesPerImage}`);
      p.errorAttrs++;
      return;
    }
    for (const a of annotations) {
      if (!isObject(a) || !isInt(a.class_id) || !isInt(a.left) || !isInt(a.top) || !isInt(a.width) || !isInt(a.height)) {
        return bad('each annotation needs integer class_id, top, left, width and height');
      }
    }
    const map = classMap as Json;
    const objs = objects as unknown[] | undefined;
    const longest = Math.max(width, height);
    const scale = longest > MANIFEST_LIMITS.boxScaleSide ? MANIFEST_LIMITS.boxScaleSide / longest : 1;
    let valid = 0;
    let missingConfidence = false;
    let longName = false;
    const boxes = r.boxes;
    for (let i = 0; i < annotations.length; i++) {
      const a = annotations[i] as { class_id: number; left: number; top: number; width: number; height: number };
      const classKey = String(a.class_id);
      const label = Object.hasOwn(map, classKey) ? map[classKey] : undefined;
      if (typeof label !== 'string' || label.length === 0) {
        p.error('ERROR_MISSING_CLASS_MAP_ID', 'annotation', undefined, key, i, `class_id ${a.class_id}`);
        continue;
      }
      if (overLength(label, MANIFEST_LIMITS.maxLabelNameChars)) {
        if (!longName) p.error('ERROR_INVALID_LABEL_NAME_LENGTH', 'attribute', label, key);
        longName = true;
        continue;
      }
      const o = objs?.[i];
      if (!isObject(o) || typeof o.confidence !== 'number') {
        // [inferred] a box without confidence is dropped; the error sits once in the metadata.
        missingConfidence = true;
        (p.seenDet ??= []).push(label);
        continue;
      }
      if (a.left < 0 || a.top < 0 || a.width < 0 || a.height < 0 || a.left + a.width > width || a.top + a.height > height) {
        p.error('ERROR_INVALID_BOUNDING_BOX', 'annotation', undefined, key, i, `box ${a.left},${a.top} ${a.width}x${a.height} in a ${width}x${height} image`);
        (p.seenDet ??= []).push(label);
        continue;
      }
      // [inferred] "must be > 1x1 px after scaling": either side at or under 1 px is too small.
      if (a.width * scale <= 1 || a.height * scale <= 1) {
        p.error('ERROR_BOUNDING_BOX_TOO_SMALL', 'annotation', undefined, key, i, `${a.width}x${a.height} px (x${scale.toFixed(3)} after scaling)`);
        (p.seenDet ??= []).push(label);
        continue;
      }
      boxes.push({ label, left: a.left, top: a.top, width: a.width, height: a.height });
      valid++;
    }
    if (missingConfidence) p.error('ERROR_MISSING_BOUNDING_BOX_CONFIDENCE', 'metadata', undefined, key);
    if (valid === 0) {
      p.error('ERROR_NO_VALID_ANNOTATIONS', 'line', undefined, key);
      p.errorAttrs++;
      return;
    }
    p.validAttrs++;
    p.validDet = true;
  }

  private checkImage(p: Pending, probe: ImageProbe): void {
    const fail = (code: ErrorCode, detail: string): void => p.error(code, 'line', undefined, undefined, undefined, detail);
    if (!probe.exists) {
      const why = probe.problem ?? 'the image does not exist or cannot be read';
      return fail('ERROR_INVALID_IMAGE', probe.location === undefined ? why : `${why}: ${probe.location}`);
    }
    if (!probe.format) return fail('ERROR_INVALID_IMAGE', 'not a PNG or JPEG image');
    if (probe.bytes !== undefined && probe.bytes > MANIFEST_LIMITS.maxImageBytes) {
      return fail('ERROR_INVALID_IMAGE', `${probe.bytes} bytes; at most ${MANIFEST_LIMITS.maxImageBytes}`);
    }
    const { width, height } = probe;
    if (width === undefined || height === undefined) return fail('ERROR_INVALID_IMAGE', `the ${probe.format} header has no readable dimensions`);
    const { minImageSide: lo, maxImageSide: hi } = MANIFEST_LIMITS;
    if (width < lo || height < lo || width > hi || height > hi) {
      // The service reports the dimension code for images with boxes (reference §6.3 D).
      return fail(p.hasDet ? 'ERROR_INVALID_IMAGE_DIMENSION' : 'ERROR_INVALID_IMAGE', `${width}x${height} px; each side must be ${lo} to ${hi}`);
    }
    if (Math.max(width, height) > MANIFEST_LIMITS.maxAspectRatio * Math.min(width, height)) {
      return fail('ERROR_INVALID_IMAGE', `${width}x${height} px; the aspect ratio may be at most ${MANIFEST_LIMITS.maxAspectRatio}:1`);
    }
  }
}

const CROSS = new WeakMap<ManifestValidation, ManifestIssue[]>();

function bump(map: Map<string, LabelCount>, name: string, boxes: number): void {
  const c = map.get(name);
  if (c) {
    c.images++;
    c.boxes += boxes;
  } else {
    map.set(name, { images: 1, boxes });
  }
}

function issueJson(i: ManifestIssue): ManifestIssue {
  const out: { -readonly [K in keyof ManifestIssue]: ManifestIssue[K] } = { line: i.line, code: i.code, message: i.message, level: i.level };
  if (i.attribute !== undefined) out.attribute = i.attribute;
  if (i.annotationIndex !== undefined) out.annotationIndex = i.annotationIndex;
  if (i.detail !== undefined) out.detail = i.detail;
  if (i.column !== undefined) out.column = i.column;
  return out;
}

function reportJson(r: ValidationReport): ValidationReport {
  return {
    valid: r.valid,
    useCase: r.useCase,
    totalLines: r.totalLines,
    validLines: r.validLines,
    invalidLines: r.invalidLines,
    ignoredLines: r.ignoredLines,
    labels: r.labels,
    errors: r.errors.map(issueJson),
    warnings: r.warnings.map(issueJson),
  };
}

/**
 * Inserts `errors` arrays into a line at the §6.4 levels. [inferred] An attribute-level error of a classification
 * attribute (whose value is a number and cannot hold an array) goes into its metadata; anything that has no object
 * to live in goes to the top level. A line that is not a JSON object becomes `{"errors":[...]}`.
 */
export function annotateLine(text: string, errors: ManifestIssue[]): string {
  let obj: unknown;
  try {
    obj = text === '' ? undefined : JSON.parse(text);
  } catch {
    obj = undefined;
  }
  const entry = (e: ManifestIssue): { code: string; message: string } => ({ code: e.code, message: e.message });
  if (!isObject(obj)) return JSON.stringify({ errors: errors.map(entry) });
  const root = obj;
  const add = (target: unknown, e: ManifestIssue): boolean => {
    if (!isObject(target)) return false;
    const list = Array.isArray(target.errors) ? target.errors : (target.errors = []);
    (list as unknown[]).push(entry(e));
    return true;
  };
  for (const e of errors) {
    const attr = e.attribute !== undefined && Object.hasOwn(root, e.attribute) ? root[e.attribute] : undefined;
    const meta = e.attribute !== undefined && Object.hasOwn(root, `${e.attribute}-metadata`) ? root[`${e.attribute}-metadata`] : undefined;
    let placed = false;
    if (e.level === 'annotation' && isObject(attr) && Array.isArray(attr.annotations)) placed = add(attr.annotations[e.annotationIndex ?? -1], e);
    else if (e.level === 'attribute') placed = add(attr, e) || add(meta, e);
    else if (e.level === 'metadata') placed = add(meta, e);
    if (!placed) add(root, e);
  }
  return JSON.stringify(root);
}

/** Validates content already in memory, synchronously (synth time). */
export function validateManifestSync(content: Buffer | string, options: ValidatorOptions = {}): ManifestValidation {
  const v = new ManifestValidator(options);
  for (const line of splitLines(content, { includeBlank: true })) v.push(line);
  return v.finish();
}

/** Validates a manifest (a path, its content, or a stream). Rejects with ManifestFileError when it cannot be read. */
export async function validateManifest(input: ManifestInput, options: ValidateOptions = {}): Promise<ManifestValidation> {
  return validateAsync(input, options);
}

async function validateAsync(input: ManifestInput, options: ValidateOptions, crossCheck?: ManifestValidation): Promise<ManifestValidation> {
  const v = new ManifestValidator({ role: options.role, onLine: options.onLine, crossCheck });
  const images = options.images;
  if (!images) {
    await forEachManifestLine(input, (line) => v.push(line), { onProgress: options.onProgress });
    return v.finish();
  }
  // Probe ahead with bounded concurrency; complete strictly in line order.
  const limit = Math.max(1, options.imageConcurrency ?? 16);
  const window: Array<{ p: Pending; probe?: Promise<ImageProbe> }> = [];
  const probeOf = (p: Pending): Promise<ImageProbe> => images.probe(p.result.bucket!, p.result.key!).catch(() => ({ exists: false }));
  const drain = async (keep: number): Promise<void> => {
    while (window.length > keep) {
      const head = window.shift()!;
      v.complete(head.p, head.probe ? await head.probe : undefined);
    }
  };
  const lines: ManifestLine[] = [];
  await forEachManifestLine(input, (line) => lines.push(line), {
    onProgress: options.onProgress,
    onChunk: async () => {
      for (const line of lines) {
        const p = v.prepare(line);
        if (!p) continue;
        window.push({ p, probe: p.wantsImage ? probeOf(p) : undefined });
        if (window.length >= limit) await drain(limit - 1);
      }
      lines.length = 0;
    },
  });
  for (const line of lines) {
    const p = v.prepare(line);
    if (p) window.push({ p, probe: p.wantsImage ? probeOf(p) : undefined });
  }
  await drain(0);
  return v.finish();
}

/** Validates a training and a testing manifest together (label overlap, images in both). */
export async function validateManifestPair(
  training: ManifestInput, testing: ManifestInput, options: Omit<ValidateOptions, 'role' | 'onLine'> = {},
): Promise<PairValidation> {
  const train = await validateAsync(training, { ...options, role: 'training' });
  const test = await validateAsync(testing, { ...options, role: 'testing' }, train);
  return pairResult(train, test);
}

export function validateManifestPairSync(
  training: Buffer | string, testing: Buffer | string, options: { images?: SyncImageInspector } = {},
): PairValidation {
  const train = validateManifestSync(training, { images: options.images, role: 'training' });
  const v = new ManifestValidator({ images: options.images, role: 'testing', crossCheck: train });
  for (const line of splitLines(testing, { includeBlank: true })) v.push(line);
  return pairResult(train, v.finish());
}

/**
 * The pair's own errors (label overlap; images in both, when `testing` was validated with `crossCheck: training`) for
 * two validations made separately, e.g. while streaming.
 */
export function pairIssues(training: ManifestValidation, testing: ManifestValidation): ManifestIssue[] {
  return pairResult(training, testing).errors;
}

function pairResult(training: ManifestValidation, testing: ManifestValidation): PairValidation {
  const errors: ManifestIssue[] = [];
  const trainAll = INTERNALS.get(training)!.allLabels;
  const testAll = INTERNALS.get(testing)!.allLabels;
  const overlap = (train: Iterable<string>, test: Set<string>): { common: number; of: number } => {
    let common = 0;
    let of = 0;
    for (const l of train) {
      of++;
      if (test.has(l)) common++;
    }
    return { common, of };
  };
  // Skipped when training has no labels: that manifest already fails on its own.
  const all = overlap(trainAll, testAll);
  const usable = overlap(Object.keys(training.labels), new Set(Object.keys(testing.labels)));
  if (all.of > 0 && all.common / all.of < MANIFEST_LIMITS.minLabelOverlap) {
    errors.push(issue(null, 'ERROR_INSUFFICIENT_LABEL_OVERLAP', 'file', undefined, undefined, undefined,
      `${all.common} of ${all.of} training labels are in the testing manifest`));
  } else if (usable.of > 0 && usable.common / usable.of < MANIFEST_LIMITS.minLabelOverlap) {
    errors.push(issue(null, 'ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP', 'file', undefined, undefined, undefined,
      `${usable.common} of ${usable.of} training labels of the use case are in the testing manifest`));
  }
  for (const e of CROSS.get(testing) ?? []) errors.push(e);
  return { valid: training.valid && testing.valid && errors.length === 0, training, testing, errors };
}
