import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { EVENT_SOURCE } from '../model/contracts';
import { secureBucket } from '../shared/buckets';
import { HandlerFunction } from '../shared/function';
import { acknowledgeWildcardResources } from '../shared/nag';
import { describeValue, PropValidator } from '../shared/validation';
import { DETAIL_TYPE_MANIFEST_MERGED, DETAIL_TYPE_REVIEW_READY, LATEST_POINTER, REVIEWED_PREFIX, REVIEWS_PREFIX } from './contracts';

/** Props of {@link FeedbackLoop}. */
export interface FeedbackLoopProps {
  /** The bucket holding the predictions manifests to review (a batch analysis's output). */
  readonly predictionsBucket: s3.IBucket;
  /**
   * Key prefix of the predictions manifests in `predictionsBucket`: the loop may read only under it.
   * @default - the whole bucket
   */
  readonly predictionsPrefix?: string;
  /** The bucket of the training manifest that reviews are merged into; merged manifests are written to it too. */
  readonly trainingManifestBucket: s3.IBucket;
  /** The key of the training manifest the model trains on (`TrainingData.fromS3Manifest(bucket, key)`). */
  readonly trainingManifestKey: string;
  /**
   * Key prefix, in `trainingManifestBucket`, of the merged manifests (`<prefix>training-<sha256>.manifest`) and of the
   * pointer to the latest one (`<prefix>latest`).
   * @default 'feedback/'
   */
  readonly mergedPrefix?: string;
  /**
   * Where review manifests are left (`reviews/`) and reviewed manifests are picked up (`reviewed/`).
   * @default - a bucket of its own: encrypted, versioned, TLS only, no public access, retained
   */
  readonly reviewBucket?: s3.IBucket;
  /** Predictions with a confidence below this (0..1, as manifests write it) are always reviewed. @default 0.7 */
  readonly reviewBelowConfidence?: number;
  /** The share (0..1) of the other images sampled for review: confident mistakes are found only this way. @default 0.05 */
  readonly sampleShare?: number;
}

