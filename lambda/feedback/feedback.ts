/**
 * The FeedbackLoop's function: chooses predictions to review, and merges reviewed manifests into the training
 * manifest, writing each merge to a key named by its content (so an unchanged manifest keeps its key and does not
 * retrain).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import {
  FeedbackRequest, FeedbackSettings, LATEST_POINTER, MergeResult, REVIEWED_PREFIX, ReviewResult,
  REVIEWS_PREFIX, } from '../../lib/feedback/contracts';
import { mergeManifests, selectForReview } from '../../lib/manifest/feedback';

/** A request the loop cannot act on (bad input, an invalid merge): the execution fails with this error name. */
export class FeedbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedbackError';
  }
}

function parseS3Uri(uri: unknown, what: string): { bucket: string; key: string } {
  const m = typeof uri === 'string' ? /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
  if (!m) throw new FeedbackError(`${what} must be an s3://bucket/key address, got: ${JSON.stringify(uri)}`);
  return { bucket: m[1], key: m[2] };
}

async function read(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString();
}

/**
 * The object's text, or undefined when there is none. Listed first: S3 answers a read of a missing key with 403 unless
 * the role may list the bucket, and the loop may list only this one key.
 */
async function readIfExists(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  if (!(listed.Contents ?? []).some((o) => o.Key === key)) return undefined;
  return read(s3, bucket, key);
}

export async function feedback(req: FeedbackRequest, settings: FeedbackSettings, s3: S3Client, executionName: string)
  : Promise<ReviewResult | MergeResult> {
  if (req.reviewed !== undefined) return merge(req, settings, s3);
  if (req.predictions !== undefined) return select(req, settings, s3, executionName);
  throw new FeedbackError('Start the feedback loop with {"predictions": "s3://bucket/key"} to choose what to review, '
    + 'or {"reviewed": ["s3://bucket/reviewed/key"]} to merge reviews');
}

async function select(req: FeedbackRequest, settings: FeedbackSettings, s3: S3Client, executionName: string): Promise<ReviewResult> {
  const at = parseS3Uri(req.predictions, 'predictions');
  const selection = selectForReview(await read(s3, at.bucket, at.key), {
    belowConfidence: settings.belowConfidence, sampleShare: settings.sampleShare, seed: req.seed ?? executionName,
  });
  const { manifest, ...counts } = selection;
  let reviewManifest = '';
  if (manifest !== '') {
    const key = `${REVIEWS_PREFIX}${at.key}`;
    await s3.send(new PutObjectCommand({ Bucket: settings.reviewBucket, Key: key, Body: manifest }));
    reviewManifest = `s3://${settings.reviewBucket}/${key}`;
  }
  return { action: 'select', reviewManifest, ...counts };
}

async function merge(req: FeedbackRequest, settings: FeedbackSettings, s3: S3Client): Promise<MergeResult> {
  const reviewed = (Array.isArray(req.reviewed) ? req.reviewed : [req.reviewed]).map((uri, i) => {
    const at = parseS3Uri(uri, `reviewed[${i}]`);
    if (at.bucket !== settings.reviewBucket || !at.key.startsWith(REVIEWED_PREFIX)) {
      throw new FeedbackError(`reviewed manifests are read from s3://${settings.reviewBucket}/${REVIEWED_PREFIX}, got: ${uri}`);
    }
    return at;
  });
  if (reviewed.length === 0) throw new FeedbackError('reviewed names no manifest');
  const pointer = `${settings.mergedPrefix}${LATEST_POINTER}`;
  let base: { bucket: string; key: string };
  if (req.base !== undefined) {
    base = parseS3Uri(req.base, 'base');
    if (base.bucket !== settings.trainingBucket) {
      throw new FeedbackError(`base must be in the training manifest's bucket s3://${settings.trainingBucket}/, got: ${req.base}`);
    }
  } else {
    // Each merge builds on the previous one, so reviews merged but not trained on yet are never lost.
    const latest = (await readIfExists(s3, settings.trainingBucket, pointer))?.trim();
    base = { bucket: settings.trainingBucket, key: latest || settings.trainingKey };
  }
  const baseText = await read(s3, base.bucket, base.key);
  const merged = mergeManifests(baseText, await Promise.all(reviewed.map((r) => read(s3, r.bucket, r.key))));
  if (!merged.valid) {
    const errors = merged.errors.slice(0, 10).map((e) => `${e.line === null ? '' : `line ${e.line}: `}${e.code} ${e.message}`);
    throw new FeedbackError(`The merged manifest is not a valid training manifest, nothing was written: ${errors.join('; ')}`
      + (merged.errors.length > 10 ? ` (and ${merged.errors.length - 10} more)` : ''));
  }
  const changed = merged.manifest !== baseText;
  const key = changed ? `${settings.mergedPrefix}training-${merged.sha256.slice(0, 16)}.manifest` : base.key;
  if (changed) {
    await s3.send(new PutObjectCommand({ Bucket: settings.trainingBucket, Key: key, Body: merged.manifest }));
    await s3.send(new PutObjectCommand({ Bucket: settings.trainingBucket, Key: pointer, Body: key }));
  }
  return {
    action: 'merge', trainingManifest: `s3://${settings.trainingBucket}/${key}`, bucket: settings.trainingBucket, key,
    base: `s3://${base.bucket}/${base.key}`, changed, added: merged.added, replaced: merged.replaced, older: merged.older,
    notReviewed: merged.notReviewed, lines: merged.manifest === '' ? 0 : merged.manifest.trimEnd().split('\n').length,
  };
}
