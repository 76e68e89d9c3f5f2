import { App, CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { ACCESS_LOGS_BUCKET_ID, accessLogsBucket, secureBucket } from '../../lib/shared/buckets';
import { expectNagClean } from './nag';

describe('secureBucket', () => {
  let stack: Stack;
  let template: Template;
  let plain: s3.Bucket;
  let encrypted: s3.Bucket;
  let key: kms.Key;

  beforeAll(() => {
    // GIVEN a stack WHEN two secure buckets are added, one with a KMS key and DESTROY
    stack = new Stack(new App(), 'BucketStack');
    key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    plain = secureBucket(stack, 'Plain');
    encrypted = secureBucket(stack, 'Encrypted', { encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY });
    template = Template.fromStack(stack);
  });

  const idOf = (bucket: s3.Bucket) => stack.getLogicalId(bucket.node.defaultChild as CfnElement);

  test('blocks public access, is versioned and retained by default, with SSE-S3 when no key is given', () => {
    expect(template.findResources('AWS::S3::Bucket')[idOf(plain)]).toEqual(expect.objectContaining({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: expect.objectContaining({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      }),
    }));
  });

  test('removes the parts of multipart uploads left unfinished for a week (a function that died mid-upload)', () => {
    for (const bucket of [plain, encrypted]) {
      expect(template.findResources('AWS::S3::Bucket')[idOf(bucket)].Properties.LifecycleConfiguration).toEqual({ Rules: [
        { Id: 'AbortIncompleteMultipartUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }] });
    }
  });

  test('encrypts with the given KMS key and honours the removal policy', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[idOf(encrypted)];
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as CfnElement), 'Arn'] } },
      }],
    });
  });

  test('refuses plain HTTP in the bucket policy', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: idOf(plain) },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  test('logs server access to one shared, SSE-S3 access-log bucket per stack, under a prefix per bucket', () => {
    const logs = accessLogsBucket(stack);
    expect(stack.node.findChild(ACCESS_LOGS_BUCKET_ID)).toBe(logs);
    const logsId = stack.getLogicalId(logs.node.defaultChild as CfnElement);
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(buckets[idOf(plain)].Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'Plain/' });
    expect(buckets[idOf(encrypted)].Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'Encrypted/' });
    expect(buckets[logsId].Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    template.resourceCountIs('AWS::S3::Bucket', 3);
  });

  test('has no unacknowledged AwsSolutions findings', () => {
    expectNagClean(stack);
  });
});

test('secureBucket writes to a given access-log bucket instead of creating one', () => {
  const stack = new Stack(new App(), 'Byo');
  const target = s3.Bucket.fromBucketName(stack, 'Logs', 'my-central-logs');
  secureBucket(stack, 'Data', { serverAccessLogsBucket: target, serverAccessLogsPrefix: 'cl/' });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::S3::Bucket', 1);
  template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { DestinationBucketName: 'my-central-logs', LogFilePrefix: 'cl/' } });
});
