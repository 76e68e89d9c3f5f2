/**
 * The serving client against the offline world: a stack with a model and two Lambda functions granted by
 * `model.grantDetectCustomLabels(fn)`, deployed by the runner onto the emulator; the client signs as a function's role,
 * reads the serving parameter from the runner's SSM and calls the emulator, both enforcing IAM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { CustomLabelsModel, CustomLabelsProject, TestData, TrainingData } from '../../lib/index';
import { Detection, NoServingVersionError, SERVING_VERSION_PARAMETER_ENV, ServingModelClient, ServingModelClientProps } from '../../lib/runtime';
import { SampleImage } from '../../lib/samples/shapes';
import { manifestFor, openSession, PROJECT_NAME, rekognitionOperations, servingVersion, Session, STACK_NAME, tempDir, versionStatuses,
  writeImages } from '../e2e/helpers';

const LABELS = ['blue-square', 'green-triangle', 'red-circle'];
/** DetectCustomLabels per second per inference unit in this test's emulator: small, so a burst meets the limit. */
const TPS = 8;

function synth(outdir: string, manifest: string, imagesDir: string): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
  const model = new CustomLabelsModel(stack, 'Model', {
    project: new CustomLabelsProject(stack, 'Project', { projectName: PROJECT_NAME, removalPolicy: RemovalPolicy.DESTROY }),
    versionPrefix: 'model',
    trainingData: TrainingData.fromLocalManifest(manifest, { imagesDir }),
    testData: TestData.split({ ratio: 0.3, seed: 5 }),
    deployment: { minInferenceUnits: 1 },
  });
  const images = new s3.Bucket(stack, 'Images', { removalPolicy: RemovalPolicy.DESTROY });
  for (const id of ['Detect', 'DetectBytesOnly']) {
    const fn = new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });
    model.grantDetectCustomLabels(fn);
    if (id === 'Detect') images.grantRead(fn);
  }
  app.synth();
  return outdir;
}

