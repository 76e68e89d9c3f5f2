/** The error shapes of the Rekognition model (reference §1) plus the two the JSON protocol itself uses. */
export const ERROR_NAMES = [
  'AccessDeniedException', 'InternalServerError', 'InvalidParameterException', 'InvalidPaginationTokenException',
  'InvalidS3ObjectException', 'InvalidImageFormatException', 'ImageTooLargeException', 'LimitExceededException',
  'ProvisionedThroughputExceededException', 'ResourceAlreadyExistsException', 'ResourceInUseException',
  'ResourceNotFoundException', 'ResourceNotReadyException', 'ServiceQuotaExceededException', 'ThrottlingException',
  'InvalidPolicyRevisionIdException', 'MalformedPolicyDocumentException', 'InvalidManifestException',
  'SerializationException', 'UnknownOperationException',
] as const;

/** HTTP 500 for these, 400 for every other error (reference §1, RDG "HTTP Status Code"). */
const SERVER_FAULTS = new Set(['InternalServerError', 'ThrottlingException']);

const DEFAULT_MESSAGES: Record<string, string> = {
  AccessDeniedException: 'You are not authorized to perform the action.',
  InternalServerError: 'Amazon Rekognition experienced a service issue. Try your call again.',
  ThrottlingException: 'Amazon Rekognition is temporarily unable to process the request. Try your call again.',
  ProvisionedThroughputExceededException: 'The number of requests exceeded your throughput limit.',
  LimitExceededException: 'An Amazon Rekognition service limit was exceeded.',
  ServiceQuotaExceededException: 'The size of the resource exceeds the allowed limit.',
};

/** An error the emulator answers with: `name` is the wire `__type`. */
export class ServiceError extends Error {
  readonly httpStatus: number;
  readonly $fault: 'client' | 'server';

  constructor(name: string, message?: string) {
    super(message ?? DEFAULT_MESSAGES[name] ?? name);
    this.name = name;
    this.$fault = SERVER_FAULTS.has(name) ? 'server' : 'client';
    this.httpStatus = this.$fault === 'server' ? 500 : 400;
  }
}

export function invalidParameter(message: string): ServiceError {
  return new ServiceError('InvalidParameterException', message);
}

export function notFound(what: string, id: string): ServiceError {
  return new ServiceError('ResourceNotFoundException', `The ${what} ${id} was not found.`);
}

export function inUse(message: string): ServiceError {
  return new ServiceError('ResourceInUseException', message);
}

export function notReady(message: string): ServiceError {
  return new ServiceError('ResourceNotReadyException', message);
}
