/**
 * Before anything is created, the whole assembly (every stack to deploy, nested stacks included) is walked for what
 * the runner cannot run, and for what AWS itself would refuse (limits.ts). Each refusal names the construct path
 * (`aws:cdk:path`), the resource type, the problem and what to do; all of them are reported at once.
 *
 * Refused: Docker image assets and assets built by a command; template transforms (SAM and other macros); resource
 * types CloudFormation does not know; `Fn::GetAtt` of an attribute the type does not have; intrinsics the runner does
 * not evaluate; stacks in another account or Region than the offline world's; functions that would be invoked (by a
 * custom resource, the CDK Provider framework, a state machine or a schedule) whose runtime is not Node.js, whose code
 * is a container image or an archive, or that live outside the app; SNS-backed custom resources; state machine tasks
 * with no offline service; schedules whose target the local scheduler does not deliver to. A function nothing invokes
 * is recorded whatever its runtime.
 */
import { analyzeDefinition, routeResource } from './asl';
import { AssemblyStack, CloudAssembly, NestedTemplate } from './assembly';
import { isPlainObject, OFFLINE_ACCOUNT_ID, OFFLINE_REGION } from './intrinsics';
import { templateProblems } from './limits';
import { resourceTypeFacts } from './resource-spec';
import { SFN_START_EXECUTION_TARGET } from './scheduler';
import { OFFLINE_SDK_SERVICES } from './sdk-tasks';
import { CfnResource, CfnTemplate } from './template';

/** One thing the runner will not run. */
export interface Refusal {
  readonly stackName: string;
  /** The construct path (or `<stack>/<logicalId>` when the assembly has none). */
  readonly path: string;
  readonly logicalId?: string;
  readonly type: string;
  readonly problem: string;
  readonly fix: string;
}

/** The app cannot run offline: every refusal, before anything was created. */
export class PreflightError extends Error {
  constructor(readonly refusals: readonly Refusal[]) {
    super(`The app cannot run offline, so nothing was deployed:\n${refusals.map((r) => `  - ${r.path} (${r.type}): ${r.problem}. ${r.fix}`).join('\n')}`);
    this.name = 'PreflightError';
  }
}

/** Intrinsics the runner evaluates (intrinsics.ts). */
const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Sub', 'Fn::Select', 'Fn::Split', 'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And',
  'Fn::Or', 'Fn::GetAZs', 'Fn::Base64', 'Fn::FindInMap', 'Fn::ImportValue', 'Fn::GetStackOutput', 'Fn::Contains']);

const CUSTOM = (type: string): boolean => type === 'AWS::CloudFormation::CustomResource' || type.startsWith('Custom::');
/** Types CloudFormation accepts without a registry schema. */
const CDK_OWN = new Set(['AWS::CDK::Metadata']);

/** Throws PreflightError (what cannot run offline) or an Error listing what AWS would refuse; returns when all is well. */
export function assertRunnable(assembly: CloudAssembly, stacks: readonly AssemblyStack[]): void {
  const refusals = stacks.flatMap((s) => stackRefusals(assembly, s));
  if (refusals.length > 0) throw new PreflightError(refusals);
  for (const stack of stacks) {
    const refused = [stack.template, ...allNested(stack.nested).map((n) => n.template)].flatMap((t) => templateProblems(t, pathsOf(stack, t)));
    if (refused.length > 0) throw new Error(`Stack ${stack.stackName} would be refused by AWS, so nothing was deployed:\n  - ${refused.join('\n  - ')}`);
  }
}

