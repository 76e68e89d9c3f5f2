import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LabelSource, TestData, TrainingData } from '../../lib/data';
import { formatIssues, localManifestFromFolder, prepareLocalData, stageFile } from '../../lib/data/local';
import { classificationSamples, writeSamplesToFolder } from '../../lib/samples/shapes';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-test-'));
  writeSamplesToFolder(dir, classificationSamples({ perLabel: 5, seed: 9 }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('local data at synth', () => {
  test('GIVEN the same folder twice THEN the generated manifest is byte-identical (a stable version name)', () => {
    const a = localManifestFromFolder(dir, LabelSource.FOLDER_NAMES);
    const b = localManifestFromFolder(dir, LabelSource.FOLDER_NAMES);
    expect(a).toBe(b);
    expect(a.trim().split('\n')).toHaveLength(15);
    expect(a).toContain('"source-ref":"s3://cdk-local-images/red-circle/');
  });

  test('GIVEN a split THEN both sides validate and hold every line once', () => {
    const manifest = localManifestFromFolder(dir, LabelSource.FOLDER_NAMES);
    const result = prepareLocalData({ manifest, imagesDir: dir, cacheDir: path.join(dir, '.cache') }, undefined, { ratio: 0.4, seed: 1 });
    expect(result.errors).toEqual([]);
    const lines = [...result.training!.manifest.trim().split('\n'), ...result.testing!.manifest.trim().split('\n')];
    expect(new Set(lines).size).toBe(15);
    expect(result.shape).toMatchObject({ useCase: 'IMAGE_LEVEL_LABELS', multiLabelLines: 0 });
  });

  test('GIVEN an image that is not where the manifest says THEN the error names the line and the service code', () => {
    const manifest = localManifestFromFolder(dir, LabelSource.FOLDER_NAMES).replace('red-circle/', 'red-circle/missing-');
    const result = prepareLocalData({ manifest, imagesDir: dir, cacheDir: path.join(dir, '.cache') }, undefined, undefined);
    expect(result.errors.some((e) => /^training manifest line \d+: ERROR_INVALID_IMAGE /.test(e))).toBe(true);
  });

  test('formatIssues lists 25 errors, then a count', () => {
    const issues = Array.from({ length: 30 }, (_, i) => ({ line: i + 1, code: 'ERROR_X', message: 'bad', level: 'line' as const }));
    const lines = formatIssues('training manifest', issues);
    expect(lines).toHaveLength(26);
    expect(lines[0]).toBe('training manifest line 1: ERROR_X bad');
    expect(lines[25]).toBe('training manifest: ... and 5 more errors');
  });

  test('stageFile is content-addressed', () => {
    const a = stageFile('x.manifest', 'hello\n');
    expect(stageFile('x.manifest', 'hello\n')).toBe(a);
    expect(stageFile('x.manifest', 'other\n')).not.toBe(a);
    expect(fs.readFileSync(a, 'utf8')).toBe('hello\n');
  });

  test('factories and binds: a folder becomes a manifest, a split keeps ratio and seed, the service split is a flag', () => {
    const bound = TrainingData.fromLocalFolder(dir).bind(undefined as never, { role: 'training' });
    expect(bound.imagesDir).toBe(path.resolve(dir));
    expect(TestData.split().bind(undefined as never, { role: 'testing' })).toEqual({ split: { ratio: 0.2, seed: 7 } });
    expect(TestData.serviceSplit().bind(undefined as never, { role: 'testing' })).toEqual({ serviceSplit: true });
    expect(() => TrainingData.fromLocalManifest('/nope.manifest').bind(undefined as never, { role: 'training' }))
      .toThrow('fromLocalManifest file must be an existing file, got: "/nope.manifest" (not found)');
  });
});
