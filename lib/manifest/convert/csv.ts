/**
 * CSV annotations: each row `image,label[,label...]` -> one image-level line per image (one attribute per label).
 *
 * Decisions (documented for users):
 * - RFC 4180 fields: quoted fields may hold commas, newlines and doubled quotes; CRLF or LF rows; a UTF-8 BOM is
 *   dropped. Fields are trimmed of surrounding spaces (hand-written CSVs often have `a.jpg, cat`).
 * - Header row [inferred]: the first row is taken as a header when its first field does not end in .png, .jpg or
 *   .jpeg and is not an `s3://` URI (e.g. `image,label`). `header: true|false` overrides the guess.
 * - `image` is a path relative to the bucket prefix, or a full `s3://` URI kept as is. Other URL schemes are skipped.
 * - Empty label fields (trailing commas) are ignored, a label repeated on a row counts once; a row with no label,
 *   an image listed on an earlier row (the service keeps one line per image) or a label over 256 characters is
 *   skipped with the reason.
 * - Rows are read one at a time: memory does not grow with the file, except one entry per image written (to catch
 *   duplicates), which the service's 250,000-line limit bounds.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

import { ClassificationLines, ConvertLabelCount, ConvertOptions, ConvertSource, ConvertSummary, imageKey, isContent, labelProblem,
  openForReading, readTextChunksSync, resolveStamp, SeenImages, sourceRefOf, Stamp, SummaryBuilder, write, WRITE_BATCH } from './common';

export interface CsvConvertOptions extends ConvertOptions {
  /**
   * Whether the first row is a header.
   * @default - guessed: a header when its first field is not an image path
   */
  readonly header?: boolean;
}

/**
 * A push parser for RFC 4180 CSV: feed it text in chunks of any size, get whole records back. A blank row is `[]`.
 *
 * Rows without a quote (the vast majority) are split with the native `split(',')`; only rows holding a quote go
 * through the character-level state machine, which also finds newlines inside quoted fields.
 */
export class CsvParser {
  /** Text of the record not yet complete (the tail of the last chunk, or a quoted field spanning lines). */
  private pending = '';
  private atStart = true;

  /** Records completed by this chunk. */
  push(chunk: string): string[][] {
    if (this.atStart && chunk.length > 0) {
      this.atStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const text = this.pending === '' ? chunk : this.pending + chunk;
    const out: string[][] = [];
    let start = 0;
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl === -1) break;
      const row = text.slice(start, nl);
      const fields = row.indexOf('"') === -1 ? splitPlain(row) : parseQuoted(row, false);
      from = nl + 1;
      if (fields === undefined) continue; // the newline is inside a quoted field: extend the record
      out.push(fields);
      start = from;
    }
    this.pending = text.slice(start);
    return out;
  }

  /** The last record when the text does not end with a newline (an unterminated quote is closed). */
  end(): string[][] {
    const row = this.pending;
    this.pending = '';
    if (row === '') return [];
    return [row.indexOf('"') === -1 ? splitPlain(row) : parseQuoted(row, true)!];
  }
}

function splitPlain(row: string): string[] {
  const r = row.charCodeAt(row.length - 1) === 13 /* \r */ ? row.slice(0, -1) : row;
  return r === '' ? [] : r.split(',');
}

/**
 * The fields of a row holding quotes, or undefined when the row ends inside a quoted field (unless `final`).
 * A quote opens a quoted field only at the field's start (after spaces); elsewhere it is data. Outside quotes a
 * CR is dropped (the CR of CRLF).
 */
