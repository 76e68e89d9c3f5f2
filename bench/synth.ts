/**
 * Synth-time benchmark of the constructs: `npm run build && npm run bench:synth`.
 *
 * Synthesizes one stack with 1, 10 and 50 CustomLabelsModels (each on its own project, training from the same small
 * local folder) and, in the same run, a baseline stack with as many projects and plain S3 buckets, so the figures
 * read as a ratio that does not depend on the machine's speed. Prints the CloudFormation resources each extra model
 * adds (target: at most 5; the provider, state machine and buckets are shared) and exits 1 when that is missed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { CustomLabelsModel, CustomLabelsProject, TrainingData } from '../lib';
import { classificationSamples, writeSamplesToFolder } from '../lib/samples/shapes';

const COUNTS = [1, 10, 50];
const MAX_RESOURCES_PER_MODEL = 5;

interface Figure { models: number; ms: number; baselineMs: number; resources: number; baselineResources: number }

function synth(models: number, imagesDir: string, baseline: boolean): { ms: number; resources: number } {
  const started = process.hrtime.bigint();
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-out-')) });
  const stack = new Stack(app, 'Bench', { env: { account: '123456789012', region: 'us-east-1' } });
  for (let i = 0; i < models; i++) {
    const project = new CustomLabelsProject(stack, `Project${i}`, { projectName: `bench-${i}` });
    if (baseline) {
      new s3.Bucket(stack, `Bucket${i}`);
    } else {
      new CustomLabelsModel(stack, `Model${i}`, { project, trainingData: TrainingData.fromLocalFolder(imagesDir) });
    }
  }
  const assembly = app.synth();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const template = assembly.getStackByName('Bench').template as { Resources: Record<string, unknown> };
  fs.rmSync(assembly.directory, { recursive: true, force: true });
  return { ms, resources: Object.keys(template.Resources).length };
}

function main(): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  writeSamplesToFolder(dir, classificationSamples({ perLabel: 10, seed: 1 }));
  synth(1, dir, false); // warm-up: module loading and the first asset hashing are not per-model costs
  const figures: Figure[] = COUNTS.map((models) => {
    const model = synth(models, dir, false);
    const base = synth(models, dir, true);
    return { models, ms: model.ms, baselineMs: base.ms, resources: model.resources, baselineResources: base.resources };
  });
  fs.rmSync(dir, { recursive: true, force: true });

  const first = figures[0];
  const last = figures[figures.length - 1];
  // Per extra model: what a model adds over its project (the baseline has the project and one bucket per model).
  const perModel = (last.resources - first.resources) / (last.models - first.models);
  console.log('models  synth ms  baseline ms  ratio  resources');
  for (const f of figures) {
    console.log(`${String(f.models).padStart(6)}  ${f.ms.toFixed(0).padStart(8)}  ${f.baselineMs.toFixed(0).padStart(11)}  `
      + `${(f.ms / f.baselineMs).toFixed(2).padStart(5)}  ${String(f.resources).padStart(9)}`);
  }
  console.log(`resources added per extra model (project included): ${perModel.toFixed(2)}`);
  const projectResources = (last.baselineResources - first.baselineResources) / (last.models - first.models) - 1;
  const modelOnly = perModel - projectResources;
  console.log(`resources added per extra model (project excluded): ${modelOnly.toFixed(2)} (target <= ${MAX_RESOURCES_PER_MODEL})`);
  console.log(JSON.stringify({ figures, resourcesPerModel: modelOnly }));
  return modelOnly <= MAX_RESOURCES_PER_MODEL ? 0 : 1;
}

process.exitCode = main();
