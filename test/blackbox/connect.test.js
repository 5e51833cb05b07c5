'use strict';
/*
 * Stripe-Account (CONTRACT.md §11 "Keys and accounts"), through the official SDK's stripeAccount
 * option and real receivers: a request with `Stripe-Account: acct_…` acts on that connected
 * account, its own namespace under the platform's key; its events carry `account` and go to the
 * platform's endpoints made with connect=true (and to the connected account's own endpoints),
 * never to the platform's other endpoints; the platform's own events never reach its connect
 * endpoints.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');
const { sdkError } = require('./lib/expect');

const servers = [];
const receivers = [];
let srv;
const test = h.testWithLog(() => servers);

before(async () => {
    srv = await h.startServer();
    servers.push(srv);
});

after(() => h.closeAll(servers, receivers));

async function receiver() {
    const r = await startReceiver();
    receivers.push(r);
    return r;
}

const A = { stripeAccount: 'acct_1ConnectedA' };
const B = { stripeAccount: 'acct_1ConnectedB' };
const sessions = (stripe) => stripe.identity.verificationSessions;
const missing = { status: 404, code: 'resource_missing', param: 'session' };

test('a connected account is its own namespace under the platform\'s key', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const s = await sessions(stripe).create({ type: 'document', metadata: { who: 'a' } }, A);
    assert.equal((await sessions(stripe).retrieve(s.id, {}, A)).id, s.id);
    sdkError(await h.rejects(sessions(stripe).retrieve(s.id)), missing);
    sdkError(await h.rejects(sessions(stripe).retrieve(s.id, {}, B)), missing);
    sdkError(await h.rejects(sessions(stripe).cancel(s.id, {}, B)), missing);
    /* Another platform naming the same connected account sees nothing of this one's. */
    sdkError(await h.rejects(sessions(srv.stripe(h.randomKey())).retrieve(s.id, {}, A)), missing);

    const own = await sessions(stripe).create({ type: 'id_number' });
    assert.deepEqual((await sessions(stripe).list()).data.map((x) => x.id), [own.id]);
    assert.deepEqual((await sessions(stripe).list({}, A)).data.map((x) => x.id), [s.id]);
    assert.deepEqual((await sessions(stripe).list({}, B)).data, []);
    assert.equal((await sessions(stripe).cancel(s.id, {}, A)).status, 'canceled');

    /* An idempotency key is the connected account's own too. */
    const x = await sessions(stripe).create({ type: 'document' }, { ...A, idempotencyKey: 'same' });
    const y = await sessions(stripe).create({ type: 'document' }, { idempotencyKey: 'same' });
    assert.notEqual(x.id, y.id);
    assert.equal((await sessions(stripe).create({ type: 'document' }, { ...A, idempotencyKey: 'same' })).id, x.id);
});

