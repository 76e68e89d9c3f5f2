import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';

import { CustomLabelsModel, LabelSource, ModelType, TestData, TrainingData } from '../../lib';
import { ModelVersionConfig } from '../../lib/model/contracts';
import { waitConditionTimeoutSeconds } from '../../lib/model/definition';
import { CustomLabelsProject } from '../../lib/project/project';
import { classificationSamples, cocoJsonFor, detectionSamples, writeSamplesToFolder } from '../../lib/samples/shapes';
import { expectNagClean } from '../shared/nag';

const env = { account: '123456789012', region: 'us-east-1' };
let tmp: string;
let classDir: string;
let detDir: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-test-'));
  classDir = path.join(tmp, 'classes');
  writeSamplesToFolder(classDir, classificationSamples({ perLabel: 8, seed: 1 }));
  detDir = path.join(tmp, 'detect');
  const det = detectionSamples({ images: 20, seed: 2 });
  writeSamplesToFolder(detDir, det);
  fs.writeFileSync(path.join(detDir, 'coco.json'), cocoJsonFor(det));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function configOf(template: Template, logicalIdPrefix: string): ModelVersionConfig {
  const resources = template.findResources('Custom::CustomLabelsModelVersion');
  const [, resource] = Object.entries(resources).find(([id]) => id.startsWith(logicalIdPrefix))!;
  const config = (resource as { Properties: { Config: unknown } }).Properties.Config;
  // Config is a Fn::Join of literal parts and tokens: rebuild it with placeholders for the tokens.
  const join = (config as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(join[0]);
  return JSON.parse(text) as ModelVersionConfig;
}

describe('CustomLabelsModel: two models in one stack', () => {
  let stack: Stack;
  let template: Template;

  beforeAll(() => {
    const app = new App();
    stack = new Stack(app, 'Models', { env });
    const project = new CustomLabelsProject(stack, 'Project', { projectName: 'shapes' });
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    const fn = new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const classifier = new CustomLabelsModel(stack, 'Classifier', {
      project,
      trainingData: TrainingData.fromLocalFolder(classDir, { labels: LabelSource.FOLDER_NAMES }),
      testData: TestData.split({ ratio: 0.25, seed: 3 }),
      modelType: ModelType.CLASSIFICATION,
      evaluationGate: { minF1: 0.85, minLabelF1: 0.7, mustNotRegress: true },
      deployment: { minInferenceUnits: 1, maxInferenceUnits: 2 },
      notificationTopic: topic,
      trainingTimeout: Duration.hours(2),
      tags: { team: 'vision' },
    });
    classifier.grantDetectCustomLabels(fn);
    new CustomLabelsModel(stack, 'Detector', {
      project,
      trainingData: TrainingData.fromLocalFolder(detDir, { labels: LabelSource.fromCoco(path.join(detDir, 'coco.json')) }),
      modelType: ModelType.OBJECT_LOCALIZATION,
      waitForTraining: false,
      trainingTimeout: Duration.hours(48),
    });
    template = Template.fromStack(stack);
  });

  test('THEN a second model adds at most 5 resources (shared workflow, provider and buckets)', () => {
    const ids = Object.keys(template.toJSON().Resources);
    expect(ids.filter((id) => id.startsWith('Detector')).length).toBeLessThanOrEqual(5);
    expect(ids.filter((id) => id.startsWith('Classifier')).length).toBeLessThanOrEqual(5);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.resourcePropertiesCountIs('AWS::StepFunctions::StateMachine', { DefinitionString: Match.objectLike({}) }, 3);
    template.resourceCountIs('Custom::CustomLabelsModelVersion', 2);
    template.resourceCountIs('AWS::SSM::Parameter', 2);
  });

  test('THEN the blocking model waits on a wait condition with its training timeout; the other does not', () => {
    template.resourceCountIs('AWS::CloudFormation::WaitCondition', 1);
    // The run's bound for trainingTimeout 2 h (training, datasets and a busy project share it; starting and the tasks come on top).
    template.hasResourceProperties('AWS::CloudFormation::WaitCondition', { Timeout: String(waitConditionTimeoutSeconds(7200)), Count: 1,
      Handle: { Ref: Match.stringLikeRegexp('^ClassifierWaitHandle') } });
    expect(configOf(template, 'Classifier').waitHandleUrl).toBe('TOKEN');
    expect(configOf(template, 'Detector').waitHandleUrl).toBe('');
  });

  test('THEN the config carries gate, deployment, tags and a version name known at synth', () => {
    const config = configOf(template, 'Classifier');
    expect(config.gate).toEqual({ minF1: 0.85, minLabelF1: 0.7, mustNotRegress: true });
    expect(config.deployment).toEqual({ enabled: true, minInferenceUnits: 1, maxInferenceUnits: 2 });
    expect(config.tags).toEqual({ team: 'vision' });
    expect(config.fingerprintComplete).toBe(true);
    expect(config.training.kind).toBe('asset');
    expect(config.testing.kind).toBe('asset');
    expect(config.trainingTimeoutSeconds).toBe(7200);
    expect(configOf(template, 'Detector').deployment.enabled).toBe(false);
    expect(configOf(template, 'Detector').trainingTimeoutSeconds).toBe(48 * 3600);
  });

  test('THEN the second model of the project starts after the first one finished (no interleaved training)', () => {
    const resources = template.findResources('Custom::CustomLabelsModelVersion');
    const [, detector] = Object.entries(resources).find(([id]) => id.startsWith('Detector'))!;
    expect((detector as { DependsOn: string[] }).DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ClassifierWaitForVersion/)]));
  });

  test('THEN the workflow\'s role may read the data and write the output (Rekognition uses its caller\'s rights); no bucket trusts the service', () => {
    const smPolicy = Object.values(template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('StateMachineRole') }] },
    }))[0] as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } };
    const statements = JSON.stringify(smPolicy.Properties.PolicyDocument.Statement);
    expect(statements).toContain('"Action":["s3:GetObject","s3:GetObjectVersion","s3:GetObjectTagging","s3:GetObjectAcl"]');
    expect(statements).toMatch(/"Action":"s3:PutObject","Effect":"Allow","Resource":\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["CustomLabelsModelWorkflowDataBucket[^"]*","Arn"\]\},"\/output\/\*"\]\]\}/);
    expect(statements).toContain('"Action":["s3:GetBucketAcl","s3:GetBucketLocation","s3:ListBucket"]');
    expect(JSON.stringify(template.findResources('AWS::S3::BucketPolicy'))).not.toContain('rekognition.amazonaws.com');
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
    });
  });

  test('THEN grantDetectCustomLabels scopes inference to the model\'s versions and lets the grantee read the serving parameter', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Consumer') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Action: 'rekognition:DetectCustomLabels',
        Resource: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':project/'), Match.stringLikeRegexp('/version/classifier-\\*/\\*')])] },
      })]) },
    });
  });

  test('THEN the state machine logs everything and is traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  test('THEN cdk-nag AwsSolutions has no unacknowledged finding', () => {
    expectNagClean(stack);
  });
});

