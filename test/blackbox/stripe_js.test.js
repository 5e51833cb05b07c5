'use strict';
/*
 * The Stripe.js stand-in at /v3/ (CONTRACT.md §11 "Test control plane"), in a real headless
 * Chromium: an app page on its own origin (a tiny local server) loads the script from verifyd,
 * calls stripe.verifyIdentity(client_secret), and the session's hosted page opens in a modal.
 * Choosing an outcome inside it resolves the promise with {} and the webhook arrives; Escape and
 * the close button resolve with the cancellation error; an unknown or used secret resolves with
 * an error; Tab never leaves the modal; the framing headers name exactly the app's origin.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const h = require('./lib/server');
const wr = require('./webhook_receiver');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let srv;
let browser;
let profileDir;
let rec;
let app; /* the app under test: {url, close} */
const test = h.testWithLog(() => srv);

/* The app's page: it loads Stripe.js from verifyd, as an app's test environment would after
 * swapping js.stripe.com for verifyd's host. */
function startApp(verifydUrl) {
    return new Promise((resolve) => {
        const server = http.createServer((req, res) => {
            res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
            res.end(`<!doctype html><html lang="en"><title>Shop</title>
<script src="${verifydUrl}/v3/"></script>
<h1>Shop</h1><button id="verify">Verify me</button><a href="#elsewhere">Elsewhere</a>`);
        });
        server.listen(0, '127.0.0.1', () => {
            resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) });
        });
    });
}

