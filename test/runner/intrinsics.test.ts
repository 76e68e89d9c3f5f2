import { IntrinsicError, IntrinsicResolver, ResolveContext } from '../../lib/runner/intrinsics';

const physical: Record<string, string> = { Bucket: 'my-bucket-1', Project: 'arn:aws:rekognition:us-east-1:123456789012:project/p/1' };
const attributes: Record<string, Record<string, unknown>> = { Bucket: { Arn: 'arn:aws:s3:::my-bucket-1' }, Model: { 'Outputs.Version': 'v1' } };

function resolver(extra: Partial<ResolveContext> = {}): IntrinsicResolver {
  return new IntrinsicResolver({
    stackName: 'Demo',
    parameters: { Env: 'prod', Sizes: ['1', '2', '3'] },
    conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
      IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
      Both: { 'Fn::And': [{ Condition: 'IsProd' }, { 'Fn::Equals': ['a', 'a'] }] },
      Either: { 'Fn::Or': [{ Condition: 'IsDev' }, { Condition: 'IsProd' }] },
      Loop: { 'Fn::Not': [{ Condition: 'Loop' }] },
    },
    mappings: { Sizes: { prod: { units: 2 } } },
    resourceIds: new Set(['Bucket', 'Project', 'Model', 'Pending']),
    ref: (id) => physical[id],
    getAtt: (id, attr) => attributes[id]?.[attr],
    ...extra,
  });
}

