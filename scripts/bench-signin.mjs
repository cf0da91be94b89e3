// Sign-in benchmark: starts the release server on a fresh demo database and times
// N sequential staff sign-ins (POST /t/acme/api/sign_in) over loopback.
//
//   cargo leptos build --release          # once
//   node scripts/bench-signin.mjs [N]     # default N = 50
//
// MEDISYNC_BIN overrides the binary (default $CARGO_TARGET_DIR/release/medisync,
// else target/release/medisync). Prints min/p50/p95/max in milliseconds; over
// loopback this is the server's own time plus well under a millisecond.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin =
  process.env.MEDISYNC_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target'), 'release', 'medisync');
const n = Number.parseInt(process.argv[2] ?? '50', 10);
const port = 3900 + Math.floor(Math.random() * 90);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'medisync-bench-'));
const env = {
  ...process.env,
  DATABASE_URL: `sqlite://${tmp}/bench.db`,
  MEDISYNC_SERVER_SITE_ADDR: `127.0.0.1:${port}`,
  LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
  MEDISYNC_SESSION_RATE_LIMIT_PER_MINUTE: '100000',
  RUST_LOG: 'warn',
};

if (!fs.existsSync(bin)) {
  console.error(`no server binary at ${bin}; run cargo leptos build --release first`);
  process.exit(1);
}
const seeded = spawnSync(bin, ['seed-demo', '--if-empty'], { env, cwd: repo, encoding: 'utf8' });
if (seeded.status !== 0) {
  console.error(seeded.stderr);
  process.exit(1);
}
const server = spawn(bin, ['serve'], { env, cwd: repo, stdio: 'ignore' });
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 100) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const body = new URLSearchParams({
    email: 'olivia.owner@acme.example',
    password: 'correct horse clinic demo',
    audience: 'staff',
    next: '',
  }).toString();
  const signIn = async () => {
    const started = process.hrtime.bigint();
    const res = await fetch(`${base}/t/acme/api/sign_in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    await res.text();
    if (res.status !== 200) throw new Error(`sign-in answered ${res.status}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  for (let i = 0; i < 3; i++) await signIn(); // warm-up
  const times = [];
  for (let i = 0; i < n; i++) times.push(await signIn());
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(
    `sign-in over loopback, n=${n}: min ${times[0].toFixed(1)} ms, p50 ${at(0.5).toFixed(1)} ms, ` +
      `p95 ${at(0.95).toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms ` +
      '(argon2id m=19456 KiB, t=2, p=1)',
  );
} finally {
  server.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
}
