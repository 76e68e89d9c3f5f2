/**
 * Tells text from binary input by its first bytes, so that every reader of text (manifests, CSV, COCO JSON, Ground
 * Truth output) refuses an image or an archive with one line instead of reading garbage.
 */

/** How many leading bytes are looked at. */
export const SNIFF_BYTES = 8 * 1024;

const SIGNATURES: ReadonlyArray<[string, number[]]> = [
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a ZIP archive', [0x50, 0x4b, 0x03, 0x04]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['a PDF document', [0x25, 0x50, 0x44, 0x46, 0x2d]],
];

/**
 * What binary content `head` (the first bytes of a file) looks like (`a PNG image`, `binary data`), or undefined for
 * text: a known signature, a NUL byte, or invalid UTF-8 in the first SNIFF_BYTES (a character cut at the end is fine).
 */
export function describeBinary(head: Uint8Array): string | undefined {
  for (const [what, signature] of SIGNATURES) {
    if (head.length >= signature.length && signature.every((b, i) => head[i] === b)) return what;
  }
  const window = head.subarray(0, SNIFF_BYTES);
  if (window.indexOf(0) !== -1) return 'binary data';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(window, { stream: true });
  } catch {
    return 'binary data';
  }
  return undefined;
}

/** `<name> is not a text file (it looks like a PNG image); <expected> is expected`, or undefined for text. */
export function binaryInputProblem(head: Uint8Array, name: string, expected: string): string | undefined {
  const what = describeBinary(head);
  return what === undefined ? undefined : `${name} is not a text file (it looks like ${what}); ${expected} is expected`;
}