describe('IntrinsicResolver', () => {
  const r = resolver();
  const at = 'Resources.X.Properties.P';

  test('Ref: resources, parameters and pseudo parameters', () => {
    expect(r.resolve({ Ref: 'Bucket' }, at)).toBe('my-bucket-1');
    expect(r.resolve({ Ref: 'Env' }, at)).toBe('prod');
    expect(r.resolve(['AWS::AccountId', 'AWS::Region', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName'].map((Ref) => ({ Ref })), at))
      .toEqual(['123456789012', 'us-east-1', 'aws', 'amazonaws.com', 'Demo']);
    expect(r.resolve({ Ref: 'AWS::StackId' }, at)).toMatch(/^arn:aws:cloudformation:us-east-1:123456789012:stack\/Demo\//);
    expect(resolver({ accountId: '111122223333', region: 'eu-west-1' }).resolve({ 'Fn::Sub': '${AWS::AccountId}/${AWS::Region}' }, at))
      .toBe('111122223333/eu-west-1');
  });

  test('AWS::NoValue removes the property or list item that holds it', () => {
    const value = { Keep: 1, Drop: { Ref: 'AWS::NoValue' }, List: ['a', { 'Fn::If': ['IsDev', 'b', { Ref: 'AWS::NoValue' }] }] };
    expect(r.resolve(value, at)).toEqual({ Keep: 1, List: ['a'] });
  });

  test('Ref errors name the target and the path', () => {
    expect(() => r.resolve({ Ref: 'Nope' }, at)).toThrow(`Ref to "Nope", which is neither a parameter nor a resource at ${at}.Ref`);
    expect(() => r.resolve({ Ref: 'Pending' }, at)).toThrow('Ref to resource "Pending", which has no physical id yet');
  });

  test('Fn::GetAtt: list form, string form, attribute with dots', () => {
    expect(r.resolve({ 'Fn::GetAtt': ['Bucket', 'Arn'] }, at)).toBe('arn:aws:s3:::my-bucket-1');
    expect(r.resolve({ 'Fn::GetAtt': 'Bucket.Arn' }, at)).toBe('arn:aws:s3:::my-bucket-1');
    expect(r.resolve({ 'Fn::GetAtt': 'Model.Outputs.Version' }, at)).toBe('v1');
    expect(() => r.resolve({ 'Fn::GetAtt': ['Bucket', 'DomainName'] }, at)).toThrow('resource "Bucket" has no attribute "DomainName"');
  });

  test('Fn::Join and Fn::Split', () => {
    expect(r.resolve({ 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 's3', '', '', { Ref: 'Bucket' }]] }, at))
      .toBe('arn:aws:s3:::my-bucket-1');
    expect(r.resolve({ 'Fn::Join': ['-', { Ref: 'Sizes' }] }, at)).toBe('1-2-3');
    expect(r.resolve({ 'Fn::Split': [',', 'a,b,,c'] }, at)).toEqual(['a', 'b', '', 'c']);
    expect(() => r.resolve({ 'Fn::Join': [',', [{ a: 1 }]] }, at)).toThrow('Fn::Join needs a string, got {"a":1}');
  });

  test('Fn::Sub: string form, variable map form, attributes and ${!Literal} escapes', () => {
    expect(r.resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}/${Env}' }, at)).toBe('arn:aws:s3:::my-bucket-1/prod');
    expect(r.resolve({ 'Fn::Sub': ['${Name}-${Bucket.Arn}', { Name: { Ref: 'Env' } }] }, at)).toBe('prod-arn:aws:s3:::my-bucket-1');
    expect(r.resolve({ 'Fn::Sub': '${!Literal} and ${!AWS::Region}' }, at)).toBe('${Literal} and ${AWS::Region}');
    expect(() => r.resolve({ 'Fn::Sub': '${Missing}' }, at)).toThrow('Ref to "Missing", which is neither a parameter nor a resource');
  });

  test('Fn::Select, including over a resolved list, and out of range', () => {
    expect(r.resolve({ 'Fn::Select': ['1', { 'Fn::Split': ['/', 'a/b/c'] }] }, at)).toBe('b');
    expect(r.resolve({ 'Fn::Select': [0, { 'Fn::GetAZs': '' }] }, at)).toBe('us-east-1a');
    expect(() => r.resolve({ 'Fn::Select': [3, ['a']] }, at)).toThrow('Fn::Select index 3 is out of range for a list of 1');
  });

  test('conditions: Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition references', () => {
    expect(r.condition('IsProd')).toBe(true);
    expect(r.condition('IsDev')).toBe(false);
    expect(r.condition('Both')).toBe(true);
    expect(r.condition('Either')).toBe(true);
    expect(r.resolve({ 'Fn::If': ['IsProd', 'big', 'small'] }, at)).toBe('big');
    expect(r.resolve({ 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] }, at)).toBe(false);
    expect(r.evaluateCondition({ 'Fn::Equals': [5, '5'] }, at)).toBe(true);
    expect(() => r.condition('Loop')).toThrow('circular condition "Loop"');
    expect(() => r.condition('Absent')).toThrow('unknown condition "Absent"');
  });

  test('Fn::GetAZs, Fn::Base64, Fn::FindInMap', () => {
    expect(r.resolve({ 'Fn::GetAZs': { Ref: 'AWS::Region' } }, at)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(r.resolve({ 'Fn::Base64': { 'Fn::Sub': 'hi ${Env}' } }, at)).toBe(Buffer.from('hi prod').toString('base64'));
    expect(r.resolve({ 'Fn::FindInMap': ['Sizes', { Ref: 'Env' }, 'units'] }, at)).toBe(2);
    expect(() => r.resolve({ 'Fn::FindInMap': ['Sizes', 'dev', 'units'] }, at)).toThrow('Fn::FindInMap found nothing at Sizes.dev.units');
  });

  test('Fn::ImportValue and Fn::GetStackOutput ask the other stacks; unknown intrinsics fail with the intrinsic and the path', () => {
    expect(() => r.resolve({ 'Fn::ImportValue': 'SharedBucket' }, at)).toThrow('Fn::ImportValue needs the other stacks of the app at');
    const exports: Record<string, string> = { SharedBucket: 'bucket-1' };
    const outputs: Record<string, string> = { 'Producer.BucketName': 'bucket-2' };
    const linked = new IntrinsicResolver({ stackName: 'S', importValue: (n) => exports[n],
      stackOutput: (stack, output, region) => `${outputs[`${stack}.${output}`]}@${region}` });
    expect(linked.resolve({ 'Fn::Join': ['/', [{ 'Fn::ImportValue': 'SharedBucket' },
      { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'BucketName', Region: { Ref: 'AWS::Region' } } }]] }, at))
      .toBe('bucket-1/bucket-2@us-east-1');
    expect(() => r.resolve({ 'Fn::Transform': { Name: 'AWS::Include' } }, 'Resources.MyFn.Properties.Code'))
      .toThrow('unsupported intrinsic Fn::Transform at Resources.MyFn.Properties.Code');
    expect(() => r.resolve({ Nested: [{ 'Fn::Length': [1] }] }, 'Resources.MyFn.Properties'))
      .toThrow('unsupported intrinsic Fn::Length at Resources.MyFn.Properties.Nested[0]');
    let caught: unknown;
    try { r.resolve({ 'Fn::Cidr': ['10.0.0.0/16', 2, 8] }, at); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(IntrinsicError);
    expect((caught as IntrinsicError).path).toBe(at);
  });

  test('IAM policy "Condition" keys are plain data, not condition references', () => {
    const statement = { Effect: 'Allow', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } };
    expect(r.resolve(statement, at)).toEqual({ Effect: 'Allow', Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } });
  });
});
