import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';

import { AccessControl } from '../../iam/world';
import { Backend, startBackend } from './backend';
import { Front, ObjectCreated, ObjectCreatedListener, S3RVER_ACCESS_KEY, startFront } from './front';

export { AwsChunkedDecoder, decodedRequestHeaders, isAwsChunked } from './aws-chunked';
export type { ObjectCreated, ObjectCreatedListener } from './front';
export { resolveRange, S3RVER_ACCESS_KEY } from './front';

export interface LocalS3Options {
  /** Port of the S3 endpoint on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Where objects live; kept after stop(). @default - a new temporary folder, removed by stop() */
  readonly directory?: string;
  /** Where the temporary folder is made when no `directory` is given. @default os.tmpdir() */
  readonly tempRoot?: string;
  /** Buckets to create at start; existing ones are kept as they are. @default - none */
  readonly buckets?: string[];
  /** Receives one line per request (time, method, path, status, duration). @default - no request log */
  readonly log?: (line: string) => void;
  /** Authorizes requests signed with a registered role's key (S3's AccessDenied otherwise). @default - no checks */
  readonly access?: AccessControl;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: give it to clients as `endpoint` or `AWS_ENDPOINT_URL_S3`. */
  readonly endpoint: string;
  readonly directory: string;
  /** A client for this server (path-style, region us-east-1, any credentials work). */
  client(): S3Client;
  /** Reports objects created in the buckets the listener wants (the offline runner's S3 event notifications); returns the unsubscribe. */
  onObjectCreated(listener: ObjectCreatedListener): () => void;
  stop(): Promise<void>;
}

/**
 * Starts a local S3 server (s3rver in a child process behind our HTTP front) that real S3 clients with default
 * settings can use: path-style addressing follows from the IP endpoint, aws-chunked uploads are decoded, any
 * credentials are accepted, ListObjectsV2 pagination and byte ranges work.
 */
export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? fs.mkdtempSync(path.join(options.tempRoot ?? os.tmpdir(), 'local-s3-'));
  fs.mkdirSync(directory, { recursive: true });
  let backend: Backend | undefined;
  let front: Front;
  const listeners = new Set<ObjectCreatedListener>();
  try {
    backend = await startBackend(directory, options.buckets ?? []);
    front = await startFront({ port: options.port ?? 0, backendPort: backend.port, log: options.log, access: options.access, objectCreated: {
      wants: (bucket) => [...listeners].some((l) => l.wants(bucket)),
      created: (event: Promise<ObjectCreated | undefined>) => {
        for (const l of listeners) l.created(event);
      },
    } });
  } catch (err) {
    await backend?.stop();
    if (ownDirectory) fs.rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  const started = backend;
  const endpoint = `http://127.0.0.1:${front.port}`;
  const frontServer = front;
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    directory,
    client: () => new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_ACCESS_KEY },
    }),
    onObjectCreated: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => {
      stopped ??= (async () => {
        await frontServer.close();
        await started.stop();
        if (ownDirectory) fs.rmSync(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