/** Everything in one stack (and its nested stacks) the runner cannot run. */
export function stackRefusals(assembly: CloudAssembly, stack: AssemblyStack): Refusal[] {
  const out: Refusal[] = [];
  const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(stack.environment) ?? [];
  if ((region && region !== 'unknown-region' && region !== OFFLINE_REGION) || (account && account !== 'unknown-account' && account !== OFFLINE_ACCOUNT_ID)) {
    out.push({ stackName: stack.stackName, path: stack.displayName, type: 'AWS::CloudFormation::Stack',
      problem: `the stack is synthesized for ${stack.environment}, and the offline world is account ${OFFLINE_ACCOUNT_ID} in ${OFFLINE_REGION} `
        + '(ARNs in the template would name another account or Region than the offline services)',
      fix: `Synthesize the app for offline tests with env { region: '${OFFLINE_REGION}' } (and no account, or ${OFFLINE_ACCOUNT_ID})` });
  }
  for (const asset of stack.unpublishableAssets) {
    const users = usersOf(stack, asset.references);
    const problem = asset.kind === 'docker-image'
      ? `uses the Docker image asset ${asset.displayName ?? asset.id}: Docker images cannot be built or run offline`
      : `uses the asset ${asset.displayName ?? asset.id}, which a command builds: the runner publishes files and folders only`;
    const fix = asset.kind === 'docker-image'
      ? 'Use a Node.js function from a folder (lambda.Code.fromAsset) for offline tests, or leave this construct out of the offline app'
      : 'Build the file before synth and use it as a plain file asset';
    if (users.length === 0) out.push({ stackName: stack.stackName, path: asset.displayName ?? `${stack.displayName}/${asset.id}`, type: 'asset', problem, fix });
    for (const u of users) out.push({ stackName: stack.stackName, path: u.path, logicalId: u.logicalId, type: u.type, problem, fix });
  }
  walkTemplate(assembly, stack, stack.template, stack.constructPaths, stack.nested, out);
  return out;
}

function walkTemplate(assembly: CloudAssembly, stack: AssemblyStack, template: CfnTemplate, paths: Readonly<Record<string, string>>,
  nested: readonly NestedTemplate[], out: Refusal[]): void {
  const resources = template.Resources ?? {};
  const where = (id: string): string => paths[id] ?? `${stack.displayName}/${id}`;
  const refuse = (id: string | undefined, type: string, problem: string, fix: string): void => {
    out.push({ stackName: stack.stackName, path: id ? where(id) : stack.displayName, ...(id ? { logicalId: id } : {}), type, problem, fix });
  };
  if (template.Transform !== undefined) {
    refuse(undefined, 'AWS::CloudFormation::Stack', `the template needs the transform ${JSON.stringify(template.Transform)}, which only CloudFormation can expand`,
      'Write the resources without a transform (for SAM: the aws-cdk-lib constructs instead of AWS::Serverless types)');
  }
  for (const [id, r] of Object.entries(resources)) {
    const facts = resourceTypeFacts(r.Type);
    if (!facts && !CUSTOM(r.Type) && !CDK_OWN.has(r.Type)) {
      refuse(id, r.Type, `Template format error: Unrecognized resource types: [${r.Type}]`, 'Use a resource type CloudFormation knows');
    } else if (facts?.transform) {
      refuse(id, r.Type, `the type needs the transform ${facts.transform}, which only CloudFormation can expand`,
        'Use the equivalent aws-cdk-lib constructs instead');
    }
    for (const { name, at } of intrinsicsIn(r)) {
      if (!INTRINSICS.has(name)) refuse(id, r.Type, `${name} (at ${at}) is not evaluated offline`, 'Compute the value at synth time instead');
    }
    for (const { target, attribute } of getAttsIn(r.Properties ?? {})) {
      const targetType = resources[target]?.Type;
      const targetFacts = targetType ? resourceTypeFacts(targetType) : undefined;
      if (!targetType || !targetFacts) continue;
      const nestedOutput = targetType === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.');
      if (!nestedOutput && !(attribute in targetFacts.attributes)) {
        refuse(id, r.Type, `Template error: resource ${target} does not support attribute type ${attribute} in Fn::GetAtt`,
          `${targetType} has: ${Object.keys(targetFacts.attributes).join(', ') || 'no attributes'}`);
      }
    }
    for (const so of stackOutputsIn(r.Properties ?? {})) {
      if (so.RoleArn !== undefined || (typeof so.Region === 'string' && so.Region !== OFFLINE_REGION)) {
        refuse(id, r.Type, 'Fn::GetStackOutput reads another account or Region, and the offline world is one account in one Region',
          'Deploy the stacks to one account and Region for offline tests');
      }
    }
  }
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    for (const { target, attribute } of getAttsIn(output.Value)) {
      const targetFacts = resources[target] ? resourceTypeFacts(resources[target].Type) : undefined;
      if (targetFacts && !(attribute in targetFacts.attributes) && !(resources[target].Type === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.'))) {
        out.push({ stackName: stack.stackName, path: `${stack.displayName}/${name}`, type: 'Output',
          problem: `Template error: resource ${target} does not support attribute type ${attribute} in Fn::GetAtt`, fix: 'Read an attribute the type has' });
      }
    }
  }
  scheduleTargetRefusals(template, refuse);
  invokedFunctionRefusals(template, where, refuse);
  for (const n of nested) walkTemplate(assembly, stack, n.template, n.constructPaths, n.nested, out);
}

