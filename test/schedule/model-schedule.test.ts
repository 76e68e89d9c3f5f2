import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';

import { BatchAnalysis, CustomLabelsModel, CustomLabelsProject, ModelSchedule, ModelScheduleProps, TrainingData } from '../../lib';
import { PropValidationError } from '../../lib/shared/validation';
import { expectNagClean, nagFindings } from '../shared/nag';
import { schedulesMissingPolicyDependencies } from '../shared/scheduler-dependencies';

const VERSION_ARN = 'arn:aws:rekognition:us-east-1:123456789012:project/shapes/version/model-1/1700000000000';
const OFFICE_HOURS = { start: 'cron(0 8 ? * MON-FRI *)', stop: 'cron(0 18 ? * MON-FRI *)' };

function setup(props: Partial<ModelScheduleProps> = {}): { stack: Stack; schedule: ModelSchedule; template: () => Template } {
  // The feature flags `cdk init` writes into a new app's cdk.json: findings that only they bring (e.g. KMS grants on
  // imported aliases) show here.
  const stack = new Stack(new App({ context: CURRENTLY_RECOMMENDED_FLAGS }), 'Schedule', { env: { region: 'us-east-1', account: '123456789012' } });
  const model = CustomLabelsModel.fromVersionArn(stack, 'Model', VERSION_ARN);
  const schedule = new ModelSchedule(stack, 'OfficeHours', { model, windows: [OFFICE_HOURS], ...props });
  return { stack, schedule, template: () => Template.fromStack(stack) };
}

const statementsOf = (template: Template): Array<Record<string, unknown>> => Object.values(template.findResources('AWS::IAM::Policy'))
  .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);

