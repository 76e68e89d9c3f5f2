/**
 * The IAM policy engine behind the offline world's access checks: @cloud-copilot/iam-simulate, an evaluator of AWS's
 * policy logic (identity and resource policies, explicit denies, every condition operator, same-account rules and KMS
 * key-policy trust). It is AGPL-3.0-or-later, so this package does not ship it: it is one of the offline tools' packages,
 * loaded on first use, and a clear error says how to install it (or how to run without enforcement).
 */
import * as path from 'node:path';

import type * as Simulate from '@cloud-copilot/iam-simulate';

/** The pinned version we test with (package.json devDependencies). */
export const ENGINE_PACKAGE = '@cloud-copilot/iam-simulate';
export const ENGINE_VERSION = '0.1.173';

/** The engine is not installed. */
export class PolicyEngineMissingError extends Error {
  constructor(cause: unknown) {
    super(`IAM enforcement needs the policy engine ${ENGINE_PACKAGE} (AGPL-3.0-or-later, not installed with this package): `
      + `run 'npm install --save-dev ${ENGINE_PACKAGE}@${ENGINE_VERSION}', or turn enforcement off (--no-iam, or iam: false)`, { cause });
    this.name = 'PolicyEngineMissingError';
  }
}

export interface PolicyDocument {
  readonly name: string;
  readonly policy: unknown;
}

export interface EngineRequest {
  /** The calling principal's ARN (an assumed-role session). */
  readonly principal: string;
  readonly action: string;
  /** A resource ARN, or `*` for actions without resource-level permissions. */
  readonly resource: string;
  /** The account that owns the resource. */
  readonly resourceAccount: string;
  readonly context: Readonly<Record<string, string | string[]>>;
  readonly identityPolicies: readonly PolicyDocument[];
  readonly resourcePolicy?: unknown;
}

/** The decision and, for a denial, which kind of policy decided it (AWS names it in its message). */
export interface EngineDecision {
  readonly allowed: boolean;
  readonly explicit: boolean;
  /** `identity` or `resource`: the policy type AWS's message names. */
  readonly policyType: 'identity' | 'resource';
}

let loaded: typeof Simulate | undefined;

function engine(): typeof Simulate {
  if (!loaded) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(ENGINE_PACKAGE) as typeof Simulate;
    } catch (err) {
      throw new PolicyEngineMissingError(err);
    }
    memoizeResourceTypeMatching();
  }
  return loaded;
}

type PatternMatcher = (resource: string, patterns: string[]) => string[];

/**
 * The engine finds the resource types of a request's ARN by intersecting automata of the ARN and of every resource
 * type pattern of the action, twice per request (context keys, then the decision): most of its CPU time when a
 * function writes thousands of objects, or an import authorizes every image (bench:scale: 180 of 510 s of CPU at
 * 100,000 images, as every object's ARN is new). For a concrete ARN of printable ASCII (no `*` or `?`) the same answer
 * comes from one regular expression per pattern ({@link matchConcreteResource}); other ARNs go to the engine's own
 * function, memoized. The function is replaced where the engine's helper package exports it; if the package's layout
 * ever differs, nothing is replaced.
 */
function memoizeResourceTypeMatching(): void {
  let inner: { mostSpecificMatchingResourceTypePatterns?: PatternMatcher };
  try {
    const utils = require.resolve('@cloud-copilot/iam-utils', { paths: [path.dirname(require.resolve(ENGINE_PACKAGE))] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    inner = require(path.join(path.dirname(utils), 'resourceTypes.js')) as typeof inner;
  } catch {
    return;
  }
  const original = inner.mostSpecificMatchingResourceTypePatterns;
  if (typeof original !== 'function' || (original as { memoized?: boolean }).memoized) return;
  const cache = new Map<string, string[]>();
  const memoized = (resource: string, patterns: string[]): string[] => {
    const fast = matchConcreteResource(resource, patterns);
    if (fast) return fast;
    const key = `${resource}\n${patterns.join('\n')}`;
    let found = cache.get(key);
    if (!found) {
      found = original(resource, patterns);
      // Bounded: a long run checks as many ARNs as it touches objects.
      if (cache.size >= 100_000) cache.clear();
      cache.set(key, found);
    }
    return [...found];
  };
  inner.mostSpecificMatchingResourceTypePatterns = Object.assign(memoized, { memoized: true, original });
}

/** Printable ASCII without IAM's wildcards: where case-insensitive equality is the engine's `localeCompare` (accent). */
const CONCRETE = /^[\x20-\x29\x2b-\x3e\x40-\x7e]*$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** One ARN component of a pattern: matched by `*`, compared as text when either side is empty, else tested. */
interface ComponentMatcher {
  /** undefined: the pattern has no such component (an ARN with too few colons). */
  readonly text: string | undefined;
  readonly test?: RegExp;
}

interface CompiledPattern {
  /** Partition, service, region, account and resource, split as the engine splits them. */
  readonly components: readonly ComponentMatcher[];
  /** The pattern's literal text, for the engine's "more specific" rule. */
  readonly literal: string;
}

const compiled = new Map<string, CompiledPattern | null>();

/** The engine's tokens: a `${...}` variable (one or more characters), or one literal character. */
function tokens(text: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < text.length;) {
    const end = text[i] === '$' && text[i + 1] === '{' ? text.indexOf('}', i + 2) : -1;
    if (end !== -1) {
      out.push(null);
      i = end + 1;
    } else {
      out.push(text[i]);
      i += 1;
    }
  }
  return out;
}

function compileComponent(text: string | undefined): ComponentMatcher {
  if (text === undefined || text === '*' || text === '') return { text };
  // A component that is one variable and nothing else stays within a segment; other variables may span `:` and `/`.
  const whole = [...text.matchAll(/\$\{[0-9a-zA-Z]+\}/g)];
  const variable = whole.length === 1 && whole[0][0] === text ? '[^:/]+' : '[\\s\\S]+';
  const source = tokens(text).map((t) => (t === null ? variable : t.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))).join('');
  return { text, test: new RegExp(`^${source}$`, 'i') };
}

