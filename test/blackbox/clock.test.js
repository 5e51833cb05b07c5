'use strict';
/*
 * Behaviour that depends on time, tested by moving the server's clock instead of sleeping
 * (`--test-clock`, README "Testing with time"): idempotency keys expire after 24 h, webhook
 * retries follow the test-mode schedule (10 min, 1 h, 3 h, ±10%) and then stop, a redaction stays
 * processing until its delay has passed, a delayed hosted-page outcome arrives at its due time,
 * client_secret rotates after 24 h and the hosted link expires after 48 h, events are kept 30
 * days. The clock's answer to an advance comes after every redaction and delayed outcome then
 * due is done, so "not yet" is checked right after an advance, never after a sleep.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const x = require('./lib/expect');
const { startReceiver } = require('./lib/receiver');

const HOUR = 3600;
const MIN = 60;
const servers = [];
const receivers = [];
let srv; /* --test-clock, redaction delay 1 h, hosted delay 1 h */
const test = h.testWithLog(() => servers);

before(async () => {
    srv = await h.startServer({
        args: ['--test-clock', '--redaction-delay', String(HOUR * 1000), '--hosted-delay', String(HOUR * 1000)],
    });
    servers.push(srv);
});

after(() => h.closeAll(servers, receivers));

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };

async function clockNow(s, key) {
    const r = await s.request({ path: '/v1/test_helpers/verifyd/clock', key });
    assert.equal(r.status, 200, r.text);
    return r.json.now;
}

/* Move s's clock forward; returns the clock's answer. */
async function advance(s, key, seconds, headers = {}) {
    const r = await s.request({
        method: 'POST', path: '/v1/test_helpers/verifyd/clock/advance', key,
        headers: Object.assign({}, form, headers), body: `seconds=${seconds}`,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.test_clock');
    return r;
}

test('without --test-clock the clock routes do not exist', async () => {
    const plain = await h.startServer();
    servers.push(plain);
    const key = h.randomKey();
    const g = await plain.request({ path: '/v1/test_helpers/verifyd/clock', key });
    x.bareError(g, { status: 404, type: 'invalid_request_error', message: x.unknownRouteMessage('GET', '/v1/test_helpers/verifyd/clock') });
    const p = await plain.request({ method: 'POST', path: '/v1/test_helpers/verifyd/clock/advance', key, headers: form, body: 'seconds=60' });
    x.bareError(p, { status: 404, message: x.unknownRouteMessage('POST', '/v1/test_helpers/verifyd/clock/advance') });
    await plain.close();
});

test('the clock starts at wall time, moves forward by seconds, and new objects are created then', async () => {
    const key = h.randomKey();
    const t0 = Date.now();
    const before0 = await clockNow(srv, key);
    assert.ok(before0 >= Math.floor(t0 / 1000) - 1, `now ${before0} is not behind the wall clock`);
    const r = await advance(srv, key, 2 * HOUR);
    assert.ok(r.json.now >= before0 + 2 * HOUR && r.json.now <= before0 + 2 * HOUR + 60, `advanced to ${r.json.now}`);
    assert.equal(r.json.livemode, false);
    assert.ok((await clockNow(srv, key)) >= r.json.now, 'time never moves backwards');
    const s = await srv.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.ok(s.created >= r.json.now && s.created <= r.json.now + 60, `created ${s.created} follows the clock ${r.json.now}`);
    /* created filters use the same clock. */
    const page = await srv.stripe(key).identity.verificationSessions.list({ created: { gte: r.json.now } });
    assert.deepEqual(page.data.map((o) => o.id), [s.id]);
});

test('advance validates seconds as Stripe validates integers', async () => {
    const key = h.randomKey();
    const post = (body) => srv.request({ method: 'POST', path: '/v1/test_helpers/verifyd/clock/advance', key, headers: form, body });
    x.rawError(await post(''), { status: 400, code: 'parameter_missing', param: 'seconds', message: 'Missing required param: seconds.' });
    x.rawError(await post('seconds=0'), { status: 400, code: 'parameter_invalid_integer', param: 'seconds', message: 'This value must be greater than or equal to 1.' });
    x.rawError(await post('seconds=-5'), { status: 400, code: 'parameter_invalid_integer', param: 'seconds' });
    x.rawError(await post('seconds=soon'), { status: 400, code: 'parameter_invalid_integer', param: 'seconds', message: 'Invalid integer: soon' });
    x.rawError(await post('seconds=60&hours=1'), { status: 400, code: 'parameter_unknown', param: 'hours' });
    const nowBefore = await clockNow(srv, key);
    x.rawError(await post('seconds=315360001'), { status: 400, code: 'parameter_invalid_integer', param: 'seconds' });
    assert.ok((await clockNow(srv, key)) < nowBefore + 60, 'a refused advance does not move the clock');
});

test('an advance with an Idempotency-Key is replayed, not applied twice', async () => {
    const key = h.randomKey();
    const k = 'clk-' + h.randomAlnum(12);
    const first = await advance(srv, key, 600, { 'Idempotency-Key': k });
    const again = await advance(srv, key, 600, { 'Idempotency-Key': k });
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json.now, first.json.now);
    const now = await clockNow(srv, key);
    assert.ok(now < first.json.now + 600, `the replay did not move the clock (now ${now}, first ${first.json.now})`);
});

test('idempotency keys: replayed until 24 h, a new request after', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const ik = 'exp-' + h.randomAlnum(16);
    const params = { type: 'document', client_reference_id: 'idem-expiry' };
    const a = await stripe.identity.verificationSessions.create(params, { idempotencyKey: ik });
    await advance(srv, key, 23 * HOUR + 58 * MIN);
    const b = await stripe.identity.verificationSessions.create(params, { idempotencyKey: ik });
    assert.equal(b.id, a.id, 'within 24 h the key replays the first response');
    assert.equal(b.lastResponse.headers['idempotent-replayed'], 'true');
    /* Other parameters under the same key are still refused within the 24 h. */
    const err = await h.rejects(stripe.identity.verificationSessions.create({ type: 'id_number' }, { idempotencyKey: ik }));
    x.sdkError(err, { status: 400, type: 'idempotency_error' });

    await advance(srv, key, 3 * MIN);
    const c = await stripe.identity.verificationSessions.create(params, { idempotencyKey: ik });
    assert.notEqual(c.id, a.id, 'after 24 h the same key makes a new session');
    assert.notEqual(c.lastResponse.headers['idempotent-replayed'], 'true');
    /* The new record holds the key from now on: replayed again. */
    const d = await stripe.identity.verificationSessions.create(params, { idempotencyKey: ik });
    assert.equal(d.id, c.id);
    const list = await stripe.identity.verificationSessions.list({ client_reference_id: 'idem-expiry' });
    assert.deepEqual(list.data.map((s) => s.id).sort(), [a.id, c.id].sort());

    /* After 24 h, other parameters under an old key are a new request too, not an error. */
    const ik2 = 'exp2-' + h.randomAlnum(16);
    const e1 = await stripe.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: ik2 });
    await advance(srv, key, 24 * HOUR + MIN);
    const e2 = await stripe.identity.verificationSessions.create({ type: 'id_number' }, { idempotencyKey: ik2 });
    assert.notEqual(e2.id, e1.id);
    assert.equal(e2.type, 'id_number');
});

