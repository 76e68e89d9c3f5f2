/**
 * The IAM action and resource of a service request, as the Service Authorization Reference defines them: which ARN
 * each Rekognition operation is authorized on, and which `s3:` action a REST request is.
 */
import { AccessRequest } from './world';

/** The ARN member(s) each operation is authorized on; operations not listed support no resource-level permissions (`*`). */
const REKOGNITION_RESOURCES: Readonly<Record<string, readonly string[]>> = {
  CreateDataset: ['ProjectArn'],
  CreateProjectVersion: ['ProjectArn'],
  DeleteProject: ['ProjectArn'],
  DescribeProjectVersions: ['ProjectArn'],
  PutProjectPolicy: ['ProjectArn'],
  ListProjectPolicies: ['ProjectArn'],
  DeleteProjectPolicy: ['ProjectArn'],
  DescribeDataset: ['DatasetArn'],
  DeleteDataset: ['DatasetArn'],
  ListDatasetEntries: ['DatasetArn'],
  ListDatasetLabels: ['DatasetArn'],
  UpdateDatasetEntries: ['DatasetArn'],
  DistributeDatasetEntries: ['Datasets[].Arn'],
  StartProjectVersion: ['ProjectVersionArn'],
  StopProjectVersion: ['ProjectVersionArn'],
  DeleteProjectVersion: ['ProjectVersionArn'],
  DetectCustomLabels: ['ProjectVersionArn'],
  CopyProjectVersion: ['SourceProjectVersionArn', 'DestinationProjectArn'],
  TagResource: ['ResourceArn'],
  UntagResource: ['ResourceArn'],
  ListTagsForResource: ['ResourceArn'],
};

const REKOGNITION_ARN = /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/.+$/;

/**
 * The requests to authorize for a Rekognition operation: one per resource it acts on. A missing or malformed ARN is
 * left to the operation's own validation (it fails with InvalidParameterException before doing anything).
 */
export function rekognitionRequests(operation: string, input: unknown): AccessRequest[] {
  const action = `rekognition:${operation}`;
  const members = REKOGNITION_RESOURCES[operation];
  if (!members) return [{ action, resource: '*' }];
  const body = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const arns: string[] = [];
  for (const member of members) {
    if (member === 'Datasets[].Arn') {
      const list = Array.isArray(body.Datasets) ? body.Datasets : [];
      for (const d of list) if (typeof d === 'object' && d !== null && typeof (d as { Arn?: unknown }).Arn === 'string') arns.push((d as { Arn: string }).Arn);
    } else if (typeof body[member] === 'string') {
      arns.push(body[member] as string);
    }
  }
  return arns.filter((arn) => REKOGNITION_ARN.test(arn)).map((resource) => ({ action, resource }));
}

/** What an S3 REST request (path style) asks for. */
export interface S3Access {
  readonly requests: AccessRequest[];
  readonly bucket?: string;
  readonly key?: string;
  /** True for reads of an object's bytes (a missing object then needs s3:ListBucket to be a 404). */
  readonly readsObject: boolean;
  readonly writesObject: boolean;
}

const BUCKET_SUBRESOURCES: Readonly<Record<string, [get: string, put: string, del?: string]>> = {
  policy: ['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy'],
  acl: ['GetBucketAcl', 'PutBucketAcl'],
  location: ['GetBucketLocation', 'GetBucketLocation'],
  versioning: ['GetBucketVersioning', 'PutBucketVersioning'],
  tagging: ['GetBucketTagging', 'PutBucketTagging', 'PutBucketTagging'],
  encryption: ['GetEncryptionConfiguration', 'PutEncryptionConfiguration', 'PutEncryptionConfiguration'],
  cors: ['GetBucketCORS', 'PutBucketCORS', 'PutBucketCORS'],
  lifecycle: ['GetLifecycleConfiguration', 'PutLifecycleConfiguration', 'PutLifecycleConfiguration'],
  notification: ['GetBucketNotification', 'PutBucketNotification'],
  website: ['GetBucketWebsite', 'PutBucketWebsite', 'DeleteBucketWebsite'],
  logging: ['GetBucketLogging', 'PutBucketLogging'],
  publicAccessBlock: ['GetBucketPublicAccessBlock', 'PutBucketPublicAccessBlock', 'PutBucketPublicAccessBlock'],
  ownershipControls: ['GetBucketOwnershipControls', 'PutBucketOwnershipControls', 'PutBucketOwnershipControls'],
  versions: ['ListBucketVersions', 'ListBucketVersions'],
  uploads: ['ListBucketMultipartUploads', 'ListBucketMultipartUploads'],
};

