import { gzipSync } from 'node:zlib';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { distributedMapProblems } from '../../lib/runner/distributed-map';
import { MemoryParameterStore, sdkTaskHandler } from '../../lib/runner/sdk-tasks';
import { runStateMachine, RunStateMachineOptions } from '../../lib/runner/state-machine';
import { VirtualTimeDriver } from '../../lib/runner/virtual-time';

// Distributed Map states run by the runner (not by aws-local-stepfunctions): item readers over a real local S3,
// batching, child executions at most MaxConcurrency at a time, tolerated failures, the result writer and the limits.
const BUCKET = 'dmap';
const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:batch';
const WORKER = 'arn:aws:lambda:us-east-1:123456789012:function:worker';

let cloud: LocalCloud;
let s3: S3Client;
let driver: VirtualTimeDriver;

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: [BUCKET] });
  s3 = cloud.s3.client();
  driver = new VirtualTimeDriver(cloud.clock);
  // 1,205 objects: ListObjectsV2 pages hold 1,000.
  const keys = Array.from({ length: 1205 }, (_, i) => `in/img-${String(i).padStart(4, '0')}.png`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }))));
  }
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other/skip.png', Body: 'x' }));
}, 120_000);

afterAll(async () => {
  driver.close();
  s3.destroy();
  await cloud.stop();
});

async function text(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return out.Body!.transformToString();
}

/** A parent with one distributed Map whose children call WORKER with their input. */
function definition(map: Record<string, unknown>, processor: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    StartAt: 'Analyse',
    States: {
      Analyse: {
        Type: 'Map',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Work',
          States: { Work: { Type: 'Task', Resource: WORKER, End: true } },
          ...processor,
        },
        ResultPath: '$.map',
        End: true,
        ...map,
      },
    },
  };
}

function options(overrides: Partial<RunStateMachineOptions> = {}): RunStateMachineOptions {
  const sdk = sdkTaskHandler(cloud, new MemoryParameterStore());
  return {
    definition: {},
    input: { bucket: BUCKET },
    sdkHandler: (service, action, parameters) => sdk(service, action, parameters),
    clock: () => cloud.clock.now(),
    onWait: async (wait) => cloud.clock.sleep(typeof wait === 'number' ? wait * 1000 : 0),
    context: { StateMachine: { Id: SM, Name: 'batch' }, Execution: { Id: `${SM.replace('stateMachine', 'execution')}:run-1`, Name: 'run-1' } },
    ...overrides,
  };
}

