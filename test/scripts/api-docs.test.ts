import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

describe('docs/API.md', () => {
  test('is generated from the current TSDoc, and every optional prop of the constructs\' API has a @default', () => {
    // WHEN the generator compares what it would write with the file
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'api-docs.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    // THEN nothing differs and nothing lacks a default ('npm run docs' rewrites the file)
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);
});
