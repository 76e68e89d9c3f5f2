/**
 * The evaluation gate: reads a trained version's evaluation summary, decides whether it may serve, and writes the
 * evaluation report (one HTML page) next to the summary.
 */
import { DescribeProjectVersionsCommand, ProjectVersionDescription, RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { GateRequest, GateResult, NO_SERVING_VERSION } from '../../lib/model/contracts';
import { applyReportGate } from '../../lib/report/gate';
import { buildEvaluationReport } from '../../lib/report/html';
import { parseEvaluationSummary } from '../../lib/report/summary';

export interface GateDeps {
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
  /** Epoch ms after which the report stops loading images (the rest are listed as missing): the gate must answer in time. */
  readonly imageDeadline?: () => number;
}

/** Examples of each kind (false positives, false negatives) the report shows with their images. */
export const REPORT_EXAMPLES = 24;
/** Images larger than this are not loaded for the report (the service's own image limit is 15 MB). */
export const REPORT_MAX_IMAGE_BYTES = 15 * 1024 * 1024;

async function describe(deps: GateDeps, projectArn: string, versionName: string): Promise<ProjectVersionDescription | undefined> {
  const res = await deps.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: [versionName] }));
  return res.ProjectVersionDescriptions?.[0];
}

async function readText(deps: GateDeps, object: { Bucket?: string; Name?: string; Version?: string }): Promise<string> {
  const res = await deps.s3.send(new GetObjectCommand({ Bucket: object.Bucket, Key: object.Name, VersionId: object.Version }));
  return res.Body!.transformToString();
}

/** The report's key: beside the summary, named as the service names the summary. */
export function reportKeyOf(summaryKey: string, projectName: string, versionName: string): string {
  const dir = summaryKey.includes('/') ? summaryKey.slice(0, summaryKey.lastIndexOf('/') + 1) : '';
  return `${dir}EvaluationReport-${projectName}-${versionName}.html`;
}

export async function gate(req: GateRequest, deps: GateDeps): Promise<GateResult> {
  const version = await describe(deps, req.projectArn, req.versionName);
  if (!version) throw new Error(`Version ${req.versionName} not found in ${req.projectArn}`);
  const summaryObject = version.EvaluationResult?.Summary?.S3Object;
  if (!summaryObject?.Bucket || !summaryObject.Name) {
    throw new Error(`Version ${req.versionName} has no evaluation result (status ${version.Status}${version.StatusMessage ? `: ${version.StatusMessage}` : ''})`);
  }
  const summaryText = await readText(deps, summaryObject);
  const summary = parseEvaluationSummary(summaryText);
  let servingF1: number | undefined;
  const versionArn = version.ProjectVersionArn ?? '';
  if (req.servingVersionArn && req.servingVersionArn !== NO_SERVING_VERSION && req.servingVersionArn !== versionArn) {
    const servingName = req.servingVersionArn.split('/')[3];
    const serving = servingName ? await describe(deps, req.projectArn, servingName) : undefined;
    servingF1 = serving?.EvaluationResult?.F1Score;
  }
  const rules = { ...req.gate, servingF1 };
  const verdict = applyReportGate(rules, summary);
  const decision = {
    passed: verdict.passed,
    reason: verdict.reason,
    versionArn,
    status: version.Status ?? '',
    f1: summary.f1,
    servingF1: servingF1 ?? -1,
    labels: summary.perLabel.map((l) => ({ label: l.label, f1: l.f1 })),
  };
  // A report that cannot be written must not decide the run: the reason is returned, and the outcome names it.
  try {
    const report = await writeReport(deps, req, version, summaryObject, summaryText, rules);
    return { ...decision, report, reportError: '' };
  } catch (err) {
    return { ...decision, report: '', reportError: `the evaluation report could not be written: ${(err as Error).message}` };
  }
}

async function writeReport(deps: GateDeps, req: GateRequest, version: ProjectVersionDescription,
  summaryObject: { Bucket?: string; Name?: string }, summary: string, rules: Parameters<typeof applyReportGate>[0]): Promise<string> {
  const testingObject = version.TestingDataResult?.Output?.Assets?.[0]?.GroundTruthManifest?.S3Object;
  const testingOutput = testingObject?.Bucket && testingObject.Name ? await readText(deps, testingObject) : undefined;
  const projectName = req.projectArn.split('/')[1] ?? '';
  const report = await buildEvaluationReport({
    summary,
    testingOutput,
    gate: rules,
    title: `Evaluation report: ${projectName} ${req.versionName}`,
    maxExamples: REPORT_EXAMPLES,
    loadImage: (ref) => loadImage(deps, ref),
  });
  const key = reportKeyOf(summaryObject.Name!, projectName, req.versionName);
  await deps.s3.send(new PutObjectCommand({ Bucket: summaryObject.Bucket, Key: key, Body: report.html, ContentType: 'text/html; charset=utf-8' }));
  return `s3://${summaryObject.Bucket}/${key}`;
}

async function loadImage(deps: GateDeps, sourceRef: string): Promise<Buffer | undefined> {
  if (deps.imageDeadline && Date.now() > deps.imageDeadline()) return undefined;
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(sourceRef);
  if (!m) return undefined;
  const res = await deps.s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
  if ((res.ContentLength ?? 0) > REPORT_MAX_IMAGE_BYTES) {
    (res.Body as { destroy?: () => void } | undefined)?.destroy?.();
    return undefined;
  }
  return res.Body ? Buffer.from(await res.Body.transformToByteArray()) : undefined;
}
