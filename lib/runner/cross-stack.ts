/**
 * References between stacks, as CloudFormation keeps them in one account and Region: exports (`Outputs.*.Export`) and
 * `Fn::ImportValue` (strong: an export in use cannot change or go away), and `Fn::GetStackOutput` (weak: read once at
 * deploy time from the other stack's outputs).
 */
import { OFFLINE_REGION } from './intrinsics';
import { RunnerState, StackState } from './local-state';

/** A refusal CloudFormation makes over exports and imports. */
export class CrossStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrossStackError';
  }
}

export class CrossStackRegistry {
  constructor(private readonly state: RunnerState) {}

  /** The value another stack exports under this name; throws as CloudFormation does when none does. */
  importValue(exportName: string): string {
    for (const stack of Object.values(this.state.stacks)) {
      const value = stack.exports?.[exportName];
      if (value !== undefined) return value;
    }
    throw new CrossStackError(`No export named ${exportName} found.`);
  }

  /**
   * An output of another stack (Fn::GetStackOutput). [inferred] CloudFormation documents no message for a missing stack
   * or output: a missing stack gets DescribeStacks' own ("Stack with id X does not exist"), which is what the
   * function's lookup would report.
   */
  stackOutput(stackName: string, outputName: string, region: string | undefined): string {
    if (region !== undefined && region !== OFFLINE_REGION) {
      throw new CrossStackError(`Fn::GetStackOutput reads stack ${stackName} in ${region}: the offline world has one Region (${OFFLINE_REGION}); `
        + 'deploy the stacks to one Region to test them offline');
    }
    const stack = this.state.stacks[stackName];
    if (!stack) throw new CrossStackError(`Stack with id ${stackName} does not exist`);
    const value = stack.outputs[outputName];
    if (value === undefined) throw new CrossStackError(`Stack ${stackName} has no output named ${outputName}`);
    return value;
  }

  /** The stacks that import an export, other than `except`. */
  importers(exportName: string, except?: string): string[] {
    return Object.values(this.state.stacks).filter((s) => s.stackName !== except && (s.imports ?? []).includes(exportName)).map((s) => s.stackName);
  }

  /**
   * Refuses exports a deploy of `stack` would leave CloudFormation refusing: a name another stack exports already, or a
   * change or removal of an export another stack imports. `next`: the exports the new template resolves to.
   */
  checkExports(stack: StackState, previous: Readonly<Record<string, string>>, next: Readonly<Record<string, string>>): void {
    for (const name of Object.keys(next)) {
      const owner = Object.values(this.state.stacks).find((s) => s.stackName !== stack.stackName && s.exports?.[name] !== undefined);
      if (owner) throw new CrossStackError(`Export with name ${name} is already exported by stack ${owner.stackName}`);
    }
    for (const [name, value] of Object.entries(previous)) {
      const users = this.importers(name, stack.stackName);
      if (users.length === 0) continue;
      if (next[name] === undefined) throw new CrossStackError(`Export ${name} cannot be deleted as it is in use by ${users.join(', ')}`);
      if (next[name] !== value) throw new CrossStackError(`Export ${name} cannot be updated as it is in use by ${users.join(', ')}`);
    }
  }

  /** Refuses to delete a stack whose exports other stacks import, with CloudFormation's reason. */
  checkDelete(stack: StackState): void {
    for (const name of Object.keys(stack.exports ?? {})) {
      const users = this.importers(name, stack.stackName);
      if (users.length > 0) throw new CrossStackError(`Delete canceled. Cannot delete export ${name} as it is in use by ${users.join(', ')}.`);
    }
  }
}
