import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

import { ServiceError } from './errors';

const TARGET_PREFIX = 'RekognitionService.';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export type Invoker = (operation: string, input: unknown, headers: http.IncomingHttpHeaders) => Promise<unknown>;

/** Drops undefined members so the JSON body carries only what is set. */
function send(res: http.ServerResponse, status: number, requestId: string, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body ?? {});
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}

function sendError(res: http.ServerResponse, requestId: string, err: ServiceError): void {
  send(res, err.httpStatus, requestId, { __type: err.name, Message: err.message, Code: err.name, Logref: requestId }, err.name);
}

/**
 * The awsJson1_1 face of the emulator (reference §1): `POST /` with `X-Amz-Target: RekognitionService.<Op>`, JSON in
 * and out, an empty body read as `{}`. Signatures are not verified; the access key says who calls (see lib/iam).
 */
export class JsonProtocolServer {
  private server?: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly invoke: Invoker, private readonly log: (line: string) => void) {}

  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log(`unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        if (!res.headersSent) sendError(res, randomUUID(), new ServiceError('InternalServerError'));
      });
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address() as AddressInfo;
        resolve(`http://${host}:${address.port}`);
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = Date.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = await readBody(req);
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const finish = (status: number, code?: string): void => this.log(`${new Date().toISOString()} ${operation || target || '-'} ${status} `
      + `${Date.now() - started}ms${code ? ` ${code}` : ''}`);
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      sendError(res, requestId, new ServiceError('UnknownOperationException', `Only POST / is served, got ${req.method} ${req.url}.`));
      return finish(400);
    }
    if (!operation) {
      sendError(res, requestId, new ServiceError('UnknownOperationException', `X-Amz-Target must be ${TARGET_PREFIX}<Operation>, got: ${target}`));
      return finish(400);
    }
    if (body === undefined) {
      sendError(res, requestId, new ServiceError('SerializationException', `The request body is larger than ${MAX_BODY_BYTES} bytes.`));
      return finish(400);
    }
    let input: unknown = {};
    if (body.length > 0) {
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        sendError(res, requestId, new ServiceError('SerializationException', 'The request body is not valid JSON.'));
        return finish(400);
      }
    }
    try {
      const output = await this.invoke(operation, input, req.headers);
      send(res, 200, requestId, output);
      finish(200);
    } catch (err) {
      const error = err instanceof ServiceError ? err : internal(err, this.log);
      sendError(res, requestId, error);
      finish(error.httpStatus, error.name);
    }
  }
}

function internal(err: unknown, log: (line: string) => void): ServiceError {
  log(`internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return new ServiceError('InternalServerError');
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
