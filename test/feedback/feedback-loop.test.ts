import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { FeedbackLoop, FeedbackLoopProps } from '../../lib';
import { PropValidationError } from '../../lib/shared/validation';
import { expectNagClean } from '../shared/nag';

function setup(props: Partial<FeedbackLoopProps> = {}): { stack: Stack; loop: FeedbackLoop; template: () => Template } {
  const stack = new Stack(new App(), 'Feedback', { env: { region: 'us-east-1', account: '123456789012' } });
  const data = s3.Bucket.fromBucketName(stack, 'Data', 'my-data');
  const loop = new FeedbackLoop(stack, 'Loop', {
    predictionsBucket: data, predictionsPrefix: 'results/', trainingManifestBucket: data, trainingManifestKey: 'manifests/train.manifest', ...props,
  });
  return { stack, loop, template: () => Template.fromStack(stack) };
}

describe('FeedbackLoop', () => {
  test('GIVEN the defaults THEN one function and one state machine, a review bucket of its own, and cdk-nag finds nothing', () => {
    const { stack, template: synth } = setup();
    const template = synth();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({
      TRAINING_BUCKET: 'my-data', TRAINING_KEY: 'manifests/train.manifest', MERGED_PREFIX: 'feedback/', REVIEW_BELOW_CONFIDENCE: '0.7', SAMPLE_SHARE: '0.05',
    }) } });
    expectNagClean(stack);
  });

  test('grants the function the prefixes it uses and nothing else of the buckets, and one key to list', () => {
    const policies = Object.values(setup().template().findResources('AWS::IAM::Policy'));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
    const s3Statements = statements.filter((s) => String(s.Action).startsWith('s3:')).map((s) => ({ Action: s.Action, Resource: s.Resource,
      Condition: s.Condition }));
    const text = JSON.stringify(s3Statements);
    expect(text).toContain(':s3:::my-data/results/*');
    expect(text).toContain(':s3:::my-data/manifests/train.manifest');
    expect(text).toContain(':s3:::my-data/feedback/*');
    expect(s3Statements).toContainEqual({ Action: 's3:ListBucket', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::my-data']] },
      Condition: { StringEquals: { 's3:prefix': ['feedback/latest'] } } });
    expect(text).not.toMatch(/my-data\/\*"/);
    expect(text).not.toContain('s3:DeleteObject');
  });

  test('grantStartExecution and grantReview give a user what a reviewer and a pipeline need', () => {
    const { stack, loop } = setup();
    const user = new iam.Role(stack, 'Reviewer', { assumedBy: new iam.AccountRootPrincipal() });
    loop.grantStartExecution(user);
    loop.grantReview(user);
    const doc = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('Reviewer') }] } }));
    expect(doc).toContain('states:StartExecution');
    expect(doc).toContain('reviews/*');
    expect(doc).toContain('reviewed/*');
    expect(doc).toContain('s3:PutObject');
  });

  test('GIVEN a KMS-encrypted review bucket THEN the function may use its key', () => {
    const stack = new Stack(new App(), 'Keyed', { env: { region: 'us-east-1', account: '123456789012' } });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const reviewBucket = new s3.Bucket(stack, 'Reviews', { encryptionKey: key, enforceSSL: true });
    const data = s3.Bucket.fromBucketName(stack, 'Data', 'my-data');
    new FeedbackLoop(stack, 'Loop', { predictionsBucket: data, trainingManifestBucket: data, trainingManifestKey: 'm', reviewBucket });
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'))).toMatch(/kms:GenerateDataKey/);
  });

  test('GIVEN bad props THEN it throws once, naming each prop, its value and what is allowed, before creating anything', () => {
    const stack = new Stack(new App(), 'Bad');
    const data = s3.Bucket.fromBucketName(stack, 'Data', 'my-data');
    let error: unknown;
    try {
      new FeedbackLoop(stack, 'Loop', { predictionsBucket: data, trainingManifestBucket: data, trainingManifestKey: 'feedback/train.manifest',
        reviewBelowConfidence: 70, sampleShare: 1.5, predictionsPrefix: 'results' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PropValidationError);
    expect((error as PropValidationError).problems).toEqual([
      'reviewBelowConfidence must be between 0 and 1, got: 70',
      'sampleShare must be between 0 and 1, got: 1.5',
      'predictionsPrefix must be \'\' or a key prefix ending in "/", got: "results"',
      'trainingManifestKey must not be under mergedPrefix (feedback/): merged manifests are written there, got: "feedback/train.manifest"',
    ]);
    expect(stack.node.findChild('Loop').node.children).toHaveLength(0);
  });
});
