/**
 * Nested stacks (AWS::CloudFormation::Stack, what a CDK NestedStack synthesizes): the template is read from the
 * local S3 where the parent's assets were published (its TemplateURL), deployed as a stack of its own named
 * `<parent>-<logicalId>-<random>`, updated when the parent's resource changes, and deleted with it. `Fn::GetAtt
 * [Nested, Outputs.X]` reads its outputs.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';

import { defaultStackId, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { ResourceRecord, StackState } from './local-state';
import { generatedName } from './physical-facts';
import { Source } from './resource-ops';
import { NestedStackHost, Provisioned, ResourceError } from './resources';
import { RunnerContext } from './runner-context';
import { LocalDeployError, StackDestroyResult } from './runner-types';
import { DeployTarget } from './stack-deploy';
import { CfnTemplate } from './template';

export interface NestedStackDeps {
  deploy(source: Source, target: DeployTarget): Promise<unknown>;
  destroy(stackName: string): Promise<StackDestroyResult>;
}

export class NestedStacks {
  constructor(private readonly ctx: RunnerContext, private readonly deps: NestedStackDeps) {}

  /** The host for the AWS::CloudFormation::Stack resource `logicalId` of stack `parent`. */
  forResource(source: Source | undefined, parent: string, logicalId: string): NestedStackHost {
    const from = (): Source => {
      if (!source) throw new ResourceError(`${logicalId}: a nested stack is deployed from the cloud assembly of its parent`);
      return source;
    };
    return {
      create: async (props, facts) => {
        const stackName = generatedName(parent, logicalId, 128).replace(/-([A-Za-z0-9]{12})$/, (_m, s: string) => `-${s.toUpperCase()}`);
        await this.deploy(from(), parent, stackName, props, 'created');
        return this.provisioned(stackName, facts.attributes);
      },
      update: async (props, record) => {
        const stackName = nestedName(record);
        await this.deploy(from(), parent, stackName, props, 'updated');
        return this.provisioned(stackName, record.attributes);
      },
      delete: async (record) => {
        await this.deps.destroy(nestedName(record));
      },
    };
  }

  private async deploy(source: Source, parent: string, stackName: string, props: Record<string, unknown>, verb: 'created' | 'updated'): Promise<void> {
    const template = await this.readTemplate(props.TemplateURL);
    const parameters = typeof props.Parameters === 'object' && props.Parameters !== null
      ? Object.fromEntries(Object.entries(props.Parameters).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])) : {};
    try {
      await this.deps.deploy(source, { stackName, template, parameterValues: parameters, parentStack: parent });
    } catch (err) {
      if (!(err instanceof LocalDeployError)) throw err;
      // [inferred] CloudFormation's wording for a nested stack that failed; the reason is the nested stack's own.
      const what = verb === 'created' ? 'created' : 'updated';
      throw new ResourceError(`Embedded stack ${stackArn(stackName)} was not successfully ${what}: The following resource(s) failed to `
        + `${verb === 'created' ? 'create' : 'update'}: [${err.logicalId}]. ${err.reason}`);
    }
  }

  private provisioned(stackName: string, base: Record<string, unknown>): Provisioned {
    const live: StackState | undefined = this.ctx.state.stacks[stackName];
    const outputs = Object.fromEntries(Object.entries(live?.outputs ?? {}).map(([k, v]) => [`Outputs.${k}`, v]));
    const arn = stackArn(stackName);
    return {
      physicalId: arn,
      attributes: { ...base, StackId: arn, StackStatus: live?.status ?? 'CREATE_COMPLETE', ...outputs },
      extra: { stackName },
    };
  }

  /** The template a TemplateURL points at, from the local S3 (`https://s3.<region>.amazonaws.com/<bucket>/<key>` or virtual-host form). */
  private async readTemplate(url: unknown): Promise<CfnTemplate> {
    if (typeof url !== 'string') throw new ResourceError('TemplateURL must be a string');
    const { bucket, key } = s3Location(url);
    let text: string;
    try {
      const res = await this.ctx.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      text = await res.Body!.transformToString();
    } catch (err) {
      throw new ResourceError(`TemplateURL must be a supported URL: ${url} could not be read (${(err as Error).name})`);
    }
    return JSON.parse(text) as CfnTemplate;
  }
}

export function s3Location(url: string): { bucket: string; key: string } {
  const u = new URL(url);
  const parts = u.pathname.replace(/^\//, '').split('/');
  const virtual = /^(.+)\.s3[.-]/.exec(u.hostname);
  if (virtual) return { bucket: virtual[1], key: decodeURIComponent(parts.join('/')) };
  return { bucket: parts[0], key: decodeURIComponent(parts.slice(1).join('/')) };
}

function nestedName(record: ResourceRecord): string {
  const name = record.extra?.stackName;
  if (typeof name !== 'string') throw new ResourceError(`${record.physicalId} is not a nested stack the runner made`);
  return name;
}

function stackArn(stackName: string): string {
  return defaultStackId(OFFLINE_PARTITION, OFFLINE_REGION, OFFLINE_ACCOUNT_ID, stackName);
}
