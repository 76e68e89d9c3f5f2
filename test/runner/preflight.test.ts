import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { App, CfnOutput, CfnResource, CustomResource, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as cr from 'aws-cdk-lib/custom-resources';
import { buildSync } from 'esbuild';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { LocalRunner } from '../../lib/runner/local-runner';
import { PreflightError } from '../../lib/runner/preflight';

const python = (stack: Stack, id: string): lambda.Function => new lambda.Function(stack, id, {
  runtime: lambda.Runtime.PYTHON_3_12, handler: 'index.handler', code: lambda.Code.fromInline('def handler(event, context):\n  return {}'),
});

// Each refusal: the deploy fails before anything is created (no stack state, not even the assets' bucket), and the
// message names the construct path a user knows, the resource type and what to do.
describe('refused before anything is created, by construct path', () => {
  let cloud: LocalCloud;
  let work: string;
  let runner: LocalRunner;

  beforeAll(async () => {
    cloud = await startLocalCloud({ timeScale: 0 });
  });
  afterAll(async () => cloud.stop());
  beforeEach(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
    runner = await LocalRunner.open({ stateDir: path.join(work, 'state'), cloud });
  });
  afterEach(async () => {
    await runner.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Synthesizes one stack built by `build`, deploys it, and returns the refusal (asserting nothing was created). */
  async function refusal(build: (stack: Stack) => void, props: StackProps = { env: { region: 'us-east-1' } }): Promise<PreflightError> {
    const outdir = path.join(work, 'cdk.out');
    const app = new App({ outdir });
    build(new Stack(app, 'Refusals', props));
    app.synth();
    const error = await runner.deploy(outdir).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightError);
    expect(runner.stackNames()).toEqual([]);
    expect((await cloud.s3.client().send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    return error as PreflightError;
  }

  test('a Docker image asset: named by the function that uses it', async () => {
    const docker = path.join(work, 'image');
    fs.mkdirSync(docker);
    fs.writeFileSync(path.join(docker, 'Dockerfile'), 'FROM public.ecr.aws/lambda/nodejs:22\n');
    const error = await refusal((stack) => new lambda.DockerImageFunction(stack, 'Detector', { code: lambda.DockerImageCode.fromImageAsset(docker) }));
    expect(error.message).toContain('  - Refusals/Detector/Resource (AWS::Lambda::Function): uses the Docker image asset Detector/AssetImage: '
      + 'Docker images cannot be built or run offline. Use a Node.js function from a folder');
  });

  test('a Python function a custom resource provider invokes', async () => {
    const error = await refusal((stack) => {
      const provider = new cr.Provider(stack, 'Provider', { onEventHandler: python(stack, 'OnEvent') });
      new CustomResource(stack, 'Thing', { serviceToken: provider.serviceToken });
    });
    expect(error.refusals).toEqual([expect.objectContaining({ path: 'Refusals/OnEvent/Resource', type: 'AWS::Lambda::Function',
      problem: 'runtime python3.12, invoked by the Provider framework of Refusals/Thing/Default: only Node.js functions run offline' })]);
  });

  test('a Python function a state machine task invokes', async () => {
    const error = await refusal((stack) => {
      new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.LambdaInvoke(stack, 'Score', { lambdaFunction: python(stack, 'Scorer') })) });
    });
    expect(error.message).toContain('  - Refusals/Scorer/Resource (AWS::Lambda::Function): runtime python3.12, invoked by state machine '
      + 'Refusals/Machine/Resource: only Node.js functions run offline.');
    // and nothing else: the task's lambda:invoke integration (its ARN built with the partition) runs offline
    expect(error.refusals).toHaveLength(1);
  });

  test('a Python function nothing invokes is recorded, not refused', async () => {
    const outdir = path.join(work, 'cdk.out');
    const app = new App({ outdir });
    python(new Stack(app, 'Recorded', { env: { region: 'us-east-1' } }), 'Idle');
    app.synth();
    const deployed = await runner.deploy(outdir);
    expect(deployed.stacks[0].status).toBe('CREATE_COMPLETE');
    expect(Object.values(deployed.stacks[0].resources).map((r) => r.type)).toContain('AWS::Lambda::Function');
    await runner.destroy();
  });

  test('a template transform', async () => {
    const error = await refusal((stack) => {
      stack.addTransform('AWS::Serverless-2016-10-31');
      new sqs.Queue(stack, 'Queue');
    });
    expect(error.refusals).toEqual([expect.objectContaining({ path: 'Refusals', type: 'AWS::CloudFormation::Stack',
      problem: 'the template needs the transform "AWS::Serverless-2016-10-31", which only CloudFormation can expand' })]);
  });

  test('a resource type CloudFormation does not know, with CloudFormation\'s own message', async () => {
    const error = await refusal((stack) => new CfnResource(stack, 'Widget', { type: 'Acme::Widget::Thing' }));
    expect(error.message).toContain('  - Refusals/Widget (Acme::Widget::Thing): Template format error: Unrecognized resource types: [Acme::Widget::Thing].');
  });

  test('Fn::GetAtt of an attribute the type does not have', async () => {
    const error = await refusal((stack) => {
      const queue = new sqs.Queue(stack, 'Queue');
      new ssm.StringParameter(stack, 'Url', { stringValue: Fn.getAtt((queue.node.defaultChild as CfnResource).logicalId, 'Endpoint').toString() });
    });
    expect(error.refusals).toEqual([expect.objectContaining({ path: 'Refusals/Url/Resource', type: 'AWS::SSM::Parameter',
      problem: expect.stringMatching(/^Template error: resource Queue[0-9A-F]{8} does not support attribute type Endpoint in Fn::GetAtt$/),
      fix: 'AWS::SQS::Queue has: Arn, QueueName, QueueUrl' })]);
  });

  test('an intrinsic the runner does not evaluate', async () => {
    const error = await refusal((stack) => new ssm.StringParameter(stack, 'Cidrs', { stringValue: Fn.join(',', Fn.cidr('10.0.0.0/16', 2, '8')) }));
    expect(error.message).toContain('  - Refusals/Cidrs/Resource (AWS::SSM::Parameter): Fn::Cidr (at Properties.Value.Fn::Join[1]) is not evaluated offline.');
  });

  test('an SNS-backed custom resource', async () => {
    const error = await refusal((stack) => new CustomResource(stack, 'Legacy', { serviceToken: new sns.Topic(stack, 'Requests').topicArn }));
    expect(error.message).toContain('  - Refusals/Legacy/Default (AWS::CloudFormation::CustomResource): an SNS-backed custom resource');
  });

  test('a stack for another Region than the offline world\'s', async () => {
    const error = await refusal((stack) => new sqs.Queue(stack, 'Queue'), { env: { region: 'eu-west-1' } });
    expect(error.refusals).toEqual([expect.objectContaining({ path: 'Refusals', problem: expect.stringContaining(
      'the stack is synthesized for aws://unknown-account/eu-west-1, and the offline world is account 123456789012 in us-east-1') })]);
  });

  test('an asset a command builds: named by the resource that uses it', async () => {
    const error = await refusal((stack) => {
      const built = stack.synthesizer.addFileAsset({ sourceHash: 'built-by-a-command', executable: ['node', 'build.js'],
        displayName: 'Refusals/Generated' });
      new ssm.StringParameter(stack, 'Where', { stringValue: built.objectKey });
    });
    expect(error.refusals).toEqual([expect.objectContaining({ path: 'Refusals/Where/Resource', type: 'AWS::SSM::Parameter',
      problem: 'uses the asset Refusals/Generated, which a command builds: the runner publishes files and folders only' })]);
  });

  test('a container image function a state machine invokes, and one whose code is an archive in a bucket', async () => {
    const error = await refusal((stack) => {
      const image = new lambda.DockerImageFunction(stack, 'Imaged', {
        code: lambda.DockerImageCode.fromEcr(ecr.Repository.fromRepositoryName(stack, 'Repo', 'scorers')) });
      const archived = new lambda.Function(stack, 'Archived', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler',
        code: lambda.Code.fromBucket(s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifacts'), 'scorer.zip') });
      new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.LambdaInvoke(stack, 'ByImage', { lambdaFunction: image }).next(new tasks.LambdaInvoke(stack, 'ByArchive', { lambdaFunction: archived }))) });
    });
    expect(error.message).toContain('  - Refusals/Imaged/Resource (AWS::Lambda::Function): a container image function, invoked by state machine '
      + 'Refusals/Machine/Resource: images cannot run offline.');
    expect(error.message).toContain('  - Refusals/Archived/Resource (AWS::Lambda::Function): its code is the archive scorer.zip, invoked by state machine '
      + 'Refusals/Machine/Resource: the runner runs code from a folder asset or inline code.');
  });

  test('state machine tasks with no offline service', async () => {
    const error = await refusal((stack) => {
      const queue = new sqs.Queue(stack, 'Queue');
      new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.SqsSendMessage(stack, 'Send', { queue, messageBody: sfn.TaskInput.fromText('done') })
          .next(new tasks.CallAwsService(stack, 'Put', { service: 'dynamodb', action: 'putItem', parameters: { TableName: 't' }, iamResources: ['*'] }))) });
    });
    expect(error.refusals.map((r) => [r.path, r.type])).toEqual([['Refusals/Machine/Resource', 'AWS::StepFunctions::StateMachine'],
      ['Refusals/Machine/Resource', 'AWS::StepFunctions::StateMachine']]);
    expect(error.message).toContain('its task States.Send calls arn:aws:states:::sqs:sendMessage, which has no offline service (it would go to AWS)');
    expect(error.message).toContain('its task States.Put calls aws-sdk:dynamodb, which has no offline service. The runner serves aws-sdk integrations of rekognition, s3, ssm');
    expect(error.message.split('\n')).toHaveLength(3);
  });

  test('a custom resource whose function is not in the app', async () => {
    const error = await refusal((stack) => new CustomResource(stack, 'Elsewhere', {
      serviceToken: 'arn:aws:lambda:us-east-1:123456789012:function:shared-provider' }));
    expect(error.refusals).toEqual([expect.objectContaining({ path: 'Refusals/Elsewhere/Default', type: 'AWS::CloudFormation::CustomResource',
      problem: 'its ServiceToken arn:aws:lambda:us-east-1:123456789012:function:shared-provider is not a function of this app' })]);
  });

  test('a SAM type without its transform', async () => {
    const error = await refusal((stack) => new CfnResource(stack, 'Api', { type: 'AWS::Serverless::Function', properties: { Runtime: 'nodejs22.x' } }));
    expect(error.message).toContain('  - Refusals/Api (AWS::Serverless::Function): the type needs the transform AWS::Serverless-2016-10-31, '
      + 'which only CloudFormation can expand.');
  });

  test('Fn::GetStackOutput from another Region, and an output reading an attribute the type does not have', async () => {
    const error = await refusal((stack) => {
      new CfnResource(stack, 'Remote', { type: 'AWS::SSM::Parameter', properties: { Type: 'String',
        Value: { 'Fn::GetStackOutput': { StackName: 'Models', OutputName: 'Arn', Region: 'eu-west-1' } } } });
      const queue = new sqs.Queue(stack, 'Queue');
      new CfnOutput(stack, 'Endpoint', { value: Fn.getAtt((queue.node.defaultChild as CfnResource).logicalId, 'Endpoint').toString() });
    });
    expect(error.refusals.map((r) => [r.path, r.type])).toEqual([['Refusals/Remote', 'AWS::SSM::Parameter'], ['Refusals/Endpoint', 'Output']]);
    expect(error.refusals[0].problem).toBe('Fn::GetStackOutput reads another account or Region, and the offline world is one account in one Region');
    expect(error.refusals[1].problem).toMatch(/^Template error: resource Queue[0-9A-F]{8} does not support attribute type Endpoint in Fn::GetAtt$/);
  });

  test('a stack for another account than the offline world\'s', async () => {
    const error = await refusal((stack) => new sqs.Queue(stack, 'Queue'), { env: { account: '111111111111', region: 'us-east-1' } });
    expect(error.message).toContain('  - Refusals (AWS::CloudFormation::Stack): the stack is synthesized for aws://111111111111/us-east-1, '
      + 'and the offline world is account 123456789012 in us-east-1');
  });

  test('every refusal of an app at once, one line each', async () => {
    const error = await refusal((stack) => {
      new CfnResource(stack, 'Widget', { type: 'Acme::Widget::Thing' });
      new CfnOutput(stack, 'Nothing', { value: Fn.getAtt('Widget', 'Arn').toString() });
      const provider = new cr.Provider(stack, 'Provider', { onEventHandler: python(stack, 'OnEvent') });
      new CustomResource(stack, 'Thing', { serviceToken: provider.serviceToken });
    });
    expect(error.refusals.map((r) => r.path)).toEqual(['Refusals/Widget', 'Refusals/OnEvent/Resource']);
    expect(error.message.split('\n')[0]).toBe('The app cannot run offline, so nothing was deployed:');
  });
});

