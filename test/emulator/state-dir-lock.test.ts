import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { startLocalCloud } from '../../lib/emulator/local-cloud';
import { acquireStateDirLock, readOwner, StateDirLockedError } from '../../lib/emulator/state-dir-lock';
import { destroyLocal, LocalRunner } from '../../lib/runner/local-runner';

describe('one owner of a state directory', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-lock-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a runner session holds the directory: a second session and an emulator on it are refused, naming the holder; close() frees it', async () => {
    const stateDir = path.join(dir, 'state');
    const first = await LocalRunner.open({ stateDir, holder: 'custom-labels local deploy' });
    try {
      const second = await LocalRunner.open({ stateDir }).then(() => undefined, (e: unknown) => e);
      expect(second).toBeInstanceOf(StateDirLockedError);
      expect((second as Error).message).toMatch(new RegExp(`^the state directory ${stateDir.replace(/[/.]/g, '\\$&')} is in use by process ${process.pid} `
        + '\\(custom-labels local deploy, since [0-9T:.Z-]+\\): stop it first \\(Ctrl-C where it runs, or kill \\d+\\), then run this again$'));
      await expect(startLocalCloud({ stateDir })).rejects.toBeInstanceOf(StateDirLockedError);
    } finally {
      await first.close();
    }
    // Once closed, the next one gets it.
    const third = await LocalRunner.open({ stateDir });
    await third.close();
    expect(readOwner(stateDir)).toBeUndefined();
  }, 30_000);

  test('a runner given a cloud on its own state directory shares the cloud\'s lock', async () => {
    const stateDir = path.join(dir, 'state');
    const cloud = await startLocalCloud({ stateDir, timeScale: 0 });
    try {
      const runner = await LocalRunner.open({ stateDir, cloud });
      await runner.close();
      // The cloud still holds it.
      await expect(acquireStateDirLock(stateDir, { holder: 'test' })).rejects.toBeInstanceOf(StateDirLockedError);
    } finally {
      await cloud.stop();
    }
  }, 30_000);

  test('a lock left by a process that is gone is taken over at once', async () => {
    const stateDir = path.join(dir, 'state');
    // GIVEN a child process that takes the lock and is killed before it can let go
    const child = spawn(process.execPath, ['-e', `
      const lockfile = require(${JSON.stringify(require.resolve('proper-lockfile'))});
      const fs = require('fs');
      fs.mkdirSync(${JSON.stringify(stateDir)}, { recursive: true });
      lockfile.lock(${JSON.stringify(stateDir)}, { realpath: false, lockfilePath: ${JSON.stringify(path.join(stateDir, '.lock'))}, stale: 30000 })
        .then(() => { fs.writeFileSync(${JSON.stringify(path.join(stateDir, '.lock-owner.json'))}, JSON.stringify({ pid: process.pid,
          hostname: require('os').hostname(), holder: 'a killed emulator', since: new Date().toISOString() })); console.log('locked'); });
      setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(readOwner(stateDir)?.holder).toBe('a killed emulator');
    await expect(acquireStateDirLock(stateDir, { holder: 'test' })).rejects.toThrow(`is in use by process ${child.pid} (a killed emulator`);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // WHEN another holder comes THEN it takes the lock over without waiting for the lock to go stale
    const lock = await acquireStateDirLock(stateDir, { holder: 'the next one' });
    expect(readOwner(stateDir)).toMatchObject({ pid: process.pid, holder: 'the next one' });
    await lock.release();
  }, 30_000);

  test('destroy of a state directory that does not exist fails and creates nothing', async () => {
    const stateDir = path.join(dir, 'typo');
    await expect(destroyLocal({ stateDir })).rejects.toThrow(`No offline deployment in ${stateDir}: ${path.join(stateDir, 'runner', 'state.json')} `
      + 'does not exist (check --state-dir; nothing was created)');
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
