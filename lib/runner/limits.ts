/**
 * CloudFormation's, Lambda's and Step Functions' limits, as the offline runner enforces them: what AWS refuses is
 * refused here too, with AWS's message where it has one ([inferred] where the message is ours, it says so).
 */
import { isPlainObject } from './intrinsics';
import { CfnTemplate } from './template';

/** A custom resource's ServiceTimeout: 1..3600 seconds, 3600 when not given (AWS::CloudFormation::CustomResource docs). */
export const MAX_CUSTOM_RESOURCE_SECONDS = 3600;
/** The most a custom resource's response may carry (CloudFormation: "Response object is too long."). */
export const MAX_CUSTOM_RESOURCE_RESPONSE_BYTES = 4096;
/** A wait condition's Timeout (AWS::CloudFormation::WaitCondition docs): 43,200 seconds (12 h). */
export const MAX_WAIT_CONDITION_SECONDS = 43_200;
/** Lambda function timeout (Lambda quotas): 900 seconds. */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 900;
/** A state's input or output, and an execution's input (Step Functions quotas): 256 KiB. */
export const MAX_STATE_PAYLOAD_BYTES = 256 * 1024;
/** Events in one execution's history (Standard workflows). */
export const MAX_HISTORY_EVENTS = 25_000;

/** The message CloudFormation gives a custom resource that does not answer within its ServiceTimeout. */
export function noResponseMessage(requestId: string): string {
  return `CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [${requestId}]. `
    + 'If you are using the Python cfn-response module, you may need to update your Lambda function code so that CloudFormation can '
    + 'attach the updated version.';
}

/** The ServiceTimeout of a custom resource's (resolved) properties, in seconds; throws when out of range. */
export function serviceTimeoutOf(props: Record<string, unknown>): number {
  if (props.ServiceTimeout === undefined) return MAX_CUSTOM_RESOURCE_SECONDS;
  const seconds = Number(props.ServiceTimeout);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_CUSTOM_RESOURCE_SECONDS) {
    // [inferred] CloudFormation's text for this validation.
    throw new Error(`ServiceTimeout must be an integer from 1 to ${MAX_CUSTOM_RESOURCE_SECONDS} seconds, got: ${JSON.stringify(props.ServiceTimeout)}`);
  }
  return seconds;
}

/** Refuses a Lambda function CloudFormation would refuse (the Lambda API's own validation message). */
export function checkLambdaFunction(props: Record<string, unknown>): void {
  if (props.Timeout !== undefined) {
    const timeout = Number(props.Timeout);
    if (timeout > MAX_LAMBDA_TIMEOUT_SECONDS) {
      throw new Error(`1 validation error detected: Value '${props.Timeout}' at 'timeout' failed to satisfy constraint: Member must have value `
        + `less than or equal to ${MAX_LAMBDA_TIMEOUT_SECONDS}`);
    }
  }
  if (props.MemorySize !== undefined) {
    const memory = Number(props.MemorySize);
    if (memory < 128 || memory > 10_240) {
      throw new Error(`1 validation error detected: Value '${props.MemorySize}' at 'memorySize' failed to satisfy constraint: Member must have `
        + `value ${memory < 128 ? 'greater than or equal to 128' : 'less than or equal to 10240'}`);
    }
  }
}

/** Refuses a wait condition Timeout out of range. */
export function checkWaitConditionTimeout(timeout: unknown): number {
  const seconds = Number(timeout ?? MAX_WAIT_CONDITION_SECONDS);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_WAIT_CONDITION_SECONDS) {
    // [inferred] CloudFormation's text for this validation.
    throw new Error(`WaitCondition Timeout must be 1..${MAX_WAIT_CONDITION_SECONDS} seconds, got: ${JSON.stringify(timeout)}`);
  }
  return seconds;
}

/** CloudFormation replaces nothing of a wait condition in place: Count, Handle and Timeout do not support updates. */
export function checkWaitConditionUpdate(logicalId: string, changed: readonly string[]): void {
  const refused = changed.filter((p) => p === 'Count' || p === 'Handle' || p === 'Timeout');
  if (refused.length > 0) {
    // [inferred] CloudFormation's text; the rule is the resource's documented "Update requires: Updates are not supported".
    throw new Error(`${logicalId} (AWS::CloudFormation::WaitCondition): ${refused.join(', ')} ${refused.length === 1 ? 'does' : 'do'} not support `
      + 'updates; give the wait condition a new logical id so that CloudFormation creates a new one');
  }
}

/** The size CloudFormation counts: the JSON of the whole response object the provider sends. */
export function customResourceResponseBytes(response: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(response));
}

