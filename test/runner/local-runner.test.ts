import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { LocalDeployError, LocalRunner } from '../../lib/runner/local-runner';

type Json = Record<string, unknown>;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

// A user's custom resource on the CDK Provider framework: onEvent logs every request to a file; isComplete says
// "not yet" `Polls` times per request.
const USER_CODE = `
const fs = require('fs');
const polls = {};
exports.onEvent = async (event) => {
  fs.appendFileSync(process.env.EVENTS_FILE, JSON.stringify({ type: event.RequestType, id: event.PhysicalResourceId,
    props: event.ResourceProperties, old: event.OldResourceProperties }) + '\\n');
  if (event.RequestType === 'Delete') return {};
  if (event.ResourceProperties.Fail === 'yes') throw new Error('asked to fail');
  return { PhysicalResourceId: 'thing-' + event.ResourceProperties.Name, Data: { Echo: event.ResourceProperties.Value } };
};
exports.isComplete = async (event) => {
  polls[event.RequestId] = (polls[event.RequestId] || 0) + 1;
  if (polls[event.RequestId] <= Number(event.ResourceProperties.Polls || 0)) return { IsComplete: false };
  return { IsComplete: true, Data: { Polls: polls[event.RequestId] } };
};
exports.echo = async (event) => ({ got: event });
`;

function lambdaFunction(handler: string, environment: Json = {}): Json {
  return { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: USER_CODE }, Handler: handler, Runtime: 'nodejs20.x',
    Environment: { Variables: environment } } };
}

function providerResources(eventsFile: string): Record<string, Json> {
  return {
    UserOnEvent: lambdaFunction('index.onEvent', { EVENTS_FILE: eventsFile }),
    UserIsComplete: lambdaFunction('index.isComplete'),
    Waiter: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: JSON.stringify({
      StartAt: 'isComplete', States: { isComplete: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:x', End: true,
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 10, MaxAttempts: 3, BackoffRate: 1 }] } } }) } },
    Framework: { Type: 'AWS::Lambda::Function', Properties: {
      Code: { ZipFile: 'exports.onEvent = () => { throw new Error("the framework itself must not run offline"); };' },
      Handler: 'framework.onEvent', Runtime: 'nodejs20.x',
      Environment: { Variables: {
        USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': ['UserOnEvent', 'Arn'] },
        USER_IS_COMPLETE_FUNCTION_ARN: { 'Fn::GetAtt': ['UserIsComplete', 'Arn'] },
        WAITER_STATE_MACHINE_ARN: { Ref: 'Waiter' },
      } } } },
  };
}

/** Writes a one-stack cloud assembly. */
function writeAssembly(dir: string, template: Json): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Test.template.json'), JSON.stringify(template));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
    version: '55.0.0',
    artifacts: { Test: { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/us-east-1', properties: { templateFile: 'Test.template.json' } } },
  }));
  return dir;
}

