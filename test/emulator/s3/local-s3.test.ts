import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

import { LocalS3, resolveRange, startLocalS3 } from '../../../lib/emulator/s3';

function raw(endpoint: string, method: string, path: string, headers: http.OutgoingHttpHeaders = {}, body?: Buffer | string)
  : Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const amzDate = (): string => new Date().toISOString().replace(/[-:]|\.\d+/g, '');

async function bytesOf(s3: S3Client, bucket: string, key: string, range?: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('startLocalS3', () => {
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['data'] });
    client = s3.client();
  });

  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  test('conditional writes: If-None-Match * creates once, If-Match replaces only the ETag it names; racing writers get one 412', async () => {
    const put = (body: string, conditions: { IfNoneMatch?: string; IfMatch?: string }) =>
      client.send(new PutObjectCommand({ Bucket: 'data', Key: 'lease.json', Body: body, ...conditions }));
    const failure = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { name: string; $metadata?: { httpStatusCode?: number } }) =>
      `${e.name} ${e.$metadata?.httpStatusCode}`);
    const first = await put('v1', { IfNoneMatch: '*' });
    expect(await failure(put('v1 again', { IfNoneMatch: '*' }))).toBe('PreconditionFailed 412');
    expect(await failure(client.send(new PutObjectCommand({ Bucket: 'data', Key: 'nothing-here', Body: 'x', IfMatch: first.ETag }))))
      .toBe('NoSuchKey 404');
    // Two writers read the same ETag; both write: exactly one wins.
    const outcomes = await Promise.all(['a', 'b'].map((w) => failure(put(`v2 by ${w}`, { IfMatch: first.ETag }))));
    const winner = outcomes[0] === 'ok' ? 'a' : 'b';
    expect([...outcomes].sort()).toEqual(['PreconditionFailed 412', 'ok']);
    expect((await bytesOf(client, 'data', 'lease.json')).toString()).toBe(`v2 by ${winner}`);
    expect(await failure(put('v3', { IfMatch: first.ETag }))).toBe('PreconditionFailed 412');
  });

  test('binds 127.0.0.1 and the bucket from options exists', async () => {
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'probe', Body: 'x' }));
  });

  test('a client with DEFAULT checksum settings stores a streamed body byte for byte', async () => {
    // GIVEN a client with no checksum overrides: it streams PutObject as aws-chunked with a CRC32 trailer
    const defaults = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDANY', secretAccessKey: 'any' } });
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const pieces = Array.from({ length: 50 }, (_, i) => data.subarray(Math.floor((i * data.length) / 50), Math.floor(((i + 1) * data.length) / 50)));
    // WHEN it uploads a stream of many pieces
    await defaults.send(new PutObjectCommand({ Bucket: 'data', Key: 'dir/streamed.bin', Body: Readable.from(pieces), ContentLength: data.length }));
    // THEN the same bytes come back, without the aws-chunked encoding stored as metadata
    const head = await defaults.send(new HeadObjectCommand({ Bucket: 'data', Key: 'dir/streamed.bin' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ContentEncoding).toBeUndefined();
    expect((await bytesOf(defaults, 'data', 'dir/streamed.bin')).equals(data)).toBe(true);
    defaults.destroy();
  });

  test('a small buffer body with a checksum header round-trips', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'small.txt', Body: 'hello', ContentType: 'text/plain' }));
    const out = await client.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }));
    expect(out.ContentType).toBe('text/plain');
    expect(await out.Body!.transformToString()).toBe('hello');
  });

  test('ListObjectsV2 pages through more than 1,000 keys (MaxKeys 100)', async () => {
    // GIVEN 1,050 keys
    await client.send(new CreateBucketCommand({ Bucket: 'many' }));
    const keys = Array.from({ length: 1050 }, (_, i) => `img/${String(i).padStart(5, '0')}.png`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((Key) => client.send(new PutObjectCommand({ Bucket: 'many', Key, Body: Key }))));
    }
    // WHEN listing 100 at a time
    const listed: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client }, { Bucket: 'many', MaxKeys: 100 })) {
      pages++;
      listed.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    // THEN every key comes once, in order, over 11 pages
    expect(pages).toBe(11);
    expect(listed).toEqual([...keys].sort());
    const first = await client.send(new ListObjectsV2Command({ Bucket: 'many', MaxKeys: 100 }));
    expect(first.IsTruncated).toBe(true);
    expect(first.KeyCount).toBe(100);
  });

  describe('GetObject ranges', () => {
    const body = Buffer.from('0123456789abcdefghij');
    beforeAll(async () => {
      await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'range.txt', Body: body }));
    });

    test.each([
      ['bytes=0-0', '0', 'bytes 0-0/20'],
      ['bytes=2-5', '2345', 'bytes 2-5/20'],
      ['bytes=15-', 'fghij', 'bytes 15-19/20'],
      ['bytes=-3', 'hij', 'bytes 17-19/20'],
      ['bytes=-50', '0123456789abcdefghij', 'bytes 0-19/20'],
      ['bytes=18-99', 'ij', 'bytes 18-19/20'],
    ])('%s', async (range, expected, contentRange) => {
      const out = await client.send(new GetObjectCommand({ Bucket: 'data', Key: 'range.txt', Range: range }));
      expect(out.ContentRange).toBe(contentRange);
      expect(out.ContentLength).toBe(expected.length);
      expect(await out.Body!.transformToString()).toBe(expected);
    });

    test('a range past the end is InvalidRange', async () => {
      await expect(bytesOf(client, 'data', 'range.txt', 'bytes=20-')).rejects.toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
    });

    test('a missing key is still NoSuchKey', async () => {
      await expect(bytesOf(client, 'data', 'nope.txt', 'bytes=0-1')).rejects.toMatchObject({ name: 'NoSuchKey' });
    });
  });

  test('virtual-host requests to <bucket>.localhost are served path-style', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'vhost.txt', Body: 'by host' }));
    const port = new URL(s3.endpoint).port;
    const res = await raw(s3.endpoint, 'GET', '/vhost.txt', { host: `data.localhost:${port}` });
    expect(res).toEqual({ status: 200, body: 'by host' });
  });

  test('a presigned-style URL with an unknown access key is accepted', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'signed.txt', Body: 'presigned' }));
    const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAOTHER%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=${amzDate()}`
      + '&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=' + 'ab'.repeat(32);
    const res = await raw(s3.endpoint, 'GET', `/data/signed.txt?${query}`);
    expect(res).toEqual({ status: 200, body: 'presigned' });
  });

  test('a malformed aws-chunked upload is refused with IncompleteBody and stores nothing', async () => {
    const res = await raw(s3.endpoint, 'PUT', '/data/broken.bin', {
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-decoded-content-length': '5',
    }, '5\r\nhello\r\nnot-a-size\r\n');
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>IncompleteBody</Code>');
    expect(res.body).toContain('aws-chunked: bad chunk header');
    await expect(bytesOf(client, 'data', 'broken.bin')).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  test('a client configured only through AWS_ENDPOINT_URL_S3 and environment credentials works', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAHANDLER',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    try {
      const handlerClient = new S3Client({});
      await handlerClient.send(new PutObjectCommand({ Bucket: 'data', Key: 'env.bin', Body: Readable.from([Buffer.from('from '), Buffer.from('env')]), ContentLength: 8 }));
      expect((await bytesOf(handlerClient, 'data', 'env.bin')).toString()).toBe('from env');
      handlerClient.destroy();
    } finally {
      for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});

describe('startLocalS3 with a directory', () => {
  test('data survives a restart and creating existing buckets is idempotent', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-s3-test-'));
    try {
      // GIVEN a server that stored an object, then stopped
      const first = await startLocalS3({ directory: dir, buckets: ['keep'] });
      const c1 = first.client();
      await c1.send(new PutObjectCommand({ Bucket: 'keep', Key: 'a.txt', Body: 'still here' }));
      c1.destroy();
      await first.stop();
      // WHEN a new server starts on the same folder and asks for the same bucket
      const second = await startLocalS3({ directory: dir, buckets: ['keep', 'other'] });
      const c2 = second.client();
      // THEN the object is still there
      expect((await bytesOf(c2, 'keep', 'a.txt')).toString()).toBe('still here');
      c2.destroy();
      await second.stop();
      expect(fs.existsSync(dir)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port in use fails the start and leaves no temporary folder behind', async () => {
    const holder = await startLocalS3();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-s3-root-'));
    try {
      await expect(startLocalS3({ port: Number(new URL(holder.endpoint).port), tempRoot: tmp })).rejects.toThrow(/EADDRINUSE/);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
      await holder.stop();
    }
  });

  test('a temporary folder is made under tempRoot and removed by stop()', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-s3-root-'));
    try {
      const s3 = await startLocalS3({ tempRoot: tmp });
      expect(path.dirname(s3.directory)).toBe(tmp);
      expect(fs.existsSync(s3.directory)).toBe(true);
      await s3.stop();
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('resolveRange', () => {
  test.each([
    ['bytes=0-0', 10, { kind: 'part', start: 0, end: 0 }],
    ['bytes=-0', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=5-2', 10, { kind: 'full' }],
    ['bytes=0-1,4-5', 10, { kind: 'full' }],
    ['items=0-1', 10, { kind: 'full' }],
  ])('%s of %d bytes', (header, size, expected) => {
    expect(resolveRange(header, size)).toEqual(expected);
  });
});
