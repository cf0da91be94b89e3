// Shared helpers for the MediSync end-to-end tests.
//
// Not a test file itself (the node test runner only picks up *.test.mjs here).
// Uses playwright-core with the system Chromium; never downloads a browser.
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Port of the server under test (scripts/test.sh starts it). */
export const PORT = Number.parseInt(process.env.E2E_BASE_PORT ?? '3107', 10);
/** Base domain the server was started with (MEDISYNC_SERVER_BASE_DOMAIN). */
export const BASE_DOMAIN = process.env.E2E_BASE_DOMAIN ?? 'localhost';
/** Where screenshots and other artifacts go (git-ignored). */
export const ARTIFACTS_DIR = path.resolve(here, '..', 'artifacts');
/** Browser binary: Debian's chromium unless overridden. */
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

/** How long to wait for the wasm bundle to hydrate a page. */
export const HYDRATION_TIMEOUT_MS = 20_000;
/** Per-test timeout for node:test. */
export const TEST_TIMEOUT_MS = 90_000;

/** Demo tenants that `medisync seed-demo` creates. */
export const TENANTS = Object.freeze({
  acme: Object.freeze({
    slug: 'acme',
    name: 'Acme Family Clinic',
    kind: 'clinic',
    color: '#0f766e',
    rgb: 'rgb(15, 118, 110)',
  }),
  northwind: Object.freeze({
    slug: 'northwind',
    name: 'Northwind General Hospital',
    kind: 'hospital',
    color: '#1e3a8a',
    rgb: 'rgb(30, 58, 138)',
  }),
  harbor: Object.freeze({
    slug: 'harbor',
    name: 'Harbor Street Practice',
    suspended: true,
  }),
});

/** Platform (non-tenant) URL, e.g. platformUrl('/admin'). */
export function platformUrl(p = '/') {
  return `http://${BASE_DOMAIN}:${PORT}${p}`;
}

/** Tenant URL on its own subdomain, e.g. http://acme.localhost:3107/signin */
export function subdomainUrl(slug, p = '/') {
  return `http://${slug}.${BASE_DOMAIN}:${PORT}${p}`;
}

/** Tenant URL under the path prefix, e.g. http://localhost:3107/t/acme/signin */
export function pathUrl(slug, p = '/') {
  return `http://${BASE_DOMAIN}:${PORT}/t/${slug}${p === '/' ? '' : p}`;
}

/** Both addressing styles for a tenant page, labelled for test names. */
export function tenantUrls(slug, p = '/signin') {
  return [
    { via: 'subdomain', url: subdomainUrl(slug, p) },
    { via: 'path', url: pathUrl(slug, p) },
  ];
}

export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** Launch the system Chromium (headless). */
export async function launchBrowser() {
  assert.ok(
    fs.existsSync(CHROMIUM_PATH),
    `Chromium not found at ${CHROMIUM_PATH} (run scripts/setup.sh or set E2E_CHROMIUM)`,
  );
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}

/**
 * Open a fresh context + page, run `fn`, always close the context.
 * Collects uncaught page errors and failed /pkg/ (js/wasm/css) loads so
 * tests can assert the client bundle is healthy.
 *
 * options: { width, height, javaScriptEnabled }
 */
