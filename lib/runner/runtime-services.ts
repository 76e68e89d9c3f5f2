/**
 * What deployed handlers and state machines call while a session is open: the local Step Functions, SSM and
 * EventBridge endpoints (each request authorized as its caller's role), wait-condition handle URLs, custom-resource
 * response URLs, the in-process Lambda host, and the calls state machines make to SNS and EventBridge (recorded).
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';

import type { LocalCloud } from '../emulator/local-cloud';
import { CustomResourceHost } from './custom-resources';
import { DeployedWorld } from './deployed-world';
import { ExecutionHost, ExecutionRecord, LocalStepFunctions } from './executions';
import { localServiceRequests, RunnerIdentities } from './identities';
import { isPlainObject, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { LambdaHost } from './lambda-host';
import { LambdaProcessOptions } from './lambda-process';
import { LocalServiceError, LocalServices } from './local-services';
import { RunnerState } from './local-state';
import { WaitSignal } from './resources';
import { RecordedCall } from './runner-types';
import { LocalScheduler } from './scheduler';
import { ParameterStore, SdkTaskHandler, sdkTaskHandler, ssmOperation, TaskIdentity } from './sdk-tasks';
import { VirtualTimeDriver } from './virtual-time';

export interface RuntimeOptions {
  readonly cloud: LocalCloud;
  readonly state: RunnerState;
  readonly world: DeployedWorld;
  readonly identities: RunnerIdentities;
  /** Where function code folders live (`<stateDir>/runner/code`). */
  readonly codeRoot: string;
  readonly beforeWait?: (execution: ExecutionRecord, stateName: string) => void | Promise<void>;
  readonly log: (line: string) => void;
  readonly debug?: (line: string) => void;
  /** Lambda invocations in child processes, measured (LocalRunnerOptions.lambdaProcesses). */
  readonly lambdaProcesses?: LambdaProcessOptions;
}

export class RuntimeServices {
  readonly sfn: LocalStepFunctions;
  readonly scheduler: LocalScheduler;
  readonly parameters: ParameterStore;
  private readonly calls: RecordedCall[] = [];
  private readonly responses = new Map<string, (body: Record<string, unknown>) => void>();
  private readonly sdkTasks: SdkTaskHandler;
  private services?: LocalServices;
  private lambdaHost?: LambdaHost;
  // ---- issue 11: concurrent virtual time (virtual-time.ts) --------------------------------------------------------
  private readonly time?: VirtualTimeDriver;

  constructor(private readonly o: RuntimeOptions) {
    this.parameters = o.world.parameterStore();
    this.sdkTasks = sdkTaskHandler(o.cloud, this.parameters);
    const host: ExecutionHost = {
      stateMachine: (arn) => o.world.stateMachine(arn),
      sdkHandler: (service, action, parameters, execution) => this.sdkTasks(service, action, parameters, this.taskIdentity(execution)),
      lambdaHandler: async (functionArn, payload, execution) => {
        await this.authorizeTask(execution, 'lambda:InvokeFunction', o.world.functionArnOf(functionArn), 'Lambda.AWSLambdaException', 'AWSLambda');
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
        this.calls.push({ service, action, parameters, executionArn: execution.executionArn, at: o.cloud.clock.now() });
      },
      now: () => o.cloud.clock.now(),
      advance: (ms) => o.cloud.clock.advance(ms),
      sleep: (ms, signal) => o.cloud.clock.sleep(ms, { signal }),
      authorize: (action, resource, execution) => this.authorizeTask(execution, action, resource, 'States.Permissions', 'AWSStepFunctions'),
      beforeWait: o.beforeWait,
      log: (line) => o.log(line),
    };
    this.sfn = new LocalStepFunctions(host);
    this.scheduler = new LocalScheduler({
      clock: o.cloud.clock,
      world: o.world,
      enforced: o.identities.enforced,
      decide: async (roleArn, session, action, resource) => {
        const caller = o.identities.caller(roleArn, session);
        return (caller ? await o.cloud.access.decide(caller, { action, resource }) : undefined)?.message;
      },
      hold: (work) => (this.time ? this.time.hold(work) : work),
      invokeFunction: (arn, payload) => this.invokeFunction(arn, payload),
      startExecution: (arn, name, input) => this.sfn.start(arn, name, input).executionArn,
      log: (line) => o.log(line),
    });
    // A stopped clock moves when everything waits (concurrent waits overlap); a running clock moves by itself.
    if (o.cloud.clock.timeScale === 0) this.time = new VirtualTimeDriver(o.cloud.clock);
  }

  /** `http://127.0.0.1:<port>` of the local services. */
  get endpoint(): string {
    if (!this.services) throw new Error('The runner is not open');
    return this.services.endpoint;
  }

  recordedCalls(): RecordedCall[] {
    return [...this.calls];
  }

