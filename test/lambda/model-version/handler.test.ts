import { CreateProjectCommand, CreateProjectVersionCommand, DescribeProjectVersionsCommand, RekognitionClient,
  StartProjectVersionCommand, StopProjectVersionCommand } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

import { isComplete, onEvent, VersionEvent, VersionHandlerDeps } from '../../../lambda/model-version/handler';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { ModelVersionConfig, versionNameFor } from '../../../lib/model/contracts';
import { ExecutionHost, LocalStepFunctions } from '../../../lib/runner/executions';
import { LocalServices } from '../../../lib/runner/local-services';
import { MemoryParameterStore, ssmOperation } from '../../../lib/runner/sdk-tasks';
import { classificationSamples } from '../../../lib/samples/shapes';

// The model-version custom resource's handler against the runner's Step Functions (served over HTTP, as the offline
// runner serves it to handlers) and the Rekognition emulator: real executions, real versions.
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:models';
// Stands in for the model workflow: it waits (held there by the test while it wants the execution RUNNING), polls the
// version as the workflow does, then outputs the version name it was given. (A Task must follow the Wait: the runner
// holds an execution at the next Task, not at the Wait itself.)
const DEFINITION = JSON.stringify({
  StartAt: 'WaitForTraining',
  States: {
    WaitForTraining: { Type: 'Wait', Seconds: 60, Next: 'DescribeTraining' },
    DescribeTraining: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:rekognition:describeProjectVersions',
      Parameters: { 'ProjectArn.$': '$.config.projectArn' }, ResultPath: null, Next: 'Done' },
    Done: { Type: 'Pass', OutputPath: '$.config.versionName', End: true },
  },
});

let cloud: LocalCloud;
let services: LocalServices;
let steps: LocalStepFunctions;
let rekognition: RekognitionClient;
let deps: VersionHandlerDeps;
let s3: S3Client;
const parameters = new MemoryParameterStore({ p: 'none' });
let release: () => void = () => undefined;
let held: Promise<void> = Promise.resolve();
const projects: Record<string, string> = {};

function hold(): void {
  held = new Promise((resolve) => { release = resolve; });
}

function configFor(projectName: string, versionPrefix: string, fp: string, removal: 'DESTROY' | 'RETAIN' = 'DESTROY'): ModelVersionConfig {
  return {
    modelPath: `S/${projectName}/${versionPrefix}`, projectArn: projects[projectName], projectName, versionPrefix,
    synthFingerprint: fp, fingerprintComplete: true, modelType: '',
    training: { kind: 's3', manifest: { Bucket: 'data', Name: 'train.manifest' } }, testing: { kind: 'service' },
    dataBucket: 'data', outputBucket: 'data', kmsKeyId: '', tags: {},
    gate: { minF1: 0, minLabelF1: 0, mustNotRegress: false }, deployment: { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 1 },
    trainingTimeoutSeconds: 3600, servingParameterName: 'p', waitHandleUrl: '', notificationTopicArn: '', removal,
  };
}

function event(type: VersionEvent['RequestType'], requestId: string, config: ModelVersionConfig): VersionEvent {
  return { RequestType: type, RequestId: requestId, ...(type === 'Create' ? {} : { PhysicalResourceId: `${config.projectName}/${config.versionPrefix}` }),
    ResourceProperties: { Config: JSON.stringify(config), StateMachineArn: STATE_MACHINE } };
}

async function execution(executionArn: string): Promise<{ status?: string; input?: string; output?: string; error?: string }> {
  return deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
}

/** Status of each version of a project, by name. */
async function versions(projectName: string): Promise<Record<string, string>> {
  const res = await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projects[projectName] }));
  return Object.fromEntries((res.ProjectVersionDescriptions ?? []).map((v) => [v.ProjectVersionArn!.split('/')[3], v.Status!]));
}

async function advanceUntil(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    cloud.clock.advance(60_000);
    await cloud.emulator.idle();
  }
  throw new Error('never done');
}

