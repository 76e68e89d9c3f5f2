/**
 * The Amazon States Language definition of the model workflow, one per stack, shared by every model (all settings
 * come from the execution input, see WorkflowInput in contracts.ts).
 *
 * Written as plain JSONPath ASL rather than with the sfn constructs so that what the offline runner executes is
 * exactly what we test here. Local-interpreter limits respected (toolchain.md): no JSONata, no `Assign`, no
 * `$$.Task.Token`/`$$.State.Name`, no Pass `Result` of 0/false/""/null, explicit TimeoutSeconds on every Task.
 * Paths that may be missing are guarded with `IsPresent` in their own Choice, because a missing path is a
 * States.Runtime error that no Catch can handle.
 */
import { DETAIL_TYPE_FAILED, EVENT_SOURCE, WorkflowLimits, workflowLimits } from './contracts';

export interface WorkflowFunctionArns {
  readonly prepare: string;
  readonly gate: string;
  readonly notify: string;
}

type State = Record<string, unknown>;

/** The errors worth retrying on every Rekognition call (reference §1: every operation may raise them). */
export const REKOGNITION_RETRYABLE = [
  'Rekognition.ThrottlingException',
  // Step Functions names SDK errors <Service>.<Name>, always ending in 'Exception': InternalServerError -> ...ErrorException.
  'Rekognition.InternalServerErrorException',
  'Rekognition.ProvisionedThroughputExceededException',
];
const LAMBDA_RETRYABLE = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

const rekognitionRetry = [{ ErrorEquals: REKOGNITION_RETRYABLE, IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 6, MaxDelaySeconds: 60 }];
/**
 * A quota on inference units (LimitExceeded on StartProjectVersion) frees up only when another model stops: a few
 * minutes of retries, then the service's message. (A training slot is waited for in a loop on the shared budget.)
 */
const startRetry = [...rekognitionRetry, { ErrorEquals: ['Rekognition.LimitExceededException'], IntervalSeconds: 60, BackoffRate: 2, MaxAttempts: 3 }];
const lambdaRetry = [{ ErrorEquals: LAMBDA_RETRYABLE, IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 4 }];
// SSM, EventBridge and SNS name their errors differently per integration; a short generic retry covers throttling.
const serviceRetry = [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3 }];

const SDK_TIMEOUT = 60;

function rekognition(op: string, parameters: State, next: string, extra: State = {}): State {
  return {
    Type: 'Task',
    Resource: `arn:aws:states:::aws-sdk:rekognition:${op}`,
    Parameters: parameters,
    TimeoutSeconds: SDK_TIMEOUT,
    Retry: rekognitionRetry,
    Next: next,
    ...extra,
  };
}

function lambda(functionArn: string, payload: State, next: string, timeoutSeconds: number, extra: State = {}): State {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: functionArn, Payload: payload },
    TimeoutSeconds: timeoutSeconds,
    Retry: lambdaRetry,
    Next: next,
    ...extra,
  };
}

const catchTo = (next: string): State[] => [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: next }];
/** CreateProjectVersion: too many trainings at once in the account means waiting for a slot, on the shared budget. */
const trainingSlotCatch: State[] = [
  { ErrorEquals: ['Rekognition.LimitExceededException'], ResultPath: '$.limitError', Next: 'TrainingSlotBudget' }, ...catchTo('NotifyFailure'),
];

/** A Pass that records a failure in `$.error` (details: a service description, for the reason). */
function failWith(error: string, cause: State, next: string): State {
  return { Type: 'Pass', Parameters: { Error: error, ...cause }, ResultPath: '$.error', Next: next };
}

/**
 * A Pass that adds `$.limits.<pollSeconds>` to the seconds waited from the shared budget, then goes to `next` (the loop's
 * Wait): every way into a budget-bound wait goes through it, so the budget counts every second waited.
 */
function countWaited(name: string, pollSeconds: string, next: string): Record<string, State> {
  return { [name]: { Type: 'Pass', Parameters: { 's.$': `States.MathAdd($.loops.waited.s, $.limits.${pollSeconds})` }, ResultPath: '$.loops.waited',
    Next: next } };
}

/** The Choice rule that leaves a budget-bound loop once the shared budget is spent. */
const budgetSpent = (next: string): State => ({ Variable: '$.loops.waited.s', NumericGreaterThanEqualsPath: '$.limits.waitBudgetSeconds', Next: next });

