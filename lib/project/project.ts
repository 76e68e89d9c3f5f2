import { ArnFormat, Fn, IResource, Names, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rekognition from 'aws-cdk-lib/aws-rekognition';
import { Construct, IDependable } from 'constructs';

import { PropValidator, regionProblem } from '../shared/validation';
import {
  DATASET_READ_ACTIONS,
  DETECT_ACTIONS,
  LIST_PROJECTS_ACTIONS,
  PROJECT_READ_ACTIONS,
  TAG_READ_ACTIONS,
  VERSION_START_STOP_ACTIONS,
} from './perms';
import { ProjectTeardown } from './teardown';
import { PROJECT_ARN } from './teardown-contract';

/** A project name as the service accepts it (ProjectName: 1..255 of `[a-zA-Z0-9_.\-]`). */
const PROJECT_NAME = /^[a-zA-Z0-9_.-]{1,255}$/;

/**
 * An Amazon Rekognition Custom Labels project: the container of a model's datasets and versions.
 */
export interface ICustomLabelsProject extends IResource {
  /**
   * The project's ARN, `arn:<partition>:rekognition:<region>:<account>:project/<name>/<creation epoch ms>`.
   * For a project imported by name the creation time is unknown and this is the IAM pattern `…:project/<name>/*`.
   * @attribute
   */
  readonly projectArn: string;
  /**
   * The project's name.
   * @attribute
   */
  readonly projectName: string;

  /** Grants `actions` on the project and on its versions and datasets. */
  grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant;
  /** Grants DetectCustomLabels on every model version of the project. */
  grantDetectCustomLabels(grantee: iam.IGrantable): iam.Grant;
  /** Grants read access to the project, its versions and its datasets (DescribeProjects only works on "*"). */
  grantRead(grantee: iam.IGrantable): iam.Grant;
  /** Grants StartProjectVersion, StopProjectVersion and DescribeProjectVersions, e.g. for stop schedules or ops tooling. */
  grantManageVersions(grantee: iam.IGrantable): iam.Grant;
}

/**
 * The grants shared by created and imported projects.
 */
export abstract class CustomLabelsProjectBase extends Resource implements ICustomLabelsProject {
  abstract readonly projectArn: string;
  abstract readonly projectName: string;

  grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.projectArn, childrenArn(this, 'version'), childrenArn(this, 'dataset')],
    });
  }

  grantDetectCustomLabels(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: DETECT_ACTIONS, resourceArns: [childrenArn(this, 'version')] });
  }

  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantProject(grantee, PROJECT_READ_ACTIONS)
      .combine(iam.Grant.addToPrincipal({ grantee, actions: DATASET_READ_ACTIONS, resourceArns: [childrenArn(this, 'dataset')] }))
      .combine(this.grant(grantee, ...TAG_READ_ACTIONS))
      .combine(iam.Grant.addToPrincipal({ grantee, actions: LIST_PROJECTS_ACTIONS, resourceArns: ['*'] }));
  }

  grantManageVersions(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: VERSION_START_STOP_ACTIONS, resourceArns: [childrenArn(this, 'version')] })
      .combine(this.grantProject(grantee, ['rekognition:DescribeProjectVersions']));
  }

  private grantProject(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.projectArn] });
  }
}

/** Props of {@link CustomLabelsProject}. */
export interface CustomLabelsProjectProps {
  /**
   * The project's name, unique in the account and Region: 1..255 characters from `a-z A-Z 0-9 _ . -`.
   * Changing it replaces the project.
   * @see https://docs.aws.amazon.com/rekognition/latest/APIReference/API_CreateProject.html
   * @default - a name generated from the construct path
   */
  readonly projectName?: string;
  /**
   * What happens to the project when the stack deletes it. Either way, its running models are stopped first.
   * - `RemovalPolicy.RETAIN`: the project, its datasets and its (stopped) versions stay.
   * - `RemovalPolicy.DESTROY`: versions (after any training in progress finishes), datasets and the project are deleted.
   * `SNAPSHOT` is not supported.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Tags for the project: at most 200; keys 1..128 characters not starting with `aws:`, values 0..256 characters.
   * `Tags.of(project).add(...)` works as well.
   * @default - no tags
   */
  readonly tags?: Record<string, string>;
}

/**
 * An Amazon Rekognition Custom Labels project (`AWS::Rekognition::Project`) that never leaves a model running when
 * its stack is deleted: a teardown step stops running versions and, under `RemovalPolicy.DESTROY`, deletes the
 * versions and datasets in the order the service requires so that the project itself can be deleted.
 *
 * @exampleMetadata fixture=construct
 * @example
 * const project = new CustomLabelsProject(this, 'Project', { projectName: 'pcb-defects', removalPolicy: RemovalPolicy.DESTROY });
 * project.grantDetectCustomLabels(myFunction);
 */
