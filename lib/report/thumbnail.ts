/**
 * Images for the report, as data URIs: small ones as they are, large ones scaled down (area average) and encoded as
 * JPEG, so a report with hundreds of examples stays a few megabytes.
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK (pngjs and jpeg-js are plain JavaScript, fine in a Lambda bundle).
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { probeImageHeader } from '../manifest/image';

export interface Thumbnail {
  readonly dataUri: string;
  /** The original image's size: boxes are drawn in these pixels. */
  readonly width: number;
  readonly height: number;
  /** True when the image was scaled down (or re-encoded). */
  readonly scaled: boolean;
}

export interface ThumbnailOptions {
  /** Longest side of an inlined image, pixels. @default 480 */
  readonly maxSide?: number;
  /** Images of at most this many bytes and at most maxSide are inlined unchanged. @default 200 KiB */
  readonly maxBytes?: number;
  /** JPEG quality of scaled images, 1..100. @default 80 */
  readonly quality?: number;
}

/** A data URI for the image, scaled down when large; undefined for bytes that are neither PNG nor JPEG (or corrupt). */
export function thumbnail(bytes: Buffer, options: ThumbnailOptions = {}): Thumbnail | undefined {
  const maxSide = options.maxSide ?? 480;
  const maxBytes = options.maxBytes ?? 200 * 1024;
  const probe = probeImageHeader(bytes.subarray(0, 64 * 1024), bytes.length);
  if (!probe.format) return undefined;
  const mime = probe.format === 'png' ? 'image/png' : 'image/jpeg';
  if (probe.width && probe.height && bytes.length <= maxBytes && Math.max(probe.width, probe.height) <= maxSide) {
    return { dataUri: `data:${mime};base64,${bytes.toString('base64')}`, width: probe.width, height: probe.height, scaled: false };
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = probe.format === 'png'
      ? PNG.sync.read(bytes)
      : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
  } catch {
    return undefined;
  }
  if (!(decoded.width > 0 && decoded.height > 0)) return undefined;
  const ratio = Math.min(1, maxSide / Math.max(decoded.width, decoded.height));
  const small = scaleDown(decoded, Math.max(1, Math.round(decoded.width * ratio)), Math.max(1, Math.round(decoded.height * ratio)));
  const encoded = jpeg.encode({ data: small.data, width: small.width, height: small.height }, options.quality ?? 80).data;
  return { dataUri: `data:image/jpeg;base64,${Buffer.from(encoded).toString('base64')}`, width: decoded.width, height: decoded.height, scaled: true };
}

/** Area-average downscale of RGBA pixels; transparent pixels are put on white (JPEG has no alpha). */
export function scaleDown(src: { width: number; height: number; data: Uint8Array }, width: number, height: number)
  : { width: number; height: number; data: Buffer } {
  const out = Buffer.alloc(width * height * 4);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.min(src.height, Math.floor((y + 1) * sy)));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.min(src.width, Math.floor((x + 1) * sx)));
      let r = 0, g = 0, b = 0;
      const n = (y1 - y0) * (x1 - x0);
      for (let yy = y0; yy < y1; yy++) {
        let i = (yy * src.width + x0) * 4;
        for (let xx = x0; xx < x1; xx++, i += 4) {
          const a = src.data[i + 3] / 255;
          r += src.data[i] * a + 255 * (1 - a);
          g += src.data[i + 1] * a + 255 * (1 - a);
          b += src.data[i + 2] * a + 255 * (1 - a);
        }
      }
      const o = (y * width + x) * 4;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
      out[o + 3] = 255;
    }
  }
  return { width, height, data: out };
}
