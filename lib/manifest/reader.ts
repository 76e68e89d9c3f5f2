/**
 * Reads a JSON Lines manifest in constant memory: Buffer chunks are scanned for newlines and only the
 * current line is ever decoded. A line over the length limit is counted, never held whole.
 */
import * as fs from 'fs';

import { binaryInputProblem, SNIFF_BYTES } from './sniff';
import { ErrorCode, MANIFEST_LIMITS } from './types';

/** One physical line of a manifest. */
export interface ManifestLine {
  /** 1-based; blank lines are numbered too. */
  readonly lineNumber: number;
  /** The line without its terminator (LF or CRLF) and without a leading BOM; '' when `tooLong`. */
  readonly text: string;
  /** Longer than MANIFEST_LIMITS.maxLineChars characters (Unicode code points). */
  readonly tooLong: boolean;
  /** The line's length in UTF-8 bytes, without its terminator. */
  readonly length: number;
}

/** A file path, the content itself, or a stream of the content. */
export type ManifestInput = string | Buffer | NodeJS.ReadableStream;

export interface ReadOptions {
  /** Called after each chunk with the bytes read so far and, when known, the total. */
  readonly onProgress?: (bytesRead: number, totalBytes?: number) => void;
  /** Yield blank (whitespace-only) lines too. @default false */
  readonly includeBlank?: boolean;
}

/** The manifest cannot be read as a manifest at all (missing, a directory, binary, too large). */
export class ManifestFileError extends Error {
  /** 'ENOENT', 'EISDIR', 'EACCES'..., or an ERRORS key. */
  readonly code: string;
  /** The service's terminal code for the same situation. */
  readonly serviceCode: ErrorCode;

  constructor(message: string, code: string, serviceCode: ErrorCode = 'ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT') {
    super(message);
    this.name = 'ManifestFileError';
    this.code = code;
    this.serviceCode = serviceCode;
  }
}

const CHUNK_BYTES = 1024 * 1024;
const LF = 10;
const CR = 13;

/** Yields the lines of a manifest, blank lines skipped unless asked for. Rejects with ManifestFileError. */
export async function* readManifestLines(input: ManifestInput, options: ReadOptions = {}): AsyncIterable<ManifestLine> {
  const batch: ManifestLine[] = [];
  const includeBlank = options.includeBlank === true;
  const scanner = new LineScanner((line) => {
    if (includeBlank || line.tooLong || !isBlank(line.text)) batch.push(line);
  });
  for await (const chunk of readChunks(input, options.onProgress)) {
    scanner.push(chunk);
    for (const line of batch) yield line;
    batch.length = 0;
  }
  scanner.end();
  for (const line of batch) yield line;
}

/** The synchronous twin of readManifestLines over content already in memory. */
export function* splitLines(content: Buffer | string, options: { includeBlank?: boolean } = {}): Iterable<ManifestLine> {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  checkContent(buf, 'the manifest');
  const batch: ManifestLine[] = [];
  const includeBlank = options.includeBlank === true;
  const scanner = new LineScanner((line) => {
    if (includeBlank || line.tooLong || !isBlank(line.text)) batch.push(line);
  });
  for (let offset = 0; offset < buf.length; offset += CHUNK_BYTES) {
    scanner.push(buf.subarray(offset, Math.min(buf.length, offset + CHUNK_BYTES)));
    for (const line of batch) yield line;
    batch.length = 0;
  }
  scanner.end();
  for (const line of batch) yield line;
}

/**
 * Internal fast path: calls `onLine` synchronously for every line, blank lines included, chunk by chunk.
 * `onChunk` (when given) runs after each chunk's lines and may be awaited, for back-pressure.
 */
export async function forEachManifestLine(
  input: ManifestInput,
  onLine: (line: ManifestLine) => void,
  options: { onProgress?: (bytesRead: number, totalBytes?: number) => void; onChunk?: () => Promise<void> | void } = {},
): Promise<void> {
  const scanner = new LineScanner(onLine);
  for await (const chunk of readChunks(input, options.onProgress)) {
    scanner.push(chunk);
    if (options.onChunk) await options.onChunk();
  }
  scanner.end();
}

/** True for '' and whitespace-only text. */
export function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  // Fast exit: a JSON line starts with '{' or at least not with whitespace.
  if (c > 32 && c !== 0xa0 && c !== 0xfeff) return false;
  return text.trim().length === 0;
}

async function* readChunks(input: ManifestInput, onProgress?: (bytesRead: number, totalBytes?: number) => void): AsyncIterable<Buffer> {
  if (typeof input === 'string') {
    yield* readFileChunks(input, onProgress);
  } else if (Buffer.isBuffer(input)) {
    checkContent(input, 'the manifest');
    for (let offset = 0; offset < input.length; offset += CHUNK_BYTES) {
      const end = Math.min(input.length, offset + CHUNK_BYTES);
      yield input.subarray(offset, end);
      onProgress?.(end, input.length);
    }
  } else {
    let bytesRead = 0;
    let sniffed = false;
    for await (const raw of input as AsyncIterable<Buffer | string>) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      if (!sniffed) {
        sniffed = true;
        checkBinary(chunk.subarray(0, SNIFF_BYTES), 'the manifest');
      }
      bytesRead += chunk.length;
      if (bytesRead > MANIFEST_LIMITS.maxFileBytes) throw tooLarge('the manifest');
      yield chunk;
      onProgress?.(bytesRead);
    }
  }
}

