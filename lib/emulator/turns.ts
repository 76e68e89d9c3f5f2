/**
 * The emulator shares its process with the offline runner and the local S3's front: CPU work over a whole dataset in
 * one synchronous stretch (training on 20,000 images took 10 s) holds every request meanwhile, and the workflow's calls
 * time out after 60 s. Its long loops give the event loop a turn every so many items.
 */

/** Resolves after the event loop has served what is waiting (I/O included). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `each` over `items`, yielding to the event loop after every `perTurn` items. */
export async function inTurns<T>(items: readonly T[], each: (item: T) => unknown, perTurn: number): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % perTurn === 0) await nextTurn();
    each(items[i]);
  }
}
