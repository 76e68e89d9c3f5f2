// Bundles every lambda/<name>/index.ts into dist/lambda-bundles/<name>/index.js (node target, minified).
// The AWS SDK is bundled, not taken from the Lambda runtime, so the handlers run the SDK version we test against.
//
// Each dist/lambda-bundles/<name> folder is a Lambda code asset: everything in it is uploaded on every deploy that
// changes it. So it holds index.js only. The source maps (about 10 MB for all handlers, useless to the Lambda runtime
// without --enable-source-maps) go to dist/lambda-maps/<name>/index.js.map, for contributors; they are not packed.
// The licenses of the third-party code inside the bundles go to dist/lambda-bundles/THIRD-PARTY-LICENSES.txt.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const root = fileURLToPath(new URL('..', import.meta.url));

export async function bundleLambdas() {
  const lambdaDir = join(root, 'lambda');
  const handlers = existsSync(lambdaDir)
    ? readdirSync(lambdaDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(lambdaDir, d.name, 'index.ts')))
      .map((d) => d.name)
    : [];
  const bundlesDir = join(root, 'dist', 'lambda-bundles');
  const mapsDir = join(root, 'dist', 'lambda-maps');
  rmSync(bundlesDir, { recursive: true, force: true });
  rmSync(mapsDir, { recursive: true, force: true });
  const results = await Promise.all(handlers.map((name) => build({
    entryPoints: [join(lambdaDir, name, 'index.ts')],
    outfile: join(bundlesDir, name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    // 'external': no sourceMappingURL comment in index.js, the map written beside it is moved out below.
    sourcemap: 'external',
    metafile: true,
    write: false,
    logLevel: 'warning',
  })));
  const inputs = new Set();
  handlers.forEach((name, i) => {
    for (const file of results[i].outputFiles) {
      const isMap = file.path.endsWith('.map');
      const target = isMap ? join(mapsDir, name, 'index.js.map') : file.path;
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.contents);
    }
    for (const output of Object.values(results[i].metafile.outputs)) {
      for (const [input, info] of Object.entries(output.inputs)) if (info.bytesInOutput > 0) inputs.add(input);
    }
  });
  writeFileSync(join(bundlesDir, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(inputs));
  return handlers;
}

/**
 * The packages whose code the bundles hold (from esbuild's metafile), each with its declared license and the text of
 * its license file; identical texts are written once, followed by the packages they cover.
 */
function thirdPartyLicenses(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const m = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!m) continue;
    const dir = join(root, m[1], m[2]);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const id = `${pkg.name}@${pkg.version}`;
    if (packages.has(id)) continue;
    const licenseFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    const noticeFile = readdirSync(dir).find((f) => /^notice(\.(md|txt))?$/i.test(f));
    packages.set(id, {
      id,
      license: typeof pkg.license === 'string' ? pkg.license : JSON.stringify(pkg.license ?? 'UNKNOWN'),
      text: licenseFile ? readFileSync(join(dir, licenseFile), 'utf8').trim() : undefined,
      notice: noticeFile ? readFileSync(join(dir, noticeFile), 'utf8').trim() : undefined,
      where: relative(root, dir),
    });
  }
  const sorted = [...packages.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const out = [
    'Third-party software in the Lambda handler bundles of cdk-rekognition-custom-labels (dist/lambda-bundles/*/index.js).',
    'Each package is listed with the license it declares; the license texts follow, each once, with the packages it covers.',
    '',
    ...sorted.map((p) => `${p.id}  ${p.license}${p.text ? '' : ' (the package ships no license file)'}`),
  ];
  const texts = new Map();
  for (const p of sorted) {
    if (!p.text) continue;
    const key = createHash('sha256').update(p.text).digest('hex');
    if (!texts.has(key)) texts.set(key, { text: p.text, ids: [] });
    texts.get(key).ids.push(p.id);
  }
  for (const { text, ids } of texts.values()) out.push('', '-'.repeat(100), `Applies to: ${ids.join(', ')}`, '', text);
  for (const p of sorted) if (p.notice) out.push('', '-'.repeat(100), `NOTICE of ${p.id}`, '', p.notice);
  return out.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const handlers = await bundleLambdas();
  console.error(`bundled ${handlers.length} lambda handler(s)`);
}
