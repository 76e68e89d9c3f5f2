/**
 * The toolkit demo: generates a small labelled image set, then runs the `custom-labels manifest` commands on it
 * the way a user would before paying for training: convert, split, validate (with the images), stats, and a
 * manifest with known mistakes to show what the validator reports. Exit 0 only when every step did what it should.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';

import { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { classificationSamples, cocoJsonFor, detectionSamples, writeSamplesToFolder } from '../../lib/samples/shapes';

interface Step {
  readonly title: string;
  readonly args: string[];
  readonly expectExit: number;
  /** Shown to the reader: the command's stdout (json) or stderr (text reports). */
  readonly show?: 'stdout' | 'stderr';
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Runs the demo; `log` receives the narration (stderr for people). Resolves to the exit code. */
export async function runToolkitDemo(log: (line: string) => void, workDir?: string): Promise<number> {
  const started = Date.now();
  const dir = workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'custom-labels-demo-'));
  const at = (...parts: string[]): string => path.join(dir, ...parts);

  log(`Generating a sample data set in ${dir}`);
  // The image root stands for s3://demo-images/: keys under it are the manifest's source-refs.
  writeSamplesToFolder(at('bucket', 'shapes'), classificationSamples({ perLabel: 30, seed: 7 }));
  const detection = detectionSamples({ images: 60, seed: 11 });
  writeSamplesToFolder(at('bucket', 'detection'), detection);
  fs.writeFileSync(at('coco.json'), cocoJsonFor(detection));
  fs.writeFileSync(at('broken.manifest'), brokenManifest());

  const steps: Step[] = [
    { title: 'Convert labelled folders to a manifest', expectExit: 0, show: 'stderr',
      args: ['manifest', 'convert', '--from', 'folders', at('bucket', 'shapes'), '--bucket', 's3://demo-images/shapes', '--out', at('shapes.manifest')] },
    { title: 'Convert a COCO file to a manifest', expectExit: 0, show: 'stderr',
      args: ['manifest', 'convert', '--from', 'coco', at('coco.json'), '--bucket', 's3://demo-images/detection', '--out', at('detection.manifest')] },
    { title: 'Split into training and testing (seeded, stratified)', expectExit: 0, show: 'stderr',
      args: ['manifest', 'split', at('shapes.manifest'), '--test-ratio', '0.2', '--seed', '7',
        '--out-train', at('train.manifest'), '--out-test', at('test.manifest')] },
    { title: 'Validate the pair, images included', expectExit: 0, show: 'stdout',
      args: ['manifest', 'validate', at('train.manifest'), '--test', at('test.manifest'), '--image-root', at('bucket')] },
    { title: 'Stats and guidance', expectExit: 0, show: 'stdout',
      args: ['manifest', 'stats', at('train.manifest'), '--test', at('test.manifest')] },
    { title: 'Validate the detection manifest, images included', expectExit: 0, show: 'stdout',
      args: ['manifest', 'validate', at('detection.manifest'), '--image-root', at('bucket')] },
    { title: 'Validate a manifest with known mistakes (expected: invalid, exit 1)', expectExit: 1, show: 'stdout',
      args: ['manifest', 'validate', at('broken.manifest')] },
  ];

  let failures = 0;
  for (const [i, step] of steps.entries()) {
    const out = new Capture();
    const err = new Capture();
    const io: CliIo = { stdout: out, stderr: err, cwd: dir };
    const stepStart = Date.now();
    const code = await main(step.args, io);
    const ok = code === step.expectExit;
    if (!ok) failures++;
    log('');
    log(`[${i + 1}/${steps.length}] ${step.title}`);
    log(`$ custom-labels ${step.args.map((a) => a.startsWith(dir) ? path.relative(dir, a) || '.' : a).join(' ')}`);
    const shown = (step.show === 'stderr' ? err.text : out.text).trimEnd();
    if (shown) log(indent(shown));
    if (!ok) log(indent(err.text.trimEnd()));
    log(`  -> exit ${code} (${ok ? 'as expected' : `EXPECTED ${step.expectExit}`}), ${Date.now() - stepStart} ms`);
  }

  log('');
  log(failures === 0
    ? `Toolkit demo passed: ${steps.length} steps in ${((Date.now() - started) / 1000).toFixed(1)} s.`
    : `Toolkit demo FAILED: ${failures} of ${steps.length} steps did not do what they should.`);
  if (!workDir) fs.rmSync(dir, { recursive: true, force: true });
  return failures === 0 ? 0 : 1;
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l}`).join('\n');
}

/** Ten lines: six good, four with one mistake each (the validator must find each at its line). */
function brokenManifest(): string {
  const meta = (label: string): Record<string, unknown> => ({
    'class-name': label, confidence: 1, 'human-annotated': 'yes', 'creation-date': '2026-01-01T00:00:00.000', type: 'groundtruth/image-classification',
  });
  const line = (key: string, label: string): string => JSON.stringify({ 'source-ref': `s3://demo-images/${key}`, label: 0, 'label-metadata': meta(label) });
  return [
    line('a/1.png', 'cat'),
    line('a/2.png', 'dog'),
    '{"source-ref": "s3://demo-images/a/3.png", "label": 0,',                   // line 3: not JSON
    line('a/4.png', 'cat'),
    line('a/2.png', 'dog'),                                                      // line 5: the same image again
    JSON.stringify({ 'source-ref': 'https://example.com/a/6.png', label: 0, 'label-metadata': meta('cat') }), // line 6: not s3://
    line('a/7.png', 'dog'),
    JSON.stringify({ 'source-ref': 's3://demo-images/a/8.png', label: 0, 'label-metadata': { ...meta('dog'), confidence: 7 } }), // line 8
    line('a/9.png', 'cat'),
    line('a/10.png', 'dog'),
  ].join('\n') + '\n';
}
