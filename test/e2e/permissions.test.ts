/**
 * The example app's IAM, proven offline under enforcement: the run (deploy, an update that trains and promotes a new
 * version, destroy) passes, so the permissions are enough; and every statement of every role is needed, because
 * removing it denies a request the run made (replayed through the policy engine against the deployed policies).
 * permissions-removal.test.ts then removes one statement per role from the template and shows the run failing.
 */
import * as fs from 'node:fs';

import { AccessControl } from '../../lib/iam/world';
import { DeployedDirectory } from '../../lib/runner/identities';
import { OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION, OFFLINE_REGION } from '../../lib/runner/intrinsics';
import { Session, tempDir } from './helpers';
import { ExampleRun, exampleScenario, EXCLUDED, statementsOfRoles } from './permissions-scenario';

describe('the example app\'s permissions under IAM enforcement', () => {
  let dir: string;
  let session: Session | undefined;
  let run: ExampleRun;

  beforeAll(async () => {
    dir = tempDir('permissions');
    ({ session, run } = await exampleScenario(dir));
  }, 600_000);

  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('deploy, an update that trains and promotes, and destroy pass: every request was allowed', () => {
    expect(run.phases).toEqual(['deployed', 'updated', 'destroyed']);
    expect(run.decisions.filter((d) => !d.allowed)).toEqual([]);
    // Every role of the app called something (the run exercised them all, but the logs-only teardown onEvent role).
    const callers = new Set(run.decisions.map((d) => d.roleArn));
    expect(callers.size).toBeGreaterThanOrEqual(12);
  });

  test('every statement of every role is needed by a request of the run, or is listed with the reason it is not exercised offline', async () => {
    const requests = new Map<string, Map<string, { action: string; resource: string; context: Readonly<Record<string, string | string[]>> }>>();
    for (const d of run.decisions) {
      if (!d.allowed) continue;
      const byRole = requests.get(d.roleArn) ?? new Map();
      byRole.set(JSON.stringify([d.action, d.resource, d.context]), { action: d.action, resource: d.resource, context: d.context });
      requests.set(d.roleArn, byRole);
    }
    const unneeded: string[] = [];
    const excused: string[] = [];
    for (const statement of statementsOfRoles(run.deployed)) {
      const reason = EXCLUDED.find((e) => e.matches(statement, run.deployed))?.reason;
      const without = statement.remove(run.deployed);
      const access = new AccessControl({ accountId: OFFLINE_ACCOUNT_ID, region: OFFLINE_REGION });
      access.useDirectory(new DeployedDirectory(() => without, OFFLINE_REGION, OFFLINE_ACCOUNT_ID, OFFLINE_PARTITION));
      let needed = false;
      for (const roleArn of statement.roleArns) {
        const caller = access.callerForKey(access.keyFor({ roleArn, sessionName: 'replay' }));
        for (const request of (requests.get(roleArn) ?? new Map()).values()) {
          if (await access.decide(caller, request)) {
            needed = true;
            break;
          }
        }
        if (needed) break;
      }
      if (needed && reason) unneeded.push(`${statement.where} is needed after all, but excused as: ${reason}`);
      else if (!needed && !reason) unneeded.push(`${statement.where} ${JSON.stringify(statement.actions)} is not needed by any request of the run`);
      else if (reason) excused.push(`${statement.where}: ${reason}`);
    }
    expect(unneeded).toEqual([]);
    // What is excused is printed, so a reader sees exactly what offline enforcement does not prove.
    process.stdout.write(`Statements not exercised offline (${excused.length}):\n${excused.map((e) => `  ${e}`).join('\n')}\n`);
  });
});
