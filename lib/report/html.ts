/**
 * The evaluation report: one self-contained HTML page (inline CSS, images as data URIs, a Content-Security-Policy
 * that allows nothing else) from an EvaluationResultSummary, optionally the testing-output manifest, a gate and a
 * function that loads a test image's bytes by its source-ref.
 *
 * Pure apart from the loader the caller passes: no file, network, aws-cdk-lib or AWS SDK access here, so a Lambda
 * handler (loading from S3) and the CLI (loading from a folder) share it. The same input gives the same bytes.
 */
import { applyReportGate, GateVerdict, ReportGate } from './gate';
import { EvaluationSummary, parseEvaluationSummary, versionOfArn } from './summary';
import { EvaluatedPrediction, parseTestingOutput, PixelRect, TestingImage, TestingOutput } from './testing-output';
import { Thumbnail, thumbnail, ThumbnailOptions } from './thumbnail';

/** Loads a test image by its source-ref; undefined (or a rejection) when it cannot be had. */
export type ReportImageLoader = (sourceRef: string) => Promise<Buffer | undefined> | Buffer | undefined;

export interface EvaluationReportInput {
  /** The EvaluationResultSummary file's text (or its parsed object). */
  readonly summary: string | object;
  /** The testing-output manifest's text: false positives and negatives are listed from it. */
  readonly testingOutput?: string;
  /** Loads images for the examples; without it the examples show their boxes on an empty frame. */
  readonly loadImage?: ReportImageLoader;
  readonly gate?: ReportGate;
  /** @default 'Evaluation report' */
  readonly title?: string;
  /** Examples shown per kind (false positives, false negatives), the worst first. @default 60 */
  readonly maxExamples?: number;
  readonly thumbnails?: ThumbnailOptions;
}

export interface ExampleImage {
  readonly image: TestingImage;
  /** The predictions of the example's kind. */
  readonly predictions: EvaluatedPrediction[];
  /**
   * False negatives only, detection only: ground-truth boxes that no true-positive prediction of their label overlaps
   * (IoU >= 0.5). The evaluation details flag only predictions, so a box the model did not predict at all is found here.
   */
  readonly missed: Array<PixelRect & { label: string }>;
}

export interface EvaluationReport {
  readonly html: string;
  readonly summary: EvaluationSummary;
  readonly verdict?: GateVerdict;
  /** Images with at least one false positive (or negative), worst first, before maxExamples applies. */
  readonly falsePositives: ExampleImage[];
  readonly falseNegatives: ExampleImage[];
  /** Source-refs of example images that could not be loaded. */
  readonly missingImages: string[];
  readonly skippedLines: number;
}

/** The report's HTML. Throws ReportInputError when the summary cannot be read. */
export async function renderEvaluationReport(input: EvaluationReportInput): Promise<string> {
  return (await buildEvaluationReport(input)).html;
}

/** The report and what it was made of (the CLI prints the verdict and the counts). */
export async function buildEvaluationReport(input: EvaluationReportInput): Promise<EvaluationReport> {
  const summary = parseEvaluationSummary(input.summary);
  const verdict = input.gate ? applyReportGate(input.gate, summary) : undefined;
  const testing: TestingOutput | undefined = input.testingOutput === undefined ? undefined : parseTestingOutput(input.testingOutput);
  const falsePositives = examplesOf(testing, 'false-positive');
  const falseNegatives = examplesOf(testing, 'false-negative');
  const max = input.maxExamples ?? 60;
  const shown = [...falsePositives.slice(0, max), ...falseNegatives.slice(0, max)];
  const { thumbnails, missing } = await loadThumbnails(shown.map((e) => e.image.sourceRef), input.loadImage, input.thumbnails);
  const html = page({
    title: input.title ?? 'Evaluation report',
    summary,
    verdict,
    gate: input.gate,
    testing,
    falsePositives,
    falseNegatives,
    max,
    thumbnails,
  });
  return { html, summary, verdict, falsePositives, falseNegatives, missingImages: missing, skippedLines: testing?.skippedLines ?? 0 };
}

