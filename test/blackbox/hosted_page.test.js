'use strict';
/*
 * The hosted page at a session's url (issue 4; CONTRACT.md §7, §11 "Moving a session forward"),
 * in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core): open the
 * url, choose success, failure (with a last_error code) or a delayed variant, land on return_url,
 * and see the event arrive at a webhook receiver with a valid signature. Also: used, canceled
 * and unknown links get a clear page, and the page needs no JavaScript.
 *
 * VERIFYD_SCREENSHOT=1 also saves the page to docs/hosted-page.png (for the README).
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
const DELAY_MS = 1500;

let srv;
let browser;
let profileDir;
let rec;
let returns; /* the site the user comes back to: {url, hits: [path]} */
const test = h.testWithLog(() => srv);

function startReturnSite() {
    return new Promise((resolve) => {
        const hits = [];
        const server = http.createServer((req, res) => {
            hits.push({ path: req.url, referer: req.headers.referer });
            res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
            res.end('<!doctype html><title>Back at the shop</title><h1>Thanks for verifying</h1>');
        });
        server.listen(0, '127.0.0.1', () => {
            resolve({ url: `http://127.0.0.1:${server.address().port}`, hits, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) });
        });
    });
}

before(async () => {
    srv = await h.startServer({ args: ['--hosted-delay', String(DELAY_MS)] });
    rec = await wr.startReceiver();
    returns = await startReturnSite();
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
    if (returns) await returns.close();
    if (srv) await srv.close();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

/* A fresh account subscribed to the receiver. */
async function account() {
    const stripe = srv.stripe(h.randomKey());
    const secret = await wr.subscribe(stripe, rec);
    return { stripe, secret };
}

test('success: the page shows the checks, redirects to return_url, and verified reaches the webhook', async () => {
    const { stripe, secret } = await account();
    const returnUrl = `${returns.url}/done?order=1`;
    const s = await stripe.identity.verificationSessions.create({
        type: 'document',
        options: { document: { require_matching_selfie: true, allowed_types: ['passport', 'id_card'] } },
        return_url: returnUrl,
    });
    const page = await browser.newPage();
    try {
        const resp = await page.goto(s.url);
        assert.equal(resp.status(), 200);
        assert.equal(await page.locator('h1').textContent(), 'Verify your identity');
        const body = await page.locator('main').textContent();
        assert.match(body, /You're currently in testmode/);
        assert.match(body, /passport, ID card/);
        assert.match(body, /selfie/);
        assert.equal(await page.locator('script').count(), 0, 'no JavaScript on the page');
        assert.equal(await page.getByLabel(/Failure reason/).count(), 1, 'the select has a label');
        if (process.env.VERIFYD_SCREENSHOT) {
            await page.setViewportSize({ width: 720, height: 860 });
            await page.screenshot({ path: path.resolve(__dirname, '../../docs/hosted-page.png'), fullPage: true });
        }
        await page.getByRole('button', { name: 'Verification success', exact: true }).click();
        await page.waitForURL(returnUrl);
        assert.equal(await page.locator('h1').textContent(), 'Thanks for verifying');
        const landing = returns.hits.find((x) => x.path === '/done?order=1');
        assert.ok(landing, 'the browser came back to return_url');
        assert.equal(landing.referer, undefined, 'the token never leaks as a Referer');
    } finally {
        await page.close();
    }
    const v = await stripe.identity.verificationSessions.retrieve(s.id, { expand: ['verified_outputs'] });
    assert.equal(v.status, 'verified');
    assert.equal(v.verified_outputs.first_name, 'Jenny');
    const e = await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.verified', s.id);
    assert.deepEqual(e.request, { id: null, idempotency_key: null }, 'a user submission is not an API request');
    await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.processing', s.id);

    /* The link is single use. */
    const again = await browser.newPage();
    try {
        const r = await again.goto(s.url);
        assert.equal(r.status(), 410);
        assert.match(await again.locator('h1').textContent(), /already been used/);
    } finally {
        await again.close();
    }
});

test('failure with a chosen last_error code: requires_input with a fresh url, and the webhook', async () => {
    const { stripe, secret } = await account();
    const returnUrl = `${returns.url}/back`;
    const s = await stripe.identity.verificationSessions.create({
        type: 'document',
        options: { document: { require_matching_selfie: true } },
        return_url: returnUrl,
    });
    const page = await browser.newPage();
    try {
        await page.goto(s.url);
        await page.getByLabel(/Failure reason/).selectOption('selfie_face_mismatch');
        await page.getByRole('button', { name: 'Verification failure', exact: true }).click();
        await page.waitForURL(returnUrl);
    } finally {
        await page.close();
    }
    const f = await stripe.identity.verificationSessions.retrieve(s.id, { expand: ['last_verification_report'] });
    assert.equal(f.status, 'requires_input');
    assert.equal(f.last_error.code, 'selfie_face_mismatch');
    assert.equal(f.last_verification_report.selfie.status, 'unverified');
    assert.notEqual(f.url, s.url, 'a fresh url after a failure');
    const e = await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.requires_input', s.id);
    assert.equal(e.data.object.last_error.code, 'selfie_face_mismatch');

    /* The old link is used; the new one works again. */
    const p2 = await browser.newPage();
    try {
        assert.equal((await p2.goto(s.url)).status(), 410);
        assert.equal((await p2.goto(f.url)).status(), 200);
        await p2.getByRole('button', { name: 'Verification success', exact: true }).click();
        await p2.waitForURL(returnUrl);
    } finally {
        await p2.close();
    }
    await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.verified', s.id);
});

test('delayed success: processing first, verified after the delay, both at the webhook', async () => {
    const { stripe, secret } = await account();
    const returnUrl = `${returns.url}/later`;
    // The scheme in capitals is the same URL (RFC 3986 §3.1): it redirects all the same.
    const s = await stripe.identity.verificationSessions.create({ type: 'id_number', return_url: returnUrl.replace(/^http:/, 'HTTP:') });
    const page = await browser.newPage();
    try {
        await page.goto(s.url);
        assert.match(await page.locator('main').textContent(), /ID number/);
        await page.getByRole('button', { name: 'Verification success (delayed)' }).click();
        await page.waitForURL(returnUrl);
    } finally {
        await page.close();
    }
    const t0 = Date.now();
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'processing');
    await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.processing', s.id);
    const e = await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.verified', s.id);
    assert.ok(Date.now() - t0 < DELAY_MS + 15000);
    assert.equal(e.request.id, null, 'background outcomes carry request null');
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'verified');
});

test('delayed failure without return_url shows a confirmation page, then requires_input', async () => {
    const { stripe, secret } = await account();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const page = await browser.newPage();
    try {
        await page.goto(s.url);
        await page.getByLabel(/Failure reason/).selectOption('document_expired');
        await page.getByRole('button', { name: 'Verification failure (delayed)' }).click();
        await page.waitForLoadState();
        assert.equal(await page.locator('h1').textContent(), 'Verification submitted');
    } finally {
        await page.close();
    }
    const e = await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.requires_input', s.id);
    assert.equal(e.data.object.last_error.code, 'document_expired');
});

test('canceled and unknown links get a clear page, never another session', async () => {
    const { stripe } = await account();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.cancel(s.id);
    const page = await browser.newPage();
    try {
        const r = await page.goto(s.url);
        assert.equal(r.status(), 410);
        assert.match(await page.locator('h1').textContent(), /canceled/);
        const base = new URL(s.url);
        const u = await page.goto(`${base.origin}/start/${'A'.repeat(32)}`);
        assert.equal(u.status(), 404);
        assert.match(await page.locator('h1').textContent(), /not valid/);
        const odd = await page.goto(`${base.origin}/start/%3Cscript%3E`);
        assert.equal(odd.status(), 404);
    } finally {
        await page.close();
    }
    /* A POST to a canceled link changes nothing. */
    const p = new URL(s.url);
    const r = await h.request(p.port, { method: 'POST', path: p.pathname, body: 'outcome=verified', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 410);
    assert.match(r.text, /canceled/);
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'canceled');
    assert.ok(!srv.log.includes(p.pathname.slice('/start/'.length)), 'the token never reaches the log');
});

test('the page is sent with headers that keep its token out of caches, frames and Referer headers', async () => {
    const { stripe } = await account();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const u = new URL(s.url);
    const r = await h.request(u.port, { path: u.pathname });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/html; charset=utf-8/);
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.match(r.headers['content-security-policy'], /default-src 'none'/);
    assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
    assert.match(r.headers['request-id'], /^req_/);
});
