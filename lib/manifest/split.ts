/**
 * A deterministic, stratified train/test split of a manifest's valid lines.
 *
 * - Deterministic: a seeded PRNG (mulberry32) shuffles the lines; the same input, ratio and seed give byte-identical
 *   outputs. Lines keep their input order on each side.
 * - Stratified: each label gets `round(images * testRatio)` test images, at least 1 and at most images - 1 when it
 *   has 2 or more (a label with one image stays in training, and a note says so). Multi-label lines are placed
 *   when their RAREST label is handled (iterative stratification): labels are handled from rarest to most common,
 *   and each line goes to the side that still needs more of that label; ties go to the side further from the
 *   overall ratio, then to the PRNG.
 * - Only valid lines are split (validated with role 'dataset'); invalid and ignored lines are counted in `skipped`.
 *   The validator drops duplicate source-refs, so no image can land on both sides.
 */
import { ManifestInput, readManifestLines } from './reader';
import { LabelCount } from './types';
import { LineResult, validateManifest, validateManifestSync } from './validator';

/** The test share of a split when none is given: the CLI and the constructs' TestData.split share it. */
export const DEFAULT_TEST_RATIO = 0.2;
/** The seed of a split when none is given: the CLI and the constructs' TestData.split share it. */
export const DEFAULT_SPLIT_SEED = 7;

export interface SplitOptions {
  /** Share of each label's images that goes to the test set, strictly between 0 and 1 (e.g. 0.2). */
  readonly testRatio: number;
  /** Seed of the shuffle: an integer. */
  readonly seed: number;
}

export interface SplitSide {
  lines: number;
  labels: Record<string, LabelCount>;
}

export interface SplitResult {
  training: SplitSide;
  testing: SplitSide;
  /** What the split could not do as asked (labels too rare to be on both sides) and what it left out. */
  notes: string[];
  /** Lines not split: invalid (including dropped) and ignored lines. */
  skipped: number;
}

import { mulberry32 } from './random';

/** Re-exported: the split's seeds and the rest of the project's share one generator. */
export { mulberry32 };

