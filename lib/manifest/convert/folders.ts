/**
 * Folders as labels: `root/<label>/<image>.{png,jpg,jpeg}` -> one image-level line per image.
 *
 * Decisions (documented for users):
 * - Images in sub-folders below a label folder belong to that label (`root/cat/indoor/1.jpg` is a `cat`), so a
 *   label folder can be organised freely. The source-ref keeps the whole relative path.
 * - Files directly under the root, files that are not .png/.jpg/.jpeg (case-insensitive) and empty label folders
 *   are listed in `skipped` with the reason. Hidden entries (a leading `.`) are skipped silently: they are
 *   operating-system litter (.DS_Store), not data.
 * - Order is deterministic: labels, then paths, sorted by code unit (not locale).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ClassificationLines, ConvertError, ConvertOptions, ConvertSummary, labelProblem, resolveStamp, sourceRefFor,
  SummaryBuilder, writeLines } from './common';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The manifest lines for a folder tree, synchronously; returns the summary. */
export function* foldersToManifestLines(root: string, options: ConvertOptions): Generator<string, ConvertSummary> {
  const stamp = resolveStamp(options, 'folders');
  checkRoot(root);
  const summary = new SummaryBuilder();
  const lines = new ClassificationLines(stamp);
  const entries = fs.readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const labelDirs: string[] = [];
  for (const e of entries.sort((a, b) => byCodeUnit(a.name, b.name))) {
    if (isDirectory(path.join(root, e.name), e)) labelDirs.push(e.name);
    else summary.skip(e.name, 'not inside a label folder (images go in <root>/<label>/)');
  }
  for (const label of labelDirs) {
    const problem = labelProblem(label);
    if (problem) {
      summary.skip(`${label}/`, problem);
      continue;
    }
    let images = 0;
    for (const rel of walk(root, label, new Set([realpath(path.join(root, label))]))) {
      if (!isImageFile(rel)) {
        summary.skip(rel, 'not a PNG or JPEG file (.png, .jpg, .jpeg)');
        continue;
      }
      images++;
      summary.line([label]);
      yield lines.line(sourceRefFor(stamp, rel)!, [label]);
    }
    if (images === 0) summary.skip(`${label}/`, 'the label folder holds no images');
  }
  return summary.result();
}

/** Writes the manifest for a folder tree to `out` (not ended), respecting backpressure. */
export function convertFolders(root: string, options: ConvertOptions, out: NodeJS.WritableStream): Promise<ConvertSummary> {
  return writeLines(foldersToManifestLines(root, options), out);
}

function checkRoot(root: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new ConvertError(`image folder not found: ${root}`, 'ENOENT');
  }
  if (!stat.isDirectory()) throw new ConvertError(`${root} is not a folder (expected <root>/<label>/<image>)`, 'ENOTDIR');
}

function isDirectory(full: string, e: fs.Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return fs.statSync(full).isDirectory();
  } catch {
    return false;
  }
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Relative paths (with `/`) of the files below `rel`, sorted; symlinked folders followed once (no cycles). */
function* walk(root: string, rel: string, visited: Set<string>): Generator<string> {
  const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => byCodeUnit(a.name, b.name));
  for (const e of entries) {
    const childRel = `${rel}/${e.name}`;
    const full = path.join(root, childRel);
    if (isDirectory(full, e)) {
      const real = realpath(full);
      if (visited.has(real)) continue;
      visited.add(real);
      yield* walk(root, childRel, visited);
    } else {
      yield childRel;
    }
  }
}
