/**
 * The model lease: one S3 object per model version listing the runs that need the model, changed only by conditional
 * writes (If-None-Match: * to create, If-Match: <ETag> to change), so concurrent runs never overwrite each other.
 * Whoever finds no holder left (and the model started by the lease) may stop the model; an entry that was never
 * released expires (the backstop), and the hourly sweep stops a model whose holders all expired.
 */
import { createHash } from 'node:crypto';

import { S3Client } from '@aws-sdk/client-s3';

import { LeaseDocument, LEASES_PREFIX } from '../../lib/batch/contracts';
import { updateDocument } from '../shared/s3-document';

export interface LeaseStore {
  readonly s3: S3Client;
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
}

export function leaseKey(store: LeaseStore, versionArn: string): string {
  return `${store.prefix}${LEASES_PREFIX}${createHash('sha256').update(versionArn).digest('hex').slice(0, 32)}.json`;
}

/** Drops the holders whose entry expired. */
export function live(doc: LeaseDocument, now: number): LeaseDocument {
  return { ...doc, holders: Object.fromEntries(Object.entries(doc.holders).filter(([, h]) => h.expiresAt > now)) };
}

/**
 * Applies `change` to the lease document atomically (lambda/shared/s3-document.ts): reads it, computes the new one, and
 * writes it only if nobody wrote in between (else reads again). `change` returns the new document (or undefined to
 * leave it) and a value.
 */
export async function updateLease<T>(store: LeaseStore, versionArn: string,
  change: (doc: LeaseDocument) => { doc?: LeaseDocument; value: T }): Promise<T> {
  return updateDocument<LeaseDocument, T>({ s3: store.s3, bucket: store.bucket, key: leaseKey(store, versionArn) },
    (doc) => change(doc ?? { versionArn, holders: {}, startedByLease: false }));
}
