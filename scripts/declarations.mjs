// After tsup, on its ESM declarations (dist/*.d.ts):
// 1. The declarations of `export * as wire` name each member of the namespace as a value
// (`declare const index_X: typeof X`), also the interfaces it imports from the shared declaration
// chunk, which a consumer's tsc refuses with skipLibCheck off ("only refers to a type"). Those
// become type aliases here. (rollup-plugin-dts, inside tsup, cannot tell a type imported from
// another chunk from a value.)
// 2. The CommonJS declarations (*.d.cts) are copies that import ./chunk.cjs instead of
//    ./chunk.js: what tsup's second declaration build wrote, which took a minute.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIST = new URL('../dist/', import.meta.url).pathname;
const declarations = readdirSync(DIST).filter((file) => file.endsWith('.d.ts'));
const text = Object.fromEntries(declarations.map((file) => [file, readFileSync(join(DIST, file), 'utf8')]));
const all = Object.values(text).join('\n');

const isTypeOnly = (name) =>
  new RegExp(`^(?:export )?(?:declare )?(?:interface ${name}\\b|type ${name}\\b)`, 'm').test(all) &&
  !new RegExp(`^(?:export )?declare (?:const|let|var|function|class|enum|abstract class) ${name}\\b`, 'm').test(all);

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
  const commonJs = source.replace(/(from '\.\/[\w-]+)\.js'/g, "$1.cjs'");
  writeFileSync(join(DIST, file.replace(/\.d\.ts$/, '.d.cts')), commonJs);
}
console.log(`declarations: ${fixed} namespace members made types; ${declarations.length} .d.cts copies`);
