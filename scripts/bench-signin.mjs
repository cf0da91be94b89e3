// Sign-in benchmark: starts the release server on a fresh demo database and times
// N sequential staff sign-ins (POST /t/acme/api/sign_in) over loopback.
//
//   cargo leptos build --release          # once
//   node scripts/bench-signin.mjs [N]     # default N = 50
//
// MEDISYNC_BIN overrides the binary (default $CARGO_TARGET_DIR/release/medisync,
// else target/release/medisync). Prints min/p50/p95/max in milliseconds; over
// loopback this is the server's own time plus well under a millisecond.
import { startBenchServer } from './bench-server.mjs';

const n = Number.parseInt(process.argv[2] ?? '50', 10);
const { base, stop } = await startBenchServer();
try {
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
  stop();
}