test('webhook retries follow the test-mode schedule (10 min, 1 h, 3 h) and then stop', async () => {
    /* A fresh server: other tests' advances must not run this schedule early. */
    const s = await h.startServer({ args: ['--test-clock'] });
    servers.push(s);
    const key = h.randomKey();
    const stripe = s.stripe(key);
    const failing = await startReceiver(() => 500);
    receivers.push(failing);
    await stripe.webhookEndpoints.create({ url: failing.url, enabled_events: ['identity.verification_session.canceled'] });
    const vs = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.cancel(vs.id);
    const ofFirst = (ev) => ev.type === 'identity.verification_session.canceled' && ev.data.object.id === vs.id;
    const [firstArrival] = await failing.waitFor(1, ofFirst);
    const evtId = firstArrival.json.id;
    /* A retry is due its delay after verifyd saw the attempt fail, which may be a moment after
     * the receiver answered: the clock moves only once verifyd has logged the outcome. */
    const outcomeLogged = (n) => h.eventually(
        () => (s.log.match(new RegExp(`msg="webhook attempt" event=${evtId} \\S+ attempt=${n} status=500`, 'g')) || []).length === 1,
        { what: `attempt ${n} of ${evtId} to be recorded` });
    await outcomeLogged(1);

    /* Each retry is due its delay (±10%) after the attempt before. Just short of the earliest
     * due time nothing comes; just past the latest it does. The "nothing yet" checks are
     * confirmed later: any early attempt would show up in the counts below. */
    const steps = [10 * MIN, HOUR, 3 * HOUR];
    for (let i = 0; i < steps.length; i++) {
        await advance(s, key, Math.floor(steps[i] * 0.9) - 30);
        await advance(s, key, Math.ceil(steps[i] * 0.2) + 60);
        const got = await failing.waitFor(i + 2, ofFirst);
        assert.equal(got.length, i + 2, `attempt ${i + 2} after retry delay ${steps[i]} s`);
        await outcomeLogged(i + 2);
        const ev = got[i + 1].json;
        assert.equal(ev.id, got[0].json.id, 'a retry sends the same event');
    }
    assert.equal(failing.events(ofFirst).length, 4, 'one attempt and three retries');

    /* Exhausted: however far the clock moves, no fifth attempt. The barrier: a new event to the
     * same endpoint, sent after the advance; a fifth attempt, due since the advance, would have
     * been started by the same or an earlier read of the outbox. Two barriers in a row. */
    await advance(s, key, 10 * 24 * HOUR);
    for (let b = 0; b < 2; b++) {
        const other = await stripe.identity.verificationSessions.create({ type: 'document' });
        await stripe.identity.verificationSessions.cancel(other.id);
        await failing.waitFor(1, (ev) => ev.type === 'identity.verification_session.canceled' && ev.data.object.id === other.id);
    }
    assert.equal(failing.events(ofFirst).length, 4, 'no attempt after the schedule is exhausted');
    const ev = await stripe.events.retrieve(failing.events(ofFirst)[0].json.id);
    assert.equal(ev.pending_webhooks, 1, 'the failed delivery is still counted as not delivered');
    await s.close();
});

