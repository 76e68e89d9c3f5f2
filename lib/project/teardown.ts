import { CfnResource, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

import { HandlerFunction } from '../shared/function';
import { acknowledgeDefaultNodeRuntime, acknowledgeWildcardResources } from '../shared/nag';
import { LIST_PROJECTS_ACTIONS, TEARDOWN_DATASET_ACTIONS, TEARDOWN_PROJECT_ACTIONS, TEARDOWN_VERSION_ACTIONS } from './perms';
import {
  TEARDOWN_HANDLER_TIMEOUT_SECONDS,
  TEARDOWN_QUERY_INTERVAL_SECONDS,
  TEARDOWN_RESOURCE_TYPE,
  TEARDOWN_TOTAL_TIMEOUT_SECONDS,
  TeardownMode,
  TeardownProperties,
} from './teardown-contract';

/** The stable id of the one teardown provider of a stack. */
export const TEARDOWN_PROVIDER_ID = 'CustomLabelsProjectTeardownProvider';

/**
 * The stack's single provider for project teardown resources: an onEvent function, an isComplete function polled
 * by the Provider framework's waiter state machine, and the framework itself. Projects add their own permissions
 * to `pollerRole` through a policy each.
 */
export class ProjectTeardownProvider extends Construct {
  /** The stack's provider, created on first use. */
  static of(scope: Construct): ProjectTeardownProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(TEARDOWN_PROVIDER_ID);
    if (existing instanceof ProjectTeardownProvider) return existing;
    return new ProjectTeardownProvider(stack, TEARDOWN_PROVIDER_ID);
  }

  readonly serviceToken: string;
  /** The role of the isComplete function: the one that calls Rekognition. */
  readonly pollerRole: iam.IRole;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const onEvent = new HandlerFunction(this, 'OnEvent', {
      handlerName: 'teardown',
      handler: 'index.onEvent',
      description: 'Custom Labels project teardown: records the project a teardown resource guards',
      timeout: Duration.seconds(30),
    });
    const isComplete = new HandlerFunction(this, 'IsComplete', {
      handlerName: 'teardown',
      handler: 'index.isComplete',
      description: 'Custom Labels project teardown: stops running models and, under DESTROY, deletes versions and datasets',
      timeout: Duration.minutes(2),
    });
    // DescribeProjects has no resource-level permissions; the handler uses it to list a project's datasets.
    isComplete.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: LIST_PROJECTS_ACTIONS, resources: ['*'] }));
    Validations.of(isComplete.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'rekognition:DescribeProjects supports no resource-level permissions (Service Authorization Reference); it only reads',
    });

    const frameworkLogs = new logs.LogGroup(this, 'FrameworkLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const frameworkRole = (name: string) => {
      const role = new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: 'Runs CDK Provider framework functions of the Custom Labels project teardown',
      });
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [frameworkLogs.logGroupArn],
      }));
      return role;
    };
    const onEventRole = frameworkRole('FrameworkOnEventRole');
    const waiterRole = frameworkRole('FrameworkWaiterRole');
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent.function,
      isCompleteHandler: isComplete.function,
      queryInterval: Duration.seconds(TEARDOWN_QUERY_INTERVAL_SECONDS),
      totalTimeout: Duration.seconds(TEARDOWN_TOTAL_TIMEOUT_SECONDS),
      frameworkOnEventRole: onEventRole,
      frameworkCompleteAndTimeoutRole: waiterRole,
      logGroup: frameworkLogs,
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: { destination: frameworkLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    // What the Provider framework grants itself: Lambda invoke permissions include every version/alias of a function.
    const invokeReason = 'The CDK Provider framework grants lambda:InvokeFunction on <function ARN>:* (any version or alias) '
      + 'of the functions it calls; the wildcard covers nothing but versions of that one function';
    const frameworkFunction = (name: string) => provider.node.findChild(name) as lambda.Function;
    for (const name of ['framework-onEvent', 'framework-isComplete', 'framework-onTimeout']) acknowledgeDefaultNodeRuntime(frameworkFunction(name));
    const userFunctions = [onEvent.function.functionArn, isComplete.function.functionArn].map((arn) => `${arn}:*`);
    acknowledgeWildcardResources(onEventRole, userFunctions, invokeReason);
    acknowledgeWildcardResources(waiterRole, userFunctions, invokeReason);
    const waiter = provider.node.findChild('waiter-state-machine');
    acknowledgeWildcardResources(waiter,
      ['framework-isComplete', 'framework-onTimeout'].map((name) => `${frameworkFunction(name).functionArn}:*`), invokeReason);
    acknowledgeWildcardResources(waiter, ['*'], 'Step Functions log delivery to CloudWatch Logs (logs:CreateLogDelivery, '
      + 'logs:PutResourcePolicy, ...) supports no resource-level permissions');
    Validations.of(waiter).acknowledge({
      id: 'AwsSolutions-SF2',
      reason: 'The CDK Provider framework\'s waiter state machine offers no X-Ray tracing option; it only polls the teardown handler',
    });
    this.serviceToken = provider.serviceToken;
    this.pollerRole = isComplete.role;
  }
}

/** Props of {@link ProjectTeardown}. */
export interface ProjectTeardownProps {
  /** The project resource the teardown must run before. */
  readonly project: CfnResource;
  readonly projectArn: string;
  /** Project ARN pattern `…:project/<name>/*` scoping the version and dataset permissions. */
  readonly projectChildrenArn: (kind: 'version' | 'dataset') => string;
  readonly mode: TeardownMode;
}

/**
 * The custom resource that empties a project before CloudFormation deletes it (or, under RETAIN, only stops its
 * running models). It depends on the project, so CloudFormation deletes it (running the teardown) first, and on
 * its own policy, so its permissions exist before Create and outlive Delete.
 */
export class ProjectTeardown extends Construct {
  readonly resource: CustomResource;
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: ProjectTeardownProps) {
    super(scope, id);
    const provider = ProjectTeardownProvider.of(this);
    this.policy = new iam.Policy(this, 'Policy', {
      statements: [
        new iam.PolicyStatement({ actions: TEARDOWN_PROJECT_ACTIONS, resources: [props.projectArn] }),
        new iam.PolicyStatement({ actions: TEARDOWN_VERSION_ACTIONS, resources: [props.projectChildrenArn('version')] }),
        new iam.PolicyStatement({ actions: TEARDOWN_DATASET_ACTIONS, resources: [props.projectChildrenArn('dataset')] }),
      ],
    });
    this.policy.attachToRole(provider.pollerRole);
    acknowledgeWildcardResources(this.policy, [props.projectChildrenArn('version'), props.projectChildrenArn('dataset')],
      'Version and dataset ARNs end in a creation time set by the service when training or importing creates them; '
      + 'the wildcard covers only this project\'s versions or datasets');

    const properties: TeardownProperties = {
      ProjectArn: props.projectArn,
      Mode: props.mode,
      TimeoutSeconds: String(TEARDOWN_HANDLER_TIMEOUT_SECONDS),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      // CloudFormation's most; the provider's totalTimeout (TEARDOWN_TOTAL_TIMEOUT_SECONDS) and handlers fit inside.
      serviceTimeout: Duration.hours(1),
      resourceType: TEARDOWN_RESOURCE_TYPE,
      properties: { ...properties },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.resource.node.addDependency(props.project);
    this.resource.node.addDependency(this.policy);
  }
}
