/**
 * One synth of a model over a local folder, in a process of its own so that its wall time and peak memory are its own
 * (bench/scale.ts runs it). Arguments: <images dir> <outdir> <cache dir>. Prints one JSON line.
 */
import { App, Stack } from 'aws-cdk-lib';

import { CustomLabelsModel, CustomLabelsProject, TrainingData } from '../lib';

const [imagesDir, outdir, cacheDir] = process.argv.slice(2);
const started = process.hrtime.bigint();
const app = new App({ outdir });
const stack = new Stack(app, 'Scale', { env: { account: '123456789012', region: 'us-east-1' } });
const project = new CustomLabelsProject(stack, 'Project', { projectName: 'scale' });
new CustomLabelsModel(stack, 'Model', { project, trainingData: TrainingData.fromLocalFolder(imagesDir, { cacheDir }), waitForTraining: false });
app.synth();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(JSON.stringify({ ms: Math.round(ms), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