/** Trains a version from the manifests in the data bucket and starts it. */
async function runningVersion(projectName: string, name: string): Promise<void> {
  await rekognition.send(new CreateProjectVersionCommand({ ProjectArn: projects[projectName], VersionName: name,
    OutputConfig: { S3Bucket: 'data', S3KeyPrefix: `output/${name}/` },
    TrainingData: { Assets: [{ GroundTruthManifest: { S3Object: { Bucket: 'data', Name: 'train.manifest' } } }] },
    TestingData: { Assets: [{ GroundTruthManifest: { S3Object: { Bucket: 'data', Name: 'test.manifest' } } }] } }));
  await advanceUntil(async () => (await versions(projectName))[name] === 'TRAINING_COMPLETED');
  const described = await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projects[projectName], VersionNames: [name] }));
  const versionArn = described.ProjectVersionDescriptions![0].ProjectVersionArn;
  await rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
  await advanceUntil(async () => (await versions(projectName))[name] === 'RUNNING');
}

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: ['data'] });
  const host: ExecutionHost = {
    stateMachine: (arn) => (arn === STATE_MACHINE ? { definition: DEFINITION, name: 'models' } : undefined),
    sdkHandler: async (service, action, parameters) => {
      expect(`${service}:${action}`).toBe('rekognition:describeProjectVersions');
      return rekognition.send(new DescribeProjectVersionsCommand(parameters as { ProjectArn: string }));
    },
    lambdaHandler: async () => { throw new Error('no Lambda task in this definition'); },
    record: () => undefined,
    now: () => cloud.clock.now(),
    advance: (ms) => cloud.clock.advance(ms),
    beforeWait: () => held,
  };
  steps = new LocalStepFunctions(host);
  services = await LocalServices.start({
    services: [
      { targetPrefix: 'AWSStepFunctions.', jsonVersion: '1.0', handle: (op, input) => steps.handle(op, input) },
      { targetPrefix: 'AmazonSSM.', jsonVersion: '1.1', handle: async (op, input) => ssmOperation(parameters, op, input, () => cloud.clock.now()) },
    ],
    puts: {},
  });
  const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  rekognition = new RekognitionClient({ ...clientConfig, endpoint: cloud.rekognitionEndpoint });
  s3 = new S3Client({ ...clientConfig, endpoint: cloud.s3Endpoint, forcePathStyle: true });
  deps = { rekognition, s3, sfn: new SFNClient({ ...clientConfig, endpoint: services.endpoint }),
    ssm: new SSMClient({ ...clientConfig, endpoint: services.endpoint }) };
  for (const name of ['p1', 'p2']) projects[name] = (await rekognition.send(new CreateProjectCommand({ ProjectName: name }))).ProjectArn!;
  // 3 labels x 4 images: 3 train, 1 tests.
  const samples = classificationSamples({ perLabel: 4, seed: 3 });
  const lines = samples.map((s) => JSON.stringify({ 'source-ref': `s3://data/images/${s.relPath}`, 'shape': 0,
    'shape-metadata': { 'class-name': s.labels[0], 'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes',
      'creation-date': '2026-01-01T00:00:00.000', 'job-name': 'labeling-job/shape' } }));
  for (const s of samples) await s3.send(new PutObjectCommand({ Bucket: 'data', Key: `images/${s.relPath}`, Body: s.bytes }));
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'train.manifest', Body: lines.filter((_, i) => i % 4 !== 3).join('\n') + '\n' }));
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'test.manifest', Body: lines.filter((_, i) => i % 4 === 3).join('\n') + '\n' }));
}, 60_000);

afterEach(async () => {
  release();
  await steps.settle();
});

afterAll(async () => {
  await services?.close();
  await cloud?.stop();
});

