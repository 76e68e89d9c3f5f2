/**
 * Synth-time work on local data: generate the manifest, split it, validate it (with the images' headers) and stage
 * the results as files for assets. Pure Node and the manifest toolkit: no constructs here.
 */
import { constants as bufferConstants } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { cocoToManifestLines } from '../manifest/convert/coco';
import { ConvertSummary } from '../manifest/convert/common';
import { csvToManifestLines } from '../manifest/convert/csv';
import { foldersToManifestLines } from '../manifest/convert/folders';
import { SyncImageInspector } from '../manifest/image';
import { splitLines } from '../manifest/reader';
import { splitManifestLines } from '../manifest/split';
import { MANIFEST_LIMITS, ManifestIssue, UseCase } from '../manifest/types';
import { LineResult, ManifestValidation, ManifestValidator, pairIssues } from '../manifest/validator';
import { CachedImageInspector, contentKey } from './image-facts';
import { LabelSource } from './label-source';
import { collectAfterLargeData } from './memory';
import { PackObject } from './packs';
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
const MB = 1024 * 1024;
const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;

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
  const bytes = fs.statSync(file).size;
  if (bytes > MANIFEST_LIMITS.maxFileBytes) {
    throw new Error(`${file} is ${(bytes / MB).toFixed(0)} MB (${bytes.toLocaleString('en-US')} bytes); a manifest may be at most 1024 MB `
      + `(${MANIFEST_LIMITS.maxFileBytes.toLocaleString('en-US')} bytes)`);
  }
  // Synth holds a local manifest as one string, and V8 caps a string's length (about 512 MB in Node.js 20 and 22) below
  // the service's 1 GB; S3 manifests stream in the prepare function and go up to 1 GB. Checked on bytes (a manifest
  // is almost all ASCII, where bytes and characters are one), before reading anything.
  if (bytes > MAX_STRING_LENGTH) {
    throw new Error(`${file} is ${(bytes / MB).toFixed(0)} MB (${bytes.toLocaleString('en-US')} bytes); synth reads a local manifest into memory, `
      + `at most ${(MAX_STRING_LENGTH / MB).toFixed(0)} MB (${MAX_STRING_LENGTH.toLocaleString('en-US')} bytes, the longest string of this `
      + 'Node.js); upload it to S3 and use TrainingData.fromS3Manifest, which streams manifests up to the service\'s 1024 MB');
  }
  return fs.readFileSync(file, 'utf8');
}

/** Lines of a manifest's errors for a synth failure: `<what> line <n>: <CODE> <message> (<detail>)`. */
export function formatIssues(what: string, issues: readonly ManifestIssue[]): string[] {
  const lines = issues.slice(0, MAX_LISTED_ERRORS).map((i) => `${what} ${i.line === null ? '(file)' : `line ${i.line}`}: ${i.code} ${i.message}`
    + (i.detail ? ` (${i.detail})` : ''));
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
  /** The folder that stands for `s3://<any bucket>/` of the manifest's source-refs: its images travel in packs. */
  readonly imagesDir?: string;
  /** Where image facts and packs are kept between synths (see {@link dataCacheDir}). */
  readonly cacheDir?: string;
  /** For messages: where the data comes from. */
  readonly description?: string;
}

/** A manifest as it ships: source-refs name content-addressed keys, and the images those keys stand for. */
export interface ShippedSide {
  readonly manifest: string;
  /** Empty when the images stay in S3. */
  readonly objects: PackObject[];
  /** The images folder; undefined when the images stay in S3. */
  readonly imagesDir?: string;
  readonly cacheDir?: string;
}

export interface LocalDataResult {
  readonly training?: ShippedSide;
  readonly testing?: ShippedSide;
  /** Every problem found, ready for a synth error. Empty when the service would accept the data. */
  readonly errors: string[];
  readonly shape?: DataShape;
  readonly notes: string[];
  /** What synth read: images read (not answered from the cache) and their bytes. */
  readonly imagesRead: number;
  readonly imageBytesRead: number;
  /** Manifest lines of both sides as given (before a split). */
  readonly lines?: number;
}

/** The default home of synth's caches: `node_modules/.cache/` of the app when there is one, else the OS temp dir. */
export function defaultCacheRoot(): string {
  const fromEnv = process.env.CDK_CUSTOM_LABELS_CACHE_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  const modules = path.resolve('node_modules');
  return fs.existsSync(modules) ? path.join(modules, '.cache', 'cdk-rekognition-custom-labels') : path.join(os.tmpdir(), 'cdk-rekognition-custom-labels-cache');
}

/** The cache folder of one images folder: facts and packs are per folder. */
export function dataCacheDir(imagesDir: string, root = defaultCacheRoot()): string {
  return path.join(root, createHash('sha256').update(path.resolve(imagesDir)).digest('hex').slice(0, 16));
}

