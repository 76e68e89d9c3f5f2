/**
 * Deleting one stack, as CloudFormation does: refused while another stack imports one of its exports; otherwise every
 * resource in reverse dependency order, Retain policies honoured, and the first failure leaves the stack DELETE_FAILED.
 */
import { CrossStackError, CrossStackRegistry } from './cross-stack';
import { ResourceOps,RETAINED } from './resource-ops';
import { RunnerContext } from './runner-context';
import { LocalDeployError, StackDestroyResult, StackResourceSummary } from './runner-types';
import { TemplateModel } from './template';

export async function destroyStack(ctx: RunnerContext, ops: ResourceOps, registry: CrossStackRegistry, name: string): Promise<StackDestroyResult> {
  const live = ctx.state.stacks[name];
  const startedAt = ctx.now();
  if (!live) return { stackName: name, deleted: [], retained: {}, virtualSeconds: 0, existed: false };
  try {
    registry.checkDelete(live);
  } catch (err) {
    if (!(err instanceof CrossStackError)) throw err;
    // CloudFormation cancels the delete before touching anything; the stack keeps its status.
    ctx.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_FAILED', undefined, err.message);
    throw new LocalDeployError(name, live.status, name, err.message);
  }
  ctx.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_IN_PROGRESS');
  const model = new TemplateModel(live.template);
  const inOrder = model.deleteOrder().filter((id) => live.resources[id]);
  const order = [...inOrder, ...Object.keys(live.resources).filter((id) => !inOrder.includes(id))];
  const deleted: string[] = [];
  const retained: Record<string, StackResourceSummary> = {};
  for (const id of order) {
    const record = live.resources[id];
    if (record.deletionPolicy && RETAINED.has(record.deletionPolicy)) {
      ctx.emit(name, id, record.type, 'DELETE_SKIPPED', record.physicalId);
      retained[id] = { type: record.type, physicalId: record.physicalId, attributes: record.attributes };
      delete live.resources[id];
      continue;
    }
    try {
      await ops.delete(name, id, record);
    } catch (err) {
      const reason = ops.reasonOf(err);
      ctx.emit(name, id, record.type, 'DELETE_FAILED', record.physicalId, reason);
      live.status = 'DELETE_FAILED';
      live.updatedAt = ctx.now();
      ctx.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_FAILED');
      ctx.save();
      throw new LocalDeployError(name, 'DELETE_FAILED', id, reason);
    }
    delete live.resources[id];
    deleted.push(id);
    ctx.save();
  }
  delete ctx.state.stacks[name];
  ctx.emit(name, name, 'AWS::CloudFormation::Stack', 'DELETE_COMPLETE');
  ctx.save();
  return { stackName: name, deleted, retained, virtualSeconds: (ctx.now() - startedAt) / 1000, existed: true };
}