export function checkSplitOptions(options: SplitOptions): void {
  const { testRatio, seed } = options ?? {};
  if (typeof testRatio !== 'number' || !(testRatio > 0 && testRatio < 1)) {
    throw new RangeError(`testRatio must be a number between 0 and 1 (exclusive), got: ${String(testRatio)}`);
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be an integer, got: ${String(seed)}`);
  }
}

/**
 * Collects the valid lines' labels, then decides each line's side. Holds per line only its label ids and box
 * counts, so the stream form's memory stays small.
 */
export class SplitPlanner {
  private readonly labelIds = new Map<string, number>();
  private readonly labelNames: string[] = [];
  private readonly itemLabels: number[][] = [];
  private readonly itemBoxes: number[][] = [];
  private readonly issues: string[] = [];
  private invalid = 0;
  private ignored = 0;

  constructor(private readonly options: SplitOptions) {
    checkSplitOptions(options);
  }

  /** Records one line as the validator saw it; true when the line takes part in the split. */
  add(line: LineResult): boolean {
    if (line.status !== 'valid' || line.labels.length === 0) {
      if (line.status === 'ignored') this.ignored++;
      else this.invalid++;
      if (this.issues.length < 5) {
        const why = line.errors[0]?.code ?? line.warnings[0]?.code ?? 'no label';
        this.issues.push(`${line.lineNumber} (${why})`);
      }
      return false;
    }
    const ids = line.labels.map((l) => this.labelId(l));
    const boxes = new Array<number>(ids.length).fill(0);
    for (const b of line.boxes) {
      const k = ids.indexOf(this.labelId(b.label));
      if (k >= 0) boxes[k]++;
    }
    this.itemLabels.push(ids);
    this.itemBoxes.push(boxes);
    return true;
  }

  /** Sides of the added lines in order of addition (1 = testing), and the result. */
  plan(): { sides: Uint8Array; result: SplitResult } {
    const { testRatio, seed } = this.options;
    const n = this.itemLabels.length;
    const L = this.labelNames.length;
    const count = new Array<number>(L).fill(0);
    for (const ids of this.itemLabels) for (const l of ids) count[l]++;
    const target = count.map((c) => (c >= 2 ? Math.min(c - 1, Math.max(1, Math.round(c * testRatio))) : 0));

    // Labels ranked rarest first (ties by name, so the ranking does not depend on input order).
    const byRarity = [...count.keys()].sort((a, b) => count[a] - count[b] || cmp(this.labelNames[a], this.labelNames[b]));
    const rank = new Array<number>(L);
    byRarity.forEach((l, r) => { rank[l] = r; });
    const key = this.itemLabels.map((ids) => ids.reduce((best, l) => (rank[l] < rank[best] ? l : best), ids[0]));

    const rng = mulberry32(seed);
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.sort((a, b) => rank[key[a]] - rank[key[b]]); // stable: shuffled order kept within a label

    const sides = new Uint8Array(n);
    const testOf = new Array<number>(L).fill(0);
    const trainOf = new Array<number>(L).fill(0);
    const testTotal = Math.round(n * testRatio);
    let tests = 0;
    let trains = 0;
    for (const i of order) {
      const l = key[i];
      const testNeed = target[l] - testOf[l];
      const trainNeed = count[l] - target[l] - trainOf[l];
      let toTest: boolean;
      if (testNeed !== trainNeed) {
        toTest = testNeed > trainNeed;
      } else {
        const globalTest = testTotal - tests;
        const globalTrain = n - testTotal - trains;
        toTest = globalTest !== globalTrain ? globalTest > globalTrain : rng() < testRatio;
      }
      if (toTest) {
        sides[i] = 1;
        tests++;
        for (const m of this.itemLabels[i]) testOf[m]++;
      } else {
        trains++;
        for (const m of this.itemLabels[i]) trainOf[m]++;
      }
    }

    const notes: string[] = [];
    for (const l of byRarity) {
      const name = this.labelNames[l];
      if (count[l] === 1) {
        notes.push(`label "${name}" has 1 image: it is in training only (a label needs 2 images to be on both sides)`);
      } else if (testOf[l] === 0 || trainOf[l] === 0) {
        notes.push(`label "${name}" is only in ${testOf[l] === 0 ? 'training' : 'testing'}: its ${count[l]} images also carry rarer labels`);
      }
    }
    if (this.invalid + this.ignored > 0) {
      notes.push(`${this.invalid + this.ignored} line(s) not split: ${this.invalid} invalid, ${this.ignored} ignored `
        + `(first: line ${this.issues.join(', line ')})`);
    }
    return { sides, result: { ...this.sides(sides), notes, skipped: this.invalid + this.ignored } };
  }

  private sides(sides: Uint8Array): { training: SplitSide; testing: SplitSide } {
    const training: SplitSide = { lines: 0, labels: {} };
    const testing: SplitSide = { lines: 0, labels: {} };
    const names = [...this.labelNames].sort(cmp);
    for (const name of names) {
      training.labels[name] = { images: 0, boxes: 0 };
      testing.labels[name] = { images: 0, boxes: 0 };
    }
    for (let i = 0; i < sides.length; i++) {
      const side = sides[i] === 1 ? testing : training;
      side.lines++;
      this.itemLabels[i].forEach((l, k) => {
        const c = side.labels[this.labelNames[l]];
        c.images++;
        c.boxes += this.itemBoxes[i][k];
      });
    }
    return { training, testing };
  }

  private labelId(label: string): number {
    let id = this.labelIds.get(label);
    if (id === undefined) {
      id = this.labelNames.length;
      this.labelIds.set(label, id);
      this.labelNames.push(label);
    }
    return id;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Splits manifest content synchronously (for synth time): the lines of each side, in input order, and the result. */
export function splitManifestLines(content: Buffer | string, options: SplitOptions): { training: string[]; testing: string[]; result: SplitResult } {
  const planner = new SplitPlanner(options);
  const texts: string[] = [];
  validateManifestSync(content, {
    role: 'dataset',
    onLine: (l) => {
      if (planner.add(l)) texts.push(l.text);
    },
  });
  const { sides, result } = planner.plan();
  const training: string[] = [];
  const testing: string[] = [];
  texts.forEach((t, i) => (sides[i] === 1 ? testing : training).push(t));
  return { training, testing, result };
}

export interface SplitStreamOptions extends SplitOptions {
  readonly training: NodeJS.WritableStream;
  readonly testing: NodeJS.WritableStream;
  readonly onProgress?: (bytesRead: number, totalBytes?: number) => void;
}

/**
 * Splits a manifest (a path, its content, or a stream) into two writable streams (not ended), respecting
 * backpressure. A path or Buffer is read twice (validate, then write) so that memory does not grow with the
 * file; a stream is read once and its valid lines kept in memory.
 */
export async function splitManifest(input: ManifestInput, options: SplitStreamOptions): Promise<SplitResult> {
  const planner = new SplitPlanner(options);
  const rereadable = typeof input === 'string' || Buffer.isBuffer(input);
  const lineNumbers: number[] = [];
  const texts: string[] = [];
  await validateManifest(input, {
    role: 'dataset',
    onProgress: options.onProgress,
    onLine: (l) => {
      if (!planner.add(l)) return;
      lineNumbers.push(l.lineNumber);
      if (!rereadable) texts.push(l.text);
    },
  });
  const { sides, result } = planner.plan();
  const out = new SideWriter(options.training, options.testing);
  if (rereadable) {
    let k = 0;
    for await (const l of readManifestLines(input)) {
      if (k < lineNumbers.length && l.lineNumber === lineNumbers[k]) {
        await out.add(sides[k] === 1, l.text);
        k++;
      }
    }
  } else {
    for (let k = 0; k < texts.length; k++) await out.add(sides[k] === 1, texts[k]);
  }
  await out.flush();
  return result;
}

/** Batches lines per side into ~64 KiB writes and waits for 'drain' when a stream asks. */
class SideWriter {
  private readonly batches = ['', ''];

  constructor(private readonly training: NodeJS.WritableStream, private readonly testing: NodeJS.WritableStream) {}

  async add(toTest: boolean, text: string): Promise<void> {
    const k = toTest ? 1 : 0;
    this.batches[k] += text + '\n';
    if (this.batches[k].length >= 64 * 1024) await this.drain(k);
  }

  async flush(): Promise<void> {
    await this.drain(0);
    await this.drain(1);
  }

  private async drain(k: number): Promise<void> {
    const text = this.batches[k];
    this.batches[k] = '';
    if (text === '') return;
    const stream = k === 1 ? this.testing : this.training;
    if (!stream.write(text)) await new Promise<void>((resolve, reject) => {
      stream.once('drain', resolve);
      stream.once('error', reject);
    });
  }
}
