/**
 * Runs the workflow definition with the offline runner's interpreter (runStateMachine) against the Rekognition emulator
 * and a local S3: the SDK tasks go through the runner's own integrations (real Rekognition client, maxAttempts 1,
 * Step Functions error names), the Lambda tasks are the real prepare, gate and notify logic with SDK clients on the
 * local cloud, and every Wait and Retry pause moves the emulator's virtual clock instead of taking time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CreateProjectCommand, DescribeDatasetCommand, DescribeProjectsCommand, DescribeProjectVersionsCommand, ProjectVersionDescription,
  RekognitionClient } from '@aws-sdk/client-rekognition';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { gate } from '../../lambda/gate/gate';
import { storeWaitHandle } from '../../lambda/model-version/handler';
import { notify } from '../../lambda/notify/notify';
import { prepare, probe } from '../../lambda/prepare/prepare';
import { LabelSource } from '../../lib/data/label-source';
import { compressManifest, localManifestFromFolder, prepareLocalData } from '../../lib/data/local';
import { planPacks } from '../../lib/data/packs';
import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import {
  fingerprint, GateRequest, ModelVersionConfig, NO_SERVING_VERSION, NotifyRequest, PrepareRequest, ProbeRequest, versionNameFor, workflowInputFor,
} from '../../lib/model/contracts';
import { buildWorkflowDefinition } from '../../lib/model/definition';
import { MemoryParameterStore, sdkTaskHandler } from '../../lib/runner/sdk-tasks';
import { runStateMachine, StateMachineRunResult } from '../../lib/runner/state-machine';
import { classificationSamples, writeSamplesToFolder } from '../../lib/samples/shapes';

export const FUNCTIONS = {
  prepare: 'arn:aws:lambda:us-east-1:123456789012:function:prepare',
  gate: 'arn:aws:lambda:us-east-1:123456789012:function:gate',
  notify: 'arn:aws:lambda:us-east-1:123456789012:function:notify',
};
export const definition = buildWorkflowDefinition(FUNCTIONS);
/** Where a run's notify step signals its wait condition (captured, not sent). */
const WAIT_HANDLE_URL = 'http://127.0.0.1:9/wait-condition/handle';
/** Images of the sample data set (3 labels). */
export const PER_LABEL = 6;

