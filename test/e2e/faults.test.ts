import * as fs from 'node:fs';
import * as path from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import { LocalDeployError } from '../../lib/runner/local-runner';
import { classificationSamples, SampleImage } from '../../lib/samples/shapes';
import { manifestFor, openSession, PROJECT_NAME, rekognitionOperations, Session, synthTestApp, tempDir, versionStatuses, writeImages } from './helpers';

const SERVICE_MESSAGE = 'Amazon Rekognition experienced a service issue (injected).';

interface Outcome {
  readonly status: string;
  readonly message: string;
  readonly running: readonly string[];
  readonly left: number;
}

/** Deploys on a fresh cloud prepared by `arrange`; then clears faults, destroys what is left and reports. */
async function scenario(
  dir: string, app: string, arrange: (s: Session) => void | Promise<void>, buckets: string[] = [],
): Promise<Outcome & { ops: string[] }> {
  const session = await openSession(fs.mkdtempSync(path.join(dir, 'state-')), { cloud: { buckets } });
  try {
    await arrange(session);
    let status = 'CREATE_COMPLETE';
    let message = '';
    try {
      await session.runner.deploy(app);
    } catch (err) {
      if (!(err instanceof LocalDeployError)) throw err;
      status = err.status;
      message = err.message;
    }
    await session.runner.settle();
    const ops = rekognitionOperations(session.requests);
    const running = session.cloud.usage().running;
    // Whatever a failed rollback left is cleaned up with the service healthy again.
    session.cloud.emulator.faults.clear();
    session.cloud.emulator.force.clear();
    if (status !== 'CREATE_COMPLETE') await session.runner.destroy();
    const left = ((await session.rekognition.describeProjects({})).ProjectDescriptions ?? []).length;
    return { status, message, running, left, ops };
  } finally {
    await session.close();
  }
}

