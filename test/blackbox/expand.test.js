'use strict';
/*
 * expand[] on sessions. CONTRACT.md §1 "Expand", §2 (verified_outputs, last_verification_report),
 * §11 "Expand" and the test helpers under "Moving a session forward".
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

test('verified_outputs is absent by default and null when expanded before verification', async () => {
    const s = await vs().create({ type: 'document' });
    assert.ok(!('verified_outputs' in s));
    const r = await vs().retrieve(s.id, { expand: ['verified_outputs'] });
    assert.ok('verified_outputs' in r, 'expanded verified_outputs present');
    assert.equal(r.verified_outputs, null);
    const plainR = h.plain(r);
    delete plainR.verified_outputs;
    assert.deepEqual(plainR, h.plain(s), 'expansion changes nothing else');
});

test('expand[]=last_verification_report before any report is null', async () => {
    const s = await vs().create({ type: 'id_number' });
    const r = await vs().retrieve(s.id, { expand: ['last_verification_report'] });
    assert.equal(r.last_verification_report, null);
    assert.ok(!('verified_outputs' in r));
    const both = await vs().retrieve(s.id, { expand: ['last_verification_report', 'verified_outputs'] });
    assert.equal(both.last_verification_report, null);
    assert.equal(both.verified_outputs, null);
});

test('expand works on create, update, cancel and redact responses', async () => {
    const s = await vs().create({ type: 'document', expand: ['verified_outputs'] });
    assert.equal(s.verified_outputs, null);
    const u = await vs().update(s.id, { metadata: { a: 'b' }, expand: ['verified_outputs'] });
    assert.equal(u.verified_outputs, null);
    const c = await vs().cancel(s.id, { expand: ['verified_outputs'] });
    assert.equal(c.verified_outputs, null);
    assert.equal(c.status, 'canceled');
    const r = await vs().redact(s.id, { expand: ['verified_outputs'] });
    assert.ok('verified_outputs' in r);
});

test('expanding a field that is already inline is a no-op', async () => {
    const s = await vs().create({
        type: 'document',
        options: { document: { require_live_capture: true } },
        provided_details: { email: 'x@example.com' },
        related_person: { account: 'acct_1', person: 'person_1' },
    });
    const r = await vs().retrieve(s.id, { expand: ['options', 'provided_details', 'redaction', 'last_error', 'related_person'] });
    assert.deepEqual(h.plain(r), h.plain(s));
});

test('expand[] and indexed expand[0] forms are both accepted (raw)', async () => {
    const s = await vs().create({ type: 'document' });
    for (const q of ['expand[]=verified_outputs', 'expand%5B%5D=verified_outputs', 'expand[0]=verified_outputs',
        'expand[0]=verified_outputs&expand[1]=last_verification_report']) {
        const res = await srv.request({ path: `${PATH}/${s.id}?${q}`, key });
        assert.equal(res.status, 200, `${q}: ${res.text}`);
        assert.ok('verified_outputs' in res.json, q);
        assert.equal(res.json.verified_outputs, null);
    }
});

test('list with expand[]=data.verified_outputs; plain verified_outputs on a list is refused', async () => {
    await vs().create({ type: 'document' });
    const p = await vs().list({ expand: ['data.verified_outputs'] });
    assert.ok(p.data.length >= 1);
    for (const s of p.data) assert.equal(s.verified_outputs, null);
    const p2 = await vs().list();
    for (const s of p2.data) assert.ok(!('verified_outputs' in s));
    const err = await h.rejects(vs().list({ expand: ['verified_outputs'] }));
    x.sdkError(err, { status: 400 });
    assert.match(err.message, /verified_outputs/);
});

test('data.-prefixed expand on a single object is refused', async () => {
    const s = await vs().create({ type: 'document' });
    const err = await h.rejects(vs().retrieve(s.id, { expand: ['data.verified_outputs'] }));
    x.sdkError(err, { status: 400, type: 'invalid_request_error' });
    assert.match(err.message, /data\.verified_outputs/);
});

test('after the verify test helper, verified_outputs and the report expand (CONTRACT §11)', async () => {
    const s = await vs().create({ type: 'document' });
    const res = await srv.request({
        method: 'POST',
        path: `/v1/test_helpers/identity/verification_sessions/${s.id}/verify`,
        key,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: '',
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'verified');
    const r = await vs().retrieve(s.id, { expand: ['verified_outputs', 'last_verification_report'] });
    assert.equal(r.status, 'verified');
    assert.equal(r.client_secret, null);
    assert.equal(r.url, null);
    assert.equal(r.verified_outputs.first_name, 'Jenny');
    assert.equal(r.verified_outputs.last_name, 'Rosen');
    assert.equal(r.verified_outputs.address.postal_code, '94111');
    assert.equal(r.last_verification_report.object, 'identity.verification_report');
    assert.match(r.last_verification_report.id, /^vr_/);
    assert.equal(r.last_verification_report.verification_session, s.id);
    assert.equal(r.last_verification_report.document.status, 'verified');
    const plainR = await vs().retrieve(s.id);
    assert.equal(plainR.last_verification_report, r.last_verification_report.id, 'unexpanded it is the ID');
    assert.ok(!('verified_outputs' in plainR));
});
