/**
 * Image packs: how local images travel to the data bucket without the whole folder being uploaded again on each change.
 *
 * Every image is a content-addressed object (`<sha256>/<file name>`). A pack is a zip of such objects, a CDK file asset
 * named after the exact set of keys it holds, so an unchanged pack is never uploaded twice (cdk-assets finds its key in
 * the bucket). A ledger in the cache folder remembers the packs made so far for a data source: at synth, the images
 * that no pack holds yet go into one new pack, and packs that hold none of today's images are forgotten. A change of
 * one image therefore uploads a pack of one image (and the manifest). Without the ledger (a fresh checkout), synth
 * makes one pack of everything: correct, only not incremental.
 *
 * Zips are written by yazl (ZIP64 when an archive passes 65,535 entries or 4 GB) in a child Node process, because
 * CDK synthesizes synchronously and yazl is stream-based.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A content-addressed object of a pack: its key (`<sha256>/<name>`) and the local file holding its bytes. */
export interface PackObject {
  readonly key: string;
  readonly file: string;
}

export interface Pack {
  /** sha256 (32 hex) of the sorted keys: also the asset's hash. */
  readonly id: string;
  /** The zip file in the cache folder. */
  readonly file: string;
  readonly keys: readonly string[];
  /** True when this synth wrote the zip (its bytes are what the next deploy uploads, unless the bucket has it). */
  readonly built: boolean;
}

/** More packs than this and they are merged into one (a merge uploads everything once more; rare). */
export const MAX_PACKS = 16;

interface LedgerPack {
  readonly id: string;
  readonly keys: string[];
}

interface Ledger {
  readonly version: 1;
  readonly packs: LedgerPack[];
}

/** The id of a pack holding exactly `keys`. */
export function packId(keys: readonly string[]): string {
  const hash = createHash('sha256');
  for (const key of [...keys].sort()) hash.update(key).update('\n');
  return hash.digest('hex').slice(0, 32);
}

/**
 * The packs that carry `objects` (every key in exactly one of them), reusing the packs of earlier synths recorded in
 * `cacheDir`; missing zips are written there.
 */
export function planPacks(cacheDir: string, objects: readonly PackObject[]): Pack[] {
  const files = new Map(objects.map((o) => [o.key, o.file]));
  const ledgerFile = path.join(cacheDir, 'packs.json');
  const ledger = readLedger(ledgerFile);
  const covered = new Set<string>();
  const used: LedgerPack[] = [];
  for (const pack of ledger.packs) {
    // A pack is only reused when its zip is still there: its id promises exactly its keys.
    if (!fs.existsSync(zipOf(cacheDir, pack.id))) continue;
    if (!pack.keys.some((k) => files.has(k) && !covered.has(k))) continue;
    used.push(pack);
    for (const k of pack.keys) if (files.has(k)) covered.add(k);
  }
  const missing = [...files.keys()].filter((k) => !covered.has(k)).sort();
  if (missing.length > 0) used.push({ id: packId(missing), keys: missing });
  // Too many packs, or packs mostly holding images no longer used: start again with one.
  const held = used.reduce((n, p) => n + p.keys.length, 0);
  let plan = used;
  if (used.length > MAX_PACKS || held > 2 * files.size) {
    const all = [...files.keys()].sort();
    plan = [{ id: packId(all), keys: all }];
  }
  const packs = plan.map((p) => {
    const file = zipOf(cacheDir, p.id);
    const built = !fs.existsSync(file);
    if (built) writePack(file, p.keys.map((key) => ({ key, file: files.get(key)! })));
    return { id: p.id, file, keys: p.keys, built };
  });
  writeJsonAtomic(ledgerFile, { version: 1, packs: plan } satisfies Ledger);
  // Zips no pack of the ledger names any more are only taking room.
  const keep = new Set(plan.map((p) => `${p.id}.zip`));
  for (const name of safeReaddir(path.join(cacheDir, 'packs'))) {
    if (name.endsWith('.zip') && !keep.has(name)) fs.rmSync(path.join(cacheDir, 'packs', name), { force: true });
  }
  return packs;
}

function zipOf(cacheDir: string, id: string): string {
  return path.join(cacheDir, 'packs', `${id}.zip`);
}

function readLedger(file: string): Ledger {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Ledger;
    if (parsed.version === 1 && Array.isArray(parsed.packs)) return parsed;
  } catch {
    // No ledger yet, or an unreadable one: start afresh (one pack of everything).
  }
  return { version: 1, packs: [] };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Writes JSON to a side file and renames it, so a synth that dies never leaves half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

/**
 * The child's program: reads `{ yazl, out, entries: [[name, file], ...] }` on stdin and writes the zip (entries
 * stored, not deflated: PNG and JPEG are compressed already; a fixed date, so the bytes depend on the content only).
 */
const PACK_WRITER = `
'use strict';
const fs = require('fs');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const yazl = require(job.yazl);
  const zip = new yazl.ZipFile();
  const mtime = new Date(Date.UTC(1980, 0, 2));
  const out = fs.createWriteStream(job.tmp);
  const fail = (e) => { console.error(e.message); process.exit(1); };
  out.on('error', fail);
  zip.outputStream.on('error', fail);
  let written = 0;
  let waiting;
  zip.outputStream.on('data', (c) => { written += c.length; if (waiting && written >= waiting.until) { const w = waiting; waiting = undefined; w.resolve(); } });
  zip.outputStream.pipe(out);
  out.on('close', () => { fs.renameSync(job.tmp, job.out); process.exit(0); });
  // Buffers rather than files (one read each, no stream per entry); at most ~64 MiB added ahead of what is written.
  let added = 0;
  for (const [name, file] of job.entries) {
    const data = fs.readFileSync(file);
    zip.addBuffer(data, name, { mtime, mode: 0o100644, compress: false });
    added += data.length + 100;
    if (added - written > 64 * 1024 * 1024) await new Promise((resolve) => { waiting = { until: added - 32 * 1024 * 1024, resolve }; });
  }
  zip.end();
});
`;

/** Writes a pack zip (synchronously, through a child process running yazl). */
export function writePack(out: string, entries: readonly PackObject[]): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const job = { yazl: require.resolve('yazl'), out, tmp: `${out}.${process.pid}.tmp`, entries: entries.map((e) => [e.key, e.file]) };
  try {
    execFileSync(process.execPath, ['-e', PACK_WRITER], { input: JSON.stringify(job), stdio: ['pipe', 'ignore', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    fs.rmSync(job.tmp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`writing the image pack ${out} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}
