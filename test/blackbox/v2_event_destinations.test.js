'use strict';
/*
 * v2 event destinations and thin events (CONTRACT.md §11 "Versions"), through the pinned SDK's
 * v2 resources (stripe.v2.core.eventDestinations, stripe.v2.core.events) and a real receiver:
 * a thin destination gets one signed thin notification per identity event, which
 * stripe.parseEventNotification accepts and whose fetchEvent() / fetchRelatedObject() lead to
 * the v2 event and the session; CRUD, enable/disable, ping, v2 pagination and errors.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');

const servers = [];
const receivers = [];
let srv;
const test = h.testWithLog(() => servers);

const TH = '/v1/test_helpers/identity/verification_sessions';
const SIX = ['created', 'processing', 'verified', 'requires_input', 'canceled', 'redacted'].map(
    (s) => `v1.identity.verification_session.${s}`);

before(async () => {
    srv = await h.startServer({ args: ['--webhook-retry-schedule', '1s,1s'] });
    servers.push(srv);
});

after(() => h.closeAll(servers, receivers));

async function receiver() {
    const r = await startReceiver();
    receivers.push(r);
    return r;
}

async function helper(key, id, action) {
    const res = await srv.request({ method: 'POST', path: `${TH}/${id}/${action}`, key,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200, `${action}: ${res.text}`);
    return res.json;
}

async function thinDestination(stripe, url, extra = {}) {
    return stripe.v2.core.eventDestinations.create(Object.assign({
        name: 'identity outcomes',
        type: 'webhook_endpoint',
        event_payload: 'thin',
        enabled_events: SIX,
        webhook_endpoint: { url },
        include: ['webhook_endpoint.signing_secret', 'webhook_endpoint.url'],
    }, extra));
}

test('a thin destination gets all six identity events, each accepted by parseEventNotification', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const r = await receiver();
    const ed = await thinDestination(stripe, r.url);
    assert.match(ed.id, /^ed_test_/);
    assert.equal(ed.object, 'v2.core.event_destination');
    assert.equal(ed.event_payload, 'thin');
    assert.equal(ed.status, 'enabled');
    assert.match(ed.webhook_endpoint.signing_secret, /^whsec_/);
    assert.equal(ed.webhook_endpoint.url, r.url);
    assert.match(ed.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const secret = ed.webhook_endpoint.signing_secret;

    const a = await stripe.identity.verificationSessions.create({ type: 'document' });
    await helper(key, a.id, 'process');
    await helper(key, a.id, 'require_input');
    await helper(key, a.id, 'verify');
    await stripe.identity.verificationSessions.redact(a.id);
    const b = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.cancel(b.id);

    /* a: created, processing, requires_input, processing, verified, redacted; b: created, canceled */
    const got = await r.waitFor(8);
    const types = new Set();
    for (const req of got) {
        const n = stripe.parseEventNotification(req.body, req.headers['stripe-signature'], secret);
        assert.equal(n.object, 'v2.core.event');
        assert.match(n.id, /^evt_test_/);
        assert.equal(n.livemode, false);
        assert.equal(n.related_object.type, 'identity.verification_session');
        assert.equal(n.related_object.url, `/v1/identity/verification_sessions/${n.related_object.id}`);
        assert.equal(n.data, undefined, 'a thin notification carries no snapshot');
        types.add(n.type);
        const session = await n.fetchRelatedObject();
        assert.equal(session.object, 'identity.verification_session');
        assert.equal(session.id, n.related_object.id);
        const ev = await n.fetchEvent();
        assert.equal(ev.id, n.id);
        assert.equal(ev.type, n.type);
        assert.match(ev.snapshot_event, /^evt_/);
        const v1 = await stripe.events.retrieve(ev.snapshot_event);
        assert.equal(`v1.${v1.type}`, ev.type);
    }
    assert.deepEqual([...types].sort(), SIX.slice().sort());

    /* The v1 snapshot event of an API request carries its reason. */
    const created = got.map((q) => JSON.parse(q.body)).find((j) => j.type === SIX[0]);
    assert.equal(created.reason.type, 'request');
    assert.match(created.reason.request.id, /^req_/);

    /* A tampered body or a wrong secret is refused by the SDK. */
    const one = got[0];
    assert.throws(() => stripe.parseEventNotification(one.body.replace('v2.core.event', 'v2.core.evenT'),
        one.headers['stripe-signature'], secret), /signature/i);
    assert.throws(() => stripe.parseEventNotification(one.body, one.headers['stripe-signature'],
        'whsec_wrong'), /signature/i);
    /* A v1 event is refused by the thin parser, as Stripe's SDK does. */
    assert.throws(() => stripe.parseEventNotification(JSON.stringify({ object: 'event' }),
        one.headers['stripe-signature'], secret));
});

