/**
 * The Python package `npm run package:python` builds (CI builds it before the tests; after a build, `npm test` builds
 * it here when it is missing or older than the .jsii assembly): its README shows Python for the
 * construct examples, and the README's own Python app calls only what the generated bindings define, with keyword
 * arguments they accept. Checked with Debian's Python by reading the code (ast): the bindings cannot be imported
 * here, since the `jsii` and `aws-cdk-lib` Python packages cannot be installed without a Python package index.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO } from './app';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const OWN = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { jsii: { targets: { python: { module: string } } } };
const MODULE = OWN.jsii.targets.python.module;
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const GENERATED = path.join(REPO, 'dist', 'pacmak', 'python');

/** Python that reads an app and the generated module: what the app calls on our module, and what the module defines. */
const INSPECT = `
import ast, json, sys
app = ast.parse(sys.stdin.read())
module = ast.parse(open(sys.argv[1], encoding="utf8").read())
ours = {a.asname or a.name for n in ast.walk(app) if isinstance(n, ast.ImportFrom) and n.module == sys.argv[2] for a in n.names}
calls = []
for n in ast.walk(app):
    if not isinstance(n, ast.Call):
        continue
    f = n.func
    if isinstance(f, ast.Name) and f.id in ours:
        calls.append({"cls": f.id, "method": "__init__", "keywords": [k.arg for k in n.keywords]})
    elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ours:
        calls.append({"cls": f.value.id, "method": f.attr, "keywords": [k.arg for k in n.keywords]})
defined = {}
for c in module.body:
    if isinstance(c, ast.ClassDef):
        methods = {}
        for m in c.body:
            if isinstance(m, ast.FunctionDef):
                methods[m.name] = [a.arg for a in m.args.args + m.args.kwonlyargs]
        defined[c.name] = methods
print(json.dumps({"imported": sorted(ours), "calls": calls, "defined": defined}))
`;

/**
 * Python that parses every example a Python user reads: the ```python blocks of the package's README and the
 * `Example::` blocks of the module's docstrings (rosetta leaves some TypeScript it cannot translate as it is, e.g.
 * `a || b`, and says nothing). Prints the ones that do not parse, with the error.
 */
const PARSE_EXAMPLES = `
import ast, json, re, sys, textwrap
fence = chr(96) * 3
examples = [("README.md", b) for b in re.findall("^" + fence + "python\\n(.*?)^" + fence + "$", open(sys.argv[1], encoding="utf8").read(), re.S | re.M)]
for node in ast.walk(ast.parse(open(sys.argv[2], encoding="utf8").read())):
    if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node):
        for m in re.finditer(r"^Example::\\n\\n((?:(?: {4}.*)?\\n)+)", ast.get_docstring(node) + "\\n", re.M):
            examples.append((node.name, textwrap.dedent(m.group(1))))
bad = []
for where, code in examples:
    try:
        ast.parse(code)
    except SyntaxError as e:
        bad.append({"in": where, "error": str(e), "line": code.splitlines()[e.lineno - 1] if e.lineno else ""})
print(json.dumps({"examples": len(examples), "invalid": bad}))
`;

function pythonBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```python\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** Builds the Python package when the assembly is newer than it (a fresh clone after `npm run build`, or a changed API). */
function buildIfStale(init: string): void {
  const assembly = path.join(REPO, '.jsii');
  if (!fs.existsSync(assembly) || (fs.existsSync(init) && fs.statSync(init).mtimeMs >= fs.statSync(assembly).mtimeMs)) return;
  const run = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'package-python.mjs')], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) throw new Error(`npm run package:python failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`.slice(-4000));
}

describe('the Python package', () => {
  const init = path.join(GENERATED, 'src', MODULE, '__init__.py');
  buildIfStale(init);
  const wheels = fs.existsSync(path.join(REPO, 'dist', 'python')) ? fs.readdirSync(path.join(REPO, 'dist', 'python')) : [];

  test('was built: a wheel and an sdist in dist/python', () => {
    if (!fs.existsSync(init)) throw new Error(`${init} is missing: run npm run build && npm run package:python before this test`);
    expect(wheels.filter((f) => f.endsWith('.whl'))).toHaveLength(1);
    expect(wheels.filter((f) => f.endsWith('.tar.gz'))).toHaveLength(1);
  });

  test('its README: Python for every ```ts block of ours, the Node.js-only ```TypeScript blocks as they are', () => {
    const theirs = fs.readFileSync(path.join(GENERATED, 'README.md'), 'utf8');
    const fences = (md: string): string[] => md.split('\n').filter((l) => l.startsWith('```') && l.length > 3);
    const ours = fences(README);
    expect(fences(theirs)).toEqual(ours.map((f) => (f === '```ts' ? '```python' : f)));
    expect(ours.filter((f) => f === '```ts').length).toBeGreaterThanOrEqual(6);
    expect(ours.filter((f) => f === '```TypeScript').length).toBeGreaterThanOrEqual(3);
    // the quick start, as a Python user reads it
    expect(theirs).toContain('training_data=TrainingData.from_local_folder("./images", labels=LabelSource.FOLDER_NAMES)');
  });

  test('every Python example it shows parses: the README\'s blocks and the docstrings\' examples', () => {
    const parse = (readme: string): { examples: number; invalid: unknown[] } => {
      const r = spawnSync(PYTHON, ['-c', PARSE_EXAMPLES, readme, init], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as { examples: number; invalid: unknown[] };
    };
    const found = parse(path.join(GENERATED, 'README.md'));
    expect(found.invalid).toEqual([]);
    // the README's ```ts blocks translated, its own ```python blocks, and at least the three constructs' examples
    const translated = README.split('\n').filter((l) => l === '```ts').length;
    expect(found.examples).toBeGreaterThanOrEqual(translated + pythonBlocks(README).length + 3);
    // the check can fail: TypeScript rosetta left untranslated is seen
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'python-package-'));
    try {
      const broken = path.join(tmp, 'README.md');
      fs.writeFileSync(broken, '```python\nkey = app.node.try_get_context("key") || "default"\n```\n');
      expect(parse(broken).invalid).toEqual([expect.objectContaining({ in: 'README.md', line: 'key = app.node.try_get_context("key") || "default"' })]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('the README\'s Python app parses, and calls only classes, methods and keyword arguments the bindings define', () => {
    const [app] = pythonBlocks(README);
    expect(app).toContain('app.synth()');
    const r = spawnSync(PYTHON, ['-c', INSPECT, init, MODULE], { input: app, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const found = JSON.parse(r.stdout) as {
      imported: string[]; calls: Array<{ cls: string; method: string; keywords: string[] }>; defined: Record<string, Record<string, string[]>>;
    };
    expect(found.imported).toEqual(['CustomLabelsModel', 'CustomLabelsProject', 'EvaluationGate', 'LabelSource', 'TrainingData']);
    expect(found.calls.length).toBeGreaterThanOrEqual(4);
    for (const call of found.calls) {
      const params = found.defined[call.cls]?.[call.method];
      expect({ call: `${call.cls}.${call.method}`, defined: params !== undefined }).toEqual({ call: `${call.cls}.${call.method}`, defined: true });
      expect({ call: `${call.cls}.${call.method}`, unknown: call.keywords.filter((k) => !params!.includes(k)) })
        .toEqual({ call: `${call.cls}.${call.method}`, unknown: [] });
    }
    // the check can fail: a keyword the bindings do not have is seen
    const wrong = spawnSync(PYTHON, ['-c', INSPECT, init, MODULE], { input: app.replace('project_name=', 'name='), encoding: 'utf8' });
    const wrongCalls = (JSON.parse(wrong.stdout) as typeof found).calls.find((c) => c.cls === 'CustomLabelsProject')!;
    expect(found.defined.CustomLabelsProject.__init__).not.toContain('name');
    expect(wrongCalls.keywords).toContain('name');
  });
});
