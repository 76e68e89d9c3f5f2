import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { nameProperty, physicalFacts } from '../../lib/runner/physical-facts';
import { loadIndex, resourceSpecVersion, resourceTypeFacts, specCacheFile } from '../../lib/runner/resource-spec';

const where = { stackName: 'App', logicalId: 'Thing1234ABCD', region: 'us-east-1', accountId: '123456789012', partition: 'aws' };
const facts = (type: string) => {
  const f = resourceTypeFacts(type);
  if (!f) throw new Error(`no facts for ${type}`);
  return f;
};

describe('the resource database', () => {
  test('knows every CloudFormation type, including ones no code of ours names, and not made-up ones', () => {
    expect(facts('AWS::SQS::Queue')).toMatchObject({ ref: ['QueueUrl'], arnTemplate: 'arn:${Partition}:sqs:${Region}:${Account}:${QueueName}' });
    expect(Object.keys(facts('AWS::SQS::Queue').attributes).sort()).toEqual(['Arn', 'QueueName', 'QueueUrl']);
    expect(facts('AWS::DynamoDB::Table').replacing).toEqual(expect.arrayContaining(['TableName', 'KeySchema']));
    expect(facts('AWS::Serverless::Function').transform).toBe('AWS::Serverless-2016-10-31');
    expect(resourceTypeFacts('Acme::Widget::Thing')).toBeUndefined();
    expect(resourceSpecVersion()).toBe(JSON.parse(fs.readFileSync(require.resolve('@aws-cdk/aws-service-spec/package.json'), 'utf8')).version);
  });

  test('the derived index is cached per database version, and the cache gives the same facts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-cache-'));
    try {
      const derived = loadIndex({ fresh: true, cacheDir: dir });
      expect(fs.existsSync(specCacheFile(derived.version, dir))).toBe(true);
      const cached = loadIndex({ reload: true, cacheDir: dir });
      expect(cached.types['AWS::SNS::Topic']).toEqual(derived.types['AWS::SNS::Topic']);
      expect(Object.keys(cached.types).length).toBe(Object.keys(derived.types).length);
      expect(Object.keys(cached.types).length).toBeGreaterThan(1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('physicalFacts: what CloudFormation gives a resource', () => {
  test('a queue without a name: a generated name, its URL as Ref, its ARN from the template', () => {
    const queue = physicalFacts(where, 'AWS::SQS::Queue', facts('AWS::SQS::Queue'), {});
    expect(queue.name).toMatch(/^App-Thing1234ABCD-[A-Za-z0-9]{12}$/);
    expect(queue.physicalId).toBe(`https://sqs.us-east-1.amazonaws.com/123456789012/${queue.name}`);
    expect(queue.attributes).toEqual({ Arn: `arn:aws:sqs:us-east-1:123456789012:${queue.name}`, QueueName: queue.name, QueueUrl: queue.physicalId });
  });

  test('named resources keep their names; Ref is the name or the ARN, as the type says', () => {
    const table = physicalFacts(where, 'AWS::DynamoDB::Table', facts('AWS::DynamoDB::Table'), { TableName: 'detections' });
    expect(table).toMatchObject({ physicalId: 'detections', attributes: { Arn: 'arn:aws:dynamodb:us-east-1:123456789012:table/detections' } });
    const topic = physicalFacts(where, 'AWS::SNS::Topic', facts('AWS::SNS::Topic'), { TopicName: 'alerts' });
    expect(topic).toMatchObject({ physicalId: 'arn:aws:sns:us-east-1:123456789012:alerts', attributes: { TopicName: 'alerts' } });
    expect(nameProperty('AWS::SNS::Topic', facts('AWS::SNS::Topic'))).toBe('TopicName');
  });

  test('ARN templates with derived variables: a role\'s path, a parameter name without its leading slash', () => {
    const role = physicalFacts(where, 'AWS::IAM::Role', facts('AWS::IAM::Role'), { RoleName: 'runner', Path: '/service/' });
    expect(role.attributes.Arn).toBe('arn:aws:iam::123456789012:role/service/runner');
    const parameter = physicalFacts(where, 'AWS::SSM::Parameter', facts('AWS::SSM::Parameter'), { Name: '/app/serving', Type: 'String', Value: 'v' });
    expect(parameter).toMatchObject({ physicalId: '/app/serving',
      attributes: { Arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/app/serving', Type: 'String', Value: 'v' } });
  });

  test('an event rule on the default bus is referred to by its name; a KMS key by a UUID', () => {
    const rule = physicalFacts(where, 'AWS::Events::Rule', facts('AWS::Events::Rule'), { Name: 'nightly' });
    expect(rule.physicalId).toBe('nightly');
    expect(rule.attributes.Arn).toBe('arn:aws:events:us-east-1:123456789012:rule/nightly');
    const key = physicalFacts(where, 'AWS::KMS::Key', facts('AWS::KMS::Key'), {});
    expect(key.physicalId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(key.attributes).toEqual({ KeyId: key.physicalId, Arn: `arn:aws:kms:us-east-1:123456789012:key/${key.physicalId}` });
  });
});
