import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { crc32, writeZip, zipDirectory } from '../../lib/runner/zip';

interface ReadEntry { name: string; data: Buffer; mode: number; method: number; crc: number }

/** An independent reader: walks the central directory, then inflates each local entry. */
function readZip(zip: Buffer): ReadEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBe(zip.length - 22);
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: ReadEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(p)).toBe(0x02014b50);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const mode = zip.readUInt32LE(p + 38) >>> 16;
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const body = zip.subarray(start, start + compressed);
    entries.push({ name, data: method === 8 ? zlib.inflateRawSync(body) : Buffer.from(body), mode, method, crc });
    p += 46 + nameLen;
  }
  return entries;
}

describe('crc32', () => {
  test('matches the standard check value and chains', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('6789'), crc32(Buffer.from('12345')))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});

describe('writeZip', () => {
  test('stores incompressible data, deflates the rest, and records CRCs and modes', () => {
    const random = Buffer.from(Array.from({ length: 64 }, (_v, i) => (i * 7919 + 13) % 251));
    const text = Buffer.from('hello '.repeat(200));
    const entries = readZip(writeZip([{ name: 'r.bin', data: random }, { name: 'dir/ü.txt', data: text, mode: 0o755 }]));
    expect(entries.map((e) => [e.name, e.method])).toEqual([['r.bin', 0], ['dir/ü.txt', 8]]);
    expect(entries[0].data.equals(random)).toBe(true);
    expect(entries[1].data.equals(text)).toBe(true);
    expect(entries[1].crc).toBe(crc32(text));
    expect(entries[1].mode).toBe(0o100755);
    expect(entries[0].mode).toBe(0o100644);
  });

  test('an empty archive is just the end record', () => {
    expect(writeZip([]).length).toBe(22);
  });
});

describe('zipDirectory', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-test-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('zips nested files sorted by path, and the same tree always gives the same bytes', () => {
    // GIVEN a tree written in a scrambled order
    fs.mkdirSync(path.join(dir, 'b', 'c'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'z.js'), 'exports.z = 1;');
    fs.writeFileSync(path.join(dir, 'b', 'c', 'deep.json'), '{"deep":true}');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'A');
    fs.chmodSync(path.join(dir, 'z.js'), 0o755);

    // WHEN
    const zip = zipDirectory(dir);

    // THEN
    const entries = readZip(zip);
    expect(entries.map((e) => e.name)).toEqual(['a.txt', 'b/c/deep.json', 'z.js']);
    expect(entries.map((e) => e.data.toString())).toEqual(['A', '{"deep":true}', 'exports.z = 1;']);
    expect(entries[2].mode & 0o777).toBe(0o755);
    fs.utimesSync(path.join(dir, 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(zipDirectory(dir).equals(zip)).toBe(true);
  });
});
