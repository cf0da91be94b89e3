// Shrinks the wasm splitter's JavaScript loader (`target/site/pkg/__wasm_split.*.js`)
// after `cargo leptos build --split`, and writes its .br and .gz again.
//
// The loader is fetched by every page, the sign-in included. As the splitter
// writes it, it holds
// - above each shared chunk, a comment naming every page that uses it (about
//   125 KB of text that no browser needs);
// - one eight-line function per chunk (over 600 chunks) and, per page, the list
//   of every chunk it needs spelled out name by name (`__chunk_33, __chunk_34, …`).
// Both are rewritten as data: a table of `number.hash` entries and dependency
// lists as ranges (`33:46,84:151`), read by two small functions. The loading
// code itself (`makeLoad`, `wrapAsyncCb`, the shared imports) is kept as the
// splitter wrote it, and every export keeps its name.
//
// What is left is mostly the chunks' content hashes, which no compressor can
// shrink: 22 characters each. Each wasm file's hash is cut to its first
// SHORT_HASH characters (48 bits): the file is renamed, with its .br and .gz,
// and the splitter's manifest (which the server reads to name a page's chunks
// in its <head>) is rewritten to match. A name still changes whenever its
// content does; two different contents of one chunk number sharing 48 bits is
// a one in 2^48 chance. 16.9 KB → 8.9 KB brotli on every page (2026-12-02,
// docs/frontend.md).
//
// When the loader does not have the shape this script knows (a new splitter),
// only the comments go and the script says so: the weight check in CI then
// shows what that costs.
//
// The file keeps its name: the name's hash stands for the splitter's output,
// and the same output always becomes the same file, so caching stays correct.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const FETCHER =
  String.raw`\(\) => \{\s*const src = fetch\(new URL\("\./([^"]+)", import\.meta\.url\)\);\s*` +
  String.raw`return async \(imports\) => \(WebAssembly\.instantiateStreaming\(src, imports\)\);\s*\}\s*,\s*\[([^\]]*)\]`;
const CHUNK = new RegExp(String.raw`const __chunk_(\d+) = makeLoad\(${FETCHER}\);`, 'g');
const PAGE = new RegExp(String.raw`export const (\w+) = wrapAsyncCb\(makeLoad\(${FETCHER}\)\);`, 'g');

/** `__chunk_33, __chunk_34, __chunk_40` → `33:34,40`; null when a name is not a chunk. */
function ranges(list) {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const numbers = [];
  for (const name of names) {
    const m = /^__chunk_(\d+)$/.exec(name);
    if (!m) return null;
    numbers.push(Number(m[1]));
  }
  const out = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    out.push(i === j ? `${numbers[i]}` : `${numbers[i]}:${numbers[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** The loader rewritten as data, or null when its shape is not the known one. */
function compact(source) {
  const first = source.search(/^const __chunk_|^export const /m);
  if (first < 0) return null;
  const prelude = source.slice(0, first);
  if (!prelude.includes('function makeLoad(') || !prelude.includes('function wrapAsyncCb(')) return null;
  const body = source.slice(first);

  const chunks = [];
  for (const m of body.matchAll(CHUNK)) {
    const [, number, file, deps] = m;
    const name = new RegExp(String.raw`^chunk_${number}\.([A-Za-z0-9_-]+)\.wasm$`).exec(file);
    const r = ranges(deps);
    if (!name || r === null) return null;
    chunks.push(r ? `${number}.${name[1]}/${r}` : `${number}.${name[1]}`);
  }
  const pages = [];
  for (const m of body.matchAll(PAGE)) {
    const [, exported, file, deps] = m;
    const r = ranges(deps);
    if (r === null || !/^[\w.-]+$/.test(file)) return null;
    pages.push(`export const ${exported} = page("${file}", "${r}");`);
  }
  // Everything after the prelude must have been understood.
  const rest = body.replace(CHUNK, '').replace(PAGE, '').trim();
  if (rest !== '') return null;

  return `${prelude.trimEnd()}
const fetcher = (file) => () => {
    const src = fetch(new URL("./" + file, import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
};
const chunk = [];
const needs = (list) => list ? list.split(",").flatMap((r) => {
    const [from, to = from] = r.split(":").map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => chunk[from + i]);
}) : [];
for (const entry of "${chunks.join(' ')}".split(" ").filter(Boolean)) {
    const [number, hash, list] = entry.split(/[./]/);
    chunk[number] = makeLoad(fetcher("chunk_" + number + "." + hash + ".wasm"), needs(list));
}
const page = (file, list) => wrapAsyncCb(makeLoad(fetcher(file), needs(list)));
${pages.join('\n')}
`;
}

const SHORT_HASH = 8;

/** Cuts the hash of every wasm file the loader names; returns the new names. */
function shortenHashes(dir, source) {
  const renamed = new Map();
  for (const [, file, stem, hash] of source.matchAll(/"\.\/(([\w-]+)\.([A-Za-z0-9_-]+)\.wasm)"/g)) {
    if (hash.length <= SHORT_HASH || renamed.has(file)) continue;
    const short = `${stem}.${hash.slice(0, SHORT_HASH)}.wasm`;
    if (fs.existsSync(path.join(dir, short))) throw new Error(`${short} exists already: cannot shorten ${file}`);
    renamed.set(file, short);
  }
  for (const [from, to] of renamed) {
    for (const ext of ['', '.br', '.gz']) {
      if (fs.existsSync(path.join(dir, from + ext))) fs.renameSync(path.join(dir, from + ext), path.join(dir, to + ext));
    }
  }
  return renamed;
}

function writeCompressed(file, text) {
  fs.writeFileSync(file, text);
  const bytes = Buffer.from(text);
  const br = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  fs.writeFileSync(`${file}.br`, br);
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 9 }));
  return br.length;
}

/** The manifest names files without `.wasm`: `{"page": ["chunk_33.hash", …]}`. */
function renameInManifests(dir, renamed) {
  const bare = new Map([...renamed].map(([from, to]) => [from.replace(/\.wasm$/, ''), to.replace(/\.wasm$/, '')]));
  for (const name of fs.readdirSync(dir).filter((f) => /^__wasm_split_manifest\..*json$/.test(f))) {
    const file = path.join(dir, name);
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const [page, files] of Object.entries(manifest)) {
      manifest[page] = files.map((f) => bare.get(f) ?? f);
    }
    writeCompressed(file, JSON.stringify(manifest));
  }
}

const dir = process.argv[2] ?? 'target/site/pkg';
const loaders = fs.readdirSync(dir).filter((f) => /^__wasm_split\..*\.js$/.test(f));
for (const name of loaders) {
  const file = path.join(dir, name);
  const source = fs.readFileSync(file, 'utf8');
  const uncommented = source
    .split('\n')
    .filter((line) => !/^\/\*[^\n]*\*\/\s*$/.test(line))
    .join('\n');
  if (uncommented.includes('const fetcher = (file) =>')) continue; // done already
  const renamed = shortenHashes(dir, uncommented);
  let named = uncommented;
  for (const [from, to] of renamed) named = named.replaceAll(`"./${from}"`, `"./${to}"`);
  renameInManifests(dir, renamed);
  let trimmed = compact(named);
  if (trimmed === null) {
    console.warn(`[build] ${name}: not the loader shape scripts/trim-split-loader.mjs knows; only its comments were removed`);
    trimmed = named;
  }
  if (trimmed === source) continue;
  const br = writeCompressed(file, trimmed);
  console.log(`[build] ${name}: ${source.length} → ${trimmed.length} bytes, ${br} bytes brotli, ${renamed.size} file names shortened`);
}
