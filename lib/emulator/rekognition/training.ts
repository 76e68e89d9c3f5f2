import { Caller } from '../../iam/world';
import { mulberry32 } from '../../manifest/random';
import { ManifestIssue } from '../../manifest/types';
import { ERRORS } from '../../manifest/types';
import { LineResult, ManifestValidation, validateManifest, validateManifestPair } from '../../manifest/validator';
import {
  evaluateScored, evaluationSummaryJson, LabeledImage, ScoredImage, scoreImage, testingOutputManifest, Trainer, withForcedF1,
} from '../learner';
import { inTurns } from '../turns';
import { readDenied, writeDenied } from './caller-access';
import { EmulatorCore, ForcedTraining, trainingDurationMs } from './core';
import { parseS3Uri, S3ImageInspector } from './s3';
import { JobResult, Json, ModelKind, S3ObjectRef, VersionRecord } from './state';

/** Where the training data comes from: the project's datasets (snapshotted lines) or external manifests (legacy). */
export type TrainingSource =
  | { kind: 'lines'; train: string[]; test: string[] }
  | { kind: 'manifests'; train: S3ObjectRef; test?: S3ObjectRef; autoCreate: boolean };

export interface TrainingInput {
  versionArn: string;
  projectName: string;
  versionName: string;
  startedAt: number;
  outputConfig: { S3Bucket: string; S3KeyPrefix?: string };
  source: TrainingSource;
  forced?: ForcedTraining;
  /** Whose rights the service reads legacy manifests and writes the output with (reference §9a). */
  caller?: Caller;
}

/** §6.3 A: terminal file errors; no validation files are written for these. */
const FILE_ERRORS = new Set([
  'ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT', 'ERROR_EMPTY_MANIFEST', 'ERROR_MANIFEST_SIZE_TOO_LARGE',
  'ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM', 'ERROR_TOO_MANY_RECORDS_IN_ERROR',
]);

/** [inferred] a training from external manifests that fails on its data stops after validation: 10 virtual minutes. */
const FAILED_TRAINING_MS = 10 * 60_000;
/** Share of the training manifest that TestingData.AutoCreate holds out (reference §6.2). */
const AUTO_SPLIT_SHARE = 0.2;
const FETCH_CONCURRENCY = 16;

interface Validated { validation: ManifestValidation; lines: LineResult[] }

async function validate(content: Buffer, role: 'training' | 'testing', inspector: S3ImageInspector): Promise<Validated> {
  const lines: LineResult[] = [];
  const validation = await validateManifest(content, { role, images: inspector, onLine: (l) => lines.push(l) });
  return { validation, lines };
}

function fail(durationMs: number, message: string, extra: Partial<VersionRecord> = {}): JobResult {
  return { durationMs, ok: false, message, version: { status: 'TRAINING_FAILED', statusMessage: message, ...extra } };
}

function asset(object: S3ObjectRef): Json {
  return { GroundTruthManifest: { S3Object: { ...object } } };
}

/** The training time of a dataset-sourced training (its TRAIN entry count); external manifests learn it from the work. */
export function plannedTrainingMs(source: TrainingSource): number | undefined {
  return source.kind === 'lines' ? trainingDurationMs(source.train.length) : undefined;
}

