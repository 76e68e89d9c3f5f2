import * as http from 'node:http';
import { AddressInfo } from 'node:net';

import { buildOutcome, metricLine, notify, reasonOf, signal, signalBody } from '../../../lambda/notify/notify';
import { runConfigFor } from '../../../lib/model/contracts';
import { baseConfig } from '../../model/workflow-harness';

const config = runConfigFor(baseConfig({ deployment: { enabled: true, minInferenceUnits: 1, maxInferenceUnits: 1 } }), 'model-0123456789abcdef');

describe('reasonOf', () => {
  test('a Lambda error: the errorMessage out of the JSON Cause', () => {
    expect(reasonOf({ Error: 'Error', Cause: JSON.stringify({ errorMessage: 'The data would be rejected', errorType: 'Error' }) }))
      .toBe('Error: The data would be rejected');
  });

  test('an SDK integration error: the service message as is', () => {
    expect(reasonOf({ Error: 'Rekognition.LimitExceededException', Cause: 'Too many versions (Service: Rekognition)' }))
      .toBe('Rekognition.LimitExceededException: Too many versions (Service: Rekognition)');
  });

  test('a failed status: the description\'s StatusMessage', () => {
    expect(reasonOf({ Error: 'DatasetFailed', Cause: 'The training dataset failed', details: { Status: 'CREATE_FAILED',
      StatusMessage: 'The manifest file is empty.' } })).toBe('DatasetFailed: The training dataset failed: The manifest file is empty.');
  });
});

describe('buildOutcome and the signal', () => {
  test('success: detail, message and a SUCCESS signal carrying ARN and F1', () => {
    const outcome = buildOutcome({ action: 'success', state: { config, version: { arn: 'arn:v' },
      gate: { versionArn: 'arn:v', f1: 0.91, reason: 'Evaluation gate passed: overall F1 0.910' } } });
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', detailType: 'Custom Labels Model Version Succeeded',
      detail: { versionArn: 'arn:v', f1: 0.91, deployed: true, versionName: 'model-0123456789abcdef' } });
    expect(JSON.parse(signalBody(outcome))).toEqual({ Status: 'SUCCESS', UniqueId: 'model-0123456789abcdef',
      Data: JSON.stringify({ versionArn: 'arn:v', versionName: 'model-0123456789abcdef', f1: 0.91 }),
      Reason: 'Evaluation gate passed: overall F1 0.910' });
  });

  test('the evaluation report: named in the detail and the message, on failure too; a report that could not be written is in the reason', () => {
    const report = 's3://data/output/p1/model-0123456789abcdef/EvaluationReport-p1-model-0123456789abcdef.html';
    const failed = buildOutcome({ action: 'failure', state: { config, error: { Error: 'GateFailed', Cause: 'Evaluation gate failed: x' },
      gate: { versionArn: 'arn:v', f1: 0.5, report, reportError: '' } } });
    expect(failed.detail.evaluationReport).toBe(report);
    expect(failed.message.endsWith(`\nEvaluation report: ${report}`)).toBe(true);
    const unwritten = buildOutcome({ action: 'success', state: { config, gate: { versionArn: 'arn:v', f1: 0.9, reason: 'Evaluation gate passed',
      report: '', reportError: 'the evaluation report could not be written: Access Denied' } } });
    expect(unwritten.detail).toMatchObject({ evaluationReport: '',
      reason: 'Evaluation gate passed; the evaluation report could not be written: Access Denied' });
    expect(unwritten.message).not.toContain('Evaluation report:');
    expect(buildOutcome({ action: 'failure', state: { config, error: { Error: 'TrainingFailed' } } }).detail.evaluationReport).toBe('');
  });

  test('failure: FAILURE signal with the reason; the metric line counts 1', () => {
    const req = { action: 'failure' as const, state: { config, error: { Error: 'GateFailed', Cause: 'Evaluation gate failed: x' } } };
    const outcome = buildOutcome(req);
    expect(JSON.parse(signalBody(outcome))).toMatchObject({ Status: 'FAILURE', Reason: 'GateFailed: Evaluation gate failed: x' });
    expect(JSON.parse(metricLine(req, 1))).toMatchObject({ TrainingFailed: 1, ProjectName: 'p1', VersionPrefix: 'model',
      _aws: { CloudWatchMetrics: [{ Namespace: 'CdkRekognitionCustomLabels' }] } });
  });

  test('signal PUTs the body with an empty Content-Type (the handle URL is presigned without one)', async () => {
    const received: Array<{ method?: string; type?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body });
        res.statusCode = received.length === 1 ? 200 : 403;
        res.end('denied');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/handle?sig=1`;
    try {
      await signal(url, '{"Status":"SUCCESS"}');
      expect(received).toEqual([{ method: 'PUT', type: '', body: '{"Status":"SUCCESS"}' }]);
      await expect(signal(url, '{}')).rejects.toThrow('Signalling the wait condition failed: HTTP 403 denied');
    } finally {
      server.close();
    }
  });

  test('notify signals only when the stack waits, with the URL kept in the data bucket, which it then removes', async () => {
    const sent: string[] = [];
    const handles = new Map([['data/wait-handles/run-1', 'https://handle\n']]);
    const deps = {
      signal: async (url: string) => void sent.push(url),
      log: () => undefined,
      readHandle: async (bucket: string, key: string) => handles.get(`${bucket}/${key}`) ?? '',
      deleteHandle: async (bucket: string, key: string) => void handles.delete(`${bucket}/${key}`),
    };
    const noWait = await notify({ action: 'success', state: { config } }, deps);
    expect(noWait.signalled).toBe(false);
    const waited = await notify({ action: 'success', state: { config: { ...config, waitHandleKey: 'wait-handles/run-1' } } }, deps);
    expect(waited.signalled).toBe(true);
    expect(sent).toEqual(['https://handle']);
    expect(handles.size).toBe(0);
  });
});
