/**
 * SageMaker Ground Truth multi-label output -> one attribute per label (reference §5.2, §10.6).
 *
 * Input lines carry an attribute whose value is a list of class ids and `<attr>-metadata` with `class-map`,
 * optional `confidence-map` and `type: "groundtruth/image-classification-multilabel"`. The service does not accept
 * that form: each label becomes its own attribute `<attr>-<n>` with type "groundtruth/image-classification".
 *
 * Decisions (documented for users):
 * - [inferred] §10.6: the service's sample transform keeps the multi-label `type`; we write the classification
 *   type, the only one a strict validator accepts.
 * - `human-annotated`, `creation-date` and `job-name` are carried over from the input's metadata when present
 *   (they describe the labelling that happened); `confidence` comes from `confidence-map` when it is a number in
 *   0..1, else 1.
 * - Other keys of a line are kept as they are. A line without a multi-label attribute, a malformed line, or a
 *   label whose class id is missing from the class-map is skipped and listed (the line's other labels are kept).
 */
import { findJsonSyntaxError, formatJsonSyntaxError } from '../json-error';
import { readManifestLines } from '../reader';
import { CLASSIFICATION_TYPE, MANIFEST_LIMITS } from '../types';
import { assertText, ConvertOptions, ConvertSource, ConvertSummary, isContent, labelProblem, linesOf, readTextChunksSync, resolveStamp, SeenImages,
  Stamp, SummaryBuilder, write, WRITE_BATCH } from './common';

export const MULTILABEL_TYPE = 'groundtruth/image-classification-multilabel';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The per-line conversion shared by the sync and stream forms. */
class GtLines {
  private readonly stamp: Stamp;
  private readonly summary = new SummaryBuilder();
  private readonly seen = new SeenImages();

  constructor(options: ConvertOptions) {
    this.stamp = resolveStamp(options, 'gt-multilabel');
  }

  convert(lineNumber: number, text: string, tooLong = false): string | undefined {
    const item = `line ${lineNumber}`;
    if (tooLong || text.length > MANIFEST_LIMITS.maxLineChars) {
      this.summary.skip(item, `the line is longer than ${MANIFEST_LIMITS.maxLineChars} characters`);
      return undefined;
    }
    if (text.trim() === '') return undefined;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      const e = findJsonSyntaxError(text);
      this.summary.skip(item, `not valid JSON${e === undefined ? '' : ` (${formatJsonSyntaxError(e, true)})`}`);
      return undefined;
    }
    if (!isObject(obj)) {
      this.summary.skip(item, 'not a JSON object');
      return undefined;
    }
    const sourceRef = obj['source-ref'];
    if (typeof sourceRef !== 'string' || !sourceRef.startsWith('s3://')) {
      this.summary.skip(item, 'source-ref is missing or not an s3:// URI');
      return undefined;
    }
    const attrs = Object.keys(obj).filter((k) => isObject(obj[`${k}-metadata`]) && (obj[`${k}-metadata`] as Json).type === MULTILABEL_TYPE);
    if (attrs.length === 0) {
      this.summary.skip(item, `no multi-label attribute (an attribute with "<attr>-metadata".type "${MULTILABEL_TYPE}")`);
      return undefined;
    }
    const out: Json = {};
    const taken = new Set(Object.keys(obj));
    const labels: string[] = [];
    const multi = new Set(attrs.flatMap((a) => [a, `${a}-metadata`]));
    for (const [k, v] of Object.entries(obj)) {
      if (!multi.has(k)) out[k] = v;
    }
    for (const attr of attrs) {
      const meta = obj[`${attr}-metadata`] as Json;
      const ids = obj[attr];
      const classMap = meta['class-map'];
      if (!Array.isArray(ids) || !isObject(classMap)) {
        this.summary.skip(item, `attribute ${attr} needs a list of class ids and ${attr}-metadata needs a class-map`);
        continue;
      }
      const confidences = isObject(meta['confidence-map']) ? meta['confidence-map'] : {};
      ids.forEach((id, i) => {
        const name = classMap[String(id)];
        if (typeof name !== 'string') {
          this.summary.skip(item, `class id ${JSON.stringify(id)} of ${attr} is not in its class-map`);
          return;
        }
        const problem = labelProblem(name);
        if (problem) {
          this.summary.skip(item, `${problem}: ${name.slice(0, 40)}...`);
          return;
        }
        if (labels.includes(name)) return;
        let key = `${attr}-${i}`;
        while (taken.has(key) || taken.has(`${key}-metadata`)) key += '_';
        taken.add(key);
        const c = confidences[String(id)];
        const idNumber = Number(id);
        out[key] = Number.isInteger(idNumber) ? idNumber : i;
        out[`${key}-metadata`] = {
          'class-name': name,
          confidence: typeof c === 'number' && c >= 0 && c <= 1 ? c : 1,
          'job-name': typeof meta['job-name'] === 'string' ? meta['job-name'] : this.stamp.jobName,
          'human-annotated': meta['human-annotated'] === 'no' ? 'no' : 'yes',
          'creation-date': typeof meta['creation-date'] === 'string' ? meta['creation-date'] : this.stamp.creationDate,
          type: CLASSIFICATION_TYPE,
        };
        labels.push(name);
      });
    }
    if (labels.length === 0) {
      this.summary.skip(item, 'no label left to convert');
      return undefined;
    }
    if (this.seen.check(sourceRef)) {
      this.summary.skip(item, `${sourceRef} is on an earlier line`);
      return undefined;
    }
    this.summary.line(labels);
    return JSON.stringify(out);
  }

  result(): ConvertSummary {
    return this.summary.result();
  }
}

/**
 * The converted lines for a Ground Truth output manifest (a path) or its content (a Buffer, or a string holding a
 * newline or starting with `{`), synchronously and line by line; returns the summary.
 */
export function* groundTruthMultiLabelToManifestLines(source: ConvertSource, options: ConvertOptions): Generator<string, ConvertSummary> {
  const gt = new GtLines(options);
  const expected = 'a Ground Truth output manifest (JSON Lines)';
  if (Buffer.isBuffer(source)) assertText(source, 'the Ground Truth content', expected);
  const chunks = Buffer.isBuffer(source) ? [source.toString('utf8')] : isContent(source) ? [source] : readTextChunksSync(source, expected);
  for (const [lineNumber, text] of linesOf(chunks)) {
    const line = gt.convert(lineNumber, text);
    if (line !== undefined) yield line;
  }
  return gt.result();
}

/**
 * Writes the converted manifest to `out` (not ended): the input (a path, a Buffer of content, or a readable stream)
 * is read line by line with the toolkit's reader, and `out`'s backpressure is respected.
 */
export async function convertGroundTruthMultiLabel(source: string | Buffer | NodeJS.ReadableStream, options: ConvertOptions,
  out: NodeJS.WritableStream, onProgress?: (bytesRead: number, totalBytes?: number) => void): Promise<ConvertSummary> {
  const gt = new GtLines(options);
  const input = typeof source === 'string' && isContent(source) ? Buffer.from(source) : source;
  let batch = '';
  for await (const l of readManifestLines(input, { onProgress })) {
    const line = gt.convert(l.lineNumber, l.text, l.tooLong);
    if (line === undefined) continue;
    batch += line + '\n';
    if (batch.length >= WRITE_BATCH) {
      await write(out, batch);
      batch = '';
    }
  }
  if (batch !== '') await write(out, batch);
  return gt.result();
}
