import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IDependable } from 'constructs';

import { secureBucket } from '../shared/buckets';
import { HandlerFunction } from '../shared/function';
import { acknowledgeDefaultNodeRuntime, acknowledgeWildcardResources } from '../shared/nag';
import { WAIT_HANDLES_PREFIX } from './contracts';
import { buildWorkflowDefinition } from './definition';
import { CALLER_BUCKET_ACTIONS, CALLER_READ_ACTIONS, CALLER_WRITE_ACTIONS, DESCRIBE_PROJECTS_ACTIONS } from './perms';

/** The stable id of the one model workflow of a stack. */
export const MODEL_WORKFLOW_ID = 'CustomLabelsModelWorkflow';
/** Key prefixes in the data bucket (and the output bucket). */
export const MANIFESTS_PREFIX = 'manifests/';
export const IMAGES_PREFIX = 'images/';
export const OUTPUT_PREFIX = 'output/';

const LOG_DELIVERY_REASON = 'Step Functions log delivery and X-Ray (logs:CreateLogDelivery, xray:PutTraceSegments, ...) support no '
  + 'resource-level permissions';
const INVOKE_REASON = 'lambda:InvokeFunction on <function ARN>:* covers the versions and aliases of that one function only';

/**
 * What every model of a stack shares: the data bucket(s), the handlers, the state machine and the custom-resource
 * provider. A second model adds none of these, only its own resources and grants.
 */
export class ModelWorkflow extends Construct {
  /** The stack's workflow, created on first use. */
  static of(scope: Construct): ModelWorkflow {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(MODEL_WORKFLOW_ID);
    if (existing instanceof ModelWorkflow) return existing;
    return new ModelWorkflow(stack, MODEL_WORKFLOW_ID);
  }

  /** The stack's workflow if a model created it already (validation must not create it). */
  static find(scope: Construct): ModelWorkflow | undefined {
    const existing = Stack.of(scope).node.tryFindChild(MODEL_WORKFLOW_ID);
    return existing instanceof ModelWorkflow ? existing : undefined;
  }

