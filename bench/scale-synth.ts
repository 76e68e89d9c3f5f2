/**
 * One synth of a model over a local folder, in a process of its own so that its wall time and peak memory are its own
 * (bench/scale.ts runs it). Arguments: <images dir> <outdir> <cache dir>, or `s3://<bucket>/<key>` <outdir> for a model
 * trained on a manifest in S3 (an imported bucket). Prints one JSON line; maxRssMb is VmHWM.
 */
import * as fs from 'node:fs';

import { App, Duration, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { CustomLabelsModel, CustomLabelsProject, TrainingData } from '../lib';

const [source, outdir, cacheDir] = process.argv.slice(2);
const started = process.hrtime.bigint();
const app = new App({ outdir });
const stack = new Stack(app, 'Scale', { env: { account: '123456789012', region: 'us-east-1' } });
const project = new CustomLabelsProject(stack, 'Project', { projectName: 'scale' });
// Training of tens of thousands of images can outlast the default trainingTimeout (8 hours): the emulator models it as
// 30 minutes plus 2 s per training image, up to the 24 hours the service documents [inferred: no per-image figure is
// published], so 20,000 training images train for about 11.6 virtual hours.
new CustomLabelsModel(stack, 'Model', {
  project,
  trainingData: trainingData(),
  waitForTraining: false,
  trainingTimeout: Duration.hours(30),
});
app.synth();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
// CPU time (user + system, this process and the pack writer it waited for) says what synth costs on a busy machine too.
const self = process.resourceUsage();
const cpuMs = (self.userCPUTime + self.systemCPUTime) / 1000 + childrenCpuMs();
console.log(JSON.stringify({ ms: Math.round(ms), cpuMs: Math.round(cpuMs), maxRssMb: Math.round(peakRssKb(self.maxRSS) / 1024) }));

/**
 * This process's own peak RSS: VmHWM, which exec resets. ru_maxrss is not reset: a process spawned from a larger one
 * inherits its high-water mark. ru_maxrss where there is no /proc.
 */
function peakRssKb(maxRssKb: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return maxRssKb;
}

/** CPU time of the child processes waited for (cutime + cstime of /proc/self/stat); 0 where there is no /proc. */
function childrenCpuMs(): number {
  try {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10; // fields 16 and 17 of proc(5), in ticks of 10 ms
  } catch {
    return 0;
  }
}

function trainingData(): TrainingData {
  const inS3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (!inS3) return TrainingData.fromLocalFolder(source, { cacheDir });
  return TrainingData.fromS3Manifest(s3.Bucket.fromBucketName(stack, 'Remote', inS3[1]), inS3[2]);
}
