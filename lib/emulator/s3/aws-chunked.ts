import { Transform, TransformCallback } from 'node:stream';

/** Longest chunk-size or trailer line we accept; real ones are under 200 bytes. */
const MAX_LINE = 16 * 1024;

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

/**
 * Decodes an `aws-chunked` request body (`<hex size>[;chunk-signature=...]\r\n<data>\r\n ... 0\r\n<trailers>\r\n`)
 * into the plain object bytes, streaming: data chunks pass through without copies.
 * Chunk signatures are dropped unchecked because the server behind us does not verify SigV4 either.
 */
export class AwsChunkedDecoder extends Transform {
  /** Trailing headers (e.g. `x-amz-checksum-crc32`), lower-cased names; filled once the body has ended. */
  readonly trailers: Record<string, string> = {};
  private state: State = 'size';
  private remaining = 0;
  private decoded = 0;
  private line: Buffer[] = [];
  private lineLength = 0;
  /**
   * The latest data piece, passed on only when the next one arrives or the body has ended well. With a known length
   * the server behind us stores the object as soon as it has all the bytes, so the last ones must wait until the
   * framing is known to be sound; a broken body then reaches the server short, as an aborted upload.
   */
  private held?: Buffer;

  /** @param expectedLength the `x-amz-decoded-content-length` header, when the client sent one */
  constructor(private readonly expectedLength?: number) {
    super();
  }

  /** Number of object bytes emitted so far. */
  get decodedLength(): number {
    return this.decoded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let i = 0;
      while (i < chunk.length) {
        if (this.state === 'done') break;
        if (this.state === 'data') {
          const n = Math.min(this.remaining, chunk.length - i);
          if (this.held) this.push(this.held);
          this.held = chunk.subarray(i, i + n);
          this.decoded += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-end';
          continue;
        }
        const nl = chunk.indexOf(0x0a, i);
        const end = nl < 0 ? chunk.length : nl;
        this.lineLength += end - i;
        if (this.lineLength > MAX_LINE) throw new Error('aws-chunked line too long');
        this.line.push(chunk.subarray(i, end));
        i = end;
        if (nl >= 0) {
          i = nl + 1;
          const text = Buffer.concat(this.line).toString('latin1').replace(/\r$/, '');
          this.line = [];
          this.lineLength = 0;
          this.onLine(text);
        }
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // Some clients end right after the last trailer line, without the final empty line.
    const complete = this.state === 'done' || (this.state === 'trailer' && this.lineLength === 0);
    if (!complete) {
      callback(new Error('aws-chunked body ended before its final chunk'));
    } else if (this.expectedLength !== undefined && this.expectedLength !== this.decoded) {
      callback(new Error(`aws-chunked body decoded to ${this.decoded} bytes, x-amz-decoded-content-length says ${this.expectedLength}`));
    } else {
      callback(null, this.held);
    }
  }

  private onLine(text: string): void {
    switch (this.state) {
      case 'size': {
        const m = /^([0-9a-fA-F]{1,16})(;.*)?$/.exec(text);
        if (!m) throw new Error(`aws-chunked: bad chunk header ${JSON.stringify(text.slice(0, 40))}`);
        this.remaining = parseInt(m[1], 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-end':
        if (text !== '') throw new Error('aws-chunked: chunk data longer than its declared size');
        this.state = 'size';
        return;
      case 'trailer': {
        if (text === '') {
          this.state = 'done';
          return;
        }
        const colon = text.indexOf(':');
        if (colon <= 0) throw new Error(`aws-chunked: bad trailer ${JSON.stringify(text.slice(0, 40))}`);
        this.trailers[text.slice(0, colon).trim().toLowerCase()] = text.slice(colon + 1).trim();
        return;
      }
      default:
        return;
    }
  }
}

/** True when a request's headers announce an aws-chunked body. */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = headerValue(headers['content-encoding']);
  const sha = headerValue(headers['x-amz-content-sha256']);
  return /(^|,)\s*aws-chunked\s*(,|$)/i.test(encoding) || sha.startsWith('STREAMING-');
}

/**
 * The headers to forward with the decoded body: plain length, no aws-chunked encoding, no streaming payload hash,
 * no trailer announcement. Returns a copy.
 */
export function decodedRequestHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = value;
  }
  const decodedLength = headerValue(headers['x-amz-decoded-content-length']);
  delete out['content-length'];
  delete out['transfer-encoding'];
  delete out['x-amz-decoded-content-length'];
  delete out['x-amz-trailer'];
  if (/^\d+$/.test(decodedLength)) out['content-length'] = decodedLength;
  out['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  const encodings = headerValue(headers['content-encoding']).split(',').map((e) => e.trim()).filter((e) => e !== '' && e.toLowerCase() !== 'aws-chunked');
  if (encodings.length > 0) out['content-encoding'] = encodings.join(', ');
  else delete out['content-encoding'];
  return out;
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : value ?? '';
}