describe('CustomLabelsModel: grantDetectCustomLabels on a Lambda function', () => {
  test('GIVEN two models granting one function THEN it reads the first model\'s parameter from SERVING_VERSION_PARAMETER, may read both '
    + 'parameters and call both models, and synth warns about the second', () => {
    const app = new App();
    const stack = new Stack(app, 'Serving', { env });
    const project = new CustomLabelsProject(stack, 'Project', { projectName: 'shapes' });
    const input = new s3.Bucket(stack, 'Input', { enforceSSL: true, serverAccessLogsPrefix: 'logs/' });
    const data = TrainingData.fromS3Manifest(input, 'train.manifest');
    const first = new CustomLabelsModel(stack, 'First', { project, trainingData: data, testData: TestData.serviceSplit() });
    const second = new CustomLabelsModel(stack, 'Second', { project, trainingData: data, testData: TestData.serviceSplit() });
    const fn = new lambda.Function(stack, 'Detect', {
      runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });
    first.grantDetectCustomLabels(fn);
    first.grantDetectCustomLabels(fn); // twice by the same model: no warning
    second.grantDetectCustomLabels(fn);
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    first.grantDetectCustomLabels(role);

    const template = Template.fromStack(stack);
    const parameterId = stack.getLogicalId(first.servingVersionParameter.node.defaultChild as CfnElement);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { SERVING_VERSION_PARAMETER: { Ref: parameterId } } } });
    for (const model of [first, second]) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^DetectServiceRole') }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
          Action: Match.arrayWith(['ssm:GetParameter']),
          Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: stack.getLogicalId(model.servingVersionParameter.node.defaultChild as CfnElement) }])] }),
        })]) },
      });
    }
    const warnings = Annotations.fromStack(stack).findWarning('/Serving/Detect', Match.stringLikeRegexp('SERVING_VERSION_PARAMETER'));
    expect(warnings.map((w) => String(w.entry.data))).toEqual([
      'SERVING_VERSION_PARAMETER names the serving parameter of Serving/First; Serving/Second also granted this function: give its '
      + 'ServingModelClient parameterName (Serving/Second\'s servingVersionParameter.parameterName) [ack: cdk-rekognition-custom-labels:servingParameterVariable]',
    ]);
  });
});

