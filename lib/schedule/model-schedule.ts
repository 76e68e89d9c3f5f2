import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { BatchAnalysis } from '../batch/batch-analysis';
import { LEASES_PREFIX } from '../batch/contracts';
import { ImportedModelVersion } from '../model/imported';
import { CustomLabelsModel, ICustomLabelsModel } from '../model/model';
import { secureBucket } from '../shared/buckets';
import { HandlerFunction } from '../shared/function';
import { acknowledgeWildcardResources } from '../shared/nag';
import { describeValue, isUnresolved, PropValidator } from '../shared/validation';
import { CHECK_SECONDS, LeaseLocation, LEDGER_KEY, MAX_START_CHECKS, MAX_STOP_CHECKS, MODEL_ERROR, STOP_ERROR } from './contracts';
import { isTimeZone, scheduleExpressionProblem } from './expressions';

/** A time window in which the model runs: started at `start`, stopped at `stop` (EventBridge Scheduler expressions). */
export interface ModelWindow {
  /**
   * When the window opens: `cron(minutes hours day-of-month month day-of-week year)`, `rate(value unit)` or
   * `at(yyyy-mm-ddThh:mm:ss)`, in the schedule's `timeZone`. E.g. `cron(0 8 ? * MON-FRI *)`.
   * @see https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
   */
  readonly start: string;
  /** When the window closes (same forms as `start`). E.g. `cron(0 18 ? * MON-FRI *)`. */
  readonly stop: string;
}

/** Props of {@link ModelSchedule}. */
export interface ModelScheduleProps {
  /**
   * The model: a `CustomLabelsModel` (its serving version, read from its parameter at each start, stop and guard run)
   * or `CustomLabelsModel.fromVersionArn`.
   */
  readonly model: ICustomLabelsModel;
  /** The windows in which the model runs; outside them it runs only while a batch of `batchAnalyses` needs it. At most 50. */
  readonly windows: ModelWindow[];
  /** The IANA time zone of the windows' expressions and of the budget's days, e.g. `Europe/Berlin`. @default 'UTC' */
  readonly timeZone?: string;
  /**
   * Stop the model when it has run this long without a break, whoever started it (a cost guard, checked every
   * `guardInterval`; the stop comes at the last check before the limit would be passed). At least 2 × guardInterval.
   * @default - no limit on running time
   */
  readonly maxRunningTime?: Duration;
  /**
   * Stop the model (and publish an alarm) before the day's inference-unit hours pass this figure, whoever started it; a
   * window that opens when the day's budget is spent does not start it. Days are `timeZone`'s days. Hours are counted as
   * running time × the version's MaxInferenceUnits (MinInferenceUnits without auto scaling): an upper bound, as the
   * service does not tell how many units run at a time. At $4 per inference-unit hour, 24 is about $96 a day.
   * @default - no budget
   */
  readonly dailyInferenceUnitHoursBudget?: number;
  /** Inference units a window starts the model with. @default 1 */
  readonly minInferenceUnits?: number;
  /** Upper bound of the service's auto scaling when a window starts the model. @default - no auto scaling */
  readonly maxInferenceUnits?: number;
  /**
   * Where alarms go: a cost guard's stop, a start refused for the budget, a start or stop that failed.
   * @default - a topic of its own, encrypted with the AWS managed key for SNS, TLS only
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Batch analyses of the same model: the schedule holds the model in their leases, so a batch that ends inside a window
   * does not stop the model, and a window that ends during a batch leaves the model to the batch (stopped when it ends).
   * @default - none
   */
  readonly batchAnalyses?: BatchAnalysis[];
  /**
   * How often the cost guards run (whole minutes, 1 to 60); only with `maxRunningTime` or `dailyInferenceUnitHoursBudget`.
   * @default Duration.minutes(5)
   */
  readonly guardInterval?: Duration;
}

const MAX_WINDOWS = 50;
/** The schedule's hold expires this long after it was taken or refreshed by the guard: longer than a week-long window. */
const HOLD_SECONDS = 8 * 86400;

/**
 * Runs a Rekognition Custom Labels model only in given time windows (EventBridge Scheduler, time zone aware), and
 * guards its cost: it stops a model that ran `maxRunningTime` without a break and one whose inference-unit hours would
 * pass the day's budget, and publishes an alarm naming the model, the figure and the limit. Every stop waits for
 * STOPPED; a start or stop that fails publishes an alarm and fails the execution.
 *
 * Each schedule starts an execution of one small state machine ("Control") with input `{"action": "start" | "stop" |
 * "guard"}`; starting one by hand works too.
 */
