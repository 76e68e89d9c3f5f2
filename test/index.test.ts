/**
 * lib/index.ts is the constructs' entry point: jsii turns what it exports into the Python package, and
 * `require('cdk-rekognition-custom-labels')` loads what it imports. The offline tools stay out of both: they are
 * TypeScript-only (union types, callbacks, Node streams) and need packages the Python package does not carry.
 *
 * Generic on purpose: a new construct folder is checked as soon as lib/index.ts exports it, and a new tools folder by
 * adding its name to TOOLS. The assembly side (what jsii made of the exports) is checked after a build, in
 * test/package/jsii-runtime.test.ts.
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

import ts from 'typescript';

const LIB = path.resolve(__dirname, '..', 'lib');
const INDEX = path.join(LIB, 'index.ts');

/**
 * Folders of lib/ that are tools, not constructs: never loaded by the constructs' entry point. The manifest toolkit is
 * not among them: the constructs validate local data at synth with it (pure TypeScript, Node built-ins only).
 */
const TOOLS = ['emulator', 'runner', 'iam', 'cli', 'label', 'report', 'runtime', 'samples'];
/** What the constructs' modules may require besides our own: the two jsii peers (and Node's built-ins). */
const PACKAGES = ['aws-cdk-lib', 'constructs'];

interface Graph {
  /** Our modules reached, relative to lib/. */
  readonly modules: string[];
  /** Every other module specifier required, with the module that requires it. */
  readonly external: Array<{ specifier: string; from: string }>;
  /** require() / import() of something that is not a string literal: the walk cannot follow it. */
  readonly dynamic: string[];
}

/**
 * The modules `entry` loads at run time, following relative imports: `import`, `export ... from`, `import x =
 * require()`, `require('...')` and `import('...')`. Type-only imports and exports load nothing and are skipped.
 */
function runtimeGraph(entry: string): Graph {
  const seen = new Set<string>();
  const external: Graph['external'] = [];
  const dynamic: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const from = path.relative(LIB, file);
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const follow = (specifier: string): void => {
      if (!specifier.startsWith('.')) {
        external.push({ specifier, from });
        return;
      }
      const base = path.resolve(path.dirname(file), specifier);
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (!target) throw new Error(`${from}: cannot resolve '${specifier}'`);
      queue.push(target);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined
          && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0
          && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
        if (!typeOnly) follow((node.moduleSpecifier as ts.StringLiteral).text);
        return;
      }
      if (ts.isExportDeclaration(node)) {
        if (node.moduleSpecifier && !node.isTypeOnly) follow((node.moduleSpecifier as ts.StringLiteral).text);
        return;
      }
      if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && !node.isTypeOnly) {
        follow((node.moduleReference.expression as ts.StringLiteral).text);
        return;
      }
      if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword
        || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
        const [arg] = node.arguments;
        if (arg && ts.isStringLiteralLike(arg)) follow(arg.text);
        else dynamic.push(`${from}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { modules: [...seen].map((f) => path.relative(LIB, f)).sort(), external, dynamic };
}

const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const isBuiltin = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]);
// runtime/env.ts holds only the name of the environment variable the constructs set and the serving client reads: it
// imports nothing, so loading it loads nothing of the client.
const SHARED_WITH_TOOLS = [path.join('runtime', 'env.ts')];
const inTools = (module: string): boolean => TOOLS.includes(module.split(path.sep)[0]) && !SHARED_WITH_TOOLS.includes(module);

describe('lib/index.ts: the constructs\' entry point', () => {
  const graph = runtimeGraph(INDEX);

  test('only re-exports folders of lib/, none of them a tool', () => {
    const source = fs.readFileSync(INDEX, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').trim();
    const lines = source.split('\n').map((l) => l.trim()).filter(Boolean);
    expect(lines.filter((l) => !/^export \* from '\.\/[a-z-]+';$/.test(l))).toEqual([]);
    const folders = lines.map((l) => /'\.\/([a-z-]+)'/.exec(l)![1]);
    expect(folders.filter((f) => TOOLS.includes(f))).toEqual([]);
    expect(folders).toEqual(expect.arrayContaining(['data', 'model', 'project']));
  });

  test('loads no module of the offline tools, the labeling page, the report, the CLI or the serving client', () => {
    expect(graph.modules).toContain('index.ts');
    expect(graph.modules).toContain(path.join('model', 'model.ts'));
    expect(graph.modules.filter(inTools)).toEqual([]);
  });

  test('requires nothing but aws-cdk-lib, constructs and Node.js built-ins (the Python package carries nothing else)', () => {
    expect(graph.external.filter((e) => !isBuiltin(e.specifier) && !PACKAGES.includes(packageOf(e.specifier)))).toEqual([]);
    // a require() of a computed name could load anything: none in the constructs' modules
    expect(graph.dynamic).toEqual([]);
  });

  test('the walk sees what the tools load (the checks above can fail)', () => {
    // GIVEN the runner's entry point, which loads the emulator and the offline packages
    const runner = runtimeGraph(path.join(LIB, 'runner', 'index.ts'));
    // THEN the same walk finds them
    expect(runner.modules.filter(inTools).length).toBeGreaterThan(10);
    expect(runner.modules.some((m) => m.startsWith(`emulator${path.sep}`))).toBe(true);
    expect(runner.external.map((e) => packageOf(e.specifier))).toEqual(expect.arrayContaining(['aws-local-stepfunctions', '@aws-sdk/client-s3', 'pngjs']));
    // AND type-only imports are not followed: lib/data/local.ts imports a type from test-data.ts, which it does not load
    const local = runtimeGraph(path.join(LIB, 'data', 'local.ts'));
    expect(local.modules).not.toContain(path.join('data', 'test-data.ts'));
  });
});
