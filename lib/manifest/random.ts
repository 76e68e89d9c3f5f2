/**
 * mulberry32: a small, fast 32-bit PRNG with a good spread; returns numbers in [0, 1). The one seeded generator of
 * the project: splits, the emulator's fault schedules and distribution, and the sample images all draw from it, so a
 * seed means the same thing everywhere.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
