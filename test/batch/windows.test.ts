/**
 * The upload-window protocol (lambda/batch/windows.ts) against the local S3 (real conditional writes and listings) and
 * the runner's Step Functions served over HTTP. The state machine stands in for BatchAnalysis's window path only: it
 * waits for the window (held there by the test while uploads arrive), then collects, as the batch's run does.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

import { collect, openWindow, reopenIfPending, STALE_AFTER_SECONDS, upload, WindowClients } from '../../lambda/batch/windows';
import { BatchSettings, CollectedWindow, UploadEvent } from '../../lib/batch/contracts';
import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { LocalStepFunctions } from '../../lib/runner/executions';
import { LocalServices } from '../../lib/runner/local-services';

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:batch';
const WINDOW_SECONDS = 300;
const DEFINITION = JSON.stringify({
  StartAt: 'WaitForUploads',
  States: {
    WaitForUploads: { Type: 'Wait', SecondsPath: '$.window.waitSeconds', Next: 'CollectUploads' },
    CollectUploads: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'batch', Payload: { 'action': 'collect', 'holder.$': '$$.Execution.Name' } }, OutputPath: '$.Payload', End: true },
  },
});
const settings: BatchSettings = { outputBucket: 'out', outputPrefix: 'results/', minInferenceUnits: 1, leaseSeconds: 3600, stopWhenIdleSeconds: 60 };

let cloud: LocalCloud;
let services: LocalServices;
let steps: LocalStepFunctions;
let clients: WindowClients;
let held: Promise<void> = Promise.resolve();
let release: () => void = () => undefined;
let eventSeq = 0;

const hold = (): void => {
  held = new Promise((resolve) => { release = resolve; });
};
const uploadEvent = (key: string, eventId = `event-${++eventSeq}`): UploadEvent =>
  ({ action: 'upload', stateMachineArn: STATE_MACHINE, waitSeconds: WINDOW_SECONDS, eventId, key });
const keysUnder = async (prefix: string): Promise<string[]> =>
  ((await clients.s3.send(new ListObjectsV2Command({ Bucket: 'out', Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
const read = async (key: string): Promise<unknown> =>
  JSON.parse(await (await clients.s3.send(new GetObjectCommand({ Bucket: 'out', Key: key }))).Body!.transformToString());
/** Lets every held window close and collect; returns what each run collected (by run name). */
async function closeWindows(): Promise<Record<string, CollectedWindow>> {
  release();
  await steps.settle();
  hold();
  return Object.fromEntries(steps.list().filter((e) => e.output !== undefined).map((e) => [e.name, JSON.parse(e.output!) as CollectedWindow]));
}
const windowItems = async (collected: CollectedWindow): Promise<string[]> =>
  (await read(collected.itemsKey!) as Array<{ Key: string }>).map((i) => i.Key);

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: ['out'] });
  // The handler reads the time with Date.now(), as in Lambda: the virtual clock here.
  jest.spyOn(Date, 'now').mockImplementation(() => cloud.clock.now());
  steps = new LocalStepFunctions({
    stateMachine: (arn) => (arn === STATE_MACHINE ? { definition: DEFINITION, name: 'batch' } : undefined),
    sdkHandler: async () => { throw new Error('no SDK task in this definition'); },
    lambdaHandler: async (_fn, payload) => collect((payload as { holder: string }).holder, settings, clients),
    record: () => undefined,
    now: () => cloud.clock.now(),
    advance: (ms) => cloud.clock.advance(ms),
    beforeWait: () => held,
  });
  services = await LocalServices.start({
    services: [{ targetPrefix: 'AWSStepFunctions.', jsonVersion: '1.0', handle: (op, input) => steps.handle(op, input) }],
    puts: {},
  });
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  clients = { s3: new S3Client({ ...config, endpoint: cloud.s3Endpoint, forcePathStyle: true }),
    sfn: new SFNClient({ ...config, endpoint: services.endpoint }) };
  hold();
}, 60_000);

afterAll(async () => {
  release();
  await steps?.settle();
  await services?.close();
  await cloud?.stop();
  jest.restoreAllMocks();
});