/** Lines and bytes of a manifest, for the limits checked before anything else. */
function measure(manifest: string): { lines: number; bytes: number } {
  let lines = 0;
  let start = 0;
  while (start < manifest.length) {
    let end = manifest.indexOf('\n', start);
    if (end === -1) end = manifest.length;
    if (manifest.slice(start, end).trim() !== '') lines++;
    start = end + 1;
  }
  return { lines, bytes: Buffer.byteLength(manifest) };
}


/** Service limits that fail synth before any validation, each message with the limit and the figure. */
function limitProblems(what: string, { lines, bytes }: { lines: number; bytes: number }): string[] {
  const problems: string[] = [];
  if (lines > MANIFEST_LIMITS.maxLines) {
    problems.push(`${what}: ${lines.toLocaleString('en-US')} images; a dataset holds at most ${MANIFEST_LIMITS.maxLines.toLocaleString('en-US')} `
      + 'images (Rekognition Custom Labels quota)');
  }
  if (bytes > MANIFEST_LIMITS.maxFileBytes) {
    problems.push(`${what}: the manifest is ${(bytes / MB).toFixed(0)} MB (${bytes.toLocaleString('en-US')} bytes); a manifest may be at most `
      + `1024 MB (${MANIFEST_LIMITS.maxFileBytes.toLocaleString('en-US')} bytes)`);
  }
  return problems;
}

/** Images over the service's size limit, each with its size and the limit. */
function imageSizeProblems(what: string, inspector: CachedImageInspector, manifest: string): string[] {
  const problems: string[] = [];
  for (const line of splitLines(manifest)) {
    const key = sourceKey(line.text);
    const facts = key === undefined ? undefined : inspector.facts(key);
    if (facts?.bytes !== undefined && facts.bytes > MANIFEST_LIMITS.maxImageBytes) {
      problems.push(`${what} line ${line.lineNumber}: image ${key} is ${(facts.bytes / MB).toFixed(1)} MB (${facts.bytes.toLocaleString('en-US')} bytes); `
        + `an image may be at most 15 MB (${MANIFEST_LIMITS.maxImageBytes.toLocaleString('en-US')} bytes)`);
    }
  }
  return problems;
}

/** The key of a line's `s3://<bucket>/<key>` source-ref, when the line has one. */
function sourceKey(text: string): string | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ref = (obj as Record<string, unknown> | null)?.['source-ref'];
  const m = typeof ref === 'string' ? /^s3:\/\/[^/]+\/(.+)$/s.exec(ref) : null;
  return m ? m[1] : undefined;
}

function validateSide(content: string, role: 'training' | 'testing', images?: SyncImageInspector, crossCheck?: ManifestValidation) {
  let multiLabelLines = 0;
  const v = new ManifestValidator({
    role,
    images,
    crossCheck,
    onLine: (line: LineResult) => {
      if (line.status === 'valid' && line.kind === 'IMAGE_LEVEL_LABELS' && line.labels.length > 1) multiLabelLines++;
    },
  });
  for (const line of splitLines(content, { includeBlank: true })) v.push(line);
  const report = v.finish();
  return { report, shape: { useCase: report.useCase, multiLabelLines, labels: Object.keys(report.labels) } };
}

/**
 * Splits (when asked) and validates local manifests the way the service will: each side on its own (with image
 * checks when the images are local), then the pair (label overlap, shared images). Limits come first; then the
 * manifests that ship are made: their source-refs point at content-addressed keys of the images.
 */
