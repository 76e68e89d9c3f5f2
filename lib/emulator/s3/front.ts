import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { pipeline, Transform, TransformCallback } from 'node:stream';

import { s3Access } from '../../iam/requests';
import { AccessControl, AccessDenied, Caller } from '../../iam/world';
import { AwsChunkedDecoder, decodedRequestHeaders, isAwsChunked } from './aws-chunked';

/** The only credentials s3rver knows; any client credentials are mapped to them. */
export const S3RVER_ACCESS_KEY = 'S3RVER';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer'];

export interface FrontOptions {
  readonly port: number;
  readonly backendPort: number;
  /** One line per request: time, method, path, status, duration. */
  readonly log?: (line: string) => void;
  /** Authorizes requests signed with a registered role's key; others pass unchecked. */
  readonly access?: AccessControl;
  /** Told of each object a request created, in buckets it wants (S3 event notifications). @default - nobody */
  readonly objectCreated?: ObjectCreatedListener;
}

/** An object a request created (PutObject, CopyObject, CompleteMultipartUpload), as S3's event notifications tell it. */
export interface ObjectCreated {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly reason: 'PutObject' | 'CopyObject' | 'CompleteMultipartUpload';
  readonly requestId: string;
  /** Increases with each write to a key (S3's `sequencer`: hex, compared after padding). */
  readonly sequencer: string;
  readonly sourceIp: string;
}

export interface ObjectCreatedListener {
  /** Whether writes to this bucket are reported (each report costs a HEAD of the object). */
  wants(bucket: string): boolean;
  /** Called when the write succeeded, before its client gets the answer; resolves once the object's size and ETag are known. */
  created(event: Promise<ObjectCreated | undefined>): void;
}

export interface Front {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A small HTTP front before s3rver that fixes, on the server side, what clients with default SDK settings trip on:
 * - aws-chunked bodies (the SDK's default for streamed PutObject/UploadPart) are decoded into plain bodies;
 * - any access key is accepted (s3rver knows only S3RVER and does not verify SigV4 signatures anyway);
 * - virtual-host requests to `<bucket>.localhost` become path-style;
 * - byte ranges are served here, because s3rver gets suffix ranges (`bytes=-N`) and `bytes=0-0` wrong.
 * Everything else streams through untouched.
 */
export async function startFront(options: FrontOptions): Promise<Front> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    authorize(req, options.access).then((outcome) => {
      if (outcome.denied) {
        sendError(res, 403, 'AccessDenied', outcome.denied.message, req.method === 'HEAD' ? undefined : req.url, {}, req.method === 'HEAD');
        req.resume();
        return;
      }
      void conditionalPut(req, res, options, agent).then((proceed) => {
        if (proceed) handle(req, res, options, agent, outcome.body, outcome.missingObject);
      });
    }, (err: unknown) => {
      sendError(res, 500, 'InternalError', `local S3 authorization: ${err instanceof Error ? err.message : String(err)}`, req.url);
      req.resume();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}

interface Authorization {
  readonly denied?: AccessDenied;
  /** A request body read to authorize it (multi-object delete); sent on as it is. */
  readonly body?: Buffer;
  /** What to answer if the object turns out not to exist: S3 says 403, not 404, to a caller that may not list the bucket. */
  readonly missingObject?: () => Promise<AccessDenied | undefined>;
}

/**
 * The IAM checks of a request, as S3 makes them for a caller the offline world knows: each action the request needs
 * (s3Access), kms:Decrypt / kms:GenerateDataKey when the bucket encrypts with a customer key, and for a read of a
 * missing object, s3:ListBucket (without it S3 answers 403 AccessDenied rather than 404 NoSuchKey).
 */
async function authorize(req: http.IncomingMessage, access: AccessControl | undefined): Promise<Authorization> {
  const caller: Caller | undefined = access?.callerOf(req.headers, req.url);
  if (!access || !caller) return {};
  let body: Buffer | undefined;
  let deleteKeys: string[] = [];
  const method = req.method ?? 'GET';
  if (method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? '')) {
    body = await readAll(req, isAwsChunked(req.headers));
    deleteKeys = [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]));
  }
  const request = s3Access(method, req.url ?? '/', req.headers, access.partition, deleteKeys);
  for (const r of request.requests) {
    const denied = await access.decide(caller, r);
    if (denied) return { denied };
  }
  const key = request.bucket ? access.bucketKey(request.bucket) : undefined;
  if (key && (request.readsObject || request.writesObject)) {
    const denied = await access.decide(caller, { action: request.readsObject ? 'kms:Decrypt' : 'kms:GenerateDataKey', resource: key,
      context: { 'kms:ViaService': `s3.${access.region}.amazonaws.com`, 'kms:CallerAccount': caller.accountId } });
    if (denied) return { denied };
  }
  const missingObject = request.readsObject && request.bucket
    ? () => access.decide(caller, { action: 's3:ListBucket', resource: `arn:${access.partition}:s3:::${request.bucket}` })
    : undefined;
  return { body, missingObject };
}

