/**
 * The Custom::CustomLabelsModelVersion handler (Provider framework: onEvent + isComplete).
 *
 * - Create/Update: resolve the version name (known at synth for local data; else the S3 manifest's content or the
 *   dataset's update time is hashed in) and start the model workflow. The execution name is the version name plus a
 *   hash of the CloudFormation request id: a retried event starts nothing new, while a rollback to an earlier version
 *   runs again (it adopts the existing version, re-promotes it and stops the newer one). A request supersedes the
 *   model's earlier runs: they are stopped first, with any version they started but did not promote, so a run of an
 *   update that was rolled back can never promote its version later. The wait-condition handle URL is stored in the
 *   data bucket for the run's notify step (never in the execution input, which the state machine log records).
 *   Returns at once; the stack waits on its wait condition, which the workflow signals.
 * - The physical id is `<project>/<versionPrefix>` and never changes with the data, so an update never produces a
 *   Delete of the version serving now: the workflow alone retires it once the new one runs.
 * - Delete (the model leaves the stack): stop the model's running executions and versions; under DESTROY delete its
 *   versions too. A version still training cannot be stopped or deleted (no API): it is left to the project's teardown.
 */
import { createHash } from 'node:crypto';

import { DeleteProjectVersionCommand, DescribeDatasetCommand, DescribeProjectsCommand, DescribeProjectVersionsCommand,
  ProjectVersionDescription, RekognitionClient, StopProjectVersionCommand } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ExecutionStatus, ListExecutionsCommand, SFNClient, StartExecutionCommand,
  StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

import {
  DataSource, executionNameFor, fingerprint, isVersionOfModel, ModelVersionConfig, ModelVersionData, parseModelVersionConfig, TestSource,
  versionNameFor, waitHandleKeyFor, workflowInputFor,
} from '../../lib/model/contracts';

export interface VersionHandlerDeps {
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly ssm: SSMClient;
}

/** The part of a CloudFormation custom-resource event this handler reads. */
export interface VersionEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly RequestId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, unknown>;
  /** In isComplete: what onEvent returned (a Delete stamps its start there). */
  readonly Data?: Record<string, unknown>;
}

/**
 * How long a Delete may wait for the model's versions before it fails naming them: 5 minutes inside the provider's
 * totalTimeout (50 min), so the reason is ours and not the framework's "Operation timed out".
 */
export const DELETE_DEADLINE_MS = 45 * 60_000;

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data?: ModelVersionData | Record<string, string>;
}

const RUNNING = new Set(['STARTING', 'RUNNING']);
const DELETABLE = new Set(['TRAINING_COMPLETED', 'TRAINING_FAILED', 'STOPPED', 'FAILED', 'COPYING_COMPLETED', 'COPYING_FAILED']);

export function physicalIdOf(config: ModelVersionConfig): string {
  return `${config.projectName}/${config.versionPrefix}`;
}

export async function onEvent(event: VersionEvent, deps: VersionHandlerDeps, now: number = Date.now()): Promise<OnEventResult> {
  if (event.RequestType === 'Delete') {
    let config: ModelVersionConfig;
    try {
      config = parseModelVersionConfig(event.ResourceProperties.Config);
    } catch {
      // Nothing this handler could have created (a Create that failed on its own properties).
      return { PhysicalResourceId: event.PhysicalResourceId ?? 'none' };
    }
    const stateMachineArn = String(event.ResourceProperties.StateMachineArn ?? '');
    if (stateMachineArn) await stopExecutions(deps, stateMachineArn, config);
    const projectArn = await resolveProjectArn(deps, config).catch(() => undefined);
    if (projectArn) await stopVersions(deps, projectArn, config.versionPrefix);
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalIdOf(config), Data: { StartedAt: String(now) } };
  }
  const config = parseModelVersionConfig(event.ResourceProperties.Config);
  const stateMachineArn = String(event.ResourceProperties.StateMachineArn ?? '');
  if (!stateMachineArn) throw new Error('StateMachineArn is missing');
  const projectArn = await resolveProjectArn(deps, config);
  const versionName = await resolveVersionName(deps, config);
  const name = executionNameFor(versionName, event.RequestId);
  if (await stopExecutions(deps, stateMachineArn, config, name)) await stopStrayVersions(deps, projectArn, config, versionName);
  const waitHandleKey = await storeWaitHandle(deps, config, name);
  const input = JSON.stringify(workflowInputFor({ ...config, projectArn }, versionName, waitHandleKey));
  let executionArn: string;
  try {
    const res = await deps.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    executionArn = res.executionArn ?? '';
  } catch (e) {
    if ((e as { name?: string }).name !== 'ExecutionAlreadyExists') throw e;
    executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }
  return { PhysicalResourceId: physicalIdOf(config), Data: { VersionName: versionName, ExecutionArn: executionArn } };
}