describe('LocalRunner on hand-written templates', () => {
  let cloud: LocalCloud;
  let dir: string;
  let eventsFile: string;

  beforeAll(async () => {
    cloud = await startLocalCloud({ timeScale: 0 });
  });
  afterAll(async () => cloud.stop());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-runner-'));
    eventsFile = path.join(dir, 'events.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const requests = (): Json[] => (fs.existsSync(eventsFile) ? fs.readFileSync(eventsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json) : []);
  const thingTemplate = (thing: Json): Json => ({
    Resources: {
      Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'v1' } },
      Kept: { Type: 'AWS::SNS::Topic', DeletionPolicy: 'Retain' },
      ...providerResources(eventsFile),
      Thing: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::GetAtt': ['Framework', 'Arn'] }, ParamName: { Ref: 'Param' }, Polls: 2, ...thing } },
    },
    Outputs: { Echo: { Value: { 'Fn::GetAtt': ['Thing', 'Echo'] } }, ThingId: { Value: { Ref: 'Thing' } } },
  });

  test('custom resources get Create, Update (with old properties), replacement cleanup, rollback and Delete', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      // WHEN a stack with a Provider-framework custom resource is created
      const before = cloud.clock.now();
      const created = await runner.deploy(writeAssembly(path.join(dir, 'v1'), thingTemplate({ Name: 'a', Value: 'one' })));
      // THEN onEvent got a Create with every scalar as a string, isComplete was polled every 10 virtual seconds, outputs resolve
      expect(created.stacks[0]).toMatchObject({ status: 'CREATE_COMPLETE', outputs: { Echo: 'one', ThingId: 'thing-a' } });
      expect(requests()).toEqual([{ type: 'Create', props: expect.objectContaining({ Name: 'a', Value: 'one', Polls: '2' }) }]);
      expect(cloud.clock.now() - before).toBe(20_000);
      expect(runner.stackState('Test')?.resources.Thing.attributes).toEqual({ Echo: 'one', Polls: 3 });

      // WHEN the same template is deployed again: nothing is sent
      expect((await runner.deploy(path.join(dir, 'v1'))).stacks[0].status).toBe('NO_CHANGES');
      expect(requests()).toHaveLength(1);

      // WHEN a property changes (same physical id): an Update with the old properties, no Delete
      const updated = await runner.deploy(writeAssembly(path.join(dir, 'v2'), thingTemplate({ Name: 'a', Value: 'two' })));
      expect(updated.stacks[0]).toMatchObject({ status: 'UPDATE_COMPLETE', updated: ['Thing'], replaced: [], outputs: { Echo: 'two' } });
      expect(requests()[1]).toMatchObject({ type: 'Update', id: 'thing-a', props: { Value: 'two' }, old: { Value: 'one' } });

      // WHEN the handler returns a new physical id: the old one gets a Delete after the update (cleanup phase)
      const replaced = await runner.deploy(writeAssembly(path.join(dir, 'v3'), thingTemplate({ Name: 'b', Value: 'two' })));
      expect(replaced.stacks[0]).toMatchObject({ replaced: ['Thing'], outputs: { ThingId: 'thing-b' } });
      expect(requests().slice(2).map((r) => [r.type, r.id])).toEqual([['Update', 'thing-a'], ['Delete', 'thing-a']]);

      // WHEN an update fails: the deploy fails with the handler's message and the previous properties are sent back
      const failing = runner.deploy(writeAssembly(path.join(dir, 'v4'), thingTemplate({ Name: 'b', Value: 'three', Fail: 'yes' })));
      await expect(failing).rejects.toThrow('Stack Test UPDATE_ROLLBACK_COMPLETE: Thing failed: Received response status [FAILED] from custom resource. '
        + 'Message returned: asked to fail');
      expect(requests().slice(4)).toEqual([
        expect.objectContaining({ type: 'Update', id: 'thing-b', props: expect.objectContaining({ Fail: 'yes' }) }),
        expect.objectContaining({ type: 'Update', id: 'thing-b', props: expect.objectContaining({ Value: 'two' }), old: expect.objectContaining({ Fail: 'yes' }) }),
      ]);
      expect(runner.stackState('Test')).toMatchObject({ status: 'UPDATE_ROLLBACK_COMPLETE', outputs: { Echo: 'two', ThingId: 'thing-b' } });

      // WHEN the stack is destroyed: a Delete for the resource; the Retain topic is kept
      const destroyed = await runner.destroy();
      expect(requests().slice(6).map((r) => [r.type, r.id])).toEqual([['Delete', 'thing-b']]);
      expect(Object.keys(destroyed.stacks[0].retained)).toEqual(['Kept']);
      expect(runner.stackState('Test')).toBeUndefined();
    } finally {
      await runner.close();
    }
  });

  test('a wait condition nobody signals times out on the virtual clock and the create rolls back', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const before = cloud.clock.now();
      const app = writeAssembly(path.join(dir, 'wait'), { Resources: {
        Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
        Wait: { Type: 'AWS::CloudFormation::WaitCondition', Properties: { Handle: { Ref: 'Handle' }, Timeout: '900', Count: 1 } },
      } });
      const deploying = runner.deploy(app);
      await expect(deploying).rejects.toThrow('Stack Test ROLLBACK_COMPLETE: Wait failed: WaitCondition timed out. Received 0 conditions when expecting 1');
      expect(cloud.clock.now() - before).toBeGreaterThanOrEqual(900_000);
      expect(runner.stackState('Test')?.resources).toEqual({});
    } finally {
      await runner.close();
    }
  });

  test('a wait condition completes on a SUCCESS signal PUT to its handle URL, and fails on FAILURE with the reason', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const app = writeAssembly(path.join(dir, 'signal'), { Resources: {
        Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
      }, Outputs: { Url: { Value: { Ref: 'Handle' } } } });
      const url = (await runner.deploy(app)).stacks[0].outputs.Url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/wait-condition\/Test\/Handle\//);
      const put = await fetch(url, { method: 'PUT', body: JSON.stringify({ Status: 'FAILURE', UniqueId: 'x', Data: '', Reason: 'it broke' }) });
      expect(put.status).toBe(200);
      const withWait = writeAssembly(path.join(dir, 'signal2'), { Resources: {
        Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
        Wait: { Type: 'AWS::CloudFormation::WaitCondition', Properties: { Handle: { Ref: 'Handle' }, Timeout: '60' } },
      } });
      await expect(runner.deploy(withWait)).rejects.toThrow("Wait failed: WaitCondition received failed message: 'it broke' for uniqueId: x");
      expect((await fetch(`${url}x`, { method: 'PUT', body: '{}' })).status).toBe(404);
    } finally {
      await runner.close();
    }
  });

  test('a wait condition\'s Count, Handle or Timeout cannot be updated in place: the update fails and rolls back, as in CloudFormation', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      // GIVEN a handle that got its signal, and a wait condition on it
      const url = (await runner.deploy(writeAssembly(path.join(dir, 'w0'), { Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        Outputs: { Url: { Value: { Ref: 'Handle' } } } }))).stacks[0].outputs.Url;
      await fetch(url, { method: 'PUT', body: JSON.stringify({ Status: 'SUCCESS', UniqueId: 'a', Data: '', Reason: '' }) });
      const template = (timeout: string): Json => ({ Resources: {
        Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
        Wait: { Type: 'AWS::CloudFormation::WaitCondition', Properties: { Handle: { Ref: 'Handle' }, Timeout: timeout, Count: 1 } },
      }, Outputs: { Url: { Value: { Ref: 'Handle' } } } });
      await runner.deploy(writeAssembly(path.join(dir, 'w1'), template('600')));
      // WHEN only its Timeout changes THEN the update is refused and rolled back
      await expect(runner.deploy(writeAssembly(path.join(dir, 'w2'), template('900')))).rejects.toThrow(
        'Wait failed: Wait (AWS::CloudFormation::WaitCondition): Timeout does not support updates; give the wait condition a new logical id');
      expect(runner.stackState('Test')).toMatchObject({ status: 'UPDATE_ROLLBACK_COMPLETE' });
      expect(runner.stackState('Test')!.resources.Wait.properties.Timeout).toBe('600');
    } finally {
      await runner.close();
    }
  });

  test('what AWS refuses in a template is refused before anything is created, naming the resource and its construct path', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const slowWaiter = providerResources(eventsFile);
      // A Provider whose waiter polls for 2 hours (CDK's totalTimeout), longer than any custom resource may take.
      (slowWaiter.Waiter.Properties as Json).DefinitionString = JSON.stringify({ StartAt: 'isComplete', States: { isComplete: { Type: 'Task',
        Resource: 'arn:aws:lambda:us-east-1:123456789012:function:x', End: true,
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 30, MaxAttempts: 240, BackoffRate: 1 }] } } });
      const app = writeAssembly(path.join(dir, 'refused'), { Resources: {
        ...slowWaiter,
        Thing: { Type: 'Custom::Thing', Metadata: { 'aws:cdk:path': 'Test/Thing/Default' },
          Properties: { ServiceToken: { 'Fn::GetAtt': ['Framework', 'Arn'] }, Name: 'x' } },
        Quick: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::GetAtt': ['Framework', 'Arn'] }, Name: 'y', ServiceTimeout: '7200' } },
        Slow: { ...lambdaFunction('index.echo'), Metadata: { 'aws:cdk:path': 'Test/Slow/Resource' } },
        Wait: { Type: 'AWS::CloudFormation::WaitCondition', Properties: { Handle: 'h', Timeout: '86400' } },
      } });
      const template = JSON.parse(fs.readFileSync(path.join(app, 'Test.template.json'), 'utf8')) as { Resources: Record<string, Json> };
      (template.Resources.Slow.Properties as Json).Timeout = 901;
      fs.writeFileSync(path.join(app, 'Test.template.json'), JSON.stringify(template));

      const error = await runner.deploy(app).then(() => undefined, (e: unknown) => e as Error);
      expect(error?.message.split('\n')).toEqual([
        'Stack Test would be refused by AWS, so nothing was deployed:',
        expect.stringMatching(/^ {2}- Thing \(Test\/Thing\/Default\): its Provider framework can take 7206 s to answer \(a totalTimeout of 7200 s plus its handlers' 6 s\), more than the custom resource's ServiceTimeout of 3600 s/),
        '  - Quick: ServiceTimeout must be an integer from 1 to 3600 seconds, got: "7200"',
        '  - Slow (Test/Slow/Resource): 1 validation error detected: Value \'901\' at \'timeout\' failed to satisfy constraint: Member must have value less than or equal to 900',
        '  - Wait: WaitCondition Timeout must be 1..43200 seconds, got: "86400"',
      ]);
      expect(runner.stackState('Test')).toBeUndefined();
      expect(requests()).toEqual([]);
    } finally {
      await runner.close();
    }
  });

  test('a custom resource that answers with more than 4,096 bytes, or later than its ServiceTimeout, fails as CloudFormation fails it', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const big = writeAssembly(path.join(dir, 'big'), { Resources: { ...providerResources(eventsFile),
        Thing: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::GetAtt': ['Framework', 'Arn'] }, Name: 'x', Value: 'v'.repeat(5000) } } } });
      await expect(runner.deploy(big)).rejects.toThrow('Thing failed: Response object is too long.');

      // Polled every 10 s, three times: the answer comes after 20 s, past a ServiceTimeout of 15 s (a parameter: not seen before the deploy).
      const late = writeAssembly(path.join(dir, 'late'), { Parameters: { Timeout: { Type: 'Number', Default: '15' } }, Resources: {
        ...providerResources(eventsFile),
        Thing: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::GetAtt': ['Framework', 'Arn'] }, Name: 'x', Polls: 2,
          ServiceTimeout: { Ref: 'Timeout' } } } } });
      await expect(runner.deploy(late)).rejects.toThrow(/Thing failed: CloudFormation did not receive a response from your Custom Resource\. Please check your logs for requestId \[[0-9a-f-]+\]/);
    } finally {
      await runner.close();
    }
  });

  test('an import of an export no stack has fails the create and rolls back, as in CloudFormation', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const app = writeAssembly(path.join(dir, 'import'), { Resources: {
        P: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::ImportValue': 'SharedValue' } } },
      } });
      await expect(runner.deploy(app)).rejects.toThrow('Stack Test ROLLBACK_COMPLETE: P failed: No export named SharedValue found.');
    } finally {
      await runner.close();
    }
  });

  test('state machines run on the local Step Functions endpoint: waits move the clock, SSM and Lambda tasks work', async () => {
    // GIVEN a stack with a parameter, a function and a state machine using both
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const app = writeAssembly(path.join(dir, 'sfn'), { Resources: {
        Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'before' } },
        Echo: lambdaFunction('index.echo'),
        Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: { 'Fn::Join': ['', [
          '{"StartAt":"Pause","States":{"Pause":{"Type":"Wait","Seconds":300,"Next":"Put"},',
          '"Put":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:ssm:putParameter","Parameters":{"Name":"', { Ref: 'Param' },
          '","Value.$":"$.value","Overwrite":true},"ResultPath":null,"Next":"Call"},',
          '"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"', { 'Fn::GetAtt': ['Echo', 'Arn'] },
          '","Payload.$":"$"},"OutputPath":"$.Payload","End":true}}}',
        ]] } } },
      }, Outputs: { Machine: { Value: { Ref: 'Machine' } }, Param: { Value: { Ref: 'Param' } } } });
      const { outputs } = (await runner.deploy(app)).stacks[0];
      const sfn = new SFNClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials });
      const ssm = new SSMClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials });

      // WHEN an execution is started through the SDK
      const before = cloud.clock.now();
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.Machine, name: 'run-1', input: '{"value":"after"}' }));
      await runner.settle();

      // THEN it succeeded with the Lambda's output, the wait took 300 virtual seconds, and the parameter holds the new value
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '{}')).toEqual({ got: { value: 'after' } });
      expect(cloud.clock.now() - before).toBe(300_000);
      expect((await ssm.send(new GetParameterCommand({ Name: outputs.Param }))).Parameter?.Value).toBe('after');
      expect(runner.parameterValue(outputs.Param)).toBe('after');
      const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.Machine, statusFilter: 'SUCCEEDED' }));
      expect(listed.executions?.map((e) => e.name)).toEqual(['run-1']);
      // AND the service's errors come back by name
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.Machine, name: 'run-1', input: '{}' })))
        .rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
      await expect(ssm.send(new GetParameterCommand({ Name: 'nope' }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
    } finally {
      await runner.close();
    }
  });

  test('state survives the session: a new session updates what the last one deployed', async () => {
    // GIVEN a stack deployed by one session
    const stateDir = path.join(dir, 'state');
    const first = await LocalRunner.open({ stateDir, cloud });
    await first.deploy(writeAssembly(path.join(dir, 'v1'), thingTemplate({ Name: 'a', Value: 'one' })));
    await first.close();
    // WHEN another session deploys a change
    const second = await LocalRunner.open({ stateDir, cloud });
    try {
      const result = await second.deploy(writeAssembly(path.join(dir, 'v2'), thingTemplate({ Name: 'a', Value: 'two' })));
      // THEN it knew the physical ids: only the change was sent
      expect(result.stacks[0].updated).toEqual(['Thing']);
      expect(requests().map((r) => [r.type, r.id])).toEqual([['Create', undefined], ['Update', 'thing-a']]);
      expect(() => JSON.parse(fs.readFileSync(path.join(stateDir, 'runner', 'state.json'), 'utf8')) as unknown).not.toThrow();
    } finally {
      await second.close();
    }
  });

  test('a bucket is created in the local S3; deleting it while it holds objects fails as in CloudFormation', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      // GIVEN a stack with a bucket (generated lower-case name), holding one object
      const app = writeAssembly(path.join(dir, 'bucket'), { Resources: { Data: { Type: 'AWS::S3::Bucket' } },
        Outputs: { Name: { Value: { Ref: 'Data' } }, Arn: { Value: { 'Fn::GetAtt': ['Data', 'Arn'] } } } });
      const { outputs } = (await runner.deploy(app)).stacks[0];
      expect(outputs.Name).toMatch(/^test-data-[a-z0-9]{12}$/);
      expect(outputs.Arn).toBe(`arn:aws:s3:::${outputs.Name}`);
      await cloud.s3.client().send(new PutObjectCommand({ Bucket: outputs.Name, Key: 'x.txt', Body: 'x' }));
      // WHEN the stack is destroyed
      // THEN the delete fails, the stack is DELETE_FAILED and still holds the bucket
      await expect(runner.destroy()).rejects.toThrow('Stack Test DELETE_FAILED: Data failed: The bucket you tried to delete is not empty');
      expect(runner.stackState('Test')?.status).toBe('DELETE_FAILED');
      // AND once emptied, a second destroy removes it
      await cloud.s3.client().send(new DeleteObjectCommand({ Bucket: outputs.Name, Key: 'x.txt' }));
      await runner.destroy();
      await expect(cloud.s3.client().send(new HeadBucketCommand({ Bucket: outputs.Name }))).rejects.toMatchObject({ name: 'NotFound' });
    } finally {
      await runner.close();
    }
  });

  test('a failed stack create is reported as LocalDeployError with the resource and status', async () => {
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const app = writeAssembly(path.join(dir, 'bad'), { Resources: {
        ...providerResources(eventsFile),
        Thing: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::GetAtt': ['Framework', 'Arn'] }, Name: 'x', Fail: 'yes' } },
      } });
      const error = await runner.deploy(app).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocalDeployError);
      expect(error).toMatchObject({ stackName: 'Test', status: 'ROLLBACK_COMPLETE', logicalId: 'Thing' });
      // The framework answered the failed Create with its marker id: the rollback's Delete needs no call.
      expect(requests().map((r) => r.type)).toEqual(['Create']);
    } finally {
      await runner.close();
    }
  });
});
