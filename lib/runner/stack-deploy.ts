/**
 * Deploying one stack, as CloudFormation does: resolve the template against the deployed state, create what is new,
 * update what changed (in place, by replacement, or as a custom resource's Update), then the cleanup phase (removed and
 * replaced resources); on any failure roll every step back in reverse. Exports are checked against the other stacks'
 * imports before the stack completes.
 */
import { AssemblyStack } from './assembly';
import { CrossStackRegistry } from './cross-stack';
import { IntrinsicResolver, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from './intrinsics';
import { checkWaitConditionUpdate } from './limits';
import { ResourceRecord, StackState, StackStatus } from './local-state';
import { attributeForIntrinsic } from './physical-facts';
import { isCustomType, ResourceOps, RETAINED, Source } from './resource-ops';
import { isEmulatedType, updateResource } from './resources';
import { RunnerContext } from './runner-context';
import { LocalDeployError, StackDeployResult, StackResourceSummary } from './runner-types';
import { CfnTemplate, changedProperties, checkRules, replacementFor, resolveParameters, TemplateModel } from './template';

interface Step {
  readonly logicalId: string;
  readonly kind: 'create' | 'update' | 'replace';
  /** The record before this deploy (update/replace). */
  readonly before?: ResourceRecord;
  /** The properties this deploy asked for. */
  readonly props: Record<string, unknown>;
}

/** What to deploy: a stack of the assembly, or a nested stack's template. */
export interface DeployTarget {
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** Parameter values (synth-time ones of the assembly and those given at deploy time). */
  readonly parameterValues: Readonly<Record<string, string>>;
  readonly artifactId?: string;
  /** For a nested stack: its parent stack's name. */
  readonly parentStack?: string;
}

export class StackDeployer {
  constructor(private readonly ctx: RunnerContext, private readonly ops: ResourceOps, private readonly registry: CrossStackRegistry) {}

  async deploy(source: Source, target: DeployTarget): Promise<StackDeployResult> {
    const { ctx, ops } = this;
    const name = target.stackName;
    const template = target.template;
    const startedAt = ctx.now();
    const prior = ctx.state.stacks[name];
    const previous = prior && prior.status !== 'ROLLBACK_COMPLETE' ? structuredClone(prior) : undefined;
    const declared = Object.keys(template.Parameters ?? {});
    const overrides = Object.fromEntries(Object.entries(target.parameterValues).filter(([k]) => declared.includes(k)));
    const parameters = resolveParameters(template, { overrides });
    const model = new TemplateModel(template);
    const live: StackState = {
      stackName: name,
      status: previous?.status ?? 'CREATE_COMPLETE',
      template,
      parameters,
      resources: previous ? structuredClone(previous.resources) : {},
      outputs: {},
      exports: previous?.exports ?? {},
      imports: [],
      ...(target.parentStack ? { parentStack: target.parentStack } : {}),
      ...(target.artifactId ? { artifactId: target.artifactId } : {}),
      updatedAt: startedAt,
    };
    const imports = new Set<string>();
    const resolver = this.resolverFor(model, live, imports);
    checkRules(template, resolver);
    ctx.state.stacks[name] = live;
    const order = model.createOrder().filter((id) => model.isActive(id, resolver));
    const active = new Set(order);
    const steps: Step[] = [];
    const summary = {
      created: [] as string[], updated: [] as string[], replaced: [] as string[], unchanged: [] as string[], deleted: [] as string[],
    };
    const replacedOld: { logicalId: string; record: ResourceRecord }[] = [];
    const verb = previous ? 'UPDATE' : 'CREATE';
    ctx.emit(name, name, 'AWS::CloudFormation::Stack', `${verb}_IN_PROGRESS`);

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
          live.resources[id] = await ops.create(source, name, id, resource.Type, props, resource.DeletionPolicy, resource.UpdateReplacePolicy);
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
        if (isCustomType(resource.Type) && before.type === resource.Type) {
          current = { logicalId: id, kind: 'update', before, props };
          const record = await ops.updateCustom(name, id, before, props);
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
          live.resources[id] = await ops.create(source, name, id, resource.Type, props, resource.DeletionPolicy, resource.UpdateReplacePolicy);
          steps.push(current);
          replacedOld.push({ logicalId: id, record: before });
          summary.replaced.push(id);
        } else {
          current = { logicalId: id, kind: 'update', before, props };
          live.resources[id] = await ops.update(source, name, id, before, props);
          steps.push(current);
          summary.updated.push(id);
        }
        current = undefined;
        ctx.save();
      }
      failingId = undefined;
      const { outputs, exports } = resolveOutputs(model, resolver);
      this.registry.checkExports(live, previous?.exports ?? {}, exports);
      live.outputs = outputs;
      live.exports = exports;
      live.imports = [...imports];
    } catch (err) {
      const reason = ops.reasonOf(err);
      const failedId = failingId ?? name;
      const failedType = failingId ? model.resource(failingId).Type : 'AWS::CloudFormation::Stack';
      ctx.emit(name, failedId, failedType, `${current?.kind === 'create' || !previous ? 'CREATE' : 'UPDATE'}_FAILED`, undefined, reason);
      const problems = await this.rollback(source, model, live, previous, steps, current);
      const status: StackStatus = previous
        ? (problems.length > 0 ? 'UPDATE_ROLLBACK_FAILED' : 'UPDATE_ROLLBACK_COMPLETE')
        : (problems.length > 0 ? 'ROLLBACK_FAILED' : 'ROLLBACK_COMPLETE');
      live.status = status;
      live.updatedAt = ctx.now();
      ctx.emit(name, name, 'AWS::CloudFormation::Stack', status);
      ctx.save();
      throw new LocalDeployError(name, status, failedId, reason, problems);
    }

    // ---- cleanup: removed resources (reverse order of the previous template), then the replaced ones -------------
    if (previous) {
      const before = new TemplateModel(previous.template);
      const removed = before.deleteOrder().filter((id) => previous.resources[id] && !active.has(id));
      const orphans = Object.keys(previous.resources).filter((id) => !active.has(id) && !removed.includes(id));
      for (const id of [...removed, ...orphans]) {
        await ops.cleanup(name, id, previous.resources[id], 'deletionPolicy');
        delete live.resources[id];
        summary.deleted.push(id);
      }
      for (const { logicalId, record } of replacedOld.reverse()) await ops.cleanup(name, logicalId, record, 'updateReplacePolicy');
    }
    const changed = summary.created.length + summary.updated.length + summary.replaced.length + summary.deleted.length > 0
      || JSON.stringify(previous?.outputs ?? {}) !== JSON.stringify(live.outputs);
    live.status = previous ? (changed ? 'UPDATE_COMPLETE' : previous.status) : 'CREATE_COMPLETE';
    live.updatedAt = ctx.now();
    ctx.emit(name, name, 'AWS::CloudFormation::Stack', changed || !previous ? live.status : 'NO_CHANGES');
    ctx.save();
    return {
      stackName: name,
      status: changed || !previous ? live.status : 'NO_CHANGES',
      ...summary,
      outputs: live.outputs,
      resources: summarize(live.resources),
      recordedOnly: Object.entries(live.resources).filter(([, r]) => !isCustomType(r.type) && !isEmulatedType(r.type)).map(([id]) => id),
      virtualSeconds: (ctx.now() - startedAt) / 1000,
    };
  }

  /** Undoes the steps of a failed deploy in reverse; returns what could not be undone. */
  private async rollback(
    source: Source, model: TemplateModel, live: StackState, previous: StackState | undefined, steps: Step[], failed: Step | undefined,
  ): Promise<string[]> {
    const { ctx, ops } = this;
    const problems: string[] = [];
    // Resources that could not be undone, and what they need: CloudFormation never deletes what a remaining resource uses.
    const kept = new Set<string>();
    const name = live.stackName;
    ctx.emit(name, name, 'AWS::CloudFormation::Stack', previous ? 'UPDATE_ROLLBACK_IN_PROGRESS' : 'ROLLBACK_IN_PROGRESS');
    // A custom resource whose Update failed is sent the previous properties too, as CloudFormation does.
    const undo = [...steps];
    if (failed?.kind === 'update' && failed.before && (isCustomType(failed.before.type) || failed.before.type === 'AWS::CloudFormation::Stack')) {
      undo.push(failed);
    }
    for (const step of undo.reverse()) {
      const record = live.resources[step.logicalId];
      try {
        if (step.kind === 'create' || step.kind === 'replace') {
          const user = model.dependents(step.logicalId).find((d) => kept.has(d));
          if (user) {
            kept.add(step.logicalId);
            ctx.emit(name, step.logicalId, record?.type ?? '', 'DELETE_SKIPPED', record?.physicalId, `${user} depends on it and could not be deleted`);
            continue;
          }
          if (record && record !== step.before) {
            if (record.deletionPolicy && RETAINED.has(record.deletionPolicy) && step.kind === 'create') {
              ctx.emit(name, step.logicalId, record.type, 'DELETE_SKIPPED', record.physicalId);
            } else {
              await ops.delete(name, step.logicalId, record);
            }
          }
          if (step.before) live.resources[step.logicalId] = step.before;
          else delete live.resources[step.logicalId];
        } else if (step.before) {
          // What is deployed now carries the properties this deploy asked for (OldResourceProperties of the way back).
          const now = { ...(record ?? step.before), properties: step.props };
          if (isCustomType(step.before.type)) {
            const back = await ops.customRequest(name, step.logicalId, step.before.type, 'Update', step.before.properties, now);
            live.resources[step.logicalId] = { ...step.before, attributes: back.data };
          } else if (step.before.type === 'AWS::CloudFormation::Stack') {
            const back = await ops.update(source, name, step.logicalId, now, step.before.properties);
            live.resources[step.logicalId] = { ...step.before, attributes: back.attributes, extra: back.extra };
            continue;
          } else {
            const done = await updateResource(ops.provisionContext(name, step.logicalId), now, step.before.properties);
            live.resources[step.logicalId] = { ...step.before, attributes: done.attributes, extra: done.extra };
          }
          ctx.emit(name, step.logicalId, step.before.type, 'UPDATE_COMPLETE', step.before.physicalId);
        }
      } catch (err) {
        const reason = ops.reasonOf(err);
        kept.add(step.logicalId);
        problems.push(`${step.logicalId}: ${reason}`);
        ctx.emit(name, step.logicalId, record?.type ?? step.before?.type ?? '', 'ROLLBACK_FAILED', record?.physicalId, reason);
      }
    }
    if (previous && problems.length === 0) {
      live.template = previous.template;
      live.parameters = previous.parameters;
      live.outputs = previous.outputs;
      live.exports = previous.exports;
      live.imports = previous.imports;
    }
    return problems;
  }

  private resolverFor(model: TemplateModel, live: StackState, imports: Set<string>): IntrinsicResolver {
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
        return attributeForIntrinsic(record.attributes[attribute]);
      },
      importValue: (exportName) => {
        const value = this.registry.importValue(exportName);
        imports.add(exportName);
        return value;
      },
      stackOutput: (stackName, outputName, region) => this.registry.stackOutput(stackName, outputName, region),
    });
  }
}

function resolveOutputs(model: TemplateModel, resolver: IntrinsicResolver): { outputs: Record<string, string>; exports: Record<string, string> } {
  const outputs: Record<string, string> = {};
  const exports: Record<string, string> = {};
  for (const [name, output] of Object.entries(model.template.Outputs ?? {})) {
    if (output.Condition !== undefined && !resolver.condition(output.Condition, `Outputs.${name}.Condition`)) continue;
    const value = resolver.resolve(output.Value, `Outputs.${name}.Value`);
    outputs[name] = Array.isArray(value) ? value.join(',') : String(value);
    const exported = output.Export as { Name?: unknown } | undefined;
    if (exported?.Name !== undefined) exports[String(resolver.resolve(exported.Name, `Outputs.${name}.Export.Name`))] = outputs[name];
  }
  return { outputs, exports };
}

export function summarize(resources: Record<string, ResourceRecord>): Record<string, StackResourceSummary> {
  return Object.fromEntries(Object.entries(resources).map(([id, r]) => [id, { type: r.type, physicalId: r.physicalId, attributes: r.attributes }]));
}

/** The source of a top-level stack. */
export function sourceOf(assembly: Source['assembly'], stack: AssemblyStack): Source {
  return { assembly, stack };
}
