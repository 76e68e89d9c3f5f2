/**
 * Figures about a model workflow run offline: how long each phase took in virtual time, how much of that was the
 * service's own work (import, training, starting), and how often the workflow polled.
 */
import { Rekognition } from '@aws-sdk/client-rekognition';

import { DURATIONS } from '../emulator';
import { RunEvent } from './state-machine';

/** Virtual seconds per phase of one model workflow execution (0 for phases it did not go through). */
export interface WorkflowPhases {
  /** Probe and prepare: manifests into the data bucket (the split happens here). */
  readonly prepare: number;
  /** Dataset replacement and import, until both datasets are ready. */
  readonly import: number;
  /** From CreateProjectVersion until training completed. */
  readonly train: number;
  /** Reading the evaluation and applying the gate. */
  readonly gate: number;
  /** From StartProjectVersion until RUNNING. */
  readonly start: number;
  /** Promotion, retiring the previous version, notification. */
  readonly promote: number;
  readonly total: number;
}

const firstEntry = (events: readonly RunEvent[], states: readonly string[], after = -1): number | undefined =>
  events.find((e) => e.type === 'StateEntered' && states.includes(e.state) && e.at >= after)?.at;

/** Splits an execution's history (see runStateMachine) into the workflow's phases. */
export function workflowPhases(events: readonly RunEvent[]): WorkflowPhases {
  const total = events.length > 0 ? events[events.length - 1].at : 0;
  const importStart = firstEntry(events, ['AnyDatasets']);
  const trainStart = firstEntry(events, ['CreateVersion', 'CreateVersionWithKey', 'AdoptTrainingVersion']);
  const servingAfterImport = importStart !== undefined ? firstEntry(events, ['GetServingVersion'], importStart) : undefined;
  const gateStart = firstEntry(events, ['Evaluate']);
  const deployStart = firstEntry(events, ['Deploy', 'GateFailed']);
  const startStart = firstEntry(events, ['StartVersion', 'WaitForRunning']);
  const promoteStart = firstEntry(events, ['Promote', 'NotifyFailure', 'CleanUpNewVersion']);
  const marks = [importStart, trainStart, gateStart, startStart, promoteStart].filter((m): m is number => m !== undefined);
  const span = (from: number | undefined, to: number | undefined): number => (from === undefined ? 0 : Math.max(0, (to ?? total) - from));
  return {
    prepare: span(0, marks[0]),
    import: span(importStart, servingAfterImport ?? trainStart ?? gateStart),
    train: span(trainStart, gateStart ?? promoteStart),
    gate: span(gateStart, deployStart !== undefined ? Math.max(deployStart, gateStart ?? 0) : promoteStart),
    start: span(startStart, promoteStart),
    promote: span(promoteStart, total),
    total,
  };
}

/** How many times a Task state ran (retries included). */
export function taskCalls(events: readonly RunEvent[], stateName: string): number {
  return events.filter((e) => e.type === 'TaskCall' && e.state === stateName).length;
}

/** The service's own durations for one version, read back from the emulator (virtual seconds). */
export interface ServiceDurations {
  /** The longer of the two datasets' imports. */
  readonly importSeconds: number;
  readonly trainingSeconds: number;
  /** The emulator's model start time; 0 when the version never started. */
  readonly startSeconds: number;
}

export async function serviceDurations(
  rekognition: Rekognition, projectArn: string, versionName: string, started: boolean,
): Promise<ServiceDurations> {
  const project = (await rekognition.describeProjects({})).ProjectDescriptions?.find((p) => p.ProjectArn === projectArn);
  let importSeconds = 0;
  for (const d of project?.Datasets ?? []) {
    if (!d.DatasetArn) continue;
    const desc = (await rekognition.describeDataset({ DatasetArn: d.DatasetArn })).DatasetDescription;
    if (desc?.CreationTimestamp && desc.LastUpdatedTimestamp) {
      importSeconds = Math.max(importSeconds, (desc.LastUpdatedTimestamp.getTime() - desc.CreationTimestamp.getTime()) / 1000);
    }
  }
  const v = (await rekognition.describeProjectVersions({ ProjectArn: projectArn, VersionNames: [versionName] })).ProjectVersionDescriptions?.[0];
  const trainingSeconds = v?.CreationTimestamp && v.TrainingEndTimestamp
    ? (v.TrainingEndTimestamp.getTime() - v.CreationTimestamp.getTime()) / 1000 : 0;
  return { importSeconds, trainingSeconds, startSeconds: started ? DURATIONS.startMs / 1000 : 0 };
}

/** The workflow's own time: its virtual duration minus what the service spent importing, training and starting. */
export function pipelineOverheadSeconds(phases: WorkflowPhases, service: ServiceDurations): number {
  return Math.max(0, phases.total - service.importSeconds - service.trainingSeconds - service.startSeconds);
}

/** `1h 02m 05s` */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${String(rest).padStart(2, '0')}s` : m > 0 ? `${m}m ${String(rest).padStart(2, '0')}s` : `${rest}s`;
}
