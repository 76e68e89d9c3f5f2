#!/usr/bin/env node
// `npm run demo`: the whole lifecycle of the example stack, offline. `node dist/bin/demo.js toolkit`: the manifest toolkit alone.
import * as path from 'node:path';

import { runLifecycleDemo } from './demo/lifecycle';
import { runToolkitDemo } from './demo/toolkit';

// The SDK's notice about Node 22 (printed once per process) would sit in the middle of the demo's progress.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const progress = (line: string): void => { process.stderr.write(`${line}\n`); };
const mode = process.argv[2] ?? 'lifecycle';
const run = mode === 'toolkit'
  ? runToolkitDemo(progress)
  : mode === 'lifecycle'
    ? runLifecycleDemo({ progress, report: (line) => process.stdout.write(`${line}\n`), reportsDir: path.resolve('demo-reports') })
    : Promise.reject(new Error(`unknown demo '${mode}': use 'lifecycle' (the default) or 'toolkit'`));

run
  .then((code) => { process.exitCode = code; })
  .catch((err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
