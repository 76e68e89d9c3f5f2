import * as fs from 'node:fs';
import * as path from 'node:path';

import { Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { LabelSource } from './label-source';
import { localManifestFromFile, localManifestFromFolder } from './local';

/** Options of {@link TrainingData.fromLocalFolder}. */
export interface LocalFolderOptions {
  /**
   * Where the labels come from.
   * @default LabelSource.FOLDER_NAMES
   */
  readonly labels?: LabelSource;
  /**
   * Where synth keeps what it learnt of the images between runs: each image's size, modification time, content hash and
   * dimensions (so a second synth reads only changed files), and the image packs already made (so a deploy uploads only
   * the images no earlier pack holds). Losing it costs time and one full upload, never correctness.
   * @default - `node_modules/.cache/cdk-rekognition-custom-labels` of the app, else the OS temp folder (or $CDK_CUSTOM_LABELS_CACHE_DIR)
   */
  readonly cacheDir?: string;
}

/** Options of {@link TrainingData.fromLocalManifest}. */
export interface LocalManifestOptions {
  /**
   * A local folder that stands for `s3://<bucket>/` of the manifest's source-refs: `s3://any-bucket/a/b.png` is
   * `<imagesDir>/a/b.png`. The images are uploaded with the stack and the source-refs rewritten to the data bucket.
   * @default - the images are already in S3 where the source-refs say (they are not checked at synth)
   */
  readonly imagesDir?: string;
  /**
   * Without `imagesDir`: the bucket the source-refs point into. Rekognition reads the images with the rights of the
   * workflow that imports them, so the workflow is granted read access to it; synth fails when the source-refs name
   * another bucket.
   * @default - none: required when `imagesDir` is not given
   */
  readonly imagesBucket?: s3.IBucket;
  /**
   * Key prefix of the images in `imagesBucket` (the grant covers only objects under it).
   * @default - the whole bucket
   */
  readonly imagesPrefix?: string;
  /**
   * With `imagesDir`: where synth keeps image facts and packs between runs (see {@link LocalFolderOptions.cacheDir}).
   * @default - `node_modules/.cache/cdk-rekognition-custom-labels` of the app, else the OS temp folder (or $CDK_CUSTOM_LABELS_CACHE_DIR)
   */
  readonly cacheDir?: string;
}

/** Where the images of a remote source are (Rekognition reads them with the workflow's rights); the options of {@link TrainingData.fromDataset}. */
export interface ImagesLocationOptions {
  /**
   * The bucket the source-refs point into: the workflow that imports the data is granted read access to it (Rekognition
   * reads the images with the caller's rights; reference: "Set up SDK permissions").
   * @default - fromS3Manifest: the manifest's bucket; fromDataset: none, it is required
   */
  readonly imagesBucket?: s3.IBucket;
  /**
   * Key prefix of the images in `imagesBucket` (the grant covers only objects under it).
   * @default - the whole bucket
   */
  readonly imagesPrefix?: string;
}

/** Options of {@link TrainingData.fromS3Manifest}. */
export interface S3ManifestOptions extends ImagesLocationOptions {
  /**
   * The object version to read. Give it to train again when the object changes: CloudFormation sees no change otherwise.
   * @default - the latest version when the workflow runs
   */
  readonly objectVersion?: string;
}


/** Options of {@link TrainingData.bind}. */
export interface DataBindOptions {
  /** `training` or `testing`: the role the manifest plays (validation rules differ). */
  readonly role: string;
}

/** Where the images of a {@link DataConfig} are, when they are not uploaded with the stack. */
export interface ImagesLocation {
  readonly bucket: s3.IBucket;
  /** '' for the whole bucket. */
  readonly prefix: string;
}

/** The S3 manifest of a {@link DataConfig}. */
export interface S3ManifestLocation {
  /** The bucket holding the manifest. */
  readonly bucket: s3.IBucket;
  /** The manifest's key. */
  readonly key: string;
  /** A version of the object. @default - the latest version */
  readonly objectVersion?: string;
}

/**
 * What a data source resolves to at synth. Exactly one of `localManifest`, `s3Manifest` and `datasetArn` is set.
 */
export interface DataConfig {
  /**
   * A Ground Truth manifest generated or read at synth (its source-refs are rewritten at deploy time when `imagesDir` is set).
   * @default - the data is not local
   */
  readonly localManifest?: string;
  /** The local folder standing for `s3://<bucket>/` of the local manifest. @default - no local images */
  readonly imagesDir?: string;
  /** Where synth keeps image facts and packs for `imagesDir`. @default - see LocalFolderOptions.cacheDir */
  readonly cacheDir?: string;
  /** A manifest in S3. @default - the data is not an S3 manifest */
  readonly s3Manifest?: S3ManifestLocation;
  /** An existing dataset to copy. @default - the data is not a dataset */
  readonly datasetArn?: string;
  /**
   * Images that stay in S3 (remote sources, local manifests without `imagesDir`); the workflow needs read access.
   * @default - none: the images travel with the stack
   */
  readonly images?: ImagesLocation;
  /** For messages: where the data comes from. */
  readonly description: string;
}

const DATASET_ARN = /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/dataset\/(train|test)\/[0-9]+$/;

/** Checks run when a factory is called, so that errors point at it. */
function checkDatasetArn(datasetArn: string): void {
  if (!Token.isUnresolved(datasetArn) && !DATASET_ARN.test(datasetArn)) {
    throw new Error(`datasetArn must match ${DATASET_ARN}, got: ${JSON.stringify(datasetArn)}`);
  }
}

function checkS3Key(key: string): void {
  if (!Token.isUnresolved(key) && (key.length < 1 || key.length > 1024)) {
    throw new Error(`key must be 1..1024 characters long, got ${key.length}: ${JSON.stringify(key)}`);
  }
}

function checkPathExists(what: string, p: string, kind: 'file' | 'directory'): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new Error(`${what} must be an existing ${kind}, got: ${JSON.stringify(p)} (not found)`);
  }
  if (kind === 'file' ? !stat.isFile() : !stat.isDirectory()) {
    throw new Error(`${what} must be an existing ${kind}, got: ${JSON.stringify(p)} (not a ${kind})`);
  }
}

