/**
 * What every converter shares: options, the summary, the Ground Truth line builders and the stream writer.
 *
 * Pure: no aws-cdk-lib and no AWS SDK (design-notes "Dependency rules").
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

import { HashSet64 } from '../hash-set';
import { binaryInputProblem } from '../sniff';
import { CLASSIFICATION_TYPE, CREATION_DATE_FORMAT, MANIFEST_LIMITS } from '../types';

/** Where the converted images live and how the generated lines are stamped. */
export interface ConvertOptions {
  /** The images' bucket, without `s3://`. */
  readonly bucket: string;
  /**
   * Key prefix of the images in the bucket; a trailing `/` is added when missing and a leading `/` removed.
   * @default '' (images at the bucket's root)
   */
  readonly prefix?: string;
  /**
   * `creation-date` of the generated lines (COCO uses `date_captured` when an image has one), a UTC date-time such
   * as `2024-05-01T12:00:00.000`. A fixed default keeps conversions deterministic: the same input gives the same
   * manifest, byte for byte, so a stack fed with it trains nothing new. The service does not use the date.
   * @default DEFAULT_CREATION_DATE (`2020-01-01T00:00:00.000`)
   */
  readonly creationDate?: string;
  /**
   * `job-name` of the generated lines.
   * @default 'custom-labels/<converter>'
   */
  readonly jobName?: string;
}

export interface ConvertLabelCount {
  images: number;
  boxes: number;
}

/** What a conversion produced, and what it left out and why. */
export interface ConvertSummary {
  /** Manifest lines written. */
  lines: number;
  labels: Record<string, ConvertLabelCount>;
  /** Inputs that produced no line (or lost an annotation), each with the reason. */
  skipped: Array<{ item: string; reason: string }>;
  /** What was converted but deserves a look (a COCO category no box uses, ...), one sentence each. */
  warnings: string[];
}

/** Input that cannot be converted at all (bad JSON, not a COCO file, ...). `code` is 'ENOENT'-like for I/O problems. */
export class ConvertError extends Error {
  constructor(message: string, readonly code: string = 'ERROR_INVALID_INPUT') {
    super(message);
    this.name = 'ConvertError';
  }
}

/**
 * A converter's input: a file path, or the content itself.
 *
 * [inferred] The brief allows "text or path" in one string. A Buffer is always content; a string is content when
 * it cannot be a sensible path (it holds a newline, or starts with `{`/`[` for JSON); otherwise it is a path.
 */
export type ConvertSource = string | Buffer;

