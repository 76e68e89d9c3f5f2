import * as fs from 'node:fs';
import * as path from 'node:path';

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';

import { ShapesStack } from '../../bin/app';
import { DETAIL_TYPE_SUCCEEDED } from '../../lib/model/contracts';
import { pipelineOverheadSeconds, serviceDurations, taskCalls, workflowPhases } from '../../lib/runner/report';
import { classificationSamples } from '../../lib/samples/shapes';
import { packageRoot } from '../../lib/shared/handler-code';
import { openSession, Session, tempDir } from './helpers';

const nameOf = (projectArn: string | undefined): string => (projectArn ?? '').split('/')[1];

// The example app of bin/app.ts: a classifier (local folder) and a detector (COCO), one project each, under DESTROY.
describe('the example app, deployed offline from import to destroy', () => {
  let dir: string;
  let outdir: string;
  let session: Session;

  beforeAll(() => {
    dir = tempDir('lifecycle');
    outdir = path.join(dir, 'cdk.out');
    const app = new App({ outdir });
    new ShapesStack(app, 'CustomLabelsShapes', { examplesRoot: packageRoot(), env: { region: 'us-east-1' } });
    app.synth();
  });

  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('deploy trains, gates, starts and promotes both models; detect works; destroy leaves nothing', async () => {
    // GIVEN a runner on an empty local cloud
    session = await openSession(path.join(dir, 'state'));
    const { runner, rekognition, cloud } = session;

    // WHEN the app is deployed
    const deployed = await runner.deploy(outdir);
    // The stack completes when the wait conditions are signalled; each workflow still has its last steps to run.
    await runner.settle();

    // THEN the stack is created and each model's workflow succeeded and signalled its wait condition
    expect(deployed.stacks.map((s) => [s.stackName, s.status])).toEqual([['CustomLabelsShapes', 'CREATE_COMPLETE']]);
    const executions = runner.executions();
    expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const waitConditions = deployed.events.filter((e) => e.resourceType === 'AWS::CloudFormation::WaitCondition' && e.status === 'CREATE_COMPLETE');
    expect(waitConditions).toHaveLength(2);
    // AND both projects hold one RUNNING version, which the serving parameters name
    const projects = (await rekognition.describeProjects({})).ProjectDescriptions ?? [];
    expect(projects.map((p) => nameOf(p.ProjectArn)).sort()).toEqual(['shapes-classifier', 'shapes-detector']);
    const resources = runner.stackState('CustomLabelsShapes')!.resources;
    for (const project of projects) {
      const versions = (await rekognition.describeProjectVersions({ ProjectArn: project.ProjectArn })).ProjectVersionDescriptions ?? [];
      expect(versions.map((v) => v.Status)).toEqual(['RUNNING']);
      const model = nameOf(project.ProjectArn) === 'shapes-classifier' ? 'Classifier' : 'Detector';
      const parameter = Object.entries(resources).find(([id]) => id.startsWith(`${model}ServingVersion`))![1];
      expect(runner.parameterValue(parameter.physicalId)).toBe(versions[0].ProjectVersionArn);
      // AND the evaluation summary the gate read is in the local S3
      const summary = versions[0].EvaluationResult?.Summary?.S3Object;
      const body = await cloud.s3.client().send(new GetObjectCommand({ Bucket: summary!.Bucket!, Key: summary!.Name! }));
      const doc = JSON.parse(await body.Body!.transformToString()) as { LabelEvaluationResults: { Label: string }[] };
      expect(doc.LabelEvaluationResults.map((l) => l.Label).sort()).toEqual(['blue-square', 'green-triangle', 'red-circle']);
    }
    // AND each workflow published its outcome on EventBridge (recorded, not sent)
    const events = runner.recordedCalls().filter((c) => c.action === 'putEvents');
    expect(events.map((c) => (c.parameters as { Entries: { DetailType: string }[] }).Entries[0].DetailType))
      .toEqual([DETAIL_TYPE_SUCCEEDED, DETAIL_TYPE_SUCCEEDED]);

    // AND the pipeline's own overhead stays within 3 virtual minutes per model
    for (const execution of executions) {
      const versionName = execution.name.replace(/-[0-9a-f]{8}$/, '');
      const project = projects.find((p) => versionName.startsWith(nameOf(p.ProjectArn) === 'shapes-classifier' ? 'classifier' : 'detector'))!;
      const phases = workflowPhases(execution.events);
      const service = await serviceDurations(rekognition, project.ProjectArn!, versionName, true);
      expect(service.trainingSeconds).toBeGreaterThan(30 * 60);
      expect(pipelineOverheadSeconds(phases, service)).toBeLessThanOrEqual(180);
      // about one Describe per minute of training (60 s polls), not one per second
      expect(taskCalls(execution.events, 'DescribeTraining') / (service.trainingSeconds / 3600)).toBeLessThan(70);
    }

    // WHEN a held-out image is sent to the serving classifier
    const classifier = projects.find((p) => nameOf(p.ProjectArn) === 'shapes-classifier')!;
    const serving = (await rekognition.describeProjectVersions({ ProjectArn: classifier.ProjectArn })).ProjectVersionDescriptions![0];
    const heldOut = classificationSamples({ perLabel: 1, seed: 777, labels: ['green-triangle'] })[0];
    const detected = await rekognition.detectCustomLabels({ ProjectVersionArn: serving.ProjectVersionArn, Image: { Bytes: heldOut.bytes } });
    // THEN its best label is the true one
    const best = [...(detected.CustomLabels ?? [])].sort((a, b) => (b.Confidence ?? 0) - (a.Confidence ?? 0))[0];
    expect(best?.Name).toBe('green-triangle');

    // WHEN the same assembly is deployed again
    const again = await runner.deploy(outdir);
    // THEN nothing changes and no workflow runs
    expect(again.stacks[0].status).toBe('NO_CHANGES');
    expect(again.stacks[0].updated).toEqual([]);
    expect(runner.executions()).toHaveLength(2);

    // WHEN the stack is destroyed
    const destroyed = await runner.destroy();
    // THEN the teardown stopped and deleted everything Rekognition held; only the retained buckets stay
    expect((await rekognition.describeProjects({})).ProjectDescriptions).toEqual([]);
    expect(cloud.usage().running).toEqual([]);
    expect(Object.values(destroyed.stacks[0].retained).map((r) => r.type)).toEqual(['AWS::S3::Bucket', 'AWS::S3::Bucket']);
    expect(runner.stackState('CustomLabelsShapes')).toBeUndefined();
  }, 120_000);
});