describe('ModelSchedule', () => {
  test('GIVEN office hours in Europe/Berlin and both guards THEN a start and a stop schedule in that zone, a guard every 5 minutes, all '
    + 'starting Control executions, cdk-nag clean', () => {
    const { stack, schedule, template: synth } = setup({ timeZone: 'Europe/Berlin', maxRunningTime: Duration.hours(12),
      dailyInferenceUnitHoursBudget: 24 });
    const template = synth();
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    expect(schedulesMissingPolicyDependencies(template)).toEqual({});
    const machine = stack.resolve(schedule.stateMachine.stateMachineArn);
    for (const [expression, action] of [[OFFICE_HOURS.start, 'start'], [OFFICE_HOURS.stop, 'stop']]) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: expression, ScheduleExpressionTimezone: 'Europe/Berlin',
        FlexibleTimeWindow: { Mode: 'OFF' }, Target: Match.objectLike({ Arn: machine, Input: JSON.stringify({ action }) }) });
    }
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({ Arn: machine, Input: '{"action":"guard"}' }) });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({
      VERSION_ARN, TIME_ZONE: 'Europe/Berlin', GUARD_SECONDS: '300', MAX_RUNNING_SECONDS: '43200', DAILY_BUDGET: '24', MIN_INFERENCE_UNITS: '1' }) } });
    // The default alarm topic is encrypted and refuses plain HTTP.
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const definition = JSON.stringify(stack.resolve(Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]
      .Properties.DefinitionString));
    for (const part of ['WaitForRunning', 'WaitForStopped', 'StopTimedOut', 'arn:aws:states:::sns:publish', 'PublishFailure']) expect(definition).toContain(part);
    expectNagClean(stack);
  });

  test('GIVEN no guard THEN only the window schedules; the scheduler\'s role may only start Control executions', () => {
    const { stack, schedule, template: synth } = setup({ windows: [OFFICE_HOURS, { start: 'cron(0 9 ? * SAT *)', stop: 'cron(0 12 ? * SAT *)' }] });
    const template = synth();
    template.resourceCountIs('AWS::Scheduler::Schedule', 4);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 9 ? * SAT *)', ScheduleExpressionTimezone: 'UTC' });
    const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({
      Principal: { Service: 'scheduler.amazonaws.com' } })] } } });
    const roleId = Object.keys(roles)[0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId));
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow',
      Resource: stack.resolve(schedule.stateMachine.stateMachineArn) }]);
    expectNagClean(stack);
  });

  test('least privilege: start and stop on the model\'s own version, documents only under leases/ and the ledger, batch leases only', () => {
    const stack = new Stack(new App(), 'Shared', { env: { region: 'us-east-1', account: '123456789012' } });
    const model = CustomLabelsModel.fromVersionArn(stack, 'Model', VERSION_ARN);
    const batch = new BatchAnalysis(stack, 'Batch', { model, input: { bucket: s3.Bucket.fromBucketName(stack, 'Images', 'images'), prefix: 'in/' },
      output: { bucket: s3.Bucket.fromBucketName(stack, 'Results', 'results'), prefix: 'out/' } });
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true, masterKey: undefined });
    new ModelSchedule(stack, 'OfficeHours', { model, windows: [OFFICE_HOURS], batchAnalyses: [batch], alarmTopic: topic, dailyInferenceUnitHoursBudget: 8 });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const statements = statementsOf(template);
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['rekognition:StartProjectVersion', 'rekognition:StopProjectVersion'],
      Resource: VERSION_ARN }));
    const text = JSON.stringify(statements);
    expect(text).toContain(':s3:::results/out/leases/*');
    expect(text).not.toContain(':s3:::results/*');
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['out/leases/*'] } } }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['leases/*', 'ledger.json'] } } }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: stack.resolve(topic.topicArn) }));
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({
      BATCH_LEASES: JSON.stringify([{ bucket: 'results', prefix: 'out/' }]) }) } });
    expect(nagFindings(stack).filter((f) => f.includes('Shared/OfficeHours/'))).toEqual([]);
  });

  test('GIVEN a CustomLabelsModel THEN each action reads the serving version from its parameter', () => {
    const stack = new Stack(new App(), 'Serving', { env: { region: 'us-east-1', account: '123456789012' } });
    const data = s3.Bucket.fromBucketName(stack, 'Data', 'data');
    const project = new CustomLabelsProject(stack, 'Project', { projectName: 'shapes' });
    const model = new CustomLabelsModel(stack, 'Model', { project, trainingData: TrainingData.fromS3Manifest(data, 'train.manifest') });
    const schedule = new ModelSchedule(stack, 'OfficeHours', { model, windows: [OFFICE_HOURS], maxInferenceUnits: 3 });
    const template = Template.fromStack(stack);
    const sm = template.toJSON().Resources[stack.getLogicalId(schedule.stateMachine.node.defaultChild as never)];
    expect(JSON.stringify(sm.Properties.DefinitionString)).toContain('aws-sdk:ssm:getParameter');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ MAX_INFERENCE_UNITS: '3',
      PROJECT_ARN: Match.anyValue() }) } });
    expect(nagFindings(stack).filter((f) => f.includes('Serving/OfficeHours/'))).toEqual([]);
  });

  test('validation names the prop, the index, the value and what is allowed, before any resource exists', () => {
    const bad = (props: Partial<ModelScheduleProps>): string => {
      try {
        setup(props);
        return '';
      } catch (e) {
        expect(e).toBeInstanceOf(PropValidationError);
        return (e as Error).message;
      }
    };
    expect(bad({ windows: [OFFICE_HOURS, { start: 'cron(0 8 * * MON-FRI *)', stop: 'cron(0 18 ? * MON-FRI)' }] })).toBe('Invalid props for '
      + 'Schedule/OfficeHours:\n'
      + '  - windows[1].start must be an EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week year), rate(value unit) '
      + 'or at(yyyy-mm-ddThh:mm:ss) (exactly one of day-of-month and day-of-week must be "?"), got: "cron(0 8 * * MON-FRI *)"\n'
      + '  - windows[1].stop must be an EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week year), rate(value unit) '
      + 'or at(yyyy-mm-ddThh:mm:ss) (cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got 5), got: "cron(0 18 ? * MON-FRI)"');
    expect(bad({ windows: [{ start: 'cron(0 25 ? * MON *)', stop: 'rate(1 hours)' }] })).toMatch(/windows\[0\]\.start .*hours field "25" is not valid.*\n.*windows\[0\]\.stop .*use "hour" for 1/);
    expect(bad({ windows: [{ start: 'at(2026-02-30T08:00:00)', stop: 'every day' }] })).toMatch(/do not exist.*\n.*\(not a cron\(\.\.\.\), rate\(\.\.\.\) or at\(\.\.\.\) expression\), got: "every day"/);
    expect(bad({ windows: [] })).toMatch(/windows must hold 1 to 50 windows, got 0/);
    expect(bad({ timeZone: 'Europe/Atlantis' })).toMatch(/timeZone must be an IANA time zone name .*got: "Europe\/Atlantis"/);
    expect(bad({ dailyInferenceUnitHoursBudget: 0 })).toMatch(/dailyInferenceUnitHoursBudget must be > 0, got: 0/);
    expect(bad({ minInferenceUnits: 2, maxInferenceUnits: 1 })).toMatch(/maxInferenceUnits must be an integer >= 2, got: 1/);
    expect(bad({ guardInterval: Duration.seconds(90) })).toMatch(/guardInterval must be whole minutes from 1 to 60, got: 1 minute 30 seconds/);
    expect(bad({ maxRunningTime: Duration.minutes(5) })).toMatch(/maxRunningTime must be at least twice guardInterval \(5 minutes\), got: 5 minutes/);
    // Valid forms pass.
    expect(bad({ windows: [{ start: 'cron(30 7 L * ? 2027)', stop: 'cron(0 18 ? JAN-MAR,OCT MON#1 *)' }, { start: 'at(2027-01-04T08:00:00)',
      stop: 'rate(1 day)' }, { start: 'cron(0/15 8-17 ? * 2-6 *)', stop: 'cron(0 20 15W * ? *)' }] })).toBe('');
  });
});
