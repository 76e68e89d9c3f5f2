/**
 * The evaluation report the workflow writes beside each version's evaluation output, deployed offline with IAM
 * enforced: images uploaded with the stack and images in the user's bucket are both readable by the gate, and the
 * outcome event names the report.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { CustomLabelsModel, CustomLabelsProject, TestData, TrainingData } from '../../lib/index';
import { DETAIL_TYPE_SUCCEEDED } from '../../lib/model/contracts';
import { classificationSamples } from '../../lib/samples/shapes';
import { manifestFor, openSession, Session, STACK_NAME, tempDir } from './helpers';

const REMOTE = 'e2e-report-data';

describe('the evaluation report of each version, under IAM enforcement', () => {
  let dir: string;
  let session: Session | undefined;

  beforeAll(() => {
    dir = tempDir('report');
  });

  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('is written beside the summary with the mistaken test images, and named in the outcome event', async () => {
    // GIVEN training images and test images (one of them labelled as another shape, so the evaluation finds mistakes),
    // once as local files and once in a bucket
    const train = classificationSamples({ perLabel: 4, seed: 71 });
    const test = classificationSamples({ perLabel: 2, seed: 72 }).map((s) => ({ ...s, relPath: `test/${s.relPath}` }));
    const wrong = { line: 0, label: test.find((s) => s.labels[0] !== test[0].labels[0])!.labels[0] };
    const local = path.join(dir, 'local');
    for (const [name, samples, relabel] of [['train', train, undefined], ['test', test, wrong]] as const) {
      for (const s of samples) {
        fs.mkdirSync(path.dirname(path.join(local, 'images', s.relPath)), { recursive: true });
        fs.writeFileSync(path.join(local, 'images', s.relPath), s.bytes);
      }
      fs.writeFileSync(path.join(local, `${name}.manifest`), manifestFor(samples, relabel));
    }
    session = await openSession(path.join(dir, 'state'), { cloud: { buckets: [REMOTE] } });
    const { runner, cloud } = session;
    expect(runner.iamEnforced).toBe(true);
    const admin = cloud.s3.client();
    for (const s of [...train, ...test]) await admin.send(new PutObjectCommand({ Bucket: REMOTE, Key: `images/${s.relPath}`, Body: s.bytes }));
    for (const [name, samples, relabel] of [['train', train, undefined], ['test', test, wrong]] as const) {
      await admin.send(new PutObjectCommand({ Bucket: REMOTE, Key: `manifests/${name}.manifest`,
        Body: manifestFor(samples, relabel).replace(/s3:\/\/e2e-images\//g, `s3://${REMOTE}/images/`) }));
    }

    // WHEN a stack with a model of each kind is deployed
    const app = new App({ outdir: path.join(dir, 'cdk.out') });
    const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
    const remote = s3.Bucket.fromBucketName(stack, 'Remote', REMOTE);
    const sources = {
      local: {
        trainingData: TrainingData.fromLocalManifest(path.join(local, 'train.manifest'), { imagesDir: path.join(local, 'images') }),
        testData: TestData.fromLocalManifest(path.join(local, 'test.manifest'), { imagesDir: path.join(local, 'images') }),
      },
      remote: {
        trainingData: TrainingData.fromS3Manifest(remote, 'manifests/train.manifest', { imagesPrefix: 'images/' }),
        testData: TestData.fromS3Manifest(remote, 'manifests/test.manifest', { imagesPrefix: 'images/' }),
      },
    };
    for (const [name, data] of Object.entries(sources)) {
      const project = new CustomLabelsProject(stack, `${name}Project`, { projectName: `report-${name}`, removalPolicy: RemovalPolicy.DESTROY });
      new CustomLabelsModel(stack, `${name}Model`, { project, versionPrefix: name, ...data, evaluationGate: { minF1: 0 } });
    }
    app.synth();
    await runner.deploy(path.join(dir, 'cdk.out'));
    await runner.settle();
    expect(runner.executions().map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    // THEN each outcome event names a report beside the version's summary, and the report shows the mistaken image
    const details = runner.recordedCalls().filter((c) => c.action === 'putEvents').map((c) => {
      // The optimized events:putEvents integration takes the detail as an object.
      const entry = (c.parameters as { Entries: Array<{ DetailType: string; Detail: { projectName: string; versionName: string;
        evaluationReport: string; }; }>; }).Entries[0];
      expect(entry.DetailType).toBe(DETAIL_TYPE_SUCCEEDED);
      return entry.Detail;
    });
    expect(details.map((d) => d.projectName).sort()).toEqual(['report-local', 'report-remote']);
    for (const detail of details) {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(detail.evaluationReport)!;
      expect(m[2]).toBe(`output/${detail.projectName}/${detail.versionName}/EvaluationReport-${detail.projectName}-${detail.versionName}.html`);
      const html = await (await admin.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))).Body!.transformToString();
      // The evaluation decides which images count as mistakes (its thresholds are fitted to this test set); the
      // mislabelled one guarantees there are some.
      const figures = html.split('<figure class="example"').slice(1);
      expect(figures.length).toBeGreaterThan(0);
      // Every example is a test image: by its key in the bucket, or, for local data, by its content-addressed key
      // (<sha256 of the bytes>/<file name>) in the workflow's data bucket.
      const testKeys = test.flatMap((t) => [`images/${t.relPath}`, `images/${createHash('sha256').update(t.bytes).digest('hex')}/${path.basename(t.relPath)}`]);
      for (const figure of figures) expect(testKeys).toContain(/data-source-ref="s3:\/\/[^/"]+\/([^"]+)"/.exec(figure)?.[1]);
      for (const figure of figures) expect(figure).toContain('<image href="data:image/');
    }
    // Nothing was refused: every image the reports show was read with the gate's own rights.
    expect(cloud.access.history().filter((r) => !r.allowed)).toEqual([]);
    admin.destroy();
    await runner.destroy();
  }, 120_000);
});