describe('distributed Map offline', () => {
  test('ListObjectsV2 reader over a prefix (two pages), batches of 100 with BatchInput, at most 3 children at a time, results in S3', async () => {
    let running = 0;
    let peak = 0;
    const seen: { items: number; batchInput: unknown }[] = [];
    const result = await runStateMachine(options({
      definition: definition({
        ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { 'Bucket.$': '$.bucket', Prefix: 'in/' } },
        ItemSelector: { 'key.$': '$$.Map.Item.Value.Key', 'index.$': '$$.Map.Item.Index', 'bucket.$': '$.bucket' },
        ItemBatcher: { MaxItemsPerBatch: 100, BatchInput: { 'run.$': '$$.Execution.Name' } },
        MaxConcurrency: 3,
        ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { 'Bucket.$': '$.bucket', Prefix: 'results' } },
      }),
      lambdaHandler: async (_arn, payload) => {
        const p = payload as { Items: { key: string; index: number }[]; BatchInput: unknown };
        running += 1;
        peak = Math.max(peak, running);
        // Each child takes a minute of virtual time: 13 children 3 at a time take 5 minutes.
        await cloud.clock.sleep(60_000);
        running -= 1;
        seen.push({ items: p.Items.length, batchInput: p.BatchInput });
        return { first: p.Items[0].key, count: p.Items.length };
      },
    }));
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(peak).toBe(3);
    expect(seen.map((s) => s.items).sort((a, b) => a - b)).toEqual([5, ...Array(12).fill(100)]);
    expect(seen.every((s) => JSON.stringify(s.batchInput) === '{"run":"run-1"}')).toBe(true);
    const output = (result.output as { map: { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } } }).map;
    expect(output.MapRunArn).toMatch(/^arn:aws:states:us-east-1:123456789012:mapRun:batch\/Analyse:[0-9a-f-]{36}$/);
    expect(output.ResultWriterDetails.Key).toMatch(/^results\/[0-9a-f-]{36}\/manifest\.json$/);
    const manifest = JSON.parse(await text(output.ResultWriterDetails.Key)) as { ResultFiles: Record<string, { Key: string }[]> };
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    const succeeded = JSON.parse(await text(manifest.ResultFiles.SUCCEEDED[0].Key)) as { Status: string; Output: string; Input: string }[];
    expect(succeeded).toHaveLength(13);
    expect(succeeded.every((e) => e.Status === 'SUCCEEDED')).toBe(true);
    const firsts = succeeded.map((e) => (JSON.parse(e.Output) as { first: string }).first).sort();
    expect(firsts[0]).toBe('in/img-0000.png');
    expect(JSON.parse(succeeded[0].Input)).toMatchObject({ BatchInput: { run: 'run-1' } });
  }, 120_000);

  test('JSON, JSON Lines, CSV (FIRST_ROW and GIVEN) and S3 inventory readers, with MaxItems', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lists/a.json', Body: JSON.stringify([{ k: 'a' }, { k: 'b' }, { k: 'c' }]) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lists/a.jsonl', Body: '{"k":"a"}\n{"k":"b"}\n' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lists/a.csv', Body: 'k,label\na,"x, y"\nb,z\n' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lists/b.csv', Body: 'a;1\nb;2\n' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inv/data/1.csv.gz', Body: gzipSync('"dmap","in/img%2B1.png","4"\n"dmap","in/b.png","4"\n') }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inv/manifest.json', Body: JSON.stringify({
      sourceBucket: BUCKET, destinationBucket: `arn:aws:s3:::${BUCKET}`, fileFormat: 'CSV', fileSchema: 'Bucket, Key, Size',
      files: [{ key: 'inv/data/1.csv.gz' }] }) }));
    const read = async (reader: Record<string, unknown>): Promise<unknown[]> => {
      const result = await runStateMachine(options({
        definition: definition({ ItemReader: reader, ItemSelector: { 'v.$': '$$.Map.Item.Value' } },
          { States: { Work: { Type: 'Pass', OutputPath: '$.v', End: true } } }),
      }));
      expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
      return (result.output as { map: unknown[] }).map;
    };
    const get = (Key: string, config: Record<string, unknown>) => ({ Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: BUCKET, Key },
      ReaderConfig: config });
    expect(await read(get('lists/a.json', { InputType: 'JSON', MaxItems: 2 }))).toEqual([{ k: 'a' }, { k: 'b' }]);
    expect(await read(get('lists/a.jsonl', { InputType: 'JSONL' }))).toEqual([{ k: 'a' }, { k: 'b' }]);
    expect(await read(get('lists/a.csv', { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' }))).toEqual([{ k: 'a', label: 'x, y' }, { k: 'b', label: 'z' }]);
    expect(await read(get('lists/b.csv', { InputType: 'CSV', CSVHeaderLocation: 'GIVEN', CSVHeaders: ['k', 'n'], CSVDelimiter: 'SEMICOLON' })))
      .toEqual([{ k: 'a', n: '1' }, { k: 'b', n: '2' }]);
    expect(await read(get('inv/manifest.json', { InputType: 'MANIFEST' })))
      .toEqual([{ Bucket: BUCKET, Key: 'in/img+1.png', Size: '4' }, { Bucket: BUCKET, Key: 'in/b.png', Size: '4' }]);
  }, 60_000);

  test('tolerated failures: 2 of 10 children fail; 20% is tolerated, 10% is not (States.ExceedToleratedFailureThreshold, FAILED_0.json written)', async () => {
    const run = (tolerated: number) => runStateMachine(options({
      input: { bucket: BUCKET, items: Array.from({ length: 10 }, (_, i) => i) },
      definition: definition({
        ItemsPath: '$.items', ToleratedFailurePercentage: tolerated, MaxConcurrency: 1,
        ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: BUCKET, Prefix: `tolerance-${tolerated}` } },
      }),
      lambdaHandler: async (_arn, item) => {
        if (item === 3 || item === 7) throw Object.assign(new Error(`item ${String(item)} is poisoned`), { name: 'Poisoned' });
        return item;
      },
    }));
    const tolerated = await run(20);
    expect([tolerated.status, tolerated.error, tolerated.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const refused = await run(10);
    expect([refused.status, refused.error]).toEqual(['FAILED', 'States.ExceedToleratedFailureThreshold']);
    expect(refused.cause).toContain('2 of 10 child workflow executions failed');
    // The failed children, with their errors, are in the results even though the state failed.
    const keys = (await listKeys('tolerance-10/')).filter((k) => k.endsWith('FAILED_0.json'));
    const failed = JSON.parse(await text(keys[0])) as { Error: string; Cause: string; Input: string; RedriveStatusReason: string }[];
    expect(failed.map((f) => [f.Input, f.Error])).toEqual([['3', 'Poisoned'], ['7', 'Poisoned']]);
    // Each record says what happened to its child.
    expect(failed.map((f) => f.RedriveStatusReason)).toEqual(['Execution is FAILED and cannot be redriven', 'Execution is FAILED and cannot be redriven']);
  }, 60_000);

  test('run-time limits: a reader that fails is States.ItemReaderFailed (a Catch takes it); an item over MaxInputBytesPerBatch is States.Runtime', async () => {
    const caught = await runStateMachine(options({
      definition: {
        StartAt: 'Analyse',
        States: {
          Analyse: {
            ...(definition({ ItemReader: { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: BUCKET, Key: 'nope.json' },
              ReaderConfig: { InputType: 'JSON' } } }).States as Record<string, Record<string, unknown>>).Analyse,
            End: undefined, Next: 'Done', Catch: [{ ErrorEquals: ['States.ItemReaderFailed'], ResultPath: '$.error', Next: 'Done' }],
          },
          Done: { Type: 'Pass', End: true },
        },
      },
    }));
    expect([caught.status, caught.error, caught.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect((caught.output as { error: { Error: string; Cause: string } }).error).toMatchObject({ Error: 'States.ItemReaderFailed' });
    expect((caught.output as { error: { Cause: string } }).error.Cause).toContain('NoSuchKey');
    const big = await runStateMachine(options({
      input: { items: ['x'.repeat(2000)] },
      definition: definition({ ItemsPath: '$.items', ItemBatcher: { MaxInputBytesPerBatch: 1024 } }),
      lambdaHandler: async () => 'never',
    }));
    expect([big.status, big.error]).toEqual(['FAILED', 'States.Runtime']);
    expect(big.cause).toContain('larger than MaxInputBytesPerBatch (1024 bytes)');
  });

  test('children need states:StartExecution on the state machine: a denial fails the Map with States.Permissions and AWS\'s message', async () => {
    const denied = await runStateMachine(options({
      input: { items: [1] },
      definition: definition({ ItemsPath: '$.items' }),
      lambdaHandler: async () => 'never',
      authorize: async (action, resource) => {
        throw new Error(`User: arn:aws:sts::123456789012:assumed-role/r/batch is not authorized to perform: ${action} on resource: ${resource}`);
      },
    }));
    expect([denied.status, denied.error]).toEqual(['FAILED', 'States.Permissions']);
    expect(denied.cause).toBe(`User: arn:aws:sts::123456789012:assumed-role/r/batch is not authorized to perform: states:StartExecution on resource: ${SM}`);
  });

  test('an EXPRESS child past 5 virtual minutes times out; a STANDARD one does not', async () => {
    const run = (type: string) => runStateMachine(options({
      input: { items: [1] },
      definition: definition({ ItemsPath: '$.items' }, {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: type },
        States: { Work: { Type: 'Wait', Seconds: 400, End: true } },
      }),
    }));
    const express = await run('EXPRESS');
    expect([express.status, express.error]).toEqual(['FAILED', 'States.ExceedToleratedFailureThreshold']);
    const standard = await run('STANDARD');
    expect(standard.status).toBe('SUCCEEDED');
  });

  test('what AWS refuses at deploy: MaxConcurrency over 10,000, MaxInputBytesPerBatch over 256 KiB, a long Label, a reader of another kind', () => {
    expect(distributedMapProblems(definition({
      MaxConcurrency: 10_001, Label: 'a'.repeat(41), ItemBatcher: { MaxInputBytesPerBatch: 262_145 }, ToleratedFailurePercentage: 101,
      ItemReader: { Resource: 'arn:aws:states:::dynamodb:scan', Parameters: {} },
    }))).toEqual([
      'States.Analyse.Label must be at most 40 characters, got 41',
      'States.Analyse.MaxConcurrency must be an integer from 0 to 10000, got: 10001',
      'States.Analyse.ToleratedFailurePercentage must be from 0 to 100, got: 101',
      'States.Analyse.ItemBatcher.MaxInputBytesPerBatch must be from 1 to 262144 bytes (256 KiB), got: 262145',
      'States.Analyse.ItemReader.Resource must be arn:aws:states:::s3:listObjectsV2 or arn:aws:states:::s3:getObject offline, got: '
        + '"arn:aws:states:::dynamodb:scan"',
    ]);
    expect(distributedMapProblems(definition({ MaxConcurrency: 10 }))).toEqual([]);
  });
});

async function listKeys(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}
