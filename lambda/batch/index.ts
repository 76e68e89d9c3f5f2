import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

import { AnalyseBatchInput, BatchSettings, UploadEvent } from '../../lib/batch/contracts';
import { acquire, analyse, BatchError, Clients, idleStop, release, status, summarise, sweep } from './batch';
import { collect, reopenIfPending, upload, WindowClients } from './windows';

let clients: (Clients & WindowClients) | undefined;

const optionalNumber = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

/** The batch's settings, from the environment the construct sets. */
export function settingsOf(env: NodeJS.ProcessEnv): BatchSettings {
  return {
    versionArn: env.VERSION_ARN || undefined,
    versionParameter: env.VERSION_PARAMETER || undefined,
    projectArn: env.PROJECT_ARN || undefined,
    outputBucket: env.OUTPUT_BUCKET ?? '',
    outputPrefix: env.OUTPUT_PREFIX ?? '',
    minInferenceUnits: Number(env.MIN_INFERENCE_UNITS ?? 1),
    maxInferenceUnits: optionalNumber(env.MAX_INFERENCE_UNITS),
    leaseSeconds: Number(env.LEASE_SECONDS),
    stopWhenIdleSeconds: Number(env.STOP_WHEN_IDLE_SECONDS),
    minConfidence: optionalNumber(env.MIN_CONFIDENCE),
  };
}

/** What the state machine (and the hourly sweep) sends: `action` and what that action needs. */
export interface BatchEvent {
  readonly action: 'acquire' | 'status' | 'release' | 'idleStop' | 'sweep' | 'analyse' | 'summarise' | 'upload' | 'collect';
  readonly versionArn?: string;
  /** The execution name of the run. */
  readonly holder?: string;
  readonly checks?: number;
  readonly BatchInput?: AnalyseBatchInput;
  readonly Items?: Array<{ Key: string }>;
  /** `sweep` with uploads: the state machine to open a window on, and the window's length. */
  readonly stateMachineArn?: string;
  readonly waitSeconds?: number;
}

/** Step Functions task of BatchAnalysis (and the target of its sweep schedule and of its uploads rule). */
export async function handler(event: BatchEvent): Promise<unknown> {
  clients ??= { rekognition: new RekognitionClient({}), detector: new RekognitionClient({ maxAttempts: 1 }), s3: new S3Client({}),
    sfn: new SFNClient({}) };
  const settings = settingsOf(process.env);
  const versionArn = event.versionArn ?? settings.versionArn ?? '';
  const holder = event.holder ?? '';
  switch (event.action) {
    case 'acquire': return acquire(versionArn, holder, settings, clients);
    case 'status': return status(versionArn, event.checks ?? 0, settings, clients);
    case 'release': return release(versionArn, holder, settings, clients);
    case 'idleStop': return idleStop(versionArn, holder, settings, clients);
    case 'sweep': {
      const swept = await sweep(settings, clients);
      const reopened = event.stateMachineArn ? await reopenIfPending(event.stateMachineArn, event.waitSeconds ?? 900, settings, clients) : undefined;
      return { ...swept, ...(reopened ? { reopened } : {}) };
    }
    case 'upload': return upload(event as unknown as UploadEvent, settings, clients);
    case 'collect': return collect(holder, settings, clients);
    case 'analyse': return analyse(event.BatchInput!, event.Items ?? [], settings, clients);
    case 'summarise': return summarise(holder, versionArn, settings, clients);
    default: throw new BatchError('BatchError', `Unknown action: ${JSON.stringify((event as { action?: unknown }).action)}`);
  }
}