function compile(pattern: string): CompiledPattern | null {
  let found = compiled.get(pattern);
  if (found === undefined) {
    found = PRINTABLE.test(pattern)
      ? { components: arnComponents(pattern).map(compileComponent), literal: tokens(pattern).filter((t) => t !== null).join('') }
      : null;
    compiled.set(pattern, found);
  }
  return found;
}

/** The engine's split of an ARN: parts 1 to 4 by colon, and the rest (undefined where the ARN has too few colons). */
function arnComponents(arn: string): (string | undefined)[] {
  const parts = arn.split(':');
  return [parts[1], parts[2], parts[3], parts[4], parts.slice(5).join(':')];
}

function componentMatches(part: string | undefined, matcher: ComponentMatcher): boolean {
  if (matcher.text === '*') return true;
  if (part === undefined || matcher.text === undefined) return false;
  if (part === '' || matcher.text === '') return part.toLowerCase() === matcher.text.toLowerCase();
  return matcher.test!.test(part);
}

/**
 * The engine's `mostSpecificMatchingResourceTypePatterns` for a concrete ARN of printable ASCII, or undefined for any
 * other ARN or pattern (the engine's own function decides those). Exported for the test that checks it against the
 * engine's function over the services' resource types.
 */
export function matchConcreteResource(resource: string, patterns: readonly string[]): string[] | undefined {
  if (!CONCRETE.test(resource)) return undefined;
  const compiledPatterns: CompiledPattern[] = [];
  for (const pattern of patterns) {
    const c = compile(pattern);
    if (!c) return undefined;
    compiledPatterns.push(c);
  }
  const parts = arnComponents(resource);
  const matching = patterns
    .map((pattern, i) => ({ pattern, literal: compiledPatterns[i].literal,
      matches: compiledPatterns[i].components.every((m, k) => componentMatches(parts[k], m)) }))
    .filter((m) => m.matches);
  // A matching pattern gives way to another with all its literal text and more (a parent to its child).
  return matching
    .filter((candidate, i) => !matching.some((other, k) => k !== i && other.literal.length > candidate.literal.length
      && other.literal.startsWith(candidate.literal)))
    .map((m) => m.pattern);
}

/** Throws PolicyEngineMissingError now rather than at the first request. */
export function requirePolicyEngine(): void {
  engine();
}

/** Evaluates one request as AWS does. A request the engine cannot evaluate (a malformed policy) throws with its reason. */
export async function evaluate(request: EngineRequest): Promise<EngineDecision> {
  const { runSimulation, getDenialReasons } = engine();
  const result = await runSimulation({
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: { ...request.context },
    },
    identityPolicies: request.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(request.resourcePolicy !== undefined ? { resourcePolicy: request.resourcePolicy } : {}),
  }, {});
  if (result.resultType === 'error') {
    throw new Error(`IAM policy engine: ${request.action} on ${request.resource} could not be evaluated: ${result.errors.message}`
      + `${describeErrors(result.errors)}`);
  }
  if (result.overallResult === 'Allowed') return { allowed: true, explicit: false, policyType: 'identity' };
  const analyses = result.resultType === 'single' ? [result.result.analysis] : result.results.map((r) => r.analysis);
  const reasons = analyses.flatMap((a) => getDenialReasons(a));
  const explicit = reasons.find((r) => r.denialType === 'Explicit');
  const chosen = explicit ?? reasons.find((r) => r.policyType === 'identity') ?? reasons[0];
  return {
    allowed: false,
    explicit: explicit !== undefined,
    policyType: chosen?.policyType === 'resource' ? 'resource' : 'identity',
  };
}

function describeErrors(errors: Simulate.SimulationErrors): string {
  const parts: string[] = [];
  const add = (what: string, list: { message?: string }[] | undefined): void => {
    for (const e of list ?? []) parts.push(`${what}: ${e.message ?? JSON.stringify(e)}`);
  };
  for (const [name, list] of Object.entries(errors.identityPolicyErrors ?? {})) add(`identity policy ${name}`, list);
  add('resource policy', errors.resourcePolicyErrors);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}
