import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';

import { GateRequest, GateResult } from '../../lib/model/contracts';
import { gate, GateDeps } from './gate';

let deps: GateDeps | undefined;

/** Step Functions task: applies the evaluation gate to a trained version. */
export async function handler(event: GateRequest): Promise<GateResult> {
  deps ??= { rekognition: new RekognitionClient({}), s3: new S3Client({}) };
  return gate(event, deps);
}
