/**
 * One resource at a time, as CloudFormation handles it: create, update in place, delete, the cleanup-phase delete, and
 * the requests to custom resources (with CloudFormation's ServiceTimeout and response-size rules). Each step is an
 * event in the stack's log.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { AssemblyStack, CloudAssembly } from './assembly';
import { findAsset } from './asset-publishing';
import {
  CustomResourceFailed, CustomResourceRequest, CustomResourceResult, invokeCustomResource, newRequestId, stringifyScalars,
} from './custom-resources';
import { defaultStackId, isPlainObject, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { customResourceResponseBytes, MAX_CUSTOM_RESOURCE_RESPONSE_BYTES, noResponseMessage, serviceTimeoutOf } from './limits';
import { ResourceRecord } from './local-state';
import type { NestedStacks } from './nested-stacks';
import { createResource, deleteResource, errorMessage, errorName, ProvisionContext, updateResource } from './resources';
import { RunnerContext } from './runner-context';

export const isCustomType = (type: string): boolean => type === 'AWS::CloudFormation::CustomResource' || type.startsWith('Custom::');
export const RETAINED = new Set(['Retain', 'RetainExceptOnCreate']);

/** Where a resource is being deployed from: its stack in the assembly (for code assets). */
export interface Source {
  readonly assembly: CloudAssembly;
  readonly stack: AssemblyStack;
}

export class ResourceOps {
  /** Deploys nested stacks (set once the stack deployer exists). */
  nested?: NestedStacks;

  constructor(private readonly ctx: RunnerContext) {}

  async create(source: Source, stackName: string, id: string, type: string, props: Record<string, unknown>,
    deletionPolicy: string | undefined, updateReplacePolicy: string | undefined): Promise<ResourceRecord> {
    this.ctx.emit(stackName, id, type, 'CREATE_IN_PROGRESS');
    let record: ResourceRecord;
    let note: string | undefined;
    if (isCustomType(type)) {
      const result = await this.customRequest(stackName, id, type, 'Create', props);
      record = { type, physicalId: result.physicalId, properties: props, attributes: result.data, deletionPolicy, updateReplacePolicy };
    } else {
      const done = await createResource(this.provisionContext(stackName, id, source), type, props);
      record = { type, physicalId: done.physicalId, properties: props, attributes: done.attributes, deletionPolicy, updateReplacePolicy,
        extra: done.extra };
      this.keepTypeFacts(source, record);
      if (done.recordedOnly) note = 'recorded only';
    }
    this.ctx.emit(stackName, id, type, 'CREATE_COMPLETE', record.physicalId, note);
    this.syncSchedules(type);
    return record;
  }

  /** An in-place update of a resource that is not a custom resource. */
  async update(source: Source, stackName: string, id: string, before: ResourceRecord, props: Record<string, unknown>): Promise<ResourceRecord> {
    this.ctx.emit(stackName, id, before.type, 'UPDATE_IN_PROGRESS', before.physicalId);
    const done = await updateResource(this.provisionContext(stackName, id, source), before, props);
    const record: ResourceRecord = { ...before, physicalId: done.physicalId, properties: props, attributes: done.attributes, extra: done.extra };
    this.keepTypeFacts(source, record);
    this.ctx.emit(stackName, id, before.type, 'UPDATE_COMPLETE', record.physicalId);
    this.syncSchedules(record.type);
    return record;
  }

  async updateCustom(stackName: string, id: string, before: ResourceRecord, props: Record<string, unknown>): Promise<ResourceRecord> {
    this.ctx.emit(stackName, id, before.type, 'UPDATE_IN_PROGRESS', before.physicalId);
    const result = await this.customRequest(stackName, id, before.type, 'Update', props, before);
    this.ctx.emit(stackName, id, before.type, 'UPDATE_COMPLETE', result.physicalId);
    return { ...before, physicalId: result.physicalId, properties: props, attributes: result.data };
  }

  async delete(stackName: string, id: string, record: ResourceRecord): Promise<void> {
    this.ctx.emit(stackName, id, record.type, 'DELETE_IN_PROGRESS', record.physicalId);
    if (isCustomType(record.type)) {
      await this.customRequest(stackName, id, record.type, 'Delete', record.properties, record);
    } else {
      if (record.type === 'AWS::StepFunctions::StateMachine') await this.ctx.runtime.sfn.stopAll(record.physicalId);
      await deleteResource(this.provisionContext(stackName, id), record);
    }
    this.ctx.emit(stackName, id, record.type, 'DELETE_COMPLETE', record.physicalId);
    this.syncSchedules(record.type);
  }