describe('CustomLabelsModel: remote data', () => {
  test('GIVEN an S3 manifest and a service split THEN the version name is resolved at deploy time and the bucket is readable', () => {
    const app = new App();
    const stack = new Stack(app, 'Remote', { env });
    const project = CustomLabelsProject.fromProjectName(stack, 'Project', 'existing');
    const bucket = new s3.Bucket(stack, 'Input', { enforceSSL: true });
    const output = s3.Bucket.fromBucketName(stack, 'Output', 'my-output');
    const model = new CustomLabelsModel(stack, 'Model', {
      project,
      trainingData: TrainingData.fromS3Manifest(bucket, 'train.manifest', { objectVersion: 'v1' }),
      testData: TestData.serviceSplit(),
      outputBucket: output,
    });
    const template = Template.fromStack(stack);
    const config = configOf(template, 'Model');
    expect(config.fingerprintComplete).toBe(false);
    expect(config.training).toMatchObject({ kind: 's3', objectVersion: 'v1' });
    expect(config.testing).toEqual({ kind: 'service' });
    expect(config.outputBucket).toBe('my-output');
    expect(stack.resolve(model.versionName)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ModelVersion/), 'VersionName'] });
  });

  test('GIVEN manifests in imported buckets (one pinned to a version, one under a KMS key) THEN the functions may read those objects only, '
    + 'and cdk-nag is clean', () => {
    const app = new App();
    const stack = new Stack(app, 'Imported', { env });
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    const training = s3.Bucket.fromBucketAttributes(stack, 'Training', { bucketName: 'my-labelled-images', encryptionKey: key });
    const testing = s3.Bucket.fromBucketName(stack, 'Testing', 'my-test-images');
    new CustomLabelsModel(stack, 'Model', {
      project: new CustomLabelsProject(stack, 'Project'),
      trainingData: TrainingData.fromS3Manifest(training, 'manifests/train.manifest'),
      testData: TestData.fromS3Manifest(testing, 'manifests/test.manifest', { objectVersion: 'v1' }),
    });
    type Policy = { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } };
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p as Policy).Properties.PolicyDocument.Statement)
      .map((st) => ({ actions: ([] as string[]).concat(st.Action), resource: JSON.stringify(stack.resolve(st.Resource)) }));
    const onManifest = (name: string) => statements.filter((st) => st.resource.includes(name)).flatMap((st) => st.actions);
    expect(new Set(onManifest('my-labelled-images/manifests/train.manifest'))).toEqual(new Set(['s3:GetObject']));
    expect(new Set(onManifest('my-test-images/manifests/test.manifest'))).toEqual(new Set(['s3:GetObject', 's3:GetObjectVersion']));
    expect(statements.filter((st) => st.resource.includes('my-labelled-images') || st.resource.includes('my-test-images'))
      .flatMap((st) => st.actions).filter((a) => a.includes('*'))).toEqual([]);
    expectNagClean(stack);
  });
});

