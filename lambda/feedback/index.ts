import { S3Client } from '@aws-sdk/client-s3';

import { FeedbackRequest, FeedbackSettings, MergeResult, ReviewResult } from '../../lib/feedback/contracts';
import { feedback } from './feedback';

let s3: S3Client | undefined;

/** The loop's settings, from the environment the construct sets. */
function settingsOf(env: NodeJS.ProcessEnv): FeedbackSettings {
  return {
    reviewBucket: env.REVIEW_BUCKET ?? '',
    trainingBucket: env.TRAINING_BUCKET ?? '',
    trainingKey: env.TRAINING_KEY ?? '',
    mergedPrefix: env.MERGED_PREFIX ?? '',
    belowConfidence: Number(env.REVIEW_BELOW_CONFIDENCE),
    sampleShare: Number(env.SAMPLE_SHARE),
  };
}

/** Step Functions task: `{ input, executionName }` from the FeedbackLoop's state machine. */
export async function handler(event: { input: FeedbackRequest; executionName: string }): Promise<ReviewResult | MergeResult> {
  s3 ??= new S3Client({});
  return feedback(event.input, settingsOf(process.env), s3, event.executionName);
}
