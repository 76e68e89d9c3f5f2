import { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/** The unacknowledged AwsSolutions findings of a stack, as `<severity> <rule> <construct path>` lines. */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} ${r.constructPath}`));
}

/** Fails the test with every unacknowledged AwsSolutions finding (errors and warnings alike). */
export function expectNagClean(stack: Stack): void {
  expect(nagFindings(stack)).toEqual([]);
}