test('v2 events: list with filters and page urls, retrieve, errors', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await helper(key, s.id, 'process');
    await helper(key, s.id, 'verify');
    const other = await stripe.identity.verificationSessions.create({ type: 'document' });

    const all = await stripe.v2.core.events.list({ object_id: s.id });
    assert.deepEqual(all.data.map((e) => e.type), [SIX[2], SIX[1], SIX[0]]);
    assert.equal(all.next_page_url, null);
    assert.equal(all.previous_page_url, null);
    for (const e of all.data) {
        assert.equal(e.object, 'v2.core.event');
        assert.equal(e.related_object.id, s.id);
        const related = await e.fetchRelatedObject();
        assert.equal(related.id, s.id);
    }
    const verified = await stripe.v2.core.events.list({ types: [SIX[2]] });
    assert.deepEqual(verified.data.map((e) => e.related_object.id), [s.id]);

    /* Pages of one: next_page_url carries the filters, and auto-pagination walks them all. */
    const first = await stripe.v2.core.events.list({ limit: 1, object_id: s.id });
    assert.equal(first.data.length, 1);
    assert.match(first.next_page_url, /^\/v2\/core\/events\?/);
    const walked = [];
    for await (const e of stripe.v2.core.events.list({ limit: 1, object_id: s.id })) walked.push(e.id);
    assert.deepEqual(walked, all.data.map((e) => e.id));
    const everything = await stripe.v2.core.events.list({ limit: 100 });
    assert.ok(everything.data.some((e) => e.related_object.id === other.id));

    const one = await stripe.v2.core.events.retrieve(all.data[0].id);
    assert.equal(one.id, all.data[0].id);
    /* reason follows the v1 event's request: null for a background change. */
    const snap = await stripe.events.retrieve(one.snapshot_event);
    if (snap.request && snap.request.id) assert.equal(one.reason.request.id, snap.request.id);
    else assert.equal(one.reason, null);

    await assert.rejects(stripe.v2.core.events.retrieve('evt_test_nope'), (err) => {
        assert.equal(err.statusCode, 404);
        assert.equal(err.type, 'StripeInvalidRequestError');
        assert.equal(err.raw.code, 'resource_missing');
        return true;
    });
    /* A v1 event id is no v2 id, and another account's event is not found. */
    await assert.rejects(stripe.v2.core.events.retrieve(one.snapshot_event), (err) => err.statusCode === 404);
    await assert.rejects(srv.stripe(h.randomKey()).v2.core.events.retrieve(one.id),
        (err) => err.statusCode === 404);
    await assert.rejects(stripe.v2.core.events.list({ types: ['identity.verification_session.created'] }),
        (err) => err.statusCode === 400 && err.raw.param === 'types[0]');
});

test('destination CRUD, enable, disable, ping, list pages and errors', async () => {
    const stripe = srv.stripe(h.randomKey());
    const r = await receiver();
    const ed = await thinDestination(stripe, r.url, { description: 'kyc', metadata: { team: 'id' },
        include: undefined });
    assert.equal(ed.webhook_endpoint.signing_secret, null, 'the secret only when included');
    assert.equal(ed.webhook_endpoint.url, null, 'the url only when included');
    assert.deepEqual(ed.metadata, { team: 'id' });
    assert.equal(ed.snapshot_api_version, null);

    const got = await stripe.v2.core.eventDestinations.retrieve(ed.id, { include: ['webhook_endpoint.url'] });
    assert.equal(got.webhook_endpoint.url, r.url);
    assert.equal(got.webhook_endpoint.signing_secret, null);

    const up = await stripe.v2.core.eventDestinations.update(ed.id, { name: 'renamed',
        enabled_events: [SIX[2]], metadata: { team: null, extra: 'x' } });
    assert.equal(up.name, 'renamed');
    assert.deepEqual(up.enabled_events, [SIX[2]]);
    assert.deepEqual(up.metadata, { extra: 'x' });
    assert.ok(up.updated >= ed.updated);

    const off = await stripe.v2.core.eventDestinations.disable(ed.id);
    assert.equal(off.status, 'disabled');
    assert.deepEqual(off.status_details, { disabled: { reason: 'user' } });
    const on = await stripe.v2.core.eventDestinations.enable(ed.id);
    assert.equal(on.status, 'enabled');

    const ping = await stripe.v2.core.eventDestinations.ping(ed.id);
    assert.equal(ping.type, 'v2.core.event_destination.ping');
    assert.equal(ping.related_object.id, ed.id);
    const [delivered] = await r.waitFor(1, (j) => j.type === 'v2.core.event_destination.ping');
    assert.equal(delivered.json.id, ping.id);
    const pinged = await stripe.v2.core.events.retrieve(ping.id);
    const dest = await pinged.fetchRelatedObject();
    assert.equal(dest.id, ed.id);
    /* A ping is a v2 event: the v1 Events API does not show it. */
    const v1 = await stripe.events.list({ limit: 100 });
    assert.ok(!v1.data.some((e) => e.type.startsWith('v2.')));

    const ed2 = await thinDestination(stripe, r.url);
    const page1 = await stripe.v2.core.eventDestinations.list({ limit: 1 });
    assert.deepEqual(page1.data.map((d) => d.id), [ed2.id]);
    assert.match(page1.next_page_url, /page=/);
    const ids = [];
    for await (const d of stripe.v2.core.eventDestinations.list({ limit: 1 })) ids.push(d.id);
    assert.deepEqual(ids, [ed2.id, ed.id]);
    /* v1 webhook endpoints are a list of their own. */
    assert.equal((await stripe.webhookEndpoints.list()).data.length, 0);
    await assert.rejects(stripe.webhookEndpoints.retrieve(ed.id), (err) => err.statusCode === 404);

    const del = await stripe.v2.core.eventDestinations.del(ed.id);
    assert.equal(del.id, ed.id);
    await assert.rejects(stripe.v2.core.eventDestinations.retrieve(ed.id), (err) => {
        assert.equal(err.statusCode, 404);
        assert.equal(err.raw.code, 'resource_missing');
        assert.match(err.message, /No such event_destination/);
        return true;
    });
    await assert.rejects(stripe.v2.core.eventDestinations.disable('ed_test_missing'),
        (err) => err.statusCode === 404);
    /* Another account does not see it. */
    await assert.rejects(srv.stripe(h.randomKey()).v2.core.eventDestinations.retrieve(ed2.id),
        (err) => err.statusCode === 404);
});