const describeVersion = { 'ProjectArn.$': '$.config.projectArn', 'VersionNames.$': 'States.Array($.config.versionName)' };
interface VersionPoll {
  /** `Training`, `Starting` or `Stopping`: names the states (`Describe<name>`, `<name>Visible`, `<name>State`, `Count<name>`) and `$.<name>`. */
  readonly name: string;
  /** The Wait state's name, the loop's entry. */
  readonly wait: string;
  /** `$.limits.<pollSeconds>` is the wait. */
  readonly pollSeconds: string;
  /** The shared wait budget bounds the loop; else `$.loops.<name lower-cased>.n` against `$.limits.<limit>`. */
  readonly bound: { readonly budget: true } | { readonly limit: string };
  /** [status, next state] pairs that leave the loop. */
  readonly done: [string, string];
  /** Absent for a loop whose operation has no failed status (a stop ends STOPPED). */
  readonly failed?: [string, string];
  readonly tooLong: string;
  readonly onError: string;
}

/**
 * Count -> Wait -> DescribeProjectVersions -> Choice on the version's status (and the bound) -> Count. The loop is entered
 * at its count, so what is counted is what was waited. The version may not be listed yet: its status is looked at only
 * once present (a missing path is a runtime error no Catch handles).
 */
function versionPoll(o: VersionPoll): Record<string, State> {
  const key = o.name.toLowerCase();
  const status = `$.${key}.descriptions[0].Status`;
  const bounded: State = 'budget' in o.bound ? budgetSpent(o.tooLong)
    : { Variable: `$.loops.${key}.n`, NumericGreaterThanEqualsPath: `$.limits.${o.bound.limit}`, Next: o.tooLong };
  const count: Record<string, State> = 'budget' in o.bound ? countWaited(`Count${o.name}`, o.pollSeconds, o.wait)
    : { [`Count${o.name}`]: { Type: 'Pass', Parameters: { 'n.$': `States.MathAdd($.loops.${key}.n, 1)` }, ResultPath: `$.loops.${key}`, Next: o.wait } };
  return {
    [o.wait]: { Type: 'Wait', SecondsPath: `$.limits.${o.pollSeconds}`, Next: `Describe${o.name}` },
    [`Describe${o.name}`]: rekognition('describeProjectVersions', describeVersion, `${o.name}Visible`, {
      ResultSelector: { 'descriptions.$': '$.ProjectVersionDescriptions' }, ResultPath: `$.${key}`, Catch: catchTo(o.onError),
    }),
    [`${o.name}Visible`]: {
      Type: 'Choice',
      Choices: [{ Variable: status, IsPresent: true, Next: `${o.name}State` }, bounded],
      Default: `Count${o.name}`,
    },
    [`${o.name}State`]: {
      Type: 'Choice',
      Choices: [
        { Variable: status, StringEquals: o.done[0], Next: o.done[1] },
        ...(o.failed ? [{ Variable: status, StringEquals: o.failed[0], Next: o.failed[1] }] : []),
        bounded,
      ],
      Default: `Count${o.name}`,
    },
    ...count,
  };
}

/**
 * `Publish<kind>Event` (EventBridge, always) then `HasTopicOn<kind>` / `Publish<kind>Message` (SNS, when a topic is set),
 * then `end`. A publish that fails is noted in `$.publishError` and the run goes on: the outcome does not change.
 */
function publishOutcome(kind: string, detailType: State, subject: State, end: string): Record<string, State> {
  const noted = (next: string): State[] => [{ ErrorEquals: ['States.ALL'], ResultPath: '$.publishError', Next: next }];
  return {
    [`Publish${kind}Event`]: {
      Type: 'Task',
      Resource: 'arn:aws:states:::events:putEvents',
      Parameters: { Entries: [{ Source: EVENT_SOURCE, ...detailType, 'Detail.$': '$.outcome.detail' }] },
      TimeoutSeconds: SDK_TIMEOUT,
      Retry: serviceRetry,
      ResultPath: null,
      Catch: noted(`HasTopicOn${kind}`),
      Next: `HasTopicOn${kind}`,
    },
    [`HasTopicOn${kind}`]: {
      Type: 'Choice',
      Choices: [{ Not: { Variable: '$.config.notificationTopicArn', StringEquals: '' }, Next: `Publish${kind}Message` }],
      Default: end,
    },
    [`Publish${kind}Message`]: {
      Type: 'Task',
      Resource: 'arn:aws:states:::sns:publish',
      Parameters: { 'TopicArn.$': '$.config.notificationTopicArn', 'Message.$': '$.outcome.message', ...subject },
      TimeoutSeconds: SDK_TIMEOUT,
      Retry: serviceRetry,
      ResultPath: null,
      Catch: noted(end),
      Next: end,
    },
  };
}


