'use strict';
/*
 * Behaviour that depends on time, tested by moving an account's clock instead of sleeping
 * (POST /v1/test_helpers/verifyd/clock/advance, README "Testing with time"; CONTRACT.md §11
 * "Test control plane"). The clock is the API key's account's: advancing it moves that account's
 * time only, and every timer follows it: idempotency keys expire after 24 h, webhook retries
 * follow the test-mode schedule (10 min, 1 h, 3 h, ±10%) and then stop, a redaction stays
 * processing until its delay has passed, a delayed hosted-page outcome arrives at its due time,
 * client_secret rotates after 24 h and the hosted link expires after 48 h, events are kept 30
 * days, `created` of new objects and the `created` filters read it. Other accounts are untouched
 * and the offset survives a restart. The clock's answer to an advance comes after every
 * redaction and delayed outcome then due is done, so "not yet" is checked right after an
 * advance, never after a sleep. Every test has keys of its own, so all share one server.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');
const { startReceiver } = require('./lib/receiver');

const HOUR = 3600;
const MIN = 60;
const LIVE_KEY = 'sk_live_' + h.randomAlnum(24);
const servers = [];
const receivers = [];
let srv; /* no flag: the clock is always there; redaction delay 1 h, hosted delay 1 h */
let keysDir;
const test = h.testWithLog(() => servers);

before(async () => {
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-keys-'));
    const keysFile = path.join(keysDir, 'keys');
    const hash = crypto.createHash('sha256').update(LIVE_KEY).digest('hex');
    fs.writeFileSync(keysFile, `${hash} acct_live_clock\n`);
    srv = await h.startServer({
        args: ['--keys-file', keysFile, '--redaction-delay', String(HOUR * 1000), '--hosted-delay', String(HOUR * 1000)],
    });
    servers.push(srv);
});

after(async () => {
    await h.closeAll(servers, receivers);
    fs.rmSync(keysDir, { recursive: true, force: true });
});

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };

async function clockNow(s, key, headers = {}) {
    const r = await s.request({ path: '/v1/test_helpers/verifyd/clock', key, headers });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.test_clock');
    return r.json.now;
}

/* Move the clock of key's account forward; returns the clock's answer. */
async function advance(s, key, seconds, headers = {}) {
    const r = await s.request({
        method: 'POST', path: '/v1/test_helpers/verifyd/clock/advance', key,
        headers: Object.assign({}, form, headers), body: `seconds=${seconds}`,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.test_clock');
    return r;
}

/* now is within a minute of the wall clock (seconds). */
function nearWall(now) {
    const wall = Math.floor(Date.now() / 1000);
    return now >= wall - 2 && now <= wall + 60;
}

test('a live key gets the test helpers\' 400 from both clock routes', async () => {
    const g = await srv.request({ path: '/v1/test_helpers/verifyd/clock', key: LIVE_KEY });
    x.rawError(g, { status: 400, type: 'invalid_request_error' });
    assert.match(g.json.error.message, /test-mode key/);
    const p = await srv.request({ method: 'POST', path: '/v1/test_helpers/verifyd/clock/advance', key: LIVE_KEY, headers: form, body: 'seconds=60' });
    x.rawError(p, { status: 400, type: 'invalid_request_error' });
    assert.match(p.json.error.message, /test-mode key/);
});

test('the clock starts at wall time, moves forward by seconds, and new objects are created then', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const before0 = await clockNow(srv, key);
    assert.ok(nearWall(before0), `now ${before0} starts at the wall clock`);
    const old = await stripe.identity.verificationSessions.create({ type: 'document' });
    const r = await advance(srv, key, 2 * HOUR);
    assert.ok(r.json.now >= before0 + 2 * HOUR && r.json.now <= before0 + 2 * HOUR + 60, `advanced to ${r.json.now}`);
    assert.equal(r.json.livemode, false);
    assert.ok((await clockNow(srv, key)) >= r.json.now, 'time never moves backwards');
    const inClock = (t, what) => assert.ok(t >= r.json.now && t <= r.json.now + 60, `${what} created ${t} follows the clock ${r.json.now}`);
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    inClock(s.created, 'session');
    const we = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/hook', enabled_events: ['*'] });
    inClock(we.created, 'webhook endpoint');
    await stripe.identity.verificationSessions.cancel(s.id);
    const ev = (await stripe.events.list({ type: 'identity.verification_session.canceled' })).data[0];
    inClock(ev.created, 'event');
    const vr = await srv.request({ method: 'POST', path: `/v1/test_helpers/identity/verification_sessions/${old.id}/verify`, key, headers: form, body: '' });
    assert.equal(vr.status, 200, vr.text);
    const report = await stripe.identity.verificationReports.retrieve(vr.json.last_verification_report);
    inClock(report.created, 'report');
    /* created filters compare with the same clock: the session made before the advance is older. */
    const page = await stripe.identity.verificationSessions.list({ created: { gte: r.json.now } });
    assert.deepEqual(page.data.map((o) => o.id), [s.id]);
    const older = await stripe.identity.verificationSessions.list({ created: { lt: r.json.now } });
    assert.deepEqual(older.data.map((o) => o.id), [old.id]);
    const evs = await stripe.events.list({ created: { gte: r.json.now }, type: 'identity.verification_session.created' });
    assert.deepEqual(evs.data.map((e) => e.data.object.id), [s.id]);
    /* A connected account of the key follows its platform's clock. */
    const c = await stripe.identity.verificationSessions.create({ type: 'document' }, { stripeAccount: 'acct_1ClockConnected' });
    inClock(c.created, 'connected account\'s session');
    assert.ok((await clockNow(srv, key, { 'Stripe-Account': 'acct_1ClockConnected' })) >= r.json.now);
});

test('advancing one account leaves every other account\'s clock, links, redactions and outcomes alone', async () => {
    const a = h.randomKey();
    const b = h.randomKey();
    const sb = srv.stripe(b);
    const link = await sb.identity.verificationSessions.create({ type: 'document' });
    const red = await sb.identity.verificationSessions.create({ type: 'document', metadata: { who: 'b' } });
    assert.equal((await sb.identity.verificationSessions.redact(red.id)).redaction.status, 'processing');
    const delayed = await sb.identity.verificationSessions.create({ type: 'document' });
    const u = new URL(delayed.url);
    const post = await h.request(u.port, { method: 'POST', path: u.pathname, headers: form, body: 'outcome=verified_delayed' });
    assert.ok(post.status === 200 || post.status === 303, `hosted POST answered ${post.status}`);
    const ik = 'iso-' + h.randomAlnum(12);
    const first = await sb.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: ik });

    const moved = await advance(srv, a, 3 * 24 * HOUR);
    assert.ok(!nearWall(moved.json.now), 'a\'s clock moved');
    assert.ok(nearWall(await clockNow(srv, b)), 'b\'s clock did not');
    const again = await sb.identity.verificationSessions.retrieve(link.id);
    assert.equal(again.client_secret, link.client_secret, 'b\'s client_secret is not expired');
    assert.equal(again.url, link.url);
    const r = await sb.identity.verificationSessions.retrieve(red.id);
    assert.equal(r.redaction.status, 'processing', 'b\'s redaction is not due');
    assert.deepEqual(r.metadata, { who: 'b' });
    assert.equal((await sb.identity.verificationSessions.retrieve(delayed.id)).status, 'processing', 'b\'s outcome is not due');
    const replay = await sb.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: ik });
    assert.equal(replay.id, first.id, 'b\'s idempotency key still replays');
    const fresh = await sb.identity.verificationSessions.create({ type: 'document' });
    assert.ok(nearWall(fresh.created), `b's new objects are created at wall time (${fresh.created})`);

    /* b's own advance then moves b's timers, from b's time. */
    await advance(srv, b, HOUR + MIN);
    assert.equal((await sb.identity.verificationSessions.retrieve(red.id)).redaction.status, 'redacted');
    assert.equal((await sb.identity.verificationSessions.retrieve(delayed.id)).status, 'verified');
    assert.equal((await sb.identity.verificationSessions.retrieve(link.id)).client_secret, link.client_secret, 'still within 24 h for b');
});

