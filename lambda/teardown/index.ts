// Entry points of the project teardown custom resource (Provider framework: onEvent + isComplete).
import { RekognitionClient } from '@aws-sdk/client-rekognition';
import type { CdkCustomResourceEvent, CdkCustomResourceIsCompleteEvent } from 'aws-lambda';

import { isCompleteHandler, onEventHandler } from './events';

// Default retry settings (3 attempts with backoff): the framework polls again anyway.
const client = new RekognitionClient({});

export const onEvent = (event: CdkCustomResourceEvent) => onEventHandler(event);
export const isComplete = (event: CdkCustomResourceIsCompleteEvent) => isCompleteHandler(event, client);
