import { PNG } from 'pngjs';

import { decodeImage, ImageDecodeError, imageFormat } from '../../../lib/emulator/learner';
import { renderJpeg, renderPng } from '../../../lib/samples/shapes';

describe('decodeImage', () => {
  test('decodes a PNG to RGBA with its size and pixels', () => {
    // GIVEN a 3x2 PNG written pixel by pixel with pngjs
    const png = new PNG({ width: 3, height: 2 });
    for (let i = 0; i < 6; i++) png.data.set([i * 10, 100 + i, 200 - i, 255], i * 4);
    const bytes = PNG.sync.write(png);

    // WHEN
    const img = decodeImage(bytes);

    // THEN
    expect(img.width).toBe(3);
    expect(img.height).toBe(2);
    expect(Array.from(img.data.subarray(20, 24))).toEqual([50, 105, 195, 255]);
  });

  test('decodes a JPEG by its magic bytes, colours close to the original', () => {
    const bytes = renderJpeg(64, 48, [], { background: [200, 40, 40] });
    expect(imageFormat(bytes)).toBe('jpeg');

    const img = decodeImage(bytes);

    expect([img.width, img.height]).toEqual([64, 48]);
    const centre = (24 * 64 + 32) * 4;
    expect(Math.abs(img.data[centre] - 200)).toBeLessThan(8);
    expect(Math.abs(img.data[centre + 1] - 40)).toBeLessThan(8);
  });

  test('bytes that are neither PNG nor JPEG raise ImageDecodeError', () => {
    const call = (): unknown => decodeImage(Buffer.from('GIF89a not supported'));
    expect(call).toThrow(ImageDecodeError);
    expect(call).toThrow('The image is neither a PNG nor a JPEG.');
  });

  test('a truncated PNG raises ImageDecodeError naming the format', () => {
    const bytes = renderPng(64, 64, [{ kind: 'square', color: [224, 32, 32], left: 8, top: 8, size: 20 }]);
    const call = (): unknown => decodeImage(bytes.subarray(0, 40));
    expect(call).toThrow(ImageDecodeError);
    expect(call).toThrow(/^The PNG image is corrupt: /);
  });

  test('a JPEG header followed by garbage raises ImageDecodeError', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 7)]);
    expect(() => decodeImage(bytes)).toThrow(/^The JPEG image is corrupt: /);
  });

  test('the error is an Error with its own name', () => {
    let caught: unknown;
    try {
      decodeImage(Buffer.alloc(0));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe('ImageDecodeError');
  });
});
