// Type-checks everything (tests included), compiles the library with jsii, and bundles the Lambda handlers so that users
// of the library never run esbuild or Docker at synth time.
//
// jsii compiles tsconfig.build.json (lib, bin, lambda, bench) to dist/ as tsc would, and checks that what lib/index.ts
// exports can be used from other languages (scripts/jsii.mjs): a jsii error, a jsii warning or a union type in the API
// fails the build. The assembly it writes (.jsii, in the package) is what jsii-pacmak turns into the Python package
// (`npm run package:python`). The tests' type-check (tsc --noEmit over tsconfig.json) runs beside it: one process
// per core.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { bundleLambdas, root } from './bundle-lambdas.mjs';
import { compileWithJsii } from './jsii.mjs';

/** tsc over tsconfig.json (the tests included), its output held back: printed whole at the end, not interleaved. */
function typecheck() {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ok: code === 0, output }));
  });
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, '.jsii'), { force: true });
// The examples' translations belong to an assembly: `npm run package:python` makes them again for the new one.
rmSync(join(root, '.jsii.tabl.json'), { force: true });
const [types, jsii] = await Promise.all([typecheck(), compileWithJsii(root)]);
for (const [what, r] of [['tsc (tests included)', types], ['jsii', jsii]]) {
  if (r.output.trim()) process.stderr.write(`${what}:\n${r.output.trimEnd()}\n`);
}
if (!types.ok || !jsii.ok) {
  console.error(`build failed: ${[!types.ok && 'tsc', !jsii.ok && 'jsii'].filter(Boolean).join(' and ')}`);
  process.exit(1);
}
// The labeling page (plain HTML, CSS and JavaScript) is served from beside its compiled server module.
cpSync(join(root, 'lib', 'label', 'page'), join(root, 'dist', 'lib', 'label', 'page'), { recursive: true });
const handlers = await bundleLambdas();

const cli = join(root, 'dist', 'bin', 'custom-labels.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
console.error(`built: library, jsii assembly (.jsii), ${handlers.length} lambda bundle(s)`);
