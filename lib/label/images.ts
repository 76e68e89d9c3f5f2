/**
 * The images of a labeling session: PNG and JPEG files under one folder, their sizes from the file headers, and how a
 * manifest's source-refs map onto them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { LocalImageInspector } from '../manifest/image';

export interface LocalImage {
  /** Path relative to the images folder, with `/` separators. */
  readonly rel: string;
  /** Absolute path, after symbolic links are resolved (always inside the folder). */
  readonly file: string;
  readonly format: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every PNG or JPEG (by extension and magic bytes, with readable dimensions) under `dir`, sorted by relative path.
 * Hidden files and folders are skipped, and so is anything whose real path is outside `dir` (a symbolic link out).
 * `skipped` lists the files with an image extension that could not be read as one.
 */
export function listImages(dir: string): { images: LocalImage[]; skipped: string[] } {
  const root = fs.realpathSync(dir);
  const inspector = new LocalImageInspector(root);
  const images: LocalImage[] = [];
  const skipped: string[] = [];
  const walk = (folder: string, relFolder: string): void => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true }).sort((a, b) => byCodePoint(a.name, b.name))) {
      if (entry.name.startsWith('.')) continue;
      const rel = relFolder === '' ? entry.name : `${relFolder}/${entry.name}`;
      const full = path.join(folder, entry.name);
      let real: string;
      try {
        real = fs.realpathSync(full);
      } catch {
        continue;
      }
      if (!real.startsWith(root + path.sep)) continue;
      const stat = fs.statSync(real);
      if (stat.isDirectory()) {
        if (!entry.isSymbolicLink()) walk(full, rel);
        continue;
      }
      if (!stat.isFile() || !IMAGE_EXTENSIONS.test(entry.name)) continue;
      const probe = inspector.probeSync('', path.relative(root, real));
      if (probe.format && probe.width && probe.height) {
        images.push({ rel, file: real, format: probe.format, width: probe.width, height: probe.height });
      } else {
        skipped.push(rel);
      }
    }
  };
  walk(root, '');
  images.sort((a, b) => byCodePoint(a.rel, b.rel));
  return { images, skipped };
}

/** `s3://<bucket>/<key>` split, or undefined. */
export function splitS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/s.exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

/**
 * Finds the image a source-ref stands for: the image whose relative path is the longest `/`-bounded suffix of the
 * key (`s3://b/any/prefix/cats/1.png` is `cats/1.png`, or `1.png` when there is no `cats/1.png`).
 */
export class SourceRefMatcher {
  private readonly byRel: Map<string, number>;

  constructor(images: readonly LocalImage[]) {
    this.byRel = new Map(images.map((img, i) => [img.rel, i]));
  }

  /** The image's index and the prefix before its path in the key, or undefined. */
  match(sourceRef: string): { index: number; bucket: string; prefix: string } | undefined {
    const parts = splitS3Uri(sourceRef);
    if (!parts) return undefined;
    let rest = parts.key;
    let prefix = '';
    for (;;) {
      const index = this.byRel.get(rest);
      if (index !== undefined) return { index, bucket: parts.bucket, prefix };
      const slash = rest.indexOf('/');
      if (slash < 0) return undefined;
      prefix += rest.slice(0, slash + 1);
      rest = rest.slice(slash + 1);
    }
  }
}

/**
 * The bucket and prefix new lines get when --bucket is not given: the ones most of the given source-refs use for the
 * images they match (ties: the first seen). Undefined when none matches an image.
 */
export function inferLocation(sourceRefs: Iterable<string>, matcher: SourceRefMatcher): { bucket: string; prefix: string } | undefined {
  const counts = new Map<string, { bucket: string; prefix: string; n: number }>();
  for (const ref of sourceRefs) {
    const m = matcher.match(ref);
    if (!m) continue;
    const k = `${m.bucket}/${m.prefix}`;
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { bucket: m.bucket, prefix: m.prefix, n: 1 });
  }
  let best: { bucket: string; prefix: string; n: number } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return best ? { bucket: best.bucket, prefix: best.prefix } : undefined;
}
