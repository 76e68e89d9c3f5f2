/**
 * Map states in Distributed mode, run offline. aws-local-stepfunctions runs inline Maps only (no ItemReader,
 * ResultWriter, ItemBatcher or tolerated failures), so a distributed Map is taken out of the definition before the
 * interpreter sees it (replaced by a Task with the same InputPath, ResultSelector, ResultPath, OutputPath, Retry and
 * Catch) and run here:
 * - ItemReader over S3, as the state machine's role (IAM enforced by the local S3): ListObjectsV2 (every object of a
 *   prefix, paginated) or GetObject of a JSON array, JSON Lines, CSV (FIRST_ROW or GIVEN headers) or an S3 inventory
 *   manifest (its CSV or gzipped CSV files); ReaderConfig.MaxItems; or ItemsPath over the state input.
 * - ItemSelector (with `$$.Map.Item.Value` and `$$.Map.Item.Index`), ItemBatcher (MaxItemsPerBatch,
 *   MaxInputBytesPerBatch, BatchInput, and their Path forms).
 * - Child workflow executions of the ItemProcessor, each with its own history and limits (STANDARD: 25,000 events;
 *   EXPRESS: 5 minutes), at most MaxConcurrency (or MaxConcurrencyPath) at a time; starting them needs
 *   states:StartExecution on the state machine, as in AWS.
 * - ToleratedFailurePercentage / ToleratedFailureCount (and Path forms): more failed children fail the state with
 *   States.ExceedToleratedFailureThreshold and stop the children still running.
 * - ResultWriter to S3 (s3:putObject as the role): `<Prefix>/<map run id>/manifest.json` and SUCCEEDED_0.json,
 *   FAILED_0.json, PENDING_0.json in the service's layout; the state's result is then {MapRunArn, ResultWriterDetails}.
 *   Without a ResultWriter the result is the children's outputs (the 256 KiB state limit applies).
 * Documented limits are checked when the state machine is deployed (see distributedMapProblems) and at run time.
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

import { isObject, readPath, replaceStates, UnsupportedDefinitionError } from './asl';
import { statesError } from './sfn-errors';

type State = Record<string, unknown>;

/** The Resource of the Task a distributed Map becomes in the definition the interpreter runs. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::offline:distributedMap';

/** Step Functions' limits for Distributed Map (developer guide: Distributed Map, ItemBatcher, ItemReader, quotas). */
export const DISTRIBUTED_MAP_LIMITS = {
  /** Child workflow executions running at once per Map Run. */
  maxConcurrency: 10_000,
  /** A child's input, a batch's input (MaxInputBytesPerBatch), a state's input or output. */
  maxPayloadBytes: 262_144,
  /** Label: 40 characters at most. */
  maxLabelLength: 40,
  /** A CSV header: 10 KiB. */
  maxCsvHeaderBytes: 10 * 1024,
  /** ReaderConfig.MaxItems. */
  maxItems: 100_000_000,
  /** An EXPRESS child workflow's duration. */
  expressSeconds: 300,
} as const;

export function isDistributedMap(state: unknown): boolean {
  if (!isObject(state) || state.Type !== 'Map') return false;
  const processor = isObject(state.ItemProcessor) ? state.ItemProcessor : undefined;
  const config = processor && isObject(processor.ProcessorConfig) ? processor.ProcessorConfig : undefined;
  return config?.Mode === 'DISTRIBUTED' || state.ItemReader !== undefined || state.ResultWriter !== undefined || state.ItemBatcher !== undefined;
}

/**
 * Replaces every distributed Map (also inside Parallel branches and inline Maps, not inside other distributed Maps,
 * whose children are definitions of their own) with a Task the runner serves; returns them by state name.
 */
export function extractDistributedMaps(definition: State): { runnable: State; maps: Record<string, State> } {
  const maps: Record<string, State> = {};
  const runnable = replaceStates(definition, (name, raw) => {
    if (!isDistributedMap(raw)) return undefined;
    maps[name] = raw;
    return {
      Type: 'Task',
      Resource: DISTRIBUTED_MAP_RESOURCE,
      // Map states have no timeout; the interpreter's Task timeout is in real time (Node's timers hold 2^31 ms at most).
      TimeoutSeconds: 2_000_000,
      ...pick(raw, ['Comment', 'InputPath', 'ResultSelector', 'ResultPath', 'OutputPath', 'Retry', 'Catch', 'Next', 'End']),
    };
  });
  return { runnable: runnable as State, maps };
}

