import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { main } from '../../lib/cli/main';
import { evaluationFixture } from '../report/fixtures';
import { memoryIo } from './memory-io';

interface Run { code: number; stdout: string; stderr: string }

describe('custom-labels report', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-report-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<Run> {
    const m = memoryIo(dir);
    const code = await main(['report', ...args], m);
    return { code, stdout: m.out(), stderr: m.err() };
  }

  function expectOneLineError(r: Run, code: number, text: string): void {
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  /** The learner's classification evaluation, written as training writes it. */
  function files(): { summary: string; testing: string; images: string } {
    const f = evaluationFixture('IMAGE_LEVEL_LABELS', dir);
    fs.writeFileSync(path.join(dir, 'summary.json'), f.summary);
    fs.writeFileSync(path.join(dir, 'testing.manifest'), f.testingOutput);
    return { summary: 'summary.json', testing: 'testing.manifest', images: f.imagesDir };
  }

  test('--help prints the usage on stdout and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: custom-labels report <EvaluationResultSummary.json> --out <report.html>/);
    for (const flag of ['--testing-output', '--images', '--gate', '--format']) expect(r.stdout).toContain(flag);
  });

  test('usage and I/O errors: exit 2 with one line, nothing written', async () => {
    const { summary } = files();
    expectOneLineError(await run(), 2, 'custom-labels report: needs an EvaluationResultSummary file');
    expectOneLineError(await run(summary), 2, '--out is required');
    expectOneLineError(await run('missing.json', '--out', 'r.html'), 2, `summary not found: ${path.join(dir, 'missing.json')}`);
    expectOneLineError(await run(summary, '--out', 'r.html', '--testing-output', 'nope'), 2, 'testing-output manifest not found');
    expectOneLineError(await run(summary, '--out', 'r.html', '--gate', 'minF1=2'), 2, '--gate: the gate\'s minF1 must be a number from 0 to 1, got: "2"');
    expectOneLineError(await run(summary, '--out', 'r.html', '--format', 'xml'), 2, '--format must be text or json, got: xml');
    expectOneLineError(await run(summary, '--out', 'r.html', '--images', 'nowhere'), 2, '--images is not a folder');
    expectOneLineError(await run(summary, '--out', 'no/such/r.html'), 2, 'its folder does not exist');
    expectOneLineError(await run(summary, '--out', 'r.html', '--bogus'), 2, "Unknown option '--bogus'");
    expect(fs.existsSync(path.join(dir, 'r.html'))).toBe(false);
  });

  test('a file that is not an evaluation summary: exit 1 with one line, nothing written', async () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"Version":1}');
    expectOneLineError(await run('bad.json', '--out', 'r.html'), 1, 'bad.json: the evaluation summary has no AggregatedEvaluationResults object');
    expect(fs.existsSync(path.join(dir, 'r.html'))).toBe(false);
  });

  test('writes the page; exit 1 when the gate fails, 0 when it passes; --format json for machines', async () => {
    const { summary, testing, images } = files();
    const failed = await run(summary, '--testing-output', testing, '--images', images, '--gate', 'minF1=0.9', '--out', 'r.html');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toBe(`wrote ${path.join(dir, 'r.html')} (F1 0.750, 3 label(s), 3 false positive(s), 3 false negative(s))\n`
      + 'Evaluation gate failed: overall F1 0.750 is below minF1 0.900\n');
    const html = fs.readFileSync(path.join(dir, 'r.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('data:image/png;base64,');

    const passed = await run(summary, '--testing-output', testing, '--gate', 'minF1=0.7,minLabelF1=0.7', '--out', 'r2.html', '--format', 'json');
    expect(passed.code).toBe(0);
    expect(passed.stderr).toBe('');
    expect(JSON.parse(passed.stdout)).toEqual({
      out: path.join(dir, 'r2.html'), f1: 0.75, labels: 3, falsePositives: 3, falseNegatives: 3, missingImages: 0,
      gate: { passed: true, reason: 'Evaluation gate passed: overall F1 0.750' },
    });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
