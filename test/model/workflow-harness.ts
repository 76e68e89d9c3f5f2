/**
 * Runs the workflow definition with aws-local-stepfunctions (the interpreter the offline runner uses) against a small
 * stateful fake of the project, with the real gate and notify logic as the Lambda tasks. Waits and retries take no time.
 */
import { applyGate } from '../../lambda/gate/gate';
import { buildOutcome } from '../../lambda/notify/notify';
import { ModelVersionConfig, WorkflowInput, workflowInputFor } from '../../lib/model/contracts';

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22); Node 20 needs it polyfilled before loading it.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= function withResolvers() {
  let resolve: unknown;
  let reject: unknown;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as {
  StateMachine: new (definition: unknown, options?: unknown) => { run(input: unknown, options?: unknown): { result: Promise<unknown> } };
};

type Json = Record<string, unknown>;

export interface FakeOptions {
  trainingPolls?: number;
  trainingFailure?: string;
  evaluationF1?: number;
  labelF1?: Record<string, number>;
  serving?: string;
  existing?: { status: string };
  faults?: Record<string, string[]>;
  serviceSplit?: boolean;
  busyPolls?: number;
  oldDatasets?: boolean;
  startFails?: string;
}

export class FakeProject {
  readonly calls: Array<{ op: string; input: unknown }> = [];
  readonly events: Json[] = [];
  serving: string;
  readonly newVersionArn = 'arn:aws:rekognition:us-east-1:123456789012:project/p1/version/model-0123456789abcdef/1';
  startedWith?: Json;
  private versionStatus?: string;
  private polls = 0;
  private busy: number;
  private datasets: { train: string; test: string };
  private readonly faults: Record<string, string[]>;

  constructor(private readonly o: FakeOptions) {
    this.serving = o.serving ?? 'none';
    this.busy = o.busyPolls ?? 0;
    this.datasets = o.oldDatasets ? { train: 'ds-old-train', test: 'ds-old-test' } : { train: '', test: '' };
    this.versionStatus = o.existing?.status;
    this.faults = { ...(o.faults ?? {}) };
  }

  private fault(op: string): void {
    const next = this.faults[op]?.shift();
    if (next) {
      const e = new Error(`injected ${next}`);
      e.name = next;
      throw e;
    }
  }

  handlers(): Record<string, (input: Json) => Promise<unknown>> {
    const rec = (op: string, input: unknown) => this.calls.push({ op, input });
    const lambda = (payload: unknown) => ({ StatusCode: 200, Payload: payload });
    const probe = async () => {
      rec('probe', {});
      const busy = this.busy > 0;
      if (busy) this.busy--;
      const deleting = this.datasets.train.startsWith('deleting') || this.datasets.test.startsWith('deleting');
      const view = { ...this.datasets };
      if (deleting) this.datasets = { train: '', test: '' };
      return lambda({
        busy, busyReason: busy ? 'version other-1 is TRAINING_IN_PROGRESS' : '',
        version: this.versionStatus ? { exists: true, arn: this.newVersionArn, status: this.versionStatus, statusMessage: '' }
          : { exists: false, arn: '', status: '', statusMessage: '' },
        datasets: view,
      });
    };
    const describeVersion = async () => {
      rec('describeProjectVersions', {});
      if (this.versionStatus === 'TRAINING_IN_PROGRESS') {
        this.polls++;
        if (this.polls >= (this.o.trainingPolls ?? 1)) this.versionStatus = this.o.trainingFailure ? 'TRAINING_FAILED' : 'TRAINING_COMPLETED';
      } else if (this.versionStatus === 'STARTING') {
        this.versionStatus = this.o.startFails ? 'FAILED' : 'RUNNING';
      }
      const message = this.versionStatus === 'TRAINING_FAILED' ? this.o.trainingFailure : this.versionStatus === 'FAILED' ? this.o.startFails : undefined;
      return { ProjectVersionDescriptions: [{ ProjectVersionArn: this.newVersionArn, Status: this.versionStatus, StatusMessage: message }] };
    };
    const datasetState = { status: 'CREATE_COMPLETE' };
    return {
      CheckProject: probe,
      CheckDatasetsDeleted: probe,
      PrepareData: async () => {
        rec('prepare', {});
        return lambda({ training: { Bucket: 'data', Name: 'm/training.manifest' },
          testing: this.o.serviceSplit ? { Bucket: '', Name: '' } : { Bucket: 'data', Name: 'm/testing.manifest' },
          serviceSplit: this.o.serviceSplit ?? false, trainingLines: 10, testingLines: 2, images: 12 });
      },
      DeleteTrainDataset: async () => {
        rec('deleteDataset:train', {});
        this.datasets.train = 'deleting-train';
        return {};
      },
      DeleteTestDataset: async () => {
        rec('deleteDataset:test', {});
        this.datasets.test = 'deleting-test';
        return {};
      },
      CreateTrainDataset: async (input) => {
        rec('createDataset:TRAIN', input);
        this.fault('createDataset');
        return { DatasetArn: 'ds-train' };
      },
      CreateTestDataset: async (input) => {
        rec('createDataset:TEST', input);
        return { DatasetArn: 'ds-test' };
      },
      CreateEmptyTestDataset: async (input) => {
        rec('createDataset:TEST:empty', input);
        return { DatasetArn: 'ds-test' };
      },
      DescribeTrainDataset: async () => ({ DatasetDescription: { Status: datasetState.status } }),
      DescribeTestDataset: async () => ({ DatasetDescription: { Status: datasetState.status } }),
      DistributeEntries: async () => {
        rec('distributeDatasetEntries', {});
        datasetState.status = 'UPDATE_COMPLETE';
        return {};
      },
      GetServingVersion: async () => ({ Parameter: { Value: this.serving } }),
      CreateVersion: async (input) => {
        rec('createProjectVersion', input);
        this.fault('createProjectVersion');
        this.versionStatus = 'TRAINING_IN_PROGRESS';
        return { ProjectVersionArn: this.newVersionArn };
      },
      CreateVersionWithKey: async (input) => {
        rec('createProjectVersion', input);
        this.versionStatus = 'TRAINING_IN_PROGRESS';
        return { ProjectVersionArn: this.newVersionArn };
      },
      DescribeTraining: describeVersion,
      DescribeStarting: describeVersion,
      Evaluate: async (input) => {
        rec('gate', input);
        const req = input.Payload as { gate: { minF1: number; minLabelF1: number; mustNotRegress: boolean } };
        const f1 = this.o.evaluationF1 ?? 0.9;
        const labels = Object.entries(this.o.labelF1 ?? { a: f1, b: f1 }).map(([label, v]) => ({ label, f1: v }));
        const decision = applyGate(req.gate, { f1, labels }, undefined);
        return lambda({ ...decision, versionArn: this.newVersionArn, status: this.versionStatus, f1, servingF1: -1, labels });
      },
      StartVersion: async (input) => {
        rec('startProjectVersion', input);
        this.startedWith = { MinInferenceUnits: input.MinInferenceUnits, MaxInferenceUnits: input.MaxInferenceUnits };
        this.versionStatus = 'STARTING';
        return { Status: 'STARTING' };
      },
      Promote: async (input) => {
        rec('putParameter', input);
        this.serving = String(input.Value);
        return {};
      },
      StopPreviousVersion: async (input) => {
        rec(`stopProjectVersion:${String(input.ProjectVersionArn)}`, input);
        return {};
      },
      StopNewVersion: async (input) => {
        rec(`stopProjectVersion:${String(input.ProjectVersionArn)}`, input);
        return {};
      },
      NotifySuccess: async (input) => lambda(buildOutcome(input.Payload as Parameters<typeof buildOutcome>[0])),
      NotifyFailure: async (input) => lambda(buildOutcome(input.Payload as Parameters<typeof buildOutcome>[0])),
      PublishSuccessEvent: async (input) => this.event(input),
      PublishFailureEvent: async (input) => this.event(input),
      PublishSuccessMessage: async (input) => {
        rec('publish', input);
        return {};
      },
      PublishFailureMessage: async (input) => {
        rec('publish', input);
        return {};
      },
    };
  }

  private async event(input: Json): Promise<unknown> {
    this.calls.push({ op: 'putEvents', input });
    this.events.push(...(input.Entries as Json[]));
    return { FailedEntryCount: 0 };
  }
}

export function baseConfig(overrides: Partial<ModelVersionConfig> = {}): ModelVersionConfig {
  return {
    modelPath: 'Stack/Model',
    projectArn: 'arn:aws:rekognition:us-east-1:123456789012:project/p1/1',
    projectName: 'p1',
    versionPrefix: 'model',
    synthFingerprint: '0123456789abcdef',
    fingerprintComplete: true,
    modelType: '',
    training: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'training.manifest' } },
    testing: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'testing.manifest' } },
    dataBucket: 'data',
    outputBucket: 'data',
    kmsKeyId: '',
    tags: {},
    gate: { minF1: 0, minLabelF1: 0, mustNotRegress: false },
    deployment: { enabled: false, minInferenceUnits: 1, maxInferenceUnits: 1 },
    trainingTimeoutSeconds: 3600,
    servingParameterName: 'serving',
    waitHandleUrl: '',
    notificationTopicArn: 'arn:aws:sns:us-east-1:123456789012:topic',
    removal: 'RETAIN',
    ...overrides,
  };
}

export interface RunResult {
  output?: unknown;
  error?: { Error: string; Cause: string };
}

export async function runWorkflow(definition: Json, config: ModelVersionConfig, project: FakeProject): Promise<RunResult> {
  const states = definition.States as Record<string, Json>;
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name, s] of Object.entries(states)) {
    if (s.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (s.Type === 'Task') retryIntervalOverrides[name] = 0;
  }
  const input: WorkflowInput = workflowInputFor(config, 'model-0123456789abcdef');
  const run = machine.run(input, {
    overrides: { taskResourceLocalHandlers: project.handlers(), waitTimeOverrides, retryIntervalOverrides },
  });
  try {
    return { output: await run.result };
  } catch (e) {
    const err = e as { cause?: { name?: string; message?: string; errorName?: string }; message?: string; name?: string };
    const cause = err.cause as { name?: string; message?: string } | undefined;
    return { error: { Error: cause?.name ?? err.name ?? 'Error', Cause: cause?.message ?? err.message ?? '' } };
  }
}
