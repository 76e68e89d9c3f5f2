/**
 * Image packs: how local images travel to the data bucket without the whole folder being uploaded again on each change.
 *
 * Every image is a content-addressed object (`<sha256>/<file name>`). A pack is a zip of such objects, a CDK file asset
 * named after the exact set of keys it holds, so an unchanged pack is never uploaded twice (cdk-assets finds its key in
 * the bucket). A ledger in the cache folder remembers the packs made so far for a data source: at synth, the images
 * that no pack holds yet go into one new pack, and packs that hold none of today's images are forgotten. A change of
 * one image therefore uploads a pack of one image (and the manifest). Without the ledger (a fresh checkout), synth
 * makes one pack of everything: correct, only not incremental.
 *
 * Zips are written here (writePack): stored entries, ZIP64 past 65,535 entries or 4 GB. yazl 3.3.1 was used first, and
 * dropped: it looks for the next entry to write from the start of its list each time, so a pack of n entries costs n^2
 * (a pack of 250,000 images did not finish in 30 minutes); packs need only stored entries, about 100 lines.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** A content-addressed object of a pack: its key (`<sha256>/<name>`) and the local file holding its bytes. */
export interface PackObject {
  readonly key: string;
  readonly file: string;
}

export interface Pack {
  /** sha256 (32 hex) of the sorted keys: also the asset's hash. */
  readonly id: string;
  /** The zip file in the cache folder. */
  readonly file: string;
  readonly keys: readonly string[];
  /** True when this synth wrote the zip (its bytes are what the next deploy uploads, unless the bucket has it). */
  readonly built: boolean;
}

/** More packs than this and they are merged into one (a merge uploads everything once more; rare). */
export const MAX_PACKS = 16;

interface LedgerPack {
  readonly id: string;
  readonly keys: string[];
}

interface Ledger {
  readonly version: 1;
  readonly packs: LedgerPack[];
}

/** The id of a pack holding exactly `keys`. */
export function packId(keys: readonly string[]): string {
  const hash = createHash('sha256');
  for (const key of [...keys].sort()) hash.update(key).update('\n');
  return hash.digest('hex').slice(0, 32);
}

/**
 * The packs that carry `objects` (every key in exactly one of them), reusing the packs of earlier synths recorded in
 * `cacheDir`; missing zips are written there.
 */
export function planPacks(cacheDir: string, objects: readonly PackObject[]): Pack[] {
  const files = new Map(objects.map((o) => [o.key, o.file]));
  const ledgerFile = path.join(cacheDir, 'packs.json');
  const ledger = readLedger(ledgerFile);
  const covered = new Set<string>();
  const used: LedgerPack[] = [];
  for (const pack of ledger.packs) {
    // A pack is only reused when its zip is still there: its id promises exactly its keys.
    if (!fs.existsSync(zipOf(cacheDir, pack.id))) continue;
    if (!pack.keys.some((k) => files.has(k) && !covered.has(k))) continue;
    used.push(pack);
    for (const k of pack.keys) if (files.has(k)) covered.add(k);
  }
  const missing = [...files.keys()].filter((k) => !covered.has(k)).sort();
  if (missing.length > 0) used.push({ id: packId(missing), keys: missing });
  // Too many packs, or packs mostly holding images no longer used: start again with one.
  const held = used.reduce((n, p) => n + p.keys.length, 0);
  let plan = used;
  if (used.length > MAX_PACKS || held > 2 * files.size) {
    const all = [...files.keys()].sort();
    plan = [{ id: packId(all), keys: all }];
  }
  const packs = plan.map((p) => {
    const file = zipOf(cacheDir, p.id);
    const built = !fs.existsSync(file);
    if (built) writePack(file, p.keys.map((key) => ({ key, file: files.get(key)! })));
    return { id: p.id, file, keys: p.keys, built };
  });
  writeJsonAtomic(ledgerFile, { version: 1, packs: plan } satisfies Ledger);
  // Zips no pack of the ledger names any more are only taking room.
  const keep = new Set(plan.map((p) => `${p.id}.zip`));
  for (const name of safeReaddir(path.join(cacheDir, 'packs'))) {
    if (name.endsWith('.zip') && !keep.has(name)) fs.rmSync(path.join(cacheDir, 'packs', name), { force: true });
  }
  return packs;
}

function zipOf(cacheDir: string, id: string): string {
  return path.join(cacheDir, 'packs', `${id}.zip`);
}

