import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';

import { LeaseLocation, ScheduleEvent, ScheduleSettings } from '../../lib/schedule/contracts';
import { Clients, guard, ScheduleError, start, startStatus, stop, stopStatus } from './schedule';

let clients: Clients | undefined;

const optionalNumber = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

/** The schedule's settings, from the environment the construct sets. */
export function settingsOf(env: NodeJS.ProcessEnv): ScheduleSettings {
  return {
    holder: env.HOLDER ?? 'schedule',
    versionArn: env.VERSION_ARN || undefined,
    projectArn: env.PROJECT_ARN || undefined,
    bucket: env.BUCKET ?? '',
    batchLeases: JSON.parse(env.BATCH_LEASES || '[]') as LeaseLocation[],
    minInferenceUnits: Number(env.MIN_INFERENCE_UNITS ?? 1),
    maxInferenceUnits: optionalNumber(env.MAX_INFERENCE_UNITS),
    timeZone: env.TIME_ZONE || 'UTC',
    guardSeconds: Number(env.GUARD_SECONDS ?? 300),
    maxRunningSeconds: optionalNumber(env.MAX_RUNNING_SECONDS),
    dailyInferenceUnitHoursBudget: optionalNumber(env.DAILY_BUDGET),
    holdSeconds: Number(env.HOLD_SECONDS ?? 8 * 86400),
  };
}

/** Step Functions task of ModelSchedule's Control state machine. */
export async function handler(event: ScheduleEvent): Promise<unknown> {
  clients ??= { rekognition: new RekognitionClient({}), s3: new S3Client({}) };
  const settings = settingsOf(process.env);
  const versionArn = event.versionArn ?? settings.versionArn ?? '';
  switch (event.action) {
    case 'start': return start(versionArn, settings, clients);
    case 'startStatus': return startStatus(versionArn, event.checks ?? 0, settings, clients);
    case 'stop': return stop(versionArn, settings, clients);
    case 'stopStatus': return stopStatus(versionArn, event.checks ?? 0, settings, clients, event.previous?.alarm);
    case 'guard': return guard(versionArn, settings, clients);
    default: throw new ScheduleError('ScheduleError', `Unknown action: ${JSON.stringify((event as { action?: unknown }).action)}`);
  }
}
