'use strict';
/*
 * The fault rules of the test control plane (CONTRACT.md §11 "Test control plane"):
 * /v1/test_helpers/verifyd/faults, per account, test mode only. Injected errors reach the
 * pinned SDK as Stripe's (its retries get through, exactly one session is made, a faulted
 * request is saved under no idempotency key), latency delays the answer, webhook rules fail,
 * delay or duplicate one endpoint's deliveries, and the rate_limit rule answers Stripe's 429
 * beyond 25 requests per second.
 *
 * Not for: real database failures (faults.test.js).
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');
const { sdkError, rawError } = require('./lib/expect');

const FAULTS = '/v1/test_helpers/verifyd/faults';
const LIVE = 'sk_live_' + h.randomAlnum(24);
/* Webhook retries 300 ms apart, so that a failed attempt is retried within a test. */
const SCHEDULE = ['--webhook-retry-schedule', Array(10).fill('300ms').join(',')];

const servers = [];
const receivers = [];
const dirs = [];
let srv;
const test = h.testWithLog(() => servers);

before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-faults-'));
    dirs.push(dir);
    const keys = path.join(dir, 'keys');
    fs.writeFileSync(keys, `${crypto.createHash('sha256').update(LIVE).digest('hex')} acct_live1\n`);
    srv = await h.startServer({ args: [...SCHEDULE, '--keys-file', keys] });
    servers.push(srv);
});

after(async () => {
    await h.closeAll(servers, receivers);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function receiver(respond) {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
}

/* POST a rule; returns the rule object (asserting 200). */
async function addRule(key, params) {
    const r = await srv.request({
        method: 'POST', path: FAULTS, key, body: h.formEncode(params),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.fault');
    return r.json;
}

async function rules(key) {
    const r = await srv.request({ path: FAULTS, key });
    assert.equal(r.status, 200, r.text);
    return r.json;
}

async function ruleById(key, id) {
    return (await rules(key)).data.find((f) => f.id === id);
}

test('a rule failing the next 2 creates with 500: the SDK with 2 retries succeeds on the third attempt and makes one session', async () => {
    const key = h.randomKey();
    const rule = await addRule(key, { method: 'POST', path: h.SESSIONS_PATH, count: 2, status: 500 });
    assert.equal(rule.kind, 'error');
    assert.equal(rule.remaining, 2);
    const stripe = srv.stripe(key, { maxNetworkRetries: 2 });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    assert.match(s.id, /^vs_/);
    const after1 = await ruleById(key, rule.id);
    assert.equal(after1.matched, 3, 'the server saw three attempts');
    assert.equal(after1.applied, 2);
    assert.equal(after1.remaining, 0);
    const list = await stripe.identity.verificationSessions.list({ limit: 10 });
    assert.deepEqual(list.data.map((x) => x.id), [s.id], 'exactly one session');
});

test('without retries the SDK gets StripeAPIError with Stripe headers; the faulted request is saved under no idempotency key', async () => {
    const key = h.randomKey();
    await addRule(key, { method: 'POST', path: h.SESSIONS_PATH, count: 1 });
    const stripe = srv.stripe(key, { maxNetworkRetries: 0 });
    const err = await h.rejects(stripe.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: 'fault-once' }));
    assert.equal(err.type, 'StripeAPIError');
    sdkError(err, { status: 500, type: 'api_error', code: null });
    assert.equal(err.headers['stripe-should-retry'], 'true');
    assert.equal((await stripe.identity.verificationSessions.list()).data.length, 0, 'nothing was made');
    /* The rule is used up: the same key now runs the request rather than replaying the 500. */
    const s = await stripe.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: 'fault-once' });
    assert.equal(s.lastResponse.headers['idempotent-replayed'], undefined);
    const again = await stripe.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: 'fault-once' });
    assert.equal(again.id, s.id, 'and that answer is the one saved under the key');
});

test('a 429 rule gives StripeRateLimitError with Stripe\'s rate_limit error; error fields and should_retry can be set', async () => {
    const key = h.randomKey();
    await addRule(key, { method: 'GET', path: h.SESSIONS_PATH, count: 1, status: 429 });
    const stripe = srv.stripe(key);
    const err = await h.rejects(stripe.identity.verificationSessions.list());
    assert.equal(err.type, 'StripeRateLimitError');
    sdkError(err, { status: 429, type: 'invalid_request_error', code: 'rate_limit', message: /^Request rate limit exceeded/ });
    assert.equal(err.headers['stripe-should-retry'], undefined, 'stripe-node does not retry a rate limit by default');

    await addRule(key, {
        path: '/v1/identity/*', count: 1, status: 503, should_retry: false,
        error: { type: 'api_error', code: 'custom_outage', message: 'Down for a test.' },
    });
    const r = await srv.request({ path: h.SESSIONS_PATH, key });
    rawError(r, { status: 503, type: 'api_error', code: 'custom_outage', message: 'Down for a test.' });
    assert.equal(r.headers['stripe-should-retry'], 'false');
    const ok = await srv.request({ path: h.SESSIONS_PATH, key });
    assert.equal(ok.status, 200, 'both rules are used up');
});

