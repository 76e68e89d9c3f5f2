/**
 * Runs Node.js Lambda functions of a cloud assembly in-process, from their code asset folders.
 *
 * Each function gets its own module instances (its files and its packages' are compiled afresh, not taken from
 * require's cache; an `@aws-sdk/*` package its folder lacks comes from the project, as Lambda's runtime provides it), its own
 * `process.env` (its Environment from the template plus the offline endpoints and fake credentials) and its own
 * console. So module-level SDK clients of one deploy never see another deploy's endpoints, two functions never share
 * environment variables, and nothing a handler does reaches real AWS.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import * as path from 'node:path';
import { format } from 'node:util';
import * as vm from 'node:vm';

import { LambdaClock, LambdaTimers } from './lambda-clock';
import { invokeInChild, LambdaProcessOptions } from './lambda-process';

/** What the runner knows about a function from its template resource. */
export interface LambdaFunctionSpec {
  readonly functionName: string;
  readonly functionArn: string;
  /** The folder holding the function's code (a directory asset of the cloud assembly). */
  readonly codeDir: string;
  /** `file.export`, the file relative to `codeDir` without `.js`, e.g. `index.handler` or `src/app.main`. */
  readonly handler: string;
  /** E.g. `nodejs20.x`; anything but a Node.js runtime is refused when invoked. @default - assumed Node.js */
  readonly runtime?: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default 3 */
  readonly timeoutSeconds?: number;
  /** @default 128 */
  readonly memorySize?: number;
  /** The execution role (its ARN), when the template gives one. */
  readonly roleArn?: string;
  /** The role session's credentials the function's SDK clients sign with (they win over the base environment's). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken: string };
}

export interface LambdaHostOptions {
  /** Variables every function gets (region, credentials, endpoints); they win over a function's own Environment. */
  readonly baseEnvironment: Readonly<Record<string, string>>;
  /** Receives the functions' console output, one line at a time, prefixed with the function name. */
  readonly log?: (line: string) => void;
  /** The clock functions' `Date` and timers follow (see lambda-clock.ts). @default - the machine's */
  readonly clock?: LambdaClock;
  /**
   * Run each invocation in a child process (see lambda-process.ts): its peak memory is held to the function's MemorySize
   * and reported with its CPU and wall time. @default - in this process, unmeasured
   */
  readonly processes?: LambdaProcessOptions;
}

/** An error a function threw (or returned through its callback): `name` is its errorType, `message` its errorMessage. */
export class LambdaFunctionError extends Error {
  constructor(name: string, message: string, readonly functionName: string) {
    super(message);
    this.name = name;
  }
}

/** Lambda's synchronous invocation limit, request and response alike: 6 MB (Lambda quotas). */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

type Handler = (event: unknown, context: Record<string, unknown>, callback?: (err: unknown, result?: unknown) => void) => unknown;

interface LoadedFunction {
  readonly key: string;
  readonly exports: Record<string, unknown>;
  readonly timers?: LambdaTimers;
}