/** Holds out a seeded 20% of the non-blank lines for TestingData.AutoCreate. */
function autoSplit(content: Buffer, seed: string): { train: Buffer; test: Buffer } {
  const lines = content.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  let h = 0;
  for (const c of seed) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  const random = mulberry32(h);
  const held = new Set(lines.map((_, i) => ({ i, r: random() })).sort((a, b) => a.r - b.r)
    .slice(0, Math.max(1, Math.round(lines.length * AUTO_SPLIT_SHARE))).map((x) => x.i));
  return {
    train: Buffer.from(lines.filter((_, i) => !held.has(i)).join('\n')),
    test: Buffer.from(lines.filter((_, i) => held.has(i)).join('\n')),
  };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** Images decoded between two turns of the event loop (about 0.4 ms each for a small PNG). */
const IMAGES_PER_TURN = 64;

async function loadImages(inspector: S3ImageInspector, lines: LineResult[], kind: ModelKind): Promise<LabeledImage[]> {
  const valid = lines.filter((l) => l.status === 'valid' && l.sourceRef);
  const images = await mapLimit(valid, FETCH_CONCURRENCY, async (l): Promise<LabeledImage | undefined> => {
    const where = parseS3Uri(l.sourceRef!);
    const bytes = where ? await inspector.bytes(where.bucket, where.key) : undefined;
    if (!bytes) return undefined;
    return kind === 'IMAGE_LEVEL_LABELS'
      ? { sourceRef: l.sourceRef!, bytes, labels: [...l.labels], boxes: [] }
      : { sourceRef: l.sourceRef!, bytes, labels: [], boxes: l.boxes.map((b) => ({ ...b })) };
  });
  return images.filter((i): i is LabeledImage => i !== undefined && (kind === 'IMAGE_LEVEL_LABELS' ? i.labels.length > 0 : i.boxes.length > 0));
}

function summaryPart(v: ManifestValidation, errors: ManifestIssue[]): Json {
  return {
    use_case: v.useCase,
    total_json_lines: v.totalLines,
    valid_json_lines: v.validLines,
    invalid_json_lines: v.invalidLines,
    ignored_json_lines: v.ignoredLines,
    error_json_line_indices: v.errorLineNumbers,
    errors: errors.map((e) => ({ code: e.code, message: e.message })),
  };
}

/**
 * The training work: validate both manifests as the service does (with image checks against the local S3), write the
 * validation files, train and evaluate the learner, and write the evaluation files (reference §6.5, §7). Returns the
 * fields to set on the version once the clock reaches the end of training.
 */
export async function runTraining(core: EmulatorCore, input: TrainingInput): Promise<JobResult> {
  const { S3Bucket: bucket, S3KeyPrefix: prefix = '' } = input.outputConfig;
  // Known up front for datasets, so every outcome lands at the same virtual time whatever the real compute time.
  const planned = input.forced?.durationMs ?? plannedTrainingMs(input.source);
  const failedMs = planned ?? FAILED_TRAINING_MS;
  const at = (name: string): S3ObjectRef => ({ Bucket: bucket, Name: `${prefix}${name}` });

  let trainContent: Buffer;
  let testContent: Buffer;
  const inputs: { train: Json; test: Json } = { train: {}, test: {} };
  if (input.source.kind === 'lines') {
    trainContent = Buffer.from(input.source.train.join('\n'));
    testContent = Buffer.from(input.source.test.join('\n'));
  } else {
    const { train, test, autoCreate } = input.source;
    const manifests = [train, ...(test ? [test] : [])].map((m) => ({ bucket: m.Bucket, key: m.Name, version: m.Version }));
    const denied = await readDenied(core.access, input.caller, manifests);
    if (denied) {
      core.log(`training: ${denied.message}`);
      return fail(failedMs, ERRORS.ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET);
    }
    const trainBytes = await core.s3.get(train.Bucket, train.Name, train.Version);
    const testBytes = test ? await core.s3.get(test.Bucket, test.Name, test.Version) : Buffer.alloc(0);
    if (trainBytes === undefined || testBytes === undefined) {
      return fail(failedMs, ERRORS.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT);
    }
    inputs.train = { Assets: [asset(train)] };
    inputs.test = { Assets: test ? [asset(test)] : [], AutoCreate: autoCreate };
    if (autoCreate) {
      const split = autoSplit(trainBytes, input.versionArn);
      trainContent = test ? trainBytes : split.train;
      testContent = test ? Buffer.concat([testBytes, Buffer.from('\n'), split.test]) : split.test;
    } else {
      trainContent = trainBytes;
      testContent = testBytes;
    }
  }

  if (input.forced?.failure) {
    const { code, message } = input.forced.failure;
    return fail(failedMs, message ?? (ERRORS as Record<string, string>)[code] ?? code);
  }

  const inspector = new S3ImageInspector(core.s3);
  const [training, testing] = [await validate(trainContent, 'training', inspector), await validate(testContent, 'testing', inspector)];
  const fileErrors = [...training.validation.errors, ...testing.validation.errors].filter((e) => e.line === null);
  const terminal = fileErrors.find((e) => FILE_ERRORS.has(e.code));
  if (terminal) return fail(failedMs, terminal.message);

  const trainErrors = training.validation.errors.filter((e) => e.line === null);
  const testErrors = testing.validation.errors.filter((e) => e.line === null);
  // The pair rules (label overlap, an image in both) without image checks: cheap, and the per-line results are above.
  const crossErrors: ManifestIssue[] = (await validateManifestPair(trainContent, testContent)).errors;

  const validationFiles = {
    summary: at('manifest_summary.json'),
    training: at('training_manifest_with_validation.json'),
    testing: at('testing_manifest_with_validation.json'),
  };
  const summaryFile = at(`EvaluationResultSummary-${input.projectName}-${input.versionName}.json`);
  // [inferred] the snapshot names are ours; the service reports them through TrainingDataResult/TestingDataResult.Output.
  const trainingOutput = at('training_output.manifest');
  const testingOutput = at('testing_output.manifest');
  const outputs = [validationFiles.summary, validationFiles.training, validationFiles.testing, summaryFile, trainingOutput, testingOutput];
  const writeRefused = await writeDenied(core.access, input.caller, outputs.map((o) => ({ bucket: o.Bucket, key: o.Name })));
  if (writeRefused) {
    core.log(`training: ${writeRefused.message}`);
    return fail(failedMs, ERRORS.ERROR_CANNOT_WRITE_OUTPUT_S3_BUCKET);
  }
  if (input.source.kind === 'manifests') {
    // Legacy training reads the images itself; dataset entries were read when they were imported.
    const images = [...training.lines, ...testing.lines].map((l) => (l.sourceRef ? parseS3Uri(l.sourceRef) : undefined))
      .filter((o) => o !== undefined);
    const imagesRefused = await readDenied(core.access, input.caller, images);
    if (imagesRefused) {
      core.log(`training: ${imagesRefused.message}`);
      return fail(failedMs, ERRORS.ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET);
    }
  }
  const summary = {
    statistics: { training: summaryPart(training.validation, trainErrors), testing: summaryPart(testing.validation, testErrors) },
    errors: crossErrors.map((e) => ({ code: e.code, message: e.message })),
  };
  try {
    await core.s3.put(bucket, validationFiles.training.Name, training.lines.map((l) => l.annotated()).join('\n'));
    await core.s3.put(bucket, validationFiles.testing.Name, testing.lines.map((l) => l.annotated()).join('\n'));
    await core.s3.put(bucket, validationFiles.summary.Name, JSON.stringify(summary));
  } catch {
    return fail(failedMs, ERRORS.ERROR_CANNOT_WRITE_OUTPUT_S3_BUCKET);
  }
  const reported: Partial<VersionRecord> = {
    manifestSummary: { S3Object: validationFiles.summary },
    trainingDataResult: { Input: inputs.train, Validation: { Assets: [asset(validationFiles.training)] } },
    testingDataResult: { Input: inputs.test, Validation: { Assets: [asset(validationFiles.testing)] } },
  };
  const contentErrors = [...trainErrors, ...testErrors, ...crossErrors];
  if (contentErrors.length > 0) {
    return fail(failedMs, [...new Set(contentErrors.map((e) => e.message))].join(' '), reported);
  }

  const kind: ModelKind = training.validation.useCase === 'OBJECT_LOCALIZATION' ? 'OBJECT_LOCALIZATION' : 'IMAGE_LEVEL_LABELS';
  const trainImages = await loadImages(inspector, training.lines, kind);
  const testImages = await loadImages(inspector, testing.lines, kind);
  const durationMs = planned ?? trainingDurationMs(trainImages.length);
  const endTime = new Date(input.startedAt + durationMs);
  const trainer = new Trainer(kind);
  await inTurns(trainImages, (image) => trainer.add(image), IMAGES_PER_TURN);
  const model = trainer.model(trainImages.length);
  const scored: ScoredImage[] = [];
  await inTurns(testImages, (image) => scored.push(scoreImage(model, image)), IMAGES_PER_TURN);
  let evaluation = evaluateScored(model, scored);
  if (input.forced?.f1 !== undefined) evaluation = withForcedF1(evaluation, input.forced.f1);

  try {
    await core.s3.put(bucket, summaryFile.Name, evaluationSummaryJson({
      projectVersionArn: input.versionArn, evaluation, trainingImages: trainImages.length, testingImages: testImages.length, endTime,
    }));
    await core.s3.put(bucket, testingOutput.Name, testingOutputManifest({ evaluation, testing: testImages, kind, endTime }));
    const used = new Set(trainImages.map((i) => i.sourceRef));
    await core.s3.put(bucket, trainingOutput.Name, training.lines.filter((l) => l.sourceRef && used.has(l.sourceRef)).map((l) => l.text).join('\n'));
  } catch {
    return fail(durationMs, ERRORS.ERROR_CANNOT_WRITE_OUTPUT_S3_BUCKET);
  }
  const modelId = `${input.versionArn}`;
  core.putModel(modelId, model);
  return {
    durationMs,
    ok: true,
    version: {
      ...reported,
      status: 'TRAINING_COMPLETED',
      statusMessage: 'The model is ready to run.',
      billableTrainingSeconds: Math.round(durationMs / 1000),
      trainingEndAt: input.startedAt + durationMs,
      evaluationResult: { F1Score: evaluation.f1, Summary: { S3Object: summaryFile } },
      trainingDataResult: {
        Input: inputs.train, Output: { Assets: [asset(trainingOutput)] }, Validation: { Assets: [asset(validationFiles.training)] },
      },
      testingDataResult: { Input: inputs.test, Output: { Assets: [asset(testingOutput)] }, Validation: { Assets: [asset(validationFiles.testing)] } },
      modelId,
      kind,
      thresholds: Object.fromEntries(evaluation.perLabel.map((m) => [m.label, m.threshold])),
    },
  };
}
