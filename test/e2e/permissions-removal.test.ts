/**
 * For every role of the example app, one statement it needs is removed from the synthesized template: the run fails
 * offline, at the step that needs it, with AWS's message (or, where Rekognition reads S3 as the caller, the status the
 * service reports). With permissions.test.ts this shows each permission in the template is needed and sufficient.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { LocalDeployError } from '../../lib/runner/local-runner';
import { openSession, tempDir } from './helpers';
import { assemblyWithout, exampleRoots, REMOVALS, synthExample } from './permissions-scenario';

describe('the example app without one statement a role needs', () => {
  let dir: string;
  let assembly: string;

  beforeAll(() => {
    dir = tempDir('removal');
    assembly = synthExample(path.join(dir, 'app.out'), exampleRoots(dir).v1);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each(REMOVALS.map((r) => [`${r.role.source} without ${r.action}${r.handler ? ` (${r.handler})` : ''}`, r] as const))('%s fails at its %s',
    async (_name, removal) => {
      const out = path.join(dir, `without-${REMOVALS.indexOf(removal)}`);
      const where = assemblyWithout(assembly, removal, path.join(out, 'cdk.out'));
      const session = await openSession(path.join(out, 'state'));
      try {
        let phase = 'deploy';
        let failure: unknown;
        try {
          await session.runner.deploy(path.join(out, 'cdk.out'));
          await session.runner.settle();
          phase = 'destroy';
          await session.runner.destroy();
        } catch (err) {
          failure = err;
        }
        expect([where, phase, failure instanceof LocalDeployError]).toEqual([where, removal.phase, true]);
        // The message is the stack's reason, or (when the workflow could not report) the execution's own.
        const causes = session.runner.executions().map((e) => `${e.error ?? ''}: ${e.cause ?? ''}`).join('\n');
        expect(`${(failure as Error).message}\n${causes}`).toMatch(removal.expected);
      } finally {
        await session.close();
      }
    }, 300_000);
});
