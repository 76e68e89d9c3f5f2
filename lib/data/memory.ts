/**
 * Synth over a large local folder (250,000 images) holds about 450 MB of live data at its peak (manifests, image facts,
 * content keys), and V8 lets the heap grow to twice that before it collects, past the 1 GB that synth should stay under.
 * A full collection after each data phase keeps the peak near the live data (measured by `npm run bench:scale`).
 * `gc` is reached the way Jest reaches it: the flag exposes it to new contexts only, so the app's own globals are left
 * alone.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** Below this many manifest lines, the heap stays small enough and collections would only cost time. */
export const LARGE_DATA_LINES = 50_000;

let gc: (() => void) | null | undefined;

/** Runs a full garbage collection when the data is large; does nothing where V8 does not allow it. */
export function collectAfterLargeData(lines: number): void {
  if (lines < LARGE_DATA_LINES) return;
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
