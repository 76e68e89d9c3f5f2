/**
 * Deploys, updates and destroys a synthesized cloud assembly offline, the way CloudFormation would: file assets go to
 * the local S3, resources are created in dependency order (one at a time), an update sends exactly the changes (with
 * replacement and a cleanup phase), a failure rolls back, and a delete empties the stack in reverse order. Custom
 * resources get real CloudFormation requests, state machines run on aws-local-stepfunctions, and every wait moves the
 * emulator's virtual clock instead of sleeping.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Rekognition } from '@aws-sdk/client-rekognition';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { LocalCloud, startLocalCloud } from '../emulator/local-cloud';
import { requirePolicyEngine } from '../iam/engine';
import { AssemblyStack, assetBytes, CloudAssembly, FileAsset, readCloudAssembly, resolveAssetPlaceholders } from './assembly';
import {
  CustomResourceFailed, CustomResourceHost, CustomResourceRequest, CustomResourceResult, invokeCustomResource, newRequestId, stringifyScalars,
} from './custom-resources';
import { ExecutionHost, ExecutionRecord, LocalStepFunctions } from './executions';
import { DeployedDirectory, localServiceRequests, RunnerIdentities } from './identities';
import { defaultStackId, IntrinsicResolver, isPlainObject, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { LambdaFunctionSpec, LambdaHost } from './lambda-host';
import { LambdaProcessOptions } from './lambda-process';
import { checkWaitConditionUpdate, customResourceResponseBytes, MAX_CUSTOM_RESOURCE_RESPONSE_BYTES, noResponseMessage, serviceTimeoutOf,
  templateProblems } from './limits';
import { LocalServiceError,LocalServices } from './local-services';
import { ResourceRecord, RunnerState, RunnerStateStore, StackState, StackStatus } from './local-state';
import {
  createResource, deleteResource, errorMessage, errorName, isKnownType, ProvisionContext, updateResource, WaitSignal,
} from './resources';
import { ParameterStore, SdkTaskHandler, sdkTaskHandler, ssmOperation, TaskIdentity } from './sdk-tasks';
import { changedProperties, checkRules, replacementFor, resolveParameters, TemplateModel } from './template';

/** One line of a stack's event log, as CloudFormation shows it. `at` is virtual epoch ms. */
export interface StackEvent {
  readonly at: number;
  readonly stackName: string;
  readonly logicalId: string;
  readonly resourceType: string;
  readonly status: string;
  readonly physicalId?: string;
  readonly reason?: string;
}

/** A call a state machine made to SNS or EventBridge, recorded instead of sent. */
export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  readonly parameters: unknown;
  readonly executionArn: string;
  /** Virtual epoch ms. */
  readonly at: number;
}

export interface LocalRunnerOptions {
  /** Where the runner keeps what it deployed (`runner/`), and where a cloud it starts keeps S3 and the emulator. */
  readonly stateDir: string;
  /**
   * The emulator and local S3 to deploy into. Its clock should not run on its own (timeScale 0) for exact virtual times.
   * @default - startLocalCloud({ stateDir, timeScale: 0 }), stopped by close()
   */
  readonly cloud?: LocalCloud;
  /** Progress: one line per resource event and per finished execution. @default - none */
  readonly log?: (line: string) => void;
  /** Handlers' console output and the local services' request log. @default - none */
  readonly debug?: (line: string) => void;
  /** Sees every stack event as it happens. */
  readonly onEvent?: (event: StackEvent) => void;
  /** Called when an execution reaches a Wait state; a returned promise holds it there until it resolves or the execution stops. */
  readonly beforeWait?: (execution: ExecutionRecord, stateName: string) => void | Promise<void>;
  /**
   * Enforce IAM as AWS does: every function, state machine and framework component calls as its own role, and the
   * services refuse what the role's policies (and bucket and key policies) do not allow. Turning it off means a green
   * run says nothing about permissions.
   * @default true
   */
  readonly iam?: boolean;
  /**
   * Run every Lambda invocation in a child process whose peak memory is held to the function's MemorySize (and
   * reported, with CPU and wall time): slower, for measuring. @default - functions run in this process, unmeasured
   */
  readonly lambdaProcesses?: LambdaProcessOptions;
}

export interface DeployOptions {
  /** Parameter values; each stack takes the ones it declares. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Stack names to deploy (with the stacks they depend on first). @default - every stack */
  readonly stacks?: readonly string[];
}

export interface StackResourceSummary {
  readonly type: string;
  readonly physicalId: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface StackDeployResult {
  readonly stackName: string;
  readonly status: StackStatus | 'NO_CHANGES';
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly replaced: readonly string[];
  readonly deleted: readonly string[];
  readonly unchanged: readonly string[];
  readonly outputs: Readonly<Record<string, string>>;
  readonly resources: Readonly<Record<string, StackResourceSummary>>;
  /** Virtual seconds the deploy of this stack took. */
  readonly virtualSeconds: number;
}

export interface DeployResult {
  readonly stacks: readonly StackDeployResult[];
  readonly events: readonly StackEvent[];
}

export interface StackDestroyResult {
  readonly stackName: string;
  readonly deleted: readonly string[];
  /** Resources kept because of their DeletionPolicy (Retain), with their physical ids. */
  readonly retained: Readonly<Record<string, StackResourceSummary>>;
  readonly virtualSeconds: number;
}

export interface DestroyResult {
  readonly stacks: readonly StackDestroyResult[];
  readonly events: readonly StackEvent[];
}

/** A deploy or destroy that failed: the stack's final status, the resource that failed and why. */
export class LocalDeployError extends Error {
  constructor(
    readonly stackName: string,
    readonly status: StackStatus,
    readonly logicalId: string,
    readonly reason: string,
    readonly rollbackProblems: readonly string[] = [],
  ) {
    super(`Stack ${stackName} ${status}: ${logicalId} failed: ${reason}`
      + (rollbackProblems.length > 0 ? `; the rollback failed too: ${rollbackProblems.join('; ')}` : ''));
    this.name = 'LocalDeployError';
  }
}

interface Step {
  readonly logicalId: string;
  readonly kind: 'create' | 'update' | 'replace';
  /** The record before this deploy (update/replace). */
  readonly before?: ResourceRecord;
  /** The properties this deploy asked for. */
  readonly props: Record<string, unknown>;
}

const CUSTOM = (type: string): boolean => type === 'AWS::CloudFormation::CustomResource' || type.startsWith('Custom::');
const RETAINED = new Set(['Retain', 'RetainExceptOnCreate']);

/** A deploy session: the local services are up, state is loaded; deploy and destroy as often as needed, then close(). */
export class LocalRunner {
  /** Opens a session on a state directory. */
  static async open(options: LocalRunnerOptions): Promise<LocalRunner> {
    // Fail before anything starts when IAM is to be enforced and the policy engine is not installed.
    if (options.iam !== false) requirePolicyEngine();
    const store = new RunnerStateStore(options.stateDir);
    const state = store.load();
    const cloud = options.cloud ?? await startLocalCloud({ stateDir: options.stateDir, timeScale: 0 });
    try {
      const lastNow = state.virtualNow ?? 0;
      if (lastNow > cloud.clock.now()) cloud.clock.advance(lastNow - cloud.clock.now());
      const runner = new LocalRunner(options, store, state, cloud, options.cloud === undefined);
      await runner.startServices();
      return runner;
    } catch (err) {
      if (!options.cloud) await cloud.stop();
      throw err;
    }
  }

