import { Annotations, Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

const MAX_TAGS = 200;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * Thrown once per construct with every problem found in its props.
 */
export class PropValidationError extends Error {
  constructor(readonly constructPath: string, readonly problems: readonly string[]) {
    super(`Invalid props for ${constructPath}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PropValidationError';
  }
}

/** Renders a received value for a message: strings quoted, everything else as JSON. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** True when the value is (or contains) a CDK token, whose real value is only known at deploy time. */
export function isUnresolved(value: unknown): boolean {
  return value != null && Token.isUnresolved(value);
}

/**
 * Collects prop problems so a construct can report all of them at once, before it creates anything.
 *
 * Every helper skips `undefined` (optional props) and unresolved tokens (checked by the service at deploy time),
 * and phrases its message as `<prop> must <rule>, got: <value>`.
 */
export class PropValidator {
  private readonly found: string[] = [];

  /** Records `message` unless `condition` holds. */
  check(condition: boolean, message: string): this {
    if (!condition) this.found.push(message);
    return this;
  }

  /** `prop` must match `pattern` in full. */
  matches(prop: string, value: string | undefined, pattern: RegExp): this {
    if (value === undefined || isUnresolved(value)) return this;
    return this.check(pattern.test(value), `${prop} must match ${pattern}, got: ${describeValue(value)}`);
  }

  /** `prop` must have between `min` and `max` characters. */
  length(prop: string, value: string | undefined, min: number, max: number): this {
    if (value === undefined || isUnresolved(value)) return this;
    return this.check(value.length >= min && value.length <= max,
      `${prop} must be ${min}..${max} characters long, got ${value.length}: ${describeValue(value)}`);
  }

  /** `prop` must be a number in [min, max] (either bound may be omitted). */
  range(prop: string, value: number | undefined, min?: number, max?: number): this {
    if (value === undefined || isUnresolved(value)) return this;
    const ok = Number.isFinite(value) && (min === undefined || value >= min) && (max === undefined || value <= max);
    return this.check(ok, `${prop} must be ${rangeText(min, max)}, got: ${describeValue(value)}`);
  }

  /** `prop` must be an integer in [min, max] (either bound may be omitted). */
  integer(prop: string, value: number | undefined, min?: number, max?: number): this {
    if (value === undefined || isUnresolved(value)) return this;
    const ok = Number.isInteger(value) && (min === undefined || value >= min) && (max === undefined || value <= max);
    return this.check(ok, `${prop} must be an integer ${rangeText(min, max)}, got: ${describeValue(value)}`);
  }

  /** `prop` must be one of `allowed`. */
  oneOf(prop: string, value: string | undefined, allowed: readonly string[]): this {
    if (value === undefined || isUnresolved(value)) return this;
    return this.check(allowed.includes(value), `${prop} must be one of ${allowed.join(', ')}, got: ${describeValue(value)}`);
  }

  /**
   * `prop` must be a Rekognition tag map: at most 200 entries, keys 1..128 characters not starting with `aws:`,
   * values 0..256 characters, both drawn from letters, spaces, digits and `_.:/=+-@`.
   */
  tags(prop: string, tags: Record<string, string> | undefined): this {
    if (tags === undefined || isUnresolved(tags)) return this;
    const entries = Object.entries(tags);
    this.check(entries.length <= MAX_TAGS, `${prop} must have at most ${MAX_TAGS} entries, got ${entries.length}`);
    for (const [key, value] of entries) {
      if (!isUnresolved(key)) {
        this.check(key.length >= 1 && key.length <= 128 && TAG_CHARS.test(key) && !key.startsWith('aws:'),
          `${prop} keys must be 1..128 characters from ${TAG_CHARS} and not start with "aws:", got: ${describeValue(key)}`);
      }
      if (!isUnresolved(value)) {
        this.check(typeof value === 'string' && value.length <= 256 && TAG_CHARS.test(value),
          `${prop}[${describeValue(key)}] must be 0..256 characters from ${TAG_CHARS}, got: ${describeValue(value)}`);
      }
    }
    return this;
  }

  /** The problems recorded so far. */
  get problems(): readonly string[] {
    return [...this.found];
  }

  /** Throws one {@link PropValidationError} listing every problem, if there is any. */
  throwIfAny(scope: IConstruct | string): void {
    if (this.found.length === 0) return;
    const path = typeof scope === 'string' ? scope : scope.node.path || scope.node.id || '<root>';
    throw new PropValidationError(path, this.found);
  }
}

function rangeText(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  if (min !== undefined) return `>= ${min}`;
  if (max !== undefined) return `<= ${max}`;
  return 'a finite number';
}

/**
 * A Rekognition ARN imported into `scope`'s stack names the region its model lives in, and the stack's functions call
 * Rekognition in the stack's region: a model of another region is "not found" at run time, hours after the deploy.
 * Returns the problem when both regions are known and differ; warns (once per import) when the stack is
 * region-agnostic, since nothing then says where it will be deployed.
 */
export function regionProblem(scope: IConstruct, prop: string, arn: string): string | undefined {
  if (isUnresolved(arn)) return undefined;
  const arnRegion = arn.split(':')[3];
  const stack = Stack.of(scope);
  if (!arnRegion) return undefined;
  if (Token.isUnresolved(stack.region)) {
    Annotations.of(scope).addWarningV2('cdk-rekognition-custom-labels:regionAgnostic',
      `${prop} is in ${arnRegion} and stack ${stack.stackName} is region-agnostic: deploy it to ${arnRegion} (env.region), where the model is`);
    return undefined;
  }
  return arnRegion === stack.region ? undefined
    : `${prop} is in region ${arnRegion}, but stack ${stack.stackName} deploys to ${stack.region}: Rekognition serves a model only in its own `
      + `region; set the stack's env.region to ${arnRegion}, or import the model of ${stack.region}, got: ${describeValue(arn)}`;
}
