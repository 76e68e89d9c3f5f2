/**
 * AWS managed policies the offline world knows by content. Any other AWS managed policy attached to a role grants
 * nothing offline, and a denial names it, so a role that passes offline never relies on a policy we cannot read.
 */
const KNOWN: Readonly<Record<string, unknown>> = {
  // The policy CDK attaches to Lambda roles by default.
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

/** The document of an AWS managed policy (`arn:<partition>:iam::aws:policy/<path/name>`), or undefined when unknown. */
export function awsManagedPolicy(arn: string): unknown {
  const m = /^arn:[^:]+:iam::aws:policy\/(.+)$/.exec(arn);
  return m ? KNOWN[m[1]] : undefined;
}

export function isAwsManagedPolicyArn(arn: string): boolean {
  return /^arn:[^:]+:iam::aws:policy\//.test(arn);
}
