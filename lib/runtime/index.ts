// `cdk-rekognition-custom-labels/runtime`: for application code that calls the model. Needs @aws-sdk/client-rekognition
// and @aws-sdk/client-ssm; loads neither aws-cdk-lib nor the offline tools.
export * from './env';
export * from './serving-client';
