import { binaryInputProblem, describeBinary } from '../../lib/manifest/sniff';

describe('describeBinary', () => {
  test.each([
    ['a PNG image', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]],
    ['a JPEG image', [0xff, 0xd8, 0xff, 0xe0]],
    ['a GIF image', [...Buffer.from('GIF89a')]],
    ['a ZIP archive', [0x50, 0x4b, 0x03, 0x04, 20]],
    ['a gzip archive', [0x1f, 0x8b, 8]],
    ['a PDF document', [...Buffer.from('%PDF-1.7')]],
    ['binary data', [0x7b, 0x00, 0x7d]],
    ['binary data', [0x61, 0xc3, 0x28, 0x62]],
  ])('%s', (what, bytes) => {
    expect(describeBinary(Buffer.from(bytes))).toBe(what);
  });

  test('text is not binary: UTF-8, a BOM, and a character cut at the end of the window', () => {
    expect(describeBinary(Buffer.from('image,label\na.jpg,chat\u00e9\n'))).toBeUndefined();
    expect(describeBinary(Buffer.from('\ufeff{"a":1}'))).toBeUndefined();
    const cut = Buffer.concat([Buffer.alloc(8 * 1024 - 1, 0x61), Buffer.from('\u00e9')]);
    expect(describeBinary(cut)).toBeUndefined();
  });

  test('binaryInputProblem says what the input looks like and what was expected', () => {
    expect(binaryInputProblem(Buffer.from([0xff, 0xd8, 0xff]), 'x.jpg', 'a CSV file')).toBe(
      'x.jpg is not a text file (it looks like a JPEG image); a CSV file is expected');
    expect(binaryInputProblem(Buffer.from('a,b\n'), 'x.csv', 'a CSV file')).toBeUndefined();
  });
});
