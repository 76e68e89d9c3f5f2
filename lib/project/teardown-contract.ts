// The contract between CustomLabelsProject and its teardown handler (lambda/teardown). Both import this module;
// it must import nothing from aws-cdk-lib so the handler bundle stays small.

/** CloudFormation resource type of the teardown custom resource. */
export const TEARDOWN_RESOURCE_TYPE = 'Custom::CustomLabelsProjectTeardown';

/** What the teardown does to the project's contents when the stack deletes it. */
export const TEARDOWN_MODES = ['RETAIN', 'DESTROY'] as const;
export type TeardownMode = (typeof TEARDOWN_MODES)[number];

/**
 * The teardown resource's properties as CloudFormation passes them to the handler (every value is a string).
 * - RETAIN: stop every RUNNING or STARTING version and wait until nothing runs; versions and datasets stay.
 * - DESTROY: also delete every version (after training or copying finishes) and then both datasets, so that
 *   CloudFormation can delete the empty project.
 */
export interface TeardownProperties {
  readonly ProjectArn: string;
  readonly Mode: TeardownMode;
  /** How long a Delete may take, in seconds, before it fails with what it is still waiting for. */
  readonly TimeoutSeconds: string;
}

/** What onEvent hands to isComplete (the Provider framework merges it into the isComplete event). */
export interface TeardownOnEventData {
  /** Epoch ms when the Delete started, to bound the whole teardown. */
  readonly StartedAt: string;
}

/**
 * The Provider framework's `totalTimeout`: with the handlers' own timeouts it must fit the custom resource's ServiceTimeout
 * (at most 1 hour), or CloudFormation gives up first with a message that says nothing of the project. The handler gives
 * up 5 minutes earlier still, naming what it waited for.
 */
export const TEARDOWN_TOTAL_TIMEOUT_SECONDS = 50 * 60;
export const TEARDOWN_HANDLER_TIMEOUT_SECONDS = TEARDOWN_TOTAL_TIMEOUT_SECONDS - 5 * 60;
/** Seconds between two isComplete polls. */
export const TEARDOWN_QUERY_INTERVAL_SECONDS = 30;

/** Parses and checks the properties CloudFormation sent; throws naming the bad property. */
export function parseTeardownProperties(raw: unknown): TeardownProperties {
  if (typeof raw !== 'object' || raw === null) throw new Error('Teardown properties missing');
  const props = raw as Record<string, unknown>;
  const arn = props.ProjectArn;
  if (typeof arn !== 'string' || !PROJECT_ARN.test(arn)) {
    throw new Error(`ProjectArn must be a project ARN matching ${PROJECT_ARN}, got: ${JSON.stringify(arn)}`);
  }
  const mode = props.Mode;
  if (typeof mode !== 'string' || !(TEARDOWN_MODES as readonly string[]).includes(mode)) {
    throw new Error(`Mode must be one of ${TEARDOWN_MODES.join(', ')}, got: ${JSON.stringify(mode)}`);
  }
  const timeout = props.TimeoutSeconds === undefined ? String(TEARDOWN_HANDLER_TIMEOUT_SECONDS) : String(props.TimeoutSeconds);
  if (!/^[1-9][0-9]*$/.test(timeout)) throw new Error(`TimeoutSeconds must be a positive integer, got: ${JSON.stringify(timeout)}`);
  return { ProjectArn: arn, Mode: mode as TeardownMode, TimeoutSeconds: timeout };
}

/** ProjectArn as the service's model defines it. */
export const PROJECT_ARN = /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/[0-9]+$/;