test('v2 request errors: bad bodies, bad values, unsupported types', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const bad = async (params, param) => {
        await assert.rejects(stripe.v2.core.eventDestinations.create(params), (err) => {
            assert.equal(err.statusCode, 400, JSON.stringify(err.raw));
            assert.equal(err.type, 'StripeInvalidRequestError');
            if (param) assert.equal(err.raw.param, param);
            return true;
        });
    };
    const base = { name: 'n', type: 'webhook_endpoint', event_payload: 'thin', enabled_events: [SIX[0]],
        webhook_endpoint: { url: 'http://127.0.0.1:9/x' } };
    await bad(Object.assign({}, base, { enabled_events: ['identity.verification_session.created'] }),
        'enabled_events[0]');
    /* Names outside Stripe's event types never receive anything: refused (CONTRACT.md §11). */
    for (const name of ['v1.identity.nope', 'v1.identity.verification_session.*', 'v1.*', 'v2.core.nope'])
        await bad(Object.assign({}, base, { enabled_events: [SIX[0], name] }), 'enabled_events[1]');
    await bad(Object.assign({}, base, { event_payload: 'snapshot', enabled_events: ['identity.nope'] }),
        'enabled_events[0]');
    await bad(Object.assign({}, base, { event_payload: 'fat' }), 'event_payload');
    await bad(Object.assign({}, base, { type: 'amazon_eventbridge', webhook_endpoint: undefined,
        amazon_eventbridge: { aws_account_id: '1', aws_region: 'us-east-1' } }), 'type');
    await bad(Object.assign({}, base, { webhook_endpoint: { url: 'ftp://x' } }), 'webhook_endpoint.url');
    await bad(Object.assign({}, base, { snapshot_api_version: '2024-06-20' }), 'snapshot_api_version');
    await bad(Object.assign({}, base, { bogus: 1 }), 'bogus');
    await bad({ type: 'webhook_endpoint' }, undefined);

    for (const body of ['{"name":', '[1]', '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}', '{"name":"\\u0000"}']) {
        const res = await srv.request({ method: 'POST', path: '/v2/core/event_destinations', key, body,
            headers: { 'Content-Type': 'application/json' } });
        assert.equal(res.status, 400, body);
        assert.equal(res.json.error.type, 'invalid_request_error');
        assert.match(res.json.error.message, /JSON/);
    }
    const form = await srv.request({ method: 'POST', path: '/v2/core/event_destinations', key,
        body: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 400);
    assert.match(form.json.error.message, /JSON/);
});

test('a snapshot destination gets v1 events, signed alike', async () => {
    const stripe = srv.stripe(h.randomKey());
    const r = await receiver();
    const ed = await stripe.v2.core.eventDestinations.create({ name: 's', type: 'webhook_endpoint',
        event_payload: 'snapshot', enabled_events: ['identity.verification_session.created'],
        snapshot_api_version: '2024-06-20', webhook_endpoint: { url: r.url },
        include: ['webhook_endpoint.signing_secret'] });
    assert.equal(ed.snapshot_api_version, '2024-06-20');
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const [req] = await r.waitFor(1);
    const ev = stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature'],
        ed.webhook_endpoint.signing_secret);
    assert.equal(ev.object, 'event');
    assert.equal(ev.type, 'identity.verification_session.created');
    assert.equal(ev.api_version, '2024-06-20');
    assert.equal(ev.data.object.id, s.id);
});
