import { GetObjectCommand } from '@aws-sdk/client-s3';

import { MIN_PART_BYTES, S3LineWriter } from '../../../lambda/shared/s3-lines';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';

// The predictions manifest of a large run goes up line by line in parts (S3 takes at most 5 GB in one PUT), against the
// local S3.
describe('S3LineWriter', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startLocalCloud({ timeScale: 0, buckets: ['lines'] });
  });
  afterAll(async () => cloud?.stop());

  const read = async (key: string): Promise<string> =>
    (await cloud.s3.client().send(new GetObjectCommand({ Bucket: 'lines', Key: key }))).Body!.transformToString();

  test('small: one PutObject, every line in order; empty: an empty object', async () => {
    const writer = new S3LineWriter(cloud.s3.client(), 'lines', 'small.jsonl', 'application/x-ndjson');
    for (let i = 0; i < 100; i++) await writer.write(JSON.stringify({ i }));
    expect(await writer.close()).toEqual({ parts: 0 });
    expect((await read('small.jsonl')).split('\n')).toEqual([...Array.from({ length: 100 }, (_, i) => JSON.stringify({ i })), '']);
    const empty = new S3LineWriter(cloud.s3.client(), 'lines', 'empty.jsonl', 'application/x-ndjson');
    await empty.close();
    expect(await read('empty.jsonl')).toBe('');
  });

  test('past a part: a multipart upload of parts of at least 5 MiB, the object whole and in order', async () => {
    const writer = new S3LineWriter(cloud.s3.client(), 'lines', 'large.jsonl', 'application/x-ndjson', MIN_PART_BYTES);
    const line = (i: number): string => JSON.stringify({ i, pad: 'x'.repeat(1000) });
    const count = 12_000; // about 12 MB: two full parts and a last, smaller one
    for (let i = 0; i < count; i++) await writer.write(line(i));
    expect(await writer.close()).toEqual({ parts: 3 });
    const text = await read('large.jsonl');
    expect(text.length).toBe(writer.bytes);
    const lines = text.split('\n');
    expect(lines).toHaveLength(count + 1);
    expect([lines[0], lines[count - 1]]).toEqual([line(0), line(count - 1)]);
    expect(lines.every((l, i) => i === count || l === line(i))).toBe(true);
  });

  test('a part smaller than S3 takes is refused up front', () => {
    expect(() => new S3LineWriter(cloud.s3.client(), 'lines', 'x', 'text/plain', 1024)).toThrow(`partBytes must be at least ${MIN_PART_BYTES}`);
  });
});
