'use strict';
/*
 * The dashboard at /dashboard (README "Dashboard and metrics"; CONTRACT.md §11 "Test control
 * plane"), in a real headless Chromium (playwright-core, as hosted_page.test.js): sign in with a
 * test key, see a session with its status history and events, a webhook delivery attempt with its
 * status and latency, press Resend and see a new delivery reach a real receiver, move a session
 * with the test-helper buttons, advance the clock; another key's data never shows; the page
 * updates itself while JavaScript polls, and its buttons work without JavaScript. Beyond
 * loopback it is not served without --dashboard-key, and with one it needs that key (as does
 * /metrics).
 *
 * VERIFYD_SCREENSHOT=1 also saves the page to docs/dashboard.png (for the README).
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let srv;
let rec;
let browser;
let profileDir;
const servers = [];
const test = h.testWithLog(() => [srv, ...servers]);

before(async () => {
    srv = await h.startServer({ args: ['--test-clock', '--webhook-retry-schedule', '1h'] });
    rec = await startReceiver();
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
});
after(async () => {
    if (browser) await browser.close();
    if (rec) await rec.close();
    if (srv) await srv.close();
    for (const s of servers) await s.close();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

/* Click a form's button and wait for the page it leads to (303 back to /dashboard). */
async function submit(page, locator) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

async function signIn(page, base, key) {
    await page.context().clearCookies();
    await page.goto(`${base}/dashboard`);
    await page.fill('input[name=key]', key);
    await submit(page, page.locator('button:has-text("Sign in")'));
}

/* verifyd on 0.0.0.0 (every address), reached through 127.0.0.1. */
async function startWide(args = []) {
    const port = await h.freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-wide-'));
    const env = Object.assign({}, process.env);
    delete env.VERIFYD_LISTEN;
    delete env.VERIFYD_DATA_DIR;
    const proc = spawn(h.BIN, ['--listen', `0.0.0.0:${port}`, '--data-dir', dir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = { port, log: '', tail() { return this.log.slice(-4000); } };
    proc.stderr.on('data', (d) => (s.log += d));
    const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    s.close = async () => {
        proc.kill('SIGTERM');
        assert.deepEqual(await exited, { code: 0, signal: null }, s.log);
        fs.rmSync(dir, { recursive: true, force: true });
    };
    servers.push(s);
    await h.eventually(() => s.log.includes(' listening on '), { what: 'the start-up line' });
    return s;
}

test('sign in, see sessions, events and attempts; resend, move a session, advance the clock', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const we = await stripe.webhookEndpoints.create({ url: rec.url, enabled_events: ['*'] });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await h.eventually(() => rec.requests.length >= 1, { what: 'the created webhook' });
    /* Another account's session and endpoint: never on this key's page. */
    const other = srv.stripe(h.randomKey());
    const hidden = await other.identity.verificationSessions.create({ type: 'id_number' });

    const page = await browser.newPage();
    await signIn(page, srv.url, key);
    assert.equal((await page.context().cookies()).find((c) => c.name === 'verifyd_key').httpOnly, true);
    assert.ok(!page.url().includes(key), 'the key is never in a URL');
    const row = page.locator(`tr[data-session="${s.id}"]`);
    assert.equal((await row.locator('.status').textContent()).trim(), 'requires_input');
    assert.match(await row.locator('.history').textContent(), /created/);
    const html = await page.content();
    assert.ok(!html.includes(hidden.id), "another key's session never shows");
    assert.ok(!html.includes(key), 'the key is not in the page');
    const events = await stripe.events.list({ limit: 10 });
    assert.ok(html.includes(events.data[0].id), 'the event is listed');
    /* The delivery attempt, with its status and latency. */
    const attempt = page.locator('#deliveries tr[data-attempt]').first();
    await attempt.waitFor();
    assert.equal((await attempt.locator('.status').textContent()).trim(), '200');
    assert.match(await attempt.locator('.latency').textContent(), /^\d+ ms$/);
    assert.match(await attempt.textContent(), new RegExp(we.id));

    /* Resend: a new delivery of the same event reaches the receiver. */
    const before = rec.requests.length;
    const evRow = page.locator(`tr[data-event="${events.data[0].id}"]`);
    await submit(page, evRow.locator('button:has-text("Resend")'));
    const again = await h.eventually(() => rec.requests.slice(before).find((r) => r.json && r.json.id === events.data[0].id),
        { what: 'the resent event at the receiver' });
    assert.ok(again.headers['stripe-signature']);
    assert.match(await page.locator('.flash').textContent(), /Resend: done/);
    /* The page updates itself (JavaScript polling): the second attempt appears. */
    await h.eventually(async () => (await page.locator('#deliveries tr[data-attempt]').count()) >= 2, { what: 'the new attempt on the page' });

    /* Move the session: Verify, through the test helper; the status and history follow. */
    await submit(page, page.locator(`tr[data-session="${s.id}"] button:has-text("Verify")`));
    assert.match(await page.locator('.flash').textContent(), /now verified/);
    assert.equal((await page.locator(`tr[data-session="${s.id}"] .status`).textContent()).trim(), 'verified');
    assert.match(await page.locator(`tr[data-session="${s.id}"] .history`).textContent(), /created → processing → verified/);
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'verified');

    /* Advance the clock (the clock route): the flash reports the new time. */
    const clock0 = (await srv.request({ path: '/v1/test_helpers/verifyd/clock', key })).json.now;
    await page.fill('input[name=seconds]', '7200');
    await submit(page, page.locator('button:has-text("Advance clock")'));
    const clock1 = (await srv.request({ path: '/v1/test_helpers/verifyd/clock', key })).json.now;
    assert.ok(clock1 >= clock0 + 7200, `the clock moved: ${clock0} -> ${clock1}`);
    assert.match(await page.locator('.flash').textContent(), /Clock advanced/);
    /* The page reads the account's clock, ahead of real time by what was advanced. */
    const reading = await page.locator('#clock p').first().textContent();
    const [, now, ahead] = reading.match(/reads (\d+) \(unix seconds\), (\d+) s ahead/) || [];
    assert.ok(Number(now) >= clock1 - 5 && Number(ahead) >= 7200, reading);
    if (process.env.VERIFYD_SCREENSHOT === '1') {
        await page.screenshot({ path: path.resolve(__dirname, '../../docs/dashboard.png'), fullPage: true });
    }
    await page.close();
});

