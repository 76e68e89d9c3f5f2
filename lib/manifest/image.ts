/**
 * Image checks by header only: format from the magic bytes, dimensions from PNG's IHDR or JPEG's SOFn.
 */
import * as fs from 'fs';
import * as path from 'path';

/** What a header tells about an image. `exists: false` also covers an object that cannot be read. */
export interface ImageProbe {
  exists: boolean;
  /** Where the image was looked for (a local file path for LocalImageInspector), when the inspector can say. */
  location?: string;
  /** Why an image that does not exist could not be read (`no such file`, `permission denied`, ...). */
  problem?: string;
  bytes?: number;
  format?: 'png' | 'jpeg';
  width?: number;
  height?: number;
}

export interface ImageInspector {
  probe(bucket: string, key: string): Promise<ImageProbe>;
}

export interface SyncImageInspector {
  probeSync(bucket: string, key: string): ImageProbe;
}

/** Enough for PNG's IHDR and for JPEG files whose SOF sits behind ordinary EXIF/ICC segments. */
const HEADER_BYTES = 64 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Options of {@link LocalImageInspector}. */
export interface LocalImageInspectorOptions {
  /**
   * The key prefix the folder stands for: with `images/`, key `images/cat/1.png` is `<rootDir>/cat/1.png` (a folder
   * converted with `--bucket s3://my-bucket/images`). Keys outside the prefix count as missing.
   * @default '' (the folder stands for the bucket's root)
   */
  readonly prefix?: string;
}

/**
 * Probes images in a local folder that stands for `s3://<bucket>/<prefix>` of the manifest: key 'a/b.png' is
 * `<rootDir>/a/b.png`. The bucket name is ignored; keys that would leave rootDir count as missing. A probe of a
 * missing image says which file was tried (`location`) and why it could not be read (`problem`).
 */
export class LocalImageInspector implements ImageInspector, SyncImageInspector {
  readonly root: string;
  readonly prefix: string;

  constructor(rootDir: string, options: LocalImageInspectorOptions = {}) {
    this.root = path.resolve(rootDir);
    const prefix = (options.prefix ?? '').replace(/^\/+/, '');
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** The local file that stands for `key`, or undefined when the key is outside the prefix or would leave the folder. */
  fileOf(key: string): string | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    return this.resolve(key.slice(this.prefix.length));
  }

  probeSync(_bucket: string, key: string): ImageProbe {
    const file = this.fileOf(key);
    if (!file) {
      return { exists: false, problem: key.startsWith(this.prefix) ? `the key leaves ${this.root}` : `the key is outside the prefix ${this.prefix}` };
    }
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { exists: false, location: file, problem: code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? err) };
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) return { exists: false, location: file, problem: 'not a file' };
      const header = Buffer.alloc(Math.min(HEADER_BYTES, stat.size));
      const n = fs.readSync(fd, header, 0, header.length, 0);
      const probe = probeImageHeader(header.subarray(0, n), stat.size);
      if (probe.format === 'jpeg' && probe.width === undefined && stat.size > n) {
        Object.assign(probe, walkJpegMarkers((pos, len) => {
          const b = Buffer.alloc(len);
          const got = fs.readSync(fd, b, 0, len, pos);
          return b.subarray(0, got);
        }, stat.size));
      }
      return { ...probe, location: file };
    } catch (err) {
      return { exists: false, location: file, problem: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The same as probeSync: reading a header from a local disk takes microseconds, so async I/O would add only overhead. */
  async probe(bucket: string, key: string): Promise<ImageProbe> {
    return this.probeSync(bucket, key);
  }

  private resolve(key: string): string | undefined {
    const file = path.resolve(this.root, key);
    return file.startsWith(this.root + path.sep) ? file : undefined;
  }
}

/**
 * Reads format and dimensions from the first bytes of an image. Pure: the emulator uses it on S3 objects.
 * A PNG or JPEG whose dimensions are not within `header` comes back with `format` but no width/height.
 */
export function probeImageHeader(header: Buffer, totalBytes: number): ImageProbe {
  if (header.length >= 24 && header.subarray(0, 8).equals(PNG_SIGNATURE)) {
    // The first chunk must be IHDR: length(4) type(4) width(4) height(4).
    if (header.toString('latin1', 12, 16) !== 'IHDR') return { exists: true, bytes: totalBytes, format: 'png' };
    return { exists: true, bytes: totalBytes, format: 'png', width: header.readUInt32BE(16), height: header.readUInt32BE(20) };
  }
  if (header.length >= 3 && header[0] === 0xff && header[1] === 0xd8 && header[2] === 0xff) {
    const dims = walkJpegMarkers((pos, len) => header.subarray(pos, Math.min(header.length, pos + len)), header.length);
    return { exists: true, bytes: totalBytes, format: 'jpeg', ...dims };
  }
  return { exists: true, bytes: totalBytes };
}

/** Walks JPEG segments from after SOI to the first SOFn (C0..CF except DHT C4, JPG C8, DAC CC). */
function walkJpegMarkers(readAt: (pos: number, len: number) => Buffer, total: number): { width?: number; height?: number } {
  let pos = 2;
  while (pos + 4 <= total) {
    const m = readAt(pos, 9);
    if (m.length < 2 || m[0] !== 0xff) return {};
    const marker = m[1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return {}; // EOI or start of scan before any frame header
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // standalone markers carry no length
      continue;
    }
    if (m.length < 4) return {};
    const segLength = m.readUInt16BE(2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (m.length < 9) return {};
      return { height: m.readUInt16BE(5), width: m.readUInt16BE(7) };
    }
    if (segLength < 2) return {};
    pos += 2 + segLength;
  }
  return {};
}
