/**
 * A model version's status, for the functions that start and stop models (BatchAnalysis, ModelSchedule): the version
 * ARN names the project, so only the project ARN is looked up (once, when the construct did not know it at synth).
 */
import { DescribeProjectsCommand, DescribeProjectVersionsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';

export interface VersionStatus {
  readonly status: string;
  readonly message: string;
  /** MaxInferenceUnits of the version (MinInferenceUnits without auto scaling); 0 when never started. */
  readonly units: number;
}

/** Statuses in which a version can neither serve nor be started. */
export const NOT_SERVABLE: readonly string[] = ['TRAINING_IN_PROGRESS', 'TRAINING_FAILED', 'FAILED', 'DELETING', 'EXPIRED', 'DEPRECATED',
  'COPYING_IN_PROGRESS', 'COPYING_FAILED'];

/** Statuses from which StartProjectVersion starts the model. */
export const STARTABLE: readonly string[] = ['STOPPED', 'TRAINING_COMPLETED', 'COPYING_COMPLETED'];

/** How the caller fails: the error the state machine routes by name. */
export type Fail = (message: string) => Error;

/** The project of `versionArn`: `knownProjectArn` when the construct knew it, else looked up by the project's name. */
export async function projectArnOf(rekognition: RekognitionClient, versionArn: string, knownProjectArn: string | undefined,
  fail: Fail): Promise<string> {
  if (knownProjectArn) return knownProjectArn;
  const name = versionArn.split('/')[1];
  const res = await rekognition.send(new DescribeProjectsCommand({ ProjectNames: [name] }));
  const arn = res.ProjectDescriptions?.[0]?.ProjectArn;
  if (!arn) throw fail(`No project named ${name} (of version ${versionArn})`);
  return arn;
}

/** The version's status, message and inference units; `fail` when the version does not exist. */
export async function describeVersion(rekognition: RekognitionClient, versionArn: string, knownProjectArn: string | undefined,
  fail: Fail): Promise<VersionStatus> {
  const projectArn = await projectArnOf(rekognition, versionArn, knownProjectArn, fail);
  const res = await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: [versionArn.split('/')[3]] }));
  const v = res.ProjectVersionDescriptions?.[0];
  if (!v) throw fail(`The model version ${versionArn} does not exist`);
  return { status: v.Status ?? 'UNKNOWN', message: v.StatusMessage ?? '', units: v.MaxInferenceUnits ?? v.MinInferenceUnits ?? 0 };
}
