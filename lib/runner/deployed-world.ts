/**
 * What is deployed now, as the handlers and state machines find it: functions by name or ARN (with the code folder and
 * role credentials to run them), state machines by ARN, SSM parameters by name, wait-condition handles by URL, across
 * every stack of the state directory (nested stacks included).
 */
import { RunnerIdentities } from './identities';
import { isPlainObject } from './intrinsics';
import { LambdaFunctionSpec } from './lambda-host';
import { ResourceRecord, RunnerState } from './local-state';
import { WaitSignal } from './resources';
import { ParameterStore } from './sdk-tasks';

export interface DeployedResourceRef {
  readonly stackName: string;
  readonly logicalId: string;
  readonly record: ResourceRecord;
}

export class DeployedWorld {
  constructor(private readonly state: RunnerState, private readonly identities: RunnerIdentities) {}

  allResources(): DeployedResourceRef[] {
    return Object.values(this.state.stacks)
      .flatMap((s) => Object.entries(s.resources).map(([logicalId, record]) => ({ stackName: s.stackName, logicalId, record })));
  }

  findFunction(arnOrName: string): LambdaFunctionSpec | undefined {
    // `arn:...:function:<name>[:qualifier]` or a bare name.
    const match = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(arnOrName);
    const name = match ? match[1] : arnOrName;
    const found = this.allResources().find(({ record }) => record.type === 'AWS::Lambda::Function' && record.physicalId === name);
    if (!found) return undefined;
    const { record } = found;
    const props = record.properties;
    const envBlock = isPlainObject(props.Environment) && isPlainObject(props.Environment.Variables) ? props.Environment.Variables : {};
    const codeDir = typeof record.extra?.codeDir === 'string' ? record.extra.codeDir : '';
    if (!codeDir) throw new Error(`Function ${name} (${found.logicalId}) has no code the runner can load (only directory assets and ZipFile are supported)`);
    const roleArn = typeof props.Role === 'string' ? props.Role : undefined;
    return {
      functionName: name,
      functionArn: String(record.attributes.Arn ?? arnOrName),
      roleArn,
      credentials: this.identities.credentials(roleArn, name),
      codeDir,
      handler: String(props.Handler ?? 'index.handler'),
      runtime: typeof props.Runtime === 'string' ? props.Runtime : undefined,
      environment: Object.fromEntries(Object.entries(envBlock).map(([k, v]) => [k, String(v)])),
      timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : Number(props.Timeout ?? 3),
      memorySize: typeof props.MemorySize === 'number' ? props.MemorySize : Number(props.MemorySize ?? 128),
    };
  }

  /** A function name or (partial) ARN as the full, unqualified function ARN IAM authorizes. */
  functionArnOf(nameOrArn: string): string {
    return this.findFunction(nameOrArn)?.functionArn ?? nameOrArn;
  }

  stateMachine(arn: string): { definition: string; name: string } | undefined {
    const found = this.stateMachineRecord(arn);
    if (!found) return undefined;
    const props = found.properties;
    let definition = typeof props.DefinitionString === 'string' ? props.DefinitionString
      : isPlainObject(props.Definition) ? JSON.stringify(props.Definition) : '';
    if (isPlainObject(props.DefinitionSubstitutions)) {
      for (const [key, value] of Object.entries(props.DefinitionSubstitutions)) definition = definition.split(`\${${key}}`).join(String(value));
    }
    return { definition, name: String(found.attributes.Name ?? arn.split(':').pop()) };
  }

  /** The role a state machine's tasks run as. */
  stateMachineRole(arn: string): string | undefined {
    const role = this.stateMachineRecord(arn)?.properties.RoleArn;
    return typeof role === 'string' ? role : undefined;
  }

  findParameter(name: string): ResourceRecord | undefined {
    return this.allResources().find(({ record }) => record.type === 'AWS::SSM::Parameter' && record.physicalId === name)?.record;
  }

  /** The wait-condition handle whose URL has this path. */
  waitHandle(pathOrUrl: string): DeployedResourceRef | undefined {
    const wanted = urlPath(pathOrUrl);
    return this.allResources().find(({ record }) => record.type === 'AWS::CloudFormation::WaitConditionHandle' && urlPath(record.physicalId) === wanted);
  }

  /** Signals received so far by the handle with this URL. */
  signals(url: string): readonly WaitSignal[] {
    const handle = this.waitHandle(url);
    return Array.isArray(handle?.record.extra?.signals) ? (handle.record.extra.signals as WaitSignal[]) : [];
  }

  /** The SSM parameters: those the stacks declare, then those the workflows put (loose). */
  parameterStore(): ParameterStore {
    return {
      get: (name) => {
        const record = this.findParameter(name);
        if (record) {
          return { value: String(record.attributes.Value ?? ''), version: Number(record.extra?.version ?? 1), type: String(record.attributes.Type ?? 'String') };
        }
        return this.state.looseParameters[name];
      },
      put: (name, value, type) => {
        const record = this.findParameter(name);
        if (record) {
          const version = Number(record.extra?.version ?? 1) + 1;
          record.attributes = { ...record.attributes, Value: value };
          record.extra = { ...record.extra, version };
          return version;
        }
        const version = (this.state.looseParameters[name]?.version ?? 0) + 1;
        this.state.looseParameters[name] = { value, version, type: type ?? 'String' };
        return version;
      },
    };
  }

  private stateMachineRecord(arn: string): ResourceRecord | undefined {
    return this.allResources().find(({ record }) => record.type === 'AWS::StepFunctions::StateMachine' && record.physicalId === arn)?.record;
  }
}

export function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
