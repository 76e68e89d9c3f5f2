/**
 * The ModelSchedule function: holds the model for a window (starting it when nobody runs it), releases it at the
 * window's end (stopping it unless a batch still needs it), and guards the running time and the day's inference-unit
 * hours (stopping the model, whoever holds it, before a limit is passed).
 *
 * The hold is an entry in lease documents (lambda/batch/lease.ts): the schedule's own, and those of the BatchAnalysis
 * constructs sharing the model, so a batch ending inside a window sees a holder left and does not stop the model, and a
 * window ending during a batch leaves the model to the batch (whose last release stops it: the lease says it started it).
 */
import { RekognitionClient, StartProjectVersionCommand, StopProjectVersionCommand } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';

import { LeaseDocument } from '../../lib/batch/contracts';
import {
  GuardVerdict, LeaseLocation, Ledger, LEDGER_KEY, MODEL_ERROR, ScheduleSettings, StartResult, STOP_ERROR, StopResult,
} from '../../lib/schedule/contracts';
import { live, updateLease } from '../batch/lease';
import { describeVersion, NOT_SERVABLE, STARTABLE, VersionStatus } from '../shared/model-version';
import { DocumentLocation, readDocument, updateDocument } from '../shared/s3-document';
import { account, budgetSpent, GuardLimits } from './ledger';

export interface Clients {
  readonly rekognition: RekognitionClient;
  readonly s3: S3Client;
  /** Epoch ms now. @default Date.now */
  readonly now?: () => number;
}

/** An error the state machine reports by name. */
export class ScheduleError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const isVersionArn = (arn: string): boolean => /^arn:[^:]+:rekognition:[^:]*:\d*:project\/[^/]+\/version\/[^/]+\/\d+$/.test(arn);
/** A stop under way: acquirers (batches, the next window) wait this long before starting the model again. */
const STOPPING_MS = 10 * 60_000;

// ---------------------------------------------------------------------------------------------------------------------
// The model

const fail = (message: string): Error => new ScheduleError(MODEL_ERROR, message);

