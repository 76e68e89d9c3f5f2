import { DURATIONS, EmulatorCore, seconds } from './core';
import { inUse, invalidParameter, ServiceError } from './errors';
import { DATASET_COMPLETE } from './ops-datasets';
import { Handler } from './ops-projects';
import { paginate } from './pagination';
import { Params, readS3Object, RULES } from './params';
import { S3ObjectRef, VersionRecord, VersionStatus } from './state';
import { plannedTrainingMs, runTraining, TrainingSource } from './training';

/** States that hold a usable model (a start or copy source). */
const HAS_MODEL = new Set<VersionStatus>(['TRAINING_COMPLETED', 'STARTING', 'RUNNING', 'FAILED', 'STOPPING', 'STOPPED', 'COPYING_COMPLETED']);
const STARTABLE = new Set<VersionStatus>(['TRAINING_COMPLETED', 'STOPPED', 'COPYING_COMPLETED', 'FAILED']);
const UNDELETABLE = new Set<VersionStatus>(['TRAINING_IN_PROGRESS', 'STARTING', 'RUNNING', 'STOPPING', 'COPYING_IN_PROGRESS']);

function describeVersion(core: EmulatorCore, v: VersionRecord): Record<string, unknown> {
  const project = core.state.projects.find((p) => p.arn === v.projectArn);
  return {
    ProjectVersionArn: v.arn,
    CreationTimestamp: seconds(v.createdAt),
    MinInferenceUnits: v.minInferenceUnits,
    MaxInferenceUnits: v.maxInferenceUnits,
    Status: v.status,
    StatusMessage: v.statusMessage,
    BillableTrainingTimeInSeconds: v.billableTrainingSeconds,
    TrainingEndTimestamp: seconds(v.trainingEndAt),
    OutputConfig: v.outputConfig,
    TrainingDataResult: v.trainingDataResult,
    TestingDataResult: v.testingDataResult,
    EvaluationResult: v.evaluationResult,
    ManifestSummary: v.manifestSummary,
    KmsKeyId: v.kmsKeyId,
    SourceProjectVersionArn: v.sourceVersionArn,
    VersionDescription: v.description,
    Feature: project?.feature ?? 'CUSTOM_LABELS',
  };
}

function readOutputConfig(p: Params): { S3Bucket: string; S3KeyPrefix?: string } {
  const out = p.obj('OutputConfig', true);
  return { S3Bucket: out.str('S3Bucket', { ...RULES.bucket, required: true }), S3KeyPrefix: out.str('S3KeyPrefix', RULES.keyPrefix) };
}

function readAssets(data: Params | undefined): S3ObjectRef[] | undefined {
  return data?.objList('Assets')?.map((a) => readS3Object(a.obj('GroundTruthManifest', true).obj('S3Object', true)));
}

function versionArn(core: EmulatorCore, projectArn: string, name: string): { ms: number; arn: string } {
  const base = projectArn.replace(/\/[0-9]+$/, '');
  return core.uniqueStamp((t) => `${base}/version/${name}/${t}`, (a) => core.state.versions[a] !== undefined);
}

function assertNewName(core: EmulatorCore, projectArn: string, name: string): void {
  if (Object.values(core.state.versions).some((v) => v.projectArn === projectArn && v.name === name)) {
    // [inferred] version names are unique per project; the reference lists ResourceInUse among the errors.
    throw inUse(`The version name ${name} is already used in project ${projectArn}.`);
  }
}