/**
 * What AWS refuses in a definition's distributed Maps when the state machine is created (InvalidDefinition), as text per
 * problem, with the state's path. [inferred] The wording is ours; the rules are the documented limits.
 */
export function distributedMapProblems(definition: unknown): string[] {
  const problems: string[] = [];
  const visit = (machine: unknown, path: string): void => {
    if (!isObject(machine) || !isObject(machine.States)) return;
    for (const [name, state] of Object.entries(machine.States)) {
      if (!isObject(state)) continue;
      const at = `${path}States.${name}`;
      if (state.Type === 'Parallel' && Array.isArray(state.Branches)) state.Branches.forEach((b, i) => visit(b, `${at}.Branches[${i}].`));
      if (state.Type !== 'Map') continue;
      if (!isDistributedMap(state)) {
        visit(state.ItemProcessor ?? state.Iterator, `${at}.ItemProcessor.`);
        continue;
      }
      problems.push(...mapProblems(state, at));
      visit(state.ItemProcessor, `${at}.ItemProcessor.`);
    }
  };
  visit(definition, '');
  return problems;
}

function mapProblems(state: State, at: string): string[] {
  const out: string[] = [];
  const processor = isObject(state.ItemProcessor) ? state.ItemProcessor : {};
  const config = isObject(processor.ProcessorConfig) ? processor.ProcessorConfig : {};
  if (config.Mode !== 'DISTRIBUTED') out.push(`${at}: ItemReader, ItemBatcher and ResultWriter need ItemProcessor.ProcessorConfig.Mode DISTRIBUTED`);
  if (config.ExecutionType !== 'STANDARD' && config.ExecutionType !== 'EXPRESS') {
    out.push(`${at}.ItemProcessor.ProcessorConfig.ExecutionType must be STANDARD or EXPRESS in Distributed mode, got: ${JSON.stringify(config.ExecutionType)}`);
  }
  if (state.ItemReader !== undefined && state.ItemsPath !== undefined) out.push(`${at}: give ItemReader or ItemsPath, not both`);
  if (typeof state.Label === 'string') {
    if (state.Label.length > DISTRIBUTED_MAP_LIMITS.maxLabelLength) out.push(`${at}.Label must be at most 40 characters, got ${state.Label.length}`);
    if (/[\s?*<>{}[\]"#%\\^|~`$&,;:/]/.test(state.Label)) out.push(`${at}.Label must not contain whitespace or special characters, got: ${state.Label}`);
  }
  const number = (field: string, min: number, max: number): void => {
    const v = state[field];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) out.push(`${at}.${field} must be an integer from ${min} to ${max}, got: ${JSON.stringify(v)}`);
  };
  number('MaxConcurrency', 0, DISTRIBUTED_MAP_LIMITS.maxConcurrency);
  number('ToleratedFailureCount', 0, Number.MAX_SAFE_INTEGER);
  const pct = state.ToleratedFailurePercentage;
  if (pct !== undefined && (typeof pct !== 'number' || pct < 0 || pct > 100)) out.push(`${at}.ToleratedFailurePercentage must be from 0 to 100, got: ${JSON.stringify(pct)}`);
  for (const [a, b] of [['MaxConcurrency', 'MaxConcurrencyPath'], ['ToleratedFailurePercentage', 'ToleratedFailurePercentagePath'],
    ['ToleratedFailureCount', 'ToleratedFailureCountPath']]) {
    if (state[a] !== undefined && state[b] !== undefined) out.push(`${at}: give ${a} or ${b}, not both`);
  }
  if (isObject(state.ItemBatcher)) {
    const batcher = state.ItemBatcher;
    const max = batcher.MaxInputBytesPerBatch;
    if (max !== undefined && (typeof max !== 'number' || max < 1 || max > DISTRIBUTED_MAP_LIMITS.maxPayloadBytes)) {
      out.push(`${at}.ItemBatcher.MaxInputBytesPerBatch must be from 1 to ${DISTRIBUTED_MAP_LIMITS.maxPayloadBytes} bytes (256 KiB), got: ${JSON.stringify(max)}`);
    }
    const items = batcher.MaxItemsPerBatch;
    if (items !== undefined && (typeof items !== 'number' || !Number.isInteger(items) || items < 1)) out.push(`${at}.ItemBatcher.MaxItemsPerBatch must be a positive integer, got: ${JSON.stringify(items)}`);
    const sizes = [batcher.MaxItemsPerBatch, batcher.MaxItemsPerBatchPath, batcher.MaxInputBytesPerBatch, batcher.MaxInputBytesPerBatchPath];
    if (sizes.every((v) => v === undefined)) {
      out.push(`${at}.ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path forms)`);
    }
  }
  if (isObject(state.ItemReader)) out.push(...readerProblems(state.ItemReader, `${at}.ItemReader`));
  if (isObject(state.ResultWriter)) {
    const w = state.ResultWriter;
    if (w.Resource !== undefined && w.Resource !== 'arn:aws:states:::s3:putObject') out.push(`${at}.ResultWriter.Resource must be arn:aws:states:::s3:putObject, got: ${JSON.stringify(w.Resource)}`);
    if (w.WriterConfig !== undefined) out.push(`${at}.ResultWriter.WriterConfig is not supported offline (the classic Bucket and Prefix are)`);
  }
  return out;
}

function readerProblems(reader: State, at: string): string[] {
  const out: string[] = [];
  const config = isObject(reader.ReaderConfig) ? reader.ReaderConfig : {};
  const resource = reader.Resource;
  if (resource === 'arn:aws:states:::s3:listObjectsV2') {
    if (config.InputType !== undefined) out.push(`${at}.ReaderConfig.InputType is for s3:getObject readers, got: ${JSON.stringify(config.InputType)}`);
  } else if (resource === 'arn:aws:states:::s3:getObject') {
    if (!['JSON', 'JSONL', 'CSV', 'MANIFEST'].includes(String(config.InputType))) {
      out.push(`${at}.ReaderConfig.InputType must be JSON, JSONL, CSV or MANIFEST offline, got: ${JSON.stringify(config.InputType)}`);
    }
    if (config.InputType === 'CSV') {
      if (config.CSVHeaderLocation !== 'FIRST_ROW' && config.CSVHeaderLocation !== 'GIVEN') out.push(`${at}.ReaderConfig.CSVHeaderLocation must be FIRST_ROW or GIVEN`);
      if (config.CSVHeaderLocation === 'GIVEN' && !Array.isArray(config.CSVHeaders)) out.push(`${at}.ReaderConfig.CSVHeaders must list the columns when CSVHeaderLocation is GIVEN`);
    }
  } else {
    out.push(`${at}.Resource must be arn:aws:states:::s3:listObjectsV2 or arn:aws:states:::s3:getObject offline, got: ${JSON.stringify(resource)}`);
  }
  const max = config.MaxItems;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > DISTRIBUTED_MAP_LIMITS.maxItems)) {
    out.push(`${at}.ReaderConfig.MaxItems must be an integer from 0 to ${DISTRIBUTED_MAP_LIMITS.maxItems}, got: ${JSON.stringify(max)}`);
  }
  return out;
}