test('a redaction stays processing until its delay has passed, then completes with its event', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const vs = await stripe.identity.verificationSessions.create({
        type: 'document', provided_details: { email: 'wait@example.com' }, metadata: { who: 'wait' },
    });
    const r = await stripe.identity.verificationSessions.redact(vs.id);
    assert.equal(r.redaction.status, 'processing');
    await advance(srv, key, 59 * MIN);
    const mid = await stripe.identity.verificationSessions.retrieve(vs.id);
    assert.equal(mid.redaction.status, 'processing', 'not before the delay (1 h)');
    assert.deepEqual(mid.metadata, { who: 'wait' });
    const evs = await stripe.events.list({ type: 'identity.verification_session.redacted' });
    assert.deepEqual(evs.data.filter((e) => e.data.object.id === vs.id), []);

    await advance(srv, key, 2 * MIN);
    const done = await stripe.identity.verificationSessions.retrieve(vs.id);
    assert.equal(done.redaction.status, 'redacted', 'done when the advance answered');
    assert.deepEqual(done.metadata, {});
    const after1 = await stripe.events.list({ type: 'identity.verification_session.redacted' });
    assert.equal(after1.data.filter((e) => e.data.object.id === vs.id).length, 1);
});

test('a delayed hosted-page outcome stays processing until its delay, then arrives', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const vs = await stripe.identity.verificationSessions.create({ type: 'document' });
    const u = new URL(vs.url);
    const post = await h.request(u.port, { method: 'POST', path: u.pathname, headers: form, body: 'outcome=verified_delayed' });
    assert.ok(post.status === 200 || post.status === 303, `hosted POST answered ${post.status}`);
    assert.equal((await stripe.identity.verificationSessions.retrieve(vs.id)).status, 'processing');
    await advance(srv, key, 59 * MIN);
    assert.equal((await stripe.identity.verificationSessions.retrieve(vs.id)).status, 'processing', 'not before the delay');
    await advance(srv, key, 2 * MIN);
    const done = await stripe.identity.verificationSessions.retrieve(vs.id);
    assert.equal(done.status, 'verified');
    assert.match(done.last_verification_report, /^vr_/);
});

test('client_secret and url rotate on retrieve after 24 h; an unretrieved link expires after 48 h', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const a = await stripe.identity.verificationSessions.create({ type: 'document' });
    const b = await stripe.identity.verificationSessions.create({ type: 'document' });
    await advance(srv, key, 23 * HOUR + 58 * MIN);
    const a1 = await stripe.identity.verificationSessions.retrieve(a.id);
    assert.equal(a1.client_secret, a.client_secret, 'still valid before 24 h');
    assert.equal(a1.url, a.url);
    await advance(srv, key, 3 * MIN);
    const a2 = await stripe.identity.verificationSessions.retrieve(a.id);
    assert.notEqual(a2.client_secret, a.client_secret, 'replaced after 24 h');
    assert.notEqual(a2.url, a.url);
    x.sessionShape(a2);
    const again = await stripe.identity.verificationSessions.retrieve(a.id);
    assert.equal(again.client_secret, a2.client_secret, 'rotated once, then stable');

    /* b was never retrieved: its link works until 48 h, then says it expired. */
    const bu = new URL(b.url);
    await advance(srv, key, 23 * HOUR + 50 * MIN); /* 47 h 51 min since b was created */
    const live = await h.request(bu.port, { path: bu.pathname });
    assert.equal(live.status, 200, 'the link still works before 48 h');
    await advance(srv, key, 15 * MIN);
    const gone = await h.request(bu.port, { path: bu.pathname });
    assert.equal(gone.status, 410);
    assert.match(gone.text, /This link has expired/);
});

test('events are kept 30 days', async () => {
    const s = await h.startServer({ args: ['--test-clock'] });
    servers.push(s);
    const key = h.randomKey();
    const stripe = s.stripe(key);
    const vs = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.cancel(vs.id);
    const ev = (await stripe.events.list({ type: 'identity.verification_session.canceled' })).data[0];
    assert.equal(ev.data.object.id, vs.id);
    await advance(s, key, 29 * 24 * HOUR);
    assert.equal((await stripe.events.retrieve(ev.id)).id, ev.id, 'still there after 29 days');
    await advance(s, key, 2 * 24 * HOUR);
    /* Pruning is background work: wait for it rather than for a time. */
    await h.eventually(async () => {
        const r = await s.request({ path: `/v1/events/${ev.id}`, key });
        return r.status === 404 ? r : null;
    }, { what: 'the 31-day-old event to be pruned', timeout: 20000 });
    const r = await s.request({ path: `/v1/events/${ev.id}`, key });
    x.rawError(r, { status: 404, code: 'resource_missing', param: 'id', message: `No such event: '${ev.id}'` });
    assert.equal((await stripe.identity.verificationSessions.retrieve(vs.id)).id, vs.id, 'the session itself stays');
    await s.close();
});