  async start(): Promise<void> {
    const { cloud, state, identities } = this.o;
    this.services = await LocalServices.start({
      port: state.servicesPort ?? 0,
      log: this.o.debug,
      authorize: async (service, operation, input, headers) => {
        const caller = identities.enforced ? cloud.access.callerOf(headers) : undefined;
        if (!caller) return undefined;
        for (const request of localServiceRequests(service.targetPrefix, operation, input,
          { partition: OFFLINE_PARTITION, region: OFFLINE_REGION, accountId: OFFLINE_ACCOUNT_ID })) {
          const denied = await cloud.access.decide(caller, request);
          if (denied) return new LocalServiceError('AccessDeniedException', denied.message);
        }
        return undefined;
      },
      services: [
        { targetPrefix: 'AWSStepFunctions.', jsonVersion: '1.0', handle: (op, input) => this.sfn.handle(op, input) },
        { targetPrefix: 'AmazonSSM.', jsonVersion: '1.1', handle: async (op, input) => ssmOperation(this.parameters, op, input, () => cloud.clock.now()) },
        {
          targetPrefix: 'AWSEvents.', jsonVersion: '1.1', handle: async (op, input) => {
            if (op !== 'PutEvents') throw new LocalServiceError('UnknownOperationException', `EventBridge ${op} is not served offline`);
            this.calls.push({ service: 'events', action: 'putEvents', parameters: input, executionArn: '', at: cloud.clock.now() });
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
    state.servicesPort = this.services.port;
    this.scheduler.sync();
    const endpoint = this.services.endpoint;
    this.lambdaHost = new LambdaHost({
      log: this.o.debug,
      clock: { now: () => cloud.clock.now(), sleep: (ms, o) => cloud.clock.sleep(ms, o) },
      processes: this.o.lambdaProcesses,
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
        AWS_CONFIG_FILE: path.join(this.o.codeRoot, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(this.o.codeRoot, 'no-aws-credentials'),
      },
    });
  }

  async close(): Promise<void> {
    this.scheduler.stop();
    await this.scheduler.idle();
    await this.services?.close();
    this.time?.close();
  }

  /** Runs a deployed function in-process, as its own role. */
  async invokeFunction(arnOrName: string, payload: unknown): Promise<unknown> {
    const spec = this.o.world.findFunction(arnOrName);
    if (!spec) throw Object.assign(new Error(`Function not found: ${arnOrName}`), { name: 'Lambda.ResourceNotFoundException' });
    return this.requireLambdaHost().invoke(spec, payload);
  }

  customResourceHost(): CustomResourceHost {
    const { world, identities, cloud } = this.o;
    return {
      findFunction: (arn) => world.findFunction(arn),
      invoke: (spec, event) => this.requireLambdaHost().invoke(spec, event),
      stateMachineDefinition: (arn) => world.stateMachine(arn)?.definition,
      stateMachineRole: (arn) => world.stateMachineRole(arn),
      authorize: async (as, action, resource) => {
        const caller = identities.caller(as.roleArn, as.session);
        if (caller) await cloud.access.check(caller, { action, resource });
      },
      advance: (ms) => cloud.clock.advance(ms),
      responseUrl: () => {
        const id = crypto.randomUUID();
        let resolve!: (body: Record<string, unknown>) => void;
        const response = new Promise<Record<string, unknown>>((r) => { resolve = r; });
        this.responses.set(id, (body) => {
          this.responses.delete(id);
          resolve(body);
        });
        return { url: `${this.endpoint}/cfn-response/${id}`, response, cancel: () => this.responses.delete(id) };
      },
      log: (line) => this.o.log(line),
    };
  }

  private requireLambdaHost(): LambdaHost {
    if (!this.lambdaHost) throw new Error('The runner is not open');
    return this.lambdaHost;
  }

  private signal(pathname: string, body: string): number {
    const handle = this.o.world.waitHandle(pathname);
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
    this.o.log(`${handle.stackName} ${handle.logicalId}: ${signal.Status} signal${signal.Reason ? ` (${signal.Reason.slice(0, 200)})` : ''}`);
    return 200;
  }

  private taskIdentity(execution: ExecutionRecord): TaskIdentity | undefined {
    const roleArn = this.o.world.stateMachineRole(execution.stateMachineArn);
    const session = execution.stateMachineArn.split(':').pop() ?? 'states';
    const credentials = this.o.identities.credentials(roleArn, session);
    return credentials && { credentials, caller: this.o.identities.caller(roleArn, session) };
  }

  /**
   * An integration Step Functions calls with the state machine's role: refused as the service would answer, under the
   * error name Step Functions gives it, with the service's message in the Cause.
   */
  private async authorizeTask(execution: ExecutionRecord, action: string, resource: string, errorName: string, service: string): Promise<void> {
    const caller = this.taskIdentity(execution)?.caller;
    const denied = caller ? await this.o.cloud.access.decide(caller, { action, resource }) : undefined;
    if (denied) {
      throw Object.assign(new Error(`${denied.message} (Service: ${service}; Status Code: 403; Error Code: AccessDeniedException; `
        + `Request ID: ${crypto.randomUUID()}; Proxy: null)`), { name: errorName });
    }
  }
}