const createProjectVersion: Handler = async (core, p, { caller }) => {
  const projectArn = p.str('ProjectArn', { ...RULES.projectArn, required: true });
  const name = p.str('VersionName', { ...RULES.versionName, required: true });
  const outputConfig = readOutputConfig(p);
  const description = p.str('VersionDescription', RULES.versionDescription);
  const kmsKeyId = p.str('KmsKeyId', RULES.kmsKeyId);
  const tags = p.tags('Tags') ?? {};
  const trainingData = p.obj('TrainingData');
  const testingData = p.obj('TestingData');
  const trainAssets = readAssets(trainingData);
  const testAssets = readAssets(testingData);
  const autoCreate = testingData?.bool('AutoCreate') ?? false;
  const project = core.project(projectArn);
  if (p.has('FeatureConfig') && project.feature === 'CUSTOM_LABELS') {
    throw invalidParameter('FeatureConfig applies only to projects with the CONTENT_MODERATION feature.');
  }
  if (project.status === 'DELETING') throw inUse(`The project ${project.arn} is being deleted.`);
  assertNewName(core, project.arn, name);
  if (kmsKeyId && caller && core.access) {
    // [inferred] the caller's key rights are checked when training starts: the service creates a grant on the key as the caller.
    const key = kmsKeyId.startsWith('arn:') ? kmsKeyId : `arn:${core.access.partition}:kms:${core.region}:${core.accountId}:key/${kmsKeyId}`;
    for (const action of ['kms:DescribeKey', 'kms:CreateGrant']) {
      const denied = await core.access.decide(caller, { action, resource: key });
      if (denied) throw new ServiceError('AccessDeniedException', denied.message);
    }
  }

  const datasets = (['TRAIN', 'TEST'] as const).map((t) => project.datasets[t]).map((a) => (a ? core.state.datasets[a] : undefined));
  let source: TrainingSource;
  if (trainingData || testingData) {
    if (!trainingData || !testingData) throw invalidParameter('TrainingData and TestingData must be given together.');
    if (datasets.some((d) => d !== undefined)) {
      throw invalidParameter('TrainingData and TestingData can only be used with a project that has no datasets.');
    }
    if (trainAssets?.length !== 1) throw invalidParameter('TrainingData.Assets must hold exactly one manifest.');
    if ((testAssets?.length ?? 0) > 1) throw invalidParameter('TestingData.Assets can hold at most one manifest.');
    if (!autoCreate && testAssets?.length !== 1) throw invalidParameter('TestingData needs one manifest in Assets or AutoCreate set to true.');
    source = { kind: 'manifests', train: trainAssets[0], test: testAssets?.[0], autoCreate };
  } else {
    const [train, test] = datasets;
    // [inferred] training from datasets needs both a TRAIN and a TEST dataset (the console offers a split to make one).
    if (!train || !test) throw invalidParameter(`The project ${project.arn} needs a TRAIN and a TEST dataset to train a model.`);
    for (const d of [train, test]) {
      if (d.status === 'CREATE_FAILED' || d.status === 'UPDATE_FAILED') {
        throw invalidParameter(`The dataset ${d.arn} is ${d.status}; fix it before training.`);
      }
      if (!DATASET_COMPLETE.has(d.status)) throw inUse(`The dataset ${d.arn} is ${d.status}.`);
    }
    source = { kind: 'lines', train: train.entries.map((e) => e.line), test: test.entries.map((e) => e.line) };
  }

  const training = Object.values(core.state.versions).filter((v) => v.status === 'TRAINING_IN_PROGRESS').length;
  if (training >= core.quotas.concurrentTrainings) {
    // [inferred] the service's text for this quota.
    throw new ServiceError('LimitExceededException', `The account has ${training} model versions training, its limit of concurrent trainings `
      + `(${core.quotas.concurrentTrainings}). Try again when one has finished.`);
  }
  const { ms, arn } = versionArn(core, project.arn, name);
  core.state.versions[arn] = {
    arn, projectArn: project.arn, name, createdAt: ms, status: 'TRAINING_IN_PROGRESS', description, outputConfig, kmsKeyId, tags,
    meter: { inferenceUnitSeconds: 0 },
  };
  const forced = core.forcedTraining(name);
  core.startJob('training', arn, forced?.durationMs ?? plannedTrainingMs(source), () => runTraining(core, {
    versionArn: arn, projectName: project.name, versionName: name, startedAt: ms, outputConfig, source, forced, caller,
  }), ms);
  return { ProjectVersionArn: arn };
};

const describeProjectVersions: Handler = (core, p) => {
  const projectArn = p.str('ProjectArn', { ...RULES.projectArn, required: true });
  const names = p.strList('VersionNames', { min: 1, max: 10 }, RULES.versionName);
  const project = core.project(projectArn);
  const matching = Object.values(core.state.versions)
    .filter((v) => v.projectArn === project.arn && (names === undefined || names.includes(v.name)))
    .sort((a, b) => b.createdAt - a.createdAt || (a.arn < b.arn ? 1 : -1));
  const { page, nextToken } = paginate(matching, p, 'DescribeProjectVersions', { project: project.arn, names });
  return { ProjectVersionDescriptions: page.map((v) => describeVersion(core, v)), NextToken: nextToken };
};

function readVersionArn(core: EmulatorCore, p: Params): VersionRecord {
  return core.version(p.str('ProjectVersionArn', { ...RULES.versionArn, required: true }));
}

const startProjectVersion: Handler = (core, p) => {
  const arn = p.str('ProjectVersionArn', { ...RULES.versionArn, required: true });
  const min = p.num('MinInferenceUnits', { required: true, integer: true, min: 1 });
  const max = p.num('MaxInferenceUnits', { integer: true, min: 1 });
  if (max !== undefined && max < min) throw invalidParameter(`MaxInferenceUnits (${max}) must be greater than or equal to MinInferenceUnits (${min}).`);
  const v = core.version(arn);
  if (!STARTABLE.has(v.status)) throw inUse(`The project version ${v.arn} is ${v.status} and cannot be started.`);
  const units = Object.values(core.state.versions).filter((x) => x.status === 'STARTING' || x.status === 'RUNNING')
    .reduce((sum, x) => sum + (x.meter.runningUnits ?? x.minInferenceUnits ?? 1), 0);
  if (units + min > core.quotas.inferenceUnits) {
    // [inferred] the service's text for this quota.
    throw new ServiceError('LimitExceededException', `Starting ${min} inference unit(s) would make ${units + min}, more than the account's limit `
      + `of ${core.quotas.inferenceUnits}.`);
  }
  v.status = 'STARTING';
  v.statusMessage = 'The model is being started.';
  v.minInferenceUnits = min;
  v.maxInferenceUnits = max;
  const forced = core.forcedStart(v.name);
  const durationMs = DURATIONS.startMs;
  core.startJob('start', v.arn, durationMs, () => (forced
    ? { durationMs, ok: false, message: forced.message ?? 'The model failed to start.' }
    : { durationMs, ok: true }));
  return { Status: 'STARTING' };
};

