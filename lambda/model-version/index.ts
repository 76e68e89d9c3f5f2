import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

import { isComplete as isCompleteWith, onEvent as onEventWith, OnEventResult, VersionEvent, VersionHandlerDeps } from './handler';

let deps: VersionHandlerDeps | undefined;
const clients = (): VersionHandlerDeps => (deps ??= {
  rekognition: new RekognitionClient({}), s3: new S3Client({}), sfn: new SFNClient({}), ssm: new SSMClient({}),
});

/** Provider framework onEvent: starts the model workflow (Create/Update) or stops the model (Delete). Fails by throwing. */
export async function onEvent(event: VersionEvent): Promise<OnEventResult> {
  return onEventWith(event, clients());
}

/** Provider framework isComplete: polls a Delete until the model's versions are stopped (and deleted under DESTROY). */
export async function isComplete(event: VersionEvent): Promise<{ IsComplete: boolean }> {
  return isCompleteWith(event, clients());
}
