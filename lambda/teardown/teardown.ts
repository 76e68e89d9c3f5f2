import {
  DeleteDatasetCommand,
  DeleteProjectVersionCommand,
  DescribeProjectsCommand,
  DescribeProjectVersionsCommand,
  ProjectVersionDescription,
  RekognitionClient,
  StopProjectVersionCommand,
} from '@aws-sdk/client-rekognition';

import { TeardownMode } from '../../lib/project/teardown-contract';

/** The outcome of one look at the project: what was asked of the service, and what is still pending. */
export interface TeardownProgress {
  /** True when the project needs nothing more (RETAIN: nothing runs; DESTROY: no versions and no datasets). */
  readonly done: boolean;
  /** Calls made during this step, e.g. `StopProjectVersion v1`. */
  readonly actions: string[];
  /** Why the teardown is not done yet, e.g. `version v1 is STOPPING`. */
  readonly waitingFor: string[];
}

/**
 * Versions that bill or may bill as a running model. [inferred] StopProjectVersion accepts STARTING (reference §4);
 * if the service refuses it (ResourceInUse), the next poll stops the version once it is RUNNING.
 */
const RUNNING = new Set(['RUNNING', 'STARTING']);
/** Versions the service refuses to delete until they reach a terminal status by themselves. */
const BUSY = new Set(['TRAINING_IN_PROGRESS', 'COPYING_IN_PROGRESS', 'STOPPING', 'DELETING']);
/** Dataset statuses the service refuses to delete (ResourceInUse) or that are already going away. */
const DATASET_BUSY = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'DELETE_IN_PROGRESS']);

/**
 * Looks at the project once and asks the service for the next moves. Idempotent: call it again until `done`.
 *
 * Order: running versions are stopped first (they bill by the hour); under DESTROY, versions are deleted once
 * they are stopped or finished training, and the datasets only once no version is left. [inferred] The service only
 * says a project needs every model and dataset deleted first; models before datasets follows its delete-project guide.
 * Training cannot be cancelled, so DESTROY waits for it. A project that no longer exists is done.
 */
export async function teardownStep(client: RekognitionClient, projectArn: string, mode: TeardownMode): Promise<TeardownProgress> {
  const actions: string[] = [];
  const waitingFor: string[] = [];
  const versions = await describeVersions(client, projectArn);
  if (versions === undefined) return { done: true, actions, waitingFor };

  for (const version of versions) {
    const arn = version.ProjectVersionArn ?? '';
    const name = versionName(arn);
    const status = version.Status ?? 'UNKNOWN';
    if (RUNNING.has(status)) {
      if (await tolerate(() => client.send(new StopProjectVersionCommand({ ProjectVersionArn: arn })), `StopProjectVersion ${name}`)) {
        actions.push(`StopProjectVersion ${name}`);
      }
      waitingFor.push(`version ${name} is ${status}`);
    } else if (status === 'STOPPING') {
      waitingFor.push(`version ${name} is STOPPING`);
    } else if (mode === 'DESTROY') {
      if (BUSY.has(status)) {
        waitingFor.push(`version ${name} is ${status}`);
      } else {
        if (await tolerate(() => client.send(new DeleteProjectVersionCommand({ ProjectVersionArn: arn })), `DeleteProjectVersion ${name}`)) {
          actions.push(`DeleteProjectVersion ${name}`);
        }
        waitingFor.push(`version ${name} is being deleted (was ${status})`);
      }
    }
  }
  if (mode === 'RETAIN' || versions.length > 0) return { done: waitingFor.length === 0, actions, waitingFor };

  const datasets = await describeDatasets(client, projectArn);
  for (const dataset of datasets) {
    const arn = dataset.DatasetArn ?? '';
    const label = `${dataset.DatasetType ?? 'dataset'} dataset`;
    const status = dataset.Status ?? 'UNKNOWN';
    if (DATASET_BUSY.has(status)) {
      waitingFor.push(`${label} is ${status}`);
      continue;
    }
    if (await tolerate(() => client.send(new DeleteDatasetCommand({ DatasetArn: arn })), `DeleteDataset ${label}`)) {
      actions.push(`DeleteDataset ${dataset.DatasetType ?? arn}`);
    }
    waitingFor.push(`${label} is being deleted (was ${status})`);
  }
  return { done: waitingFor.length === 0, actions, waitingFor };
}

/** The version name inside a version ARN (`.../project/<p>/version/<name>/<ms>`), or the ARN when it has another shape. */
export function versionName(versionArn: string): string {
  const match = /\/version\/([^/]+)\/[0-9]+$/.exec(versionArn);
  return match ? match[1] : versionArn;
}

/** The project name inside a project ARN (`.../project/<name>/<ms>`). */
export function projectNameOf(projectArn: string): string {
  const match = /:project\/([^/]+)\/[0-9]+$/.exec(projectArn);
  if (!match) throw new Error(`Not a project ARN: ${projectArn}`);
  return match[1];
}

/** Every version of the project, or undefined when the project does not exist. */
async function describeVersions(client: RekognitionClient, projectArn: string): Promise<ProjectVersionDescription[] | undefined> {
  const all: ProjectVersionDescription[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, NextToken: nextToken }));
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw serviceError('DescribeProjectVersions', projectArn, error);
    }
    all.push(...(page.ProjectVersionDescriptions ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return all;
}

async function describeDatasets(client: RekognitionClient, projectArn: string) {
  let page;
  try {
    page = await client.send(new DescribeProjectsCommand({ ProjectNames: [projectNameOf(projectArn)] }));
  } catch (error) {
    throw serviceError('DescribeProjects', projectArn, error);
  }
  // The name filter may match a newer project of the same name; only this ARN's datasets are ours to delete.
  const project = (page.ProjectDescriptions ?? []).find((p) => p.ProjectArn === projectArn);
  return project?.Datasets ?? [];
}

/**
 * Runs a state-changing call. Returns true when the service accepted it and false when the resource is gone or
 * in a transition that refuses the call for now (the next step looks again); any other error is thrown with the
 * service's own message.
 */
async function tolerate(call: () => Promise<unknown>, what: string): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    const name = errorName(error);
    if (name === 'ResourceNotFoundException' || name === 'ResourceInUseException') return false;
    throw serviceError(what, undefined, error);
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function serviceError(operation: string, subject: string | undefined, error: unknown): Error {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new Error(`${operation}${subject ? ` (${subject})` : ''} failed: ${detail}`);
}
