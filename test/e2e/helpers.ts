/**
 * Small apps for the end-to-end tests: a project and one model trained from a local manifest of a few synthetic
 * images, synthesized in-process, and a runner on a fresh local cloud whose clock moves only when the runner waits.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Rekognition } from '@aws-sdk/client-rekognition';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { LocalCloud, LocalCloudOptions, startLocalCloud } from '../../lib/emulator/local-cloud';
import { CustomLabelsModel, CustomLabelsProject, TestData, TrainingData } from '../../lib/index';
import { ExecutionRecord } from '../../lib/runner/executions';
import { LocalRunner } from '../../lib/runner/local-runner';
import { classificationSamples, SampleImage, writeSamplesToFolder } from '../../lib/samples/shapes';

export const STACK_NAME = 'E2eStack';
export const PROJECT_NAME = 'e2e-shapes';
export const PREFIX = 'model';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${prefix}-`));
}

/** Writes `perLabel` images of each of the three shape labels under `<root>/images`. */
export function writeImages(root: string, perLabel = 5, seed = 21): SampleImage[] {
  const samples = classificationSamples({ perLabel, seed });
  writeSamplesToFolder(path.join(root, 'images'), samples);
  return samples;
}

/** A classification manifest for the samples (source-refs under s3://e2e-images/); `relabel` moves one line to another label. */
export function manifestFor(samples: readonly SampleImage[], relabel?: { line: number; label: string }): string {
  return samples.map((s, i) => {
    const label = relabel && relabel.line === i ? relabel.label : s.labels[0];
    return JSON.stringify({
      'source-ref': `s3://e2e-images/${s.relPath}`,
      'shape': 0,
      'shape-metadata': {
        'class-name': label, 'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes',
        'creation-date': '2026-01-01T00:00:00.000', 'job-name': 'labeling-job/shape',
      },
    });
  }).join('\n') + '\n';
}

export interface TestAppProps {
  readonly manifest: string;
  readonly imagesDir?: string;
  /** @default DESTROY */
  readonly removal?: 'DESTROY' | 'RETAIN';
  /** @default true */
  readonly waitForTraining?: boolean;
  /** @default 0 */
  readonly minF1?: number;
  /** @default true */
  readonly deploy?: boolean;
  /** Train from this manifest in local S3 (bucket/key) instead of the local file. */
  readonly s3Manifest?: { bucket: string; key: string };
  /** @default - the construct's default */
  readonly trainingTimeout?: Duration;
  /** @default - none */
  readonly tags?: Record<string, string>;
}

/** Synthesizes the test app into `outdir` and returns it. */
export function synthTestApp(outdir: string, props: TestAppProps): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
  const project = new CustomLabelsProject(stack, 'Project', {
    projectName: PROJECT_NAME,
    removalPolicy: props.removal === 'RETAIN' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  const trainingData = props.s3Manifest
    ? TrainingData.fromS3Manifest(s3.Bucket.fromBucketName(stack, 'Manifests', props.s3Manifest.bucket), props.s3Manifest.key)
    : TrainingData.fromLocalManifest(props.manifest, { imagesDir: props.imagesDir });
  new CustomLabelsModel(stack, 'Model', {
    project,
    versionPrefix: PREFIX,
    trainingData,
    testData: TestData.split({ ratio: 0.3, seed: 5 }),
    evaluationGate: { minF1: props.minF1 ?? 0 },
    deployment: props.deploy === false ? undefined : { minInferenceUnits: 1 },
    waitForTraining: props.waitForTraining ?? true,
    trainingTimeout: props.trainingTimeout,
    tags: props.tags,
  });
  app.synth();
  return outdir;
}

export interface Session {
  readonly runner: LocalRunner;
  readonly cloud: LocalCloud;
  readonly rekognition: Rekognition;
  readonly requests: string[];
  close(): Promise<void>;
}

/** A runner on a fresh local cloud (clock moved only by the runner), with the emulator's operation log. */
export async function openSession(stateDir: string, options: {
  cloud?: LocalCloudOptions;
  beforeWait?: (execution: ExecutionRecord, stateName: string) => void | Promise<void>;
} = {}): Promise<Session> {
  const requests: string[] = [];
  const cloud = await startLocalCloud({ timeScale: 0, ...options.cloud, log: (line) => requests.push(line) });
  const runner = await LocalRunner.open({ stateDir, cloud, beforeWait: options.beforeWait });
  const rekognition = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    runner, cloud, rekognition, requests,
    close: async () => {
      try {
        await runner.close();
      } finally {
        await cloud.stop();
      }
    },
  };
}

