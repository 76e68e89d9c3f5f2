// Writes docs/API.md, the reference of the constructs' entry point (`cdk-rekognition-custom-labels`), from the
// TSDoc of lib/: every exported class with its members, every props/options interface with each property's type,
// default and description. `node scripts/api-docs.mjs --check` exits 1 when docs/API.md is not up to date (a test
// runs it), and lists optional properties that have no @default.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
export const OUTPUT = join(root, 'docs', 'API.md');

/** The order of the reference: constructs first, then what their props take. Anything else exported follows. */
const ORDER = [
  'CustomLabelsProject', 'CustomLabelsProjectProps', 'ICustomLabelsProject', 'CustomLabelsProjectBase',
  'CustomLabelsModel', 'CustomLabelsModelProps', 'EvaluationGate', 'ModelDeployment', 'ModelType', 'ICustomLabelsModel',
  'TrainingData', 'LocalFolderOptions', 'LocalManifestOptions', 'S3ManifestOptions', 'LabelSource',
  'TestData', 'SplitOptions',
];

export function renderApiDocs() {
  const entry = join(root, 'lib', 'index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)))
    .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s));
  const rank = (name) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  exports.sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : 1));

  const missingDefaults = [];
  const sections = [];
  for (const symbol of exports) {
    const decl = symbol.declarations?.[0];
    if (!decl || isInternal(symbol, checker)) continue;
    if (ts.isClassDeclaration(decl)) sections.push(renderClass(symbol, decl, checker));
    else if (ts.isInterfaceDeclaration(decl)) sections.push(renderInterface(symbol, decl, checker, missingDefaults));
    else if (ts.isVariableDeclaration(decl)) sections.push(renderConstant(symbol, decl, checker));
  }
  const toc = sections.map((s) => `- [${s.name}](#${s.name.toLowerCase()})${s.kind === 'interface' ? '' : ` (${s.kind})`}`);
  const text = [
    '# API reference: `cdk-rekognition-custom-labels`',
    '',
    '<!-- Generated from the TSDoc in lib/ by `node scripts/api-docs.mjs`; a test fails when it is out of date. Do not edit. -->',
    '',
    'The constructs\' entry point. The README shows each construct in use; the manifest toolkit (`/manifest`), the emulator',
    '(`/emulator`) and the offline runner (`/runner`) are described there too.',
    '',
    ...toc,
    '',
    ...sections.map((s) => s.text),
  ].join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
  return { text, missingDefaults };
}

function isInternal(symbol, checker) {
  return symbol.getJsDocTags(checker).some((t) => t.name === 'internal');
}

/** The summary, {@link X} written as a link to X's section. */
function doc(symbol, checker) {
  return links(ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim());
}

function links(text) {
  return text.replace(/\{@link\s+([A-Za-z0-9_.]+)\s*\}/g, (_, name) => `[${name}](#${name.split('.')[0].toLowerCase()})`);
}

function tag(symbol, checker, name) {
  const t = symbol.getJsDocTags(checker).find((x) => x.name === name);
  return t === undefined ? undefined : links(ts.displayPartsToString(t.text).trim());
}

