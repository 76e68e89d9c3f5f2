import { Box, DecodedImage } from './types';

// Module-level copies: inside a vm context (jest) every global lookup such as Math.abs is ~50x slower.
const { abs, ceil, exp, floor, max, min, round } = Math;

/** Images are analysed on a grid no larger than this a side (nearest-pixel sampling) to keep detect fast. */
const MAX_GRID_SIDE = 128;
/** A pixel is foreground when a channel differs from the background by more than this (or the border noise allows). */
const MIN_FOREGROUND_DIFF = 40;
/** A pixel joins a region when no channel differs from the region's mean colour by more than this. */
const REGION_JOIN_DIFF = 64;
export const HIST_BINS = 64;

/** A down-sampled RGB view of an image; one grid cell stands for `step` x `step` source pixels. */
export interface Grid {
  width: number;
  height: number;
  /** 3 bytes per cell. */
  rgb: Uint8Array;
  step: number;
  srcWidth: number;
  srcHeight: number;
}

export interface Feature {
  hist: number[];
  fill: number;
}

/** A connected foreground region of one colour, in grid cells. */
export interface Region {
  area: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  hist: Float64Array;
}

export interface Analysis {
  grid: Grid;
  mask: Uint8Array;
  regions: Region[];
}

export function toGrid(img: DecodedImage): Grid {
  const step = max(1, ceil(max(img.width, img.height) / MAX_GRID_SIDE));
  const width = ceil(img.width / step);
  const height = ceil(img.height / step);
  const rgb = new Uint8Array(width * height * 3);
  const offset = floor(step / 2);
  for (let gy = 0; gy < height; gy++) {
    const sy = min(img.height - 1, gy * step + offset);
    for (let gx = 0; gx < width; gx++) {
      const sx = min(img.width - 1, gx * step + offset);
      const s = (sy * img.width + sx) * 4;
      const d = (gy * width + gx) * 3;
      rgb[d] = img.data[s];
      rgb[d + 1] = img.data[s + 1];
      rgb[d + 2] = img.data[s + 2];
    }
  }
  return { width, height, rgb, step, srcWidth: img.width, srcHeight: img.height };
}

// Soft binning: 4 bins a channel centred on 32, 96, 160, 224; a value splits its weight between the two nearest
// centres, so a colour near a bin edge does not jump from one bin to another.
const BIN_LO = new Uint8Array(256);
const BIN_HI = new Uint8Array(256);
const WEIGHT_LO = new Float64Array(256);
for (let v = 0; v < 256; v++) {
  const p = min(3, max(0, (v - 32) / 64));
  const lo = min(2, floor(p));
  BIN_LO[v] = lo;
  BIN_HI[v] = lo + 1;
  WEIGHT_LO[v] = 1 - (p - lo);
}

function addToHist(hist: Float64Array, r: number, g: number, b: number): void {
  const rl = BIN_LO[r] * 16, rh = BIN_HI[r] * 16, gl = BIN_LO[g] * 4, gh = BIN_HI[g] * 4, bl = BIN_LO[b], bh = BIN_HI[b];
  const rw = WEIGHT_LO[r], gw = WEIGHT_LO[g], bw = WEIGHT_LO[b];
  hist[rl + gl + bl] += rw * gw * bw;
  hist[rl + gl + bh] += rw * gw * (1 - bw);
  hist[rl + gh + bl] += rw * (1 - gw) * bw;
  hist[rl + gh + bh] += rw * (1 - gw) * (1 - bw);
  hist[rh + gl + bl] += (1 - rw) * gw * bw;
  hist[rh + gl + bh] += (1 - rw) * gw * (1 - bw);
  hist[rh + gh + bl] += (1 - rw) * (1 - gw) * bw;
  hist[rh + gh + bh] += (1 - rw) * (1 - gw) * (1 - bw);
}

function median(counts: Uint32Array, total: number): number {
  let seen = 0;
  for (let v = 0; v < counts.length; v++) {
    seen += counts[v];
    if (seen * 2 >= total) return v;
  }
  return counts.length - 1;
}

/** Background colour = per-channel median of the border cells; threshold from how much the border varies. */
function background(grid: Grid): { colour: [number, number, number]; threshold: number } {
  const { width, height, rgb } = grid;
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(x, (height - 1) * width + x);
  for (let y = 1; y < height - 1; y++) border.push(y * width, y * width + width - 1);
  const counts = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  for (const i of border) for (let c = 0; c < 3; c++) counts[c][rgb[i * 3 + c]]++;
  const colour: [number, number, number] = [median(counts[0], border.length), median(counts[1], border.length), median(counts[2], border.length)];
  // 75th percentile of the border's deviation: robust to a shape touching up to a quarter of the border.
  const deviations = border.map((i) => maxDiff(rgb, i * 3, colour[0], colour[1], colour[2])).sort((a, b) => a - b);
  const spread = deviations[floor(deviations.length * 0.75)] ?? 0;
  return { colour, threshold: max(MIN_FOREGROUND_DIFF, spread * 2.5 + 8) };
}

function maxDiff(rgb: Uint8Array, o: number, r: number, g: number, b: number): number {
  return max(abs(rgb[o] - r), abs(rgb[o + 1] - g), abs(rgb[o + 2] - b));
}

