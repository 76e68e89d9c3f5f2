import { CreateProjectVersionCommand, DescribeDatasetCommand, ListTagsForResourceCommand } from '@aws-sdk/client-rekognition';

import { DURATIONS } from '../../lib/emulator';
import { ERRORS } from '../../lib/manifest/types';
import { DETAIL_TYPE_FAILED, DETAIL_TYPE_SUCCEEDED, LOOP_EVENT_BUDGET, LOOP_EVENTS, NO_SERVING_VERSION, workflowInputFor, workflowLimits } from '../../lib/model/contracts';
import { buildWorkflowDefinition, maxBlockingTrainingTimeoutSeconds, REKOGNITION_RETRYABLE, waitConditionTimeoutSeconds,
  workflowBoundSeconds } from '../../lib/model/definition';
import {
  configFor, datasetEntries, datasetsOf, entered, labelF1s, newProject, PER_LABEL, Project, runningVersions, runWorkflow, servingValue,
  startWorld, taskCalls, versionName, versionsOf, WorkflowRun, World,
} from './workflow-harness';

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

  test('every Wait state is inside a loop bounded by the shared wait budget or a counter, and its iteration costs what contracts.ts says', () => {
    const waits = Object.entries(states).filter(([, s]) => s.Type === 'Wait').map(([n]) => n);
    expect(waits.sort()).toEqual(['WaitForDatasets', 'WaitForDatasetsDeleted', 'WaitForRunning', 'WaitForStopped', 'WaitForTraining',
      'WaitForTrainingSlot', 'WaitWhileProjectBusy']);
    // Each wait is entered only from a counting Pass (so the count is what was waited), checked by a Choice of its loop.
    for (const wait of waits) {
      const into = Object.entries(states).filter(([, s]) => s.Next === wait || s.Default === wait
        || ((s.Choices as State[] | undefined) ?? []).some((c) => c.Next === wait));
      expect([wait, into.map(([, s]) => s.Type)]).toEqual([wait, ['Pass']]);
      expect(JSON.stringify(into[0][1].Parameters)).toMatch(/States\.MathAdd\(\$\.loops\.(waited\.s|starting\.n|stopping\.n), /);
    }
    const bounds = JSON.stringify(Object.values(states).filter((s) => s.Type === 'Choice'));
    for (const limit of ['waitBudgetSeconds', 'maxStartPolls', 'maxStopPolls']) expect(bounds).toContain(`"$.limits.${limit}"`);
    // History events of one pass through each loop (2 per Pass, Choice or Wait; 5 per Task), as LOOP_EVENTS budgets them.
    // One pass around a loop the long way (the version listed, not done yet): through a Choice's "present" rule, else
    // into its count.
    const loopEvents = (wait: string): number => {
      let events = 0;
      let name = wait;
      for (let i = 0; i < 20; i++) {
        const state = states[name];
        events += state.Type === 'Task' ? 5 : 2;
        const rules = (state.Choices as State[] | undefined) ?? [];
        const targets = [...rules.map((c) => c.Next as string), state.Default as string];
        name = (state.Next ?? rules.find((c) => c.IsPresent === true)?.Next ?? targets.find((t) => t?.startsWith('Count'))) as string;
        if (name === wait) return events;
      }
      throw new Error(`${wait} is not a loop`);
    };
    expect(loopEvents('WaitForTraining')).toBe(LOOP_EVENTS.training);
    expect(loopEvents('WaitWhileProjectBusy')).toBeLessThanOrEqual(LOOP_EVENTS.training);
    expect(loopEvents('WaitForDatasets')).toBe(LOOP_EVENTS.datasets);
    expect(loopEvents('WaitForDatasetsDeleted')).toBeLessThanOrEqual(LOOP_EVENTS.datasets);
    expect(loopEvents('WaitForRunning')).toBe(LOOP_EVENTS.starting);
    expect(loopEvents('WaitForStopped')).toBe(LOOP_EVENTS.starting);
  });

  test('the budget\'s loops stay within their share of the 25,000-event history at any trainingTimeout', () => {
    for (const hours of [0.5, 8, 9, 24, 72]) {
      const limits = workflowLimits(hours * 3600);
      const trainingEvents = Math.ceil(limits.waitBudgetSeconds / limits.trainingPollSeconds) * LOOP_EVENTS.training;
      const datasetEvents = Math.ceil(limits.waitBudgetSeconds / limits.datasetPollSeconds) * LOOP_EVENTS.datasets;
      expect([hours, Math.max(trainingEvents, datasetEvents)]).toEqual([hours, expect.any(Number)]);
      expect(Math.max(trainingEvents, datasetEvents)).toBeLessThanOrEqual(LOOP_EVENT_BUDGET + LOOP_EVENTS.datasets);
    }
  });

  test('a stack that waits gets a wait condition longer than the longest run; the longest trainingTimeout that fits is about 9 h', () => {
    const max = maxBlockingTrainingTimeoutSeconds();
    expect(max / 3600).toBeGreaterThan(8.5);
    expect(waitConditionTimeoutSeconds(max)).toBeLessThanOrEqual(43_200);
    expect(waitConditionTimeoutSeconds(max + 60)).toBeGreaterThan(43_200);
    const limits = workflowLimits(8 * 3600);
    expect(waitConditionTimeoutSeconds(8 * 3600)).toBeGreaterThan(workflowBoundSeconds(definition, limits));
    // The bound counts every wait the run can make: the whole budget, the start and stop loops, every task.
    expect(workflowBoundSeconds(definition, limits)).toBeGreaterThan(limits.waitBudgetSeconds
      + (limits.maxStartPolls + limits.maxStopPolls) * limits.startPollSeconds + 900);
  });

  test('uses only SDK integrations the offline runner serves: Rekognition, SSM, EventBridge, SNS, Lambda', () => {
    const resources = new Set(Object.values(states).filter((s) => s.Type === 'Task').map((s) => String(s.Resource).replace(/:[a-zA-Z]+$/, '')));
    expect([...resources].sort()).toEqual(['arn:aws:states:::aws-sdk:rekognition', 'arn:aws:states:::aws-sdk:ssm', 'arn:aws:states:::events',
      'arn:aws:states:::lambda', 'arn:aws:states:::sns']);
  });
});

