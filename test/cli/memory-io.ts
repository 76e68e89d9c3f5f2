import * as os from 'node:os';
import { Writable } from 'node:stream';

import { CliIo } from '../../lib/cli/io';

/** A CliIo whose stdout and stderr are kept in memory (written synchronously), for the CLI tests. */
export interface MemoryIo extends CliIo {
  out(): string;
  err(): string;
}

export function memoryIo(cwd: string = os.tmpdir(), isTTY = false): MemoryIo {
  let out = '';
  let err = '';
  const stdout = new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } });
  const stderr = Object.assign(new Writable({ write(c: Buffer, _e, cb) { err += c.toString(); cb(); } }), { isTTY });
  return { stdout, stderr, cwd, out: () => out, err: () => err };
}