function readLedger(file: string): Ledger {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Ledger;
    if (parsed.version === 1 && Array.isArray(parsed.packs)) return parsed;
  } catch {
    // No ledger yet, or an unreadable one: start afresh (one pack of everything).
  }
  return { version: 1, packs: [] };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Writes JSON to a side file and renames it, so a synth that dies never leaves half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

/** Stored entries of a pack carry a fixed date (1980-01-02, DOS format), so a pack's bytes depend on its content only. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 2;
/** Made by Unix (3), spec version 4.5 (ZIP64); UTF-8 names (general purpose bit 11). */
const MADE_BY = (3 << 8) | 45;
const UTF8 = 0x0800;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/**
 * Local headers and image bytes are gathered in one buffer of this size and written when it is full: the largest image
 * the service accepts (15 MB) and its header fit, so no image needs a buffer of its own.
 */
const WRITE_CHUNK = 16 * 1024 * 1024;
/** Central directory records are gathered in blocks of this size (about 8,000 records each). */
const CENTRAL_BLOCK = 1024 * 1024;

/**
 * Writes a pack zip: entries stored (PNG and JPEG are compressed already), ZIP64 records when the archive passes
 * 65,535 entries or an offset passes 4 GB. Synchronous and linear in the entries. Each image is read straight into the
 * write buffer, so a pack of 250,000 images allocates no buffer per image (they were most of synth's peak memory at
 * that size); memory is the write buffer and the central directory (about 120 bytes per entry). The zip goes to a side
 * file renamed at the end, so a synth that dies never leaves half a pack.
 *
 * `zip64From` is the offset from which ZIP64 fields carry offsets and sizes: 4 GB, as the format needs; tests lower it
 * to write the ZIP64 records of a large archive without writing 4 GB (a reader must take them at any offset).
 */
