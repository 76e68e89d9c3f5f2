import { App, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';

import { BatchAnalysis, BatchAnalysisProps, CustomLabelsModel, CustomLabelsProject, TrainingData } from '../../lib';
import { PropValidationError } from '../../lib/shared/validation';
import { expectNagClean, nagFindings } from '../shared/nag';
import { schedulesMissingPolicyDependencies } from '../shared/scheduler-dependencies';

// aws-cdk-lib's built-in CloudFormation validation (a WebAssembly engine) takes seconds per synth and only warns: skipped
// here (cdk-nag still runs where a test asks for it).
process.env.CDK_VALIDATION = 'false';

const VERSION_ARN = 'arn:aws:rekognition:us-east-1:123456789012:project/shapes/version/model-1/1700000000000';

function setup(props: Partial<BatchAnalysisProps> = {}): { stack: Stack; batch: BatchAnalysis; template: () => Template } {
  // The feature flags `cdk init` writes into a new app's cdk.json: findings that only they bring (e.g. KMS grants on
  // imported aliases) show here.
  const stack = new Stack(new App({ context: CURRENTLY_RECOMMENDED_FLAGS }), 'Batch', { env: { region: 'us-east-1', account: '123456789012' } });
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
    // What the version ARN allows (new apps' @aws-cdk/aws-iam:minimizePolicies merges statements of one resource).
    const onVersion = statements.filter((s) => s.Resource === VERSION_ARN).flatMap((s) => [s.Action].flat()).sort();
    expect(onVersion).toEqual(['rekognition:DetectCustomLabels', 'rekognition:StartProjectVersion', 'rekognition:StopProjectVersion']);
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

  describe('triggers', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the definition is walked freely in assertions
    const definitionOf = (stack: Stack, template: Template): Record<string, any> => {
      const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
      const resolved = stack.resolve(sm.Properties.DefinitionString) as { 'Fn::Join': [string, unknown[]] };
      // Tokens (ARNs, bucket names) become placeholders: the structure is what is checked.
      return JSON.parse(resolved['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
    };

    test('GIVEN a schedule with a time zone THEN a Scheduler schedule starts the state machine as a role that may start only it', () => {
      const { stack, batch, template: synth } = setup({ schedule: scheduler.ScheduleExpression.cron({ hour: '2', minute: '30',
        timeZone: TimeZone.EUROPE_BERLIN }) });
      const template = synth();
      template.resourceCountIs('AWS::Scheduler::Schedule', 2);
      expect(schedulesMissingPolicyDependencies(template)).toEqual({});
      const smArn = stack.resolve(batch.stateMachine.stateMachineArn);
      const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule')).find((r) => r.Properties.ScheduleExpression !== 'rate(1 hour)')!;
      expect(schedule.Properties).toMatchObject({ ScheduleExpression: 'cron(30 2 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin',
        FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: smArn, Input: '{}' } });
      const roleId = (schedule.Properties.Target.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
      const role = template.findResources('AWS::IAM::Role')[roleId];
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({ Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' } })]);
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId));
      expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow',
        Resource: smArn }]);
      expectNagClean(stack);
    });

    test('GIVEN analyseUploads THEN EventBridge notifications on the input bucket, a rule on uploads under the prefix, the function as target', () => {
      const { stack, batch, template: synth } = setup({ analyseUploads: true, batchWindow: Duration.minutes(5),
        output: { bucket: s3.Bucket.fromBucketName(new Stack(), 'O', 'my-results'), prefix: 'out/' } });
      const template = synth();
      // An imported bucket: CDK's notifications custom resource turns EventBridge on.
      template.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: 'my-images',
        NotificationConfiguration: { EventBridgeConfiguration: {} } });
      const fnArn = stack.resolve(batch.handlerFunction.functionArn);
      const rule = Object.values(template.findResources('AWS::Events::Rule'))[0];
      expect(rule.Properties.EventPattern).toEqual({ 'source': ['aws.s3'], 'detail-type': ['Object Created'],
        'detail': { bucket: { name: ['my-images'] }, object: { key: [{ prefix: 'incoming/' }] } } });
      const target = rule.Properties.Targets[0];
      expect(target.Arn).toEqual(fnArn);
      expect(target.InputTransformer.InputPathsMap).toEqual({ 'id': '$.id', 'detail-object-key': '$.detail.object.key' });
      expect(JSON.stringify(stack.resolve(target.InputTransformer.InputTemplate))).toContain('\\"waitSeconds\\":300');
      // EventBridge may invoke the function from this rule only.
      template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } });

      // The function may start this state machine and delete under windows/ only.
      const statements = statementsOf(template);
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'states:StartExecution', Resource: stack.resolve(batch.stateMachine.stateMachineArn) }));
      const deletes = statements.filter((st) => JSON.stringify(st.Action).includes('s3:DeleteObject'));
      expect(deletes).toHaveLength(1);
      expect(deletes[0].Action).toBe('s3:DeleteObject');
      expect(JSON.stringify(deletes[0].Resource)).toMatch(/:s3:::my-results\/out\/windows\/\*"\]/);

      // A window's run waits, collects, ends at once when empty, and maps over the window's list, not the prefix.
      const states = definitionOf(stack, template).States;
      expect(definitionOf(stack, template).StartAt).toBe('Trigger?');
      expect(states['WaitForUploads']).toEqual({ Type: 'Wait', SecondsPath: '$.window.waitSeconds', Next: 'CollectUploads' });
      expect(states['Uploads?'].Choices[0]).toEqual({ Variable: '$.collected.value.images', NumericEquals: 0, Next: 'NoUploads' });
      expect(states.AnalyseUploads.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket': 'my-results', 'Key.$': '$.collected.value.itemsKey' } });
      expect(states.Analyse.ItemReader.Resource).toBe('arn:aws:states:::s3:listObjectsV2');
      // The sweep also reopens a window for uploads a stopped run left behind.
      const sweep = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0];
      expect(JSON.stringify(stack.resolve(sweep.Properties.Target.Input))).toContain('waitSeconds');
      expectNagClean(stack);
    });

    test('GIVEN no triggers THEN neither a rule nor notifications nor a window in the definition', () => {
      const { stack, template: synth } = setup();
      const template = synth();
      template.resourceCountIs('AWS::Events::Rule', 0);
      template.resourceCountIs('Custom::S3BucketNotifications', 0);
      expect(definitionOf(stack, template).StartAt).toBe('ResolveVersion');
    });

    test('validation: batchWindow only with analyseUploads, from 1 minute to 24 hours', () => {
      expect(() => setup({ batchWindow: Duration.minutes(5) })).toThrow(/batchWindow applies only with analyseUploads: true, got: 5 minutes/);
      expect(() => setup({ analyseUploads: true, batchWindow: Duration.seconds(30) })).toThrow(/batchWindow must be from 1 minute to 24 hours, got: 30 seconds/);
      expect(() => setup({ analyseUploads: true, batchWindow: Duration.hours(25) })).toThrow(/batchWindow must be from 1 minute to 24 hours/);
    });
  });
});
