import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runLifecycleDemo } from '../../bin/demo/lifecycle';

describe('the lifecycle demo (npm run demo, the README\'s main command)', () => {
  test('deploys the example app offline, trains, gates, serves, detects, destroys, and leaves nothing running', async () => {
    // GIVEN collectors for the progress (stderr) and the report (stdout)
    const progress: string[] = [];
    const report: string[] = [];
    // WHEN the demo runs
    const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-reports-'));
    const code = await runLifecycleDemo({ progress: (l) => progress.push(l), report: (l) => report.push(l), reportsDir });
    // THEN it passes and says so, with the figures the issue asks for
    const text = report.join('\n');
    expect([code, report[report.length - 1]]).toEqual([0, 'Lifecycle demo passed.']);
    expect(text).toContain('Nothing left running.');
    expect(text).toMatch(/pipeline overhead: /);
    expect(text).toMatch(/Meter: [\d.]+ training hours \(\$[\d.]+ at \$1\/h\) \+ [\d.]+ inference-unit hours/);
    expect(progress.join('\n')).toContain('stack destroyed');
    // AND each model's evaluation report, as the workflow wrote it, is saved
    const reports = fs.readdirSync(reportsDir).sort();
    expect(reports).toEqual([expect.stringMatching(/^Classifier-.+\.html$/), expect.stringMatching(/^Detector-.+\.html$/)]);
    for (const file of reports) {
      expect(text).toContain(`evaluation report: ${path.join(reportsDir, file)}`);
      expect(fs.readFileSync(path.join(reportsDir, file), 'utf8')).toMatch(/^<!doctype html>/i);
    }
    fs.rmSync(reportsDir, { recursive: true, force: true });
  }, 120_000);
});