test('a latency rule delays the answer by at least its latency, then answers normally', async () => {
    const key = h.randomKey();
    const rule = await addRule(key, { kind: 'latency', path: h.SESSIONS_PATH + '*', latency_ms: 800, count: 1 });
    const stripe = srv.stripe(key);
    const t0 = Date.now();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const took = Date.now() - t0;
    assert.ok(took >= 800, `the create took ${took} ms`);
    assert.match(s.id, /^vs_/);
    await stripe.identity.verificationSessions.retrieve(s.id);
    const counted = await ruleById(key, rule.id);
    assert.deepEqual([counted.matched, counted.applied, counted.remaining], [2, 1, 0], 'it matched both, delayed one');
});

test('rules are per account, DELETE removes one or all, unknown ids are 404, the count is bounded and bad rules are 400s', async () => {
    const a = h.randomKey();
    const b = h.randomKey();
    const r1 = await addRule(a, { path: '*' });
    const r2 = await addRule(a, { method: 'GET', path: '/v1/events' });
    assert.equal((await rules(b)).data.length, 0, 'B sees none of A\'s rules');
    assert.equal((await srv.request({ path: h.SESSIONS_PATH, key: b })).status, 200, 'and is not faulted by them');
    assert.equal((await srv.request({ path: h.SESSIONS_PATH, key: a })).status, 500);
    /* The control plane itself is never faulted, not even by a rule on every path. */
    assert.deepEqual((await rules(a)).data.map((f) => f.id), [r1.id, r2.id]);

    const other = await srv.request({ method: 'DELETE', path: `${FAULTS}/${r1.id}`, key: b });
    rawError(other, { status: 404, code: 'resource_missing', param: 'id' });
    const del = await srv.request({ method: 'DELETE', path: `${FAULTS}/${r1.id}`, key: a });
    assert.deepEqual(del.json, { id: r1.id, object: 'verifyd.fault', deleted: true });
    assert.equal((await srv.request({ path: h.SESSIONS_PATH, key: a })).status, 200, 'the rule is gone');
    const clear = await srv.request({ method: 'DELETE', path: FAULTS, key: a });
    assert.equal(clear.json.deleted, 1);
    assert.equal((await rules(a)).data.length, 0);

    for (let i = 0; i < 32; i++) await addRule(b, { path: `/v1/x${i}` });
    const over = await srv.request({ method: 'POST', path: FAULTS, key: b, body: 'path=/v1/y', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    rawError(over, { status: 400, type: 'invalid_request_error', message: /at most 32 fault rules/ });
    await srv.request({ method: 'DELETE', path: FAULTS, key: b });

    const post = (body) => srv.request({ method: 'POST', path: FAULTS, key: a, body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    rawError(await post('path=v1/no-slash'), { status: 400, param: 'path' });
    rawError(await post('path=/v1/*/mid'), { status: 400, param: 'path' });
    rawError(await post('kind=latency&path=*'), { status: 400, code: 'parameter_missing', param: 'latency_ms' });
    rawError(await post('kind=rate_limit&path=*'), { status: 400, code: 'parameter_unknown', param: 'path' });
    rawError(await post('path=*&probability=1.5'), { status: 400, param: 'probability' });
    rawError(await post('kind=webhook&endpoint=we_nope&action=fail'), { status: 404, code: 'resource_missing', param: 'endpoint' });
    assert.equal((await rules(a)).data.length, 0, 'no bad rule was made');
});

test('a live key gets Stripe\'s 400 on every faults route', async () => {
    for (const [method, p] of [['POST', FAULTS], ['GET', FAULTS], ['DELETE', FAULTS], ['DELETE', `${FAULTS}/flt_x`]]) {
        const r = await srv.request({ method, path: p, key: LIVE, body: method === 'POST' ? 'path=*' : undefined, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
        rawError(r, { status: 400, type: 'invalid_request_error', message: /test-mode key/ });
    }
});

test('a probability rule with a seed fails the same requests every time', async () => {
    const pattern = async () => {
        const key = h.randomKey();
        await addRule(key, { method: 'GET', path: h.SESSIONS_PATH, probability: '0.5', seed: 42 });
        const out = [];
        for (let i = 0; i < 16; i++) out.push((await srv.request({ path: h.SESSIONS_PATH, key })).status);
        return out;
    };
    const first = await pattern();
    assert.deepEqual(await pattern(), first);
    assert.ok(first.includes(500) && first.includes(200), `some fail, some pass: ${first}`);
});

test('a webhook fail rule: the receiver sees nothing while it holds, then the retry arrives once it is cleared', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const rcv = await receiver();
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['identity.verification_session.created'] });
    const rule = await addRule(key, { kind: 'webhook', endpoint: we.id, action: 'fail' });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await h.eventually(async () => (await ruleById(key, rule.id)).applied >= 3, { what: 'three failed attempts' });
    assert.equal(rcv.requests.length, 0, 'the receiver was never called');
    await srv.request({ method: 'DELETE', path: `${FAULTS}/${rule.id}`, key });
    const [got] = await rcv.waitFor(1);
    const ev = stripe.webhooks.constructEvent(got.body, got.headers['stripe-signature'], we.secret);
    assert.equal(ev.data.object.id, s.id);
    const evs = await stripe.events.list({ type: 'identity.verification_session.created' });
    await h.eventually(async () => (await stripe.events.retrieve(evs.data[0].id)).pending_webhooks === 0, { what: 'delivered' });
});

test('a webhook duplicate rule delivers the event twice with the same id and valid signatures', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const rcv = await receiver();
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['identity.verification_session.created'] });
    await addRule(key, { kind: 'webhook', endpoint: we.id, action: 'duplicate', count: 1 });
    await stripe.identity.verificationSessions.create({ type: 'document' });
    const got = await rcv.waitFor(2);
    const evs = got.map((r) => stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], we.secret));
    assert.equal(evs[0].id, evs[1].id);
    assert.equal(evs[0].type, 'identity.verification_session.created');
});