function readAll(req: http.IncomingMessage, chunked: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const source = chunked ? req.pipe(new AwsChunkedDecoder(undefined)) : req;
    source.on('data', (c: Buffer) => chunks.push(c));
    source.on('end', () => resolve(Buffer.concat(chunks)));
    source.on('error', reject);
  });
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+);/g, (_m, e: string) => (
    { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e] ?? String.fromCharCode(Number(e.slice(1))));
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, options: FrontOptions, agent: http.Agent, body?: Buffer,
  missingObject?: () => Promise<AccessDenied | undefined>): void {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const vhost = /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.localhost(:\d+)?$/i.exec(req.headers.host ?? '');
  // Virtual-host style (`<bucket>.localhost`, what an SDK does with a `localhost` endpoint): s3rver would take the whole
  // host name for the bucket, so the bucket moves into the path.
  const path = rewriteQueryCredential(vhost ? `/${vhost[1]}${req.url ?? '/'}` : req.url ?? '/');
  if (options.log) {
    const log = options.log;
    res.once('close', () => log(`${new Date(started).toISOString()} S3 ${method} ${path.split('?')[0]} ${res.statusCode} ${Date.now() - started}ms`));
  }

  let headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(name)) headers[name] = value;
  }
  if (vhost) headers.host = `localhost${vhost[2] ?? ''}`;
  // s3rver 3.7.1 checks that a SigV4 access key is one it knows but never verifies the signature itself, so mapping
  // the key and rewriting headers and body below keeps requests valid. (SigV2 signatures are verified: left alone.)
  if (typeof headers.authorization === 'string') {
    headers.authorization = headers.authorization.replace(/(Credential=)[^/,\s]+\//, `$1${S3RVER_ACCESS_KEY}/`);
  }
  const chunked = body === undefined && isAwsChunked(req.headers);
  let decoder: AwsChunkedDecoder | undefined;
  if (body !== undefined) {
    headers = isAwsChunked(req.headers) ? decodedRequestHeaders(headers) : headers;
    headers['content-length'] = String(body.length);
    delete headers['transfer-encoding'];
  } else if (chunked) {
    const expected = Number(req.headers['x-amz-decoded-content-length']);
    decoder = new AwsChunkedDecoder(Number.isSafeInteger(expected) ? expected : undefined);
    headers = decodedRequestHeaders(headers);
  } else if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) {
    headers['transfer-encoding'] = 'chunked';
  }
  const range = (method === 'GET' || method === 'HEAD') && typeof headers.range === 'string' ? headers.range : undefined;
  if (range !== undefined) delete headers.range;

  const upstream = http.request({ host: '127.0.0.1', port: options.backendPort, method, path, headers, agent }, (up) => {
    if (up.statusCode === 404 && missingObject) {
      missingObject().then((denied) => {
        if (!denied) {
          res.writeHead(404, withoutHopByHop(up.headers));
          pipeline(up, res, () => undefined);
          return;
        }
        up.resume();
        sendError(res, 403, 'AccessDenied', denied.message, method === 'HEAD' ? undefined : path, {}, method === 'HEAD');
      }, () => {
        up.resume();
        sendError(res, 500, 'InternalError', 'local S3 authorization failed', path);
      });
      return;
    }
    const size = Number(up.headers['content-length']);
    if (range !== undefined && up.statusCode === 200 && Number.isSafeInteger(size)) {
      respondRange(range, size, method, up, res);
      return;
    }
    res.writeHead(up.statusCode ?? 502, withoutHopByHop(up.headers));
    pipeline(up, res, () => undefined);
    if (up.statusCode === 200) reportCreated(req, path, options, agent, up.headers['x-amz-request-id']);
  });
  const fail = (code: string, message: string, status: number): void => {
    upstream.destroy();
    if (!res.headersSent) sendError(res, status, code, message, path);
    else res.destroy();
  };
  upstream.on('error', (err) => fail('InternalError', `local S3 backend: ${err.message}`, 500));
  if (body !== undefined) {
    upstream.end(body);
  } else if (decoder) {
    pipeline(req, decoder, upstream, (err) => {
      if (err) fail('IncompleteBody', err.message, 400);
    });
  } else {
    pipeline(req, upstream, () => undefined);
  }
}

