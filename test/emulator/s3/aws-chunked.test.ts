import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { AwsChunkedDecoder, decodedRequestHeaders, isAwsChunked } from '../../../lib/emulator/s3/aws-chunked';

async function decode(pieces: Buffer[], expected?: number): Promise<{ body: Buffer; trailers: Record<string, string> }> {
  const decoder = new AwsChunkedDecoder(expected);
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return { body: Buffer.concat(out), trailers: decoder.trailers };
}

function frame(parts: string[], trailer: string, signed: boolean): Buffer {
  const sig = signed ? ';chunk-signature=' + 'a'.repeat(64) : '';
  const chunks = parts.map((p) => `${Buffer.byteLength(p).toString(16)}${sig}\r\n${p}\r\n`).join('');
  return Buffer.from(`${chunks}0${sig}\r\n${trailer}\r\n`, 'latin1');
}

describe('AwsChunkedDecoder', () => {
  test('unsigned body with a checksum trailer, split at every byte', async () => {
    // GIVEN the exact framing the SDK sends for a streamed PutObject (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
    const wire = frame(['hello ', 'world'], 'x-amz-checksum-crc32:DUoRhQ==\r\n', false);
    for (let cut = 0; cut <= wire.length; cut++) {
      // WHEN it arrives in two pieces cut anywhere
      const { body, trailers } = await decode([wire.subarray(0, cut), wire.subarray(cut)], 11);
      // THEN the plain bytes come out and the trailer is read
      expect(body.toString()).toBe('hello world');
      expect(trailers).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
    }
  });

  test('signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) drop their signatures', async () => {
    const data = Buffer.alloc(70000, 7);
    const wire = frame([data.subarray(0, 65536).toString('latin1'), data.subarray(65536).toString('latin1')], '', true);
    const { body } = await decode([wire]);
    expect(body.equals(data)).toBe(true);
  });

  test('a body that ends before the final chunk is an error', async () => {
    const wire = frame(['hello'], '', false);
    await expect(decode([wire.subarray(0, 8)])).rejects.toThrow('aws-chunked body ended before its final chunk');
  });

  test('a chunk longer than its declared size is an error', async () => {
    await expect(decode([Buffer.from('3\r\nhello\r\n0\r\n\r\n')])).rejects.toThrow('aws-chunked: chunk data longer than its declared size');
  });

  test('a bad chunk header is an error', async () => {
    await expect(decode([Buffer.from('zz\r\nhello\r\n')])).rejects.toThrow('aws-chunked: bad chunk header "zz"');
  });

  test('a decoded length different from x-amz-decoded-content-length is an error', async () => {
    await expect(decode([frame(['abc'], '', false)], 4)).rejects.toThrow('aws-chunked body decoded to 3 bytes, x-amz-decoded-content-length says 4');
  });
});

describe('aws-chunked headers', () => {
  test('recognised by content-encoding or by a STREAMING- payload hash', () => {
    expect(isAwsChunked({ 'content-encoding': 'aws-chunked' })).toBe(true);
    expect(isAwsChunked({ 'content-encoding': 'gzip, aws-chunked' })).toBe(true);
    expect(isAwsChunked({ 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' })).toBe(true);
    expect(isAwsChunked({ 'content-encoding': 'gzip', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' })).toBe(false);
  });

  test('rewritten to describe the plain body, other encodings kept', () => {
    const out = decodedRequestHeaders({
      'content-encoding': 'aws-chunked,gzip',
      'transfer-encoding': 'chunked',
      'content-length': '999',
      'x-amz-decoded-content-length': '11',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-type': 'image/png',
    });
    expect(out).toEqual({ 'content-encoding': 'gzip', 'content-length': '11', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'image/png' });
  });
});
