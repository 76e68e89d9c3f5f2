/**
 * The scenario behind the permission tests: the example app deployed, updated with a changed image (a new version
 * trains, passes its gate, starts and replaces the serving one), given a version made outside the stack, and destroyed,
 * offline, with IAM enforced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';

import { ShapesStack } from '../../bin/app';
import { AccessRecord } from '../../lib/iam/world';
import { DeployedResource } from '../../lib/runner/identities';
import { isPlainObject } from '../../lib/runner/intrinsics';
import { packageRoot } from '../../lib/shared/handler-code';
import { openSession, Session } from './helpers';

export const STACK = 'CustomLabelsShapes';

export interface ExampleRun {
  readonly phases: string[];
  readonly decisions: readonly AccessRecord[];
  /** The resources as deployed after the update (the policies the run used). */
  readonly deployed: DeployedResource[];
  /** The first cloud assembly (for removal tests). */
  readonly assembly: string;
}

/** Synthesizes the example app from `examplesRoot` into `outdir`. */
export function synthExample(outdir: string, examplesRoot: string): string {
  const app = new App({ outdir });
  new ShapesStack(app, STACK, { examplesRoot, env: { region: 'us-east-1' } });
  app.synth();
  return outdir;
}

/** A copy of the example images under `dir/examples`, and the same with one classification image removed. */
export function exampleRoots(dir: string): { v1: string; v2: string } {
  const v1 = path.join(dir, 'v1');
  const v2 = path.join(dir, 'v2');
  for (const root of [v1, v2]) fs.cpSync(path.join(packageRoot(), 'examples'), path.join(root, 'examples'), { recursive: true });
  const folder = path.join(v2, 'examples', 'shapes-classification');
  const label = fs.readdirSync(folder).sort()[0];
  fs.rmSync(path.join(folder, label, fs.readdirSync(path.join(folder, label)).sort()[0]));
  return { v1, v2 };
}

export async function exampleScenario(dir: string): Promise<{ session: Session; run: ExampleRun }> {
  const roots = exampleRoots(dir);
  const assembly = synthExample(path.join(dir, 'v1.out'), roots.v1);
  const updated = synthExample(path.join(dir, 'v2.out'), roots.v2);
  const session = await openSession(path.join(dir, 'state'));
  const { runner } = session;
  const phases: string[] = [];
  await runner.deploy(assembly);
  await runner.settle();
  phases.push('deployed');
  await runner.deploy(updated);
  await runner.settle();
  phases.push('updated');
  // A version in each project made outside the stack (by hand, in the console): only the project's teardown can remove it.
  for (const project of (await session.rekognition.describeProjects({})).ProjectDescriptions ?? []) {
    await session.rekognition.createProjectVersion({ ProjectArn: project.ProjectArn, VersionName: 'by-hand',
      OutputConfig: { S3Bucket: runner.stackState(STACK)!.resources[dataBucketId(runner)].physicalId, S3KeyPrefix: 'output/by-hand/' } });
  }
  const deployed = Object.entries(structuredClone(runner.stackState(STACK)!.resources)).map(([logicalId, record]) => ({ logicalId, record }));
  await runner.destroy();
  phases.push('destroyed');
  return { session, run: { phases, decisions: session.cloud.access.history(), deployed, assembly } };
}

function dataBucketId(runner: Session['runner']): string {
  return Object.keys(runner.stackState(STACK)!.resources).find((id) => /^CustomLabelsModelWorkflowDataBucket/.test(id)
    && runner.stackState(STACK)!.resources[id].type === 'AWS::S3::Bucket')!;
}

/** One statement of a role's policies, where it is, and how to remove it (from deployed resources or a template). */
export interface RoleStatement {
  readonly where: string;
  /** The logical id of the policy (or role) holding it, and its index there. */
  readonly policyId: string;
  readonly index: number;
  readonly inlinePolicy?: number;
  readonly actions: string[];
  /** Its Resource, resolved. */
  readonly resources: string[];
  readonly roleArns: string[];
  readonly roleIds: string[];
  remove(resources: DeployedResource[]): DeployedResource[];
}

