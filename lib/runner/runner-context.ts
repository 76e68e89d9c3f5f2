/**
 * What every phase of a session shares: the state it changes, the cloud it deploys into, the deployed world's lookups,
 * the runtime services, the stack event log, and the clients the resource provisioners use.
 */
import * as path from 'node:path';

import { Rekognition } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';

import type { LocalCloud } from '../emulator/local-cloud';
import { DeployedWorld } from './deployed-world';
import { RunnerIdentities } from './identities';
import { OFFLINE_REGION } from './intrinsics';
import { RunnerState, RunnerStateStore } from './local-state';
import { LocalRunnerOptions, StackEvent } from './runner-types';
import { RuntimeServices } from './runtime-services';

export class RunnerContext {
  readonly events: StackEvent[] = [];
  readonly world: DeployedWorld;
  readonly runtime: RuntimeServices;
  readonly rekognition: Rekognition;
  readonly s3: S3Client;
  /** Function code folders, copied from the assembly so that a destroy works without cdk.out. */
  readonly codeRoot: string;

  constructor(
    readonly options: LocalRunnerOptions,
    readonly state: RunnerState,
    private readonly store: RunnerStateStore,
    readonly cloud: LocalCloud,
    readonly identities: RunnerIdentities,
  ) {
    this.codeRoot = path.join(path.resolve(options.stateDir), 'runner', 'code');
    this.world = new DeployedWorld(state, identities);
    this.runtime = new RuntimeServices({
      cloud, state, world: this.world, identities, codeRoot: this.codeRoot, beforeWait: options.beforeWait,
      log: (line) => this.log(line), debug: options.debug, lambdaProcesses: options.lambdaProcesses,
    });
    this.rekognition = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: OFFLINE_REGION,
      credentials: { accessKeyId: 'offline', secretAccessKey: 'offline' } });
    this.s3 = cloud.s3.client();
  }

  now(): number {
    return this.cloud.clock.now();
  }

  emit(stackName: string, logicalId: string, resourceType: string, status: string, physicalId?: string, reason?: string): void {
    const event: StackEvent = { at: this.now(), stackName, logicalId, resourceType, status,
      ...(physicalId ? { physicalId } : {}), ...(reason ? { reason } : {}) };
    this.events.push(event);
    this.options.onEvent?.(event);
    this.log(`${stackName} | ${logicalId} (${resourceType}) ${status}${reason ? `: ${reason}` : ''}`);
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  save(): void {
    this.state.virtualNow = this.now();
    this.store.save(this.state);
  }
}
