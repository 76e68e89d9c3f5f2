/**
 * A progress bar on stderr for long runs: shown only when stderr is a terminal and the run is long (more than
 * 1 s so far, or an input over 10 MB), so pipes, logs and tests see nothing.
 */
import { CliIo } from './io';

export interface Progress {
  /** Reports bytes read so far (and the total when known). */
  readonly update: (bytesRead: number, totalBytes?: number) => void;
  /** Clears the bar. */
  done(): void;
}

export interface ProgressOptions {
  /** Start drawing after this long, ms. @default 1000 */
  readonly afterMs?: number;
  /** Draw at once for inputs larger than this, bytes. @default 10 MB */
  readonly bigBytes?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

const WIDTH = 30;
const REDRAW_MS = 100;

export function createProgress(io: CliIo, label: string, options: ProgressOptions = {}): Progress {
  if (!io.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  const now = options.now ?? Date.now;
  const afterMs = options.afterMs ?? 1000;
  const bigBytes = options.bigBytes ?? 10 * 1024 * 1024;
  const started = now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(bytesRead, totalBytes) {
      const t = now();
      if (!drawn && t - started < afterMs && !(totalBytes !== undefined && totalBytes > bigBytes)) return;
      if (t - lastDraw < REDRAW_MS && !(totalBytes !== undefined && bytesRead >= totalBytes)) return;
      lastDraw = t;
      drawn = true;
      io.stderr.write(`\r${renderBar(label, bytesRead, totalBytes)}\x1b[K`);
    },
    done() {
      if (drawn) io.stderr.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** One line: `label [######......]  42%  12.3 MB / 29.0 MB`, or just the bytes when the total is unknown. */
export function renderBar(label: string, bytesRead: number, totalBytes?: number): string {
  if (totalBytes === undefined || totalBytes <= 0) return `${label} ${mb(bytesRead)}`;
  const share = Math.min(1, bytesRead / totalBytes);
  const filled = Math.round(share * WIDTH);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  `
    + `${mb(bytesRead)} / ${mb(totalBytes)}`;
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