/**
 * The images and labels a model trains on.
 *
 * Local data (a folder, a local manifest) is turned into a manifest and validated with the manifest toolkit when the
 * stack is synthesized: synth fails with the line-numbered errors the service would report. The images travel as one
 * asset and are unpacked into the data bucket by the workflow.
 */
export abstract class TrainingData {
  /** A local folder of images whose labels come from folder names, a CSV file or a COCO file. */
  static fromLocalFolder(dir: string, options: LocalFolderOptions = {}): TrainingData {
    return new LocalFolderData(dir, options.labels ?? LabelSource.FOLDER_NAMES, options.cacheDir);
  }

  /** A local Ground Truth manifest file, with its images in `imagesDir` (or already in S3, in `imagesBucket`). */
  static fromLocalManifest(file: string, options: LocalManifestOptions = {}): TrainingData {
    return new LocalManifestData(file, options);
  }

  /**
   * A manifest in S3 whose images are in S3 already (one bucket: `imagesBucket`, by default the manifest's bucket).
   * The workflow is granted read access to both: Rekognition reads them with its rights.
   */
  static fromS3Manifest(bucket: s3.IBucket, key: string, options: S3ManifestOptions = {}): TrainingData {
    checkS3Key(key);
    return new S3ManifestData(bucket, key, options);
  }

  /**
   * The entries of an existing dataset (of any project in the account and Region), copied when the workflow runs.
   * Give `imagesBucket`: the copy's images are read again from it, with the workflow's rights.
   */
  static fromDataset(datasetArn: string, options: ImagesLocationOptions = {}): TrainingData {
    checkDatasetArn(datasetArn);
    return new DatasetData(datasetArn, options);
  }

  /** Resolves the data at synth (generating and reading local manifests). */
  abstract bind(scope: Construct, options: DataBindOptions): DataConfig;
}

class LocalFolderData extends TrainingData {
  constructor(private readonly dir: string, private readonly labels: LabelSource, private readonly cacheDir?: string) {
    super();
  }

