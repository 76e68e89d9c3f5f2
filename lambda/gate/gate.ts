/**
 * The evaluation gate: reads a trained version's evaluation summary and decides whether it may serve.
 */
import { DescribeProjectVersionsCommand, ProjectVersionDescription, RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { GateRequest, GateResult, GateSettings, LabelScore, NO_SERVING_VERSION } from '../../lib/model/contracts';

export interface GateDeps {
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
}

/** The figures the gate looks at. */
export interface Evaluation {
  readonly f1: number;
  readonly labels: LabelScore[];
}

const fmt = (n: number): string => n.toFixed(3);

/**
 * Applies the gate. The reason names every check that failed, with the label and figure: overall F1, then each
 * label below minLabelF1 (worst first), then the comparison with the serving version.
 */
export function applyGate(settings: GateSettings, evaluation: Evaluation, servingF1: number | undefined): { passed: boolean; reason: string } {
  const failures: string[] = [];
  if (evaluation.f1 < settings.minF1) failures.push(`overall F1 ${fmt(evaluation.f1)} is below minF1 ${fmt(settings.minF1)}`);
  const weak = evaluation.labels.filter((l) => l.f1 < settings.minLabelF1).sort((a, b) => a.f1 - b.f1);
  for (const l of weak) failures.push(`label "${l.label}" F1 ${fmt(l.f1)} is below minLabelF1 ${fmt(settings.minLabelF1)}`);
  if (settings.mustNotRegress && servingF1 !== undefined && evaluation.f1 < servingF1) {
    failures.push(`overall F1 ${fmt(evaluation.f1)} is below the serving version's ${fmt(servingF1)} (mustNotRegress)`);
  }
  if (failures.length > 0) return { passed: false, reason: `Evaluation gate failed: ${failures.join('; ')}` };
  return { passed: true, reason: `Evaluation gate passed: overall F1 ${fmt(evaluation.f1)}`
    + (servingF1 !== undefined ? `, serving version ${fmt(servingF1)}` : '') };
}

/** Per-label F1 from an evaluation summary file (reference §7; both layouts of AggregatedEvaluationResults accepted). */
export function parseSummary(text: string): Evaluation {
  const doc = JSON.parse(text) as {
    AggregatedEvaluationResults?: { Metrics?: { F1Score?: number }; F1Score?: number };
    LabelEvaluationResults?: Array<{ Label?: string; Metrics?: { F1Score?: number } }>;
  };
  const agg = doc.AggregatedEvaluationResults;
  const f1 = agg?.Metrics?.F1Score ?? agg?.F1Score;
  if (typeof f1 !== 'number') throw new Error('The evaluation summary has no AggregatedEvaluationResults F1Score');
  const labels = (doc.LabelEvaluationResults ?? []).map((l) => ({ label: String(l.Label), f1: Number(l.Metrics?.F1Score ?? 0) }));
  return { f1, labels };
}

async function describe(deps: GateDeps, projectArn: string, versionName: string): Promise<ProjectVersionDescription | undefined> {
  const res = await deps.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: [versionName] }));
  return res.ProjectVersionDescriptions?.[0];
}

export async function gate(req: GateRequest, deps: GateDeps): Promise<GateResult> {
  const version = await describe(deps, req.projectArn, req.versionName);
  if (!version) throw new Error(`Version ${req.versionName} not found in ${req.projectArn}`);
  const summary = version.EvaluationResult?.Summary?.S3Object;
  if (!summary?.Bucket || !summary.Name) {
    throw new Error(`Version ${req.versionName} has no evaluation result (status ${version.Status}${version.StatusMessage ? `: ${version.StatusMessage}` : ''})`);
  }
  const object = await deps.s3.send(new GetObjectCommand({ Bucket: summary.Bucket, Key: summary.Name, VersionId: summary.Version }));
  const evaluation = parseSummary(await object.Body!.transformToString());
  let servingF1: number | undefined;
  const versionArn = version.ProjectVersionArn ?? '';
  if (req.servingVersionArn && req.servingVersionArn !== NO_SERVING_VERSION && req.servingVersionArn !== versionArn) {
    const servingName = req.servingVersionArn.split('/')[3];
    const serving = servingName ? await describe(deps, req.projectArn, servingName) : undefined;
    servingF1 = serving?.EvaluationResult?.F1Score;
  }
  const decision = applyGate(req.gate, evaluation, servingF1);
  return {
    ...decision,
    versionArn,
    status: version.Status ?? '',
    f1: evaluation.f1,
    servingF1: servingF1 ?? -1,
    labels: evaluation.labels,
  };
}
