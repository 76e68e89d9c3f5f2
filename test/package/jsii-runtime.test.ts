/**
 * The package as Python uses it, without Python. A Python app that imports `cdk_rekognition_custom_labels` runs no
 * Python construct code: the `jsii` package starts @jsii/runtime (a Node.js process), loads into it the npm tarball
 * each wheel embeds (ours, aws-cdk-lib's, constructs'...), and every constructor, property and method call is a JSON
 * request to that process. This test makes the same requests to the same process, with the tarball `npm pack` makes
 * (scripts/package-python.mjs checks that the wheel embeds exactly these bytes) and aws-cdk-lib's and constructs' own
 * npm tarballs from the npm cache (offline).
 *
 * What it cannot show: the generated Python itself running (no `jsii` Python package can be installed here: no Python
 * package index). The generated modules are parsed by Debian's Python in `npm run package:python`.
 *
 * Needs `npm run build` first (CI builds before testing). About 40-60 s, most of it unpacking aws-cdk-lib.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, Stack } from 'aws-cdk-lib';

import { CustomLabelsModel, CustomLabelsProject, LabelSource, TrainingData } from '../../lib';
import { ok, pack, PackResult, REPO, run, userEnv } from './app';
import { JsiiRuntime, JsiiRuntimeError, ObjRef, RUNTIME_DIR, struct } from './jsii-kernel';
import { Lockfile, tarballUrl } from './lockfile';

const OWN = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string; version: string; peerDependencies: Record<string, string>; jsii: { targets: { python: { module: string } } };
};
interface Assembly {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  dependencyClosure: Record<string, unknown>;
  types: Record<string, { kind: string; locationInModule?: { filename: string } }>;
}
const LIB = OWN.name;
const fqn = (name: string): string => `${LIB}.${name}`;
/** Folders of lib/ whose types must never be part of the jsii API (the tools; see test/index.test.ts). */
const TOOLS = /^lib\/(emulator|runner|iam|cli|label|report|runtime|samples|manifest)\//;
const IMAGES = path.join(REPO, 'examples', 'shapes-classification');
const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function readAssembly(): Assembly {
  const file = path.join(REPO, '.jsii');
  if (!fs.existsSync(file)) throw new Error('.jsii is missing: run npm run build before this test');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Assembly;
}

/**
 * The npm tarball of an installed dependency, as the registry serves it (its Python package embeds the same bytes):
 * read from the npm cache that `npm ci` filled, where it is stored under its integrity hash, and checked against the
 * lockfile's integrity. `npm pack <tarball URL> --offline` gets the same bytes, but takes about a minute here for
 * aws-cdk-lib; it is used only when the cache does not hold the file at that place.
 */
