import { RekognitionEmulator, ServiceError, VirtualClock } from '../../../lib/emulator';

describe('the awsJson1_1 wire protocol', () => {
  let emulator: RekognitionEmulator;
  let endpoint: string;
  beforeAll(async () => {
    // No S3 is needed for these calls; the endpoint is never contacted.
    emulator = new RekognitionEmulator({ s3Endpoint: 'http://127.0.0.1:9', clock: new VirtualClock({ start: 0, timeScale: 0 }) });
    endpoint = await emulator.listen();
  });
  afterAll(async () => {
    await emulator.close();
  });

  const call = (target: string | undefined, body: string, method = 'POST') => fetch(`${endpoint}/`, {
    method, body: method === 'POST' ? body : undefined,
    headers: { 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}) },
  });

  test('binds 127.0.0.1', () => {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('an empty body is read as {} and the answer is JSON with a request id', async () => {
    const res = await call('RekognitionService.DescribeProjects', '');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({ ProjectDescriptions: [] });
  });

  test('errors carry __type, Message, Code and Logref', async () => {
    const res = await call('RekognitionService.CreateProject', '{"ProjectName":"a b"}');
    expect(res.status).toBe(400);
    const body = await res.json() as Record<string, string>;
    expect(body.__type).toBe('InvalidParameterException');
    expect(body.Code).toBe('InvalidParameterException');
    expect(body.Message).toContain("at 'ProjectName'");
    expect(body.Logref).toBe(res.headers.get('x-amzn-requestid'));
  });

  test('timestamps are epoch seconds', async () => {
    await call('RekognitionService.CreateProject', '{"ProjectName":"stamped"}');
    const body = await (await call('RekognitionService.DescribeProjects', '{}')).json() as { ProjectDescriptions: Array<{ CreationTimestamp: number }> };
    expect(body.ProjectDescriptions[0].CreationTimestamp).toBe(0);
  });

  test('bad JSON, an unknown operation, a missing target and GET are client errors', async () => {
    expect((await (await call('RekognitionService.DescribeProjects', '{')).json() as { __type: string }).__type).toBe('SerializationException');
    expect((await (await call('RekognitionService.Nope', '{}')).json() as { __type: string }).__type).toBe('UnknownOperationException');
    expect((await call(undefined, '{}')).status).toBe(400);
    expect((await call('RekognitionService.DescribeProjects', '', 'GET')).status).toBe(400);
  });

  test('invoke runs an operation in-process with the same errors', async () => {
    await expect(emulator.invoke('CreateProject', { ProjectName: 'in-process' })).resolves.toHaveProperty('ProjectArn');
    const err = await emulator.invoke('CreateProject', { ProjectName: 'in-process' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).name).toBe('ResourceInUseException');
    expect((err as ServiceError).httpStatus).toBe(400);
  });
});
