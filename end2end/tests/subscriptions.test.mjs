// MediSync charging the clinic (issue 15), as its owner and staff meet it,
// against a local Stripe that speaks Checkout in subscription mode, hosts its
// own page and posts the signed events (checkout.session.completed,
// invoice.paid, invoice.payment_failed) to the platform's webhook with
// Stripe-Signature. A private server points stripe.api_base at it and sets the
// platform's subscription keys. The owner subscribes yearly; a renewal fails
// (Stripe's clock says fifteen days ago, past the 14-day grace): the owner is
// warned, the front desk is told the records are read-only and a change is
// refused; the retry is paid and everything opens again. Billing reads the
// revenue report and downloads its CSV.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import {
  PORT,
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  launchBrowser,
  withPage,
  open,
  signIn,
  waitForHydration,
  assertAccessible,
  freePort,
  startPrivateServer,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const SK = 'sk_test_51PlatformEndToEnd000000000042';
const WHSEC = 'whsec_platform_end_to_end_secret';
const DAY = 24 * 3600;

/** A local Stripe Billing: subscription checkouts, the hosted page, signed events. */
async function startFakeStripe() {
  const sessions = new Map();
  // clock: seconds added to the fake's now when a checkout is paid.
  const fake = { webhook: null, delivered: [], subscription: null, clock: 0 };
  const now = () => Math.floor(Date.now() / 1000);
  fake.send = async (type, object, created) => {
    const event = JSON.stringify({ id: `evt_${crypto.randomBytes(8).toString('hex')}`, object: 'event', created, type, data: { object } });
    const t = now();
    const v1 = crypto.createHmac('sha256', WHSEC).update(`${t}.${event}`).digest('hex');
    const r = await fetch(fake.webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` }, body: event });
    fake.delivered.push(r.status);
  };
  fake.invoice = (paid, created, periodEnd) => {
    const s = fake.subscription;
    const id = `in_test_${crypto.randomBytes(6).toString('hex')}`;
    return {
      id,
      object: 'invoice',
      number: `MEDI-${fake.delivered.length + 1}`,
      customer: s.customer,
      amount_due: s.amount,
      amount_paid: paid ? s.amount : 0,
      currency: s.currency,
      attempt_count: 1,
      next_payment_attempt: paid ? null : created + 3 * DAY,
      hosted_invoice_url: `https://invoice.stripe.test/i/${id}`,
      parent: { type: 'subscription_details', subscription_details: { subscription: s.id, metadata: s.metadata } },
      lines: { data: [{ period: { start: periodEnd - 365 * DAY, end: periodEnd } }] },
    };
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', async () => {
      const json = (status, value) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const url = new URL(req.url, 'http://stripe.local');
      if (req.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
        const form = Object.fromEntries(new URLSearchParams(body));
        if (req.headers.authorization !== `Bearer ${SK}` || form.mode !== 'subscription') {
          return json(400, { error: { message: 'Invalid request', type: 'invalid_request_error' } });
        }
        const id = `cs_test_${crypto.randomBytes(12).toString('hex')}`;
        sessions.set(id, { id, form });
        return json(200, { id, object: 'checkout.session', url: `http://127.0.0.1:${server.address().port}/pay/${id}` });
      }
      const page = url.pathname.match(/^\/pay\/(cs_test_[0-9a-f]+)$/);
      if (page && sessions.has(page[1])) {
        const { form } = sessions.get(page[1]);
        const amount = Number(form['line_items[0][price_data][unit_amount]']);
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end(`<!doctype html><html lang="en"><title>Stripe test checkout</title><main>
            <h1>${form['line_items[0][price_data][product_data][name]']}</h1>
            <p data-testid="stripe-amount">${(amount / 100).toFixed(2)} ${form['line_items[0][price_data][currency]'].toUpperCase()} / ${form['line_items[0][price_data][recurring][interval]']}</p>
            <form method="post"><button type="submit">Subscribe</button></form></main></html>`);
        }
        const at = now() + fake.clock;
        const metadata = { tenant: form['subscription_data[metadata][tenant]'], plan: form['subscription_data[metadata][plan]'] };
        fake.subscription = { id: `sub_test_${crypto.randomBytes(6).toString('hex')}`, customer: `cus_test_${crypto.randomBytes(6).toString('hex')}`, amount, currency: form['line_items[0][price_data][currency]'], metadata };
        await fake.send('checkout.session.completed', { id: page[1], object: 'checkout.session', mode: 'subscription', client_reference_id: form.client_reference_id, customer: fake.subscription.customer, subscription: fake.subscription.id, metadata }, at);
        await fake.send('invoice.paid', fake.invoice(true, at, at + 365 * DAY), at + 1);
        res.writeHead(303, { location: form.success_url });
        return res.end();
      }
      return json(404, { error: { message: 'Unrecognized request URL', type: 'invalid_request_error' } });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => new Promise((resolve) => server.close(resolve));
  return fake;
}