/** Builds the definition. Function ARNs may be CDK tokens (the caller renders with Stack.toJsonString). */
export function buildWorkflowDefinition(arns: WorkflowFunctionArns): State {
  const states: Record<string, State> = {
    // ---- 1. What is there already? -----------------------------------------------------------------------------
    CheckProject: lambda(arns.prepare, {
      action: 'probe',
      'projectArn.$': '$.config.projectArn',
      'projectName.$': '$.config.projectName',
      'versionName.$': '$.config.versionName',
    }, 'ProjectState', 60, {
      ResultSelector: { 'busy.$': '$.Payload.busy', 'busyReason.$': '$.Payload.busyReason', 'version.$': '$.Payload.version', 'datasets.$': '$.Payload.datasets' },
      ResultPath: '$.probe',
      Catch: catchTo('NotifyFailure'),
    }),
    ProjectState: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.probe.version.exists', BooleanEquals: true, Next: 'ExistingVersion' },
        { And: [{ Variable: '$.probe.busy', BooleanEquals: true }, { Variable: '$.loops.waited.s', NumericGreaterThanEqualsPath: '$.limits.waitBudgetSeconds' }],
          Next: 'ProjectBusyTooLong' },
        { Variable: '$.probe.busy', BooleanEquals: true, Next: 'CountIdle' },
      ],
      Default: 'PrepareData',
    },
    ...countWaited('CountIdle', 'trainingPollSeconds', 'WaitWhileProjectBusy'),
    WaitWhileProjectBusy: { Type: 'Wait', SecondsPath: '$.limits.trainingPollSeconds', Next: 'CheckProject' },
    ProjectBusyTooLong: failWith('ProjectBusy', {
      'Cause.$': "States.Format('The project stayed busy past trainingTimeout ({} seconds of waiting in all): {}', $.config.trainingTimeoutSeconds, "
        + '$.probe.busyReason)',
    }, 'NotifyFailure'),
    ExistingVersion: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.probe.version.status', StringEquals: 'TRAINING_FAILED', Next: 'ExistingVersionFailed' },
        { Variable: '$.probe.version.status', StringEquals: 'TRAINING_IN_PROGRESS', Next: 'AdoptTrainingVersion' },
      ],
      Default: 'AdoptVersion',
    },
    ExistingVersionFailed: failWith('TrainingFailed', {
      'Cause.$': "States.Format('Version {} already exists and its training failed (a version name is never reused): {}', "
        + '$.config.versionName, $.probe.version.statusMessage)',
    }, 'NotifyFailure'),
    AdoptTrainingVersion: { Type: 'Pass', Parameters: { 'arn.$': '$.probe.version.arn' }, ResultPath: '$.version', Next: 'CountTraining' },
    AdoptVersion: { Type: 'Pass', Parameters: { 'arn.$': '$.probe.version.arn' }, ResultPath: '$.version', Next: 'GetServingVersion' },

    // ---- 2. Data: manifests into the data bucket, then fresh TRAIN/TEST datasets ------------------------------------
    PrepareData: lambda(arns.prepare, { action: 'prepare', 'config.$': '$.config' }, 'AnyDatasets', 900, {
      ResultSelector: { 'training.$': '$.Payload.training', 'testing.$': '$.Payload.testing', 'serviceSplit.$': '$.Payload.serviceSplit' },
      ResultPath: '$.prepared',
      Catch: catchTo('NotifyFailure'),
    }),
    AnyDatasets: {
      Type: 'Choice',
      Choices: [
        { Not: { Variable: '$.probe.datasets.train', StringEquals: '' }, Next: 'DeleteTrainDataset' },
        { Not: { Variable: '$.probe.datasets.test', StringEquals: '' }, Next: 'DeleteTestDataset' },
      ],
      Default: 'CreateTrainDataset',
    },
    DeleteTrainDataset: rekognition('deleteDataset', { 'DatasetArn.$': '$.probe.datasets.train' }, 'HasTestDataset', {
      ResultPath: null,
      Catch: [{ ErrorEquals: ['Rekognition.ResourceNotFoundException'], ResultPath: null, Next: 'HasTestDataset' }, ...catchTo('NotifyFailure')],
    }),
    HasTestDataset: {
      Type: 'Choice',
      Choices: [{ Not: { Variable: '$.probe.datasets.test', StringEquals: '' }, Next: 'DeleteTestDataset' }],
      Default: 'CountDatasetsDeleting',
    },
    DeleteTestDataset: rekognition('deleteDataset', { 'DatasetArn.$': '$.probe.datasets.test' }, 'CountDatasetsDeleting', {
      ResultPath: null,
      Catch: [{ ErrorEquals: ['Rekognition.ResourceNotFoundException'], ResultPath: null, Next: 'CountDatasetsDeleting' },
        ...catchTo('NotifyFailure')],
    }),
    WaitForDatasetsDeleted: { Type: 'Wait', SecondsPath: '$.limits.datasetPollSeconds', Next: 'CheckDatasetsDeleted' },
    CheckDatasetsDeleted: lambda(arns.prepare, {
      action: 'probe',
      'projectArn.$': '$.config.projectArn',
      'projectName.$': '$.config.projectName',
      'versionName.$': '$.config.versionName',
    }, 'DatasetsDeleted', 60, {
      ResultSelector: { 'busy.$': '$.Payload.busy', 'busyReason.$': '$.Payload.busyReason', 'version.$': '$.Payload.version', 'datasets.$': '$.Payload.datasets' },
      ResultPath: '$.probe',
      Catch: catchTo('NotifyFailure'),
    }),
    DatasetsDeleted: {
      Type: 'Choice',
      Choices: [{
        And: [{ Variable: '$.probe.datasets.train', StringEquals: '' }, { Variable: '$.probe.datasets.test', StringEquals: '' }],
        Next: 'CreateTrainDataset',
      }, budgetSpent('DatasetsTooSlow')],
      Default: 'CountDatasetsDeleting',
    },
    ...countWaited('CountDatasetsDeleting', 'datasetPollSeconds', 'WaitForDatasetsDeleted'),
    // Tags are set with TagResource once a dataset exists: CreateDataset's Tags member is recent, and Step Functions'
    // SDK integrations may not know it yet [inferred: not in the integration's documentation we could check].
    CreateTrainDataset: rekognition('createDataset', {
      'ProjectArn.$': '$.config.projectArn',
      DatasetType: 'TRAIN',
      DatasetSource: { GroundTruthManifest: { S3Object: { 'Bucket.$': '$.prepared.training.Bucket', 'Name.$': '$.prepared.training.Name' } } },
    }, 'TestSource', { ResultSelector: { 'arn.$': '$.DatasetArn' }, ResultPath: '$.trainDataset', Catch: catchTo('NotifyFailure') }),
    TestSource: {
      Type: 'Choice',
      Choices: [{ Variable: '$.prepared.serviceSplit', BooleanEquals: true, Next: 'CreateEmptyTestDataset' }],
      Default: 'CreateTestDataset',
    },
    CreateTestDataset: rekognition('createDataset', {
      'ProjectArn.$': '$.config.projectArn',
      DatasetType: 'TEST',
      DatasetSource: { GroundTruthManifest: { S3Object: { 'Bucket.$': '$.prepared.testing.Bucket', 'Name.$': '$.prepared.testing.Name' } } },
    }, 'HasTags', { ResultSelector: { 'arn.$': '$.DatasetArn' }, ResultPath: '$.testDataset', Catch: catchTo('NotifyFailure') }),
    CreateEmptyTestDataset: rekognition('createDataset', {
      'ProjectArn.$': '$.config.projectArn',
      DatasetType: 'TEST',
    }, 'HasTags', { ResultSelector: { 'arn.$': '$.DatasetArn' }, ResultPath: '$.testDataset', Catch: catchTo('NotifyFailure') }),
    HasTags: {
      Type: 'Choice',
      Choices: [{ Variable: '$.config.hasTags', BooleanEquals: true, Next: 'TagTrainDataset' }],
      Default: 'CountDatasets',
    },
    TagTrainDataset: rekognition('tagResource', { 'ResourceArn.$': '$.trainDataset.arn', 'Tags.$': '$.config.tags' }, 'TagTestDataset', {
      ResultPath: null, Catch: catchTo('NotifyFailure'),
    }),
    TagTestDataset: rekognition('tagResource', { 'ResourceArn.$': '$.testDataset.arn', 'Tags.$': '$.config.tags' }, 'CountDatasets', {
      ResultPath: null, Catch: catchTo('NotifyFailure'),
    }),
    WaitForDatasets: { Type: 'Wait', SecondsPath: '$.limits.datasetPollSeconds', Next: 'DescribeTrainDataset' },
    DescribeTrainDataset: rekognition('describeDataset', { 'DatasetArn.$': '$.trainDataset.arn' }, 'DescribeTestDataset', {
      ResultSelector: { 'description.$': '$.DatasetDescription' }, ResultPath: '$.trainDataset.state', Catch: catchTo('NotifyFailure'),
    }),
    DescribeTestDataset: rekognition('describeDataset', { 'DatasetArn.$': '$.testDataset.arn' }, 'DatasetsState', {
      ResultSelector: { 'description.$': '$.DatasetDescription' }, ResultPath: '$.testDataset.state', Catch: catchTo('NotifyFailure'),
    }),
    DatasetsState: {
      Type: 'Choice',
      Choices: [
        { Or: [{ Variable: '$.trainDataset.state.description.Status', StringEquals: 'CREATE_FAILED' },
          { Variable: '$.trainDataset.state.description.Status', StringEquals: 'UPDATE_FAILED' }], Next: 'TrainDatasetFailed' },
        { Or: [{ Variable: '$.testDataset.state.description.Status', StringEquals: 'CREATE_FAILED' },
          { Variable: '$.testDataset.state.description.Status', StringEquals: 'UPDATE_FAILED' }], Next: 'TestDatasetFailed' },
        // After DistributeDatasetEntries only UPDATE_COMPLETE counts: CREATE_COMPLETE is the state before it.
        {
          And: [{ Variable: '$.distributed', IsPresent: true },
            { Variable: '$.trainDataset.state.description.Status', StringEquals: 'UPDATE_COMPLETE' },
            { Variable: '$.testDataset.state.description.Status', StringEquals: 'UPDATE_COMPLETE' }],
          Next: 'GetServingVersion',
        },
        {
          And: [{ Not: { Variable: '$.distributed', IsPresent: true } },
            { Variable: '$.trainDataset.state.description.Status', StringEquals: 'CREATE_COMPLETE' },
            { Variable: '$.testDataset.state.description.Status', StringEquals: 'CREATE_COMPLETE' }],
          Next: 'NeedsServiceSplit',
        },
        budgetSpent('DatasetsTooSlow'),
      ],
      Default: 'CountDatasets',
    },
    ...countWaited('CountDatasets', 'datasetPollSeconds', 'WaitForDatasets'),
    DatasetsTooSlow: failWith('Timeout', {
      'Cause.$': "States.Format('The datasets were not ready within trainingTimeout ({} seconds of waiting in all)', $.config.trainingTimeoutSeconds)",
    }, 'NotifyFailure'),
    TrainDatasetFailed: failWith('DatasetFailed', { Cause: 'The training dataset failed', 'details.$': '$.trainDataset.state.description' },
      'NotifyFailure'),
    TestDatasetFailed: failWith('DatasetFailed', { Cause: 'The test dataset failed', 'details.$': '$.testDataset.state.description' },
      'NotifyFailure'),
    NeedsServiceSplit: {
      Type: 'Choice',
      Choices: [{ Variable: '$.prepared.serviceSplit', BooleanEquals: true, Next: 'DistributeEntries' }],
      Default: 'GetServingVersion',
    },
    DistributeEntries: rekognition('distributeDatasetEntries', {
      Datasets: [{ 'Arn.$': '$.trainDataset.arn' }, { 'Arn.$': '$.testDataset.arn' }],
    }, 'MarkDistributed', { ResultPath: null, Catch: catchTo('NotifyFailure') }),
    MarkDistributed: { Type: 'Pass', Result: { done: true }, ResultPath: '$.distributed', Next: 'CountDatasets' },

    // ---- 3. Train --------------------------------------------------------------------------------------------
    GetServingVersion: {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter',
      Parameters: { 'Name.$': '$.config.servingParameterName' },
      TimeoutSeconds: SDK_TIMEOUT,
      Retry: serviceRetry,
      ResultSelector: { 'arn.$': '$.Parameter.Value' },
      ResultPath: '$.serving',
      Catch: catchTo('NotifyFailure'),
      Next: 'NeedsTraining',
    },
    NeedsTraining: {
      Type: 'Choice',
      Choices: [{ Variable: '$.version.arn', IsPresent: true, Next: 'Evaluate' }],
      Default: 'WithKmsKey',
    },
    WithKmsKey: {
      Type: 'Choice',
      Choices: [{ Variable: '$.config.kmsKeyId', StringEquals: '', Next: 'CreateVersion' }],
      Default: 'CreateVersionWithKey',
    },
    CreateVersion: rekognition('createProjectVersion', {
      'ProjectArn.$': '$.config.projectArn',
      'VersionName.$': '$.config.versionName',
      OutputConfig: { 'S3Bucket.$': '$.config.outputBucket', 'S3KeyPrefix.$': '$.config.outputPrefix' },
      'Tags.$': '$.config.tags',
    }, 'CountTraining', { ResultSelector: { 'arn.$': '$.ProjectVersionArn' }, ResultPath: '$.version', Catch: trainingSlotCatch }),
    CreateVersionWithKey: rekognition('createProjectVersion', {
      'ProjectArn.$': '$.config.projectArn',
      'VersionName.$': '$.config.versionName',
      OutputConfig: { 'S3Bucket.$': '$.config.outputBucket', 'S3KeyPrefix.$': '$.config.outputPrefix' },
      'KmsKeyId.$': '$.config.kmsKeyId',
      'Tags.$': '$.config.tags',
    }, 'CountTraining', { ResultSelector: { 'arn.$': '$.ProjectVersionArn' }, ResultPath: '$.version', Catch: trainingSlotCatch }),
    TrainingSlotBudget: {
      Type: 'Choice',
      Choices: [budgetSpent('NoTrainingSlot')],
      Default: 'CountTrainingSlot',
    },
    ...countWaited('CountTrainingSlot', 'trainingPollSeconds', 'WaitForTrainingSlot'),
    WaitForTrainingSlot: { Type: 'Wait', SecondsPath: '$.limits.trainingPollSeconds', Next: 'WithKmsKey' },
    NoTrainingSlot: failWith('TrainingSlot', {
      'Cause.$': "States.Format('No training slot became free within trainingTimeout ({} seconds of waiting in all): {}', "
        + '$.config.trainingTimeoutSeconds, $.limitError.Cause)',
    }, 'NotifyFailure'),
    ...versionPoll({ name: 'Training', wait: 'WaitForTraining', pollSeconds: 'trainingPollSeconds', bound: { budget: true },
      done: ['TRAINING_COMPLETED', 'GetServingVersion'], failed: ['TRAINING_FAILED', 'TrainingFailed'], tooLong: 'TrainingTooLong',
      onError: 'NotifyFailure' }),
    // Custom Labels has no API to stop a training: the version finishes on its own and is left (stopped) for teardown.
    TrainingTooLong: failWith('Timeout', {
      'Cause.$': "States.Format('Training of {} did not finish within trainingTimeout ({} seconds of waiting in all)', $.config.versionName, "
        + '$.config.trainingTimeoutSeconds)',
    }, 'NotifyFailure'),
    TrainingFailed: failWith('TrainingFailed', { Cause: 'Training failed', 'details.$': '$.training.descriptions[0]' }, 'NotifyFailure'),

    // ---- 4. Gate ---------------------------------------------------------------------------------------------
    Evaluate: lambda(arns.gate, {
      'projectArn.$': '$.config.projectArn',
      'versionName.$': '$.config.versionName',
      'gate.$': '$.config.gate',
      'servingVersionArn.$': '$.serving.arn',
    }, 'GatePassed', 120, {
      ResultSelector: {
        'passed.$': '$.Payload.passed', 'reason.$': '$.Payload.reason', 'versionArn.$': '$.Payload.versionArn', 'status.$': '$.Payload.status',
        'f1.$': '$.Payload.f1', 'servingF1.$': '$.Payload.servingF1', 'labels.$': '$.Payload.labels',
        'report.$': '$.Payload.report', 'reportError.$': '$.Payload.reportError',
      },
      ResultPath: '$.gate',
      Catch: catchTo('NotifyFailure'),
    }),
    GatePassed: {
      Type: 'Choice',
      Choices: [{ Variable: '$.gate.passed', BooleanEquals: true, Next: 'RecordVersionArn' }],
      Default: 'GateFailed',
    },
    GateFailed: failWith('GateFailed', { 'Cause.$': '$.gate.reason' }, 'CleanUpNewVersion'),
    RecordVersionArn: { Type: 'Pass', Parameters: { 'arn.$': '$.gate.versionArn' }, ResultPath: '$.version', Next: 'Deploy' },

    // ---- 5. Deploy, promote, retire the previous version -------------------------------------------------------
    Deploy: {
      Type: 'Choice',
      Choices: [{ Variable: '$.config.deployment.enabled', BooleanEquals: true, Next: 'AlreadyRunning' }],
      Default: 'Promote',
    },
    AlreadyRunning: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.gate.status', StringEquals: 'RUNNING', Next: 'DescribeDeployed' },
        { Variable: '$.gate.status', StringEquals: 'STARTING', Next: 'CountStarting' },
      ],
      Default: 'StartVersion',
    },
    // An adopted version may run with other inference units than configured (only the deployment changed): the service
    // cannot change the units of a running model (reference §4, §9), so it is stopped and started again.
    DescribeDeployed: rekognition('describeProjectVersions', describeVersion, 'DeployedUnitsKnown', {
      ResultSelector: { 'descriptions.$': '$.ProjectVersionDescriptions' }, ResultPath: '$.deployed', Catch: catchTo('CleanUpNewVersion'),
    }),
    // Units the service does not report are not worth downtime: keep the version as it runs.
    DeployedUnitsKnown: {
      Type: 'Choice',
      Choices: [{ Variable: '$.deployed.descriptions[0].MinInferenceUnits', IsPresent: true, Next: 'SameMinUnits' }],
      Default: 'Promote',
    },
    SameMinUnits: {
      Type: 'Choice',
      Choices: [
        { Not: { Variable: '$.deployed.descriptions[0].MinInferenceUnits', NumericEqualsPath: '$.config.deployment.minInferenceUnits' },
          Next: 'StopForNewUnits' },
        { Variable: '$.deployed.descriptions[0].MaxInferenceUnits', IsPresent: true, Next: 'SameMaxUnits' },
      ],
      Default: 'NoMaxUnits',
    },
    SameMaxUnits: {
      Type: 'Choice',
      Choices: [{ Variable: '$.deployed.descriptions[0].MaxInferenceUnits', NumericEqualsPath: '$.config.deployment.maxInferenceUnits',
        Next: 'Promote' }],
      Default: 'StopForNewUnits',
    },
    // [inferred] a model started without MaxInferenceUnits does not scale: the same as a maximum equal to the minimum.
    NoMaxUnits: {
      Type: 'Choice',
      Choices: [{ Variable: '$.config.deployment.maxInferenceUnits', NumericEqualsPath: '$.config.deployment.minInferenceUnits',
        Next: 'Promote' }],
      Default: 'StopForNewUnits',
    },
    StopForNewUnits: rekognition('stopProjectVersion', { 'ProjectVersionArn.$': '$.version.arn' }, 'CountStopping', {
      ResultPath: null, Catch: catchTo('CleanUpNewVersion'),
    }),
    ...versionPoll({ name: 'Stopping', wait: 'WaitForStopped', pollSeconds: 'startPollSeconds', bound: { limit: 'maxStopPolls' },
      done: ['STOPPED', 'StartVersion'], tooLong: 'StopTooLong', onError: 'CleanUpNewVersion' }),
    StopTooLong: failWith('Timeout', {
      'Cause.$': "States.Format('Version {} did not stop within the workflow bound, so its new inference units were not applied', "
        + '$.config.versionName)',
    }, 'CleanUpNewVersion'),
    StartVersion: rekognition('startProjectVersion', {
      'ProjectVersionArn.$': '$.version.arn',
      'MinInferenceUnits.$': '$.config.deployment.minInferenceUnits',
      'MaxInferenceUnits.$': '$.config.deployment.maxInferenceUnits',
    }, 'CountStarting', { ResultPath: null, Retry: startRetry, Catch: catchTo('CleanUpNewVersion') }),
    ...versionPoll({ name: 'Starting', wait: 'WaitForRunning', pollSeconds: 'startPollSeconds', bound: { limit: 'maxStartPolls' },
      done: ['RUNNING', 'Promote'], failed: ['FAILED', 'StartFailed'], tooLong: 'StartTooLong', onError: 'CleanUpNewVersion' }),
    StartTooLong: failWith('Timeout', { Cause: 'The model version did not reach RUNNING within the workflow\'s bound' }, 'CleanUpNewVersion'),
    StartFailed: failWith('StartFailed', { Cause: 'Starting the model version failed', 'details.$': '$.starting.descriptions[0]' },
      'CleanUpNewVersion'),
    Promote: {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:ssm:putParameter',
      Parameters: { 'Name.$': '$.config.servingParameterName', 'Value.$': '$.version.arn', Overwrite: true },
      TimeoutSeconds: SDK_TIMEOUT,
      Retry: serviceRetry,
      ResultPath: null,
      Catch: catchTo('CleanUpNewVersion'),
      Next: 'HasPreviousVersion',
    },
    HasPreviousVersion: {
      Type: 'Choice',
      Choices: [{
        And: [
          { Variable: '$.config.deployment.enabled', BooleanEquals: true },
          { Not: { Variable: '$.serving.arn', StringEquals: 'none' } },
          { Not: { Variable: '$.serving.arn', StringEqualsPath: '$.version.arn' } },
        ],
        Next: 'StopPreviousVersion',
      }],
      Default: 'NotifySuccess',
    },
    // The previous version may already be stopped (ResourceInUse): that is the goal, so any error is noted, not fatal.
    StopPreviousVersion: rekognition('stopProjectVersion', { 'ProjectVersionArn.$': '$.serving.arn' }, 'NotifySuccess', {
      ResultPath: null,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.stopPreviousError', Next: 'NotifySuccess' }],
    }),

    // ---- 6. Outcome ------------------------------------------------------------------------------------------
    NotifySuccess: lambda(arns.notify, { action: 'success', 'state.$': '$' }, 'PublishSuccessEvent', 60, {
      ResultSelector: { 'detailType.$': '$.Payload.detailType', 'detail.$': '$.Payload.detail', 'message.$': '$.Payload.message',
        'reason.$': '$.Payload.reason' },
      ResultPath: '$.outcome',
      Catch: catchTo('NotifyFailure'),
    }),
    // The stack has been told already; a lost event or message must not turn a deployed model into a failure.
    ...publishOutcome('Success', { 'DetailType.$': '$.outcome.detailType' }, { 'Subject.$': '$.outcome.detailType' }, 'Succeeded'),
    Succeeded: { Type: 'Succeed' },

    // A failure once the new version exists: stop it unless it is the one serving (the serving version stays untouched).
    CleanUpNewVersion: {
      Type: 'Choice',
      Choices: [
        { Not: { Variable: '$.version.arn', IsPresent: true }, Next: 'NotifyFailure' },
        { Not: { Variable: '$.serving.arn', IsPresent: true }, Next: 'StopNewVersion' },
        { Variable: '$.serving.arn', StringEqualsPath: '$.version.arn', Next: 'NotifyFailure' },
      ],
      Default: 'StopNewVersion',
    },
    // A version that never started answers ResourceInUse: nothing to stop, so errors here only go on to the report.
    StopNewVersion: rekognition('stopProjectVersion', { 'ProjectVersionArn.$': '$.version.arn' }, 'NotifyFailure', {
      ResultPath: null,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.stopNewError', Next: 'NotifyFailure' }],
    }),
    NotifyFailure: lambda(arns.notify, { action: 'failure', 'state.$': '$' }, 'PublishFailureEvent', 60, {
      ResultSelector: { 'detailType.$': '$.Payload.detailType', 'detail.$': '$.Payload.detail', 'message.$': '$.Payload.message',
        'reason.$': '$.Payload.reason' },
      ResultPath: '$.outcome',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: 'NotifyFailed' }],
    }),
    NotifyFailed: { Type: 'Fail', Error: 'NotifyFailed', Cause: 'The workflow failed and its notify step failed too; see the execution history' },
    ...publishOutcome('Failure', { DetailType: DETAIL_TYPE_FAILED }, { Subject: DETAIL_TYPE_FAILED }, 'Failed'),
    Failed: { Type: 'Fail', Error: 'CustomLabelsModelFailed', CausePath: '$.outcome.reason' },
  };
  return {
    Comment: 'Trains, gates, deploys and promotes Rekognition Custom Labels model versions (cdk-rekognition-custom-labels)',
    StartAt: 'CheckProject',
    // A backstop only: every wait is bounded by the run's own limits (see workflowBoundSeconds), well inside this.
    TimeoutSeconds: 80 * 3600,
    States: states,
  };
}

