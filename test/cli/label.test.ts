import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { main } from '../../lib/cli/main';
import { renderPng } from '../../lib/samples/shapes';
import { eventually } from '../browser/chromium';
import { MemoryIo, memoryIo } from './memory-io';

interface Run { code: number; stdout: string; stderr: string }

async function firstLine(io: MemoryIo, exit: Promise<number>): Promise<string> {
  for (let i = 0; i < 400; i++) {
    if (io.out().includes('\n')) return io.out().split('\n')[0];
    const tick = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 25));
    const done = await Promise.race([exit.then((code) => `exited ${code}: ${io.err()}`), tick]);
    if (done !== undefined) throw new Error(done);
  }
  throw new Error(`no JSON line after 10 s; stderr: ${io.err()}`);
}

describe('custom-labels label', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-label-'));
    fs.mkdirSync(path.join(dir, 'images', 'cats'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'images', 'cats', '1.png'), renderPng(64, 64, []));
    fs.writeFileSync(path.join(dir, 'images', '2.png'), renderPng(64, 64, []));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<Run> {
    const m = memoryIo(dir);
    const code = await main(['label', ...args], m);
    return { code, stdout: m.out(), stderr: m.err() };
  }

  /** One line on stderr, naming the problem, and no stack trace. */
  function expectOneLineError(r: Run, code: number, text: string): void {
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  test('--help prints the usage on stdout and exits 0; the command list names label and report', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: custom-labels label <images-dir> --manifest <file>/);
    for (const flag of ['--labels', '--predictions', '--bucket', '--port', '--open']) expect(r.stdout).toContain(flag);
    const top = memoryIo(dir);
    expect(await main(['--help'], top)).toBe(0);
    expect(top.out()).toMatch(/^ {2}label {6}label images/m);
    expect(top.out()).toMatch(/^ {2}report {5}write an evaluation report/m);
  });

  test('usage and I/O errors: exit 2 with one line', async () => {
    expectOneLineError(await run(), 2, 'custom-labels label: needs an images folder');
    expectOneLineError(await run('images'), 2, '--manifest is required');
    expectOneLineError(await run('nope', '--manifest', 'm'), 2, `the images folder does not exist: ${path.join(dir, 'nope')}`);
    expectOneLineError(await run('images', '--manifest', 'no/such/m.manifest'), 2, 'its folder does not exist');
    expectOneLineError(await run('images', '--manifest', 'm', '--bucket', 's3://Bad_Bucket'), 2, '--bucket must be s3://<bucket>[/<prefix>]');
    expectOneLineError(await run('images', '--manifest', 'm', '--bucket', 'b1b'), 2, '--bucket must be s3://<bucket>[/<prefix>]');
    expectOneLineError(await run('images', '--manifest', 'm', '--port', '70000'), 2, '--port must be an integer from 0 to 65535, got: 70000');
    expectOneLineError(await run('images', '--manifest', 'm', '--bogus'), 2, "Unknown option '--bogus'");
    expectOneLineError(await run('images', '--manifest', 'm', '--predictions', 'p.manifest'), 2, 'predictions manifest not found');
    expectOneLineError(await run('images', '--manifest', 'm'), 2, '--bucket is needed: no line of the manifest');
  });

  test('input with nothing to label: exit 1 with one line', async () => {
    fs.mkdirSync(path.join(dir, 'empty'));
    fs.writeFileSync(path.join(dir, 'empty', 'a.txt'), 'x');
    expectOneLineError(await run('empty', '--manifest', 'm', '--bucket', 's3://bkt'), 1, `no PNG or JPEG image under ${path.join(dir, 'empty')}`);
    fs.writeFileSync(path.join(dir, 'p.manifest'), '{"source-ref":"s3://bkt/2.png"}\n');
    expectOneLineError(await run('images', '--manifest', 'm', '--bucket', 's3://bkt', '--predictions', 'p.manifest'), 1,
      'the predictions manifest has no line with a prediction');
  });

  test('--open says so when no browser can be started, and serves anyway', async () => {
    const io = memoryIo(dir);
    const savedBrowser = process.env.BROWSER;
    process.env.BROWSER = path.join(dir, 'no-such-browser');
    try {
      const exit = main(['label', 'images', '--manifest', 'out.manifest', '--bucket', 's3://bkt', '--open'], io);
      const { url } = JSON.parse(await firstLine(io, exit)) as { url: string };
      await eventually(() => expect(io.err()).toContain(`could not open a browser with ${path.join(dir, 'no-such-browser')} (spawn`));
      expect(io.err()).toContain(`ENOENT); open ${url}`);
      expect((await fetch(url)).status).toBe(200);
      process.emit('SIGINT');
      await expect(exit).resolves.toBe(0);
      expect(io.err()).toContain('SIGINT: stopping');
    } finally {
      if (savedBrowser === undefined) delete process.env.BROWSER;
      else process.env.BROWSER = savedBrowser;
    }
  });

  test('a port in use: exit 2', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      expectOneLineError(await run('images', '--manifest', 'm', '--bucket', 's3://bkt', '--port', String(port)), 2, `port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  test('serves the page, prints one JSON line, saves to the manifest, and stops with exit 0 on SIGTERM', async () => {
    const io = memoryIo(dir);
    const listeners = process.listenerCount('SIGTERM');
    // --open runs $BROWSER: here a script that writes down the URL it was given
    const opened = path.join(dir, 'opened.txt');
    fs.writeFileSync(path.join(dir, 'browser.sh'), `#!/bin/sh\necho "$1" > '${opened}'\n`, { mode: 0o755 });
    const savedBrowser = process.env.BROWSER;
    process.env.BROWSER = path.join(dir, 'browser.sh');
    let exit: Promise<number>;
    try {
      exit = main(['label', 'images', '--manifest', 'out.manifest', '--labels', 'cat,dog', '--bucket', 's3://bkt/imgs', '--open'], io);
      const line = JSON.parse(await firstLine(io, exit)) as { url: string; manifest: string; images: number; mode: string };
      expect(line).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/), manifest: path.join(dir, 'out.manifest'), images: 2, mode: 'label' });
      const session = await (await fetch(`${line.url}api/session`)).json() as { revision: number; labels: string[]; images: Array<{ path: string; sourceRef: string }> };
      expect(session.labels).toEqual(['cat', 'dog']);
      expect(session.images.map((i) => i.sourceRef)).toEqual(['s3://bkt/imgs/2.png', 's3://bkt/imgs/cats/1.png']);
      const saved = await fetch(`${line.url}api/save`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ revision: session.revision, changes: [{ id: 1, labels: ['dog'], boxes: [] }] }),
      });
      expect(saved.status).toBe(200);
      await eventually(() => expect(fs.readFileSync(opened, 'utf8')).toBe(`${line.url}\n`));
    } finally {
      if (savedBrowser === undefined) delete process.env.BROWSER;
      else process.env.BROWSER = savedBrowser;
    }
    process.emit('SIGTERM');
    await expect(exit).resolves.toBe(0);
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
    expect(io.out().split('\n')).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'out.manifest'), 'utf8'))).toMatchObject({
      'source-ref': 's3://bkt/imgs/cats/1.png', 'label-metadata': { 'class-name': 'dog', 'human-annotated': 'yes' },
    });
    const log = io.err();
    expect(log).toContain(`2 image(s) under ${path.join(dir, 'images')}; new lines: s3://bkt/imgs/<path> (from --bucket)`);
    expect(log).toContain(`saved ${path.join(dir, 'out.manifest')}: 1 line(s) changed, revision 2`);
    expect(log).toContain('SIGTERM: stopping');
  });
});
