/**
 * The labeling page's HTTP server: 127.0.0.1 only; serves the page, the session's images (nothing else from the disk)
 * and a small JSON API. Requests must name this server in `Host` (no DNS rebinding) and saves must be same-origin
 * JSON (no cross-site form posts).
 *
 *   GET  /                the page           GET /label.js, /label.css   its script and style
 *   GET  /api/session     the session        POST /api/save               {revision, changes[], labels[]}
 *   GET  /images/<path>   an image of the session (by its path relative to the images folder)
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { BadChangeError, ImageChange, LabelSession, StaleRevisionError } from './session';

export interface LabelServerOptions {
  readonly session: LabelSession;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** One line per save or refused request. */
  readonly log?: (line: string) => void;
}

export interface LabelServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** The page's files, read once from `page/` beside this module (copied next to the compiled module by the build). */
function pageAssets(): Record<string, { type: string; body: Buffer }> {
  const dir = path.join(__dirname, 'page');
  const read = (name: string): Buffer => fs.readFileSync(path.join(dir, name));
  return {
    '/': { type: 'text/html; charset=utf-8', body: read('index.html') },
    '/label.js': { type: 'text/javascript; charset=utf-8', body: read('label.js') },
    '/label.css': { type: 'text/css; charset=utf-8', body: read('label.css') },
  };
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export async function startLabelServer(options: LabelServerOptions): Promise<LabelServer> {
  const { session } = options;
  const log = options.log ?? ((): void => undefined);
  const assets = pageAssets();
  let port = 0;

  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const json = (res: http.ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  const fail = (res: http.ServerResponse, status: number, message: string): void => json(res, status, { error: message });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // Only requests that name this server: a web page cannot reach it through a DNS name it controls.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return fail(res, 403, 'unexpected Host header');
    const url = new URL(req.url ?? '/', `http://${host}`);
    const route = url.pathname;
    if (req.method === 'GET' || req.method === 'HEAD') {
      const asset = assets[route];
      if (asset) return send(res, 200, asset.type, asset.body);
      if (route === '/api/session') return json(res, 200, session.view());
      if (route === '/favicon.ico') {
        res.writeHead(204, SECURITY_HEADERS);
        return void res.end();
      }
      if (route.startsWith('/images/')) return serveImage(res, route.slice('/images/'.length));
      return fail(res, 404, 'not found');
    }
    if (req.method === 'POST' && route === '/api/save') return save(req, res);
    res.setHeader('Allow', 'GET, HEAD, POST');
    return fail(res, route === '/api/save' ? 405 : 404, route === '/api/save' ? 'use POST' : 'not found');
  };

  const serveImage = (res: http.ServerResponse, encoded: string): void => {
    let rel: string;
    try {
      rel = decodeURIComponent(encoded);
    } catch {
      return fail(res, 404, 'not found');
    }
    // Only the session's own images, by their exact relative path: nothing else under (or outside) the folder.
    const image = session.imageByPath(rel);
    if (!image) return fail(res, 404, 'not found');
    let body: Buffer;
    try {
      body = fs.readFileSync(image.file);
    } catch {
      return fail(res, 404, 'not found');
    }
    send(res, 200, image.format === 'png' ? 'image/png' : 'image/jpeg', body);
  };

  const save = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
      return fail(res, 403, 'cross-origin request refused');
    }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return fail(res, 415, 'send application/json');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      return fail(res, (err as { status?: number }).status ?? 400, `the body is not JSON: ${(err as Error).message}`);
    }
    const b = body as { revision?: unknown; changes?: unknown; labels?: unknown };
    if (typeof body !== 'object' || body === null || !Number.isInteger(b.revision) || !Array.isArray(b.changes)
      || (b.labels !== undefined && !Array.isArray(b.labels))) {
      return fail(res, 400, 'expected {"revision": <integer>, "changes": [...], "labels": [...]}');
    }
    try {
      const result = session.save(b.revision as number, b.changes as ImageChange[], (b.labels as string[] | undefined) ?? []);
      if (result.changedLines > 0) log(`saved ${session.manifestFile}: ${result.changedLines} line(s) changed, revision ${result.revision}`);
      return json(res, 200, result);
    } catch (err) {
      if (err instanceof StaleRevisionError) {
        log(`refused a save: ${err.message}`);
        return json(res, 409, { error: err.message, revision: err.revision });
      }
      if (err instanceof BadChangeError) return fail(res, 400, err.message);
      throw err;
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) fail(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`over ${MAX_BODY_BYTES} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