export async function withPage(browser, options, fn) {
  const { width = 1280, height = 800, javaScriptEnabled = true } = options ?? {};
  const context = await browser.newContext({
    viewport: { width, height },
    javaScriptEnabled,
    // Some server responses are error pages on purpose (404/403).
    ignoreHTTPSErrors: true,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  const pageErrors = [];
  const badAssets = [];
  const consoleErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err?.stack ?? err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('requestfailed', (req) => {
    // A load the page itself abandoned by navigating away (e.g. right after
    // signing in) is not a broken asset.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (new URL(req.url()).pathname.startsWith('/pkg/')) {
      badAssets.push(`${req.url()} failed: ${req.failure()?.errorText}`);
    }
  });
  page.on('response', (res) => {
    if (new URL(res.url()).pathname.startsWith('/pkg/') && res.status() >= 400) {
      badAssets.push(`${res.url()} -> HTTP ${res.status()}`);
    }
  });
  try {
    return await fn(page, { context, pageErrors, badAssets, consoleErrors });
  } finally {
    await context.close();
  }
}

/**
 * Navigate and return the main document response (never null for http URLs).
 * `waitUntil: 'load'` so that stylesheets are applied before we measure.
 */
export async function open(page, url) {
  const response = await page.goto(url, { waitUntil: 'load' });
  assert.ok(response, `no response for ${url}`);
  return response;
}

/** Wait until the app signals it has hydrated ([data-testid=hydrated]). */
export async function waitForHydration(page, context = '') {
  try {
    await page.waitForSelector('[data-testid=hydrated]', {
      state: 'attached',
      timeout: HYDRATION_TIMEOUT_MS,
    });
  } catch (err) {
    throw new Error(
      `page did not hydrate within ${HYDRATION_TIMEOUT_MS} ms ` +
        `([data-testid=hydrated] never appeared) ${context} at ${page.url()}: ${err.message}`,
    );
  }
}

/**
 * Plain HTTP GET from node, bypassing the browser (no scripts run).
 * *.localhost does not resolve through glibc here, so we always connect to
 * 127.0.0.1 and send the original Host header — exactly what a browser sends.
 * Resolves { status, headers, body }.
 */
export function rawGet(url, { timeoutMs = 15_000, headers = {} } = {}) {
  const u = new URL(url);
  const connectHost =
    u.hostname === 'localhost' || u.hostname.endsWith('.localhost') ? '127.0.0.1' : u.hostname;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: connectHost,
        port: u.port || 80,
        path: `${u.pathname}${u.search}`,
        method: 'GET',
        headers: { Host: u.host, Accept: 'text/html,*/*', ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The <head>…</head> part of an HTML document (asserts it exists). */
export function headOf(html) {
  const m = /<head\b[^>]*>([\s\S]*?)<\/head>/i.exec(html);
  assert.ok(m, 'response HTML has no <head>…</head>');
  return m[1];
}

/** Contents of the <style id="tenant-branding"> element inside <head>, or null. */
export function brandingStyleIn(html) {
  const m = /<style\b[^>]*\bid\s*=\s*["']?tenant-branding["']?[^>]*>([\s\S]*?)<\/style>/i.exec(
    headOf(html),
  );
  return m ? m[1] : null;
}

/** Value of --brand-primary declared inside a :root rule of some CSS text, or null. */
export function brandPrimaryIn(css) {
  const rule = /:root\s*\{([^}]*)\}/i.exec(css);
  if (!rule) return null;
  const decl = /--brand-primary\s*:\s*([^;]+?)\s*(?:!important\s*)?(?:;|$)/i.exec(rule[1]);
  return decl ? decl[1].trim() : null;
}

/** Scroll width of the document (for horizontal-overflow checks). */
export function documentScrollWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

/** Save a full-page screenshot into end2end/artifacts/<name>.png and return its path. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---------------------------------------------------------------- identity ----

/** Password of every demo account (`medisync seed-demo`). */
export const DEMO_PASSWORD = 'correct horse clinic demo';

/** Demo accounts, by what tests use them for. */
export const ACCOUNTS = Object.freeze({
  acmeOwner: Object.freeze({ email: 'olivia.owner@acme.example', name: 'Olivia Owens', role: 'Owner' }),
  amara: Object.freeze({ email: 'amara.okafor@medisync.example', name: 'Dr. Amara Okafor', role: 'Doctor' }),
  sam: Object.freeze({ email: 'sam.sato@acme.example', name: 'Dr. Sam Sato', role: 'Doctor' }),
  acmeNurse: Object.freeze({ email: 'nate.ng@acme.example', name: 'Nate Ng', role: 'Nurse' }),
  acmeReceptionist: Object.freeze({ email: 'rita.reyes@acme.example', name: 'Rita Reyes' }),
  acmeBilling: Object.freeze({ email: 'ben.baker@acme.example', name: 'Ben Baker' }),
  northwindOwner: Object.freeze({ email: 'hannah.hughes@northwind.example', name: 'Hannah Hughes' }),
  operator: Object.freeze({ email: 'operator@medisync.example' }),
});

/** Pages anyone can open (the platform's, acme's by path, a suspended clinic's). */
export function publicPages() {
  return [
    platformUrl('/'),
    platformUrl('/signup'),
    platformUrl('/signup/sent'),
    platformUrl('/signin'),
    platformUrl('/find-clinic'),
    platformUrl('/legal/terms'),
    platformUrl('/legal/dpa'),
    pathUrl('acme', '/'),
    pathUrl('acme', '/signin'),
    pathUrl('acme', '/portal/signin'),
    pathUrl('acme', '/book'),
    pathUrl('acme', '/forgot-password'),
    pathUrl('acme', '/reset-password?token=nothing'),
    pathUrl('acme', '/invite?token=nothing'),
    pathUrl('acme', '/verify-email?token=nothing'),
    pathUrl('acme', '/no-such-page'),
    subdomainUrl('harbor', '/signin'),
  ];
}

/** Every page of a clinic that its owner can open (paths on the clinic's site). */
export const STAFF_PAGES = Object.freeze([
  '/staff',
  '/staff/patients',
  '/staff/users',
  '/staff/audit',
  '/staff/security',
  '/staff/branding',
  '/staff/settings',
  '/staff/patient-fields',
  '/staff/domain',
  '/staff/plan',
  '/staff/reports',
  '/account/security',
]);

/** The generic sign-in refusal (no hint whether the email exists or is locked). */
export const GENERIC_SIGN_IN_ERROR =
  /We could not sign you in with that email and password\. After 5 failed attempts an account is locked for 15 minutes\./;

/** Name of the session cookie on plain http. */
export const SESSION_COOKIE = 'medisync_session';

/** A unique e-mail address for data a test creates (tests share one database). */
export function uniqueEmail(prefix) {
  const salt = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return `${prefix}-${salt}@example.com`;
}

/** Path part (with query) of the page's current URL. */
export function currentPath(page) {
  const u = new URL(page.url());
  return `${u.pathname}${u.search}`;
}

/**
 * Fill and submit the sign-in form already open on `page` (waits for hydration
 * first: a click before hydration would post the form natively).
 */
export async function submitSignIn(page, email, password) {
  await waitForHydration(page, '(sign-in form)');
  const form = page.locator('[data-testid=sign-in-form]');
  await form.locator('#email').fill(email);
  await form.locator('#password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Open the sign-in page at `url`, sign in, and wait for the full page load of
 * the landing page whose path matches `expect` (default: a /staff page).
 * Returns the landing page's main response.
 */
export async function signIn(page, url, email, password = DEMO_PASSWORD, { expect = /\/staff(?:[/?]|$)/ } = {}) {
  const res = await open(page, url);
  assert.equal(res.status(), 200, `${url} -> ${res.status()}`);
  return signInHere(page, email, password, { expect });
}

/**
 * Sign in through the form on the current page; see signIn. Fails fast with the
 * form's error message when the server refuses.
 */
export async function signInHere(page, email, password = DEMO_PASSWORD, { expect = /\/staff(?:[/?]|$)/ } = {}) {
  const landed = page.waitForResponse(
    (r) => r.request().isNavigationRequest() && r.request().method() === 'GET' && expect.test(new URL(r.url()).pathname),
    { timeout: 30_000 },
  );
  landed.catch(() => {});
  const answered = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/api/sign_in'),
    { timeout: 30_000 },
  );
  await submitSignIn(page, email, password);
  const answer = await answered;
  if (!answer.ok()) {
    const body = await answer.text().catch(() => '');
    await page.waitForFunction(() => document.querySelector('#password')?.value === '', null, { timeout: 5_000 }).catch(() => {});
    const shown = await page.locator('[data-testid=form-error]').allInnerTexts().catch(() => []);
    throw new Error(
      `signing in as ${email} at ${page.url()} was refused: HTTP ${answer.status()} ${body.slice(0, 300)}; ` +
        `the page shows: ${shown.join(' | ') || '(no form error)'}`,
    );
  }
  let response;
  try {
    response = await landed;
    await page.waitForURL((u) => expect.test(u.pathname), { waitUntil: 'load', timeout: 30_000 });
  } catch (err) {
    throw new Error(
      `signing in as ${email} was accepted (${await answer.text().catch(() => '?')}) but no page matching ` +
        `${expect} loaded (now at ${page.url()}): ${err.message}`,
    );
  }
  return response;
}

/**
 * Sign out through the header's "Sign out" button. Goes to the viewer's
 * security page first, which signals hydration (the button only works once
 * hydrated). `base` is a function p => url for the tenant/platform site.
 */
export async function signOut(page, base, { expect = /\/(?:portal\/)?signin$/ } = {}) {
  await open(page, base('/account/security'));
  await waitForHydration(page, '(security page, before signing out)');
  const landed = page.waitForURL((u) => expect.test(u.pathname), { timeout: 30_000 });
  await page.locator('[data-testid=sign-out]').click();
  await landed;
  await page.waitForLoadState('load');
}

/** The session cookie of a browser context for `url`, or undefined. */
export async function sessionCookieFor(context, url) {
  const cookies = await context.cookies(url);
  return cookies.find((c) => c.name === SESSION_COOKIE);
}

/**
 * The newest link in the dev mailbox (/dev/mailbox) sent to `to`, as an absolute
 * URL. Polls a little: the message is stored in the same transaction as the
 * action, but the page that showed success may have raced us.
 */
export async function mailLinkFor(to, { timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await rawGet(platformUrl('/dev/mailbox'));
    assert.equal(res.status, 200, `/dev/mailbox -> ${res.status}`);
    last = res.body;
    const articles = res.body.split(/<article\b/).slice(1);
    for (const a of articles) {
      const toAttr = /data-to="([^"]*)"/.exec(a);
      if (toAttr && decodeHtml(toAttr[1]).toLowerCase() === to.toLowerCase()) {
        const link = /<a data-testid="mail-link" href="([^"]+)"/.exec(a);
        assert.ok(link, `mail to ${to} has no [data-testid=mail-link]: ${a.slice(0, 800)}`);
        return decodeHtml(link[1]);
      }
    }
    if (Date.now() > deadline) {
      assert.fail(`no mail to ${to} in /dev/mailbox within ${timeoutMs} ms (${articles.length} messages)`);
    }
    await sleep(250);
  }
}