/** Foreground mask and one-colour connected regions (4-connectivity, region growing against the running mean). */
export function analyse(grid: Grid): Analysis {
  const { width, height, rgb } = grid;
  const n = width * height;
  const bg = background(grid);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (maxDiff(rgb, i * 3, bg.colour[0], bg.colour[1], bg.colour[2]) > bg.threshold) mask[i] = 1;
  }
  const minArea = max(8, round(n * 0.002));
  const seen = new Uint8Array(n);
  const queue = new Int32Array(n);
  const regions: Region[] = [];
  for (let start = 0; start < n; start++) {
    if (!mask[start] || seen[start]) continue;
    seen[start] = 1;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    let sr = 0, sg = 0, sb = 0;
    const region: Region = { area: 0, x0: width, y0: height, x1: -1, y1: -1, hist: new Float64Array(HIST_BINS) };
    while (head < tail) {
      const i = queue[head++];
      const o = i * 3;
      sr += rgb[o]; sg += rgb[o + 1]; sb += rgb[o + 2];
      region.area++;
      addToHist(region.hist, rgb[o], rgb[o + 1], rgb[o + 2]);
      const x = i % width;
      const y = (i - x) / width;
      if (x < region.x0) region.x0 = x;
      if (x > region.x1) region.x1 = x;
      if (y < region.y0) region.y0 = y;
      if (y > region.y1) region.y1 = y;
      const mr = sr / region.area, mg = sg / region.area, mb = sb / region.area;
      // Neighbours left, right, up, down (4-connectivity); -1 marks one outside the grid.
      const neighbours = [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, y > 0 ? i - width : -1, y < height - 1 ? i + width : -1];
      for (const j of neighbours) {
        if (j >= 0 && mask[j] && !seen[j] && maxDiff(rgb, j * 3, mr, mg, mb) <= REGION_JOIN_DIFF) {
          seen[j] = 1;
          queue[tail++] = j;
        }
      }
    }
    if (region.area >= minArea) regions.push(region);
  }
  return { grid, mask, regions };
}

function normalise(hist: Float64Array, total: number): number[] {
  const out = new Array<number>(HIST_BINS);
  for (let k = 0; k < HIST_BINS; k++) out[k] = total > 0 ? hist[k] / total : 0;
  return out;
}

export function regionFeature(region: Region): Feature {
  const boxArea = (region.x1 - region.x0 + 1) * (region.y1 - region.y0 + 1);
  return { hist: normalise(region.hist, region.area), fill: region.area / boxArea };
}

/** Whole-image feature: the colours of every region; fill = region area over region box area, summed. */
export function imageFeature(analysis: Analysis): Feature {
  const hist = new Float64Array(HIST_BINS);
  let area = 0;
  let boxArea = 0;
  for (const r of analysis.regions) {
    for (let k = 0; k < HIST_BINS; k++) hist[k] += r.hist[k];
    area += r.area;
    boxArea += (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
  }
  if (area > 0) return { hist: normalise(hist, area), fill: area / boxArea };
  // Nothing stands out from the background: describe the whole image by its colours.
  const { rgb } = analysis.grid;
  for (let o = 0; o < rgb.length; o += 3) addToHist(hist, rgb[o], rgb[o + 1], rgb[o + 2]);
  return { hist: normalise(hist, rgb.length / 3), fill: 0 };
}

/** Feature of a ground-truth box (source pixels): its foreground cells' colours and how much of it they cover. */
export function boxFeature(analysis: Analysis, box: Box): Feature {
  const { grid, mask } = analysis;
  const x0 = max(0, floor(box.left / grid.step));
  const y0 = max(0, floor(box.top / grid.step));
  const x1 = min(grid.width - 1, ceil((box.left + box.width) / grid.step) - 1);
  const y1 = min(grid.height - 1, ceil((box.top + box.height) / grid.step) - 1);
  const hist = new Float64Array(HIST_BINS);
  let count = 0;
  let cells = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      cells++;
      const i = y * grid.width + x;
      if (!mask[i]) continue;
      count++;
      addToHist(hist, grid.rgb[i * 3], grid.rgb[i * 3 + 1], grid.rgb[i * 3 + 2]);
    }
  }
  return { hist: normalise(hist, count), fill: cells > 0 ? count / cells : 0 };
}

/** Distance in 0..1: half from colours (L1 of histograms / 2), half from the shape cue. */
export function featureDistance(a: Feature, bHist: number[], bFill: number): number {
  let l1 = 0;
  for (let k = 0; k < HIST_BINS; k++) l1 += abs(a.hist[k] - bHist[k]);
  return 0.25 * l1 + 0.5 * min(1, 2 * abs(a.fill - bFill));
}

/** Similarity in 0..1 from a distance; the scale puts a typical same-class distance (~0.05) near 0.7. */
export function similarity(distance: number): number {
  return exp(-distance / 0.15);
}

/** A region's box as ratios of the source image size. */
export function regionBoxRatios(grid: Grid, r: Region): { left: number; top: number; width: number; height: number } {
  const left = (r.x0 * grid.step) / grid.srcWidth;
  const top = (r.y0 * grid.step) / grid.srcHeight;
  const width = min((r.x1 + 1) * grid.step, grid.srcWidth) / grid.srcWidth - left;
  const height = min((r.y1 + 1) * grid.step, grid.srcHeight) / grid.srcHeight - top;
  return { left, top, width, height };
}
