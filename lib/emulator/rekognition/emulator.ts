import type * as http from 'node:http';

import { rekognitionRequests } from '../../iam/requests';
import { AccessControl, Caller } from '../../iam/world';
import { VirtualClock } from '../clock';
import { ModelCapacity } from './capacity';
import { AccountQuotas, DEFAULT_QUOTAS, EmulatorCore, ForcedStart, ForcedTraining, upsertEntries } from './core';
import { detectCustomLabels } from './detect';
import { ServiceError } from './errors';
import { FaultInjector, FaultSpec, RandomFaultSpec } from './faults';
import { JsonProtocolServer } from './http';
import { DATASET_HANDLERS } from './ops-datasets';
import { Handler, PROJECT_HANDLERS } from './ops-projects';
import { stopMeter, VERSION_HANDLERS } from './ops-versions';
import { Params } from './params';
import { LocalS3Access } from './s3';
import { JobRecord, JobResult, StateStore, VersionRecord } from './state';

export interface RekognitionEmulatorOptions {
  /** The local S3 endpoint, e.g. http://127.0.0.1:4598. Manifests and images are read there, outputs written there. */
  readonly s3Endpoint: string;
  /** @default a new clock with `timeScale` */
  readonly clock?: VirtualClock;
  /** Used when no clock is given. @default 1 */
  readonly timeScale?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  readonly faults?: FaultSpec[];
  readonly randomFaults?: RandomFaultSpec;
  /** When set, the state is saved there after each change and loaded at start. */
  readonly stateDir?: string;
  /** DetectCustomLabels calls per (virtual) second per inference unit, for models no `modelCapacity` entry matches. @default 5 */
  readonly tpsPerInferenceUnit?: number;
  /** Throughput and latency per model (see capacity.ts); the last matching entry wins. @default - tpsPerInferenceUnit, no latency */
  readonly modelCapacity?: readonly ModelCapacity[];
  /** Account quotas, refused with LimitExceededException as the service refuses them. @default - see AccountQuotas */
  readonly quotas?: AccountQuotas;
  /**
   * Who may call what: requests signed with a registered role's key are authorized (AccessDeniedException otherwise),
   * and the service's S3 reads and writes for them use that role's rights. @default - no access checks
   */
  readonly access?: AccessControl;
  readonly log?: (line: string) => void;
}

export interface VersionUsage {
  readonly projectVersionArn: string;
  readonly trainingSeconds: number;
  readonly inferenceUnitSeconds: number;
  readonly status: string;
}

export interface Usage {
  readonly versions: VersionUsage[];
  /** Dollars at $1 per training hour and $4 per inference-unit hour (reference §9, us-east-1). */
  readonly totals: { trainingHours: number; inferenceUnitHours: number; dollars: number };
  /** ARNs of the versions RUNNING now. */
  readonly running: string[];
}

const TRAINING_DOLLARS_PER_HOUR = 1;
const INFERENCE_DOLLARS_PER_UNIT_HOUR = 4;

const HANDLERS: Record<string, Handler> = {
  ...PROJECT_HANDLERS,
  ...DATASET_HANDLERS,
  ...VERSION_HANDLERS,
  DetectCustomLabels: detectCustomLabels,
};

/** Operations that change nothing: no state save after them. */
const READS = new Set(['DescribeProjects', 'DescribeDataset', 'ListDatasetEntries', 'ListDatasetLabels', 'DescribeProjectVersions',
  'ListProjectPolicies', 'ListTagsForResource', 'DetectCustomLabels']);

/** Amazon Rekognition Custom Labels on 127.0.0.1: the wire protocol, the lifecycle, the documented errors, a virtual clock. */
export class RekognitionEmulator {
  readonly clock: VirtualClock;
  readonly faults: { add(spec: FaultSpec): void; clear(): void; setRandom(spec?: RandomFaultSpec): void };
  readonly force: { training(o: ForcedTraining): void; start(o: ForcedStart): void; clear(): void };
  /** Sets what models take (tests change it between runs); see {@link ModelCapacity}. */
  readonly capacity: { set(c: ModelCapacity): void; clear(): void; virtualClockOnly(on: boolean): void };
  private readonly core: EmulatorCore;
  private readonly injector: FaultInjector;
  private readonly server: JsonProtocolServer;
  private readonly log: (line: string) => void;

