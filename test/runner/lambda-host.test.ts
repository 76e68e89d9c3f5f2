import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { SNSClient } from '@aws-sdk/client-sns';

import { LambdaFunctionError, LambdaFunctionSpec, LambdaHost } from '../../lib/runner/lambda-host';

describe('LambdaHost', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-host-'));
    fs.writeFileSync(path.join(dir, 'helper.js'), 'exports.greeting = () => `hello from ${process.env.WHO}`;\n');
    fs.writeFileSync(path.join(dir, 'index.js'), [
      "const helper = require('./helper');",
      'let calls = 0;',
      'exports.handler = async (event, context) => {',
      '  calls += 1;',
      "  console.log('event', JSON.stringify(event));",
      '  return { greeting: helper.greeting(), endpoint: process.env.AWS_ENDPOINT_URL_S3, region: process.env.AWS_REGION,',
      '    calls, name: context.functionName, remaining: context.getRemainingTimeInMillis() > 0, when: new Date(0) };',
      '};',
      "exports.fails = async () => { const e = new Error('the bucket is gone'); e.name = 'NoSuchBucket'; throw e; };",
      'exports.callback = (event, context, done) => { setTimeout(() => done(null, { doubled: event.n * 2 }), 1); };',
      'exports.mutates = async (event) => { event.changed = true; return event; };',
    ].join('\n'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = (overrides: Partial<LambdaFunctionSpec> = {}): LambdaFunctionSpec => ({
    functionName: 'fn-a',
    functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fn-a',
    codeDir: dir,
    handler: 'index.handler',
    environment: { WHO: 'a', AWS_ENDPOINT_URL_S3: 'https://s3.amazonaws.com' },
    ...overrides,
  });

  test('runs the handler with its own environment, the offline endpoints winning, and JSON in and out', async () => {
    // GIVEN a host whose base environment points S3 at a local endpoint
    const lines: string[] = [];
    const host = new LambdaHost({ baseEnvironment: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_REGION: 'us-east-1' }, log: (l) => lines.push(l) });

    // WHEN two functions with different environments run the same code
    const a = await host.invoke(spec(), { x: 1 });
    const b = await host.invoke(spec({ functionName: 'fn-b', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fn-b',
      environment: { WHO: 'b' } }), {});
    const again = await host.invoke(spec(), { x: 2 });

    // THEN each sees its own variables (sibling files too), the offline endpoint, a context and its own module state
    expect(a).toEqual({ greeting: 'hello from a', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', calls: 1, name: 'fn-a', remaining: true,
      when: '1970-01-01T00:00:00.000Z' });
    expect(b).toMatchObject({ greeting: 'hello from b', calls: 1, name: 'fn-b' });
    expect(again).toMatchObject({ calls: 2 });
    // AND the host's own environment is untouched, and the console went to the log
    expect(process.env.WHO).toBeUndefined();
    expect(lines).toContain('[fn-a] event {"x":1}');
  });

  test('a thrown error becomes a LambdaFunctionError with the error type and message', async () => {
    const host = new LambdaHost({ baseEnvironment: {} });
    const failing = host.invoke(spec({ handler: 'index.fails' }), {});
    await expect(failing).rejects.toThrow('the bucket is gone');
    const error = await failing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaFunctionError);
    expect((error as LambdaFunctionError).name).toBe('NoSuchBucket');
  });

  test('callback-style handlers and event copies', async () => {
    const host = new LambdaHost({ baseEnvironment: {} });
    expect(await host.invoke(spec({ handler: 'index.callback' }), { n: 21 })).toEqual({ doubled: 42 });
    const event = { a: 1 };
    expect(await host.invoke(spec({ handler: 'index.mutates' }), event)).toEqual({ a: 1, changed: true });
    expect(event).toEqual({ a: 1 });
  });

  test('refuses what it cannot run, naming the function', async () => {
    const host = new LambdaHost({ baseEnvironment: {} });
    await expect(host.invoke(spec({ handler: 'index.missing' }), {})).rejects.toThrow('Function fn-a: index.js exports no function named missing');
    await expect(host.invoke(spec({ handler: 'nothere.handler' }), {})).rejects.toThrow(`Function fn-a: no nothere.js in ${dir}`);
    await expect(host.invoke(spec({ runtime: 'python3.12' }), {})).rejects.toThrow('Function fn-a uses runtime python3.12: only Node.js functions run offline');
    await expect(host.invoke(spec({ handler: 'handler' }), {})).rejects.toThrow('handler must be "file.export", got: "handler"');
  });

  test('an unbundled AWS SDK (as Lambda\'s runtime provides it) gets the function\'s environment: its calls go to the offline endpoint', async () => {
    // GIVEN a local endpoint that records what reaches it, and a function requiring the SDK its folder does not hold
    const seen: { path: string; auth: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        seen.push({ path: req.url ?? '', auth: String(req.headers.authorization ?? ''), body });
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>UnknownOperationException</Code><Message>not here</Message></Error></ErrorResponse>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      fs.writeFileSync(path.join(dir, 'sdk.js'), [
        "const { SNSClient, PublishCommand } = require('@aws-sdk/client-sns');",
        'exports.handler = async () => {',
        "  await new SNSClient({}).send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hi' }));",
        '};',
        "exports.same = async () => require('@aws-sdk/client-sns').SNSClient === globalThis.__hostSnsClient;",
      ].join('\n'));
      expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);
      expect(process.env.AWS_ENDPOINT_URL).toBeUndefined();
      const host = new LambdaHost({ baseEnvironment: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'offline',
        AWS_SECRET_ACCESS_KEY: 'offline' } });
      // WHEN it publishes THEN the call reached the function's endpoint, signed with the function's credentials
      await expect(host.invoke(spec({ handler: 'sdk.handler' }), {})).rejects.toMatchObject({ name: 'UnknownOperationException', message: 'not here' });
      expect(seen).toHaveLength(1);
      expect(seen[0].auth).toContain('Credential=offline/');
      expect(seen[0].body).toContain('Action=Publish');
      // AND the function has its own instance of the SDK, not the host's
      (globalThis as { __hostSnsClient?: unknown }).__hostSnsClient = SNSClient;
      expect(await host.invoke(spec({ handler: 'sdk.same' }), {})).toBe(false);
    } finally {
      delete (globalThis as { __hostSnsClient?: unknown }).__hostSnsClient;
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