/** Schedules whose target the local scheduler does not deliver to (scheduler.ts: functions, state machines, sfn:startExecution). */
function scheduleTargetRefusals(template: CfnTemplate, refuse: (id: string | undefined, type: string, problem: string, fix: string) => void): void {
  const resources = template.Resources ?? {};
  const fix = 'Target a Lambda function or a Step Functions state machine (or arn:aws:scheduler:::aws-sdk:sfn:startExecution) for offline tests';
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Scheduler::Schedule') continue;
    const target = isPlainObject(r.Properties?.Target) ? r.Properties.Target : {};
    const arn = target.Arn;
    if (typeof arn === 'string') {
      if (!/^arn:[^:]+:(lambda:[^:]*:[^:]*:function:|states:[^:]*:[^:]*:stateMachine:)/.test(arn) && !SFN_START_EXECUTION_TARGET.test(arn)) {
        refuse(id, r.Type, `its target ${arn} is not one the offline scheduler delivers to`, fix);
      }
      continue;
    }
    const [targetId] = referencedIds(arn);
    const targetType = targetId ? resources[targetId]?.Type : undefined;
    if (targetType && targetType !== 'AWS::Lambda::Function' && targetType !== 'AWS::StepFunctions::StateMachine') {
      refuse(id, r.Type, `its target is ${targetType} ${targetId}, which the offline scheduler does not deliver to`, fix);
    }
  }
}

