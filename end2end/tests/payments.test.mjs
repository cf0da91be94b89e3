// Online payments (issue 15), as the people who use them, against a local
// Stripe that speaks the Checkout Sessions API (bearer key, form-encoded,
// Idempotency-Key) and hosts its own payment page, and signs the
// checkout.session.completed event it posts to the clinic's webhook with
// Stripe-Signature (t=..., v1=HMAC-SHA256 of "t.body"). A private server points
// stripe.api_base at it. The owner connects the clinic's Stripe account; the
// front desk starts an invoice from the patient's chart and takes part in
// cash; the patient pays the rest from the portal on Stripe's page, and the
// invoice shows paid only once Stripe's signed event has arrived.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import {
  PORT,
  TEST_TIMEOUT_MS,
  ACCOUNTS,
  DEMO_PASSWORD,
  launchBrowser,
  withPage,
  open,
  signIn,
  waitForHydration,
  assertAccessible,
  freePort,
  startPrivateServer,
  screenshot,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const SK = 'sk_test_51EndToEndSecretKey0000001234';
const WHSEC = 'whsec_end_to_end_endpoint_secret';

/** Submits a plain form by its button and waits for the page it lands on. */
async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

/** A local Stripe: Checkout Sessions, the hosted page, and signed events. */
async function startFakeStripe() {
  const sessions = new Map();
  const fake = { webhook: null, events: [] };
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
        if (req.headers.authorization !== `Bearer ${SK}`) {
          return json(401, { error: { message: 'Invalid API Key provided', type: 'invalid_request_error' } });
        }
        const form = Object.fromEntries(new URLSearchParams(body));
        const id = `cs_test_${crypto.randomBytes(12).toString('hex')}`;
        const session = {
          id,
          object: 'checkout.session',
          status: 'open',
          payment_status: 'unpaid',
          payment_intent: null,
          amount_total: Number(form['line_items[0][price_data][unit_amount]']),
          currency: form['line_items[0][price_data][currency]'],
          client_reference_id: form.client_reference_id,
          success_url: form.success_url,
          name: form['line_items[0][price_data][product_data][name]'],
          url: `http://127.0.0.1:${server.address().port}/pay/${id}`,
        };
        sessions.set(id, session);
        return json(200, session);
      }
      const page = url.pathname.match(/^\/pay\/(cs_test_[0-9a-f]+)$/);
      if (page && sessions.has(page[1])) {
        const s = sessions.get(page[1]);
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end(`<!doctype html><html lang="en"><title>Stripe test checkout</title><main>
            <h1>${s.name}</h1><p data-testid="stripe-amount">${(s.amount_total / 100).toFixed(2)} ${s.currency.toUpperCase()}</p>
            <form method="post"><button type="submit">Pay</button></form></main></html>`);
        }
        // The card is charged: the session completes, the signed event goes out, the browser returns.
        s.status = 'complete';
        s.payment_status = 'paid';
        s.payment_intent = `pi_test_${crypto.randomBytes(8).toString('hex')}`;
        const event = JSON.stringify({ id: `evt_${crypto.randomBytes(8).toString('hex')}`, object: 'event', type: 'checkout.session.completed', data: { object: s } });
        const t = Math.floor(Date.now() / 1000);
        const v1 = crypto.createHmac('sha256', WHSEC).update(`${t}.${event}`).digest('hex');
        const delivered = await fetch(fake.webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` }, body: event });
        fake.events.push(delivered.status);
        res.writeHead(303, { location: s.success_url });
        return res.end();
      }
      return json(404, { error: { message: 'Unrecognized request URL', type: 'invalid_request_error' } });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.sessions = sessions;
  fake.close = () => new Promise((resolve) => server.close(resolve));
  return fake;
}

describe('online payments', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  let server;
  let stripe;
  before(async () => {
    stripe = await startFakeStripe();
    const port = await freePort(PORT + 70);
    server = await startPrivateServer(port, { MEDISYNC_STRIPE_API_BASE: stripe.url });
    stripe.webhook = `http://127.0.0.1:${server.port}/webhooks/stripe/acme`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await stripe?.close();
  });

  const acme = (p) => `http://acme.localhost:${server.port}${p}`;

  test('the patient pays the rest of an invoice on Stripe\'s page and it shows paid', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/billing?view=setup'));
      await waitForHydration(page, 'billing set-up');
      const connect = page.locator('[data-testid="payments-connect"]');
      await connect.locator('select[name="provider"]').selectOption('stripe');
      await connect.locator('input[name="secret_key"]').fill('pk_test_not_a_secret_key');
      await connect.locator('input[name="webhook_secret"]').fill(WHSEC);
      await submit(page, connect.locator('button[type="submit"]'));
      await page.getByText('expected Stripe\'s secret key').waitFor();
      await connect.locator('input[name="secret_key"]').fill(SK);
      await connect.locator('input[name="webhook_secret"]').fill(WHSEC);
      await submit(page, connect.locator('button[type="submit"]'));
      const connected = await page.locator('[data-testid="payments-connected-stripe"]').innerText();
      assert.ok(connected.includes('sk_test_…1234'), connected);
      assert.ok(connected.includes('/webhooks/stripe/acme'), connected);
      assert.ok(!(await page.content()).includes(SK), 'the key is never shown again');
      await assertAccessible(page, 'billing set-up with Stripe connected');
    });

    let invoiceUrl;
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeReceptionist.email);
      await open(page, acme('/staff/patients'));
      await waitForHydration(page, 'patients');
      await page.fill('input[name="query"]', 'ACM-0005');
      await page.click('[data-testid="patient-search"] button[type="submit"]');
      const link = page.locator('[data-testid="open-chart"]', { hasText: 'Priya Nair' });
      await link.first().waitFor();
      await Promise.all([page.waitForNavigation(), link.first().click()]);
      await waitForHydration(page, 'chart');
      await page.locator('[data-testid="chart-dues"]').waitFor();
      await submit(page, page.locator('[data-testid="chart-new-invoice"]'));
      await page.locator('[data-testid="invoice"]').waitFor();
      invoiceUrl = page.url();
      const add = page.locator('[data-testid="add-line"]');
      await add.locator('[data-testid="line-description"]').fill('Follow-up consultation');
      await add.locator('[data-testid="line-price"]').fill('85');
      await submit(page, add.locator('[data-testid="add-line-submit"]'));
      await submit(page, page.locator('[data-testid="issue-invoice"]'));
      const pay = page.locator('[data-testid="take-payment"]');
      await pay.locator('[data-testid="payment-method"]').selectOption('cash');
      await pay.locator('[data-testid="payment-amount"]').fill('25');
      await submit(page, pay.locator('[data-testid="take-payment-submit"]'));
      assert.equal(await page.locator('[data-testid="total-owed"]').innerText(), '60.00 USD');
    });

    await withPage(browser, PHONE, async (page) => {
      await signIn(page, acme('/portal/signin'), 'priya.nair@patients.example', DEMO_PASSWORD, { expect: /\/portal$/ });
      await open(page, acme('/portal/bills'));
      await waitForHydration(page, 'bills');
      const entry = page.locator('[data-testid="my-invoice"][data-owed="true"]').first();
      assert.equal(await entry.locator('[data-testid="invoice-due"]').innerText(), 'Still to pay: 60.00 USD');
      await assertAccessible(page, 'portal bills');
      await Promise.all([page.waitForURL(/\/pay\/cs_test_/), entry.locator('[data-testid="pay-stripe"]').click()]);
      assert.equal(await page.locator('[data-testid="stripe-amount"]').innerText(), '60.00 USD');
      await Promise.all([page.waitForURL(/\/portal\/bills\?checkout=/), page.getByRole('button', { name: 'Pay' }).click()]);
      assert.deepEqual(stripe.events, [200], 'the clinic acknowledged Stripe\'s signed event');
      await waitForHydration(page, 'bills after paying');
      await page.locator('[data-testid="payment-status"]', { hasText: 'your payment was received' }).waitFor();
      const receipts = await page.locator('[data-testid="my-receipts"]').innerText();
      assert.match(receipts, /60\.00 USD · Online/);
      // The patient downloads the invoice and the receipt as PDFs.
      for (const link of [page.locator('[data-testid="invoice-pdf"]').first(), page.locator('[data-testid="receipt-pdf"]').last()]) {
        const href = await link.getAttribute('href');
        const pdf = await page.evaluate(async (url) => {
          const r = await fetch(url);
          const head = new Uint8Array(await r.arrayBuffer()).slice(0, 5);
          return { status: r.status, type: r.headers.get('content-type'), head: String.fromCharCode(...head) };
        }, href);
        assert.deepEqual(pdf, { status: 200, type: 'application/pdf', head: '%PDF-' }, href);
      }
      await screenshot(page, 'portal-bills-paid-phone');
    });

    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeReceptionist.email);
      await open(page, invoiceUrl);
      await waitForHydration(page, 'invoice after the online payment');
      assert.equal(await page.locator('[data-testid="total-owed"]').innerText(), '0.00 USD');
      assert.match(await page.locator('[data-testid="payments"]').innerText(), /Online[\s\S]*60\.00 USD/);
    });
  });
});
