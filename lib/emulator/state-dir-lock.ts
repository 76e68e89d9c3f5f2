/**
 * One owner of a state directory at a time. The emulator (`custom-labels emulator --state-dir`, startLocalCloud with
 * a stateDir) and the offline runner (`custom-labels local`, LocalRunner) both write there; two of them at once
 * corrupt it (an emulator still running writes back a project a destroy just deleted). So whichever opens the
 * directory first holds its lock (`proper-lockfile`: an atomic `mkdir` of `<dir>/.lock`, refreshed while held, stale
 * after 30 s) until it stops; the second is refused with the holder's PID and how to stop it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as lockfile from 'proper-lockfile';

/** How long a lock may go without its holder refreshing it before another process may take it. */
const STALE_MS = 30_000;

/** Who holds a state directory (written beside the lock). */
export interface StateDirHolder {
  readonly pid: number;
  readonly hostname: string;
  /** E.g. `custom-labels emulator` or `custom-labels local deploy`. */
  readonly holder: string;
  /** ISO time the lock was taken. */
  readonly since: string;
}

/** The state directory is held by another process (or another session of this one). */
export class StateDirLockedError extends Error {
  constructor(readonly stateDir: string, readonly owner: StateDirHolder | undefined) {
    super(owner
      ? `the state directory ${stateDir} is in use by process ${owner.pid} (${owner.holder}, since ${owner.since}`
        + `${owner.hostname !== os.hostname() ? ` on ${owner.hostname}` : ''}): stop it first (Ctrl-C where it runs, or kill ${owner.pid}), `
        + 'then run this again'
      : `the state directory ${stateDir} is in use by another process (its lock ${path.join(stateDir, LOCK_NAME)} names no holder): `
        + 'stop the custom-labels emulator or runner using it, then run this again');
    this.name = 'StateDirLockedError';
  }
}

/** A held lock; release() is safe to call twice. */
export interface StateDirLock {
  readonly stateDir: string;
  release(): Promise<void>;
}

const LOCK_NAME = '.lock';
const OWNER_NAME = '.lock-owner.json';

/**
 * Takes the lock of a state directory (creating the directory). Throws StateDirLockedError when another holder has
 * it; a lock left by a process that no longer runs on this machine is taken over at once.
 */
export async function acquireStateDirLock(stateDir: string, options: { holder: string }): Promise<StateDirLock> {
  const dir = path.resolve(stateDir);
  fs.mkdirSync(dir, { recursive: true });
  const lockOptions = {
    realpath: false,
    lockfilePath: path.join(dir, LOCK_NAME),
    stale: STALE_MS,
    retries: 0,
    // A holder whose lock was taken from it (its event loop was blocked past the stale time) must not crash.
    onCompromised: (err: Error): void => {
      process.emitWarning(`custom-labels: the lock of ${dir} was lost (${err.message}); another process may now use the state directory`);
    },
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, lockOptions);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const owner = readOwner(dir);
    if (!owner || isAlive(owner)) throw new StateDirLockedError(dir, owner);
    // Its holder is gone (killed without cleaning up): take it over.
    fs.rmSync(path.join(dir, LOCK_NAME), { recursive: true, force: true });
    try {
      release = await lockfile.lock(dir, lockOptions);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'ELOCKED') throw new StateDirLockedError(dir, readOwner(dir));
      throw again;
    }
  }
  const owner: StateDirHolder = { pid: process.pid, hostname: os.hostname(), holder: options.holder, since: new Date().toISOString() };
  fs.writeFileSync(path.join(dir, OWNER_NAME), `${JSON.stringify(owner)}\n`);
  let released: Promise<void> | undefined;
  return {
    stateDir: dir,
    release: () => {
      released ??= (async () => {
        fs.rmSync(path.join(dir, OWNER_NAME), { force: true });
        await release().catch(() => undefined);
      })();
      return released;
    },
  };
}

/** The holder named beside the lock, if any. */
export function readOwner(stateDir: string): StateDirHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(path.resolve(stateDir), OWNER_NAME), 'utf8')) as StateDirHolder;
  } catch {
    return undefined;
  }
}

function isAlive(owner: StateDirHolder): boolean {
  if (owner.hostname !== os.hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