describe('Create/Update: the workflow really starts, once per request', () => {
  test('GIVEN a Create THEN one execution runs with the version\'s input; the same event again starts nothing new', async () => {
    hold();
    const config = configFor('p1', 'model', '0123456789abcdef');
    const versionName = versionNameFor('model', '0123456789abcdef');

    // WHEN onEvent handles a Create
    const created = await onEvent(event('Create', 'req-1', config), deps);

    // THEN an execution named after the version and the request is RUNNING, with the workflow's input for that version
    expect(created).toMatchObject({ PhysicalResourceId: 'p1/model', Data: { VersionName: versionName } });
    const executionArn = (created.Data as { ExecutionArn: string }).ExecutionArn;
    expect(executionArn).toMatch(new RegExp(`^arn:aws:states:us-east-1:123456789012:execution:models:${versionName}-[0-9a-f]{8}$`));
    const running = await execution(executionArn);
    expect(running.status).toBe('RUNNING');
    expect(JSON.parse(running.input!)).toMatchObject({ config: { versionName, projectArn: projects.p1, manifestPrefix: `manifests/p1/${versionName}/` },
      loops: { waited: { s: 0 } } });
    // AND isComplete does not hold the stack: the wait condition does
    await expect(isComplete(event('Create', 'req-1', config), deps)).resolves.toEqual({ IsComplete: true });

    // WHEN the same event is delivered again while the execution runs
    const retried = await onEvent(event('Create', 'req-1', config), deps);
    // THEN it names the same execution, and still one runs
    expect(retried).toEqual(created);
    expect(steps.list().map((e) => e.executionArn)).toEqual([executionArn]);

    // WHEN the workflow ends
    release();
    await steps.settle();
    // THEN its real status and output are read back
    expect(await execution(executionArn)).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify(versionName) });

    // WHEN the same event comes once more after the execution ended (ExecutionAlreadyExists)
    const late = await onEvent(event('Create', 'req-1', config), deps);
    // THEN it answers with the same execution and starts none
    expect(late).toEqual(created);
    expect(steps.list()).toHaveLength(1);

    // WHEN a new request (an Update, or a rollback to this version) comes for the same version
    const update = await onEvent(event('Update', 'req-2', config), deps);
    // THEN a second execution of that version runs
    const second = (update.Data as { ExecutionArn: string }).ExecutionArn;
    expect(second).not.toBe(executionArn);
    expect(second.startsWith(executionArn.slice(0, -8))).toBe(true);
    expect(steps.list()).toHaveLength(2);
  });

  test('GIVEN a waiting stack THEN the handle URL is stored for the run\'s notify step and kept out of the execution input', async () => {
    const config = { ...configFor('p1', 'handle', '4444444444444444'), waitHandleUrl: 'https://handle.example/signed?X-Amz-Signature=secret' };
    const created = await onEvent(event('Create', 'handle-1', config), deps);
    const described = await execution((created.Data as { ExecutionArn: string }).ExecutionArn);
    expect(described.input).not.toContain('secret');
    const key = (JSON.parse(described.input!) as { config: { waitHandleKey: string } }).config.waitHandleKey;
    expect(key).toMatch(/^wait-handles\/handle-4444444444444444-[0-9a-f]{8}$/);
    const stored = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
    expect(await stored.Body!.transformToString()).toBe(config.waitHandleUrl);
  });

  test('GIVEN a run of the model still going WHEN a newer request comes THEN that run is stopped, with the version it started but did not promote', async () => {
    hold();
    // GIVEN the serving version and a run of an update that started a newer version (RUNNING, not promoted yet)
    const serving = versionNameFor('model-s', '5555555555555555');
    const started = versionNameFor('model-s', '6666666666666666');
    await runningVersion('p2', serving);
    await runningVersion('p2', started);
    const servingArn = (await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projects.p2, VersionNames: [serving] })))
      .ProjectVersionDescriptions![0].ProjectVersionArn!;
    parameters.put('p', servingArn, undefined);
    const update = await onEvent(event('Update', 'sup-1', configFor('p2', 'model-s', '6666666666666666')), deps);
    const updateArn = (update.Data as { ExecutionArn: string }).ExecutionArn;

    // WHEN the update is rolled back: CloudFormation sends the previous properties in a new request
    const rollback = await onEvent(event('Update', 'sup-2', configFor('p2', 'model-s', '5555555555555555')), deps);

    // THEN the update's run is stopped, and so is the version it started; the serving version runs on
    expect(await execution(updateArn)).toMatchObject({ status: 'ABORTED', error: 'Superseded' });
    expect(await execution((rollback.Data as { ExecutionArn: string }).ExecutionArn)).toMatchObject({ status: 'RUNNING' });
    expect(await versions('p2')).toEqual({ [serving]: 'RUNNING', [started]: 'STOPPING' });
    release();
    await steps.settle();
    parameters.put('p', 'none', undefined);
    await rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: servingArn }));
    await advanceUntil(async () => (await versions('p2'))[serving] === 'STOPPED');
  }, 30_000);

  test('GIVEN an unknown state machine THEN onEvent fails with the service\'s error', async () => {
    const config = configFor('p1', 'model', '0123456789abcdef');
    const bad = { ...event('Create', 'req-3', config), ResourceProperties: { Config: JSON.stringify(config),
      StateMachineArn: `${STATE_MACHINE}-gone` } };
    await expect(onEvent(bad, deps)).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});

