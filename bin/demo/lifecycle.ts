/**
 * The lifecycle demo (`npm run demo`): synthesizes the example app (a classifier and a detector of coloured shapes),
 * deploys it offline with the local runner, lets the workflow import, split, train, evaluate, gate, start and promote
 * each model, calls DetectCustomLabels on held-out images, stops the models, destroys the stack and checks that nothing
 * is left running. Every wait moves the emulator's virtual clock, so hours of service time take seconds.
 * Exit 0 only when every step did what it should.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ProjectVersionDescription, Rekognition } from '@aws-sdk/client-rekognition';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';

import { ExecutionRecord } from '../../lib/runner/executions';
import { OFFLINE_REGION } from '../../lib/runner/intrinsics';
import { LocalRunner, StackEvent } from '../../lib/runner/local-runner';
import { formatDuration, pipelineOverheadSeconds, serviceDurations, taskCalls, workflowPhases } from '../../lib/runner/report';
import { classificationSamples, detectionSamples, SampleImage } from '../../lib/samples/shapes';
import { packageRoot } from '../../lib/shared/handler-code';
import { ShapesStack } from '../app';

export interface LifecycleDemoOptions {
  /** Progress lines (stderr). */
  readonly progress: (line: string) => void;
  /** The final report (stdout). */
  readonly report: (line: string) => void;
  /** @default - a temporary folder, removed at the end */
  readonly workDir?: string;
  /** Where each model's evaluation report (the HTML page the workflow wrote beside its evaluation) is saved. */
  readonly reportsDir: string;
}

interface ModelFacts {
  readonly id: string;
  readonly projectName: string;
  readonly projectArn: string;
  readonly versionName: string;
  readonly servingArn: string;
  readonly execution: ExecutionRecord;
}

const STACK = 'CustomLabelsShapes';
const SHOWN_TYPES = new Set(['AWS::Rekognition::Project', 'Custom::CustomLabelsModelVersion', 'Custom::CustomLabelsProjectTeardown',
  'AWS::CloudFormation::WaitCondition', 'AWS::CloudFormation::Stack']);
const SHOWN_STATUS = /_COMPLETE$|_FAILED$|_SKIPPED$/;