test('the buttons work without JavaScript, and need the CSRF token', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const page = await browser.newPage();
    await page.route('**/dashboard/app.js', (r) => r.abort()); /* as without JavaScript */
    await signIn(page, srv.url, key);
    await submit(page, page.locator(`tr[data-session="${s.id}"] button:has-text("Process")`));
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'processing');
    /* A forged form without the token changes nothing. */
    const cookie = (await page.context().cookies()).find((c) => c.name === 'verifyd_key');
    const forged = await srv.request({
        method: 'POST', path: '/dashboard/action', body: `action=verify&session=${s.id}`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `verifyd_key=${cookie.value}` },
    });
    assert.equal(forged.status, 403);
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'processing');
    /* A cross-origin form is refused even with a token. */
    const token = await page.locator('input[name=csrf]').first().getAttribute('value');
    const cross = await srv.request({
        method: 'POST', path: '/dashboard/action', body: `csrf=${token}&action=verify&session=${s.id}`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `verifyd_key=${cookie.value}`, Origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 403);
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'processing');
    await page.close();
});

test('a live key or a bad key does not sign in; the state JSON needs a signed-in key', async () => {
    const bad = await srv.request({ method: 'POST', path: '/dashboard/sign-in', body: 'key=sk_live_abc', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(bad.status, 401);
    assert.ok(!('set-cookie' in bad.headers) || !String(bad.headers['set-cookie']).includes('verifyd_key=sk_'));
    const state = await srv.request({ path: '/dashboard/state.json' });
    assert.equal(state.status, 401);
    const key = h.randomKey();
    const ok = await srv.request({ path: '/dashboard/state.json', headers: { Cookie: `verifyd_key=${key}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.object, 'verifyd.dashboard_state');
});

test('beyond loopback: not served without --dashboard-key; with one, it and /metrics need the key', async () => {
    const { port } = await startWide();
    assert.equal((await h.request(port, { path: '/dashboard' })).status, 404);
    assert.equal((await h.request(port, { path: '/metrics' })).status, 404);
    assert.equal((await h.request(port, { path: '/healthz' })).status, 200);

    const opKey = 'op_' + h.randomAlnum(24);
    const { port: port2 } = await startWide(['--dashboard-key', opKey]);
    const need = await h.request(port2, { path: '/dashboard' });
    assert.equal(need.status, 401);
    assert.match(need.text, /operator_key/);
    assert.equal((await h.request(port2, { path: '/metrics' })).status, 401);
    assert.equal((await h.request(port2, { path: '/metrics', headers: { Authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await h.request(port2, { path: '/metrics', headers: { Authorization: `Bearer ${opKey}` } })).status, 200);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port2}/dashboard`);
    await page.fill('input[name=operator_key]', opKey);
    await page.fill('input[name=key]', h.randomKey());
    await submit(page, page.locator('button:has-text("Sign in")'));
    await page.locator('#sessions').waitFor();
    await page.close();
});
