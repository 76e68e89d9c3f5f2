import { mulberry32 } from '../../manifest/random';
import { ServiceError } from './errors';

/** A scripted fault: the operation fails with `error` `times` times, after letting `afterCalls` calls through. */
export interface FaultSpec {
  /** Operation name, e.g. 'DescribeProjectVersions', or '*' for every operation. */
  readonly operation: string;
  /** The error's `__type`, e.g. 'ThrottlingException'. */
  readonly error: string;
  readonly message?: string;
  /** @default 1 */
  readonly times?: number;
  /** Calls of the operation that succeed before the fault starts. @default 0 */
  readonly afterCalls?: number;
}

/** Random faults: each matching call fails with probability `rate`, drawn from a PRNG seeded with `seed`. */
export interface RandomFaultSpec {
  /** 0..1 */
  readonly rate: number;
  readonly seed: number;
  /** @default every operation */
  readonly operations?: string[];
  /** @default ['ThrottlingException', 'InternalServerError'] */
  readonly errors?: string[];
}

interface ActiveFault { spec: FaultSpec; seen: number; fired: number }


/** Decides, per call, whether an injected error replaces the operation. */
export class FaultInjector {
  private scripted: ActiveFault[] = [];
  private random?: { spec: RandomFaultSpec; next: () => number };

  constructor(faults: FaultSpec[] = [], random?: RandomFaultSpec) {
    faults.forEach((f) => this.add(f));
    this.setRandom(random);
  }

  add(spec: FaultSpec): void {
    if (!spec.operation || !spec.error) throw new Error('a fault needs an operation and an error');
    this.scripted.push({ spec, seen: 0, fired: 0 });
  }

  clear(): void {
    this.scripted = [];
    this.random = undefined;
  }

  setRandom(spec?: RandomFaultSpec): void {
    if (spec && !(spec.rate >= 0 && spec.rate <= 1)) throw new Error(`random fault rate must be in 0..1, got: ${spec.rate}`);
    this.random = spec ? { spec, next: mulberry32(spec.seed) } : undefined;
  }

  /** Returns the error to answer `operation` with, or undefined to run it. */
  check(operation: string): ServiceError | undefined {
    let hit: ServiceError | undefined;
    for (const fault of this.scripted) {
      if (fault.spec.operation !== operation && fault.spec.operation !== '*') continue;
      fault.seen += 1;
      if (hit || fault.seen <= (fault.spec.afterCalls ?? 0) || fault.fired >= (fault.spec.times ?? 1)) continue;
      fault.fired += 1;
      hit = new ServiceError(fault.spec.error, fault.spec.message ?? `Injected fault: ${fault.spec.error}`);
    }
    this.scripted = this.scripted.filter((f) => f.fired < (f.spec.times ?? 1));
    if (hit) return hit;
    const random = this.random;
    if (random && (!random.spec.operations || random.spec.operations.includes(operation))) {
      const draw = random.next();
      if (draw < random.spec.rate) {
        const errors = random.spec.errors?.length ? random.spec.errors : ['ThrottlingException', 'InternalServerError'];
        const name = errors[Math.floor(random.next() * errors.length)];
        return new ServiceError(name, `Injected random fault: ${name}`);
      }
    }
    return undefined;
  }
}