function examplesOf(testing: TestingOutput | undefined, outcome: 'false-positive' | 'false-negative'): ExampleImage[] {
  if (!testing) return [];
  const examples = testing.images
    .map((image) => ({
      image,
      predictions: image.predictions.filter((p) => p.outcome === outcome),
      missed: outcome === 'false-negative' ? missedBoxes(image) : [],
    }))
    .filter((e) => e.predictions.length > 0 || e.missed.length > 0);
  // Worst first: a false positive is worse the more confident it is, a false negative the less (a missed box: 0).
  const key = (e: ExampleImage): number => outcome === 'false-positive'
    ? -Math.max(...e.predictions.map((p) => p.confidence))
    : Math.min(...e.predictions.map((p) => p.confidence), ...e.missed.map(() => 0));
  return examples.sort((a, b) => key(a) - key(b) || a.image.line - b.image.line);
}

const MATCH_IOU = 0.5;

function iou(a: PixelRect, b: PixelRect): number {
  const ix = Math.max(0, Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left));
  const iy = Math.max(0, Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top));
  const union = a.width * a.height + b.width * b.height - ix * iy;
  return union > 0 ? (ix * iy) / union : 0;
}

/** Ground-truth boxes that no true positive of their label overlaps at IoU >= 0.5 (detection lines only). */
function missedBoxes(image: TestingImage): Array<PixelRect & { label: string }> {
  const found = image.predictions.filter((p) => p.outcome === 'true-positive' && p.box);
  const flagged = image.predictions.filter((p) => p.outcome === 'false-negative' && p.box);
  return image.truthBoxes.filter((t) => !found.some((p) => p.label === t.label && iou(p.box!, t) >= MATCH_IOU)
    && !flagged.some((p) => p.label === t.label && iou(p.box!, t) >= MATCH_IOU));
}