export function writePack(out: string, entries: readonly PackObject[], zip64From: number = U32_MAX): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const chunk = Buffer.allocUnsafe(WRITE_CHUNK);
    let used = 0;
    let offset = 0;
    const flush = () => {
      if (used > 0) fs.writeSync(fd, chunk, 0, used);
      used = 0;
    };
    /** `n` bytes to fill at `at` of the returned buffer: the write buffer, or one of its own for an outsized entry. */
    const reserve = (n: number): { buf: Buffer; at: number } => {
      if (used + n > chunk.length) flush();
      if (n > chunk.length) return { buf: Buffer.alloc(n), at: 0 };
      used += n;
      return { buf: chunk, at: used - n };
    };
    const commit = (r: { buf: Buffer }, n: number) => {
      if (r.buf !== chunk) fs.writeSync(fd, r.buf);
      offset += n;
    };
    const central = new BlockWriter(CENTRAL_BLOCK);
    for (const entry of entries) {
      const name = Buffer.from(entry.key, 'utf8');
      const input = fs.openSync(entry.file, 'r');
      let size: number;
      let crc: number;
      const headerOffset = offset;
      try {
        size = fs.fstatSync(input).size;
        if (size >= U32_MAX) throw new Error(`${entry.file} is 4 GB or more: too large for a pack`);
        const n = 30 + name.length + size;
        const r = reserve(n);
        const dataAt = r.at + 30 + name.length;
        readFully(input, r.buf, dataAt, size, entry.file);
        crc = crc32(r.buf.subarray(dataAt, dataAt + size));
        r.buf.writeUInt32LE(0x04034b50, r.at);
        r.buf.writeUInt16LE(20, r.at + 4); // version needed: sizes fit 32 bits, so no ZIP64 field here
        sharedFields(r.buf, r.at + 6, crc, size, name.length);
        r.buf.writeUInt16LE(0, r.at + 28); // no extra field
        name.copy(r.buf, r.at + 30);
        commit(r, n);
      } finally {
        fs.closeSync(input);
      }
      // The central directory record; its local header offset moves to a ZIP64 extra field past 4 GB.
      const zip64 = headerOffset >= zip64From;
      const { buf: record, at } = central.reserve(46 + name.length + (zip64 ? 12 : 0));
      record.writeUInt32LE(0x02014b50, at);
      record.writeUInt16LE(MADE_BY, at + 4);
      record.writeUInt16LE(zip64 ? 45 : 20, at + 6);
      sharedFields(record, at + 8, crc, size, name.length);
      record.writeUInt16LE(zip64 ? 12 : 0, at + 30);
      record.writeUInt16LE(0, at + 32); // comment
      record.writeUInt16LE(0, at + 34); // disk
      record.writeUInt16LE(0, at + 36); // internal attributes
      record.writeUInt32LE((0o100644 << 16) >>> 0, at + 38); // a regular file, rw-r--r--
      record.writeUInt32LE(zip64 ? U32_MAX : headerOffset, at + 42);
      name.copy(record, at + 46);
      if (zip64) {
        const extra = at + 46 + name.length;
        record.writeUInt16LE(0x0001, extra);
        record.writeUInt16LE(8, extra + 2);
        record.writeBigUInt64LE(BigInt(headerOffset), extra + 4);
      }
    }
    flush();
    const centralOffset = offset;
    for (const block of central.blocks()) fs.writeSync(fd, block);
    const centralBytes = central.bytes;
    offset += centralBytes;
    const count = entries.length;
    const tail: Buffer[] = [];
    const bigCentral = centralOffset >= zip64From || centralBytes >= zip64From;
    if (count >= U16_MAX || bigCentral) {
      const zip64End = Buffer.alloc(56);
      zip64End.writeUInt32LE(0x06064b50, 0);
      zip64End.writeBigUInt64LE(44n, 4); // the size of the rest of this record
      zip64End.writeUInt16LE(MADE_BY, 12);
      zip64End.writeUInt16LE(45, 14);
      zip64End.writeUInt32LE(0, 16);
      zip64End.writeUInt32LE(0, 20);
      zip64End.writeBigUInt64LE(BigInt(count), 24);
      zip64End.writeBigUInt64LE(BigInt(count), 32);
      zip64End.writeBigUInt64LE(BigInt(centralBytes), 40);
      zip64End.writeBigUInt64LE(BigInt(centralOffset), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeUInt32LE(0, 4);
      locator.writeBigUInt64LE(BigInt(offset), 8);
      locator.writeUInt32LE(1, 16);
      tail.push(zip64End, locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, U16_MAX), 8);
    end.writeUInt16LE(Math.min(count, U16_MAX), 10);
    end.writeUInt32LE(bigCentral ? U32_MAX : centralBytes, 12);
    end.writeUInt32LE(bigCentral ? U32_MAX : centralOffset, 16);
    tail.push(end);
    fs.writeSync(fd, Buffer.concat(tail));
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // closed already
    }
    fs.rmSync(tmp, { force: true });
    throw new Error(`writing the image pack ${out} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads exactly `size` bytes of an open file into `buf` at `at`; a file that shrank meanwhile is an error. */
function readFully(fd: number, buf: Buffer, at: number, size: number, file: string): void {
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, buf, at + done, size - done, done);
    if (n === 0) throw new Error(`${file} changed while it was packed (${done} of ${size} bytes read)`);
    done += n;
  }
}

/** Appends records to blocks of a fixed size (a record never spans two), for few large buffers instead of many small. */
class BlockWriter {
  private readonly full: Buffer[] = [];
  private block: Buffer;
  private used = 0;
  bytes = 0;

  constructor(private readonly size: number) {
    this.block = Buffer.allocUnsafe(size);
  }

  reserve(n: number): { buf: Buffer; at: number } {
    if (this.used + n > this.block.length) {
      this.full.push(this.block.subarray(0, this.used));
      this.block = Buffer.allocUnsafe(Math.max(this.size, n));
      this.used = 0;
    }
    this.used += n;
    this.bytes += n;
    return { buf: this.block, at: this.used - n };
  }

  blocks(): Buffer[] {
    return [...this.full, this.block.subarray(0, this.used)];
  }
}

/**
 * The fields a local header (from byte 6) and its central directory record (from byte 8) share, in the same order:
 * flags (UTF-8 names), method (stored), DOS time and date, CRC-32, compressed and uncompressed size, name length.
 */
function sharedFields(b: Buffer, at: number, crc: number, size: number, nameLength: number): void {
  b.writeUInt16LE(UTF8, at);
  b.writeUInt16LE(0, at + 2); // stored
  b.writeUInt16LE(DOS_TIME, at + 4);
  b.writeUInt16LE(DOS_DATE, at + 6);
  b.writeUInt32LE(crc, at + 8);
  b.writeUInt32LE(size, at + 12);
  b.writeUInt32LE(size, at + 16);
  b.writeUInt16LE(nameLength, at + 20);
}

let CRC_TABLE: number[] | undefined;

/** CRC-32 of the zip format: node:zlib's where it has one (Node.js 20.15 and later), else a table. */
function crc32(data: Buffer): number {
  const native = (zlib as { crc32?: (data: Buffer) => number }).crc32;
  if (native) return native(data);
  CRC_TABLE ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