describe('fault matrix: every Rekognition call of a deploy, throttled and broken', () => {
  let dir: string;
  let app: string;
  let workflowOps: string[];
  const table: string[][] = [];

  beforeAll(async () => {
    dir = tempDir('faults');
    const samples = writeImages(dir, 4, 41);
    fs.writeFileSync(path.join(dir, 'train.manifest'), manifestFor(samples));
    app = synthTestApp(path.join(dir, 'app.out'), { manifest: path.join(dir, 'train.manifest'), imagesDir: path.join(dir, 'images') });
    // The calls a healthy deploy makes, in the order first seen; CreateProject is CloudFormation's, not the workflow's.
    const healthy = await scenario(dir, app, () => undefined);
    expect(healthy.status).toBe('CREATE_COMPLETE');
    workflowOps = [...new Set(healthy.ops)].filter((op) => op !== 'CreateProject');
  }, 60_000);

  afterAll(() => {
    const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    const lines = table.map((r) => r.map((c, i) => c.padEnd(widths[i])).join(' | '));
    process.stdout.write(`\nFault matrix\n${lines[0]}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n${lines.slice(1).join('\n')}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the workflow calls what a training pipeline needs', () => {
    expect(workflowOps).toEqual(expect.arrayContaining(['DescribeProjects', 'DescribeProjectVersions', 'CreateDataset', 'DescribeDataset',
      'CreateProjectVersion', 'StartProjectVersion']));
    table.push(['fault', 'operation', 'deploy', 'reason', 'running after / left after destroy']);
  });

  test('ThrottlingException twice, then success: the deploy succeeds', async () => {
    // GIVEN every operation of the workflow throttled twice, in one deploy (a deploy per operation proved the same, six
    // times the cost: the deploy can succeed only if each operation's own retries got through)
    const outcome = await scenario(dir, app, (s) => {
      for (const op of workflowOps) s.cloud.emulator.faults.add({ operation: op, error: 'ThrottlingException', times: 2 });
    });
    // THEN the deploy succeeds after the retries (each operation's two throttled calls are in the emulator's log)
    for (const op of workflowOps) {
      table.push(['Throttling x2', op, outcome.status, '-', `${outcome.running.length} running`]);
      expect({ op, status: outcome.status }).toEqual({ op, status: 'CREATE_COMPLETE' });
      expect({ op, running: outcome.running.length }).toEqual({ op, running: 1 });
      expect({ op, calls: outcome.ops.filter((o) => o === op).length >= 3 }).toEqual({ op, calls: true });
    }
  }, 180_000);

  test('a persistent InternalServerError: the deploy fails with the service message and nothing runs', async () => {
    for (const op of workflowOps) {
      // GIVEN the operation broken for good
      const outcome = await scenario(dir, app, (s) => s.cloud.emulator.faults.add({ operation: op, error: 'InternalServerError', message: SERVICE_MESSAGE, times: 1_000_000 }));
      // THEN the deploy fails, carrying the service's own message; no model runs; a destroy leaves nothing
      table.push(['InternalServerError', op, outcome.status, excerpt(outcome.message, SERVICE_MESSAGE), `${outcome.running.length} running / ${outcome.left} left`]);
      expect({ op, failed: outcome.status !== 'CREATE_COMPLETE' }).toEqual({ op, failed: true });
      expect(outcome.message).toContain(SERVICE_MESSAGE);
      expect({ op, running: outcome.running }).toEqual({ op, running: [] });
      expect({ op, left: outcome.left }).toEqual({ op, left: 0 });
    }
  }, 180_000);

  test('TRAINING_FAILED: the deploy fails with the training status message and rolls back', async () => {
    const outcome = await scenario(dir, app, (s) => s.cloud.emulator.force.training({ failure: { code: 'ERROR', message: 'The manifest file contains too many invalid data' } }));
    table.push(['TRAINING_FAILED', 'CreateProjectVersion', outcome.status, excerpt(outcome.message, 'TrainingFailed'), `${outcome.running.length} running / ${outcome.left} left`]);
    expect(outcome.status).toBe('ROLLBACK_COMPLETE');
    expect(outcome.message).toMatch(/TrainingFailed: Training failed: The manifest file contains too many invalid data/);
    expect(outcome.running).toEqual([]);
    expect(outcome.left).toBe(0);
  }, 60_000);

  test('a start that ends FAILED: the deploy fails with the status message; the version is not left running', async () => {
    const outcome = await scenario(dir, app, (s) => s.cloud.emulator.force.start({ fail: true, message: 'Not enough capacity to start the model' }));
    table.push(['start FAILED', 'StartProjectVersion', outcome.status, excerpt(outcome.message, 'StartFailed'), `${outcome.running.length} running / ${outcome.left} left`]);
    expect(outcome.status).toBe('ROLLBACK_COMPLETE');
    expect(outcome.message).toMatch(/StartFailed: Starting the model version failed: Not enough capacity to start the model/);
    expect(outcome.running).toEqual([]);
    expect(outcome.left).toBe(0);
  }, 60_000);

  test('a manifest in S3 with more than 20% bad lines: refused before any import, with line numbers', async () => {
    // GIVEN a manifest in S3 with 6 of its 20 lines not JSON
    const samples = classificationSamples({ perLabel: 7, seed: 51 }).slice(0, 20);
    const bucket = 'e2e-manifests';
    const lines = manifestFor(samples).replace(/s3:\/\/e2e-images\//g, `s3://${bucket}/images/`).trimEnd().split('\n')
      .map((line, i) => (i % 10 < 3 ? line.slice(0, 40) : line));
    const s3App = synthTestApp(path.join(dir, 's3.out'), { manifest: '', s3Manifest: { bucket, key: 'train.manifest' } });
    const outcome = await scenario(dir, s3App, (s) => upload(s, bucket, `${lines.join('\n')}\n`, samples, () => true), [bucket]);
    table.push(['manifest > 20% bad', 'CreateDataset', outcome.status, excerpt(outcome.message, 'The data would'), `${outcome.running.length} running / ${outcome.left} left`]);
    // THEN the prepare step refuses it with the validator's line numbers; no dataset was ever created
    expect(outcome.status).toBe('ROLLBACK_COMPLETE');
    expect(outcome.message).toMatch(/The data would be rejected by Rekognition/);
    expect(outcome.message).toMatch(/line 1: /);
    expect(outcome.ops).not.toContain('CreateDataset');
    expect(outcome.running).toEqual([]);
    expect(outcome.left).toBe(0);
  }, 60_000);

  test('a manifest in S3 whose images are missing for 40% of its lines: training fails with the service message', async () => {
    // GIVEN a valid manifest in S3 whose images exist for 12 of its 20 lines only
    const samples = classificationSamples({ perLabel: 7, seed: 52 }).slice(0, 20);
    const bucket = 'e2e-manifests';
    const manifest = manifestFor(samples).replace(/s3:\/\/e2e-images\//g, `s3://${bucket}/images/`);
    const s3App = synthTestApp(path.join(dir, 's3b.out'), { manifest: '', s3Manifest: { bucket, key: 'train.manifest' } });
    const outcome = await scenario(dir, s3App, (s) => upload(s, bucket, manifest, samples, (i) => i % 5 >= 2), [bucket]);
    table.push(['images 40% missing', 'CreateProjectVersion', outcome.status, excerpt(outcome.message, 'TrainingFailed'), `${outcome.running.length} running / ${outcome.left} left`]);
    // THEN the deploy fails with the service's training status message and rolls back
    expect(outcome.status).toBe('ROLLBACK_COMPLETE');
    expect(outcome.message).toMatch(/TrainingFailed: Training failed: The manifest file contains too many invalid rows/);
    expect(outcome.running).toEqual([]);
    expect(outcome.left).toBe(0);
  }, 60_000);

  test('nothing of the project is left when a deploy is rolled back', async () => {
    // GIVEN a deploy whose training fails
    const session = await openSession(fs.mkdtempSync(path.join(dir, 'state-')));
    try {
      session.cloud.emulator.force.training({ failure: { code: 'ERROR', message: 'injected' } });
      await expect(session.runner.deploy(app)).rejects.toThrow(/ROLLBACK_COMPLETE/);
      // THEN the rollback's teardown deleted the version, the datasets and the project
      expect(await versionStatuses(session.rekognition)).toEqual({});
      expect((await session.rekognition.describeProjects({ ProjectNames: [PROJECT_NAME] })).ProjectDescriptions).toEqual([]);
    } finally {
      await session.close();
    }
  }, 60_000);
});

async function upload(s: Session, bucket: string, manifest: string, samples: SampleImage[], keep: (i: number) => boolean): Promise<void> {
  const client = s.cloud.s3.client();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'train.manifest', Body: manifest }));
  for (const [i, sample] of samples.entries()) {
    if (keep(i)) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `images/${sample.relPath}`, Body: sample.bytes }));
  }
}

function excerpt(message: string, around: string): string {
  const flat = message.replace(/\s+/g, ' ');
  const at = flat.indexOf(around);
  return at < 0 ? flat.slice(0, 60) : flat.slice(at, at + 60);
}
