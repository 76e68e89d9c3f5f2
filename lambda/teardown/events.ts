import { RekognitionClient } from '@aws-sdk/client-rekognition';
import type {
  CdkCustomResourceEvent,
  CdkCustomResourceIsCompleteEvent,
  CdkCustomResourceIsCompleteResponse,
  CdkCustomResourceResponse,
} from 'aws-lambda';

import { parseTeardownProperties, PROJECT_ARN, TeardownOnEventData } from '../../lib/project/teardown-contract';
import { teardownStep } from './teardown';

type Log = (line: string) => void;

/**
 * Create and Update do nothing but name the resource after the project it guards: a new project ARN means a new
 * physical id, so CloudFormation sends a Delete for the old one and the old project is torn down before it goes.
 * Delete only stamps its start time; the work happens in {@link isCompleteHandler}, one poll at a time.
 */
export async function onEventHandler(event: CdkCustomResourceEvent, now: number = Date.now()): Promise<CdkCustomResourceResponse> {
  if (event.RequestType === 'Delete') {
    const data: TeardownOnEventData = { StartedAt: String(now) };
    return { PhysicalResourceId: event.PhysicalResourceId, Data: data };
  }
  const props = parseTeardownProperties(event.ResourceProperties);
  return { PhysicalResourceId: props.ProjectArn };
}

/**
 * Polled by the Provider framework until it returns IsComplete. Fails with what it is still waiting for once the
 * resource's TimeoutSeconds have passed since the Delete started, and with the service's message on any other error.
 */
export async function isCompleteHandler(
  event: CdkCustomResourceIsCompleteEvent,
  client: RekognitionClient,
  now: number = Date.now(),
  log: Log = (line) => console.log(line),
): Promise<CdkCustomResourceIsCompleteResponse> {
  if (event.RequestType !== 'Delete') return { IsComplete: true };
  const projectArn = event.PhysicalResourceId;
  // A resource whose Create failed has a placeholder physical id: there is no project to tear down.
  if (!PROJECT_ARN.test(projectArn)) return { IsComplete: true };
  const props = parseTeardownProperties(event.ResourceProperties);

  const progress = await teardownStep(client, projectArn, props.Mode);
  log(JSON.stringify({ projectArn, mode: props.Mode, ...progress }));
  if (progress.done) return { IsComplete: true };

  const startedAt = Number(readStartedAt(event));
  const budgetMs = Number(props.TimeoutSeconds) * 1000;
  if (Number.isFinite(startedAt) && now - startedAt >= budgetMs) {
    throw new Error(`Teardown of ${projectArn} (${props.Mode}) did not finish within ${Math.round(budgetMs / 60000)} min; `
      + `still waiting for: ${progress.waitingFor.join('; ')}. Delete the stack again once these have finished.`);
  }
  return { IsComplete: false };
}

function readStartedAt(event: CdkCustomResourceIsCompleteEvent): string | undefined {
  const data: unknown = event.Data;
  if (typeof data === 'object' && data !== null && 'StartedAt' in data && typeof data.StartedAt === 'string') return data.StartedAt;
  return undefined;
}
