import { App, CfnElement, CfnResource, Lazy, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';

import { CustomLabelsProject, ICustomLabelsProject } from '../../lib';
import { TEARDOWN_RESOURCE_TYPE } from '../../lib/project/teardown-contract';
import { acknowledgeWildcardResources } from '../../lib/shared/nag';
import { expectNagClean } from '../shared/nag';

const PROJECT_TYPE = 'AWS::Rekognition::Project';

function newStack(): Stack {
  return new Stack(new App(), 'TestStack');
}

function logicalId(stack: Stack, project: CustomLabelsProject): string {
  return stack.getLogicalId(project.node.defaultChild as CfnElement);
}

/** `arn:${Partition}:rekognition:${Region}:${AccountId}:project/<Ref project>/<suffix>` as CloudFormation renders it. */
function childArn(projectLogicalId: string, suffix: string) {
  return {
    'Fn::Join': ['', [
      'arn:', { Ref: 'AWS::Partition' }, ':rekognition:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
      ':project/', { Ref: projectLogicalId }, suffix,
    ]],
  };
}

/** A grantee role whose wildcard grants are acknowledged the way a user of the library would. */
function grantee(stack: Stack, id: string): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
}

function acknowledgeGrantee(role: iam.Role, project: ICustomLabelsProject) {
  const stack = Stack.of(role);
  const arn = (kind: string) => stack.formatArn({ service: 'rekognition', resource: 'project', resourceName: `${project.projectName}/${kind}/*` });
  acknowledgeWildcardResources(role, [arn('version'), arn('dataset'), project.projectArn, '*'], 'test grantee of a Custom Labels project');
}

describe('CustomLabelsProject with defaults', () => {
  let stack: Stack;
  let template: Template;
  let project: CustomLabelsProject;

  beforeAll(() => {
    // GIVEN a stack WHEN a project is added with no props
    stack = newStack();
    project = new CustomLabelsProject(stack, 'Project');
    template = Template.fromStack(stack);
  });

  test('creates one native project whose generated name the service accepts', () => {
    template.resourceCountIs(PROJECT_TYPE, 1);
    const [resource] = Object.values(template.findResources(PROJECT_TYPE));
    const name: unknown = resource.Properties.ProjectName;
    expect(typeof name).toBe('string');
    expect(name as string).toMatch(/^[a-zA-Z0-9_.-]{1,255}$/);
    expect(name as string).toContain('Project');
  });

  test('retains the project by default', () => {
    template.hasResource(PROJECT_TYPE, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(project.removalPolicy).toBe(RemovalPolicy.RETAIN);
  });

  test('exposes the ARN and name as CloudFormation attributes of the project', () => {
    const id = logicalId(stack, project);
    expect(stack.resolve(project.projectArn)).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
    expect(stack.resolve(project.projectName)).toEqual({ Ref: id });
  });

  test('adds a RETAIN teardown that depends on the project and on its own policy', () => {
    const id = logicalId(stack, project);
    template.resourceCountIs(TEARDOWN_RESOURCE_TYPE, 1);
    const teardowns = template.findResources(TEARDOWN_RESOURCE_TYPE);
    const [teardown] = Object.values(teardowns);
    expect(teardown.Properties).toEqual(expect.objectContaining({ ProjectArn: { 'Fn::GetAtt': [id, 'Arn'] }, Mode: 'RETAIN' }));
    expect(Number(teardown.Properties.TimeoutSeconds)).toBeLessThan(2 * 3600);
    expect(teardown.DeletionPolicy).toBe('Delete');
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'rekognition:DeleteDataset' })]) } },
    });
    const policyIds = Object.keys(policies);
    expect(policyIds).toHaveLength(1);
    expect(teardown.DependsOn).toEqual(expect.arrayContaining([id, policyIds[0]]));
  });

  test('scopes the teardown permissions to this project and its versions and datasets', () => {
    const id = logicalId(stack, project);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Action: 'rekognition:DescribeProjectVersions', Effect: 'Allow', Resource: { 'Fn::GetAtt': [id, 'Arn'] } },
          { Action: ['rekognition:StopProjectVersion', 'rekognition:DeleteProjectVersion'], Effect: 'Allow', Resource: childArn(id, '/version/*') },
          { Action: 'rekognition:DeleteDataset', Effect: 'Allow', Resource: childArn(id, '/dataset/*') },
        ],
      },
    });
  });

  test('polls the teardown every 30 s for at most 50 min through the Provider framework (inside the custom resource\'s hour)', () => {
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = parts.map((part) => (typeof part === 'string' ? part : 'REF')).join('');
    const retry = JSON.parse(definition).States['framework-isComplete-task'].Retry[0];
    expect(retry).toEqual(expect.objectContaining({ IntervalSeconds: 30, MaxAttempts: 100, BackoffRate: 1 }));
  });

  test('gives every handler a log group kept for one month and no managed policy', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const roles = template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('has no unacknowledged AwsSolutions findings', () => {
    expectNagClean(stack);
  });
});

