/**
 * A client of @jsii/runtime, the Node.js process that the Python `jsii` package (and every other jsii language)
 * starts to run a jsii library: requests as JSON lines on its stdin, one response line each on its stdout, the
 * library's own output wrapped as JSON on its stderr. The process is the runtime's self-contained bundle
 * (webpack/bin/jsii-runtime.js: the files the Python package embeds). Used by jsii-runtime.test.ts.
 *
 * Only what a construct library needs from its host is spoken: load, create, get, invoke, static get and invoke,
 * and bin scripts. Callbacks (a Python subclass overriding a method) are refused: nothing here overrides anything.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** `{ "$jsii.byref": "<fqn>@<id>" }`: an object living in the runtime. */
export interface ObjRef {
  readonly '$jsii.byref': string;
}

/** A struct passed by value, in the form the runtime clients send (`{ "$jsii.struct": { fqn, data } }`). */
export function struct(fqn: string, data: Record<string, unknown>): { '$jsii.struct': { fqn: string; data: Record<string, unknown> } } {
  return { '$jsii.struct': { fqn, data } };
}

/** An error the runtime answered with: `name` is the kernel's error type, `message` the JavaScript error's message. */
export class JsiiRuntimeError extends Error {
  constructor(readonly kernelName: string, message: string) {
    super(message);
    this.name = 'JsiiRuntimeError';
  }
}

export const RUNTIME_DIR = path.dirname(require.resolve('@jsii/runtime/package.json'));
export const RUNTIME_ENTRY = path.join(RUNTIME_DIR, 'webpack', 'bin', 'jsii-runtime.js');

type Pending = { resolve: (value: Record<string, unknown>) => void; reject: (err: Error) => void };

export class JsiiRuntime {
  /** Starts the runtime and waits for its hello (`@jsii/runtime@<version>`). */
  static async start(options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<JsiiRuntime> {
    const child = spawn(process.execPath, [RUNTIME_ENTRY], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const runtime = new JsiiRuntime(child);
    const hello = await runtime.next();
    if (typeof hello.hello !== 'string') throw new Error(`the runtime did not say hello: ${JSON.stringify(hello)}`);
    runtime.hello = hello.hello;
    return runtime;
  }

  hello = '';
  /** What the runtime and the library wrote to their stdout and stderr, unwrapped. */
  output = '';
  private readonly lines: Array<Record<string, unknown>> = [];
  private readonly waiting: Pending[] = [];
  private exitCode: number | null | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      const w = this.waiting.shift();
      if (w) w.resolve(message);
      else this.lines.push(message);
    });
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      try {
        const wrapped = JSON.parse(line) as { stdout?: string; stderr?: string };
        this.output += Buffer.from(wrapped.stderr ?? wrapped.stdout ?? '', 'base64').toString('utf8');
      } catch {
        this.output += `${line}\n`;
      }
    });
    child.on('exit', (code) => {
      this.exitCode = code;
      for (const w of this.waiting.splice(0)) w.reject(new Error(`the runtime exited (${code}):\n${this.output.slice(-4000)}`));
    });
  }

  private next(): Promise<Record<string, unknown>> {
    const line = this.lines.shift();
    if (line) return Promise.resolve(line);
    if (this.exitCode !== undefined) return Promise.reject(new Error(`the runtime exited (${this.exitCode}):\n${this.output.slice(-4000)}`));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Sends one request and resolves to its `ok` value; rejects with JsiiRuntimeError when the runtime answers an error. */
  async request<T = Record<string, unknown>>(req: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const response = await this.next();
    if ('callback' in response) throw new Error(`unexpected callback from the runtime: ${JSON.stringify(response).slice(0, 500)}`);
    if ('error' in response) throw new JsiiRuntimeError(String(response.name ?? 'error'), String(response.error));
    return response.ok as T;
  }

  load(name: string, version: string, tarball: string): Promise<{ assembly: string; types: number }> {
    return this.request({ api: 'load', name, version, tarball });
  }

  async create(fqn: string, args: unknown[]): Promise<ObjRef> {
    return this.request<ObjRef>({ api: 'create', fqn, args, overrides: [], interfaces: [] });
  }

  async get(objref: ObjRef, property: string): Promise<unknown> {
    return (await this.request<{ value: unknown }>({ api: 'get', objref, property })).value;
  }

  async invoke(objref: ObjRef, method: string, args: unknown[] = []): Promise<unknown> {
    return (await this.request<{ result: unknown }>({ api: 'invoke', objref, method, args })).result;
  }

  async sget(fqn: string, property: string): Promise<unknown> {
    return (await this.request<{ value: unknown }>({ api: 'sget', fqn, property })).value;
  }

  async sinvoke(fqn: string, method: string, args: unknown[] = []): Promise<unknown> {
    return (await this.request<{ result: unknown }>({ api: 'sinvoke', fqn, method, args })).result;
  }

  /** Ends the session (stdin closed, as a Python process does at exit) and resolves to the runtime's exit code. */
  async close(): Promise<number | null> {
    if (this.exitCode === undefined) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
    return this.exitCode ?? null;
  }
}
