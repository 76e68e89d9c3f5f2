import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { bufferSource, openZip } from '../../lambda/prepare/zip';
import { CustomLabelsModel, CustomLabelsProject, TestData, TrainingData } from '../../lib';
import { numberedPngFactory } from '../../lib/samples/numbered-png';

// Local data at synth, at the service's limits: limits said up front with their figures, images that travel in packs
// (a change of one image uploads a pack of one image), and a folder past 65,535 images (a ZIP64 pack).
const LABELS = ['circle', 'square', 'triangle'];
const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;
let root: string;

const png = numberedPngFactory(120);

function folder(name: string, images: number): string {
  const dir = path.join(root, name);
  for (const label of LABELS) fs.mkdirSync(path.join(dir, label), { recursive: true });
  for (let i = 0; i < images; i++) fs.writeFileSync(path.join(dir, LABELS[i % 3], `${String(i).padStart(6, '0')}.png`), png(i));
  return dir;
}

interface Synth {
  versionName: string;
  /** Object keys of the file assets (templates aside), with their source's size. */
  assets: Map<string, number>;
  packs: string[];
}

function synth(trainingData: TrainingData, testData?: TestData): Synth {
  const app = new App({ outdir: fs.mkdtempSync(path.join(root, 'out-')) });
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
  const model = new CustomLabelsModel(stack, 'Model', { project: new CustomLabelsProject(stack, 'Project', { projectName: 'p' }), trainingData,
    testData, waitForTraining: false });
  const assembly = app.synth();
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'S.assets.json'), 'utf8')) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }> };
  const assets = new Map<string, number>();
  const packs: string[] = [];
  for (const file of Object.values(manifest.files)) {
    const source = path.join(assembly.directory, file.source.path);
    if (source.endsWith('.json') || fs.statSync(source).isDirectory()) continue;
    for (const d of Object.values(file.destinations)) assets.set(d.objectKey, fs.statSync(source).size);
    if (source.endsWith('.zip')) packs.push(source);
  }
  return { versionName: model.versionName, assets, packs };
}

async function packEntries(file: string): Promise<string[]> {
  const zip = await openZip(bufferSource(fs.readFileSync(file)));
  const names: string[] = [];
  for await (const entry of zip.entries()) names.push(entry.info.name);
  zip.close();
  return names;
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'data-scale-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('limits said at synth, with the limit and the figure', () => {
  const bucket = (stack: Stack) => s3.Bucket.fromBucketName(stack, 'Images', 'images-bucket');

  function synthError(make: (stack: Stack) => TrainingData): string {
    const app = new App({ outdir: fs.mkdtempSync(path.join(root, 'out-')) });
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
    try {
      new CustomLabelsModel(stack, 'Model', { project: new CustomLabelsProject(stack, 'Project', { projectName: 'p' }), trainingData: make(stack),
        testData: TestData.serviceSplit(), waitForTraining: false });
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('synth passed');
  }

  const line = (i: number, label: string) => JSON.stringify({ 'source-ref': `s3://images-bucket/${i}.png`, 'c': 0,
    'c-metadata': { 'class-name': label, 'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes',
      'creation-date': '2026-01-01T00:00:00', 'job-name': 'j' } });

  test('GIVEN 250,001 images THEN synth fails naming both figures, before validating a line', () => {
    const file = path.join(root, 'too-many.manifest');
    fs.writeFileSync(file, Array.from({ length: 250_001 }, (_, i) => line(i, LABELS[i % 3])).join('\n') + '\n');
    expect(synthError((stack) => TrainingData.fromLocalManifest(file, { imagesBucket: bucket(stack) })))
      .toContain(`trainingData (local manifest ${file}): 250,001 images; a dataset holds at most 250,000 images (Rekognition Custom Labels quota)`);
  });

  test('GIVEN a manifest over 1 GB THEN synth fails with its size and the limit, without reading it', () => {
    const file = path.join(root, 'huge.manifest');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 1024 * 1024 * 1024 + 1); // sparse: nothing is written
    expect(synthError((stack) => TrainingData.fromLocalManifest(file, { imagesBucket: bucket(stack) })))
      .toContain(`trainingData: ${file} is 1024 MB (1,073,741,825 bytes); a manifest may be at most 1024 MB (1,073,741,824 bytes)`);
  });

  test('GIVEN a local manifest longer than a string of this Node.js THEN synth fails with its size, the limit and the path that streams', () => {
    const file = path.join(root, 'long.manifest');
    fs.writeFileSync(file, '');
    const bytes = MAX_STRING_LENGTH + 1;
    fs.truncateSync(file, bytes); // sparse: nothing is written or read
    const message = synthError((stack) => TrainingData.fromLocalManifest(file, { imagesBucket: bucket(stack) }));
    expect(message).toContain(`trainingData: ${file} is 512 MB (${bytes.toLocaleString('en-US')} bytes); synth reads a local manifest into memory`);
    expect(message).toContain('use TrainingData.fromS3Manifest, which streams manifests up to the service\'s 1024 MB');
  });

  test('GIVEN 251 labels THEN synth fails with the count and the limit', () => {
    const file = path.join(root, 'labels.manifest');
    fs.writeFileSync(file, Array.from({ length: 502 }, (_, i) => line(i, `label-${i % 251}`)).join('\n') + '\n');
    expect(synthError((stack) => TrainingData.fromLocalManifest(file, { imagesBucket: bucket(stack) })))
      .toContain('training manifest (file): ERROR_MANIFEST_TOO_MANY_LABELS The manifest file has too many labels. (251 labels; at most 250)');
  });

  test('GIVEN an image over 15 MB THEN synth fails naming it, its size and the limit', () => {
    const dir = folder('big-image', 6);
    const big = path.join(dir, 'square', 'big.png');
    fs.writeFileSync(big, png(99).subarray(0, 33)); // the signature and IHDR: 64x64
    fs.truncateSync(big, 16 * 1024 * 1024);
    expect(synthError(() => TrainingData.fromLocalFolder(dir, { cacheDir: path.join(root, 'cache-big') })))
      .toMatch(/training manifest line \d+: image square\/big\.png is 16\.0 MB \(16,777,216 bytes\); an image may be at most 15 MB \(15,728,640 bytes\)/);
  });
});

