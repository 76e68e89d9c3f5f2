import { Annotations, ArnFormat, AssetHashType, CustomResource, Duration, Fn, IResource, RemovalPolicy, Resource, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cfn from 'aws-cdk-lib/aws-cloudformation';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { DataConfig, TestData, TestDataConfig, TrainingData } from '../data';
import { compressManifest, DataShape, prepareLocalData, sha256, ShippedSide, stageFile } from '../data/local';
import { collectAfterLargeData } from '../data/memory';
import { PackObject, planPacks } from '../data/packs';
import { CustomLabelsProject, ICustomLabelsProject } from '../project/project';
import { SERVING_VERSION_PARAMETER_ENV } from '../runtime/env';
import { acknowledgeWildcardResources } from '../shared/nag';
import { describeValue, PropValidator, regionProblem } from '../shared/validation';
import {
  DataSource, fingerprint, METRIC_NAMESPACE, METRIC_TRAINING_FAILED, MODEL_VERSION_RESOURCE_TYPE, ModelVersionConfig, ModelVersionProperties,
  NO_SERVING_VERSION, S3Location, TestSource, versionNameFor,
} from './contracts';
import { maxBlockingTrainingTimeoutSeconds, waitConditionTimeoutSeconds } from './definition';
import { ImportedModelVersion } from './imported';
import { DATASET_COPY_ACTIONS, DETECT_ACTIONS, GATE_ACTIONS, MODEL_VERSION_ACTIONS, PROBE_ACTIONS, START_STOP_ACTIONS,
  WORKFLOW_DATASET_ACTIONS, WORKFLOW_VERSION_ACTIONS } from './perms';
import { ModelWorkflow, OUTPUT_PREFIX } from './workflow';

/** What kind of model the data must make (the service infers it from the data; declaring it makes synth check it). */
export class ModelType {
  /** One image-level label per image. */
  static readonly CLASSIFICATION = new ModelType('CLASSIFICATION');
  /** Several image-level labels per image allowed. */
  static readonly MULTI_LABEL_CLASSIFICATION = new ModelType('MULTI_LABEL_CLASSIFICATION');
  /** Bounding boxes (also brand and logo localization). */
  static readonly OBJECT_LOCALIZATION = new ModelType('OBJECT_LOCALIZATION');

  private constructor(readonly name: string) {}
}

/** When a trained version is good enough to serve. Figures are 0..1. */
export interface EvaluationGate {
  /** Minimum overall F1 score. @default - no minimum */
  readonly minF1?: number;
  /** Minimum F1 score of every label. @default - no minimum */
  readonly minLabelF1?: number;
  /** The new version's overall F1 must be at least the serving version's. @default false */
  readonly mustNotRegress?: boolean;
}

/**
 * How a version that passed the gate is started. Billing: about $4 per inference unit and hour while running.
 *
 * Changing only these settings trains nothing (the version name hashes the data and training settings), but the service
 * cannot change the inference units of a running model: the workflow stops the running version and starts it again with
 * the new units. That is downtime for the serving version, about 10 to 20 minutes, during which DetectCustomLabels fails
 * (the serving parameter keeps naming the version). If the new start fails (e.g. a quota on inference units), the version
 * stays stopped, the workflow reports the failure and the stack update fails (the stack waits on a new wait condition
 * for every change of the data, the gate or these settings).
 */
export interface ModelDeployment {
  /** Inference units to start with (>= 1). @see https://docs.aws.amazon.com/rekognition/latest/APIReference/API_StartProjectVersion.html */
  readonly minInferenceUnits: number;
  /** Upper bound for the service's auto scaling (>= minInferenceUnits). @default - minInferenceUnits (no scaling) */
  readonly maxInferenceUnits?: number;
}

/** Props of {@link CustomLabelsModel}. */
export interface CustomLabelsModelProps {
  /** The project the model's versions belong to. */
  readonly project: ICustomLabelsProject;
  /** The images and labels to train on. */
  readonly trainingData: TrainingData;
  /** The images to evaluate on. @default TestData.split({ ratio: 0.2, seed: 7 }) */
  readonly testData?: TestData;
  /** The kind of model the data must make; synth fails when the data does not match. @default - whatever the data makes */
  readonly modelType?: ModelType;
  /** Checks a trained version must pass before it is started and promoted. @default - every trained version passes */
  readonly evaluationGate?: EvaluationGate;
  /** Start a version that passed the gate. @default - versions are trained and promoted, not started */
  readonly deployment?: ModelDeployment;
  /**
   * Version names are `<versionPrefix>-<16 hex digits of the data and settings hash>`; 1..200 characters of `a-zA-Z0-9_.-`,
   * unique among the models of a project.
   * @default - the construct id, lower-cased
   */
  readonly versionPrefix?: string;
  /** Make the stack wait (a CloudFormation wait condition) until the version is trained, gated and deployed. @default true */
  readonly waitForTraining?: boolean;
  /**
   * How long a run may wait, in all, for the project (another training of it), a free training slot, its datasets to
   * import and training (the workflow polls every minute or so). At most 72 hours; while the stack waits, at most what
   * fits a CloudFormation wait condition (12 hours) with the run's other bounds: about 9 hours (synth says the figure).
   * Training takes from 30 minutes to 24 hours and grows with the data: for tens of thousands of images, raise it (with
   * `waitForTraining: false`) to 24 hours or more.
   * @default Duration.hours(8)
   */
  readonly trainingTimeout?: Duration;
  /** Where Rekognition writes training output and evaluation results (under `output/`). @default - the stack's data bucket */
  readonly outputBucket?: s3.IBucket;
  /** Encrypts the data bucket and the trained model. @default - S3-managed encryption, AWS-owned key for the model */
  readonly encryptionKey?: kms.IKey;
  /** Also publish each outcome to this topic (EventBridge always gets it). @default - no topic */
  readonly notificationTopic?: sns.ITopic;
  /** Tags for the datasets and versions the workflow creates. @default - no tags */
  readonly tags?: Record<string, string>;
  /**
   * What happens to this model's versions when the model is removed from the stack: they are always stopped; with
   * DESTROY they are deleted too.
   * @default - the project's removal policy when it is a CustomLabelsProject, else RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A model whose versions can be called for inference. */
export interface ICustomLabelsModel extends IResource {
  /**
   * The version name (known at synth for local data, else resolved at deploy time).
   * @attribute
   */
  readonly versionName: string;
  /**
   * Lets `grantee` call DetectCustomLabels on the model's versions (and, for a `CustomLabelsModel`, read its serving-version
   * parameter, whose name it sets in a `lambda.Function`'s `SERVING_VERSION_PARAMETER` environment variable).
   */
  grantDetectCustomLabels(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` start and stop the model's versions and read their status. */
  grantStartStop(grantee: iam.IGrantable): iam.Grant;
}

/** Which model set a function's SERVING_VERSION_PARAMETER (by construct path). */
const SERVING_PARAMETER_OWNERS = new WeakMap<lambda.Function, string>();
const VERSION_PREFIX = /^[a-zA-Z0-9_.-]{1,200}$/;
const VERSION_ARN = /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/version\/[a-zA-Z0-9_.-]{1,255}\/[0-9]+$/;
const DEFAULT_TIMEOUT = Duration.hours(8);
const MAX_TIMEOUT = Duration.hours(72);

/**
 * A Rekognition Custom Labels model trained from declared data by `cdk deploy`: the stack's workflow prepares the
 * datasets, trains a version named after a hash of the data and settings (unchanged data: no new training), gates it
 * on its evaluation, starts it when asked, promotes it in an SSM parameter and stops the version it replaces.
 *
 * @exampleMetadata fixture=construct
 * @example
 * const project = new CustomLabelsProject(this, 'Project');
 * const model = new CustomLabelsModel(this, 'Model', {
 *   project,
 *   trainingData: TrainingData.fromLocalFolder('./images', { labels: LabelSource.FOLDER_NAMES }),
 *   testData: TestData.split({ ratio: 0.2, seed: 7 }),
 *   evaluationGate: { minF1: 0.85, minLabelF1: 0.7, mustNotRegress: true },
 *   deployment: { minInferenceUnits: 1, maxInferenceUnits: 2 },
 * });
 * model.grantDetectCustomLabels(myFunction);
 */
export class CustomLabelsModel extends Resource implements ICustomLabelsModel {
  /** Imports a model version by ARN (`…:project/<name>/version/<version>/<ms>`) for inference grants. */
  static fromVersionArn(scope: Construct, id: string, versionArn: string): ICustomLabelsModel {
    const v = new PropValidator().matches('versionArn', versionArn, VERSION_ARN);
    const region = VERSION_ARN.test(versionArn) ? regionProblem(scope, 'versionArn', versionArn) : undefined;
    v.check(region === undefined, region ?? '').throwIfAny(`${scope.node.path}/${id}`);
    const versionName = Token.isUnresolved(versionArn) ? Fn.select(3, Fn.split('/', versionArn)) : versionArn.split('/')[3];
    return new ImportedModelVersion(scope, id, versionArn, versionName);
  }

  readonly versionName: string;
  readonly versionPrefix: string;
  /** Holds the ARN of the version serving now (`none` until one is promoted); the workflow updates it. */
  readonly servingVersionParameter: ssm.IStringParameter;
  /** The stack's model workflow (shared by every model of the stack). */
  readonly stateMachine: sfn.IStateMachine;
  /** The project the versions belong to. */
  readonly project: ICustomLabelsProject;
  /** The custom resource that starts the workflow. */
  readonly versionResource: CustomResource;
  /** The wait condition the stack blocks on, when `waitForTraining`. */
  readonly waitCondition?: cfn.CfnWaitCondition;

  constructor(scope: Construct, id: string, props: CustomLabelsModelProps) {
    super(scope, id);
    const path = this.node.path;
    const v = new PropValidator();
    const blocking = props.waitForTraining ?? true;
    const versionPrefix = props.versionPrefix ?? (id.toLowerCase().replace(/[^a-z0-9_.-]/g, '-').slice(0, 200) || 'model');
    v.matches('versionPrefix', versionPrefix, VERSION_PREFIX);
    const gate = props.evaluationGate ?? {};
    v.range('evaluationGate.minF1', gate.minF1, 0, 1).range('evaluationGate.minLabelF1', gate.minLabelF1, 0, 1);
    if (props.deployment) {
      v.integer('deployment.minInferenceUnits', props.deployment.minInferenceUnits, 1);
      v.integer('deployment.maxInferenceUnits', props.deployment.maxInferenceUnits, Math.max(1, props.deployment.minInferenceUnits || 1));
    }
    const timeout = props.trainingTimeout ?? DEFAULT_TIMEOUT;
    if (!timeout.isUnresolved()) {
      const max = blocking ? Duration.seconds(maxBlockingTrainingTimeoutSeconds()) : MAX_TIMEOUT;
      v.check(timeout.toSeconds() >= 60 && timeout.toSeconds() <= max.toSeconds(),
        `trainingTimeout must be between 1 minute and ${max.toHumanString()}${blocking ? ' while waitForTraining is true (a wait condition '
          + 'waits at most 12 hours, and a run needs up to 3 hours besides: starting, stopping, its tasks)' : ''}, got: ${timeout.toHumanString()}`);
    }
    v.tags('tags', props.tags);
    v.check(props.removalPolicy === undefined || props.removalPolicy === RemovalPolicy.RETAIN || props.removalPolicy === RemovalPolicy.DESTROY,
      `removalPolicy must be RemovalPolicy.RETAIN or DESTROY, got: ${describeValue(props.removalPolicy)}`);

    // ---- data: bind (generates local manifests), split and validate: all before creating anything ----------------
    let training: DataConfig | undefined;
    let testing: TestDataConfig | undefined;
    try {
      training = props.trainingData.bind(this, { role: 'training' });
    } catch (e) {
      v.check(false, `trainingData: ${(e as Error).message}`);
    }
    try {
      testing = (props.testData ?? TestData.split()).bind(this, { role: 'testing' });
    } catch (e) {
      v.check(false, `testData: ${(e as Error).message}`);
    }
    if (testing?.split) {
      v.check(testing.split.ratio > 0 && testing.split.ratio < 1, `testData.split ratio must be between 0 and 1 (exclusive), got: ${testing.split.ratio}`);
      v.integer('testData.split seed', testing.split.seed);
    }
    let local: ReturnType<typeof prepareLocalData> | undefined;
    const trainingLocal = training?.localManifest !== undefined;
    const testingLocal = testing?.data?.localManifest !== undefined;
    if (v.problems.length === 0 && (trainingLocal || testingLocal)) {
      try {
        local = prepareLocalData(
          trainingLocal ? { manifest: training!.localManifest!, imagesDir: training!.imagesDir, cacheDir: training!.cacheDir,
            description: training!.description } : undefined,
          testingLocal ? { manifest: testing!.data!.localManifest!, imagesDir: testing!.data!.imagesDir, cacheDir: testing!.data!.cacheDir,
            description: testing!.data!.description } : undefined,
          trainingLocal ? testing?.split : undefined);
        for (const e of local.errors) v.check(false, e);
        if (props.modelType && local.shape) {
          const problem = modelTypeProblem(props.modelType, local.shape);
          if (problem) v.check(false, problem);
        }
      } catch (e) {
        v.check(false, `trainingData: ${(e as Error).message}`);
      }
    }
    const projectKey = props.project.node.path;
    v.check(ModelWorkflow.find(this)?.prefixOwner(projectKey, versionPrefix) === undefined,
      `versionPrefix must be unique among the models of a project, got: ${describeValue(versionPrefix)} (already used in this stack)`);
    v.throwIfAny(path);

    // ---- resources ---------------------------------------------------------------------------------------------
    const stack = Stack.of(this);
    const workflow = ModelWorkflow.of(this);
    workflow.claimPrefix(projectKey, versionPrefix, path);
    this.project = props.project;
    this.versionPrefix = versionPrefix;
    this.stateMachine = workflow.stateMachine;
    const dataBucket = workflow.dataBucketFor(props.encryptionKey);
    const outputBucket = props.outputBucket ?? dataBucket;
    if (props.outputBucket) this.allowServiceOutput(props.outputBucket, workflow);
    // Images that stay in S3 are read by Rekognition with the workflow's rights when it imports them.
    for (const data of [training, testing?.data]) {
      if (data?.images) {
        workflow.grantServiceRead(data.images.bucket, [data.images.prefix]);
        workflow.grantReportImages(data.images.bucket, data.images.prefix);
      }
    }

    // Images travel in packs (see lib/data/packs.ts): one plan per images folder, the training and test sides of a
    // split sharing it; a pack both sides use is one asset.
    const packAssets = new Map<string, s3assets.Asset>();
    const packsByCache = new Map<string, S3Location[]>();
    const objectsByCache = new Map<string, Map<string, PackObject>>();
    for (const side of [local?.training, local?.testing]) {
      if (!side?.cacheDir) continue;
      const objects = objectsByCache.get(side.cacheDir) ?? new Map<string, PackObject>();
      for (const o of side.objects) objects.set(o.key, o);
      objectsByCache.set(side.cacheDir, objects);
    }
    for (const [cacheDir, objects] of objectsByCache) {
      packsByCache.set(cacheDir, planPacks(cacheDir, [...objects.values()]).map((pack) => {
        let asset = packAssets.get(pack.id);
        if (!asset) {
          asset = new s3assets.Asset(this, `ImagePack${pack.id.slice(0, 16)}`, { path: pack.file, assetHash: pack.id, assetHashType: AssetHashType.CUSTOM });
          workflow.grantAssetRead(asset.bucket);
          packAssets.set(pack.id, asset);
        }
        return { Bucket: asset.s3BucketName, Name: asset.s3ObjectKey };
      }));
    }
    collectAfterLargeData(local?.lines ?? 0);
    const assetSource = (name: string, side: ShippedSide): DataSource => {
      const manifest = new s3assets.Asset(this, name === 'training.manifest' ? 'TrainingManifest' : 'TestingManifest',
        { path: stageFile(`${name}.gz`, compressManifest(side.manifest)) });
      workflow.grantAssetRead(manifest.bucket);
      const packs = side.cacheDir ? packsByCache.get(side.cacheDir) : undefined;
      return { kind: 'asset', manifest: { Bucket: manifest.s3BucketName, Name: manifest.s3ObjectKey }, ...(packs ? { packs } : {}) };
    };
    const remoteSource = (data: DataConfig): DataSource => {
      if (data.s3Manifest) {
        workflow.grantManifestRead(data.s3Manifest.bucket, data.s3Manifest.key, data.s3Manifest.objectVersion !== undefined);
        return { kind: 's3', manifest: { Bucket: data.s3Manifest.bucket.bucketName, Name: data.s3Manifest.key },
          objectVersion: data.s3Manifest.objectVersion };
      }
      workflow.prepare.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: DATASET_COPY_ACTIONS, resources: [data.datasetArn!] }));
      workflow.versionPolicy.addStatements(new iam.PolicyStatement({ actions: ['rekognition:DescribeDataset'], resources: [data.datasetArn!] }));
      return { kind: 'dataset', datasetArn: data.datasetArn! };
    };
    const trainingSource: DataSource = trainingLocal
      ? assetSource('training.manifest', local!.training!)
      : remoteSource(training!);
    let testSource: TestSource;
    if (testing!.serviceSplit) testSource = { kind: 'service' };
    else if (testing!.split && trainingLocal) testSource = assetSource('testing.manifest', local!.testing!);
    else if (testing!.split) testSource = { kind: 'split', ratio: testing!.split.ratio, seed: testing!.split.seed };
    else if (testingLocal) testSource = assetSource('testing.manifest', local!.testing!);
    else testSource = remoteSource(testing!.data!);

    // What synth knows: local manifests and image hashes are the data itself; for S3 and dataset sources the handler
    // adds the object's ETag or the dataset's update time when it runs.
    const complete = trainingLocal && (testingLocal || testing!.serviceSplit === true || testing!.split !== undefined);
    const synthFingerprint = fingerprint(
      'v1', versionPrefix, props.modelType?.name ?? '',
      // The shipped manifests name every image by its content hash: they cover the images' bytes, and the packs (how
      // the bytes travel) stay out, so the version changes exactly when the data does.
      local?.training ? sha256(local.training.manifest) : describeSource(stack, trainingSource),
      local?.testing ? sha256(local.testing.manifest) : describeSource(stack, testSource),
    );

    this.servingVersionParameter = new ssm.StringParameter(this, 'ServingVersion', {
      stringValue: NO_SERVING_VERSION,
      description: `ARN of the serving version of Custom Labels model ${path} (updated by its workflow)`.slice(0, 1024),
    });

    const gateSettings = { minF1: gate.minF1 ?? 0, minLabelF1: gate.minLabelF1 ?? 0, mustNotRegress: gate.mustNotRegress ?? false };
    const deploymentSettings = {
      enabled: props.deployment !== undefined,
      minInferenceUnits: props.deployment?.minInferenceUnits ?? 1,
      maxInferenceUnits: props.deployment?.maxInferenceUnits ?? props.deployment?.minInferenceUnits ?? 1,
    };
    const removal = props.removalPolicy
      ?? (props.project instanceof CustomLabelsProject ? props.project.removalPolicy : RemovalPolicy.RETAIN);
    const config: Omit<ModelVersionConfig, 'waitHandleUrl'> = {
      modelPath: path,
      projectArn: props.project.projectArn,
      projectName: props.project.projectName,
      versionPrefix,
      synthFingerprint,
      fingerprintComplete: complete,
      modelType: (props.modelType?.name ?? '') as ModelVersionConfig['modelType'],
      training: trainingSource,
      testing: testSource,
      dataBucket: dataBucket.bucketName,
      outputBucket: outputBucket.bucketName,
      kmsKeyId: props.encryptionKey?.keyArn ?? '',
      tags: props.tags ?? {},
      gate: gateSettings,
      deployment: deploymentSettings,
      trainingTimeoutSeconds: timeout.toSeconds(),
      servingParameterName: this.servingVersionParameter.parameterName,
      notificationTopicArn: props.notificationTopic?.topicArn ?? '',
      removal: removal === RemovalPolicy.DESTROY ? 'DESTROY' : 'RETAIN',
    };
    // Every change of the model's properties is an Update of its custom resource, and every Update starts a run that
    // signals: so every change gets a wait condition of its own (CloudFormation cannot update one, only replace it), and
    // the stack waits for each run, a change of tags, topic or removal policy included.
    const waitTimeout = waitConditionTimeoutSeconds(timeout.toSeconds());
    const waitKey = fingerprint(JSON.stringify(stack.resolve(config)), String(waitTimeout)).slice(0, 8);
    let handle: cfn.CfnWaitConditionHandle | undefined;
    if (blocking) {
      handle = new cfn.CfnWaitConditionHandle(this, `WaitHandle${waitKey}`);
      workflow.grantWaitHandles(dataBucket);
    }


    this.grantWorkflow(workflow, props, stack);

    const fullConfig: ModelVersionConfig = { ...config, waitHandleUrl: handle ? handle.ref : '' };
    const properties: ModelVersionProperties = { Config: stack.toJsonString(fullConfig), StateMachineArn: workflow.stateMachine.stateMachineArn };
    this.versionResource = new CustomResource(this, 'Version', {
      serviceToken: workflow.serviceToken,
      // CloudFormation's most; the provider's totalTimeout (50 min) and handlers fit inside.
      serviceTimeout: Duration.hours(1),
      resourceType: MODEL_VERSION_RESOURCE_TYPE,
      properties: { ...properties },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.versionResource.node.addDependency(workflow.versionPolicy);
    // The workflow creates datasets and versions in the project: its teardown must exist first, so that a rollback
    // (or a delete) empties the project before CloudFormation deletes it.
    if (props.project instanceof CustomLabelsProject) this.versionResource.node.addDependency(props.project.teardown);
    // The state machine's permissions (in its default policy) must exist before the workflow runs.
    const smPolicy = workflow.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (smPolicy) this.versionResource.node.addDependency(smPolicy);
    for (const fn of [workflow.prepare, workflow.gate, workflow.notify]) {
      const policy = fn.role.node.tryFindChild('DefaultPolicy');
      if (policy) this.versionResource.node.addDependency(policy);
    }

    if (handle) {
      this.waitCondition = new cfn.CfnWaitCondition(this, `WaitForVersion${waitKey}`, {
        handle: handle.ref,
        timeout: String(waitTimeout),
        count: 1,
      });
      this.waitCondition.node.addDependency(this.versionResource);
    }
    workflow.chain(projectKey, this.versionResource, this.waitCondition ?? this.versionResource);

    this.versionName = complete ? versionNameFor(versionPrefix, synthFingerprint) : this.versionResource.getAttString('VersionName');
  }

  /**
   * Lets `grantee` call DetectCustomLabels on this model's versions and read which one serves (`ssm:GetParameter`, with
   * the other read actions of `StringParameter.grantRead`, on {@link servingVersionParameter}): what `ServingModelClient` from
   * `cdk-rekognition-custom-labels/runtime` needs.
   *
   * When `grantee` is a `lambda.Function`, this also sets its environment variable `SERVING_VERSION_PARAMETER` to the
   * parameter's name, which `new ServingModelClient()` reads. A function granted by two models keeps the first model's
   * name (synth warns): give the second model's client its `parameterName` yourself.
   */
  grantDetectCustomLabels(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeVersionsWildcard(grantee);
    if (grantee instanceof lambda.Function) this.setServingParameterVariable(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: DETECT_ACTIONS, resourceArns: [this.versionsArn()] })
      .combine(this.servingVersionParameter.grantRead(grantee));
  }

  /** Lets `grantee` start and stop this model's versions, read their status and which one serves. */
  grantStartStop(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeVersionsWildcard(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: START_STOP_ACTIONS, resourceArns: [this.versionsArn()] })
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['rekognition:DescribeProjectVersions'], resourceArns: [this.project.projectArn] }))
      .combine(this.servingVersionParameter.grantRead(grantee));
  }

  /** Workflow runs of this model that failed (training, gate, start), in embedded metric format from the notify handler. */
  metricTrainingFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC_TRAINING_FAILED,
      dimensionsMap: { ProjectName: this.project.projectName, VersionPrefix: this.versionPrefix },
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }

  /** SERVING_VERSION_PARAMETER for the serving client; the first model that grants a function keeps it. */
  private setServingParameterVariable(fn: lambda.Function): void {
    const owner = SERVING_PARAMETER_OWNERS.get(fn);
    if (owner === undefined) {
      SERVING_PARAMETER_OWNERS.set(fn, this.node.path);
      fn.addEnvironment(SERVING_VERSION_PARAMETER_ENV, this.servingVersionParameter.parameterName);
    } else if (owner !== this.node.path) {
      Annotations.of(fn).addWarningV2('cdk-rekognition-custom-labels:servingParameterVariable',
        `${SERVING_VERSION_PARAMETER_ENV} names the serving parameter of ${owner}; ${this.node.path} also granted this function: `
        + `give its ServingModelClient parameterName (${this.node.path}'s servingVersionParameter.parameterName)`);
    }
  }

  /** The grantee's policy names the model's versions with a wildcard: say why, where the grantee is a construct. */
  private acknowledgeVersionsWildcard(grantee: iam.IGrantable): void {
    if (Construct.isConstruct(grantee)) {
      acknowledgeWildcardResources(grantee, [this.versionsArn()], 'Version ARNs end in a creation time set by the service when training '
        + 'creates them; the wildcard covers only the versions of this model (its version-name prefix)');
    }
  }

  /** `…:project/<name>/version/<prefix>-*` + `/*`: the versions of this model (their ARNs end in a creation time). */
  private versionsArn(): string {
    return Stack.of(this).formatArn({
      service: 'rekognition',
      resource: 'project',
      resourceName: `${this.project.projectName}/version/${this.versionPrefix}-*/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** Rekognition writes a version's output with the workflow's rights; the gate reads the evaluation summary. */
  private allowServiceOutput(bucket: s3.IBucket, workflow: ModelWorkflow): void {
    workflow.grantServiceWrite(bucket, OUTPUT_PREFIX);
    bucket.grantRead(workflow.gate.role, `${OUTPUT_PREFIX}*`);
    workflow.grantReportWrite(bucket);
    acknowledgeWildcardResources(workflow.gate.role, [bucket.arnForObjects(`${OUTPUT_PREFIX}*`)],
      'Rekognition names its output files per version under output/; the wildcard covers only that prefix');
  }

  /** Everything the shared workflow needs for this model, scoped to its project, parameter, topic and key. */
  private grantWorkflow(workflow: ModelWorkflow, props: CustomLabelsModelProps, stack: Stack): void {
    const project = props.project;
    const children = (kind: string) => stack.formatArn({ service: 'rekognition', resource: 'project',
      resourceName: `${project.projectName}/${kind}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const projectArns = [project.projectArn, children('version'), children('dataset')];
    const sm = workflow.stateMachine;
    sm.addToRolePolicy(new iam.PolicyStatement({ actions: [...WORKFLOW_DATASET_ACTIONS, ...WORKFLOW_VERSION_ACTIONS], resources: projectArns }));
    this.servingVersionParameter.grantRead(sm);
    this.servingVersionParameter.grantWrite(sm);
    props.notificationTopic?.grantPublish(sm);
    if (props.encryptionKey) props.encryptionKey.grant(sm, 'kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey*');
    workflow.prepare.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: PROBE_ACTIONS, resources: [project.projectArn] }));
    workflow.gate.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: GATE_ACTIONS, resources: [project.projectArn] }));
    workflow.versionPolicy.addStatements(new iam.PolicyStatement({ actions: MODEL_VERSION_ACTIONS, resources: projectArns }));
    // A superseded run may have started a version: the handler keeps the serving one (it reads which) and stops the rest.
    workflow.versionPolicy.addStatements(new iam.PolicyStatement({ actions: ['ssm:GetParameter'],
      resources: [this.servingVersionParameter.parameterArn] }));
    const reason = 'Version and dataset ARNs end in a creation time set by the service; the wildcard covers only this project\'s versions '
      + 'or datasets';
    for (const scope of [sm, workflow.versionPolicy as Construct]) acknowledgeWildcardResources(scope, projectArns, reason);
    if (project.projectArn.endsWith('/*')) {
      workflow.grantFindProjectByName();
      for (const scope of [workflow.prepare.role, workflow.gate.role] as Construct[]) {
        acknowledgeWildcardResources(scope, [project.projectArn], reason);
      }
    }
    if (props.encryptionKey) {
      Validations.of(sm).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'kms:GenerateDataKey* covers the GenerateDataKey variants Rekognition uses to encrypt the model, on the given key only' });
    }
  }
}

/** A stable description of a remote source for the synth fingerprint: tokens become their construct-independent text. */
function describeSource(stack: Stack, source: DataSource | TestSource): string {
  return JSON.stringify(stack.resolve(source));
}

/** Why the data does not make the declared model type, or undefined. */
function modelTypeProblem(type: ModelType, shape: DataShape): string | undefined {
  const got = shape.useCase === 'OBJECT_LOCALIZATION' ? 'object localization (bounding boxes)'
    : shape.useCase === 'IMAGE_LEVEL_LABELS' ? (shape.multiLabelLines > 0 ? 'multi-label classification' : 'classification')
      : 'no usable labels';
  const ok = type === ModelType.OBJECT_LOCALIZATION ? shape.useCase === 'OBJECT_LOCALIZATION'
    : type === ModelType.CLASSIFICATION ? shape.useCase === 'IMAGE_LEVEL_LABELS' && shape.multiLabelLines === 0
      : shape.useCase === 'IMAGE_LEVEL_LABELS';
  return ok ? undefined : `modelType must match the data: declared ${type.name}, but the data makes ${got}`
    + (type === ModelType.CLASSIFICATION && shape.multiLabelLines > 0 ? ` (${shape.multiLabelLines} images carry several labels)` : '');
}
