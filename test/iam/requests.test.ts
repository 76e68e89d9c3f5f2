import { rekognitionRequests, s3Access } from '../../lib/iam/requests';

const PROJECT = 'arn:aws:rekognition:us-east-1:123456789012:project/p/1700000000000';
const VERSION = `${PROJECT.replace(/\/\d+$/, '')}/version/v1/1700000000001`;
const TRAIN = `${PROJECT.replace(/\/\d+$/, '')}/dataset/train/1700000000002`;
const TEST = `${PROJECT.replace(/\/\d+$/, '')}/dataset/test/1700000000003`;

describe('rekognitionRequests', () => {
  it('authorizes each operation on the ARN the Service Authorization Reference names', () => {
    expect(rekognitionRequests('CreateProjectVersion', { ProjectArn: PROJECT })).toEqual([{ action: 'rekognition:CreateProjectVersion', resource: PROJECT }]);
    expect(rekognitionRequests('StartProjectVersion', { ProjectVersionArn: VERSION })).toEqual([{ action: 'rekognition:StartProjectVersion', resource: VERSION }]);
    expect(rekognitionRequests('DistributeDatasetEntries', { Datasets: [{ Arn: TRAIN }, { Arn: TEST }] })).toEqual([
      { action: 'rekognition:DistributeDatasetEntries', resource: TRAIN }, { action: 'rekognition:DistributeDatasetEntries', resource: TEST }]);
    expect(rekognitionRequests('CopyProjectVersion', { SourceProjectVersionArn: VERSION, DestinationProjectArn: PROJECT }).map((r) => r.resource))
      .toEqual([VERSION, PROJECT]);
  });

  it('uses * for operations without resource-level permissions, and leaves malformed ARNs to validation', () => {
    expect(rekognitionRequests('DescribeProjects', {})).toEqual([{ action: 'rekognition:DescribeProjects', resource: '*' }]);
    expect(rekognitionRequests('CreateProject', { ProjectName: 'p' })).toEqual([{ action: 'rekognition:CreateProject', resource: '*' }]);
    expect(rekognitionRequests('DescribeDataset', { DatasetArn: 'not-an-arn' })).toEqual([]);
  });
});

describe('s3Access', () => {
  const none = {};
  it('maps object requests', () => {
    expect(s3Access('GET', '/b/images/a.png', none).requests).toEqual([{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/images/a.png' }]);
    expect(s3Access('GET', '/b/a.png?versionId=3', none).requests[0].action).toBe('s3:GetObjectVersion');
    expect(s3Access('HEAD', '/b/a.png', none)).toMatchObject({ readsObject: true, bucket: 'b', key: 'a.png' });
    expect(s3Access('PUT', '/b/out/x.json', none)).toMatchObject({ writesObject: true, requests: [{ action: 's3:PutObject' }] });
    expect(s3Access('PUT', '/b/x', { 'x-amz-copy-source': '/src/a%20b.png' }).requests).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::b/x' }, { action: 's3:GetObject', resource: 'arn:aws:s3:::src/a b.png' }]);
    expect(s3Access('DELETE', '/b/x', none).requests[0].action).toBe('s3:DeleteObject');
    expect(s3Access('GET', '/b/x?tagging', none).requests[0].action).toBe('s3:GetObjectTagging');
  });

  it('maps bucket requests, multi-object deletes and the service root', () => {
    expect(s3Access('GET', '/b?list-type=2&prefix=a', none).requests).toEqual([{ action: 's3:ListBucket', resource: 'arn:aws:s3:::b',
      context: { 's3:prefix': 'a' } }]);
    expect(s3Access('GET', '/b?list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=1', none).requests[0].context)
      .toEqual({ 's3:prefix': 'a/b', 's3:delimiter': '/', 's3:max-keys': '1' });
    expect(s3Access('GET', '/b?list-type=2', none).requests).toEqual([{ action: 's3:ListBucket', resource: 'arn:aws:s3:::b' }]);
    expect(s3Access('HEAD', '/b', none).requests[0].action).toBe('s3:ListBucket');
    expect(s3Access('GET', '/b?location', none).requests[0].action).toBe('s3:GetBucketLocation');
    expect(s3Access('PUT', '/b', none).requests[0].action).toBe('s3:CreateBucket');
    expect(s3Access('DELETE', '/b', none).requests[0].action).toBe('s3:DeleteBucket');
    expect(s3Access('POST', '/b?delete', none, 'aws', ['k1', 'k2']).requests).toEqual([
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/k1' }, { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/k2' }]);
    expect(s3Access('GET', '/', none).requests).toEqual([{ action: 's3:ListAllMyBuckets', resource: '*' }]);
  });
});