describe('ServingModelClient against the emulator and the runner\'s SSM, as a granted function', () => {
  let dir: string;
  let samples: SampleImage[];
  let session: Session;
  let client: ServingModelClient;
  const clients: Array<{ destroy(): void }> = [];

  const resources = () => Object.entries(session.runner.stackState(STACK_NAME)!.resources);
  const physicalId = (prefix: string, type: string): string => resources().find(([id, r]) => id.startsWith(prefix) && r.type === type)![1].physicalId;

  /** A client signing as the role of function `fn`, with the parameter name the grant put in its environment. */
  function clientAs(fn: string, props: ServingModelClientProps = {}): ServingModelClient {
    const [, role] = resources().find(([id, r]) => id.startsWith(`${fn}ServiceRole`) && r.type === 'AWS::IAM::Role')!;
    const [, func] = resources().find(([id, r]) => id.startsWith(fn) && r.type === 'AWS::Lambda::Function')!;
    const credentials = { accessKeyId: session.cloud.access.keyFor({ roleArn: String(role.attributes.Arn), sessionName: func.physicalId }),
      secretAccessKey: 'offline', sessionToken: 'offline' };
    const rekognitionClient = new RekognitionClient({ endpoint: session.cloud.rekognitionEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const ssmClient = new SSMClient({ endpoint: session.runner.servicesEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    clients.push(rekognitionClient, ssmClient);
    const environment = (func.properties.Environment as { Variables: Record<string, string> }).Variables;
    return new ServingModelClient({ parameterName: environment[SERVING_VERSION_PARAMETER_ENV], rekognitionClient, ssmClient,
      baseDelayMs: 5, maxDelayMs: 100, ...props });
  }

  /** Clients with a key no role owns: not checked, like a user's own credentials. */
  function adminSsm(): SSMClient {
    const c = new SSMClient({ endpoint: session.runner.servicesEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'admin', secretAccessKey: 'x' },
      maxAttempts: 1 });
    clients.push(c);
    return c;
  }
  function adminRekognition(): RekognitionClient {
    const c = new RekognitionClient({ endpoint: session.cloud.rekognitionEndpoint, region: 'us-east-1',
      credentials: { accessKeyId: 'admin', secretAccessKey: 'x' }, maxAttempts: 1 });
    clients.push(c);
    return c;
  }

  const detections = () => rekognitionOperations(session.requests).filter((op) => op === 'DetectCustomLabels').length;

  beforeAll(async () => {
    dir = tempDir('runtime');
    samples = writeImages(dir, 5, 41);
    fs.writeFileSync(path.join(dir, 'train.manifest'), manifestFor(samples));
    const app = synth(path.join(dir, 'v1.out'), path.join(dir, 'train.manifest'), path.join(dir, 'images'));
    session = await openSession(path.join(dir, 'state'), { cloud: { tpsPerInferenceUnit: TPS } });
    await session.runner.deploy(app);
    await session.runner.settle();
    client = clientAs('Detect');
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => session.cloud.emulator.faults.clear());

  test('the grant sets the function\'s SERVING_VERSION_PARAMETER to the serving parameter; detect reads it and returns typed labels', async () => {
    expect(client.parameterName).toBe(physicalId('ModelServingVersion', 'AWS::SSM::Parameter'));
    const result = await client.analyze({ bytes: samples[0].bytes }, { minConfidence: 0 });
    expect(result.projectVersionArn).toBe(servingVersion(session.runner));
    expect(result.attempts).toBe(1);
    expect(result.labels.map((l) => l.name).sort()).toEqual(LABELS);
    for (const l of result.labels) expect(l).toEqual({ name: expect.any(String), confidence: expect.any(Number) });
    const top = await client.detect({ bytes: samples[0].bytes }, { maxResults: 1, minConfidence: 0 });
    expect(top).toEqual([result.labels[0]]);
  });

  test('follows a promotion without a new client: v1 stopped, the next detect reads the parameter again and gets v2', async () => {
    // GIVEN the client has cached v1
    const v1 = await client.servingVersionArn();
    expect(v1).toBe(servingVersion(session.runner));
    // WHEN a relabelled manifest trains v2, which the workflow promotes, stopping v1
    fs.writeFileSync(path.join(dir, 'train.manifest'), manifestFor(samples, { line: 2, label: 'blue-square' }));
    const deployed = await session.runner.deploy(synth(path.join(dir, 'v2.out'), path.join(dir, 'train.manifest'), path.join(dir, 'images')));
    await session.runner.settle();
    expect(deployed.stacks[0].status).toBe('UPDATE_COMPLETE');
    const v2 = servingVersion(session.runner)!;
    expect(v2).not.toBe(v1);
    const v1Name = v1.split('/')[3];
    expect((await versionStatuses(session.rekognition))[v1Name]).toMatch(/^STOPP(ING|ED)$/);
    // THEN the same client answers from v2: its first attempt, on v1, was refused (not running) and it re-read the parameter
    const result = await client.analyze({ bytes: samples[1].bytes });
    expect(result.projectVersionArn).toBe(v2);
    expect(result.attempts).toBe(2);
    expect(await client.servingVersionArn()).toBe(v2);
  });

  test('rides over injected ProvisionedThroughputExceededException with back-off', async () => {
    session.cloud.emulator.faults.add({ operation: 'DetectCustomLabels', error: 'ProvisionedThroughputExceededException', times: 3 });
    const before = detections();
    const result = await client.analyze({ bytes: samples[2].bytes });
    expect(result.attempts).toBe(4);
    expect(detections() - before).toBe(4);
  });

  test('gives up with the service\'s error past maxAttempts, and past maxRetryTimeMs', async () => {
    session.cloud.emulator.faults.add({ operation: 'DetectCustomLabels', error: 'ProvisionedThroughputExceededException', times: 100,
      message: 'The number of requests exceeded your throughput limit.' });
    let before = detections();
    const bounded = clientAs('Detect', { maxAttempts: 3 });
    await expect(bounded.detect({ bytes: samples[2].bytes })).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException', message: 'The number of requests exceeded your throughput limit.' });
    expect(detections() - before).toBe(3);
    // a time bound no back-off fits in: one attempt, then the service's error
    before = detections();
    const hurried = clientAs('Detect', { maxRetryTimeMs: 0 });
    await expect(hurried.detect({ bytes: samples[2].bytes })).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(detections() - before).toBe(1);
    // a time bound of 300 ms with 100 ms delays: more than one attempt, far fewer than the attempts allowed, within the bound
    before = detections();
    const timed = clientAs('Detect', { maxRetryTimeMs: 300, maxAttempts: 100, baseDelayMs: 100, maxDelayMs: 100 });
    const start = Date.now();
    await expect(timed.detect({ bytes: samples[2].bytes })).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(Date.now() - start).toBeLessThan(1000);
    expect(detections() - before).toBeGreaterThan(1);
    expect(detections() - before).toBeLessThan(100);
  });

  test('an S3 object is read by the service with the caller\'s rights: granted read works, bytes-only is refused as AWS does', async () => {
    const bucket = physicalId('Images', 'AWS::S3::Bucket');
    const admin = session.cloud.s3.client();
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'incoming/a.png', Body: samples[3].bytes }));
    admin.destroy();
    const image = { s3Object: { bucket, name: 'incoming/a.png' } };
    const labels = await client.detect(image, { minConfidence: 0 });
    expect(labels.map((l) => l.name).sort()).toEqual(LABELS);
    const bytesOnly = clientAs('DetectBytesOnly');
    await expect(bytesOnly.detect(image)).rejects.toMatchObject({ name: 'InvalidS3ObjectException',
      message: 'Unable to get object metadata from S3. Check object key, region and/or access permissions.' });
    // the same role may call the model with bytes
    await expect(bytesOnly.detect({ bytes: samples[3].bytes })).resolves.toEqual(expect.any(Array));
  });

  test('a role without the grant is refused the parameter and the model with AWS\'s AccessDeniedException; a missing parameter is SSM\'s ParameterNotFound', async () => {
    const credentials = { accessKeyId: session.cloud.access.keyFor({ roleArn: 'arn:aws:iam::123456789012:role/Nobody', sessionName: 's' }),
      secretAccessKey: 'x', sessionToken: 'x' };
    const ssmClient = new SSMClient({ endpoint: session.runner.servicesEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    clients.push(ssmClient);
    const stranger = new ServingModelClient({ parameterName: client.parameterName, ssmClient });
    await expect(stranger.detect({ bytes: samples[0].bytes })).rejects.toMatchObject({ name: 'AccessDeniedException',
      message: expect.stringContaining('is not authorized to perform: ssm:GetParameter on resource: ') });
    // and, given the version by a reader that may, it is refused the model with Rekognition's AccessDeniedException
    const rekognitionClient = new RekognitionClient({ endpoint: session.cloud.rekognitionEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    clients.push(rekognitionClient);
    const half = new ServingModelClient({ parameterName: client.parameterName, ssmClient: adminSsm(), rekognitionClient });
    await expect(half.detect({ bytes: samples[0].bytes })).rejects.toMatchObject({ name: 'AccessDeniedException',
      message: expect.stringContaining('is not authorized to perform: rekognition:DetectCustomLabels') });
    // an unregistered key is not checked (a user's own credentials): SSM's own answer for a name it does not hold
    const missing = new ServingModelClient({ parameterName: '/no/such/parameter', ssmClient: adminSsm() });
    await expect(missing.detect({ bytes: samples[0].bytes })).rejects.toMatchObject({ name: 'ParameterNotFound',
      message: 'Parameter /no/such/parameter not found.' });
  });

  test('a parameter that names no version yet (\'none\'): NoServingVersionError naming the parameter, read again at the next call', async () => {
    const ssm = adminSsm();
    await ssm.send(new PutParameterCommand({ Name: '/models/next', Value: 'none', Type: 'String' }));
    const early = new ServingModelClient({ parameterName: '/models/next', ssmClient: ssm, rekognitionClient: adminRekognition() });
    await expect(early.detect({ bytes: samples[0].bytes })).rejects.toThrow(new NoServingVersionError('/models/next'));
    await expect(early.detect({ bytes: samples[0].bytes })).rejects.toThrow(
      'No version of the model serves yet: parameter /models/next holds \'none\' (the first training has not been promoted)');
    // once a version is promoted, the same client serves from it
    await ssm.send(new PutParameterCommand({ Name: '/models/next', Value: servingVersion(session.runner)!, Type: 'String', Overwrite: true }));
    await expect(early.analyze({ bytes: samples[0].bytes })).resolves.toMatchObject({ projectVersionArn: servingVersion(session.runner) });
  });

  test('a burst past the model\'s throughput: every image answered, throughput errors retried', async () => {
    // GIVEN a client with back-off bounds that fit the model's one-second window
    const patient = clientAs('Detect', { baseDelayMs: 100, maxDelayMs: 2000 });
    const before = detections();
    // WHEN three seconds' worth of calls are made at once (the emulator's clock moves with real time meanwhile, whichever
    // clock its throughput window reads)
    const ticker = setInterval(() => session.cloud.clock.advance(25), 25);
    let results: Detection[];
    try {
      results = await Promise.all(Array.from({ length: 3 * TPS }, (_, i) => patient.analyze({ bytes: samples[i % samples.length].bytes })));
    } finally {
      clearInterval(ticker);
    }
    // THEN every image is answered
    expect(results.every((r) => r.labels.length >= 0 && r.projectVersionArn === servingVersion(session.runner))).toBe(true);
    // the emulator refused some (its limit is TPS a second) and the client retried them
    const calls = detections() - before;
    expect(calls).toBeGreaterThan(3 * TPS);
    expect(results.reduce((n, r) => n + r.attempts, 0)).toBe(calls);
  });
});

describe('ServingModelClient validation', () => {
  const saved = process.env[SERVING_VERSION_PARAMETER_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[SERVING_VERSION_PARAMETER_ENV];
    else process.env[SERVING_VERSION_PARAMETER_ENV] = saved;
  });

  test('the parameter name comes from SERVING_VERSION_PARAMETER when not given', () => {
    process.env[SERVING_VERSION_PARAMETER_ENV] = '/from/env';
    expect(new ServingModelClient().parameterName).toBe('/from/env');
    expect(new ServingModelClient({ parameterName: '/given' }).parameterName).toBe('/given');
  });

  test('every bad prop is named, with the value and what is allowed, in one error', () => {
    delete process.env[SERVING_VERSION_PARAMETER_ENV];
    expect(() => new ServingModelClient({ maxAttempts: 0.5, maxRetryTimeMs: -1, baseDelayMs: 200, maxDelayMs: 100, parameterMaxAgeMs: Infinity }))
      .toThrow('ServingModelClient: parameterName must be given, or the SERVING_VERSION_PARAMETER environment variable set '
        + '(model.grantDetectCustomLabels(fn) sets it on a Lambda function), got: undefined; maxAttempts must be an integer from 1 to 100, '
        + 'got: 0.5; maxRetryTimeMs must be a number from 0 to 900000, got: -1; maxDelayMs must be a number from 200 to 300000, got: 100; '
        + 'parameterMaxAgeMs must be a number from 0 to 86400000, got: Infinity');
  });

  test('an image needs exactly one of bytes and s3Object', async () => {
    const client = new ServingModelClient({ parameterName: '/p' });
    await expect(client.detect({})).rejects.toThrow('image must have exactly one of bytes and s3Object, got: neither');
    await expect(client.detect({ bytes: new Uint8Array(1), s3Object: { bucket: 'b', name: 'k' } }))
      .rejects.toThrow('image must have exactly one of bytes and s3Object, got: both');
  });
});
