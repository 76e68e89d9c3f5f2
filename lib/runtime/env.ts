// Shared by the constructs (which set it) and the serving client (which reads it); imports nothing, so the constructs
// load nothing of the client or the AWS SDK through it.

/**
 * The environment variable `CustomLabelsModel.grantDetectCustomLabels(fn)` sets on a `lambda.Function`: the name of the
 * model's serving-version SSM parameter. `new ServingModelClient()` reads it when no `parameterName` is given.
 */
export const SERVING_VERSION_PARAMETER_ENV = 'SERVING_VERSION_PARAMETER';
