// The jsii step of the build, shared by scripts/build.mjs and its test (test/scripts/jsii.test.ts).
//
// jsii compiles the project as tsc would and checks that what lib/index.ts exports can be used from other languages:
// it refuses function types, inline object types, generics, names other languages reserve (--fail-on-warnings makes
// its warnings errors too). It accepts union types, which our design rules do not (README, "Packaging"): a union
// becomes `typing.Union[...]` in Python and loses its meaning in Java and C#. So the assembly it writes is checked for
// them here, and one fails the build like a jsii error.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { root } from './bundle-lambdas.mjs';

/** jsii 6 warns at every start that Node.js 20 is past its end of life (the README says which versions we test). */
export const JSII_ENV = { JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

/** Every place in an assembly's types where a type reference is a union, as `<type fqn>.<member>[.<parameter>]`. */
export function unionsIn(assembly) {
  const found = [];
  const walk = (node, where) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, where);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if ('union' in node) found.push(where);
    for (const [key, value] of Object.entries(node)) {
      if (key === 'docs' || key === 'locationInModule') continue;
      const named = value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.name === 'string';
      walk(value, named && key !== 'type' ? `${where}.${value.name}` : where);
    }
  };
  for (const [fqn, type] of Object.entries(assembly.types ?? {})) {
    for (const key of ['properties', 'methods', 'initializer']) {
      if (type[key] === undefined) continue;
      const members = Array.isArray(type[key]) ? type[key] : [type[key]];
      for (const m of members) walk(m, `${fqn}.${m.name ?? '<initializer>'}`);
    }
  }
  return [...new Set(found)];
}

/**
 * Compiles `projectDir` with jsii (its package.json names the tsconfig), then checks its assembly for unions.
 * Resolves to the output to show and whether it passed; never rejects on a compile error.
 */
export function compileWithJsii(projectDir = root) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'jsii'), ['--fail-on-warnings'], {
      cwd: projectDir, env: { ...process.env, ...JSII_ENV }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        resolve({ ok: false, output });
        return;
      }
      const unions = unionsIn(JSON.parse(readFileSync(join(projectDir, '.jsii'), 'utf8')));
      if (unions.length > 0) {
        output += `\nerror: union types in the API (use an enum-like class or separate props instead): ${unions.join(', ')}\n`;
      }
      resolve({ ok: unions.length === 0, output });
    });
  });
}
