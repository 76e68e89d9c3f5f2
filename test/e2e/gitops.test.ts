import * as fs from 'node:fs';
import * as path from 'node:path';

import { LocalDeployError } from '../../lib/runner/local-runner';
import { SampleImage } from '../../lib/samples/shapes';
import {
  manifestFor, openSession, PREFIX, rekognitionOperations, servingVersion, Session, STACK_NAME, synthTestApp, tempDir, versionStatuses, writeImages,
} from './helpers';

describe('GitOps: the manifest in git decides what trains', () => {
  let dir: string;
  let samples: SampleImage[];
  let session: Session | undefined;
  const manifest = (): string => path.join(dir, 'train.manifest');

  beforeEach(() => {
    dir = tempDir('gitops');
    samples = writeImages(dir, 5, 31);
    fs.writeFileSync(manifest(), manifestFor(samples));
  });

  afterEach(async () => {
    await session?.close();
    session = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('unchanged: no training; one changed line: one new version, promoted, the old one stopped after the new one runs', async () => {
    // GIVEN version 1 deployed
    const v1App = synthTestApp(path.join(dir, 'v1.out'), { manifest: manifest(), imagesDir: path.join(dir, 'images'), minF1: 0 });
    session = await openSession(path.join(dir, 'state'));
    const { runner, rekognition, requests } = session;
    await runner.deploy(v1App);
    await runner.settle();
    const v1 = Object.keys(await versionStatuses(rekognition));
    expect(v1).toHaveLength(1);
    const v1Arn = servingVersion(runner);
    expect(v1Arn).toContain(`/version/${v1[0]}/`);

    // WHEN the unchanged app is synthesized and deployed again
    requests.length = 0;
    const same = await runner.deploy(synthTestApp(path.join(dir, 'v1-again.out'), { manifest: manifest(), imagesDir: path.join(dir, 'images') }));
    // THEN no resource changes, no workflow runs and Rekognition is asked nothing
    expect(same.stacks[0].status).toBe('NO_CHANGES');
    expect(runner.executions()).toHaveLength(1);
    expect(rekognitionOperations(requests)).toEqual([]);

    // WHEN one line of the manifest changes (one image relabelled) and the app is deployed
    fs.writeFileSync(manifest(), manifestFor(samples, { line: 2, label: 'blue-square' }));
    const v2App = synthTestApp(path.join(dir, 'v2.out'), { manifest: manifest(), imagesDir: path.join(dir, 'images') });
    const updated = await runner.deploy(v2App);
    await runner.settle();

    // THEN the model-version resource is updated in place and its wait condition replaced (new one created, old one cleaned up)
    const result = updated.stacks[0];
    expect(result.status).toBe('UPDATE_COMPLETE');
    expect(result.updated.filter((id) => id.startsWith('ModelVersion'))).toHaveLength(1);
    expect(result.replaced).toEqual([]);
    expect(result.created.filter((id) => id.startsWith('ModelWaitFor'))).toHaveLength(1);
    expect(result.deleted.filter((id) => id.startsWith('ModelWaitFor'))).toHaveLength(1);
    // AND exactly one new version was trained; it serves, and the old one is stopped
    const statuses = await versionStatuses(rekognition);
    const v2 = Object.keys(statuses).filter((name) => !v1.includes(name));
    expect(v2).toHaveLength(1);
    expect(v2[0].startsWith(`${PREFIX}-`)).toBe(true);
    expect(statuses).toEqual({ [v1[0]]: 'STOPPING', [v2[0]]: 'RUNNING' });
    session.cloud.clock.advance(2 * 60_000);
    expect(await versionStatuses(rekognition)).toEqual({ [v1[0]]: 'STOPPED', [v2[0]]: 'RUNNING' });
    expect(servingVersion(runner)).toContain(`/version/${v2[0]}/`);
    expect(rekognitionOperations(requests).filter((op) => op === 'CreateProjectVersion')).toHaveLength(1);
    // AND the old version was stopped only after the new one was seen RUNNING and promoted
    const run = runner.executions()[1];
    const entered = run.events.filter((e) => e.type === 'StateEntered').map((e) => e.state);
    const runningSeen = run.events.findIndex((e) => e.type === 'StateEntered' && e.state === 'Promote');
    const stopped = run.events.findIndex((e) => e.type === 'TaskCall' && e.state === 'StopPreviousVersion' && e.error === undefined);
    expect(entered).toContain('StartingState');
    expect(runningSeen).toBeGreaterThan(0);
    expect(stopped).toBeGreaterThan(runningSeen);
  }, 120_000);

  test('a new version that fails the gate is not started; the serving one keeps serving; the deploy fails with the reason', async () => {
    // GIVEN version 1 deployed with a gate of minF1 0.5
    const props = { manifest: manifest(), imagesDir: path.join(dir, 'images'), minF1: 0.5 };
    session = await openSession(path.join(dir, 'state'));
    const { runner, rekognition, cloud } = session;
    await runner.deploy(synthTestApp(path.join(dir, 'v1.out'), props));
    const [v1] = Object.keys(await versionStatuses(rekognition));
    const v1Arn = servingVersion(runner);

    // WHEN the data changes and the new training comes out at F1 0.2
    cloud.emulator.force.training({ versionName: `${PREFIX}-*`, f1: 0.2 });
    fs.writeFileSync(manifest(), manifestFor(samples, { line: 0, label: 'green-triangle' }));
    const deploying = runner.deploy(synthTestApp(path.join(dir, 'v2.out'), props));

    // THEN the deploy fails with the gate's reason (which figure, which threshold) and rolls back
    await expect(deploying).rejects.toThrow(/Evaluation gate failed: overall F1 0\.200 is below minF1 0\.500/);
    const error = await deploying.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalDeployError);
    expect((error as LocalDeployError).status).toBe('UPDATE_ROLLBACK_COMPLETE');
    await runner.settle();
    // AND the new version exists but never started; the old one still runs and is still the serving one
    const statuses = await versionStatuses(rekognition);
    const v2 = Object.keys(statuses).find((name) => name !== v1)!;
    expect(statuses).toEqual({ [v1]: 'RUNNING', [v2]: 'TRAINING_COMPLETED' });
    expect(servingVersion(runner)).toBe(v1Arn);
    expect(cloud.usage().running).toEqual([v1Arn]);
    // AND the stack is back on the previous template
    expect(runner.stackState(STACK_NAME)?.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    const waitConditions = Object.keys(runner.stackState(STACK_NAME)!.resources).filter((id) => id.startsWith('ModelWaitFor'));
    expect(waitConditions).toHaveLength(1);
  }, 120_000);
});
