import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Options for {@link secureBucket}. */
export interface SecureBucketOptions {
  /** Encrypt with this KMS key. @default - S3-managed encryption (SSE-S3) */
  readonly encryptionKey?: kms.IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Where S3 writes the server access logs. @default - the stack's shared access-log bucket (see {@link accessLogsBucket}) */
  readonly serverAccessLogsBucket?: s3.IBucket;
  /** @default - `<construct id>/` */
  readonly serverAccessLogsPrefix?: string;
}

/** The construct id of the per-stack access-log bucket; stable so every secure bucket of a stack shares it. */
export const ACCESS_LOGS_BUCKET_ID = 'CustomLabelsAccessLogs';

/**
 * A bucket that blocks public access, refuses plain HTTP, is encrypted (KMS when a key is given), versioned,
 * writes server access logs, removes the parts of multipart uploads left unfinished for a week (a function that died
 * mid-upload leaves them, billed as storage), and is retained unless the caller says otherwise.
 */
export function secureBucket(scope: Construct, id: string, options: SecureBucketOptions = {}): s3.Bucket {
  return new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    encryption: options.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: options.encryptionKey,
    bucketKeyEnabled: options.encryptionKey ? true : undefined,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: options.serverAccessLogsBucket ?? accessLogsBucket(scope),
    serverAccessLogsPrefix: options.serverAccessLogsPrefix ?? `${id}/`,
    lifecycleRules: [{ id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
  });
}

/**
 * The stack's one bucket for server access logs, created on first use. S3 delivers access logs only to
 * SSE-S3 buckets, so it never takes a KMS key; old logs expire after a year and old versions after 30 days.
 */
export function accessLogsBucket(scope: Construct): s3.Bucket {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(ACCESS_LOGS_BUCKET_ID);
  if (existing instanceof s3.Bucket) return existing;
  const bucket = new s3.Bucket(stack, ACCESS_LOGS_BUCKET_ID, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    encryption: s3.BucketEncryption.S3_MANAGED,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This bucket is the destination of the server access logs of the library\'s buckets; logging it into itself would loop',
  });
  return bucket;
}
