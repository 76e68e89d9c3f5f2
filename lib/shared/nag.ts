import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
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

/**
 * Acknowledges AwsSolutions-L1 on `fn` when, and only when, it runs aws-cdk-lib's default Node.js runtime
 * (`determineLatestNodeRuntime`) while `Runtime.ALL` already lists a newer one: aws-cdk-lib adds a runtime to the list
 * releases before it makes it the default, and cdk-nag's L1 compares with the list. A function on an older runtime by
 * choice is still flagged.
 */
export function acknowledgeDefaultNodeRuntime(fn: lambda.Function): void {
  const runtime = fn.runtime.name;
  if (Token.isUnresolved(runtime) || runtime !== lambda.determineLatestNodeRuntime(fn).name) return;
  const newest = newestNodeRuntime();
  if (newest === undefined || newest === runtime) return;
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: `${runtime} is the Node.js runtime this aws-cdk-lib deploys by default (determineLatestNodeRuntime); its Runtime.ALL `
      + `also lists ${newest}, which it does not make the default yet. The handler bundles run on any Node.js runtime from 20 on`,
  });
}

/** The newest Node.js runtime aws-cdk-lib's Runtime.ALL lists, as cdk-nag's L1 orders them. */
function newestNodeRuntime(): string | undefined {
  const versions = lambda.Runtime.ALL.map((r) => r.name).filter((n) => /^nodejs\d/.test(n));
  versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }));
  return versions.pop();
}
