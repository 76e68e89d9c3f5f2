// Construct tests load handler bundles from dist/lambda-bundles (as users do): bundle them before the tests so
// `npm test` works on a fresh clone without a full build. esbuild takes about a second. A handler that does not
// bundle is reported here and fails the tests that need it; `npm run build` fails on it outright.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  // The SDK's once-per-process notice about Node 22 would repeat in every test file's output (workers inherit this).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Synth keeps image facts and packs in a cache folder (node_modules/.cache by default): tests use one of their own.
  process.env.CDK_CUSTOM_LABELS_CACHE_DIR ??= require('node:fs').mkdtempSync(join(require('node:os').tmpdir(), 'custom-labels-cache-'));
  try {
    execFileSync(process.execPath, [join(__dirname, 'bundle-lambdas.mjs')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    process.stderr.write(`warning: bundling the Lambda handlers failed:\n${err.stderr || err.message}\n`);
  }
};