/**
 * The `s3:` actions of a path-style REST request (Service Authorization Reference, "Actions defined by Amazon S3").
 * `deleteKeys`: the keys of a multi-object delete (POST ?delete), each authorized as s3:DeleteObject.
 */
export function s3Access(method: string, url: string, headers: Readonly<Record<string, string | string[] | undefined>>,
  partition = 'aws', deleteKeys: readonly string[] = []): S3Access {
  const parsed = new URL(url, 'http://127.0.0.1');
  const segments = parsed.pathname.split('/').slice(1);
  const bucket = segments[0] ? decodeURIComponent(segments[0]) : undefined;
  const key = segments.length > 1 && segments.slice(1).join('/') !== '' ? decodeURIComponent(segments.slice(1).join('/')) : undefined;
  const q = parsed.searchParams;
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const one = (action: string, resource: string): AccessRequest => ({ action: `s3:${action}`, resource });
  const verb = method.toUpperCase();
  if (!bucket) return { requests: [one('ListAllMyBuckets', '*')], readsObject: false, writesObject: false };
  if (key === undefined) {
    if (verb === 'POST' && q.has('delete')) {
      return { bucket, requests: deleteKeys.map((k) => one('DeleteObject', `${bucketArn}/${k}`)), readsObject: false, writesObject: false };
    }
    const sub = Object.keys(BUCKET_SUBRESOURCES).find((s) => q.has(s));
    if (sub) {
      const [get, put, del] = BUCKET_SUBRESOURCES[sub];
      const action = verb === 'GET' || verb === 'HEAD' ? get : verb === 'DELETE' ? del ?? put : put;
      return { bucket, requests: [one(action, bucketArn)], readsObject: false, writesObject: false };
    }
    const action = verb === 'PUT' ? 'CreateBucket' : verb === 'DELETE' ? 'DeleteBucket' : 'ListBucket';
    const request = one(action, bucketArn);
    if (action === 'ListBucket') {
      // The condition keys S3 sets on a listing, each only when the request gives its parameter.
      const context: Record<string, string> = {};
      for (const [param, contextKey] of [['prefix', 's3:prefix'], ['delimiter', 's3:delimiter'], ['max-keys', 's3:max-keys']]) {
        const value = q.get(param);
        if (value !== null) context[contextKey] = value;
      }
      if (Object.keys(context).length > 0) return { bucket, requests: [{ ...request, context }], readsObject: false, writesObject: false };
    }
    return { bucket, requests: [request], readsObject: false, writesObject: false };
  }
  const versioned = q.has('versionId');
  if (verb === 'GET' || verb === 'HEAD') {
    if (q.has('tagging')) return { bucket, key, requests: [one(versioned ? 'GetObjectVersionTagging' : 'GetObjectTagging', objectArn)], readsObject: false, writesObject: false };
    if (q.has('acl')) return { bucket, key, requests: [one(versioned ? 'GetObjectVersionAcl' : 'GetObjectAcl', objectArn)], readsObject: false, writesObject: false };
    if (q.has('uploadId')) return { bucket, key, requests: [one('ListMultipartUploadParts', objectArn)], readsObject: false, writesObject: false };
    return { bucket, key, requests: [one(versioned ? 'GetObjectVersion' : 'GetObject', objectArn)], readsObject: true, writesObject: false };
  }
  if (verb === 'DELETE') {
    if (q.has('uploadId')) return { bucket, key, requests: [one('AbortMultipartUpload', objectArn)], readsObject: false, writesObject: false };
    if (q.has('tagging')) return { bucket, key, requests: [one('DeleteObjectTagging', objectArn)], readsObject: false, writesObject: false };
    return { bucket, key, requests: [one(versioned ? 'DeleteObjectVersion' : 'DeleteObject', objectArn)], readsObject: false, writesObject: false };
  }
  if (q.has('tagging')) return { bucket, key, requests: [one('PutObjectTagging', objectArn)], readsObject: false, writesObject: false };
  if (q.has('acl')) return { bucket, key, requests: [one('PutObjectAcl', objectArn)], readsObject: false, writesObject: false };
  const requests = [one('PutObject', objectArn)];
  const copy = headers['x-amz-copy-source'];
  const source = Array.isArray(copy) ? copy[0] : copy;
  if (typeof source === 'string' && source !== '') {
    const path = decodeURIComponent(source.replace(/^\//, '').split('?')[0]);
    requests.push(one(/[?&]versionId=/.test(source) ? 'GetObjectVersion' : 'GetObject', `arn:${partition}:s3:::${path}`));
  }
  return { bucket, key, requests, readsObject: false, writesObject: true };
}
