// How long each kind of refused sign-in and each password-reset request takes
// (issue 10: none may tell an attacker whether an account exists or is locked).
// Starts the release server on a fresh demo database, then times N requests of
// each kind over loopback, interleaved so that load affects all kinds alike.
//
//   cargo leptos build --release                 # once
//   node scripts/bench-signin-failures.mjs [N]   # default N = 20
//
// Prints p50/p95 per kind in milliseconds, and the largest difference of medians.
import { startBenchServer } from './bench-server.mjs';

const n = Number.parseInt(process.argv[2] ?? '20', 10);
const { base, stop } = await startBenchServer();

const post = async (path, fields) => {
  const started = process.hrtime.bigint();
  const res = await fetch(`${base}/t/acme${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  await res.text();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.status };
};
const signIn = (email, password) => post('/api/sign_in', { email, password, audience: 'staff', next: '' });

try {
  // Lock the billing clerk's account (five failures).
  for (let i = 0; i < 6; i++) await signIn('ben.baker@acme.example', 'not the password');
  const kinds = {
    'unknown email': () => signIn('nobody@acme.example', 'correct horse clinic demo'),
    'wrong password': () => signIn('nate.ng@acme.example', 'not the password'),
    'locked account': () => signIn('ben.baker@acme.example', 'correct horse clinic demo'),
    'no access here (patient)': () => signIn('priya.nair@patients.example', 'correct horse clinic demo'),
    'reset, known email': () => post('/api/request_password_reset', { email: 'olivia.owner@acme.example' }),
    'reset, unknown email': () => post('/api/request_password_reset', { email: 'nobody@acme.example' }),
  };
  const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    for (const [kind, run] of Object.entries(kinds)) {
      const { ms, status } = await run();
      const expected = kind.startsWith('reset') ? 200 : 422;
      if (status !== expected) throw new Error(`${kind} answered ${status}, expected ${expected}`);
      times[kind].push(ms);
    }
  }
  const at = (list, q) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))];
  const medians = {};
  console.log(`| request (n=${n} each) | p50 ms | p95 ms |`);
  console.log('| --- | ---: | ---: |');
  for (const [kind, list] of Object.entries(times)) {
    medians[kind] = at(list, 0.5);
    console.log(`| ${kind} | ${at(list, 0.5).toFixed(1)} | ${at(list, 0.95).toFixed(1)} |`);
  }
  const signInMedians = Object.entries(medians).filter(([k]) => !k.startsWith('reset')).map(([, v]) => v);
  const resetMedians = Object.entries(medians).filter(([k]) => k.startsWith('reset')).map(([, v]) => v);
  const spread = (l) => Math.max(...l) - Math.min(...l);
  console.log(
    `\nlargest difference of medians: sign-in failures ${spread(signInMedians).toFixed(1)} ms, ` +
      `reset requests ${spread(resetMedians).toFixed(1)} ms`,
  );
} finally {
  await stop();
}