function dependencyTarball(name: string, dest: string): { name: string; version: string; tarball: string } {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as Lockfile;
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry?.version || !entry.integrity?.startsWith('sha512-')) throw new Error(`${name}: no version or sha512 integrity in package-lock.json`);
  const { version } = entry;
  const digest = Buffer.from(entry.integrity.slice('sha512-'.length), 'base64');
  const hex = digest.toString('hex');
  const cache = ok(run('npm', ['config', 'get', 'cache'], REPO), 'npm config get cache').stdout.trim();
  const cached = path.join(cache, '_cacache', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
  const tarball = path.join(dest, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  if (fs.existsSync(cached)) {
    fs.copyFileSync(cached, tarball);
  } else {
    const registry = ok(run('npm', ['config', 'get', 'registry'], REPO), 'npm config get registry').stdout.trim();
    const r = ok(run('npm', ['pack', tarballUrl(registry, name, version), '--offline', '--json', '--pack-destination', dest], dest, userEnv()),
      `npm pack ${name}@${version} from the cache`);
    fs.renameSync(path.join(dest, (JSON.parse(r.stdout) as Array<{ filename: string }>)[0].filename), tarball);
  }
  if (!crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest().equals(digest)) throw new Error(`${tarball}: not ${entry.integrity}`);
  return { name, version, tarball };
}

/** The same app the runtime builds below, in TypeScript: what a Python user should get is what a TypeScript user gets. */
function typescriptApp(outdir: string, imagesDir: string): { versionName: string; template: unknown } {
  const app = new App({ outdir });
  const stack = new Stack(app, 'FromPython', { env: { account: '123456789012', region: 'us-east-1' } });
  const project = new CustomLabelsProject(stack, 'Project', { projectName: 'from-python' });
  const model = new CustomLabelsModel(stack, 'Model', {
    project, trainingData: TrainingData.fromLocalFolder(imagesDir, { labels: LabelSource.FOLDER_NAMES }), evaluationGate: { minF1: 0.5 },
  });
  const assembly = app.synth();
  return { versionName: model.versionName, template: assembly.getStackByName('FromPython').template };
}

describe('the package under the jsii runtime (what the Python package runs)', () => {
  const assembly = readAssembly();
  let work: string;
  let appDir: string;
  let kernelTmp: string;
  let packed: PackResult;
  let runtime: JsiiRuntime;
  const loaded: Array<{ name: string; types: number }> = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'jsii-runtime-'));
    appDir = path.join(work, 'app');
    kernelTmp = path.join(work, 'tmp');
    fs.mkdirSync(kernelTmp, { recursive: true });
    fs.cpSync(IMAGES, path.join(appDir, 'images'), { recursive: true });
    let start = Date.now();
    packed = pack(work);
    // Every jsii library ours depends on, directly or not (aws-cdk-lib's own jsii dependencies included): each is a
    // Python package of its own, embedding its npm tarball, and the runtime loads each.
    const dependencies = Object.keys(assembly.dependencyClosure).map((name) => dependencyTarball(name, work));
    timings.tarballs = Date.now() - start;
    start = Date.now();
    // The runtime unpacks the tarballs under the temp dir it is given (the package cache off, as the Python package's
    // bin script sets it), so the test can look at what it unpacked.
    runtime = await JsiiRuntime.start({ cwd: appDir, env: {
      ...userEnv(), TMPDIR: kernelTmp, JSII_RUNTIME_PACKAGE_CACHE: 'disabled', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20',
    } });
    for (const d of dependencies) loaded.push({ name: d.name, ...(await runtime.load(d.name, d.version, d.tarball)) });
    loaded.push({ name: LIB, ...(await runtime.load(LIB, OWN.version, packed.tarball)) });
    timings.load = Date.now() - start;
  }, 300_000);

  afterAll(async () => {
    const code = await runtime?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    process.stderr.write(`jsii-runtime timings (ms): ${JSON.stringify(timings)}; runtime exit ${code}\n`);
  });

  test('the assembly: the constructs\' API only, declared outside the tools, needing only the jsii peers', () => {
    const types = Object.entries(assembly.types);
    expect(types.length).toBeGreaterThan(10);
    expect(types.filter(([, t]) => !t.locationInModule || TOOLS.test(t.locationInModule.filename)).map(([name]) => name)).toEqual([]);
    // every value lib/index.ts exports at run time (classes, enums) is in the assembly: nothing exported is invisible to Python
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeExports = Object.keys(require(path.join(REPO, 'dist', 'lib', 'index.js')) as object).filter((k) => k !== '__esModule');
    expect(runtimeExports.filter((name) => !(fqn(name) in assembly.types))).toEqual([]);
    expect(assembly.dependencies).toEqual(OWN.peerDependencies);
    expect(Object.keys(assembly.dependencyClosure)).toEqual(expect.arrayContaining(['aws-cdk-lib', 'constructs']));
  });

  test('the runtime is @jsii/runtime as pinned, and loads the packed tarball with every type of the assembly', () => {
    const pinned = (JSON.parse(fs.readFileSync(path.join(RUNTIME_DIR, 'package.json'), 'utf8')) as { version: string }).version;
    expect(runtime.hello).toBe(`@jsii/runtime@${pinned}`);
    expect(loaded.find((l) => l.name === LIB)).toEqual({ name: LIB, assembly: LIB, types: Object.keys(assembly.types).length });
    expect(packed.files.map((f) => f.path)).toContain('.jsii');
  });

  /** The app built through the runtime, and the same app built in TypeScript (for the synth test). */
  let app: ObjRef;
  let expected: { versionName: string; template: unknown };
  const env = (): ReturnType<typeof struct> => struct('aws-cdk-lib.StackProps', {
    env: struct('aws-cdk-lib.Environment', { account: '123456789012', region: 'us-east-1' }) });

  test('a project and a model from a local folder: the versionName the same app gets in TypeScript', async () => {
    // GIVEN what `app = App(outdir=...)`, `Stack(app, "FromPython", env=...)` and the constructs' calls send
    app = await runtime.create('aws-cdk-lib.App', [struct('aws-cdk-lib.AppProps', { outdir: path.join(work, 'cdk.out') })]);
    const stack = await runtime.create('aws-cdk-lib.Stack', [app, 'FromPython', env()]);
    const project = await runtime.create(fqn('CustomLabelsProject'), [stack, 'Project', struct(fqn('CustomLabelsProjectProps'), { projectName: 'from-python' })]);
    const folderNames = await runtime.sget(fqn('LabelSource'), 'FOLDER_NAMES');
    // a relative path, as a Python user writes it: the runtime runs in the app's folder
    const trainingData = await runtime.sinvoke(fqn('TrainingData'), 'fromLocalFolder', ['./images', struct(fqn('LocalFolderOptions'), { labels: folderNames })]);
    // WHEN the model is created
    const model = await runtime.create(fqn('CustomLabelsModel'), [stack, 'Model', struct(fqn('CustomLabelsModelProps'), {
      project, trainingData, evaluationGate: struct(fqn('EvaluationGate'), { minF1: 0.5 }),
    })]);
    // THEN its versionName (a hash of the data and settings) is the TypeScript app's
    expected = typescriptApp(path.join(work, 'cdk.out.ts'), path.join(appDir, 'images'));
    expect(await runtime.get(model, 'versionName')).toBe(expected.versionName);
    expect(expected.versionName).toMatch(/^[a-z0-9-]+$/);
  }, 120_000);

  test('invalid props raise with the construct\'s message; a value of the wrong type is refused before the construct runs', async () => {
    const other = await runtime.create('aws-cdk-lib.App', [struct('aws-cdk-lib.AppProps', { outdir: path.join(work, 'cdk.out.invalid') })]);
    const stack = await runtime.create('aws-cdk-lib.Stack', [other, 'Invalid', env()]);
    // a Python user sees the message in a jsii.errors.JSIIError
    await expect(runtime.create(fqn('CustomLabelsProject'), [stack, 'Bad', struct(fqn('CustomLabelsProjectProps'), { projectName: 'my project' })]))
      .rejects.toThrow(/projectName must match .*got: "my project"/);
    const project = await runtime.create(fqn('CustomLabelsProject'), [stack, 'Project']);
    const trainingData = await runtime.sinvoke(fqn('TrainingData'), 'fromLocalFolder', ['./images']);
    const badSplit = await runtime.sinvoke(fqn('TestData'), 'split', [struct(fqn('SplitOptions'), { ratio: 1.5 })]);
    const error = await runtime.create(fqn('CustomLabelsModel'), [stack, 'Model', struct(fqn('CustomLabelsModelProps'), {
      project, trainingData, testData: badSplit,
    })]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JsiiRuntimeError);
    expect((error as Error).message).toContain('testData.split ratio must be between 0 and 1 (exclusive), got: 1.5');
    await expect(runtime.create(fqn('CustomLabelsProject'), [stack, 'Typed', struct(fqn('CustomLabelsProjectProps'), { projectName: 42 })]))
      .rejects.toThrow(/projectName/);
  }, 60_000);

  test('synth: the TypeScript app\'s template, its Lambda code from where the runtime unpacked the package', async () => {
    expect(app).toBeDefined();
    // WHEN `app.synth()`
    const start = Date.now();
    const cloudAssembly = await runtime.invoke(app, 'synth') as ObjRef;
    timings.synth = Date.now() - start;
    const outdir = await runtime.get(cloudAssembly, 'directory') as string;
    // THEN the template is the TypeScript app's
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'FromPython.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(template).toEqual(expected.template);
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Rekognition::Project')).toHaveLength(1);
    // AND the package the runtime loaded is the one it unpacked under its temp dir, with the handler bundles in it
    const kernelDirs = fs.readdirSync(kernelTmp).filter((d) => d.startsWith('jsii-kernel-'));
    expect(kernelDirs).toHaveLength(1);
    const bundlesDir = path.join(kernelTmp, kernelDirs[0], 'node_modules', LIB, 'dist', 'lambda-bundles');
    const bundles = new Map(fs.readdirSync(bundlesDir).filter((h) => fs.existsSync(path.join(bundlesDir, h, 'index.js')))
      .map((h) => [sha256(path.join(bundlesDir, h, 'index.js')), h]));
    expect(bundles.size).toBe(fs.readdirSync(path.join(REPO, 'lambda')).filter((h) => fs.existsSync(path.join(REPO, 'lambda', h, 'index.ts'))).length);
    // AND every Lambda code asset of the synthesized app is one of those bundles
    const assets = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.') && fs.existsSync(path.join(outdir, d, 'index.js')));
    const used = assets.map((a) => bundles.get(sha256(path.join(outdir, a, 'index.js'))));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((h) => h === undefined)).toEqual([]);
  }, 120_000);

  test('the custom-labels script the wheel installs: manifest commands run through the runtime', async () => {
    // GIVEN a manifest made by the TypeScript CLI (the one the script runs)
    const manifest = path.join(work, 'train.manifest');
    ok(run(process.execPath, [path.join(REPO, 'dist', 'bin', 'custom-labels.js'), 'manifest', 'convert', '--from', 'folders', IMAGES,
      '--bucket', 's3://my-bucket', '--out', manifest], work), 'custom-labels manifest convert');
    // WHEN the script runs as the wheel's `custom-labels` does (the runtime starts the package's bin)
    const r = await runtime.request<{ stdout: string; stderr: string; status: number }>({
      api: 'invokeBinScript', assembly: LIB, script: 'custom-labels', args: ['manifest', 'stats', manifest, '--format', 'json'] });
    // THEN it prints the statistics as the npm package's command does
    expect(r.status).toBe(0);
    const direct = ok(run(process.execPath, [path.join(REPO, 'dist', 'bin', 'custom-labels.js'), 'manifest', 'stats', manifest, '--format', 'json'], work), 'stats');
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(direct.stdout));
  }, 60_000);
});
