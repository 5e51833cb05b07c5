'use strict';
/*
 * Webhook endpoints and delivery (CONTRACT.md §8, §11 "Events and webhooks"), through the
 * official SDK and real local receivers: endpoint CRUD with Stripe's shapes and errors, an
 * endpoint gets only its enabled_events, retries with fresh signatures, no further attempts after
 * delete, deliveries that survive kill -9, a receiver that never answers does not slow the API,
 * and `--forward-to` with a secret that stays the same across restarts.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');
const { sdkError } = require('./lib/expect');

const servers = [];
const receivers = [];
let srv;
const test = h.testWithLog(() => servers);

/* Short schedules keep retries within a test: 4 attempts, about 1.2 s apart (so each attempt
 * gets a new second in t=, hence a new signature). */
const SCHEDULE = ['--webhook-retry-schedule', '1200ms,1200ms,1200ms'];

async function receiver(respond) {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
}

async function server(opts = {}) {
    const s = await h.startServer(Object.assign({ args: SCHEDULE }, opts));
    servers.push(s);
    return s;
}

before(async () => {
    srv = await server();
});

after(() => h.closeAll(servers, receivers));

const sessionOf = (id) => (ev) => ev.data && ev.data.object && ev.data.object.id === id;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('create, retrieve, update, list and delete follow the spec', async () => {
    const stripe = srv.stripe(h.randomKey());
    const we = await stripe.webhookEndpoints.create({
        url: 'https://example.com/hook',
        enabled_events: ['identity.verification_session.verified', 'identity.verification_session.requires_input'],
        description: 'Identity outcomes',
        metadata: { team: 'kyc' },
        api_version: '2024-06-20',
    });
    assert.deepEqual(Object.keys(we), ['id', 'object', 'api_version', 'application', 'created', 'description',
        'enabled_events', 'livemode', 'metadata', 'secret', 'status', 'url']);
    assert.match(we.id, /^we_[A-Za-z0-9]{24}$/);
    assert.equal(we.object, 'webhook_endpoint');
    assert.match(we.secret, /^whsec_[A-Za-z0-9]{32}$/);
    assert.equal(we.status, 'enabled');
    assert.equal(we.api_version, '2024-06-20');
    assert.equal(we.application, null);
    assert.equal(we.livemode, false);
    assert.deepEqual(we.metadata, { team: 'kyc' });

    const got = await stripe.webhookEndpoints.retrieve(we.id);
    assert.ok(!('secret' in got), 'the secret is only in the create response');
    assert.deepEqual(Object.assign({}, h.plain(got), { secret: we.secret }), Object.assign({}, h.plain(we)));

    const up = await stripe.webhookEndpoints.update(we.id, {
        disabled: true, description: '', enabled_events: ['*'], metadata: { team: '', env: 'ci' }, url: 'http://example.org/x',
    });
    assert.equal(up.status, 'disabled');
    assert.equal(up.description, null);
    assert.deepEqual(up.enabled_events, ['*']);
    assert.deepEqual(up.metadata, { env: 'ci' });
    assert.equal(up.url, 'http://example.org/x');
    assert.ok(!('secret' in up));
    assert.equal((await stripe.webhookEndpoints.update(we.id, { disabled: false })).status, 'enabled');

    const second = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/x', enabled_events: ['*'] });
    const list = await stripe.webhookEndpoints.list();
    assert.equal(list.url, '/v1/webhook_endpoints');
    assert.deepEqual(list.data.map((w) => w.id), [second.id, we.id]);
    const p1 = await stripe.webhookEndpoints.list({ limit: 1 });
    assert.equal(p1.has_more, true);
    const p2 = await stripe.webhookEndpoints.list({ limit: 1, starting_after: p1.data[0].id });
    assert.deepEqual(p2.data.map((w) => w.id), [we.id]);
    assert.equal(p2.has_more, false);
    const p0 = await stripe.webhookEndpoints.list({ limit: 1, ending_before: we.id });
    assert.deepEqual(p0.data.map((w) => w.id), [second.id]);

    const del = await stripe.webhookEndpoints.del(we.id);
    assert.deepEqual(h.plain(del), { id: we.id, object: 'webhook_endpoint', deleted: true });
    sdkError(await h.rejects(stripe.webhookEndpoints.retrieve(we.id)), {
        status: 404, code: 'resource_missing', param: 'webhook_endpoint', message: `No such webhook_endpoint: '${we.id}'`,
    });
    sdkError(await h.rejects(stripe.webhookEndpoints.del(we.id)), { status: 404, code: 'resource_missing' });
    sdkError(await h.rejects(stripe.webhookEndpoints.update(we.id, { disabled: true })), { status: 404 });

    // Another account sees none of it.
    const other = srv.stripe(h.randomKey());
    assert.equal((await other.webhookEndpoints.list()).data.length, 0);
    sdkError(await h.rejects(other.webhookEndpoints.retrieve(second.id)), { status: 404 });
});