const listOf = (statement: unknown, key: string): string[] => {
  const value = isPlainObject(statement) ? statement[key] : undefined;
  return Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
};
const actionsOf = (statement: unknown): string[] => listOf(statement, 'Action');

/** Every statement of every role's inline and attached policies. */
export function statementsOfRoles(resources: DeployedResource[]): RoleStatement[] {
  const roles = resources.filter((r) => r.record.type === 'AWS::IAM::Role');
  const byName = new Map(roles.map((r) => [r.record.physicalId, r]));
  const out: RoleStatement[] = [];
  const statementsIn = (doc: unknown): unknown[] => (isPlainObject(doc) && Array.isArray(doc.Statement) ? doc.Statement : []);
  for (const { logicalId, record } of resources) {
    if (record.type === 'AWS::IAM::Policy' || record.type === 'AWS::IAM::ManagedPolicy') {
      const names = Array.isArray(record.properties.Roles) ? record.properties.Roles.map(String) : [];
      const holders = names.map((n) => byName.get(n)).filter((r) => r !== undefined);
      statementsIn(record.properties.PolicyDocument).forEach((st, index) => {
        out.push({
          where: `${logicalId}.Statement[${index}]`, policyId: logicalId, index, actions: actionsOf(st), resources: listOf(st, 'Resource'),
          roleArns: holders.map((r) => String(r.record.attributes.Arn)), roleIds: holders.map((r) => r.logicalId),
          remove: (all) => all.map((r) => (r.logicalId !== logicalId ? r : {
            logicalId, record: { ...r.record, properties: { ...r.record.properties, PolicyDocument: {
              ...(r.record.properties.PolicyDocument as Record<string, unknown>),
              Statement: statementsIn(r.record.properties.PolicyDocument).filter((_, i) => i !== index) } } },
          })),
        });
      });
    }
    if (record.type === 'AWS::IAM::Role' && Array.isArray(record.properties.Policies)) {
      record.properties.Policies.forEach((policy, p) => {
        statementsIn(isPlainObject(policy) ? policy.PolicyDocument : undefined).forEach((st, index) => {
          out.push({
            where: `${logicalId}.Policies[${p}].Statement[${index}]`, policyId: logicalId, index, inlinePolicy: p, actions: actionsOf(st),
            resources: listOf(st, 'Resource'),
            roleArns: [String(record.attributes.Arn)], roleIds: [logicalId],
            remove: (all) => all.map((r) => {
              if (r.logicalId !== logicalId) return r;
              const policies = (r.record.properties.Policies as Record<string, unknown>[]).map((pol, i) => {
                if (i !== p) return pol;
                const kept = statementsIn(pol.PolicyDocument).filter((_, j) => j !== index);
                return { ...pol, PolicyDocument: { ...(pol.PolicyDocument as Record<string, unknown>), Statement: kept } };
              });
              return { logicalId, record: { ...r.record, properties: { ...r.record.properties, Policies: policies } } };
            }),
          });
        });
      });
    }
  }
  return out;
}

/**
 * Statements the offline world cannot exercise, each with its reason: they are excused from the "needed" test, and the
 * README lists them. (Matched on the statement's actions.)
 */
