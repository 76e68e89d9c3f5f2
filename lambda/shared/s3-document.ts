/**
 * A small JSON document in S3 changed only by conditional writes (If-None-Match: * to create, If-Match: <ETag> to
 * change), so concurrent writers never overwrite each other: the model lease (lambda/batch/lease.ts) and
 * ModelSchedule's ledger.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface DocumentLocation {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
}

interface Read<D> {
  /** undefined: no document yet. */
  readonly doc?: D;
  readonly etag?: string;
}

const isNamed = (e: unknown, ...names: string[]): boolean => e instanceof Error && names.includes(e.name);

/**
 * The document and its ETag. Listed first: S3 answers a read of a missing key with 403 unless the role may list the
 * bucket without a prefix condition, and our functions may list only under their prefix. A document written between
 * the listing and the write makes the write's If-None-Match fail, so the race is safe.
 */
export async function readDocument<D>(at: DocumentLocation): Promise<Read<D>> {
  const listed = await at.s3.send(new ListObjectsV2Command({ Bucket: at.bucket, Prefix: at.key, MaxKeys: 1 }));
  if (!(listed.Contents ?? []).some((o) => o.Key === at.key)) return {};
  try {
    const res = await at.s3.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }));
    return { doc: JSON.parse(await res.Body!.transformToString()) as D, etag: res.ETag };
  } catch (e) {
    if (isNamed(e, 'NoSuchKey')) return {};
    throw e;
  }
}

const CONFLICT_RETRIES = 20;

/**
 * Applies `change` atomically: reads the document (undefined when there is none), computes the new one, and writes it
 * only if nobody wrote in between (else reads again and decides again). `change` returns the new document (or none to
 * leave it) and a value.
 */
export async function updateDocument<D, T>(at: DocumentLocation, change: (doc: D | undefined) => { doc?: D; value: T }): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const current = await readDocument<D>(at);
    const { doc, value } = change(current.doc);
    if (doc === undefined) return value;
    try {
      await at.s3.send(new PutObjectCommand({
        Bucket: at.bucket, Key: at.key, Body: JSON.stringify(doc), ContentType: 'application/json',
        ...(current.etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: current.etag }),
      }));
      return value;
    } catch (e) {
      if (!isNamed(e, 'PreconditionFailed', 'ConditionalRequestConflict') || attempt >= CONFLICT_RETRIES) throw e;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}