test('invalid parameters get clear 400s, and an account has at most 16 endpoints', async () => {
    const stripe = srv.stripe(h.randomKey());
    for (const url of ['ftp://example.com/x', 'example.com/hook', 'http://', 'http:// spaced/x', 'javascript:alert(1)']) {
        const err = sdkError(await h.rejects(stripe.webhookEndpoints.create({ url, enabled_events: ['*'] })), {
            status: 400, type: 'invalid_request_error', param: 'url',
        });
        assert.match(err.message, /http/, `message for ${url}`);
    }
    sdkError(await h.rejects(stripe.webhookEndpoints.create({ enabled_events: ['*'] })), {
        status: 400, code: 'parameter_missing', param: 'url',
    });
    sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/' })), {
        status: 400, code: 'parameter_missing', param: 'enabled_events',
    });
    sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: ['Not An Event'] })), {
        status: 400, param: 'enabled_events[0]',
    });
    /* Shaped like event types but not in the spec's enum (a partial wildcard never matches
     * anything on Stripe): Stripe's enum refusal, which lists the event types. */
    for (const name of ['identity.Verification_session.created', 'identity.verification-session.created',
        'identity.nope', 'identity.verification_session.*']) {
        const err = sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: ['*', name] })), {
            status: 400, type: 'invalid_request_error', code: 'parameter_invalid_value', param: 'enabled_events[1]',
        });
        assert.match(err.message, /^Invalid enabled_events\[1\]: must be one of account\.application\.authorized, account\.application\.deauthorized, /);
        assert.match(err.message, /, identity\.verification_session\.verified, /);
    }
    sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: ['*'], api_version: 'yesterday' })), {
        status: 400, param: 'api_version',
    });
    sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/', enabled_events: ['*'], secret: 'x' })), {
        status: 400, code: 'parameter_unknown', param: 'secret',
    });
    for (let i = 0; i < 16; i++) await stripe.webhookEndpoints.create({ url: `http://x.test/${i}`, enabled_events: ['*'] });
    const err = sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://x.test/17', enabled_events: ['*'] })), {
        status: 400, type: 'invalid_request_error',
    });
    assert.match(err.message, /16/);
    assert.equal((await stripe.webhookEndpoints.list({ limit: 100 })).data.length, 16);
});