/** Runs the demo; resolves to the exit code. */
export async function runLifecycleDemo(options: LifecycleDemoOptions): Promise<number> {
  const wallStart = Date.now();
  const { progress, report } = options;
  const dir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'custom-labels-lifecycle-'));
  const failures: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) failures.push(what);
    progress(`${ok ? '  ok  ' : '  FAIL'} ${what}`);
  };
  const elapsed = (): string => `${((Date.now() - wallStart) / 1000).toFixed(1)}s`;
  let runner: LocalRunner | undefined;
  try {
    // ---- synthesize -------------------------------------------------------------------------------------------
    progress(`[${elapsed()}] Synthesizing the example app (classifier + detector) into ${path.join(dir, 'cdk.out')}`);
    const outdir = path.join(dir, 'cdk.out');
    const app = new App({ outdir });
    new ShapesStack(app, STACK, { examplesRoot: packageRoot(), env: { region: OFFLINE_REGION } });
    app.synth();

    // ---- deploy -----------------------------------------------------------------------------------------------
    progress(`[${elapsed()}] Deploying offline (emulator + local S3, virtual clock)`);
    const onEvent = (e: StackEvent): void => {
      if (SHOWN_TYPES.has(e.resourceType) && SHOWN_STATUS.test(e.status)) {
        progress(`[${elapsed()}]   ${e.logicalId.padEnd(40)} ${e.status}${e.reason ? `: ${e.reason.slice(0, 160)}` : ''}`);
      }
    };
    runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), onEvent });
    const clock = runner.cloud.clock;
    const rekognition = new Rekognition({ endpoint: runner.cloud.rekognitionEndpoint, region: OFFLINE_REGION,
      credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } });
    const deployStartVirtual = clock.now();
    const deployed = await runner.deploy(outdir);
    // The stack completes when the wait conditions are signalled; each workflow still has its last steps to run.
    await runner.settle();
    const deployVirtual = (clock.now() - deployStartVirtual) / 1000;
    check(deployed.stacks[0]?.status === 'CREATE_COMPLETE', `stack ${STACK} deployed (${formatDuration(deployVirtual)} virtual)`);

    const resources = runner.stackState(STACK)?.resources ?? {};
    const models: ModelFacts[] = [];
    for (const [prefix, projectId] of [['Classifier', 'ClassifierProject'], ['Detector', 'DetectorProject']]) {
      const project = Object.entries(resources).find(([id, r]) => id.startsWith(projectId) && r.type === 'AWS::Rekognition::Project')?.[1];
      const parameter = Object.entries(resources).find(([id, r]) => id.startsWith(`${prefix}ServingVersion`) && r.type === 'AWS::SSM::Parameter')?.[1];
      const version = Object.entries(resources).find(([id, r]) => id.startsWith(`${prefix}Version`) && r.type === 'Custom::CustomLabelsModelVersion')?.[1];
      const versionName = String(version?.attributes.VersionName ?? '');
      const execution = runner.executions().find((e) => e.name.startsWith(versionName) && e.status === 'SUCCEEDED');
      const servingArn = parameter ? runner.parameterValue(parameter.physicalId) ?? '' : '';
      check(project !== undefined && execution !== undefined && servingArn.includes(`/version/${versionName}/`),
        `${prefix}: version ${versionName} trained, passed its gate and was promoted`);
      if (project && execution) {
        models.push({ id: prefix, projectName: project.physicalId, projectArn: String(project.attributes.Arn), versionName, servingArn, execution });
      }
    }

    // ---- evaluation and figures ---------------------------------------------------------------------------------
    const lines: string[] = [];
    const overheads: number[] = [];
    for (const m of models) {
      const version = await describeVersion(rekognition, m);
      check(version?.Status === 'RUNNING', `${m.id}: ${m.versionName} is RUNNING (${version?.MinInferenceUnits ?? '?'} inference unit)`);
      const phases = workflowPhases(m.execution.events);
      const service = await serviceDurations(rekognition, m.projectArn, m.versionName, true);
      const overhead = pipelineOverheadSeconds(phases, service);
      overheads.push(overhead);
      const polls = taskCalls(m.execution.events, 'DescribeTraining');
      lines.push(`${m.id} (${m.projectName}, version ${m.versionName})`);
      lines.push(`  phases (virtual): prepare+split ${formatDuration(phases.prepare)} | import ${formatDuration(phases.import)} | `
        + `train ${formatDuration(phases.train)} | evaluate+gate ${formatDuration(phases.gate)} | start ${formatDuration(phases.start)} | `
        + `promote+notify ${formatDuration(phases.promote)} | total ${formatDuration(phases.total)}`);
      lines.push(`  pipeline overhead: ${formatDuration(overhead)} (workflow ${formatDuration(phases.total)} minus service time: import `
        + `${formatDuration(service.importSeconds)}, training ${formatDuration(service.trainingSeconds)}, start ${formatDuration(service.startSeconds)})`);
      lines.push(`  training polls: ${polls} DescribeProjectVersions calls over ${formatDuration(service.trainingSeconds)} `
        + `(${(polls / Math.max(service.trainingSeconds / 3600, 1e-9)).toFixed(1)} per hour of training)`);
      const summaryObject = version?.EvaluationResult?.Summary?.S3Object;
      if (summaryObject?.Bucket && summaryObject.Name) {
        const object = await runner.cloud.s3.client().send(new GetObjectCommand({ Bucket: summaryObject.Bucket, Key: summaryObject.Name }));
        const summary = JSON.parse(await object.Body!.transformToString()) as EvaluationSummary;
        const agg = summary.AggregatedEvaluationResults?.Metrics ?? {};
        lines.push(`  evaluation (${summary.EvaluationDetails?.NumberOfTestingImages ?? '?'} test images): F1 ${fmt(agg.F1Score)}, `
          + `precision ${fmt(agg.Precision)}, recall ${fmt(agg.Recall)}`);
        lines.push(`    ${'label'.padEnd(16)} ${'precision'.padStart(9)} ${'recall'.padStart(7)} ${'F1'.padStart(6)} ${'threshold'.padStart(9)}`);
        for (const l of summary.LabelEvaluationResults ?? []) {
          lines.push(`    ${String(l.Label).padEnd(16)} ${fmt(l.Metrics?.Precision).padStart(9)} ${fmt(l.Metrics?.Recall).padStart(7)} `
            + `${fmt(l.Metrics?.F1Score).padStart(6)} ${fmt(l.Metrics?.Threshold).padStart(9)}`);
        }
        check(typeof agg.F1Score === 'number' && agg.F1Score >= (m.id === 'Classifier' ? 0.85 : 0.6), `${m.id}: F1 ${fmt(agg.F1Score)} meets the gate`);
        const saved = await saveEvaluationReport(runner, m, options.reportsDir);
        check(saved !== undefined, `${m.id}: the workflow wrote the evaluation report (${saved ?? 'missing'})`);
        if (saved) lines.push(`  evaluation report: ${saved}`);
      } else {
        check(false, `${m.id}: the version has an evaluation summary in S3`);
      }
    }

    // ---- detect on held-out images ------------------------------------------------------------------------------
    progress(`[${elapsed()}] DetectCustomLabels on held-out images (new seeds)`);
    const heldOut: Record<string, SampleImage[]> = {
      Classifier: classificationSamples({ perLabel: 3, seed: 4242 }),
      Detector: detectionSamples({ images: 5, seed: 4343 }),
    };
    lines.push('Predictions on held-out images (true labels -> predicted, confidence):');
    let correct = 0;
    let total = 0;
    const rounds = Math.max(...Object.values(heldOut).map((samples) => samples.length));
    for (let round = 0; round < rounds; round++) {
      // One request per model per round, a round every 250 ms: within the 5 requests per second of one inference unit.
      const paced = new Promise((resolve) => setTimeout(resolve, 250));
      for (const m of models) {
        const sample = heldOut[m.id]?.[round];
        if (!sample) continue;
        // No MinConfidence: the service then applies each label's assumed threshold from the evaluation.
        const res = await rekognition.detectCustomLabels({ ProjectVersionArn: m.servingArn, Image: { Bytes: sample.bytes } });
        const found = [...(res.CustomLabels ?? [])].sort((a, b) => (b.Confidence ?? 0) - (a.Confidence ?? 0));
        const predicted = found.map((l) => `${l.Name} ${(l.Confidence ?? 0).toFixed(0)}%`);
        // A classifier's answer is its top label; a detector's is the set of labels it boxed.
        const names = new Set((m.id === 'Classifier' ? found.slice(0, 1) : found).map((l) => l.Name));
        const truth = [...new Set(sample.labels)];
        const ok = truth.every((t) => names.has(t)) && names.size === truth.length;
        correct += ok ? 1 : 0;
        total += 1;
        lines.push(`  ${ok ? 'ok  ' : 'MISS'} ${m.id.padEnd(10)} ${truth.join(', ').padEnd(34)} -> ${predicted.join(', ') || '(nothing)'}`);
      }
      await paced;
    }
    // The emulator's learner is a colour-histogram model, not the service's: the accuracy is reported, and the check only
    // asks that the served models do far better than chance (1 in 3 labels).
    check(total > 0 && correct / total > 0.5, `held-out predictions: ${correct} of ${total} right`);

    // ---- stop, destroy ------------------------------------------------------------------------------------------
    progress(`[${elapsed()}] Stopping the models`);
    const stopStart = clock.now();
    for (const m of models) await rekognition.stopProjectVersion({ ProjectVersionArn: m.servingArn });
    for (let i = 0; i < 60 && (runner.cloud.usage().running.length > 0 || await anyStopping(rekognition, models)); i++) clock.advance(30_000);
    const stopVirtual = (clock.now() - stopStart) / 1000;
    check(runner.cloud.usage().running.length === 0, `models stopped (${formatDuration(stopVirtual)} virtual)`);

    progress(`[${elapsed()}] Destroying the stack`);
    const destroyStart = clock.now();
    const destroyed = await runner.destroy();
    const destroyVirtual = (clock.now() - destroyStart) / 1000;
    const projectsLeft = (await rekognition.describeProjects({})).ProjectDescriptions ?? [];
    const usage = runner.cloud.usage();
    check(projectsLeft.length === 0, `stack destroyed (${formatDuration(destroyVirtual)} virtual): no project, dataset or version left`);
    check(usage.running.length === 0, 'nothing left running');
    const retained = Object.entries(destroyed.stacks[0]?.retained ?? {}).map(([id, r]) => `${id} (${r.type}, DeletionPolicy Retain)`);

    // ---- report -------------------------------------------------------------------------------------------------
    report('');
    report('Rekognition Custom Labels, the whole lifecycle offline');
    report('======================================================');
    report(`deploy ${formatDuration(deployVirtual)} | detect | stop ${formatDuration(stopVirtual)} | destroy ${formatDuration(destroyVirtual)} (virtual time)`);
    for (const l of lines) report(l);
    report(`Meter: ${usage.totals.trainingHours.toFixed(2)} training hours ($${usage.totals.trainingHours.toFixed(2)} at $1/h) + `
      + `${usage.totals.inferenceUnitHours.toFixed(2)} inference-unit hours ($${(usage.totals.inferenceUnitHours * 4).toFixed(2)} at $4/h) `
      + `= $${usage.totals.dollars.toFixed(2)}`);
    report(`Pipeline overhead: ${overheads.map(formatDuration).join(', ')} (target <= 3m)`);
    if (retained.length > 0) report(`Kept by their removal policy (as CloudFormation would): ${retained.join(', ')}`);
    report(usage.running.length === 0 && projectsLeft.length === 0 ? 'Nothing left running.' : `STILL RUNNING: ${usage.running.join(', ')}`);
    report(`Wall time: ${((Date.now() - wallStart) / 1000).toFixed(1)} s`);
    report(failures.length === 0 ? 'Lifecycle demo passed.' : `Lifecycle demo FAILED: ${failures.join('; ')}`);
    return failures.length === 0 ? 0 : 1;
  } catch (err) {
    progress(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await runner?.close();
    if (!options.workDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface EvaluationSummary {
  readonly EvaluationDetails?: { readonly NumberOfTestingImages?: number };
  readonly AggregatedEvaluationResults?: { readonly Metrics?: { F1Score?: number; Precision?: number; Recall?: number } };
  readonly LabelEvaluationResults?: { Label?: string; Metrics?: { F1Score?: number; Precision?: number; Recall?: number; Threshold?: number } }[];
}

function fmt(n: number | undefined): string {
  return typeof n === 'number' ? n.toFixed(3) : '-';
}

/** Copies the report the run's outcome event names from the local S3 into `dir`; its path, or undefined. */
async function saveEvaluationReport(runner: LocalRunner, m: ModelFacts, dir: string): Promise<string | undefined> {
  const event = runner.recordedCalls().find((c) => c.action === 'putEvents' && c.executionArn === m.execution.executionArn);
  const detail = (event?.parameters as { Entries?: Array<{ Detail?: { evaluationReport?: string } }> } | undefined)?.Entries?.[0]?.Detail;
  const where = /^s3:\/\/([^/]+)\/(.+)$/.exec(detail?.evaluationReport ?? '');
  if (!where) return undefined;
  const object = await runner.cloud.s3.client().send(new GetObjectCommand({ Bucket: where[1], Key: where[2] }));
  const file = path.join(dir, `${m.id}-${m.versionName}.html`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, await object.Body!.transformToString());
  return file;
}

async function describeVersion(rekognition: Rekognition, m: ModelFacts): Promise<ProjectVersionDescription | undefined> {
  const res = await rekognition.describeProjectVersions({ ProjectArn: m.projectArn, VersionNames: [m.versionName] });
  return res.ProjectVersionDescriptions?.[0];
}

async function anyStopping(rekognition: Rekognition, models: readonly ModelFacts[]): Promise<boolean> {
  for (const m of models) {
    if ((await describeVersion(rekognition, m))?.Status === 'STOPPING') return true;
  }
  return false;
}
