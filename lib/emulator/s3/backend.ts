import { ChildProcess, spawn } from 'node:child_process';

/**
 * s3rver runs in a child Node process started with `--openssl-legacy-provider`.
 *
 * Why a child and not in-process: s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which
 * OpenSSL 3 (Node >= 17) refuses unless the whole process loads the legacy provider; that can only be chosen at
 * process start. The token functions are private to s3rver's bucket controller, so the only in-process fixes
 * are a global `crypto.createCipheriv` patch or a module-loader hack, both of which leak into the host (jest,
 * the CLI, user code). A child keeps s3rver unmodified, works the same under ts-jest and from the compiled CLI
 * (the bootstrap is plain JavaScript, nothing to build), and moves s3rver's work off the emulator's event loop.
 *
 * The bootstrap also replaces the filesystem store's putObject with one that writes to a side file and renames it
 * once it is complete: the original writes in place, so an aborted upload (or a GetObject during an upload) sees a
 * short object, and it answers when its hashing stream finishes, before the write stream has flushed (a race found
 * by reading the code, not one we have seen).
 */
const BOOTSTRAP = `
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { pipeline, Readable, Transform } = require('stream');
const cfg = JSON.parse(process.env.LOCAL_S3_BACKEND);
const S3rver = require(cfg.module);
const Store = require(path.join(path.dirname(cfg.module), 'stores', 'filesystem.js'));
Store.prototype.putObject = async function putObject(object) {
  const file = this.getResourcePath(object.bucket, object.key, 'object');
  // Written aside (listings skip names not ending in ._S3rver_object) and renamed once complete.
  const partial = file + '.partial-' + crypto.randomBytes(6).toString('hex');
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const hash = crypto.createHash('md5');
  let size = 0;
  const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
  const count = new Transform({ transform(chunk, _e, cb) { hash.update(chunk); size += chunk.length; cb(null, chunk); } });
  try {
    await new Promise((resolve, reject) => pipeline(Readable.from(source), count, fs.createWriteStream(partial),
      (err) => (err ? reject(err) : resolve())));
    const md5 = hash.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    await fs.promises.rename(partial, file);
    return { size, md5 };
  } catch (err) {
    await fs.promises.rm(partial, { force: true });
    throw err;
  }
};
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: cfg.directory, silent: true,
  configureBuckets: cfg.buckets.map((name) => ({ name })) });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().catch(() => undefined).then(() => process.exit(0));
};
process.on('disconnect', stop);
// Ctrl-C reaches the whole process group: the parent decides when we stop, after its own servers closed.
process.on('SIGINT', () => undefined);
process.on('message', (m) => { if (m === 'stop') stop(); });
server.run().then(
  (address) => process.send({ port: address.port }),
  (err) => { process.send({ error: String((err && err.message) || err) }); process.exit(1); });
`;

export interface Backend {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts s3rver in a child process bound to 127.0.0.1 on a free port; buckets are created idempotently. */
export async function startBackend(directory: string, buckets: readonly string[]): Promise<Backend> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', BOOTSTRAP], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, LOCAL_S3_BACKEND: JSON.stringify({ module: require.resolve('s3rver'), directory, buckets }) },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: unknown) => {
      const msg = m as { port?: number; error?: string };
      if (typeof msg.port === 'number') resolve(msg.port);
      else reject(new Error(`local S3 server failed to start: ${msg.error ?? 'unknown error'}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`local S3 server exited with code ${code} before it was ready: ${stderr.trim()}`)));
  });
  // The IPC channel would otherwise keep the parent's event loop alive.
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  return { port, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  if (child.connected) child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
