import { invalidParameter } from './errors';

interface StringRule { required?: boolean; min?: number; max?: number; pattern?: RegExp; patternText?: string; values?: readonly string[] }
interface NumberRule { required?: boolean; min?: number; max?: number; integer?: boolean }
interface ListRule { required?: boolean; min?: number; max?: number }

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Reads and checks one request object. Every failure is an InvalidParameterException naming the member (its path,
 * e.g. `DatasetSource.GroundTruthManifest.S3Object.Bucket`) and the constraint, in the service's wording
 * ("1 validation error detected: Value ... at ... failed to satisfy constraint: Member must ...").
 */
export class Params {
  static of(input: unknown, path = ''): Params {
    if (input === undefined || input === null) return new Params({}, path);
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw invalidParameter(`1 validation error detected: Value at '${path || 'input'}' failed to satisfy constraint: Member must be an object`);
    }
    return new Params(input as Record<string, unknown>, path);
  }

  private constructor(readonly raw: Record<string, unknown>, private readonly path: string) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  str(name: string, rule: StringRule & { required: true }): string;
  str(name: string, rule?: StringRule): string | undefined;
  str(name: string, rule: StringRule = {}): string | undefined {
    const value = this.value(name, rule.required);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(name, value, 'be a string');
    const length = [...value].length;
    if (rule.min !== undefined && length < rule.min) this.fail(name, value, `have length greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && length > rule.max) this.fail(name, value, `have length less than or equal to ${rule.max}`);
    if (rule.values && !rule.values.includes(value)) this.fail(name, value, `satisfy enum value set: [${rule.values.join(', ')}]`);
    if (rule.pattern && !rule.pattern.test(value)) {
      this.fail(name, value, `satisfy regular expression pattern: ${rule.patternText ?? rule.pattern.source}`);
    }
    return value;
  }

  num(name: string, rule: NumberRule & { required: true }): number;
  num(name: string, rule?: NumberRule): number | undefined;
  num(name: string, rule: NumberRule = {}): number | undefined {
    const value = this.value(name, rule.required);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(name, value, 'be a number');
    if (rule.integer && !Number.isInteger(value)) this.fail(name, value, 'be an integer');
    if (rule.min !== undefined && value < rule.min) this.fail(name, value, `have value greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && value > rule.max) this.fail(name, value, `have value less than or equal to ${rule.max}`);
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.value(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(name, value, 'be a boolean');
    return value;
  }

  obj(name: string, required: true): Params;
  obj(name: string, required?: boolean): Params | undefined;
  obj(name: string, required = false): Params | undefined {
    const value = this.value(name, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(name, value, 'be an object');
    return new Params(value as Record<string, unknown>, this.at(name));
  }

  list(name: string, rule: ListRule = {}): unknown[] | undefined {
    const value = this.value(name, rule.required);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) this.fail(name, value, 'be a list');
    if (rule.min !== undefined && value.length < rule.min) this.fail(name, value, `have length greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && value.length > rule.max) this.fail(name, value, `have length less than or equal to ${rule.max}`);
    return value;
  }

  /** A list of objects, each read as Params. */
  objList(name: string, rule: ListRule = {}): Params[] | undefined {
    return this.list(name, rule)?.map((item, i) => Params.of(item, `${this.at(name)}.${i + 1}`));
  }

  strList(name: string, rule: ListRule, item: StringRule): string[] | undefined {
    const values = this.list(name, rule);
    if (values === undefined) return undefined;
    const holder = new Params(Object.fromEntries(values.map((v, i) => [`${i + 1}`, v])), this.at(name));
    return values.map((_, i) => holder.str(`${i + 1}`, { ...item, required: true }));
  }

  /** A blob: base64 text on the wire, or bytes when called in-process. */
  blob(name: string, rule: { required?: boolean; min?: number; max?: number } = {}): Buffer | undefined {
    const value = this.value(name, rule.required);
    if (value === undefined) return undefined;
    let bytes: Buffer;
    if (typeof value === 'string') {
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}$/.test(value)) this.fail(name, '<blob>', 'be base64-encoded');
      bytes = Buffer.from(value, 'base64');
    } else if (value instanceof Uint8Array) {
      bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    } else {
      this.fail(name, value, 'be a blob');
    }
    if (rule.min !== undefined && bytes.length < rule.min) this.fail(name, '<blob>', `have length greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && bytes.length > rule.max) this.fail(name, '<blob>', `have length less than or equal to ${rule.max}`);
    return bytes;
  }

  /** A TagMap (reference §2): 0..200 entries, keys 1..128 not starting with `aws:`, values 0..256. */
  tags(name: string): Record<string, string> | undefined {
    const value = this.value(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(name, value, 'be a map');
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > 200) this.fail(name, `<${entries.length} tags>`, 'have length less than or equal to 200');
    const tags: Record<string, string> = {};
    for (const [key, v] of entries) {
      checkTagKey(key, this.at(name));
      if (typeof v !== 'string' || [...v].length > 256 || !TAG_TEXT.test(v)) {
        throw invalidParameter(`1 validation error detected: Value '${show(v)}' at '${this.at(name)}.${key}' failed to satisfy constraint: `
          + `Member must satisfy regular expression pattern: ${TAG_TEXT.source} and have length less than or equal to 256`);
      }
      tags[key] = v;
    }
    return tags;
  }

  fail(name: string, value: unknown, constraint: string): never {
    throw invalidParameter(`1 validation error detected: Value '${show(value)}' at '${this.at(name)}' failed to satisfy constraint: Member must ${constraint}`);
  }

  private at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  private value(name: string, required?: boolean): unknown {
    const value = this.raw[name];
    if (value === undefined || value === null) {
      if (required) {
        throw invalidParameter(`1 validation error detected: Value null at '${this.at(name)}' failed to satisfy constraint: Member must not be null`);
      }
      return undefined;
    }
    return value;
  }
}

