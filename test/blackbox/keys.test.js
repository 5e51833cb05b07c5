'use strict';
/*
 * Configured keys (--keys-file): live and restricted keys work only when the operator lists
 * them, stored as SHA-256 hashes; livemode follows the key; open test mode never accepts a live
 * key. CONTRACT.md §11 "Keys and accounts".
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
let dir;
const test = h.testWithLog(() => srv);
const LIVE = 'sk_live_' + h.randomAlnum(24);
const RESTRICTED = 'rk_live_' + h.randomAlnum(24);
const UNLISTED = 'sk_live_' + h.randomAlnum(24);
const sha = (k) => crypto.createHash('sha256').update(k).digest('hex');

before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-keys-'));
    const file = path.join(dir, 'keys');
    fs.writeFileSync(file, `# operator keys\n${sha(LIVE)} acct_live\n${sha(RESTRICTED)} acct_live restricted\n`);
    srv = await h.startServer({ args: ['--keys-file', file] });
});
after(async () => {
    if (srv) await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

test('a listed live key works and its objects are livemode', async () => {
    const stripe = h.makeStripe(srv.port, LIVE);
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    assert.equal(s.livemode, true);
    const got = await stripe.identity.verificationSessions.retrieve(s.id);
    assert.equal(got.id, s.id);
    assert.equal(got.livemode, true);
});

test('a listed restricted key shares the account of its live key', async () => {
    const live = h.makeStripe(srv.port, LIVE);
    const rk = h.makeStripe(srv.port, RESTRICTED);
    const s = await live.identity.verificationSessions.create({ type: 'id_number' });
    const got = await rk.identity.verificationSessions.retrieve(s.id);
    assert.equal(got.id, s.id);
});

test('an unlisted live key is refused with a masked message', async () => {
    const stripe = h.makeStripe(srv.port, UNLISTED);
    const err = await h.rejects(stripe.identity.verificationSessions.list());
    x.sdkError(err, { status: 401, type: 'invalid_request_error' });
    assert.match(err.message, /^Invalid API Key provided: sk_live_\*\*\*\*/);
    assert.ok(err.message.endsWith(UNLISTED.slice(-4)));
    assert.ok(!err.message.includes(UNLISTED.slice(8, 20)), 'the key is not echoed');
    assert.ok(!srv.log.includes(UNLISTED), 'the key is not logged');
    assert.ok(!srv.log.includes(LIVE), 'the key is not logged');
});

test('test keys stay in open test mode beside configured ones', async () => {
    const stripe = h.makeStripe(srv.port, h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    assert.equal(s.livemode, false);
    const live = h.makeStripe(srv.port, LIVE);
    const err = await h.rejects(live.identity.verificationSessions.retrieve(s.id));
    x.sdkError(err, { status: 404, code: 'resource_missing' });
});

test('test helpers refuse live keys', async () => {
    const live = h.makeStripe(srv.port, LIVE);
    const s = await live.identity.verificationSessions.create({ type: 'document' });
    const res = await h.request(srv.port, {
        method: 'POST',
        path: `/v1/test_helpers/identity/verification_sessions/${s.id}/verify`,
        key: LIVE,
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.type, 'invalid_request_error');
});
