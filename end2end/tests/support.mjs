// Shared helpers for the MediSync end-to-end tests.
//
// Not a test file itself (the node test runner only picks up *.test.mjs here).
// Uses playwright-core with the system Chromium; never downloads a browser.
import http from 'node:http';
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
export function rawGet(url, { timeoutMs = 15_000 } = {}) {
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
        headers: { Host: u.host, Accept: 'text/html,*/*' },
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
