// The load runner of scripts/bench-load (start that script, not this one).
// autocannon against a running `medisync serve` and the bare reference handler,
// one target after the other; prints a Markdown table.
import fs from 'node:fs';
import process from 'node:process';
import autocannon from 'autocannon';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const backend = opt('backend');
const port = Number(opt('port'));
const barePort = Number(opt('bare-port'));
const serverPid = opt('server-pid');
const barePid = opt('bare-pid');
const duration = Number(opt('duration', '10'));
const connections = Number(opt('connections', '32'));
const query = opt('query', 'smi');
const small = opt('small', 'load-00001');
const largest = 'load-00000';
const password = 'correct horse clinic demo';

// Clinics addressed by path (`/t/{slug}`): Node's fetch does not let a Host
// header through, and the server resolves both ways alike.
const base = `http://127.0.0.1:${port}`;
const at = (slug, path) => `${base}/t/${slug}${path}`;

/** Signs in as the seeded staff member of `slug`; returns the session cookie. */
async function signIn(slug) {
  const res = await fetch(at(slug, '/api/sign_in'), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: `owner@${slug}.example`, password, audience: 'staff', next: '' }),
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  if (!res.ok || !cookie) throw new Error(`sign-in at ${slug} failed: ${res.status} ${await res.text()}`);
  return cookie;
}

/** Peak resident memory of a process so far (VmHWM), in MB. */
function peakRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function load(title, request) {
  // Warm up (and check the answer) before measuring.
  const probe = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  if (!probe.ok) throw new Error(`${title}: ${probe.status} ${(await probe.text()).slice(0, 200)}`);
  const result = await autocannon({
    url: request.url,
    method: request.method,
    headers: request.headers,
    body: request.body,
    connections,
    duration,
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    title,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors,
  };
}

const cookies = { [largest]: await signIn(largest), [small]: await signIn(small) };
const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** One request at a time, `n` times: p50/p95/max in ms (issue 12's targets). */
async function latency(title, request, n = 200) {
  const times = [];
  for (let i = 0; i < n + 10; i++) {
    const started = performance.now();
    const res = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    const text = await res.text();
    if (!res.ok) throw new Error(`${title}: ${res.status} ${text.slice(0, 200)}`);
    if (i >= 10) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { title, p50: at(0.5), p95: at(0.95), max: times[times.length - 1] };
}

// Search and list latency in the largest clinic, one request at a time.
const largeHeaders = { cookie: cookies[largest] };
const searchOf = (q) => ({
  url: at(largest, '/api/list_patients'),
  method: 'POST',
  headers: { ...largeHeaders, ...form },
  body: new URLSearchParams({ query: q }).toString(),
});
const lat = [];
for (const q of ['smith', 'smi', 'amara smith', 'Smith Amara', 'garc', 'l0123456', '1950-03-04', 'zzzz']) {
  lat.push(await latency(`search "${q}"`, searchOf(q)));
}
lat.push(await latency('list, page 1 (server fn)', { ...searchOf(''), body: 'page=1' }));
lat.push(await latency('list, page 2000 (server fn)', { ...searchOf(''), body: 'page=2000' }));
lat.push(await latency('patient list page (SSR HTML)', { url: at(largest, '/staff/patients'), method: 'GET', headers: largeHeaders }));
console.log(`\n### ${backend} — latency in ${largest}, one request at a time (200 each)\n`);
console.log('| request | p50 ms | p95 ms | max ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of lat) console.log(`| ${r.title} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} |`);

// A patient of the largest clinic, for audited chart reads under load.
const firstPage = await fetch(searchOf('smith').url, searchOf('smith'));
const chartPatient = (await firstPage.json()).items[0].id;

const rows = [];
// Every chart read writes an audit event into the clinic's hash chain: audit
// writes per second under 32 connections, all in one clinic.
rows.push(
  await load(`audited chart read (largest clinic)`, {
    url: at(largest, '/api/chart'),
    method: 'POST',
    headers: { ...largeHeaders, ...form },
    body: `patient_id=${chartPatient}`,
  }),
);
for (const [slug, label] of [
  [largest, 'largest clinic'],
  [small, 'small clinic'],
]) {
  const headers = { cookie: cookies[slug] };
  rows.push(
    await load(`search server fn (${label})`, {
      url: at(slug, '/api/list_patients'),
      method: 'POST',
      headers: { ...headers, ...form },
      body: `query=${encodeURIComponent(query)}`,
    }),
  );
  rows.push(
    await load(`SSR patient list (${label})`, {
      url: at(slug, '/staff/patients'),
      method: 'GET',
      headers,
    }),
  );
  rows.push(
    await load(`bare handler search (${label})`, {
      url: `http://127.0.0.1:${barePort}/patients/${slug}?q=${encodeURIComponent(query)}`,
      method: 'GET',
      headers: {},
    }),
  );
  // The patient list page shows the first patients by name (no search text).
  rows.push(
    await load(`bare handler list (${label})`, {
      url: `http://127.0.0.1:${barePort}/patients/${slug}`,
      method: 'GET',
      headers: {},
    }),
  );
}
rows.push(await load('sign-in page', { url: at(small, '/signin'), method: 'GET', headers: {} }));

// Each app target against the bare handler doing its SQL: the search server
// function against the bare search, the patient list page against the bare list.
const rps = Object.fromEntries(rows.map((r) => [r.title, r.rps]));
const referenceOf = (title) => {
  const clinic = /\((.*)\)/.exec(title)?.[1];
  if (title.startsWith('search server fn')) return rps[`bare handler search (${clinic})`];
  if (title.startsWith('SSR patient list')) return rps[`bare handler list (${clinic})`];
  return undefined;
};
console.log(`\n### ${backend} — ${opt('seeded')}; ${connections} connections, ${duration} s each\n`);
console.log('| target | req/s | p50 ms | p99 ms | errors | vs bare |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const ref = referenceOf(r.title);
  const ratio = ref ? `${Math.round((100 * r.rps) / ref)} %` : '';
  console.log(`| ${r.title} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${ratio} |`);
}
console.log(`\npeak RSS: server ${peakRss(serverPid).toFixed(0)} MB, bare handler ${peakRss(barePid).toFixed(0)} MB`);
