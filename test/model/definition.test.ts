import { workflowInputFor } from '../../lib/model/contracts';
import { buildWorkflowDefinition, REKOGNITION_RETRYABLE } from '../../lib/model/definition';
import { baseConfig, FakeProject, runWorkflow } from './workflow-harness';

type State = Record<string, unknown>;
const definition = buildWorkflowDefinition({ prepare: 'arn:prepare', gate: 'arn:gate', notify: 'arn:notify' });
const states = definition.States as Record<string, State>;

describe('workflow definition (static)', () => {
  test('is JSONPath only: no JSONata, no Assign, no $$.Task.Token or $$.State.Name', () => {
    const text = JSON.stringify(definition);
    expect(definition.QueryLanguage).toBeUndefined();
    expect(text).not.toContain('JSONata');
    expect(text).not.toContain('"Assign"');
    expect(text).not.toContain('$$.Task.Token');
    expect(text).not.toContain('$$.State.Name');
  });

  test('every Next / Default / Catch target exists and every state is reachable', () => {
    const names = new Set(Object.keys(states));
    const targets = new Set<string>([definition.StartAt as string]);
    for (const s of Object.values(states)) {
      for (const t of [s.Next, s.Default]) if (typeof t === 'string') targets.add(t);
      for (const c of (s.Choices as State[] | undefined) ?? []) targets.add(c.Next as string);
      for (const c of (s.Catch as State[] | undefined) ?? []) targets.add(c.Next as string);
    }
    for (const t of targets) expect(names).toContain(t);
    for (const n of names) expect(targets).toContain(n);
  });

  test('every Task has an explicit timeout and a Retry; Rekognition tasks retry throttling and internal errors', () => {
    const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(15);
    for (const [name, s] of tasks) {
      expect([name, typeof s.TimeoutSeconds]).toEqual([name, 'number']);
      expect([name, Array.isArray(s.Retry)]).toEqual([name, true]);
      if (String(s.Resource).includes(':rekognition:')) {
        const retried = (s.Retry as State[]).flatMap((r) => r.ErrorEquals as string[]);
        expect(retried).toEqual(expect.arrayContaining(REKOGNITION_RETRYABLE));
      }
      // Every task is caught: a failure always reaches the notify step (and so the wait condition).
      expect([name, Array.isArray(s.Catch) && (s.Catch as State[]).some((c) => (c.ErrorEquals as string[]).includes('States.ALL'))])
        .toEqual([name, true]);
    }
  });

  test('every Wait state is inside a loop bounded by a counter', () => {
    const waits = Object.entries(states).filter(([, s]) => s.Type === 'Wait').map(([n]) => n);
    expect(waits.sort()).toEqual(['WaitForDatasets', 'WaitForDatasetsDeleted', 'WaitForRunning', 'WaitForTraining', 'WaitWhileProjectBusy']);
    const limits = Object.values(states).filter((s) => s.Type === 'Choice')
      .flatMap((s) => (s.Choices as State[]).filter((c) => typeof c.NumericGreaterThanPath === 'string').map(() => s.Default));
    // The limit Choices' Default leads back into each wait (so each wait is only reached through a counter).
    expect(new Set(limits)).toEqual(new Set(waits));
  });

  test('uses only SDK integrations the offline runner serves: Rekognition, SSM, EventBridge, SNS, Lambda', () => {
    const resources = new Set(Object.values(states).filter((s) => s.Type === 'Task').map((s) => String(s.Resource).replace(/:[a-zA-Z]+$/, '')));
    expect([...resources].sort()).toEqual(['arn:aws:states:::aws-sdk:rekognition', 'arn:aws:states:::aws-sdk:ssm', 'arn:aws:states:::events',
      'arn:aws:states:::lambda', 'arn:aws:states:::sns']);
  });
});