/** Create/Update are done when onEvent returns; a Delete when no version of the model runs (and, under DESTROY, none is left). */
export async function isComplete(event: VersionEvent, deps: VersionHandlerDeps, now: number = Date.now()): Promise<{ IsComplete: boolean }> {
  if (event.RequestType !== 'Delete') return { IsComplete: true };
  let config: ModelVersionConfig;
  try {
    config = parseModelVersionConfig(event.ResourceProperties.Config);
  } catch {
    return { IsComplete: true };
  }
  const projectArn = await resolveProjectArn(deps, config).catch(() => undefined);
  if (!projectArn) return { IsComplete: true };
  let versions: ProjectVersionDescription[];
  try {
    versions = await modelVersions(deps, projectArn, config.versionPrefix);
  } catch (e) {
    if (isNotFound(e)) return { IsComplete: true };
    throw e;
  }
  const waiting: string[] = [];
  for (const v of versions) {
    const name = `${(v.ProjectVersionArn ?? '').split('/')[3]} (${v.Status})`;
    if (RUNNING.has(v.Status ?? '')) {
      await ignoreInUse(deps.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: v.ProjectVersionArn })));
      waiting.push(name);
    } else if (v.Status === 'STOPPING') {
      waiting.push(name);
    } else if (config.removal === 'DESTROY' && DELETABLE.has(v.Status ?? '')) {
      await ignoreInUse(deps.rekognition.send(new DeleteProjectVersionCommand({ ProjectVersionArn: v.ProjectVersionArn })));
      waiting.push(name);
    }
  }
  const startedAt = Number(event.Data?.StartedAt);
  if (waiting.length > 0 && Number.isFinite(startedAt) && now - startedAt >= DELETE_DEADLINE_MS) {
    throw new Error(`The versions of model ${config.versionPrefix} (project ${config.projectName}) were not ${config.removal === 'DESTROY'
      ? 'stopped and deleted' : 'stopped'} within ${DELETE_DEADLINE_MS / 60_000} minutes; still waiting for: ${waiting.join(', ')}. `
      + 'Delete the stack again once they have finished.');
  }
  return { IsComplete: waiting.length === 0 };
}

/**
 * Stores the run's wait-condition handle URL in the data bucket (`wait-handles/<execution name>`) for its notify step;
 * returns the key, or '' when the stack does not wait.
 */
export async function storeWaitHandle(deps: Pick<VersionHandlerDeps, 's3'>, config: ModelVersionConfig, executionName: string): Promise<string> {
  if (!config.waitHandleUrl) return '';
  const key = waitHandleKeyFor(executionName);
  await deps.s3.send(new PutObjectCommand({ Bucket: config.dataBucket, Key: key, Body: config.waitHandleUrl, ContentType: 'text/plain' }));
  return key;
}

/** Stops the model's running executions (all of them on Delete; all but `keep` on Create/Update). Returns how many. */
async function stopExecutions(deps: VersionHandlerDeps, stateMachineArn: string, config: ModelVersionConfig, keep?: string): Promise<number> {
  const prefix = `${config.versionPrefix.replace(/[^A-Za-z0-9_-]/g, '_')}-`;
  const [error, cause] = keep === undefined
    ? ['ModelRemoved', 'The model was removed from its stack']
    : ['Superseded', 'A newer CloudFormation request for this model (an update or a rollback) started its own run'];
  let stopped = 0;
  let token: string | undefined;
  do {
    const page = await deps.sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: ExecutionStatus.RUNNING, nextToken: token }));
    for (const ex of page.executions ?? []) {
      if (ex.name !== keep && ex.name?.startsWith(prefix) && await isRunOfModel(deps, ex.executionArn ?? '', config)) {
        await deps.sfn.send(new StopExecutionCommand({ executionArn: ex.executionArn, error, cause }));
        stopped++;
      }
    }
    token = page.nextToken;
  } while (token);
  return stopped;
}

/**
 * After a superseded run is stopped: stops the versions of the model it may have started (STARTING or RUNNING, neither
 * serving nor the version the new run is for). Nobody asked for them, and they bill every hour.
 */
