/**
 * The evaluation gate as the report shows it: overall F1 and per-label F1 against minimums, with the reasons worded
 * as the workflow's gate words them (`lambda/gate`), so a report and a failed deployment say the same thing.
 *
 * Pure: no I/O, no aws-cdk-lib, no AWS SDK.
 */
import { EvaluationSummary, ReportInputError } from './summary';

export interface ReportGate {
  /** The overall F1 must be at least this (0..1). */
  readonly minF1?: number;
  /** Every label's F1 must be at least this (0..1). */
  readonly minLabelF1?: number;
  /** The overall F1 must be at least the serving version's (when one serves: see `servingF1`). @default false */
  readonly mustNotRegress?: boolean;
  /** The overall F1 of the version serving when this one was evaluated. @default - none serves */
  readonly servingF1?: number;
}

export interface GateVerdict {
  readonly passed: boolean;
  /** One sentence, as the workflow's gate writes it. */
  readonly reason: string;
  /** Each failed check on its own (empty when passed). */
  readonly failures: string[];
  /** Labels whose F1 is below minLabelF1. */
  readonly failingLabels: string[];
}

const KEYS = ['minF1', 'minLabelF1'] as const;

/** Parses `minF1=0.8,minLabelF1=0.5` (either or both). Throws ReportInputError naming the bad part. */
export function parseGateSpec(spec: string): ReportGate {
  const gate: { minF1?: number; minLabelF1?: number } = {};
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new ReportInputError(`the gate must be minF1=<0..1>,minLabelF1=<0..1> (either or both), got: "${spec}"`);
  for (const part of parts) {
    const m = /^([A-Za-z0-9]+)\s*=\s*(.+)$/.exec(part);
    const key = m?.[1] as (typeof KEYS)[number] | undefined;
    if (!m || !KEYS.includes(key!)) throw new ReportInputError(`the gate accepts ${KEYS.join(' and ')}, got: "${part}"`);
    const value = Number(m[2]);
    if (m[2].trim() === '' || !(value >= 0 && value <= 1)) throw new ReportInputError(`the gate's ${key} must be a number from 0 to 1, got: "${m[2]}"`);
    if (gate[key!] !== undefined) throw new ReportInputError(`the gate gives ${key} twice`);
    gate[key!] = value;
  }
  return gate;
}

const fmt = (n: number): string => n.toFixed(3);

/**
 * Applies the gate to a summary: overall F1 first, then each label below minLabelF1 (worst first), then the
 * comparison with the serving version. The workflow's gate (lambda/gate) calls this too.
 */
export function applyReportGate(gate: ReportGate, summary: EvaluationSummary): GateVerdict {
  const failures: string[] = [];
  if (gate.minF1 !== undefined && summary.f1 < gate.minF1) failures.push(`overall F1 ${fmt(summary.f1)} is below minF1 ${fmt(gate.minF1)}`);
  const weak = gate.minLabelF1 === undefined ? [] : summary.perLabel.filter((l) => l.f1 < gate.minLabelF1!).sort((a, b) => a.f1 - b.f1);
  for (const l of weak) failures.push(`label "${l.label}" F1 ${fmt(l.f1)} is below minLabelF1 ${fmt(gate.minLabelF1!)}`);
  if (gate.mustNotRegress && gate.servingF1 !== undefined && summary.f1 < gate.servingF1) {
    failures.push(`overall F1 ${fmt(summary.f1)} is below the serving version's ${fmt(gate.servingF1)} (mustNotRegress)`);
  }
  const failingLabels = weak.map((l) => l.label);
  if (failures.length > 0) return { passed: false, reason: `Evaluation gate failed: ${failures.join('; ')}`, failures, failingLabels };
  const serving = gate.servingF1 !== undefined ? `, serving version ${fmt(gate.servingF1)}` : '';
  return { passed: true, reason: `Evaluation gate passed: overall F1 ${fmt(summary.f1)}${serving}`, failures, failingLabels };
}
