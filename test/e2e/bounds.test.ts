/**
 * The workflow's bounds against CloudFormation's, deployed offline with the runner's limits enforced: a run always
 * reports its own reason before the stack's wait condition gives up, every change of the model's properties waits on a
 * wait condition of its own, and a full account (one training slot) makes a training wait rather than fail.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, Duration } from 'aws-cdk-lib';

import { ShapesStack } from '../../bin/app';
import { LocalDeployError } from '../../lib/runner/local-runner';
import { packageRoot } from '../../lib/shared/handler-code';
import { manifestFor, openSession, Session, STACK_NAME, synthTestApp, tempDir, versionStatuses, writeImages } from './helpers';

describe('the workflow\'s bounds, deployed offline', () => {
  let dir: string;
  let session: Session | undefined;
  let manifest: string;
  const app = (name: string, props: Partial<Parameters<typeof synthTestApp>[1]> = {}): string =>
    synthTestApp(path.join(dir, name), { manifest, imagesDir: path.join(dir, 'images'), ...props });

  beforeEach(() => {
    dir = tempDir('bounds');
    fs.writeFileSync(path.join(dir, 'train.manifest'), manifestFor(writeImages(dir, 5, 17)));
    manifest = path.join(dir, 'train.manifest');
  });

  afterEach(async () => {
    await session?.close();
    session = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN a training that outlasts trainingTimeout THEN the stack fails with the workflow\'s reason, not "WaitCondition timed out"', async () => {
    session = await openSession(path.join(dir, 'state'));
    session.cloud.emulator.force.training({ durationMs: 24 * 3600_000 });

    const error = await session.runner.deploy(app('slow.out', { trainingTimeout: Duration.minutes(20) })).then(() => undefined, (e: unknown) => e);

    expect(error).toBeInstanceOf(LocalDeployError);
    const reason = (error as LocalDeployError).reason;
    expect(reason).toMatch(/^WaitCondition received failed message: 'Timeout: Training of model-[0-9a-f]{16} did not finish within trainingTimeout \(1200 seconds of waiting in all\)'/);
    expect(reason).not.toContain('timed out');
  });

  test('GIVEN a deployed model WHEN only its tags, then only its trainingTimeout change THEN each update waits on a new wait condition for its own run', async () => {
    session = await openSession(path.join(dir, 'state'));
    const { runner } = session;
    await runner.deploy(app('v1.out', { trainingTimeout: Duration.hours(2) }));
    await runner.settle();
    const waitConditions = (): string[] => Object.entries(runner.stackState(STACK_NAME)!.resources)
      .filter(([, r]) => r.type === 'AWS::CloudFormation::WaitCondition').map(([id]) => id);
    const [first] = waitConditions();

    // WHEN only the tags change
    const tagged = await runner.deploy(app('v2.out', { trainingTimeout: Duration.hours(2), tags: { team: 'vision' } }));
    await runner.settle();
    // THEN the stack waited for a new wait condition, signalled by a new run (the version is adopted, nothing trains)
    const [second] = waitConditions();
    expect(second).not.toBe(first);
    expect(tagged.stacks[0]).toMatchObject({ status: 'UPDATE_COMPLETE' });
    expect(tagged.stacks[0].created).toContain(second);
    expect(tagged.stacks[0].deleted).toContain(first);
    expect(tagged.events.some((e) => e.logicalId === second && e.status === 'CREATE_COMPLETE')).toBe(true);
    expect(runner.executions().map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    // WHEN only the training timeout changes: a wait condition cannot be updated, so it must be a new one again
    const longer = await runner.deploy(app('v3.out', { trainingTimeout: Duration.hours(3), tags: { team: 'vision' } }));
    await runner.settle();
    const [third] = waitConditions();
    expect(longer.stacks[0]).toMatchObject({ status: 'UPDATE_COMPLETE' });
    expect(third).not.toBe(second);
    expect(Object.values(await versionStatuses(session.rekognition))).toEqual(['RUNNING']);
  });

  test('GIVEN an account with one training slot WHEN the example app trains its two models at once THEN the second waits for the slot', async () => {
    const outdir = path.join(dir, 'example.out');
    const example = new App({ outdir });
    new ShapesStack(example, 'CustomLabelsShapes', { examplesRoot: packageRoot(), env: { region: 'us-east-1' } });
    example.synth();
    session = await openSession(path.join(dir, 'state'), { cloud: { quotas: { concurrentTrainings: 1 } } });

    const deployed = await session.runner.deploy(outdir);
    await session.runner.settle();

    expect(deployed.stacks[0].status).toBe('CREATE_COMPLETE');
    const waits = session.runner.executions().map((e) => e.events.filter((ev) => ev.type === 'StateEntered' && ev.state === 'WaitForTrainingSlot').length);
    expect(waits.filter((n) => n > 0)).toHaveLength(1);
    expect(session.runner.executions().map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    await session.runner.destroy();
  });
});
