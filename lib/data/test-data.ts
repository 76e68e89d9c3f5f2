import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { DEFAULT_SPLIT_SEED, DEFAULT_TEST_RATIO } from '../manifest/split';
import { DataBindOptions, DataConfig, ImagesLocationOptions, LocalFolderOptions, LocalManifestOptions, S3ManifestOptions, TrainingData } from './training-data';

/** Options of {@link TestData.split}. */
export interface SplitOptions {
  /**
   * Share of each label's images held out for testing, strictly between 0 and 1.
   * @default 0.2
   */
  readonly ratio?: number;
  /**
   * Seed of the shuffle (an integer): the same data, ratio and seed give the same split, hence the same version.
   * @default 7
   */
  readonly seed?: number;
}

/** Our split of the training data, as {@link TestData.split} resolves it at synth. */
export interface TestSplitConfig {
  /** Share of each label's images held out for testing, strictly between 0 and 1. */
  readonly ratio: number;
  /** Seed of the shuffle (an integer). */
  readonly seed: number;
}

/** What a test-data choice resolves to at synth. */
export interface TestDataConfig {
  /** Our deterministic, stratified split of the training data. @default - not a split */
  readonly split?: TestSplitConfig;
  /** Rekognition's own split (DistributeDatasetEntries: a random 20%). @default false */
  readonly serviceSplit?: boolean;
  /** Separate test data. @default - the test data comes from the training data */
  readonly data?: DataConfig;
}

/**
 * The images a model is evaluated on: held out from the training data, or given separately.
 * @default TestData.split({ ratio: 0.2, seed: 7 })
 */
export abstract class TestData {
  /**
   * The share of each label's images {@link TestData.split} holds out by default: the manifest toolkit's default
   * (`custom-labels manifest split`), so the same data splits the same way.
   */
  static readonly DEFAULT_SPLIT_RATIO: number = DEFAULT_TEST_RATIO;
  /** The seed {@link TestData.split} shuffles with by default: the manifest toolkit's default. */
  static readonly DEFAULT_SPLIT_SEED: number = DEFAULT_SPLIT_SEED;

  /** Our deterministic, stratified split: every label keeps its share on both sides where its count allows. */
  static split(options: SplitOptions = {}): TestData {
    return new SplitTestData(options.ratio ?? TestData.DEFAULT_SPLIT_RATIO, options.seed ?? TestData.DEFAULT_SPLIT_SEED);
  }

  /** Rekognition's own split (DistributeDatasetEntries): a random 20% of the training entries, not reproducible. */
  static serviceSplit(): TestData {
    return new ServiceSplitTestData();
  }

  static fromLocalFolder(dir: string, options: LocalFolderOptions = {}): TestData {
    return new SeparateTestData(TrainingData.fromLocalFolder(dir, options));
  }

  static fromLocalManifest(file: string, options: LocalManifestOptions = {}): TestData {
    return new SeparateTestData(TrainingData.fromLocalManifest(file, options));
  }

  static fromS3Manifest(bucket: s3.IBucket, key: string, options: S3ManifestOptions = {}): TestData {
    return new SeparateTestData(TrainingData.fromS3Manifest(bucket, key, options));
  }

  static fromDataset(datasetArn: string, options: ImagesLocationOptions = {}): TestData {
    return new SeparateTestData(TrainingData.fromDataset(datasetArn, options));
  }

  abstract bind(scope: Construct, options: DataBindOptions): TestDataConfig;
}

class SplitTestData extends TestData {
  constructor(private readonly ratio: number, private readonly seed: number) {
    super();
  }

  bind(): TestDataConfig {
    return { split: { ratio: this.ratio, seed: this.seed } };
  }
}

class ServiceSplitTestData extends TestData {
  bind(): TestDataConfig {
    return { serviceSplit: true };
  }
}

class SeparateTestData extends TestData {
  constructor(private readonly data: TrainingData) {
    super();
  }

  bind(scope: Construct, options: DataBindOptions): TestDataConfig {
    return { data: this.data.bind(scope, options) };
  }
}
