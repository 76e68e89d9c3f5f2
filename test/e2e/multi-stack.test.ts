/**
 * The normal shape of a user's app: a model stack (our constructs over a local folder of images, next to a queue, a
 * table and a topic that takes the model's outcomes) and an app stack whose Node.js function calls DetectCustomLabels
 * through the serving parameter (the README's serving example, bundled as a user would). Both synthesized with the feature flags
 * `cdk init app --language typescript` writes into cdk.json (weak cross-stack references among them), deployed,
 * updated and destroyed offline with IAM enforced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { buildSync } from 'esbuild';

import { CustomLabelsModel, CustomLabelsProject, LabelSource, TrainingData } from '../../lib/index';
import { REPO } from '../package/app';
import { openSession, Session, tempDir, writeImages } from './helpers';

/** The context `cdk init` writes into cdk.json: the CLI's recommended feature flags. */
function cdkInitFlags(): Record<string, unknown> {
  const file = path.join(REPO, 'node_modules', 'aws-cdk', 'lib', 'init-templates', '.recommended-feature-flags.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** The README's serving handler, bundled with esbuild (the AWS SDK inside), as a user's build would. */
function bundleReadmeHandler(outdir: string): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  // The handler is a Node.js-only block (```TypeScript: not translated for Python) using the package's serving client.
  const blocks = [...readme.matchAll(/```(?:ts|TypeScript)\n([\s\S]*?)```/g)].map((m) => m[1]);
  const handler = blocks.find((b) => b.includes('export async function handler') && b.includes("from 'cdk-rekognition-custom-labels/runtime'"));
  if (!handler) throw new Error('the README has no serving handler block');
  buildSync({ stdin: { contents: handler, loader: 'ts', resolveDir: REPO, sourcefile: 'readme-handler.ts' }, bundle: true, platform: 'node',
    target: 'node20', format: 'cjs', outfile: path.join(outdir, 'index.js'), logLevel: 'error' });
  return outdir;
}

interface AppProps {
  readonly imagesDir: string;
  readonly handlerDir: string;
  /** The app's function may call the model (model.grantDetectCustomLabels). */
  readonly granted: boolean;
}

function synthApp(outdir: string, props: AppProps): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir, context: cdkInitFlags() });
  const env = { region: 'us-east-1' };
  const models = new Stack(app, 'ModelStack', { env });
  const queue = new sqs.Queue(models, 'Results');
  const table = new dynamodb.Table(models, 'Detections', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    removalPolicy: RemovalPolicy.DESTROY });
  const topic = new sns.Topic(models, 'Alerts');
  const model = new CustomLabelsModel(models, 'Model', {
    project: new CustomLabelsProject(models, 'Project', { projectName: 'multi-stack', removalPolicy: RemovalPolicy.DESTROY }),
    trainingData: TrainingData.fromLocalFolder(props.imagesDir, { labels: LabelSource.FOLDER_NAMES }),
    deployment: { minInferenceUnits: 1 },
    notificationTopic: topic, // the workflow publishes its outcome here (recorded, and authorized as the workflow's role)
  });
  const apps = new Stack(app, 'AppStack', { env });
  const detect = new lambda.Function(apps, 'Detect', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(props.handlerDir),
    environment: {
      SERVING_VERSION_PARAMETER: model.servingVersionParameter.parameterName,
      RESULTS_QUEUE_URL: queue.queueUrl, DETECTIONS_TABLE_ARN: table.tableArn, ALERTS_TOPIC_ARN: topic.topicArn,
    },
  });
  if (props.granted) model.grantDetectCustomLabels(detect);
  new CfnOutput(apps, 'FunctionName', { value: detect.functionName });
  new CfnOutput(apps, 'QueueUrl', { value: queue.queueUrl });
  new CfnOutput(apps, 'QueueArn', { value: queue.queueArn });
  new CfnOutput(apps, 'TableArn', { value: table.tableArn });
  new CfnOutput(apps, 'TopicName', { value: topic.topicName });
  app.synth();
  return outdir;
}