describe('CustomLabelsProject props', () => {
  test('uses the given name, DESTROY and tags', () => {
    // GIVEN / WHEN
    const stack = newStack();
    const project = new CustomLabelsProject(stack, 'Project', {
      projectName: 'pcb-defects',
      removalPolicy: RemovalPolicy.DESTROY,
      tags: { team: 'vision', 'cost-center': '42' },
    });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResource(PROJECT_TYPE, {
      Properties: {
        ProjectName: 'pcb-defects',
        Tags: [{ Key: 'cost-center', Value: '42' }, { Key: 'team', Value: 'vision' }],
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
    template.hasResourceProperties(TEARDOWN_RESOURCE_TYPE, { Mode: 'DESTROY' });
    expect(project.removalPolicy).toBe(RemovalPolicy.DESTROY);
    expectNagClean(stack);
  });

  test('Tags.of works through the CloudFormation tag manager', () => {
    const stack = newStack();
    const project = new CustomLabelsProject(stack, 'Project', { projectName: 'tagged' });
    // WHEN
    Tags.of(project).add('owner', 'ml');
    // THEN
    Template.fromStack(stack).hasResourceProperties(PROJECT_TYPE, { Tags: [{ Key: 'owner', Value: 'ml' }] });
  });

  test('two projects share one teardown provider and get one teardown resource and policy each', () => {
    const stack = newStack();
    new CustomLabelsProject(stack, 'A', { projectName: 'a' });
    new CustomLabelsProject(stack, 'B', { projectName: 'b', removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    template.resourceCountIs(TEARDOWN_RESOURCE_TYPE, 2);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    // our onEvent and isComplete, and the framework's onEvent, isComplete and onTimeout
    template.resourceCountIs('AWS::Lambda::Function', 5);
    const tokens = Object.values(template.findResources(TEARDOWN_RESOURCE_TYPE)).map((r) => JSON.stringify(r.Properties.ServiceToken));
    expect(new Set(tokens).size).toBe(1);
    expectNagClean(stack);
  });
});

describe('CustomLabelsProject validation', () => {
  test.each([
    ['my project', 'projectName must match /^[a-zA-Z0-9_.-]{1,255}$/, got: "my project"'],
    ['', 'projectName must match /^[a-zA-Z0-9_.-]{1,255}$/, got: ""'],
    ['x'.repeat(256), `got: "${'x'.repeat(256)}"`],
  ])('rejects projectName %j', (projectName, message) => {
    expect(() => new CustomLabelsProject(newStack(), 'Project', { projectName })).toThrow(message);
  });

  test('rejects RemovalPolicy.SNAPSHOT', () => {
    expect(() => new CustomLabelsProject(newStack(), 'Project', { removalPolicy: RemovalPolicy.SNAPSHOT }))
      .toThrow('removalPolicy must be RemovalPolicy.RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY, got: RemovalPolicy.SNAPSHOT');
  });

  test('rejects tags the service refuses', () => {
    expect(() => new CustomLabelsProject(newStack(), 'Project', { tags: { 'aws:owner': 'x' } }))
      .toThrow('tags keys must be 1..128 characters from /^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$/u and not start with "aws:", got: "aws:owner"');
    expect(() => new CustomLabelsProject(newStack(), 'Project', { tags: { owner: 'a;b' } }))
      .toThrow('tags["owner"] must be 0..256 characters');
  });

  test('reports every problem at once, naming the construct, before creating anything', () => {
    const stack = newStack();
    let message = '';
    try {
      new CustomLabelsProject(stack, 'Project', { projectName: 'bad name', removalPolicy: RemovalPolicy.SNAPSHOT });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('Invalid props for TestStack/Project');
    expect(message).toContain('projectName must match');
    expect(message).toContain('removalPolicy must be');
    expect(stack.node.tryFindChild('Project')).toBeUndefined();
  });

  test('skips values only known at deploy time', () => {
    const stack = newStack();
    const projectName = Lazy.string({ produce: () => 'resolved-later' });
    expect(() => new CustomLabelsProject(stack, 'Project', { projectName })).not.toThrow();
    Template.fromStack(stack).hasResourceProperties(PROJECT_TYPE, { ProjectName: 'resolved-later' });
  });
});

describe('CustomLabelsProject grants', () => {
  let stack: Stack;
  let project: CustomLabelsProject;
  let id: string;
  let template: Template;

  beforeAll(() => {
    // GIVEN a project and four roles WHEN each gets one grant
    stack = newStack();
    project = new CustomLabelsProject(stack, 'Project', { projectName: 'granted' });
    id = logicalId(stack, project);
    const roles = ['Detect', 'Read', 'Manage', 'Custom'].map((name) => grantee(stack, name));
    project.grantDetectCustomLabels(roles[0]);
    project.grantRead(roles[1]);
    project.grantManageVersions(roles[2]);
    project.grant(roles[3], 'rekognition:UpdateDatasetEntries');
    roles.forEach((role) => acknowledgeGrantee(role, project));
    template = Template.fromStack(stack);
  });

  function statementsOf(roleId: string): unknown[] {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(stack.node.findChild(roleId).node.defaultChild as CfnElement) }] } });
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as unknown[]);
  }

  test('grantDetectCustomLabels allows inference on the project\'s versions only', () => {
    expect(statementsOf('Detect')).toEqual([
      { Action: 'rekognition:DetectCustomLabels', Effect: 'Allow', Resource: childArn(id, '/version/*') },
    ]);
  });

  test('grantRead allows describing the project, its datasets and tags, and DescribeProjects on "*" only', () => {
    const statements = statementsOf('Read');
    expect(statements).toEqual(expect.arrayContaining([
      { Action: ['rekognition:DescribeProjectVersions', 'rekognition:ListProjectPolicies'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [id, 'Arn'] } },
      {
        Action: ['rekognition:DescribeDataset', 'rekognition:ListDatasetEntries', 'rekognition:ListDatasetLabels'],
        Effect: 'Allow',
        Resource: childArn(id, '/dataset/*'),
      },
      { Action: 'rekognition:DescribeProjects', Effect: 'Allow', Resource: '*' },
    ]));
    const tagStatement = statements.find((s) => (s as { Action: unknown }).Action === 'rekognition:ListTagsForResource');
    expect(tagStatement).toEqual({
      Action: 'rekognition:ListTagsForResource',
      Effect: 'Allow',
      Resource: [{ 'Fn::GetAtt': [id, 'Arn'] }, childArn(id, '/version/*'), childArn(id, '/dataset/*')],
    });
    expect(statements.filter((s) => (s as { Resource: unknown }).Resource === '*')).toHaveLength(1);
  });

  test('grantManageVersions allows starting and stopping versions and describing them', () => {
    expect(statementsOf('Manage')).toEqual(expect.arrayContaining([
      { Action: ['rekognition:StartProjectVersion', 'rekognition:StopProjectVersion'], Effect: 'Allow', Resource: childArn(id, '/version/*') },
      { Action: 'rekognition:DescribeProjectVersions', Effect: 'Allow', Resource: { 'Fn::GetAtt': [id, 'Arn'] } },
    ]));
  });

  test('grant scopes any action to the project, its versions and its datasets', () => {
    expect(statementsOf('Custom')).toEqual([{
      Action: 'rekognition:UpdateDatasetEntries',
      Effect: 'Allow',
      Resource: [{ 'Fn::GetAtt': [id, 'Arn'] }, childArn(id, '/version/*'), childArn(id, '/dataset/*')],
    }]);
  });

  test('the stack with grants has no unacknowledged AwsSolutions findings', () => {
    expectNagClean(stack);
  });
});

