// Type-checks everything (tests included), compiles the library, and bundles the Lambda handlers so that users of
// the library never run esbuild or Docker at synth time.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { bundleLambdas, root } from './bundle-lambdas.mjs';

const tsc = join(root, 'node_modules', '.bin', 'tsc');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(tsc, ['--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
execFileSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
// The labeling page (plain HTML, CSS and JavaScript) is served from beside its compiled server module.
cpSync(join(root, 'lib', 'label', 'page'), join(root, 'dist', 'lib', 'label', 'page'), { recursive: true });
const handlers = await bundleLambdas();

const cli = join(root, 'dist', 'bin', 'custom-labels.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
console.error(`built: library, ${handlers.length} lambda bundle(s)`);
