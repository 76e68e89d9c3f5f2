/**
 * The labeling page in a real browser (Debian's Chromium through playwright-core): labeling by mouse and by keyboard,
 * boxes drawn, resized and moved, work kept over a reload, a stale tab refused, predictions reviewed; the manifest
 * written is checked with the toolkit's validator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Browser, Page } from 'playwright-core';

import { LabelServer, startLabelServer } from '../../lib/label/server';
import { LabelSession } from '../../lib/label/session';
import { validateManifestSync } from '../../lib/manifest/validator';
import { renderJpeg, renderPng } from '../../lib/samples/shapes';
import { artifactPath, eventually, expectChecked, expectFocused, expectText, launchChromium } from '../browser/chromium';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const FOREIGN = '{"source-ref":"s3://bkt/imgs/elsewhere/9.png","label":0,"label-metadata":{"class-name":"cat","confidence":1,'
  + '"human-annotated":"yes","creation-date":"2020-01-01T00:00:00","type":"groundtruth/image-classification","job-name":"old"}}';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'label-page-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeImage(rel: string, bytes: Buffer): void {
  const file = path.join(dir, 'images', rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}

interface Served { server: LabelServer; manifest: string }

async function serve(options: { labels?: string[]; predictions?: string; manifest?: string } = {}): Promise<Served> {
  const manifest = path.join(dir, 'train.manifest');
  if (options.manifest !== undefined) fs.writeFileSync(manifest, options.manifest);
  let predictionsFile: string | undefined;
  if (options.predictions !== undefined) {
    predictionsFile = path.join(dir, 'predictions.manifest');
    fs.writeFileSync(predictionsFile, options.predictions);
  }
  const session = new LabelSession({
    imagesDir: path.join(dir, 'images'), manifestFile: manifest, labels: options.labels, predictionsFile,
    bucket: { bucket: 'bkt', prefix: 'imgs/' }, now: () => NOW,
  });
  return { server: await startLabelServer({ session }), manifest };
}

async function open(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(url);
  await page.locator('#progress-text', { hasText: /^Image \d+ of \d+/ }).waitFor();
  return page;
}

async function saved(page: Page): Promise<void> {
  await page.locator('#status', { hasText: 'All changes saved' }).waitFor();
}

function readLines(file: string): Array<Record<string, unknown>> {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

function boxesOf(line: Record<string, unknown>): Array<{ label: string; left: number; top: number; width: number; height: number }> {
  const value = line['bounding-box'] as { annotations: Array<{ class_id: number; left: number; top: number; width: number; height: number }> };
  const map = (line['bounding-box-metadata'] as { 'class-map': Record<string, string> })['class-map'];
  return value.annotations.map((a) => ({ label: map[String(a.class_id)], left: a.left, top: a.top, width: a.width, height: a.height }));
}

/** Validates as a dataset manifest: every line valid, no error. */
function expectValid(file: string, lines: number): void {
  const statuses: string[] = [];
  const report = validateManifestSync(fs.readFileSync(file), { role: 'dataset', onLine: (l) => statuses.push(l.status) });
  expect(report.errors).toEqual([]);
  expect(statuses).toEqual(Array(lines).fill('valid'));
}

