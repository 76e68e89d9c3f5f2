#!/usr/bin/env node
/**
 * The example app: an image classifier trained from a local folder (labels = folder names) and an object detector
 * trained from a COCO file, in one project each. `npx cdk synth` runs offline; cdk-nag AwsSolutions checks every
 * resource and fails the synth on any unacknowledged finding.
 *
 * The sample images (coloured shapes, 64x64 PNG) are generated under examples/ on first use, deterministically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';

import { CustomLabelsModel, CustomLabelsProject, LabelSource, ModelType, TestData, TrainingData } from '../lib';
import { classificationSamples, cocoJsonFor, detectionSamples, writeSamplesToFolder } from '../lib/samples/shapes';
import { packageRoot } from '../lib/shared/handler-code';

/** Writes the sample sets once; an existing folder is left as it is (so users can replace the images with their own). */
export function ensureExamples(root: string): { classes: string; detection: string; coco: string } {
  const classes = path.join(root, 'examples', 'shapes-classification');
  const detection = path.join(root, 'examples', 'shapes-detection');
  const coco = path.join(detection, 'annotations.json');
  if (!fs.existsSync(classes)) writeSamplesToFolder(classes, classificationSamples({ perLabel: 20, seed: 42 }));
  if (!fs.existsSync(coco)) {
    const samples = detectionSamples({ images: 40, seed: 43 });
    writeSamplesToFolder(detection, samples);
    fs.writeFileSync(coco, cocoJsonFor(samples));
  }
  return { classes, detection, coco };
}

export class ShapesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { examplesRoot: string }) {
    super(scope, id, props);
    const examples = ensureExamples(props.examplesRoot);

    const classifierProject = new CustomLabelsProject(this, 'ClassifierProject', { projectName: 'shapes-classifier',
      removalPolicy: RemovalPolicy.DESTROY });
    new CustomLabelsModel(this, 'Classifier', {
      project: classifierProject,
      trainingData: TrainingData.fromLocalFolder(examples.classes, { labels: LabelSource.FOLDER_NAMES }),
      testData: TestData.split({ ratio: 0.2, seed: 7 }),
      modelType: ModelType.CLASSIFICATION,
      evaluationGate: { minF1: 0.85, minLabelF1: 0.7, mustNotRegress: true },
      deployment: { minInferenceUnits: 1, maxInferenceUnits: 2 },
      trainingTimeout: Duration.hours(4),
    });

    const detectorProject = new CustomLabelsProject(this, 'DetectorProject', { projectName: 'shapes-detector',
      removalPolicy: RemovalPolicy.DESTROY });
    new CustomLabelsModel(this, 'Detector', {
      project: detectorProject,
      trainingData: TrainingData.fromLocalFolder(examples.detection, { labels: LabelSource.fromCoco(examples.coco) }),
      modelType: ModelType.OBJECT_LOCALIZATION,
      evaluationGate: { minF1: 0.6 },
      deployment: { minInferenceUnits: 1 },
    });
  }
}

if (require.main === module) {
  const app = new App();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  new ShapesStack(app, 'CustomLabelsShapes', {
    examplesRoot: packageRoot(),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
  });
  app.synth();
}
