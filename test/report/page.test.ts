/**
 * The evaluation report in a real browser (Debian's Chromium through playwright-core), for a classification and a
 * detection model trained and evaluated offline by the emulator's learner: the figures on the page are the summary's,
 * the examples are the testing-output manifest's false positives and negatives, and the page requests nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Browser, Page } from 'playwright-core';

import { folderLoader } from '../../lib/cli/report';
import { parseGateSpec } from '../../lib/report/gate';
import { buildEvaluationReport } from '../../lib/report/html';
import { artifactPath, launchChromium } from '../browser/chromium';
import { evaluationFixture } from './fixtures';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  browser = await launchChromium();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-page-'));
});
afterAll(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Summary {
  AggregatedEvaluationResults: {
    Metrics: Record<string, unknown> & { ConfusionMatrix?: Array<{ GroundTruthLabel: string; PredictedLabel: string; Value: number }> };
  };
  LabelEvaluationResults: Array<{
    Label: string; NumberOfTestingImages: number; Metrics: { Threshold: number; Precision: number; Recall: number; F1Score: number };
  }>;
}

/** Opens the HTML from a file and records every request the page makes. */
async function openReport(file: string): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.waitForLoadState('load');
  return { page, requests };
}

/** data-value and text of every element matching the selector. */
async function figures(page: Page, selector: string): Promise<Array<{ value: number; text: string }>> {
  return page.locator(selector).evaluateAll((nodes) => nodes.map((n) => ({ value: Number(n.getAttribute('data-value')), text: (n.firstChild?.textContent ?? '').trim() })));
}

/** Counts the flagged predictions of the testing-output manifest. */
function flagged(manifest: string, flag: 'is-false-positive' | 'is-false-negative'): number {
  let n = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o[flag] === true) n++;
      Object.values(o).forEach(visit);
    }
  };
  manifest.trimEnd().split('\n').forEach((l) => visit(JSON.parse(l)));
  return n;
}

test.each([
  ['classification', 'IMAGE_LEVEL_LABELS'],
  ['detection', 'OBJECT_LOCALIZATION'],
] as const)('the %s report shows the summary\'s figures, the gate, and the mistakes with their images', async (name, kind) => {
  // GIVEN a model trained and evaluated by the emulator's learner, and its evaluation files
  const fixture = evaluationFixture(kind, path.join(dir, name));
  const summary = JSON.parse(fixture.summary) as Summary;
  const report = await buildEvaluationReport({
    summary: fixture.summary, testingOutput: fixture.testingOutput, loadImage: folderLoader(fixture.imagesDir), gate: parseGateSpec('minF1=0.8,minLabelF1=0.5'),
  });
  expect(report.missingImages).toEqual([]);
  const file = artifactPath(`report-${name}.html`);
  fs.writeFileSync(file, report.html);
  const { page, requests } = await openReport(file);
  try {
    // THEN the page asked for nothing but itself (images are inline)
    expect(requests).toEqual([`file://${file}`]);

    // AND the overall figures are the summary's, shown to 3 decimals
    const metrics = summary.AggregatedEvaluationResults.Metrics;
    const expected = [['f1', metrics.F1Score], ['precision', metrics.Precision], ['recall', metrics.Recall]];
    if (kind === 'OBJECT_LOCALIZATION') expected.push(['average-precision', metrics.AveragePrecision], ['average-recall', metrics.AverageRecall]);
    const shown = await page.locator('#overall .metric').evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('data-metric'),
      Number(n.getAttribute('data-value')), n.querySelector('dd')!.textContent]));
    expect(shown).toEqual(expected.map(([k, v]) => [k, v, (v as number).toFixed(3)]));

    // AND each label's row: test images, assumed threshold, precision, recall, F1
    const rows = await page.locator('#labels tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-label')));
    expect(rows).toEqual(summary.LabelEvaluationResults.map((l) => l.Label));
    for (const l of summary.LabelEvaluationResults) {
      const row = `#labels tr[data-label="${l.Label}"]`;
      const cells = await figures(page, `${row} td[data-value]`);
      expect(cells).toEqual([
        { value: l.NumberOfTestingImages, text: String(l.NumberOfTestingImages) },
        ...[l.Metrics.Threshold, l.Metrics.Precision, l.Metrics.Recall, l.Metrics.F1Score].map((v) => ({ value: v, text: v.toFixed(3) })),
      ]);
    }

    // AND the confusion matrix (classification only) has every cell of the summary, as a percentage
    const matrix = await page.locator('#confusion td[data-value]').evaluateAll((tds) => tds.map((td) => ({
      truth: td.getAttribute('data-truth'), predicted: td.getAttribute('data-predicted'), value: Number(td.getAttribute('data-value')),
      text: td.textContent, background: td.ownerDocument.defaultView!.getComputedStyle(td).backgroundColor })));
    const cells = metrics.ConfusionMatrix ?? [];
    expect(matrix.map(({ truth, predicted, value, text }) => ({ truth, predicted, value, text }))).toEqual(
      cells.map((c) => ({ truth: c.GroundTruthLabel, predicted: c.PredictedLabel, value: c.Value, text: `${(c.Value * 100).toFixed(1)}%` })));
    if (kind === 'IMAGE_LEVEL_LABELS') {
      expect(cells.length).toBe(9);
      // a heat map: a larger share is a darker cell
      const darkness = (rgb: string): number => 765 - rgb.match(/\d+/g)!.slice(0, 3).map(Number).reduce((a, b) => a + b, 0);
      const sorted = [...matrix].sort((a, b) => a.value - b.value);
      expect(darkness(sorted[sorted.length - 1].background)).toBeGreaterThan(darkness(sorted[0].background));
    } else {
      expect(await page.locator('#confusion').count()).toBe(0);
    }

    // AND the gate's verdict is the gate's
    const gate = page.locator('#gate');
    expect(await gate.getAttribute('data-passed')).toBe(String(report.verdict!.passed));
    expect(await gate.locator('h2').textContent()).toBe(`Gate: ${report.verdict!.passed ? 'passed' : 'failed'}`);
    for (const f of report.verdict!.failures) expect(await gate.textContent()).toContain(f);

    // AND the false positives and negatives are those flagged in the testing-output manifest, each with its image
    const fp = flagged(fixture.testingOutput, 'is-false-positive');
    const fn = flagged(fixture.testingOutput, 'is-false-negative');
    expect(fp + fn).toBeGreaterThan(0);
    expect(Number(await page.locator('#false-positives').getAttribute('data-count'))).toBe(fp);
    expect(Number(await page.locator('#false-negatives').getAttribute('data-count'))).toBe(fn);
    expect(await page.locator('#false-positives li[data-confidence]').count()).toBe(fp);
    expect(await page.locator('#false-negatives li[data-confidence]').count()).toBe(fn);
    const examples = page.locator('figure.example');
    const hrefs = await examples.locator('svg image').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('href')));
    expect(hrefs.length).toBe(await examples.count());
    for (const h of hrefs) expect(h).toMatch(/^data:image\/(png|jpeg);base64,/);
    if (kind === 'OBJECT_LOCALIZATION') {
      // boxes drawn on the images: each false-positive box, and the ground truth
      expect(await page.locator('#false-positives rect.false-positive').count()).toBe(fp);
      expect(await page.locator('figure.example rect.truth').count()).toBeGreaterThan(0);
    }
    await page.screenshot({ path: artifactPath(`report-${name}.png`), fullPage: true });
  } finally {
    await page.close();
  }
});