async function stopStrayVersions(deps: VersionHandlerDeps, projectArn: string, config: ModelVersionConfig, target: string): Promise<void> {
  const serving = (await deps.ssm.send(new GetParameterCommand({ Name: config.servingParameterName }))).Parameter?.Value;
  let versions: ProjectVersionDescription[];
  try {
    versions = await modelVersions(deps, projectArn, config.versionPrefix);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  for (const v of versions) {
    const name = (v.ProjectVersionArn ?? '').split('/')[3];
    if (RUNNING.has(v.Status ?? '') && v.ProjectVersionArn !== serving && name !== target) {
      await ignoreInUse(deps.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: v.ProjectVersionArn })));
    }
  }
}

/**
 * The state machine is shared by the models of a stack: a name prefix also matches a longer prefix ('model' and 'model-b')
 * and the same prefix in another project. The execution's input names the model's project and prefix.
 */
async function isRunOfModel(deps: VersionHandlerDeps, executionArn: string, config: ModelVersionConfig): Promise<boolean> {
  const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
  let input: unknown;
  try {
    input = JSON.parse(described.input ?? '');
  } catch {
    return false;
  }
  const run = (input as { config?: { projectName?: unknown; versionPrefix?: unknown } } | null)?.config;
  return run?.projectName === config.projectName && run?.versionPrefix === config.versionPrefix;
}

async function stopVersions(deps: VersionHandlerDeps, projectArn: string, versionPrefix: string): Promise<void> {
  let versions: ProjectVersionDescription[];
  try {
    versions = await modelVersions(deps, projectArn, versionPrefix);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  for (const v of versions) {
    if (RUNNING.has(v.Status ?? '')) await ignoreInUse(deps.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: v.ProjectVersionArn })));
  }
}

export async function modelVersions(deps: VersionHandlerDeps, projectArn: string, versionPrefix: string): Promise<ProjectVersionDescription[]> {
  const out: ProjectVersionDescription[] = [];
  let token: string | undefined;
  do {
    const page = await deps.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, NextToken: token }));
    for (const v of page.ProjectVersionDescriptions ?? []) {
      const name = (v.ProjectVersionArn ?? '').split('/')[3] ?? '';
      if (isVersionOfModel(name, versionPrefix)) out.push(v);
    }
    token = page.NextToken;
  } while (token);
  return out;
}

/** A project imported by name has only an ARN pattern (`…/*`); the API needs the real one. */
export async function resolveProjectArn(deps: VersionHandlerDeps, config: ModelVersionConfig): Promise<string> {
  if (!config.projectArn.endsWith('/*')) return config.projectArn;
  const res = await deps.rekognition.send(new DescribeProjectsCommand({ ProjectNames: [config.projectName] }));
  const arn = res.ProjectDescriptions?.[0]?.ProjectArn;
  if (!arn) throw new Error(`Project ${config.projectName} not found`);
  return arn;
}

export async function resolveVersionName(deps: VersionHandlerDeps, config: ModelVersionConfig): Promise<string> {
  if (config.fingerprintComplete) return versionNameFor(config.versionPrefix, config.synthFingerprint);
  const parts = [config.synthFingerprint, await remoteFingerprint(deps, config.training), await remoteFingerprint(deps, config.testing)];
  return versionNameFor(config.versionPrefix, fingerprint(...parts));
}

/**
 * What identifies the current content of a remote source: the S3 manifest's bytes (hashed as they stream: not its ETag,
 * which is no content hash under SSE-KMS, nor its version id, which changes when identical bytes are uploaded again,
 * so that re-uploading an unchanged manifest trains nothing), or the dataset's last update.
 */
async function remoteFingerprint(deps: VersionHandlerDeps, source: DataSource | TestSource): Promise<string> {
  if (source.kind === 's3') {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: source.manifest.Bucket, Key: source.manifest.Name,
      VersionId: source.objectVersion || undefined }));
    const hash = createHash('sha256');
    for await (const chunk of object.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return `s3:${hash.digest('hex')}`;
  }
  if (source.kind === 'dataset') {
    const d = await deps.rekognition.send(new DescribeDatasetCommand({ DatasetArn: source.datasetArn }));
    const desc = d.DatasetDescription;
    return `dataset:${desc?.LastUpdatedTimestamp?.getTime() ?? ''}:${desc?.DatasetStats?.TotalEntries ?? ''}`;
  }
  return source.kind;
}

async function ignoreInUse(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'ResourceInUseException' && name !== 'ResourceNotFoundException') throw e;
  }
}

function isNotFound(e: unknown): boolean {
  return (e as { name?: string }).name === 'ResourceNotFoundException';
}
