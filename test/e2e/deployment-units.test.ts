import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';

import { CustomLabelsModel, CustomLabelsProject, TestData, TrainingData } from '../../lib/index';
import { SampleImage } from '../../lib/samples/shapes';
import {
  manifestFor, openSession, PREFIX, PROJECT_NAME, rekognitionOperations, servingVersion, Session, STACK_NAME, tempDir, versionStatuses, writeImages,
} from './helpers';

/** The app of helpers.ts's synthTestApp, with the deployment's inference units as a parameter. */
function synthApp(outdir: string, manifest: string, imagesDir: string, minInferenceUnits: number): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
  const project = new CustomLabelsProject(stack, 'Project', { projectName: PROJECT_NAME, removalPolicy: RemovalPolicy.DESTROY });
  new CustomLabelsModel(stack, 'Model', {
    project,
    versionPrefix: PREFIX,
    trainingData: TrainingData.fromLocalManifest(manifest, { imagesDir }),
    testData: TestData.split({ ratio: 0.3, seed: 5 }),
    evaluationGate: { minF1: 0 },
    deployment: { minInferenceUnits },
  });
  app.synth();
  return outdir;
}

describe('a redeploy with only the deployment changed', () => {
  let dir: string;
  let samples: SampleImage[];
  let session: Session | undefined;

  beforeEach(() => {
    dir = tempDir('units');
    samples = writeImages(dir, 5, 31);
    fs.writeFileSync(path.join(dir, 'train.manifest'), manifestFor(samples));
  });

  afterEach(async () => {
    await session?.close();
    session = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('minInferenceUnits 1 -> 2: nothing trains, the serving version is stopped and started again with 2 units', async () => {
    // GIVEN the model deployed with 1 inference unit
    const synth = (out: string, units: number): string => synthApp(path.join(dir, out), path.join(dir, 'train.manifest'),
      path.join(dir, 'images'), units);
    session = await openSession(path.join(dir, 'state'));
    const { runner, rekognition, requests } = session;
    await runner.deploy(synth('v1.out', 1));
    await runner.settle();
    const [name] = Object.keys(await versionStatuses(rekognition));
    const servingArn = servingVersion(runner);
    expect(servingArn).toContain(`/version/${name}/`);

    // WHEN the same data is deployed with minInferenceUnits 2
    requests.length = 0;
    const updated = await runner.deploy(synth('v2.out', 2));
    await runner.settle();

    // THEN the model-version resource is updated (its Config changed), which starts a second execution
    const result = updated.stacks[0];
    expect(result.status).toBe('UPDATE_COMPLETE');
    expect(result.updated.filter((id) => id.startsWith('ModelVersion'))).toHaveLength(1);
    // AND the stack waited for the restart: a new wait condition (and handle) replaced the old one and was signalled
    expect(result.created.filter((id) => id.startsWith('ModelWait')).sort()).toEqual([expect.stringMatching(/^ModelWaitForVersion/),
      expect.stringMatching(/^ModelWaitHandle/)]);
    expect(result.deleted.filter((id) => id.startsWith('ModelWait'))).toHaveLength(2);
    expect(updated.events.some((e) => e.resourceType === 'AWS::CloudFormation::WaitCondition' && e.status === 'CREATE_COMPLETE')).toBe(true);
    expect(runner.executions()).toHaveLength(2);
    const run = runner.executions()[1];
    expect(run.status).toBe('SUCCEEDED');
    // AND nothing trained: one version, stopped then started again with the new units, still the serving one
    const ops = rekognitionOperations(requests);
    expect(ops).not.toContain('CreateProjectVersion');
    expect(ops.filter((op) => op === 'StopProjectVersion')).toHaveLength(1);
    expect(ops.filter((op) => op === 'StartProjectVersion')).toHaveLength(1);
    expect(ops.indexOf('StartProjectVersion')).toBeGreaterThan(ops.indexOf('StopProjectVersion'));
    const projects = await rekognition.describeProjects({ ProjectNames: [PROJECT_NAME] });
    const described = await rekognition.describeProjectVersions({ ProjectArn: projects.ProjectDescriptions![0].ProjectArn });
    expect(described.ProjectVersionDescriptions).toEqual([
      expect.objectContaining({ ProjectVersionArn: servingArn, Status: 'RUNNING', MinInferenceUnits: 2, MaxInferenceUnits: 2 }),
    ]);
    expect(servingVersion(runner)).toBe(servingArn);
    expect(session.cloud.usage().running).toEqual([servingArn]);
  }, 120_000);
});
