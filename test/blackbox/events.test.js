'use strict';
/*
 * Events (CONTRACT.md §4, §8, §11 "Events and webhooks"): every API-caused status change
 * (created, canceled, redacted) is listed by GET /v1/events with Stripe's event shape, retrieves
 * by id, and is delivered to a subscribed endpoint, signed so that the official SDK's
 * constructEvent accepts it; the list's filters (type with '*', types[], created,
 * delivery_success) and pagination; account isolation.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');
const { sdkError } = require('./lib/expect');

let srv;
let rcv;
const test = h.testWithLog(() => srv);

before(async () => {
    rcv = await startReceiver();
    srv = await h.startServer({ redactionDelay: 0, args: ['--webhook-retry-schedule', '200ms,400ms'] });
});

after(async () => {
    try {
        if (srv) await srv.close();
    } finally {
        if (rcv) await rcv.close();
    }
});

const EVENT_PROPS = ['id', 'object', 'api_version', 'created', 'data', 'livemode', 'pending_webhooks', 'request', 'type'];

function eventShape(e) {
    assert.deepEqual(Object.keys(e), EVENT_PROPS, 'event properties, in Stripe order');
    assert.match(e.id, /^evt_[A-Za-z0-9]{24}$/);
    assert.equal(e.object, 'event');
    assert.equal(e.api_version, '2026-07-29.dahlia');
    assert.ok(Number.isInteger(e.created));
    assert.equal(e.livemode, false);
    assert.ok(Number.isInteger(e.pending_webhooks));
    assert.equal(e.data.object.object, 'identity.verification_session');
    assert.ok(!('verified_outputs' in e.data.object), 'data.object is never expanded');
    assert.ok(!('previous_attributes' in e.data), 'no previous_attributes outside *.updated');
    assert.deepEqual(Object.keys(e.request).sort(), ['id', 'idempotency_key']);
}

test('created, canceled and redacted are listed, retrievable and delivered with valid signatures', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });

    const a = await stripe.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: 'idem-a-' + key });
    const createReq = a.lastResponse.requestId;
    const canceled = await stripe.identity.verificationSessions.cancel(a.id);
    const b = await stripe.identity.verificationSessions.create({ type: 'id_number', metadata: { k: 'v' } });
    await stripe.identity.verificationSessions.redact(b.id);

    // Redaction completes in the background: wait for its event.
    const list = await h.eventually(async () => {
        const l = await stripe.events.list({ limit: 100 });
        return l.data.some((e) => e.type === 'identity.verification_session.redacted') && l;
    }, { what: 'the redacted event' });
    const types = list.data.map((e) => `${e.type}:${e.data.object.id}`);
    assert.deepEqual(types, [
        `identity.verification_session.redacted:${b.id}`,
        `identity.verification_session.canceled:${b.id}`,
        `identity.verification_session.created:${b.id}`,
        `identity.verification_session.canceled:${a.id}`,
        `identity.verification_session.created:${a.id}`,
    ], 'newest first');
    for (const e of list.data) eventShape(e);

    const [redacted, bCanceled, , aCanceled, aCreated] = list.data;
    // request: {id, idempotency_key} for API-caused events, nulls for background ones.
    assert.deepEqual(aCreated.request, { id: createReq, idempotency_key: 'idem-a-' + key });
    // (the SDK sends its own Idempotency-Key on every POST; the event carries whatever was sent)
    assert.equal(aCanceled.request.id, canceled.lastResponse.requestId);
    assert.equal(typeof aCanceled.request.idempotency_key, 'string');
    assert.equal(redacted.request.id, null);
    assert.equal(redacted.request.idempotency_key, null);
    // data.object is the session right after the change.
    assert.equal(aCreated.data.object.status, 'requires_input');
    assert.equal(aCanceled.data.object.status, 'canceled');
    assert.equal(aCanceled.data.object.client_secret, null);
    assert.equal(bCanceled.data.object.redaction.status, 'processing');
    assert.equal(redacted.data.object.redaction.status, 'redacted');
    assert.deepEqual(redacted.data.object.metadata, {}, 'redaction reaches the event copies too');

    // Retrieve by id gives the same object.
    const one = await stripe.events.retrieve(aCreated.id);
    assert.equal(one.id, aCreated.id);
    assert.deepEqual(h.plain(one).data, h.plain(aCreated).data);

    // Delivered: one POST per event, accepted by the official SDK's constructEvent.
    const mine = (ev) => [a.id, b.id].includes(ev.data.object.id);
    const got = await rcv.waitFor(5, mine);
    const ids = new Set();
    for (const r of got) {
        assert.equal(r.method, 'POST');
        assert.match(r.headers['content-type'], /^application\/json/);
        assert.match(r.headers['stripe-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
        const ev = stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], we.secret);
        assert.equal(ev.object, 'event');
        ids.add(ev.id);
        assert.throws(() => stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], 'whsec_wrong'));
    }
    assert.deepEqual([...ids].sort(), list.data.map((e) => e.id).sort(), 'every listed event arrived');

    // pending_webhooks drops to 0 once delivered, and delivery_success follows it.
    await h.eventually(async () => (await stripe.events.retrieve(aCreated.id)).pending_webhooks === 0,
        { what: 'pending_webhooks to reach 0' });
    const ok = await h.eventually(async () => {
        const l = await stripe.events.list({ delivery_success: true, limit: 100 });
        return l.data.length === 5 && l;
    }, { what: 'every event to be delivered' });
    assert.equal(ok.data.length, 5);
    assert.equal((await stripe.events.list({ delivery_success: false })).data.length, 0);
});

test('an event without endpoints has pending_webhooks 0 and counts as delivered', async () => {
    const stripe = srv.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const l = await stripe.events.list();
    assert.equal(l.data.length, 1);
    assert.equal(l.data[0].pending_webhooks, 0);
    assert.equal(l.data[0].data.object.id, s.id);
    assert.equal((await stripe.events.list({ delivery_success: true })).data.length, 1);
});

test('type with wildcards, types[], created and pagination', async () => {
    const stripe = srv.stripe(h.randomKey());
    const vs = stripe.identity.verificationSessions;
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await vs.create({ type: 'document' }));
    await vs.cancel(sessions[0].id);
    await vs.cancel(sessions[1].id);

    const all = await stripe.events.list({ limit: 100 });
    assert.equal(all.data.length, 6);
    assert.equal(all.url, '/v1/events');
    const byType = async (params) => (await stripe.events.list(Object.assign({ limit: 100 }, params))).data;
    assert.equal((await byType({ type: 'identity.verification_session.created' })).length, 4);
    assert.equal((await byType({ type: 'identity.verification_session.*' })).length, 6);
    assert.equal((await byType({ type: '*.canceled' })).length, 2);
    assert.equal((await byType({ type: '*' })).length, 6);
    assert.equal((await byType({ type: 'identity.verification_session.verified' })).length, 0);
    assert.equal((await byType({ types: ['identity.verification_session.canceled', 'identity.verification_session.created'] })).length, 6);
    assert.equal((await byType({ types: ['identity.verification_session.canceled'] })).length, 2);

    const created = all.data[0].created;
    assert.equal((await byType({ created: { gte: created - 1000 } })).length, 6);
    assert.equal((await byType({ created: { gt: created + 10 } })).length, 0);

    // Pagination exactly like the sessions list.
    const p1 = await stripe.events.list({ limit: 4 });
    assert.equal(p1.data.length, 4);
    assert.equal(p1.has_more, true);
    const p2 = await stripe.events.list({ limit: 4, starting_after: p1.data[3].id });
    assert.equal(p2.data.length, 2);
    assert.equal(p2.has_more, false);
    assert.deepEqual([...p1.data, ...p2.data].map((e) => e.id), all.data.map((e) => e.id));
    const back = await stripe.events.list({ limit: 2, ending_before: p2.data[0].id });
    assert.deepEqual(back.data.map((e) => e.id), all.data.slice(2, 4).map((e) => e.id));
    assert.equal(back.has_more, true);
    // autoPagingToArray walks every page through the SDK.
    const walked = await stripe.events.list({ limit: 2 }).autoPagingToArray({ limit: 100 });
    assert.deepEqual(walked.map((e) => e.id), all.data.map((e) => e.id));
});

test('list and retrieve errors', async () => {
    const stripe = srv.stripe(h.randomKey());
    sdkError(await h.rejects(stripe.events.retrieve('evt_nope')), {
        status: 404, type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: "No such event: 'evt_nope'",
    });
    sdkError(await h.rejects(stripe.events.list({ type: 'a.b', types: ['a.b'] })), { status: 400, param: 'types' });
    const many = Array.from({ length: 21 }, (_, i) => `identity.verification_session.t${i}`);
    sdkError(await h.rejects(stripe.events.list({ types: many })), { status: 400, code: 'parameter_invalid_array_too_long' });
    for (const cursor of ['starting_after', 'ending_before']) {
        sdkError(await h.rejects(stripe.events.list({ [cursor]: 'evt_nope' })), {
            status: 400, type: 'invalid_request_error', code: 'resource_missing', param: cursor,
            message: "No such event: 'evt_nope'",
        });
    }
    sdkError(await h.rejects(stripe.events.list({ delivery_success: 'maybe' })), { status: 400, code: 'parameter_invalid_boolean' });
    sdkError(await h.rejects(stripe.events.list({ foo: 1 })), { status: 400, code: 'parameter_unknown', param: 'foo' });
    sdkError(await h.rejects(stripe.events.list({ expand: ['data.nope'] })), {
        status: 400, type: 'invalid_request_error', param: 'expand[0]', message: 'This property cannot be expanded (data.nope).',
    });
    // request and data are expandable (x-expandableFields) but always inline: expanding them is
    // accepted and changes nothing.
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const plainList = await stripe.events.list();
    for (const expand of [['data.request'], ['data.data'], ['data.request', 'data.data']]) {
        const expanded = await stripe.events.list({ expand });
        assert.deepEqual(h.plain(expanded), h.plain(plainList), `expand ${expand}`);
    }
    assert.equal(plainList.data.length, 1);
    assert.equal(plainList.data[0].type, 'identity.verification_session.created');
    assert.equal(plainList.data[0].data.object.id, s.id);
    assert.deepEqual(Object.keys(plainList.data[0].request).sort(), ['id', 'idempotency_key']);
    assert.equal(plainList.data[0].request.id, s.lastResponse.requestId);
    const one = await stripe.events.retrieve(plainList.data[0].id, { expand: ['request'] });
    assert.deepEqual(h.plain(one), h.plain(plainList.data[0]));
});

test('one account never sees another account\'s events', async () => {
    const one = srv.stripe(h.randomKey());
    const two = srv.stripe(h.randomKey());
    await one.identity.verificationSessions.create({ type: 'document' });
    const ev = (await one.events.list()).data[0];
    assert.equal((await two.events.list()).data.length, 0);
    sdkError(await h.rejects(two.events.retrieve(ev.id)), { status: 404, code: 'resource_missing' });
    for (const cursor of ['starting_after', 'ending_before']) {
        sdkError(await h.rejects(two.events.list({ [cursor]: ev.id })), {
            status: 400, type: 'invalid_request_error', code: 'resource_missing', param: cursor,
            message: `No such event: '${ev.id}'`,
        });
    }
});