/** Functions that would run offline, checked for what the Lambda host can run. */
function invokedFunctionRefusals(template: CfnTemplate, where: (id: string) => string,
  refuse: (id: string | undefined, type: string, problem: string, fix: string) => void): void {
  const resources = template.Resources ?? {};
  const invoked = new Map<string, string>(); // function logical id -> who invokes it
  const isFunction = (id: string): boolean => resources[id]?.Type === 'AWS::Lambda::Function';
  const stateMachineFunctions = (smId: string, by: string): void => {
    const sm = resources[smId];
    if (!sm || sm.Type !== 'AWS::StepFunctions::StateMachine') return;
    for (const f of referencedIds(sm.Properties ?? {})) if (isFunction(f)) invoked.set(f, by);
    const definition = literalDefinition(sm.Properties ?? {});
    if (!definition) return;
    try {
      const info = analyzeDefinition(definition);
      for (const task of info.tasks) {
        const route = routeResource(task.resource);
        if (!route) {
          refuse(smId, sm.Type, `its task ${task.path} calls ${task.resource}, which has no offline service (it would go to AWS)`,
            'Call the service through a Lambda function or an aws-sdk integration the runner serves (Rekognition, S3, SSM)');
        } else if (route.kind === 'sdk' && !OFFLINE_SDK_SERVICES.includes(route.service)) {
          refuse(smId, sm.Type, `its task ${task.path} calls aws-sdk:${route.service}, which has no offline service`,
            `The runner serves aws-sdk integrations of ${OFFLINE_SDK_SERVICES.join(', ')}`);
        }
      }
    } catch (err) {
      refuse(smId, sm.Type, (err as Error).message, 'Use JSONPath and the state types aws-local-stepfunctions runs');
    }
  };
  for (const [id, r] of Object.entries(resources)) {
    if (CUSTOM(r.Type)) {
      const token = r.Properties?.ServiceToken;
      const ids = referencedIds(token);
      const topic = ids.find((t) => resources[t]?.Type === 'AWS::SNS::Topic') ?? (typeof token === 'string' && /^arn:[^:]+:sns:/.test(token) ? token : undefined);
      if (topic) {
        refuse(id, r.Type, 'an SNS-backed custom resource: its requests go to a topic, and topics only record offline', 'Back it with a Lambda function');
        continue;
      }
      const fn = ids.find(isFunction);
      if (!fn) {
        if (typeof token === 'string') {
          refuse(id, r.Type, `its ServiceToken ${token} is not a function of this app`, 'The runner can only run the app\'s own functions');
        }
        continue;
      }
      invoked.set(fn, `custom resource ${where(id)}`);
      // The CDK Provider framework: its entry function invokes the user's onEvent and isComplete, its waiter runs isComplete.
      const env = resources[fn].Properties?.Environment;
      const vars = isPlainObject(env) && isPlainObject(env.Variables) ? env.Variables : {};
      for (const key of ['USER_ON_EVENT_FUNCTION_ARN', 'USER_IS_COMPLETE_FUNCTION_ARN']) {
        for (const f of referencedIds(vars[key])) if (isFunction(f)) invoked.set(f, `the Provider framework of ${where(id)}`);
      }
      for (const sm of referencedIds(vars.WAITER_STATE_MACHINE_ARN)) stateMachineFunctions(sm, `the Provider framework of ${where(id)}`);
    } else if (r.Type === 'AWS::StepFunctions::StateMachine') {
      stateMachineFunctions(id, `state machine ${where(id)}`);
    } else if (r.Type === 'AWS::Scheduler::Schedule') {
      const target = isPlainObject(r.Properties?.Target) ? r.Properties.Target : {};
      for (const f of referencedIds(target.Arn)) if (isFunction(f)) invoked.set(f, `schedule ${where(id)}`);
    }
  }
  for (const [fn, by] of invoked) {
    const props = resources[fn].Properties ?? {};
    const runtime = props.Runtime;
    const code = isPlainObject(props.Code) ? props.Code : {};
    if (props.PackageType === 'Image' || code.ImageUri !== undefined) {
      refuse(fn, 'AWS::Lambda::Function', `a container image function, invoked by ${by}: images cannot run offline`,
        'Use a Node.js function from a folder (lambda.Code.fromAsset) or inline code');
    } else if (typeof runtime === 'string' && !runtime.startsWith('nodejs')) {
      refuse(fn, 'AWS::Lambda::Function', `runtime ${runtime}, invoked by ${by}: only Node.js functions run offline`,
        'Write this handler for a Node.js runtime, or test the stack without it; a function nothing invokes may use any runtime');
    } else if (typeof code.S3Key === 'string' && /\.(zip|jar)$/i.test(code.S3Key) && !/^[0-9a-f]{64}\.zip$/.test(code.S3Key)) {
      refuse(fn, 'AWS::Lambda::Function', `its code is the archive ${code.S3Key}, invoked by ${by}: the runner runs code from a folder asset or inline code`,
        'Use lambda.Code.fromAsset on a folder');
    }
  }
}

/** Who refers to an asset: resources whose properties contain one of its references (image tag, object key). */
function usersOf(stack: AssemblyStack, references: readonly string[]): { logicalId: string; path: string; type: string }[] {
  const found: { logicalId: string; path: string; type: string }[] = [];
  const scan = (template: CfnTemplate, paths: Readonly<Record<string, string>>, nested: readonly NestedTemplate[]): void => {
    for (const [id, r] of Object.entries(template.Resources ?? {})) {
      const text = JSON.stringify(r.Properties ?? {});
      if (references.some((ref) => ref && text.includes(ref))) found.push({ logicalId: id, path: paths[id] ?? `${stack.displayName}/${id}`, type: r.Type });
    }
    for (const n of nested) scan(n.template, n.constructPaths, n.nested);
  };
  scan(stack.template, stack.constructPaths, stack.nested);
  return found;
}