/** Text for a table cell: one line, pipes escaped. */
function cell(text) {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function typeText(node, checker) {
  if (node.type) return node.type.getText().replace(/\s+/g, ' ');
  return checker.typeToString(checker.getTypeAtLocation(node));
}

function seeAlso(symbol, checker) {
  const see = tag(symbol, checker, 'see');
  return see ? ` See ${see}.` : '';
}

function renderInterface(symbol, decl, checker, missingDefaults) {
  const heritage = decl.heritageClauses?.map((h) => h.getText()).join(' ') ?? '';
  const rows = [];
  for (const member of decl.members) {
    if (!ts.isPropertySignature(member) && !ts.isMethodSignature(member)) continue;
    const prop = checker.getSymbolAtLocation(member.name);
    if (!prop || isInternal(prop, checker)) continue;
    const optional = member.questionToken !== undefined;
    const def = tag(prop, checker, 'default');
    if (optional && def === undefined) missingDefaults.push(`${symbol.name}.${prop.name}`);
    const name = ts.isMethodSignature(member) ? `${prop.name}()` : prop.name;
    const type = ts.isMethodSignature(member) ? signature(member, prop.name) : typeText(member, checker);
    rows.push(`| \`${name}\`${optional ? '' : ' (required)'} | \`${cell(type)}\` | ${cell(def === undefined ? (optional ? '' : '-') : def)} | ${cell(doc(prop, checker) + seeAlso(prop, checker))} |`);
  }
  const text = [
    `## ${symbol.name}`,
    '',
    `Interface${heritage ? ` (${heritage})` : ''}. ${doc(symbol, checker)}${seeAlso(symbol, checker)}`,
    '',
    ...(rows.length > 0 ? ['| Property | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows] : []),
    '',
  ].join('\n');
  return { name: symbol.name, kind: 'interface', text };
}

/** `name(a: A, b?: B): R` from the declaration (no body, no modifiers). */
function signature(member, name) {
  const params = member.parameters.map((p) => p.getText().replace(/^(public|private|protected|readonly)\s+/g, '')).join(', ');
  return `${name}(${params})${member.type ? `: ${member.type.getText()}` : ''}`.replace(/\s+/g, ' ');
}

function isPublic(member) {
  const mods = ts.getCombinedModifierFlags(member);
  return !(mods & ts.ModifierFlags.Private) && !(mods & ts.ModifierFlags.Protected) && !member.name?.getText().startsWith('_')
    && !(member.name && ts.isPrivateIdentifier(member.name));
}

function renderClass(symbol, decl, checker) {
  const heritage = decl.heritageClauses?.map((h) => h.getText()).join(' ') ?? '';
  const abstract = (ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Abstract) !== 0;
  const lines = [`## ${symbol.name}`, '', `${abstract ? 'Abstract class' : 'Class'}${heritage ? ` (${heritage})` : ''}. ${doc(symbol, checker)}${seeAlso(symbol, checker)}`, ''];
  const groups = { constructor: [], static: [], property: [], method: [] };
  for (const member of decl.members) {
    if (!isPublic(member)) continue;
    if (ts.isConstructorDeclaration(member)) {
      // Constructor parameters marked readonly are properties too; private constructors are not listed.
      groups.constructor.push(`- \`${signature(member, `new ${symbol.name}`)}\``);
      continue;
    }
    const sym = member.name ? checker.getSymbolAtLocation(member.name) : undefined;
    if (!sym || isInternal(sym, checker)) continue;
    const isStatic = (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) !== 0;
    const summary = doc(sym, checker);
    if (ts.isPropertyDeclaration(member) || ts.isGetAccessorDeclaration(member)) {
      const type = ts.isPropertyDeclaration(member) ? typeText(member, checker) : checker.typeToString(checker.getTypeAtLocation(member));
      (isStatic ? groups.static : groups.property).push(`- \`${isStatic ? `${symbol.name}.` : ''}${sym.name}: ${type}\`${summary ? `: ${summary}` : ''}`);
    } else if (ts.isMethodDeclaration(member)) {
      (isStatic ? groups.static : groups.method).push(`- \`${signature(member, `${isStatic ? `${symbol.name}.` : ''}${sym.name}`)}\`${summary ? `: ${summary}` : ''}`);
    }
  }
  const titled = (title, items) => (items.length > 0 ? [`**${title}**`, '', ...items.map((i) => i.replace(/\s*\n\s*/g, ' ')), ''] : []);
  lines.push(...titled('Constructor', groups.constructor), ...titled('Static members', groups.static), ...titled('Properties', groups.property),
    ...titled('Methods', groups.method));
  return { name: symbol.name, kind: 'class', text: lines.join('\n') };
}

function renderConstant(symbol, decl, checker) {
  const value = decl.initializer ? decl.initializer.getText() : checker.typeToString(checker.getTypeAtLocation(decl));
  return { name: symbol.name, kind: 'constant', text: [`## ${symbol.name}`, '', `Constant: \`${value}\`. ${doc(symbol, checker)}`, ''].join('\n') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { text, missingDefaults } = renderApiDocs();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(OUTPUT, 'utf8');
    } catch {
      // missing: stale
    }
    const problems = [];
    if (current !== text) problems.push('docs/API.md is out of date: run node scripts/api-docs.mjs');
    if (missingDefaults.length > 0) problems.push(`optional properties without @default: ${missingDefaults.join(', ')}`);
    for (const p of problems) console.error(p);
    process.exitCode = problems.length > 0 ? 1 : 0;
  } else {
    writeFileSync(OUTPUT, text);
    console.error(`wrote ${OUTPUT}${missingDefaults.length > 0 ? `; optional properties without @default: ${missingDefaults.join(', ')}` : ''}`);
  }
}
