/**
 * The workflow's outcome: a reason that carries the service's own message, the EventBridge detail, the SNS text, a
 * metric in embedded metric format, and the signal to the CloudFormation wait condition.
 */
import * as http from 'node:http';
import * as https from 'node:https';

import {
  DETAIL_TYPE_FAILED, DETAIL_TYPE_SUCCEEDED, METRIC_NAMESPACE, METRIC_TRAINING_FAILED, NotifyRequest, Outcome, WorkflowError,
} from '../../lib/model/contracts';

/** The text of a Catch output: Lambda errors carry a JSON `errorMessage`, SDK integrations the service message. */
export function reasonOf(error: WorkflowError | undefined): string {
  if (!error) return 'Unknown failure';
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // Not JSON: the service's message as Step Functions passed it.
  }
  const details = error.details as { StatusMessage?: unknown; Status?: unknown } | undefined;
  if (details && typeof details.StatusMessage === 'string' && details.StatusMessage !== '') {
    cause = `${cause}${cause ? ': ' : ''}${details.StatusMessage}`;
  } else if (details && typeof details.Status === 'string') {
    cause = `${cause}${cause ? ' ' : ''}(status ${details.Status})`;
  }
  return `${error.Error}${cause ? `: ${cause}` : ''}`;
}

export function buildOutcome(req: NotifyRequest): Outcome {
  const { config } = req.state;
  const succeeded = req.action === 'success';
  const versionArn = req.state.gate?.versionArn || req.state.version?.arn || '';
  const f1 = typeof req.state.gate?.f1 === 'number' ? req.state.gate.f1 : -1;
  let reason = succeeded ? (req.state.gate?.reason ?? 'Succeeded') : reasonOf(req.state.error);
  if (succeeded && req.state.stopPreviousError) reason += `; the previous version could not be stopped: ${reasonOf(req.state.stopPreviousError)}`;
  if (req.state.gate?.reportError) reason += `; ${req.state.gate.reportError}`;
  const evaluationReport = req.state.gate?.report ?? '';
  const status = succeeded ? 'SUCCEEDED' : 'FAILED';
  const detail = {
    status,
    projectArn: config.projectArn,
    projectName: config.projectName,
    versionName: config.versionName,
    versionArn,
    f1,
    deployed: succeeded && config.deployment.enabled,
    reason,
    evaluationReport,
  } as const;
  const message = succeeded
    ? `Custom Labels model version ${config.versionName} of project ${config.projectName} is ready`
      + `${config.deployment.enabled ? ' and running' : ''} (F1 ${f1.toFixed(3)}).\n${reason}`
    : `Custom Labels model version ${config.versionName} of project ${config.projectName} failed.\n${reason}`;
  const reportLine = evaluationReport ? `\nEvaluation report: ${evaluationReport}` : '';
  const detailType = succeeded ? DETAIL_TYPE_SUCCEEDED : DETAIL_TYPE_FAILED;
  return { status, detailType, reason, detail, message: message + reportLine, signalled: false };
}

/** One line of embedded metric format: CloudWatch turns it into the TrainingFailed metric (1 on failure, 0 on success). */
export function metricLine(req: NotifyRequest, now: number): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [['ProjectName', 'VersionPrefix']],
        Metrics: [{ Name: METRIC_TRAINING_FAILED, Unit: 'Count' }] }],
    },
    ProjectName: req.state.config.projectName,
    VersionPrefix: req.state.config.versionPrefix,
    [METRIC_TRAINING_FAILED]: req.action === 'success' ? 0 : 1,
  });
}

/** The body CloudFormation expects on a wait-condition handle (Reason is capped: the whole signal must stay small). */
export function signalBody(outcome: Outcome): string {
  return JSON.stringify({
    Status: outcome.status === 'SUCCEEDED' ? 'SUCCESS' : 'FAILURE',
    UniqueId: outcome.detail.versionName || 'version',
    Data: JSON.stringify({ versionArn: outcome.detail.versionArn, versionName: outcome.detail.versionName, f1: outcome.detail.f1 }),
    Reason: outcome.reason.slice(0, 4000),
  });
}

/**
 * PUTs the signal to the presigned handle URL. The Content-Type must be empty: the URL was signed without one.
 */
export function signal(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = (target.protocol === 'http:' ? http : https).request(target, {
      method: 'PUT',
      headers: { 'Content-Type': '', 'Content-Length': Buffer.byteLength(body) },
      timeout: 20_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve();
        else reject(new Error(`Signalling the wait condition failed: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 500)}`));
      });
    });
    request.on('timeout', () => request.destroy(new Error('Signalling the wait condition timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

/** Where the notify step reads (and then removes) the run's wait-condition handle URL, and how it signals. */
export interface NotifyDeps {
  readonly signal: (url: string, body: string) => Promise<void>;
  readonly log: (line: string) => void;
  /** The handle object's text (the presigned URL). */
  readonly readHandle: (bucket: string, key: string) => Promise<string>;
  readonly deleteHandle: (bucket: string, key: string) => Promise<void>;
}

export async function notify(req: NotifyRequest, deps: NotifyDeps): Promise<Outcome> {
  const outcome = buildOutcome(req);
  deps.log(metricLine(req, Date.now()));
  const { waitHandleKey, dataBucket } = req.state.config;
  if (!waitHandleKey) return outcome;
  const url = (await deps.readHandle(dataBucket, waitHandleKey)).trim();
  await deps.signal(url, signalBody(outcome));
  // The URL is a credential for the stack's wait condition: it lives no longer than the run that needs it.
  await deps.deleteHandle(dataBucket, waitHandleKey);
  return { ...outcome, signalled: true };
}