describe('recorded, not refused', () => {
  let work: string;
  beforeEach(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorded-')); });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  test('a topic: a function publishing to it fails offline with UnknownOperationException', async () => {
    // GIVEN a topic and a Node.js function that publishes to it with the AWS SDK, bundled as a user's build would
    const code = path.join(work, 'publisher');
    buildSync({ stdin: { contents: `import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
export async function handler() { return new SNSClient({}).send(new PublishCommand({ TopicArn: process.env.TOPIC_ARN, Message: 'hello' })); }`,
    loader: 'ts', resolveDir: path.resolve(__dirname, '..', '..') }, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    outfile: path.join(code, 'index.js'), logLevel: 'error' });
    const outdir = path.join(work, 'cdk.out');
    // Construct paths recorded as `cdk synth` records them
    const app = new App({ outdir, context: { 'aws:cdk:enable-path-metadata': true } });
    const stack = new Stack(app, 'Recorded', { env: { region: 'us-east-1' } });
    const topic = new sns.Topic(stack, 'Alerts');
    const publisher = new lambda.Function(stack, 'Publisher', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler',
      code: lambda.Code.fromAsset(code), environment: { TOPIC_ARN: topic.topicArn } });
    topic.grantPublish(publisher);
    new CfnOutput(stack, 'Function', { value: publisher.functionName });
    app.synth();
    const cloud = await startLocalCloud({ timeScale: 0 });
    const runner = await LocalRunner.open({ stateDir: path.join(work, 'state'), cloud });
    try {
      const [deployed] = (await runner.deploy(outdir)).stacks;
      expect(deployed.recordedOnly.map((id) => deployed.resources[id].type)).toContain('AWS::SNS::Topic');
      // WHEN the function is invoked THEN its SDK call gets the runner's answer (in the XML SNS's SDK reads): nothing reaches AWS
      const error = await runner.invoke(deployed.outputs.Function, {}).then(() => undefined, (e: Error) => e);
      expect(error).toMatchObject({ name: 'UnknownOperationException',
        message: 'The offline runner does not serve sns:Publish: nothing offline stands behind this service (its resources are only recorded)' });
      // The same function by <stack>/<logical id> or its construct path; an unknown one names the functions deployed
      const logicalId = Object.keys(deployed.resources).find((id) => deployed.resources[id].type === 'AWS::Lambda::Function')!;
      await expect(runner.invoke(`Recorded/${logicalId}`, {})).rejects.toMatchObject({ name: 'UnknownOperationException' });
      await expect(runner.invoke('Recorded/Publisher', {})).rejects.toMatchObject({ name: 'UnknownOperationException' });
      await expect(runner.invoke('Publisher', {})).rejects.toThrow(`Function not found: Publisher. Deployed: Recorded/Publisher (${deployed.outputs.Function})`);
    } finally {
      await runner.close();
      await cloud.stop();
    }
  });
});
