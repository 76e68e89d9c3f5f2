// Builds the Python package (a wheel and an sdist in dist/python/) from the jsii assembly, without a Python package
// index: `npm run build` first (it writes .jsii), then `npm run package:python`.
//
// 1. jsii-rosetta compiles every TypeScript example (the TSDoc @examples and the README's ```ts blocks) and translates
//    it; --strict: one that does not compile fails the package.
// 2. jsii-pacmak generates the Python sources (--code-only: its own build step would pip-install pinned setuptools and
//    build from the index) with the translated examples, into dist/pacmak/python.
// 3. Debian's Python builds the wheel and the sdist from them (python3-build, -setuptools, -wheel from apt; see
//    scripts/ensure-python.sh), without isolation: nothing is downloaded.
// 4. Checks: the sources parse under that Python; the wheel holds exactly the tarball `npm pack` makes (what the
//    jsii runtime test drives); the wheel requires the Python packages of the jsii peers and nothing else of ours.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { root } from './bundle-lambdas.mjs';
import { JSII_ENV } from './jsii.mjs';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { module: pyModule, distName } = pkg.jsii.targets.python;
const codeDir = join(root, 'dist', 'pacmak');
const outDir = join(root, 'dist', 'python');
const bin = (name) => join(root, 'node_modules', '.bin', name);
// pacmak packs the package with `npm pack`: without scripts, or prepack would rebuild what `npm run build` just built.
const env = { ...process.env, ...JSII_ENV, npm_config_ignore_scripts: 'true' };
const started = Date.now();

function fail(message) {
  console.error(`package:python: ${message}`);
  process.exit(1);
}

function step(what, command, args, options = {}) {
  const start = Date.now();
  try {
    execFileSync(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'], ...options });
  } catch {
    fail(`${what} failed`);
  }
  console.error(`package:python: ${what} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
}

for (const f of ['.jsii', 'dist/lib/index.js', 'dist/lambda-bundles/THIRD-PARTY-LICENSES.txt']) {
  if (!existsSync(join(root, f))) fail(`${f} is missing: run npm run build first`);
}
try {
  execFileSync(PYTHON, ['-c', 'import build, setuptools, wheel'], { stdio: 'ignore' });
} catch {
  fail(`${PYTHON} cannot build wheels (it needs build, setuptools and wheel): run \`bash scripts/ensure-python.sh\` as root, `
    + 'or apt-get install -y python3 python3-setuptools python3-wheel python3-build');
}

step('examples compiled and translated (jsii-rosetta extract --strict)', bin('jsii-rosetta'), ['extract', '--strict']);
rmSync(codeDir, { recursive: true, force: true });
rmSync(outDir, { recursive: true, force: true });
step('Python sources generated (jsii-pacmak --code-only)', bin('jsii-pacmak'), ['--targets', 'python', '--code-only', '--force',
  '--no-npmignore', '--outdir', codeDir, '--rosetta-tablet', '.jsii.tabl.json', '--rosetta-unknown-snippets', 'fail']);

const srcDir = join(codeDir, 'python');
const pyFiles = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name));
    else if (e.name.endsWith('.py')) pyFiles.push(join(dir, e.name));
  }
};
walk(join(srcDir, 'src'));
// Parsing (not importing: jsii's Python runtime and aws-cdk-lib's Python package are not on this machine) catches
// generated syntax this Python cannot read; nothing is written into the sources.
step(`${pyFiles.length} Python modules parsed by ${PYTHON}`, PYTHON,
  ['-c', 'import ast, sys\nfor f in sys.argv[1:]:\n    ast.parse(open(f, encoding="utf8").read(), f)', ...pyFiles]);
step('wheel and sdist built (python3 -m build, no isolation)', PYTHON,
  ['-m', 'build', '--no-isolation', '--skip-dependency-check', '--outdir', outDir, srcDir], { stdio: ['ignore', 'ignore', 'inherit'] });

const files = readdirSync(outDir);
const wheel = files.find((f) => f.endsWith('.whl'));
const sdist = files.find((f) => f.endsWith('.tar.gz'));
if (!wheel || !sdist) fail(`expected a wheel and an sdist in dist/python, found: ${files.join(', ')}`);

// The wheel's contents, read with Python's zipfile (no unzip needed).
const listing = JSON.parse(execFileSync(PYTHON, ['-c', [
  'import json, sys, zipfile',
  'z = zipfile.ZipFile(sys.argv[1])',
  'meta = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]',
  'print(json.dumps({"names": z.namelist(), "metadata": z.read(meta).decode("utf8")}))',
].join('\n'), join(outDir, wheel)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
const embedded = `${pyModule}/_jsii/${pkg.name}@${pkg.version}.jsii.tgz`;
if (!listing.names.includes(embedded)) fail(`the wheel does not hold ${embedded}`);
const requires = listing.metadata.split('\n').filter((l) => l.startsWith('Requires-Dist: ')).map((l) => l.slice(15).split(/[\s(<>=]/)[0]).sort();
const expected = ['aws-cdk-lib', 'constructs', 'jsii', 'publication'];
if (JSON.stringify(requires) !== JSON.stringify(expected)) fail(`the wheel requires ${requires.join(', ')}; expected ${expected.join(', ')}`);

// The embedded tarball is `npm pack` of this folder: the same bytes as a pack made now.
const packDir = mkdtempSync(join(tmpdir(), 'package-python-'));
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: root, env, encoding: 'utf8' }));
  const fromWheel = execFileSync(PYTHON, ['-c', 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))',
    join(outDir, wheel), embedded], { maxBuffer: 64 * 1024 * 1024 });
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  if (sha(fromWheel) !== sha(readFileSync(join(packDir, packed.filename)))) fail(`the wheel's ${embedded} differs from npm pack's ${packed.filename}`);
} finally {
  rmSync(packDir, { recursive: true, force: true });
}

const size = (f) => `${(statSync(join(outDir, f)).size / 1e6).toFixed(2)} MB`;
console.error(`package:python: dist/python/${wheel} (${size(wheel)}), dist/python/${sdist} (${size(sdist)}): ${distName}, `
  + `module ${pyModule}, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
