import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { DecodedImage } from './types';

/** The bytes are neither a PNG nor a JPEG, or they are and cannot be decoded. */
export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

export type ImageFormat = 'png' | 'jpeg';

/** The format told by the magic bytes, or undefined for anything else. */
export function imageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const startsWith = (magic: number[]): boolean => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (startsWith(PNG_MAGIC)) return 'png';
  if (startsWith(JPEG_MAGIC)) return 'jpeg';
  return undefined;
}

/** Decodes a PNG or a JPEG (told by its magic bytes) into 8-bit RGBA. */
export function decodeImage(bytes: Buffer): DecodedImage {
  const format = imageFormat(bytes);
  if (format === undefined) {
    throw new ImageDecodeError('The image is neither a PNG nor a JPEG.');
  }
  try {
    if (format === 'png') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    if (img.width <= 0 || img.height <= 0) throw new Error('no image data');
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ImageDecodeError(`The ${format === 'png' ? 'PNG' : 'JPEG'} image is corrupt: ${reason}`);
  }
}