  constructor(options: RekognitionEmulatorOptions) {
    this.clock = options.clock ?? new VirtualClock({ timeScale: options.timeScale });
    this.log = options.log ?? (() => undefined);
    const region = options.region ?? 'us-east-1';
    this.core = new EmulatorCore(
      this.clock, region, options.accountId ?? '123456789012', new LocalS3Access(options.s3Endpoint, region),
      options.tpsPerInferenceUnit ?? 5, this.log, options.stateDir ? new StateStore(options.stateDir) : undefined, options.access,
      { ...DEFAULT_QUOTAS, ...options.quotas }, options.modelCapacity,
    );
    this.capacity = { set: (c) => this.core.capacity.set(c), clear: () => this.core.capacity.clear(),
      virtualClockOnly: (on) => { this.core.capacity.virtualClockOnly = on; } };
    this.injector = new FaultInjector(options.faults, options.randomFaults);
    this.faults = {
      add: (spec) => this.injector.add(spec),
      clear: () => this.injector.clear(),
      setRandom: (spec) => this.injector.setRandom(spec),
    };
    const core = this.core;
    this.force = {
      training: (o) => core.forcedTrainings.push(o),
      start: (o) => core.forcedStarts.push(o),
      clear: () => {
        core.forcedTrainings.length = 0;
        core.forcedStarts.length = 0;
      },
    };
    this.server = new JsonProtocolServer((op, input, headers) => this.invoke(op, input, this.callerOf(headers)), this.log);
  }

  /** Starts the HTTP server; resolves to its endpoint, e.g. 'http://127.0.0.1:4599'. Port 0 picks a free port. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return this.server.listen(port, host);
  }

  /** Stops the server and waits for background work to end. */
  async close(): Promise<void> {
    await this.server.close();
    await this.core.idle();
    this.core.closed = true;
    this.core.s3.destroy();
  }