export const EXCLUDED: readonly { readonly reason: string; matches(statement: RoleStatement, deployed: DeployedResource[]): boolean }[] = [
  {
    reason: 'Lambda writes a function\'s logs with its role; offline, the runner keeps the logs itself',
    matches: ({ actions: a }) => a.every((x) => ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:CreateLogGroup'].includes(x)),
  },
  {
    reason: 'Step Functions delivers a state machine\'s logs to CloudWatch Logs with its role; offline, the runner keeps the history',
    matches: ({ actions: a }) => a.includes('logs:CreateLogDelivery'),
  },
  {
    reason: 'X-Ray tracing: offline nothing is traced',
    matches: ({ actions: a }) => a.length > 0 && a.every((x) => x.startsWith('xray:')),
  },
  {
    reason: 'the CDK Provider framework reads a function\'s state only when an invoke finds it Pending; offline functions are always Active',
    matches: ({ actions: a }) => a.length === 1 && a[0] === 'lambda:GetFunction',
  },
  {
    reason: 'the CDK Provider framework lets each of its functions invoke both user handlers, though its onEvent function calls only onEvent '
      + 'and its isComplete function only isComplete; and its waiter invokes the onTimeout function only once it gives up',
    matches: (st, deployed) => st.actions.length === 1 && st.actions[0] === 'lambda:InvokeFunction' && st.resources.every((arn) => {
      const handler = String(deployed.find(({ record }) => record.type === 'AWS::Lambda::Function' && record.attributes.Arn === arn.replace(/:\*$/, ''))
        ?.record.properties.Handler ?? '');
      return (/OnEventRole/.test(st.where) && handler.endsWith('.isComplete')) || (/WaiterRole/.test(st.where) && handler.endsWith('.onEvent'))
        || (/waiterstatemachineRole/.test(st.where) && handler.endsWith('.onTimeout'));
    }),
  },
  {
    reason: 'the model-version handler reads the serving parameter only when a newer request supersedes a running run (test/lambda/model-version '
      + 'proves it against the runner\'s SSM)',
    matches: ({ actions: a }) => a.length === 1 && a[0] === 'ssm:GetParameter',
  },
  {
    reason: 'the model-version handler stops a model\'s runs only when one is still running at a Delete or a newer request (test/lambda/model-version '
      + 'proves it against the runner\'s Step Functions)',
    matches: ({ actions: a }) => a.includes('states:StopExecution'),
  },
  {
    reason: 'the gate reads test images only for the evaluation report\'s mistakes, and the example\'s models make none '
      + '(test/e2e/evaluation-report.test.ts proves the grant against images uploaded with the stack and in a user\'s bucket)',
    matches: ({ where, actions: a }) => /GateRole/.test(where) && a.length === 1 && a[0] === 's3:GetObject',
  },
];

/** The template statements of a role (by logical id) in a synthesized template, with the template's own indexes. */
export function templateFile(assembly: string): string {
  return path.join(assembly, `${STACK}.template.json`);
}

/** A statement to remove from the template: on a policy attached to the role whose logical id matches, granting `action`. */
export interface Removal {
  /** The role (logical id pattern) whose permission goes. */
  readonly role: RegExp;
  readonly action: string;
  /** For several statements granting `action`: the handler (`index.onEvent`...) of the function it names. */
  readonly handler?: string;
  /** What the failed run says, and where. */
  readonly phase: 'deploy' | 'destroy';
  readonly expected: RegExp;
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** Copies the assembly into `into` and removes, from its template, the statement `removal` names; returns where it was. */
export function assemblyWithout(assembly: string, removal: Removal, into: string): string {
  fs.rmSync(into, { recursive: true, force: true });
  fs.cpSync(assembly, into, { recursive: true });
  const file = templateFile(into);
  const template = JSON.parse(fs.readFileSync(file, 'utf8')) as Template;
  const handlerOf = (ref: unknown): string => {
    const id = isPlainObject(ref) && Array.isArray(ref['Fn::GetAtt']) ? String(ref['Fn::GetAtt'][0]) : '';
    return String(template.Resources[id]?.Properties?.Handler ?? '');
  };
  // The first statement that matches (the classifier's, where each model of the example app has its own).
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties?.Roles as { Ref?: string }[] | undefined ?? []).map((x) => x.Ref ?? '');
    if (!roles.some((role) => removal.role.test(role))) continue;
    const doc = r.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] };
    const index = doc.Statement.findIndex((st) => {
      const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      return listOf(st, 'Action').includes(removal.action) && (!removal.handler || resources.some((res) => handlerOf(res) === removal.handler));
    });
    if (index < 0) continue;
    doc.Statement.splice(index, 1);
    fs.writeFileSync(file, JSON.stringify(template));
    return `${id}.Statement[${index}]`;
  }
  throw new Error(`no statement of ${removal.role} grants ${removal.action}`);
}

