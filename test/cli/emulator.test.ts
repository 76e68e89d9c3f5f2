import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CreateProjectCommand, DescribeProjectsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

import { parseEmulatorArgs } from '../../lib/cli/emulator';
import { main } from '../../lib/cli/main';
import { MemoryIo as FakeIo, memoryIo as fakeIo } from './memory-io';


async function firstLine(io: FakeIo, exit: Promise<number>): Promise<string> {
  for (let i = 0; i < 600; i++) {
    if (io.out().includes('\n')) return io.out().split('\n')[0];
    const tick = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 25));
    const done = await Promise.race([exit.then((code) => `exited ${code}: ${io.err()}`), tick]);
    if (done !== undefined) throw new Error(done);
  }
  throw new Error(`no JSON line after 15 s; stderr: ${io.err()}`);
}

describe('custom-labels emulator', () => {
  test('prints both endpoints, serves the real SDKs, logs requests and stops with exit 0 on SIGTERM', async () => {
    // GIVEN the command started on free ports
    const io = fakeIo();
    const sigtermListeners = process.listenerCount('SIGTERM');
    const exit = main(['emulator', '--port', '0', '--s3-port', '0', '--time-scale', 'Infinity'], io);
    const line = await firstLine(io, exit);
    // THEN stdout has one JSON line with two 127.0.0.1 endpoints
    const endpoints = JSON.parse(line) as { rekognition: string; s3: string };
    expect(Object.keys(endpoints).sort()).toEqual(['rekognition', 's3']);
    expect(endpoints.rekognition).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(endpoints.s3).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    // WHEN the real SDKs call them
    const credentials = { accessKeyId: 'AKIDCLI', secretAccessKey: 'cli' };
    const rek = new RekognitionClient({ endpoint: endpoints.rekognition, region: 'us-east-1', credentials, maxAttempts: 1 });
    const s3 = new S3Client({ endpoint: endpoints.s3, region: 'us-east-1', credentials });
    await rek.send(new CreateProjectCommand({ ProjectName: 'cli-project' }));
    const described = await rek.send(new DescribeProjectsCommand({}));
    await s3.send(new CreateBucketCommand({ Bucket: 'cli-bucket' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'cli-bucket' }));
    expect(described.ProjectDescriptions?.length).toBe(1);
    // THEN each request is one stderr line with time, operation and status
    const log = io.err();
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z CreateProject 200\b/m);
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z DescribeProjects 200\b/m);
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z S3 PUT \/cli-bucket\/? 200\b/m);
    // WHEN SIGTERM arrives
    process.emit('SIGTERM');
    // THEN the command resolves with 0, both servers are closed, and its signal listeners are gone
    await expect(exit).resolves.toBe(0);
    await expect(rek.send(new DescribeProjectsCommand({}))).rejects.toThrow(/ECONNREFUSED/);
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'cli-bucket' }))).rejects.toThrow(/ECONNREFUSED/);
    expect(process.listenerCount('SIGTERM')).toBe(sigtermListeners);
    expect(io.out().split('\n')).toEqual([line, '']);
    rek.destroy();
    s3.destroy();
  });

  test('SIGINT stops it too, --state-dir keeps state for the next run, and nothing else may use the directory meanwhile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-emulator-test-'));
    try {
      // A state directory that does not exist is an error unless --create is given: a typo never starts an empty world.
      const missing = fakeIo(dir);
      await expect(main(['emulator', '--port', '0', '--s3-port', '0', '--state-dir', 'state'], missing)).resolves.toBe(2);
      expect(missing.err()).toBe(`custom-labels emulator: --state-dir ${path.join(dir, 'state')} does not exist (looked for that folder); `
        + 'pass --create to start with an empty one, or check the path\n');
      expect(fs.existsSync(path.join(dir, 'state'))).toBe(false);

      const io1 = fakeIo(dir);
      const exit1 = main(['emulator', '--port', '0', '--s3-port', '0', '--state-dir', 'state', '--create'], io1);
      const first = JSON.parse(await firstLine(io1, exit1)) as { rekognition: string };
      const rek1 = new RekognitionClient({ endpoint: first.rekognition, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      await rek1.send(new CreateProjectCommand({ ProjectName: 'kept' }));
      rek1.destroy();
      // While it runs, a second emulator and the runner are refused (exit 2), naming the holder's PID and how to stop it.
      const rival = fakeIo(dir);
      await expect(main(['emulator', '--port', '0', '--s3-port', '0', '--state-dir', 'state'], rival)).resolves.toBe(2);
      const holder = new RegExp(`^custom-labels emulator: the state directory ${escape(path.join(dir, 'state'))} is in use by process ${process.pid} `
        + `\\(custom-labels emulator, since [0-9T:.Z-]+\\): stop it first \\(Ctrl-C where it runs, or kill ${process.pid}\\), then run this again\n$`);
      expect(rival.err()).toMatch(holder);
      fs.mkdirSync(path.join(dir, 'state', 'runner'));
      fs.writeFileSync(path.join(dir, 'state', 'runner', 'state.json'), JSON.stringify({ version: 1, looseParameters: {}, stacks: {} }));
      const destroy = fakeIo(dir);
      await expect(main(['local', 'destroy', '--state-dir', 'state'], destroy)).resolves.toBe(2);
      expect(destroy.err()).toContain(`custom-labels local: the state directory ${path.join(dir, 'state')} is in use by process ${process.pid} `
        + '(custom-labels emulator, since ');
      process.emit('SIGINT');
      await expect(exit1).resolves.toBe(0);
      expect(fs.existsSync(path.join(dir, 'state', 'rekognition'))).toBe(true);

      const io2 = fakeIo(dir);
      const exit2 = main(['emulator', '--port', '0', '--s3-port', '0', '--state-dir', path.join(dir, 'state')], io2);
      const second = JSON.parse(await firstLine(io2, exit2)) as { rekognition: string };
      const rek2 = new RekognitionClient({ endpoint: second.rekognition, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      const described = await rek2.send(new DescribeProjectsCommand({ ProjectNames: ['kept'] }));
      expect(described.ProjectDescriptions?.length).toBe(1);
      rek2.destroy();
      process.emit('SIGINT');
      await expect(exit2).resolves.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [['--port', 'abc'], 'custom-labels emulator: --port must be an integer from 0 to 65535, got: abc'],
    [['--s3-port', '70000'], 'custom-labels emulator: --s3-port must be an integer from 0 to 65535, got: 70000'],
    [['--time-scale=-1'], 'custom-labels emulator: --time-scale must be a number >= 0 or Infinity, got: -1'],
    [['--verbose'], "custom-labels emulator: Unknown option '--verbose'. Run 'custom-labels emulator --help'."],
    [['extra'], "custom-labels emulator: Unexpected argument 'extra'. Run 'custom-labels emulator --help'."],
  ])('bad flags %j: exit 2 with one line', async (args, message) => {
    const io = fakeIo();
    await expect(main(['emulator', ...args], io)).resolves.toBe(2);
    expect(io.err()).toBe(`${message}\n`);
    expect(io.out()).toBe('');
  });

  test('--iam-policy authorizes every caller against the policy, with AWS\'s AccessDeniedException', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-emulator-iam-'));
    try {
      fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify({ Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'rekognition:DescribeProjects', Resource: '*' }] }));
      const io = fakeIo(dir);
      const exit = main(['emulator', '--port', '0', '--s3-port', '0', '--iam-policy', 'policy.json'], io);
      const { rekognition } = JSON.parse(await firstLine(io, exit)) as { rekognition: string };
      const rek = new RekognitionClient({ endpoint: rekognition, region: 'us-east-1', credentials: { accessKeyId: 'AKIDUSER', secretAccessKey: 'b' },
        maxAttempts: 1 });
      await expect(rek.send(new DescribeProjectsCommand({}))).resolves.toBeDefined();
      await expect(rek.send(new CreateProjectCommand({ ProjectName: 'no' }))).rejects.toMatchObject({ name: 'AccessDeniedException',
        message: 'User: arn:aws:sts::123456789012:assumed-role/offline-user/AKIDUSER is not authorized to perform: rekognition:CreateProject '
          + 'because no identity-based policy allows the rekognition:CreateProject action' });
      rek.destroy();
      process.emit('SIGTERM');
      await expect(exit).resolves.toBe(0);
      const bad = fakeIo(dir);
      fs.writeFileSync(path.join(dir, 'bad.json'), '{"Version": "2012-10-17"}');
      await expect(main(['emulator', '--iam-policy', 'bad.json'], bad)).resolves.toBe(2);
      expect(bad.err()).toBe(`custom-labels emulator: --iam-policy: ${path.join(dir, 'bad.json')} must hold an IAM policy document `
        + '({"Version": "2012-10-17", "Statement": [...]})\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port in use: exit 2 with one line naming the flags', async () => {
    const io1 = fakeIo();
    const exit1 = main(['emulator', '--port', '0', '--s3-port', '0'], io1);
    const { s3 } = JSON.parse(await firstLine(io1, exit1)) as { s3: string };
    const io2 = fakeIo();
    await expect(main(['emulator', '--port', '0', '--s3-port', new URL(s3).port], io2)).resolves.toBe(2);
    expect(io2.err()).toMatch(/^custom-labels emulator: a port is already in use \(.*EADDRINUSE.*\); choose others with --port and --s3-port \(0 = any free port\)\n$/);
    process.emit('SIGTERM');
    await expect(exit1).resolves.toBe(0);
  });

  test('--help prints the usage on stdout and exits 0 without starting anything', async () => {
    const io = fakeIo();
    await expect(main(['emulator', '--help'], io)).resolves.toBe(0);
    expect(io.out()).toMatch(/^Usage: custom-labels emulator \[--port 4599\]/);
    expect(io.out()).toContain('--state-dir <dir>');
    expect(io.err()).toBe('');
  });

  test('the top-level usage lists the command', async () => {
    const io = fakeIo();
    await expect(main(['--help'], io)).resolves.toBe(0);
    expect(io.out()).toMatch(/^ {2}emulator +run Rekognition Custom Labels and S3 locally$/m);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('parseEmulatorArgs', () => {
  test('defaults', () => {
    expect(parseEmulatorArgs([], '/w')).toEqual({ port: 4599, s3Port: 4598, timeScale: 600, stateDir: undefined, iamPolicy: undefined });
  });

  test('values, relative state dir resolved against cwd', () => {
    expect(parseEmulatorArgs(['--port', '0', '--s3-port', '5000', '--time-scale', '1.5', '--state-dir', 'st', '--create'], '/w'))
      .toEqual({ port: 0, s3Port: 5000, timeScale: 1.5, stateDir: path.resolve('/w', 'st'), iamPolicy: undefined });
    expect(parseEmulatorArgs(['--time-scale', 'inf'], '/w')?.timeScale).toBe(Infinity);
    expect(parseEmulatorArgs(['--time-scale', '0'], '/w')?.timeScale).toBe(0);
  });

  test('-h means help', () => {
    expect(parseEmulatorArgs(['-h'], '/w')).toBeUndefined();
  });
});