  /** A schedule takes effect (or stops) once CloudFormation reports it done (and the stack's state holds it: next turn). */
  private syncSchedules(type: string): void {
    if (type === 'AWS::Scheduler::Schedule') setImmediate(() => this.ctx.runtime.scheduler.sync());
  }

  /** Cleanup-phase deletes: a failure is reported, not fatal (the stack stays updated), as in CloudFormation. */
  async cleanup(stackName: string, id: string, record: ResourceRecord, policy: 'deletionPolicy' | 'updateReplacePolicy'): Promise<void> {
    const rule = record[policy];
    if (rule && RETAINED.has(rule)) {
      this.ctx.emit(stackName, id, record.type, 'DELETE_SKIPPED', record.physicalId);
      return;
    }
    try {
      await this.delete(stackName, id, record);
    } catch (err) {
      this.ctx.emit(stackName, id, record.type, 'DELETE_FAILED', record.physicalId, this.reasonOf(err));
    }
  }

  async customRequest(
    stackName: string, id: string, type: string, kind: 'Create' | 'Update' | 'Delete', props: Record<string, unknown>, current?: ResourceRecord,
  ): Promise<CustomResourceResult> {
    const runtime = this.ctx.runtime;
    const request: CustomResourceRequest = {
      RequestType: kind,
      ServiceToken: String(props.ServiceToken ?? ''),
      ResponseURL: `${runtime.endpoint}/cfn-response/pending`,
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
      const startedAt = this.ctx.now();
      const result = await invokeCustomResource(runtime.customResourceHost(), request);
      // CloudFormation stops waiting after ServiceTimeout, whatever the provider does later.
      if (this.ctx.now() - startedAt > timeoutSeconds * 1000) throw new Error(noResponseMessage(request.RequestId));
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

  provisionContext(stackName: string, logicalId: string, source?: Source): ProvisionContext {
    const { ctx } = this;
    return {
      nestedStacks: this.nested?.forResource(source, stackName, logicalId),
      stackName,
      logicalId,
      region: OFFLINE_REGION,
      accountId: OFFLINE_ACCOUNT_ID,
      partition: OFFLINE_PARTITION,
      s3: ctx.s3,
      rekognition: ctx.rekognition,
      servicesEndpoint: ctx.runtime.endpoint,
      now: () => ctx.now(),
      advance: (ms) => ctx.cloud.clock.advance(ms),
      idle: () => ctx.runtime.sfn.runningCount === 0,
      signals: (url) => ctx.world.signals(url),
      log: (line) => ctx.log(line),
    };
  }

  /** The failure text; a wait condition that timed out also names executions that broke for runner reasons. */
  reasonOf(err: unknown): string {
    let reason = errorMessage(err);
    if (!['Error', 'ResourceError', 'CrossStackError'].includes(errorName(err)) && !reason.startsWith(errorName(err))) reason = `${errorName(err)}: ${reason}`;
    const broken = this.ctx.runtime.sfn.list().filter((e) => e.error === 'Runner.Error');
    if (/WaitCondition timed out/.test(reason) && broken.length > 0) {
      reason += ` (the workflow could not run offline: ${broken.map((e) => e.cause).join('; ')})`;
    }
    return reason;
  }

  /** Functions keep their code folder (copied into the state directory, so destroy works without cdk.out). */
  private keepTypeFacts(source: Source, record: ResourceRecord): void {
    if (record.type !== 'AWS::Lambda::Function') return;
    const code = isPlainObject(record.properties.Code) ? record.properties.Code : {};
    let codeDir: string | undefined;
    if (typeof code.ZipFile === 'string') {
      codeDir = path.join(this.ctx.codeRoot, `inline-${sha(code.ZipFile).slice(0, 16)}`);
      fs.mkdirSync(codeDir, { recursive: true });
      fs.writeFileSync(path.join(codeDir, 'index.js'), code.ZipFile);
    } else if (typeof code.S3Bucket === 'string' && typeof code.S3Key === 'string') {
      const asset = findAsset(source.assembly, source.stack, code.S3Bucket, code.S3Key);
      if (asset && fs.existsSync(asset.sourcePath) && fs.statSync(asset.sourcePath).isDirectory()) {
        codeDir = path.join(this.ctx.codeRoot, asset.id);
        if (!fs.existsSync(codeDir)) {
          const tmp = `${codeDir}.${process.pid}.tmp`;
          fs.cpSync(asset.sourcePath, tmp, { recursive: true });
          fs.renameSync(tmp, codeDir);
        }
      }
    }
    record.extra = { ...record.extra, ...(codeDir ? { codeDir } : {}) };
  }
}

function sha(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