const denied = (action: string): RegExp => new RegExp(`is not authorized to perform: ${action.replace(/[.*]/g, '\\$&')}`);

/** One statement per role of the example app (two roles share the model-version handler's policy). */
export const REMOVALS: readonly Removal[] = [
  { role: /StateMachineRole/, action: 'rekognition:CreateDataset', phase: 'deploy',
    expected: /Rekognition\.AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/[^/]+WorkflowStateMa[^/]*\/[^ ]+ is not authorized to perform: rekognition:CreateDataset on resource: arn:aws:rekognition:/ },
  // Rekognition reads the manifests and images with the workflow's rights: without them the import fails, as the service reports it.
  { role: /StateMachineRole/, action: 's3:GetObject', phase: 'deploy', expected: /DatasetFailed: The training dataset failed: The S3 bucket permissions are incorrect\./ },
  { role: /StateMachineRole/, action: 's3:PutObject', phase: 'deploy', expected: /TrainingFailed: Training failed: Unable to write to output S3 bucket\./ },
  { role: /PrepareRole/, action: 'rekognition:DescribeProjects', phase: 'deploy', expected: denied('rekognition:DescribeProjects') },
  { role: /GateRole/, action: 'rekognition:DescribeProjectVersions', phase: 'deploy', expected: denied('rekognition:DescribeProjectVersions') },
  { role: /NotifyRole/, action: 's3:GetObject', phase: 'deploy', expected: /WaitCondition timed out/ },
  // The statement grants StartExecution and ListExecutions: a Create lists the model's runs first (to stop superseded ones).
  { role: /VersionOnEventRole/, action: 'states:StartExecution', phase: 'deploy', expected: denied('states:ListExecutions') },
  { role: /VersionIsCompleteRole/, action: 'rekognition:StopProjectVersion', phase: 'destroy', expected: denied('rekognition:DescribeProjectVersions') },
  { role: /ModelWorkflowProviderOnEventRole/, action: 'lambda:InvokeFunction', handler: 'index.onEvent', phase: 'deploy', expected: denied('lambda:InvokeFunction') },
  // The framework polls isComplete after a Create too (ours answers at once), so the waiter's rights are needed at the first deploy.
  { role: /ModelWorkflowProviderWaiterRole/, action: 'lambda:InvokeFunction', handler: 'index.isComplete', phase: 'deploy',
    expected: denied('lambda:InvokeFunction') },
  { role: /ModelWorkflowProviderwaiterstatemachineRole/, action: 'lambda:InvokeFunction', handler: 'framework.isComplete', phase: 'deploy',
    expected: /Operation timed out/ },
  { role: /TeardownProviderIsCompleteRole/, action: 'rekognition:DeleteDataset', phase: 'destroy', expected: denied('rekognition:DeleteDataset') },
  { role: /TeardownProviderFrameworkOnEventRole/, action: 'lambda:InvokeFunction', handler: 'index.onEvent', phase: 'deploy', expected: denied('lambda:InvokeFunction') },
  { role: /TeardownProviderFrameworkWaiterRole/, action: 'lambda:InvokeFunction', handler: 'index.isComplete', phase: 'deploy',
    expected: denied('lambda:InvokeFunction') },
  { role: /TeardownProviderwaiterstatemachineRole/, action: 'lambda:InvokeFunction', handler: 'framework.isComplete', phase: 'deploy',
    expected: /Operation timed out/ },
];
