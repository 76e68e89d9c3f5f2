/**
 * Runs one Lambda invocation in a child Node process, as Lambda does, so that what the function uses can be measured
 * and held to its configuration: the child's peak resident memory against the function's MemorySize (Lambda ends a
 * function that passes it), its CPU time, its wall time against its Timeout. Opt-in (LambdaHostOptions.processes):
 * a child per invocation costs a Node start, about a tenth of a second.
 */
import { spawn } from 'node:child_process';

import type { LambdaFunctionSpec } from './lambda-host';

/** What one invocation used. */
export interface LambdaReport {
  readonly functionName: string;
  readonly memorySizeMb: number;
  /** Peak resident set size of the function's process (Lambda's "Max Memory Used"). */
  readonly maxMemoryUsedMb: number;
  readonly cpuMs: number;
  readonly durationMs: number;
  readonly ok: boolean;
}

/** How invocations run in child processes (LocalRunnerOptions.lambdaProcesses). */
export interface LambdaProcessOptions {
  /** Receives what each invocation used. */
  readonly onReport?: (report: LambdaReport) => void;
  /**
   * Stops invocations after this many seconds instead of at each function's Timeout: for a benchmark whose local
   * services (the local S3 above all) are slower than AWS's, so that a function's CPU time and memory are measured to
   * the end. Never for proving that a deploy works. @default - each function's Timeout
   */
  readonly timeoutSeconds?: number;
}

/** The child: reads the job on stdin, prints one JSON line (prefixed) with the outcome and its resource use. */
const CHILD = `
'use strict';
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const started = Date.now();
  // The peak of this process's own memory: VmHWM, reset by exec. ru_maxrss is not: a child spawned (vfork, then exec)
  // from a large parent, such as a test runner, inherits the parent's high-water mark.
  const peakRssKb = () => {
    try {
      const m = /^VmHWM:\\s+(\\d+) kB$/m.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
      if (m) return Number(m[1]);
    } catch (e) { /* not Linux */ }
    return process.resourceUsage().maxRSS;
  };
  const report = (outcome) => {
    const usage = process.resourceUsage();
    process.stdout.write('\\n@@lambda-result@@' + JSON.stringify({ ...outcome, maxRssKb: peakRssKb(), cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      durationMs: Date.now() - started }) + '\\n', () => process.exit(0));
  };
  try {
    const fn = require(job.file)[job.exportName];
    const deadline = started + job.timeoutMs;
    const context = { ...job.context, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
    const value = await fn(job.event, context);
    report({ ok: true, value: value === undefined ? null : value });
  } catch (err) {
    const e = err && typeof err === 'object' ? err : { message: String(err) };
    report({ ok: false, name: typeof e.name === 'string' && e.name ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(err) });
  }
});
`;

export interface ChildOutcome {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly name?: string;
  readonly message?: string;
  readonly report: LambdaReport;
}

/** Invokes `file`'s `exportName` with `event` in a child process with `env`; its console goes to `log`. */
export function invokeInChild(spec: LambdaFunctionSpec, file: string, exportName: string, env: Record<string, string>, event: unknown,
  context: Record<string, unknown>, log: (line: string) => void, timeoutSeconds = spec.timeoutSeconds ?? 3): Promise<ChildOutcome> {
  const timeoutMs = timeoutSeconds * 1000;
  const memorySizeMb = spec.memorySize ?? 128;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    const lines = (prefix: string) => (text: string) => {
      for (const line of text.split('\n')) if (line.trim() !== '' && !line.startsWith('@@lambda-result@@')) log(`${prefix}${line}`);
    };
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      lines('')(text);
    });
    child.stderr!.setEncoding('utf8').on('data', lines(''));
    // Lambda stops a function at its timeout; the child gets a second more to report.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 1000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const marker = stdout.lastIndexOf('@@lambda-result@@');
      if (marker === -1) {
        resolve({ ok: false, name: 'Sandbox.Timedout', message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
          report: { functionName: spec.functionName, memorySizeMb, maxMemoryUsedMb: 0, cpuMs: 0, durationMs: timeoutMs, ok: false } });
        return;
      }
      const result = JSON.parse(stdout.slice(marker + '@@lambda-result@@'.length).split('\n')[0]) as
        { ok: boolean; value?: unknown; name?: string; message?: string; maxRssKb: number; cpuMs: number; durationMs: number };
      const maxMemoryUsedMb = Math.ceil(result.maxRssKb / 1024);
      const report = { functionName: spec.functionName, memorySizeMb, maxMemoryUsedMb, cpuMs: Math.round(result.cpuMs),
        durationMs: result.durationMs, ok: result.ok };
      if (maxMemoryUsedMb > memorySizeMb) {
        // What Lambda reports when a function passes its memory: the runtime is killed.
        resolve({ ok: false, name: 'Runtime.OutOfMemory', message: `RequestId: ${String(context.awsRequestId)} Error: Runtime exited with error: `
          + `signal: killed (Max Memory Used: ${maxMemoryUsedMb} MB of ${memorySizeMb} MB)`, report: { ...report, ok: false } });
        return;
      }
      resolve({ ok: result.ok, value: result.value, name: result.name, message: result.message, report });
    });
    child.stdin!.end(JSON.stringify({ file, exportName, event, timeoutMs, context }));
  });
}
