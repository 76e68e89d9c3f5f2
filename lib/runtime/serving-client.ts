/**
 * The serving client for application code: DetectCustomLabels on whichever version the model's workflow promoted.
 *
 * The version comes from the SSM parameter the workflow maintains (cached; read again when its age passes
 * `parameterMaxAgeMs`, and at once when the service says the cached version is gone or not running, as after a
 * promotion stops the old one). Throughput errors are retried with exponential back-off and full jitter, within a
 * bound on attempts and on total time; the back-off level is shared by every call of one client, so a loop that
 * saturates the model slows down as a whole instead of each call rediscovering the limit.
 *
 * Imports neither aws-cdk-lib nor the emulator or the runner (a test checks the built import graph).
 */
import { DetectCustomLabelsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

import { SERVING_VERSION_PARAMETER_ENV } from './env';

/** What the parameter holds before any version was promoted (the workflow writes it; see lib/model/contracts.ts). */
const NO_SERVING_VERSION = 'none';

/** Errors that mean "too many requests now": retried with back-off. The last two are also retried by the SDK's own standard mode. */
const RETRIED_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException', 'ThrottlingException', 'LimitExceededException', 'InternalServerError',
]);
/** Errors that mean the cached version may no longer be the serving one (promoted away, stopped, deleted). */
const STALE_VERSION_ERRORS: ReadonlySet<string> = new Set(['ResourceNotFoundException', 'ResourceNotReadyException']);

/** Props of {@link ServingModelClient}. */
export interface ServingModelClientProps {
  /**
   * Name of the model's serving-version SSM parameter (`model.servingVersionParameter.parameterName`).
   * @default - the `SERVING_VERSION_PARAMETER` environment variable, which `model.grantDetectCustomLabels(fn)` sets on a Lambda function
   */
  readonly parameterName?: string;
  /**
   * The Rekognition client to call DetectCustomLabels with. Its own retries come on top of this client's: give it
   * `maxAttempts: 1`.
   * @default - a RekognitionClient with the default configuration and `maxAttempts: 1`
   */
  readonly rekognitionClient?: RekognitionClient;
  /** The SSM client to read the parameter with. @default - an SSMClient with the default configuration */
  readonly ssmClient?: SSMClient;
  /** Attempts per image, the first included (an integer, 1..100). @default 8 */
  readonly maxAttempts?: number;
  /**
   * Time one detect may spend in all, retries included, in milliseconds (0..900000): a retry whose back-off would end
   * past it is not made, and the service's last error is thrown.
   * @default 20000
   */
  readonly maxRetryTimeMs?: number;
  /** The first back-off's upper bound, in milliseconds (1..60000); each further throttled attempt doubles it. @default 100 */
  readonly baseDelayMs?: number;
  /** The largest back-off, in milliseconds (>= baseDelayMs, at most 300000). @default 5000 */
  readonly maxDelayMs?: number;
  /**
   * How long the serving version read from the parameter is trusted, in milliseconds (0..86400000). A promotion that
   * leaves the old version running reaches the client within this time; one that stops it, at the next call.
   * @default 300000 (5 minutes)
   */
  readonly parameterMaxAgeMs?: number;
}

/** An image in S3. Rekognition reads it with the caller's rights: the caller needs `s3:GetObject` on it. */
export interface ImageS3Object {
  /** The bucket, in the Region of the call. */
  readonly bucket: string;
  /** The object key. */
  readonly name: string;
  /** The object version. @default - the latest version */
  readonly version?: string;
}

/** The image to analyse: exactly one of `bytes` and `s3Object`. PNG or JPEG. */
export interface ServingImage {
  /** The image's bytes (at most 4 MB). @default - the image is read from `s3Object` */
  readonly bytes?: Uint8Array;
  /** The image in S3 (at most 15 MB). @default - the image is `bytes` */
  readonly s3Object?: ImageS3Object;
}

/** Options of one detect call. */
export interface DetectOptions {
  /** Only labels with at least this confidence (0..100). @default - each label's threshold from the version's evaluation */
  readonly minConfidence?: number;
  /** At most this many labels, highest confidence first. @default - all */
  readonly maxResults?: number;
}

