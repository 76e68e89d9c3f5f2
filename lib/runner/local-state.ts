/**
 * What a local deploy leaves in its state directory (next to the emulator's `rekognition/` and `s3/` folders): per
 * stack, the template deployed last, each resource's physical id, resolved properties and attributes, and the outputs,
 * so the next deploy can send exactly the changes CloudFormation would.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CfnTemplate } from './template';

/** A deployed resource. */
export interface ResourceRecord {
  readonly type: string;
  physicalId: string;
  /** The resolved properties it was created or last updated with. */
  properties: Record<string, unknown>;
  /** What `Fn::GetAtt` returns (for custom resources: the handler's Data). */
  attributes: Record<string, unknown>;
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
  /** Type-specific facts the runner keeps (an SSM value's version, a wait handle's signals, a function's code folder...). */
  extra?: Record<string, unknown>;
}

export type StackStatus =
  | 'CREATE_COMPLETE' | 'UPDATE_COMPLETE' | 'ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED' | 'UPDATE_ROLLBACK_COMPLETE' | 'UPDATE_ROLLBACK_FAILED'
  | 'DELETE_FAILED';

export interface StackState {
  readonly stackName: string;
  status: StackStatus;
  template: CfnTemplate;
  parameters: Record<string, unknown>;
  resources: Record<string, ResourceRecord>;
  outputs: Record<string, string>;
  /** Exported outputs by export name (the values other stacks import). */
  exports?: Record<string, string>;
  /** Export names this stack imports (Fn::ImportValue): their stacks cannot drop or change them. */
  imports?: string[];
  /** For a nested stack: the stack whose AWS::CloudFormation::Stack resource made it. */
  parentStack?: string;
  /** The artifact id in the cloud assembly (stack names may differ from it). */
  artifactId?: string;
  /** Names of the stacks this one was deployed after (the assembly's dependencies): a destroy deletes this one first. */
  dependsOn?: string[];
  /** Virtual epoch ms of the last change. */
  updatedAt: number;
}

export interface RunnerState {
  readonly version: 1;
  /** Port of the runner's local services, kept so that wait-handle URLs stay valid across runs. */
  servicesPort?: number;
  /** The virtual clock's last reading: the next run starts there, so the emulator's timestamps never go backwards. */
  virtualNow?: number;
  /** SSM parameters put by the workflow that no stack declares. */
  looseParameters: Record<string, { value: string; version: number; type: string }>;
  stacks: Record<string, StackState>;
}

export const RUNNER_STATE_FOLDER = 'runner';

/** Loads and saves `<stateDir>/runner/state.json` (written atomically). */
export class RunnerStateStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(path.resolve(stateDir), RUNNER_STATE_FOLDER, 'state.json');
  }

  /** Whether a runner has saved state here. */
  exists(): boolean {
    return fs.existsSync(this.file);
  }

  load(): RunnerState {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return { version: 1, looseParameters: {}, stacks: {} };
    }
    const parsed = JSON.parse(text) as Partial<RunnerState>;
    if (parsed.version !== 1) throw new Error(`${this.file} has state version ${JSON.stringify(parsed.version)}; this runner reads version 1`);
    return { version: 1, servicesPort: parsed.servicesPort, virtualNow: parsed.virtualNow, looseParameters: parsed.looseParameters ?? {},
      stacks: parsed.stacks ?? {} };
  }

  save(state: RunnerState): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(state, null, 1)}\n`);
    fs.renameSync(tmp, this.file);
  }
}
