/**
 * S3 → EventBridge → rules, offline: CDK's bucket notifications (run natively), S3's "Object Created" events from the
 * local S3, rules with content filters, Lambda targets allowed by their resource policy, state machine targets.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { LocalRunner } from '../../lib/runner/local-runner';
import { PreflightError } from '../../lib/runner/preflight';

// aws-cdk-lib's built-in CloudFormation validation takes seconds per synth and only warns.
process.env.CDK_VALIDATION = 'false';

type Json = Record<string, unknown>;
const CODE = 'exports.handler = async (event) => { require(\'fs\').appendFileSync(process.env.OUT, JSON.stringify(event) + \'\\n\'); };';
const IMPORTED = 'events-imported-bucket';

describe('S3 events through EventBridge rules', () => {
  let cloud: LocalCloud;
  let dir: string;
  let out: string;

  beforeAll(async () => {
    cloud = await startLocalCloud({ timeScale: 0, buckets: [IMPORTED] });
  });
  afterAll(async () => cloud.stop());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-bus-'));
    out = path.join(dir, 'events.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const received = (): Json[] => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json) : []);

  function synth(build: (stack: Stack) => void): string {
    const outdir = path.join(dir, `cdk.out-${Math.random().toString(36).slice(2)}`);
    const app = new App({ outdir });
    build(new Stack(app, 'Events', { env: { region: 'us-east-1' } }));
    app.synth();
    return outdir;
  }

  test('Object Created events reach the rules that match them; a target without permission gets nothing', async () => {
    const outdir = synth((stack) => {
      const bucket = new s3.Bucket(stack, 'Uploads', { eventBridgeEnabled: true });
      const quiet = new s3.Bucket(stack, 'Quiet');
      const imported = s3.Bucket.fromBucketName(stack, 'Imported', IMPORTED);
      imported.enableEventBridgeNotification();
      const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code: lambda.Code.fromInline(CODE),
        environment: { OUT: out } });
      new events.Rule(stack, 'Images', {
        eventPattern: { source: ['aws.s3'], detailType: ['Object Created'], detail: {
          bucket: { name: [bucket.bucketName, quiet.bucketName] },
          object: { key: events.Match.wildcard('incoming/*.jpg'), size: events.Match.greaterThan(2) },
        } },
        targets: [new targets.LambdaFunction(fn, { event: events.RuleTargetInput.fromObject({
          key: events.EventField.fromPath('$.detail.object.key'), reason: events.EventField.fromPath('$.detail.reason'), id: events.EventField.eventId }) })],
      });
      const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Done')) });
      new events.Rule(stack, 'Imports', {
        eventPattern: { source: ['aws.s3'], detail: { bucket: { name: [IMPORTED] }, object: { key: [{ 'anything-but': { prefix: 'tmp/' } }] } } },
        targets: [new targets.SfnStateMachine(machine)],
      });
      // A rule whose target function has no resource policy for it (CfnRule adds no AWS::Lambda::Permission).
      new events.CfnRule(stack, 'NoPermission', { eventPattern: { 'source': ['aws.s3'], 'detail-type': ['Object Created'],
        detail: { bucket: { name: [bucket.bucketName] } } }, targets: [{ id: 'fn', arn: fn.functionArn }] });
    });
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const deployed = await runner.deploy(outdir);
      // The function's permission decides which rule may invoke it: emulated, not "recorded only".
      expect(deployed.stacks[0].recordedOnly.map((id) => deployed.stacks[0].resources[id].type)).not.toContain('AWS::Lambda::Permission');
      const resources = runner.stackState('Events')!.resources;
      const bucket = Object.entries(resources).find(([id, r]) => id.startsWith('Uploads') && r.type === 'AWS::S3::Bucket')![1].physicalId;
      const quiet = Object.entries(resources).find(([id, r]) => id.startsWith('Quiet') && r.type === 'AWS::S3::Bucket')![1].physicalId;
      const admin = cloud.s3.client();
      const put = (b: string, key: string, body = 'some bytes'): Promise<unknown> => admin.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }));
      await put(bucket, 'incoming/a.jpg');
      await put(bucket, 'incoming/b.png');
      await put(bucket, 'other/c.jpg');
      await put(bucket, 'incoming/tiny.jpg', 'x');
      await admin.send(new CopyObjectCommand({ Bucket: bucket, Key: 'incoming/copy.jpg', CopySource: `${bucket}/incoming/a.jpg` }));
      // The same key in a bucket without EventBridge notifications: no event at all.
      await put(quiet, 'incoming/a.jpg');
      await put(IMPORTED, 'tmp/skip.csv');
      await put(IMPORTED, 'data/take.csv');
      await runner.settle();

      // Every write to a bucket with notifications is an event, with S3's fields.
      const busEvents = runner.busEvents();
      expect(busEvents.map((e) => (e.detail as { object: { key: string } }).object.key)).toEqual(
        ['incoming/a.jpg', 'incoming/b.png', 'other/c.jpg', 'incoming/tiny.jpg', 'incoming/copy.jpg', 'tmp/skip.csv', 'data/take.csv']);
      expect(busEvents[0]).toMatchObject({ 'version': '0', 'source': 'aws.s3', 'detail-type': 'Object Created', 'account': '123456789012',
        'region': 'us-east-1', 'resources': [`arn:aws:s3:::${bucket}`],
        'detail': { 'version': '0', 'bucket': { name: bucket }, 'object': { key: 'incoming/a.jpg', size: 10, etag: expect.stringMatching(/^[0-9a-f]{32}$/) },
          'reason': 'PutObject', 'requester': '123456789012', 'source-ip-address': '127.0.0.1', 'request-id': expect.any(String) } });
      expect(busEvents[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      // The Images rule: prefix, suffix and size; its input transformed.
      expect(received()).toEqual([
        { key: 'incoming/a.jpg', reason: 'PutObject', id: busEvents[0].id },
        { key: 'incoming/copy.jpg', reason: 'CopyObject', id: busEvents[4].id },
      ]);
      // The Imports rule started one execution, with the event as input.
      const executions = runner.executions();
      expect(executions).toHaveLength(1);
      expect(JSON.parse(executions[0].input)).toMatchObject({ detail: { object: { key: 'data/take.csv' } } });
      expect(executions[0].status).toBe('SUCCEEDED');
      // The rule without a permission: every delivery refused, as Lambda refuses EventBridge without a resource policy.
      const refused = runner.eventDeliveries().filter((d) => d.rule.startsWith('Events/NoPermission'));
      expect(refused).toHaveLength(5);
      expect(refused.every((d) => d.outcome === 'FAILED')).toBe(true);
      expect(refused[0].error).toMatch(/^AccessDeniedException: User: events.amazonaws.com is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:.+ because no resource-based policy allows the lambda:InvokeFunction action$/);
    } finally {
      await runner.destroy();
      await runner.close();
    }
  });

  test('the bucket notifications resource runs as its handler role: without s3:PutBucketNotification the deploy fails as the handler would', async () => {
    const outdir = synth((stack) => {
      new s3.Bucket(stack, 'Uploads', { eventBridgeEnabled: true });
      // Take the grant away from the handler's role.
      const policy = stack.node.findAll().find((c) => c instanceof CfnResource && c.cfnResourceType === 'AWS::IAM::Policy'
        && c.node.path.includes('Notifications')) as CfnResource;
      policy.addPropertyOverride('PolicyDocument.Statement.0.Action', 's3:GetBucketNotification');
    });
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      await expect(runner.deploy(outdir)).rejects.toThrow(/Received response status \[FAILED\] from custom resource\. Message returned: An error occurred \(AccessDenied\) when calling the PutBucketNotificationConfiguration operation: User: arn:aws:sts::123456789012:assumed-role\/.+ is not authorized to perform: s3:PutBucketNotification on resource: "arn:aws:s3:::.+" because no identity-based policy allows the s3:PutBucketNotification action/);
    } finally {
      await runner.destroy();
      await runner.close();
    }
  });

  test('notifications the offline world does not deliver, and rule targets it cannot reach, are refused up front', async () => {
    const outdir = synth((stack) => {
      const bucket = new s3.Bucket(stack, 'Uploads');
      const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code: lambda.Code.fromInline(CODE) });
      bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(fn));
      const queue = new sqs.Queue(stack, 'Queue');
      new events.Rule(stack, 'ToQueue', { eventPattern: { source: ['aws.s3'] }, targets: [new targets.SqsQueue(queue)] });
    });
    const runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
    try {
      const deploy = runner.deploy(outdir);
      await expect(deploy).rejects.toThrow(PreflightError);
      await expect(deploy).rejects.toThrow(/Events\/Uploads\/Notifications\/Resource \(Custom::S3BucketNotifications\): the bucket notifications LambdaFunctionConfigurations are not delivered offline/);
      await expect(deploy).rejects.toThrow(/Events\/ToQueue\/Resource \(AWS::Events::Rule\): its target AWS::SQS::Queue .+ is not one the offline event bus delivers to/);
    } finally {
      await runner.close();
    }
  });
});
