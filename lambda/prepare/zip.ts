/**
 * Reads zip archives (ZIP64 included) that sit in S3 without downloading them: yauzl parses the central directory and
 * the entries, and every byte it asks for comes from ranged reads through a small block cache. Entries are read in
 * central-directory order, which for our packs is the order they were written in, so the cache turns thousands of
 * small entries into a few large sequential GETs. Memory: the cache (`blocks x blockBytes`) plus the entries in flight.
 */
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';

import * as yauzl from 'yauzl';

/** Random access to an object's bytes. */
export interface RangeSource {
  readonly size: number;
  /** Bytes `[start, end)`. */
  read(start: number, end: number): Promise<Buffer>;
}

export interface ZipEntryInfo {
  readonly name: string;
  readonly size: number;
  /** CRC-32 of the uncompressed data, as the zip stores it (S3 can check an upload against it). */
  readonly crc32: number;
}

export interface CachedReaderOptions {
  /** @default 4 MiB */
  readonly blockBytes?: number;
  /** @default 8 */
  readonly blocks?: number;
}

/** Counts of what a reader fetched, for the benchmark and the tests. */
export interface ReadStats {
  requests: number;
  bytes: number;
}

/** yauzl's RandomAccessReader over a RangeSource, with an LRU cache of aligned blocks. */
class BlockCachedReader extends yauzl.RandomAccessReader {
  private readonly blockBytes: number;
  private readonly maxBlocks: number;
  private readonly cache = new Map<number, Promise<Buffer>>();

  constructor(private readonly source: RangeSource, private readonly stats: ReadStats, options: CachedReaderOptions) {
    super();
    this.blockBytes = options.blockBytes ?? 4 * 1024 * 1024;
    this.maxBlocks = options.blocks ?? 8;
  }

  /** Bytes `[start, end)`: from cached blocks when the range is small, else one ranged read. */
  async bytes(start: number, end: number): Promise<Buffer> {
    if (end - start > this.blockBytes) return this.fetch(start, end);
    const first = Math.floor(start / this.blockBytes);
    const last = Math.floor((end - 1) / this.blockBytes);
    const parts: Buffer[] = [];
    for (let b = first; b <= last; b++) {
      const block = await this.block(b);
      const from = Math.max(start, b * this.blockBytes) - b * this.blockBytes;
      const to = Math.min(end, (b + 1) * this.blockBytes) - b * this.blockBytes;
      parts.push(block.subarray(from, to));
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // A stream that yields the range once it is read; errors surface on the stream, where yauzl expects them.
    return Readable.from((async function* (reader: BlockCachedReader) {
      yield await reader.bytes(start, end);
    })(this));
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.bytes(position, position + length).then((data) => {
      data.copy(buffer, offset);
      callback(null);
    }, (err: Error) => callback(err));
  }

  private block(index: number): Promise<Buffer> {
    let cached = this.cache.get(index);
    if (cached) {
      // Most recently used last.
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    const start = index * this.blockBytes;
    cached = this.fetch(start, Math.min(this.source.size, start + this.blockBytes));
    this.cache.set(index, cached);
    cached.catch(() => this.cache.delete(index));
    while (this.cache.size > this.maxBlocks) this.cache.delete(this.cache.keys().next().value as number);
    return cached;
  }

  private async fetch(start: number, end: number): Promise<Buffer> {
    const data = await this.source.read(start, end);
    if (data.length !== end - start) throw new Error(`short read: ${data.length} bytes at ${start}, expected ${end - start}`);
    this.stats.requests++;
    this.stats.bytes += data.length;
    return data;
  }
}

/** An open archive: its entries in central-directory order (directories left out), each readable once. */
export interface ZipArchive {
  readonly entryCount: number;
  /** Yields every file entry with a function reading its (decompressed, CRC-32-checked) bytes. */
  entries(): AsyncIterable<{ info: ZipEntryInfo; read: () => Promise<Buffer> }>;
  close(): void;
}

/** Opens a zip archive (ZIP64 or not) through ranged reads. */
export async function openZip(source: RangeSource, stats: ReadStats = { requests: 0, bytes: 0 }, options: CachedReaderOptions = {}):
Promise<ZipArchive> {
  const reader = new BlockCachedReader(source, stats, options);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, source.size, { lazyEntries: true, autoClose: false, strictFileNames: true });
  } catch (err) {
    throw new Error(`Not a readable zip archive: ${(err as Error).message}`, { cause: err });
  }
  return {
    entryCount: zip.entryCount,
    async* entries() {
      for await (const entry of zip.eachEntry()) {
        if (entry.fileName.endsWith('/')) continue;
        if (entry.isEncrypted()) throw new Error(`Encrypted zip entries are not supported: ${entry.fileName}`);
        if (!entry.canDecodeFileData()) throw new Error(`Unsupported compression method ${entry.compressionMethod} for ${entry.fileName}`);
        yield {
          info: { name: entry.fileName, size: entry.uncompressedSize, crc32: entry.crc32 },
          read: async () => {
            const stream = await zip.openReadStreamPromise(entry);
            const chunks: Buffer[] = [];
            for await (const chunk of stream) chunks.push(chunk as Buffer);
            const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            // yauzl checks sizes, not checksums.
            const crc = zlib.crc32(data);
            if (crc !== entry.crc32) throw new Error(`Corrupt zip entry ${entry.fileName}: crc32 ${crc} instead of ${entry.crc32}`);
            return data;
          },
        };
      }
    },
    close: () => zip.close(),
  };
}

/** A RangeSource over bytes in memory (tests, small archives). */
export function bufferSource(data: Buffer): RangeSource {
  return { size: data.length, read: async (start, end) => data.subarray(start, end) };
}
