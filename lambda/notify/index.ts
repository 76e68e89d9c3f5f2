import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { NotifyRequest, Outcome } from '../../lib/model/contracts';
import { notify, NotifyDeps, signal } from './notify';

let deps: NotifyDeps | undefined;
function depsOf(): NotifyDeps {
  if (deps) return deps;
  const s3 = new S3Client({});
  deps = {
    signal,
    log: (line) => console.log(line),
    readHandle: async (bucket, key) => {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return object.Body ? object.Body.transformToString() : '';
    },
    deleteHandle: async (bucket, key) => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
  return deps;
}

/** Step Functions task: builds the outcome and signals the stack's wait condition. */
export async function handler(event: NotifyRequest): Promise<Outcome> {
  return notify(event, depsOf());
}
