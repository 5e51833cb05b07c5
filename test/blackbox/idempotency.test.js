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
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
/* Stripe's answer to a key reused for a different request (CONTRACT.md §1, §11). */
const mismatch = (k) => ({
    status: 400,
    type: 'idempotency_error',
    code: null,
    param: null,
    message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${k}' if you meant to execute a different request.`,
});
/* A raw POST with exactly this body (the SDK may add or reorder parameters). */
const rawPost = (path, body, k) => srv.request({ method: 'POST', path, key, body, headers: Object.assign({ 'Idempotency-Key': k }, FORM) });

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
        x.sdkError(err, mismatch(k));
        assert.equal(err.constructor.name, 'StripeIdempotencyError');
        assert.notEqual(err.headers['idempotent-replayed'], 'true');
    }
    const p = await vs().list({ client_reference_id: 'idem_ref_3' });
    assert.deepEqual(p.data.map((s) => s.id), [a.id]);
});

test('the request path is part of the fingerprint: the same body and key on another path is an idempotency_error', async () => {
    // Each pair below differs only in its path: same key, same account, byte-identical body. A
    // server that fingerprinted the body alone would replay the first response instead.
    const a = await vs().create({ type: 'document' });
    const b = await vs().create({ type: 'document' });

    // Cancel A with key K, then cancel B with key K (empty body both times).
    const k = ikey();
    const c1 = await rawPost(`${PATH}/${a.id}/cancel`, '', k);
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c1.json.id, a.id);
    assert.equal(c1.json.status, 'canceled');
    const c2 = await rawPost(`${PATH}/${b.id}/cancel`, '', k);
    x.rawError(c2, mismatch(k));
    assert.notEqual(c2.headers['idempotent-replayed'], 'true');
    assert.equal((await vs().retrieve(b.id)).status, 'requires_input', 'the second cancel did not run');
    // The key still replays its own request.
    const c3 = await rawPost(`${PATH}/${a.id}/cancel`, '', k);
    assert.equal(c3.status, 200);
    assert.equal(c3.headers['idempotent-replayed'], 'true');
    assert.equal(c3.text, c1.text);

    // Create with key K2 and body "type=document", then the same body with K2 as an update of B
    // (a valid request on its own) and as a webhook endpoint create.
    const k2 = ikey();
    const body = 'type=document';
    const made = await rawPost(PATH, body, k2);
    assert.equal(made.status, 200, made.text);
    for (const path of [`${PATH}/${b.id}`, '/v1/webhook_endpoints', `${PATH}/${b.id}/cancel`]) {
        const r = await rawPost(path, body, k2);
        x.rawError(r, mismatch(k2));
        assert.notEqual(r.headers['idempotent-replayed'], 'true', path);
    }
    assert.equal((await vs().retrieve(b.id)).status, 'requires_input');
    assert.deepEqual((await stripe.webhookEndpoints.list()).data, []);
    const events = await stripe.events.list({ limit: 100 });
    assert.deepEqual(events.data.filter((e) => e.data.object.id === b.id).map((e) => e.type),
        ['identity.verification_session.created'], 'nothing happened to B');
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
    x.sdkError(err, {
        status: 400, type: 'invalid_request_error', code: null, param: null,
        message: 'Invalid idempotency key: keys must be at most 255 characters long.',
    });
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

test('saved idempotent responses do not outlive redaction', async () => {
    // CONTRACT.md §11: redaction removes the personal data from "any idempotency-replay
    // copies". verifyd deletes the saved responses that carry the session (store_sqlite.c
    // sq_txn_redact_object), so a retry with the key runs afresh and finds the session redacted.
    const email = 'idem.jenny@example.com';
    const phone = '+14155550188';
    const kCreate = ikey();
    const params = {
        type: 'document',
        client_reference_id: 'idem_redact_ref',
        metadata: { secret_note: 'idem-secret-meta' },
        provided_details: { email, phone },
    };
    const s = await vs().create(params, { idempotencyKey: kCreate });
    // An update under its own key, carrying more personal data.
    const kUpdate = ikey();
    const upd = { metadata: { second_note: 'idem-secret-upd' }, provided_details: { email: 'idem.later@example.com' } };
    const u = await vs().update(s.id, upd, { idempotencyKey: kUpdate });
    assert.equal(u.provided_details.email, 'idem.later@example.com');
    // Before the redaction both keys replay their saved copies, personal data included.
    const before1 = await vs().create(params, { idempotencyKey: kCreate });
    assert.equal(replayed(before1), 'true');
    assert.deepEqual(h.plain(before1), h.plain(s));
    const before2 = await vs().update(s.id, upd, { idempotencyKey: kUpdate });
    assert.equal(replayed(before2), 'true');
    assert.deepEqual(h.plain(before2), h.plain(u));

    await vs().redact(s.id);
    await h.eventually(async () => (await vs().retrieve(s.id)).redaction.status === 'redacted',
        { what: 'the redaction to complete' });
    const erased = [email, phone, 'idem_redact_ref', 'idem-secret-meta', 'idem.later@example.com', 'idem-secret-upd'];
    const leaks = (text) => erased.filter((v) => text.includes(v));

    // The update's key: no replay of the old copy; the update runs again and is refused, since a
    // redacted session cannot be updated.
    // (The SDK sends the same bodies as before, so only the deleted copy can explain a
    // different answer.)
    const e2 = await h.rejects(vs().update(s.id, upd, { idempotencyKey: kUpdate }));
    x.sdkError(e2, {
        status: 400, type: 'invalid_request_error', code: null, param: null,
        message: 'This VerificationSession has been redacted and can no longer be updated.',
    });
    assert.notEqual(e2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(leaks(JSON.stringify(e2.raw)), []);

    // The create's key: the saved copy of the session is gone, so the request is executed as a
    // new one (a new session, not flagged as a replay), never the erased original.
    const r1 = await vs().create(params, { idempotencyKey: kCreate });
    assert.notEqual(replayed(r1), 'true');
    assert.notEqual(r1.id, s.id, 'the erased original is not replayed');
    assert.equal(r1.status, 'requires_input');
    assert.equal(r1.redaction, null);

    // And the original stays redacted.
    const g = await vs().retrieve(s.id);
    assert.deepEqual(leaks(JSON.stringify(g)), []);
    assert.deepEqual(g.provided_details, { email: '[redacted]', phone: '[redacted]' });
    assert.deepEqual(g.metadata, {});
});