let sequence = 0;

/** After a successful write that creates an object in a bucket the listener wants: a HEAD for its size and ETag, then the report. */
function reportCreated(req: http.IncomingMessage, path: string, options: FrontOptions, agent: http.Agent,
  upstreamRequestId: string | string[] | undefined): void {
  const listener = options.objectCreated;
  if (!listener) return;
  const url = new URL(path, 'http://127.0.0.1');
  const [bucket, ...rest] = url.pathname.split('/').slice(1);
  const key = decodeURIComponent(rest.join('/'));
  if (!bucket || !key || !listener.wants(bucket)) return;
  const params = [...url.searchParams.keys()];
  let reason: ObjectCreated['reason'];
  if (req.method === 'PUT' && !params.some((k) => ['uploadId', 'partNumber', 'tagging', 'acl', 'retention', 'legal-hold'].includes(k))) {
    reason = req.headers['x-amz-copy-source'] === undefined ? 'PutObject' : 'CopyObject';
  } else if (req.method === 'POST' && params.includes('uploadId')) {
    reason = 'CompleteMultipartUpload';
  } else {
    return;
  }
  const requestId = typeof upstreamRequestId === 'string' ? upstreamRequestId : randomUUID();
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  // Told at once (before the writer sees the answer), so nothing can wait for the bus before it knows; the HEAD (for
  // size and ETag) is an HTTP request in flight, so a driver of virtual time waits for it.
  listener.created(new Promise<ObjectCreated | undefined>((resolve) => {
    const head = http.request({ host: '127.0.0.1', port: options.backendPort, method: 'HEAD', path: url.pathname, agent }, (up) => {
      up.resume();
      if (up.statusCode !== 200) return resolve(undefined);
      sequence += 1;
      resolve({ bucket, key, size: Number(up.headers['content-length'] ?? 0), etag: unquote(String(up.headers.etag ?? '')), reason,
        requestId, sequencer: sequence.toString(16).toUpperCase().padStart(18, '0'), sourceIp });
    });
    head.on('error', () => resolve(undefined));
    head.end();
  }));
}

const putLocks = new Map<string, Promise<void>>();

/**
 * PutObject with `If-None-Match: *` or `If-Match: <etag>` (S3's conditional writes): the object's current ETag is
 * read first and the write goes on only when the condition holds, else 412 PreconditionFailed (404 NoSuchKey for
 * If-Match on a missing object), as S3 answers. Writes to one key are serialised here, so a condition and the write it
 * guards are atomic: two writers racing on the same ETag see one success and one 412. Resolves to whether to go on.
 */