export class CustomLabelsProject extends CustomLabelsProjectBase {
  /**
   * Imports a project by its ARN (`arn:<partition>:rekognition:<region>:<account>:project/<name>/<epoch ms>`).
   */
  static fromProjectArn(scope: Construct, id: string, projectArn: string): ICustomLabelsProject {
    const v = new PropValidator().matches('projectArn', projectArn, PROJECT_ARN);
    const region = PROJECT_ARN.test(projectArn) ? regionProblem(scope, 'projectArn', projectArn) : undefined;
    v.check(region === undefined, region ?? '').throwIfAny(`${scope.node.path}/${id}`);
    // Project ARNs are `…:project/<name>/<ms>`: the name is the second '/'-separated part (also for a token).
    // Its children's ARNs share the prefix `…:project/<name>`, in the ARN's own partition, region and account.
    let projectName: string;
    let prefix: string;
    if (Token.isUnresolved(projectArn)) {
      const parts = Fn.split('/', projectArn);
      projectName = Fn.select(1, parts);
      prefix = Fn.join('/', [Fn.select(0, parts), projectName]);
    } else {
      projectName = projectArn.split('/')[1];
      prefix = projectArn.split('/').slice(0, 2).join('/');
    }
    return new ImportedProject(scope, id, projectArn, projectName, { environmentFromArn: projectArn, childrenPrefix: prefix });
  }

  /**
   * Imports a project by its name. The real ARN ends in the project's creation time, which the name does not tell:
   * `projectArn` is then the pattern `…:project/<name>/*`, which scopes IAM grants but cannot be passed to API calls.
   */
  static fromProjectName(scope: Construct, id: string, projectName: string): ICustomLabelsProject {
    new PropValidator().matches('projectName', projectName, PROJECT_NAME).throwIfAny(`${scope.node.path}/${id}`);
    const stack = Stack.of(scope);
    const arnPattern = stack.formatArn({
      service: 'rekognition',
      resource: 'project',
      resourceName: `${projectName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    return new ImportedProject(scope, id, arnPattern, projectName, {});
  }

  readonly projectArn: string;
  readonly projectName: string;
  /** The RemovalPolicy in force (RETAIN unless DESTROY was asked for). */
  readonly removalPolicy: RemovalPolicy;

  constructor(scope: Construct, id: string, props: CustomLabelsProjectProps = {}) {
    const validator = new PropValidator()
      .matches('projectName', props.projectName, PROJECT_NAME)
      .tags('tags', props.tags);
    validator.check(props.removalPolicy !== RemovalPolicy.SNAPSHOT,
      'removalPolicy must be RemovalPolicy.RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY, got: RemovalPolicy.SNAPSHOT');
    validator.throwIfAny(scope.node.path ? `${scope.node.path}/${id}` : id);

    super(scope, id);
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const resource = new rekognition.CfnProject(this, 'Resource', {
      projectName: props.projectName ?? Names.uniqueResourceName(this, { maxLength: 255, separator: '-' }),
      tags: props.tags ? Object.entries(props.tags).map(([key, value]) => ({ key, value })) : undefined,
    });
    // CloudFormation deletes the project only under DESTROY; the teardown below empties it first.
    resource.applyRemovalPolicy(this.removalPolicy);
    this.projectArn = resource.attrArn;
    // Ref of AWS::Rekognition::Project is its name.
    this.projectName = resource.ref;

    this.teardown = new ProjectTeardown(this, 'Teardown', {
      project: resource,
      projectArn: this.projectArn,
      projectChildrenArn: (kind) => childrenArn(this, kind),
      mode: this.removalPolicy === RemovalPolicy.DESTROY ? 'DESTROY' : 'RETAIN',
    });
  }

  /**
   * The teardown step that stops (and under DESTROY deletes) the project's versions and datasets before the project
   * goes. Whatever creates versions or datasets in the project must depend on it: else, when a deploy rolls back,
   * CloudFormation may delete the project before its teardown exists, and the deletion fails on the datasets.
   */
  readonly teardown: IDependable;
}

/**
 * `…:project/<name>/version/*` or `…:project/<name>/dataset/*`: the ARNs of a project's children end in a creation
 * time the service sets when it creates them, so grants on them need this wildcard.
 */
function childrenArn(project: ICustomLabelsProject, kind: 'version' | 'dataset'): string {
  if (project instanceof ImportedProject && project.childrenPrefix !== undefined) return `${project.childrenPrefix}/${kind}/*`;
  return Stack.of(project).formatArn({
    service: 'rekognition',
    resource: 'project',
    resourceName: `${project.projectName}/${kind}/*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

class ImportedProject extends CustomLabelsProjectBase {
  readonly childrenPrefix?: string;

  constructor(
    scope: Construct, id: string, readonly projectArn: string, readonly projectName: string,
    options: { environmentFromArn?: string; childrenPrefix?: string },
  ) {
    super(scope, id, { environmentFromArn: options.environmentFromArn });
    this.childrenPrefix = options.childrenPrefix;
  }
}
