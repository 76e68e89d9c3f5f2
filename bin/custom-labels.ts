#!/usr/bin/env node
import { main } from '../lib/cli/main';

// The AWS SDK's notice about this Node.js version would sit in the middle of the emulator's and the deploy's output
// (nine lines, at every start); the README states the supported versions.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() })
  .then((code) => { process.exitCode = code; })
  .catch((err: unknown) => {
    process.stderr.write(`custom-labels: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  });
