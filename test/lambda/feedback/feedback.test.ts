/**
 * The feedback loop's function against the local S3, through the real SDK client signed as a role holding exactly
 * what FeedbackLoop grants it.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { feedback, FeedbackError } from '../../../lambda/feedback/feedback';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { FeedbackSettings, MergeResult, ReviewResult } from '../../../lib/feedback/contracts';
import { MapDirectory } from '../../../lib/iam/world';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/Feedback`;
const DATA = 'fb-data';
const REVIEW = 'fb-review';
const SETTINGS: FeedbackSettings = { reviewBucket: REVIEW, trainingBucket: DATA, trainingKey: 'manifests/train.manifest',
  mergedPrefix: 'feedback/', belowConfidence: 0.6, sampleShare: 0 };
const allow = (Action: string[], Resource: string[], Condition?: unknown) => ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });
// What FeedbackLoop grants (test/feedback/feedback-loop.test.ts checks the template has the same statements).
const POLICY = [
  allow(['s3:GetObject'], [`arn:aws:s3:::${DATA}/predictions/*`]),
  allow(['s3:PutObject'], [`arn:aws:s3:::${REVIEW}/reviews/*`]),
  allow(['s3:GetObject'], [`arn:aws:s3:::${REVIEW}/reviewed/*`]),
  allow(['s3:GetObject'], [`arn:aws:s3:::${DATA}/manifests/train.manifest`, `arn:aws:s3:::${DATA}/feedback/*`]),
  allow(['s3:PutObject'], [`arn:aws:s3:::${DATA}/feedback/*`]),
  allow(['s3:ListBucket'], [`arn:aws:s3:::${DATA}`], { StringEquals: { 's3:prefix': ['feedback/latest'] } }),
];

const human = (ref: string, label: string, date: string): string => JSON.stringify({ 'source-ref': `s3://${DATA}/images/${ref}`, 'label': 0,
  'label-metadata': { 'confidence': 1, 'class-name': label, 'human-annotated': 'yes', 'creation-date': date, 'type': 'groundtruth/image-classification',
    'job-name': 'x' } });
const predicted = (ref: string, label: string, confidence: number): string => JSON.stringify({ 'source-ref': `s3://${DATA}/images/${ref}`,
  'label': 0, 'label-metadata': { confidence, 'class-name': label, 'human-annotated': 'no', 'creation-date': '2026-02-01T00:00:00.000',
    'type': 'groundtruth/image-classification', 'job-name': 'batch' } });

let cloud: LocalCloud;
let s3: S3Client;
let admin: S3Client;

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: [DATA, REVIEW] });
  const directory = new MapDirectory();
  directory.roles.set(ROLE, { policies: [{ name: 'p', policy: { Version: '2012-10-17', Statement: POLICY } }], unknownManagedPolicies: [] });
  cloud.access.useDirectory(directory);
  const credentials = { accessKeyId: cloud.access.keyFor({ roleArn: ROLE, sessionName: 'fn' }), secretAccessKey: 'x', sessionToken: 'x' };
  s3 = new S3Client({ endpoint: cloud.s3Endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
  admin = cloud.s3.client();
  await admin.send(new PutObjectCommand({ Bucket: DATA, Key: 'manifests/train.manifest',
    Body: [human('a.png', 'cat', '2026-01-01T00:00:00.000'), human('b.png', 'dog', '2026-01-01T00:00:00.000')].join('\n') + '\n' }));
});

afterAll(async () => {
  s3.destroy();
  admin.destroy();
  await cloud.stop();
});

async function text(bucket: string, key: string): Promise<string> {
  return (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

test('GIVEN predictions THEN the low-confidence lines are left under reviews/ of the review bucket', async () => {
  await admin.send(new PutObjectCommand({ Bucket: DATA, Key: 'predictions/run-1/predictions.manifest',
    Body: [predicted('c.png', 'cat', 0.95), predicted('d.png', 'dog', 0.4)].join('\n') }));
  const r = await feedback({ predictions: `s3://${DATA}/predictions/run-1/predictions.manifest` }, SETTINGS, s3, 'exec-1') as ReviewResult;
  expect(r).toEqual({ action: 'select', reviewManifest: `s3://${REVIEW}/reviews/predictions/run-1/predictions.manifest`, images: 2,
    lowConfidence: 1, sampled: 0, skippedLines: 0 });
  expect(await text(REVIEW, 'reviews/predictions/run-1/predictions.manifest')).toBe(`${predicted('d.png', 'dog', 0.4)}\n`);
});

test('GIVEN reviews THEN each merge builds on the previous one, under a key named by its content; an unchanged merge keeps the key', async () => {
  await admin.send(new PutObjectCommand({ Bucket: REVIEW, Key: 'reviewed/1.manifest', Body: human('d.png', 'cat', '2026-03-01T00:00:00.000') }));
  const first = await feedback({ reviewed: [`s3://${REVIEW}/reviewed/1.manifest`] }, SETTINGS, s3, 'exec-2') as MergeResult;
  expect(first).toMatchObject({ action: 'merge', base: `s3://${DATA}/manifests/train.manifest`, changed: true, added: 1, replaced: 0, lines: 3 });
  expect(first.key).toMatch(/^feedback\/training-[0-9a-f]{16}\.manifest$/);
  expect(await text(DATA, 'feedback/latest')).toBe(first.key);

  await admin.send(new PutObjectCommand({ Bucket: REVIEW, Key: 'reviewed/2.manifest', Body: human('a.png', 'dog', '2026-03-02T00:00:00.000') }));
  const second = await feedback({ reviewed: `s3://${REVIEW}/reviewed/2.manifest` }, SETTINGS, s3, 'exec-3') as MergeResult;
  expect(second).toMatchObject({ base: `s3://${DATA}/${first.key}`, changed: true, added: 0, replaced: 1, lines: 3 });
  expect((await text(DATA, second.key)).split('\n')[0]).toBe(human('a.png', 'dog', '2026-03-02T00:00:00.000'));

  const again = await feedback({ reviewed: `s3://${REVIEW}/reviewed/2.manifest` }, SETTINGS, s3, 'exec-4') as MergeResult;
  expect(again).toMatchObject({ changed: false, key: second.key, replaced: 1 });
});

test('GIVEN bad input or a merge that would be invalid THEN it throws FeedbackError naming the problem, and writes nothing', async () => {
  await expect(feedback({}, SETTINGS, s3, 'e')).rejects.toThrow(FeedbackError);
  await expect(feedback({ reviewed: ['s3://elsewhere/reviewed/x'] }, SETTINGS, s3, 'e'))
    .rejects.toThrow(`reviewed manifests are read from s3://${REVIEW}/reviewed/, got: s3://elsewhere/reviewed/x`);
  await expect(feedback({ predictions: 'predictions.manifest' }, SETTINGS, s3, 'e'))
    .rejects.toThrow('predictions must be an s3://bucket/key address, got: "predictions.manifest"');
  const before = await text(DATA, 'feedback/latest');
  await admin.send(new PutObjectCommand({ Bucket: REVIEW, Key: 'reviewed/bad.manifest', Body: '{"source-ref":"s3://x/y.png","label":0,'
    + '"label-metadata":{"human-annotated":"yes","creation-date":"2027-01-01T00:00:00","class-name":"","type":"groundtruth/image-classification"}}' }));
  await expect(feedback({ reviewed: [`s3://${REVIEW}/reviewed/bad.manifest`] }, SETTINGS, s3, 'e'))
    .rejects.toThrow(/^The merged manifest is not a valid training manifest, nothing was written: .*line 4: ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT/);
  expect(await text(DATA, 'feedback/latest')).toBe(before);
});
