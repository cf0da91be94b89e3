// Texts to patients by SMS and WhatsApp (issue 16), against a local Twilio that
// speaks the Messages API (HTTP Basic, form-encoded, JSON answers) and signs its
// delivery reports with X-Twilio-Signature, and a local WhatsApp Cloud API
// (bearer token, JSON) whose events are signed with X-Hub-Signature-256. A
// private server points twilio.api_base and whatsapp.api_base at them. The
// owner connects the clinic's accounts on the scheduling set-up page, sends
// test texts, and sees them delivered.
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
  sleep,
  waitForHydration,
  assertAccessible,
  freePort,
  startPrivateServer,
} from './support.mjs';

const DESKTOP = { width: 1280, height: 900 };
const NUMBER_ID = '106540352242922';
const WA_TOKEN = 'EAAGm0PX4ZCpsBAEndToEndToken0123456789';
const APP_SECRET = 'e2e-platform-app-secret';
const VERIFY_TOKEN = 'e2e-verify-token';

/** A local WhatsApp Cloud API holding one number. */
async function startFakeWhatsapp() {
  const taken = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const json = (status, value) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const m = req.url.match(/^\/v21\.0\/(\d+)\/messages$/);
      if (req.method !== 'POST' || !m) return json(404, { error: { message: 'Unknown path', code: 100 } });
      if (m[1] !== NUMBER_ID || req.headers.authorization !== `Bearer ${WA_TOKEN}`) {
        return json(401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      }
      let message;
      try {
        message = JSON.parse(body);
      } catch {
        return json(400, { error: { message: 'Invalid parameter', code: 100 } });
      }
      const id = `wamid.${crypto.randomBytes(16).toString('hex')}`;
      taken.push({ id, message });
      return json(200, { messaging_product: 'whatsapp', contacts: [{ input: message.to, wa_id: message.to }], messages: [{ id }] });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v21.0`,
    taken,
    close: () => new Promise((resolve) => server.close(resolve)),
    /** Posts a signed status event for `id` to the app's webhook, as Meta does. */
    async report(webhook, id, status) {
      const event = {
        object: 'whatsapp_business_account',
        entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: '15550001111', phone_number_id: NUMBER_ID },
          statuses: [{ id, status, timestamp: '1733000100', recipient_id: '14155550123' }],
        } }] }],
      };
      const raw = JSON.stringify(event);
      const signature = `sha256=${crypto.createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
      const res = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body: raw });
      return res.status;
    },
  };
}
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';

/** Twilio's signature: base64(HMAC-SHA1(token, url + sorted name/value pairs)). */
function twilioSignature(token, url, params) {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return crypto.createHmac('sha1', token).update(Buffer.from(data, 'utf-8')).digest('base64');
}

/** A local Twilio Messages API holding one account. */
async function startFakeTwilio() {
  const taken = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const m = req.url.match(/^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\.json$/);
      const json = (status, value) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.method !== 'POST' || !m) return json(404, { code: 20404, message: 'Not found', status: 404 });
      const expected = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
      if (m[1] !== SID || req.headers.authorization !== expected) {
        return json(401, { code: 20003, message: 'Authenticate', status: 401 });
      }
      const form = Object.fromEntries(new URLSearchParams(body));
      if (!form.To || !form.Body || !(form.From || form.MessagingServiceSid)) {
        return json(400, { code: 21604, message: "A 'To' phone number is required.", status: 400 });
      }
      const sid = `SM${crypto.randomBytes(16).toString('hex')}`;
      taken.push({ sid, form });
      return json(201, { sid, status: 'queued', account_sid: SID, to: form.To, body: form.Body });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    taken,
    close: () => new Promise((resolve) => server.close(resolve)),
    /** Posts a signed delivery report to the message's StatusCallback, as Twilio does. */
    async report(message, status) {
      const params = { AccountSid: SID, MessageSid: message.sid, MessageStatus: status, To: message.form.To, From: message.form.From ?? '' };
      const url = message.form.StatusCallback;
      const res = await fetch(url.replace('//localhost:', '//127.0.0.1:'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(TOKEN, url, params) },
        body: new URLSearchParams(params).toString(),
      });
      return res.status;
    },
  };
}