export class ModelSchedule extends Construct {
  /** The Control state machine: start, stop (each waits for the model's status), guard. */
  readonly stateMachine: sfn.StateMachine;
  /** Where alarms are published. */
  readonly alarmTopic: sns.ITopic;
  /** The function that holds, releases, starts, stops and guards the model. */
  readonly handlerFunction: lambda.IFunction;
  /** The schedule's lease document and running-time ledger (`ledger.json`). */
  readonly bucket: s3.IBucket;
  private readonly handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: ModelScheduleProps) {
    super(scope, id);
    const timeZone = props.timeZone ?? 'UTC';
    const guardInterval = props.guardInterval ?? Duration.minutes(5);
    const guarded = props.maxRunningTime !== undefined || props.dailyInferenceUnitHoursBudget !== undefined;
    this.validate(props, timeZone, guardInterval);

    this.bucket = secureBucket(this, 'Bucket');
    this.alarmTopic = props.alarmTopic ?? this.defaultTopic();
    const serving = props.model instanceof CustomLabelsModel ? props.model : undefined;
    const versionArn = props.model instanceof ImportedModelVersion ? props.model.versionArn : undefined;
    const batchLeases: LeaseLocation[] = (props.batchAnalyses ?? []).map((b) => ({ bucket: b.outputBucket.bucketName, prefix: b.outputPrefix }));

    this.handler = new HandlerFunction(this, 'Handler', {
      handlerName: 'schedule',
      description: 'Custom Labels model schedule: holds, starts and stops the model for its windows, guards running time and budget',
      timeout: Duration.minutes(1),
      environment: {
        HOLDER: this.node.path,
        ...(versionArn ? { VERSION_ARN: versionArn } : {}),
        ...(serving ? { PROJECT_ARN: serving.project.projectArn } : {}),
        BUCKET: this.bucket.bucketName,
        BATCH_LEASES: Stack.of(this).toJsonString(batchLeases),
        MIN_INFERENCE_UNITS: String(props.minInferenceUnits ?? 1),
        ...(props.maxInferenceUnits === undefined ? {} : { MAX_INFERENCE_UNITS: String(props.maxInferenceUnits) }),
        TIME_ZONE: timeZone,
        GUARD_SECONDS: String(guardInterval.toSeconds()),
        ...(props.maxRunningTime === undefined ? {} : { MAX_RUNNING_SECONDS: String(props.maxRunningTime.toSeconds()) }),
        ...(props.dailyInferenceUnitHoursBudget === undefined ? {} : { DAILY_BUDGET: String(props.dailyInferenceUnitHoursBudget) }),
        HOLD_SECONDS: String(HOLD_SECONDS),
      },
    });
    this.handlerFunction = this.handler.function;
    this.grantHandler(props, batchLeases);
    this.stateMachine = this.control(serving, versionArn, props.alarmTopic !== undefined);
    this.schedules(props.windows, timeZone, guarded ? guardInterval : undefined);
  }

  /** Lets `grantee` start executions of the Control state machine (e.g. `{"action": "stop"}` from an operator's tool). */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  private validate(props: ModelScheduleProps, timeZone: string, guardInterval: Duration): void {
    const v = new PropValidator()
      .check(props.model instanceof CustomLabelsModel || props.model instanceof ImportedModelVersion, 'model must be a CustomLabelsModel or come '
        + `from CustomLabelsModel.fromVersionArn, got: ${props.model.constructor.name}`)
      .check(props.windows.length >= 1 && props.windows.length <= MAX_WINDOWS, `windows must hold 1 to ${MAX_WINDOWS} windows, got `
        + `${props.windows.length}`)
      .check(isUnresolved(timeZone) || isTimeZone(timeZone), 'timeZone must be an IANA time zone name such as "Europe/Berlin" or "UTC", got: '
        + `${describeValue(timeZone)}`)
      .check(props.dailyInferenceUnitHoursBudget === undefined || isUnresolved(props.dailyInferenceUnitHoursBudget)
        || (Number.isFinite(props.dailyInferenceUnitHoursBudget) && props.dailyInferenceUnitHoursBudget > 0),
      `dailyInferenceUnitHoursBudget must be > 0, got: ${describeValue(props.dailyInferenceUnitHoursBudget)}`)
      .integer('minInferenceUnits', props.minInferenceUnits, 1)
      .integer('maxInferenceUnits', props.maxInferenceUnits, props.minInferenceUnits ?? 1);
    props.windows.forEach((w, i) => {
      for (const side of ['start', 'stop'] as const) {
        const expression = w[side];
        if (isUnresolved(expression)) continue;
        const problem = scheduleExpressionProblem(expression);
        v.check(problem === undefined, `windows[${i}].${side} must be an EventBridge Scheduler expression: cron(minutes hours day-of-month month `
          + `day-of-week year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss) (${problem}), got: ${describeValue(expression)}`);
      }
    });
    const guardMinutes = guardInterval.toSeconds() / 60;
    v.check(Number.isInteger(guardMinutes) && guardMinutes >= 1 && guardMinutes <= 60, 'guardInterval must be whole minutes from 1 to 60, got: '
      + guardInterval.toHumanString());
    if (props.maxRunningTime) {
      v.check(props.maxRunningTime.toSeconds() >= 2 * guardInterval.toSeconds(), 'maxRunningTime must be at least twice guardInterval '
        + `(${guardInterval.toHumanString()}), got: ${props.maxRunningTime.toHumanString()}`);
    }
    v.throwIfAny(this);
  }

  private defaultTopic(): sns.Topic {
    return new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Custom Labels model schedule alarms',
      enforceSSL: true,
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
    });
  }

  private grantHandler(props: ModelScheduleProps, batchLeases: LeaseLocation[]): void {
    const role = this.handler.role;
    props.model.grantStartStop(role);
    // Its own lease document and ledger.
    this.grantDocuments(role, this.bucket, [`${LEASES_PREFIX}*`, LEDGER_KEY], 'The schedule\'s lease documents are named per model version '
      + 'under leases/; the wildcard covers only that prefix of its own bucket');
    // The batches' lease documents: only their leases/ prefix.
    (props.batchAnalyses ?? []).forEach((b, i) => this.grantDocuments(role, b.outputBucket, [`${batchLeases[i].prefix}${LEASES_PREFIX}*`],
      'A batch\'s lease documents are named per model version under <output prefix>leases/; the wildcard covers only that prefix'));
  }

  /** Get and conditional Put on `keys`, ListBucket conditioned on them (a missing document is found by listing). */
  private grantDocuments(role: iam.Role, bucket: s3.IBucket, keys: string[], reason: string): void {
    const resources = keys.map((k) => bucket.arnForObjects(k));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': keys } } }));
    bucket.encryptionKey?.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    acknowledgeWildcardResources(role, resources, reason);
  }

  /** The Control state machine: start (wait for RUNNING), stop and guard (wait for STOPPED), alarms on failure and guard stops. */
  private control(serving: CustomLabelsModel | undefined, versionArn: string | undefined, userTopic: boolean): sfn.StateMachine {
    const stack = Stack.of(this);
    const fnArn = this.handler.function.functionArn;
    const invoke = (payload: Record<string, unknown>, next: string) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fnArn, Payload: { 'versionArn.$': '$.model.versionArn', ...payload } },
      ResultSelector: { 'value.$': '$.Payload' },
      ResultPath: '$.result',
      TimeoutSeconds: 120,
      Retry: [{ ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
        IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'PublishFailure' }],
      Next: next,
    });
    const fail = (error: string, cause: string) => ({ Type: 'Pass', Parameters: { Error: error, Cause: cause }, ResultPath: '$.error',
      Next: 'PublishFailure' });
    const definition = {
      Comment: `Model schedule (cdk-rekognition-custom-labels) ${this.node.path}: start, stop, guard`,
      StartAt: 'ResolveVersion',
      States: {
        ResolveVersion: serving
          ? { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter', Parameters: { Name: serving.servingVersionParameter.parameterName },
            ResultSelector: { 'versionArn.$': '$.Parameter.Value' }, ResultPath: '$.model', Next: 'Action?',
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'PublishFailure' }] }
          : { Type: 'Pass', Result: { versionArn }, ResultPath: '$.model', Next: 'Action?' },
        'Action?': {
          Type: 'Choice',
          Choices: [
            { Variable: '$.action', StringEquals: 'start', Next: 'Start' },
            { Variable: '$.action', StringEquals: 'stop', Next: 'Stop' },
            { Variable: '$.action', StringEquals: 'guard', Next: 'Guard' },
          ],
          Default: 'UnknownAction',
        },
        UnknownAction: fail('ScheduleError', 'The input\'s action must be "start", "stop" or "guard"'),
        Start: invoke({ action: 'start' }, 'Running?'),
        'Running?': {
          Type: 'Choice',
          Choices: [
            { Variable: '$.result.value.refused', BooleanEquals: true, Next: 'PublishAlarm' },
            { Variable: '$.result.value.status', StringEquals: 'RUNNING', Next: 'Done' },
            { Variable: '$.result.value.checks', NumericGreaterThanEquals: MAX_START_CHECKS, Next: 'StartTimedOut' },
          ],
          Default: 'WaitForRunning',
        },
        WaitForRunning: { Type: 'Wait', Seconds: CHECK_SECONDS, Next: 'CheckStart' },
        CheckStart: invoke({ 'action': 'startStatus', 'checks.$': '$.result.value.checks' }, 'Running?'),
        StartTimedOut: fail(MODEL_ERROR, `The model did not reach RUNNING within ${MAX_START_CHECKS * CHECK_SECONDS / 60} minutes`),
        Stop: invoke({ action: 'stop' }, 'Stopped?'),
        Guard: invoke({ action: 'guard' }, 'Stopped?'),
        'Stopped?': {
          Type: 'Choice',
          Choices: [
            { And: [{ Variable: '$.result.value.stopping', BooleanEquals: false }, { Variable: '$.result.value.alarm', IsPresent: true }],
              Next: 'PublishAlarm' },
            { Variable: '$.result.value.stopping', BooleanEquals: false, Next: 'Done' },
            { Variable: '$.result.value.checks', NumericGreaterThanEquals: MAX_STOP_CHECKS, Next: 'StopTimedOut' },
          ],
          Default: 'WaitForStopped',
        },
        WaitForStopped: { Type: 'Wait', Seconds: CHECK_SECONDS, Next: 'CheckStop' },
        CheckStop: invoke({ 'action': 'stopStatus', 'checks.$': '$.result.value.checks', 'previous.$': '$.result.value' }, 'Stopped?'),
        StopTimedOut: fail(STOP_ERROR, `The model did not reach STOPPED within ${MAX_STOP_CHECKS * CHECK_SECONDS / 60} minutes`),
        PublishAlarm: {
          Type: 'Task', Resource: 'arn:aws:states:::sns:publish',
          Parameters: { 'TopicArn': this.alarmTopic.topicArn, 'Subject': 'Custom Labels model schedule: cost guard', 'Message.$': '$.result.value.alarm' },
          ResultPath: null, Next: 'Done',
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
        },
        Done: { Type: 'Pass', OutputPath: '$.result.value', End: true },
        PublishFailure: {
          Type: 'Task', Resource: 'arn:aws:states:::sns:publish',
          Parameters: { 'TopicArn': this.alarmTopic.topicArn, 'Subject': 'Custom Labels model schedule: failed',
            'Message.$': `States.Format('ModelSchedule ${this.node.path} failed ({}): {}: {}', $.action, $.error.Error, $.error.Cause)` },
          ResultPath: null, Next: 'Failed',
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Failed' }],
        },
        Failed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
      },
    };
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const sm = new sfn.StateMachine(this, 'Control', {
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    this.handler.function.grantInvoke(sm);
    if (userTopic) {
      // The user's topic may use a customer managed key: grantPublish adds what the key needs.
      this.alarmTopic.grantPublish(sm);
    } else {
      // Our topic uses the AWS managed key for SNS, whose key policy lets the account's principals use it through SNS:
      // sns:Publish is all the publisher needs. (grantPublish would add kms:GenerateDataKey* and kms:Decrypt on key/* under
      // the @aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal flag, which new apps set.)
      sm.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.alarmTopic.topicArn] }));
    }
    serving?.servingVersionParameter.grantRead(sm);
    acknowledgeWildcardResources(sm, [`${fnArn}:*`], 'lambda:InvokeFunction on <function ARN>:* covers the versions and aliases of the '
      + 'schedule\'s one function only');
    acknowledgeWildcardResources(sm, ['*'], 'Step Functions log delivery and X-Ray (logs:CreateLogDelivery, xray:PutTraceSegments, ...) '
      + 'support no resource-level permissions');
    return sm;
  }

  /** A start and a stop schedule per window, and the guard's (when a guard is set), all starting Control executions. */
  private schedules(windows: ModelWindow[], timeZone: string, guardInterval: Duration | undefined): void {
    const role = new iam.Role(this, 'SchedulerRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: starts the model schedule\'s Control executions' });
    this.stateMachine.grantStartExecution(role);
    // A late delivery must not act in the wrong window: a start is dropped after 15 minutes, a stop or guard after an hour.
    const schedule = (id: string, expression: string, action: string, maxAgeSeconds: number, tz?: string) => {
      const s = new scheduler.CfnSchedule(this, id, {
        scheduleExpression: expression,
        ...(tz ? { scheduleExpressionTimezone: tz } : {}),
        flexibleTimeWindow: { mode: 'OFF' },
        description: `${this.node.path}: ${action} (${expression}${tz ? ` ${tz}` : ''})`.slice(0, 512),
        target: { arn: this.stateMachine.stateMachineArn, roleArn: role.roleArn, input: JSON.stringify({ action }),
          retryPolicy: { maximumEventAgeInSeconds: maxAgeSeconds, maximumRetryAttempts: 20 } },
      });
      // A rate schedule fires as it is created: the role's policy must exist by then.
      s.node.addDependency(role);
    };
    windows.forEach((w, i) => {
      schedule(`Window${i}Start`, w.start, 'start', 900, timeZone);
      schedule(`Window${i}Stop`, w.stop, 'stop', 3600, timeZone);
    });
    if (guardInterval) {
      const minutes = guardInterval.toMinutes();
      schedule('Guard', `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`, 'guard', 3600);
    }
  }
}
