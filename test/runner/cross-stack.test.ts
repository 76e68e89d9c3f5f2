import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { LocalDeployError, LocalRunner } from '../../lib/runner/local-runner';

type Json = Record<string, unknown>;

interface StackSpec {
  readonly template: Json;
  readonly dependsOn?: string[];
  /** Nested templates published as file assets: file name -> template. */
  readonly nested?: Record<string, Json>;
}

/** Writes a cloud assembly of several stacks (each with its asset manifest for nested templates). */
function writeAssembly(dir: string, stacks: Record<string, StackSpec>): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(stacks)) {
    fs.writeFileSync(path.join(dir, `${name}.template.json`), JSON.stringify(spec.template));
    const files: Record<string, Json> = {};
    for (const [file, template] of Object.entries(spec.nested ?? {})) {
      fs.writeFileSync(path.join(dir, file), JSON.stringify(template));
      files[file] = { source: { path: file, packaging: 'file' },
        destinations: { d: { bucketName: 'cdk-assets-${AWS::AccountId}-${AWS::Region}', objectKey: `${file}` } } };
    }
    fs.writeFileSync(path.join(dir, `${name}.assets.json`), JSON.stringify({ version: '55.0.0', files, dockerImages: {} }));
    artifacts[`${name}.assets`] = { type: 'cdk:asset-manifest', properties: { file: `${name}.assets.json` } };
    artifacts[name] = { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/us-east-1',
      properties: { templateFile: `${name}.template.json` }, dependencies: [...(spec.dependsOn ?? []), `${name}.assets`] };
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
  return dir;
}

const nestedUrl = (file: string): Json => ({ 'Fn::Sub': `https://s3.\${AWS::Region}.amazonaws.com/cdk-assets-\${AWS::AccountId}-\${AWS::Region}/${file}` });

