import * as zlib from 'node:zlib';

import { PNG } from 'pngjs';

/**
 * Makes 64x64 grey PNGs whose bytes differ with `n` (a tEXt chunk carrying it before IEND): many distinct images for
 * scale tests and benchmarks at the cost of one encode.
 */
export function numberedPngFactory(grey: number): (n: number) => Buffer {
  const image = new PNG({ width: 64, height: 64 });
  image.data.fill(grey);
  const base = PNG.sync.write(image);
  const iend = base.length - 12;
  return (n) => {
    const data = Buffer.from(`n\0${n}`, 'latin1');
    const chunk = Buffer.alloc(12 + data.length);
    chunk.writeUInt32BE(data.length, 0);
    chunk.write('tEXt', 4, 'latin1');
    data.copy(chunk, 8);
    chunk.writeUInt32BE(zlib.crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
    return Buffer.concat([base.subarray(0, iend), chunk, base.subarray(iend)]);
  };
}