/** [inferred] Time an SDK call or a Lambda probe inside a wait loop takes: seconds (its timeout is for a hung call, which fails the run). */
export const POLL_CALL_SECONDS = 2;

/**
 * The longest a run can take, in seconds: the shared wait budget (plus one interval a loop may overshoot), the start and
 * stop loops, every Task's timeout once plus its retry pauses ([inferred] a retried error is an answer that arrives in
 * seconds), and each poll's call. A stack that waits gets a wait condition at least this long, so the workflow always
 * reports its own reason first.
 */
export function workflowBoundSeconds(definition: State, limits: WorkflowLimits): number {
  let tasks = 0;
  for (const state of Object.values(definition.States as Record<string, State>)) {
    if (state.Type !== 'Task') continue;
    tasks += Number(state.TimeoutSeconds ?? 60);
    // The longest retrier of the state, each pause once.
    tasks += Math.max(0, ...((state.Retry as State[] | undefined) ?? []).map((r) => {
      let pauses = 0;
      for (let attempt = 1; attempt <= Number(r.MaxAttempts ?? 3); attempt++) {
        const delay = Number(r.IntervalSeconds ?? 1) * Math.pow(Number(r.BackoffRate ?? 2), attempt - 1);
        pauses += r.MaxDelaySeconds !== undefined ? Math.min(delay, Number(r.MaxDelaySeconds)) : delay;
      }
      return pauses;
    }));
  }
  const budgetPolls = Math.ceil(limits.waitBudgetSeconds / Math.min(limits.trainingPollSeconds, limits.datasetPollSeconds)) + 1;
  const modelPolls = limits.maxStartPolls + limits.maxStopPolls;
  return limits.waitBudgetSeconds + Math.max(limits.trainingPollSeconds, limits.datasetPollSeconds)
    + modelPolls * limits.startPollSeconds + tasks + (budgetPolls + modelPolls) * POLL_CALL_SECONDS;
}

