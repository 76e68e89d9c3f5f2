/**
 * The emulator and the local S3 authorize requests signed with a registered role's key, and Custom Labels reads and
 * writes S3 with that role's rights (reference §9a), through the real SDK clients.
 */
import { CreateDatasetCommand, CreateProjectCommand, CreateProjectVersionCommand, DescribeDatasetCommand, DescribeProjectVersionsCommand,
  RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { readDenied } from '../../../lib/emulator/rekognition/caller-access';
import { MapDirectory } from '../../../lib/iam/world';
import { classificationSamples } from '../../../lib/samples';
import { classificationLine, errorOf } from '../helpers';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/Caller`;
const BUCKET = 'caller-data';
const statement = (Action: string[], Resource: string[]) => ({ Effect: 'Allow', Action, Resource });
const REKOGNITION = statement(['rekognition:*'], ['*']);
const READ_ALL = statement(['s3:GetObject', 's3:GetBucketLocation', 's3:ListBucket'], [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`]);
const WRITE_OUTPUT = statement(['s3:PutObject'], [`arn:aws:s3:::${BUCKET}/output/*`]);

let cloud: LocalCloud;
let directory: MapDirectory;
let rekognition: RekognitionClient;
let s3: S3Client;
let admin: S3Client;

function grant(...statements: unknown[]): void {
  directory.roles.set(ROLE, { policies: [{ name: 'policy', policy: { Version: '2012-10-17', Statement: statements } }], unknownManagedPolicies: [] });
}

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: [BUCKET] });
  directory = new MapDirectory();
  cloud.access.useDirectory(directory);
  const credentials = { accessKeyId: cloud.access.keyFor({ roleArn: ROLE, sessionName: 'test' }), secretAccessKey: 'x', sessionToken: 'x' };
  rekognition = new RekognitionClient({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  s3 = new S3Client({ endpoint: cloud.s3Endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
  admin = cloud.s3.client();
  const samples = classificationSamples({ perLabel: 3, seed: 3 });
  await Promise.all(samples.map((s) => admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `images/${s.relPath}`, Body: s.bytes }))));
  const manifest = samples.map((s) => classificationLine(`s3://${BUCKET}/images/${s.relPath}`, s.labels[0])).join('\n');
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'manifests/train.manifest', Body: manifest }));
  const test = classificationSamples({ perLabel: 2, seed: 4 });
  await Promise.all(test.map((s) => admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `test/${s.relPath}`, Body: s.bytes }))));
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'manifests/test.manifest',
    Body: test.map((s) => classificationLine(`s3://${BUCKET}/test/${s.relPath}`, s.labels[0])).join('\n') }));
});

afterAll(async () => {
  rekognition.destroy();
  s3.destroy();
  admin.destroy();
  await cloud.stop();
});

async function datasetOutcome(projectName: string): Promise<{ status?: string; message?: string }> {
  const project = await rekognition.send(new CreateProjectCommand({ ProjectName: projectName }));
  const { DatasetArn } = await rekognition.send(new CreateDatasetCommand({ ProjectArn: project.ProjectArn, DatasetType: 'TRAIN',
    DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: 'manifests/train.manifest' } } } }));
  await cloud.emulator.idle();
  cloud.clock.advance(3600_000);
  const d = await rekognition.send(new DescribeDatasetCommand({ DatasetArn }));
  return { status: d.DatasetDescription?.Status, message: d.DatasetDescription?.StatusMessage };
}

describe('the emulator authorizes a registered role', () => {
  it('refuses an operation no policy allows with AccessDeniedException and AWS\'s message', async () => {
    grant(statement(['rekognition:DescribeProjects'], ['*']));
    const err = await errorOf(rekognition.send(new CreateProjectCommand({ ProjectName: 'denied' })));
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(`User: arn:aws:sts::${ACCOUNT}:assumed-role/Caller/test is not authorized to perform: rekognition:CreateProject `
      + 'because no identity-based policy allows the rekognition:CreateProject action');
  });

  it('imports a dataset when the role may read the manifest and every image', async () => {
    grant(REKOGNITION, READ_ALL);
    expect(await datasetOutcome('readable')).toMatchObject({ status: 'CREATE_COMPLETE' });
  });

  it('fails the import with the service\'s codes when the role may not read the manifest, or the images', async () => {
    grant(REKOGNITION, statement(['s3:GetBucketLocation'], [`arn:aws:s3:::${BUCKET}`]));
    expect(await datasetOutcome('no-manifest')).toEqual({ status: 'CREATE_FAILED', message: 'The S3 bucket permissions are incorrect.' });
    grant(REKOGNITION, statement(['s3:GetBucketLocation'], [`arn:aws:s3:::${BUCKET}`]),
      statement(['s3:GetObject'], [`arn:aws:s3:::${BUCKET}/manifests/*`]));
    expect(await datasetOutcome('no-images')).toEqual({ status: 'CREATE_FAILED', message: 'The permissions for the images S3 bucket are invalid.' });
  });

  it('fails the training when the role may not write the output, and trains when it may', async () => {
    grant(REKOGNITION, READ_ALL);
    const project = await rekognition.send(new CreateProjectCommand({ ProjectName: 'output' }));
    for (const type of ['TRAIN', 'TEST'] as const) {
      await rekognition.send(new CreateDatasetCommand({ ProjectArn: project.ProjectArn, DatasetType: type,
        DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: `manifests/${type.toLowerCase()}.manifest` } } } }));
      await cloud.emulator.idle();
      cloud.clock.advance(3600_000);
    }
    const train = async (name: string) => {
      await rekognition.send(new CreateProjectVersionCommand({ ProjectArn: project.ProjectArn, VersionName: name,
        OutputConfig: { S3Bucket: BUCKET, S3KeyPrefix: `output/${name}/` } }));
      await cloud.emulator.idle();
      cloud.clock.advance(24 * 3600_000);
      const d = await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: project.ProjectArn, VersionNames: [name] }));
      return { status: d.ProjectVersionDescriptions?.[0].Status, message: d.ProjectVersionDescriptions?.[0].StatusMessage };
    };
    expect(await train('no-write')).toEqual({ status: 'TRAINING_FAILED', message: 'Unable to write to output S3 bucket.' });
    grant(REKOGNITION, READ_ALL, WRITE_OUTPUT);
    expect(await train('writes')).toMatchObject({ status: 'TRAINING_COMPLETED' });
  });
});

