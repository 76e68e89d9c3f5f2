import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { deploySummary, deployText, parseLocalArgs } from '../../lib/cli/local';
import { main } from '../../lib/cli/main';
import { ModelSummary } from '../../lib/runner/model-summary';
import { memoryIo as fakeIo } from './memory-io';


function writeAssembly(dir: string, resources: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'App.template.json'), JSON.stringify({ Resources: resources, Outputs: { Name: { Value: { Ref: 'Param' } } } }));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts: {
    App: { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/us-east-1', properties: { templateFile: 'App.template.json' } },
  } }));
}

describe('custom-labels local', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-local-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('parses its arguments and refuses bad ones with one line', () => {
    expect(parseLocalArgs(['deploy'], '/w')).toEqual({ action: 'deploy', app: '/w/cdk.out', stateDir: '/w/.custom-labels-local', parameters: {},
      stacks: undefined, buckets: [], verbose: false, iam: true, json: false, exclusively: false });
    // destroy takes the app and stack names as cdk destroy does; without --app it deletes what the state directory holds
    expect(parseLocalArgs(['destroy', '--app', 'out', 'ModelStack', 'AppStack', '--json'], '/w'))
      .toMatchObject({ action: 'destroy', app: '/w/out', stacks: ['ModelStack', 'AppStack'], json: true });
    expect(parseLocalArgs(['destroy'], '/w')).toMatchObject({ app: undefined, stacks: undefined });
    expect(parseLocalArgs(['deploy', '--no-iam'], '/w')).toMatchObject({ iam: false });
    expect(parseLocalArgs(['deploy', '--app', 'out', '--parameters', 'A=1=2', '--stack', 'S'], '/w'))
      .toMatchObject({ app: '/w/out', parameters: { A: '1=2' }, stacks: ['S'] });
    expect(parseLocalArgs(['--help'], '/w')).toBeUndefined();
    expect(() => parseLocalArgs(['launch'], '/w')).toThrow("unknown action 'launch': use 'local deploy' or 'local destroy'");
    expect(() => parseLocalArgs(['deploy', '--parameters', 'novalue'], '/w')).toThrow('--parameters takes KEY=VALUE, got: novalue');
    expect(() => parseLocalArgs(['destroy', '--parameters', 'A=1'], '/w')).toThrow('local destroy takes no --parameters');
    expect(parseLocalArgs(['deploy', '--bucket', 'my-images', '--bucket', 'my.results'], '/w')).toMatchObject({ buckets: ['my-images', 'my.results'] });
    expect(() => parseLocalArgs(['deploy', '--bucket', 'My_Images'], '/w')).toThrow('--bucket takes an S3 bucket name, got: My_Images');
    expect(() => parseLocalArgs(['destroy', '--bucket', 'b'], '/w')).toThrow('local destroy takes no --bucket');
  });

  test('a bucket the stack imports by name must exist, as in AWS: --bucket creates it in the local S3 first', async () => {
    // GIVEN a stack that puts a policy on a bucket it does not create (Bucket.fromBucketName + a grant to a service)
    writeAssembly(path.join(dir, 'cdk.out'), {
      Policy: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: 'my-images', PolicyDocument: { Version: '2012-10-17', Statement: [{
        Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::my-images/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] } } },
      Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'x' } },
    });
    // WHEN it is deployed before the bucket exists THEN it fails as in AWS
    const missing = fakeIo(dir);
    expect(await main(['local', 'deploy', '--state-dir', 'st'], missing)).toBe(1);
    expect(missing.err()).toContain('Policy failed: The specified bucket does not exist (Service: S3, Status Code: 404): my-images');
    // WHEN --bucket names it THEN it is created first and the deploy succeeds; again: it is there, nothing to create
    const io = fakeIo(dir);
    expect(await main(['local', 'deploy', '--state-dir', 'st', '--bucket', 'my-images'], io)).toBe(0);
    expect(io.err()).toContain('custom-labels local: created the bucket my-images in the local S3 (--bucket)');
    const again = fakeIo(dir);
    expect(await main(['local', 'deploy', '--state-dir', 'st', '--bucket', 'my-images'], again)).toBe(0);
    expect(again.err()).not.toContain('created the bucket');
  }, 60_000);

  test('deploy then destroy: JSON summaries on stdout, progress on stderr, state in the state dir', async () => {
    // GIVEN a synthesized app with an SSM parameter and a bucket that is retained
    writeAssembly(path.join(dir, 'cdk.out'), {
      Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'x' } },
      Bucket: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' },
    });
    // WHEN it is deployed with the defaults
    const deployIo = fakeIo(dir);
    const deployed = await main(['local', 'deploy', '--json'], deployIo);
    // THEN it succeeds and says what it did
    expect(deployed).toBe(0);
    type Summary = { stacks: { stackName: string; status: string; created: number; outputs: Record<string, string> }[] };
    const summary = JSON.parse(deployIo.out()) as Summary;
    expect(summary.stacks).toMatchObject([{ stackName: 'App', status: 'CREATE_COMPLETE', created: 2 }]);
    expect(summary.stacks[0].outputs.Name).toMatch(/^CFN-Param-/);
    expect(deployIo.err()).toContain('App | Param (AWS::SSM::Parameter) CREATE_COMPLETE');
    expect(JSON.parse(deployIo.out())).toMatchObject({ iam: 'enforced' });
    expect(fs.existsSync(path.join(dir, '.custom-labels-local', 'runner', 'state.json'))).toBe(true);

    // WHEN it is destroyed
    const destroyIo = fakeIo(dir);
    expect(await main(['local', 'destroy', '--no-iam', '--json'], destroyIo)).toBe(0);
    expect(destroyIo.err()).toContain('--no-iam: IAM is not enforced, so this run proves nothing about the permissions');
    // THEN the retained bucket is named (and --no-iam says, on stderr and in the summary, that IAM was not enforced)
    const destroyed = JSON.parse(destroyIo.out()) as { stacks: { deleted: number; retained: Record<string, string> }[] };
    expect(destroyed.stacks[0].deleted).toBe(1);
    expect(destroyed.stacks[0].retained.Bucket).toMatch(/^AWS::S3::Bucket app-bucket-/);
  }, 60_000);

  test('a failed deploy exits 1 with the reason; a missing assembly is a usage error', async () => {
    writeAssembly(path.join(dir, 'bad'), { Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::ImportValue': 'X' } } } });
    const io = fakeIo(dir);
    expect(await main(['local', 'deploy', '--app', 'bad', '--state-dir', 'st'], io)).toBe(1);
    expect(io.err()).toContain('custom-labels local deploy: Stack App ROLLBACK_COMPLETE: Param failed: No export named X found.');
    const missing = fakeIo(dir);
    expect(await main(['local', 'deploy', '--app', 'nothing-here'], missing)).toBe(2);
    expect(missing.err()).toContain("is not a cloud assembly (no manifest.json): run 'npx cdk synth' first");
  }, 60_000);

  test('destroy of a state directory that does not exist is an error that creates nothing', async () => {
    const io = fakeIo(dir);
    expect(await main(['local', 'destroy', '--state-dir', 'typo'], io)).toBe(2);
    expect(io.err()).toBe(`custom-labels local: no offline deployment in ${path.join(dir, 'typo')} (looked for `
      + `${path.join(dir, 'typo', 'runner', 'state.json')}): check --state-dir; nothing was destroyed\n`);
    expect(io.out()).toBe('');
    expect(fs.existsSync(path.join(dir, 'typo'))).toBe(false);
  });

  test('the default summary is for people: each stack, what was only recorded, and IAM; destroy --app STACK deletes that stack', async () => {
    writeAssembly(path.join(dir, 'cdk.out'), {
      Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'x' } },
      Queue: { Type: 'AWS::SQS::Queue' },
    });
    const io = fakeIo(dir);
    expect(await main(['local', 'deploy', 'App'], io)).toBe(0);
    expect(io.out().split('\n')).toEqual([
      'App: CREATE_COMPLETE (2 created, 0 updated, 0 replaced, 0 deleted; 0s virtual)',
      expect.stringMatching(/^ {2}output Name = CFN-Param-/),
      '  recorded only (nothing offline behind them): Queue (AWS::SQS::Queue)',
      'IAM: enforced',
      '',
    ]);
    const destroyIo = fakeIo(dir);
    expect(await main(['local', 'destroy', '--app', 'cdk.out', 'App'], destroyIo)).toBe(0);
    expect(destroyIo.out()).toBe('App: DELETE_COMPLETE (2 deleted)\nIAM: enforced\n');
  }, 60_000);

  test('each model in the summary: version name and ARN, F1, serving, running, virtual time, dollars; the same in JSON', () => {
    const model: ModelSummary = { stackName: 'Models', model: 'Models/Model', projectName: 'p', versionName: 'model-abc',
      versionArn: 'arn:aws:rekognition:us-east-1:123456789012:project/p/version/model-abc/1', status: 'RUNNING', f1: 0.9123,
      serving: true, running: true, workflowSeconds: 3725, dollars: 4.27 };
    const result = { events: [], stacks: [{ stackName: 'Models', status: 'CREATE_COMPLETE' as const, created: ['A'], updated: [], replaced: [], deleted: [],
      unchanged: [], outputs: {}, resources: {}, recordedOnly: [], virtualSeconds: 3725 }] };
    expect(deployText(result, [model], 'enforced').split('\n')).toEqual([
      'Models: CREATE_COMPLETE (1 created, 0 updated, 0 replaced, 0 deleted; 1h 02m 05s virtual)',
      'model Models/Model: version model-abc arn:aws:rekognition:us-east-1:123456789012:project/p/version/model-abc/1',
      '  F1 0.912, serving, running, workflow 1h 02m 05s virtual, meter $4.27',
      'IAM: enforced',
      '',
    ]);
    expect(deploySummary(result, [model], 'enforced')).toMatchObject({ models: [model], iam: 'enforced' });
  });
});
