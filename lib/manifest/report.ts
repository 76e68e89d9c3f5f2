/**
 * A validation report for people: the verdict, the counts, the labels, then problems grouped by code with
 * their line numbers (a few per code, then "and N more").
 */
import { ManifestIssue, ValidationReport } from './types';
import { PairValidation } from './validator';

export interface ReportTextOptions {
  /** The manifest's name for the heading (for a pair: the training file; see `testingFile`). */
  file?: string;
  testingFile?: string;
  /** Lines listed per code before "... and N more". @default 10 */
  maxPerCode?: number;
}

export function formatReportText(report: ValidationReport | PairValidation, options: ReportTextOptions = {}): string {
  if (isPair(report)) {
    const out: string[] = [];
    out.push(`manifest pair: ${report.valid ? 'VALID' : 'INVALID'}`, '');
    out.push(formatOne(report.training, options.file ?? 'training manifest', options.maxPerCode), '');
    out.push(formatOne(report.testing, options.testingFile ?? 'testing manifest', options.maxPerCode));
    if (report.errors.length > 0) {
      out.push('', 'across the two manifests:');
      out.push(...formatIssues(report.errors, options.maxPerCode ?? 10, 'testing line'));
    }
    return out.join('\n') + '\n';
  }
  return formatOne(report, options.file ?? 'manifest', options.maxPerCode) + '\n';
}

function isPair(r: ValidationReport | PairValidation): r is PairValidation {
  return 'training' in r && 'testing' in r;
}

function formatOne(r: ValidationReport, name: string, maxPerCode = 10): string {
  const out: string[] = [];
  out.push(`${name}: ${r.valid ? 'VALID' : 'INVALID'} (use case ${r.useCase})`);
  out.push(`  lines: ${r.totalLines} total, ${r.validLines} valid, ${r.invalidLines} invalid, ${r.ignoredLines} ignored`);
  const labels = Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (labels.length > 0) {
    const detection = r.useCase === 'OBJECT_LOCALIZATION';
    out.push(`  labels (${labels.length}):`);
    const width = Math.min(40, Math.max(...labels.map(([l]) => l.length)));
    for (const [label, c] of labels) {
      out.push(`    ${label.padEnd(width)}  ${plural(c.images, 'image')}${detection ? `, ${plural(c.boxes, 'box', 'boxes')}` : ''}`);
    }
  } else {
    out.push('  labels: none');
  }
  if (r.errors.length > 0) {
    out.push(`  errors (${r.errors.length}):`);
    out.push(...formatIssues(r.errors, maxPerCode, 'line').map((l) => `  ${l}`));
  }
  if (r.warnings.length > 0) {
    out.push(`  warnings (${r.warnings.length}), lines ignored:`);
    out.push(...formatIssues(r.warnings, maxPerCode, 'line').map((l) => `  ${l}`));
  }
  return out.join('\n');
}

function formatIssues(issues: ManifestIssue[], maxPerCode: number, lineWord: string): string[] {
  const groups = new Map<string, ManifestIssue[]>();
  for (const i of issues) {
    const g = groups.get(i.code);
    if (g) g.push(i);
    else groups.set(i.code, [i]);
  }
  const out: string[] = [];
  // File-level problems first: they decide the verdict.
  const ordered = [...groups.entries()].sort(([, a], [, b]) => Number(a[0].line !== null) - Number(b[0].line !== null));
  for (const [code, group] of ordered) {
    const fileLevel = group[0].line === null;
    out.push(`  ${code}${group.length > 1 ? ` (${group.length})` : ''}: ${fileLevel && group.length === 1 ? withDetail(group[0]) : group[0].message}`);
    if (fileLevel && group.length === 1) continue;
    for (const i of group.slice(0, maxPerCode)) {
      const where = i.line === null ? i.message : `${lineWord} ${i.line}${placeOf(i)}`;
      out.push(`    ${where}${i.detail !== undefined && i.line !== null ? `: ${i.detail}` : ''}`);
    }
    if (group.length > maxPerCode) out.push(`    ... and ${group.length - maxPerCode} more`);
  }
  return out;
}

function placeOf(i: ManifestIssue): string {
  if (i.attribute === undefined) return '';
  if (i.level === 'annotation') return ` (${i.attribute}, annotation ${i.annotationIndex})`;
  if (i.level === 'metadata') return ` (${i.attribute}-metadata)`;
  return ` (${i.attribute})`;
}

function withDetail(i: ManifestIssue): string {
  return i.detail !== undefined ? `${i.message} (${i.detail})` : i.message;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
