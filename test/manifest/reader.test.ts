import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';

import { ManifestFileError, ManifestLine, readManifestLines, splitLines } from '../../lib/manifest/reader';
import { removeDir, tmpDir } from './helpers';

async function collect(input: string | Buffer | NodeJS.ReadableStream, includeBlank = false): Promise<ManifestLine[]> {
  const out: ManifestLine[] = [];
  for await (const line of readManifestLines(input, { includeBlank })) out.push(line);
  return out;
}

function brief(lines: Iterable<ManifestLine>): Array<[number, string]> {
  return [...lines].map((l) => [l.lineNumber, l.text]);
}

describe('readManifestLines and splitLines', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });
  afterEach(() => removeDir(dir));

  test('CRLF endings, a BOM, blank lines and a last line without newline', async () => {
    // GIVEN
    const content = '\uFEFF{"a":1}\r\n\r\n  \n{"b":2}\n\n{"c":3}';
    // WHEN
    const fromBuffer = await collect(Buffer.from(content));
    const sync = [...splitLines(content)];
    // THEN
    const expected: Array<[number, string]> = [[1, '{"a":1}'], [4, '{"b":2}'], [6, '{"c":3}']];
    expect(brief(fromBuffer)).toEqual(expected);
    expect(brief(sync)).toEqual(expected);
    expect(fromBuffer[0].length).toBe(7);
  });

  test('includeBlank yields blank lines with their numbers; a final newline adds no line', async () => {
    const lines = await collect(Buffer.from('{"a":1}\n\n \n{"b":2}\n'), true);
    expect(brief(lines)).toEqual([[1, '{"a":1}'], [2, ''], [3, ' '], [4, '{"b":2}']]);
  });

  test('a file path, a stream of string chunks and a Buffer give the same lines', async () => {
    // GIVEN a file and the same content as a stream cut in the middle of a line and of a CRLF
    const content = '{"x":"é"}\r\n{"y":2}\r\n{"z":3}';
    const file = path.join(dir, 'm.manifest');
    fs.writeFileSync(file, content);
    const stream = Readable.from(['{"x":"é"}\r', '\n{"y"', ':2}\r\n{"z":3}']);
    // WHEN
    const a = await collect(file);
    const b = await collect(stream);
    // THEN
    const expected: Array<[number, string]> = [[1, '{"x":"é"}'], [2, '{"y":2}'], [3, '{"z":3}']];
    expect(brief(a)).toEqual(expected);
    expect(brief(b)).toEqual(expected);
  });

  test('a line over 100,000 characters is flagged tooLong with empty text; the lines around it are intact', async () => {
    // GIVEN a 150,000-character line between two short ones
    const long = `{"source-ref":"s3://b/${'x'.repeat(150_000 - 24)}"}`;
    expect(long.length).toBe(150_000);
    const content = `{"a":1}\n${long}\n{"b":2}\n`;
    // WHEN
    const lines = await collect(Buffer.from(content));
    // THEN
    expect(lines.map((l) => [l.lineNumber, l.tooLong, l.text.length, l.length])).toEqual([
      [1, false, 7, 7],
      [2, true, 0, 150_000],
      [3, false, 7, 7],
    ]);
  });

  test('the limit counts characters, not bytes: 100,000 two-byte characters pass, 100,001 do not', async () => {
    const ok = 'é'.repeat(100_000);
    const over = 'é'.repeat(100_001);
    const lines = [...splitLines(`${ok}\n${over}\n`)];
    expect(lines.map((l) => [l.tooLong, l.length])).toEqual([[false, 200_000], [true, 200_002]]);
    expect(lines[0].text).toBe(ok);
  });

  test('lines that span chunk boundaries, including a CR at the end of a chunk, are rebuilt exactly', async () => {
    // GIVEN 1,100 lines of 1,000 characters (the 1 MiB chunk boundary falls inside one) and a stream whose first
    // chunk ends right after a CR
    const lines = Array.from({ length: 1100 }, (_, i) => `{"i":${String(i).padStart(4, '0')},"p":"${'a'.repeat(1000 - 19)}"}`);
    const content = lines.join('\n');
    const split = content.indexOf('\n', 5000);
    const crContent = content.slice(0, split) + '\r' + content.slice(split);
    // WHEN
    const fromBuffer = [...splitLines(content)];
    const fromStream = await collect(Readable.from([Buffer.from(crContent.slice(0, split + 1)), Buffer.from(crContent.slice(split + 1))]));
    // THEN
    expect(fromBuffer.map((l) => l.text)).toEqual(lines);
    expect(fromStream.map((l) => l.text)).toEqual(lines);
  });

  test('a 3 MiB line spread over several chunks is tooLong and the next line is read', async () => {
    const file = path.join(dir, 'long.manifest');
    fs.writeFileSync(file, `${'y'.repeat(3 * 1024 * 1024)}\n{"ok":true}\n`);
    const lines = await collect(file);
    expect(lines.map((l) => [l.lineNumber, l.tooLong, l.text])).toEqual([[1, true, ''], [2, false, '{"ok":true}']]);
    expect(lines[0].length).toBe(3 * 1024 * 1024);
  });

  test('exactly 100,000 characters spanning two chunks with a CRLF is not too long', async () => {
    const line = 'z'.repeat(100_000);
    const stream = Readable.from([Buffer.from(line.slice(0, 60_000)), Buffer.from(`${line.slice(60_000)}\r`), Buffer.from('\n{"n":2}')]);
    const lines = await collect(stream);
    expect(lines.map((l) => [l.tooLong, l.length])).toEqual([[false, 100_000], [false, 7]]);
  });

  test('onProgress reports bytes read and the file size', async () => {
    const file = path.join(dir, 'p.manifest');
    fs.writeFileSync(file, '{"a":1}\n{"b":2}\n');
    const calls: Array<[number, number | undefined]> = [];
    for await (const _ of readManifestLines(file, { onProgress: (n, t) => calls.push([n, t]) })) { /* drain */ }
    expect(calls).toEqual([[16, 16]]);
  });

  test('a missing file', async () => {
    const file = path.join(dir, 'nope.manifest');
    await expect(collect(file)).rejects.toThrow(`manifest not found: ${file}`);
    await expect(collect(file)).rejects.toMatchObject({ code: 'ENOENT', serviceCode: 'ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT' });
  });

  test('a directory', async () => {
    const err = await collect(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestFileError);
    expect((err as ManifestFileError).message).toBe(`${dir} is a directory, not a manifest file`);
  });

  test('a binary file: a NUL byte, or invalid UTF-8 in the first 8 KiB', async () => {
    const nul = path.join(dir, 'a.bin');
    fs.writeFileSync(nul, Buffer.from([0x7b, 0x00, 0x7d, 0x0a]));
    const bad = path.join(dir, 'b.bin');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from('{"a":'), Buffer.from([0xc3, 0x28]), Buffer.from('}\n')]));
    await expect(collect(nul)).rejects.toThrow(`${nul} is not a text file (it looks like binary data); a JSON Lines manifest is expected`);
    await expect(collect(bad)).rejects.toThrow(`${bad} is not a text file (it looks like binary data); a JSON Lines manifest is expected`);
    expect(() => [...splitLines(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]))])
      .toThrow('the manifest is not a text file (it looks like a PNG image); a JSON Lines manifest is expected');
  });

  test('a multi-byte character cut by the 8 KiB sniff window is not mistaken for binary', async () => {
    const content = `${'a'.repeat(8191)}é\n`;
    const lines = [...splitLines(content)];
    expect(lines[0].text.endsWith('é')).toBe(true);
  });

  test('a file over 1 GB (sparse) is refused before reading', async () => {
    const file = path.join(dir, 'huge.manifest');
    fs.writeFileSync(file, '{"a":1}\n');
    fs.truncateSync(file, 1024 * 1024 * 1024 + 1);
    const err = await collect(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestFileError);
    expect((err as ManifestFileError).code).toBe('ERROR_MANIFEST_SIZE_TOO_LARGE');
    expect((err as ManifestFileError).message).toMatch(/huge\.manifest is larger than 1073741824 bytes/);
  });
});