describe('incremental uploads: images travel in content-addressed packs', () => {
  test('GIVEN one image changed THEN the new assets are one pack of that image and the manifests, and the version changes exactly with the data',
    async () => {
      const dir = folder('incremental', 30);
      const cacheDir = path.join(root, 'cache-incremental');
      const data = () => TrainingData.fromLocalFolder(dir, { cacheDir });

      const first = synth(data());
      expect(first.packs).toHaveLength(1);
      expect(await packEntries(first.packs[0])).toHaveLength(30);

      // Nothing changed, or only a modification time: same version, no new asset at all.
      const again = synth(data());
      expect(again.versionName).toBe(first.versionName);
      expect([...again.assets.keys()].filter((k) => !first.assets.has(k))).toEqual([]);
      const touched = path.join(dir, 'circle', '000000.png');
      fs.utimesSync(touched, new Date(), new Date(Date.now() + 5000));
      expect(synth(data()).versionName).toBe(first.versionName);

      // One image's bytes change: one new pack holding that image alone, new manifests, a new version.
      const changed = path.join(dir, 'square', '000001.png');
      fs.writeFileSync(changed, png(1000));
      const after = synth(data());
      expect(after.versionName).not.toBe(first.versionName);
      const added = [...after.assets.keys()].filter((k) => !first.assets.has(k));
      expect(added.filter((k) => k.endsWith('.zip'))).toHaveLength(1);
      expect(added.filter((k) => !k.endsWith('.zip')).every((k) => k.endsWith('.gz'))).toBe(true);
      const newPack = after.packs.find((p) => !first.packs.some((f) => path.basename(f) === path.basename(p)))!;
      expect(await packEntries(newPack)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\/000001\.png$/)]);
      expect(fs.statSync(newPack).size).toBeLessThan(fs.statSync(changed).size + 400);

      // Without the cache (a fresh checkout): one pack of everything, and the same version: packs are transport, not data.
      fs.rmSync(cacheDir, { recursive: true, force: true });
      const fresh = synth(data());
      expect(fresh.versionName).toBe(after.versionName);
      expect(fresh.packs).toHaveLength(1);
      expect(await packEntries(fresh.packs[0])).toHaveLength(30);
    }, 120_000);

  test('GIVEN two images with the same name and bytes THEN synth says the service would drop one', () => {
    const dir = folder('duplicates', 6);
    fs.mkdirSync(path.join(dir, 'square', 'again'));
    fs.copyFileSync(path.join(dir, 'square', '000001.png'), path.join(dir, 'square', 'again', '000001.png'));
    expect(() => synth(TrainingData.fromLocalFolder(dir, { cacheDir: path.join(root, 'cache-dup') }), TestData.serviceSplit()))
      .toThrow(/square\/again\/000001\.png has the same name and bytes as .*square\/000001\.png \(line \d+\): the service would see one image twice/);
  });
});

describe('a folder past 65,535 images', () => {
  test('GIVEN 70,000 images THEN synth packs them in one ZIP64 pack and ships every line', async () => {
    const dir = folder('large', 70_000);
    const result = synth(TrainingData.fromLocalFolder(dir, { cacheDir: path.join(root, 'cache-large') }));
    expect(result.packs).toHaveLength(1);
    const zip = fs.readFileSync(result.packs[0]);
    expect(zip.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // ZIP64 end of central directory
    const opened = await openZip(bufferSource(zip));
    expect(opened.entryCount).toBe(70_000);
    opened.close();
    const manifests = [...result.assets.keys()].filter((k) => k.endsWith('.gz'));
    expect(manifests).toHaveLength(2);
  }, 600_000);
});
