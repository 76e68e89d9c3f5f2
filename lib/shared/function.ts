import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { handlerCode } from './handler-code';
import { acknowledgeDefaultNodeRuntime } from './nag';

/** Options for {@link HandlerFunction}. */
export interface HandlerFunctionProps {
  /** The bundled handler: lambda/<handlerName>/index.ts, built to dist/lambda-bundles/<handlerName>. */
  readonly handlerName: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** The exported function to call. @default 'index.handler' */
  readonly handler?: string;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default - none */
  readonly environment?: Record<string, string>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when the stack deletes it. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Lambda function running one of our prebuilt handler bundles, with a role that holds nothing but write access
 * to its own log group (no AWSLambdaBasicExecutionRole, so there is no managed policy to acknowledge).
 * Callers add their permissions to `role` (or, better, in a policy of their own their resource depends on).
 */
export class HandlerFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs: ${props.description}`.slice(0, 1000),
    });
    // Written as its own statement on the log group's ARN (not logGroup.grantWrite) so the resource stays exact.
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));
    this.function = new lambda.Function(this, 'Function', {
      code: handlerCode(props.handlerName),
      handler: props.handler ?? 'index.handler',
      // The latest Node.js runtime CDK knows for the region: the bundles target node20 syntax, so they run on any
      // later runtime, and a pinned older runtime would be deprecated under users' feet (and flagged by AwsSolutions-L1).
      runtime: lambda.determineLatestNodeRuntime(this),
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.minutes(1),
      memorySize: props.memorySize ?? 256,
      description: props.description.slice(0, 256),
      environment: props.environment,
      logGroup: this.logGroup,
      role: this.role,
    });
    acknowledgeDefaultNodeRuntime(this.function);
    // The function may write logs only once its log permissions exist.
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (policy) this.function.node.addDependency(policy);
  }
}