function describe(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<VersionStatus> {
  return describeVersion(clients.rekognition, versionArn, settings.projectArn, fail);
}

// ---------------------------------------------------------------------------------------------------------------------
// The hold: an entry in every lease document of the model

function stores(settings: ScheduleSettings, clients: Clients) {
  const own: LeaseLocation = { bucket: settings.bucket, prefix: '' };
  return [own, ...settings.batchLeases].map((l) => ({ s3: clients.s3, bucket: l.bucket, prefix: l.prefix }));
}

/** Applies `change` to every lease document of the version; returns the values, in store order. */
async function everyLease<T>(versionArn: string, settings: ScheduleSettings, clients: Clients,
  change: (doc: LeaseDocument, now: number) => { doc?: LeaseDocument; value: T }): Promise<T[]> {
  const values: T[] = [];
  for (const store of stores(settings, clients)) {
    values.push(await updateLease(store, versionArn, (doc) => change(doc, (clients.now ?? Date.now)())));
  }
  return values;
}

function hold(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<unknown[]> {
  return everyLease(versionArn, settings, clients, (doc, now) => ({
    doc: { ...live(doc, now), holders: { ...live(doc, now).holders, [settings.holder]: { expiresAt: now + settings.holdSeconds * 1000 } },
      releasedBy: undefined, releasedAt: undefined },
    value: undefined,
  }));
}

/** Drops the schedule's hold; returns the other live holders (a batch still running). */
async function releaseHold(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<string[]> {
  const others = await everyLease(versionArn, settings, clients, (doc, now) => {
    const rest = live(doc, now).holders;
    delete rest[settings.holder];
    return { doc: { ...doc, holders: rest }, value: Object.keys(rest) };
  });
  return [...new Set(others.flat())];
}

/** Marks a stop under way in every lease document: nobody holds the model now, and acquirers wait for STOPPED. */
function markStopping(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<unknown[]> {
  return everyLease(versionArn, settings, clients, (doc, now) => {
    const holders = live(doc, now).holders;
    delete holders[settings.holder];
    return { doc: { ...doc, holders, startedByLease: false, stoppingUntil: now + STOPPING_MS }, value: undefined };
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// The ledger: one JSON object, changed with S3 conditional writes

function ledgerAt(settings: ScheduleSettings, clients: Clients): DocumentLocation {
  return { s3: clients.s3, bucket: settings.bucket, key: LEDGER_KEY };
}

function limitsOf(settings: ScheduleSettings): GuardLimits {
  return { timeZone: settings.timeZone, guardSeconds: settings.guardSeconds, maxRunningSeconds: settings.maxRunningSeconds,
    dailyInferenceUnitHoursBudget: settings.dailyInferenceUnitHoursBudget };
}

const hours = (h: number): string => `${Math.round(h * 100) / 100}`;

// ---------------------------------------------------------------------------------------------------------------------
// Actions

/**
 * A window opens: holds the model and starts it unless it runs (or starts) already. Refused (with an alarm) when today's
 * inference-unit budget is spent.
 */
export async function start(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<StartResult> {
  if (!isVersionArn(versionArn)) throw new ScheduleError(MODEL_ERROR, `No model version serves yet (the parameter holds: ${versionArn})`);
  const units = settings.maxInferenceUnits ?? settings.minInferenceUnits;
  const spent = budgetSpent((await readDocument<Ledger>(ledgerAt(settings, clients))).doc, (clients.now ?? Date.now)(), units, limitsOf(settings));
  if (spent) {
    const d = await describe(versionArn, settings, clients);
    return { versionArn, status: d.status, started: false, refused: true, checks: 0,
      alarm: `ModelSchedule ${settings.holder} did not start ${versionArn}: today's inference-unit hours (${settings.timeZone}) are `
        + `${hours(spent.figure)} of the dailyInferenceUnitHoursBudget ${spent.max}, and the next ${settings.guardSeconds / 60} minutes at `
        + `${units} units would reach it` };
  }
  await hold(versionArn, settings, clients);
  return startStatus(versionArn, 0, settings, clients);
}

/** The wait loop of a start: the status, starting the model once a stop under way is over. */
export async function startStatus(versionArn: string, checks: number, settings: ScheduleSettings, clients: Clients): Promise<StartResult> {
  const d = await describe(versionArn, settings, clients);
  if (NOT_SERVABLE.includes(d.status)) throw new ScheduleError(MODEL_ERROR, `The model version ${versionArn} is ${d.status}: ${d.message}`);
  let started = false;
  if (STARTABLE.includes(d.status)) {
    // Every lease must say the lease started the model before it runs: a batch's last release then stops it.
    const stopping = await everyLease(versionArn, settings, clients, (doc, now) => {
      if ((doc.stoppingUntil ?? 0) > now) return { value: true };
      return { doc: { ...doc, startedByLease: true, stoppingUntil: undefined }, value: false };
    });
    if (!stopping.some(Boolean)) {
      await clients.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: settings.minInferenceUnits,
        ...(settings.maxInferenceUnits === undefined ? {} : { MaxInferenceUnits: settings.maxInferenceUnits }) }));
      started = true;
    }
  }
  return { versionArn, status: started ? 'STARTING' : d.status, started, refused: false, checks: checks + 1 };
}

/**
 * A window closes: releases the hold, and stops the model unless another holder (a batch) still needs it: that
 * holder's release stops it then. The schedule stops the model whoever started it: outside its windows it runs only
 * for a batch.
 */
export async function stop(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<StopResult> {
  if (!isVersionArn(versionArn)) return { versionArn, status: 'NONE', stopping: false, checks: 0 };
  const others = await releaseHold(versionArn, settings, clients);
  if (others.length > 0) {
    // The batches' last release stops it: they must believe the lease started it.
    await everyLease(versionArn, settings, clients, (doc) => ({ doc: { ...doc, startedByLease: true }, value: undefined }));
    const d = await describe(versionArn, settings, clients);
    return { versionArn, status: d.status, stopping: false, leftTo: others, checks: 0 };
  }
  return stopNow(versionArn, settings, clients);
}

async function stopNow(versionArn: string, settings: ScheduleSettings, clients: Clients, alarm?: string): Promise<StopResult> {
  await markStopping(versionArn, settings, clients);
  const d = await describe(versionArn, settings, clients);
  if (d.status === 'RUNNING' || d.status === 'STARTING') {
    await clients.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
    return { versionArn, status: 'STOPPING', stopping: true, checks: 0, ...(alarm ? { alarm } : {}) };
  }
  return stopStatus(versionArn, 0, settings, clients, alarm);
}

/** The wait loop of a stop: STOPPING goes on, STOPPED ends it, anything else fails the stop with the service's status. */
export async function stopStatus(versionArn: string, checks: number, settings: ScheduleSettings, clients: Clients,
  alarm?: string): Promise<StopResult> {
  const d = await describe(versionArn, settings, clients);
  const base = { versionArn, status: d.status, checks: checks + 1, ...(alarm ? { alarm } : {}) };
  if (d.status === 'STOPPING') return { ...base, stopping: true };
  if (['STOPPED', 'TRAINING_COMPLETED', 'COPYING_COMPLETED', 'FAILED'].includes(d.status)) {
    await everyLease(versionArn, settings, clients, (doc) => ({ doc: { ...doc, stoppingUntil: undefined }, value: undefined }));
    return { ...base, stopping: false };
  }
  throw new ScheduleError(STOP_ERROR, `The model version ${versionArn} is ${d.status} after StopProjectVersion, not STOPPED${d.message ? `: ${d.message}` : ''}`);
}

/**
 * The cost guard: counts the running time in the ledger, refreshes the schedule's hold, and stops the model (whoever
 * holds it) at the last run before maxRunningTime or the day's budget would be reached, returning the alarm to publish.
 */
export async function guard(versionArn: string, settings: ScheduleSettings, clients: Clients): Promise<StopResult> {
  if (!isVersionArn(versionArn)) return { versionArn, status: 'NONE', stopping: false, checks: 0 };
  const d = await describe(versionArn, settings, clients);
  // Two guard runs at once (a late one): the second reads the first's ledger and counts again.
  const verdict = await updateDocument<Ledger, GuardVerdict | undefined>(ledgerAt(settings, clients), (last) => {
    const result = account(last, { now: (clients.now ?? Date.now)(), status: d.status, units: d.units, versionArn }, limitsOf(settings));
    return { doc: result.ledger, value: result.verdict };
  });
  if (!verdict) {
    // Keep the hold alive through long windows (it expires holdSeconds after it was last refreshed).
    await everyLease(versionArn, settings, clients, (doc, now) => (doc.holders[settings.holder] && doc.holders[settings.holder].expiresAt > now
      ? { doc: { ...doc, holders: { ...doc.holders, [settings.holder]: { expiresAt: now + settings.holdSeconds * 1000 } } }, value: undefined }
      : { value: undefined }));
    return { versionArn, status: d.status, stopping: false, checks: 0 };
  }
  const what = verdict.limit === 'maxRunningTime'
    ? `it has run ${hours(verdict.figure)} hours without a break and would reach maxRunningTime (${hours(verdict.max)} hours) by the next check`
    : `today's inference-unit hours (${settings.timeZone}) are ${hours(verdict.figure)} and would reach the dailyInferenceUnitHoursBudget `
      + `(${verdict.max}) by the next check (counted as running time × ${d.units} units, an upper bound)`;
  return stopNow(versionArn, settings, clients, `ModelSchedule ${settings.holder} stopped ${versionArn}: ${what}`);
}

