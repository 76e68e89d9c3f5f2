/**
 * The package as a CDK user gets it: `npm pack`, a fresh app made by `cdk init app --language typescript`, the
 * tarball and the offline tools installed there (offline, from the npm cache), the README's TypeScript compiled there,
 * its quick start synthesized as the app, deployed and destroyed offline with `custom-labels local`.
 *
 * Needs `npm run build` first (CI builds before testing). About 75 s, most of it the install (about 15 s) and the
 * app's own `tsc` and synth (aws-cdk-lib's template validation included).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DETAIL_TYPE_FAILED, DETAIL_TYPE_SUCCEEDED, EVENT_SOURCE } from '../../lib/model/contracts';
import { cdkInit, installOffline, ok, pack, PackResult, REPO, run, typescriptBlocks, userEnv } from './app';

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const OWN = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string; version: string; license: string; engines: Record<string, string>; repository: { url: string }; homepage: string;
  keywords: string[]; dependencies?: Record<string, string>; peerDependencies: Record<string, string>;
  offlineDependencies: Record<string, string>; devDependencies: Record<string, string>;
};
const OFFLINE = Object.keys(OWN.offlineDependencies);
/** The IAM policy engine: an offline package the offline world loads on first use (enforcement can be turned off). */
const ENGINE = '@cloud-copilot/iam-simulate';
/** What a user's application code adds to call the model with the serving client (client-rekognition is among the offline packages). */
const APP_CODE_PACKAGES = ['@aws-sdk/client-ssm'];
const APP = 'my-app';
/** The quick start's stack and the folder of images it trains on. */
const STACK = 'PcbDefects';

/** No AWS credentials here: without this the CDK CLI waits on the instance-metadata service for ~20 s before synth. */
const env = userEnv({ AWS_EC2_METADATA_DISABLED: 'true' });