/** The result of one child workflow execution, as the runner reports it. */
export interface ChildRun {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

/** How long a child may run (EXPRESS: 5 minutes) and the signal that stops it. */
export interface ChildLimits {
  readonly maxSeconds?: number;
  readonly signal: AbortSignal;
}

/** What running a distributed Map needs from the execution that contains it. */
export interface DistributedMapEnv {
  /** The parent's Context Object (Execution, StateMachine). */
  readonly context: Readonly<Record<string, unknown>>;
  /** Virtual epoch ms. */
  now(): number;
  /** An AWS SDK call as the state machine's role (S3 here); errors as the SDK throws them. */
  sdk(service: string, action: string, parameters: Record<string, unknown>): Promise<unknown>;
  /** Authorizes a call the service makes as the role (states:StartExecution of children); throws AWS's denial. */
  authorize?(action: string, resource: string): Promise<void>;
  /** Runs one child workflow execution of `definition` (the ItemProcessor) to its end. */
  runChild(definition: State, input: unknown, context: Record<string, unknown>, limits: ChildLimits): Promise<ChildRun>;
  /** Evaluates a payload template (`key.$` paths and intrinsic functions) against an input and context. */
  template(template: unknown, input: unknown, context: Record<string, unknown>): Promise<unknown>;
  readonly signal?: AbortSignal;
  log?(line: string): void;
}

interface ChildRecord {
  readonly name: string;
  readonly arn: string;
  readonly input: unknown;
  startDate: number;
  stopDate?: number;
  result?: ChildRun;
}

/** Runs one distributed Map state on its (effective) input; resolves to the state's raw result. */
export async function runDistributedMap(stateName: string, state: State, input: unknown, env: DistributedMapEnv): Promise<unknown> {
  const stateMachine = isObject(env.context.StateMachine) ? env.context.StateMachine : {};
  const execution = isObject(env.context.Execution) ? env.context.Execution : {};
  const smArn = String(stateMachine.Id ?? 'arn:aws:states:us-east-1:123456789012:stateMachine:offline');
  const smName = smArn.split(':').pop() ?? 'offline';
  const label = typeof state.Label === 'string' ? state.Label : stateName.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40) || 'Map';
  const mapRunId = randomUUID();
  const mapRunArn = `${smArn.replace(':stateMachine:', ':mapRun:')}/${label}:${mapRunId}`;
  const now = (): number => env.now();
  const path = (p: unknown): unknown => (typeof p === 'string' ? readPath(p, input, env.context) : undefined);
  const numberFrom = (value: unknown, pathValue: unknown, field: string): number | undefined => {
    const v = value !== undefined ? value : path(pathValue);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw statesError('States.Runtime', `${field} resolved to ${JSON.stringify(v)}: a number >= 0 is needed`);
    return v;
  };

