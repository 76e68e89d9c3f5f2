import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { ImportedModelVersion } from '../model/imported';
import { CustomLabelsModel, ICustomLabelsModel } from '../model/model';
import { secureBucket } from '../shared/buckets';
import { HandlerFunction } from '../shared/function';
import { acknowledgeWildcardResources } from '../shared/nag';
import { describeValue, PropValidator } from '../shared/validation';
import { MAP_FOLDER, MODEL_ERROR, RUNS_PREFIX, THROUGHPUT_ERROR, WINDOWS_PREFIX } from './contracts';

/** Where the images are. */
export interface BatchAnalysisInput {
  readonly bucket: s3.IBucket;
  /** Every object under this prefix is analysed. @default '' (the whole bucket) */
  readonly prefix?: string;
}

/** Where results go. */
export interface BatchAnalysisOutput {
  readonly bucket: s3.IBucket;
  /** @default '' */
  readonly prefix?: string;
}

/** Props of {@link BatchAnalysis}. */
export interface BatchAnalysisProps {
  /** The model: a `CustomLabelsModel` (its serving version, read at the start of each run) or `CustomLabelsModel.fromVersionArn`. */
  readonly model: ICustomLabelsModel;
  /** The images to analyse. */
  readonly input: BatchAnalysisInput;
  /**
   * Where results, run summaries, predictions manifests and the model's lease are written.
   * @default - a bucket of its own: encrypted, versioned, TLS only, no public access, retained
   */
  readonly output?: BatchAnalysisOutput;
  /** The model is stopped this long after the last run that needed it (when a run started it). @default Duration.minutes(15) */
  readonly stopWhenIdle?: Duration;
  /** The run succeeds when at most this share (0..100) of batches of images failed beyond their retries. @default 0 */
  readonly toleratedFailurePercentage?: number;
  /** Images per Map child (ItemBatcher). @default 50 */
  readonly imagesPerBatch?: number;
  /** Passed to DetectCustomLabels. @default - the model's own threshold */
  readonly minConfidence?: number;
  /** Inference units when a run starts the model. @default 1 */
  readonly minInferenceUnits?: number;
  /** Upper bound of the service's auto scaling when a run starts the model. @default - no auto scaling */
  readonly maxInferenceUnits?: number;
  /**
   * A run's hold on the model expires this long after it began (the backstop of a run that was stopped and never
   * released it); the hourly sweep then stops the model. Longer than your longest run.
   * @default Duration.hours(24)
   */
  readonly leaseDuration?: Duration;
  /**
   * Also start a run on this schedule (EventBridge Scheduler, as a role that may only start this state machine). The
   * expression carries its time zone: `ScheduleExpression.cron({ hour: '2', minute: '0', timeZone: TimeZone.EUROPE_BERLIN })`.
   * @default - no schedule: runs start on demand (and on uploads with `analyseUploads`)
   */
  readonly schedule?: scheduler.ScheduleExpression;
  /**
   * Analyse images as they are uploaded under the input prefix: uploads are collected for `batchWindow`, then one run
   * analyses exactly the images uploaded in that window (not the whole prefix). Turns on the input bucket's
   * EventBridge notifications (`enableEventBridgeNotification()`); for a bucket imported by name this synthesizes
   * CDK's `Custom::S3BucketNotifications` resource, which replaces the bucket's whole notification configuration.
   * @default false
   */
  readonly analyseUploads?: boolean;
  /**
   * With `analyseUploads`: how long a window collects uploads, from the first upload that opens it (1 minute to 24 hours).
   * @default Duration.minutes(15)
   */
  readonly batchWindow?: Duration;
}