describe('CustomLabelsModel: validation (nothing is created)', () => {
  function attempt(props: Partial<ConstructorParameters<typeof CustomLabelsModel>[2]>): () => void {
    return () => {
      const stack = new Stack(new App(), 'V', { env });
      const project = CustomLabelsProject.fromProjectName(stack, 'P', 'p');
      new CustomLabelsModel(stack, 'Model', { project, trainingData: TrainingData.fromDataset(
        'arn:aws:rekognition:us-east-1:123456789012:project/p/dataset/train/1', { imagesBucket: s3.Bucket.fromBucketName(stack, 'I', 'images') }),
      ...props });
    };
  }

  test('every bad prop is reported at once, naming prop, value and what is allowed', () => {
    expect(attempt({
      versionPrefix: 'bad prefix',
      evaluationGate: { minF1: 1.5, minLabelF1: -1 },
      deployment: { minInferenceUnits: 0, maxInferenceUnits: 0.5 },
      trainingTimeout: Duration.hours(13),
    })).toThrow(/versionPrefix must match .*, got: "bad prefix"[\s\S]*evaluationGate.minF1 must be between 0 and 1, got: 1.5[\s\S]*evaluationGate.minLabelF1 must be between 0 and 1, got: -1[\s\S]*deployment.minInferenceUnits must be an integer >= 1, got: 0[\s\S]*deployment.maxInferenceUnits must be an integer >= 1, got: 0.5[\s\S]*trainingTimeout must be between 1 minute and 9 hours \d+ minutes while waitForTraining is true \(a wait condition waits at most 12 hours/);
  });

  test('72 h is allowed only without waiting; 73 h never', () => {
    expect(attempt({ trainingTimeout: Duration.hours(72), waitForTraining: false })).not.toThrow();
    expect(attempt({ trainingTimeout: Duration.hours(73), waitForTraining: false })).toThrow(/trainingTimeout must be between 1 minute and 3 days, got: 3 days 1 hour/);
  });

  test('the test split ratio must be inside (0, 1)', () => {
    expect(attempt({ testData: TestData.split({ ratio: 1 }) })).toThrow(/testData.split ratio must be between 0 and 1 \(exclusive\), got: 1/);
  });

  test('bad tags are named', () => {
    expect(attempt({ tags: { 'aws:x': 'y' } })).toThrow(/tags keys must be 1..128 characters .* not start with "aws:", got: "aws:x"/);
  });

  test('images that stay in S3 must be named, so the workflow can be granted their read (Rekognition reads with its rights)', () => {
    expect(attempt({ trainingData: TrainingData.fromDataset('arn:aws:rekognition:us-east-1:123456789012:project/p/dataset/train/1') }))
      .toThrow(/trainingData: fromDataset arn:.*: give imagesBucket, the bucket its entries' source-refs point into/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgs-'));
    const manifest = path.join(dir, 'train.manifest');
    fs.writeFileSync(manifest, `${JSON.stringify({ 'source-ref': 's3://their-bucket/a.png' })}\n`);
    expect(attempt({ trainingData: TrainingData.fromLocalManifest(manifest) }))
      .toThrow(/trainingData: fromLocalManifest .*: without imagesDir the images stay in S3 \(s3:\/\/their-bucket\); give imagesBucket/);
    expect(() => {
      const stack = new Stack(new App(), 'W', { env });
      new CustomLabelsModel(stack, 'Model', { project: CustomLabelsProject.fromProjectName(stack, 'P', 'p'),
        trainingData: TrainingData.fromLocalManifest(manifest, { imagesBucket: s3.Bucket.fromBucketName(stack, 'I', 'other-bucket') }) });
    }).toThrow(/imagesBucket is "other-bucket" but source-refs point into "their-bucket"/);
  });

  test('a dataset ARN is checked by the factory', () => {
    expect(() => TrainingData.fromDataset('not-an-arn')).toThrow(/datasetArn must match .*, got: "not-an-arn"/);
  });

  test('a missing local folder is named', () => {
    expect(attempt({ trainingData: TrainingData.fromLocalFolder('/does/not/exist') }))
      .toThrow(/trainingData: fromLocalFolder dir must be an existing directory, got: "\/does\/not\/exist" \(not found\)/);
  });

  test('two models of one project may not share a version prefix', () => {
    expect(() => {
      const stack = new Stack(new App(), 'V', { env });
      const project = CustomLabelsProject.fromProjectName(stack, 'P', 'p');
      const trainingData = TrainingData.fromDataset('arn:aws:rekognition:us-east-1:123456789012:project/p/dataset/train/1',
        { imagesBucket: s3.Bucket.fromBucketName(stack, 'I', 'images') });
      new CustomLabelsModel(stack, 'A', { project, trainingData, versionPrefix: 'same' });
      new CustomLabelsModel(stack, 'B', { project, trainingData, versionPrefix: 'same' });
    }).toThrow(/versionPrefix must be unique among the models of a project, got: "same"/);
  });

  test('fromVersionArn checks the ARN', () => {
    const stack = new Stack(new App(), 'V', { env });
    expect(() => CustomLabelsModel.fromVersionArn(stack, 'X', 'arn:nope')).toThrow(/versionArn must match .*, got: "arn:nope"/);
    const model = CustomLabelsModel.fromVersionArn(stack, 'Y', 'arn:aws:rekognition:us-east-1:123456789012:project/p/version/v1/1');
    expect(model.versionName).toBe('v1');
  });

  test('fromVersionArn refuses a model of another region than the stack\'s, and warns when the stack is region-agnostic', () => {
    const arn = 'arn:aws:rekognition:eu-west-1:123456789012:project/p/version/v1/1';
    expect(() => CustomLabelsModel.fromVersionArn(new Stack(new App(), 'V', { env: { region: 'us-east-1' } }), 'X', arn)).toThrow(
      'versionArn is in region eu-west-1, but stack V deploys to us-east-1: Rekognition serves a model only in its own region; set the '
      + `stack's env.region to eu-west-1, or import the model of us-east-1, got: "${arn}"`);
    const agnostic = new Stack(new App(), 'Agnostic');
    CustomLabelsModel.fromVersionArn(agnostic, 'X', arn);
    Annotations.fromStack(agnostic).hasWarning('*', Match.stringLikeRegexp('versionArn is in eu-west-1 and stack Agnostic is region-agnostic: '
      + 'deploy it to eu-west-1'));
    expect(CustomLabelsModel.fromVersionArn(new Stack(new App(), 'Same', { env: { region: 'eu-west-1' } }), 'X', arn).versionName).toBe('v1');
  });
});

