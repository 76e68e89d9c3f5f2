import { sdkErrorName, serviceDisplayName, toLambdaTaskError, toSdkTaskError, toTaskError } from '../../lib/runner/sfn-errors';

describe('Step Functions error names', () => {
  test('SDK errors are <Service>.<Name>, always ending in Exception', () => {
    expect(sdkErrorName('rekognition', 'ThrottlingException')).toBe('Rekognition.ThrottlingException');
    expect(sdkErrorName('rekognition', 'ResourceNotFoundException')).toBe('Rekognition.ResourceNotFoundException');
    expect(sdkErrorName('rekognition', 'InternalServerError')).toBe('Rekognition.InternalServerErrorException');
    expect(sdkErrorName('s3', 'BucketAlreadyExists')).toBe('S3.BucketAlreadyExistsException');
    expect(sdkErrorName('acmpca', 'ResourceNotFoundException')).toBe('AcmPca.ResourceNotFoundException');
    expect(sdkErrorName('rekognition', 'Rekognition.ThrottlingException')).toBe('Rekognition.ThrottlingException');
  });

  test('service ids become PascalCase names', () => {
    expect(['rekognition', 's3', 'sfn', 'eventbridge'].map(serviceDisplayName)).toEqual(['Rekognition', 'S3', 'Sfn', 'EventBridge']);
  });

  test('an SDK service exception keeps the service message in the cause', () => {
    const sdkError = Object.assign(new Error('Version not found'), {
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 400, requestId: 'abc' },
    });
    const e = toSdkTaskError('rekognition', sdkError);
    expect(e.name).toBe('Rekognition.ResourceNotFoundException');
    expect(e.message).toBe('Version not found (Service: Rekognition, Status Code: 400, Request ID: abc)');
    expect(e).not.toHaveProperty('cause');
  });

  test('a plain JavaScript error from an SDK handler is a task failure, not a service error', () => {
    const e = toSdkTaskError('rekognition', new TypeError('x is undefined'));
    expect([e.name, e.message]).toEqual(['States.TaskFailed', 'x is undefined']);
  });

  test('Lambda errors: the error type, and the runtime\'s JSON as cause; dotted names pass through', () => {
    const e = toLambdaTaskError(new RangeError('too big'));
    expect(e.name).toBe('RangeError');
    expect(JSON.parse(e.message)).toEqual({ errorType: 'RangeError', errorMessage: 'too big' });
    const service = toLambdaTaskError(Object.assign(new Error('Rate exceeded'), { name: 'Lambda.TooManyRequestsException' }));
    expect([service.name, service.message]).toEqual(['Lambda.TooManyRequestsException', 'Rate exceeded']);
  });

  test('other errors keep their name and message; thrown strings become Error', () => {
    expect([toTaskError('boom').name, toTaskError('boom').message]).toEqual(['Error', 'boom']);
  });
});
