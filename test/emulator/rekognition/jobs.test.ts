import { VirtualClock } from '../../../lib/emulator/clock';
import { DURATIONS, EmulatorCore } from '../../../lib/emulator/rekognition/core';
import { LocalS3Access } from '../../../lib/emulator/rekognition/s3';
import { JobResult } from '../../../lib/emulator/rekognition/state';

/** Resolves to 'settled', or to 'waiting' when `p` is still pending after two seconds. */
async function within(p: Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('waiting'), 2000);
  });
  try {
    return await Promise.race([p.then(() => 'settled'), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('EmulatorCore jobs whose duration comes with their result (an import)', () => {
  test('a request before the least duration does not wait for the work; one after it does, and sees the job applied', async () => {
    const clock = new VirtualClock({ start: 0, timeScale: 0 });
    const s3 = new LocalS3Access('http://127.0.0.1:9', 'us-east-1');
    const core = new EmulatorCore(clock, 'us-east-1', '123456789012', s3, 5, () => undefined);
    let release!: (r: JobResult) => void;
    core.startJob('datasetCreate', 'arn:train', undefined, () => new Promise<JobResult>((resolve) => {
      release = resolve;
    }));
    const applied: string[] = [];
    const apply = (job: { target: string }): void => {
      applied.push(job.target);
    };
    // Still computing (a big import): a CreateDataset of the test set at the same instant is answered at once.
    expect(await within(core.settle(apply))).toBe('settled');
    clock.advance(DURATIONS.datasetBaseMs);
    // From the least duration on, the job may be due: the request waits for the work, as it must to answer the same
    // at every speed.
    const settling = core.settle(apply);
    expect(await within(settling)).toBe('waiting');
    release({ durationMs: DURATIONS.datasetBaseMs, ok: true, entries: [] });
    await settling;
    expect(applied).toEqual(['arn:train']);
    core.closed = true;
    s3.destroy();
  });
});