test('an endpoint receives only its enabled_events', async () => {
    const rcvCanceled = await receiver();
    const rcvAll = await receiver();
    const stripe = srv.stripe(h.randomKey());
    const weCanceled = await stripe.webhookEndpoints.create({ url: rcvCanceled.url, enabled_events: ['identity.verification_session.canceled'] });
    const weAll = await stripe.webhookEndpoints.create({ url: rcvAll.url, enabled_events: ['*'] });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.cancel(s.id);

    const all = await rcvAll.waitFor(2, sessionOf(s.id));
    assert.deepEqual(all.map((r) => r.json.type).sort(),
        ['identity.verification_session.canceled', 'identity.verification_session.created']);
    for (const r of all) stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], weAll.secret);
    const only = await rcvCanceled.waitFor(1, sessionOf(s.id));
    assert.equal(only[0].json.type, 'identity.verification_session.canceled');
    stripe.webhooks.constructEvent(only[0].body, only[0].headers['stripe-signature'], weCanceled.secret);
    assert.throws(() => stripe.webhooks.constructEvent(only[0].body, only[0].headers['stripe-signature'], weAll.secret),
        'each endpoint signs with its own secret');
    // No sleep to prove that `created` never arrives: wait until every event of the account
    // counts as delivered (pending_webhooks 0 on both). pending_webhooks counts the endpoints an
    // event was queued for and not yet delivered to, so had `created` been queued for the
    // canceled-only endpoint it could only reach 0 after that delivery had arrived here.
    await h.eventually(async () => (await stripe.events.list({ delivery_success: false })).data.length === 0,
        { what: 'every delivery to succeed' });
    const evs = (await stripe.events.list()).data;
    assert.deepEqual(evs.map((e) => [e.type, e.pending_webhooks]),
        [['identity.verification_session.canceled', 0], ['identity.verification_session.created', 0]]);
    assert.deepEqual(rcvCanceled.events(sessionOf(s.id)).map((r) => r.json.type), ['identity.verification_session.canceled'],
        'created never reaches the canceled-only endpoint');
    assert.equal(rcvAll.events(sessionOf(s.id)).length, 2);
});

test('a redirect is not a delivery: a 302 is retried until a 2xx', async () => {
    // CONTRACT.md §8: only a 2xx is a success (Stripe does not follow redirects).
    let n = 0;
    const rcv = await receiver(() => (++n === 1 ? 302 : 200));
    const stripe = srv.stripe(h.randomKey());
    await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['identity.verification_session.created'] });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const got = await rcv.waitFor(2, sessionOf(s.id), 20000);
    assert.equal(got[0].json.id, got[1].json.id, 'the same event, retried after the 302');
    const ev = await h.eventually(async () => {
        const e = (await stripe.events.list()).data[0];
        return e.pending_webhooks === 0 && e;
    }, { what: 'pending_webhooks 0 after the 200' });
    assert.equal(ev.id, got[0].json.id);
});

test('a receiver that fails twice then answers 200 gets the event three times, freshly signed', async () => {
    // Per event: the first two attempts fail, the third succeeds.
    const tries = new Map();
    const rcv = await receiver((req) => {
        const id = req.json && req.json.id;
        tries.set(id, (tries.get(id) || 0) + 1);
        return tries.get(id) <= 2 ? 500 : 200;
    });
    const stripe = srv.stripe(h.randomKey());
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['identity.verification_session.created'] });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const got = await rcv.waitFor(3, sessionOf(s.id), 20000);
    const ts = got.map((r) => {
        const ev = stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], we.secret);
        assert.equal(ev.data.object.id, s.id);
        return Number(/t=(\d+)/.exec(r.headers['stripe-signature'])[1]);
    });
    assert.equal(new Set(got.map((r) => r.json.id)).size, 1, 'the same event each time');
    assert.ok(ts[0] < ts[1] && ts[1] < ts[2], `a fresh t= per attempt: ${ts}`);
    assert.equal(new Set(got.map((r) => r.headers['stripe-signature'])).size, 3, 'a fresh signature per attempt');
    const ev = await h.eventually(async () => {
        const e = (await stripe.events.list()).data[0];
        return e.pending_webhooks === 0 && e;
    }, { what: 'pending_webhooks 0 after the successful retry' });
    assert.equal(ev.id, got[0].json.id);
    // No attempt after the success, shown without a sleep: a second event, created only now
    // (after the success was recorded), fails twice too. Its third attempt is due two retry
    // intervals after its first (at least 2160 ms with the ±10% jitter), so at least 840 ms
    // after a fourth attempt of the first event would have been due (at most 1320 ms after the
    // success); the worker starts due attempts in due order, so by the time that third attempt
    // has arrived and is recorded, a fourth one would be here.
    const s2 = await stripe.identity.verificationSessions.create({ type: 'document' });
    const got2 = await rcv.waitFor(3, sessionOf(s2.id), 20000);
    await h.eventually(async () => (await stripe.events.list({ delivery_success: false })).data.length === 0,
        { what: 'the second event to be delivered' });
    assert.ok(got2[2].t - got[2].t > 2000, 'the later event\'s last attempt came two retry intervals after the success');
    assert.equal(rcv.events(sessionOf(s.id)).length, 3, 'no attempt after the success');
});

