import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { ImageInspector, ImageProbe, probeImageHeader } from '../../manifest/image';

/** The emulator's view of the local S3: the real client, path style, checksums only when required (toolchain.md). */
export class LocalS3Access {
  readonly client: S3Client;

  constructor(endpoint: string, region: string) {
    this.client = new S3Client({
      endpoint,
      region,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    });
  }

  /** The object's bytes, or undefined when the bucket or key does not exist. */
  async get(bucket: string, key: string, version?: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: version }));
      if (!out.Body) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async put(bucket: string, key: string, body: string | Buffer, contentType = 'application/json'): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  destroy(): void {
    this.client.destroy();
  }
}

function isMissing(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return ['NoSuchKey', 'NoSuchBucket', 'NotFound', 'NoSuchVersion'].includes(err.name) || status === 404;
}

/**
 * Probes images in the local S3 as the service does at training. Local objects are cheap to read whole, so it reads
 * each once and keeps the bytes (up to `cacheBytes` in total) for the training that follows: one request per image.
 */
export class S3ImageInspector implements ImageInspector {
  private readonly cache = new Map<string, Buffer>();
  private cached = 0;

  constructor(private readonly s3: LocalS3Access, private readonly cacheBytes = 256 * 1024 * 1024) {}

  async probe(bucket: string, key: string): Promise<ImageProbe> {
    const bytes = await this.s3.get(bucket, key);
    if (bytes === undefined) return { exists: false };
    if (this.cached + bytes.length <= this.cacheBytes) {
      this.cache.set(`${bucket}/${key}`, bytes);
      this.cached += bytes.length;
    }
    return probeImageHeader(bytes.subarray(0, 65536), bytes.length);
  }

  /** The object's bytes, from the cache when the probe kept them. */
  async bytes(bucket: string, key: string): Promise<Buffer | undefined> {
    return this.cache.get(`${bucket}/${key}`) ?? this.s3.get(bucket, key);
  }
}

/** Splits `s3://bucket/key`. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1], key: match[2] } : undefined;
}