describe('CustomLabelsModel: local data validated at synth', () => {
  test('GIVEN a manifest with bad lines THEN synth fails with line-numbered service errors', () => {
    const file = path.join(tmp, 'bad.manifest');
    fs.writeFileSync(file, '{"source-ref":"s3://b/red-circle/0.png"}\nnot json\n');
    expect(() => {
      const stack = new Stack(new App(), 'L', { env });
      const project = CustomLabelsProject.fromProjectName(stack, 'P', 'p');
      new CustomLabelsModel(stack, 'Model', { project, trainingData: TrainingData.fromLocalManifest(file, { imagesDir: classDir }),
        testData: TestData.serviceSplit() });
    }).toThrow(/training manifest line 2: ERROR_INVALID_JSON_LINE The JSON Line has an invalid format\./);
  });

  test('GIVEN detection data declared as CLASSIFICATION THEN synth fails naming both', () => {
    expect(() => {
      const stack = new Stack(new App(), 'L', { env });
      const project = CustomLabelsProject.fromProjectName(stack, 'P', 'p');
      new CustomLabelsModel(stack, 'Model', { project, modelType: ModelType.CLASSIFICATION, testData: TestData.serviceSplit(),
        trainingData: TrainingData.fromLocalFolder(detDir, { labels: LabelSource.fromCoco(path.join(detDir, 'coco.json')) }) });
    }).toThrow(/modelType must match the data: declared CLASSIFICATION, but the data makes object localization \(bounding boxes\)/);
  });
});