export function prepareLocalData(training: LocalSide | undefined, testing: LocalSide | undefined,
  split: TestSplitConfig | undefined): LocalDataResult {
  const errors: string[] = [];
  const notes: string[] = [];
  let lines = 0;
  for (const [side, what] of [[training, 'trainingData'], [testing, 'testData']] as const) {
    if (!side) continue;
    const size = measure(side.manifest);
    lines += size.lines;
    errors.push(...limitProblems(side.description ? `${what} (${side.description})` : what, size));
  }
  const nothingRead = { errors, notes, imagesRead: 0, imageBytesRead: 0 };
  if (errors.length > 0) return nothingRead;

  const inspectors = new Map<string, CachedImageInspector>();
  const inspectorFor = (side: LocalSide | undefined): CachedImageInspector | undefined => {
    if (!side?.imagesDir) return undefined;
    const dir = path.resolve(side.imagesDir);
    let inspector = inspectors.get(dir);
    if (!inspector) {
      inspector = new CachedImageInspector(dir, path.join(side.cacheDir ?? dataCacheDir(dir), 'facts.json'));
      inspectors.set(dir, inspector);
    }
    return inspector;
  };
  let trainingManifest = training?.manifest;
  let testingManifest = testing?.manifest;
  const testingSide: LocalSide | undefined = testing ?? (split && training ? training : undefined);
  if (training && split) {
    const result = splitManifestLines(training.manifest, { testRatio: split.ratio, seed: split.seed });
    trainingManifest = result.training.join('\n') + '\n';
    testingManifest = result.testing.join('\n') + '\n';
    notes.push(...result.result.notes);
    if (result.testing.length === 0) errors.push(`testData: the split (ratio ${split.ratio}, seed ${split.seed}) left no test images`);
  }
  let shape: DataShape | undefined;
  let trainingReport: ManifestValidation | undefined;
  const trainingImages = inspectorFor(training);
  const testingImages = inspectorFor(testingSide);
  if (trainingManifest !== undefined) {
    if (trainingImages) errors.push(...imageSizeProblems('training manifest', trainingImages, trainingManifest));
    const t = validateSide(trainingManifest, 'training', trainingImages);
    shape = t.shape;
    trainingReport = t.report;
    errors.push(...formatIssues('training manifest', t.report.errors));
  }
  if (testingManifest !== undefined) {
    if (testingImages) errors.push(...imageSizeProblems('testing manifest', testingImages, testingManifest));
    const t = validateSide(testingManifest, 'testing', testingImages, trainingReport);
    shape ??= t.shape;
    errors.push(...formatIssues('testing manifest', t.report.errors));
    if (trainingReport) errors.push(...formatIssues('training/testing pair', pairIssues(trainingReport, t.report)));
  }
  const imagesRead = [...inspectors.values()].reduce((n, i) => n + i.filesRead, 0);
  const imageBytesRead = [...inspectors.values()].reduce((n, i) => n + i.bytesRead, 0);
  for (const inspector of inspectors.values()) inspector.save();
  collectAfterLargeData(lines);
  if (errors.length > 0) return { errors, notes, shape, imagesRead, imageBytesRead };

  const ship = (manifest: string | undefined, side: LocalSide | undefined, images: CachedImageInspector | undefined, what: string) => {
    if (manifest === undefined || !side) return undefined;
    if (!images) return { manifest, objects: [] };
    const shipped = shipManifest(manifest, images, what, errors);
    return { ...shipped, imagesDir: images.root, cacheDir: side.cacheDir ?? dataCacheDir(images.root) };
  };
  const result = {
    training: ship(trainingManifest, training, trainingImages, 'training manifest'),
    testing: ship(testingManifest, testingSide, testingImages, 'testing manifest'),
    errors, shape, notes, imagesRead, imageBytesRead, lines,
  };
  collectAfterLargeData(lines);
  return result;
}

/**
 * The manifest that ships: every source-ref becomes `s3://cdk-local-images/<sha256>/<file name>`, and the objects list
 * says which file holds each key. Two lines whose images have the same name and bytes would become one image twice.
 */
function shipManifest(manifest: string, images: CachedImageInspector, what: string, errors: string[]): { manifest: string; objects: PackObject[] } {
  const out: string[] = [];
  const objects = new Map<string, PackObject & { line: number }>();
  for (const line of splitLines(manifest)) {
    const obj = JSON.parse(line.text) as Record<string, unknown>;
    const ref = obj['source-ref'] as string;
    const key = /^s3:\/\/[^/]+\/(.+)$/s.exec(ref)![1];
    const facts = images.facts(key);
    const ck = contentKey(facts);
    const seen = objects.get(ck);
    if (seen && seen.file !== facts.file) {
      errors.push(`${what} line ${line.lineNumber}: ${facts.file} has the same name and bytes as ${seen.file} (line ${seen.line}): the service `
        + 'would see one image twice and drop the second line (ERROR_DUPLICATE_SOURCE_REF); keep one of them');
    }
    if (!seen) objects.set(ck, { key: ck, file: facts.file, line: line.lineNumber });
    obj['source-ref'] = `s3://${LOCAL_IMAGES_BUCKET}/${ck}`;
    out.push(JSON.stringify(obj));
  }
  return { manifest: out.join('\n') + '\n', objects: [...objects.values()].map(({ key, file }) => ({ key, file })) };
}

/**
 * Writes content to a content-addressed file under the OS temp dir and returns its path, for an asset. The asset is
 * staged (copied) by CDK, and identical content maps to the same path, so the files are left as a small cache.
 */
export function stageFile(name: string, content: string | Buffer): string {
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

/** A manifest as its asset ships: gzip (the prepare handler reads both; 250,000 lines shrink about 5 to 10 times). */
export function compressManifest(manifest: string): Buffer {
  return zlib.gzipSync(manifest, { level: 6 });
}

/** sha256 (hex) of a string, for fingerprints. */
export function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}
