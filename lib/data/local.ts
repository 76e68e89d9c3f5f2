/**
 * Synth-time work on local data: generate the manifest, split it, validate it (with the images' headers) and stage
 * the results as files for assets. Pure Node and the manifest toolkit: no constructs here.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cocoToManifestLines } from '../manifest/convert/coco';
import { ConvertSummary } from '../manifest/convert/common';
import { csvToManifestLines } from '../manifest/convert/csv';
import { foldersToManifestLines } from '../manifest/convert/folders';
import { LocalImageInspector } from '../manifest/image';
import { splitManifestLines } from '../manifest/split';
import { ManifestIssue, UseCase } from '../manifest/types';
import { LineResult, validateManifestPairSync, validateManifestSync } from '../manifest/validator';
import { LabelSource } from './label-source';
import type { TestSplitConfig } from './test-data';

/**
 * The bucket written into source-refs of manifests generated at synth. The prepare handler replaces it with the data
 * bucket; any bucket name would do since the images' keys are what count.
 */
export const LOCAL_IMAGES_BUCKET = 'cdk-local-images';
/** A fixed creation-date keeps generated manifests byte-identical between synths (the date is not used for training). */
export const GENERATED_CREATION_DATE = '2020-01-01T00:00:00.000';
/** How many errors a synth failure lists before summarising the rest. */
const MAX_LISTED_ERRORS = 25;

function collect(lines: Generator<string, ConvertSummary>, what: string): string {
  const out: string[] = [];
  let next = lines.next();
  while (!next.done) {
    out.push(next.value);
    next = lines.next();
  }
  if (out.length === 0) {
    const skipped = next.value.skipped.slice(0, 5).map((s) => `${s.item}: ${s.reason}`).join('; ');
    throw new Error(`${what} produced no manifest line${skipped ? ` (skipped: ${skipped})` : ''}`);
  }
  return out.join('\n') + '\n';
}

/** The Ground Truth manifest of a local folder, generated with the toolkit's converters. */
export function localManifestFromFolder(dir: string, labels: LabelSource): string {
  const options = { bucket: LOCAL_IMAGES_BUCKET, creationDate: GENERATED_CREATION_DATE, jobName: 'cdk-rekognition-custom-labels' };
  switch (labels.kind) {
    case 'CSV':
      return collect(csvToManifestLines(labels.file!, options), `LabelSource.fromCsv(${labels.file})`);
    case 'COCO':
      return collect(cocoToManifestLines(labels.file!, options), `LabelSource.fromCoco(${labels.file})`);
    default:
      return collect(foldersToManifestLines(dir, options), `fromLocalFolder(${dir})`);
  }
}

export function localManifestFromFile(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Lines of a manifest's errors for a synth failure: `<what> line <n>: <CODE> <message>`. */
export function formatIssues(what: string, issues: readonly ManifestIssue[]): string[] {
  const lines = issues.slice(0, MAX_LISTED_ERRORS).map((i) => `${what} ${i.line === null ? '(file)' : `line ${i.line}`}: ${i.code} ${i.message}`);
  if (issues.length > MAX_LISTED_ERRORS) lines.push(`${what}: ... and ${issues.length - MAX_LISTED_ERRORS} more errors`);
  return lines;
}

/** What the data looks like, for the model type check. */
export interface DataShape {
  readonly useCase: UseCase;
  /** Valid lines carrying more than one image-level label. */
  readonly multiLabelLines: number;
  readonly labels: string[];
}

export interface LocalSide {
  readonly manifest: string;
  readonly imagesDir?: string;
}

export interface LocalDataResult {
  readonly training?: string;
  readonly testing?: string;
  /** Every problem found, ready for a synth error. Empty when the service would accept the data. */
  readonly errors: string[];
  readonly shape?: DataShape;
  readonly notes: string[];
}

function shapeOf(content: string, role: 'training' | 'testing', imagesDir?: string) {
  let multiLabelLines = 0;
  const report = validateManifestSync(content, {
    role,
    images: imagesDir ? new LocalImageInspector(imagesDir) : undefined,
    onLine: (line: LineResult) => {
      if (line.status === 'valid' && line.kind === 'IMAGE_LEVEL_LABELS' && line.labels.length > 1) multiLabelLines++;
    },
  });
  return { report, shape: { useCase: report.useCase, multiLabelLines, labels: Object.keys(report.labels) } };
}

/**
 * Splits (when asked) and validates local manifests the way the service will: each side on its own (with image
 * checks when the images are local), then the pair (label overlap, shared images).
 */
export function prepareLocalData(training: LocalSide | undefined, testing: LocalSide | undefined,
  split: TestSplitConfig | undefined): LocalDataResult {
  const errors: string[] = [];
  const notes: string[] = [];
  let trainingManifest = training?.manifest;
  let testingManifest = testing?.manifest;
  const testingDir = testing?.imagesDir ?? (split ? training?.imagesDir : undefined);
  if (training && split) {
    const result = splitManifestLines(training.manifest, { testRatio: split.ratio, seed: split.seed });
    trainingManifest = result.training.join('\n') + '\n';
    testingManifest = result.testing.join('\n') + '\n';
    notes.push(...result.result.notes);
    if (result.testing.length === 0) errors.push(`testData: the split (ratio ${split.ratio}, seed ${split.seed}) left no test images`);
  }
  let shape: DataShape | undefined;
  if (trainingManifest !== undefined) {
    const t = shapeOf(trainingManifest, 'training', training?.imagesDir);
    shape = t.shape;
    errors.push(...formatIssues('training manifest', t.report.errors));
  }
  if (testingManifest !== undefined) {
    const t = shapeOf(testingManifest, 'testing', testingDir);
    shape ??= t.shape;
    errors.push(...formatIssues('testing manifest', t.report.errors));
  }
  if (trainingManifest !== undefined && testingManifest !== undefined) {
    const pair = validateManifestPairSync(trainingManifest, testingManifest);
    errors.push(...formatIssues('training/testing pair', pair.errors));
  }
  return { training: trainingManifest, testing: testingManifest, errors, shape, notes };
}

/**
 * Writes content to a content-addressed file under the OS temp dir and returns its path, for an asset. The asset is
 * staged (copied) by CDK, and identical content maps to the same path, so the files are left as a small cache.
 */
export function stageFile(name: string, content: string): string {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 32);
  const dir = path.join(os.tmpdir(), 'cdk-custom-labels-manifests', hash);
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** sha256 (hex) of a string, for fingerprints. */
export function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}