/** Rekognition operations seen in the emulator's request log (S3 lines have an HTTP method there instead). */
export function rekognitionOperations(lines: readonly string[]): string[] {
  return lines.map((l) => l.split(' ')[1] ?? '').filter((op) => /^[A-Z][a-z]+[A-Za-z]*$/.test(op));
}

/** Status of every version of the test project, by version name. */
export async function versionStatuses(rekognition: Rekognition): Promise<Record<string, string>> {
  const projects = (await rekognition.describeProjects({ ProjectNames: [PROJECT_NAME] })).ProjectDescriptions ?? [];
  if (projects.length === 0) return {};
  const versions = (await rekognition.describeProjectVersions({ ProjectArn: projects[0].ProjectArn })).ProjectVersionDescriptions ?? [];
  return Object.fromEntries(versions.map((v) => [(v.ProjectVersionArn ?? '').split('/')[3], v.Status ?? '']));
}

/** The serving-version parameter's value in the runner's state. */
export function servingVersion(runner: LocalRunner): string | undefined {
  const resources = runner.stackState(STACK_NAME)?.resources ?? {};
  const parameter = Object.entries(resources).find(([id, r]) => id.startsWith('ModelServingVersion') && r.type === 'AWS::SSM::Parameter')?.[1];
  return parameter ? runner.parameterValue(parameter.physicalId) : undefined;
}

export interface TrainedVersionOptions {
  readonly projectName: string;
  /** Where the training and test images and manifests go (train/, test/, train.manifest, test.manifest). */
  readonly dataBucket: string;
  /** Where the version's output goes (training/). */
  readonly outputBucket: string;
  /** Seeds the synthetic images: train uses `seed`, test `seed + 1`. */
  readonly seed: number;
}

/**
 * A trained classification version made directly in the emulator (training is the model workflow's tests' business):
 * a project, TRAIN and TEST datasets from Ground Truth manifests of 3 images per label, and version v1, trained on the
 * virtual clock. Returns its ARN; the version is TRAINING_COMPLETED.
 */
export async function trainedVersion(cloud: LocalCloud, rekognition: Rekognition, options: TrainedVersionOptions): Promise<string> {
  const admin = cloud.s3.client();
  const manifest = async (prefix: string, seed: number): Promise<string> => {
    const lines: string[] = [];
    for (const s of classificationSamples({ perLabel: 3, seed })) {
      await admin.send(new PutObjectCommand({ Bucket: options.dataBucket, Key: `${prefix}${s.relPath}`, Body: s.bytes }));
      lines.push(JSON.stringify({ 'source-ref': `s3://${options.dataBucket}/${prefix}${s.relPath}`, 'shape': 0, 'shape-metadata': {
        'class-name': s.labels[0], 'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes',
        'creation-date': '2026-01-01T00:00:00.000', 'job-name': 'shape' } }));
    }
    return lines.join('\n');
  };
  for (const [type, seed] of [['TRAIN', options.seed], ['TEST', options.seed + 1]] as const) {
    const key = `${type.toLowerCase()}.manifest`;
    await admin.send(new PutObjectCommand({ Bucket: options.dataBucket, Key: key, Body: await manifest(`${type.toLowerCase()}/`, seed) }));
  }
  const projectArn = (await rekognition.createProject({ ProjectName: options.projectName })).ProjectArn!;
  for (const type of ['TRAIN', 'TEST'] as const) {
    await rekognition.createDataset({ ProjectArn: projectArn, DatasetType: type,
      DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: options.dataBucket, Name: `${type.toLowerCase()}.manifest` } } } });
  }
  cloud.clock.advance(60_000);
  await cloud.emulator.idle();
  const versionArn = (await rekognition.createProjectVersion({ ProjectArn: projectArn, VersionName: 'v1',
    OutputConfig: { S3Bucket: options.outputBucket, S3KeyPrefix: 'training/' } })).ProjectVersionArn!;
  cloud.clock.advance(24 * 3600_000);
  await cloud.emulator.idle();
  const status = (await rekognition.describeProjectVersions({ ProjectArn: projectArn })).ProjectVersionDescriptions![0].Status;
  if (status !== 'TRAINING_COMPLETED') throw new Error(`the test version is ${status}, not TRAINING_COMPLETED`);
  return versionArn;
}