function parseQuoted(row: string, final: boolean): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let i = 0;
  const n = row.length;
  while (i < n) {
    const c = row.charCodeAt(i);
    if (inQuotes) {
      if (c === 34 /* " */) {
        if (row.charCodeAt(i + 1) === 34) {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      const q = row.indexOf('"', i);
      const stop = q === -1 ? n : q;
      field += row.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === 44 /* , */) {
      fields.push(field);
      field = '';
    } else if (c === 34 && field.trim() === '') {
      field = '';
      inQuotes = true;
    } else if (c !== 13) {
      field += row[i];
    }
    i++;
  }
  if (inQuotes && !final) return undefined;
  fields.push(field);
  return fields;
}

/** Parses a whole CSV text into records (blank rows are `[]`). */
export function parseCsv(text: string): string[][] {
  const p = new CsvParser();
  return [...p.push(text), ...p.end()];
}

const IMAGE_FIELD = /\.(png|jpe?g)$/i;

/** Turns records into manifest lines: the per-row logic shared by the sync and stream converters. */
class CsvRows {
  private readonly summary = new SummaryBuilder();
  private readonly seen = new SeenImages();
  private readonly stamp: Stamp;
  private readonly lines: ClassificationLines;
  /** Labels already checked, with their counts. */
  private readonly counted = new Map<string, ConvertLabelCount>();
  private row = 0;
  private started = false;

  constructor(private readonly options: CsvConvertOptions) {
    this.stamp = resolveStamp(options, 'csv');
    this.lines = new ClassificationLines(this.stamp);
  }

  /** The line for the next record, or undefined (blank row, header, or skipped). */
  convert(record: string[]): string | undefined {
    const row = ++this.row;
    const image = record.length > 0 ? record[0].trim() : '';
    const names: string[] = [];
    for (let i = 1; i < record.length; i++) {
      const name = record[i].trim();
      if (name !== '' && !names.includes(name)) names.push(name);
    }
    if (image === '' && names.length === 0) return undefined;
    if (!this.started) {
      this.started = true;
      if (this.isHeader(image)) return undefined;
    }
    if (image === '') {
      this.summary.skip(`row ${row}`, 'the image field (first column) is empty');
      return undefined;
    }
    if (names.length === 0) {
      this.summary.skip(`row ${row}`, `no label for ${image} (expected image,label[,label...])`);
      return undefined;
    }
    for (const name of names) {
      if (this.counted.has(name)) continue;
      const problem = labelProblem(name);
      if (problem) {
        this.summary.skip(`row ${row}`, `${problem}: ${name.slice(0, 40)}...`);
        return undefined;
      }
    }
    const key = imageKey(image);
    if (key === undefined) {
      this.summary.skip(`row ${row}`, `the image must be a relative path or an s3:// URI, got: ${image}`);
      return undefined;
    }
    if (this.seen.check(key)) {
      this.summary.skip(`row ${row}`, `${image} is on an earlier row; put all of an image's labels on one row`);
      return undefined;
    }
    this.summary.bareLine();
    for (const name of names) {
      let c = this.counted.get(name);
      if (!c) {
        c = { images: 0, boxes: 0 };
        this.counted.set(name, c);
      }
      c.images++;
    }
    return this.lines.line(sourceRefOf(this.stamp, key), names);
  }

  result(): ConvertSummary {
    for (const [name, c] of this.counted) this.summary.label(name, c.images, c.boxes);
    return this.summary.result();
  }

  private isHeader(first: string): boolean {
    if (this.options.header !== undefined) return this.options.header;
    return !IMAGE_FIELD.test(first) && !first.startsWith('s3://');
  }
}

function* textChunks(source: ConvertSource): Generator<string> {
  if (Buffer.isBuffer(source)) yield source.toString('utf8');
  else if (isContent(source)) yield source;
  else yield* readTextChunksSync(source);
}

/**
 * The manifest lines for a CSV file (a path) or CSV text (a Buffer, or a string holding a newline), synchronously,
 * row by row; returns the summary.
 */
export function* csvToManifestLines(source: ConvertSource, options: CsvConvertOptions): Generator<string, ConvertSummary> {
  const rows = new CsvRows(options);
  const parser = new CsvParser();
  for (const chunk of textChunks(source)) {
    for (const record of parser.push(chunk)) {
      const line = rows.convert(record);
      if (line !== undefined) yield line;
    }
  }
  for (const record of parser.end()) {
    const line = rows.convert(record);
    if (line !== undefined) yield line;
  }
  return rows.result();
}

/**
 * Writes the manifest for a CSV file path, CSV content or a readable stream of CSV to `out` (not ended), reading
 * the input in chunks and respecting backpressure.
 */
export async function convertCsv(source: ConvertSource | NodeJS.ReadableStream, options: CsvConvertOptions, out: NodeJS.WritableStream,
  onProgress?: (bytesRead: number, totalBytes?: number) => void): Promise<ConvertSummary> {
  const rows = new CsvRows(options);
  const parser = new CsvParser();
  let batch = '';
  const take = async (records: string[][]): Promise<void> => {
    for (const record of records) {
      const line = rows.convert(record);
      if (line !== undefined) batch += line + '\n';
    }
    if (batch.length >= WRITE_BATCH) {
      await write(out, batch);
      batch = '';
    }
  };
  if ((typeof source === 'string' || Buffer.isBuffer(source)) && isContent(source)) {
    await take(parser.push(Buffer.isBuffer(source) ? source.toString('utf8') : source));
  } else {
    let total: number | undefined;
    if (typeof source === 'string') {
      fs.closeSync(openForReading(source));
      total = fs.statSync(source).size;
    }
    const stream = typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: 64 * 1024 }) : source as NodeJS.ReadableStream;
    const decoder = new StringDecoder('utf8');
    let read = 0;
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      read += chunk.length;
      onProgress?.(read, total);
      await take(parser.push(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
    }
    await take(parser.push(decoder.end()));
  }
  await take(parser.end());
  if (batch !== '') await write(out, batch);
  return rows.result();
}
