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

import { MANIFEST_LIMITS } from '../types';
import { assertText, ByteLines, ByteWriter, ClassificationLines, ConvertLabelCount, ConvertOptions, ConvertSource, ConvertSummary, imageKey,
  isContent, labelProblem, openForReading, readTextChunksSync, resolveStamp, SeenImages, sourceRefOf, Stamp, SummaryBuilder } from './common';

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
  readonly summary = new SummaryBuilder();
  readonly seen = new SeenImages();
  readonly stamp: Stamp;
  readonly lines: ClassificationLines;
  /** Labels already checked, with their counts. */
  private readonly counted = new Map<string, ConvertLabelCount>();
  /** Rows read so far (blank ones too). */
  row = 0;
  /** Whether a non-blank row was seen (the first one may be a header). */
  started = false;

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
    for (const name of names) this.countOf(name).images++;
    return this.lines.line(sourceRefOf(this.stamp, key), names);
  }

  /** The counts of a label written on a line (created on its first line). */
  countOf(name: string): ConvertLabelCount {
    let c = this.counted.get(name);
    if (!c) {
      c = { images: 0, boxes: 0 };
      this.counted.set(name, c);
    }
    return c;
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

/** A label met by the byte path, with its pre-encoded attributes. */
interface ByteLabel {
  readonly name: string;
  /** The label's bytes (ASCII). */
  readonly bytes: Buffer;
  /** The next label with the same hash. */
  next: ByteLabel | undefined;
  /** Its counts, from its first line on. */
  count: ConvertLabelCount | undefined;
  /** The end of a line where it is the only label: `"` (closing the source-ref), its attribute, `}` and the newline. */
  single: Buffer | undefined;
  /** Its encoded attribute (CsvRows.lines.attribute) at index i of several labels. */
  readonly attributes: Buffer[];
}

const MAX_LABEL_CHARS = MANIFEST_LIMITS.maxLabelNameChars;

/**
 * The stream converter's core: CSV bytes in, manifest bytes out, without decoding rows to strings.
 *
 * Most rows are plain ASCII: `image,label[,label...]`, fields possibly quoted (without doubled quotes) and padded
 * with spaces. Such a row whose image is a plain relative path not seen before and whose labels are usable is
 * written here by copying bytes: the prefix of its source-ref, its path, and each label's attribute, encoded once.
 * Every other row (non-ASCII, control characters, backslashes, doubled quotes, quoted newlines, blank rows, the
 * first row, skipped rows, s3:// URIs...) is decoded and goes through CsvParser's functions and CsvRows.convert,
 * exactly as the text path does, so that both give the same bytes. Record boundaries are those of CsvParser: a
 * newline ends a record unless CsvParser would find it inside a quoted field.
 */
class CsvBytes {
  /** Trimmed fields of the current row: start and end offsets. */
  private ranges = new Int32Array(32);
  private readonly labels = new Map<number, ByteLabel>();
  /** Labels of the current row (deduplicated), the first `count` entries of `fast`. */
  private readonly rowLabels: ByteLabel[] = [];
  /** `{"source-ref":"s3://bucket/prefix` */
  private readonly head: Buffer;
  /** Bytes of an incomplete record carried to the next chunk. */
  private carry: Buffer | undefined;
  private atStart = true;

  constructor(private readonly rows: CsvRows, private readonly out: ByteLines) {
    const ref = JSON.stringify(sourceRefOf(rows.stamp, ''));
    this.head = Buffer.from(`{"source-ref":${ref.slice(0, -1)}`);
  }

  /** Converts the records completed by `chunk`; the chunk is not kept (it may be reused). */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let start = 0;
    if (this.atStart) {
      if (buf.length < 3) {
        this.carry = Buffer.from(buf);
        return;
      }
      this.atStart = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
    }
    const rest = this.records(buf, start, false);
    if (rest < buf.length) this.carry = Buffer.from(buf.subarray(rest));
  }

  /** Converts the last record (when the input does not end with a newline). */
  end(): void {
    const buf = this.carry;
    this.carry = undefined;
    if (buf === undefined) return;
    let start = 0;
    if (this.atStart && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
    this.atStart = false;
    this.records(buf, start, true);
  }

  /** Converts the records of `buf` from `start`; returns where the incomplete last record starts (buf.length if none). */
  private records(buf: Buffer, start: number, final: boolean): number {
    const n = buf.length;
    while (start < n) {
      let nl = buf.indexOf(10, start);
      if (nl === -1) {
        if (!final) return start;
        nl = n;
      }
      const fields = this.scan(buf, start, nl);
      if (fields < 0 || !this.fast(buf, fields)) {
        const next = this.slow(buf, start, nl, final);
        if (next < 0) return start;
        start = next;
      } else {
        start = nl + 1;
      }
    }
    return n;
  }

  /**
   * Splits the plain ASCII row `buf[s, e)` into trimmed field ranges; their count, or -1 when the row needs the
   * text parser. Mirrors splitPlain/parseQuoted + trim() on the rows it accepts.
   */
  private scan(b: Buffer, s: number, e: number): number {
    if (e > s && b[e - 1] === 13) e--;
    let count = 0;
    let i = s;
    for (;;) {
      let fs = i;
      while (fs < e && b[fs] === 32) fs++;
      let fe: number;
      if (fs < e && b[fs] === 34) {
        let j = ++fs;
        for (; j < e; j++) {
          const c = b[j];
          if (c === 34) break;
          if (c < 32 || c > 126 || c === 92) return -1;
        }
        if (j >= e) return -1;
        fe = j++;
        while (j < e && b[j] === 32) j++;
        if (j < e && b[j] !== 44) return -1;
        i = j;
      } else {
        let j = fs;
        for (; j < e; j++) {
          const c = b[j];
          if (c === 44) break;
          if (c < 32 || c > 126 || c === 92 || c === 34) return -1;
        }
        fe = j;
        i = j;
      }
      // trim(): the spaces inside quotes too
      while (fs < fe && b[fs] === 32) fs++;
      while (fe > fs && b[fe - 1] === 32) fe--;
      if (count * 2 + 2 > this.ranges.length) {
        const more = new Int32Array(this.ranges.length * 2);
        more.set(this.ranges);
        this.ranges = more;
      }
      this.ranges[count * 2] = fs;
      this.ranges[count * 2 + 1] = fe;
      count++;
      if (i >= e) return count;
      i++;
    }
  }

  /**
   * Writes the line of a scanned row when it is the common case (see the class comment); false, having changed
   * nothing, when the row needs CsvRows.convert.
   */
  private fast(b: Buffer, fields: number): boolean {
    const rows = this.rows;
    const r = this.ranges;
    const is = r[0];
    const ie = r[1];
    if (!rows.started || is === ie) return false;
    // imageKey's plain relative path: no scheme, no backslash (the scan refused those), no leading . or /
    if (b[is] === 46 || b[is] === 47) return false;
    for (let i = is; i < ie; i++) if (b[i] === 58) return false;
    const labels = this.rowLabels;
    let count = 0;
    for (let f = 1; f < fields; f++) {
      const ls = r[f * 2];
      const le = r[f * 2 + 1];
      if (ls === le) continue;
      if (le - ls > MAX_LABEL_CHARS) return false;
      const label = this.label(b, ls, le);
      let k = 0;
      while (k < count && labels[k] !== label) k++;
      if (k === count) labels[count++] = label;
    }
    if (count === 0 || rows.seen.checkAscii(b, is, ie)) return false;

    rows.row++;
    rows.summary.bareLine();
    const out = this.out;
    const head = this.head;
    if (count === 1) {
      // The common line, written with one room check: head, path, then the label's `"<attribute>}\n`.
      const label = labels[0];
      (label.count ??= rows.countOf(label.name)).images++;
      const tail = label.single ??= Buffer.from(`"${rows.lines.attribute(label.name, -1)}}\n`);
      out.room(head.length + ie - is + tail.length);
      const o = out.buf;
      let p = out.pos;
      o.set(head, p);
      p += head.length;
      for (let i = is; i < ie; i++) o[p++] = b[i];
      o.set(tail, p);
      out.endedAt(p + tail.length);
      return true;
    }
    out.bytes(head);
    out.copy(b, is, ie);
    out.byte(34);
    for (let i = 0; i < count; i++) {
      const label = labels[i];
      (label.count ??= rows.countOf(label.name)).images++;
      let attribute = label.attributes[i];
      if (attribute === undefined) {
        attribute = Buffer.from(rows.lines.attribute(label.name, i));
        label.attributes[i] = attribute;
      }
      out.bytes(attribute);
    }
    out.byte(125);
    out.endLine();
    return true;
  }

  /** The label of bytes `b[s, e)` (ASCII), created on first sight. */
  private label(b: Buffer, s: number, e: number): ByteLabel {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
    const first = this.labels.get(h);
    for (let l = first; l !== undefined; l = l.next) {
      const lb = l.bytes;
      if (lb.length !== e - s) continue;
      let i = 0;
      while (i < lb.length && lb[i] === b[s + i]) i++;
      if (i === lb.length) return l;
    }
    const bytes = Buffer.from(b.subarray(s, e));
    const label: ByteLabel = { name: bytes.toString('latin1'), bytes, next: first, count: undefined, single: undefined, attributes: [] };
    this.labels.set(h, label);
    return label;
  }

  /**
   * A record through the text path (as CsvParser.push/end would cut and parse it) from the row `buf[s, nl)`;
   * returns where the next record starts, or -1 when the record needs more input.
   */
  private slow(buf: Buffer, s: number, nl: number, final: boolean): number {
    const n = buf.length;
    let end = nl;
    for (;;) {
      const row = buf.toString('utf8', s, end);
      const fields = row.indexOf('"') === -1 ? splitPlain(row) : parseQuoted(row, final && end === n);
      if (fields !== undefined) {
        const line = this.rows.convert(fields);
        if (line !== undefined) {
          this.out.text(line);
          this.out.endLine();
        }
        return end + 1;
      }
      // The newline is inside a quoted field: the record goes on to the next one.
      if (end >= n) return -1;
      end = buf.indexOf(10, end + 1);
      if (end === -1) {
        if (!final) return -1;
        end = n;
      }
    }
  }
}

const EXPECTED = 'a CSV file';

function* textChunks(source: ConvertSource): Generator<string> {
  if (Buffer.isBuffer(source)) {
    assertText(source, 'the CSV content', EXPECTED);
    yield source.toString('utf8');
  } else if (isContent(source)) {
    yield source;
  } else {
    yield* readTextChunksSync(source, EXPECTED);
  }
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

/** Input is read in chunks of this size. */
const READ_CHUNK = 64 * 1024;

/**
 * Writes the manifest for a CSV file path, CSV content or a readable stream of CSV to `out` (not ended), reading
 * the input in chunks and respecting backpressure.
 *
 * Bytes (a file, a Buffer, a stream of Buffers) go through CsvBytes; text (a string, a stream of strings) through
 * CsvParser. [inferred] A stream that starts with Buffers is read as bytes to its end (a string chunk in it is
 * UTF-8 encoded first), and one that starts with a string as text.
 */
export async function convertCsv(source: ConvertSource | NodeJS.ReadableStream, options: CsvConvertOptions, out: NodeJS.WritableStream,
  onProgress?: (bytesRead: number, totalBytes?: number) => void): Promise<ConvertSummary> {
  const rows = new CsvRows(options);
  const lines = new ByteLines();
  const writer = new ByteWriter(out, lines);
  try {
    await convertCsvTo(source, rows, lines, writer, onProgress);
  } finally {
    writer.close();
  }
  return rows.result();
}

/** convertCsv's reading loop (see there). */
async function convertCsvTo(source: ConvertSource | NodeJS.ReadableStream, rows: CsvRows, lines: ByteLines, writer: ByteWriter,
  onProgress?: (bytesRead: number, totalBytes?: number) => void): Promise<void> {
  const flush = (): Promise<void> => writer.flush();
  let text: CsvParser | undefined;
  const takeText = (records: string[][]): void => {
    for (const record of records) {
      const line = rows.convert(record);
      if (line !== undefined) {
        lines.text(line);
        lines.endLine();
      }
    }
  };
  if (typeof source === 'string' && isContent(source)) {
    text = new CsvParser();
    takeText(text.push(source));
  } else if (Buffer.isBuffer(source)) {
    assertText(source, 'the CSV content', EXPECTED);
    const bytes = new CsvBytes(rows, lines);
    bytes.push(source);
    bytes.end();
  } else if (typeof source === 'string') {
    const bytes = new CsvBytes(rows, lines);
    const fd = openForReading(source);
    try {
      const total = fs.fstatSync(fd).size;
      const chunk = Buffer.allocUnsafe(READ_CHUNK);
      let read = 0;
      for (;;) {
        const n = fs.readSync(fd, chunk, 0, READ_CHUNK, null);
        if (n === 0) break;
        if (read === 0) assertText(chunk.subarray(0, n), source, EXPECTED);
        read += n;
        onProgress?.(read, total);
        bytes.push(n === READ_CHUNK ? chunk : chunk.subarray(0, n));
        await flush();
      }
    } finally {
      fs.closeSync(fd);
    }
    bytes.end();
  } else {
    let bytes: CsvBytes | undefined;
    const decoder = new StringDecoder('utf8');
    let read = 0;
    const total: number | undefined = undefined;
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      if (read === 0 && typeof chunk !== 'string') assertText(chunk, 'the CSV stream', EXPECTED);
      read += chunk.length;
      onProgress?.(read, total);
      if (bytes === undefined && text === undefined) {
        if (typeof chunk === 'string') text = new CsvParser();
        else bytes = new CsvBytes(rows, lines);
      }
      if (bytes !== undefined) bytes.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      else takeText(text!.push(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
      await flush();
    }
    if (bytes !== undefined) bytes.end();
    else if (text !== undefined) takeText(text.push(decoder.end()));
  }
  if (text !== undefined) takeText(text.end());
  await writer.end();
}
