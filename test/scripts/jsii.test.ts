/**
 * The build's jsii step (scripts/jsii.mjs, run by `npm run build` in CI) fails on what other languages cannot use:
 * shown on a one-construct project compiled with this repository's compiler options (tsconfig.build.json) and jsii
 * settings, so a new construct with a function-typed or union-typed prop fails CI the same way.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** A project whose lib/index.ts exports one construct with `propsBody` as its props. */
function fixture(dir: string, propsBody: string): void {
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'jsii-fixture', version: '0.0.0', description: 'fixture', license: 'Apache-2.0', author: 'fixture',
    repository: { type: 'git', url: 'https://example.com/fixture.git' }, main: 'dist/lib/index.js', types: 'dist/lib/index.d.ts',
    peerDependencies: { constructs: '^10.8.1' }, devDependencies: { constructs: '10.8.1' },
    jsii: { tsconfig: 'tsconfig.build.json', validateTsconfig: 'strict', tsc: { outDir: 'dist', rootDir: '.' },
      targets: { python: { distName: 'jsii-fixture', module: 'jsii_fixture' } } },
  }));
  // this repository's compiler options, for this folder's files
  fs.writeFileSync(path.join(dir, 'tsconfig.build.json'), JSON.stringify({
    extends: path.join(ROOT, 'tsconfig.build.json'), compilerOptions: { rootDir: '.', outDir: 'dist' }, include: ['lib/**/*.ts'],
  }));
  fs.writeFileSync(path.join(dir, 'README.md'), '# fixture\n');
  fs.writeFileSync(path.join(dir, 'lib', 'index.ts'), [
    'import { Construct } from \'constructs\';',
    '',
    '/** Props of {@link Widget}. */',
    `export interface WidgetProps {\n${propsBody}\n}`,
    '',
    '/** A construct. */',
    'export class Widget extends Construct {',
    '  constructor(scope: Construct, id: string, readonly props: WidgetProps) {',
    '    super(scope, id);',
    '  }',
    '}',
    '',
  ].join('\n'));
}

/** Runs the build's jsii step (scripts/jsii.mjs) on `dir`. */
function compile(dir: string): { ok: boolean; output: string } {
  const script = `import { compileWithJsii } from ${JSON.stringify(path.join(ROOT, 'scripts', 'jsii.mjs'))};\n`
    + `process.stdout.write(JSON.stringify(await compileWithJsii(${JSON.stringify(dir)})));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`scripts/jsii.mjs crashed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { ok: boolean; output: string };
}

describe('the build\'s jsii step', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'jsii-step-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('passes a construct whose props other languages can use, and writes its assembly', () => {
    const dir = path.join(work, 'clean');
    fixture(dir, '  /** A size. @default 1 */\n  readonly size?: number;\n  /** A name. */\n  readonly name: string;');
    const r = compile(dir);
    expect(r).toMatchObject({ ok: true });
    const assembly = JSON.parse(fs.readFileSync(path.join(dir, '.jsii'), 'utf8')) as { types: Record<string, unknown> };
    expect(Object.keys(assembly.types).sort()).toEqual(['jsii-fixture.Widget', 'jsii-fixture.WidgetProps']);
  }, 120_000);

  test('fails on a function-typed prop (a jsii error)', () => {
    const dir = path.join(work, 'function');
    fixture(dir, '  /** Called when done. */\n  readonly onDone: (result: string) => void;');
    const r = compile(dir);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/error JSII\d+/);
    expect(r.output).toContain('lib/index.ts');
  }, 120_000);

  test('fails on a union-typed prop, which jsii itself accepts, naming the prop', () => {
    const dir = path.join(work, 'union');
    fixture(dir, '  /** A size, in pixels or as a CSS length. */\n  readonly size: number | string;');
    const r = compile(dir);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('union types in the API (use an enum-like class or separate props instead): jsii-fixture.WidgetProps.size');
  }, 120_000);
});