describe('upload windows', () => {
  test('uploads within a window make one run that takes exactly those uploads; a later upload opens a new window', async () => {
    const first = await upload(uploadEvent('incoming/a.jpg'), settings, clients);
    expect(first.opened).toBe(true);
    cloud.clock.advance(60_000);
    // Ten at once: one conditional write wins, nobody opens a second window.
    const joined = await Promise.all(Array.from({ length: 10 }, (_, i) => upload(uploadEvent(`incoming/b${i}.jpg`), settings, clients)));
    expect(joined.every((j) => !j.opened && j.run === first.run)).toBe(true);
    // A redelivered event is one upload; the same key uploaded again (another event) is analysed once in the window.
    const again = uploadEvent('incoming/c.jpg');
    await upload(again, settings, clients);
    await upload(again, settings, clients);
    await upload(uploadEvent('incoming/c.jpg'), settings, clients);
    expect(await keysUnder('results/windows/pending/')).toHaveLength(13);

    const collected = await closeWindows();
    expect(Object.keys(collected)).toEqual([first.run]);
    expect(collected[first.run]).toMatchObject({ runId: first.run, images: 12, itemsKey: `results/runs/${first.run}/uploads.json` });
    expect(await windowItems(collected[first.run])).toEqual(['incoming/a.jpg', ...Array.from({ length: 10 }, (_, i) => `incoming/b${i}.jpg`),
      'incoming/c.jpg']);
    // The window is closed and its markers taken.
    expect(await keysUnder('results/windows/')).toEqual([]);

    const later = await upload(uploadEvent('incoming/d.jpg'), settings, clients);
    expect(later.opened).toBe(true);
    expect(later.run).not.toBe(first.run);
    const next = await closeWindows();
    expect(await windowItems(next[later.run])).toEqual(['incoming/d.jpg']);
    expect(steps.list().map((e) => JSON.parse(e.input) as unknown)).toEqual([{ window: { waitSeconds: WINDOW_SECONDS } },
      { window: { waitSeconds: WINDOW_SECONDS } }]);
  });

  test('an upload made while the window is being collected is in that window or the next, never lost nor in both', async () => {
    const opened = await upload(uploadEvent('incoming/e.jpg'), settings, clients);
    // The marker of this upload is written, then its run collects before the upload looks for a window.
    await clients.s3.send(new PutObjectCommand({ Bucket: 'out', Key: 'results/windows/pending/late.json', Body: JSON.stringify({ key: 'incoming/late.jpg' }) }));
    const collected = await closeWindows();
    expect(await windowItems(collected[opened.run])).toEqual(['incoming/e.jpg', 'incoming/late.jpg']);
    // The upload goes on: no window is open, so it opens one, which finds nothing left and ends without a run of images.
    const reopened = await openWindow(STATE_MACHINE, WINDOW_SECONDS, settings, clients);
    expect(reopened.opened).toBe(true);
    const empty = await closeWindows();
    expect(empty[reopened.run]).toEqual({ runId: reopened.run, images: 0 });
  });

  test('a window whose run never collected is taken over once stale; the sweep reopens uploads nobody collects', async () => {
    // A run that died before collecting (stopped by hand): its window stays open, its marker pending.
    const opened = await upload(uploadEvent('incoming/f.jpg'), settings, clients);
    await steps.stop(steps.list().find((e) => e.name === opened.run)!.executionArn);
    const stillOpen = await upload(uploadEvent('incoming/g.jpg'), settings, clients);
    expect(stillOpen).toMatchObject({ opened: false, run: opened.run });
    // Nothing opens a window while it is young; the sweep leaves it too.
    expect(await reopenIfPending(STATE_MACHINE, WINDOW_SECONDS, settings, clients)).toBeUndefined();
    cloud.clock.advance((WINDOW_SECONDS + STALE_AFTER_SECONDS) * 1000 + 1);
    // The hourly sweep finds uploads pending and a stale window: it opens a new one, which takes both uploads.
    const run = await reopenIfPending(STATE_MACHINE, WINDOW_SECONDS, settings, clients);
    expect(run).toBeDefined();
    const collected = await closeWindows();
    expect(await windowItems(collected[run!])).toEqual(['incoming/f.jpg', 'incoming/g.jpg']);
    expect(await keysUnder('results/windows/')).toEqual([]);
  });
});
