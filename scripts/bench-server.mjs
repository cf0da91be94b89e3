// Shared by the benchmarks: starts the release server on a fresh, seeded demo
// SQLite database on a random loopback port, and stops it again.
//
// MEDISYNC_BIN overrides the binary (default $CARGO_TARGET_DIR/release/medisync,
// else target/release/medisync).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Starts the server; resolves to { port, base, stop } once /healthz answers. */
export async function startBenchServer() {
  const bin =
    process.env.MEDISYNC_BIN ??
    path.join(process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target'), 'release', 'medisync');
  if (!fs.existsSync(bin)) {
    console.error(`no server binary at ${bin}; run cargo leptos build --release first`);
    process.exit(1);
  }
  const port = 3900 + Math.floor(Math.random() * 90);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'medisync-bench-'));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${tmp}/bench.db`,
    MEDISYNC_SERVER_SITE_ADDR: `127.0.0.1:${port}`,
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    MEDISYNC_STORAGE_PATH: `${tmp}/files`,
    MEDISYNC_SESSION_RATE_LIMIT_PER_MINUTE: '100000',
    RUST_LOG: 'warn',
  };
  const seeded = spawnSync(bin, ['seed-demo', '--if-empty'], { env, cwd: repo, encoding: 'utf8' });
  if (seeded.status !== 0) {
    console.error(seeded.stderr);
    process.exit(1);
  }
  const server = spawn(bin, ['serve'], { env, cwd: repo, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => {
    server.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 100) {
      stop();
      throw new Error('server did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, base, stop };
}
