/**
 * The small HTTP face the offline runner gives handlers for what the emulator does not serve: AWS JSON protocol
 * endpoints (Step Functions is awsJson1_0 with `X-Amz-Target: AWSStepFunctions.<Op>`, SSM awsJson1_1 with
 * `AmazonSSM.<Op>`) and plain PUT URLs (wait-condition handles, custom-resource response URLs). 127.0.0.1 only.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** An error answered in the AWS JSON protocols' shape: `__type` is the name, HTTP 400 unless said otherwise. */
export class LocalServiceError extends Error {
  constructor(name: string, message: string, readonly httpStatus = 400) {
    super(message);
    this.name = name;
  }
}

export type JsonOperationHandler = (operation: string, input: Record<string, unknown>) => Promise<unknown>;
/** Receives a PUT body; resolves to the HTTP status to answer (200 unless told otherwise). */
export type PutHandler = (pathname: string, body: string) => Promise<number> | number;

export interface JsonService {
  /** `AWSStepFunctions.` or `AmazonSSM.` */
  readonly targetPrefix: string;
  /** `1.0` or `1.1` */
  readonly jsonVersion: '1.0' | '1.1';
  readonly handle: JsonOperationHandler;
}

export interface LocalServicesOptions {
  readonly services: readonly JsonService[];
  /** PUT handlers by path prefix, e.g. `/wait-condition/`. */
  readonly puts: Readonly<Record<string, PutHandler>>;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** Decides whether the caller (its request headers) may make a JSON call; a returned error is the answer. */
  readonly authorize?: (service: JsonService, operation: string, input: Record<string, unknown>, headers: http.IncomingHttpHeaders)
    => Promise<LocalServiceError | undefined>;
  readonly log?: (line: string) => void;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The running server. */
export class LocalServices {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: http.Server, readonly port: number) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** `http://127.0.0.1:<port>` */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts on `options.port`; when that port is taken, falls back to a free one if `fallback` is set. */
  static async start(options: LocalServicesOptions, fallback = true): Promise<LocalServices> {
    const log = options.log ?? (() => undefined);
    const server = http.createServer((req, res) => {
      handle(req, res, options, log).catch((err: unknown) => {
        log(`local services: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        if (!res.headersSent) sendJson(res, 500, '1.1', { __type: 'InternalFailure', message: 'internal error' }, 'InternalFailure');
      });
    });
    server.keepAliveTimeout = 2000;
    const listen = (port: number): Promise<number> => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
    let port: number;
    try {
      port = await listen(options.port ?? 0);
    } catch (err) {
      if (!fallback || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      log(`local services: port ${options.port} is taken, using another one`);
      port = await listen(0);
    }
    return new LocalServices(server, port);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

async function handle(
  req: http.IncomingMessage, res: http.ServerResponse, options: LocalServicesOptions, log: (line: string) => void,
): Promise<void> {
  const body = await readBody(req);
  const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  if (req.method === 'PUT') {
    const prefix = Object.keys(options.puts).find((p) => pathname.startsWith(p));
    if (!prefix || body === undefined) {
      res.writeHead(prefix ? 413 : 404, { 'content-type': 'text/plain' });
      res.end(prefix ? 'too large' : `no such URL: ${pathname}`);
      return;
    }
    const status = await options.puts[prefix](pathname, body.toString('utf8'));
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': 0 });
    res.end();
    return;
  }
  const target = String(req.headers['x-amz-target'] ?? '');
  const service = options.services.find((s) => target.startsWith(s.targetPrefix));
  const version = service?.jsonVersion ?? '1.1';
  if (req.method !== 'POST' || !service) {
    const error = new LocalServiceError('UnknownOperationException', `The offline runner does not serve ${unservedCall(req, pathname, target, body)}: `
      + 'nothing offline stands behind this service (its resources are only recorded)');
    log(`${req.method} ${pathname} ${target} ${error.httpStatus} ${error.name}: ${error.message}`);
    // Query and REST-XML clients (SNS, CloudFront, ...) only read an XML error; JSON clients read the JSON one.
    return /x-www-form-urlencoded|xml/.test(String(req.headers['content-type'] ?? '')) ? sendXmlError(res, error) : sendError(res, version, error);
  }
  const operation = target.slice(service.targetPrefix.length);
  let input: Record<string, unknown> = {};
  try {
    const parsed: unknown = body && body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) input = parsed as Record<string, unknown>;
  } catch {
    return sendError(res, version, new LocalServiceError('SerializationException', 'The request body is not valid JSON'));
  }
  try {
    const refused = await options.authorize?.(service, operation, input, req.headers);
    if (refused) {
      log(`${target} ${refused.httpStatus} ${refused.name}: ${refused.message}`);
      return sendError(res, version, refused);
    }
    const output = await service.handle(operation, input);
    sendJson(res, 200, version, output ?? {});
    log(`${target} 200`);
  } catch (err) {
    const error = err instanceof LocalServiceError ? err : new LocalServiceError('InternalFailure', err instanceof Error ? err.message : String(err), 500);
    log(`${target} ${error.httpStatus} ${error.name}: ${error.message}`);
    sendError(res, version, error);
  }
}

/** `sns:Publish` when the request says (the signature's service, the target or form's action), else its method and path. */
function unservedCall(req: http.IncomingMessage, pathname: string, target: string, body: Buffer | undefined): string {
  const signed = /Credential=[^/,]+\/\d{8}\/[^/,]+\/([^/,]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1];
  const formAction = /x-www-form-urlencoded/.test(String(req.headers['content-type'] ?? '')) && body
    ? new URLSearchParams(body.toString('utf8')).get('Action') ?? undefined : undefined;
  const action = target ? target.slice(target.lastIndexOf('.') + 1) : formAction;
  if (signed && action) return `${signed}:${action}`;
  return `${req.method} ${pathname}${signed ? ` of ${signed}` : ''}${target ? ` with target ${target}` : ''}`;
}

function sendXmlError(res: http.ServerResponse, error: LocalServiceError): void {
  const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const requestId = randomUUID();
  const text = `<ErrorResponse><Error><Type>Sender</Type><Code>${escape(error.name)}</Code><Message>${escape(error.message)}</Message></Error>`
    + `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.writeHead(error.httpStatus, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': requestId });
  res.end(text);
}

function sendError(res: http.ServerResponse, version: '1.0' | '1.1', error: LocalServiceError): void {
  sendJson(res, error.httpStatus, version, { __type: error.name, message: error.message, Message: error.message }, error.name);
}

function sendJson(res: http.ServerResponse, status: number, version: '1.0' | '1.1', body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = {
    'content-type': `application/x-amz-json-${version}`,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
