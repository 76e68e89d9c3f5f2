import * as fs from 'node:fs';
import * as path from 'node:path';

import { manifestFor, openSession, PROJECT_NAME, Session, synthTestApp, tempDir, versionStatuses, writeImages } from './helpers';

type Stage = 'during import' | 'during training' | 'while running' | 'while stopped';

const HOLD_AT: Partial<Record<Stage, string>> = { 'during import': 'WaitForDatasets', 'during training': 'WaitForTraining' };
const NOT_RUNNING = ['TRAINING_IN_PROGRESS', 'TRAINING_COMPLETED', 'STOPPED'];

describe('destroy at every stage of a model (waitForTraining: false, so the stack is deployed while the workflow runs)', () => {
  let dir: string;
  const apps: Record<string, string> = {};

  beforeAll(() => {
    dir = tempDir('destroy');
    const samples = writeImages(dir, 4, 61);
    fs.writeFileSync(path.join(dir, 'train.manifest'), manifestFor(samples));
    for (const removal of ['DESTROY', 'RETAIN'] as const) {
      apps[removal] = synthTestApp(path.join(dir, `${removal}.out`), {
        manifest: path.join(dir, 'train.manifest'), imagesDir: path.join(dir, 'images'), removal, waitForTraining: false,
      });
    }
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Deploys, brings the model to the stage, destroys; returns the session (still open) for the checks. */
  async function destroyAt(stage: Stage, removal: 'DESTROY' | 'RETAIN'): Promise<Session> {
    const holdAt = HOLD_AT[stage];
    let reached!: () => void;
    const atStage = new Promise<void>((resolve) => { reached = resolve; });
    const session = await openSession(fs.mkdtempSync(path.join(dir, 'state-')), {
      // Holds the workflow at its first wait of that phase until the destroy stops the execution.
      beforeWait: (_execution, state) => {
        if (state !== holdAt) return undefined;
        reached();
        return new Promise<void>(() => undefined);
      },
    });
    const { runner, rekognition, cloud } = session;
    await runner.deploy(apps[removal]);
    if (holdAt) {
      await atStage;
    } else {
      await runner.settle();
      const statuses = Object.values(await versionStatuses(rekognition));
      expect(statuses).toEqual(['RUNNING']);
      if (stage === 'while stopped') {
        const arn = cloud.usage().running[0];
        await rekognition.stopProjectVersion({ ProjectVersionArn: arn });
        cloud.clock.advance(5 * 60_000);
        expect(Object.values(await versionStatuses(rekognition))).toEqual(['STOPPED']);
      }
    }
    await runner.destroy();
    return session;
  }

  const stages: Stage[] = ['during import', 'during training', 'while running', 'while stopped'];

  test.each(stages)('DESTROY %s: the emulator is empty afterwards', async (stage) => {
    const session = await destroyAt(stage, 'DESTROY');
    try {
      // THEN no project, dataset or version is left, nothing runs, and a held workflow was stopped
      expect((await session.rekognition.describeProjects({})).ProjectDescriptions).toEqual([]);
      expect(session.cloud.usage().running).toEqual([]);
      expect(session.runner.executions().map((e) => e.status)).toEqual([HOLD_AT[stage] ? 'ABORTED' : 'SUCCEEDED']);
      expect(session.runner.stackState('E2eStack')).toBeUndefined();
    } finally {
      await session.close();
    }
  }, 60_000);

  test.each(stages)('RETAIN %s: the project and its versions remain, nothing runs', async (stage) => {
    const session = await destroyAt(stage, 'RETAIN');
    try {
      // THEN the project is still there, with its datasets
      const projects = (await session.rekognition.describeProjects({ ProjectNames: [PROJECT_NAME] })).ProjectDescriptions ?? [];
      expect(projects).toHaveLength(1);
      expect((projects[0].Datasets ?? []).map((d) => d.DatasetType).sort()).toEqual(['TEST', 'TRAIN']);
      // AND its version (if training began) is kept but not running
      const statuses = Object.values(await versionStatuses(session.rekognition));
      expect(statuses).toHaveLength(stage === 'during import' ? 0 : 1);
      for (const status of statuses) expect(NOT_RUNNING).toContain(status);
      expect(session.cloud.usage().running).toEqual([]);
    } finally {
      await session.close();
    }
  }, 60_000);
});
