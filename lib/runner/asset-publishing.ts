/**
 * File assets into the local S3, as `cdk deploy` publishes them before CloudFormation runs: each destination's bucket
 * is created when missing, and an object already there (asset keys are content hashes) is not uploaded again.
 */
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { AssemblyStack, assetBytes, CloudAssembly, FileAsset, resolveAssetPlaceholders } from './assembly';
import { errorName } from './resources';

export async function publishAssets(s3: S3Client, stack: AssemblyStack): Promise<void> {
  const buckets = new Set<string>();
  for (const asset of stack.fileAssets) {
    if (asset.isTemplate) continue;
    let body: Buffer | undefined;
    for (const d of asset.destinations) {
      const bucket = resolveAssetPlaceholders(d.bucketName);
      const key = resolveAssetPlaceholders(d.objectKey);
      if (!buckets.has(bucket)) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: unknown) => {
          if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorName(err))) throw err;
        });
        buckets.add(bucket);
      }
      const exists = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
      if (exists) continue;
      body ??= assetBytes(asset);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    }
  }
}

/** The file asset published to this bucket and key (the stack's own first, then any other stack's). */
export function findAsset(assembly: CloudAssembly, stack: AssemblyStack, bucket: string, key: string): FileAsset | undefined {
  const all = [stack, ...assembly.stacks.filter((s) => s !== stack)].flatMap((s) => s.fileAssets);
  return all.find((a) => a.destinations.some((d) => resolveAssetPlaceholders(d.bucketName) === bucket
    && resolveAssetPlaceholders(d.objectKey) === key));
}