  readonly stateMachine: sfn.StateMachine;
  readonly prepare: HandlerFunction;
  readonly gate: HandlerFunction;
  readonly notify: HandlerFunction;
  /** The custom-resource handler (onEvent and isComplete share one function's code and role). */
  readonly versionHandlerRole: iam.IRole;
  readonly serviceToken: string;
  private readonly dataBuckets = new Map<string, s3.Bucket>();
  private readonly lastOfProject = new Map<string, IDependable>();
  private readonly prefixes = new Map<string, string>();
  private assetBucketGranted = false;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.prepare = new HandlerFunction(this, 'Prepare', {
      handlerName: 'prepare',
      description: 'Custom Labels model workflow: inspects the project, unpacks images, writes and validates the manifests',
      timeout: Duration.minutes(15),
      // Lambda gives one full vCPU at 1,769 MB and CPU is what bounds prepare (about 1.5 ms per image, uploads
      // overlapped): 250,000 images take about 6 of the 15 minutes here, where 1,024 MB (0.58 vCPU) would take about 11.
      // Memory use stays under 200 MB at any size (npm run bench:scale).
      memorySize: 1769,
    });
    this.gate = new HandlerFunction(this, 'Gate', {
      handlerName: 'gate',
      description: 'Custom Labels model workflow: applies the evaluation gate and writes the evaluation report',
      timeout: Duration.minutes(2),
      // The report decodes and scales the test images it shows (pure JavaScript; a 12-megapixel JPEG is ~50 MB decoded).
      memorySize: 1024,
    });
    this.notify = new HandlerFunction(this, 'Notify', {
      handlerName: 'notify',
      description: 'Custom Labels model workflow: builds the outcome and signals the CloudFormation wait condition',
      timeout: Duration.minutes(1),
    });
    const stack = Stack.of(this);
    // DescribeProjects has no resource-level permissions; the probe uses it to find the project's datasets.
    this.prepare.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: DESCRIBE_PROJECTS_ACTIONS, resources: ['*'] }));
    Validations.of(this.prepare.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'rekognition:DescribeProjects supports no resource-level permissions (Service Authorization Reference); it only reads',
    });

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const definition = buildWorkflowDefinition({
      prepare: this.prepare.function.functionArn,
      gate: this.gate.function.functionArn,
      notify: this.notify.function.functionArn,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    for (const fn of [this.prepare, this.gate, this.notify]) fn.function.grantInvoke(this.stateMachine);
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
    }));
    acknowledgeWildcardResources(this.stateMachine, [...[this.prepare, this.gate, this.notify].map((f) => `${f.function.functionArn}:*`)],
      INVOKE_REASON);
    acknowledgeWildcardResources(this.stateMachine, ['*'], LOG_DELIVERY_REASON);

    // ---- the custom resource provider (one per stack) -------------------------------------------------------------
    const onEvent = new HandlerFunction(this, 'VersionOnEvent', {
      handlerName: 'model-version',
      handler: 'index.onEvent',
      description: 'Custom Labels model version: starts the model workflow; on Delete stops it and the model\'s versions',
      timeout: Duration.minutes(2),
    });
    const isComplete = new HandlerFunction(this, 'VersionIsComplete', {
      handlerName: 'model-version',
      handler: 'index.isComplete',
      description: 'Custom Labels model version: waits until the model\'s versions are stopped (and deleted under DESTROY)',
      timeout: Duration.minutes(2),
    });
    const handlerRole = onEvent.role;
    // onEvent and isComplete do the same calls; one policy document serves both.
    const handlerPolicy = new iam.Policy(this, 'VersionHandlerPolicy', { roles: [onEvent.role, isComplete.role] });
    handlerPolicy.addStatements(
      new iam.PolicyStatement({ actions: ['states:StartExecution', 'states:ListExecutions'], resources: [this.stateMachine.stateMachineArn] }),
      new iam.PolicyStatement({
        actions: ['states:StopExecution', 'states:DescribeExecution'],
        resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${this.stateMachine.stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    acknowledgeWildcardResources(handlerPolicy, [
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${this.stateMachine.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    ], 'Execution ARNs end in a name chosen per run; the wildcard covers only executions of this stack\'s model workflow');
    this.versionHandlerRole = handlerRole;
    this.versionPolicy = handlerPolicy;

    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const frameworkRole = (name: string) => {
      const role = new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: 'Runs CDK Provider framework functions of the Custom Labels model versions',
      });
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [frameworkLogs.logGroupArn] }));
      return role;
    };
    const onEventRole = frameworkRole('ProviderOnEventRole');
    const waiterRole = frameworkRole('ProviderWaiterRole');
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent.function,
      isCompleteHandler: isComplete.function,
      queryInterval: Duration.seconds(30),
      // With the handlers' timeouts it must fit the custom resource's ServiceTimeout (1 hour): else CloudFormation answers first.
      totalTimeout: Duration.minutes(50),
      frameworkOnEventRole: onEventRole,
      frameworkCompleteAndTimeoutRole: waiterRole,
      logGroup: frameworkLogs,
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: { destination: frameworkLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const frameworkFunction = (name: string) => provider.node.findChild(name) as lambda.Function;
    for (const name of ['framework-onEvent', 'framework-isComplete', 'framework-onTimeout']) acknowledgeDefaultNodeRuntime(frameworkFunction(name));
    const userFunctions = [onEvent.function.functionArn, isComplete.function.functionArn].map((arn) => `${arn}:*`);
    acknowledgeWildcardResources(onEventRole, userFunctions, INVOKE_REASON);
    acknowledgeWildcardResources(waiterRole, userFunctions, INVOKE_REASON);
    const waiter = provider.node.findChild('waiter-state-machine');
    acknowledgeWildcardResources(waiter, ['framework-isComplete', 'framework-onTimeout'].map((n) => `${frameworkFunction(n).functionArn}:*`),
      INVOKE_REASON);
    acknowledgeWildcardResources(waiter, ['*'], LOG_DELIVERY_REASON);
    Validations.of(waiter).acknowledge({
      id: 'AwsSolutions-SF2',
      reason: 'The CDK Provider framework\'s waiter state machine offers no X-Ray tracing option; it only polls the model-version handler',
    });
    this.serviceToken = provider.serviceToken;
  }

  /** The policy of the model-version handler; model resources depend on it and add their statements to it. */
  readonly versionPolicy: iam.Policy;

  /**
   * The data bucket for models encrypted with `key` (or not encrypted with a key): created once per key, shared by
   * every model using that key. The workflow's role may read its manifests and images and write under `output/`:
   * Rekognition does both with that role's rights.
   */
  dataBucketFor(key?: kms.IKey): s3.Bucket {
    const mapKey = key ? key.node.path : '';
    const existing = this.dataBuckets.get(mapKey);
    if (existing) return existing;
    const id = key ? `DataBucket${Names.nodeUniqueId(key.node).slice(-12)}` : 'DataBucket';
    const bucket = secureBucket(this, id, { encryptionKey: key });
    this.grantServiceRead(bucket, [MANIFESTS_PREFIX, IMAGES_PREFIX]);
    this.grantServiceWrite(bucket, OUTPUT_PREFIX);
    bucket.grantReadWrite(this.prepare.role, `${MANIFESTS_PREFIX}*`);
    bucket.grantReadWrite(this.prepare.role, `${IMAGES_PREFIX}*`);
    bucket.grantRead(this.gate.role, `${OUTPUT_PREFIX}*`);
    this.grantReportWrite(bucket);
    this.grantReportImages(bucket, IMAGES_PREFIX);
    const objects = [bucket.arnForObjects(`${MANIFESTS_PREFIX}*`), bucket.arnForObjects(`${IMAGES_PREFIX}*`), bucket.arnForObjects(`${OUTPUT_PREFIX}*`)];
    const prefixReason = 'Object keys under this prefix are named per image and per version at deploy time; the wildcard covers only the prefix';
    acknowledgeWildcardResources(this.prepare.role, objects, prefixReason);
    acknowledgeWildcardResources(this.gate.role, objects, prefixReason);
    const actionsReason = 'Bucket.grantRead/grantReadWrite list s3:GetObject*, s3:List*, s3:DeleteObject* and the matching kms:*: '
      + 'restricted to the prefixes above';
    for (const role of [this.prepare.role, this.gate.role]) {
      for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
        Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: actionsReason });
      }
    }
    this.dataBuckets.set(mapKey, bucket);
    return bucket;
  }

  /**
   * Lets Rekognition, called by the workflow, read objects under `prefixes` of `bucket` (and decrypt them with the
   * bucket's key): CreateDataset reads manifests and images with the caller's rights.
   */
  grantServiceRead(bucket: s3.IBucket, prefixes: readonly string[]): void {
    const sm = this.stateMachine;
    this.grantServiceBucket(bucket);
    const objects = prefixes.map((p) => bucket.arnForObjects(`${p}*`));
    sm.addToRolePolicy(new iam.PolicyStatement({ actions: CALLER_READ_ACTIONS, resources: objects }));
    bucket.encryptionKey?.grant(sm, 'kms:Decrypt');
    acknowledgeWildcardResources(sm, objects, 'Rekognition reads the manifests and images under these prefixes with the workflow\'s rights; '
      + 'their keys are named per run and per image');
  }

  /** Lets Rekognition, called by the workflow, write training output under `prefix` of `bucket`. */
  grantServiceWrite(bucket: s3.IBucket, prefix: string): void {
    const sm = this.stateMachine;
    this.grantServiceBucket(bucket);
    const objects = [bucket.arnForObjects(`${prefix}*`)];
    sm.addToRolePolicy(new iam.PolicyStatement({ actions: CALLER_WRITE_ACTIONS, resources: objects }));
    bucket.encryptionKey?.grant(sm, 'kms:GenerateDataKey');
    acknowledgeWildcardResources(sm, objects, 'Rekognition writes each version\'s training output under this prefix with the workflow\'s rights');
  }

  private readonly reportGrants = new Set<string>();

  /** Lets the gate write each version's evaluation report beside its evaluation summary (under `output/`). */
  grantReportWrite(bucket: s3.IBucket): void {
    const key = `write\u0000${bucket.node.path}`;
    if (this.reportGrants.has(key)) return;
    this.reportGrants.add(key);
    const objects = [bucket.arnForObjects(`${OUTPUT_PREFIX}*`)];
    this.gate.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objects }));
    bucket.encryptionKey?.grant(this.gate.role, 'kms:GenerateDataKey');
    acknowledgeWildcardResources(this.gate.role, objects, 'The gate writes one evaluation report per version beside Rekognition\'s '
      + 'output under output/; the wildcard covers only that prefix');
  }

  /** Lets the gate read the test images under `prefix` of `bucket`: the evaluation report shows the misclassified ones. */
  grantReportImages(bucket: s3.IBucket, prefix: string): void {
    const key = `read\u0000${bucket.node.path}\u0000${prefix}`;
    if (this.reportGrants.has(key)) return;
    this.reportGrants.add(key);
    const objects = [bucket.arnForObjects(`${prefix}*`)];
    this.gate.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects }));
    bucket.encryptionKey?.grant(this.gate.role, 'kms:Decrypt');
    acknowledgeWildcardResources(this.gate.role, objects, 'The evaluation report shows the test images a version got wrong; '
      + 'their keys are named per image, and the wildcard covers only the images\' prefix');
  }

  private readonly serviceBuckets = new Set<string>();
  private readonly handleBuckets = new Set<string>();

  /**
   * The model-version handler stores each run's wait-condition handle URL under `wait-handles/` of the data bucket;
   * the notify step reads it, signals, and deletes it (a presigned URL must not sit in the execution input, which the
   * state machine's log records). Granted once per bucket, when a model of the bucket waits.
   */
  grantWaitHandles(bucket: s3.IBucket): void {
    const key = bucket.node.path;
    if (this.handleBuckets.has(key)) return;
    this.handleBuckets.add(key);
    const objects = [bucket.arnForObjects(`${WAIT_HANDLES_PREFIX}*`)];
    this.versionPolicy.addStatements(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objects }));
    this.notify.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: objects }));
    if (bucket.encryptionKey) {
      this.versionPolicy.addStatements(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [bucket.encryptionKey.keyArn] }));
      bucket.encryptionKey.grant(this.notify.role, 'kms:Decrypt');
    }
    const reason = 'Wait-handle objects are named per run (the execution name); the wildcard covers only the wait-handles/ prefix';
    acknowledgeWildcardResources(this.versionPolicy, objects, reason);
    acknowledgeWildcardResources(this.notify.role, objects, reason);
  }

  private grantServiceBucket(bucket: s3.IBucket): void {
    const key = bucket.node.path;
    if (this.serviceBuckets.has(key)) return;
    this.serviceBuckets.add(key);
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: CALLER_BUCKET_ACTIONS, resources: [bucket.bucketArn] }));
  }

  private findsProjectsByName = false;

  /**
   * Lets the model-version handler look up a project imported by name (its ARN is known only as a pattern):
   * rekognition:DescribeProjects supports no resource-level permissions. Granted once, and only when a model needs it.
   */
  grantFindProjectByName(): void {
    if (this.findsProjectsByName) return;
    this.findsProjectsByName = true;
    this.versionPolicy.addStatements(new iam.PolicyStatement({ actions: DESCRIBE_PROJECTS_ACTIONS, resources: ['*'] }));
    Validations.of(this.versionPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'rekognition:DescribeProjects supports no resource-level permissions; the handler uses it to find a project imported by name',
    });
  }

  /** Lets the prepare handler read the CDK assets bucket (once). */
  grantAssetRead(assetBucket: s3.IBucket): void {
    if (this.assetBucketGranted) return;
    this.assetBucketGranted = true;
    assetBucket.grantRead(this.prepare.role);
    acknowledgeWildcardResources(this.prepare.role, [assetBucket.arnForObjects('*')],
      'Asset object keys are content hashes chosen by CDK at synth; the prepare handler reads the manifests and image zips it is given');
  }

  /**
   * Lets the prepare function (which copies the manifest) and the version handler (which hashes it to name the version)
   * read one manifest object: s3:GetObject, s3:GetObjectVersion when a version is pinned, kms:Decrypt under the
   * bucket's key. Nothing else of a bucket the user owns.
   */
  grantManifestRead(bucket: s3.IBucket, key: string, pinnedVersion: boolean): void {
    const actions = pinnedVersion ? ['s3:GetObject', 's3:GetObjectVersion'] : ['s3:GetObject'];
    for (const role of [this.prepare.role, this.versionHandlerRole]) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [bucket.arnForObjects(key)] }));
      bucket.encryptionKey?.grantDecrypt(role);
    }
  }

  /** The path of the model of the project that uses `prefix`, if any. */
  prefixOwner(projectKey: string, prefix: string): string | undefined {
    return this.prefixes.get(`${projectKey}\u0000${prefix}`);
  }

  /** Records that `modelPath` uses `prefix` in the project. */
  claimPrefix(projectKey: string, prefix: string, modelPath: string): void {
    this.prefixes.set(`${projectKey}\u0000${prefix}`, modelPath);
  }

  /** Chains the models of one project: each one's workflow starts after the previous one's, so trainings never interleave. */
  chain(projectKey: string, next: Construct, done: IDependable): void {
    const previous = this.lastOfProject.get(projectKey);
    if (previous) next.node.addDependency(previous);
    this.lastOfProject.set(projectKey, done);
  }
}
