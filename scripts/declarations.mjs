// After tsup, on its ESM declarations (dist/*.d.ts):
// 1. The declarations of `export * as wire` name each member of the namespace as a value
// (`declare const index_X: typeof X`), also the interfaces it imports from the shared declaration
// chunk, which a consumer's tsc refuses with skipLibCheck off ("only refers to a type"). Those
// become type aliases here. (rollup-plugin-dts, inside tsup, cannot tell a type imported from
// another chunk from a value.)
// 2. The CommonJS declarations (*.d.cts) are copies that import ./chunk.cjs instead of
//    ./chunk.js: what tsup's second declaration build wrote, which took a minute.
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const DIST = new URL('../dist/', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/** The package's entry points (their declarations in package.json exports); every other declaration file is a shared chunk. */
const ENTRY_POINTS = new Set(
  Object.values(pkg.exports)
    .map((entry) => entry?.import?.types)
    .filter(Boolean)
    .map((types) => basename(types, '.d.ts')),
);
const declarations = readdirSync(DIST).filter((file) => file.endsWith('.d.ts'));
const text = Object.fromEntries(declarations.map((file) => [file, readFileSync(join(DIST, file), 'utf8')]));
const all = Object.values(text).join('\n');

const isTypeOnly = (name) =>
  new RegExp(`^(?:export )?(?:declare )?(?:interface ${name}\\b|type ${name}\\b)`, 'm').test(all) &&
  !new RegExp(
    `^(?:export )?declare (?:const|let|var|function|class|enum|abstract class) ${name}\\b`,
    'm',
  ).test(all);

let fixed = 0;
for (const file of declarations) {
  let source = text[file];
  for (const [line, alias, name] of source.matchAll(/^declare const (\w+): typeof (\w+);$/gm)) {
    if (!isTypeOnly(name)) continue;
    source = source
      .replace(line, `type ${alias} = ${name};`)
      .replace(new RegExp(`(?<!type )\\b${alias} as `, 'g'), `type ${alias} as `);
    fixed++;
  }
  if (source !== text[file]) writeFileSync(join(DIST, file), source);
}
// Shared declaration chunks that import nothing of ours hold only types (the largest is ~80 KB):
// one CommonJS copy (.d.cts) serves both kinds of consumer, since an ES module's declarations may
// import a CommonJS module's and not the other way round (TS1479).
const isChunk = (file) => !ENTRY_POINTS.has(file.replace(/\.d\.ts$/, ''));
const standalone = new Set(
  declarations.filter((file) => isChunk(file) && !/from '\.\/[\w-]+\.js'/.test(text[file])),
);
const toCommonJs = (source, all) =>
  source.replace(/(from '\.\/([\w-]+))\.js'/g, (whole, head, name) =>
    all || standalone.has(`${name}.d.ts`) ? `${head}.cjs'` : whole,
  );
let copies = 0;
for (const file of declarations) {
  const source = readFileSync(join(DIST, file), 'utf8');
  writeFileSync(join(DIST, file.replace(/\.d\.ts$/, '.d.cts')), toCommonJs(source, true));
  if (standalone.has(file)) unlinkSync(join(DIST, file));
  else {
    writeFileSync(join(DIST, file), toCommonJs(source, false));
    copies++;
  }
}
console.log(
  `declarations: ${fixed} namespace members made types; ${copies} .d.cts copies; ${standalone.size} shared type chunks as .d.cts only`,
);
