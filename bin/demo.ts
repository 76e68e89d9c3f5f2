#!/usr/bin/env node
import { runLifecycleDemo } from '../lib/demo/lifecycle-demo';

// The SDK's notice about Node 22 (printed once per process) would sit in the middle of the demo's progress.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runLifecycleDemo({ progress: (line) => process.stderr.write(`${line}\n`), report: (line) => process.stdout.write(`${line}\n`) })
  .then((code) => { process.exitCode = code; })
  .catch((err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
