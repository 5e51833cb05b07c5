'use strict';
/*
 * API versions and event types (CONTRACT.md §11 "Versions", "Errors"), checked against Stripe's
 * own lists: the pinned SDK's WebhookEndpointCreateParams.ApiVersion and .EnabledEvent (the
 * spec's enums, identity-openapi.json, and what Stripe added after the spec extract). Only real versions are accepted in Stripe-Version and in an endpoint's
 * api_version; every enabled_events value of the spec is accepted and nothing else; an endpoint
 * pinned to a version before a breaking change gets its events in that version's shape.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');
const { sdkError } = require('./lib/expect');

const SDK_DIR = path.join(__dirname, 'node_modules/stripe');
const SDK_DTS = fs.readFileSync(path.join(SDK_DIR, 'cjs/resources/WebhookEndpoints.d.ts'), 'utf8');
const sdkEnum = (type) => [...SDK_DTS.match(new RegExp(`type ${type} =([^;]*);`))[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
/* The spec's enums (identity-openapi.json) and what Stripe added after the spec extract. */
const SDK_VERSIONS = sdkEnum('ApiVersion');
const SDK_EVENTS = sdkEnum('EnabledEvent');
const SESSION_CREATED = 'identity.verification_session.created';

const servers = [];
const receivers = [];
let srv;
const test = h.testWithLog(() => servers);

before(async () => {
    srv = await h.startServer();
    servers.push(srv);
});

after(() => h.closeAll(servers, receivers));

const get = (key, version) => srv.request({
    path: h.SESSIONS_PATH, key, headers: version === undefined ? {} : { 'Stripe-Version': version },
});

test('every Stripe API version is accepted as Stripe-Version and answered in', async () => {
    assert.ok(SDK_VERSIONS.length >= 129, 'the SDK lists every version');
    const key = h.randomKey();
    for (const v of SDK_VERSIONS) {
        const r = await get(key, v);
        assert.equal(r.status, 200, v);
        assert.equal(r.headers['stripe-version'], v);
    }
    const pinned = require(path.join(SDK_DIR, 'cjs/apiVersion.js')).ApiVersion;
    const list = await srv.stripe(key).identity.verificationSessions.list();
    assert.equal(list.lastResponse.headers['stripe-version'], pinned, 'the SDK sends its pinned version');
    /* No header, or an empty one: the default version. */
    assert.equal((await get(key)).headers['stripe-version'], '2026-07-29.dahlia');
    assert.equal((await get(key, '')).headers['stripe-version'], '2026-07-29.dahlia');
});

test('a version Stripe never released is refused with Stripe\'s message, and nothing is done', async () => {
    const key = h.randomKey();
    for (const v of ['garbage', '2026-10-29.endive', '2024-06-21', '2026-07-29.DAHLIA', '2026-07-29', '2026-07-29.dahlia.x', '2011-01-01.acacia']) {
        const r = await get(key, v);
        assert.equal(r.status, 400, v);
        assert.deepEqual(r.json.error.message, `Invalid Stripe API version: ${v}`);
        assert.equal(r.json.error.type, 'invalid_request_error');
        assert.equal(r.headers['stripe-version'], '2026-07-29.dahlia', 'the refused version is not echoed');
    }
    /* Through the SDK: a create with a bad version creates nothing. */
    const bad = srv.stripe(key, { apiVersion: 'garbage' });
    sdkError(await h.rejects(bad.identity.verificationSessions.create({ type: 'document' })), {
        status: 400, type: 'invalid_request_error', message: 'Invalid Stripe API version: garbage',
    });
    assert.equal((await srv.stripe(key).identity.verificationSessions.list()).data.length, 0);
});

test('every enabled_events value Stripe lists is accepted, and an endpoint\'s api_version must be a real version', async () => {
    const stripe = srv.stripe(h.randomKey());
    assert.ok(SDK_EVENTS.length >= 266 && SDK_EVENTS.includes('*'));
    const we = await stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: SDK_EVENTS });
    assert.deepEqual(we.enabled_events.slice().sort(), SDK_EVENTS.slice().sort());
    for (const v of ['2017-04-06', '2025-03-01.dashboard', SDK_VERSIONS[SDK_VERSIONS.length - 1]]) {
        assert.equal((await stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: ['*'], api_version: v })).api_version, v);
    }
    const err = sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: ['*'], api_version: '2026-07-30.dahlia' })), {
        status: 400, type: 'invalid_request_error', code: 'parameter_invalid_value', param: 'api_version',
    });
    assert.match(err.message, /^Invalid api_version: must be one of 2011-01-01, 2011-06-21, /);
    assert.match(err.message, /, or 2026-10-28\.endive$/);
});

/* The event of one session created with an idempotency key, as an endpoint pinned to version
 * receives it, and as GET /v1/events answers a request in that version. */
async function eventIn(version) {
    const rcv = await startReceiver();
    receivers.push(rcv);
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: [SESSION_CREATED], api_version: version });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: `k-${version}` });
    const [d] = await rcv.waitFor(1, (e) => e.data.object.id === s.id);
    const delivered = stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature'], we.secret);
    const listed = await srv.stripe(key, { apiVersion: version }).events.list();
    return { delivered, listed: listed.data[0], requestId: s.lastResponse.requestId };
}

test('an endpoint pinned to a version before 2017-05-25 gets event.request as the request ID', async () => {
    /* docs.stripe.com/changelog/2017-05-25/events-specify-request-id-idempotency-key */
    const old = await eventIn('2017-04-06');
    assert.equal(old.delivered.api_version, '2017-04-06');
    assert.equal(old.delivered.request, old.requestId);
    assert.equal(old.listed.request, old.requestId, 'GET /v1/events in that version too');
    assert.equal(old.listed.api_version, '2026-07-29.dahlia', 'data stays in the version it was created in');

    const since = await eventIn('2017-05-25');
    assert.equal(since.delivered.api_version, '2017-05-25');
    assert.deepEqual(since.delivered.request, { id: since.requestId, idempotency_key: 'k-2017-05-25' });
    assert.deepEqual(since.listed.request, { id: since.requestId, idempotency_key: 'k-2017-05-25' });
    /* Every other field is the same in both versions: additive fields appear in all. */
    assert.deepEqual(Object.keys(old.delivered), Object.keys(since.delivered));
    assert.deepEqual(Object.keys(old.delivered.data.object), Object.keys(since.delivered.data.object));
});
