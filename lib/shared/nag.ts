import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

// cdk-nag is a development tool of this package, not a dependency: the few lines below reproduce how its
// AwsSolutions-IAM5 rule names a wildcard resource, so acknowledgements can be made per resource, with a reason.

/** The flat text cdk-nag shows for a resource ARN: `<LogicalId>` for a Ref, `<LogicalId.Attr>` for a GetAtt. */
export function nagResourceText(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

/**
 * Acknowledges AwsSolutions-IAM5 for each wildcard resource in `resources` (and only those) on `scope` and below.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: string[], reason: string): void {
  for (const resource of resources) {
    const text = nagResourceText(scope, resource);
    if (text.includes('*')) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${text}]`, reason });
  }
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const obj = node as Record<string, unknown>;
    const join = obj['Fn::Join'];
    if (Array.isArray(join) && join.length === 2 && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(flatten).join(String(join[0]));
    }
    if (obj['Fn::Sub'] !== undefined) return flatten(obj['Fn::Sub']);
    const getAtt = obj['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if (obj['Fn::ImportValue'] !== undefined) return flatten(obj['Fn::ImportValue']);
    if (obj.Ref !== undefined) return `<${flatten(obj.Ref)}>`;
  }
  return JSON.stringify(node);
}