export function isContent(source: ConvertSource): boolean {
  return Buffer.isBuffer(source) || source.includes('\n') || /^\s*[{[]/.test(source);
}

export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/**
 * The `creation-date` converters write unless told otherwise: fixed, so that converting the same input twice gives
 * the same manifest (a date taken from the clock would make every conversion a new manifest, hence a new training).
 */
export const DEFAULT_CREATION_DATE = '2020-01-01T00:00:00.000';


function creationDateOption(date: string | undefined): string {
  if (date === undefined) return DEFAULT_CREATION_DATE;
  if (!CREATION_DATE_FORMAT.test(date)) {
    throw new ConvertError(`creationDate must be a UTC date-time such as 2024-05-01T12:00:00.000, got: ${JSON.stringify(date)}`, 'EINVAL');
  }
  return date;
}

/** Resolved options the line builders need. */
export interface Stamp {
  readonly bucket: string;
  readonly prefix: string;
  readonly creationDate: string;
  readonly jobName: string;
}

export function resolveStamp(options: ConvertOptions, converter: string): Stamp {
  const bucket = (options?.bucket ?? '').replace(/^s3:\/\//, '').replace(/\/+$/, '');
  if (bucket === '' || bucket.includes('/')) {
    throw new ConvertError(`bucket must be a bucket name without a path, got: "${options?.bucket ?? ''}"`, 'EINVAL');
  }
  return {
    bucket,
    prefix: normalizePrefix(options.prefix),
    creationDate: creationDateOption(options.creationDate),
    jobName: options.jobName ?? `custom-labels/${converter}`,
  };
}

/**
 * The image's key under the prefix for a relative path (backslashes become `/`, a leading `./` or `/` is dropped),
 * or the path itself when it is an `s3://` URI; undefined for other URL schemes and empty paths. Converters check
 * duplicates on this key: hashing the input's own string is much cheaper than hashing a freshly built source-ref.
 */
export function imageKey(path: string): string | undefined {
  if (path.startsWith('s3://')) return path;
  // Fast path for the common plain relative path.
  if (path !== '' && !path.includes(':') && !path.includes('\\') && path.charCodeAt(0) !== 46 /* . */ && path.charCodeAt(0) !== 47 /* / */) {
    return path;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return undefined;
  const key = path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '');
  return key === '' ? undefined : key;
}

/** The source-ref of an image key from imageKey. */
export function sourceRefOf(stamp: Stamp, key: string): string {
  return key.startsWith('s3://') ? key : `s3://${stamp.bucket}/${stamp.prefix}${key}`;
}

/** `s3://bucket/prefix<path>` for a relative path, the path itself for an `s3://` URI; undefined for other schemes. */
export function sourceRefFor(stamp: Stamp, path: string): string | undefined {
  const key = imageKey(path);
  return key === undefined ? undefined : sourceRefOf(stamp, key);
}

/** Collects label counts and skipped items while lines are generated. */
export class SummaryBuilder {
  private readonly summary: ConvertSummary = { lines: 0, labels: {}, skipped: [], warnings: [] };

  line(labels: Iterable<string>, boxes?: Iterable<string>): void {
    this.summary.lines++;
    for (const label of labels) this.count(label).images++;
    if (boxes) for (const label of boxes) this.count(label).boxes++;
  }

  /** Counts a line without its labels (the caller counts them with `label`). */
  bareLine(): void {
    this.summary.lines++;
  }

  label(name: string, images: number, boxes: number): void {
    const c = this.count(name);
    c.images += images;
    c.boxes += boxes;
  }

  skip(item: string, reason: string): void {
    this.summary.skipped.push({ item, reason });
  }

  warn(message: string): void {
    this.summary.warnings.push(message);
  }

  /** Images and boxes counted so far for a label (zero when none). */
  counted(label: string): ConvertLabelCount {
    return this.summary.labels[label] ?? { images: 0, boxes: 0 };
  }

  result(): ConvertSummary {
    // Sorted label keys so that summaries of the same input are identical whatever the input order.
    const labels: Record<string, ConvertLabelCount> = {};
    for (const k of Object.keys(this.summary.labels).sort()) labels[k] = this.summary.labels[k];
    return { ...this.summary, labels };
  }

  private count(label: string): ConvertLabelCount {
    let c = this.summary.labels[label];
    if (!c) {
      c = { images: 0, boxes: 0 };
      this.summary.labels[label] = c;
    }
    return c;
  }
}

/** Reason a label name cannot be used, or undefined when it can. */
export function labelProblem(label: string): string | undefined {
  if (label === '') return 'the label is empty';
  if (label.length > MANIFEST_LIMITS.maxLabelNameChars) {
    return `the label is ${label.length} characters long, the service allows at most ${MANIFEST_LIMITS.maxLabelNameChars}`;
  }
  return undefined;
}

/**
 * Builds image-level lines with one attribute per label (reference §5.1, §5.2). A single label uses the key `label`;
 * several use `label-0`, `label-1`, ... The attribute's value is an id the service ignores: the label's index in
 * order of first use. Fixed parts are built once: converters call this for every image.
 */
export class ClassificationLines {
  private readonly common: string;
  private readonly labels = new Map<string, { id: number; metadata: string }>();

  constructor(stamp: Stamp) {
    this.common = `"confidence":1,"job-name":${JSON.stringify(stamp.jobName)},"human-annotated":"yes",`
      + `"creation-date":${JSON.stringify(stamp.creationDate)},"type":"${CLASSIFICATION_TYPE}"}`;
  }

  line(sourceRef: string, names: readonly string[]): string {
    let text = `{"source-ref":${JSON.stringify(sourceRef)}`;
    for (let i = 0; i < names.length; i++) text += this.attribute(names[i], names.length === 1 ? -1 : i);
    return text + '}';
  }

  /**
   * `,"label":<id>,"label-metadata":{...}` for `index` -1 (a single label), else the same with the key `label-<index>`.
   * The label gets its id on its first call (here or through `line`).
   */
  attribute(name: string, index: number): string {
    const l = this.label(name);
    const key = index < 0 ? 'label' : `label-${index}`;
    return `,"${key}":${l.id},"${key}-metadata":${l.metadata}`;
  }

  /** The label's id and its metadata object as JSON, memoised. */
  private label(name: string): { id: number; metadata: string } {
    let l = this.labels.get(name);
    if (l === undefined) {
      l = { id: this.labels.size, metadata: `{"class-name":${JSON.stringify(name)},${this.common}` };
      this.labels.set(name, l);
    }
    return l;
  }
}

/** One image-level line with one attribute per label and the given ids (keys as in ClassificationLines). */
export function classificationLine(stamp: Stamp, sourceRef: string, labels: ReadonlyArray<{ name: string; id: number }>,
  creationDate: string = stamp.creationDate): string {
  const common = `"confidence":1,"job-name":${JSON.stringify(stamp.jobName)},"human-annotated":"yes",`
    + `"creation-date":${JSON.stringify(creationDate)},"type":"${CLASSIFICATION_TYPE}"}`;
  let text = `{"source-ref":${JSON.stringify(sourceRef)}`;
  labels.forEach((l, i) => {
    const key = labels.length === 1 ? 'label' : `label-${i}`;
    text += `,"${key}":${l.id},"${key}-metadata":{"class-name":${JSON.stringify(l.name)},${common}`;
  });
  return text + '}';
}

/**
 * Remembers the images already written so that none is written twice (the service drops duplicates, §6.3 C).
 * Keeps 64-bit hashes, not strings (the toolkit's HashSet64: memory stays flat, collision odds ~2e-9 at 250,000).
 */
export class SeenImages {
  // 2^18 slots (2 MiB): 131,072 keys before the first growth.
  private readonly seen = new HashSet64(1 << 18);

  /** True when the image key was seen before (else it is now remembered). */
  check(key: string): boolean {
    return !this.seen.addString(key);
  }

  /** `check` for the key held in `bytes[start, end)`, which must be ASCII. */
  checkAscii(bytes: Uint8Array, start: number, end: number): boolean {
    return !this.seen.addAscii(bytes, start, end);
  }
}

const CHUNK = 64 * 1024;
/** Lines are written in batches of about this many characters: fewer, larger writes cost far less than many small ones. */
export const WRITE_BATCH = 512 * 1024;

/**
 * Refuses binary input (an image, an archive) with one line: `<name> is not a text file (it looks like a PNG image);
 * <expected> is expected`. `head` is the input's first bytes (at least its first chunk).
 */
export function assertText(head: Uint8Array, name: string, expected: string): void {
  const problem = binaryInputProblem(head, name, expected);
  if (problem !== undefined) throw new ConvertError(problem, 'EBINARY');
}

/**
 * A file's text in chunks, read synchronously with constant memory (converters' sync cores run at synth time).
 * Binary content is refused (see assertText): `expected` names what the file should be, e.g. `a CSV file`.
 */
export function* readTextChunksSync(path: string, expected: string, onProgress?: (bytesRead: number, totalBytes?: number) => void):
  Generator<string> {
  const fd = openForReading(path);
  try {
    const total = fs.fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    const decoder = new StringDecoder('utf8');
    let read = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      if (read === 0) assertText(buf.subarray(0, n), path, expected);
      read += n;
      onProgress?.(read, total);
      yield decoder.write(buf.subarray(0, n));
    }
    const rest = decoder.end();
    if (rest) yield rest;
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a regular file, with one-line messages for a missing file or a directory. */
export function openForReading(path: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    throw new ConvertError(`file not found: ${path}`, 'ENOENT');
  }
  if (stat.isDirectory()) throw new ConvertError(`${path} is a directory, not a file`, 'EISDIR');
  return fs.openSync(path, 'r');
}

/** Splits text chunks into lines (LF or CRLF; a UTF-8 BOM at the start is dropped). Yields [lineNumber, text]. */
export function* linesOf(chunks: Iterable<string>): Generator<[number, string]> {
  let carry = '';
  let lineNumber = 0;
  let first = true;
  for (let chunk of chunks) {
    if (first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      const piece = carry + chunk.slice(start, nl);
      carry = '';
      yield [++lineNumber, piece.endsWith('\r') ? piece.slice(0, -1) : piece];
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    carry += chunk.slice(start);
  }
  if (carry !== '') yield [lineNumber + 1, carry.endsWith('\r') ? carry.slice(0, -1) : carry];
}

/**
 * Writes each generated line and a newline to `out`, waiting for 'drain' when the stream asks to (backpressure),
 * and resolves to the generator's summary. The stream is not ended: the caller owns it.
 */
export async function writeLines(lines: Generator<string, ConvertSummary>, out: NodeJS.WritableStream): Promise<ConvertSummary> {
  let batch = '';
  for (;;) {
    const next = lines.next();
    if (next.done) {
      if (batch !== '') await write(out, batch);
      return next.value;
    }
    batch += next.value + '\n';
    if (batch.length >= WRITE_BATCH) {
      await write(out, batch);
      batch = '';
    }
  }
}

/** Writes `chunk`; resolves at once, or on 'drain' when the buffer is full. Rejects on a stream error. */
export function write(out: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    out.once('error', onError);
    const ok = out.write(chunk);
    if (ok) {
      out.removeListener('error', onError);
      resolve();
      return;
    }
    out.once('drain', () => {
      out.removeListener('error', onError);
      resolve();
    });
  });
}

/** Size of ByteLines' buffers: large writes, and while the stream writes one the next is being filled. */
export const OUT_CHUNK = 256 * 1024;

/**
 * Manifest lines built as UTF-8 bytes in large buffers. The output is about ten times the input: copying pre-encoded
 * fragments into a buffer costs far less than concatenating strings, flattening them and encoding them on write.
 * A line is never split across two buffers (`takeLine` can read it back); full buffers wait in `take()`.
 */
export class ByteLines {
  buf: Buffer;
  pos = 0;
  /** Where the line being written starts. */
  private lineStart = 0;
  private full: Buffer[] = [];
  /** Buffers of OUT_CHUNK bytes given back by `reuse`. */
  private readonly spare: Buffer[] = [];

  constructor() {
    this.buf = Buffer.allocUnsafe(OUT_CHUNK);
  }

  /** Makes room for `n` more bytes: when the buffer is full its complete lines are set aside and a new one started. */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.spill(n);
  }

  /** Pre-encoded bytes. */
  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.spill(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Bytes `src[start, end)`, copied in a loop: cheaper than a view for the short runs (paths, names) this is for. */
  copy(src: Uint8Array, start: number, end: number): void {
    if (this.pos + end - start > this.buf.length) this.spill(end - start);
    const b = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) b[p++] = src[i];
    this.pos = p;
  }

  /** Any text, UTF-8 encoded. */
  text(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** One byte (ASCII). */
  byte(c: number): void {
    if (this.pos + 1 > this.buf.length) this.spill(1);
    this.buf[this.pos++] = c;
  }

  /** Ends the line (adds the newline). */
  endLine(): void {
    if (this.pos + 1 > this.buf.length) this.spill(1);
    this.buf[this.pos++] = 10;
    this.lineStart = this.pos;
  }

  /** Ends a line written straight into `buf` (after `room`), its newline included, at `end`. */
  endedAt(end: number): void {
    this.pos = end;
    this.lineStart = end;
  }

  /**
   * The line just ended, without its newline, as text, and drops its bytes: for the sync generators, which take
   * each line as soon as it is ended (so the buffer only ever holds that line).
   */
  takeLine(): string {
    const text = this.buf.toString('utf8', 0, this.pos - 1);
    this.pos = 0;
    this.lineStart = 0;
    return text;
  }

  /** Full buffers ready to write (whole lines), oldest first; the list is emptied. */
  take(): Buffer[] {
    const full = this.full;
    this.full = [];
    return full;
  }

  /** Whether full buffers wait in `take()`. */
  hasFull(): boolean {
    return this.full.length > 0;
  }

  /** Gives back a buffer from `take()` once its consumer is done with it. */
  reuse(chunk: Buffer): void {
    if (chunk.byteOffset === 0 && chunk.buffer.byteLength === OUT_CHUNK && this.spare.length < 32) {
      this.spare.push(Buffer.from(chunk.buffer, 0, OUT_CHUNK));
    }
  }

  /** Sets the complete lines of the current buffer aside too, to be written now: the end, no line may follow. */
  finish(): void {
    if (this.lineStart > 0) this.full.push(this.buf.subarray(0, this.lineStart));
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.lineStart = 0;
  }

  private spill(n: number): void {
    const partial = this.pos - this.lineStart;
    const size = partial + n;
    const next = size <= OUT_CHUNK ? this.spare.pop() ?? Buffer.allocUnsafe(OUT_CHUNK) : Buffer.allocUnsafe(size * 2);
    if (this.lineStart > 0) this.full.push(this.buf.subarray(0, this.lineStart));
    this.buf.copy(next, 0, this.lineStart, this.pos);
    this.buf = next;
    this.pos = partial;
    this.lineStart = 0;
  }
}

/** ByteWriter keeps at most this many bytes waiting for the stream before the converter waits too. */
export const QUEUE_LIMIT = 4 * 1024 * 1024;

/**
 * Writes ByteLines' full buffers to `out`, respecting backpressure: after out.write returns false nothing more is
 * written before 'drain'. Meanwhile up to QUEUE_LIMIT bytes wait here, so that the converter keeps working while
 * the stream catches up (a file stream is still opening, or writing the last chunks): only a fuller queue makes it
 * wait. `flush` also lets the event loop run once, so that the stream sees its completed writes and starts the next.
 *
 * An fs.WriteStream keeps no chunk once it is written (its callback ran): its buffers go back to the ByteLines,
 * which keeps the memory being written to small and in cache.
 */
export class ByteWriter {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  /** out.write returned false: nothing more until 'drain'. */
  private blocked = false;
  private failed: Error | undefined;
  private wake: (() => void) | undefined;
  /** For an fs.WriteStream: the chunks written and not yet done, oldest first, and the callback that hands them back. */
  private readonly writing: Buffer[] = [];
  private readonly written: ((err?: Error | null) => void) | undefined;
  private readonly onDrain = (): void => {
    this.blocked = false;
    this.pump();
    this.wakeUp();
  };
  private readonly onError = (err: Error): void => {
    this.failed = err;
    this.wakeUp();
  };

  constructor(private readonly out: NodeJS.WritableStream, private readonly lines: ByteLines) {
    if (out instanceof fs.WriteStream) {
      // A stream calls back in the order of the writes: each callback is for the oldest chunk still writing.
      this.written = (err) => {
        const chunk = this.writing.shift();
        if (!err && chunk) lines.reuse(chunk);
      };
    }
    out.on('drain', this.onDrain);
    out.on('error', this.onError);
  }

  /** Queues the full buffers, writes what the stream accepts, and waits while more than `limit` bytes are queued. */
  async flush(limit: number = QUEUE_LIMIT): Promise<void> {
    for (const chunk of this.lines.take()) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    this.pump();
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.failed === undefined && (this.queued > limit || (limit === 0 && this.blocked))) {
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
    if (this.failed !== undefined) throw this.failed;
  }

  /** Writes the rest (ByteLines.finish) and resolves once the stream took it all and does not ask to wait. */
  async end(): Promise<void> {
    this.lines.finish();
    await this.flush(0);
  }

  /** Stops listening to the stream (call it whatever happened). */
  close(): void {
    this.out.removeListener('drain', this.onDrain);
    this.out.removeListener('error', this.onError);
  }

  private pump(): void {
    while (!this.blocked && this.failed === undefined && this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      this.queued -= chunk.length;
      let ok: boolean;
      if (this.written === undefined) {
        ok = this.out.write(chunk);
      } else {
        this.writing.push(chunk);
        ok = this.out.write(chunk, this.written);
      }
      if (!ok) this.blocked = true;
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

// Writers into a buffer the caller made room in (ByteLines.room): each returns the position after what it wrote.

/** Pre-encoded bytes. */
export function putBytes(o: Buffer, p: number, b: Uint8Array): number {
  const n = b.length;
  if (n > 24) {
    o.set(b, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) o[p + i] = b[i];
  return p + n;
}

/**
 * `head`, then `text` when it needs no JSON escape and is ASCII, then the closing quote: at most
 * head.length + text.length + 1 bytes. -1 (having written garbage past `p`) when `text` needs escapes.
 */
export function putAscii(o: Buffer, p: number, head: Uint8Array, text: string): number {
  p = putBytes(o, p, head);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c > 126 || c === 34 || c === 92) return -1;
    o[p++] = c;
  }
  o[p] = 34;
  return p + 1;
}

/** A number as JSON.stringify writes it, at most 24 bytes (digits by hand for small non-negative integers). */
export function putNumber(o: Buffer, p: number, n: number): number {
  if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) {
    // int32 arithmetic (n may arrive as a double: `%` on doubles is a library call)
    const k = n | 0;
    let end = p + 1;
    for (let m = k; m >= 10; m = (m / 10) | 0) end++;
    let q = end;
    let m = k;
    do {
      o[--q] = 48 + (m % 10);
      m = (m / 10) | 0;
    } while (m > 0);
    return end;
  }
  return p + o.write(JSON.stringify(n), p, 'latin1');
}
