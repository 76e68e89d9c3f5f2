/**
 * The model lease: one S3 object per model version listing the runs that need the model, changed only by conditional
 * writes (If-None-Match: * to create, If-Match: <ETag> to change), so concurrent runs never overwrite each other.
 * Whoever finds no holder left (and the model started by the lease) may stop the model; an entry that was never
 * released expires (the backstop), and the hourly sweep stops a model whose holders all expired.
 */
import { createHash } from 'node:crypto';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { LeaseDocument,LEASES_PREFIX } from '../../lib/batch/contracts';

export interface LeaseStore {
  readonly s3: S3Client;
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
}

export function leaseKey(store: LeaseStore, versionArn: string): string {
  return `${store.prefix}${LEASES_PREFIX}${createHash('sha256').update(versionArn).digest('hex').slice(0, 32)}.json`;
}

interface Read {
  readonly doc: LeaseDocument;
  /** undefined: no document yet. */
  readonly etag?: string;
}

const isNamed = (e: unknown, ...names: string[]): boolean => e instanceof Error && names.includes(e.name);

/**
 * The document and its ETag. Listed first: S3 answers a read of a missing key with 403 unless the role may list the
 * bucket without a prefix condition, and the function may list only under the output prefix. A document written
 * between the listing and the write makes the write's If-None-Match fail, so the race is safe.
 */
async function read(store: LeaseStore, versionArn: string): Promise<Read> {
  const key = leaseKey(store, versionArn);
  const absent = { doc: { versionArn, holders: {}, startedByLease: false } };
  const listed = await store.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: key, MaxKeys: 1 }));
  if (!(listed.Contents ?? []).some((o) => o.Key === key)) return absent;
  try {
    const res = await store.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    return { doc: JSON.parse(await res.Body!.transformToString()) as LeaseDocument, etag: res.ETag };
  } catch (e) {
    if (isNamed(e, 'NoSuchKey')) return absent;
    throw e;
  }
}

/** Drops the holders whose entry expired. */
export function live(doc: LeaseDocument, now: number): LeaseDocument {
  return { ...doc, holders: Object.fromEntries(Object.entries(doc.holders).filter(([, h]) => h.expiresAt > now)) };
}

const CONFLICT_RETRIES = 20;

/**
 * Applies `change` to the lease document atomically: reads it, computes the new one, and writes it only if nobody
 * wrote in between (else reads again). `change` returns the new document (or undefined to leave it) and a value.
 */
export async function updateLease<T>(store: LeaseStore, versionArn: string,
  change: (doc: LeaseDocument) => { doc?: LeaseDocument; value: T }): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const current = await read(store, versionArn);
    const { doc, value } = change(current.doc);
    if (doc === undefined) return value;
    try {
      await store.s3.send(new PutObjectCommand({
        Bucket: store.bucket, Key: leaseKey(store, versionArn), Body: JSON.stringify(doc), ContentType: 'application/json',
        ...(current.etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: current.etag }),
      }));
      return value;
    } catch (e) {
      // Another run wrote first: read its document and decide again.
      if (!isNamed(e, 'PreconditionFailed', 'ConditionalRequestConflict') || attempt >= CONFLICT_RETRIES) throw e;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}
