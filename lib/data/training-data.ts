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
}

/** Options of {@link TrainingData.fromLocalManifest}. */
export interface LocalManifestOptions {
  /**
   * A local folder that stands for `s3://<bucket>/` of the manifest's source-refs: `s3://any-bucket/a/b.png` is
   * `<imagesDir>/a/b.png`. The images are uploaded with the stack and the source-refs rewritten to the data bucket.
   * @default - the images are already in S3 where the source-refs say (they are not checked at synth)
   */
  readonly imagesDir?: string;
}

/** Options of {@link TrainingData.fromS3Manifest}. */
export interface S3ManifestOptions {
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
  /** A manifest in S3. @default - the data is not an S3 manifest */
  readonly s3Manifest?: S3ManifestLocation;
  /** An existing dataset to copy. @default - the data is not a dataset */
  readonly datasetArn?: string;
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
    return new LocalFolderData(dir, options.labels ?? LabelSource.FOLDER_NAMES);
  }

  /** A local Ground Truth manifest file, with its images in `imagesDir` (or already in S3). */
  static fromLocalManifest(file: string, options: LocalManifestOptions = {}): TrainingData {
    return new LocalManifestData(file, options.imagesDir);
  }

  /** A manifest in S3 whose images are in S3 already (one bucket, readable by Rekognition). */
  static fromS3Manifest(bucket: s3.IBucket, key: string, options: S3ManifestOptions = {}): TrainingData {
    checkS3Key(key);
    return new S3ManifestData(bucket, key, options.objectVersion);
  }

  /** The entries of an existing dataset (of any project in the account and Region), copied when the workflow runs. */
  static fromDataset(datasetArn: string): TrainingData {
    checkDatasetArn(datasetArn);
    return new DatasetData(datasetArn);
  }

  /** Resolves the data at synth (generating and reading local manifests). */
  abstract bind(scope: Construct, options: DataBindOptions): DataConfig;
}

class LocalFolderData extends TrainingData {
  constructor(private readonly dir: string, private readonly labels: LabelSource) {
    super();
  }

  bind(_scope: Construct, _options: DataBindOptions): DataConfig {
    checkPathExists('fromLocalFolder dir', this.dir, 'directory');
    if (this.labels.file !== undefined) checkPathExists(`LabelSource.from${this.labels.kind === 'CSV' ? 'Csv' : 'Coco'} file`, this.labels.file, 'file');
    return { localManifest: localManifestFromFolder(this.dir, this.labels), imagesDir: path.resolve(this.dir),
      description: `local folder ${this.dir}` };
  }
}

class LocalManifestData extends TrainingData {
  constructor(private readonly file: string, private readonly imagesDir?: string) {
    super();
  }

  bind(_scope: Construct, _options: DataBindOptions): DataConfig {
    checkPathExists('fromLocalManifest file', this.file, 'file');
    if (this.imagesDir !== undefined) checkPathExists('fromLocalManifest imagesDir', this.imagesDir, 'directory');
    return { localManifest: localManifestFromFile(this.file), imagesDir: this.imagesDir && path.resolve(this.imagesDir),
      description: `local manifest ${this.file}` };
  }
}

class S3ManifestData extends TrainingData {
  constructor(private readonly bucket: s3.IBucket, private readonly key: string, private readonly objectVersion?: string) {
    super();
  }

  bind(): DataConfig {
    return { s3Manifest: { bucket: this.bucket, key: this.key, objectVersion: this.objectVersion }, description: `s3 manifest ${this.key}` };
  }
}

class DatasetData extends TrainingData {
  constructor(private readonly datasetArn: string) {
    super();
  }

  bind(): DataConfig {
    return { datasetArn: this.datasetArn, description: `dataset ${this.datasetArn}` };
  }
}
