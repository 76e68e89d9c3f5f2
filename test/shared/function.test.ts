import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';

import { HandlerFunction } from '../../lib/shared/function';
import { expectNagClean } from './nag';

describe('HandlerFunction', () => {
  let stack: Stack;
  let template: Template;
  let fn: HandlerFunction;

  beforeAll(() => {
    // GIVEN a stack WHEN a handler function is added with a few options
    stack = new Stack(new App(), 'FnStack');
    fn = new HandlerFunction(stack, 'Fn', {
      handlerName: 'teardown',
      handler: 'index.isComplete',
      description: 'a test function',
      timeout: Duration.seconds(90),
      environment: { MODE: 'test' },
    });
    new HandlerFunction(stack, 'Defaults', { handlerName: 'teardown', description: 'defaults', logRetention: logs.RetentionDays.ONE_WEEK });
    template = Template.fromStack(stack);
  });

  test('runs the bundle on the latest Node.js runtime with the given handler, timeout, description and environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.isComplete',
      Timeout: 90,
      Description: 'a test function',
      MemorySize: 256,
      Architectures: ['arm64'],
      Environment: { Variables: { MODE: 'test' } },
      Runtime: Match.anyValue(),
      LoggingConfig: { LogGroup: { Ref: stack.getLogicalId(fn.logGroup.node.defaultChild as CfnElement) } },
    });
    const runtimes = Object.values(template.findResources('AWS::Lambda::Function')).map((r) => JSON.stringify(stack.resolve(r.Properties.Runtime)));
    for (const runtime of runtimes) expect(runtime).toMatch(/nodejs(2[4-9]|[3-9][0-9])\.x|LatestNodeRuntime/);
  });

  test('defaults: index.handler, one minute, logs kept a month unless told otherwise', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Timeout: 60, Description: 'defaults' });
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 1);
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 7 }, 1);
  });

  test('the role holds no managed policy, only log writes to its own log group', () => {
    const roleId = stack.getLogicalId(fn.role.node.defaultChild as CfnElement);
    const logGroupId = stack.getLogicalId(fn.logGroup.node.defaultChild as CfnElement);
    expect(template.findResources('AWS::IAM::Role')[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: [{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } }],
      },
    });
  });

  test('has no unacknowledged AwsSolutions findings', () => {
    expectNagClean(stack);
  });
});
