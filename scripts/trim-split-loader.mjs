// Trims the wasm splitter's JavaScript loader (`target/site/pkg/__wasm_split.*.js`)
// after `cargo leptos build --split`, and writes its .br and .gz again.
//
// The loader is fetched by every page, the sign-in included. The splitter puts
// above each of its ~140 shared chunks a comment naming every page that uses
// that chunk: about 125 KB of text that no browser needs, 3.4 KB after brotli
// (measured on 2026-11-30). Only whole-line block comments go; the code is left
// as it is. The file keeps its name: the name's hash stands for the splitter's
// output, and the same output always trims to the same file, so caching stays
// correct.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const dir = process.argv[2] ?? 'target/site/pkg';
const loaders = fs.readdirSync(dir).filter((f) => /^__wasm_split\..*\.js$/.test(f));
for (const name of loaders) {
  const file = path.join(dir, name);
  const source = fs.readFileSync(file, 'utf8');
  const trimmed = source
    .split('\n')
    .filter((line) => !/^\/\*[^\n]*\*\/\s*$/.test(line))
    .join('\n');
  if (trimmed === source) continue;
  fs.writeFileSync(file, trimmed);
  const bytes = Buffer.from(trimmed);
  fs.writeFileSync(
    `${file}.br`,
    zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  );
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 9 }));
  console.log(`[build] ${name}: ${source.length} → ${trimmed.length} bytes (page comments removed)`);
}