function decodeHtml(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A weekday (Monday to Friday) `ahead` days or more from today, as YYYY-MM-DD. */
export function weekdayAhead(ahead) {
  const d = new Date(Date.now() + ahead * 86_400_000);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// -------------------------------------------------------------------- TOTP ----

/** RFC 4648 base32 (no padding needed, case-insensitive, spaces ignored). */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(text)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP: SHA-1, 6 digits, 30 s step, for unix time `atMs`. */
export function totp(secret, atMs = Date.now()) {
  const key = base32Decode(secret);
  const counter = Math.floor(atMs / 1000 / 30);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, '0');
}

/** The last time step used per secret: the server accepts each code once. */
const usedSteps = new Map();

/**
 * A TOTP code the server will take now: valid for at least `marginMs` more (waits
 * for the next 30 s step when too close to a boundary), and never a step already
 * used with this secret (the server refuses a replayed code). Within one step a
 * second call takes the next step's code, which the server's ±1 step window
 * accepts.
 */
export async function freshTotp(secret, marginMs = 5_000) {
  for (;;) {
    const intoStep = Date.now() % 30_000;
    if (30_000 - intoStep < marginMs) await sleep(30_000 - intoStep + 200);
    const now = Math.floor(Date.now() / 30_000);
    const used = usedSteps.get(secret);
    const step = used === undefined || used < now ? now : used + 1;
    if (step > now + 1) {
      await sleep(30_000 - (Date.now() % 30_000) + 200);
      continue;
    }
    usedSteps.set(secret, step);
    return totp(secret, step * 30_000);
  }
}

// ------------------------------------------------------- private servers ----

/** Repository root (the server finds Leptos.toml and target/site from there). */
export const REPO_ROOT = path.resolve(here, '..', '..');

/**
 * Start a throw-away `medisync` server (E2E_BIN) on `port` with its own
 * demo-seeded SQLite database and extra environment `env`. Returns
 * { port, url(p), stop() }; stop() kills it and removes the database.
 */
export async function startPrivateServer(port, env = {}) {
  const bin = process.env.E2E_BIN;
  assert.ok(bin, 'E2E_BIN is not set (scripts/test.sh sets it to the release medisync binary)');
  assert.ok(fs.existsSync(bin), `E2E_BIN=${bin} does not exist`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medisync-e2e-private-'));
  const addr = `127.0.0.1:${port}`;
  const fullEnv = {
    ...process.env,
    NO_COLOR: '1',
    MEDISYNC_SERVER_SITE_ADDR: addr,
    LEPTOS_SITE_ADDR: addr,
    DATABASE_URL: `sqlite://${dir}/private.db`,
    MEDISYNC_SERVER_BASE_DOMAIN: BASE_DOMAIN,
    MEDISYNC_SESSION_RATE_LIMIT_PER_MINUTE: '100000',
    ...env,
  };
  const seed = spawnSync(bin, ['seed-demo', '--if-empty'], { cwd: REPO_ROOT, env: fullEnv, encoding: 'utf8' });
  assert.equal(seed.status, 0, `seed-demo failed: ${seed.stderr}${seed.stdout}`);
  const logPath = path.join(ARTIFACTS_DIR, `server-${port}.log`);
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const log = fs.openSync(logPath, 'w');
  const child = spawn(bin, ['serve'], { cwd: REPO_ROOT, env: fullEnv, stdio: ['ignore', log, log] });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = (p = '/') => `http://${BASE_DOMAIN}:${port}${p}`;
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const deadline = Date.now() + 5_000;
      while (exited === null && Date.now() < deadline) await sleep(100);
      if (exited === null) child.kill('SIGKILL');
    }
    fs.closeSync(log);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) {
      await stop();
      assert.fail(`private server exited early (${JSON.stringify(exited)}); log: ${fs.readFileSync(logPath, 'utf8').slice(-2000)}`);
    }
    const ok = await rawGet(url('/healthz'), { timeoutMs: 2_000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      assert.fail(`private server on ${addr} did not answer /healthz within 30 s; log: ${logPath}`);
    }
    await sleep(250);
  }
  return { port, url, stop, logPath };
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (preferring `preferred`). */
export async function freePort(preferred) {
  const tryListen = (port) =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, '127.0.0.1', () => {
        const { port: got } = srv.address();
        srv.close(() => resolve(got));
      });
    });
  if (preferred) {
    const got = await tryListen(preferred);
    if (got) return got;
  }
  const got = await tryListen(0);
  assert.ok(got, 'could not find a free port');
  return got;
}

