import * as fs from 'node:fs';
import * as path from 'node:path';

import { attachNegativeValues } from '../../lib/cli/args';
import { main, USAGE } from '../../lib/cli/main';
import { memoryIo } from './memory-io';

interface Run { code: number; stdout: string; stderr: string }

async function run(...args: string[]): Promise<Run> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

const ownVersion = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

describe('custom-labels (the top level)', () => {
  test.each([['--version'], ['-V']])('%s prints the package version on stdout, exit 0', async (flag) => {
    expect(await run(flag)).toEqual({ code: 0, stdout: `${ownVersion}\n`, stderr: '' });
  });

  test('help <command> prints that command\'s help, as <command> --help does', async () => {
    const viaHelp = await run('help', 'manifest');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: custom-labels manifest <sub-command>/);
    expect(viaHelp).toEqual(await run('manifest', '--help'));
    expect((await run('help', 'manifest', 'split')).stdout).toEqual((await run('manifest', 'split', '--help')).stdout);
    expect((await run('help', 'local')).stdout).toMatch(/^Usage: custom-labels local deploy/);
    expect((await run('help', 'emulator')).stdout).toMatch(/^Usage: custom-labels emulator/);
  });

  test('help alone, --help and -h print the top-level usage on stdout, exit 0', async () => {
    for (const flag of ['help', '--help', '-h']) expect(await run(flag)).toEqual({ code: 0, stdout: USAGE, stderr: '' });
    expect(USAGE).toContain('-V, --version');
  });

  test('bare commands are usage errors: the usage on stderr, exit 2, the same for every command that needs more', async () => {
    for (const args of [[], ['manifest'], ['local']]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Usage: custom-labels /);
    }
  });

  test('help of an unknown command, and an unknown command: exit 2, one line', async () => {
    for (const args of [['help', 'deploy'], ['deploy']]) {
      expect(await run(...args)).toEqual({ code: 2, stdout: '', stderr: "custom-labels: unknown command 'deploy'. Run 'custom-labels --help'.\n" });
    }
  });

  test('emulator --time-scale -1: the flag\'s own message, not "argument is ambiguous"', async () => {
    expect(await run('emulator', '--time-scale', '-1')).toEqual({
      code: 2, stdout: '', stderr: 'custom-labels emulator: --time-scale must be a number >= 0 or Infinity, got: -1\n',
    });
  });
});

describe('attachNegativeValues', () => {
  const options = { seed: { type: 'string' }, verbose: { type: 'boolean' } } as const;

  test('joins a string option and a negative number that follows it', () => {
    expect(attachNegativeValues(['--seed', '-3', 'file'], options)).toEqual(['--seed=-3', 'file']);
    expect(attachNegativeValues(['--seed', '-.5'], options)).toEqual(['--seed=-.5']);
    expect(attachNegativeValues(['--seed', '-Infinity'], options)).toEqual(['--seed=-Infinity']);
  });

  test('leaves everything else alone: flags, boolean options, values with =, and what follows --', () => {
    expect(attachNegativeValues(['--seed', '--verbose'], options)).toEqual(['--seed', '--verbose']);
    expect(attachNegativeValues(['--verbose', '-1'], options)).toEqual(['--verbose', '-1']);
    expect(attachNegativeValues(['--seed=-1', '-2'], options)).toEqual(['--seed=-1', '-2']);
    expect(attachNegativeValues(['--', '--seed', '-1'], options)).toEqual(['--', '--seed', '-1']);
  });
});