/** Closes the open running interval of the meter at `at` (virtual ms). */
export function stopMeter(v: VersionRecord, at: number): void {
  if (v.meter.runningSince !== undefined) {
    v.meter.inferenceUnitSeconds += Math.max(0, at - v.meter.runningSince) / 1000 * (v.meter.runningUnits ?? 1);
    v.meter.runningSince = undefined;
    v.meter.runningUnits = undefined;
  }
}

const stopProjectVersion: Handler = (core, p) => {
  const v = readVersionArn(core, p);
  // [inferred] a STARTING model can be stopped too (reference §4).
  if (v.status !== 'RUNNING' && v.status !== 'STARTING') throw inUse(`The project version ${v.arn} is ${v.status} and cannot be stopped.`);
  core.cancelJobs(v.arn, 'start');
  core.capacity.settleUnits(core, v, core.clock.now());
  stopMeter(v, core.clock.now());
  core.capacity.forget(v.arn);
  v.status = 'STOPPING';
  v.statusMessage = 'The model is being stopped.';
  core.startJob('stop', v.arn, DURATIONS.stopMs, () => ({ durationMs: DURATIONS.stopMs, ok: true }));
  return { Status: 'STOPPING' };
};

const deleteProjectVersion: Handler = (core, p) => {
  const v = readVersionArn(core, p);
  if (v.status === 'DELETING') return { Status: 'DELETING' };
  if (UNDELETABLE.has(v.status)) throw inUse(`The project version ${v.arn} is ${v.status} and cannot be deleted.`);
  v.status = 'DELETING';
  v.statusMessage = undefined;
  core.startJob('deleteVersion', v.arn, DURATIONS.deleteMs, () => ({ durationMs: DURATIONS.deleteMs, ok: true }));
  return { Status: 'DELETING' };
};

const copyProjectVersion: Handler = (core, p) => {
  const sourceProjectArn = p.str('SourceProjectArn', { ...RULES.projectArn, required: true });
  const sourceArn = p.str('SourceProjectVersionArn', { ...RULES.versionArn, required: true });
  const destinationArn = p.str('DestinationProjectArn', { ...RULES.projectArn, required: true });
  const name = p.str('VersionName', { ...RULES.versionName, required: true });
  const outputConfig = readOutputConfig(p);
  const kmsKeyId = p.str('KmsKeyId', RULES.kmsKeyId);
  const tags = p.tags('Tags') ?? {};
  const sourceProject = core.project(sourceProjectArn);
  const source = core.version(sourceArn);
  const destination = core.project(destinationArn);
  if (source.projectArn !== sourceProject.arn) {
    throw invalidParameter(`The project version ${source.arn} does not belong to project ${sourceProject.arn}.`);
  }
  if (!HAS_MODEL.has(source.status)) throw inUse(`The project version ${source.arn} is ${source.status} and cannot be copied.`);
  if (destination.status === 'DELETING') throw inUse(`The project ${destination.arn} is being deleted.`);
  assertNewName(core, destination.arn, name);
  const { ms, arn } = versionArn(core, destination.arn, name);
  core.state.versions[arn] = {
    arn, projectArn: destination.arn, name, createdAt: ms, status: 'COPYING_IN_PROGRESS', outputConfig, kmsKeyId, tags,
    sourceVersionArn: source.arn, description: source.description, meter: { inferenceUnitSeconds: 0 },
  };
  // The copy shares the trained model; the version keeps the source's evaluation (the summary stays where it is).
  const copied = {
    modelId: source.modelId, kind: source.kind, thresholds: source.thresholds, evaluationResult: source.evaluationResult,
    manifestSummary: source.manifestSummary, trainingDataResult: source.trainingDataResult, testingDataResult: source.testingDataResult,
    trainingEndAt: source.trainingEndAt,
  };
  core.startJob('copy', arn, DURATIONS.copyMs, () => ({
    durationMs: DURATIONS.copyMs, ok: true, version: { ...copied, status: 'COPYING_COMPLETED', statusMessage: 'The model copy is complete.' },
  }));
  return { ProjectVersionArn: arn };
};

export const VERSION_HANDLERS: Record<string, Handler> = {
  CreateProjectVersion: createProjectVersion,
  DescribeProjectVersions: describeProjectVersions,
  StartProjectVersion: startProjectVersion,
  StopProjectVersion: stopProjectVersion,
  DeleteProjectVersion: deleteProjectVersion,
  CopyProjectVersion: copyProjectVersion,
};