const PREFIX = /^([A-Za-z0-9!_.*'()=-]+\/)*$/;
/** Status checks while the model starts: 30 s apart, an hour in all (a start takes minutes). */
const MAX_STATUS_CHECKS = 120;

/**
 * Analyses every image under an S3 prefix with a Rekognition Custom Labels model, on a Step Functions Distributed Map
 * (ItemReader over the prefix, ResultWriter to S3, tolerated failures). The run starts the model when nobody runs it
 * and stops it `stopWhenIdle` after the last run that needed it, on every path, failures included: runs share the
 * model through a lease (an S3 object written with conditional writes; each hold expires after `leaseDuration`, and
 * an hourly sweep stops a model whose holds all expired). A model someone else started is never stopped.
 *
 * Each batch of images adapts its rate of calls to the model (additive increase, multiplicative decrease on
 * ProvisionedThroughputExceededException, a per-batch back-off, the refused image retried first). Results, under
 * `<output prefix>runs/<execution name>/`: `images/*.jsonl` (one JSON object per image: labels, confidence, box,
 * model version, or the service's error for an image it refused), `summary.json` (the execution's output too) and
 * `predictions.manifest` (Ground Truth form, `human-annotated: "no"`) for `FeedbackLoop`.
 *
 * Start a run with `StartExecution` and input `{}`.
 */
export class BatchAnalysis extends Construct {
  /** Runs a batch: lease, start, Distributed Map, summary, release. */
  readonly stateMachine: sfn.StateMachine;
  /** Where results, summaries and predictions manifests are written. */
  readonly outputBucket: s3.IBucket;
  /** The key prefix of the runs' output in `outputBucket`. */
  readonly outputPrefix: string;
  /** The function that takes the lease, analyses batches and sums runs up. */
  readonly handlerFunction: lambda.IFunction;
  private readonly handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: BatchAnalysisProps) {
    super(scope, id);
    const inputPrefix = props.input.prefix ?? '';
    const outputPrefix = props.output?.prefix ?? '';
    const stopWhenIdle = props.stopWhenIdle ?? Duration.minutes(15);
    const lease = props.leaseDuration ?? Duration.hours(24);
    const batchWindow = props.batchWindow ?? Duration.minutes(15);
    const isServing = props.model instanceof CustomLabelsModel;
    const isImported = props.model instanceof ImportedModelVersion;
    new PropValidator()
      .check(isServing || isImported, 'model must be a CustomLabelsModel or come from CustomLabelsModel.fromVersionArn, got: '
        + `${props.model.constructor.name}`)
      .check(PREFIX.test(inputPrefix), `input.prefix must be '' or a key prefix ending in "/", got: ${describeValue(inputPrefix)}`)
      .check(PREFIX.test(outputPrefix), `output.prefix must be '' or a key prefix ending in "/", got: ${describeValue(outputPrefix)}`)
      .check(props.output === undefined || props.output.bucket !== props.input.bucket || outputPrefix !== ''
        && !outputPrefix.startsWith(inputPrefix), 'output.prefix must not lie under input.prefix of the same bucket (results would be '
        + `analysed as images), got: ${describeValue(outputPrefix)}`)
      .range('toleratedFailurePercentage', props.toleratedFailurePercentage, 0, 100)
      .integer('imagesPerBatch', props.imagesPerBatch, 1, 1000)
      .range('minConfidence', props.minConfidence, 0, 100)
      .integer('minInferenceUnits', props.minInferenceUnits, 1)
      .integer('maxInferenceUnits', props.maxInferenceUnits, props.minInferenceUnits ?? 1)
      .check(stopWhenIdle.toSeconds() <= 24 * 3600, `stopWhenIdle must be at most 24 hours, got: ${stopWhenIdle.toHumanString()}`)
      .check(lease.toSeconds() >= 3600, `leaseDuration must be at least 1 hour, got: ${lease.toHumanString()}`)
      .check(props.batchWindow === undefined || props.analyseUploads === true, `batchWindow applies only with analyseUploads: true, got: ${
        props.batchWindow?.toHumanString()} with analyseUploads: ${describeValue(props.analyseUploads)}`)
      .check(batchWindow.toSeconds() >= 60 && batchWindow.toSeconds() <= 24 * 3600, `batchWindow must be from 1 minute to 24 hours, got: ${
        batchWindow.toHumanString()}`)
      .throwIfAny(this);

    this.outputBucket = props.output?.bucket ?? secureBucket(this, 'OutputBucket');
    this.outputPrefix = outputPrefix;
    const stack = Stack.of(this);
    const versionArn = isImported ? (props.model as ImportedModelVersion).versionArn : undefined;
    const serving = isServing ? props.model as CustomLabelsModel : undefined;

    this.handler = new HandlerFunction(this, 'Handler', {
      handlerName: 'batch',
      description: 'Custom Labels batch analysis: takes and releases the model\'s lease, analyses batches of images, sums runs up',
      // A batch of images at a slow model's pace, with back-off.
      timeout: Duration.minutes(15),
      memorySize: 512,
      environment: {
        ...(versionArn ? { VERSION_ARN: versionArn } : {}),
        ...(serving ? { PROJECT_ARN: serving.project.projectArn } : {}),
        OUTPUT_BUCKET: this.outputBucket.bucketName,
        OUTPUT_PREFIX: outputPrefix,
        MIN_INFERENCE_UNITS: String(props.minInferenceUnits ?? 1),
        ...(props.maxInferenceUnits === undefined ? {} : { MAX_INFERENCE_UNITS: String(props.maxInferenceUnits) }),
        LEASE_SECONDS: String(lease.toSeconds()),
        STOP_WHEN_IDLE_SECONDS: String(stopWhenIdle.toSeconds()),
        ...(props.minConfidence === undefined ? {} : { MIN_CONFIDENCE: String(props.minConfidence) }),
      },
    });
    this.handlerFunction = this.handler.function;
    const role = this.handler.role;
    props.model.grantDetectCustomLabels(role);
    props.model.grantStartStop(role);
    this.grantBucket(role, props.input.bucket, ['s3:GetObject'], `${inputPrefix}*`, ['kms:Decrypt'],
      'Rekognition reads each image with the function\'s rights; the wildcard covers only the input prefix');
    // Rekognition also asks where the bucket is, with the same rights.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [props.input.bucket.bucketArn] }));
    this.grantBucket(role, this.outputBucket, ['s3:GetObject', 's3:PutObject'], `${outputPrefix}*`, ['kms:Decrypt', 'kms:GenerateDataKey'],
      'Results, summaries and leases are named per run, batch and model under the output prefix; the wildcard covers only it');
    this.allowList(role, this.outputBucket, outputPrefix);

    const fnArn = this.handler.function.functionArn;
    const invoke = (payload: Record<string, unknown>, resultPath: string | null, next: string, extra: Record<string, unknown> = {}) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fnArn, Payload: payload },
      ResultSelector: { 'value.$': '$.Payload' },
      ResultPath: resultPath,
      TimeoutSeconds: 900,
      Retry: [{ ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
        IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
      Next: next,
      ...extra,
    });
    const run = { 'versionArn.$': '$.model.versionArn', 'holder.$': '$$.Execution.Name' };
    const onError = (next: string) => ({ Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: next }] });
    const resolveVersion = serving
      ? {
        Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter',
        Parameters: { Name: serving.servingVersionParameter.parameterName },
        ResultSelector: { 'versionArn.$': '$.Parameter.Value' }, ResultPath: '$.model', Next: 'Acquire',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
      }
      : { Type: 'Pass', Result: { versionArn }, ResultPath: '$.model', Next: 'Acquire' };
    // The Map's ResultWriter writes under runs/<run>/map/; the summary reads its failed and pending batches from there.
    const mapOver = (label: string, itemReader: Record<string, unknown>) => ({
      Type: 'Map',
      Label: label,
      ItemReader: itemReader,
      ItemBatcher: {
        MaxItemsPerBatch: props.imagesPerBatch ?? 50,
        BatchInput: { 'versionArn.$': '$.model.versionArn', 'runId.$': '$$.Execution.Name', 'inputBucket': props.input.bucket.bucketName },
      },
      MaxConcurrencyPath: '$.lease.value.mapConcurrency',
      ToleratedFailurePercentage: props.toleratedFailurePercentage ?? 0,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'AnalyseImages',
        States: {
          AnalyseImages: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: fnArn, Payload: { 'action': 'analyse', 'BatchInput.$': '$.BatchInput', 'Items.$': '$.Items' } },
            OutputPath: '$.Payload',
            TimeoutSeconds: 900,
            Retry: [
              { ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
                IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 },
              // The model kept refusing: the batch starts over later (results of a batch overwrite their own file).
              { ErrorEquals: [THROUGHPUT_ERROR], IntervalSeconds: 30, MaxAttempts: 4, BackoffRate: 2, JitterStrategy: 'FULL' },
            ],
            End: true,
          },
        },
      },
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { 'Bucket': this.outputBucket.bucketName, 'Prefix.$': `States.Format('${outputPrefix}${RUNS_PREFIX}{}/${MAP_FOLDER.replace(/\/$/, '')}', $$.Execution.Name)` } },
      ResultPath: '$.map',
      Next: 'Summarise',
      ...onError('SummariseAfterFailure'),
    });
    const uploads = props.analyseUploads === true;
    // An upload window's run: wait for the window to close, take its uploads (see collect in lambda/batch/windows.ts),
    // end at once when there are none (the model is not started), else analyse exactly those images.
    const uploadStates = uploads ? {
      'Trigger?': { Type: 'Choice', Choices: [{ Variable: '$.window', IsPresent: true, Next: 'WaitForUploads' }], Default: 'ResolveVersion' },
      'WaitForUploads': { Type: 'Wait', SecondsPath: '$.window.waitSeconds', Next: 'CollectUploads' },
      'CollectUploads': invoke({ 'action': 'collect', 'holder.$': '$$.Execution.Name' }, '$.collected', 'Uploads?', onError('Failed')),
      'Uploads?': { Type: 'Choice', Choices: [{ Variable: '$.collected.value.images', NumericEquals: 0, Next: 'NoUploads' }], Default: 'ResolveVersion' },
      'NoUploads': { Type: 'Succeed', OutputPath: '$.collected.value' },
      'WhichImages?': { Type: 'Choice', Choices: [{ Variable: '$.collected', IsPresent: true, Next: 'AnalyseUploads' }], Default: 'Analyse' },
      'AnalyseUploads': mapOver('Uploads', { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket': this.outputBucket.bucketName, 'Key.$': '$.collected.value.itemsKey' } }),
    } : {};
    const definition = {
      Comment: 'Batch analysis with Rekognition Custom Labels (cdk-rekognition-custom-labels): lease, start, Distributed Map, summary, stop',
      StartAt: uploads ? 'Trigger?' : 'ResolveVersion',
      States: {
        ...uploadStates,
        ResolveVersion: resolveVersion,
        Acquire: invoke({ action: 'acquire', ...run }, '$.lease', 'ModelReady?', onError('ReleaseAfterFailure')),
        'ModelReady?': {
          Type: 'Choice',
          Choices: [
            { Variable: '$.lease.value.status', StringEquals: 'RUNNING', Next: uploads ? 'WhichImages?' : 'Analyse' },
            { Variable: '$.lease.value.checks', NumericGreaterThanEquals: MAX_STATUS_CHECKS, Next: 'StartTimedOut' },
          ],
          Default: 'WaitForModel',
        },
        WaitForModel: { Type: 'Wait', Seconds: 30, Next: 'CheckModel' },
        CheckModel: invoke({ 'action': 'status', ...run, 'checks.$': '$.lease.value.checks' }, '$.lease', 'ModelReady?', onError('ReleaseAfterFailure')),
        StartTimedOut: { Type: 'Pass', Parameters: { Error: MODEL_ERROR, Cause: 'The model did not reach RUNNING within an hour' },
          ResultPath: '$.error', Next: 'ReleaseAfterFailure' },
        Analyse: mapOver('Images', { Resource: 'arn:aws:states:::s3:listObjectsV2',
          Parameters: { Bucket: props.input.bucket.bucketName, Prefix: inputPrefix } }),
        Summarise: invoke({ action: 'summarise', ...run }, '$.summary', 'Release', onError('ReleaseAfterFailure')),
        Release: invoke({ action: 'release', ...run }, '$.release', 'Idle?', onError('Failed')),
        'Idle?': { Type: 'Choice', Choices: [{ Variable: '$.release.value.idle', BooleanEquals: true, Next: 'WaitIdle' }], Default: 'Done' },
        WaitIdle: { Type: 'Wait', Seconds: stopWhenIdle.toSeconds(), Next: 'IdleStop' },
        IdleStop: invoke({ action: 'idleStop', ...run }, '$.idleStop', 'Done', onError('Failed')),
        Done: { Type: 'Pass', OutputPath: '$.summary.value', End: true },
        // Failures: sum up what was done, release, stop when idle, then fail with the first error.
        SummariseAfterFailure: invoke({ action: 'summarise', ...run }, '$.summary', 'ReleaseAfterFailure',
          { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.summaryError', Next: 'ReleaseAfterFailure' }] }),
        ReleaseAfterFailure: invoke({ action: 'release', ...run }, '$.release', 'IdleAfterFailure?',
          { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: 'Failed' }] }),
        'IdleAfterFailure?': { Type: 'Choice', Choices: [{ Variable: '$.release.value.idle', BooleanEquals: true, Next: 'WaitIdleAfterFailure' }],
          Default: 'Failed' },
        WaitIdleAfterFailure: { Type: 'Wait', Seconds: stopWhenIdle.toSeconds(), Next: 'IdleStopAfterFailure' },
        IdleStopAfterFailure: invoke({ action: 'idleStop', ...run }, '$.idleStop', 'Failed',
          { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: 'Failed' }] }),
        Failed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
      },
    };
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    const sm = this.stateMachine;
    this.handler.function.grantInvoke(sm);
    serving?.servingVersionParameter.grantRead(sm);
    // ItemReader lists the input prefix, ResultWriter writes under runs/, both as the state machine's role.
    this.allowList(sm.role, props.input.bucket, inputPrefix);
    this.grantBucket(sm.role, this.outputBucket, ['s3:PutObject'], `${outputPrefix}${RUNS_PREFIX}*`, ['kms:GenerateDataKey'],
      'The Map writes its results under runs/<run>/map/; the wildcard covers only runs/');
    // The Map's children are executions of this state machine: a policy of its own, so the machine does not wait for it.
    const children = new iam.Policy(this, 'MapChildrenPolicy', {
      roles: [sm.role as iam.IRole],
      statements: [
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [sm.stateMachineArn] }),
        new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${sm.stateMachineName}/*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }),
      ],
    });
    acknowledgeWildcardResources(children, [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${sm.stateMachineName}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME })], 'The Map\'s child executions are named by the service; the wildcard covers only this '
      + 'state machine\'s executions');
    acknowledgeWildcardResources(sm, [`${fnArn}:*`], 'lambda:InvokeFunction on <function ARN>:* covers the versions and aliases of the batch\'s '
      + 'one function only');
    acknowledgeWildcardResources(sm, ['*'], 'Step Functions log delivery and X-Ray (logs:CreateLogDelivery, xray:PutTraceSegments, ...) '
      + 'support no resource-level permissions');

    // The backstop: every hour, stop models whose holds all expired (a run stopped by hand never released its hold).
    const sweepRole = new iam.Role(this, 'SweepRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com') });
    this.handler.function.grantInvoke(sweepRole);
    acknowledgeWildcardResources(sweepRole, [`${fnArn}:*`], 'lambda:InvokeFunction on <function ARN>:* covers the versions and aliases '
      + 'of the batch\'s one function only');
    const sweep = new scheduler.CfnSchedule(this, 'Sweep', {
      scheduleExpression: 'rate(1 hour)',
      flexibleTimeWindow: { mode: 'OFF' },
      // With uploads, the sweep also opens a window for uploads a failed or stopped window run left behind.
      target: { arn: fnArn, roleArn: sweepRole.roleArn, input: uploads
        ? stack.toJsonString({ action: 'sweep', stateMachineArn: sm.stateMachineArn, waitSeconds: batchWindow.toSeconds() })
        : JSON.stringify({ action: 'sweep' }) },
    });
    // A rate schedule fires as it is created: its role's policy must exist by then (the first sweep was refused offline).
    sweep.node.addDependency(sweepRole);

    if (props.schedule) {
      // A role of its own, trusted by EventBridge Scheduler only, that may start this state machine and nothing else.
      const scheduleRole = new iam.Role(this, 'ScheduleRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
        description: 'Starts the batch analysis state machine on its schedule' });
      sm.grantStartExecution(scheduleRole);
      const schedule = new scheduler.CfnSchedule(this, 'Schedule', {
        scheduleExpression: props.schedule.expressionString,
        scheduleExpressionTimezone: props.schedule.timeZone?.timezoneName,
        flexibleTimeWindow: { mode: 'OFF' },
        target: { arn: sm.stateMachineArn, roleArn: scheduleRole.roleArn, input: '{}' },
      });
      schedule.node.addDependency(scheduleRole);
    }
    if (uploads) this.analyseUploads(props.input.bucket, inputPrefix, batchWindow);
  }

  /**
   * S3 "Object Created" events under the input prefix go, through an EventBridge rule, to the function (action
   * `upload`), which records the upload and opens a window if none is open. The state machine's ARN comes in the
   * event (not the function's environment, which the state machine already depends on).
   */
  private analyseUploads(bucket: s3.IBucket, prefix: string, window: Duration): void {
    const sm = this.stateMachine;
    bucket.enableEventBridgeNotification();
    // CDK's notifications handler: one per stack, its role with the AWS managed basic execution policy.
    const notifications = Stack.of(this).node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834')?.node.tryFindChild('Role');
    if (notifications) {
      Validations.of(notifications).acknowledge({ id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK\'s own S3 bucket notifications handler (one per stack, it writes only its logs with this policy); its role is not ours to shape' });
    }
    const rule = new events.Rule(this, 'Uploads', {
      description: 'Images uploaded under the batch analysis input prefix',
      eventPattern: { source: ['aws.s3'], detailType: ['Object Created'],
        detail: { bucket: { name: [bucket.bucketName] }, ...(prefix === '' ? {} : { object: { key: events.Match.prefix(prefix) } }) } },
    });
    rule.addTarget(new targets.LambdaFunction(this.handler.function, {
      event: events.RuleTargetInput.fromObject({ action: 'upload', stateMachineArn: sm.stateMachineArn, waitSeconds: window.toSeconds(),
        eventId: events.EventField.eventId, key: events.EventField.fromPath('$.detail.object.key') }),
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    }));
    // A policy of its own: the function's default policy is a dependency of the function, which the state machine needs.
    const policy = new iam.Policy(this, 'UploadWindowsPolicy', {
      roles: [this.handler.role],
      statements: [
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [sm.stateMachineArn] }),
        new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [this.outputBucket.arnForObjects(`${this.outputPrefix}${WINDOWS_PREFIX}*`)] }),
      ],
    });
    acknowledgeWildcardResources(policy, [this.outputBucket.arnForObjects(`${this.outputPrefix}${WINDOWS_PREFIX}*`)],
      'Upload markers and the open window are named per upload under windows/; the wildcard covers only windows/');
    // The state machine reads a window's list of images (runs/<run>/uploads.json) with its ItemReader.
    this.grantBucket(sm.role, this.outputBucket, ['s3:GetObject'], `${this.outputPrefix}${RUNS_PREFIX}*`, ['kms:Decrypt'],
      'The Map reads the window\'s list of images under runs/<run>/; the wildcard covers only runs/');
  }

  /** Lets `grantee` start runs. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Lets `grantee` read results, summaries and predictions manifests (everything under `<output prefix>runs/`). */
  grantReadResults(grantee: iam.IGrantable): iam.Grant {
    return this.outputBucket.grantRead(grantee, `${this.outputPrefix}${RUNS_PREFIX}*`);
  }

  private grantBucket(grantee: iam.IGrantable, bucket: s3.IBucket, actions: string[], keys: string, kms: string[], reason: string): void {
    const resources = [bucket.arnForObjects(keys)];
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    if (bucket.encryptionKey) bucket.encryptionKey.grant(grantee, ...kms);
    if (Construct.isConstruct(grantee)) acknowledgeWildcardResources(grantee, resources, reason);
  }

  /** ListBucket, conditioned on listing only under `prefix`. */
  private allowList(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    }));
  }
}