  // ---- items ------------------------------------------------------------------------------------------------------
  let items: unknown[];
  if (isObject(state.ItemReader)) {
    items = await readItems(state.ItemReader, input, env);
  } else {
    const selected = readPath(typeof state.ItemsPath === 'string' ? state.ItemsPath : '$', input, env.context);
    if (!Array.isArray(selected)) {
      throw statesError('States.Runtime', `An error occurred while executing the state '${stateName}'. The ItemsPath field must resolve to an array, `
        + `got: ${JSON.stringify(selected)?.slice(0, 200)}`);
    }
    items = selected;
  }
  const selector = state.ItemSelector ?? state.Parameters;
  const selected = selector === undefined ? items : await Promise.all(items.map((value, index) => env.template(selector, input,
    { ...env.context, Map: { Item: { Value: value, Index: index } } })));

  // ---- batches: one child input each --------------------------------------------------------------------------------
  const inputs: unknown[] = [];
  if (isObject(state.ItemBatcher)) {
    const b = state.ItemBatcher;
    const maxItems = numberFrom(b.MaxItemsPerBatch, b.MaxItemsPerBatchPath, 'MaxItemsPerBatchPath') ?? Infinity;
    const maxBytes = Math.min(DISTRIBUTED_MAP_LIMITS.maxPayloadBytes,
      numberFrom(b.MaxInputBytesPerBatch, b.MaxInputBytesPerBatchPath, 'MaxInputBytesPerBatchPath') ?? DISTRIBUTED_MAP_LIMITS.maxPayloadBytes);
    const batchInput = b.BatchInput === undefined ? undefined : await env.template(b.BatchInput, input, env.context);
    const wrap = (batch: unknown[]): unknown => (batchInput === undefined ? { Items: batch } : { BatchInput: batchInput, Items: batch });
    let current: unknown[] = [];
    for (const item of selected) {
      const next = [...current, item];
      if (current.length > 0 && (next.length > maxItems || bytes(wrap(next)) > maxBytes)) {
        inputs.push(wrap(current));
        current = [item];
      } else {
        current = next;
      }
      if (bytes(wrap(current)) > maxBytes) {
        throw statesError('States.Runtime', `An item of the state '${stateName}' is larger than MaxInputBytesPerBatch (${maxBytes} bytes) on its own`);
      }
    }
    if (current.length > 0) inputs.push(wrap(current));
  } else {
    inputs.push(...selected);
  }
  for (const childInput of inputs) {
    if (bytes(childInput) > DISTRIBUTED_MAP_LIMITS.maxPayloadBytes) {
      throw statesError('States.DataLimitExceeded', `The input of a child workflow execution of '${stateName}' is larger than the 262144 bytes a `
        + 'state input may have');
    }
  }