test('a Stripe-Account that is not an account ID is refused, and nothing is created', async () => {
    const key = h.randomKey();
    for (const bad of ['nope', 'acct_', 'acct_a-b', `acct_${'x'.repeat(65)}`]) {
        const r = await srv.request({
            method: 'POST', path: h.SESSIONS_PATH, key, body: 'type=document',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Stripe-Account': bad },
        });
        assert.equal(r.status, 403, bad);
        assert.equal(r.json.error.type, 'invalid_request_error');
        assert.equal(r.json.error.code, 'account_invalid');
        assert.match(r.json.error.message, /^The provided key 'sk_test_\*\*\*\*.{4}' does not have access to account '/);
        assert.ok(!r.json.error.message.includes(key), 'the key is masked');
    }
    assert.deepEqual((await sessions(srv.stripe(key)).list()).data, []);
});

test('connected accounts\' events carry account and reach connect=true endpoints only', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const [rcvConnect, rcvPlatform, rcvOwn] = [await receiver(), await receiver(), await receiver()];
    const events = ['identity.verification_session.created', 'identity.verification_session.canceled'];
    const weConnect = await stripe.webhookEndpoints.create({ url: rcvConnect.url, enabled_events: events, connect: true });
    const wePlatform = await stripe.webhookEndpoints.create({ url: rcvPlatform.url, enabled_events: ['*'], connect: false });
    const weOwn = await stripe.webhookEndpoints.create({ url: rcvOwn.url, enabled_events: ['*'] }, A);
    assert.deepEqual((await stripe.webhookEndpoints.list()).data.map((w) => w.id).sort(), [weConnect.id, wePlatform.id].sort());
    assert.deepEqual((await stripe.webhookEndpoints.list({}, A)).data.map((w) => w.id), [weOwn.id]);

    const onA = await sessions(stripe).create({ type: 'document' }, A);
    await sessions(stripe).cancel(onA.id, {}, A);
    const onB = await sessions(stripe).create({ type: 'document' }, B);
    const onPlatform = await sessions(stripe).create({ type: 'document' });

    const forA = (e) => e.data.object.id === onA.id;
    const connectGot = await rcvConnect.waitFor(2, forA);
    for (const d of connectGot) {
        const ev = stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature'], weConnect.secret);
        assert.equal(ev.account, 'acct_1ConnectedA');
        assert.deepEqual(Object.keys(ev).slice(0, 4), ['id', 'object', 'account', 'api_version']);
    }
    assert.deepEqual(connectGot.map((d) => d.json.type).sort(), events.slice().sort());
    const [b] = await rcvConnect.waitFor(1, (e) => e.data.object.id === onB.id);
    assert.equal(b.json.account, 'acct_1ConnectedB');
    const ownGot = await rcvOwn.waitFor(2, forA);
    for (const d of ownGot) stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature'], weOwn.secret);
    const [p] = await rcvPlatform.waitFor(1, (e) => e.data.object.id === onPlatform.id);
    assert.equal('account' in p.json, false, 'the platform\'s own events carry no account');

    /* Every event delivered (pending_webhooks 0 in all three namespaces): only now can the
     * absence of a delivery be asserted without a sleep. */
    for (const opts of [{}, A, B]) {
        await h.eventually(async () => (await stripe.events.list({ delivery_success: false }, opts)).data.length === 0,
            { what: 'every delivery to succeed' });
    }
    assert.deepEqual(rcvPlatform.events((e) => e.data.object.id !== onPlatform.id), [],
        'connected accounts\' events never reach an endpoint made without connect');
    assert.deepEqual(rcvConnect.events((e) => e.data.object.id === onPlatform.id), [],
        'the platform\'s own events never reach a connect endpoint');
    assert.deepEqual(rcvOwn.events((e) => !forA(e)), [], 'a connected account\'s endpoint gets only its events');

    /* The events API in the connected account's namespace shows them with account. */
    const listed = (await stripe.events.list({}, A)).data;
    assert.deepEqual(listed.map((e) => [e.type, e.account, e.data.object.id]), [
        ['identity.verification_session.canceled', 'acct_1ConnectedA', onA.id],
        ['identity.verification_session.created', 'acct_1ConnectedA', onA.id],
    ]);
    assert.equal((await stripe.events.retrieve(listed[0].id, {}, A)).account, 'acct_1ConnectedA');
    sdkError(await h.rejects(stripe.events.retrieve(listed[0].id)), { status: 404 });
});

test('v2 events of a connected account name it in context, and Stripe-Context reaches its objects', async () => {
    const stripe = srv.stripe(h.randomKey());
    const s = await sessions(stripe).create({ type: 'document' }, A);
    const ctx = { stripeContext: A.stripeAccount };
    const [ev] = (await stripe.v2.core.events.list({ object_id: s.id }, ctx)).data;
    assert.equal(ev.type, 'v1.identity.verification_session.created');
    assert.equal(ev.context, A.stripeAccount);
    assert.equal((await stripe.v2.core.events.retrieve(ev.id, {}, ctx)).context, A.stripeAccount);
    /* What fetchRelatedObject does with the notification's context. */
    assert.equal((await sessions(stripe).retrieve(s.id, {}, ctx)).id, s.id);
    assert.deepEqual((await stripe.v2.core.events.list({ object_id: s.id })).data, [], 'not the platform\'s');
    const own = await sessions(stripe).create({ type: 'document' });
    assert.equal((await stripe.v2.core.events.list({ object_id: own.id })).data[0].context, null);
});
