import { Template } from 'aws-cdk-lib/assertions';

/**
 * Each EventBridge Scheduler schedule of the template with the logical ids of the IAM policies attached to its target
 * role that it does not depend on. A rate schedule fires as it is created: without the dependency, CloudFormation may
 * create it before the role may act, and its first invocation is refused (the offline runner refuses it too).
 */
export function schedulesMissingPolicyDependencies(template: Template): Record<string, string[]> {
  const policies = template.findResources('AWS::IAM::Policy');
  const out: Record<string, string[]> = {};
  for (const [id, schedule] of Object.entries(template.findResources('AWS::Scheduler::Schedule'))) {
    const roleId = (schedule.Properties.Target.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const dependsOn = new Set<string>([schedule.DependsOn ?? []].flat());
    const missing = Object.entries(policies)
      .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
      .map(([policyId]) => policyId).filter((policyId) => !dependsOn.has(policyId));
    if (missing.length > 0) out[id] = missing;
  }
  return out;
}
