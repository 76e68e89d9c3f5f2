import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';

import { ManifestValidation, validateManifest } from '../../../lib/manifest/validator';

/** A fresh temp folder; `cleanup` removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convert-test-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes files given as relative path -> content under `root`. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
}

/** Drains a sync line generator: the lines and the returned summary. */
export function drain<T>(gen: Generator<string, T>): { lines: string[]; summary: T } {
  const lines: string[] = [];
  for (;;) {
    const next = gen.next();
    if (next.done) return { lines, summary: next.value };
    lines.push(next.value);
  }
}

/**
 * A slow writable with a tiny buffer that records whether anything was written while the stream had asked the
 * writer to wait for 'drain' (a backpressure violation).
 */
export function slowSink(): { stream: Writable; text: () => string; violations: () => number; waits: () => number } {
  const chunks: Buffer[] = [];
  let violations = 0;
  let waits = 0;
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  });
  const write = stream.write.bind(stream) as (chunk: string) => boolean;
  (stream as unknown as { write: (chunk: string) => boolean }).write = (chunk: string) => {
    if (stream.writableNeedDrain) violations++;
    const ok = write(chunk);
    if (!ok) waits++;
    return ok;
  };
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), violations: () => violations, waits: () => waits };
}

/** Validates generated lines as a training manifest. */
export function validateLines(lines: string[]): Promise<ManifestValidation> {
  return validateManifest(Buffer.from(lines.join('\n') + '\n'), { role: 'training' });
}
