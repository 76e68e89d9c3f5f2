/**
 * EventBridge event patterns (EventBridge User Guide, "Event patterns" and "Content filtering"): fields nest as in the
 * event, each leaf is an array of matchers and matches when any of them matches the event's value (or, when the event
 * holds an array, any of its elements). Matchers: exact values (strings, numbers, booleans, null), `prefix`, `suffix`
 * (also with `equals-ignore-case`), `equals-ignore-case`, `anything-but` (values, a list, prefix, suffix,
 * equals-ignore-case), `numeric` (one or two comparisons), `exists`, `wildcard`, `cidr` (IPv4), and `$or`.
 */
import { isPlainObject } from './intrinsics';

/** A pattern EventBridge would refuse: PutRule's InvalidEventPatternException. */
export class EventPatternError extends Error {
  constructor(reason: string) {
    // [inferred] The service's text starts so; its reasons name Jackson parser positions we do not reproduce.
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternException';
  }
}

const OPERATORS = new Set(['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists', 'wildcard', 'cidr']);

/** Parses (a JSON string or an object) and checks a pattern; throws EventPatternError. */
export function parseEventPattern(pattern: unknown): Record<string, unknown> {
  let value = pattern;
  if (typeof pattern === 'string') {
    try {
      value = JSON.parse(pattern);
    } catch {
      throw new EventPatternError('the pattern is not valid JSON');
    }
  }
  if (!isPlainObject(value)) throw new EventPatternError('the pattern must be a JSON object');
  checkObject(value, '');
  return value;
}

function checkObject(pattern: Record<string, unknown>, at: string): void {
  for (const [key, value] of Object.entries(pattern)) {
    const where = at ? `${at}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isPlainObject)) throw new EventPatternError(`$or at ${where} must be an array of at least 2 objects`);
      value.forEach((v) => checkObject(v as Record<string, unknown>, where));
    } else if (isPlainObject(value)) {
      checkObject(value, where);
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new EventPatternError(`Empty arrays are not allowed at ${where}`);
      value.forEach((m) => checkMatcher(m, where));
    } else {
      throw new EventPatternError(`Match value must be an array or an object at ${where}`);
    }
  }
}

function checkMatcher(m: unknown, where: string): void {
  if (m === null || ['string', 'number', 'boolean'].includes(typeof m)) return;
  if (!isPlainObject(m) || Object.keys(m).length !== 1) throw new EventPatternError(`Unrecognized match type at ${where}`);
  const [op, arg] = Object.entries(m)[0];
  if (!OPERATORS.has(op)) throw new EventPatternError(`Unrecognized match type ${op} at ${where}`);
  const stringOrIgnoreCase = (v: unknown): boolean => typeof v === 'string' || (isPlainObject(v) && typeof v['equals-ignore-case'] === 'string');
  const ok = ((): boolean => {
    switch (op) {
      case 'prefix': case 'suffix': return stringOrIgnoreCase(arg);
      case 'equals-ignore-case': case 'wildcard': return typeof arg === 'string';
      case 'exists': return typeof arg === 'boolean';
      case 'cidr': return typeof arg === 'string' && /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(arg);
      case 'numeric': return Array.isArray(arg) && numericRanges(arg) !== undefined;
      default: // anything-but
        return ['string', 'number'].includes(typeof arg) || (Array.isArray(arg) && arg.every((x) => ['string', 'number'].includes(typeof x)))
          || (isPlainObject(arg) && Object.keys(arg).length === 1 && ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].some((k) => k in arg));
    }
  })();
  if (!ok) throw new EventPatternError(`Invalid ${op} value at ${where}${op === 'cidr' ? ' (offline: IPv4 only)' : ''}`);
}

function numericRanges(arg: unknown[]): [string, number][] | undefined {
  if (arg.length !== 2 && arg.length !== 4) return undefined;
  const out: [string, number][] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof op !== 'string' || !['=', '<', '<=', '>', '>='].includes(op) || typeof n !== 'number') return undefined;
    out.push([op, n]);
  }
  return out;
}

/** Whether `event` matches a checked pattern. */
export function matchesPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([key, value]) => {
    if (key === '$or') return (value as Record<string, unknown>[]).some((p) => matchesPattern(p, event));
    const field = isPlainObject(event) ? event[key] : undefined;
    if (isPlainObject(value)) {
      if (Array.isArray(field)) return field.some((f) => matchesPattern(value, f));
      return matchesPattern(value, field);
    }
    return matchesLeaf(value as unknown[], field, isPlainObject(event) && key in event);
  });
}

function matchesLeaf(matchers: readonly unknown[], value: unknown, present: boolean): boolean {
  const values = Array.isArray(value) ? value : [value];
  return matchers.some((m) => {
    if (isPlainObject(m) && 'exists' in m) return m.exists === (present && value !== undefined && !(Array.isArray(value) && value.length === 0));
    if (!present) return false;
    return values.some((v) => matchOne(m, v));
  });
}

function matchOne(m: unknown, v: unknown): boolean {
  if (!isPlainObject(m)) return m === v || (typeof m === 'number' && typeof v === 'number' && m === v);
  const [op, arg] = Object.entries(m)[0];
  const text = typeof v === 'string' ? v : undefined;
  switch (op) {
    case 'prefix': return text !== undefined && affix(arg, text, (a, b) => a.startsWith(b));
    case 'suffix': return text !== undefined && affix(arg, text, (a, b) => a.endsWith(b));
    case 'equals-ignore-case': return text !== undefined && text.toLowerCase() === String(arg).toLowerCase();
    case 'wildcard': return text !== undefined && wildcard(String(arg)).test(text);
    case 'cidr': return text !== undefined && inCidr(text, String(arg));
    case 'numeric': return typeof v === 'number' && numericRanges(arg as unknown[])!.every(([o, n]) => compare(v, o, n));
    case 'anything-but': {
      if (v === undefined || v === null) return false;
      if (isPlainObject(arg)) return !matchOne(arg, v);
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.some((x) => x === v);
    }
    default: return false;
  }
}

function affix(arg: unknown, text: string, test: (a: string, b: string) => boolean): boolean {
  if (typeof arg === 'string') return test(text, arg);
  const ignoreCase = String((arg as Record<string, unknown>)['equals-ignore-case']);
  return test(text.toLowerCase(), ignoreCase.toLowerCase());
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
}

function compare(v: number, op: string, n: number): boolean {
  switch (op) {
    case '=': return v === n;
    case '<': return v < n;
    case '<=': return v <= n;
    case '>': return v > n;
    default: return v >= n;
  }
}

function inCidr(ip: string, cidr: string): boolean {
  const toInt = (a: string): number | undefined => {
    const parts = a.split('.').map(Number);
    return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)
      ? ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3] : undefined;
  };
  const [base, bits] = cidr.split('/');
  const a = toInt(ip);
  const b = toInt(base);
  if (a === undefined || b === undefined) return false;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}