describe('workflow definition (run against the Rekognition emulator)', () => {
  let world: World;
  const deploy = { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 1 };

  beforeAll(async () => {
    world = await startWorld();
  }, 60_000);

  afterEach(() => {
    world.cloud.emulator.faults.clear();
    world.cloud.emulator.force.clear();
  });

  afterAll(async () => {
    await world?.stop();
  });

  const succeeded = (run: WorkflowRun): void => expect({ status: run.status, error: run.error, cause: run.cause }).toEqual({ status: 'SUCCEEDED' });

  /** A project whose model already serves a version (trained, started and promoted by the workflow itself). */
  async function servingProject(name: string): Promise<{ project: Project; servingArn: string }> {
    const project = await newProject(world, name);
    const run = await runWorkflow(world, project, configFor(project, { deployment: deploy }), versionName(`${name}-old`));
    succeeded(run);
    const servingArn = servingValue(project)!;
    expect(runningVersions(world, project)).toEqual([servingArn]);
    return { project, servingArn };
  }

  test('GIVEN a serving version WHEN training succeeds and the gate passes THEN it starts the new one, promotes it, stops the old one', async () => {
    const { project, servingArn } = await servingProject('success');
    const name = versionName('success-new');

    const scaling = { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 2 };
    const run = await runWorkflow(world, project, configFor(project, { deployment: scaling }), name);

    succeeded(run);
    const versions = await versionsOf(world, project);
    const created = versions[name];
    expect(created).toMatchObject({ Status: 'RUNNING', MinInferenceUnits: 1, MaxInferenceUnits: 2 });
    expect(servingValue(project)).toBe(created.ProjectVersionArn);
    const old = Object.values(versions).find((v) => v.ProjectVersionArn === servingArn);
    expect(old?.Status).toBe('STOPPING');
    await world.advance(DURATIONS.stopMs);
    expect(runningVersions(world, project)).toEqual([created.ProjectVersionArn]);
    // Promotion comes only once the new version runs, and the old one is stopped only after promotion.
    const calls = taskCalls(run).map((c) => c.state);
    expect(calls.indexOf('Promote')).toBeGreaterThan(calls.lastIndexOf('DescribeStarting'));
    expect(calls.indexOf('StopPreviousVersion')).toBeGreaterThan(calls.indexOf('Promote'));
    expect(run.signals).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: name })]);
    expect(run.recorded.map((r) => r.action)).toEqual(['putEvents', 'publish']);
    expect(run.recorded[0].parameters).toMatchObject({ Entries: [{ DetailType: DETAIL_TYPE_SUCCEEDED }] });
  });

  test('GIVEN the gate fails THEN no version starts, the serving one is untouched and the failure names the label and figure', async () => {
    const { project, servingArn } = await servingProject('gate');
    const name = versionName('gate-new');
    world.cloud.emulator.force.training({ versionName: name, f1: 0.6 });

    const run = await runWorkflow(world, project, configFor(project, { gate: { minF1: 0, minLabelF1: 0.99, mustNotRegress: false },
      deployment: deploy }), name);

    expect(run).toMatchObject({ status: 'FAILED', error: 'CustomLabelsModelFailed' });
    const created = (await versionsOf(world, project))[name];
    expect(created.Status).toBe('TRAINING_COMPLETED');
    // The figures the service wrote in the evaluation summary, each label below the minimum named with its F1.
    const scores = await labelF1s(world, created);
    expect(scores.map((s) => s.label).sort()).toEqual(world.labels);
    const weak = scores.filter((s) => s.f1 < 0.99);
    expect(weak.length).toBeGreaterThan(0);
    expect(run.cause).toMatch(/^GateFailed: Evaluation gate failed: /);
    for (const s of weak) expect(run.cause).toContain(`label "${s.label}" F1 ${s.f1.toFixed(3)} is below minLabelF1 0.990`);
    expect(servingValue(project)).toBe(servingArn);
    expect(runningVersions(world, project)).toEqual([servingArn]);
    expect(taskCalls(run).map((c) => c.state)).not.toContain('StartVersion');
    expect(run.signals).toEqual([expect.objectContaining({ Status: 'FAILURE' })]);
    expect(run.recorded[0].parameters).toMatchObject({ Entries: [{ DetailType: DETAIL_TYPE_FAILED }] });
  });

  test('GIVEN training fails THEN the failure carries the service\'s StatusMessage', async () => {
    const project = await newProject(world, 'trainfail');
    const name = versionName('trainfail');
    world.cloud.emulator.force.training({ versionName: name, failure: { code: 'ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST' } });

    const run = await runWorkflow(world, project, configFor(project, { deployment: deploy }), name);

    const created = (await versionsOf(world, project))[name];
    expect(created.Status).toBe('TRAINING_FAILED');
    expect(created.StatusMessage).toContain(ERRORS.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST);
    expect(run).toMatchObject({ status: 'FAILED', error: 'CustomLabelsModelFailed', cause: `TrainingFailed: Training failed: ${created.StatusMessage}` });
    expect(servingValue(project)).toBe(NO_SERVING_VERSION);
    expect(runningVersions(world, project)).toEqual([]);
  });

  test('GIVEN training takes longer than trainingTimeout THEN the loop stops once the wait budget is spent, with a timeout', async () => {
    const project = await newProject(world, 'slow');
    const name = versionName('slow');
    const config = configFor(project, { trainingTimeoutSeconds: 300 });

    const run = await runWorkflow(world, project, config, name);

    expect(run.cause).toBe(`Timeout: Training of ${name} did not finish within trainingTimeout (300 seconds of waiting in all)`);
    const { limits } = workflowInputFor(config, name);
    // The dataset import spent some of the budget; training polled for the rest, and the waits add up to the budget.
    const waited = run.events.filter((e) => e.type === 'Wait').reduce((sum, e) => sum + (e.seconds ?? 0), 0);
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(waited).toBeLessThan(300 + limits.trainingPollSeconds);
    expect(taskCalls(run).filter((c) => c.state === 'DescribeTraining').length).toBeGreaterThan(0);
    // The service is still training: the workflow gave up on its own bound.
    expect((await versionsOf(world, project))[name].Status).toBe('TRAINING_IN_PROGRESS');
  });

  test('GIVEN a 72 h training timeout, a project busy for 40 h and a training that never ends THEN the run ends on its own bound, within the history quota', async () => {
    // GIVEN another version of the project training for 40 h, and ours that would never end
    const project = await newProject(world, 'endless');
    succeeded(await runWorkflow(world, project, configFor(project), versionName('endless-first')));
    const other = versionName('endless-other');
    world.cloud.emulator.force.training({ versionName: other, durationMs: 40 * 3600_000 });
    await world.rekognition.send(new CreateProjectVersionCommand({ ProjectArn: project.arn, VersionName: other,
      OutputConfig: { S3Bucket: 'data', S3KeyPrefix: 'output/other/' } }));
    const name = versionName('endless');
    world.cloud.emulator.force.training({ versionName: name, durationMs: 100 * 3600_000 });
    const config = configFor(project, { trainingTimeoutSeconds: 72 * 3600, waitHandleUrl: '' });

    // WHEN the run waits for the project, then for its training
    const run = await runWorkflow(world, project, config, name);

    // THEN it gives up when the shared budget is spent, with its own reason: the runner fails an execution whose
    // history passes 25,000 events, which separate idle and training bounds (each ~1,500 polls) would have passed.
    expect(run.cause).toBe(`Timeout: Training of ${name} did not finish within trainingTimeout (259200 seconds of waiting in all)`);
    expect(run.historyEvents).toBeLessThan(LOOP_EVENT_BUDGET + 1_000);
    expect(entered(run, 'WaitWhileProjectBusy')).toBeGreaterThan(500);
    expect(entered(run, 'WaitForTraining')).toBeGreaterThan(500);
  }, 120_000);

  test('GIVEN tags THEN the datasets are tagged with TagResource once created (CreateDataset is sent without Tags)', async () => {
    const project = await newProject(world, 'tagged');
    const run = await runWorkflow(world, project, configFor(project, { tags: { team: 'vision' } }), versionName('tagged'));
    succeeded(run);
    expect(taskCalls(run).filter((c) => c.state.startsWith('Tag')).map((c) => c.state)).toEqual(['TagTrainDataset', 'TagTestDataset']);
    for (const { arn } of Object.values(await datasetsOf(world, project))) {
      expect((await world.rekognition.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual({ team: 'vision' });
    }
    expect(JSON.stringify(states.CreateTrainDataset.Parameters)).not.toContain('Tags');
  });

  test('GIVEN every training slot of the account is taken THEN CreateProjectVersion is retried on the wait budget until one frees up', async () => {
    const project = await newProject(world, 'slots');
    const name = versionName('slots');
    world.cloud.emulator.faults.add({ operation: 'CreateProjectVersion', error: 'LimitExceededException', times: 3,
      message: 'The number of concurrent trainings exceeds the limit of the account.' });

    const run = await runWorkflow(world, project, configFor(project), name);

    succeeded(run);
    expect(entered(run, 'WaitForTrainingSlot')).toBe(3);
    expect(taskCalls(run).filter((c) => c.state === 'CreateVersion').map((c) => c.error)).toEqual([
      'Rekognition.LimitExceededException', 'Rekognition.LimitExceededException', 'Rekognition.LimitExceededException', undefined]);
  });

  test('GIVEN CreateProjectVersion is throttled twice THEN the Retry absorbs it and training goes on', async () => {
    const project = await newProject(world, 'throttled');
    const name = versionName('throttled');
    world.cloud.emulator.faults.add({ operation: 'CreateProjectVersion', error: 'ThrottlingException', times: 2 });

    const run = await runWorkflow(world, project, configFor(project), name);

    succeeded(run);
    expect(taskCalls(run).filter((c) => c.state === 'CreateVersion')).toEqual([
      { state: 'CreateVersion', error: 'Rekognition.ThrottlingException' },
      { state: 'CreateVersion', error: 'Rekognition.ThrottlingException' },
      { state: 'CreateVersion' },
    ]);
    const versions = await versionsOf(world, project);
    expect(Object.keys(versions)).toEqual([name]);
    expect(versions[name].Status).toBe('TRAINING_COMPLETED');
    expect(servingValue(project)).toBe(versions[name].ProjectVersionArn);
  });

  test('GIVEN a persistent InternalServerError THEN the run fails with the service\'s message once the retries are spent', async () => {
    const project = await newProject(world, 'broken');
    const message = 'Amazon Rekognition experienced a service issue. Try your call again.';
    world.cloud.emulator.faults.add({ operation: 'CreateDataset', error: 'InternalServerError', message, times: 100 });

    const run = await runWorkflow(world, project, configFor(project), versionName('broken'));

    expect(run.status).toBe('FAILED');
    expect(run.cause).toContain(`Rekognition.InternalServerErrorException: ${message} (Service: Rekognition, Status Code: 500`);
    const retrier = (states.CreateTrainDataset.Retry as State[])[0];
    expect(taskCalls(run).filter((c) => c.state === 'CreateTrainDataset')).toHaveLength((retrier.MaxAttempts as number) + 1);
    expect(await datasetsOf(world, project)).toEqual({});
    expect(await versionsOf(world, project)).toEqual({});
  });

  test('GIVEN the version exists and is serving THEN nothing is trained, started or stopped', async () => {
    const { project, servingArn } = await servingProject('adopt');
    const name = versionName('adopt-old');
    const datasetsBefore = await datasetsOf(world, project);

    const run = await runWorkflow(world, project, configFor(project, { deployment: deploy }), name);

    succeeded(run);
    const versions = await versionsOf(world, project);
    expect(Object.keys(versions)).toEqual([name]);
    expect(versions[name]).toMatchObject({ ProjectVersionArn: servingArn, Status: 'RUNNING' });
    expect(await datasetsOf(world, project)).toEqual(datasetsBefore);
    expect(servingValue(project)).toBe(servingArn);
    expect(runningVersions(world, project)).toEqual([servingArn]);
    // Same inference units: the units were looked at, and nothing was stopped or started.
    const calls = taskCalls(run).map((c) => c.state);
    expect(calls).toContain('DescribeDeployed');
    expect(calls.filter((c) => /:(stop|start)ProjectVersion$/.test(String(states[c].Resource)))).toEqual([]);
  });

  test.each([
    { change: 'minInferenceUnits 1 -> 2', units: { minInferenceUnits: 2, maxInferenceUnits: 2 } },
    { change: 'maxInferenceUnits 1 -> 3', units: { minInferenceUnits: 1, maxInferenceUnits: 3 } },
  ])('GIVEN a version running with 1 unit WHEN only the deployment changes ($change) THEN it is stopped and started again with the new units',
    async ({ units }) => {
      const { project, servingArn } = await servingProject(`units-${units.minInferenceUnits}-${units.maxInferenceUnits}`);
      const name = versionName(`units-${units.minInferenceUnits}-${units.maxInferenceUnits}-old`);
      expect((await versionsOf(world, project))[name]).toMatchObject({ MinInferenceUnits: 1, MaxInferenceUnits: 1 });
      const datasetsBefore = await datasetsOf(world, project);

      const run = await runWorkflow(world, project, configFor(project, { deployment: { enabled: true, ...units } }), name);

      succeeded(run);
      const versions = await versionsOf(world, project);
      // No new training: the one version, the same ARN, running with the configured units and still serving.
      expect(Object.keys(versions)).toEqual([name]);
      expect(versions[name]).toMatchObject({ ProjectVersionArn: servingArn, Status: 'RUNNING', MinInferenceUnits: units.minInferenceUnits,
        MaxInferenceUnits: units.maxInferenceUnits });
      expect(await datasetsOf(world, project)).toEqual(datasetsBefore);
      expect(servingValue(project)).toBe(servingArn);
      expect(runningVersions(world, project)).toEqual([servingArn]);
      const calls = taskCalls(run);
      const states = calls.map((c) => c.state);
      expect(states).not.toContain('CreateVersion');
      expect(states).not.toContain('StopPreviousVersion');
      // Stopped once, started only after the service reported it STOPPED, promoted (again) once it runs.
      expect(calls.filter((c) => c.state === 'StopForNewUnits')).toEqual([{ state: 'StopForNewUnits' }]);
      expect(calls.filter((c) => c.state === 'StartVersion')).toEqual([{ state: 'StartVersion' }]);
      expect(states.indexOf('StartVersion')).toBeGreaterThan(states.lastIndexOf('DescribeStopping'));
      expect(states.indexOf('DescribeStopping')).toBeGreaterThan(states.indexOf('StopForNewUnits'));
      expect(states.indexOf('Promote')).toBeGreaterThan(states.lastIndexOf('DescribeStarting'));
      expect(run.signals).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: name })]);
    });

  test('GIVEN the stop for new units is refused THEN the run fails and the version keeps serving with its old units', async () => {
    const { project, servingArn } = await servingProject('unitsrefused');
    const name = versionName('unitsrefused-old');
    const message = 'The project version is being updated.';
    world.cloud.emulator.faults.add({ operation: 'StopProjectVersion', error: 'ResourceInUseException', message, times: 1 });

    const run = await runWorkflow(world, project, configFor(project, { deployment: { enabled: true, minInferenceUnits: 2, maxInferenceUnits: 2 } }),
      name);

    expect(run.status).toBe('FAILED');
    expect(run.cause).toContain(`Rekognition.ResourceInUseException: ${message}`);
    expect((await versionsOf(world, project))[name]).toMatchObject({ ProjectVersionArn: servingArn, Status: 'RUNNING', MinInferenceUnits: 1 });
    expect(servingValue(project)).toBe(servingArn);
    expect(runningVersions(world, project)).toEqual([servingArn]);
    // The serving version is never stopped by the clean-up, and nothing was started.
    const calls = taskCalls(run).map((c) => c.state);
    expect(calls).not.toContain('StopNewVersion');
    expect(calls).not.toContain('StartVersion');
    expect(run.signals).toEqual([expect.objectContaining({ Status: 'FAILURE' })]);
  });

  test('GIVEN the service split THEN the test dataset is created empty and entries are distributed before training', async () => {
    const project = await newProject(world, 'split');
    const name = versionName('split');
    const packs = [{ Bucket: 'assets', Name: 'pack.zip' }];

    const run = await runWorkflow(world, project, configFor(project, {
      training: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'all.manifest' }, packs },
      testing: { kind: 'service' },
    }), name);

    succeeded(run);
    const datasets = await datasetsOf(world, project);
    expect(datasets).toMatchObject({ TRAIN: { status: 'UPDATE_COMPLETE' }, TEST: { status: 'UPDATE_COMPLETE' } });
    const train = await datasetEntries(world, datasets.TRAIN.arn);
    const test = await datasetEntries(world, datasets.TEST.arn);
    expect(test).toBeGreaterThan(0);
    expect(train! + test!).toBe(PER_LABEL * world.labels.length);
    expect((await versionsOf(world, project))[name].Status).toBe('TRAINING_COMPLETED');
  });

  test('GIVEN old datasets and another version training THEN it waits, deletes the datasets, waits for that, then trains', async () => {
    const project = await newProject(world, 'busy');
    succeeded(await runWorkflow(world, project, configFor(project), versionName('busy-first')));
    // Waiting for the other training and training ours share one budget.
    const config = configFor(project, { trainingTimeoutSeconds: 4 * 3600 });
    const other = versionName('busy-other');
    await world.rekognition.send(new CreateProjectVersionCommand({ ProjectArn: project.arn, VersionName: other,
      OutputConfig: { S3Bucket: 'data', S3KeyPrefix: 'output/other/' } }));
    const oldDatasets = await datasetsOf(world, project);
    const name = versionName('busy-new');

    const run = await runWorkflow(world, project, config, name);

    succeeded(run);
    expect(entered(run, 'WaitWhileProjectBusy')).toBeGreaterThan(1);
    expect(entered(run, 'WaitForDatasetsDeleted')).toBeGreaterThanOrEqual(1);
    const versions = await versionsOf(world, project);
    expect(versions[other].Status).toBe('TRAINING_COMPLETED');
    expect(versions[name].Status).toBe('TRAINING_COMPLETED');
    // Ours was created only once the other training had ended.
    expect(versions[name].CreationTimestamp!.getTime()).toBeGreaterThanOrEqual(versions[other].TrainingEndTimestamp!.getTime());
    for (const { arn } of Object.values(oldDatasets)) {
      await expect(world.rekognition.send(new DescribeDatasetCommand({ DatasetArn: arn }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }
    const fresh = await datasetsOf(world, project);
    expect(fresh.TRAIN.arn).not.toBe(oldDatasets.TRAIN.arn);
    expect(fresh.TEST.arn).not.toBe(oldDatasets.TEST.arn);
  });

  test('GIVEN the start fails THEN the new version is left stopped and the serving one keeps serving', async () => {
    const { project, servingArn } = await servingProject('startfail');
    const name = versionName('startfail-new');
    world.cloud.emulator.force.start({ versionName: name, fail: true, message: 'Insufficient capacity to start the model.' });

    const run = await runWorkflow(world, project, configFor(project, { deployment: deploy }), name);

    const created = (await versionsOf(world, project))[name];
    expect(created).toMatchObject({ Status: 'FAILED', StatusMessage: 'Insufficient capacity to start the model.' });
    expect(run).toMatchObject({ status: 'FAILED', cause: `StartFailed: Starting the model version failed: ${created.StatusMessage}` });
    // The workflow asked to stop it; the service refuses (a FAILED version is not running), which the workflow accepts.
    expect(taskCalls(run).filter((c) => c.state === 'StopNewVersion')).toEqual([{ state: 'StopNewVersion', error: 'Rekognition.ResourceInUseException' }]);
    expect(servingValue(project)).toBe(servingArn);
    expect(runningVersions(world, project)).toEqual([servingArn]);
    expect(run.signals).toEqual([expect.objectContaining({ Status: 'FAILURE' })]);
  });
});
