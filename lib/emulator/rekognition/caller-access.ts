/**
 * Custom Labels reads manifests and images, and writes training output, with the caller's rights (reference §9a): a
 * request the caller could not make to S3 itself fails the import or training the way the service reports it.
 *
 * [inferred] Which S3 actions the service uses is not documented; the emulator checks, per bucket, s3:GetBucketLocation,
 * and per object s3:GetObject (s3:GetObjectVersion for a versioned read) or s3:PutObject, plus kms:Decrypt or
 * kms:GenerateDataKey for a bucket encrypted with a customer key: the actions AmazonRekognitionCustomLabelsFullAccess
 * grants for this, so a role that passes here holds what AWS's own policy gives for the same objects.
 */
import { AccessControl, AccessDenied, Caller } from '../../iam/world';
import { nextTurn } from '../turns';

export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly version?: string;
}

/** The first denial among reading `objects` as `caller`, or undefined when every read is allowed. */
export async function readDenied(access: AccessControl | undefined, caller: Caller | undefined, objects: readonly ObjectRef[]):
Promise<AccessDenied | undefined> {
  if (!access || !caller) return undefined;
  return firstDenial(access, caller, objects, (o) => (o.version ? 's3:GetObjectVersion' : 's3:GetObject'), 'kms:Decrypt');
}

/** The first denial among writing `objects` as `caller`. */
export async function writeDenied(access: AccessControl | undefined, caller: Caller | undefined, objects: readonly ObjectRef[]):
Promise<AccessDenied | undefined> {
  if (!access || !caller) return undefined;
  return firstDenial(access, caller, objects, () => 's3:PutObject', 'kms:GenerateDataKey');
}

/** Objects decided between two turns of the event loop (about 0.4 ms of CPU each). */
const DECISIONS_PER_TURN = 256;

async function firstDenial(access: AccessControl, caller: Caller, objects: readonly ObjectRef[], action: (o: ObjectRef) => string,
  kmsAction: string): Promise<AccessDenied | undefined> {
  const buckets = new Set<string>();
  const keys = new Set<string>();
  let decided = 0;
  for (const o of objects) {
    // The policy engine answers in microtasks: a dataset of 20,000 images held the process (the emulator's and the
    // runner's requests alike) for 7 s in one stretch, and the workflow's calls time out after 60 s.
    if (++decided % DECISIONS_PER_TURN === 0) await nextTurn();
    if (!buckets.has(o.bucket)) {
      buckets.add(o.bucket);
      const denied = await access.decide(caller, { action: 's3:GetBucketLocation', resource: `arn:${access.partition}:s3:::${o.bucket}` });
      if (denied) return denied;
      const key = access.bucketKey(o.bucket);
      if (key) keys.add(key);
    }
    const denied = await access.decide(caller, { action: action(o), resource: `arn:${access.partition}:s3:::${o.bucket}/${o.key}` });
    if (denied) return denied;
  }
  for (const key of keys) {
    const denied = await access.decide(caller, { action: kmsAction, resource: key,
      context: { 'kms:ViaService': `s3.${access.region}.amazonaws.com`, 'kms:CallerAccount': caller.accountId } });
    if (denied) return denied;
  }
  return undefined;
}