describe('Delete: the model leaves nothing running', () => {
  const own = versionNameFor('model', '1111111111111111');
  const sibling = versionNameFor('model-b', '2222222222222222');

  beforeAll(async () => {
    await runningVersion('p1', own);
    await runningVersion('p1', sibling);
  }, 30_000);

  test('GIVEN running executions and versions WHEN the model is deleted under DESTROY THEN only its own are stopped, then deleted', async () => {
    hold();
    // GIVEN a running workflow of this model, of a model whose prefix starts with ours, and of a model of the same prefix in another project
    const mine = configFor('p1', 'model', '1111111111111111');
    const arnOf = async (config: ModelVersionConfig, id: string): Promise<string> =>
      ((await onEvent(event('Create', id, config), deps)).Data as { ExecutionArn: string }).ExecutionArn;
    const mineArn = await arnOf(mine, 'del-1');
    const siblingArn = await arnOf(configFor('p1', 'model-b', '2222222222222222'), 'del-2');
    const otherProjectArn = await arnOf(configFor('p2', 'model', '3333333333333333'), 'del-3');
    expect((await Promise.all([mineArn, siblingArn, otherProjectArn].map(execution))).map((d) => d.status)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);

    // WHEN the model is deleted
    const deleted = event('Delete', 'del-4', mine);
    const answer = await onEvent(deleted, deps, 1_000);
    expect(answer).toEqual({ PhysicalResourceId: 'p1/model', Data: { StartedAt: '1000' } });

    // THEN its execution is stopped with the reason; the others run on
    expect(await execution(mineArn)).toMatchObject({ status: 'ABORTED', error: 'ModelRemoved' });
    expect((await execution(siblingArn)).status).toBe('RUNNING');
    expect((await execution(otherProjectArn)).status).toBe('RUNNING');
    // AND its version is stopping; the sibling's version still runs
    expect(await versions('p1')).toEqual({ [own]: 'STOPPING', [sibling]: 'RUNNING' });

    // AND a poll 45 minutes after the Delete began, with the version still stopping, fails naming it (before the framework's timeout)
    await expect(isComplete({ ...deleted, Data: answer.Data as Record<string, unknown> }, deps, 1_000 + 45 * 60_000)).rejects.toThrow(
      `The versions of model model (project p1) were not stopped and deleted within 45 minutes; still waiting for: ${own} (STOPPING)`);

    // WHEN CloudFormation polls isComplete
    const polls: boolean[] = [];
    await advanceUntil(async () => {
      polls.push((await isComplete(deleted, deps)).IsComplete);
      return polls[polls.length - 1];
    });
    // THEN it was not complete while the version stopped, and once complete the version is gone
    expect(polls[0]).toBe(false);
    expect(await versions('p1')).toEqual({ [sibling]: 'RUNNING' });
  });

  test('GIVEN a running version WHEN the model is deleted under RETAIN THEN it is stopped and kept', async () => {
    const config = configFor('p1', 'model-b', '2222222222222222', 'RETAIN');
    const deleted = event('Delete', 'del-5', config);
    await onEvent(deleted, deps);
    await advanceUntil(async () => (await isComplete(deleted, deps)).IsComplete);
    expect(await versions('p1')).toEqual({ [sibling]: 'STOPPED' });
    expect(cloud.usage().running).toEqual([]);
    // AND a second Delete (a retry) finds nothing left to do
    await expect(onEvent(deleted, deps)).resolves.toMatchObject({ PhysicalResourceId: 'p1/model-b' });
    await expect(isComplete(deleted, deps)).resolves.toEqual({ IsComplete: true });
  });
});
