import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bufferSource, openZip, RangeSource } from '../../../lambda/prepare/zip';
import { writePack } from '../../../lib/data/packs';
import { writeZip } from '../../../lib/runner/zip';

/** A source that counts what it is asked for. */
function counted(data: Buffer): RangeSource & { calls: number; bytes: number } {
  const source = { size: data.length, calls: 0, bytes: 0, read: async (start: number, end: number) => {
    source.calls++;
    source.bytes += end - start;
    return data.subarray(start, end);
  } };
  return source;
}

async function readAll(source: RangeSource, options?: { blockBytes?: number }): Promise<Map<string, Buffer>> {
  const zip = await openZip(source, undefined, options);
  const out = new Map<string, Buffer>();
  for await (const entry of zip.entries()) out.set(entry.info.name, await entry.read());
  zip.close();
  return out;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('openZip (yauzl over ranged reads)', () => {
  test('GIVEN stored and deflated entries and a directory THEN it yields the files with their bytes and CRC', async () => {
    const a = Buffer.from('a'.repeat(1000));
    const b = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
    const zip = writeZip([{ name: 'dir/', data: Buffer.alloc(0) }, { name: 'dir/a.txt', data: a }, { name: 'b.bin', data: b }]);
    const opened = await openZip(bufferSource(zip));
    const infos = [];
    for await (const entry of opened.entries()) infos.push({ ...entry.info, data: await entry.read() });
    expect(infos.map((i) => [i.name, i.size, i.data.equals(i.name === 'b.bin' ? b : a)])).toEqual([['dir/a.txt', 1000, true], ['b.bin', 300, true]]);
    expect(infos[0].crc32).toBeGreaterThan(0);
  });

  test('GIVEN bytes that are not a zip THEN it says so', async () => {
    await expect(openZip(bufferSource(Buffer.from('hello world, this is not a zip file at all')))).rejects.toThrow(/^Not a readable zip archive: /);
  });

  test('GIVEN a corrupt entry THEN reading it fails on its CRC', async () => {
    const zip = writeZip([{ name: 'x.txt', data: Buffer.from('hello hello hello') }]);
    const broken = Buffer.from(zip);
    broken[30 + 'x.txt'.length + 2] ^= 0xff; // a byte of the stored data
    await expect(readAll(bufferSource(broken))).rejects.toThrow(/crc32/i);
  });

  test('GIVEN a pack of 66,000 entries (ZIP64, written by writePack) THEN every entry is read back through few, block-sized reads', async () => {
    // Tiny files: the count, not the bytes, is what ZIP64 is about (a zip without it holds at most 65,535 entries).
    const files = path.join(dir, 'files');
    fs.mkdirSync(files);
    const entries = Array.from({ length: 66_000 }, (_, i) => {
      const file = path.join(files, `${i}.bin`);
      fs.writeFileSync(file, `entry ${i}\n`);
      return { key: `${String(i).padStart(64, '0')}/${i}.bin`, file };
    });
    const out = path.join(dir, 'pack.zip');
    writePack(out, entries);
    const bytes = fs.readFileSync(out);
    // The ZIP64 end of central directory record and its locator are there.
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07]))).toBe(true);

    const source = counted(bytes);
    const read = await readAll(source, { blockBytes: 1024 * 1024 });
    expect(read.size).toBe(66_000);
    expect(read.get(entries[65_999].key)!.toString()).toBe('entry 65999\n');
    expect(read.get(entries[0].key)!.toString()).toBe('entry 0\n');
    // Sequential entries come from cached blocks: about one read per MiB, not one per entry.
    expect(source.calls).toBeLessThan(Math.ceil(bytes.length / (1024 * 1024)) * 2 + 5);
    expect(source.bytes).toBeLessThan(bytes.length * 2);
  }, 120_000);

  test('GIVEN a pack whose entries and central directory sit past the ZIP64 offset THEN the offsets go to ZIP64 fields that yauzl and Python read', async () => {
    // Past 4 GB for real would write 4 GB; writePack takes the offset from which it writes ZIP64 fields (4 GB in use),
    // so here entries from byte 100 on carry theirs in a ZIP64 extra field, and the end records point to ZIP64 ones.
    const files = path.join(dir, 'offsets');
    fs.mkdirSync(files);
    const entries = Array.from({ length: 5 }, (_, i) => {
      const file = path.join(files, `${i}.bin`);
      fs.writeFileSync(file, Buffer.alloc(60 + i, i + 1));
      return { key: `images/${i}.bin`, file };
    });
    const out = path.join(dir, 'offsets.zip');
    writePack(out, entries, 100);
    const bytes = fs.readFileSync(out);
    // The end of central directory defers to the ZIP64 one (offset and size 0xFFFFFFFF), whose locator is there.
    const end = bytes.subarray(bytes.length - 22);
    expect([end.readUInt32LE(0), end.readUInt32LE(12), end.readUInt32LE(16)]).toEqual([0x06054b50, 0xffffffff, 0xffffffff]);
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50);
    // Entries 1.. start past byte 100: their central records carry the ZIP64 extra field (id 1) with the real offset.
    const zip64Records = bytes.toString('latin1').split('PK\x01\x02').slice(1).filter((r) => r.includes('\x01\x00\x08\x00'));
    expect(zip64Records).toHaveLength(4);

    const read = await readAll(bufferSource(bytes));
    expect([...read.keys()]).toEqual(entries.map((e) => e.key));
    entries.forEach((e, i) => expect(read.get(e.key)!.equals(Buffer.alloc(60 + i, i + 1))).toBe(true));
    // An independent reader: Python's zipfile checks every entry's CRC and reads the ZIP64 fields.
    const python = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.testzip(), [i.header_offset for i in z.infolist()])';
    const [bad, offsets] = execFileSync('python3', ['-c', python, out], { encoding: 'utf8' }).trim().split(' [');
    expect(bad).toBe('None');
    expect(offsets.replace(']', '').split(', ').map(Number)).toEqual([0, 102, 205, 309, 414]);
  });
});