function allNested(nested: readonly NestedTemplate[]): NestedTemplate[] {
  return nested.flatMap((n) => [n, ...allNested(n.nested)]);
}

function pathsOf(stack: AssemblyStack, template: CfnTemplate): Readonly<Record<string, string>> {
  if (template === stack.template) return stack.constructPaths;
  return allNested(stack.nested).find((n) => n.template === template)?.constructPaths ?? {};
}

/** Every intrinsic function name used in a resource (keys `Ref`/`Fn::*` of single-key objects), with where. */
function intrinsicsIn(resource: CfnResource): { name: string; at: string }[] {
  const found: { name: string; at: string }[] = [];
  const visit = (v: unknown, at: string): void => {
    if (Array.isArray(v)) { v.forEach((x, i) => visit(x, `${at}[${i}]`)); return; }
    if (!isPlainObject(v)) return;
    const keys = Object.keys(v);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) found.push({ name: keys[0], at });
    for (const [k, x] of Object.entries(v)) visit(x, `${at}.${k}`);
  };
  visit(resource.Properties ?? {}, 'Properties');
  return found;
}

function getAttsIn(value: unknown): { target: string; attribute: string }[] {
  const found: { target: string; attribute: string }[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!isPlainObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Fn::GetAtt' && Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'string') found.push({ target: x[0], attribute: x[1] });
      else if (k === 'Fn::GetAtt' && typeof x === 'string' && x.includes('.')) found.push({ target: x.slice(0, x.indexOf('.')), attribute: x.slice(x.indexOf('.') + 1) });
      else if (k === 'Fn::Sub') {
        const text = Array.isArray(x) ? x[0] : x;
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)\.([A-Za-z0-9.]+)\}/g)) found.push({ target: m[1], attribute: m[2] });
        }
      }
      visit(x);
    }
  };
  visit(value);
  return found;
}

function stackOutputsIn(value: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!isPlainObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Fn::GetStackOutput' && isPlainObject(x)) found.push(x);
      visit(x);
    }
  };
  visit(value);
  return found;
}

/** Logical ids a value refers to by Ref or Fn::GetAtt. */
function referencedIds(value: unknown): string[] {
  const ids: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!isPlainObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Ref' && typeof x === 'string') ids.push(x);
      else if (k === 'Fn::GetAtt' && Array.isArray(x) && typeof x[0] === 'string') ids.push(x[0]);
      else if (k === 'Fn::GetAtt' && typeof x === 'string') ids.push(x.split('.')[0]);
      visit(x);
    }
  };
  visit(value);
  return ids;
}

/** A state machine's definition with its tokens as placeholders (`Fn::Join` parts), enough to walk its states. */
const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws', 'AWS::Region': OFFLINE_REGION, 'AWS::AccountId': OFFLINE_ACCOUNT_ID, 'AWS::URLSuffix': 'amazonaws.com',
};

function literalDefinition(props: Record<string, unknown>): Record<string, unknown> | undefined {
  let text: string | undefined;
  const raw = props.DefinitionString;
  if (typeof raw === 'string') text = raw;
  else if (isPlainObject(raw) && Array.isArray(raw['Fn::Join']) && Array.isArray(raw['Fn::Join'][1])) {
    // Pseudo parameters take the offline world's values (a task's Resource is built as `arn:${Partition}:states:::...`);
    // any other token stands for a function ARN. A token between values makes the text invalid JSON: then nothing is checked.
    text = (raw['Fn::Join'][1] as unknown[]).map((part) => {
      if (typeof part === 'string') return part;
      const ref = isPlainObject(part) && typeof part.Ref === 'string' ? PSEUDO_PARAMETERS[part.Ref] : undefined;
      return ref ?? 'arn:aws:lambda:us-east-1:123456789012:function:TOKEN';
    }).join(String(raw['Fn::Join'][0]));
  } else if (isPlainObject(props.Definition)) {
    return props.Definition;
  }
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