describe('subscriptions and dunning', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  let server;
  let stripe;
  before(async () => {
    stripe = await startFakeStripe();
    const port = await freePort(PORT + 75);
    server = await startPrivateServer(port, {
      MEDISYNC_STRIPE_API_BASE: stripe.url,
      MEDISYNC_SUBSCRIPTIONS_STRIPE_SECRET_KEY: SK,
      MEDISYNC_SUBSCRIPTIONS_STRIPE_WEBHOOK_SECRET: WHSEC,
    });
    stripe.webhook = `http://127.0.0.1:${server.port}/webhooks/subscriptions/stripe`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await stripe?.close();
  });

  const acme = (p) => `http://acme.localhost:${server.port}${p}`;

  test('the owner subscribes; a failed renewal makes the records read-only until paid', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/plan'));
      await waitForHydration(page, 'plan and usage');
      await assertAccessible(page, 'plan page with subscriptions open');
      // Stripe's clock: the year was paid 380 days ago, so its renewal is due.
      stripe.clock = -380 * DAY;
      await Promise.all([page.waitForURL(/\/pay\/cs_test_/), page.locator('[data-testid="subscribe-enterprise-year"]').click()]);
      assert.equal(await page.locator('[data-testid="stripe-amount"]').innerText(), '7990.00 USD / year');
      await Promise.all([page.waitForURL(/\/staff\/plan\?subscribed=1/), page.getByRole('button', { name: 'Subscribe' }).click()]);
      assert.deepEqual(stripe.delivered, [200, 200], 'both signed events taken');
      await waitForHydration(page, 'plan after subscribing');
      const status = await page.locator('[data-testid="subscription-status"]').innerText();
      assert.match(status, /Enterprise · USD 7990\.00 \/ year · Active/);
      assert.match(await page.locator('[data-testid="current-plan"]').innerText(), /Enterprise/);
      assert.match(await page.locator('[data-testid="subscription-invoices"]').innerText(), /Paid/);
    });

    // The renewal failed fifteen days ago, when the year ended (grace is 14 days).
    const failed = Math.floor(Date.now() / 1000) - 15 * DAY;
    await stripe.send('invoice.payment_failed', stripe.invoice(false, failed, failed + 365 * DAY), failed);
    assert.equal(stripe.delivered.at(-1), 200);
    await new Promise((r) => setTimeout(r, 1200));

    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeReceptionist.email);
      await open(page, acme('/staff'));
      await waitForHydration(page, 'dashboard in arrears');
      const banner = await page.locator('[data-testid="arrears-banner"]').innerText();
      assert.match(banner, /records are read-only/);
      assert.ok(!banner.includes('Pay on Plan'), 'the front desk cannot pay');
      const refused = await page.evaluate(async () => {
        const r = await fetch('/api/register_patient', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'given_name=Read&family_name=Only&birth_date=1980-01-01&sex=female' });
        return { status: r.status, body: await r.text() };
      });
      assert.equal(refused.status, 402, refused.body);
      assert.match(refused.body, /read-only/);
      await open(page, acme('/staff/patients'));
      await waitForHydration(page, 'patients while read-only');
      await page.locator('[data-testid="patient-search"]').waitFor();
      assert.equal(await page.locator('[data-testid="arrears-banner"]').count(), 1, 'reading goes on, with the reason shown');
    });

    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/plan'));
      await waitForHydration(page, 'plan in arrears');
      assert.match(await page.locator('[data-testid="subscription-arrears"]').innerText(), /read-only/);
      await assertAccessible(page, 'plan page in arrears');
    });

    // The retry is paid: the clinic opens again at once.
    const paid = Math.floor(Date.now() / 1000);
    await stripe.send('invoice.paid', stripe.invoice(true, paid, paid + 365 * DAY), paid);
    await new Promise((r) => setTimeout(r, 1200));
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeReceptionist.email);
      await open(page, acme('/staff'));
      await waitForHydration(page, 'dashboard after paying');
      assert.equal(await page.locator('[data-testid="arrears-banner"]').count(), 0);
    });
  });

  test('billing reads revenue by practitioner and service and downloads it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeBilling.email);
      await open(page, acme('/staff/revenue?from=2020-01-01&to=2020-12-31'));
      await waitForHydration(page, 'revenue');
      await page.locator('[data-testid="revenue-total"]').waitFor();
      await assertAccessible(page, 'revenue');
      const href = await page.locator('[data-testid="revenue-csv"]').getAttribute('href');
      const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
      assert.ok(csv.startsWith('breakdown,label,invoices,net,tax,total,currency,from,to\r\n'), csv);
      assert.match(csv, /total,"All",\d+,/);
    });
  });
});