  // ---- children ------------------------------------------------------------------------------------------------------
  const concurrency = numberFrom(state.MaxConcurrency, state.MaxConcurrencyPath, 'MaxConcurrencyPath') || DISTRIBUTED_MAP_LIMITS.maxConcurrency;
  const toleratedPct = numberFrom(state.ToleratedFailurePercentage, state.ToleratedFailurePercentagePath, 'ToleratedFailurePercentagePath') ?? 0;
  const toleratedCount = numberFrom(state.ToleratedFailureCount, state.ToleratedFailureCountPath, 'ToleratedFailureCountPath') ?? 0;
  const processor = isObject(state.ItemProcessor) ? state.ItemProcessor : {};
  const config = isObject(processor.ProcessorConfig) ? processor.ProcessorConfig : {};
  const definition: State = { ...processor };
  delete definition.ProcessorConfig;
  const express = config.ExecutionType === 'EXPRESS';
  const children: ChildRecord[] = inputs.map((childInput) => {
    const name = randomUUID();
    return { name, arn: `${smArn.replace(':stateMachine:', ':execution:')}/${label}:${name}`, input: childInput, startDate: 0 };
  });
  const abort = new AbortController();
  const onParentAbort = (): void => abort.abort();
  env.signal?.addEventListener('abort', onParentAbort, { once: true });
  let failed = 0;
  let exceeded = false;
  const exceeds = (): boolean => failed > toleratedCount && (inputs.length === 0 || failed * 100 / inputs.length > toleratedPct);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < children.length && !abort.signal.aborted) {
      const child = children[next++];
      child.startDate = now();
      if (env.authorize) {
        try {
          await env.authorize('states:StartExecution', smArn);
        } catch (err) {
          abort.abort();
          throw statesError('States.Permissions', (err as Error).message);
        }
      }
      const context = {
        Execution: { Id: child.arn, Name: child.name, StartTime: new Date(child.startDate).toISOString(), Input: child.input, RoleArn: execution.RoleArn ?? '' },
        StateMachine: { Id: smArn, Name: smName },
      };
      child.result = await env.runChild(definition, child.input, context, { maxSeconds: express ? DISTRIBUTED_MAP_LIMITS.expressSeconds : undefined,
        signal: abort.signal });
      child.stopDate = now();
      if (child.result.status !== 'SUCCEEDED' && !abort.signal.aborted) {
        failed += 1;
        if (exceeds()) {
          exceeded = true;
          abort.abort();
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, children.length)) }, () => worker()));
  } finally {
    env.signal?.removeEventListener('abort', onParentAbort);
  }
  if (env.signal?.aborted) throw statesError('States.Runtime', 'the execution was stopped');
  env.log?.(`map run ${label}: ${children.length} child execution(s), ${failed} failed${exceeded ? ' (tolerated failure threshold exceeded)' : ''}`);

  // ---- results ------------------------------------------------------------------------------------------------------
  let result: unknown;
  if (isObject(state.ResultWriter)) {
    result = await writeResults(state.ResultWriter, input, env, mapRunArn, mapRunId, children);
  } else {
    result = children.map((c) => (c.result?.status === 'SUCCEEDED' ? c.result.output : { Error: c.result?.error, Cause: c.result?.cause }));
  }
  if (exceeded) {
    throw statesError('States.ExceedToleratedFailureThreshold', `The specified tolerated failure threshold was exceeded: ${failed} of `
      + `${children.length} child workflow executions failed (tolerated: ${toleratedPct}% and ${toleratedCount})`);
  }
  return result;
}

// ---- ItemReader ---------------------------------------------------------------------------------------------------

