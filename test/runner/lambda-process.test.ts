import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LambdaFunctionError, LambdaFunctionSpec, LambdaHost } from '../../lib/runner/lambda-host';
import { LambdaReport } from '../../lib/runner/lambda-process';

// Functions run in a child process each: their memory is measured and held to MemorySize, as Lambda does.
describe('LambdaHost with processes', () => {
  let dir: string;
  const reports: LambdaReport[] = [];
  const logs: string[] = [];
  const host = new LambdaHost({ baseEnvironment: { AWS_REGION: 'us-east-1' }, log: (l) => logs.push(l), processes: { onReport: (r) => reports.push(r) } });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-process-'));
    fs.writeFileSync(path.join(dir, 'index.js'), [
      'exports.handler = async (event, context) => { console.log("hi", event.n); return { n: event.n + 1, region: process.env.AWS_REGION,',
      '  remaining: context.getRemainingTimeInMillis() > 0, name: context.functionName }; };',
      // Touches every page, so the pages are resident.
      'exports.hog = async (event) => { const b = Buffer.alloc(event.mb * 1024 * 1024, 1); return b.length; };',
      "exports.fails = async () => { const e = new Error('the bucket is gone'); e.name = 'NoSuchBucket'; throw e; };",
    ].join('\n'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = (handler: string, memorySize = 256): LambdaFunctionSpec => ({
    functionName: 'fn', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fn', codeDir: dir, handler, environment: {}, memorySize,
    timeoutSeconds: 30,
  });

  test('GIVEN a function THEN it runs in a child with its environment and context, and its use is reported', async () => {
    await expect(host.invoke(spec('index.handler'), { n: 1 })).resolves.toEqual({ n: 2, region: 'us-east-1', remaining: true, name: 'fn' });
    expect(logs).toContain('[fn] hi 1');
    expect(reports.at(-1)).toMatchObject({ functionName: 'fn', memorySizeMb: 256, ok: true });
    expect(reports.at(-1)!.maxMemoryUsedMb).toBeGreaterThan(10);
  });

  test('GIVEN a function that passes its MemorySize THEN the invocation fails as Lambda fails it', async () => {
    const err = await host.invoke(spec('index.hog', 128), { mb: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LambdaFunctionError);
    expect(err).toMatchObject({ name: 'Runtime.OutOfMemory' });
    expect((err as Error).message).toMatch(/Runtime exited with error: signal: killed \(Max Memory Used: \d+ MB of 128 MB\)$/);
    // The same work fits a larger function.
    await expect(host.invoke(spec('index.hog', 512), { mb: 200 })).resolves.toBe(200 * 1024 * 1024);
  });

  test('GIVEN a host process larger than the function\'s MemorySize THEN only the function\'s own memory counts', async () => {
    // A child spawned from a large process inherits its ru_maxrss high-water mark: the test runner's own size must not
    // be billed to the function.
    const ballast = Buffer.alloc(300 * 1024 * 1024, 1);
    await expect(host.invoke(spec('index.handler', 128), { n: 1 })).resolves.toMatchObject({ n: 2 });
    expect(reports.at(-1)!.maxMemoryUsedMb).toBeLessThan(128);
    expect(ballast.length).toBe(300 * 1024 * 1024);
  });

  test('GIVEN a function that throws THEN its error type and message come back', async () => {
    await expect(host.invoke(spec('index.fails'), {})).rejects.toMatchObject({ name: 'NoSuchBucket', message: 'the bucket is gone' });
  });
});
