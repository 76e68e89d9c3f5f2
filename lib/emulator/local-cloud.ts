import * as path from 'node:path';

import { AccessControl } from '../iam/world';
import { VirtualClock } from './clock';
import { AccountQuotas } from './rekognition/core';
import { RekognitionEmulator, Usage } from './rekognition/emulator';
import { FaultSpec, RandomFaultSpec } from './rekognition/faults';
import { LocalS3, startLocalS3 } from './s3';
import { acquireStateDirLock, StateDirLock } from './state-dir-lock';

export interface LocalCloudOptions {
  /** Virtual ms per real ms (600: a 30-minute training takes 3 s; Infinity: at once; 0: only `clock.advance`). @default 1 */
  readonly timeScale?: number;
  /** Scripted faults of the Rekognition emulator. @default - none */
  readonly faults?: FaultSpec[];
  /** Random faults of the Rekognition emulator. @default - none */
  readonly randomFaults?: RandomFaultSpec;
  /**
   * Keeps state across restarts: S3 objects in `<stateDir>/s3`, the emulator's state in `<stateDir>/rekognition`.
   * @default - S3 in a temporary folder removed by stop(), emulator state in memory
   *
   * The cloud holds the directory's lock until stop(): another emulator or runner on it is refused (StateDirLockedError).
   */
  readonly stateDir?: string;
  /** The lock of `stateDir` when the caller holds it already (the offline runner does). @default - the cloud takes it */
  readonly stateDirLock?: StateDirLock;
  /** Who holds the lock, as a refused second holder is told. @default 'the emulator (startLocalCloud)' */
  readonly holder?: string;
  /** Where S3's temporary folder is made when there is no `stateDir` (e.g. '/dev/shm' for speed). @default os.tmpdir() */
  readonly tempRoot?: string;
  /** @default 0 (a free port) */
  readonly rekognitionPort?: number;
  /** @default 0 (a free port) */
  readonly s3Port?: number;
  /** Buckets to create in the local S3 (idempotent). @default - none */
  readonly buckets?: string[];
  /** DetectCustomLabels requests per real second per inference unit. @default - the emulator's default */
  readonly tpsPerInferenceUnit?: number;
  /** Account quotas (concurrent trainings, inference units). @default - the emulator's defaults */
  readonly quotas?: AccountQuotas;
  /** Receives one line per request to either server, and the emulator's own notes. @default - no log */
  readonly log?: (line: string) => void;
  /**
   * The identity policy of callers whose access key no role owns (a user's own code): their requests are then
   * authorized against it. @default - such callers are not checked (roles registered in `access` always are)
   */
  readonly unknownCallerPolicy?: unknown;
}

export interface LocalCloud {
  /** The state directory, when the cloud keeps state (absolute). */
  readonly stateDir?: string;
  /** The lock of the state directory the cloud holds or was given. */
  readonly stateDirLock?: StateDirLock;
  /** `http://127.0.0.1:<port>`: `endpoint` of a RekognitionClient, or `AWS_ENDPOINT_URL_REKOGNITION`. */
  readonly rekognitionEndpoint: string;
  /** `http://127.0.0.1:<port>`: `endpoint` of an S3Client, or `AWS_ENDPOINT_URL_S3`. */
  readonly s3Endpoint: string;
  readonly clock: VirtualClock;
  readonly emulator: RekognitionEmulator;
  readonly s3: LocalS3;
  /**
   * Who may do what: the offline runner registers every deployed role here, and both servers authorize the requests
   * signed with a registered key (reference §9a: Rekognition also reads and writes S3 with its caller's rights).
   */
  readonly access: AccessControl;
  /** Billable training and inference-unit time so far. */
  usage(): Usage;
  /** Stops the emulator (after its background work) and then S3; safe to call twice. */
  stop(): Promise<void>;
}

/** The one account and Region of the offline world (the runner's intrinsics use the same). */
const ACCOUNT_ID = '123456789012';
const REGION = 'us-east-1';

/** Starts a local S3 and a Rekognition Custom Labels emulator wired to it, both on 127.0.0.1. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const stateDir = options.stateDir === undefined ? undefined : path.resolve(options.stateDir);
  const given = options.stateDirLock;
  if (given && stateDir !== undefined && given.stateDir !== stateDir) {
    throw new Error(`stateDirLock holds ${given.stateDir}, not the stateDir ${stateDir}`);
  }
  const lock = stateDir === undefined ? undefined
    : given ?? await acquireStateDirLock(stateDir, { holder: options.holder ?? 'the emulator (startLocalCloud)' });
  const releaseOwnLock = async (): Promise<void> => {
    if (lock && lock !== given) await lock.release();
  };
  const access = new AccessControl({ accountId: ACCOUNT_ID, region: REGION, unknownCallerPolicy: options.unknownCallerPolicy });
  let s3: LocalS3;
  try {
    s3 = await startLocalS3({
      access,
      port: options.s3Port ?? 0,
      directory: stateDir === undefined ? undefined : path.join(stateDir, 's3'),
      tempRoot: options.tempRoot,
      buckets: options.buckets,
      log: options.log,
    });
  } catch (err) {
    await releaseOwnLock();
    throw err;
  }
  let emulator: RekognitionEmulator;
  let rekognitionEndpoint: string;
  try {
    const clock = new VirtualClock({ timeScale: options.timeScale ?? 1 });
    emulator = new RekognitionEmulator({
      s3Endpoint: s3.endpoint,
      clock,
      faults: options.faults,
      randomFaults: options.randomFaults,
      stateDir: stateDir === undefined ? undefined : path.join(stateDir, 'rekognition'),
      tpsPerInferenceUnit: options.tpsPerInferenceUnit,
      quotas: options.quotas,
      log: options.log,
      access,
      region: REGION,
      accountId: ACCOUNT_ID,
    });
    rekognitionEndpoint = await emulator.listen(options.rekognitionPort ?? 0, '127.0.0.1');
  } catch (err) {
    await s3.stop();
    await releaseOwnLock();
    throw err;
  }
  const started = emulator;
  let stopped: Promise<void> | undefined;
  return {
    stateDir,
    stateDirLock: lock,
    rekognitionEndpoint,
    s3Endpoint: s3.endpoint,
    clock: started.clock,
    emulator: started,
    s3,
    access,
    usage: () => started.usage(),
    stop: () => {
      stopped ??= (async () => {
        try {
          await started.close();
        } finally {
          try {
            await s3.stop();
          } finally {
            await releaseOwnLock();
          }
        }
      })();
      return stopped;
    },
  };
}