/** A bounding box, in ratios of the image's width and height from its top-left corner. */
export interface BoundingBox {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** A point of a polygon, in ratios of the image's width and height. */
export interface PolygonPoint {
  readonly x: number;
  readonly y: number;
}

/** Where a label was found (object localization models only). */
export interface LabelGeometry {
  /** @default - none */
  readonly boundingBox?: BoundingBox;
  /** @default - none (DetectCustomLabels returns boxes, not polygons, today) */
  readonly polygon?: PolygonPoint[];
}

/** A label the model found. */
export interface CustomLabel {
  readonly name: string;
  /** 0..100 */
  readonly confidence: number;
  /** @default - none: an image-level label */
  readonly geometry?: LabelGeometry;
}

/** The labels of one image, with the version that found them. */
export interface Detection {
  readonly labels: CustomLabel[];
  /** The version that answered. */
  readonly projectVersionArn: string;
  /** DetectCustomLabels calls made for this image (1 when nothing was retried). */
  readonly attempts: number;
}

/** Thrown when the parameter names no version yet (`none`): the model's first training has not been promoted. */
export class NoServingVersionError extends Error {
  constructor(readonly parameterName: string) {
    super(`No version of the model serves yet: parameter ${parameterName} holds '${NO_SERVING_VERSION}' (the first training has not been promoted)`);
    this.name = 'NoServingVersionError';
  }
}

interface CachedVersion {
  readonly arn: string;
  readonly readAt: number;
}

const DEFAULTS = { maxAttempts: 8, maxRetryTimeMs: 20_000, baseDelayMs: 100, maxDelayMs: 5_000, parameterMaxAgeMs: 300_000 };
/** The shared back-off level never passes this (2^20 x baseDelayMs is past any maxDelayMs allowed). */
const MAX_LEVEL = 20;

/**
 * Calls the serving version of a Custom Labels model. One client per process (for example at a Lambda handler's top
 * level): it caches the serving version and shares its back-off level between calls.
 *
 * @example
 * const client = new ServingModelClient(); // the parameter named by SERVING_VERSION_PARAMETER
 * const labels = await client.detect({ bytes }, { minConfidence: 60 });
 */
export class ServingModelClient {
  /** The parameter the serving version is read from. */
  readonly parameterName: string;
  private readonly rekognition: RekognitionClient;
  private readonly ssm: SSMClient;
  private readonly maxAttempts: number;
  private readonly maxRetryTimeMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly parameterMaxAgeMs: number;
  private cached?: CachedVersion;
  private reading?: Promise<CachedVersion>;
  /** Shared back-off: raised by each throttled attempt, lowered by each success. */
  private level = 0;