async function readItems(reader: State, input: unknown, env: DistributedMapEnv): Promise<unknown[]> {
  const parameters = (await env.template(reader.Parameters ?? {}, input, env.context)) as Record<string, unknown>;
  const config = isObject(reader.ReaderConfig) ? reader.ReaderConfig : {};
  const maxItems = typeof config.MaxItems === 'number' ? config.MaxItems
    : typeof config.MaxItemsPath === 'string' ? Number(readPath(config.MaxItemsPath, input, env.context)) : undefined;
  const limit = maxItems === undefined || maxItems === 0 ? Infinity : maxItems;
  const fail = (err: unknown): Error => statesError('States.ItemReaderFailed', `Reading items failed: ${errorText(err)}`);
  try {
    if (reader.Resource === 'arn:aws:states:::s3:listObjectsV2') return await listObjects(parameters, env, limit);
    const text = await getText(env, parameters);
    let items: unknown[];
    switch (config.InputType) {
      case 'JSON': {
        const parsed: unknown = JSON.parse(text);
        if (!Array.isArray(parsed)) throw new Error('the JSON file does not hold an array');
        items = parsed;
        break;
      }
      case 'JSONL':
        items = text.split('\n').filter((l) => l.trim() !== '').map((l, i) => {
          try {
            return JSON.parse(l) as unknown;
          } catch {
            throw new Error(`line ${i + 1} of the JSON Lines file is not valid JSON`);
          }
        });
        break;
      case 'CSV':
        items = csvItems(text, config);
        break;
      case 'MANIFEST':
        items = await inventoryItems(text, env, parameters);
        break;
      default:
        throw new UnsupportedDefinitionError(`ReaderConfig.InputType ${JSON.stringify(config.InputType)} is not supported offline`);
    }
    return items.slice(0, limit);
  } catch (err) {
    if (err instanceof UnsupportedDefinitionError) throw err;
    throw fail(err);
  }
}

async function listObjects(parameters: Record<string, unknown>, env: DistributedMapEnv, limit: number): Promise<unknown[]> {
  const items: unknown[] = [];
  let token: string | undefined;
  do {
    const page = (await env.sdk('s3', 'listObjectsV2', { ...parameters, ...(token ? { ContinuationToken: token } : {}) })) as {
      Contents?: { Key?: string; ETag?: string; LastModified?: Date | string; Size?: number; StorageClass?: string }[];
      NextContinuationToken?: string; IsTruncated?: boolean;
    };
    for (const o of page.Contents ?? []) {
      // The item shape of the service: LastModified in epoch seconds, the ETag with its quotes.
      items.push({ Etag: o.ETag, Key: o.Key, LastModified: Math.floor(new Date(o.LastModified ?? 0).getTime() / 1000), Size: o.Size,
        StorageClass: o.StorageClass ?? 'STANDARD' });
      if (items.length >= limit) return items;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return items;
}

async function getText(env: DistributedMapEnv, parameters: Record<string, unknown>): Promise<string> {
  return (await getBytes(env, parameters)).toString('utf8');
}

async function getBytes(env: DistributedMapEnv, parameters: Record<string, unknown>): Promise<Buffer> {
  const out = (await env.sdk('s3', 'getObject', parameters)) as { Body?: { transformToByteArray(): Promise<Uint8Array> } };
  if (!out.Body) return Buffer.alloc(0);
  return Buffer.from(await out.Body.transformToByteArray());
}

function csvItems(text: string, config: State): unknown[] {
  const delimiter = ({ COMMA: ',', PIPE: '|', SEMICOLON: ';', SPACE: ' ', TAB: '\t' } as Record<string, string>)[String(config.CSVDelimiter ?? 'COMMA')] ?? ',';
  const rows = parseCsv(text, delimiter);
  let headers: string[];
  if (config.CSVHeaderLocation === 'GIVEN') {
    headers = (config.CSVHeaders as unknown[]).map(String);
  } else {
    const first = rows.shift() ?? [];
    if (Buffer.byteLength(first.join(delimiter)) > DISTRIBUTED_MAP_LIMITS.maxCsvHeaderBytes) throw new Error('the CSV header is larger than 10 KiB');
    headers = first;
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === '')).map((r) => Object.fromEntries(headers.map((h, i) => [h, r[i] ?? ''])));
}

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF). */
function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** An S3 Inventory manifest.json: its files (CSV, gzipped or not) listed as items with the inventory's fileSchema columns. */
async function inventoryItems(text: string, env: DistributedMapEnv, parameters: Record<string, unknown>): Promise<unknown[]> {
  const manifest = JSON.parse(text) as { fileFormat?: string; fileSchema?: string; files?: { key: string }[]; destinationBucket?: string };
  if (manifest.fileFormat !== 'CSV') throw new Error(`S3 inventory files of format ${JSON.stringify(manifest.fileFormat)} are not read offline (CSV is)`);
  const columns = String(manifest.fileSchema ?? '').split(',').map((c) => c.trim());
  const bucket = String(manifest.destinationBucket ?? '').replace(/^arn:[^:]*:s3:::/, '') || String(parameters.Bucket);
  const items: unknown[] = [];
  for (const file of manifest.files ?? []) {
    let bytes = await getBytes(env, { Bucket: bucket, Key: file.key });
    if (file.key.endsWith('.gz')) bytes = gunzipSync(bytes);
    for (const row of parseCsv(bytes.toString('utf8'), ',')) {
      if (row.length === 1 && row[0] === '') continue;
      items.push(Object.fromEntries(columns.map((c, i) => [c, c === 'Key' ? decodeURIComponent((row[i] ?? '').replace(/\+/g, ' ')) : row[i] ?? ''])));
    }
  }
  return items;
}

