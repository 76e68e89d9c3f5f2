import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { LabelServer, startLabelServer } from '../../lib/label/server';
import { LabelSession } from '../../lib/label/session';
import { renderPng } from '../../lib/samples/shapes';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** A raw request: the path is sent exactly as given (no URL normalisation of '..'). */
function request(port: number, method: string, rawPath: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers: { Host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const saveBody = (revision: number, labels: string[]): string => JSON.stringify({ revision, changes: [{ id: 0, labels, boxes: [] }] });
const JSON_HEADERS = { 'Content-Type': 'application/json' };

describe('label server', () => {
  let dir: string;
  let server: LabelServer;
  let png: Buffer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'label-server-'));
    png = renderPng(80, 64, []);
    fs.mkdirSync(path.join(dir, 'images', 'cats'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'images', 'cats', 'a b.png'), png);
    fs.writeFileSync(path.join(dir, 'images', 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(dir, 'images', 'fake.png'), 'not a png either');
    fs.writeFileSync(path.join(dir, 'secret.png'), png);
    fs.symlinkSync(path.join(dir, 'secret.png'), path.join(dir, 'images', 'link.png'));
    const session = new LabelSession({ imagesDir: path.join(dir, 'images'), manifestFile: path.join(dir, 'm.manifest'), bucket: { bucket: 'b', prefix: '' } });
    server = await startLabelServer({ session });
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 only and serves the page with a strict Content-Security-Policy', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await request(server.port, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body.toString()).toContain('<script src="/label.js" defer></script>');
    expect((await request(server.port, 'GET', '/label.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    const session = JSON.parse((await request(server.port, 'GET', '/api/session')).body.toString());
    expect(session.images.map((i: { path: string }) => i.path)).toEqual(['cats/a b.png']);
  });

  test('serves the session\'s images and nothing else: no other file, no path out of the folder', async () => {
    const image = await request(server.port, 'GET', '/images/cats/a%20b.png');
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
    expect(image.body.equals(png)).toBe(true);
    for (const p of [
      '/images/notes.txt', '/images/fake.png', '/images/link.png', '/images/../secret.png', '/images/..%2Fsecret.png',
      '/images/%2e%2e/secret.png', '/images/cats/..%2F..%2Fsecret.png', '/images/%2Fetc%2Fpasswd', '/images//etc/passwd',
      '/images/cats/a%20b.png%00.txt', '/images/%E0%A4%A', '/../secret.png', '/m.manifest', '/images/',
    ]) {
      const r = await request(server.port, 'GET', p);
      expect([p, r.status]).toEqual([p, 404]);
      expect(r.body.includes(png)).toBe(false);
    }
  });

  test('refuses other hosts (DNS rebinding), cross-origin and non-JSON saves', async () => {
    expect((await request(server.port, 'GET', '/', { headers: { Host: 'evil.example:80' } })).status).toBe(403);
    expect((await request(server.port, 'GET', '/', { headers: { Host: `localhost:${server.port}` } })).status).toBe(200);
    const crossOrigin = await request(server.port, 'POST', '/api/save', { headers: { ...JSON_HEADERS, Origin: 'http://evil.example' }, body: saveBody(1, ['x']) });
    expect(crossOrigin.status).toBe(403);
    const form = await request(server.port, 'POST', '/api/save', { headers: { 'Content-Type': 'text/plain' }, body: saveBody(1, ['x']) });
    expect(form.status).toBe(415);
    expect((await request(server.port, 'PUT', '/api/save', { headers: JSON_HEADERS, body: '{}' })).status).toBe(405);
    expect(fs.existsSync(path.join(dir, 'm.manifest'))).toBe(false);
  });

  test('saves: 200 with the new revision, 409 for a page behind, 400 for a bad change', async () => {
    const headers = { ...JSON_HEADERS, Origin: `http://127.0.0.1:${server.port}` };
    const ok = await request(server.port, 'POST', '/api/save', { headers, body: saveBody(1, ['cat']) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString())).toMatchObject({ revision: 2, changedLines: 1, images: [{ id: 0, labels: ['cat'], labeled: true }] });
    const stale = await request(server.port, 'POST', '/api/save', { headers, body: saveBody(1, ['dog']) });
    expect(stale.status).toBe(409);
    expect(JSON.parse(stale.body.toString())).toEqual({
      error: 'newer work was saved from another tab or window (revision 2; this page has revision 1)', revision: 2,
    });
    const bad = await request(server.port, 'POST', '/api/save', { headers, body: JSON.stringify({ revision: 2, changes: [{ id: 0, labels: [''], boxes: [] }] }) });
    expect(bad.status).toBe(400);
    expect((await request(server.port, 'POST', '/api/save', { headers, body: '{not json' })).status).toBe(400);
    expect(fs.readFileSync(path.join(dir, 'm.manifest'), 'utf8')).toContain('"class-name":"cat"');
  });
});