describe('the package as a CDK user installs it', () => {
  let work: string;
  let packed: PackResult;
  let appDir: string;
  const timings: Record<string, number> = {};

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'packed-app-'));
    let start = Date.now();
    packed = pack(work);
    timings.pack = Date.now() - start;
    appDir = path.join(work, APP);
    start = Date.now();
    cdkInit(appDir);
    timings.cdkInit = Date.now() - start;
    timings.install = installOffline(appDir, { tarball: packed.tarball, devDependencies: OFFLINE, dependencies: APP_CODE_PACKAGES }).ms;
  }, 240_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
    process.stderr.write(`packed-app timings (ms): ${JSON.stringify(timings)}; tarball ${packed?.size} bytes, ${packed?.unpackedSize} unpacked\n`);
  });

  test('the tarball: the built package, LICENSE, NOTICE, CHANGELOG and README; no source map, test, sample or source file', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of ['LICENSE', 'NOTICE', 'CHANGELOG.md', 'README.md', 'package.json', 'dist/lib/index.js', 'dist/lib/index.d.ts',
      'dist/bin/custom-labels.js', 'dist/lambda-bundles/THIRD-PARTY-LICENSES.txt']) {
      expect(files).toContain(f);
    }
    const handlers = fs.readdirSync(path.join(REPO, 'lambda')).filter((h) => fs.existsSync(path.join(REPO, 'lambda', h, 'index.ts')));
    for (const h of handlers) expect(files.filter((f) => f.startsWith(`dist/lambda-bundles/${h}/`))).toEqual([`dist/lambda-bundles/${h}/index.js`]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^(lib|test|bench|scripts|lambda|examples|docs)\//.test(f) || f.startsWith('dist/lib/samples/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // a guard against what the files list could let in by mistake (source maps alone were 11 MB); each handler bundle
    // (the AWS SDK clients it uses, minified) is 0.5 to 0.9 MB, and there are eight: 8.2 MB unpacked in all
    expect(packed.unpackedSize).toBeLessThan(9_500_000);
    expect(fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(fs.readFileSync(path.join(REPO, 'NOTICE'), 'utf8')).toMatch(/^cdk-rekognition-custom-labels\nCopyright \d{4}/);
    expect(fs.readFileSync(path.join(REPO, 'CHANGELOG.md'), 'utf8')).toContain(`## [${OWN.version}]`);
  });

  test('package.json: license, repository, homepage and keywords; no dependency beyond the peers; engines as the README says', () => {
    expect(OWN.license).toBe('Apache-2.0');
    expect(OWN.repository.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
    expect(OWN.homepage).toMatch(/^https:\/\//);
    expect(OWN.keywords).toEqual(expect.arrayContaining(['aws-cdk', 'rekognition', 'custom-labels']));
    expect(OWN.dependencies ?? {}).toEqual({});
    expect(Object.keys(OWN.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(OWN.engines).toEqual({ node: '>=20' });
    expect(README).toContain('the package declares `>=20`');
    expect(README).toContain(`\`aws-cdk-lib\` \`${OWN.peerDependencies['aws-cdk-lib']}\` and \`constructs\` \`${OWN.peerDependencies.constructs}\``);
    // the offline packages' install commands install exactly the offlineDependencies, at the versions we test
    const tools = OFFLINE.filter((n) => n !== ENGINE);
    const command = README.split('\n').find((l) => l.trim().startsWith(`npm install --save-dev ${tools[0]}@`));
    expect(command?.trim()).toBe(`npm install --save-dev ${tools.map((n) => `${n}@${OWN.devDependencies[n]}`).join(' ')}`);
    expect(OFFLINE).toContain(ENGINE);
    expect(README).toContain(`npm install --save-dev ${ENGINE}@${OWN.devDependencies[ENGINE]}\n`);
  });

  test('the app installs from the tarball offline, without the offline packages as dependencies of the package', () => {
    const installed = path.join(appDir, 'node_modules', OWN.name);
    expect(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'))).toMatchObject({ name: OWN.name, version: OWN.version });
    // nothing nested under the package: it brings no dependency of its own
    expect(fs.existsSync(path.join(installed, 'node_modules'))).toBe(false);
    expect(fs.existsSync(path.join(appDir, 'node_modules', '.bin', 'custom-labels'))).toBe(true);
    expect(timings.install).toBeLessThan(120_000);
  });

  test('require() of the constructs loads nothing of the emulator, runner, labeling page, report or CLI, and no offline package', () => {
    const script = `
      const t0 = process.hrtime.bigint();
      require('aws-cdk-lib');
      const t1 = process.hrtime.bigint();
      const before = new Set(Object.keys(require.cache));
      require('${OWN.name}');
      const t2 = process.hrtime.bigint();
      const added = Object.keys(require.cache).filter((k) => !before.has(k));
      const ours = added.filter((k) => k.includes('/node_modules/${OWN.name}/')).map((k) => k.split('/node_modules/${OWN.name}/')[1]);
      const packages = [...new Set(added.filter((k) => !k.includes('/node_modules/${OWN.name}/'))
        .map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k.slice(k.lastIndexOf('node_modules/')))?.[1]))];
      console.log(JSON.stringify({ cdkMs: Number(t1 - t0) / 1e6, oursMs: Number(t2 - t1) / 1e6, ours, packages }));`;
    const r = ok(run(process.execPath, ['-e', script], appDir, env), 'require');
    const loaded = JSON.parse(r.stdout) as { cdkMs: number; oursMs: number; ours: string[]; packages: string[] };
    timings.requireAwsCdkLib = Math.round(loaded.cdkMs);
    timings.requireConstructs = Math.round(loaded.oursMs);
    expect(loaded.ours).toContain('dist/lib/index.js');
    expect(loaded.ours.filter((f) => /^dist\/lib\/(emulator|runner|iam|label|report|cli|samples)\//.test(f))).toEqual([]);
    expect(loaded.packages.filter((p) => p !== 'aws-cdk-lib' && p !== 'constructs')).toEqual([]);
  });

  test('every TypeScript block of the README compiles in the app, and the quick start synthesizes as the app', () => {
    // GIVEN the README's blocks in the app: the first (the quick start) as the app's entry point, the others beside it
    const blocks = typescriptBlocks(README);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(blocks[0].code).toContain('new App()');
    fs.writeFileSync(path.join(appDir, 'bin', `${APP}.ts`), blocks[0].code);
    fs.mkdirSync(path.join(appDir, 'readme'));
    for (const b of blocks.slice(1)) fs.writeFileSync(path.join(appDir, 'readme', `line-${b.line}.ts`), b.code);
    // AND the images it trains on
    fs.cpSync(path.join(REPO, 'examples', 'shapes-classification'), path.join(appDir, 'images'), { recursive: true });
    // WHEN synthesized as cdk.json says: `npx tsc` (type-checks every file of the app, the README's included), then the app
    const start = Date.now();
    const synth = run('npx', ['cdk', 'synth', '--quiet', '--no-notices'], appDir, env, 180_000);
    timings.synth = Date.now() - start;
    // THEN it compiles and synthesizes (tsc errors would name readme/line-<n>.ts: the README line of the block)
    ok(synth, 'npx cdk synth (tsc over the README blocks, then the quick start)');
    const template = JSON.parse(fs.readFileSync(path.join(appDir, 'cdk.out', `${STACK}.template.json`), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Rekognition::Project').map((r) => r.Properties?.ProjectName))
      .toEqual(['pcb-defects']);
    // AND no Lambda asset carries a source map
    const assets = fs.readdirSync(path.join(appDir, 'cdk.out')).filter((f) => f.startsWith('asset.') && !f.includes('.manifest'));
    const maps = assets.flatMap((a) => fs.statSync(path.join(appDir, 'cdk.out', a)).isDirectory()
      ? fs.readdirSync(path.join(appDir, 'cdk.out', a)).filter((f) => f.endsWith('.map')) : []);
    expect(maps).toEqual([]);
    // AND the README's deploy section names every resource type the quick start creates
    const types = [...new Set(Object.values(template.Resources).map((r) => r.Type))].sort();
    const deploy = README.slice(README.indexOf('## Deploy to AWS'), README.indexOf('### Waiting or not'));
    expect(types.filter((t) => !deploy.includes(`\`${t}\``))).toEqual([]);
  }, 240_000);

  test('custom-labels local deploy and destroy the synthesized app, offline', () => {
    const start = Date.now();
    const deploy = ok(run('npx', ['custom-labels', 'local', 'deploy', '--json'], appDir, env), 'custom-labels local deploy');
    timings.localDeploy = Date.now() - start;
    expect(JSON.parse(deploy.stdout)).toMatchObject({ stacks: [{ stackName: STACK, status: 'CREATE_COMPLETE' }] });
    expect(deploy.stderr).toContain(`${STACK} | ${STACK} (AWS::CloudFormation::Stack) CREATE_COMPLETE`);
    const destroy = ok(run('npx', ['custom-labels', 'local', 'destroy', '--json'], appDir, env), 'custom-labels local destroy');
    const destroyed = JSON.parse(destroy.stdout) as { stacks: Array<{ stackName: string; deleted: number }> };
    expect(destroyed.stacks.map((s) => s.stackName)).toEqual([STACK]);
    expect(destroyed.stacks[0].deleted).toBeGreaterThan(0);
  }, 120_000);

  test('the README\'s offline test example trains the model to RUNNING', () => {
    const block = typescriptBlocks(README).find((b) => b.code.includes('export async function trainOffline('));
    expect(block).toBeDefined();
    fs.writeFileSync(path.join(appDir, 'readme', 'train-offline.ts'), `import { trainOffline } from './line-${block!.line}';\n`
      + 'void trainOffline(\'images\').then((status) => console.log(JSON.stringify({ status })));\n');
    const r = ok(run('npx', ['tsx', 'readme/train-offline.ts'], appDir, env), 'trainOffline');
    expect(r.stdout.trim().split('\n').pop()).toBe('{"status":"RUNNING"}');
  }, 120_000);

  test('the runtime subpath loads the serving client and the two SDK clients only: no aws-cdk-lib, constructs or offline tool', () => {
    const script = `
      const before = new Set(Object.keys(require.cache));
      const runtime = require('${OWN.name}/runtime');
      const added = Object.keys(require.cache).filter((k) => !before.has(k));
      const ours = added.filter((k) => k.includes('/node_modules/${OWN.name}/')).map((k) => k.split('/node_modules/${OWN.name}/')[1]);
      const packages = [...new Set(added.filter((k) => !k.includes('/node_modules/${OWN.name}/'))
        .map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k.slice(k.lastIndexOf('node_modules/')))?.[1]))];
      console.log(JSON.stringify({ exports: Object.keys(runtime).sort(), ours, packages }));`;
    const loaded = JSON.parse(ok(run(process.execPath, ['-e', script], appDir, env), 'require runtime').stdout) as
      { exports: string[]; ours: string[]; packages: string[] };
    expect(loaded.exports).toEqual(['NoServingVersionError', 'SERVING_VERSION_PARAMETER_ENV', 'ServingModelClient']);
    expect(loaded.ours.sort()).toEqual(['dist/lib/runtime/env.js', 'dist/lib/runtime/index.js', 'dist/lib/runtime/serving-client.js']);
    expect(loaded.packages).toEqual(expect.arrayContaining(['@aws-sdk/client-rekognition', '@aws-sdk/client-ssm']));
    expect(loaded.packages.filter((p) => p === 'aws-cdk-lib' || p === 'constructs' || OFFLINE.includes(p) && p !== '@aws-sdk/client-rekognition'))
      .toEqual([]);
  });

  test('the README\'s serving handler answers from the quick start\'s model deployed offline', () => {
    // GIVEN the README's handler block (compiled with the others above) and the quick start's synthesized app
    const block = typescriptBlocks(README).find((b) => b.code.includes(`from '${OWN.name}/runtime'`) && b.code.includes('export async function handler('));
    expect(block).toBeDefined();
    // WHEN the app is deployed offline and the handler is loaded with the environment a deployed function gets
    fs.writeFileSync(path.join(appDir, 'readme', 'serve-offline.ts'), `
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCloud } from '${OWN.name}/emulator';
import { LocalRunner } from '${OWN.name}/runner';

async function main(): Promise<void> {
  const cloud = await startLocalCloud({ timeScale: 0 });
  const runner = await LocalRunner.open({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'serve-')), cloud });
  try {
    await runner.deploy('cdk.out');
    const parameter = Object.values(runner.stackState('${STACK}')!.resources).find((r) => r.type === 'AWS::SSM::Parameter')!;
    Object.assign(process.env, { SERVING_VERSION_PARAMETER: parameter.physicalId, AWS_ENDPOINT_URL_SSM: runner.servicesEndpoint,
      AWS_ENDPOINT_URL_REKOGNITION: cloud.rekognitionEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const { handler } = await import('./line-${block!.line}');
    const folders = fs.readdirSync('images').filter((d) => fs.statSync(path.join('images', d)).isDirectory());
    const answers = [];
    for (const folder of folders) {
      for (const file of fs.readdirSync(path.join('images', folder)).slice(0, 2)) {
        answers.push({ folder, labels: await handler({ imageBase64: fs.readFileSync(path.join('images', folder, file)).toString('base64') }) });
      }
    }
    console.log(JSON.stringify({ folders, answers }));
  } finally {
    await runner.destroy();
    await runner.close();
    await cloud.stop();
  }
}
void main();
`);
    const r = ok(run('npx', ['tsx', 'readme/serve-offline.ts'], appDir, env), 'serve-offline');
    // THEN it answers with typed labels of the folders' names, at the handler's minimum confidence, mostly the image's own
    type Answer = { folder: string; labels: Array<{ label: string; confidence: number }> };
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { folders: string[]; answers: Answer[] };
    expect(out.answers).toHaveLength(2 * out.folders.length);
    const labels = out.answers.flatMap((a) => a.labels);
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) expect(l).toEqual({ label: expect.any(String), confidence: expect.any(Number) });
    expect(labels.filter((l) => !out.folders.includes(l.label) || l.confidence < 50)).toEqual([]);
    const right = out.answers.filter((a) => a.labels[0]?.label === a.folder).length;
    expect(right).toBeGreaterThanOrEqual(out.answers.length / 2);
  }, 120_000);

  test('without an offline package: the offline tools name it and the install command; the constructs and manifest work', () => {
    const moved = path.join(work, 's3rver.moved');
    fs.renameSync(path.join(appDir, 'node_modules', 's3rver'), moved);
    try {
      const expected = `needs packages that are not installed: s3rver. The constructs do not need them, so ${OWN.name} `
        + `does not install them; install them with: npm install --save-dev s3rver@${OWN.devDependencies.s3rver}`;
      const cli = run('npx', ['custom-labels', 'local', 'deploy'], appDir, env);
      expect(cli).toMatchObject({ code: 2, stdout: '', stderr: `custom-labels local: this command ${expected}\n` });
      const lib = run(process.execPath, ['-e', `require('${OWN.name}/emulator')`], appDir, env);
      expect(lib.code).toBe(1);
      expect(lib.stderr).toContain(`MissingOfflinePackagesError: ${OWN.name}/emulator (and /runner) ${expected}`);
      expect(ok(run(process.execPath, ['-e', `require('${OWN.name}'); require('${OWN.name}/manifest')`], appDir, env), 'constructs').code).toBe(0);
      ok(run('npx', ['custom-labels', 'manifest', 'convert', '--from', 'folders', 'images', '--bucket', 's3://my-bucket', '--out', 'x.manifest'],
        appDir, env), 'custom-labels manifest convert');
    } finally {
      fs.renameSync(moved, path.join(appDir, 'node_modules', 's3rver'));
    }
  }, 60_000);

  test('the README names the events the workflow publishes as they are', () => {
    expect(README).toContain(`source: ['${EVENT_SOURCE}'], detailType: ['${DETAIL_TYPE_FAILED}']`);
    expect(README).toContain(`\`${DETAIL_TYPE_SUCCEEDED}\``);
  });
});