/** One local cloud for a test file: the emulator, a local S3 with the sample data as the construct's assets. */
export interface World {
  readonly cloud: LocalCloud;
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
  readonly labels: string[];
  /** Moves the virtual clock and waits for the emulator's background work, so statuses depend on virtual time only. */
  advance(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const cloud = await startLocalCloud({ timeScale: 0, buckets: ['assets', 'data'] });
  const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  const rekognition = new RekognitionClient({ ...clientConfig, endpoint: cloud.rekognitionEndpoint });
  const s3 = new S3Client({ ...clientConfig, endpoint: cloud.s3Endpoint, forcePathStyle: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-test-'));
  try {
    // What synth leaves in the asset bucket: validated manifests (split 80/20, and the whole set) and the images as a zip.
    const samples = classificationSamples({ perLabel: PER_LABEL, seed: 11 });
    writeSamplesToFolder(tmp, samples);
    const manifest = localManifestFromFolder(tmp, LabelSource.FOLDER_NAMES);
    const cacheDir = path.join(tmp, '.cache');
    const split = prepareLocalData({ manifest, imagesDir: tmp, cacheDir }, undefined, { ratio: 0.2, seed: 3 });
    const whole = prepareLocalData({ manifest, imagesDir: tmp, cacheDir }, undefined, undefined);
    if (split.errors.length > 0) throw new Error(`sample data rejected: ${split.errors.join('; ')}`);
    const put = (key: string, body: string | Buffer) => s3.send(new PutObjectCommand({ Bucket: 'assets', Key: key, Body: body }));
    await put('training.manifest', compressManifest(split.training!.manifest));
    await put('testing.manifest', split.testing!.manifest);
    await put('all.manifest', whole.training!.manifest);
    const [pack] = planPacks(cacheDir, whole.training!.objects);
    await put('pack.zip', fs.readFileSync(pack.file));
    const labels = [...new Set(samples.flatMap((s) => s.labels))].sort();
    return {
      cloud, rekognition, s3, labels,
      advance: async (ms) => {
        cloud.clock.advance(ms);
        await cloud.emulator.idle();
      },
      stop: async () => {
        rekognition.destroy();
        s3.destroy();
        await cloud.stop();
      },
    };
  } catch (err) {
    await cloud.stop();
    throw err;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A Rekognition project of its own for each test, and its serving-version parameter (as the construct creates it). */
export interface Project {
  readonly name: string;
  readonly arn: string;
  readonly parameterName: string;
  readonly parameters: MemoryParameterStore;
}

export async function newProject(world: World, name: string): Promise<Project> {
  const { ProjectArn } = await world.rekognition.send(new CreateProjectCommand({ ProjectName: name }));
  const parameterName = `/custom-labels/${name}/serving`;
  return { name, arn: ProjectArn!, parameterName, parameters: new MemoryParameterStore({ [parameterName]: NO_SERVING_VERSION }) };
}

/** A model's settings as the construct renders them (also used by test/lambda/notify). */
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

/** The settings of a model of `project` trained on the sample data in the world's asset bucket. */
export function configFor(project: Project, overrides: Partial<ModelVersionConfig> = {}): ModelVersionConfig {
  const packs = [{ Bucket: 'assets', Name: 'pack.zip' }];
  return baseConfig({
    modelPath: `Stack/${project.name}`,
    projectArn: project.arn,
    projectName: project.name,
    training: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'training.manifest' }, packs },
    testing: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'testing.manifest' }, packs },
    servingParameterName: project.parameterName,
    waitHandleUrl: WAIT_HANDLE_URL,
    ...overrides,
  });
}

/** A version name as the construct derives it (`model-<16 hex>`), from a label. */
export function versionName(label: string): string {
  return versionNameFor('model', fingerprint(label));
}

export interface WorkflowRun extends StateMachineRunResult {
  /** EventBridge and SNS calls (recorded, never sent). */
  readonly recorded: ReadonlyArray<{ service: string; action: string; parameters: unknown }>;
  /** Bodies the notify step PUT to the wait-condition handle. */
  readonly signals: ReadonlyArray<Record<string, unknown>>;
}

/** Runs the definition to its end for one version of the model. */
export async function runWorkflow(world: World, project: Project, config: ModelVersionConfig, version: string): Promise<WorkflowRun> {
  const { cloud, rekognition, s3 } = world;
  const deps = { rekognition, s3 };
  const recorded: Array<{ service: string; action: string; parameters: unknown }> = [];
  const signals: Array<Record<string, unknown>> = [];
  // The functions' code as the Lambda runtime would call it (index.ts of each only builds the clients and dispatches).
  const functions: Record<string, (payload: unknown) => Promise<unknown>> = {
    [FUNCTIONS.prepare]: async (payload) => {
      const event = payload as ProbeRequest | PrepareRequest;
      if (event.action === 'probe') return probe(event, deps);
      if (event.action === 'prepare') return prepare(event, deps);
      throw new Error(`Unknown action: ${JSON.stringify((event as { action?: unknown }).action)}`);
    },
    [FUNCTIONS.gate]: async (payload) => gate(payload as GateRequest, deps),
    [FUNCTIONS.notify]: async (payload) => notify(payload as NotifyRequest, {
      signal: async (url, body) => {
        if (url !== WAIT_HANDLE_URL) throw new Error(`signalled an unexpected URL: ${url}`);
        signals.push(JSON.parse(body) as Record<string, unknown>);
      },
      log: () => undefined,
      readHandle: async (bucket, key) => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString(),
      deleteHandle: async (bucket, key) => void await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
    }),
  };
  // As the model-version handler starts a run: the handle URL goes to the data bucket, not into the input.
  const waitHandleKey = await storeWaitHandle({ s3 }, config, `${version}-run`);
  const result = await runStateMachine({
    definition,
    input: workflowInputFor(config, version, waitHandleKey),
    sdkHandler: sdkTaskHandler(cloud, project.parameters),
    lambdaHandler: async (functionArn, payload) => {
      const fn = functions[functionArn];
      if (!fn) throw Object.assign(new Error(`Function not found: ${functionArn}`), { name: 'Lambda.ResourceNotFoundException' });
      return fn(payload);
    },
    record: (service, action, parameters) => {
      recorded.push({ service, action, parameters });
      return undefined;
    },
    onWait: async (wait) => world.advance(typeof wait === 'number' ? wait * 1000 : Math.max(0, Date.parse(wait) - cloud.clock.now())),
    onRetry: async (delaySeconds) => world.advance(delaySeconds * 1000),
    clock: () => cloud.clock.now(),
  });
  return { ...result, recorded, signals };
}

// ---- what the service says -------------------------------------------------------------------------------------

/** Every version of the project, by name. */
export async function versionsOf(world: World, project: Project): Promise<Record<string, ProjectVersionDescription>> {
  const res = await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: project.arn }));
  return Object.fromEntries((res.ProjectVersionDescriptions ?? []).map((v) => [(v.ProjectVersionArn ?? '').split('/')[3], v]));
}

