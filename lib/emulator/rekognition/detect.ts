import { Caller } from '../../iam/world';
import { probeImageHeader } from '../../manifest/image';
import { MANIFEST_LIMITS } from '../../manifest/types';
import { detect, ImageDecodeError, imageFormat } from '../learner';
import { readDenied } from './caller-access';
import { EmulatorCore } from './core';
import { invalidParameter, notReady, ServiceError } from './errors';
import { Handler } from './ops-projects';
import { Params, readS3Object, RULES } from './params';
import { VersionRecord } from './state';

/** DetectCustomLabels caps raw bytes at 4 MB (reference §8); [inferred] MB = 2^20 bytes. */
const MAX_BYTES = 4 * 1024 * 1024;
/** [inferred] labels without an assumed threshold (absent from the test set) use 0.5. */
const DEFAULT_THRESHOLD = 0.5;
/**
 * Keeps calls per version within its capacity (tps x running inference units) over the last second of virtual time.
 * [inferred] The message: the reference gives none beyond the error name's default.
 */
function spendThroughput(core: EmulatorCore, v: VersionRecord): void {
  const { admitted, tps, units } = core.capacity.admit(core, v, core.clock.now());
  if (!admitted) {
    throw new ServiceError('ProvisionedThroughputExceededException',
      `The request rate exceeds the ${tps} transactions per second of the model's ${units} inference unit(s).`);
  }
}

async function readImage(core: EmulatorCore, image: Params, caller: Caller | undefined): Promise<Buffer> {
  const hasBytes = image.has('Bytes');
  const hasObject = image.has('S3Object');
  if (hasBytes === hasObject) throw invalidParameter('Image must have exactly one of Bytes and S3Object.');
  if (hasBytes) {
    // Any size over the 4 MB limit is ImageTooLarge, also past the model's 5 MiB ImageBlob bound.
    const bytes = image.blob('Bytes', { min: 1 })!;
    if (bytes.length > MAX_BYTES) throw new ServiceError('ImageTooLargeException', `The image is ${bytes.length} bytes; images passed as Bytes can be at most 4 MB.`);
    return bytes;
  }
  const ref = readS3Object(image.obj('S3Object', true));
  // The image is read with the caller's rights (reference §9a); [inferred] a refusal reads as a missing object.
  const denied = await readDenied(core.access, caller, [{ bucket: ref.Bucket, key: ref.Name, version: ref.Version }]);
  const bytes = denied ? undefined : await core.s3.get(ref.Bucket, ref.Name, ref.Version);
  if (bytes === undefined) {
    throw new ServiceError('InvalidS3ObjectException', 'Unable to get object metadata from S3. Check object key, region and/or access permissions.');
  }
  if (bytes.length > MANIFEST_LIMITS.maxImageBytes) {
    throw new ServiceError('ImageTooLargeException', `The image is ${bytes.length} bytes; images in S3 can be at most 15 MB.`);
  }
  return bytes;
}

/**
 * Inference takes 64..4096 px a side and an aspect ratio of at most 20:1 (reference §6.1, detection limits).
 * [inferred] The reference names no error for these: InvalidParameterException, as for other input the service refuses.
 */
function checkDimensions(bytes: Buffer): void {
  const { width, height } = probeImageHeader(bytes, bytes.length);
  if (width === undefined || height === undefined) return; // undecodable headers are the decoder's to refuse
  const { minImageSide: min, maxImageSide: max, maxAspectRatio } = MANIFEST_LIMITS;
  if (Math.min(width, height) < min || Math.max(width, height) > max || Math.max(width, height) / Math.min(width, height) > maxAspectRatio) {
    throw invalidParameter(`The image is ${width}x${height} pixels; images must be ${min} to ${max} pixels a side with an aspect ratio `
      + `of at most ${maxAspectRatio}:1.`);
  }
}

export const detectCustomLabels: Handler = async (core, p, { caller }) => {
  const arn = p.str('ProjectVersionArn', { ...RULES.versionArn, required: true });
  const image = p.obj('Image', true);
  const maxResults = p.num('MaxResults', { integer: true, min: 0 });
  const minConfidence = p.num('MinConfidence', { min: 0, max: 100 });
  const version = core.version(arn);
  if (version.status !== 'RUNNING') throw notReady(`The project version ${arn} is ${version.status}, not RUNNING.`);
  spendThroughput(core, version);
  // The call takes the model's latency in virtual time, failures included (the request is held open meanwhile).
  const { latencyMs } = core.capacity.of(arn.split('/')[1] ?? '', version.name);
  const answered = core.clock.now() + latencyMs;
  try {
    return await analyse(core, version, image, caller, maxResults, minConfidence);
  } finally {
    const left = answered - core.clock.now();
    if (left > 0) await core.clock.sleep(left, { holdsRequest: true });
  }
};

async function analyse(core: EmulatorCore, version: VersionRecord, image: Params, caller: Caller | undefined, maxResults: number | undefined,
  minConfidence: number | undefined): Promise<unknown> {
  const arn = version.arn;
  const model = core.model(version.modelId);
  if (!model) throw new ServiceError('InternalServerError', `The model of ${arn} is missing from the emulator's store.`);
  const bytes = await readImage(core, image, caller);
  if (imageFormat(bytes) === undefined) throw new ServiceError('InvalidImageFormatException', 'Request has unsupported image format');
  checkDimensions(bytes);
  let raw;
  try {
    raw = detect(model, bytes);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new ServiceError('InvalidImageFormatException', 'Request has unsupported image format');
    throw err;
  }
  const thresholds = version.thresholds ?? {};
  const kept = raw
    .filter((d) => (minConfidence !== undefined ? d.confidence * 100 >= minConfidence : d.confidence >= (thresholds[d.name] ?? DEFAULT_THRESHOLD)))
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, maxResults ?? undefined);
  return {
    CustomLabels: kept.map((d) => ({
      Name: d.name,
      Confidence: d.confidence * 100,
      ...(model.kind === 'OBJECT_LOCALIZATION' && d.box
        ? { Geometry: { BoundingBox: { Width: d.box.width, Height: d.box.height, Left: d.box.left, Top: d.box.top } } }
        : {}),
    })),
  };
}