/** The longest a CloudFormation wait condition may wait (AWS::CloudFormation::WaitCondition Timeout). */
export const MAX_WAIT_CONDITION_SECONDS = 43_200;
/** Time between the workflow giving up and the wait condition timing out: the notify step signals in it. */
export const WAIT_CONDITION_MARGIN_SECONDS = 300;

/** The wait condition's Timeout for a run of this training timeout: the run's bound plus a margin. */
export function waitConditionTimeoutSeconds(trainingTimeoutSeconds: number): number {
  const definition = buildWorkflowDefinition({ prepare: 'prepare', gate: 'gate', notify: 'notify' });
  return Math.ceil(workflowBoundSeconds(definition, workflowLimits(trainingTimeoutSeconds)) + WAIT_CONDITION_MARGIN_SECONDS);
}

let maxBlocking: number | undefined;
/** The longest trainingTimeout (whole minutes) whose run fits a wait condition. */
export function maxBlockingTrainingTimeoutSeconds(): number {
  if (maxBlocking === undefined) {
    let minutes = MAX_WAIT_CONDITION_SECONDS / 60;
    while (minutes > 1 && waitConditionTimeoutSeconds(minutes * 60) > MAX_WAIT_CONDITION_SECONDS) minutes -= 1;
    maxBlocking = minutes * 60;
  }
  return maxBlocking;
}