describe('a model stack and an app stack, with cdk init\'s feature flags, offline', () => {
  let dir: string;
  let session: Session;

  beforeAll(() => {
    dir = tempDir('multi-stack');
  });
  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('deploy in dependency order, detect through the serving parameter, update without the grant (denied as AWS denies), destroy', async () => {
    const samples = writeImages(dir, 5, 7);
    const handlerDir = bundleReadmeHandler(path.join(dir, 'handler'));
    const imagesDir = path.join(dir, 'images');
    const outdir = synthApp(path.join(dir, 'cdk.out'), { imagesDir, handlerDir, granted: true });
    // The flags cdk init writes make the app stack read the model stack's values through weak references.
    const appTemplate = fs.readFileSync(path.join(outdir, 'AppStack.template.json'), 'utf8');
    expect(appTemplate).toContain('"Fn::GetStackOutput"');
    expect(appTemplate).not.toContain('"Fn::ImportValue"');

    session = await openSession(path.join(dir, 'state'));
    const { runner } = session;
    expect(runner.iamEnforced).toBe(true);

    // WHEN both stacks are deployed
    const deployed = await runner.deploy(outdir);
    await runner.settle();
    // THEN the model stack went first and the model serves
    expect(deployed.stacks.map((s) => [s.stackName, s.status])).toEqual([['ModelStack', 'CREATE_COMPLETE'], ['AppStack', 'CREATE_COMPLETE']]);
    const [model] = await runner.models();
    expect(model).toMatchObject({ stackName: 'ModelStack', model: 'ModelStack/Model', projectName: 'multi-stack', serving: true, running: true });
    expect(model.versionArn).toMatch(/^arn:aws:rekognition:us-east-1:123456789012:project\/multi-stack\/version\//);
    expect(model.f1).toBeGreaterThan(0);
    expect(model.dollars).toBeGreaterThan(0);
    // AND the queue, table and topic beside the model have the attributes CloudFormation gives them (from the resource
    // database), read by the app stack through weak references; they are recorded only
    const [modelStack, appStack] = deployed.stacks;
    expect(appStack.outputs.QueueUrl).toMatch(/^https:\/\/sqs\.us-east-1\.amazonaws\.com\/123456789012\/ModelStack-Results[0-9A-F]{8}-[A-Za-z0-9]{12}$/);
    expect(appStack.outputs.QueueArn).toBe(`arn:aws:sqs:us-east-1:123456789012:${appStack.outputs.QueueUrl.split('/').pop()}`);
    expect(appStack.outputs.TableArn).toMatch(/^arn:aws:dynamodb:us-east-1:123456789012:table\/ModelStack-Detections[0-9A-F]{8}-/);
    expect(appStack.outputs.TopicName).toMatch(/^ModelStack-Alerts[0-9A-F]{8}-/);
    expect(modelStack.recordedOnly.map((id) => modelStack.resources[id].type))
      .toEqual(expect.arrayContaining(['AWS::DynamoDB::Table', 'AWS::SNS::Topic', 'AWS::SQS::Queue']));
    // the workflow's outcome went to the topic (published as the workflow's role, which the model's grant allows)
    expect(runner.recordedCalls().filter((c) => c.service === 'sns').map((c) => (c.parameters as { TopicArn: string }).TopicArn))
      .toEqual([modelStack.resources[Object.keys(modelStack.resources).find((id) => id.startsWith('Alerts'))!].physicalId]);

    // WHEN the app's function is invoked with an image of the training set
    const image = samples[0];
    const labels = await runner.invoke(appStack.outputs.FunctionName, { imageBase64: image.bytes.toString('base64') }) as { label: string }[];
    // THEN it found the serving version through the parameter and the model answered, as its role allows
    expect(labels.map((l) => l.label)).toContain(image.labels[0]);

    // WHEN the app stack loses the grant (an update) THEN the model stack only drops the output the grant read (no resource
    // changes, nothing retrains), and the function is refused as AWS refuses it
    const updated = await runner.deploy(synthApp(path.join(dir, 'cdk.out.2'), { imagesDir, handlerDir, granted: false }));
    expect(updated.stacks.map((s) => [s.stackName, s.status])).toEqual([['ModelStack', 'UPDATE_COMPLETE'], ['AppStack', 'UPDATE_COMPLETE']]);
    expect(updated.stacks[0]).toMatchObject({ created: [], updated: [], replaced: [], deleted: [] });
    expect(Object.keys(updated.stacks[0].outputs).length).toBeLessThan(Object.keys(deployed.stacks[0].outputs).length);
    const denied = await runner.invoke(appStack.outputs.FunctionName, { imageBase64: image.bytes.toString('base64') }).then(() => undefined, (e: Error) => e);
    expect(denied?.name).toBe('AccessDeniedException');
    // (the warm function still holds the serving version it read a moment ago, as a warm Lambda container would)
    expect(denied?.message).toMatch(new RegExp('^User: arn:aws:sts::123456789012:assumed-role/AppStack-DetectServiceRole[^/]+/[^ ]+ is not authorized to perform: '
      + 'rekognition:DetectCustomLabels on resource: arn:aws:rekognition:us-east-1:123456789012:project/multi-stack/version/'));

    // WHEN the app is destroyed THEN the app stack goes first, and nothing is left running
    const destroyed = await runner.destroy({ assemblyDir: outdir });
    expect(destroyed.stacks.map((s) => s.stackName)).toEqual(['AppStack', 'ModelStack']);
    expect(runner.stackNames()).toEqual([]);
    expect(session.cloud.usage().running).toEqual([]);
  });
});
