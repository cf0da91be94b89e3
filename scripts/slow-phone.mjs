#!/usr/bin/env node
// The clinic sign-in page on a simulated slow phone: 4x CPU slowdown, 1.6 Mbps
// down / 750 kbps up, 150 ms round-trip latency, empty cache (Lighthouse's "slow
// 4G" mobile profile).
//
//   bash scripts/build.sh
//   node scripts/slow-phone.mjs --port 3107 [--runs 3]
//
// Reports, from the start of navigation, when the sign-in form is painted (first
// contentful paint) and when the app handles a tap on "Sign in" (the page has
// hydrated: its event handlers are attached). The median of --runs runs.
import process from 'node:process';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
if (option('--port')) process.env.E2E_BASE_PORT = option('--port');
const runs = Number.parseInt(option('--runs', '3'), 10);
const path = option('--path', '/signin');

const { launchBrowser, subdomainUrl } = await import('../end2end/tests/support.mjs');

async function once(browser, url) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  // The moment the app marks the page hydrated, in the page's own clock.
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('[data-testid=hydrated]')) {
        performance.mark('medisync-hydrated');
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true, attributes: true });
  });
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector('[data-testid=hydrated]', { state: 'attached', timeout: 120_000 });
  const times = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const marker = performance.getEntriesByName('medisync-hydrated')[0];
    return {
      fcp: fcp ? fcp.startTime : NaN,
      interactive: marker ? marker.startTime : performance.now(),
      navStart: nav ? nav.startTime : 0,
    };
  });
  await context.close();
  return times;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await launchBrowser();
const results = [];
try {
  for (let i = 0; i < runs; i += 1) results.push(await once(browser, subdomainUrl('acme', path)));
} finally {
  await browser.close();
}
const fcp = median(results.map((r) => r.fcp));
const interactive = median(results.map((r) => r.interactive));
console.log(`slow phone (4x CPU, 1.6 Mbps, 150 ms), ${path}, median of ${runs}:`);
console.log(`  sign-in form painted (FCP):      ${(fcp / 1000).toFixed(2)} s`);
console.log(`  "Sign in" handled by the app:    ${(interactive / 1000).toFixed(2)} s`);
for (const [i, r] of results.entries()) {
  console.log(`  run ${i + 1}: FCP ${(r.fcp / 1000).toFixed(2)} s, interactive ${(r.interactive / 1000).toFixed(2)} s`);
}
