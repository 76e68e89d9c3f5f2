// Bundles every lambda/<name>/index.ts into dist/lambda-bundles/<name>/index.js (node target, minified, source maps).
// The AWS SDK is bundled, not taken from the Lambda runtime, so the handlers run the SDK version we test against.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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
  await Promise.all(handlers.map((name) => build({
    entryPoints: [join(lambdaDir, name, 'index.ts')],
    outfile: join(root, 'dist', 'lambda-bundles', name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  })));
  return handlers;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const handlers = await bundleLambdas();
  console.error(`bundled ${handlers.length} lambda handler(s)`);
}
