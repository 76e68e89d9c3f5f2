/**
 * What synth needs to know of each local image (format, dimensions, byte size, content hash), cached between synths
 * by path, size and modification time: a second synth of a large folder stats every file but reads none that did not
 * change. The cache is a JSON file in the data source's cache folder; a lost cache only costs the reading again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ImageProbe, LocalImageInspector, probeImageHeader, SyncImageInspector } from '../manifest/image';
import { writeJsonAtomic } from './packs';

/** [size, mtimeMs, sha256 hex, format, width, height] */
type Fact = [number, number, string, string, number, number];

interface FactsFile {
  readonly version: 1;
  readonly facts: Record<string, Fact>;
}

/** The facts of one image file. */
export interface ImageFacts extends ImageProbe {
  /** The local file. */
  readonly file: string;
  /** sha256 of the bytes, hex. */
  readonly sha256?: string;
}

/**
 * Probes images in a folder that stands for `s3://<any bucket>/` (key `a/b.png` is `<root>/a/b.png`) from cached facts,
 * reading a file only when its size or modification time changed.
 */
export class CachedImageInspector implements SyncImageInspector {
  private readonly paths: LocalImageInspector;
  private readonly cached: Record<string, Fact>;
  private readonly seen = new Map<string, ImageFacts>();
  private changed = false;
  /** Files read (not answered from the cache) by this inspector. */
  filesRead = 0;
  bytesRead = 0;

  constructor(readonly root: string, private readonly cacheFile: string) {
    this.paths = new LocalImageInspector(root);
    this.cached = readFacts(cacheFile);
  }

  probeSync(_bucket: string, key: string): ImageProbe {
    return this.facts(key);
  }

  /** The facts of the image at `key` (relative to the root). */
  facts(key: string): ImageFacts {
    const known = this.seen.get(key);
    if (known) return known;
    const file = this.paths.fileOf(key);
    let result: ImageFacts;
    if (!file) {
      result = { exists: false, file: '', problem: `the key leaves ${this.root}` };
    } else {
      result = this.read(key, file);
    }
    this.seen.set(key, result);
    return result;
  }

  /** Saves what changed for the next synth. */
  save(): void {
    if (this.changed) writeJsonAtomic(this.cacheFile, { version: 1, facts: this.cached } satisfies FactsFile);
    this.changed = false;
  }

  private read(key: string, file: string): ImageFacts {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { exists: false, file, location: file, problem: code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code) };
    }
    if (!stat.isFile()) return { exists: false, file, location: file, problem: 'not a file' };
    const hit = this.cached[key];
    if (hit && hit[0] === stat.size && hit[1] === stat.mtimeMs) return factsOf(file, hit);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      return { exists: false, file, location: file, problem: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    this.filesRead++;
    this.bytesRead += bytes.length;
    const probe = probeImageHeader(bytes.subarray(0, 65536), bytes.length);
    if (probe.format === 'jpeg' && probe.width === undefined) {
      // A JPEG whose frame header sits past the first 64 KB (large EXIF or ICC segments): probe the whole file.
      Object.assign(probe, probeImageHeader(bytes, bytes.length));
    }
    const fact: Fact = [stat.size, stat.mtimeMs, createHash('sha256').update(bytes).digest('hex'), probe.format ?? '', probe.width ?? -1,
      probe.height ?? -1];
    this.cached[key] = fact;
    this.changed = true;
    return factsOf(file, fact);
  }
}

function factsOf(file: string, [size, , sha256, format, width, height]: Fact): ImageFacts {
  return {
    exists: true, file, location: file, bytes: size, sha256,
    format: format === 'png' || format === 'jpeg' ? format : undefined,
    width: width >= 0 ? width : undefined,
    height: height >= 0 ? height : undefined,
  };
}

function readFacts(file: string): Record<string, Fact> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as FactsFile;
    if (parsed.version === 1 && typeof parsed.facts === 'object' && parsed.facts !== null) return parsed.facts;
  } catch {
    // No cache yet.
  }
  return {};
}

/** The content-addressed key of an image: `<sha256>/<file name>` (the name keeps reports readable). */
export function contentKey(facts: ImageFacts): string {
  return `${facts.sha256}/${path.basename(facts.file)}`;
}
