import { ArnFormat, Fn, Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

import { acknowledgeWildcardResources } from '../shared/nag';
import type { ICustomLabelsModel } from './model';
import { DESCRIBE_PROJECTS_ACTIONS, DETECT_ACTIONS, START_STOP_ACTIONS } from './perms';

/** A version imported by ARN (CustomLabelsModel.fromVersionArn). Not exported from the package: BatchAnalysis reads its ARN. */
export class ImportedModelVersion extends Resource implements ICustomLabelsModel {
  constructor(scope: Construct, id: string, readonly versionArn: string, readonly versionName: string) {
    super(scope, id, { environmentFromArn: Token.isUnresolved(versionArn) ? undefined : versionArn });
  }

  grantDetectCustomLabels(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: DETECT_ACTIONS, resourceArns: [this.versionArn] });
  }

  /**
   * Start and stop on the version; DescribeProjectVersions on its project (its ARN ends in a creation time the version
   * ARN does not carry: `project/<name>/*`), and DescribeProjects (no resource-level permissions) to find it.
   */
  grantStartStop(grantee: iam.IGrantable): iam.Grant {
    const projectName = Fn.select(1, Fn.split('/', this.versionArn));
    const projects = Stack.of(this).formatArn({ service: 'rekognition', resource: 'project', resourceName: `${projectName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    if (Construct.isConstruct(grantee)) {
      acknowledgeWildcardResources(grantee, [projects], 'A project ARN ends in a creation time the version ARN does not carry; the '
        + 'wildcard covers only the projects of this name');
      acknowledgeWildcardResources(grantee, ['*'], 'rekognition:DescribeProjects supports no resource-level permissions; it finds the '
        + 'imported version\'s project by name');
    }
    return iam.Grant.addToPrincipal({ grantee, actions: START_STOP_ACTIONS, resourceArns: [this.versionArn] })
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['rekognition:DescribeProjectVersions'], resourceArns: [projects] }))
      .combine(iam.Grant.addToPrincipal({ grantee, actions: DESCRIBE_PROJECTS_ACTIONS, resourceArns: ['*'] }));
  }
}