describe('workflow definition (run with aws-local-stepfunctions)', () => {
  test('GIVEN a fresh project and a serving version WHEN training succeeds and the gate passes THEN it starts, promotes, stops the old one', async () => {
    const project = new FakeProject({ trainingPolls: 2, evaluationF1: 0.93, serving: 'arn:old' });
    const run = await runWorkflow(definition, baseConfig({ deployment: { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 2 } }), project);
    expect(run.error).toBeUndefined();
    expect(project.calls.map((c) => c.op)).toEqual(expect.arrayContaining(['createDataset:TRAIN', 'createDataset:TEST', 'createProjectVersion',
      'startProjectVersion', 'putParameter', 'stopProjectVersion:arn:old', 'putEvents', 'publish']));
    expect(project.serving).toBe(project.newVersionArn);
    expect(project.startedWith).toEqual({ MinInferenceUnits: 1, MaxInferenceUnits: 2 });
    // Promotion happens only after RUNNING, and the old version is stopped only after promotion.
    const ops = project.calls.map((c) => c.op);
    expect(ops.indexOf('putParameter')).toBeGreaterThan(ops.indexOf('startProjectVersion'));
    expect(ops.indexOf('stopProjectVersion:arn:old')).toBeGreaterThan(ops.indexOf('putParameter'));
    expect(project.events[0]).toMatchObject({ DetailType: 'Custom Labels Model Version Succeeded' });
  });

  test('GIVEN the gate fails THEN no version starts, the serving one is untouched and the failure names the label and figure', async () => {
    const project = new FakeProject({ trainingPolls: 1, evaluationF1: 0.9, labelF1: { cat: 0.41 }, serving: 'arn:old' });
    const run = await runWorkflow(definition, baseConfig({ gate: { minF1: 0.8, minLabelF1: 0.7, mustNotRegress: false },
      deployment: { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 1 } }), project);
    expect(run.error?.Cause).toContain('label "cat" F1 0.410 is below minLabelF1 0.700');
    expect(project.calls.map((c) => c.op)).not.toContain('startProjectVersion');
    expect(project.calls.map((c) => c.op)).not.toContain('putParameter');
    expect(project.calls.map((c) => c.op)).not.toContain('stopProjectVersion:arn:old');
    expect(project.serving).toBe('arn:old');
    expect(project.events[0]).toMatchObject({ DetailType: 'Custom Labels Model Version Failed' });
  });

  test('GIVEN training fails THEN the failure carries the service\'s StatusMessage', async () => {
    const project = new FakeProject({ trainingPolls: 1, trainingFailure: 'The manifest file contains too many invalid rows.' });
    const run = await runWorkflow(definition, baseConfig(), project);
    expect(run.error?.Error).toBe('CustomLabelsModelFailed');
    expect(run.error?.Cause).toBe('TrainingFailed: Training failed: The manifest file contains too many invalid rows.');
  });

  test('GIVEN training never finishes THEN the loop stops after maxTrainingPolls polls with a timeout', async () => {
    const project = new FakeProject({ trainingPolls: 10_000 });
    const config = baseConfig({ trainingTimeoutSeconds: 300 });
    const run = await runWorkflow(definition, config, project);
    expect(run.error?.Cause).toContain('did not finish within trainingTimeout (300 seconds)');
    const polls = project.calls.filter((c) => c.op === 'describeProjectVersions').length;
    expect(polls).toBe(workflowInputFor(config, 'v').limits.maxTrainingPolls + 1);
  });

  test('GIVEN CreateProjectVersion is throttled twice THEN the Retry absorbs it and training goes on', async () => {
    const project = new FakeProject({ trainingPolls: 1, faults: { createProjectVersion: ['Rekognition.ThrottlingException', 'Rekognition.ThrottlingException'] } });
    const run = await runWorkflow(definition, baseConfig(), project);
    expect(run.error).toBeUndefined();
    expect(project.calls.filter((c) => c.op === 'createProjectVersion')).toHaveLength(3);
  });

  test('GIVEN a persistent InternalServerError THEN the run fails with the service\'s message', async () => {
    const project = new FakeProject({ trainingPolls: 1, faults: { createDataset: Array(10).fill('Rekognition.InternalServerErrorException') } });
    const run = await runWorkflow(definition, baseConfig(), project);
    expect(run.error?.Cause).toContain('Rekognition.InternalServerErrorException: injected Rekognition.InternalServerErrorException');
    expect(project.calls.map((c) => c.op)).not.toContain('createProjectVersion');
  });

  test('GIVEN the version exists and is serving THEN nothing is trained and nothing stopped', async () => {
    const project = new FakeProject({ existing: { status: 'RUNNING' }, evaluationF1: 0.9 });
    project.serving = project.newVersionArn;
    const run = await runWorkflow(definition, baseConfig({ deployment: { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 1 } }), project);
    expect(run.error).toBeUndefined();
    const ops = project.calls.map((c) => c.op);
    expect(ops).not.toContain('createProjectVersion');
    expect(ops).not.toContain('createDataset:TRAIN');
    expect(ops).not.toContain('startProjectVersion');
    expect(ops.filter((o) => o.startsWith('stopProjectVersion'))).toEqual([]);
  });

  test('GIVEN the service split THEN the test dataset is created empty and entries are distributed before training', async () => {
    const project = new FakeProject({ trainingPolls: 1, serviceSplit: true });
    const run = await runWorkflow(definition, baseConfig(), project);
    expect(run.error).toBeUndefined();
    const ops = project.calls.map((c) => c.op);
    expect(ops).toContain('createDataset:TEST:empty');
    expect(ops.indexOf('distributeDatasetEntries')).toBeLessThan(ops.indexOf('createProjectVersion'));
  });

  test('GIVEN old datasets and another training in progress THEN it waits, deletes the datasets, then creates new ones', async () => {
    const project = new FakeProject({ trainingPolls: 1, busyPolls: 2, oldDatasets: true });
    const run = await runWorkflow(definition, baseConfig(), project);
    expect(run.error).toBeUndefined();
    const ops = project.calls.map((c) => c.op);
    expect(ops.filter((o) => o === 'probe').length).toBeGreaterThanOrEqual(4);
    expect(ops.indexOf('deleteDataset:train')).toBeLessThan(ops.indexOf('createDataset:TRAIN'));
    expect(ops.indexOf('deleteDataset:test')).toBeLessThan(ops.indexOf('createDataset:TRAIN'));
  });

  test('GIVEN the start fails THEN the new version is stopped and the serving one keeps serving', async () => {
    const project = new FakeProject({ trainingPolls: 1, startFails: 'Insufficient capacity', serving: 'arn:old' });
    const run = await runWorkflow(definition, baseConfig({ deployment: { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 1 } }), project);
    expect(run.error?.Cause).toBe('StartFailed: Starting the model version failed: Insufficient capacity');
    expect(project.calls.map((c) => c.op)).toContain(`stopProjectVersion:${project.newVersionArn}`);
    expect(project.serving).toBe('arn:old');
  });
});