// ------------------------------------------------------------ invitations ----

/**
 * Accept an invitation for a new account on `page` (name + password); waits for
 * the landing page whose path matches `expect` (/staff for staff, /portal for
 * patients).
 */
export async function acceptAsNewAccount(page, link, name, password, expect) {
  const res = await open(page, link);
  assert.equal(res.status(), 200, `${link} -> ${res.status()}`);
  await waitForHydration(page, '(accept invitation)');
  const form = page.locator('[data-testid=accept-form]');
  await form.waitFor({ state: 'visible' });
  await form.locator('#display_name').fill(name);
  await form.locator('#password').fill(password);
  const landed = page.waitForURL((u) => expect.test(u.pathname), { timeout: 30_000 });
  await form.getByRole('button', { name: 'Accept and sign in' }).click();
  try {
    await landed;
  } catch (err) {
    const shown = await page.locator('[data-testid=form-error], [data-testid^=error-]').allInnerTexts().catch(() => []);
    throw new Error(`accepting ${link} did not reach ${expect} (at ${page.url()}; errors: ${shown.join(' | ') || 'none'}): ${err.message}`);
  }
  await page.waitForLoadState('load');
}

/**
 * As a signed-in staff member on `page` (with patients.update), invite the
 * patient `mrn` to the portal at `email` from `base('/staff/patients')`.
 * Returns the invitation link from the dev mailbox.
 */