  bind(_scope: Construct, _options: DataBindOptions): DataConfig {
    checkPathExists('fromLocalFolder dir', this.dir, 'directory');
    if (this.labels.file !== undefined) checkPathExists(`LabelSource.from${this.labels.kind === 'CSV' ? 'Csv' : 'Coco'} file`, this.labels.file, 'file');
    return { localManifest: localManifestFromFolder(this.dir, this.labels), imagesDir: path.resolve(this.dir), cacheDir: this.cacheDir,
      description: `local folder ${this.dir}` };
  }
}

class LocalManifestData extends TrainingData {
  constructor(private readonly file: string, private readonly options: LocalManifestOptions) {
    super();
  }

  bind(_scope: Construct, _options: DataBindOptions): DataConfig {
    const { imagesDir, imagesBucket, imagesPrefix } = this.options;
    checkPathExists('fromLocalManifest file', this.file, 'file');
    if (imagesDir !== undefined) checkPathExists('fromLocalManifest imagesDir', imagesDir, 'directory');
    const manifest = localManifestFromFile(this.file);
    if (imagesDir === undefined) checkImagesBucket(manifest, imagesBucket, this.file);
    return {
      localManifest: manifest,
      imagesDir: imagesDir && path.resolve(imagesDir),
      cacheDir: this.options.cacheDir,
      images: imagesDir === undefined && imagesBucket ? { bucket: imagesBucket, prefix: imagesPrefix ?? '' } : undefined,
      description: `local manifest ${this.file}`,
    };
  }
}

/** A local manifest whose images stay in S3 must say which bucket, and its source-refs must all point there. */
function checkImagesBucket(manifest: string, bucket: s3.IBucket | undefined, file: string): void {
  const named = new Set<string>();
  for (const m of manifest.matchAll(/"source-ref"\s*:\s*"s3:\/\/([^/"]+)\//g)) named.add(m[1]);
  if (!bucket) {
    throw new Error(`fromLocalManifest ${JSON.stringify(file)}: without imagesDir the images stay in S3`
      + `${named.size > 0 ? ` (${[...named].map((b) => `s3://${b}`).join(', ')})` : ''}; give imagesBucket (e.g. s3.Bucket.fromBucketName(...)) `
      + 'so the workflow may read them (Rekognition reads images with its caller\'s rights), or imagesDir to upload them with the stack');
  }
  if (!Token.isUnresolved(bucket.bucketName)) {
    const other = [...named].filter((b) => b !== bucket.bucketName);
    if (other.length > 0) {
      throw new Error(`fromLocalManifest ${JSON.stringify(file)}: imagesBucket is ${JSON.stringify(bucket.bucketName)} but source-refs point into `
        + `${other.map((b) => JSON.stringify(b)).join(', ')}; every image of a manifest must be in the one imagesBucket`);
    }
  }
}

class S3ManifestData extends TrainingData {
  constructor(private readonly bucket: s3.IBucket, private readonly key: string, private readonly options: S3ManifestOptions) {
    super();
  }

  bind(): DataConfig {
    return {
      s3Manifest: { bucket: this.bucket, key: this.key, objectVersion: this.options.objectVersion },
      images: { bucket: this.options.imagesBucket ?? this.bucket, prefix: this.options.imagesPrefix ?? '' },
      description: `s3 manifest ${this.key}`,
    };
  }
}

class DatasetData extends TrainingData {
  constructor(private readonly datasetArn: string, private readonly options: ImagesLocationOptions) {
    super();
  }

  bind(): DataConfig {
    if (!this.options.imagesBucket) {
      throw new Error(`fromDataset ${this.datasetArn}: give imagesBucket, the bucket its entries' source-refs point into: the workflow `
        + 'recreates the dataset from those entries, and Rekognition reads the images again with the workflow\'s rights');
    }
    return {
      datasetArn: this.datasetArn,
      images: { bucket: this.options.imagesBucket, prefix: this.options.imagesPrefix ?? '' },
      description: `dataset ${this.datasetArn}`,
    };
  }
}
