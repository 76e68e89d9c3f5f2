import { HashSet64 } from '../../lib/manifest/hash-set';

describe('HashSet64', () => {
  test('adds distinct strings, finds them again, and refuses repeats across growth', () => {
    // GIVEN a set that starts with 16 slots and must grow many times
    const set = new HashSet64(16);
    const n = 200_000;
    // WHEN
    let added = 0;
    for (let i = 0; i < n; i++) if (set.addString(`s3://bucket/images/${i}.jpg`)) added++;
    // THEN
    expect(added).toBe(n);
    expect(set.size).toBe(n);
    expect(set.addString('s3://bucket/images/123.jpg')).toBe(false);
    expect(set.hasString('s3://bucket/images/199999.jpg')).toBe(true);
    expect(set.hasString('s3://bucket/images/200000.jpg')).toBe(false);
    expect(set.hasString('')).toBe(false);
    expect(set.addString('')).toBe(true);
    expect(set.hasString('')).toBe(true);
  });

  test('strings differing in one character or by order are distinct', () => {
    const set = new HashSet64();
    for (const s of ['ab', 'ba', 'abc', 'abd', 'a\u0100', 'a\u0000']) expect(set.addString(s)).toBe(true);
    expect(set.size).toBe(6);
  });

  test('ASCII bytes hash like the same text: a key added as bytes is found as a string and back', () => {
    // GIVEN
    const set = new HashSet64();
    const bytes = Buffer.from('xx s3://bucket/a.png yy', 'ascii');
    // WHEN
    const added = set.addAscii(bytes, 3, 20);
    // THEN
    expect(added).toBe(true);
    expect(set.hasString('s3://bucket/a.png')).toBe(true);
    expect(set.addString('s3://bucket/a.png')).toBe(false);
    expect(set.addAscii(Buffer.from('s3://bucket/b.png'), 0, 17)).toBe(true);
    expect(set.addAscii(Buffer.from('s3://bucket/b.png'), 0, 17)).toBe(false);
  });
});