describe('the local S3 authorizes a registered role', () => {
  it('answers 403 AccessDenied with AWS\'s message', async () => {
    grant(statement(['s3:PutObject'], [`arn:aws:s3:::${BUCKET}/output/*`]));
    const err = await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'manifests/train.manifest' })));
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toContain(`is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::${BUCKET}/manifests/train.manifest" `
      + 'because no identity-based policy allows the s3:GetObject action');
    await expect(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'output/ok.json', Body: '{}' }))).resolves.toBeDefined();
  });

  it('answers 403 for a missing object unless the role may list the bucket (then 404), as S3 does', async () => {
    grant(statement(['s3:GetObject'], [`arn:aws:s3:::${BUCKET}/*`]));
    const hidden = await errorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing.json' })));
    expect(hidden.$metadata?.httpStatusCode).toBe(403);
    grant(statement(['s3:GetObject'], [`arn:aws:s3:::${BUCKET}/*`]), statement(['s3:ListBucket'], [`arn:aws:s3:::${BUCKET}`]));
    const missing = await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing.json' })));
    expect(missing.name).toBe('NoSuchKey');
  });

  it('lists only the prefixes an s3:prefix condition allows; a missing object is then still a 403', async () => {
    grant(statement(['s3:GetObject'], [`arn:aws:s3:::${BUCKET}/*`]),
      { ...statement(['s3:ListBucket'], [`arn:aws:s3:::${BUCKET}`]), Condition: { StringEquals: { 's3:prefix': ['manifests/'] } } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'manifests/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(expect.arrayContaining(['manifests/train.manifest']));
    const other = await errorOf(s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'images/' })));
    expect(other.$metadata?.httpStatusCode).toBe(403);
    expect((await errorOf(s3.send(new ListObjectsV2Command({ Bucket: BUCKET })))).$metadata?.httpStatusCode).toBe(403);
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'manifests/missing' })))).$metadata?.httpStatusCode).toBe(403);
  });

  it('needs kms:Decrypt on a bucket encrypted with a customer key', async () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    directory.bucketKeys.set(BUCKET, key);
    directory.resources.set(key, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*', Resource: '*' }] });
    try {
      grant(READ_ALL);
      const err = await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'manifests/train.manifest' })));
      expect(err.message).toContain(`is not authorized to perform: kms:Decrypt on resource: ${key}`);
      grant(READ_ALL, statement(['kms:Decrypt'], [key]));
      await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'manifests/train.manifest' }))).resolves.toBeDefined();
    } finally {
      directory.bucketKeys.delete(BUCKET);
    }
  });
});

describe('reading as the caller, at scale', () => {
  test('deciding thousands of objects gives the event loop turns: the emulator answers other requests meanwhile', async () => {
    grant(REKOGNITION, READ_ALL);
    const caller = cloud.access.callerForKey(cloud.access.keyFor({ roleArn: ROLE, sessionName: 'scale' }))!;
    const objects = (n: number) => Array.from({ length: n }, (_, i) => ({ bucket: BUCKET, key: `images/${n}-${i}.png` }));
    // The policy engine's first calls load its data (real turns); the stretch that matters comes after.
    expect(await readDenied(cloud.access, caller, objects(300))).toBeUndefined();
    let turns = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    expect(await readDenied(cloud.access, caller, objects(2048))).toBeUndefined();
    done = true;
    // A turn per 256 decisions at least (none when the decisions ran in one stretch).
    expect(turns).toBeGreaterThanOrEqual(7);
  });
});
