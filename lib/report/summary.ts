/**
 * Reads an EvaluationResultSummary file (reference §7) into plain figures. Both layouts are accepted: the metrics
 * under `AggregatedEvaluationResults.Metrics` (the schema) or directly under `AggregatedEvaluationResults` (the API
 * example).
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */

/** Input the report cannot be made from; the message is one line naming what is wrong. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

export interface LabelFigures {
  readonly label: string;
  readonly testImages?: number;
  /** The assumed threshold, 0..1 (DetectCustomLabels' MinConfidence is this x 100). */
  readonly threshold?: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface ConfusionCell {
  readonly truth: string;
  readonly predicted: string;
  readonly value: number;
}

export interface EvaluationSummary {
  readonly version?: number;
  readonly projectVersionArn?: string;
  readonly endTimestamp?: string;
  /** EvaluationDetails.Labels, else the labels of LabelEvaluationResults. */
  readonly labels: string[];
  readonly trainingImages?: number;
  readonly testingImages?: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Detection only (mAP, mAR). */
  readonly averagePrecision?: number;
  readonly averageRecall?: number;
  /** Classification only. */
  readonly confusionMatrix?: ConfusionCell[];
  /** In the file's order (the service sorts by F1). */
  readonly perLabel: LabelFigures[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function requiredNumber(v: unknown, where: string): number {
  const n = optionalNumber(v);
  if (n === undefined) throw new ReportInputError(`the evaluation summary has no number at ${where}`);
  return n;
}

/** Parses the summary's JSON text (or an already parsed object). Throws ReportInputError. */
export function parseEvaluationSummary(input: string | object): EvaluationSummary {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
    } catch (err) {
      throw new ReportInputError(`the evaluation summary is not JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(doc)) throw new ReportInputError('the evaluation summary must be a JSON object');
  const agg = doc.AggregatedEvaluationResults;
  if (!isObject(agg)) throw new ReportInputError('the evaluation summary has no AggregatedEvaluationResults object');
  // The schema nests the figures in Metrics; the API example has them directly under AggregatedEvaluationResults.
  const metrics: Json = isObject(agg.Metrics) ? { ...agg, ...agg.Metrics } : agg;
  const where = isObject(agg.Metrics) ? 'AggregatedEvaluationResults.Metrics' : 'AggregatedEvaluationResults';
  const details = isObject(doc.EvaluationDetails) ? doc.EvaluationDetails : {};

  const rawLabels = doc.LabelEvaluationResults ?? [];
  if (!Array.isArray(rawLabels)) throw new ReportInputError('LabelEvaluationResults must be an array');
  const perLabel = rawLabels.map((raw: unknown, i: number): LabelFigures => {
    if (!isObject(raw) || typeof raw.Label !== 'string') throw new ReportInputError(`LabelEvaluationResults[${i}] has no Label`);
    const m = isObject(raw.Metrics) ? raw.Metrics : raw;
    const at = `LabelEvaluationResults[${i}].Metrics`;
    return {
      label: raw.Label,
      testImages: optionalNumber(raw.NumberOfTestingImages),
      threshold: optionalNumber(m.Threshold),
      precision: requiredNumber(m.Precision, `${at}.Precision`),
      recall: requiredNumber(m.Recall, `${at}.Recall`),
      f1: requiredNumber(m.F1Score, `${at}.F1Score`),
    };
  });

  let confusionMatrix: ConfusionCell[] | undefined;
  if (Array.isArray(metrics.ConfusionMatrix)) {
    confusionMatrix = metrics.ConfusionMatrix.map((c: unknown, i: number) => {
      if (!isObject(c) || typeof c.GroundTruthLabel !== 'string' || typeof c.PredictedLabel !== 'string') {
        throw new ReportInputError(`${where}.ConfusionMatrix[${i}] needs GroundTruthLabel and PredictedLabel`);
      }
      return { truth: c.GroundTruthLabel, predicted: c.PredictedLabel, value: requiredNumber(c.Value, `${where}.ConfusionMatrix[${i}].Value`) };
    });
  }

  const detailLabels = Array.isArray(details.Labels) ? details.Labels.filter((l): l is string => typeof l === 'string') : undefined;
  return {
    version: optionalNumber(doc.Version),
    projectVersionArn: optionalString(details.ProjectVersionArn),
    endTimestamp: optionalString(details.EvaluationEndTimestamp),
    labels: detailLabels ?? perLabel.map((l) => l.label),
    trainingImages: optionalNumber(details.NumberOfTrainingImages),
    testingImages: optionalNumber(details.NumberOfTestingImages),
    precision: requiredNumber(metrics.Precision, `${where}.Precision`),
    recall: requiredNumber(metrics.Recall, `${where}.Recall`),
    f1: requiredNumber(metrics.F1Score, `${where}.F1Score`),
    averagePrecision: optionalNumber(metrics.AveragePrecision),
    averageRecall: optionalNumber(metrics.AverageRecall),
    confusionMatrix,
    perLabel,
  };
}

/** `project/<name>/version/<version>/...` of a version ARN, when it has that shape. */
export function versionOfArn(arn: string | undefined): { project: string; version: string } | undefined {
  const m = /:project\/([^/]+)\/version\/([^/]+)\//.exec(arn ?? '');
  return m ? { project: m[1], version: m[2] } : undefined;
}