async function loadThumbnails(refs: string[], load: ReportImageLoader | undefined, options: ThumbnailOptions | undefined)
  : Promise<{ thumbnails: Map<string, Thumbnail>; missing: string[] }> {
  const thumbnails = new Map<string, Thumbnail>();
  const missing: string[] = [];
  if (!load) return { thumbnails, missing };
  for (const ref of [...new Set(refs)]) {
    let bytes: Buffer | undefined;
    try {
      bytes = await load(ref);
    } catch {
      bytes = undefined;
    }
    const thumb = bytes ? thumbnail(bytes, options) : undefined;
    if (thumb) thumbnails.set(ref, thumb);
    else missing.push(ref);
  }
  return { thumbnails, missing };
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

interface PageModel {
  title: string;
  summary: EvaluationSummary;
  verdict?: GateVerdict;
  gate?: ReportGate;
  testing?: TestingOutput;
  falsePositives: ExampleImage[];
  falseNegatives: ExampleImage[];
  max: number;
  thumbnails: Map<string, Thumbnail>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const fixed = (n: number): string => n.toFixed(3);
const percent = (n: number): string => `${(n * 100).toFixed(1)}%`;

function isDetection(s: EvaluationSummary, testing: TestingOutput | undefined): boolean {
  if (s.averagePrecision !== undefined || s.averageRecall !== undefined) return true;
  if (s.confusionMatrix !== undefined) return false;
  return testing?.images.some((i) => i.truthBoxes.length > 0 || i.predictions.some((p) => p.box)) ?? false;
}

function page(m: PageModel): string {
  const detection = isDetection(m.summary, m.testing);
  const id = versionOfArn(m.summary.projectVersionArn);
  const subtitle = [
    id ? `project <strong>${escapeHtml(id.project)}</strong>, version <strong>${escapeHtml(id.version)}</strong>` : undefined,
    detection ? 'object detection' : 'image classification',
    m.summary.endTimestamp ? `evaluated ${escapeHtml(m.summary.endTimestamp)}` : undefined,
    m.summary.trainingImages !== undefined ? `${m.summary.trainingImages} training images` : undefined,
    m.summary.testingImages !== undefined ? `${m.summary.testingImages} test images` : undefined,
  ].filter((s) => s !== undefined).join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(m.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(m.title)}</h1>
<p class="sub">${subtitle}</p>
${m.summary.projectVersionArn ? `<p class="arn"><code>${escapeHtml(m.summary.projectVersionArn)}</code></p>` : ''}
</header>
${m.verdict ? gateSection(m.verdict, m.gate!) : ''}
${overallSection(m.summary, detection)}
${labelsSection(m.summary, m.verdict)}
${m.summary.confusionMatrix ? confusionSection(m.summary) : ''}
${m.testing ? examplesSection('false-positives', 'False positives', m.falsePositives, m, detection) : ''}
${m.testing ? examplesSection('false-negatives', 'False negatives', m.falseNegatives, m, detection) : ''}
<footer>Made by <code>custom-labels report</code> (cdk-rekognition-custom-labels) from the evaluation summary${m.testing ? ' and the testing-output manifest' : ''}.</footer>
</main>
</body>
</html>
`;
}

function gateSection(v: GateVerdict, gate: ReportGate): string {
  const settings = [
    gate.minF1 !== undefined ? `minF1 ${fixed(gate.minF1)}` : undefined,
    gate.minLabelF1 !== undefined ? `minLabelF1 ${fixed(gate.minLabelF1)}` : undefined,
    gate.mustNotRegress ? `mustNotRegress${gate.servingF1 !== undefined ? ` (serving version F1 ${fixed(gate.servingF1)})` : ''}` : undefined,
  ].filter((s) => s !== undefined).join(', ');
  const items = v.failures.map((f) => `<li>${escapeHtml(f)}</li>`).join('');
  return `<section id="gate" class="gate ${v.passed ? 'pass' : 'fail'}" data-passed="${v.passed}" aria-labelledby="gate-h">
<h2 id="gate-h">Gate: <span class="verdict">${v.passed ? 'passed' : 'failed'}</span></h2>
<p>${escapeHtml(settings)}</p>
${items ? `<ul>${items}</ul>` : `<p class="reason">${escapeHtml(v.reason)}</p>`}
</section>`;
}

function metric(key: string, name: string, value: number, hint: string): string {
  return `<div class="metric" data-metric="${key}" data-value="${value}"><dt>${name}</dt><dd>${fixed(value)}</dd><p>${hint}</p></div>`;
}

function overallSection(s: EvaluationSummary, detection: boolean): string {
  const cards = [
    metric('f1', 'F1 score', s.f1, '2PR / (P + R)'),
    metric('precision', 'Precision', s.precision, 'predictions that were right'),
    metric('recall', 'Recall', s.recall, 'ground truth that was found'),
  ];
  if (s.averagePrecision !== undefined) cards.push(metric('average-precision', 'Average precision', s.averagePrecision, 'mAP'));
  if (s.averageRecall !== undefined) cards.push(metric('average-recall', 'Average recall', s.averageRecall, 'mAR'));
  return `<section id="overall" aria-labelledby="overall-h">
<h2 id="overall-h">Overall</h2>
<dl class="metrics">${cards.join('')}</dl>
<p class="note">Each label is scored at its <em>assumed threshold</em>: the confidence at which its F1 on the test set is
best. DetectCustomLabels applies it when the call gives no MinConfidence (MinConfidence = threshold x 100).${detection
    ? ' A predicted box counts when it overlaps a ground-truth box of its label (IoU &ge; 0.5).' : ''}</p>
</section>`;
}

function bar(value: number): string {
  const w = Math.max(0, Math.min(1, value)) * 100;
  return `<span class="bar" aria-hidden="true"><span style="width:${w.toFixed(1)}%"></span></span>`;
}

function labelsSection(s: EvaluationSummary, verdict: GateVerdict | undefined): string {
  const failing = new Set(verdict?.failingLabels ?? []);
  const cell = (key: string, v: number | undefined, extra = ''): string =>
    v === undefined ? `<td data-metric="${key}">&ndash;</td>` : `<td data-metric="${key}" data-value="${v}">${fixed(v)}${extra}</td>`;
  const rows = s.perLabel.map((l) => `<tr data-label="${escapeHtml(l.label)}"${failing.has(l.label) ? ' class="fail"' : ''}>
<th scope="row">${escapeHtml(l.label)}${failing.has(l.label) ? ' <span class="tag">below minLabelF1</span>' : ''}</th>
<td data-metric="test-images"${l.testImages !== undefined ? ` data-value="${l.testImages}"` : ''}>${l.testImages ?? '&ndash;'}</td>
${cell('threshold', l.threshold, l.threshold !== undefined ? ` <small>(MinConfidence ${(l.threshold * 100).toFixed(1)})</small>` : '')}
${cell('precision', l.precision)}${cell('recall', l.recall)}${cell('f1', l.f1, bar(l.f1))}
</tr>`).join('\n');
  return `<section id="labels" aria-labelledby="labels-h">
<h2 id="labels-h">Per label</h2>
<table class="labels">
<caption>Precision, recall and F1 of each label at its assumed threshold</caption>
<thead><tr><th scope="col">Label</th><th scope="col">Test images</th><th scope="col">Assumed threshold</th><th scope="col">Precision</th>
<th scope="col">Recall</th><th scope="col">F1</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">The summary lists no label.</td></tr>'}
</tbody>
</table>
</section>`;
}

/** White to a deep blue as the share grows; text turns white on dark cells. */
function heat(value: number): { background: string; color: string } {
  const v = Math.max(0, Math.min(1, value));
  const mix = (from: number, to: number): number => Math.round(from + (to - from) * v);
  return { background: `rgb(${mix(255, 8)},${mix(255, 48)},${mix(255, 107)})`, color: v > 0.5 ? '#fff' : '#111' };
}

function ordered(all: string[], present: Set<string>): string[] {
  const first = all.filter((l) => present.has(l));
  return [...first, ...[...present].filter((l) => !first.includes(l)).sort()];
}

function confusionSection(s: EvaluationSummary): string {
  const cells = s.confusionMatrix!;
  const truths = ordered(s.labels, new Set(cells.map((c) => c.truth)));
  const predicted = ordered(s.labels, new Set(cells.map((c) => c.predicted)));
  const byKey = new Map(cells.map((c) => [`${c.truth}\u0000${c.predicted}`, c.value]));
  const head = predicted.map((p) => `<th scope="col">${escapeHtml(p)}</th>`).join('');
  const rows = truths.map((t) => {
    const tds = predicted.map((p) => {
      const v = byKey.get(`${t}\u0000${p}`);
      if (v === undefined) return '<td class="empty">&ndash;</td>';
      const { background, color } = heat(v);
      const diagonal = t === p ? ' diagonal' : '';
      return `<td class="cell${diagonal}" data-truth="${escapeHtml(t)}" data-predicted="${escapeHtml(p)}" data-value="${v}" `
        + `style="background:${background};color:${color}" title="${escapeHtml(`${t} predicted as ${p}: ${percent(v)}`)}">${percent(v)}</td>`;
    }).join('');
    return `<tr><th scope="row">${escapeHtml(t)}</th>${tds}</tr>`;
  }).join('\n');
  return `<section id="confusion" aria-labelledby="confusion-h">
<h2 id="confusion-h">Confusion matrix</h2>
<table class="confusion">
<caption>Share of each ground-truth label's test images (rows) by the label predicted first (columns)</caption>
<thead><tr><th scope="col">Ground truth \\ Predicted</th>${head}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="legend" aria-hidden="true"><span style="background:${heat(0).background}">0%</span><span style="background:${heat(0.5).background}">50%</span><span style="background:${heat(1).background};color:#fff">100%</span></p>
</section>`;
}

const BOX_COLOURS: Record<string, string> = { 'truth': '#1a7f37', 'missed': '#8250df', 'false-positive': '#cf222e', 'false-negative': '#bc4c00' };

/** A box, with its caption above it (inside the frame when the box touches the top) for predictions and missed boxes. */
function rectSvg(r: PixelRect, kind: string, stroke: number, caption: string, frameWidth: number): string {
  const dash = kind === 'truth' ? ` stroke-dasharray="${(stroke * 3).toFixed(1)} ${(stroke * 2).toFixed(1)}"` : '';
  const rect = `<rect class="${kind}" x="${r.left}" y="${r.top}" width="${r.width}" height="${r.height}" fill="none" `
    + `stroke="${BOX_COLOURS[kind]}" stroke-width="${stroke.toFixed(1)}"${dash}><title>${escapeHtml(caption)}</title></rect>`;
  if (kind === 'truth') return rect;
  const size = stroke * 6;
  const textWidth = Math.min(frameWidth, caption.length * size * 0.56 + stroke * 2);
  const x = Math.max(0, Math.min(r.left, frameWidth - textWidth));
  const y = r.top >= size + stroke ? r.top - size - stroke / 2 : r.top + stroke / 2;
  return `${rect}<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${textWidth.toFixed(1)}" height="${(size + stroke).toFixed(1)}" `
    + `fill="${BOX_COLOURS[kind]}" aria-hidden="true"/><text x="${(x + stroke).toFixed(1)}" y="${(y + size * 0.9).toFixed(1)}" `
    + `font-size="${size.toFixed(1)}" fill="#fff" aria-hidden="true">${escapeHtml(caption)}</text>`;
}

/** The last two parts of a source-ref's key: enough to tell `red-circle/0002.png` from `red-square/0002.png`. */
function shortName(sourceRef: string): string {
  return sourceRef.split('/').slice(-2).join('/');
}

function exampleFigure(e: ExampleImage, kind: 'false-positive' | 'false-negative', m: PageModel, detection: boolean): string {
  const thumb = m.thumbnails.get(e.image.sourceRef);
  const width = thumb?.width ?? e.image.width ?? 100;
  const height = thumb?.height ?? e.image.height ?? 100;
  const stroke = Math.max(1, Math.max(width, height) / 160);
  const name = shortName(e.image.sourceRef);
  const describe = (p: EvaluatedPrediction): string => `${p.label} ${fixed(p.confidence)}`;
  const missed = new Set(e.missed);
  // Predictions first, ground truth (dashed) over them, so a wrong label on the right box shows both.
  const shapes = detection
    ? [...e.predictions.filter((p) => p.box).map((p) => rectSvg(p.box!, kind, stroke, describe(p), width)),
      ...e.missed.map((b) => rectSvg(b, 'missed', stroke, `missed ${b.label}`, width)),
      ...e.image.truthBoxes.filter((b) => !missed.has(b)).map((b) => rectSvg(b, 'truth', stroke, `ground truth: ${b.label}`, width))]
    : [];
  const picture = thumb
    ? `<image href="${thumb.dataUri}" x="0" y="0" width="${width}" height="${height}" preserveAspectRatio="none"/>`
    : `<rect x="0" y="0" width="${width}" height="${height}" fill="#eee"/><text x="${width / 2}" y="${height / 2}" text-anchor="middle" `
      + `font-size="${(Math.max(width, height) / 14).toFixed(1)}" fill="#666">image not available</text>`;
  const what = [...e.predictions.map(describe), ...e.missed.map((b) => `missed ${b.label}`)].join(', ');
  const truth = detection ? e.image.truthBoxes.map((b) => b.label) : e.image.truthLabels;
  const thresholds = new Map(m.summary.perLabel.map((l) => [l.label, l.threshold]));
  const items = [
    ...e.predictions.map((p) => {
      const t = thresholds.get(p.label);
      return `<li data-label="${escapeHtml(p.label)}" data-confidence="${p.confidence}"><span class="swatch ${kind}" aria-hidden="true"></span>`
        + `<strong>${escapeHtml(p.label)}</strong> ${fixed(p.confidence)}${t !== undefined ? ` <small>(threshold ${fixed(t)})</small>` : ''}</li>`;
    }),
    ...e.missed.map((b) => `<li data-label="${escapeHtml(b.label)}" data-missed="true"><span class="swatch missed" aria-hidden="true"></span>`
      + `<strong>${escapeHtml(b.label)}</strong> not found</li>`),
  ].join('');
  return `<figure class="example" data-kind="${kind}" data-source-ref="${escapeHtml(e.image.sourceRef)}">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(`${name}: ${kind.replace('-', ' ')}: ${what}`)}">${picture}${shapes.join('')}</svg>
<figcaption><code title="${escapeHtml(e.image.sourceRef)}">${escapeHtml(name)}</code>
<ul>${items}</ul>
<p class="truth">Ground truth: ${truth.length > 0 ? [...new Set(truth)].map(escapeHtml).join(', ') : 'none'}</p></figcaption>
</figure>`;
}

function examplesSection(id: string, heading: string, examples: ExampleImage[], m: PageModel, detection: boolean): string {
  const kind = id === 'false-positives' ? 'false-positive' : 'false-negative';
  const count = examples.reduce((n, e) => n + e.predictions.length, 0);
  const missed = examples.reduce((n, e) => n + e.missed.length, 0);
  const explain = kind === 'false-positive'
    ? 'Predictions at or above their label\'s threshold that the ground truth does not have, the most confident first.'
    : 'Ground truth the model scored below the label\'s threshold, the least confident first'
      + (detection ? '; and ground-truth boxes no prediction of their label found (IoU &ge; 0.5).' : '.');
  const legend = detection
    ? `<p class="legend-boxes"><span class="swatch truth" aria-hidden="true"></span> ground truth (dashed) <span class="swatch ${kind}" aria-hidden="true"></span> `
      + `${heading.toLowerCase()}${kind === 'false-negative' ? ' <span class="swatch missed" aria-hidden="true"></span> ground truth not found' : ''}</p>`
    : '';
  const shown = examples.slice(0, m.max);
  const more = examples.length > shown.length ? `<p class="more">${examples.length - shown.length} more image(s) not shown.</p>` : '';
  const counted = `${count}${missed > 0 ? ` + ${missed} box${missed === 1 ? '' : 'es'} not found` : ''} on ${examples.length} image${examples.length === 1 ? '' : 's'}`;
  return `<section id="${id}" aria-labelledby="${id}-h" data-count="${count}" data-missed="${missed}" data-images="${examples.length}">
<h2 id="${id}-h">${heading} <small>(${counted})</small></h2>
<p class="note">${explain}</p>${legend}
${shown.length > 0 ? `<div class="examples">${shown.map((e) => exampleFigure(e, kind, m, detection)).join('\n')}</div>` : '<p>None.</p>'}
${more}
</section>`;
}

const CSS = `
:root{color-scheme:light;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--pass:#1a7f37;--fail:#cf222e}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:26px}h2{font-size:19px;margin:0 0 12px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
.sub{margin:0;color:var(--muted)}.arn{margin:4px 0 0;color:var(--muted);font-size:12px;word-break:break-all}
.gate.pass{border-left:6px solid var(--pass)}.gate.fail{border-left:6px solid var(--fail)}
.gate.pass .verdict{color:var(--pass)}.gate.fail .verdict{color:var(--fail)}.gate ul{margin:0;padding-left:20px}
.metrics{display:flex;flex-wrap:wrap;gap:12px;margin:0}
.metric{flex:1 1 150px;border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.metric dt{color:var(--muted);font-size:13px}.metric dd{margin:0;font-size:28px;font-weight:600;font-variant-numeric:tabular-nums}
.metric p{margin:0;color:var(--muted);font-size:12px}
.note{color:var(--muted);font-size:13px;margin:10px 0 0}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
caption{text-align:left;color:var(--muted);font-size:13px;padding-bottom:6px}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:right}
th[scope=row],thead th:first-child{text-align:left}
tr.fail th,tr.fail td{background:#ffebe9}
.tag{font-size:11px;color:#fff;background:var(--fail);border-radius:4px;padding:1px 5px;font-weight:500}
.bar{display:inline-block;width:80px;height:8px;background:#eaeef2;border-radius:4px;margin-left:8px;vertical-align:middle;overflow:hidden}
.bar span{display:block;height:100%;background:#0969da}
table.confusion{width:auto}table.confusion td{min-width:72px;text-align:center;border:1px solid #fff}
table.confusion td.diagonal{outline:2px solid #1f2328;outline-offset:-2px}
.legend{display:flex;gap:0;margin:8px 0 0;font-size:12px}.legend span{padding:2px 12px;border:1px solid var(--line)}
.examples{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff}
figure svg{width:100%;height:auto;display:block;background:#eee}
figcaption{font-size:13px;margin-top:6px}figcaption ul{list-style:none;margin:4px 0;padding:0}
figcaption code{word-break:break-all}.truth{margin:0;color:var(--muted)}
.swatch{display:inline-block;width:12px;height:12px;border:2px solid;border-radius:2px;margin-right:4px;vertical-align:-1px}
.swatch.truth{border-color:${BOX_COLOURS.truth};border-style:dashed}.swatch.false-positive{border-color:${BOX_COLOURS['false-positive']}}
.swatch.false-negative{border-color:${BOX_COLOURS['false-negative']}}.swatch.missed{border-color:${BOX_COLOURS.missed}}
.legend-boxes{font-size:13px;color:var(--muted)}
footer{color:var(--muted);font-size:12px;text-align:center;margin:24px 0}
`.trim();
