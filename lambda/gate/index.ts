import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';

import { GateRequest, GateResult } from '../../lib/model/contracts';
import { gate } from './gate';

let clients: { rekognition: RekognitionClient; s3: S3Client } | undefined;

/** What the report's image loading leaves of the function's time for rendering and writing the page. */
const RESERVE_MS = 30_000;

/** Step Functions task: applies the evaluation gate to a trained version and writes its evaluation report. */
export async function handler(event: GateRequest, context: Context): Promise<GateResult> {
  clients ??= { rekognition: new RekognitionClient({}), s3: new S3Client({}) };
  const deadline = Date.now() + context.getRemainingTimeInMillis() - RESERVE_MS;
  return gate(event, { ...clients, imageDeadline: () => deadline });
}
