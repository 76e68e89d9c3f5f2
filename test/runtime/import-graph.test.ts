/**
 * `cdk-rekognition-custom-labels/runtime` goes into users' Lambda bundles: its built import graph must hold the AWS SDK
 * clients it calls and nothing of aws-cdk-lib, constructs, the emulator, the runner or the offline packages.
 * Reads the built output (`npm run build` first; CI builds before testing).
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };

/** Every file reachable by require() from `entry` (relative requires followed), and the packages required on the way. */
function importGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const code = fs.readFileSync(file, 'utf8');
    for (const [, request] of code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
      if (request.startsWith('.')) {
        const target = path.resolve(path.dirname(file), request);
        visit(fs.existsSync(`${target}.js`) ? `${target}.js` : path.join(target, 'index.js'));
      } else if (!request.startsWith('node:') && !builtinModules.includes(request)) {
        packages.add(request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0]);
      }
    }
  };
  visit(entry);
  return { files: [...files].map((f) => path.relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

describe('the runtime subpath\'s built import graph', () => {
  const entry = path.join(ROOT, PACKAGE.exports['./runtime'].default);

  test('package.json exports ./runtime from dist, like the other subpaths', () => {
    expect(PACKAGE.exports['./runtime']).toEqual({ types: './dist/lib/runtime/index.d.ts', default: './dist/lib/runtime/index.js' });
    if (!fs.existsSync(entry)) throw new Error(`${path.relative(ROOT, entry)} is missing: run npm run build before this test`);
  });

  test('loads only its own files and the two SDK clients it calls', () => {
    const { files, packages } = importGraph(entry);
    expect(files).toEqual(['dist/lib/runtime/env.js', 'dist/lib/runtime/index.js', 'dist/lib/runtime/serving-client.js']);
    expect(packages).toEqual(['@aws-sdk/client-rekognition', '@aws-sdk/client-ssm']);
  });

  test('the walker sees what it should: the constructs\' graph holds aws-cdk-lib and the runtime\'s env module only', () => {
    const { files, packages } = importGraph(path.join(ROOT, PACKAGE.exports['.'].default));
    expect(packages).toContain('aws-cdk-lib');
    expect(files.filter((f) => f.startsWith('dist/lib/runtime/'))).toEqual(['dist/lib/runtime/env.js']);
  });
});
