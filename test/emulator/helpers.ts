import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { RekognitionEmulator, RekognitionEmulatorOptions, VirtualClock } from '../../lib/emulator';
import { LocalS3, startLocalS3 } from '../../lib/emulator/s3';
import { classificationSamples, detectionSamples, SampleImage } from '../../lib/samples';

export const DATA_BUCKET = 'cl-data';
export const OUTPUT_BUCKET = 'cl-output';
/** 2023-11-14T22:13:20Z: a fixed virtual start, so ARNs and timestamps are predictable. */
export const T0 = 1_700_000_000_000;

export interface World {
  s3: LocalS3;
  s3Client: S3Client;
  emulator: RekognitionEmulator;
  clock: VirtualClock;
  endpoint: string;
  rekognition: RekognitionClient;
  stop(): Promise<void>;
}

/** Local S3 + an emulator on a stopped clock (tests move it with `clock.advance`) + a real SDK client. */
export async function startWorld(options: Partial<RekognitionEmulatorOptions> = {}): Promise<World> {
  const s3 = await startLocalS3({ buckets: [DATA_BUCKET, OUTPUT_BUCKET] });
  const clock = options.clock ?? new VirtualClock({ start: T0, timeScale: 0 });
  const emulator = new RekognitionEmulator({ ...options, s3Endpoint: s3.endpoint, clock });
  const endpoint = await emulator.listen();
  const rekognition = newClient(endpoint);
  const s3Client = s3.client();
  return {
    s3, s3Client, emulator, clock, endpoint, rekognition,
    stop: async () => {
      rekognition.destroy();
      s3Client.destroy();
      await emulator.close();
      await s3.stop();
    },
  };
}

export function newClient(endpoint: string): RekognitionClient {
  return new RekognitionClient({
    endpoint, region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
}

export async function put(world: World, key: string, body: string | Buffer, bucket = DATA_BUCKET): Promise<void> {
  await world.s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
}

const CREATED = '2024-01-01T00:00:00.000';

/** A classification JSON line (reference §5.1). */
export function classificationLine(sourceRef: string, label: string, attribute = 'label'): string {
  return JSON.stringify({
    'source-ref': sourceRef,
    [attribute]: 1,
    [`${attribute}-metadata`]: {
      confidence: 1, 'class-name': label, 'human-annotated': 'yes', 'creation-date': CREATED, type: 'groundtruth/image-classification',
    },
  });
}

/** A detection JSON line (reference §5.3). */
export function detectionLine(sourceRef: string, sample: SampleImage): string {
  const names = [...new Set(sample.boxes.map((b) => b.label))].sort();
  return JSON.stringify({
    'source-ref': sourceRef,
    'bounding-box': {
      image_size: [{ width: sample.width, height: sample.height, depth: 3 }],
      annotations: sample.boxes.map((b) => ({ class_id: names.indexOf(b.label), left: b.left, top: b.top, width: b.width, height: b.height })),
    },
    'bounding-box-metadata': {
      objects: sample.boxes.map(() => ({ confidence: 1 })),
      'class-map': Object.fromEntries(names.map((n, i) => [String(i), n])),
      type: 'groundtruth/object-detection', 'human-annotated': 'yes', 'creation-date': CREATED, 'job-name': 'test',
    },
  });
}

/** Uploads classification samples under `prefix` and returns their manifest lines. */
export async function uploadClassification(
  world: World, options: { perLabel: number; seed: number; prefix?: string; labels?: string[] },
): Promise<string[]> {
  const samples = classificationSamples({ perLabel: options.perLabel, seed: options.seed, labels: options.labels });
  const prefix = options.prefix ?? 'images';
  await Promise.all(samples.map((s) => put(world, `${prefix}/${s.relPath}`, s.bytes)));
  return samples.map((s) => classificationLine(`s3://${DATA_BUCKET}/${prefix}/${s.relPath}`, s.labels[0]));
}

/** Uploads detection samples under `prefix` and returns their manifest lines. */
export async function uploadDetection(world: World, options: { images: number; seed: number; prefix?: string }): Promise<string[]> {
  const samples = detectionSamples({ images: options.images, seed: options.seed });
  const prefix = options.prefix ?? 'det';
  await Promise.all(samples.map((s) => put(world, `${prefix}/${s.relPath}`, s.bytes)));
  return samples.map((s) => detectionLine(`s3://${DATA_BUCKET}/${prefix}/${s.relPath}`, s));
}

/** Moves the clock forward in steps of `stepMs` until `done` holds (checked through the SDK), at most `maxSteps` times. */
export async function advanceUntil(world: World, stepMs: number, done: () => Promise<boolean>, maxSteps = 200): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (await done()) return;
    world.clock.advance(stepMs);
  }
  throw new Error(`condition not reached after ${maxSteps} steps of ${stepMs} ms`);
}

/** The error an SDK call rejects with (fails the test if it resolves). */
export async function errorOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; $fault?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number }; $fault?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
