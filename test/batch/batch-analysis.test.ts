import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { BatchAnalysis, BatchAnalysisProps, CustomLabelsModel, CustomLabelsProject, TrainingData } from '../../lib';
import { PropValidationError } from '../../lib/shared/validation';
import { expectNagClean, nagFindings } from '../shared/nag';

const VERSION_ARN = 'arn:aws:rekognition:us-east-1:123456789012:project/shapes/version/model-1/1700000000000';

function setup(props: Partial<BatchAnalysisProps> = {}): { stack: Stack; batch: BatchAnalysis; template: () => Template } {
  const stack = new Stack(new App(), 'Batch', { env: { region: 'us-east-1', account: '123456789012' } });
  const images = s3.Bucket.fromBucketName(stack, 'Images', 'my-images');
  const model = CustomLabelsModel.fromVersionArn(stack, 'Model', VERSION_ARN);
  const batch = new BatchAnalysis(stack, 'Batch', { model, input: { bucket: images, prefix: 'incoming/' }, ...props });
  return { stack, batch, template: () => Template.fromStack(stack) };
}

const statementsOf = (template: Template): Array<Record<string, unknown>> => Object.values(template.findResources('AWS::IAM::Policy'))
  .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);

describe('BatchAnalysis', () => {
  test('GIVEN an imported version and the defaults THEN a Distributed Map over the prefix, an output bucket of its own, an hourly sweep, cdk-nag clean', () => {
    const { stack, template: synth } = setup();
    const template = synth();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)' });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({
      VERSION_ARN, OUTPUT_PREFIX: '', MIN_INFERENCE_UNITS: '1', STOP_WHEN_IDLE_SECONDS: '900', LEASE_SECONDS: '86400' }) } });
    const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const definition = JSON.stringify(stack.resolve(sm.Properties.DefinitionString));
    for (const part of ['"Mode\\":\\"DISTRIBUTED', 'arn:aws:states:::s3:listObjectsV2', '\\"Prefix\\":\\"incoming/\\"', 'ToleratedFailurePercentage',
      'ResultWriter', 'MaxConcurrencyPath', 'ReleaseAfterFailure', 'IdleStopAfterFailure']) {
      expect(definition).toContain(part);
    }
    expectNagClean(stack);
  });

  test('least privilege: images read under the prefix only, the model\'s own version, listing conditioned on the prefixes', () => {
    const statements = statementsOf(setup({ output: { bucket: s3.Bucket.fromBucketName(new Stack(), 'X', 'ignored'), prefix: 'r/' } }).template());
    const text = JSON.stringify(statements);
    expect(text).toContain(':s3:::my-images/incoming/*');
    expect(text).not.toMatch(/my-images\/\*"/);
    expect(text).not.toContain('s3:DeleteObject');
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['rekognition:StartProjectVersion', 'rekognition:StopProjectVersion'],
      Resource: VERSION_ARN }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'rekognition:DetectCustomLabels', Resource: VERSION_ARN }));
    const lists = statements.filter((s) => s.Action === 's3:ListBucket');
    expect(lists.map((s) => s.Condition)).toEqual(expect.arrayContaining([{ StringLike: { 's3:prefix': ['incoming/*'] } },
      { StringLike: { 's3:prefix': ['r/*'] } }]));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'states:StartExecution' }));
  });

  test('GIVEN a CustomLabelsModel THEN each run reads the serving version from its parameter', () => {
    const stack = new Stack(new App(), 'Serving', { env: { region: 'us-east-1', account: '123456789012' } });
    const data = s3.Bucket.fromBucketName(stack, 'Data', 'data');
    const project = new CustomLabelsProject(stack, 'Project', { projectName: 'shapes' });
    const model = new CustomLabelsModel(stack, 'Model', { project, trainingData: TrainingData.fromS3Manifest(data, 'train.manifest') });
    new BatchAnalysis(stack, 'Batch', { model, input: { bucket: data, prefix: 'in/' }, output: { bucket: data, prefix: 'out/' },
      stopWhenIdle: Duration.minutes(5), maxInferenceUnits: 3 });
    const template = Template.fromStack(stack);
    const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))
      .find((r) => JSON.stringify(r.Properties.DefinitionString).includes('Batch analysis'))!;
    expect(JSON.stringify(sm.Properties.DefinitionString)).toContain('aws-sdk:ssm:getParameter');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ OUTPUT_PREFIX: 'out/',
      MAX_INFERENCE_UNITS: '3', STOP_WHEN_IDLE_SECONDS: '300', PROJECT_ARN: Match.anyValue() }) } });
    // The model's own findings are its tests' business; the batch's must be none.
    expect(nagFindings(stack).filter((f) => f.includes('Serving/Batch/'))).toEqual([]);
  });

  test('validation names the prop, the value and what is allowed, before any resource exists', () => {
    const bad = (props: Partial<BatchAnalysisProps>): string => {
      try {
        setup(props);
        return '';
      } catch (e) {
        expect(e).toBeInstanceOf(PropValidationError);
        return (e as Error).message;
      }
    };
    expect(bad({ toleratedFailurePercentage: 120 })).toMatch(/toleratedFailurePercentage must be .*100.*got: 120/);
    expect(bad({ imagesPerBatch: 0 })).toMatch(/imagesPerBatch must be an integer/);
    expect(bad({ minInferenceUnits: 2, maxInferenceUnits: 1 })).toMatch(/maxInferenceUnits/);
    expect(bad({ stopWhenIdle: Duration.hours(48) })).toMatch(/stopWhenIdle must be at most 24 hours/);
    expect(bad({ leaseDuration: Duration.minutes(5) })).toMatch(/leaseDuration must be at least 1 hour/);
    expect(bad({ input: { bucket: s3.Bucket.fromBucketName(new Stack(), 'B', 'bbb'), prefix: 'no-slash' } })).toMatch(/input.prefix must be/);
  });
});