describe('CustomLabelsProject importers', () => {
  const arn = 'arn:aws-cn:rekognition:cn-north-1:111122223333:project/imported-one/1574317227432';

  test('fromProjectArn takes the name from the ARN and scopes grants to it', () => {
    const stack = newStack();
    const project = CustomLabelsProject.fromProjectArn(stack, 'Imported', arn);
    expect(project.projectArn).toBe(arn);
    expect(project.projectName).toBe('imported-one');
    expect(project.env).toEqual({ account: '111122223333', region: 'cn-north-1' });
    const role = grantee(stack, 'Role');
    project.grant(role, 'rekognition:DescribeProjectVersions');
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Action: 'rekognition:DescribeProjectVersions',
          Effect: 'Allow',
          Resource: [
            arn,
            'arn:aws-cn:rekognition:cn-north-1:111122223333:project/imported-one/version/*',
            'arn:aws-cn:rekognition:cn-north-1:111122223333:project/imported-one/dataset/*',
          ],
        }],
      },
    });
  });

  test('fromProjectArn reads the name of an ARN token at deploy time', () => {
    const stack = newStack();
    const token = Lazy.string({ produce: () => arn });
    const project = CustomLabelsProject.fromProjectArn(stack, 'Imported', token);
    expect(stack.resolve(project.projectName)).toEqual({ 'Fn::Select': [1, { 'Fn::Split': ['/', arn] }] });
    const role = grantee(stack, 'Role');
    project.grantDetectCustomLabels(role);
    const name = { 'Fn::Select': [1, { 'Fn::Split': ['/', arn] }] };
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Action: 'rekognition:DetectCustomLabels',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', [{ 'Fn::Join': ['/', [{ 'Fn::Select': [0, { 'Fn::Split': ['/', arn] }] }, name]] }, '/version/*']] },
        }],
      },
    });
  });

  test('fromProjectArn refuses a project of another region than the stack\'s', () => {
    const stack = new Stack(new App(), 'Elsewhere', { env: { region: 'us-east-1', account: '111122223333' } });
    expect(() => CustomLabelsProject.fromProjectArn(stack, 'Imported', arn)).toThrow(/projectArn is in region cn-north-1, but stack Elsewhere deploys to us-east-1/);
  });

  test('fromProjectArn rejects what is not a project ARN', () => {
    const versionArn = 'arn:aws:rekognition:us-east-1:111122223333:project/p/version/v1/1574317227432';
    expect(() => CustomLabelsProject.fromProjectArn(newStack(), 'Imported', versionArn))
      .toThrow(`projectArn must match ${'/^arn:[a-z\\d-]+:rekognition:[a-z\\d-]+:\\d{12}:project\\/[a-zA-Z0-9_.-]{1,255}\\/[0-9]+$/'}, got: "${versionArn}"`);
  });

  test('fromProjectName gives an ARN pattern in the stack\'s partition, region and account', () => {
    const stack = newStack();
    const project = CustomLabelsProject.fromProjectName(stack, 'ByName', 'by-name');
    expect(project.projectName).toBe('by-name');
    expect(stack.resolve(project.projectArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':rekognition:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':project/by-name/*']],
    });
    const role = grantee(stack, 'Role');
    project.grantDetectCustomLabels(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Action: 'rekognition:DetectCustomLabels',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':rekognition:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':project/by-name/version/*']] },
        }],
      },
    });
  });

  test('fromProjectName rejects a name the service refuses', () => {
    expect(() => CustomLabelsProject.fromProjectName(newStack(), 'ByName', 'no/slashes'))
      .toThrow('projectName must match /^[a-zA-Z0-9_.-]{1,255}$/, got: "no/slashes"');
  });

  test('importing creates no resources', () => {
    const stack = newStack();
    CustomLabelsProject.fromProjectArn(stack, 'A', arn);
    CustomLabelsProject.fromProjectName(stack, 'B', 'b');
    expect(stack.node.findAll().filter((c) => c instanceof CfnResource)).toEqual([]);
  });
});