test('timers started after an advance run on the advanced clock', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    await advance(srv, key, 5 * HOUR);
    const red = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.redact(red.id);
    const delayed = await stripe.identity.verificationSessions.create({ type: 'document' });
    const u = new URL(delayed.url);
    const post = await h.request(u.port, { method: 'POST', path: u.pathname, headers: form, body: 'outcome=verified_delayed' });
    assert.ok(post.status === 200 || post.status === 303, `hosted POST answered ${post.status}`);
    await advance(srv, key, 59 * MIN);
    assert.equal((await stripe.identity.verificationSessions.retrieve(red.id)).redaction.status, 'processing', 'the redaction waits its 1 h');
    assert.equal((await stripe.identity.verificationSessions.retrieve(delayed.id)).status, 'processing', 'the outcome waits its 1 h');
    await advance(srv, key, 2 * MIN);
    assert.equal((await stripe.identity.verificationSessions.retrieve(red.id)).redaction.status, 'redacted');
    assert.equal((await stripe.identity.verificationSessions.retrieve(delayed.id)).status, 'verified');
});

test('the offset is stored: a restart keeps each account\'s clock and its pending timers; --test-clock is accepted', async () => {
    const s = await h.startServer({ args: ['--test-clock', '--redaction-delay', String(HOUR * 1000)] });
    servers.push(s);
    const key = h.randomKey();
    const other = h.randomKey();
    const stripe = s.stripe(key);
    const vs = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.redact(vs.id);
    const moved = await advance(s, key, 30 * MIN);
    await s.restart();
    const now = await clockNow(s, key);
    assert.ok(now >= moved.json.now && now <= moved.json.now + 60, `after the restart the clock reads ${now}, it read ${moved.json.now}`);
    assert.ok(nearWall(await clockNow(s, other)), 'an account never advanced still runs on wall time');
    /* The redaction, due 1 h after it was asked, is 30 min away on this clock, not 1 h. */
    assert.equal((await stripe.identity.verificationSessions.retrieve(vs.id)).redaction.status, 'processing');
    await advance(s, key, 31 * MIN);
    assert.equal((await stripe.identity.verificationSessions.retrieve(vs.id)).redaction.status, 'redacted');
    await s.close();
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
    /* On the shared server: other tests advance other accounts' clocks, never this one's. */
    const s = srv;
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

test('events are kept 30 days by their account\'s clock', async () => {
    const s = srv;
    const key = h.randomKey();
    const other = h.randomKey();
    const so = s.stripe(other);
    const ovs = await so.identity.verificationSessions.create({ type: 'document' });
    const oev = (await so.events.list({ type: 'identity.verification_session.created' })).data[0];
    assert.equal(oev.data.object.id, ovs.id);
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
    assert.equal((await so.events.retrieve(oev.id)).id, oev.id, 'another account\'s event of the same age stays');
});
