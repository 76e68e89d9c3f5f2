import { readZip } from '../../../lambda/prepare/zip';
import { writeZip } from '../../../lib/runner/zip';

describe('readZip', () => {
  test('GIVEN deflated and stored entries THEN each reads back byte for byte, directories left out', () => {
    const a = Buffer.from('a'.repeat(5000));
    const b = Buffer.from([0, 1, 2, 3, 250, 251]);
    const zip = writeZip([{ name: 'dir/', data: Buffer.alloc(0) }, { name: 'dir/a.txt', data: a }, { name: 'b.bin', data: b }]);
    const entries = readZip(zip);
    expect(entries.map((e) => e.name)).toEqual(['dir/a.txt', 'b.bin']);
    expect(entries[0].read().equals(a)).toBe(true);
    expect(entries[1].read().equals(b)).toBe(true);
  });

  test('GIVEN a zip with a trailing comment THEN the end record is still found', () => {
    const zip = writeZip([{ name: 'x', data: Buffer.from('x') }]);
    const commented = Buffer.concat([zip, Buffer.from('comment')]);
    commented.writeUInt16LE(7, zip.length - 2);
    expect(readZip(commented).map((e) => e.read().toString())).toEqual(['x']);
  });

  test('GIVEN something that is not a zip THEN it says so', () => {
    expect(() => readZip(Buffer.from('hello world, this is not a zip file at all'))).toThrow('Not a zip file: no end-of-central-directory record');
  });

  test('GIVEN a corrupt entry size THEN the read fails naming the entry', () => {
    const zip = writeZip([{ name: 'x.txt', data: Buffer.from('hello') }]);
    const cdStart = zip.readUInt32LE(zip.length - 6);
    zip.writeUInt32LE(9, cdStart + 24);
    expect(() => readZip(zip)[0].read()).toThrow('Corrupt zip entry x.txt: 5 bytes, expected 9');
  });
});
