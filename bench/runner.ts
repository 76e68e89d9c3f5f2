/**
 * `node dist/bench/runner.js`: the offline runner's figures for the example app (bin/app.ts: a classifier and a detector).
 * 1. Pipeline overhead per model: the workflow's virtual duration minus the service's own import, training and start
 *    times (target <= 3 virtual minutes; the AWS samples poll every 15 minutes).
 * 2. DescribeProjectVersions calls per hour of training.
 * 3. Wall time of a synth + deploy + destroy (target: the demo stays under 60 s).
 * 4. The resource database's cost at start-up: deriving the runner's index from @aws-cdk/aws-service-spec (once per
 *    database version) and loading the cached index, each against parsing the example app's template in the same run.
 * Prints one line per figure, then one JSON line; exits 1 when a target is missed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Rekognition } from '@aws-sdk/client-rekognition';
import { App } from 'aws-cdk-lib';

import { ShapesStack } from '../bin/app';
import { startLocalCloud } from '../lib/emulator/local-cloud';
import { LocalRunner } from '../lib/runner/local-runner';
import { pipelineOverheadSeconds, serviceDurations, taskCalls, workflowPhases } from '../lib/runner/report';
import { loadIndex } from '../lib/runner/resource-spec';
import { packageRoot } from '../lib/shared/handler-code';

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-runner-'));
  const started = Date.now();
  const cloud = await startLocalCloud({ timeScale: 0 });
  try {
    const outdir = path.join(dir, 'cdk.out');
    const app = new App({ outdir });
    new ShapesStack(app, 'CustomLabelsShapes', { examplesRoot: packageRoot(), env: { region: 'us-east-1' } });
    app.synth();
    const synthSeconds = (Date.now() - started) / 1000;
    const spec = specFigures(path.join(outdir, 'CustomLabelsShapes.template.json'));
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    const rekognition = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
    const deployStart = Date.now();
    await runner.deploy(outdir);
    await runner.settle();
    const deploySeconds = (Date.now() - deployStart) / 1000;
    const models = [];
    for (const execution of runner.executions()) {
      const versionName = execution.name.replace(/-[0-9a-f]{8}$/, '');
      const projectName = versionName.startsWith('classifier') ? 'shapes-classifier' : 'shapes-detector';
      const project = (await rekognition.describeProjects({ ProjectNames: [projectName] })).ProjectDescriptions?.[0];
      const phases = workflowPhases(execution.events);
      const service = await serviceDurations(rekognition, project?.ProjectArn ?? '', versionName, true);
      const overheadSeconds = pipelineOverheadSeconds(phases, service);
      const describesPerTrainingHour = taskCalls(execution.events, 'DescribeTraining') / Math.max(service.trainingSeconds / 3600, 1e-9);
      models.push({ versionName, workflowSeconds: phases.total, overheadSeconds: Math.round(overheadSeconds),
        describesPerTrainingHour: Number(describesPerTrainingHour.toFixed(1)) });
      console.log(`${versionName}: pipeline overhead ${overheadSeconds.toFixed(0)} s (target <= 180), `
        + `${describesPerTrainingHour.toFixed(1)} DescribeProjectVersions per hour of training`);
    }
    const destroyStart = Date.now();
    await runner.destroy();
    const destroySeconds = (Date.now() - destroyStart) / 1000;
    await runner.close();
    const wallSeconds = (Date.now() - started) / 1000;
    console.log(`wall: synth ${synthSeconds.toFixed(1)} s, deploy ${deploySeconds.toFixed(1)} s, destroy ${destroySeconds.toFixed(1)} s, `
      + `total ${wallSeconds.toFixed(1)} s (target < 60)`);
    console.log(`resource database: derive ${spec.deriveMs.toFixed(0)} ms (once per version), cached load ${spec.cachedMs.toFixed(1)} ms, `
      + `template parse ${spec.baselineMs.toFixed(1)} ms: cached load / parse ${(spec.cachedMs / spec.baselineMs).toFixed(1)}`);
    console.log(JSON.stringify({ synthSeconds, deploySeconds, destroySeconds, wallSeconds, models, spec }));
    return models.every((m) => m.overheadSeconds <= 180) && wallSeconds < 60 ? 0 : 1;
  } finally {
    await cloud.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/** Milliseconds to derive the spec index, to load it from its cache, and to parse a template (the baseline), best of 5. */
function specFigures(templateFile: string): { deriveMs: number; cachedMs: number; baselineMs: number } {
  const time = (fn: () => void, runs = 5): number => {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      fn();
      best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
    }
    return best;
  };
  const deriveMs = time(() => loadIndex({ fresh: true }), 1);
  const cachedMs = time(() => loadIndex({ reload: true }));
  const baselineMs = time(() => JSON.parse(fs.readFileSync(templateFile, 'utf8')));
  return { deriveMs, cachedMs, baselineMs };
}