describe('texts by SMS', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let browser;
  let server;
  let twilio;
  let whatsapp;
  before(async () => {
    twilio = await startFakeTwilio();
    whatsapp = await startFakeWhatsapp();
    const port = await freePort(PORT + 60);
    server = await startPrivateServer(port, {
      MEDISYNC_TWILIO_API_BASE: twilio.url,
      MEDISYNC_WHATSAPP_API_BASE: whatsapp.url,
      MEDISYNC_WHATSAPP_APP_SECRET: APP_SECRET,
      MEDISYNC_WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await twilio?.close();
    await whatsapp?.close();
  });

  const acme = (p) => `http://acme.localhost:${server.port}${p}`;

  test('the owner connects Twilio, a test text arrives, and its delivery shows', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/scheduling'));
      await waitForHydration(page, 'scheduling set-up');
      const section = page.locator('[data-testid="setup-sms"]');
      const connect = section.locator('[data-testid="sms-connect"]');

      // A mistake is named where it was made.
      await connect.locator('input[name="account_sid"]').fill('AC123');
      await connect.locator('input[name="auth_token"]').fill(TOKEN);
      await connect.locator('input[name="sender"]').fill('+1 415 555 0100');
      await Promise.all([page.waitForNavigation(), connect.locator('button[type="submit"]').click()]);
      await section.getByText('the account SID is AC followed by 32 letters and digits').waitFor();

      await connect.locator('input[name="account_sid"]').fill(SID);
      await connect.locator('input[name="auth_token"]').fill(TOKEN);
      await connect.locator('input[name="sender"]').fill('+1 415 555 0100');
      await Promise.all([page.waitForNavigation(), connect.locator('button[type="submit"]').click()]);
      const connected = await section.locator('[data-testid="sms-connected"]').innerText();
      assert.ok(connected.includes('…cdef') && connected.includes('+14155550100'), connected);
      assert.ok(!(await page.content()).includes(TOKEN), 'the token is never shown again');
      // Reminders can now go by SMS.
      const channels = await page.locator('[data-testid="add-reminder-rule"] select[name="channel"] option').allInnerTexts();
      assert.ok(channels.includes('SMS'), channels.join(' | '));

      const testForm = section.locator('[data-testid="sms-test"]');
      await testForm.locator('input[name="to"]').fill('+1 415 555 0123');
      await Promise.all([page.waitForNavigation(), testForm.locator('button[type="submit"]').click()]);
      const deadline = Date.now() + 20_000;
      while (twilio.taken.length === 0 && Date.now() < deadline) await sleep(200);
      assert.equal(twilio.taken.length, 1, 'the server\'s workers handed the text to Twilio');
      const [text] = twilio.taken;
      assert.equal(text.form.To, '+14155550123');
      assert.equal(text.form.From, '+14155550100');
      assert.match(text.form.StatusCallback, /\/webhooks\/twilio\/status$/);

      assert.equal(await twilio.report(text, 'delivered'), 204);
      await open(page, acme('/staff/scheduling'));
      await waitForHydration(page, 'scheduling set-up');
      const line = await page.locator('[data-testid="sms-test-line"]').first().innerText();
      assert.ok(line.includes('+14155550123 by SMS') && line.includes('delivered'), line);
      await assertAccessible(page, 'scheduling set-up with SMS connected');
    });
  });

  test('Meta verifies the webhook; the owner connects WhatsApp, and a test goes as the approved template and is delivered', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
    const webhook = `http://127.0.0.1:${server.port}/webhooks/whatsapp`;
    const handshake = await fetch(`${webhook}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=8432`);
    assert.equal(handshake.status, 200);
    assert.equal(await handshake.text(), '8432');
    const wrong = await fetch(`${webhook}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=8432`);
    assert.equal(wrong.status, 403);

    await withPage(browser, DESKTOP, async (page) => {
      await signIn(page, acme('/signin'), ACCOUNTS.acmeOwner.email);
      await open(page, acme('/staff/scheduling'));
      await waitForHydration(page, 'scheduling set-up');
      const section = page.locator('[data-testid="setup-whatsapp"]');
      const connect = section.locator('[data-testid="whatsapp-connect"]');
      await connect.locator('input[name="phone_number_id"]').fill(NUMBER_ID);
      await connect.locator('input[name="access_token"]').fill(WA_TOKEN);
      await connect.locator('input[name="template_name"]').fill('appointment_news');
      await connect.locator('input[name="template_language"]').fill('en');
      await Promise.all([page.waitForNavigation(), connect.locator('button[type="submit"]').click()]);
      const connected = await section.locator('[data-testid="whatsapp-connected"]').innerText();
      assert.ok(connected.includes(NUMBER_ID) && connected.includes('appointment_news'), connected);

      const testForm = section.locator('[data-testid="whatsapp-test"]');
      await testForm.locator('input[name="to"]').fill('+1 415 555 0123');
      await Promise.all([page.waitForNavigation(), testForm.locator('button[type="submit"]').click()]);
      const deadline = Date.now() + 20_000;
      while (whatsapp.taken.length === 0 && Date.now() < deadline) await sleep(200);
      assert.equal(whatsapp.taken.length, 1, "the server's workers handed the message to WhatsApp");
      const [sent] = whatsapp.taken;
      assert.equal(sent.message.to, '14155550123');
      assert.equal(sent.message.type, 'template', 'the patient has not written: only the template may go');
      assert.equal(sent.message.template.name, 'appointment_news');

      assert.equal(await whatsapp.report(webhook, sent.id, 'delivered'), 200);
      await open(page, acme('/staff/scheduling'));
      await waitForHydration(page, 'scheduling set-up');
      const lines = await page.locator('[data-testid="sms-test-line"]').allInnerTexts();
      assert.ok(lines.some((l) => l.includes('by WhatsApp') && l.includes('delivered')), lines.join(' | '));
      await assertAccessible(page, 'scheduling set-up with WhatsApp connected');
    });
  });
});