async function conditionalPut(req: http.IncomingMessage, res: http.ServerResponse, options: FrontOptions, agent: http.Agent): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const segments = url.pathname.split('/').slice(1);
  const isObjectPut = req.method === 'PUT' && segments.length > 1 && segments.slice(1).join('/') !== ''
    && ![...url.searchParams.keys()].some((k) => ['uploadId', 'partNumber', 'tagging', 'acl'].includes(k))
    && req.headers['x-amz-copy-source'] === undefined;
  if (!isObjectPut) return true;
  const key = url.pathname;
  const previous = putLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const chained = previous.then(() => held);
  putLocks.set(key, chained);
  res.once('close', () => {
    release();
    if (putLocks.get(key) === chained) putLocks.delete(key);
  });
  await previous;
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  delete req.headers['if-match'];
  delete req.headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) return true;
  const current = await headEtag(options.backendPort, agent, url.pathname);
  let failed: { status: number; code: string; message: string; condition?: string } | undefined;
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      failed = { status: 501, code: 'NotImplemented', message: 'A header you provided implies functionality that is not implemented', condition: undefined };
    } else if (current !== undefined) {
      failed = { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold', condition: 'If-None-Match' };
    }
  } else if (ifMatch !== undefined) {
    if (current === undefined) failed = { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    else if (unquote(ifMatch) !== unquote(current) && ifMatch.trim() !== '*') {
      failed = { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold', condition: 'If-Match' };
    }
  }
  if (!failed) return true;
  req.resume();
  sendError(res, failed.status, failed.code, failed.message, req.url, failed.condition ? { Condition: failed.condition } : {});
  return false;
}

function headEtag(port: number, agent: http.Agent, pathname: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    // s3rver serves anonymous reads.
    const head = http.request({ host: '127.0.0.1', port, method: 'HEAD', path: pathname, agent }, (up) => {
      up.resume();
      resolve(up.statusCode === 200 ? String(up.headers.etag ?? '') : undefined);
    });
    head.on('error', reject);
    head.end();
  });
}

function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

type RangeAnswer = { kind: 'full' } | { kind: 'unsatisfiable' } | { kind: 'part'; start: number; end: number };

/** RFC 9110 single byte ranges, as S3 serves them (multiple ranges and malformed headers get the whole object). */
export function resolveRange(header: string, size: number): RangeAnswer {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

function respondRange(header: string, size: number, method: string, up: http.IncomingMessage, res: http.ServerResponse): void {
  const answer = resolveRange(header, size);
  if (answer.kind === 'unsatisfiable') {
    up.destroy();
    res.setHeader('Content-Range', `bytes */${size}`);
    sendError(res, 416, 'InvalidRange', 'The requested range is not satisfiable', undefined, { RangeRequested: header, ActualObjectSize: String(size) });
    return;
  }
  if (answer.kind === 'full') {
    res.writeHead(200, withoutHopByHop(up.headers));
    pipeline(up, res, () => undefined);
    return;
  }
  const length = answer.end - answer.start + 1;
  res.writeHead(206, {
    ...withoutHopByHop(up.headers),
    'content-length': String(length),
    'content-range': `bytes ${answer.start}-${answer.end}/${size}`,
  });
  if (method === 'HEAD') {
    up.resume();
    res.end();
    return;
  }
  pipeline(up, new ByteSlice(answer.start, length), res, () => undefined);
}

/** Passes through `length` bytes starting at `start` and drops the rest (objects here are small; reading on is cheap). */
class ByteSlice extends Transform {
  private offset = 0;
  constructor(private readonly start: number, private readonly length: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const from = Math.max(0, this.start - this.offset);
    const to = Math.min(chunk.length, this.start + this.length - this.offset);
    this.offset += chunk.length;
    callback(null, from < to ? chunk.subarray(from, to) : undefined);
  }
}

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(name)) out[name] = value;
  }
  return out;
}

/** Presigned URLs carry the access key in the query string. */
function rewriteQueryCredential(url: string): string {
  return url.replace(/([?&]X-Amz-Credential=)[^&/%]+(%2F|\/)/i, `$1${S3RVER_ACCESS_KEY}$2`);
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string, resource?: string,
  extra: Record<string, string> = {}, headOnly = false): void {
  const requestId = randomUUID();
  if (headOnly) {
    // A HEAD answer has no body: S3 gives the status alone.
    res.writeHead(status, { 'x-amz-request-id': requestId, 'content-length': 0 });
    res.end();
    return;
  }
  const fields = { Code: code, Message: message, ...(resource ? { Resource: resource.split('?')[0] } : {}), ...extra, RequestId: requestId };
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${Object.entries(fields).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('')}</Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