  readonly cloud: LocalCloud;
  private services?: LocalServices;
  private readonly sfn: LocalStepFunctions;
  private lambdaHost?: LambdaHost;
  private readonly events: StackEvent[] = [];
  private readonly calls: RecordedCall[] = [];
  private readonly responses = new Map<string, (body: Record<string, unknown>) => void>();
  private readonly parameters: ParameterStore;
  private readonly sdkTasks: SdkTaskHandler;
  private readonly rekognition: Rekognition;
  private readonly s3: S3Client;
  private readonly codeRoot: string;
  private readonly identities: RunnerIdentities;
  private closed = false;

  private constructor(
    private readonly options: LocalRunnerOptions,
    private readonly store: RunnerStateStore,
    private readonly state: RunnerState,
    cloud: LocalCloud,
    private readonly ownsCloud: boolean,
  ) {
    this.cloud = cloud;
    this.identities = new RunnerIdentities(options.iam === false ? undefined : cloud.access);
    if (this.identities.enforced) {
      cloud.access.useDirectory(new DeployedDirectory(() => this.allResources(), OFFLINE_REGION, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION));
    } else {
      this.log('IAM is not enforced (--no-iam): this run proves nothing about the permissions of the stack\'s roles');
    }
    const credentials = { accessKeyId: 'offline', secretAccessKey: 'offline' };
    this.parameters = this.parameterStore();
    this.sdkTasks = sdkTaskHandler(cloud, this.parameters);
    this.rekognition = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: OFFLINE_REGION, credentials });
    this.s3 = cloud.s3.client();
    this.codeRoot = path.join(path.resolve(options.stateDir), 'runner', 'code');
    const host: ExecutionHost = {
      stateMachine: (arn) => this.stateMachine(arn),
      sdkHandler: (service, action, parameters, execution) => this.sdkTasks(service, action, parameters, this.taskIdentity(execution)),
      lambdaHandler: async (functionArn, payload, execution) => {
        await this.authorizeTask(execution, 'lambda:InvokeFunction', this.functionArnOf(functionArn), 'Lambda.AWSLambdaException', 'AWSLambda');
        return this.invokeFunction(functionArn, payload);
      },
      record: async (service, action, parameters, execution) => {
        const p = isPlainObject(parameters) ? parameters : {};
        if (service === 'sns') {
          await this.authorizeTask(execution, 'sns:Publish', String(p.TopicArn ?? ''), 'SNS.AuthorizationErrorException', 'AmazonSNS');
        } else {
          const entries = Array.isArray(p.Entries) ? p.Entries.filter(isPlainObject) : [];
          const buses = new Set(entries.map((e) => String(e.EventBusName ?? 'default')));
          for (const bus of buses) {
            const busArn = bus.startsWith('arn:') ? bus : `arn:${OFFLINE_PARTITION}:events:${OFFLINE_REGION}:${OFFLINE_ACCOUNT_ID}:event-bus/${bus}`;
            await this.authorizeTask(execution, 'events:PutEvents', busArn, 'EventBridge.AccessDeniedException', 'AmazonEventBridge');
          }
        }
        this.calls.push({ service, action, parameters, executionArn: execution.executionArn, at: cloud.clock.now() });
      },
      now: () => cloud.clock.now(),
      advance: (ms) => cloud.clock.advance(ms),
      beforeWait: options.beforeWait,
      log: (line) => this.log(line),
    };
    this.sfn = new LocalStepFunctions(host);
  }

  /** `http://127.0.0.1:<port>`: the runner's Step Functions and SSM endpoints (AWS_ENDPOINT_URL_SFN / _SSM). */
  get servicesEndpoint(): string {
    return this.requireServices().endpoint;
  }

  /** Every execution of this session, oldest first. */
  executions(): readonly ExecutionRecord[] {
    return this.sfn.list();
  }

  /** SNS and EventBridge calls the state machines made (recorded, not sent). */
  recordedCalls(): readonly RecordedCall[] {
    return [...this.calls];
  }

  /** Whether IAM is enforced in this session (see LocalRunnerOptions.iam). */
  get iamEnforced(): boolean {
    return this.identities.enforced;
  }

  /** The stack events of this session. */
  stackEvents(): readonly StackEvent[] {
    return [...this.events];
  }

  /** What the state directory holds for a stack now (undefined once destroyed). */
  stackState(stackName: string): StackState | undefined {
    return this.state.stacks[stackName];
  }

  /** The value of an SSM parameter as the stacks and workflows left it. */
  parameterValue(name: string): string | undefined {
    const record = this.findParameter(name);
    if (record) return String(record.attributes.Value ?? '');
    return this.state.looseParameters[name]?.value;
  }

  /** Resolves once no execution runs (executions of non-blocking models go on after a deploy). */
  async settle(): Promise<void> {
    await this.sfn.settle();
    await this.cloud.emulator.idle();
    this.save();
  }

  /** Deploys every stack of the assembly (or those named), dependencies first. */
  async deploy(assemblyDir: string, options: DeployOptions = {}): Promise<DeployResult> {
    const assembly = readCloudAssembly(assemblyDir);
    const firstEvent = this.events.length;
    const results: StackDeployResult[] = [];
    for (const stack of selectStacks(assembly, options.stacks)) {
      results.push(await this.deployStack(assembly, stack, options.parameters ?? {}));
    }
    return { stacks: results, events: this.events.slice(firstEvent) };
  }

  /** Deletes the named stacks (default: every stack in the state directory, last deployed first). */
  async destroy(options: { stacks?: readonly string[] } = {}): Promise<DestroyResult> {
    const firstEvent = this.events.length;
    const names = options.stacks ? [...options.stacks] : Object.keys(this.state.stacks).reverse();
    const results: StackDestroyResult[] = [];
    for (const name of names) results.push(await this.destroyStack(name));
    return { stacks: results, events: this.events.slice(firstEvent) };
  }

  /** Lets running executions finish, saves the state, stops the services (and the cloud, if the runner started it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.settle();
    } finally {
      this.save();
      await this.services?.close();
      if (this.ownsCloud) await this.cloud.stop();
    }
  }

  // ---- stacks ---------------------------------------------------------------------------------------------------

  private async deployStack(
    assembly: CloudAssembly, stack: AssemblyStack, parameterValues: Readonly<Record<string, string>>,
  ): Promise<StackDeployResult> {
    const name = stack.stackName;
    const template = stack.template;
    if (template.Transform !== undefined) throw new Error(`Stack ${name}: template transforms (${JSON.stringify(template.Transform)}) are not supported offline`);
    if (stack.dockerImageAssets.length > 0) throw new Error(`Stack ${name}: Docker image assets cannot be published offline (${stack.dockerImageAssets.join(', ')})`);
    const refused = templateProblems(template);
    if (refused.length > 0) throw new Error(`Stack ${name} would be refused by AWS, so nothing was deployed:\n  - ${refused.join('\n  - ')}`);
    const startedAt = this.cloud.clock.now();
    await this.publishAssets(stack);

    const prior = this.state.stacks[name];
    const previous = prior && prior.status !== 'ROLLBACK_COMPLETE' ? structuredClone(prior) : undefined;
    const declared = Object.keys(template.Parameters ?? {});
    const overrides = Object.fromEntries(Object.entries({ ...stack.parameters, ...parameterValues }).filter(([k]) => declared.includes(k)));
    const parameters = resolveParameters(template, { overrides });
    const model = new TemplateModel(template);
    const live: StackState = {
      stackName: name,
      status: previous?.status ?? 'CREATE_COMPLETE',
      template,
      parameters,
      resources: previous ? structuredClone(previous.resources) : {},
      outputs: {},
      updatedAt: startedAt,
    };
    const resolver = this.resolverFor(model, live);
    checkRules(template, resolver);
    this.state.stacks[name] = live;
    const order = model.createOrder().filter((id) => model.isActive(id, resolver));
    const active = new Set(order);
    const steps: Step[] = [];
    const summary = {
      created: [] as string[], updated: [] as string[], replaced: [] as string[], unchanged: [] as string[], deleted: [] as string[],
    };
    const replacedOld: { logicalId: string; record: ResourceRecord }[] = [];
    const verb = previous ? 'UPDATE' : 'CREATE';
    this.emit(name, name, 'AWS::CloudFormation::Stack', `${verb}_IN_PROGRESS`);

    let current: Step | undefined;
    let failingId: string | undefined;
    try {
      for (const id of order) {
        failingId = id;
        const resource = model.resource(id);
        const props = resolver.resolve(resource.Properties ?? {}, `Resources.${id}.Properties`) as Record<string, unknown>;
        const before = previous?.resources[id];
        if (!before) {
          current = { logicalId: id, kind: 'create', props };
          live.resources[id] = await this.createOne(stack, assembly, id, resource.Type, props, resource.DeletionPolicy, resource.UpdateReplacePolicy);
          steps.push(current);
          summary.created.push(id);
          continue;
        }
        const changed = before.type === resource.Type ? changedProperties(before.properties, props) : ['Type'];
        if (changed.length === 0) {
          // Policies are template metadata: CloudFormation takes the new ones without touching the resource.
          if (before.deletionPolicy !== resource.DeletionPolicy || before.updateReplacePolicy !== resource.UpdateReplacePolicy) {
            live.resources[id] = { ...before, deletionPolicy: resource.DeletionPolicy, updateReplacePolicy: resource.UpdateReplacePolicy };
          }
          summary.unchanged.push(id);
          continue;
        }
        if (resource.Type === 'AWS::CloudFormation::WaitCondition' && before.type === resource.Type) checkWaitConditionUpdate(id, changed);
        const replacement = before.type !== resource.Type ? 'replace' : replacementFor(resource.Type, changed);
        if (CUSTOM(resource.Type) && before.type === resource.Type) {
          current = { logicalId: id, kind: 'update', before, props };
          const record = await this.updateCustom(stack, id, before, props);
          live.resources[id] = record;
          steps.push(current);
          if (record.physicalId !== before.physicalId) {
            // A new physical id: CloudFormation deletes the old one in its cleanup phase.
            replacedOld.push({ logicalId: id, record: before });
            summary.replaced.push(id);
          } else {
            summary.updated.push(id);
          }
        } else if (replacement === 'replace') {
          current = { logicalId: id, kind: 'replace', before, props };
          live.resources[id] = await this.createOne(stack, assembly, id, resource.Type, props, resource.DeletionPolicy, resource.UpdateReplacePolicy);
          steps.push(current);
          replacedOld.push({ logicalId: id, record: before });
          summary.replaced.push(id);
        } else {
          current = { logicalId: id, kind: 'update', before, props };
          this.emit(name, id, resource.Type, 'UPDATE_IN_PROGRESS', before.physicalId);
          const ctx = this.provisionContext(stack.stackName, id);
          const done = await updateResource(ctx, before, props);
          const record: ResourceRecord = {
            ...before, physicalId: done.physicalId, properties: props, attributes: done.attributes, extra: done.extra,
          };
          this.keepTypeFacts(assembly, stack, record);
          live.resources[id] = record;
          steps.push(current);
          summary.updated.push(id);
          this.emit(name, id, resource.Type, 'UPDATE_COMPLETE', record.physicalId);
        }
        current = undefined;
        this.save();
      }
      failingId = undefined;
      live.outputs = this.resolveOutputs(model, resolver);
    } catch (err) {
      const reason = this.reasonOf(err);
      const failedId = failingId ?? name;
      const failedType = failingId ? model.resource(failingId).Type : 'AWS::CloudFormation::Stack';
      this.emit(name, failedId, failedType, `${current?.kind === 'create' || !previous ? 'CREATE' : 'UPDATE'}_FAILED`, undefined, reason);
      const problems = await this.rollback(stack, model, live, previous, steps, current);
      const status: StackStatus = previous
        ? (problems.length > 0 ? 'UPDATE_ROLLBACK_FAILED' : 'UPDATE_ROLLBACK_COMPLETE')
        : (problems.length > 0 ? 'ROLLBACK_FAILED' : 'ROLLBACK_COMPLETE');
      live.status = status;
      live.updatedAt = this.cloud.clock.now();
      this.emit(name, name, 'AWS::CloudFormation::Stack', status);
      this.save();
      throw new LocalDeployError(name, status, failedId, reason, problems);
    }

    // ---- cleanup: removed resources (reverse order of the previous template), then the replaced ones -------------
    if (previous) {
      const before = new TemplateModel(previous.template);
      const removed = before.deleteOrder().filter((id) => previous.resources[id] && !active.has(id));
      const orphans = Object.keys(previous.resources).filter((id) => !active.has(id) && !removed.includes(id));
      for (const id of [...removed, ...orphans]) {
        await this.cleanupOne(stack.stackName, id, previous.resources[id], 'deletionPolicy');
        delete live.resources[id];
        summary.deleted.push(id);
      }
      for (const { logicalId, record } of replacedOld.reverse()) await this.cleanupOne(stack.stackName, logicalId, record, 'updateReplacePolicy');
    }
    const changed = summary.created.length + summary.updated.length + summary.replaced.length + summary.deleted.length > 0;
    live.status = previous ? (changed ? 'UPDATE_COMPLETE' : previous.status) : 'CREATE_COMPLETE';
    live.updatedAt = this.cloud.clock.now();
    this.emit(name, name, 'AWS::CloudFormation::Stack', changed || !previous ? live.status : 'NO_CHANGES');
    this.save();
    return {
      stackName: name,
      status: changed || !previous ? live.status : 'NO_CHANGES',
      ...summary,
      outputs: live.outputs,
      resources: summarize(live.resources),
      virtualSeconds: (this.cloud.clock.now() - startedAt) / 1000,
    };
  }

  private async destroyStack(name: string): Promise<StackDestroyResult> {
    const live = this.state.stacks[name];
    const startedAt = this.cloud.clock.now();
    if (!live) return { stackName: name, deleted: [], retained: {}, virtualSeconds: 0 };
    this.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_IN_PROGRESS');
    const model = new TemplateModel(live.template);
    const inOrder = model.deleteOrder().filter((id) => live.resources[id]);
    const order = [...inOrder, ...Object.keys(live.resources).filter((id) => !inOrder.includes(id))];
    const deleted: string[] = [];
    const retained: Record<string, StackResourceSummary> = {};
    for (const id of order) {
      const record = live.resources[id];
      if (record.deletionPolicy && RETAINED.has(record.deletionPolicy)) {
        this.emit(name, id, record.type, 'DELETE_SKIPPED', record.physicalId);
        retained[id] = { type: record.type, physicalId: record.physicalId, attributes: record.attributes };
        delete live.resources[id];
        continue;
      }
      try {
        await this.deleteOne(name, id, record);
      } catch (err) {
        const reason = this.reasonOf(err);
        this.emit(name, id, record.type, 'DELETE_FAILED', record.physicalId, reason);
        live.status = 'DELETE_FAILED';
        live.updatedAt = this.cloud.clock.now();
        this.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_FAILED');
        this.save();
        throw new LocalDeployError(name, 'DELETE_FAILED', id, reason);
      }
      delete live.resources[id];
      deleted.push(id);
      this.save();
    }
    delete this.state.stacks[name];
    this.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_COMPLETE');
    this.save();
    return { stackName: name, deleted, retained, virtualSeconds: (this.cloud.clock.now() - startedAt) / 1000 };
  }

  /** Undoes the steps of a failed deploy in reverse; returns what could not be undone. */
  private async rollback(
    stack: AssemblyStack, model: TemplateModel, live: StackState, previous: StackState | undefined, steps: Step[], failed: Step | undefined,
  ): Promise<string[]> {
    const problems: string[] = [];
    // Resources that could not be undone, and what they need: CloudFormation never deletes what a remaining resource uses.
    const kept = new Set<string>();
    const name = stack.stackName;
    this.emit(name, name, 'AWS::CloudFormation::Stack', previous ? 'UPDATE_ROLLBACK_IN_PROGRESS' : 'ROLLBACK_IN_PROGRESS');
    // A custom resource whose Update failed is sent the previous properties too, as CloudFormation does.
    const undo = [...steps];
    if (failed?.kind === 'update' && failed.before && CUSTOM(failed.before.type)) undo.push(failed);
    for (const step of undo.reverse()) {
      const record = live.resources[step.logicalId];
      try {
        if (step.kind === 'create' || step.kind === 'replace') {
          const user = model.dependents(step.logicalId).find((d) => kept.has(d));
          if (user) {
            kept.add(step.logicalId);
            this.emit(name, step.logicalId, record?.type ?? '', 'DELETE_SKIPPED', record?.physicalId, `${user} depends on it and could not be deleted`);
            continue;
          }
          if (record && record !== step.before) {
            if (record.deletionPolicy && RETAINED.has(record.deletionPolicy) && step.kind === 'create') {
              this.emit(name, step.logicalId, record.type, 'DELETE_SKIPPED', record.physicalId);
            } else {
              await this.deleteOne(name, step.logicalId, record);
            }
          }
          if (step.before) live.resources[step.logicalId] = step.before;
          else delete live.resources[step.logicalId];
        } else if (step.before) {
          // What is deployed now carries the properties this deploy asked for (OldResourceProperties of the way back).
          const now = { ...(record ?? step.before), properties: step.props };
          if (CUSTOM(step.before.type)) {
            const back = await this.customRequest(stack.stackName, step.logicalId, step.before.type, 'Update', step.before.properties, now);
            live.resources[step.logicalId] = { ...step.before, attributes: back.data };
          } else {
            const ctx = this.provisionContext(name, step.logicalId);
            const done = await updateResource(ctx, now, step.before.properties);
            live.resources[step.logicalId] = { ...step.before, attributes: done.attributes, extra: done.extra };
          }
          this.emit(name, step.logicalId, step.before.type, 'UPDATE_COMPLETE', step.before.physicalId);
        }
      } catch (err) {
        const reason = this.reasonOf(err);
        kept.add(step.logicalId);
        problems.push(`${step.logicalId}: ${reason}`);
        this.emit(name, step.logicalId, record?.type ?? step.before?.type ?? '', 'ROLLBACK_FAILED', record?.physicalId, reason);
      }
    }
    if (previous && problems.length === 0) {
      live.template = previous.template;
      live.parameters = previous.parameters;
      live.outputs = previous.outputs;
    }
    return problems;
  }

  // ---- single resources -----------------------------------------------------------------------------------------

  private async createOne(
    stack: AssemblyStack, assembly: CloudAssembly, id: string, type: string, props: Record<string, unknown>,
    deletionPolicy: string | undefined, updateReplacePolicy: string | undefined,
  ): Promise<ResourceRecord> {
    const name = stack.stackName;
    this.emit(name, id, type, 'CREATE_IN_PROGRESS');
    let record: ResourceRecord;
    if (CUSTOM(type)) {
      const result = await this.customRequest(name, id, type, 'Create', props);
      record = { type, physicalId: result.physicalId, properties: props, attributes: result.data, deletionPolicy, updateReplacePolicy };
    } else {
      const done = await createResource(this.provisionContext(name, id), type, props);
      record = { type, physicalId: done.physicalId, properties: props, attributes: done.attributes, deletionPolicy, updateReplacePolicy,
        extra: done.extra };
      this.keepTypeFacts(assembly, stack, record);
    }
    this.emit(name, id, type, 'CREATE_COMPLETE', record.physicalId, isKnownType(type) || CUSTOM(type) ? undefined : 'recorded only');
    return record;
  }

  private async updateCustom(stack: AssemblyStack, id: string, before: ResourceRecord, props: Record<string, unknown>): Promise<ResourceRecord> {
    this.emit(stack.stackName, id, before.type, 'UPDATE_IN_PROGRESS', before.physicalId);
    const result = await this.customRequest(stack.stackName, id, before.type, 'Update', props, before);
    this.emit(stack.stackName, id, before.type, 'UPDATE_COMPLETE', result.physicalId);
    return { ...before, physicalId: result.physicalId, properties: props, attributes: result.data };
  }

  private async deleteOne(stackName: string, id: string, record: ResourceRecord): Promise<void> {
    this.emit(stackName, id, record.type, 'DELETE_IN_PROGRESS', record.physicalId);
    if (CUSTOM(record.type)) {
      await this.customRequest(stackName, id, record.type, 'Delete', record.properties, record);
    } else {
      if (record.type === 'AWS::StepFunctions::StateMachine') await this.sfn.stopAll(record.physicalId);
      await deleteResource(this.provisionContext(stackName, id), record);
    }
    this.emit(stackName, id, record.type, 'DELETE_COMPLETE', record.physicalId);
  }

  /** Cleanup-phase deletes: a failure is reported, not fatal (the stack stays updated), as in CloudFormation. */
  private async cleanupOne(stackName: string, id: string, record: ResourceRecord, policy: 'deletionPolicy' | 'updateReplacePolicy'): Promise<void> {
    const rule = record[policy];
    if (rule && RETAINED.has(rule)) {
      this.emit(stackName, id, record.type, 'DELETE_SKIPPED', record.physicalId);
      return;
    }
    try {
      await this.deleteOne(stackName, id, record);
    } catch (err) {
      this.emit(stackName, id, record.type, 'DELETE_FAILED', record.physicalId, this.reasonOf(err));
    }
  }

  private async customRequest(
    stackName: string, id: string, type: string, kind: 'Create' | 'Update' | 'Delete', props: Record<string, unknown>, current?: ResourceRecord,
  ): Promise<CustomResourceResult> {
    const request: CustomResourceRequest = {
      RequestType: kind,
      ServiceToken: String(props.ServiceToken ?? ''),
      ResponseURL: `${this.servicesEndpoint}/cfn-response/pending`,
      StackId: defaultStackId(OFFLINE_PARTITION, OFFLINE_REGION, OFFLINE_ACCOUNT_ID, stackName),
      RequestId: newRequestId(),
      LogicalResourceId: id,
      ...(kind === 'Create' ? {} : { PhysicalResourceId: current?.physicalId }),
      ResourceType: type,
      ResourceProperties: stringifyScalars(props) as Record<string, unknown>,
      ...(kind === 'Update' && current ? { OldResourceProperties: stringifyScalars(current.properties) as Record<string, unknown> } : {}),
    };
    try {
      const timeoutSeconds = serviceTimeoutOf(props);
      const startedAt = this.cloud.clock.now();
      const result = await invokeCustomResource(this.customResourceHost(), request);
      // CloudFormation stops waiting after ServiceTimeout, whatever the provider does later.
      if (this.cloud.clock.now() - startedAt > timeoutSeconds * 1000) throw new Error(noResponseMessage(request.RequestId));
      const response = { Status: 'SUCCESS', Reason: '', PhysicalResourceId: result.physicalId, StackId: request.StackId, RequestId: request.RequestId,
        LogicalResourceId: request.LogicalResourceId, Data: result.data };
      if (customResourceResponseBytes(response) > MAX_CUSTOM_RESOURCE_RESPONSE_BYTES) throw new Error('Response object is too long.');
      return result;
    } catch (err) {
      if (err instanceof CustomResourceFailed) {
        throw new Error(`Received response status [FAILED] from custom resource. Message returned: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  /** Functions keep their code folder (copied into the state directory, so destroy works without cdk.out). */
  private keepTypeFacts(assembly: CloudAssembly, stack: AssemblyStack, record: ResourceRecord): void {
    if (record.type !== 'AWS::Lambda::Function') return;
    const code = isPlainObject(record.properties.Code) ? record.properties.Code : {};
    let codeDir: string | undefined;
    if (typeof code.ZipFile === 'string') {
      codeDir = path.join(this.codeRoot, `inline-${sha(code.ZipFile).slice(0, 16)}`);
      fs.mkdirSync(codeDir, { recursive: true });
      fs.writeFileSync(path.join(codeDir, 'index.js'), code.ZipFile);
    } else if (typeof code.S3Bucket === 'string' && typeof code.S3Key === 'string') {
      const asset = findAsset(assembly, stack, code.S3Bucket, code.S3Key);
      if (asset && fs.existsSync(asset.sourcePath) && fs.statSync(asset.sourcePath).isDirectory()) {
        codeDir = path.join(this.codeRoot, asset.id);
        if (!fs.existsSync(codeDir)) {
          const tmp = `${codeDir}.${process.pid}.tmp`;
          fs.cpSync(asset.sourcePath, tmp, { recursive: true });
          fs.renameSync(tmp, codeDir);
        }
      }
    }
    record.extra = { ...record.extra, ...(codeDir ? { codeDir } : {}) };
  }

  // ---- what handlers and state machines call ----------------------------------------------------------------------

  private async startServices(): Promise<void> {
    this.services = await LocalServices.start({
      port: this.state.servicesPort ?? 0,
      log: this.options.debug,
      authorize: async (service, operation, input, headers) => {
        const caller = this.identities.enforced ? this.cloud.access.callerOf(headers) : undefined;
        if (!caller) return undefined;
        for (const request of localServiceRequests(service.targetPrefix, operation, input,
          { partition: OFFLINE_PARTITION, region: OFFLINE_REGION, accountId: OFFLINE_ACCOUNT_ID })) {
          const denied = await this.cloud.access.decide(caller, request);
          if (denied) return new LocalServiceError('AccessDeniedException', denied.message);
        }
        return undefined;
      },
      services: [
        { targetPrefix: 'AWSStepFunctions.', jsonVersion: '1.0', handle: (op, input) => this.sfn.handle(op, input) },
        { targetPrefix: 'AmazonSSM.', jsonVersion: '1.1', handle: async (op, input) => ssmOperation(this.parameters, op, input, () => this.cloud.clock.now()) },
        {
          targetPrefix: 'AWSEvents.', jsonVersion: '1.1', handle: async (op, input) => {
            if (op !== 'PutEvents') throw new LocalServiceError('UnknownOperationException', `EventBridge ${op} is not served offline`);
            this.calls.push({ service: 'events', action: 'putEvents', parameters: input, executionArn: '', at: this.cloud.clock.now() });
            const entries = Array.isArray(input.Entries) ? input.Entries : [];
            return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: crypto.randomUUID() })) };
          },
        },
      ],
      puts: {
        '/wait-condition/': (pathname, body) => this.signal(pathname, body),
        '/cfn-response/': (pathname, body) => {
          const resolve = this.responses.get(pathname.slice('/cfn-response/'.length));
          if (!resolve) return 404;
          resolve(JSON.parse(body) as Record<string, unknown>);
          return 200;
        },
      },
    });
    this.state.servicesPort = this.services.port;
    const cloud = this.cloud;
    const endpoint = this.services.endpoint;
    this.lambdaHost = new LambdaHost({
      log: this.options.debug,
      processes: this.options.lambdaProcesses,
      baseEnvironment: {
        AWS_REGION: OFFLINE_REGION,
        AWS_DEFAULT_REGION: OFFLINE_REGION,
        AWS_ACCESS_KEY_ID: 'offline',
        AWS_SECRET_ACCESS_KEY: 'offline',
        AWS_SESSION_TOKEN: 'offline',
        // Every other service goes to the runner's endpoint, which refuses what it does not serve: nothing reaches AWS.
        AWS_ENDPOINT_URL: endpoint,
        AWS_ENDPOINT_URL_REKOGNITION: cloud.rekognitionEndpoint,
        AWS_ENDPOINT_URL_S3: cloud.s3Endpoint,
        AWS_ENDPOINT_URL_SFN: endpoint,
        AWS_ENDPOINT_URL_SSM: endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: path.join(this.codeRoot, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(this.codeRoot, 'no-aws-credentials'),
      },
    });
  }

  private requireServices(): LocalServices {
    if (!this.services) throw new Error('The runner is not open');
    return this.services;
  }

  private signal(pathname: string, body: string): number {
    const handle = this.allResources().find(({ record }) => record.type === 'AWS::CloudFormation::WaitConditionHandle'
      && urlPath(record.physicalId) === pathname);
    if (!handle) return 404;
    let parsed: Partial<WaitSignal>;
    try {
      parsed = JSON.parse(body) as Partial<WaitSignal>;
    } catch {
      return 400;
    }
    if (parsed.Status !== 'SUCCESS' && parsed.Status !== 'FAILURE') return 400;
    const signal: WaitSignal = { Status: parsed.Status, UniqueId: String(parsed.UniqueId ?? ''), Data: String(parsed.Data ?? ''),
      Reason: String(parsed.Reason ?? '') };
    const signals = Array.isArray(handle.record.extra?.signals) ? (handle.record.extra.signals as WaitSignal[]) : [];
    handle.record.extra = { ...handle.record.extra, signals: [...signals.filter((s) => s.UniqueId !== signal.UniqueId), signal] };
    this.log(`${handle.stackName} ${handle.logicalId}: ${signal.Status} signal${signal.Reason ? ` (${signal.Reason.slice(0, 200)})` : ''}`);
    return 200;
  }

  /** The SSM parameters: those the stacks declare, then those the workflows put (loose). */
  private parameterStore(): ParameterStore {
    return {
      get: (name) => {
        const record = this.findParameter(name);
        if (record) {
          return { value: String(record.attributes.Value ?? ''), version: Number(record.extra?.version ?? 1), type: String(record.attributes.Type ?? 'String') };
        }
        return this.state.looseParameters[name];
      },
      put: (name, value, type) => {
        const record = this.findParameter(name);
        if (record) {
          const version = Number(record.extra?.version ?? 1) + 1;
          record.attributes = { ...record.attributes, Value: value };
          record.extra = { ...record.extra, version };
          return version;
        }
        const version = (this.state.looseParameters[name]?.version ?? 0) + 1;
        this.state.looseParameters[name] = { value, version, type: type ?? 'String' };
        return version;
      },
    };
  }

  private async invokeFunction(arnOrName: string, payload: unknown): Promise<unknown> {
    const spec = this.findFunction(arnOrName);
    if (!spec) throw Object.assign(new Error(`Function not found: ${arnOrName}`), { name: 'Lambda.ResourceNotFoundException' });
    return this.requireLambdaHost().invoke(spec, payload);
  }

  private requireLambdaHost(): LambdaHost {
    if (!this.lambdaHost) throw new Error('The runner is not open');
    return this.lambdaHost;
  }

  private customResourceHost(): CustomResourceHost {
    return {
      findFunction: (arn) => this.findFunction(arn),
      invoke: (spec, event) => this.requireLambdaHost().invoke(spec, event),
      stateMachineDefinition: (arn) => this.stateMachine(arn)?.definition,
      stateMachineRole: (arn) => this.stateMachineRole(arn),
      authorize: async (as, action, resource) => {
        const caller = this.identities.caller(as.roleArn, as.session);
        if (caller) await this.cloud.access.check(caller, { action, resource });
      },
      advance: (ms) => this.cloud.clock.advance(ms),
      responseUrl: () => {
        const id = crypto.randomUUID();
        let resolve!: (body: Record<string, unknown>) => void;
        const response = new Promise<Record<string, unknown>>((r) => { resolve = r; });
        this.responses.set(id, (body) => {
          this.responses.delete(id);
          resolve(body);
        });
        return { url: `${this.servicesEndpoint}/cfn-response/${id}`, response, cancel: () => this.responses.delete(id) };
      },
      log: (line) => this.log(line),
    };
  }

  private findFunction(arnOrName: string): LambdaFunctionSpec | undefined {
    // `arn:...:function:<name>[:qualifier]` or a bare name.
    const match = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(arnOrName);
    const name = match ? match[1] : arnOrName;
    const found = this.allResources().find(({ record }) => record.type === 'AWS::Lambda::Function' && record.physicalId === name);
    if (!found) return undefined;
    const { record } = found;
    const props = record.properties;
    const envBlock = isPlainObject(props.Environment) && isPlainObject(props.Environment.Variables) ? props.Environment.Variables : {};
    const codeDir = typeof record.extra?.codeDir === 'string' ? record.extra.codeDir : '';
    if (!codeDir) throw new Error(`Function ${name} (${found.logicalId}) has no code the runner can load (only directory assets and ZipFile are supported)`);
    const roleArn = typeof props.Role === 'string' ? props.Role : undefined;
    return {
      functionName: name,
      functionArn: String(record.attributes.Arn ?? arnOrName),
      roleArn,
      credentials: this.identities.credentials(roleArn, name),
      codeDir,
      handler: String(props.Handler ?? 'index.handler'),
      runtime: typeof props.Runtime === 'string' ? props.Runtime : undefined,
      environment: Object.fromEntries(Object.entries(envBlock).map(([k, v]) => [k, String(v)])),
      timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : Number(props.Timeout ?? 3),
      memorySize: typeof props.MemorySize === 'number' ? props.MemorySize : Number(props.MemorySize ?? 128),
    };
  }

  private stateMachine(arn: string): { definition: string; name: string } | undefined {
    const found = this.allResources().find(({ record }) => record.type === 'AWS::StepFunctions::StateMachine' && record.physicalId === arn);
    if (!found) return undefined;
    const props = found.record.properties;
    let definition = typeof props.DefinitionString === 'string' ? props.DefinitionString
      : isPlainObject(props.Definition) ? JSON.stringify(props.Definition) : '';
    if (isPlainObject(props.DefinitionSubstitutions)) {
      for (const [key, value] of Object.entries(props.DefinitionSubstitutions)) definition = definition.split(`\${${key}}`).join(String(value));
    }
    return { definition, name: String(found.record.attributes.Name ?? arn.split(':').pop()) };
  }

  /** The role a state machine's tasks run as. */
  private stateMachineRole(arn: string): string | undefined {
    const found = this.allResources().find(({ record }) => record.type === 'AWS::StepFunctions::StateMachine' && record.physicalId === arn);
    const role = found?.record.properties.RoleArn;
    return typeof role === 'string' ? role : undefined;
  }

  private stateMachineSession(arn: string): string {
    return arn.split(':').pop() ?? 'states';
  }

  private taskIdentity(execution: ExecutionRecord): TaskIdentity | undefined {
    const roleArn = this.stateMachineRole(execution.stateMachineArn);
    const session = this.stateMachineSession(execution.stateMachineArn);
    const credentials = this.identities.credentials(roleArn, session);
    return credentials && { credentials, caller: this.identities.caller(roleArn, session) };
  }

  /**
   * An integration Step Functions calls with the state machine's role: refused as the service would answer, under the
   * error name Step Functions gives it, with the service's message in the Cause.
   */
  private async authorizeTask(execution: ExecutionRecord, action: string, resource: string, errorName: string, service: string): Promise<void> {
    const caller = this.taskIdentity(execution)?.caller;
    const denied = caller ? await this.cloud.access.decide(caller, { action, resource }) : undefined;
    if (denied) {
      throw Object.assign(new Error(`${denied.message} (Service: ${service}; Status Code: 403; Error Code: AccessDeniedException; `
        + `Request ID: ${crypto.randomUUID()}; Proxy: null)`), { name: errorName });
    }
  }

  /** A function name or (partial) ARN as the full, unqualified function ARN IAM authorizes. */
  private functionArnOf(nameOrArn: string): string {
    const spec = this.findFunction(nameOrArn);
    return spec?.functionArn ?? nameOrArn;
  }

  private findParameter(name: string): ResourceRecord | undefined {
    return this.allResources().find(({ record }) => record.type === 'AWS::SSM::Parameter' && record.physicalId === name)?.record;
  }

  private allResources(): { stackName: string; logicalId: string; record: ResourceRecord }[] {
    return Object.values(this.state.stacks)
      .flatMap((s) => Object.entries(s.resources).map(([logicalId, record]) => ({ stackName: s.stackName, logicalId, record })));
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  private resolverFor(model: TemplateModel, live: StackState): IntrinsicResolver {
    return model.resolver({
      stackName: live.stackName,
      accountId: OFFLINE_ACCOUNT_ID,
      region: OFFLINE_REGION,
      partition: OFFLINE_PARTITION,
      parameters: live.parameters,
      ref: (id) => live.resources[id]?.physicalId,
      getAtt: (id, attribute) => {
        const record = live.resources[id];
        if (!record) return undefined;
        const value = record.attributes[attribute];
        return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
      },
    });
  }

  private resolveOutputs(model: TemplateModel, resolver: IntrinsicResolver): Record<string, string> {
    const outputs: Record<string, string> = {};
    for (const [name, output] of Object.entries(model.template.Outputs ?? {})) {
      if (output.Condition !== undefined && !resolver.condition(output.Condition, `Outputs.${name}.Condition`)) continue;
      const value = resolver.resolve(output.Value, `Outputs.${name}.Value`);
      outputs[name] = Array.isArray(value) ? value.join(',') : String(value);
    }
    return outputs;
  }

  private async publishAssets(stack: AssemblyStack): Promise<void> {
    const buckets = new Set<string>();
    for (const asset of stack.fileAssets) {
      if (asset.isTemplate) continue;
      let body: Buffer | undefined;
      for (const d of asset.destinations) {
        const bucket = resolveAssetPlaceholders(d.bucketName);
        const key = resolveAssetPlaceholders(d.objectKey);
        if (!buckets.has(bucket)) {
          await this.s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: unknown) => {
            if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorName(err))) throw err;
          });
          buckets.add(bucket);
        }
        // Asset keys are content hashes: an object already there holds these bytes.
        const exists = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
        if (exists) continue;
        body ??= assetBytes(asset);
        await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      }
    }
  }

  private provisionContext(stackName: string, logicalId: string): ProvisionContext {
    return {
      stackName,
      logicalId,
      region: OFFLINE_REGION,
      accountId: OFFLINE_ACCOUNT_ID,
      partition: OFFLINE_PARTITION,
      s3: this.s3,
      rekognition: this.rekognition,
      servicesEndpoint: this.servicesEndpoint,
      now: () => this.cloud.clock.now(),
      advance: (ms) => this.cloud.clock.advance(ms),
      idle: () => this.sfn.runningCount === 0,
      signals: (url) => {
        const handle = this.allResources().find(({ record }) => record.type === 'AWS::CloudFormation::WaitConditionHandle'
          && urlPath(record.physicalId) === urlPath(url));
        return Array.isArray(handle?.record.extra?.signals) ? (handle.record.extra.signals as WaitSignal[]) : [];
      },
      log: (line) => this.log(line),
    };
  }

  /** The failure text; a wait condition that timed out also names executions that broke for runner reasons. */
  private reasonOf(err: unknown): string {
    let reason = errorMessage(err);
    if (errorName(err) !== 'Error' && errorName(err) !== 'ResourceError' && !reason.startsWith(errorName(err))) reason = `${errorName(err)}: ${reason}`;
    const broken = this.sfn.list().filter((e) => e.error === 'Runner.Error');
    if (/WaitCondition timed out/.test(reason) && broken.length > 0) {
      reason += ` (the workflow could not run offline: ${broken.map((e) => e.cause).join('; ')})`;
    }
    return reason;
  }

  private emit(stackName: string, logicalId: string, resourceType: string, status: string, physicalId?: string, reason?: string): void {
    const event: StackEvent = { at: this.cloud.clock.now(), stackName, logicalId, resourceType, status,
      ...(physicalId ? { physicalId } : {}), ...(reason ? { reason } : {}) };
    this.events.push(event);
    this.options.onEvent?.(event);
    this.log(`${stackName} | ${logicalId} (${resourceType}) ${status}${reason ? `: ${reason}` : ''}`);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private save(): void {
    this.state.virtualNow = this.cloud.clock.now();
    this.store.save(this.state);
  }
}

/** Deploys a cloud assembly offline in one call: opens a session, deploys, lets executions finish, closes. */
export async function deployLocal(options: LocalRunnerOptions & DeployOptions & { readonly assemblyDir: string }): Promise<DeployResult> {
  const runner = await LocalRunner.open(options);
  try {
    return await runner.deploy(options.assemblyDir, options);
  } finally {
    await runner.close();
  }
}

/** Destroys what a state directory holds (every stack, or those named) in one call. */
export async function destroyLocal(options: LocalRunnerOptions & { readonly stacks?: readonly string[] }): Promise<DestroyResult> {
  const runner = await LocalRunner.open(options);
  try {
    return await runner.destroy({ stacks: options.stacks });
  } finally {
    await runner.close();
  }
}

function selectStacks(assembly: CloudAssembly, names: readonly string[] | undefined): AssemblyStack[] {
  if (!names) return [...assembly.stacks];
  const wanted = new Set<string>();
  const byId = new Map(assembly.stacks.map((s) => [s.artifactId, s]));
  const add = (s: AssemblyStack): void => {
    if (wanted.has(s.artifactId)) return;
    wanted.add(s.artifactId);
    for (const d of s.stackDependencies) {
      const dep = byId.get(d);
      if (dep) add(dep);
    }
  };
  for (const name of names) {
    const stack = assembly.stacks.find((s) => s.stackName === name || s.artifactId === name || s.displayName === name);
    if (!stack) throw new Error(`No stack ${JSON.stringify(name)} in the assembly; it has: ${assembly.stacks.map((s) => s.stackName).join(', ')}`);
    add(stack);
  }
  return assembly.stacks.filter((s) => wanted.has(s.artifactId));
}

function findAsset(assembly: CloudAssembly, stack: AssemblyStack, bucket: string, key: string): FileAsset | undefined {
  const all = [stack, ...assembly.stacks.filter((s) => s !== stack)].flatMap((s) => s.fileAssets);
  return all.find((a) => a.destinations.some((d) => resolveAssetPlaceholders(d.bucketName) === bucket
    && resolveAssetPlaceholders(d.objectKey) === key));
}

function summarize(resources: Record<string, ResourceRecord>): Record<string, StackResourceSummary> {
  return Object.fromEntries(Object.entries(resources).map(([id, r]) => [id, { type: r.type, physicalId: r.physicalId, attributes: r.attributes }]));
}

function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function sha(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
