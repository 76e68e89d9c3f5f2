/**
 * Step Functions' names for errors raised by Task integrations, so a definition's Retry and Catch match offline
 * exactly as they do in AWS.
 *
 * AWS SDK integrations: "ServiceName.ErrorName", both PascalCase, and the error name always ends in "Exception" even
 * when the service's own name does not (S3 `BucketAlreadyExists` -> `S3.BucketAlreadyExistsException`; documented
 * example `aws-sdk:acmpca` -> `AcmPca.ResourceNotFoundException`). So Rekognition's `InternalServerError` is
 * `Rekognition.InternalServerErrorException`.
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
 */

// Service ids whose PascalCase form is not just a capital first letter. Rekognition, S3 and AcmPca are documented
// examples; the others follow the same PascalCase rule [inferred].
const SERVICE_NAMES: Readonly<Record<string, string>> = {
  rekognition: 'Rekognition',
  s3: 'S3',
  acmpca: 'AcmPca',
  dynamodb: 'DynamoDb',
  eventbridge: 'EventBridge',
  cloudformation: 'CloudFormation',
  cloudwatch: 'CloudWatch',
  cloudwatchlogs: 'CloudWatchLogs',
  secretsmanager: 'SecretsManager',
  sagemaker: 'SageMaker',
};

const JS_ERROR_NAMES = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError']);

/** `rekognition` -> `Rekognition`, `acmpca` -> `AcmPca`. */
export function serviceDisplayName(service: string): string {
  return SERVICE_NAMES[service.toLowerCase()] ?? service.charAt(0).toUpperCase() + service.slice(1);
}

/** `ThrottlingException` of 'rekognition' -> `Rekognition.ThrottlingException`; `InternalServerError` -> `...InternalServerErrorException`. */
export function sdkErrorName(service: string, exceptionName: string): string {
  const prefix = `${serviceDisplayName(service)}.`;
  if (exceptionName.startsWith(prefix)) return exceptionName;
  return `${prefix}${exceptionName.endsWith('Exception') ? exceptionName : `${exceptionName}Exception`}`;
}

/** An error as the state machine sees it: `name` is matched by ErrorEquals, `message` becomes the Cause. */
export function statesError(name: string, cause: string): Error {
  // A fresh Error without `cause`: the interpreter reports `error.cause ?? error.message` as the Cause.
  const error = new Error(cause);
  error.name = name;
  return error;
}

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string };
}

function parts(err: unknown): ErrorLike {
  return typeof err === 'object' && err !== null ? (err as ErrorLike) : { message: String(err) };
}

/**
 * The error an AWS SDK integration raises for `err`. Service exceptions get `<Service>.<Name>Exception` and a Cause in
 * the AWS SDK's "message (Service: X, Status Code: N, Request ID: R)" form [inferred]; plain JavaScript errors (a bug or
 * a network failure, not a service answer) become `States.TaskFailed` [inferred].
 */
export function toSdkTaskError(service: string, err: unknown): Error {
  const e = parts(err);
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (JS_ERROR_NAMES.has(name) && !e.$metadata) return statesError('States.TaskFailed', message);
  const meta = e.$metadata;
  const cause = meta?.httpStatusCode !== undefined
    ? `${message} (Service: ${serviceDisplayName(service)}, Status Code: ${meta.httpStatusCode}, Request ID: ${meta.requestId ?? 'none'})`
    : message;
  return statesError(sdkErrorName(service, name), cause);
}

/**
 * The error a Lambda task raises when the function throws: the function's error type as Error and, as Cause, the JSON
 * the Lambda runtime reports. An error already named with a dot (e.g. `Lambda.ServiceException`) passes through.
 */
export function toLambdaTaskError(err: unknown): Error {
  const e = parts(err);
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (name.includes('.')) return statesError(name, message);
  return statesError(name, JSON.stringify({ errorType: name, errorMessage: message }));
}

/** Any other handler's error, name and message kept. */
export function toTaskError(err: unknown): Error {
  const e = parts(err);
  return statesError(typeof e.name === 'string' && e.name !== '' ? e.name : 'Error', typeof e.message === 'string' ? e.message : String(err));
}