test('a webhook delay rule holds the delivery for its delay', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const rcv = await receiver();
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['identity.verification_session.created'] });
    await addRule(key, { kind: 'webhook', endpoint: we.id, action: 'delay', delay_ms: 1500 });
    const t0 = Date.now();
    await stripe.identity.verificationSessions.create({ type: 'document' });
    const [got] = await rcv.waitFor(1);
    assert.ok(got.t - t0 >= 1500, `delivered after ${got.t - t0} ms`);
    stripe.webhooks.constructEvent(got.body, got.headers['stripe-signature'], we.secret);
});

test('the rate_limit rule answers Stripe\'s 429 beyond 25 requests a second; the SDK\'s retries get through', async () => {
    const key = h.randomKey();
    const rule = await addRule(key, { kind: 'rate_limit', should_retry: true });
    assert.equal(rule.rate, 25);
    const agent = new (require('node:http').Agent)({ keepAlive: true, maxSockets: 8 });
    const burst = await Promise.all(Array.from({ length: 60 }, () => srv.request({ path: h.SESSIONS_PATH, key, agent })));
    agent.destroy();
    const limited = burst.filter((r) => r.status === 429);
    assert.ok(limited.length >= 10, `${limited.length} of 60 were limited`);
    assert.ok(burst.filter((r) => r.status === 200).length >= 25, 'the first 25 pass');
    rawError(limited[0], { status: 429, type: 'invalid_request_error', code: 'rate_limit' });
    assert.equal(limited[0].headers['stripe-rate-limited-reason'], 'global-rate');
    assert.equal(limited[0].headers['stripe-should-retry'], 'true');

    const stripe = srv.stripe(key, { maxNetworkRetries: 4 });
    const start = await ruleById(key, rule.id);
    const made = await Promise.all(Array.from({ length: 40 }, () => stripe.identity.verificationSessions.create({ type: 'document' })));
    assert.equal(new Set(made.map((s) => s.id)).size, 40);
    const counted = await ruleById(key, rule.id);
    assert.ok(counted.applied > start.applied, 'some of the SDK\'s attempts were limited, and retried');
    assert.equal(counted.matched - start.matched, 40 + counted.applied - start.applied,
        'every attempt the server saw was either limited or one of the 40 that passed');
    await srv.request({ method: 'DELETE', path: FAULTS, key });
    const all = await stripe.identity.verificationSessions.list({ limit: 100 });
    assert.equal(all.data.length, 40, 'each create made exactly one session');
});
