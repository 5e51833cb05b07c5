'use strict';
/*
 * Idempotency-Key handling. CONTRACT.md §1 "Headers" (Idempotency-Key), §11 "Idempotency".
 * Note: the SDK sends a fresh Idempotency-Key on every POST by itself; here we pass our own.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
let stripe;
let key;
const test = h.testWithLog(() => srv);
const PATH = h.SESSIONS_PATH;

before(async () => {
    srv = await h.startServer();
    key = h.randomKey();
    stripe = srv.stripe(key);
});
after(async () => {
    if (srv) await srv.close();
});

const vs = () => stripe.identity.verificationSessions;
const ikey = () => 'ik-' + h.randomAlnum(20);
const replayed = (o) => o.lastResponse.headers['idempotent-replayed'];

test('same key and parameters: same session, replay flagged with Idempotent-Replayed: true', async () => {
    const k = ikey();
    const params = { type: 'document', metadata: { order: '7' }, client_reference_id: 'idem_ref_1' };
    const a = await vs().create(params, { idempotencyKey: k });
    assert.notEqual(replayed(a), 'true', 'the first response is not a replay');
    const b = await vs().create(params, { idempotencyKey: k });
    assert.equal(b.id, a.id);
    assert.equal(replayed(b), 'true');
    assert.deepEqual(h.plain(b), h.plain(a), 'the replay is the original response');
    const c = await vs().create(params, { idempotencyKey: k });
    assert.equal(c.id, a.id);
    const p = await vs().list({ client_reference_id: 'idem_ref_1' });
    assert.equal(p.data.length, 1, 'exactly one session was created');
});

test('without our own key, two identical creates make two sessions (SDK keys differ)', async () => {
    const a = await vs().create({ type: 'document', client_reference_id: 'idem_ref_2' });
    const b = await vs().create({ type: 'document', client_reference_id: 'idem_ref_2' });
    assert.notEqual(a.id, b.id);
});

test('same key, different parameters: 400 idempotency_error (StripeIdempotencyError)', async () => {
    const k = ikey();
    const a = await vs().create({ type: 'document', client_reference_id: 'idem_ref_3' }, { idempotencyKey: k });
    for (const params of [{ type: 'id_number', client_reference_id: 'idem_ref_3' }, { type: 'document' }, { type: 'document', client_reference_id: 'idem_ref_3', metadata: { a: '1' } }]) {
        const err = await h.rejects(vs().create(params, { idempotencyKey: k }));
        x.sdkError(err, { status: 400, type: 'idempotency_error' });
        assert.equal(err.constructor.name, 'StripeIdempotencyError');
    }
    const p = await vs().list({ client_reference_id: 'idem_ref_3' });
    assert.deepEqual(p.data.map((s) => s.id), [a.id]);
});

test('a key reused on a different endpoint is an idempotency_error and does not execute', async () => {
    const k = ikey();
    const a = await vs().create({ type: 'document' }, { idempotencyKey: k });
    const err = await h.rejects(vs().cancel(a.id, {}, { idempotencyKey: k }));
    x.sdkError(err, { status: 400, type: 'idempotency_error' });
    assert.equal((await vs().retrieve(a.id)).status, 'requires_input', 'the cancel did not run');
});

test('a successful cancel is replayed, not re-executed into a state error', async () => {
    const s = await vs().create({ type: 'document' });
    const k = ikey();
    const c1 = await vs().cancel(s.id, {}, { idempotencyKey: k });
    assert.equal(c1.status, 'canceled');
    const c2 = await vs().cancel(s.id, {}, { idempotencyKey: k });
    assert.equal(c2.status, 'canceled');
    assert.equal(replayed(c2), 'true');
    assert.deepEqual(h.plain(c2), h.plain(c1));
});

test('an error after execution started is saved and replayed', async () => {
    const s = await vs().create({ type: 'document' });
    await vs().cancel(s.id);
    const k = ikey();
    const e1 = await h.rejects(vs().cancel(s.id, {}, { idempotencyKey: k }));
    x.sdkError(e1, { status: 400, type: 'invalid_request_error' });
    const e2 = await h.rejects(vs().cancel(s.id, {}, { idempotencyKey: k }));
    x.sdkError(e2, { status: 400, type: 'invalid_request_error', message: e1.message });
    assert.equal(e2.headers['idempotent-replayed'], 'true');
});

test('a request that fails validation saves nothing under its key', async () => {
    const k = ikey();
    const e = await h.rejects(vs().create({ metadata: { a: 'b' } }, { idempotencyKey: k }));
    x.sdkError(e, { status: 400, code: 'parameter_missing', param: 'type' });
    assert.notEqual(e.headers['idempotent-replayed'], 'true');
    const s = await vs().create({ type: 'document', metadata: { a: 'b' } }, { idempotencyKey: k });
    assert.equal(s.status, 'requires_input');
    assert.notEqual(replayed(s), 'true');
});

test('keys are scoped per account', async () => {
    const other = srv.stripe(h.randomKey());
    const k = ikey();
    const a = await vs().create({ type: 'document' }, { idempotencyKey: k });
    const b = await other.identity.verificationSessions.create({ type: 'document' }, { idempotencyKey: k });
    assert.notEqual(a.id, b.id);
    assert.notEqual(replayed(b), 'true');
    // Different parameters under the same key in the other account are fine too.
    const k2 = ikey();
    await vs().create({ type: 'document' }, { idempotencyKey: k2 });
    const c = await other.identity.verificationSessions.create({ type: 'id_number' }, { idempotencyKey: k2 });
    assert.equal(c.type, 'id_number');
    assert.equal((await other.identity.verificationSessions.retrieve(b.id)).id, b.id);
    const err = await h.rejects(other.identity.verificationSessions.retrieve(a.id));
    x.sdkError(err, { status: 404 });
});

test('Idempotency-Key length: 255 accepted, 256 rejected with 400', async () => {
    const ok = await vs().create({ type: 'document' }, { idempotencyKey: 'k'.repeat(255) });
    assert.equal(ok.status, 'requires_input');
    const before = (await vs().list({ limit: 100 })).data.length;
    const err = await h.rejects(vs().create({ type: 'document' }, { idempotencyKey: 'k'.repeat(256) }));
    x.sdkError(err, { status: 400 });
    assert.match(err.message, /idempotency/i);
    assert.equal((await vs().list({ limit: 100 })).data.length, before, 'nothing was created');
});

test('Idempotency-Key has no effect on GET', async () => {
    const s = await vs().create({ type: 'document' });
    const k = ikey();
    const r1 = await srv.request({ path: `${PATH}/${s.id}`, key, headers: { 'Idempotency-Key': k } });
    assert.equal(r1.status, 200);
    await vs().update(s.id, { metadata: { changed: 'yes' } });
    const r2 = await srv.request({ path: `${PATH}/${s.id}`, key, headers: { 'Idempotency-Key': k } });
    assert.equal(r2.status, 200);
    assert.notEqual(r2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(r2.json.metadata, { changed: 'yes' }, 'GET is not replayed');
    // And a POST may later use the same key.
    const c = await vs().create({ type: 'document' }, { idempotencyKey: k });
    assert.notEqual(replayed(c), 'true');
});

test('concurrent requests with one key never create two sessions', async () => {
    const k = ikey();
    const body = 'type=document&client_reference_id=idem_concurrent';
    const results = await Promise.all(Array.from({ length: 8 }, () => srv.request({
        method: 'POST',
        path: PATH,
        key,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': k },
        body,
    })));
    const ids = new Set();
    for (const r of results) {
        assert.ok(!r.error, r.error && r.error.message);
        assert.ok(r.status === 200 || r.status === 409, `status ${r.status}: ${r.text}`);
        if (r.status === 200) ids.add(r.json.id);
        else x.rawError(r, { status: 409 });
    }
    assert.equal(ids.size, 1, 'every success names the same session');
    const p = await vs().list({ client_reference_id: 'idem_concurrent' });
    assert.equal(p.data.length, 1);
});
