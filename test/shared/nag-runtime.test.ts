import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

import { CustomLabelsProject } from '../../lib';
import { HandlerFunction } from '../../lib/shared/function';
import { nagFindings } from './nag';

// aws-cdk-lib lists a Node.js runtime in Runtime.ALL releases before determineLatestNodeRuntime deploys it (2.278
// lists nodejs26.x and deploys nodejs24.x), and cdk-nag's AwsSolutions-L1 compares with the list: every function on the
// default runtime was flagged in a new user's app. Here a newer runtime is listed the same way (Runtime's constructor
// adds it to Runtime.ALL; jest gives this file its own module registry).
describe('AwsSolutions-L1 when aws-cdk-lib lists a Node.js runtime newer than its default', () => {
  const l1 = (stack: Stack): string[] => nagFindings(stack).filter((f) => f.includes('AwsSolutions-L1'));

  test('before: nothing to acknowledge; after: our functions and the Provider framework\'s are acknowledged, a function pinned to an old runtime is not', () => {
    const before = new Stack(new App(), 'Before', { env: { region: 'us-east-1' } });
    new HandlerFunction(before, 'Fn', { handlerName: 'gate', description: 'gate' });
    expect(l1(before)).toEqual([]);

    new lambda.Runtime('nodejs99.x', lambda.RuntimeFamily.NODEJS);
    const stack = new Stack(new App(), 'After', { env: { region: 'us-east-1' } });
    new HandlerFunction(stack, 'Fn', { handlerName: 'gate', description: 'gate' });
    new CustomLabelsProject(stack, 'Project', { projectName: 'runtime-check' });
    new lambda.Function(stack, 'Pinned', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = 1') });
    expect(l1(stack)).toEqual(['error AwsSolutions-L1 After/Pinned/Resource']);
  });
});