  /**
   * Runs an operation in-process with the same semantics as over HTTP; errors are thrown as ServiceError. `caller`:
   * who calls, when the offline world restricts it (AccessDeniedException unless its policies allow the call).
   */
  async invoke(operation: string, input: unknown, caller?: Caller): Promise<unknown> {
    const handler = HANDLERS[operation];
    if (!handler) throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}.`);
    if (caller && this.core.access) {
      for (const request of rekognitionRequests(operation, input)) {
        const denied = await this.core.access.decide(caller, request);
        if (denied) throw new ServiceError('AccessDeniedException', denied.message);
      }
    }
    const injected = this.injector.check(operation);
    if (injected) throw injected;
    await this.core.settle((job, result, at) => this.apply(job, result, at));
    const output = await handler(this.core, Params.of(input), { caller });
    if (!READS.has(operation)) this.core.save();
    return output ?? {};
  }

  private callerOf(headers: http.IncomingHttpHeaders): Caller | undefined {
    return this.core.access?.callerOf(headers);
  }

  /** Meter readings: billable training seconds and inference-unit seconds (virtual time x units) per version. */
  usage(): Usage {
    this.core.settleReady((job, result, at) => this.apply(job, result, at));
    const now = this.clock.now();
    for (const v of Object.values(this.core.state.versions)) this.core.capacity.settleUnits(this.core, v, now);
    const live = Object.values(this.core.state.versions).map((v): VersionUsage => ({
      projectVersionArn: v.arn,
      trainingSeconds: v.billableTrainingSeconds ?? 0,
      inferenceUnitSeconds: v.meter.inferenceUnitSeconds
        + (v.meter.runningSince !== undefined ? Math.max(0, now - v.meter.runningSince) / 1000 * (v.meter.runningUnits ?? 1) : 0),
      status: v.status,
    }));
    const versions = [...this.core.state.retired, ...live];
    const trainingHours = versions.reduce((s, v) => s + v.trainingSeconds, 0) / 3600;
    const inferenceUnitHours = versions.reduce((s, v) => s + v.inferenceUnitSeconds, 0) / 3600;
    return {
      versions,
      totals: {
        trainingHours,
        inferenceUnitHours,
        dollars: trainingHours * TRAINING_DOLLARS_PER_HOUR + inferenceUnitHours * INFERENCE_DOLLARS_PER_UNIT_HOUR,
      },
      running: Object.values(this.core.state.versions).filter((v) => v.status === 'RUNNING').map((v) => v.arn),
    };
  }

  /** Resolves once no background work (imports, trainings) is running; due transitions are then applied. */
  async idle(): Promise<void> {
    await this.core.idle();
    await this.core.settle((job, result, at) => this.apply(job, result, at));
  }

  private apply(job: JobRecord, result: JobResult, at: number): void {
    const { state } = this.core;
    switch (job.kind) {
      case 'datasetCreate':
      case 'datasetUpdate': {
        const d = state.datasets[job.target];
        if (!d) return;
        const create = job.kind === 'datasetCreate';
        d.updatedAt = at;
        d.status = result.ok ? (create ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE') : (create ? 'CREATE_FAILED' : 'UPDATE_FAILED');
        d.statusMessageCode = result.ok ? 'SUCCESS' : result.code === 'SERVICE_ERROR' ? 'SERVICE_ERROR' : 'CLIENT_ERROR';
        d.statusMessage = result.ok ? (create ? 'The dataset was created successfully.' : 'The dataset was updated successfully.') : result.message;
        if (result.ok && result.entries) d.entries = create || result.replace ? result.entries : upsertEntries(d.entries, result.entries);
        return;
      }
      case 'training':
      case 'copy': {
        const v = state.versions[job.target];
        if (!v) return;
        const failed: VersionRecord['status'] = job.kind === 'training' ? 'TRAINING_FAILED' : 'COPYING_FAILED';
        Object.assign(v, result.version ?? {});
        if (!result.ok) {
          v.status = failed;
          v.statusMessage = result.version?.statusMessage ?? result.message;
        }
        if (job.kind === 'training') v.trainingEndAt = at;
        return;
      }
      case 'start': {
        const v = state.versions[job.target];
        if (!v || v.status !== 'STARTING') return;
        if (result.ok) {
          v.status = 'RUNNING';
          v.statusMessage = 'The model is running.';
          v.meter.runningSince = at;
          v.meter.runningUnits = v.minInferenceUnits ?? 1;
          this.core.capacity.forget(v.arn);
        } else {
          v.status = 'FAILED';
          v.statusMessage = result.message;
        }
        return;
      }
      case 'stop': {
        const v = state.versions[job.target];
        if (!v || v.status !== 'STOPPING') return;
        v.status = 'STOPPED';
        v.statusMessage = 'The model is stopped.';
        return;
      }
      case 'deleteVersion': {
        const v = state.versions[job.target];
        if (!v) return;
        stopMeter(v, at);
        state.retired.push({
          projectVersionArn: v.arn, trainingSeconds: v.billableTrainingSeconds ?? 0, inferenceUnitSeconds: v.meter.inferenceUnitSeconds, status: 'DELETED',
        });
        delete state.versions[job.target];
        this.core.capacity.forget(job.target);
        this.core.releaseModel(v.modelId);
        return;
      }
      case 'deleteDataset': {
        const d = state.datasets[job.target];
        if (!d) return;
        delete state.datasets[job.target];
        const project = state.projects.find((p) => p.arn === d.projectArn);
        if (project && project.datasets[d.type] === d.arn) delete project.datasets[d.type];
        return;
      }
      case 'deleteProject':
        state.projects = state.projects.filter((p) => p.arn !== job.target);
        return;
    }
  }
}