/** The project's datasets: ARN and status by type. */
export async function datasetsOf(world: World, project: Project): Promise<Record<string, { arn: string; status: string }>> {
  const res = await world.rekognition.send(new DescribeProjectsCommand({ ProjectNames: [project.name] }));
  const datasets = res.ProjectDescriptions?.[0]?.Datasets ?? [];
  return Object.fromEntries(datasets.map((d) => [d.DatasetType ?? '', { arn: d.DatasetArn ?? '', status: d.Status ?? '' }]));
}

export async function datasetEntries(world: World, datasetArn: string): Promise<number | undefined> {
  const res = await world.rekognition.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }));
  return res.DatasetDescription?.DatasetStats?.TotalEntries;
}

/** ARNs of this project's RUNNING versions, as the emulator bills them. */
export function runningVersions(world: World, project: Project): string[] {
  return world.cloud.usage().running.filter((arn) => arn.includes(`:project/${project.name}/version/`));
}

export function servingValue(project: Project): string | undefined {
  return project.parameters.get(project.parameterName)?.value;
}

/** Per-label F1 from the version's evaluation summary in S3 (what the service wrote, read without the gate). */
export async function labelF1s(world: World, version: ProjectVersionDescription): Promise<Array<{ label: string; f1: number }>> {
  const summary = version.EvaluationResult?.Summary?.S3Object;
  if (!summary?.Bucket || !summary.Name) throw new Error(`version ${version.ProjectVersionArn} has no evaluation summary`);
  const object = await world.s3.send(new GetObjectCommand({ Bucket: summary.Bucket, Key: summary.Name }));
  type Summary = { LabelEvaluationResults?: Array<{ Label?: string; Metrics?: { F1Score?: number } }> };
  const doc = JSON.parse(await object.Body!.transformToString()) as Summary;
  return (doc.LabelEvaluationResults ?? []).map((l) => ({ label: String(l.Label), f1: Number(l.Metrics?.F1Score) }));
}

/** Names of the Task states the run called, in order, with the error each call raised. */
export function taskCalls(run: WorkflowRun): Array<{ state: string; error?: string }> {
  return run.events.filter((e) => e.type === 'TaskCall').map((e) => ({ state: e.state, ...(e.error ? { error: e.error } : {}) }));
}

export function entered(run: WorkflowRun, state: string): number {
  return run.events.filter((e) => e.type === 'StateEntered' && e.state === state).length;
}
