/**
 * What a running model can take: DetectCustomLabels transactions per second per inference unit, the virtual time a call
 * takes, and the service's auto scaling between MinInferenceUnits and MaxInferenceUnits. The service documents no fixed
 * TPS per inference unit (it depends on the model and the images, reference §9), so tests and benchmarks set one per
 * model; a call beyond what the running units take in the last (virtual) second is refused with
 * ProvisionedThroughputExceededException, as the service does.
 *
 * [inferred] How fast the service scales is not documented. The emulator evaluates every minute of virtual time: when
 * more than 5% of the last minute's calls were refused, it adds the units the peak second needed (at least one, at
 * most MaxInferenceUnits), which serve 5 minutes later, as a new instance would; when the busiest second of the last
 * 15 minutes would have fitted in one unit less, it removes one (never below MinInferenceUnits). The meter bills every
 * unit from the moment it serves to the moment it is removed or the model stops.
 *
 * Two clocks: functions the runner hosts pace themselves on the virtual clock, while a client outside (a test, the demo,
 * a user's handler run by hand) backs off on the wall clock, under which a stopped virtual clock never moves. A call is
 * refused only when the last second is full on both clocks, so a client that paces as AWS requires passes on either;
 * with the virtual clock stopped (timeScale 0) the wall clock alone decides, exactly as on AWS. A virtual clock running
 * faster than the wall clock admits more calls per wall-clock second: its world's time really passed.
 */
import { EmulatorCore, globMatch } from './core';
import { VersionRecord } from './state';

/** The capacity of the models whose project and version names match (globs with `*` and `?`; absent = any). */
export interface ModelCapacity {
  /** @default - any project */
  readonly projectName?: string;
  /** @default - any version */
  readonly versionName?: string;
  /** DetectCustomLabels calls per second that one inference unit serves (virtual seconds). */
  readonly tpsPerInferenceUnit: number;
  /** Virtual ms one DetectCustomLabels call takes; 0 answers at once. @default 0 */
  readonly latencyMs?: number;
}

export const SCALING = {
  evaluationMs: 60_000,
  refusedShareToScaleUp: 0.05,
  scaleUpDelayMs: 5 * 60_000,
  scaleDownWindowMs: 15 * 60_000,
} as const;

const WINDOW_MS = 1000;

interface Demand {
  /** Admitted call times (virtual ms) within the last second. */
  window: number[];
  /** The same calls' wall-clock times (ms) within the last second. */
  wallWindow: number[];
  /** Calls per whole virtual second (epoch second -> [admitted, refused]), kept for the scale-down window. */
  seconds: Map<number, [number, number]>;
  /** When the model started running (virtual ms). */
  readonly runningFrom: number;
  /** Next scaling evaluation (virtual ms). */
  nextEvaluation: number;
  /** Units added by a scale-up that serve from `at`. */
  pending?: { at: number; units: number };
}

/** Capacities by model, the throughput each running version has used, and its scaling. */
export class CapacityTable {
  private readonly entries: ModelCapacity[];
  private readonly demand = new Map<string, Demand>();
  /**
   * Refuse on the virtual clock alone, as strict as AWS for callers that pace on it (the functions a runner hosts). Off
   * by default for callers outside (see the file comment); a benchmark of hosted functions turns it on: else a slow
   * machine, whose wall-clock second is never full, admits more calls per virtual second than the model takes.
   */
  virtualClockOnly = false;

  constructor(private readonly defaultTps: number, entries: readonly ModelCapacity[] = []) {
    this.entries = [...entries];
  }

  /** Sets the capacity of matching models (the last matching entry wins). */
  set(capacity: ModelCapacity): void {
    if (!(capacity.tpsPerInferenceUnit > 0)) throw new Error(`tpsPerInferenceUnit must be > 0, got: ${capacity.tpsPerInferenceUnit}`);
    if (capacity.latencyMs !== undefined && !(capacity.latencyMs >= 0)) throw new Error(`latencyMs must be >= 0, got: ${capacity.latencyMs}`);
    this.entries.push(capacity);
  }

  clear(): void {
    this.entries.length = 0;
  }

  of(projectName: string, versionName: string): Required<Pick<ModelCapacity, 'tpsPerInferenceUnit' | 'latencyMs'>> {
    const found = [...this.entries].reverse().find((e) => globMatch(e.projectName, projectName) && globMatch(e.versionName, versionName));
    return { tpsPerInferenceUnit: found?.tpsPerInferenceUnit ?? this.defaultTps, latencyMs: found?.latencyMs ?? 0 };
  }

  forget(arn: string): void {
    this.demand.delete(arn);
  }

