import { AccessControl, accessKeyOf, deniedMessage, MapDirectory } from '../../lib/iam/world';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/WorkflowRole`;
const BUCKET = 'data-bucket';
const allow = (Action: string | string[], Resource: string | string[], extra: Record<string, unknown> = {}) => ({
  Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource, ...extra }],
});

function world(policies: unknown[], resources: Record<string, unknown> = {}, bucketKeys: Record<string, string> = {}) {
  const access = new AccessControl({ accountId: ACCOUNT, region: 'us-east-1' });
  const directory = new MapDirectory();
  directory.roles.set(ROLE, { policies: policies.map((policy, i) => ({ name: `p${i}`, policy })), unknownManagedPolicies: [] });
  for (const [arn, policy] of Object.entries(resources)) directory.resources.set(arn, policy);
  for (const [bucket, key] of Object.entries(bucketKeys)) directory.bucketKeys.set(bucket, key);
  access.useDirectory(directory);
  const key = access.keyFor({ roleArn: ROLE, sessionName: 'my-function' });
  return { access, directory, caller: access.callerForKey(key)!, key };
}

describe('AccessControl', () => {
  it('gives each role session a stable access key and resolves it to the assumed-role session', () => {
    const { access, key } = world([]);
    expect(key).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(access.keyFor({ roleArn: ROLE, sessionName: 'my-function' })).toBe(key);
    expect(access.keyFor({ roleArn: ROLE, sessionName: 'other' })).not.toBe(key);
    expect(access.callerForKey(key)?.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/WorkflowRole/my-function`);
  });

  it('does not restrict callers whose key no role owns, unless a policy is given for them', async () => {
    const open = new AccessControl({ accountId: ACCOUNT, region: 'us-east-1' });
    expect(open.callerForKey('AKIDEXAMPLE')).toBeUndefined();
    await expect(open.check(undefined, { action: 'rekognition:CreateProject', resource: '*' })).resolves.toBeUndefined();

    const restricted = new AccessControl({ accountId: ACCOUNT, region: 'us-east-1',
      unknownCallerPolicy: allow('rekognition:DescribeProjects', '*') });
    const caller = restricted.callerForKey('AKIDEXAMPLE')!;
    await expect(restricted.check(caller, { action: 'rekognition:DescribeProjects', resource: '*' })).resolves.toBeUndefined();
    await expect(restricted.check(caller, { action: 'rekognition:CreateProject', resource: '*' })).rejects.toThrow(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/offline-user/AKIDEXAMPLE is not authorized to perform: rekognition:CreateProject `
      + 'because no identity-based policy allows the rekognition:CreateProject action');
  });

  it('allows what an identity policy allows, on the resources it names only', async () => {
    const { access, caller } = world([allow('s3:GetObject', `arn:aws:s3:::${BUCKET}/manifests/*`)]);
    await expect(access.check(caller, { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/manifests/a.manifest` })).resolves.toBeUndefined();
    await expect(access.check(caller, { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/images/a.png` })).rejects.toThrow(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/WorkflowRole/my-function is not authorized to perform: s3:GetObject on resource: `
      + `"arn:aws:s3:::${BUCKET}/images/a.png" because no identity-based policy allows the s3:GetObject action`);
  });

  it('reports an explicit deny of an identity policy and of a bucket policy, as AWS words them', async () => {
    const denyImages = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/images/*` }] };
    const { access, caller } = world([allow('s3:*', '*'), denyImages]);
    await expect(access.check(caller, { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/images/a.png` })).rejects.toThrow(
      'with an explicit deny in an identity-based policy');

    const bucketPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*',
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] };
    const other = world([allow('s3:*', '*')], { [`arn:aws:s3:::${BUCKET}`]: bucketPolicy });
    // Requests stand for the SDK's HTTPS calls: the TLS-only bucket policy lets them through...
    await expect(other.access.check(other.caller, { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/a` })).resolves.toBeUndefined();
    // ...and denies a plain-HTTP one.
    await expect(other.access.check(other.caller, { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/a`,
      context: { 'aws:SecureTransport': 'false' } })).rejects.toThrow('with an explicit deny in a resource-based policy');
  });

  it('needs a KMS key policy that allows the account (or the role) on top of the identity policy', async () => {
    const keyArn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const rootKeyPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*', Resource: '*' }] };
    const delegated = world([allow('kms:Decrypt', keyArn)], { [keyArn]: rootKeyPolicy });
    await expect(delegated.access.check(delegated.caller, { action: 'kms:Decrypt', resource: keyArn })).resolves.toBeUndefined();
    const noIdentity = world([], { [keyArn]: rootKeyPolicy });
    await expect(noIdentity.access.check(noIdentity.caller, { action: 'kms:Decrypt', resource: keyArn })).rejects.toThrow(
      'is not authorized to perform: kms:Decrypt on resource');
  });

  it('names the AWS managed policies it cannot read when it denies', async () => {
    const { access, directory, caller } = world([]);
    directory.roles.set(ROLE, { policies: [], unknownManagedPolicies: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] });
    await expect(access.check(caller, { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/a` })).rejects.toThrow(
      'the AWS managed policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess attached to');
  });

  it('reads the access key of SigV4 headers and presigned URLs', () => {
    expect(accessKeyOf({ authorization: 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x' }))
      .toBe('ASIAEXAMPLE');
    expect(accessKeyOf({}, '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQUERY%2F20261207%2Fus-east-1%2Fs3%2Faws4_request')).toBe('ASIAQUERY');
    expect(accessKeyOf({})).toBeUndefined();
  });

  it('leaves out "on resource" for actions without resource-level permissions', () => {
    expect(deniedMessage('arn:aws:sts::1:assumed-role/R/s', 'rekognition:DescribeProjects', '*', { explicit: false, policyType: 'identity' }))
      .toBe('User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: rekognition:DescribeProjects because no identity-based policy '
        + 'allows the rekognition:DescribeProjects action');
  });
});
