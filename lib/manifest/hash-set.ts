/**
 * A set of 64-bit string hashes in one typed array (open addressing, linear probing): 8 bytes per slot,
 * at most half full, so 250,000 source-refs take 4 MiB whatever their length, and no string is kept.
 *
 * Collision odds: two of n distinct strings share a 64-bit hash with probability about n^2 / 2^65, which
 * for n = 250,000 is about 2e-9 (for a pair of manifests, 500,000 strings: about 7e-9). A collision would
 * make a distinct image look like a duplicate; at these odds we accept it.
 */
export class HashSet64 {
  private table: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialSlots = 1024) {
    let slots = 16;
    while (slots < initialSlots) slots *= 2;
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the hash of `s`; false when it was already there. */
  addString(s: string): boolean {
    hash64(s);
    return this.add(H_HI, H_LO);
  }

  /**
   * Adds the hash of the ASCII text in `bytes[start, end)`: the same hash as `addString` of that text (for ASCII,
   * bytes and UTF-16 units agree), so callers holding bytes need not decode them. False when it was already there.
   */
  addAscii(bytes: Uint8Array, start: number, end: number): boolean {
    let h1 = FNV_SEED;
    let h2 = MIX_SEED ^ (end - start);
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    finish(h1, h2);
    return this.add(H_HI, H_LO);
  }

  hasString(s: string): boolean {
    hash64(s);
    return this.has(H_HI, H_LO);
  }

  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1; // (0, 0) marks an empty slot
    let i = (lo ^ hi) & this.mask;
    const t = this.table;
    for (;;) {
      const a = t[i * 2];
      const b = t[i * 2 + 1];
      if (a === 0 && b === 0) break;
      if (a === hi && b === lo) return false;
      i = (i + 1) & this.mask;
    }
    t[i * 2] = hi;
    t[i * 2 + 1] = lo;
    this.count++;
    if (this.count * 2 > this.mask + 1) this.grow();
    return true;
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    let i = (lo ^ hi) & this.mask;
    const t = this.table;
    for (;;) {
      const a = t[i * 2];
      const b = t[i * 2 + 1];
      if (a === 0 && b === 0) return false;
      if (a === hi && b === lo) return true;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.add(old[i], old[i + 1]);
    }
  }
}

// The last hash64 result; module state avoids allocating a pair per line.
let H_HI = 0;
let H_LO = 0;

const FNV_SEED = 0x811c9dc5;
const MIX_SEED = 0x9747b28c;

/** Two independent 32-bit hashes (FNV-1a and a murmur-style mix, each with a final avalanche) of the UTF-16 units. */
function hash64(s: string): void {
  let h1 = FNV_SEED;
  let h2 = MIX_SEED ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  finish(h1, h2);
}

function finish(h1: number, h2: number): void {
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0x5bd1e995);
  h2 ^= h2 >>> 15;
  H_HI = h1 >>> 0;
  H_LO = h2 >>> 0;
}