// ---- ResultWriter ---------------------------------------------------------------------------------------------------

async function writeResults(writer: State, input: unknown, env: DistributedMapEnv, mapRunArn: string, mapRunId: string,
  children: readonly ChildRecord[]): Promise<unknown> {
  const parameters = (await env.template(writer.Parameters ?? {}, input, env.context)) as Record<string, unknown>;
  const bucket = String(parameters.Bucket ?? '');
  const prefix = String(parameters.Prefix ?? '');
  const base = `${prefix ? `${prefix.replace(/\/$/, '')}/` : ''}${mapRunId}`;
  const record = (c: ChildRecord): Record<string, unknown> => ({
    ExecutionArn: c.arn,
    Input: JSON.stringify(c.input),
    InputDetails: { Included: true },
    Name: c.name,
    ...(c.result?.status === 'SUCCEEDED' ? { Output: JSON.stringify(c.result.output ?? null), OutputDetails: { Included: true } }
      : c.result ? { Error: c.result.error, Cause: c.result.cause } : {}),
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    // [inferred] The reason names the child's own status (an aborted child is not "SUCCEEDED"); redrives are not modelled.
    RedriveStatusReason: `Execution is ${c.result?.status ?? 'PENDING'} and cannot be redriven`,
    StartDate: new Date(c.startDate).toISOString(),
    StateMachineArn: mapRunArn.replace(':mapRun:', ':stateMachine:').replace(/:[^:]*$/, ''),
    Status: c.result?.status ?? 'PENDING',
    ...(c.stopDate !== undefined ? { StopDate: new Date(c.stopDate).toISOString() } : {}),
  });
  const groups: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Record<string, unknown>[]> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
  for (const c of children) {
    const group = c.result === undefined ? 'PENDING' : c.result.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
    groups[group].push(record(c));
  }
  const files: Record<string, { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  try {
    for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
      if (groups[status].length === 0) continue;
      const key = `${base}/${status}_0.json`;
      const body = JSON.stringify(groups[status]);
      await env.sdk('s3', 'putObject', { Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' });
      files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${base}/manifest.json`;
    await env.sdk('s3', 'putObject', { Bucket: bucket, Key: manifestKey, ContentType: 'application/json',
      Body: JSON.stringify({ DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files }) });
    return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
  } catch (err) {
    throw statesError('States.ResultWriterFailed', `Writing the results failed: ${errorText(err)}`);
  }
}

function pick(state: State, keys: readonly string[]): State {
  return Object.fromEntries(keys.filter((k) => state[k] !== undefined).map((k) => [k, state[k]]));
}

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
}