async function* readFileChunks(path: string, onProgress?: (bytesRead: number, totalBytes?: number) => void): AsyncIterable<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, 'r');
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new ManifestFileError(`${path} is a directory, not a manifest file`, 'EISDIR');
    if (stat.size > MANIFEST_LIMITS.maxFileBytes) throw tooLarge(path);
    let bytesRead = 0;
    let first = true;
    // One buffer for every read: lines are decoded into strings, and the scanner copies the piece of a line that
    // spans two chunks, so nothing refers to the buffer once the chunk is scanned.
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead: n } = await handle.read(buf, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      if (first) {
        first = false;
        checkBinary(chunk.subarray(0, SNIFF_BYTES), path);
      }
      bytesRead += n;
      if (bytesRead > MANIFEST_LIMITS.maxFileBytes) throw tooLarge(path);
      yield chunk;
      onProgress?.(bytesRead, stat.size);
    }
  } finally {
    await handle.close();
  }
}

function openError(path: string, err: unknown): ManifestFileError {
  const code = typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException).code! : 'EIO';
  if (code === 'ENOENT') return new ManifestFileError(`manifest not found: ${path}`, code);
  if (code === 'EISDIR') return new ManifestFileError(`${path} is a directory, not a manifest file`, code);
  return new ManifestFileError(`cannot read manifest ${path}: ${err instanceof Error ? err.message : String(err)}`, code);
}

function tooLarge(name: string): ManifestFileError {
  return new ManifestFileError(
    `${name} is larger than ${MANIFEST_LIMITS.maxFileBytes} bytes (1 GB), the largest manifest the service accepts`,
    'ERROR_MANIFEST_SIZE_TOO_LARGE',
    'ERROR_MANIFEST_SIZE_TOO_LARGE',
  );
}

function checkContent(buf: Buffer, name: string): void {
  if (buf.length > MANIFEST_LIMITS.maxFileBytes) throw tooLarge(name);
  checkBinary(buf.subarray(0, SNIFF_BYTES), name);
}

/** A known binary signature, a NUL byte or invalid UTF-8 in the first 8 KiB means a binary file. */
function checkBinary(head: Buffer, name: string): void {
  const problem = binaryInputProblem(head, name, 'a JSON Lines manifest');
  if (problem !== undefined) throw new ManifestFileError(problem, 'ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT');
}

/** Counts Unicode code points in UTF-8 bytes (every byte that is not a continuation byte). */
function codePoints(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if ((buf[i] & 0xc0) !== 0x80) n++;
  return n;
}

/**
 * Push-based newline scanner. A line inside one chunk is decoded straight from the chunk; a line that spans
 * chunks is kept as copied slices, but only until it is known to be too long: then the slices are dropped and
 * only counts are kept. Since a code point is at most 4 bytes, at most ~4 x maxLineChars bytes are held.
 */
export class LineScanner {
  private lineNumber = 0;
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Code points of the pending line; -1 until the byte count passes the limit (bytes >= code points). */
  private partChars = -1;
  private partTooLong = false;
  private lastByte = -1;

  constructor(private readonly emit: (line: ManifestLine) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    let nl = chunk.indexOf(LF, 0);
    while (nl !== -1) {
      if (this.partBytes === 0) {
        this.emitInChunk(chunk, start, nl);
      } else {
        this.addSegment(chunk, start, nl);
        this.emitParts();
      }
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.addSegment(chunk, start, chunk.length);
  }

  /** Flushes a last line that has no newline. */
  end(): void {
    if (this.partBytes > 0) this.emitParts();
  }

  private emitInChunk(chunk: Buffer, start: number, end: number): void {
    const n = ++this.lineNumber;
    if (end > start && chunk[end - 1] === CR) end--;
    const bytes = end - start;
    if (bytes > MANIFEST_LIMITS.maxLineChars && codePoints(chunk, start, end) > MANIFEST_LIMITS.maxLineChars) {
      this.emit({ lineNumber: n, text: '', tooLong: true, length: bytes });
      return;
    }
    this.emit(this.makeLine(n, chunk.toString('utf8', start, end), bytes));
  }

  private addSegment(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.partBytes += end - start;
    this.lastByte = chunk[end - 1];
    if (this.partTooLong) return;
    this.parts.push(Buffer.from(chunk.subarray(start, end)));
    if (this.partBytes > MANIFEST_LIMITS.maxLineChars) {
      if (this.partChars < 0) {
        this.partChars = 0;
        for (const p of this.parts) this.partChars += codePoints(p, 0, p.length);
      } else {
        this.partChars += codePoints(chunk, start, end);
      }
      // +1: a trailing CR is not part of the line, so wait until the count is over even without it.
      if (this.partChars > MANIFEST_LIMITS.maxLineChars + 1) {
        this.partTooLong = true;
        this.parts = [];
      }
    }
  }

  private emitParts(): void {
    const n = ++this.lineNumber;
    const cr = this.lastByte === CR ? 1 : 0;
    const bytes = this.partBytes - cr;
    let line: ManifestLine;
    if (this.partTooLong || (this.partChars >= 0 && this.partChars - cr > MANIFEST_LIMITS.maxLineChars)) {
      line = { lineNumber: n, text: '', tooLong: true, length: bytes };
    } else {
      const buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partBytes);
      line = this.makeLine(n, buf.toString('utf8', 0, bytes), bytes);
    }
    this.parts = [];
    this.partBytes = 0;
    this.partChars = -1;
    this.partTooLong = false;
    this.lastByte = -1;
    this.emit(line);
  }

  private makeLine(n: number, text: string, bytes: number): ManifestLine {
    if (n === 1 && text.charCodeAt(0) === 0xfeff) return { lineNumber: n, text: text.slice(1), tooLong: false, length: bytes - 3 };
    return { lineNumber: n, text, tooLong: false, length: bytes };
  }
}