/** Loads and invokes functions in this process; one instance per deploy session. */
export class LambdaHost {
  private readonly loaded = new Map<string, LoadedFunction>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: LambdaHostOptions) {
    this.log = options.log ?? (() => undefined);
  }

  /** The environment a function sees. */
  environmentOf(spec: LambdaFunctionSpec): Record<string, string> {
    return {
      ...spec.environment,
      AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize ?? 128),
      LAMBDA_TASK_ROOT: spec.codeDir,
      TZ: ':UTC',
      ...this.options.baseEnvironment,
      ...(spec.credentials ? {
        AWS_ACCESS_KEY_ID: spec.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: spec.credentials.secretAccessKey,
        AWS_SESSION_TOKEN: spec.credentials.sessionToken,
      } : {}),
    };
  }

  /**
   * Calls the function's handler with a JSON copy of `event` and resolves to a JSON copy of its result, as Lambda does.
   * A thrown error (or one passed to the callback) rejects with a {@link LambdaFunctionError}.
   */
  async invoke(spec: LambdaFunctionSpec, event: unknown): Promise<unknown> {
    if (spec.runtime !== undefined && !spec.runtime.startsWith('nodejs')) {
      throw new Error(`Function ${spec.functionName} uses runtime ${spec.runtime}: only Node.js functions run offline`);
    }
    const { file, exportName } = handlerLocation(spec);
    if (this.options.processes) return this.invokeInChild(spec, file, exportName, event);
    const loadedFunction = this.load(spec, file);
    const fn = loadedFunction.exports[exportName];
    if (typeof fn !== 'function') {
      throw new Error(`Function ${spec.functionName}: ${path.relative(spec.codeDir, file)} exports no function named ${exportName} (handler ${spec.handler})`);
    }
    const handler = fn as Handler;
    const now = (): number => this.options.clock?.now() ?? Date.now();
    const deadline = now() + (spec.timeoutSeconds ?? 3) * 1000;
    const context = {
      functionName: spec.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: spec.functionArn,
      memoryLimitInMB: String(spec.memorySize ?? 128),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${spec.functionName}`,
      logStreamName: 'offline',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    };
    const payload = jsonCopy(event);
    const requestBytes = Buffer.byteLength(JSON.stringify(payload));
    if (requestBytes > MAX_PAYLOAD_BYTES) {
      throw new LambdaFunctionError('RequestEntityTooLargeException',
        `${requestBytes} byte payload is too large for the RequestResponse invocation type (limit ${MAX_PAYLOAD_BYTES} bytes)`, spec.functionName);
    }
    let response: unknown;
    loadedFunction.timers?.enter();
    try {
      const result = handler.length >= 3
        ? await new Promise<unknown>((resolve, reject) => {
          const returned = handler(payload, context, (err, value) => (err ? reject(err) : resolve(value)));
          if (isPromiseLike(returned)) returned.then(resolve, reject);
        })
        : await handler(payload, context);
      response = jsonCopy(result);
    } catch (err) {
      // The handler runs in this process but may be compiled in another realm: read errors by shape, not instanceof.
      const e = typeof err === 'object' && err !== null ? (err as { name?: unknown; message?: unknown }) : { message: String(err) };
      const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
      const message = typeof e.message === 'string' ? e.message : String(err);
      throw new LambdaFunctionError(name, message, spec.functionName);
    } finally {
      loadedFunction.timers?.leave();
    }
    const responseBytes = Buffer.byteLength(JSON.stringify(response));
    if (responseBytes > MAX_PAYLOAD_BYTES) {
      throw new LambdaFunctionError('Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`, spec.functionName);
    }
    return response;
  }

  private async invokeInChild(spec: LambdaFunctionSpec, file: string, exportName: string, event: unknown): Promise<unknown> {
    const payload = jsonCopy(event);
    const requestBytes = Buffer.byteLength(JSON.stringify(payload));
    if (requestBytes > MAX_PAYLOAD_BYTES) {
      throw new LambdaFunctionError('RequestEntityTooLargeException',
        `${requestBytes} byte payload is too large for the RequestResponse invocation type (limit ${MAX_PAYLOAD_BYTES} bytes)`, spec.functionName);
    }
    const context = { functionName: spec.functionName, functionVersion: '$LATEST', invokedFunctionArn: spec.functionArn,
      memoryLimitInMB: String(spec.memorySize ?? 128), awsRequestId: randomUUID(), logGroupName: `/aws/lambda/${spec.functionName}`,
      logStreamName: 'offline', callbackWaitsForEmptyEventLoop: true };
    const outcome = await invokeInChild(spec, file, exportName, this.environmentOf(spec), payload,
      context, (line) => this.log(`[${spec.functionName}] ${line}`), this.options.processes?.timeoutSeconds);
    this.options.processes?.onReport?.(outcome.report);
    if (!outcome.ok) throw new LambdaFunctionError(outcome.name ?? 'Error', outcome.message ?? '', spec.functionName);
    const response = jsonCopy(outcome.value);
    if (Buffer.byteLength(JSON.stringify(response)) > MAX_PAYLOAD_BYTES) {
      throw new LambdaFunctionError('Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`, spec.functionName);
    }
    return response;
  }

  private load(spec: LambdaFunctionSpec, file: string): LoadedFunction {
    const env = this.environmentOf(spec);
    // Functions with the same code but another environment (or handler file) get their own module instances.
    const key = `${spec.functionArn}\u0000${file}\u0000${JSON.stringify(env)}`;
    const existing = this.loaded.get(key);
    if (existing) return existing;
    const name = spec.functionName;
    const write = (line: string): void => this.log(`[${name}] ${line}`);
    const ownProcess: NodeJS.Process = Object.create(process, {
      env: { value: env, writable: true, enumerable: true, configurable: true },
      // Warnings (e.g. the SDK's Node version notice) go to the function's log, not the host's stderr.
      emitWarning: { value: (warning: string | Error) => write(`warning: ${typeof warning === 'string' ? warning : warning.message}`) },
    });
    const ownConsole = {
      log: (...args: unknown[]) => write(format(...args)),
      info: (...args: unknown[]) => write(format(...args)),
      debug: (...args: unknown[]) => write(format(...args)),
      trace: (...args: unknown[]) => write(format(...args)),
      warn: (...args: unknown[]) => write(format(...args)),
      error: (...args: unknown[]) => write(format(...args)),
    };
    const modules = new Map<string, { exports: unknown }>();
    const timers = this.options.clock ? new LambdaTimers(this.options.clock) : undefined;
    const time = timers?.globals ?? { Date, setTimeout, clearTimeout, setInterval, clearInterval };
    const loadFile = (target: string): unknown => {
      const cached = modules.get(target);
      if (cached) return cached.exports;
      if (target.endsWith('.json')) {
        const json: unknown = JSON.parse(fs.readFileSync(target, 'utf8'));
        modules.set(target, { exports: json });
        return json;
      }
      const module = { exports: {} as unknown };
      modules.set(target, module);
      const source = fs.readFileSync(target, 'utf8').replace(/^#!.*/, '');
      const wrapper = vm.runInThisContext(
        `(function (exports, require, module, __filename, __dirname, process, console, Date, setTimeout, clearTimeout, setInterval, clearInterval) {${source}\n})`, { filename: target },
      ) as (...args: unknown[]) => void;
      const nodeRequire = createRequire(target);
      // Every JavaScript file the function loads, its own and its packages' (an unbundled AWS SDK too), is compiled
      // afresh with its private process and console: a package from Node's cache would read the host's process.env,
      // miss the offline endpoints and credentials, and could reach AWS with the user's own. Builtins and native addons
      // load as usual.
      const ownRequire = Object.assign((id: string): unknown => {
        if (isBuiltin(id)) return nodeRequire(id);
        const resolved = resolvePackage(nodeRequire, id);
        return /\.(c?js|json)$/.test(resolved) ? loadFile(resolved) : nodeRequire(resolved);
      }, { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: undefined });
      wrapper.call(module.exports, module.exports, ownRequire, module, target, path.dirname(target), ownProcess, ownConsole,
        time.Date, time.setTimeout, time.clearTimeout, time.setInterval, time.clearInterval);
      return module.exports;
    };
    const exports = loadFile(file);
    const loaded = { key, exports: (typeof exports === 'object' && exports !== null ? exports : {}) as Record<string, unknown>, timers };
    this.loaded.set(key, loaded);
    return loaded;
  }
}

const hostRequire = createRequire(__filename);

/**
 * Resolves a module as the function's file would. Lambda's Node.js runtimes provide the AWS SDK v3: an `@aws-sdk/*`
 * package the function's folder does not hold is taken from where this package is installed (the user's project).
 */
function resolvePackage(nodeRequire: NodeJS.Require, id: string): string {
  try {
    return nodeRequire.resolve(id);
  } catch (err) {
    if (!id.startsWith('@aws-sdk/')) throw err;
    try {
      return hostRequire.resolve(id);
    } catch {
      throw err;
    }
  }
}

/** The file and export a handler string names; throws when the file does not exist. */
export function handlerLocation(spec: Pick<LambdaFunctionSpec, 'codeDir' | 'handler' | 'functionName'>): { file: string; exportName: string } {
  const dot = spec.handler.lastIndexOf('.');
  if (dot <= 0 || dot === spec.handler.length - 1) {
    throw new Error(`Function ${spec.functionName}: handler must be "file.export", got: ${JSON.stringify(spec.handler)}`);
  }
  const base = path.resolve(spec.codeDir, spec.handler.slice(0, dot));
  const exportName = spec.handler.slice(dot + 1);
  for (const candidate of [`${base}.js`, `${base}.cjs`, path.join(base, 'index.js')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return { file: candidate, exportName };
  }
  if (fs.existsSync(`${base}.mjs`)) throw new Error(`Function ${spec.functionName}: ES module handlers (${base}.mjs) are not supported offline`);
  throw new Error(`Function ${spec.functionName}: no ${spec.handler.slice(0, dot)}.js in ${spec.codeDir} (handler ${spec.handler})`);
}

function jsonCopy(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value) ?? 'null');
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