  constructor(props: ServingModelClientProps = {}) {
    const problems: string[] = [];
    const parameterName = props.parameterName ?? process.env[SERVING_VERSION_PARAMETER_ENV];
    if (parameterName === undefined || parameterName === '') {
      problems.push(`parameterName must be given, or the ${SERVING_VERSION_PARAMETER_ENV} environment variable set `
        + `(model.grantDetectCustomLabels(fn) sets it on a Lambda function), got: ${JSON.stringify(parameterName)}`);
    }
    const number = (name: keyof typeof DEFAULTS, min: number, max: number, integer = false): number => {
      const value = props[name] ?? DEFAULTS[name];
      if (typeof value !== 'number' || !(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
        problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got: ${String(value)}`);
      }
      return value;
    };
    this.maxAttempts = number('maxAttempts', 1, 100, true);
    this.maxRetryTimeMs = number('maxRetryTimeMs', 0, 900_000);
    this.baseDelayMs = number('baseDelayMs', 1, 60_000);
    this.maxDelayMs = number('maxDelayMs', this.baseDelayMs, 300_000);
    this.parameterMaxAgeMs = number('parameterMaxAgeMs', 0, 86_400_000);
    if (problems.length > 0) throw new Error(`ServingModelClient: ${problems.join('; ')}`);
    this.parameterName = parameterName!;
    this.rekognition = props.rekognitionClient ?? new RekognitionClient({ maxAttempts: 1 });
    this.ssm = props.ssmClient ?? new SSMClient({});
  }

  /** The labels the serving version finds in `image`. Throws the service's error when it refuses or a bound is reached. */
  async detect(image: ServingImage, options: DetectOptions = {}): Promise<CustomLabel[]> {
    return (await this.analyze(image, options)).labels;
  }

  /** Like {@link detect}, with the version that answered and the number of attempts. */
  async analyze(image: ServingImage, options: DetectOptions = {}): Promise<Detection> {
    const request = imageOf(image);
    const started = Date.now();
    let version = await this.servingVersion(false);
    let refreshed = version.readAt >= started;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.rekognition.send(new DetectCustomLabelsCommand({
          ProjectVersionArn: version.arn, Image: request, MinConfidence: options.minConfidence, MaxResults: options.maxResults,
        }));
        this.level = Math.max(0, this.level - 1);
        return { labels: (out.CustomLabels ?? []).map(labelOf), projectVersionArn: version.arn, attempts: attempt };
      } catch (err) {
        const name = (err as Error | undefined)?.name ?? '';
        if (STALE_VERSION_ERRORS.has(name) && !refreshed) {
          // The version may have been promoted away: read the parameter again; the same version means the error stands.
          refreshed = true;
          const fresh = await this.servingVersion(true);
          if (fresh.arn !== version.arn && attempt < this.maxAttempts) {
            version = fresh;
            continue;
          }
          throw err;
        }
        if (!RETRIED_ERRORS.has(name) || attempt >= this.maxAttempts) throw err;
        this.level = Math.min(MAX_LEVEL, this.level + 1);
        // The bound doubles with this call's attempts, or with the client's shared level when other calls were throttled
        // too; full jitter (anywhere from 0 to the bound) keeps callers that failed together from retrying together.
        const bound = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.max(attempt - 1, this.level - 1));
        const delay = Math.random() * bound;
        if (Date.now() - started + delay > this.maxRetryTimeMs) throw err;
        await sleep(delay);
      }
    }
  }

  /** The ARN of the version serving now (read from the parameter, or from the cache while it is fresh). */
  async servingVersionArn(): Promise<string> {
    return (await this.servingVersion(false)).arn;
  }

  private async servingVersion(force: boolean): Promise<CachedVersion> {
    const cached = this.cached;
    if (!force && cached && Date.now() - cached.readAt < this.parameterMaxAgeMs) return cached;
    // One read at a time: concurrent calls share it.
    this.reading ??= this.readParameter().finally(() => { this.reading = undefined; });
    return this.reading;
  }

  private async readParameter(): Promise<CachedVersion> {
    const readAt = Date.now();
    const out = await this.ssm.send(new GetParameterCommand({ Name: this.parameterName }));
    const arn = out.Parameter?.Value ?? NO_SERVING_VERSION;
    if (arn === NO_SERVING_VERSION) {
      this.cached = undefined;
      throw new NoServingVersionError(this.parameterName);
    }
    this.cached = { arn, readAt };
    return this.cached;
  }
}

function imageOf(image: ServingImage): { Bytes?: Uint8Array; S3Object?: { Bucket: string; Name: string; Version?: string } } {
  const hasBytes = image?.bytes !== undefined;
  const hasObject = image?.s3Object !== undefined;
  if (hasBytes === hasObject) {
    throw new TypeError(`image must have exactly one of bytes and s3Object, got: ${hasBytes ? 'both' : 'neither'}`);
  }
  if (hasBytes) return { Bytes: image.bytes };
  const o = image.s3Object!;
  return { S3Object: { Bucket: o.bucket, Name: o.name, ...(o.version !== undefined ? { Version: o.version } : {}) } };
}

interface SdkLabel {
  Name?: string;
  Confidence?: number;
  Geometry?: { BoundingBox?: { Left?: number; Top?: number; Width?: number; Height?: number }; Polygon?: Array<{ X?: number; Y?: number }> };
}

function labelOf(l: SdkLabel): CustomLabel {
  const box = l.Geometry?.BoundingBox;
  const polygon = l.Geometry?.Polygon;
  const geometry: LabelGeometry | undefined = l.Geometry === undefined ? undefined : {
    ...(box ? { boundingBox: { left: box.Left ?? 0, top: box.Top ?? 0, width: box.Width ?? 0, height: box.Height ?? 0 } } : {}),
    ...(polygon && polygon.length > 0 ? { polygon: polygon.map((p) => ({ x: p.X ?? 0, y: p.Y ?? 0 })) } : {}),
  };
  return { name: l.Name ?? '', confidence: l.Confidence ?? 0, ...(geometry ? { geometry } : {}) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