/*
 * A witness for "no attempt happened" that needs no sleep: a second endpoint, subscribed to the
 * same event at the same moment, whose receiver fails twice and then answers 200. Its third
 * attempt is due two retry intervals after the first attempts (2160..2640 ms with the ±10%
 * jitter), at least 840 ms after the retry that must not happen was or would have been due
 * (1080..1320 ms); the worker starts due attempts in due order, so once the witness's third
 * attempt has arrived, that retry would have arrived too.
 */
async function witness(stripe) {
    let n = 0;
    const rcv = await receiver(() => (++n <= 2 ? 500 : 200));
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });
    return { rcv, we };
}

test('a deleted endpoint gets no further attempts; the event stays undelivered', async () => {
    const rcv = await receiver(() => 503);
    const stripe = srv.stripe(h.randomKey());
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });
    const w = await witness(stripe);
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await rcv.waitFor(1, sessionOf(s.id));
    await stripe.webhookEndpoints.del(we.id);
    const seen = await w.rcv.waitFor(3, sessionOf(s.id), 20000);
    assert.equal(seen[2].json.id, seen[0].json.id);
    assert.equal(rcv.events(sessionOf(s.id)).length, 1, 'no retry after delete');
    // The witness succeeded; the deleted endpoint's delivery never will: still pending.
    const ev = await h.eventually(async () => {
        const e = (await stripe.events.list()).data[0];
        return e.pending_webhooks === 1 && e;
    }, { what: 'the witness delivery to count' });
    assert.equal(ev.id, seen[0].json.id);
    const failed = await stripe.events.list({ delivery_success: false });
    assert.deepEqual(failed.data.map((e) => e.id), [ev.id]);
});

test('a disabled endpoint gets no attempts until it is enabled again', async () => {
    let up = false;
    const rcv = await receiver(() => (up ? 200 : 500));
    const stripe = srv.stripe(h.randomKey());
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });
    const w = await witness(stripe);
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    await rcv.waitFor(1, sessionOf(s.id));
    await stripe.webhookEndpoints.update(we.id, { disabled: true });
    await w.rcv.waitFor(3, sessionOf(s.id), 20000); // see witness()
    assert.equal(rcv.events(sessionOf(s.id)).length, 1, 'no attempt while disabled');
    up = true;
    await stripe.webhookEndpoints.update(we.id, { disabled: false });
    await rcv.waitFor(2, sessionOf(s.id));
    await h.eventually(async () => (await stripe.events.list({ delivery_success: true })).data.length === 1,
        { what: 'the resumed delivery to succeed' });
});

test('kill -9 with deliveries pending: after a restart every event still arrives', async () => {
    let up = false;
    const rcv = await receiver(() => (up ? 200 : 500));
    const s9 = await server();
    const stripe = s9.stripe(h.randomKey());
    const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push((await stripe.identity.verificationSessions.create({ type: 'document' })).id);
    await s9.kill9();
    up = true;
    await s9.restart();
    const want = new Set(ids);
    await h.eventually(() => {
        const seen = new Set(rcv.events((ev) => ev.type === 'identity.verification_session.created').map((r) => r.json.data.object.id));
        return [...want].every((id) => seen.has(id));
    }, { timeout: 20000, what: 'every created event after the restart' });
    for (const r of rcv.events()) stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], we.secret);
    await h.eventually(async () => (await stripe.events.list({ delivery_success: true, limit: 100 })).data.length === 20,
        { what: 'all 20 events to count as delivered' });
});