/** How long a Provider framework waiter polls isComplete at most: its task's Retry, every pause added up. */
export function waiterTotalSeconds(definition: string | undefined): number | undefined {
  if (!definition) return undefined;
  try {
    type Retrier = { IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number };
    const parsed = JSON.parse(definition) as { States?: Record<string, { Retry?: Retrier[] }> };
    for (const state of Object.values(parsed.States ?? {})) {
      const retry = state.Retry?.[0];
      if (!retry) continue;
      let total = 0;
      for (let i = 0; i < (retry.MaxAttempts ?? 3); i++) total += (retry.IntervalSeconds ?? 1) * Math.pow(retry.BackoffRate ?? 2, i);
      return total;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * What CloudFormation (or the Lambda and Step Functions APIs it calls) would refuse in a template, found before
 * anything is deployed: literal values only (tokens are checked again when resolved). Each problem names the
 * resource and its construct path.
 */
export function templateProblems(template: CfnTemplate, constructPaths: Readonly<Record<string, string>> = {}): string[] {
  const problems: string[] = [];
  const resources = template.Resources ?? {};
  const where = (id: string): string => {
    const metadata = resources[id]?.Metadata?.['aws:cdk:path'];
    const p = typeof metadata === 'string' ? metadata : constructPaths[id];
    return p !== undefined ? `${id} (${p})` : id;
  };
  for (const [id, r] of Object.entries(resources)) {
    const props = r.Properties ?? {};
    try {
      if (r.Type === 'AWS::Lambda::Function') checkLambdaFunction(literals(props, ['Timeout', 'MemorySize']));
      if (r.Type === 'AWS::CloudFormation::WaitCondition') {
        if (isLiteral(props.Timeout)) checkWaitConditionTimeout(props.Timeout);
      }
      if (r.Type === 'AWS::CloudFormation::CustomResource' || r.Type.startsWith('Custom::')) {
        if (isLiteral(props.ServiceTimeout)) serviceTimeoutOf(props);
        const provider = providerOf(template, props.ServiceToken);
        if (provider) {
          const limit = isLiteral(props.ServiceTimeout) ? Number(props.ServiceTimeout) : MAX_CUSTOM_RESOURCE_SECONDS;
          if (provider.worstCaseSeconds > limit) {
            problems.push(`${where(id)}: its Provider framework can take ${provider.worstCaseSeconds} s to answer (a totalTimeout of `
              + `${provider.waiterSeconds} s plus its handlers' ${provider.worstCaseSeconds - provider.waiterSeconds} s), more than the custom `
              + `resource's ServiceTimeout of ${limit} s: CloudFormation would stop waiting first, with "CloudFormation did not receive a `
              + 'response from your Custom Resource". Keep the Provider\'s totalTimeout and handlers within 1 hour.');
          }
        }
      }
    } catch (err) {
      problems.push(`${where(id)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

interface ProviderFacts {
  readonly waiterSeconds: number;
  /** The waiter plus the user's onEvent and (one last) isComplete invocation at their timeouts. */
  readonly worstCaseSeconds: number;
}

/** The Provider framework behind a ServiceToken `{Fn::GetAtt: [fn, Arn]}`, when its waiter's definition is literal. */
function providerOf(template: CfnTemplate, token: unknown): ProviderFacts | undefined {
  const resources = template.Resources ?? {};
  const fnId = isPlainObject(token) && Array.isArray(token['Fn::GetAtt']) ? String(token['Fn::GetAtt'][0]) : undefined;
  const fn = fnId ? resources[fnId] : undefined;
  const env = fn && isPlainObject(fn.Properties?.Environment) && isPlainObject(fn.Properties.Environment.Variables)
    ? fn.Properties.Environment.Variables : undefined;
  const waiterRef = env && isPlainObject(env.WAITER_STATE_MACHINE_ARN) ? env.WAITER_STATE_MACHINE_ARN.Ref : undefined;
  const waiter = typeof waiterRef === 'string' ? resources[waiterRef] : undefined;
  if (!env || !waiter) return undefined;
  const definition = definitionText(waiter.Properties?.DefinitionString);
  const waiterSeconds = waiterTotalSeconds(definition);
  if (waiterSeconds === undefined) return undefined;
  const timeoutOf = (ref: unknown): number => {
    const id = isPlainObject(ref) && Array.isArray(ref['Fn::GetAtt']) ? String(ref['Fn::GetAtt'][0]) : undefined;
    const t = id ? resources[id]?.Properties?.Timeout : undefined;
    return typeof t === 'number' ? t : 3;
  };
  const handlers = timeoutOf(env.USER_ON_EVENT_FUNCTION_ARN) + timeoutOf(env.USER_IS_COMPLETE_FUNCTION_ARN);
  return { waiterSeconds, worstCaseSeconds: waiterSeconds + handlers };
}

/** A DefinitionString as text, with its tokens (`Fn::Join` parts) replaced by placeholders: numbers stay literal. */
function definitionText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isPlainObject(value) && Array.isArray(value['Fn::Join']) && Array.isArray(value['Fn::Join'][1])) {
    return (value['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(String(value['Fn::Join'][0]));
  }
  return undefined;
}

function isLiteral(value: unknown): boolean {
  return typeof value === 'number' || (typeof value === 'string' && value !== '');
}

function literals(props: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => isLiteral(props[k])).map((k) => [k, props[k]]));
}