before(async () => {
    srv = await h.startServer();
    rec = await wr.startReceiver();
    app = await startApp(srv.url);
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
    if (app) await app.close();
    if (srv) await srv.close();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

/* The app page, with verifyIdentity(secret) started; its result lands in window.__result. */
async function openModal(secret) {
    const page = await browser.newPage();
    await page.goto(app.url);
    await page.evaluate((cs) => {
        window.__result = undefined;
        Stripe('pk_test_verifyd').verifyIdentity(cs).then((r) => { window.__result = r; });
    }, secret);
    return page;
}

async function result(page) {
    await page.waitForFunction(() => window.__result !== undefined);
    return page.evaluate(() => window.__result);
}

const frameOf = (page) => page.frameLocator('iframe[title="Identity verification"]');

test('choosing an outcome in the modal resolves {} and the verified event reaches the webhook', async () => {
    const stripe = srv.stripe(h.randomKey());
    const whsec = await wr.subscribe(stripe, rec);
    const s = await stripe.identity.verificationSessions.create({ type: 'document', return_url: `${app.url}/never` });
    const page = await openModal(s.client_secret);
    try {
        const dialog = page.getByRole('dialog', { name: 'Verify your identity' });
        assert.equal(await dialog.count(), 1, 'a labelled dialog');
        assert.equal(await page.evaluate(() => document.querySelector('dialog').matches(':modal')), true, 'shown modal (the page behind is inert)');
        const frame = frameOf(page);
        await frame.getByRole('button', { name: 'Verification success', exact: true }).click();
        assert.deepEqual(await result(page), {});
        assert.equal(await page.locator('dialog').count(), 0, 'the modal is gone');
        assert.equal(page.url(), `${app.url}/`, 'the top window did not move to return_url');
    } finally {
        await page.close();
    }
    const e = await wr.waitForEvent(stripe, rec, whsec, 'identity.verification_session.verified', s.id);
    assert.equal(e.data.object.status, 'verified');

    /* The secret is single use: a second modal resolves with an error at once. */
    const again = await openModal(s.client_secret);
    try {
        const r = await result(again);
        assert.equal(r.error.type, 'invalid_request_error');
        assert.match(r.error.message, /already used/);
        assert.equal(await again.locator('dialog').count(), 0);
    } finally {
        await again.close();
    }
});

test('a failure outcome is still a submission: {} and requires_input with last_error', async () => {
    const stripe = srv.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const page = await openModal(s.client_secret);
    try {
        const frame = frameOf(page);
        await frame.getByLabel(/Failure reason/).selectOption('document_expired');
        await frame.getByRole('button', { name: 'Verification failure', exact: true }).click();
        assert.deepEqual(await result(page), {});
    } finally {
        await page.close();
    }
    const f = await stripe.identity.verificationSessions.retrieve(s.id);
    assert.equal(f.status, 'requires_input');
    assert.equal(f.last_error.code, 'document_expired');
    /* The failed attempt issued a fresh client_secret (CONTRACT.md §11): the old one no longer
     * opens the modal, though the session is back in requires_input; the new one does. */
    assert.notEqual(f.client_secret, s.client_secret);
    const old = await openModal(s.client_secret);
    try {
        const r = await result(old);
        assert.equal(r.error.type, 'invalid_request_error');
        assert.match(r.error.message, /already used/);
    } finally {
        await old.close();
    }
    const fresh = await openModal(f.client_secret);
    try {
        await frameOf(fresh).getByRole('button', { name: 'Verification success', exact: true }).waitFor();
    } finally {
        await fresh.close();
    }
});

test('Escape (in the app or inside the frame) and the close button resolve with session_cancelled', async () => {
    const stripe = srv.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    for (const how of ['escape-parent', 'escape-frame', 'close-button']) {
        const page = await openModal(s.client_secret);
        try {
            const frame = frameOf(page);
            await frame.getByRole('button', { name: 'Verification success', exact: true }).waitFor();
            if (how === 'escape-parent') {
                await page.getByRole('button', { name: 'Close verification' }).focus();
                await page.keyboard.press('Escape');
            } else if (how === 'escape-frame') {
                await frame.getByLabel(/Failure reason/).focus();
                await page.keyboard.press('Escape');
            } else {
                await page.getByRole('button', { name: 'Close verification' }).click();
            }
            const r = await result(page);
            assert.equal(r.error.code, 'session_cancelled', how);
            assert.equal(r.error.type, 'invalid_request_error');
            assert.equal(typeof r.error.message, 'string');
            assert.equal(await page.locator('dialog').count(), 0, how);
        } finally {
            await page.close();
        }
    }
    const still = await stripe.identity.verificationSessions.retrieve(s.id);
    assert.equal(still.status, 'requires_input', 'closing submits nothing');
});

test('an unknown or malformed client_secret resolves with an error, and other methods are not provided', async () => {
    const page = await openModal('vs_1NotAReal0ne_secret_abcdefghijklmnopqrstuvwx');
    try {
        const r = await result(page);
        assert.equal(r.error.type, 'invalid_request_error');
        assert.equal(r.error.code, 'resource_missing');
        assert.equal(await page.locator('dialog').count(), 0);
        const bad = await page.evaluate(() => Stripe('pk_test_x').verifyIdentity('nope'));
        assert.equal(bad.error.code, 'resource_missing');
        const thrown = await page.evaluate(() => {
            try {
                Stripe('pk_test_x').elements();
                return null;
            } catch (e) {
                return e.message;
            }
        });
        assert.match(thrown, /not provided by verifyd/);
        assert.equal(await page.evaluate(() => typeof Stripe('pk_test_x').confirmCardPayment), 'function');
        assert.equal(await page.evaluate(() => typeof Stripe('pk_test_x').then), 'undefined', 'not a thenable: loadStripe() resolves with it');
    } finally {
        await page.close();
    }
});

test('keyboard focus stays inside the modal', async () => {
    const stripe = srv.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const page = await openModal(s.client_secret);
    try {
        await frameOf(page).getByRole('button', { name: 'Verification success', exact: true }).waitFor();
        const inside = () => page.evaluate(() => !!(document.activeElement && document.activeElement.closest('dialog')));
        assert.ok(await inside(), 'focus moves into the modal when it opens');
        for (const key of ['Tab', 'Shift+Tab']) {
            for (let i = 0; i < 14; i++) {
                await page.keyboard.press(key);
                assert.ok(await inside(), `after ${i + 1} × ${key}, focus is still in the modal`);
            }
        }
        await page.keyboard.press('Escape');
        await result(page);
        assert.equal(await page.evaluate(() => document.activeElement === document.body || !document.activeElement.closest('dialog')), true);
    } finally {
        await page.close();
    }
});

test('the modal page may be framed by the named origin only; /start/ stays unframeable', async () => {
    const stripe = srv.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const post = (body) => h.request(srv.port, {
        method: 'POST', path: '/v3/identity/verify', body: h.formEncode(body),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const r = await post({ client_secret: s.client_secret, origin: app.url });
    assert.equal(r.status, 200);
    const csp = r.headers['content-security-policy'];
    assert.match(csp, new RegExp(`frame-ancestors ${app.url.replace(/[.:/]/g, '\\$&')}$`));
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9]+'/);
    assert.equal(r.headers['x-frame-options'], undefined);
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['cache-control'], 'no-store');
    for (const origin of ['https://evil.example/path', "http://x 'unsafe-inline'", 'javascript:alert(1)', '']) {
        const bad = await post({ client_secret: s.client_secret, origin });
        assert.equal(bad.status, 400, origin);
        assert.equal(bad.headers['x-frame-options'], 'DENY', origin);
        assert.match(bad.headers['content-security-policy'], /frame-ancestors 'none'/, origin);
    }
    const start = await h.request(srv.port, { path: new URL(s.url).pathname });
    assert.equal(start.headers['x-frame-options'], 'DENY');
    assert.match(start.headers['content-security-policy'], /frame-ancestors 'none'/);
    const js = await h.request(srv.port, { path: '/v3' });
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /^text\/javascript/);
    assert.match(js.text, /verifyIdentity/);
});