const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function checkTagKey(key: string, path: string): void {
  if ([...key].length < 1 || [...key].length > 128 || key.startsWith('aws:') || !TAG_TEXT.test(key)) {
    throw invalidParameter(`1 validation error detected: Value '${show(key)}' at '${path}' failed to satisfy constraint: `
      + 'Member must have length 1..128, not start with aws: and satisfy regular expression pattern: ^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$');
  }
}

/** Constraints of reference §2, shared by the operations. */
export const RULES = {
  projectName: { min: 1, max: 255, pattern: /^[a-zA-Z0-9_.-]+$/, patternText: '[a-zA-Z0-9_.\\-]+' },
  versionName: { min: 1, max: 255, pattern: /^[a-zA-Z0-9_.-]+$/, patternText: '[a-zA-Z0-9_.\\-]+' },
  versionDescription: { min: 1, max: 255, pattern: /^[a-zA-Z0-9-_. ()':,;?]+$/, patternText: "[a-zA-Z0-9-_. ()':,;?]+" },
  projectArn: {
    min: 20, max: 2048, pattern: /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/[0-9]+$/,
    patternText: '(^arn:[a-z\\d-]+:rekognition:[a-z\\d-]+:\\d{12}:project\\/[a-zA-Z0-9_.\\-]{1,255}\\/[0-9]+$)',
  },
  versionArn: {
    min: 20, max: 2048,
    pattern: /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/version\/[a-zA-Z0-9_.-]{1,255}\/[0-9]+$/,
    patternText: '(^arn:[a-z\\d-]+:rekognition:[a-z\\d-]+:\\d{12}:project\\/[a-zA-Z0-9_.\\-]{1,255}\\/version\\/[a-zA-Z0-9_.\\-]{1,255}\\/[0-9]+$)',
  },
  datasetArn: {
    min: 20, max: 2048,
    pattern: /^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:project\/[a-zA-Z0-9_.-]{1,255}\/dataset\/(train|test)\/[0-9]+$/,
    patternText: '(^arn:[a-z\\d-]+:rekognition:[a-z\\d-]+:\\d{12}:project\\/[a-zA-Z0-9_.\\-]{1,255}\\/dataset\\/(train|test)\\/[0-9]+$)',
  },
  resourceArn: { min: 20, max: 2048 },
  bucket: { min: 3, max: 255, pattern: /^[0-9A-Za-z.\-_]*$/, patternText: '[0-9A-Za-z\\.\\-_]*' },
  objectName: { min: 1, max: 1024 },
  objectVersion: { min: 1, max: 1024 },
  keyPrefix: { max: 1024 },
  kmsKeyId: { min: 1, max: 2048, pattern: /^[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,2048}$/ },
  nextToken: { max: 1024 },
  policyName: { min: 1, max: 128, pattern: /^[a-zA-Z0-9_.-]+$/, patternText: '[a-zA-Z0-9_.\\-]+' },
  policyRevisionId: { max: 64, pattern: /^[0-9A-Fa-f]+$/, patternText: '[0-9A-Fa-f]+' },
  policyDocument: { min: 1, max: 2000, pattern: /^[\t\n\r\u0020-\u00FF]+$/, patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+' },
  datasetLabel: { min: 1, max: 255 },
  sourceRefContains: { min: 1, max: 2048, pattern: /\S/, patternText: '.*\\S.*' },
} satisfies Record<string, StringRule>;

/** Reads an S3Object member (Bucket, Name, Version) with the §2 constraints. */
export function readS3Object(p: Params): { Bucket: string; Name: string; Version?: string } {
  return {
    Bucket: p.str('Bucket', { ...RULES.bucket, required: true }),
    Name: p.str('Name', { ...RULES.objectName, required: true }),
    Version: p.str('Version', RULES.objectVersion),
  };
}