test('a receiver that never answers does not delay API responses', async () => {
    const rcv = await receiver(() => 'hang');
    const quiet = srv.stripe(h.randomKey());
    const loud = srv.stripe(h.randomKey());
    await loud.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });
    const time = async (stripe) => {
        const t0 = process.hrtime.bigint();
        await stripe.identity.verificationSessions.create({ type: 'document' });
        return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const base = [];
    const hung = [];
    for (let i = 0; i < 30; i++) {
        base.push(await time(quiet));
        hung.push(await time(loud));
    }
    await rcv.waitFor(8, () => true, 10000); // the worker did try (and is stuck on) several
    const mb = median(base);
    const mh = median(hung);
    assert.ok(mh < mb * 2 + 5, `create latency with a hanging receiver ${mh.toFixed(2)} ms vs ${mb.toFixed(2)} ms without`);
});

test('--forward-to forwards every account\'s events, with a secret kept across restarts', async () => {
    const rcv = await receiver();
    const fwd = await server({ args: [...SCHEDULE, '--forward-to', rcv.url] });
    const secretOf = (log) => {
        const m = [...log.matchAll(/Ready! Your webhook signing secret is (whsec_[A-Za-z0-9]+) \(forwarding to (\S+)\)/g)];
        assert.ok(m.length > 0, 'the secret is printed at start');
        return m[m.length - 1];
    };
    const first = secretOf(fwd.log);
    assert.equal(first[2], rcv.url);
    const a = fwd.stripe(h.randomKey());
    const b = fwd.stripe(h.randomKey());
    const sa = await a.identity.verificationSessions.create({ type: 'document' });
    const sb = await b.identity.verificationSessions.create({ type: 'id_number' });
    for (const id of [sa.id, sb.id]) {
        const [r] = await rcv.waitFor(1, sessionOf(id));
        a.webhooks.constructEvent(r.body, r.headers['stripe-signature'], first[1]);
    }
    assert.equal((await a.webhookEndpoints.list()).data.length, 0, 'the forward target is no account\'s endpoint');
    await fwd.stop();
    await fwd.restart();
    assert.equal((fwd.log.match(/Ready! Your webhook signing secret/g) || []).length, 2, 'printed again at the restart');
    assert.equal(secretOf(fwd.log)[1], first[1], 'same secret after a restart of the same data directory');
    const sc = await a.identity.verificationSessions.create({ type: 'document' });
    const [r] = await rcv.waitFor(1, sessionOf(sc.id));
    a.webhooks.constructEvent(r.body, r.headers['stripe-signature'], first[1]);
    assert.ok(!/whsec_/.test(fwd.log.replace(/Ready! Your webhook signing secret is whsec_\S+/g, '')),
        'the secret appears nowhere else in the log');
});

test('live mode requires https and refuses private addresses unless allowed', async () => {
    const key = 'sk_live_' + h.randomAlnum(24);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-keys-'));
    const keys = path.join(dir, 'keys');
    fs.writeFileSync(keys, `${crypto.createHash('sha256').update(key).digest('hex')} acct_live1\n`);
    try {
        const live = await server({ args: [...SCHEDULE, '--keys-file', keys] });
        const stripe = live.stripe(key);
        sdkError(await h.rejects(stripe.webhookEndpoints.create({ url: 'http://example.com/x', enabled_events: ['*'] })), {
            status: 400, param: 'url',
        });
        for (const url of ['https://127.0.0.1/x', 'https://localhost:8443/x', 'https://10.1.2.3/x', 'https://[::1]/x', 'https://192.168.0.1/']) {
            sdkError(await h.rejects(stripe.webhookEndpoints.create({ url, enabled_events: ['*'] })), { status: 400, param: 'url' });
        }
        const ok = await stripe.webhookEndpoints.create({ url: 'https://example.com/x', enabled_events: ['*'] });
        assert.equal(ok.livemode, true);
        await live.stop();

        const allowed = await server({ args: [...SCHEDULE, '--keys-file', keys, '--allow-private-webhooks'], dataDir: live.dataDir });
        const w = await allowed.stripe(key).webhookEndpoints.create({ url: 'https://127.0.0.1/x', enabled_events: ['*'] });
        assert.equal(w.url, 'https://127.0.0.1/x');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