describe('several stacks, offline', () => {
  let cloud: LocalCloud;
  let dir: string;
  let runner: LocalRunner;

  beforeAll(async () => {
    cloud = await startLocalCloud({ timeScale: 0 });
  });
  afterAll(async () => cloud.stop());
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cross-stack-'));
    runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud });
  });
  afterEach(async () => {
    await runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const producer = (value: string, exported = true): StackSpec => ({ template: {
    Resources: { Queue: { Type: 'AWS::SQS::Queue' }, Param: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: value } } },
    Outputs: {
      QueueArn: { Value: { 'Fn::GetAtt': ['Queue', 'Arn'] }, ...(exported ? { Export: { Name: 'Shared-QueueArn' } } : {}) },
      ParamName: { Value: { Ref: 'Param' } },
    },
  } });
  const consumer: StackSpec = { dependsOn: ['Producer'], template: {
    Resources: {
      Imported: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::ImportValue': 'Shared-QueueArn' } } },
      Weak: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String',
        Value: { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'ParamName', Region: 'us-east-1' } } } },
    },
  } };

  test('stacks deploy in dependency order; Fn::ImportValue and Fn::GetStackOutput read the other stack; an export in use cannot go', async () => {
    // GIVEN a producer exporting its queue's ARN and a consumer importing it (strong) and reading an output (weak)
    const app = writeAssembly(path.join(dir, 'v1'), { Consumer: consumer, Producer: producer('a') });
    const deployed = await runner.deploy(app);
    // THEN the producer went first, and the consumer resolved both references
    expect(deployed.stacks.map((s) => s.stackName)).toEqual(['Producer', 'Consumer']);
    const queueArn = deployed.stacks[0].outputs.QueueArn;
    expect(queueArn).toMatch(/^arn:aws:sqs:us-east-1:123456789012:Producer-Queue-[A-Za-z0-9]{12}$/);
    const consumerState = runner.stackState('Consumer')!;
    expect(consumerState.resources.Imported.properties.Value).toBe(queueArn);
    expect(consumerState.resources.Weak.properties.Value).toBe(deployed.stacks[0].outputs.ParamName);

    // WHEN the producer's next version changes the exported value THEN the update is refused and rolled back
    const changed = writeAssembly(path.join(dir, 'v2'), { Producer: { template: { ...producer('a').template,
      Outputs: { QueueArn: { Value: 'something-else', Export: { Name: 'Shared-QueueArn' } }, ParamName: { Value: { Ref: 'Param' } } } } } });
    await expect(runner.deploy(changed)).rejects.toThrow('Stack Producer UPDATE_ROLLBACK_COMPLETE: Producer failed: '
      + 'Export Shared-QueueArn cannot be updated as it is in use by Consumer');
    // AND a version without the export is refused too
    const dropped = writeAssembly(path.join(dir, 'v3'), { Producer: producer('a', false) });
    await expect(runner.deploy(dropped)).rejects.toThrow('Export Shared-QueueArn cannot be deleted as it is in use by Consumer');

    // WHEN the producer alone is destroyed THEN CloudFormation's refusal: nothing is deleted
    const refused = await runner.destroy({ stacks: ['Producer'], exclusively: true }).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(LocalDeployError);
    expect((refused as Error).message).toContain('Delete canceled. Cannot delete export Shared-QueueArn as it is in use by Consumer.');
    expect(runner.stackState('Producer')?.resources.Queue).toBeDefined();

    // WHEN everything is destroyed THEN the consumer goes first
    const destroyed = await runner.destroy();
    expect(destroyed.stacks.map((s) => s.stackName)).toEqual(['Consumer', 'Producer']);
    expect(runner.stackNames()).toEqual([]);
  });

  test('an export name two stacks give is refused, as CloudFormation refuses it', async () => {
    const twin = (name: string): StackSpec => ({ template: { Resources: { P: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: name } } },
      Outputs: { V: { Value: { Ref: 'P' }, Export: { Name: 'Same' } } } } });
    await expect(runner.deploy(writeAssembly(path.join(dir, 'twins'), { A: twin('a'), B: twin('b') })))
      .rejects.toThrow('Stack B ROLLBACK_COMPLETE: B failed: Export with name Same is already exported by stack A');
  });

  test('a weak reference to a stack that is not deployed fails that resource, and the stack rolls back', async () => {
    const weakOnly = { Resources: { Weak: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String',
      Value: { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'ParamName', Region: 'us-east-1' } } } } } };
    await expect(runner.deploy(writeAssembly(path.join(dir, 'weak'), { Consumer: { template: weakOnly } })))
      .rejects.toThrow('Stack Consumer ROLLBACK_COMPLETE: Weak failed: Stack with id Producer does not exist');
  });

  test('a nested stack is deployed from its template asset, its outputs read with Fn::GetAtt, updated and deleted with its parent', async () => {
    const child = (value: string): Json => ({
      Parameters: { Prefix: { Type: 'String' } },
      Resources: { Table: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] } },
        Topic: { Type: 'AWS::SNS::Topic' },
        P: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::Sub': `\${Prefix}-${value}` } } } },
      Outputs: { TableArn: { Value: { 'Fn::GetAtt': ['Table', 'Arn'] } }, TopicArn: { Value: { Ref: 'Topic' } }, Value: { Value: { 'Fn::GetAtt': ['P', 'Value'] } } },
    });
    const parent = (file: string, value: string): StackSpec => ({ nested: { [file]: child(value) }, template: {
      Resources: {
        Nested: { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: nestedUrl(file), Parameters: { Prefix: 'p' } } },
        Reader: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::GetAtt': ['Nested', 'Outputs.TableArn'] } } },
      },
      Outputs: { Value: { Value: { 'Fn::GetAtt': ['Nested', 'Outputs.Value'] } }, TopicArn: { Value: { 'Fn::GetAtt': ['Nested', 'Outputs.TopicArn'] } } },
    } });
    // WHEN the parent is deployed
    const first = await runner.deploy(writeAssembly(path.join(dir, 'n1'), { Parent: parent('child1.json', 'one') }));
    // THEN the nested stack exists under a generated name, and its outputs reached the parent
    const nestedName = runner.stackNames().find((n) => n.startsWith('Parent-Nested-'))!;
    expect(nestedName).toMatch(/^Parent-Nested-[A-Z0-9]{12}$/);
    expect(runner.stackState(nestedName)).toMatchObject({ parentStack: 'Parent', status: 'CREATE_COMPLETE' });
    expect(first.stacks[0].outputs.Value).toBe('p-one');
    expect(first.stacks[0].outputs.TopicArn).toMatch(new RegExp(`^arn:aws:sns:us-east-1:123456789012:${nestedName}-Topic-`));
    expect(runner.stackState('Parent')!.resources.Reader.properties.Value).toMatch(new RegExp(`^arn:aws:dynamodb:us-east-1:123456789012:table/${nestedName}-Table-`));
    expect(runner.stackState('Parent')!.resources.Nested.physicalId).toMatch(new RegExp(`^arn:aws:cloudformation:us-east-1:123456789012:stack/${nestedName}/`));
    // The recorded-only resources are named in the result
    expect(first.stacks[0].recordedOnly).toEqual([]);

    // WHEN the nested template changes THEN the nested stack is updated in place
    const second = await runner.deploy(writeAssembly(path.join(dir, 'n2'), { Parent: parent('child2.json', 'two') }));
    expect(second.stacks[0]).toMatchObject({ status: 'UPDATE_COMPLETE', updated: ['Nested'], outputs: { Value: 'p-two' } });
    expect(runner.stackState(nestedName)?.status).toBe('UPDATE_COMPLETE');

    // WHEN the parent is destroyed THEN the nested stack goes with it
    await runner.destroy();
    expect(runner.stackNames()).toEqual([]);
  });
});
