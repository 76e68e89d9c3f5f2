import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';

import { PrepareRequest, PrepareResult, ProbeRequest, ProbeResult } from '../../lib/model/contracts';
import { newPrepareStats, prepare, PrepareDeps, probe } from './prepare';

let deps: PrepareDeps | undefined;

/** Step Functions task: `{ action: 'probe' | 'prepare', ... }`. Fails by throwing; the workflow's Catch reports the message. */
export async function handler(event: ProbeRequest | PrepareRequest): Promise<ProbeResult | PrepareResult> {
  deps ??= { rekognition: new RekognitionClient({}), s3: new S3Client({}) };
  if (event.action === 'probe') return probe(event, deps);
  if (event.action === 'prepare') {
    const stats = newPrepareStats();
    const started = Date.now();
    const result = await prepare(event, deps, { stats });
    // One line for the log (and the scale benchmark): what the run read and wrote.
    console.log(JSON.stringify({ prepared: { ...result, ms: Date.now() - started, ...stats } }));
    return result;
  }
  throw new Error(`Unknown action: ${JSON.stringify((event as { action?: unknown }).action)}`);
}