const DEFAULT_MERGED_PREFIX = 'feedback/';
const PREFIX = /^([A-Za-z0-9!_.*'()-]+\/)*$/;

/**
 * Improves a model with people's corrections: chooses the predictions to review (all below a confidence band, and a
 * sample of the rest), leaves them as a review manifest for the labeling page (`custom-labels label --predictions`),
 * and merges reviewed manifests into the training manifest: one line per image, the newest human annotation wins,
 * validated, written to a key named by its content. Train on the result with
 * `TrainingData.fromS3Manifest(bucket, key)`: a new key is a new model version, the same key none.
 *
 * Start it with `{"predictions": "s3://bucket/key"}` or `{"reviewed": ["s3://<review bucket>/reviewed/..."]}`;
 * each run's result is also published on EventBridge (source `cdk-rekognition-custom-labels`).
 */
export class FeedbackLoop extends Construct {
  /** Runs the loop's two steps. */
  readonly stateMachine: sfn.StateMachine;
  /** Where review manifests are (`reviews/`) and reviewed ones go (`reviewed/`). */
  readonly reviewBucket: s3.IBucket;
  /** The prefix of the merged manifests in the training manifest's bucket. */
  readonly mergedPrefix: string;

  constructor(scope: Construct, id: string, props: FeedbackLoopProps) {
    super(scope, id);
    const mergedPrefix = props.mergedPrefix ?? DEFAULT_MERGED_PREFIX;
    const predictionsPrefix = props.predictionsPrefix ?? '';
    const v = new PropValidator()
      .range('reviewBelowConfidence', props.reviewBelowConfidence, 0, 1)
      .range('sampleShare', props.sampleShare, 0, 1)
      .length('trainingManifestKey', props.trainingManifestKey, 1, 1024)
      .check(mergedPrefix !== '' && PREFIX.test(mergedPrefix), 'mergedPrefix must be a key prefix ending in "/" (e.g. "feedback/"), '
        + `got: ${describeValue(mergedPrefix)}`)
      .check(PREFIX.test(predictionsPrefix), `predictionsPrefix must be '' or a key prefix ending in "/", got: ${describeValue(predictionsPrefix)}`)
      .check(!props.trainingManifestKey.startsWith(mergedPrefix), `trainingManifestKey must not be under mergedPrefix (${mergedPrefix}): `
        + `merged manifests are written there, got: ${describeValue(props.trainingManifestKey)}`);
    v.throwIfAny(this);

    this.mergedPrefix = mergedPrefix;
    this.reviewBucket = props.reviewBucket ?? secureBucket(this, 'ReviewBucket');
    const fn = new HandlerFunction(this, 'Handler', {
      handlerName: 'feedback',
      description: 'Custom Labels feedback loop: chooses predictions to review, merges reviewed manifests into the training manifest',
      // A manifest may be 1 GB: read, merged and validated in memory.
      timeout: Duration.minutes(15),
      memorySize: 3008,
      environment: {
        REVIEW_BUCKET: this.reviewBucket.bucketName,
        TRAINING_BUCKET: props.trainingManifestBucket.bucketName,
        TRAINING_KEY: props.trainingManifestKey,
        MERGED_PREFIX: mergedPrefix,
        REVIEW_BELOW_CONFIDENCE: String(props.reviewBelowConfidence ?? 0.7),
        SAMPLE_SHARE: String(props.sampleShare ?? 0.05),
      },
    });
    this.grantFunction(fn, props, predictionsPrefix, mergedPrefix);

    const stack = Stack.of(this);
    const invoke = (next: string): Record<string, unknown> => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fn.function.functionArn, Payload: { 'input.$': '$', 'executionName.$': '$$.Execution.Name' } },
      ResultSelector: { 'result.$': '$.Payload' },
      ResultPath: '$.outcome',
      TimeoutSeconds: 900,
      Retry: [{ ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
        IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
      Next: next,
    });
    // A lost event must not turn a finished review or merge into a failure: the result is in the execution's output.
    const publish = (detailType: string): Record<string, unknown> => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::events:putEvents',
      Parameters: { Entries: [{ Source: EVENT_SOURCE, DetailType: detailType, 'Detail.$': '$.outcome.result' }] },
      ResultPath: null,
      OutputPath: '$.outcome.result',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.publishError', Next: 'Done' }],
      End: true,
    });
    const definition = {
      Comment: 'Feedback loop of Rekognition Custom Labels (cdk-rekognition-custom-labels): review manifests and merges',
      StartAt: 'Route',
      States: {
        Route: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.reviewed', IsPresent: true, Next: 'Merge' },
            { Variable: '$.predictions', IsPresent: true, Next: 'Select' },
          ],
          Default: 'BadInput',
        },
        BadInput: { Type: 'Fail', Error: 'FeedbackError',
          Cause: 'Start the feedback loop with {"predictions": "s3://bucket/key"} or {"reviewed": ["s3://<review bucket>/reviewed/key"]}' },
        Select: invoke('PublishReviewReady'),
        PublishReviewReady: publish(DETAIL_TYPE_REVIEW_READY),
        Merge: invoke('PublishMerged'),
        PublishMerged: publish(DETAIL_TYPE_MANIFEST_MERGED),
        Done: { Type: 'Pass', OutputPath: '$.outcome.result', End: true },
      },
    };
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    fn.function.grantInvoke(this.stateMachine);
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
    }));
    acknowledgeWildcardResources(this.stateMachine, [`${fn.function.functionArn}:*`],
      'lambda:InvokeFunction on <function ARN>:* covers the versions and aliases of the loop\'s one function only');
    acknowledgeWildcardResources(this.stateMachine, ['*'], 'Step Functions log delivery and X-Ray (logs:CreateLogDelivery, '
      + 'xray:PutTraceSegments, ...) support no resource-level permissions');
  }

  /** Lets `grantee` start the loop (with a predictions manifest or reviewed manifests). */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Lets a reviewer read the review manifests and put reviewed manifests under `reviewed/` of the review bucket. */
  grantReview(grantee: iam.IGrantable): iam.Grant {
    this.reviewBucket.grantRead(grantee, `${REVIEWS_PREFIX}*`);
    return this.reviewBucket.grantPut(grantee, `${REVIEWED_PREFIX}*`);
  }

  private grantFunction(fn: HandlerFunction, props: FeedbackLoopProps, predictionsPrefix: string, mergedPrefix: string): void {
    const allow = (bucket: s3.IBucket, actions: string[], keys: string[], kms: string[]): void => {
      const resources = keys.map((k) => bucket.arnForObjects(k));
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
      if (bucket.encryptionKey) bucket.encryptionKey.grant(fn.role, ...kms);
      acknowledgeWildcardResources(fn.role, resources, 'Manifests under this prefix are named per batch, per review and per merge; '
        + 'the wildcard covers only the prefix');
    };
    allow(props.predictionsBucket, ['s3:GetObject'], [`${predictionsPrefix}*`], ['kms:Decrypt']);
    allow(this.reviewBucket, ['s3:PutObject'], [`${REVIEWS_PREFIX}*`], ['kms:GenerateDataKey']);
    allow(this.reviewBucket, ['s3:GetObject'], [`${REVIEWED_PREFIX}*`], ['kms:Decrypt']);
    allow(props.trainingManifestBucket, ['s3:GetObject'], [props.trainingManifestKey, `${mergedPrefix}*`], ['kms:Decrypt']);
    allow(props.trainingManifestBucket, ['s3:PutObject'], [`${mergedPrefix}*`], ['kms:GenerateDataKey']);
    // Whether the `latest` pointer exists yet: the function lists that one key, and nothing else of the bucket.
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [props.trainingManifestBucket.bucketArn],
      conditions: { StringEquals: { 's3:prefix': [`${mergedPrefix}${LATEST_POINTER}`] } },
    }));
  }
}