test('labels three images by mouse and by keyboard, with boxes drawn, resized and moved; a reload keeps the work', async () => {
  // GIVEN three images (a JPEG and a large PNG among them) and a manifest with a line for another image
  writeImage('cats/1.png', renderPng(320, 240, [{ kind: 'circle', color: [224, 32, 32], left: 40, top: 40, size: 120 }]));
  writeImage('cats/2.jpg', renderJpeg(200, 160, [{ kind: 'square', color: [32, 32, 224], left: 50, top: 30, size: 80 }]));
  writeImage('dogs/3.png', renderPng(1600, 1200, [{ kind: 'triangle', color: [32, 224, 32], left: 500, top: 300, size: 600 }]));
  const { server, manifest } = await serve({ labels: ['cat', 'dog'], manifest: `${FOREIGN}\n` });
  const page = await open(server.url);
  try {
    await expectText(page.locator('#progress-text'), 'Image 1 of 3 · 0 labeled');

    // WHEN image 1 gets a label by a click, and a box drawn with the mouse, then resized by its corner
    await page.getByRole('checkbox', { name: 'cat' }).click();
    const overlay = (await page.locator('#overlay').boundingBox())!;
    await page.mouse.move(overlay.x + overlay.width * 0.2, overlay.y + overlay.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(overlay.x + overlay.width * 0.5, overlay.y + overlay.height * 0.6, { steps: 5 });
    await page.mouse.up();
    await eventually(async () => expect(await page.locator('#box-list li').count()).toBe(1));
    const drawn = await page.locator('#box-list li small').textContent();
    const corner = (await page.locator('.box.selected .handle.se').boundingBox())!;
    await page.mouse.move(corner.x + corner.width / 2, corner.y + corner.height / 2);
    await page.mouse.down();
    await page.mouse.move(corner.x + 60, corner.y + 40, { steps: 4 });
    await page.mouse.up();
    const resized = await page.locator('#box-list li small').textContent();
    expect(resized).not.toBe(drawn);
    const [left1, top1, width1, height1] = resized!.match(/\d+/g)!.map(Number);
    await page.screenshot({ path: artifactPath('label-page.png') });
    expect(width1).toBeGreaterThan(Number(drawn!.match(/\d+/g)![2]));

    // AND image 2 is labelled by keyboard only: two image labels, a box made, resized, moved and relabelled
    await page.keyboard.press('n');
    await expectText(page.locator('#progress-text'), 'Image 2 of 3 · 1 labeled');
    await page.keyboard.press('2');
    await page.keyboard.press('1');
    await page.keyboard.press('b');
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Alt+ArrowLeft');
    await page.keyboard.press('2');
    await expectText(page.locator('#box-list li .select-box'), 'Box 1: dog');
    // 200x160 image: a new box is a quarter of each side, centred (75,60 50x40); the step is 1% of the longer side (2 px)
    await expectText(page.locator('#box-list li small'), '74, 62 · 56 × 40 px');

    // AND image 3 (large: zoomable) gets a label typed on the page, by keyboard
    await page.keyboard.press('n');
    const before = (await page.locator('#stage').boundingBox())!.width;
    await page.keyboard.press('+');
    expect((await page.locator('#stage').boundingBox())!.width).toBeGreaterThan(before * 1.2);
    await page.keyboard.press('0');
    await page.keyboard.press('l');
    await page.keyboard.type('bird');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.keyboard.press('3');
    await expectChecked(page.getByRole('checkbox', { name: 'bird' }));
    await saved(page);
    await expectText(page.locator('#progress-text'), 'Image 3 of 3 · 3 labeled');

    // THEN the manifest keeps the other image's line first, then one line per image sorted by source-ref
    const lines = readLines(manifest);
    expect(lines.map((l) => l['source-ref'])).toEqual([
      's3://bkt/imgs/elsewhere/9.png', 's3://bkt/imgs/cats/1.png', 's3://bkt/imgs/cats/2.jpg', 's3://bkt/imgs/dogs/3.png',
    ]);
    expect(fs.readFileSync(manifest, 'utf8').split('\n')[0]).toBe(FOREIGN);
    expect(boxesOf(lines[1])).toEqual([{ label: 'cat', left: left1, top: top1, width: width1, height: height1 }]);
    expect((lines[1]['bounding-box'] as { image_size: unknown }).image_size).toEqual([{ width: 320, height: 240, depth: 3 }]);
    expect([lines[2]['label-0-metadata'], lines[2]['label-1-metadata']].map((m) => (m as { 'class-name': string })['class-name'])).toEqual(['dog', 'cat']);
    expect(boxesOf(lines[2])).toEqual([{ label: 'dog', left: 74, top: 62, width: 56, height: 40 }]);
    expect((lines[3]['label-metadata'] as Record<string, unknown>)).toMatchObject({
      'class-name': 'bird', 'human-annotated': 'yes', 'confidence': 1, 'creation-date': '2026-12-01T10:00:00.000',
    });
    expectValid(manifest, 4);

    // WHEN the page is reloaded
    await page.reload();
    await page.locator('#progress-text', { hasText: 'Image 3 of 3 · 3 labeled' }).waitFor();
    // THEN the work is there: the current image's label, and the boxes of the first images
    await expectChecked(page.getByRole('checkbox', { name: 'bird' }));
    await page.keyboard.press('p');
    await expectText(page.locator('#box-list li small'), '74, 62 · 56 × 40 px');
    await expectChecked(page.getByRole('checkbox', { name: 'cat' }));
    await expectChecked(page.getByRole('checkbox', { name: 'dog' }));
    await page.keyboard.press('p');
    await expectText(page.locator('#box-list li small'), resized!);
    expect((page as Page & { problems?: string[] }).problems).toEqual([]);
  } finally {
    await page.close();
    await server.close();
  }
});

test('a second tab that is behind cannot overwrite newer work: its save gets 409 and it says so', async () => {
  writeImage('a.png', renderPng(100, 100, []));
  writeImage('b.png', renderPng(100, 100, []));
  const { server, manifest } = await serve({ labels: ['cat', 'dog'] });
  const first = await open(server.url);
  const second = await open(server.url);
  try {
    // GIVEN the first tab saved a label
    await first.getByRole('checkbox', { name: 'cat' }).click();
    await saved(first);
    const written = fs.readFileSync(manifest, 'utf8');
    // WHEN the second tab, loaded before that, changes the same image
    await second.getByRole('checkbox', { name: 'dog' }).click();
    // THEN it is refused, says so, and stops editing; the manifest still holds the first tab's work
    const alert = second.getByRole('alert');
    await alert.waitFor({ state: 'visible' });
    expect(await alert.textContent()).toContain('Not saved: newer work was saved from another tab or window (revision 2; this page has revision 1). '
      + 'This page is out of date');
    await expectText(second.locator('#status'), 'Out of date');
    await expectFocused(second.locator('#reload'));
    expect(fs.readFileSync(manifest, 'utf8')).toBe(written);
    await second.screenshot({ path: artifactPath('label-stale-tab.png') });
    // AND reloading it shows the newer work and edits again
    await second.locator('#reload').click();
    await second.locator('#progress-text', { hasText: 'Image 1 of 2 · 1 labeled' }).waitFor();
    await expectChecked(second.getByRole('checkbox', { name: 'cat' }));
    expect(await second.locator('#alert').isHidden()).toBe(true);
    await second.keyboard.press('2');
    await saved(second);
    expect(readLines(manifest)).toHaveLength(1);
    expect(Object.keys(readLines(manifest)[0])).toEqual(['source-ref', 'label-0', 'label-0-metadata', 'label-1', 'label-1-metadata']);
  } finally {
    await first.close();
    await second.close();
    await server.close();
  }
});

const META_NO = '"human-annotated":"no","creation-date":"2026-11-30T00:00:00","job-name":"batch"';
const clsPrediction = (key: string, label: string, confidence: number): string =>
  `"${key}":0,"${key}-metadata":{"class-name":"${label}","confidence":${confidence},"type":"groundtruth/image-classification",${META_NO}}`;
const boxPrediction = (label: string, confidence: number, box: string): string =>
  `"bounding-box":{"image_size":[{"width":200,"height":100,"depth":3}],"annotations":[{"class_id":0,${box}}]},`
  + `"bounding-box-metadata":{"objects":[{"confidence":${confidence}}],"class-map":{"0":"${label}"},"type":"groundtruth/object-detection",${META_NO}}`;

test('review mode: predictions lowest confidence first, accepted, fixed and rejected by mouse and keyboard', async () => {
  // GIVEN three images with predictions of 0.9 (a box), 0.3 and 0.6 (labels), and 0.1 (a box)
  for (const name of ['p1', 'p2', 'p3']) writeImage(`${name}.png`, renderPng(200, 100, [{ kind: 'square', color: [224, 32, 32], left: 20, top: 20, size: 40 }]));
  const predictions = [
    `{"source-ref":"s3://bkt/imgs/p1.png",${boxPrediction('cat', 0.9, '"left":20,"top":20,"width":40,"height":40')}}`,
    `{"source-ref":"s3://bkt/imgs/p2.png",${clsPrediction('a', 'dog', 0.3)},${clsPrediction('b', 'cat', 0.6)}}`,
    `{"source-ref":"s3://bkt/imgs/p3.png",${boxPrediction('dog', 0.1, '"left":100,"top":40,"width":50,"height":30')}}`,
  ].join('\n');
  const { server, manifest } = await serve({ predictions });
  const page = await open(server.url);
  try {
    // THEN the least confident comes first
    await expectText(page.locator('#title'), 'Review predictions');
    await expectText(page.locator('#image-name'), 'p3.png');
    await expectText(page.locator('#progress-text'), 'Image 1 of 3 · 0 labeled · 0 of 3 reviewed');
    await expectText(page.locator('.pred-item .conf'), ['10.0%']);

    // WHEN the 0.1 box is fixed by keyboard: F, then moved 2 steps left
    await page.keyboard.press('f');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expectText(page.locator('.pred-item .decision'), 'fixed');
    // AND on the next image the 0.3 label is rejected with the mouse, the 0.6 one accepted with A
    await page.keyboard.press('n');
    await expectText(page.locator('#image-name'), 'p2.png');
    await expectText(page.locator('.pred-item .what'), ['Label: dog', 'Label: cat']);
    await page.getByRole('button', { name: 'Reject Label: dog 30.0%' }).click();
    await page.keyboard.press('a');
    await expectText(page.locator('.pred-item .decision'), ['rejected', 'accepted']);
    await expectChecked(page.getByRole('checkbox', { name: 'cat' }));
    // AND the 0.9 box is accepted with the mouse
    await page.keyboard.press('n');
    await page.getByRole('button', { name: 'Accept Box: cat 90.0%' }).click();
    await saved(page);
    await expectText(page.locator('#progress-text'), 'Image 3 of 3 · 3 labeled · 3 of 3 reviewed');
    await page.screenshot({ path: artifactPath('label-review.png') });

    // THEN accepted and fixed predictions are human-annotated lines; the rejected one is gone
    const lines = readLines(manifest);
    expect(lines.map((l) => l['source-ref'])).toEqual(['s3://bkt/imgs/p1.png', 's3://bkt/imgs/p2.png', 's3://bkt/imgs/p3.png']);
    expect(boxesOf(lines[0])).toEqual([{ label: 'cat', left: 20, top: 20, width: 40, height: 40 }]);
    expect(lines[1]).toEqual({
      'source-ref': 's3://bkt/imgs/p2.png', 'label': 0,
      'label-metadata': { 'confidence': 1, 'job-name': 'custom-labels/label', 'class-name': 'cat', 'human-annotated': 'yes',
        'creation-date': '2026-12-01T10:00:00.000', 'type': 'groundtruth/image-classification' },
    });
    expect(boxesOf(lines[2])).toEqual([{ label: 'dog', left: 96, top: 40, width: 50, height: 30 }]);
    for (const l of [lines[0], lines[2]]) expect(l['bounding-box-metadata']).toMatchObject({ 'human-annotated': 'yes', 'objects': [{ confidence: 1 }] });
    expectValid(manifest, 3);

    // AND after a reload the decisions are still shown
    await page.reload();
    await page.locator('#progress-text', { hasText: '3 of 3 reviewed' }).waitFor();
    await page.keyboard.press('p');
    await expectText(page.locator('.pred-item .decision'), ['rejected', 'accepted']);
  } finally {
    await page.close();
    await server.close();
  }
});
