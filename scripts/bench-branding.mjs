// Branded sign-in page benchmark: starts the release server on a fresh demo
// database and times N sequential GETs of a branded clinic's sign-in page
// (acme, addressed by subdomain) over loopback, then reports what the branding
// adds to that first-paint HTML in bytes, against the platform's own page.
//
//   cargo leptos build --release          # once
//   node scripts/bench-branding.mjs [N]   # default N = 200
//
// MEDISYNC_BIN overrides the binary (default $CARGO_TARGET_DIR/release/medisync,
// else target/release/medisync).
import http from 'node:http';
import { startBenchServer } from './bench-server.mjs';

const n = Number.parseInt(process.argv[2] ?? '200', 10);
const { port, stop } = await startBenchServer();

/** GET with an explicit Host header (fetch cannot set it), keep-alive off. */
function get(host, pathname) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: pathname, headers: { host: `${host}:${port}`, connection: 'close' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
  });
}

const bytes = (s) => Buffer.byteLength(s, 'utf8');
const match = (html, re) => (html.match(re) ?? [''])[0];

try {
  for (let i = 0; i < 10; i++) await get('acme.localhost', '/'); // warm-up
  const times = [];
  let page = '';
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    const res = await get('acme.localhost', '/');
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (res.status !== 200) throw new Error(`GET / on acme -> ${res.status}`);
    page = res.body;
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(2);
  console.log(`branded sign-in page (acme.localhost/), n=${n}: min ${times[0].toFixed(2)} ms, p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${times[times.length - 1].toFixed(2)} ms`);

  // What branding puts into the first paint: the <style> with the custom
  // properties and the theme-color meta (the favicon link replaces the default
  // one), and the branding inside the embedded site JSON used for hydration.
  const style = match(page, /<style id="tenant-branding">[^<]*<\/style>/);
  const theme = match(page, /<meta name="theme-color"[^>]*>/);
  const json = match(page, /<script type="application\/json" id="site-info">[^<]*<\/script>/);
  const brandingJson = match(json, /"branding":\{[^}]*\}/);
  const platform = (await get('localhost', '/')).body;
  console.log(`HTML of the branded sign-in page: ${bytes(page)} bytes (platform landing page: ${bytes(platform)} bytes)`);
  console.log(`branding in the head: <style id="tenant-branding"> ${bytes(style)} bytes + theme-color meta ${bytes(theme)} bytes`);
  console.log(`branding in the embedded site JSON: ${bytes(brandingJson)} bytes`);
  console.log(`total branding bytes in the first-paint HTML: ${bytes(style) + bytes(theme) + bytes(brandingJson)}`);
} finally {
  stop();
}
