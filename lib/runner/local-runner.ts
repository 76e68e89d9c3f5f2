/**
 * Deploys, updates and destroys a synthesized cloud assembly offline, the way CloudFormation would: every feature the
 * runner cannot run is refused before anything is created (preflight.ts), file assets go to the local S3, stacks are
 * deployed in dependency order (stack-deploy.ts: resources one at a time, an update sends exactly the changes, a failure
 * rolls back) and destroyed in reverse (stack-destroy.ts). Custom resources get real CloudFormation requests, state
 * machines run on aws-local-stepfunctions, and every wait moves the emulator's virtual clock instead of sleeping.
 *
 * This file is the session: it opens (state directory lock, local services) and closes, and orders the stacks.
 */
import * as path from 'node:path';

import { LocalCloud, startLocalCloud } from '../emulator/local-cloud';
import { acquireStateDirLock, StateDirLock } from '../emulator/state-dir-lock';
import { requirePolicyEngine } from '../iam/engine';
import { AssemblyStack, CloudAssembly, readCloudAssembly } from './assembly';
import { publishAssets } from './asset-publishing';
import { CrossStackRegistry } from './cross-stack';
import { BusEvent, EventDelivery } from './event-bus';
import { ExecutionRecord } from './executions';
import { DeployedDirectory, RunnerIdentities } from './identities';
import { OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { RunnerStateStore, StackState } from './local-state';
import { modelSummaries,ModelSummary } from './model-summary';
import { NestedStacks } from './nested-stacks';
import { assertRunnable } from './preflight';
import { ResourceOps } from './resource-ops';
import { RunnerContext } from './runner-context';
import {
  DeployOptions, DeployResult, DestroyOptions, DestroyResult, LocalRunnerOptions, RecordedCall, StackDeployResult, StackDestroyResult, StackEvent,
} from './runner-types';
import { ScheduleInvocation } from './scheduler';
import { StackDeployer } from './stack-deploy';
import { destroyStack } from './stack-destroy';

export * from './runner-types';

/** A deploy session: the local services are up, state is loaded; deploy and destroy as often as needed, then close(). */
export class LocalRunner {
  /** Opens a session on a state directory (taking its lock: see LocalRunnerOptions.stateDir). */
  static async open(options: LocalRunnerOptions): Promise<LocalRunner> {
    // Fail before anything starts when IAM is to be enforced and the policy engine is not installed.
    if (options.iam !== false) requirePolicyEngine();
    const store = new RunnerStateStore(options.stateDir);
    if (options.mustExist && !store.exists()) {
      throw new Error(`No offline deployment in ${options.stateDir}: ${store.file} does not exist (check --state-dir; nothing was created)`);
    }
    // A cloud started on this same directory holds its lock already: the session shares it.
    const dir = path.resolve(options.stateDir);
    const shared = options.cloud?.stateDir === dir ? options.cloud.stateDirLock : undefined;
    const held = shared ?? await acquireStateDirLock(dir, { holder: options.holder ?? 'the offline runner' });
    const lock: StateDirLock = shared ? { stateDir: dir, release: async () => undefined } : held;
    let cloud: LocalCloud | undefined;
    try {
      const state = store.load();
      cloud = options.cloud ?? await startLocalCloud({ stateDir: options.stateDir, timeScale: 0, stateDirLock: lock });
      const lastNow = state.virtualNow ?? 0;
      if (lastNow > cloud.clock.now()) cloud.clock.advance(lastNow - cloud.clock.now());
      const runner = new LocalRunner(new RunnerContext(options, state, store, cloud,
        new RunnerIdentities(options.iam === false ? undefined : cloud.access)), options.cloud === undefined, lock);
      await runner.ctx.runtime.start();
      return runner;
    } catch (err) {
      if (!options.cloud) await cloud?.stop();
      await lock.release();
      throw err;
    }
  }

  readonly cloud: LocalCloud;
  private readonly ops: ResourceOps;
  private readonly registry: CrossStackRegistry;
  private readonly deployer: StackDeployer;
  private closed = false;

  private constructor(private readonly ctx: RunnerContext, private readonly ownsCloud: boolean, private readonly lock: StateDirLock) {
    this.cloud = ctx.cloud;
    if (ctx.identities.enforced) {
      ctx.cloud.access.useDirectory(new DeployedDirectory(() => ctx.world.allResources(), OFFLINE_REGION, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION));
    } else {
      ctx.log('IAM is not enforced (--no-iam): this run proves nothing about the permissions of the stack\'s roles');
    }
    this.ops = new ResourceOps(ctx);
    this.registry = new CrossStackRegistry(ctx.state);
    this.deployer = new StackDeployer(ctx, this.ops, this.registry);
    this.ops.nested = new NestedStacks(ctx, {
      deploy: (source, target) => this.deployer.deploy(source, target),
      destroy: (name) => destroyStack(ctx, this.ops, this.registry, name),
    });
  }

  /** `http://127.0.0.1:<port>`: the runner's Step Functions and SSM endpoints (AWS_ENDPOINT_URL_SFN / _SSM). */
  get servicesEndpoint(): string {
    return this.ctx.runtime.endpoint;
  }

  /** Every execution of this session, oldest first. */
  executions(): readonly ExecutionRecord[] {
    return this.ctx.runtime.sfn.list();
  }

  /**
   * Every time a deployed EventBridge Scheduler schedule fired in this session, oldest first: the schedule's name, the
   * occurrence and the virtual time it fired, its target and the outcome (a denied or missing target is FAILED).
   */
  scheduleInvocations(): readonly ScheduleInvocation[] {
    return [...this.ctx.runtime.scheduler.list()];
  }

  /** Every event put on the default event bus in this session (S3 "Object Created" events, PutEvents entries), oldest first. */
  busEvents(): readonly BusEvent[] {
    return [...this.ctx.runtime.eventBus.eventList()];
  }

  /** Every call of an EventBridge rule's target in this session: the rule, the event, the target, its input and the outcome. */
  eventDeliveries(): readonly EventDelivery[] {
    return [...this.ctx.runtime.eventBus.deliveryList()];
  }

  /** SNS and EventBridge calls the state machines made (recorded, not sent). */
  recordedCalls(): readonly RecordedCall[] {
    return this.ctx.runtime.recordedCalls();
  }

  /** Whether IAM is enforced in this session (see LocalRunnerOptions.iam). */
  get iamEnforced(): boolean {
    return this.ctx.identities.enforced;
  }

  /** The stack events of this session. */
  stackEvents(): readonly StackEvent[] {
    return [...this.ctx.events];
  }

  /** What the state directory holds for a stack now (undefined once destroyed). */
  stackState(stackName: string): StackState | undefined {
    return this.ctx.state.stacks[stackName];
  }

  /** The names of the stacks the state directory holds (nested ones included), in the order they were deployed. */
  stackNames(): string[] {
    return Object.keys(this.ctx.state.stacks);
  }

  /** The value of an SSM parameter as the stacks and workflows left it. */
  parameterValue(name: string): string | undefined {
    const record = this.ctx.world.findParameter(name);
    if (record) return String(record.attributes.Value ?? '');
    return this.ctx.state.looseParameters[name]?.value;
  }

  /**
   * Invokes a deployed function as Lambda's Invoke would, synchronously: it runs with its role's credentials, so what
   * it calls is authorized as in AWS. `fn` is its name, its ARN, or (here only, not through the Lambda endpoint) its
   * construct path (`Stack/Detect`, recorded by `cdk synth`) or `<stack>/<logical id>`. Resolves to its result;
   * rejects with its error, or, for an unknown function, `ResourceNotFoundException` naming the functions deployed.
   */
  async invoke(fn: string, payload: unknown): Promise<unknown> {
    const functions = Object.values(this.ctx.state.stacks).flatMap((stack) => Object.entries(stack.resources)
      .filter(([, r]) => r.type === 'AWS::Lambda::Function')
      .map(([id, r]) => {
        // `cdk synth` records construct paths; an app synthesized in-process without path metadata has logical ids.
        const cdkPath = stack.template.Resources?.[id]?.Metadata?.['aws:cdk:path'];
        const byId = `${stack.stackName}/${id}`;
        return { name: r.physicalId, names: typeof cdkPath === 'string' ? [cdkPath.replace(/\/Resource$/, ''), byId] : [byId] };
      }));
    const byPath = functions.find((f) => f.names.includes(fn));
    if (!byPath && !this.ctx.world.findFunction(fn)) {
      const deployed = functions.map((f) => `${f.names[0]} (${f.name})`).join(', ') || 'none';
      throw Object.assign(new Error(`Function not found: ${fn}. Deployed: ${deployed}`), { name: 'ResourceNotFoundException' });
    }
    return this.ctx.runtime.invokeFunction(byPath?.name ?? fn, payload);
  }

  /** Each model the deployed stacks define: its serving version, F1, whether it runs, and what the session cost. */
  async models(): Promise<ModelSummary[]> {
    return modelSummaries(this.ctx);
  }

  /**
   * Lets `ms` of virtual time pass: executions, handlers and schedules run meanwhile, each at its own virtual time.
   */
  async runFor(ms: number): Promise<void> {
    await this.cloud.clock.sleep(ms);
    await this.ctx.runtime.scheduler.idle();
    await this.ctx.runtime.eventBus.idle();
    await this.cloud.emulator.idle();
    this.ctx.save();
  }

  /** Resolves once no execution runs (executions of non-blocking models go on after a deploy). */
  async settle(): Promise<void> {
    const { scheduler, eventBus, sfn } = this.ctx.runtime;
    // Executions put events and events start executions: until all three are quiet.
    do {
      await scheduler.idle();
      await eventBus.idle();
      await sfn.settle();
    } while (scheduler.busy || eventBus.busy || sfn.runningCount > 0);
    await this.cloud.emulator.idle();
    this.ctx.save();
  }

  /**
   * Deploys every stack of the assembly (or those named, with the stacks they depend on), dependencies first. What the
   * runner cannot run is refused, by construct path, before anything is created (PreflightError).
   */
  async deploy(assemblyDir: string, options: DeployOptions = {}): Promise<DeployResult> {
    const assembly = readCloudAssembly(assemblyDir);
    const stacks = selectStacks(assembly, options.stacks);
    assertRunnable(assembly, stacks);
    const firstEvent = this.ctx.events.length;
    const results: StackDeployResult[] = [];
    for (const stack of stacks) {
      await publishAssets(this.ctx.s3, stack);
      const byId = new Map(assembly.stacks.map((s) => [s.artifactId, s.stackName]));
      results.push(await this.deployer.deploy({ assembly, stack }, {
        stackName: stack.stackName,
        template: stack.template,
        parameterValues: { ...stack.parameters, ...options.parameters },
        artifactId: stack.artifactId,
      }));
      const live = this.ctx.state.stacks[stack.stackName];
      if (live) live.dependsOn = stack.stackDependencies.map((d) => byId.get(d) ?? d);
    }
    this.ctx.runtime.scheduler.sync();
    this.ctx.save();
    return { stacks: results, events: this.ctx.events.slice(firstEvent) };
  }

  /**
   * Deletes stacks, those that depend on them first (as `cdk destroy` does). `stacks` names stack names or artifact ids;
   * with an assembly (`local destroy --app`), only that app's stacks are candidates. Default: every stack deployed.
   */
  async destroy(options: DestroyOptions & { assemblyDir?: string } = {}): Promise<DestroyResult> {
    const firstEvent = this.ctx.events.length;
    const names = this.destroyOrder(options);
    const results: StackDestroyResult[] = [];
    for (const name of names) results.push(await destroyStack(this.ctx, this.ops, this.registry, name));
    this.ctx.runtime.scheduler.sync();
    return { stacks: results, events: this.ctx.events.slice(firstEvent) };
  }

  /** Lets running executions finish, saves the state, stops the services (and the cloud, if the runner started it), releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.settle();
    } finally {
      try {
        this.ctx.save();
        await this.ctx.runtime.close();
        if (this.ownsCloud) await this.cloud.stop();
      } finally {
        await this.lock.release();
      }
    }
  }

  private destroyOrder(options: DestroyOptions & { assemblyDir?: string }): string[] {
    const state = this.ctx.state.stacks;
    const topLevel = Object.values(state).filter((s) => s.parentStack === undefined);
    let candidates: string[];
    if (options.assemblyDir !== undefined) {
      const assembly = readCloudAssembly(options.assemblyDir);
      const wanted = options.stacks ? selectStacks(assembly, options.stacks, false) : assembly.stacks;
      candidates = wanted.map((s) => s.stackName);
    } else if (options.stacks) {
      candidates = options.stacks.map((n) => topLevel.find((s) => s.stackName === n || s.artifactId === n)?.stackName ?? n);
    } else {
      candidates = topLevel.map((s) => s.stackName);
    }
    // Downstream: the stacks that depend on a candidate go too, first.
    const chosen = new Set(candidates);
    for (let grew = !options.exclusively; grew;) {
      grew = false;
      for (const s of topLevel) {
        if (!chosen.has(s.stackName) && (s.dependsOn ?? []).some((d) => chosen.has(d))) {
          chosen.add(s.stackName);
          grew = true;
        }
      }
    }
    const deployed = topLevel.map((s) => s.stackName);
    const order: string[] = [];
    const visit = (name: string): void => {
      if (order.includes(name)) return;
      for (const s of topLevel) if ((s.dependsOn ?? []).includes(name) && chosen.has(s.stackName)) visit(s.stackName);
      order.push(name);
    };
    // Last deployed first, each after the stacks that depend on it.
    for (const name of [...deployed].reverse()) if (chosen.has(name)) visit(name);
    for (const name of candidates) if (!order.includes(name)) order.push(name);
    return order;
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

/**
 * Destroys what a state directory holds (every stack, or those named, with their dependents) in one call. The state
 * directory must exist: a mistyped one is an error, never an empty success.
 */
export async function destroyLocal(options: LocalRunnerOptions & DestroyOptions & { readonly assemblyDir?: string }): Promise<DestroyResult> {
  const runner = await LocalRunner.open({ ...options, mustExist: true });
  try {
    return await runner.destroy(options);
  } finally {
    await runner.close();
  }
}

/** The named stacks (by stack name, artifact id or display name), with what they depend on when `withDependencies`. */
export function selectStacks(assembly: CloudAssembly, names: readonly string[] | undefined, withDependencies = true): AssemblyStack[] {
  if (!names) return [...assembly.stacks];
  const wanted = new Set<string>();
  const byId = new Map(assembly.stacks.map((s) => [s.artifactId, s]));
  const add = (s: AssemblyStack): void => {
    if (wanted.has(s.artifactId)) return;
    wanted.add(s.artifactId);
    if (!withDependencies) return;
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