  /**
   * Admits a call at `now` or refuses it (false) when the last second's admitted calls fill the running units on both clocks. Scaling
   * is brought up to date first, and the call counts as demand either way.
   */
  admit(core: EmulatorCore, v: VersionRecord, now: number, wallNow: number = Date.now()): { admitted: boolean; tps: number; units: number } {
    this.settleUnits(core, v, now);
    const d = this.demandOf(v, v.meter.runningSince ?? now);
    const { tpsPerInferenceUnit } = this.of(projectNameOf(v), v.name);
    const units = v.meter.runningUnits ?? v.minInferenceUnits ?? 1;
    d.window = d.window.filter((t) => now - t < WINDOW_MS);
    d.wallWindow = d.wallWindow.filter((t) => wallNow - t < WINDOW_MS);
    const capacity = tpsPerInferenceUnit * units;
    const admitted = d.window.length < capacity || (!this.virtualClockOnly && d.wallWindow.length < capacity);
    if (admitted) {
      d.window.push(now);
      d.wallWindow.push(wallNow);
    }
    const second = Math.floor(now / 1000);
    const counts = d.seconds.get(second) ?? [0, 0];
    counts[admitted ? 0 : 1] += 1;
    d.seconds.set(second, counts);
    return { admitted, tps: tpsPerInferenceUnit * units, units };
  }

  /** Applies the scaling decisions due up to `now` (evaluated minute by minute of virtual time) to the meter. */
  settleUnits(core: EmulatorCore, v: VersionRecord, now: number): void {
    if (v.status !== 'RUNNING' || v.meter.runningSince === undefined) return;
    const min = v.minInferenceUnits ?? 1;
    const max = Math.max(min, v.maxInferenceUnits ?? min);
    if (max === min) return;
    const d = this.demandOf(v, v.meter.runningSince);
    const { tpsPerInferenceUnit } = this.of(projectNameOf(v), v.name);
    for (;;) {
      const next = Math.min(d.nextEvaluation, d.pending?.at ?? Infinity);
      if (next > now) break;
      if (d.pending && d.pending.at <= d.nextEvaluation) {
        changeUnits(v, d.pending.at, d.pending.units);
        core.log(`auto scaling: ${v.arn} serves with ${d.pending.units} inference unit(s) from ${new Date(d.pending.at).toISOString()}`);
        d.pending = undefined;
        continue;
      }
      const at = d.nextEvaluation;
      d.nextEvaluation += SCALING.evaluationMs;
      const units = v.meter.runningUnits ?? min;
      const lastMinute = secondsIn(d, at - SCALING.evaluationMs, at);
      const refused = lastMinute.reduce((s, [, r]) => s + r, 0);
      const total = lastMinute.reduce((s, [a, r]) => s + a + r, 0);
      const target = d.pending?.units ?? units;
      if (total > 0 && refused / total > SCALING.refusedShareToScaleUp && target < max) {
        const peak = Math.max(...lastMinute.map(([a, r]) => a + r));
        d.pending = { at: at + SCALING.scaleUpDelayMs, units: Math.min(max, Math.max(target + 1, Math.ceil(peak / tpsPerInferenceUnit))) };
        continue;
      }
      if (!d.pending && units > min && at - d.runningFrom >= SCALING.scaleDownWindowMs) {
        const window = secondsIn(d, at - SCALING.scaleDownWindowMs, at);
        const peak = window.length === 0 ? 0 : Math.max(...window.map(([a, r]) => a + r));
        if (peak <= (units - 1) * tpsPerInferenceUnit) {
          changeUnits(v, at, units - 1);
          core.log(`auto scaling: ${v.arn} serves with ${units - 1} inference unit(s) from ${new Date(at).toISOString()}`);
        }
      }
      for (const second of d.seconds.keys()) if ((second + 1) * 1000 <= at - SCALING.scaleDownWindowMs) d.seconds.delete(second);
    }
  }

  private demandOf(v: VersionRecord, since: number): Demand {
    let d = this.demand.get(v.arn);
    if (!d) {
      d = { window: [], wallWindow: [], seconds: new Map(), runningFrom: since, nextEvaluation: since + SCALING.evaluationMs };
      this.demand.set(v.arn, d);
    }
    return d;
  }
}

/** Closes the meter's interval at `at` with the old units and opens one with `units`. */
export function changeUnits(v: VersionRecord, at: number, units: number): void {
  if (v.meter.runningSince === undefined) return;
  v.meter.inferenceUnitSeconds += Math.max(0, at - v.meter.runningSince) / 1000 * (v.meter.runningUnits ?? 1);
  v.meter.runningSince = at;
  v.meter.runningUnits = units;
}

/** The per-second counts of the seconds that overlap [from, to). */
function secondsIn(d: Demand, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [second, counts] of d.seconds) if ((second + 1) * 1000 > from && second * 1000 < to) out.push(counts);
  return out;
}

/** `…:project/<name>/version/<version>/<ms>` */
function projectNameOf(v: VersionRecord): string {
  return v.arn.split('/')[1] ?? '';
}
