/**
 * CDK's `Custom::S3BucketNotifications` (what `eventBridgeEnabled: true` and `bucket.enableEventBridgeNotification()`
 * synthesize), run natively: its handler is an inline Python function, which the runner does not run. It does what the
 * handler does as far as the offline world can deliver: it turns the bucket's EventBridge notifications on (read by
 * the event bus from the deployed resource), authorized as the handler's role (s3:PutBucketNotification, and
 * s3:GetBucketNotification for a bucket the stack does not manage, whose existing configuration the handler merges),
 * and fails with boto3's message as the handler would. Topic, queue and Lambda notifications are refused up front
 * (preflight.ts).
 */
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

import { CustomResourceFailed, CustomResourceRequest, CustomResourceResult } from './custom-resources';
import { DeployedWorld } from './deployed-world';
import { isPlainObject } from './intrinsics';
import { errorName } from './resources';

export const BUCKET_NOTIFICATIONS_TYPE = 'Custom::S3BucketNotifications';
/** Notification kinds the offline world does not deliver. */
export const UNDELIVERED_NOTIFICATIONS = ['TopicConfigurations', 'QueueConfigurations', 'LambdaFunctionConfigurations'];

export interface BucketNotificationsHost {
  readonly world: DeployedWorld;
  readonly s3: S3Client;
  readonly partition: string;
  /** The denial message of `action` on `resource` as `roleArn` (session: the function's name); undefined when allowed. */
  decide(roleArn: string, session: string, action: string, resource: string): Promise<string | undefined>;
}

export async function runBucketNotifications(host: BucketNotificationsHost, request: CustomResourceRequest): Promise<CustomResourceResult> {
  const props = request.ResourceProperties;
  const bucket = String(props.BucketName ?? '');
  const physicalId = request.PhysicalResourceId ?? request.LogicalResourceId;
  const fail = (code: string, message: string): never => {
    throw new CustomResourceFailed(`An error occurred (${code}) when calling the PutBucketNotificationConfiguration operation: ${message}`, physicalId);
  };
  const config = isPlainObject(props.NotificationConfiguration) ? props.NotificationConfiguration : {};
  const undelivered = UNDELIVERED_NOTIFICATIONS.filter((k) => Array.isArray(config[k]) && config[k].length > 0);
  if (undelivered.length > 0) fail('NotImplemented', `the offline world does not deliver ${undelivered.join(', ')}`);
  const fn = host.world.findFunction(String(props.ServiceToken ?? request.ServiceToken));
  const managed = String(props.Managed ?? 'true').toLowerCase() === 'true';
  if (fn?.roleArn) {
    const actions = managed ? ['s3:PutBucketNotification'] : ['s3:GetBucketNotification', 's3:PutBucketNotification'];
    for (const action of actions) {
      const denied = await host.decide(fn.roleArn, fn.functionName, action, `arn:${host.partition}:s3:::${bucket}`);
      if (denied) fail('AccessDenied', denied);
    }
  }
  try {
    await host.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (request.RequestType === 'Delete') return { physicalId, data: {} };
    const name = errorName(err);
    if (name === 'NotFound' || name === 'NoSuchBucket') fail('NoSuchBucket', 'The specified bucket does not exist');
    throw err;
  }
  return { physicalId, data: {} };
}