export async function invitePatientToPortal(page, base, mrn, email) {
  await open(page, base('/staff/patients'));
  await waitForHydration(page, '(patients page)');
  const row = page.locator(`[data-testid=patient-list] li[data-mrn="${mrn}"]`);
  await row.waitFor({ state: 'visible' });
  await row.getByLabel('Portal email').fill(email);
  await row.getByRole('button', { name: 'Invite to portal' }).click();
  await page.locator('[data-testid=invite-sent]').waitFor({ state: 'visible' });
  return mailLinkFor(email);
}

// ------------------------------------------------------------------ layout ----

/** Assert the document is no wider than `width` (names the widest offenders). */
export async function assertNoHorizontalOverflow(page, where, width = 360) {
  const scrollWidth = await documentScrollWidth(page);
  if (scrollWidth > width) {
    const offenders = await page.evaluate((limit) => {
      const out = [];
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > limit + 0.5 && r.width > 0) {
          const id = el.getAttribute('data-testid');
          out.push(`${el.tagName.toLowerCase()}${id ? `[data-testid=${id}]` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).slice(0, 4).join('.')}` : ''} right=${Math.round(r.right)}`);
        }
        if (out.length >= 8) break;
      }
      return out;
    }, width);
    assert.fail(
      `${where}: horizontal overflow at ${width}px — document.documentElement.scrollWidth=${scrollWidth}; ` +
        `elements past the right edge: ${offenders.join(', ') || '(none found)'}`,
    );
  }
}

/**
 * Click the toggle until the nav shows. A click before the wasm bundle has
 * hydrated the page does nothing, so retry (each click is followed by a wait
 * long enough for a reactive update) until HYDRATION_TIMEOUT_MS has passed.
 */
export async function openCollapsedNav(page, toggle, nav, url) {
  const deadline = Date.now() + HYDRATION_TIMEOUT_MS;
  let clicks = 0;
  while (Date.now() < deadline) {
    await toggle.click();
    clicks += 1;
    try {
      await nav.waitFor({ state: 'visible', timeout: 1_000 });
      return;
    } catch {
      // not hydrated yet (or the toggle is broken): try again
    }
  }
  assert.fail(
    `${url}: [data-testid=app-nav] did not become visible after ${clicks} clicks on ` +
      `[data-testid=nav-toggle] within ${HYDRATION_TIMEOUT_MS} ms (did the page hydrate?)`,
  );
}

// ----------------------------------------------------------- accessibility ----

/**
 * Assert axe-core finds no violation on the page as it is now (every rule axe
 * runs by default, WCAG 2.x A and AA included). Names each rule and an example.
 */
export async function assertAccessible(page, where) {
  const { AxeBuilder } = await import('@axe-core/playwright');
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map(
    (v) => `${v.id} (${v.impact}, ${v.nodes.length}×: ${v.nodes[0]?.target?.join(' ')} — ${v.help})`,
  );
  assert.deepEqual(found, [], `${where}: axe found ${found.length} violation(s): ${found.join('; ')}`);
}

/** Finds a patient from the patients page's search box and opens their chart. */
export async function openChartOf(page, query, name) {
  await open(page, pathUrl('acme', '/staff/patients'));
  await waitForHydration(page, 'patients');
  await page.fill('input[name="query"]', query);
  await page.click('[data-testid="patient-search"] button[type="submit"]');
  const link = page.locator('[data-testid="open-chart"]', { hasText: name });
  await link.first().waitFor();
  await Promise.all([page.waitForNavigation(), link.first().click()]);
  await page.locator('[data-testid="chart-header"]').waitFor();
}
