'use strict';
/*
 * The lifecycle through the public surface (issue 4): the test helpers
 * POST /v1/test_helpers/identity/verification_sessions/{session}/process, /verify and
 * /require_input (CONTRACT.md §11 "Moving a session forward"), the events they write in order
 * (§4), the fresh client_secret / url after a failure, redaction reaching reports and verified
 * outputs, a delayed outcome surviving a restart, and all six event types arriving at a real
 * webhook receiver with a valid signature.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');
const wr = require('./webhook_receiver');

const LIVE_KEY = 'sk_live_' + h.randomAlnum(24);
const TH = '/v1/test_helpers/identity/verification_sessions';

let srv;
let keysDir;
const test = h.testWithLog(() => srv);

before(async () => {
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-keys-'));
    const keysFile = path.join(keysDir, 'keys');
    const hash = crypto.createHash('sha256').update(LIVE_KEY).digest('hex');
    fs.writeFileSync(keysFile, `${hash} acct_live_lifecycle\n`);
    srv = await h.startServer({ args: ['--keys-file', keysFile, '--hosted-delay', '1500'] });
});
after(async () => {
    if (srv) await srv.close();
    fs.rmSync(keysDir, { recursive: true, force: true });
});

function client() {
    const key = h.randomKey();
    return { key, stripe: srv.stripe(key) };
}

/* POST a test helper through the raw client (the SDK has no method for these paths). */
async function helper(key, id, action, body = '', headers = {}) {
    return srv.request({
        method: 'POST',
        path: `${TH}/${id}/${action}`,
        key,
        body,
        headers: Object.assign({ 'Content-Type': 'application/x-www-form-urlencoded' }, headers),
    });
}

/* The account's events for one session, oldest first. */
async function eventsOf(stripe, id) {
    const page = await stripe.events.list({ limit: 100 });
    return page.data.filter((e) => e.data.object.id === id).reverse();
}

test('process moves requires_input to processing and emits processing with the request', async () => {
    const { key, stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const r = await helper(key, s.id, 'process');
    assert.equal(r.status, 200, r.text);
    x.sessionShape(r.json, srv.url);
    assert.equal(r.json.status, 'processing');
    assert.equal(r.json.client_secret, null);
    assert.equal(r.json.url, null);
    assert.equal(r.json.last_verification_report, null);
    const evs = await eventsOf(stripe, s.id);
    assert.deepEqual(evs.map((e) => e.type), ['identity.verification_session.created', 'identity.verification_session.processing']);
    assert.equal(evs[1].request.id, r.headers['request-id']);
    assert.equal(evs[1].data.object.status, 'processing');
    /* A second process is the wrong-state error. */
    const again = await helper(key, s.id, 'process');
    x.rawError(again, { status: 400, type: 'invalid_request_error', code: null, param: null, message: /process a VerificationSession while its status is requires_input; this one is processing/ });
});

test('verify from requires_input passes through processing: both events, a report, verified_outputs', async () => {
    const { key, stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'document', options: { document: { require_matching_selfie: true } } });
    const r = await helper(key, s.id, 'verify', 'expand[]=last_verification_report&expand[]=verified_outputs');
    assert.equal(r.status, 200, r.text);
    const v = r.json;
    assert.equal(v.status, 'verified');
    assert.equal(v.last_error, null);
    assert.equal(v.client_secret, null);
    assert.equal(v.url, null);
    const rep = v.last_verification_report;
    assert.match(rep.id, /^vr_[A-Za-z0-9]{24}$/);
    assert.equal(rep.object, 'identity.verification_report');
    assert.equal(rep.verification_session, s.id);
    assert.equal(rep.document.status, 'verified');
    assert.equal(rep.selfie.status, 'verified');
    assert.ok(!('id_number' in rep));
    assert.deepEqual(v.verified_outputs.address, { city: 'San Francisco', country: 'US', line1: '1234 Main St.', line2: null, postal_code: '94111', state: 'CA' });
    assert.equal(v.verified_outputs.first_name, 'Jenny');
    assert.equal(v.verified_outputs.last_name, 'Rosen');
    assert.ok(!('dob' in v.verified_outputs), 'dob needs a restricted key and its own expand path');

    const evs = await eventsOf(stripe, s.id);
    assert.deepEqual(evs.map((e) => e.type), [
        'identity.verification_session.created',
        'identity.verification_session.processing',
        'identity.verification_session.verified',
    ]);
    assert.equal(evs[1].data.object.status, 'processing');
    assert.equal(evs[1].data.object.last_verification_report, null);
    assert.equal(evs[2].data.object.status, 'verified');
    assert.equal(evs[2].data.object.last_verification_report, rep.id, 'event objects are unexpanded');
    assert.ok(!('verified_outputs' in evs[2].data.object), 'events never carry verified_outputs');
    assert.equal(evs[2].request.id, r.headers['request-id']);

    /* Plain retrieve: the ID only; verified is terminal for the helpers. */
    const got = await stripe.identity.verificationSessions.retrieve(s.id);
    assert.equal(got.last_verification_report, rep.id);
    assert.ok(!('verified_outputs' in got));
    x.rawError(await helper(key, s.id, 'verify'), { status: 400, message: /this one is verified/ });
    x.rawError(await helper(key, s.id, 'require_input'), { status: 400, message: /this one is verified/ });
});

test('verify from processing emits only verified', async () => {
    const { key, stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'id_number' });
    await helper(key, s.id, 'process');
    const r = await helper(key, s.id, 'verify', 'expand[]=last_verification_report');
    assert.equal(r.json.status, 'verified');
    assert.equal(r.json.last_verification_report.type, 'id_number');
    assert.equal(r.json.last_verification_report.id_number.status, 'verified');
    assert.equal(r.json.last_verification_report.id_number.id_number_type, 'us_ssn');
    assert.ok(!('document' in r.json.last_verification_report));
    const evs = await eventsOf(stripe, s.id);
    assert.deepEqual(evs.map((e) => e.type.split('.').pop()), ['created', 'processing', 'verified']);
});

test('require_input: last_error, an unverified report and a fresh client_secret / url', async () => {
    const { key, stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const r = await helper(key, s.id, 'require_input', 'expand[]=last_verification_report');
    assert.equal(r.status, 200, r.text);
    const f = r.json;
    x.sessionShape(f, srv.url);
    assert.equal(f.status, 'requires_input');
    assert.equal(f.last_error.code, 'document_unverified_other');
    assert.equal(typeof f.last_error.reason, 'string');
    assert.notEqual(f.client_secret, s.client_secret, 'a fresh client_secret after a failure');
    assert.notEqual(f.url, s.url, 'a fresh url after a failure');
    assert.equal(f.last_verification_report.document.status, 'unverified');
    assert.deepEqual(f.last_verification_report.document.error, { code: 'document_unverified_other', reason: f.last_error.reason });
    const evs = await eventsOf(stripe, s.id);
    assert.deepEqual(evs.map((e) => e.type.split('.').pop()), ['created', 'processing', 'requires_input']);
    assert.equal(evs[2].data.object.last_error.code, 'document_unverified_other');

    /* The fresh pair is stable on retrieve; a second attempt can succeed. */
    const again = await stripe.identity.verificationSessions.retrieve(s.id);
    assert.equal(again.url, f.url);
    assert.equal(again.client_secret, f.client_secret);
    const ok = await helper(key, s.id, 'verify');
    assert.equal(ok.json.status, 'verified');
    assert.equal(ok.json.last_error, null);
    assert.notEqual(ok.json.last_verification_report, f.last_verification_report.id, 'a new report per attempt');
    const reports = await stripe.identity.verificationReports.list({ verification_session: s.id });
    assert.equal(reports.data.length, 2);
    assert.equal(reports.data[0].id, ok.json.last_verification_report, 'newest first');
});

test('require_input takes last_error[code]; id_number sessions default to id_number_mismatch', async () => {
    const { key, stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'document', options: { document: { require_matching_selfie: true } } });
    const r = await helper(key, s.id, 'require_input', 'last_error[code]=selfie_face_mismatch&expand[]=last_verification_report');
    assert.equal(r.json.last_error.code, 'selfie_face_mismatch');
    assert.equal(r.json.last_verification_report.selfie.status, 'unverified');
    assert.equal(r.json.last_verification_report.selfie.error.code, 'selfie_face_mismatch');
    assert.equal(r.json.last_verification_report.document.status, 'verified');

    const idn = await stripe.identity.verificationSessions.create({ type: 'id_number' });
    const r2 = await helper(key, idn.id, 'require_input');
    assert.equal(r2.json.last_error.code, 'id_number_mismatch');

    const bad = await helper(key, idn.id, 'require_input', 'last_error[code]=nope');
    x.rawError(bad, { status: 400, type: 'invalid_request_error', param: 'last_error[code]' });
    const unknown = await helper(key, idn.id, 'verify', 'foo=1');
    x.rawError(unknown, { status: 400, code: 'parameter_unknown', param: 'foo' });
});

test('helpers: unknown session 404, canceled session 400, other accounts cannot see it, idempotent replay', async () => {
    const { key, stripe } = client();
    x.rawError(await helper(key, 'vs_nope', 'verify'), { status: 404, code: 'resource_missing', param: 'session', message: "No such verification_session: 'vs_nope'" });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    x.rawError(await helper(h.randomKey(), s.id, 'verify'), { status: 404, code: 'resource_missing' });
    const idem = { 'Idempotency-Key': 'k-' + h.randomAlnum(10) };
    const first = await helper(key, s.id, 'verify', '', idem);
    const second = await helper(key, s.id, 'verify', '', idem);
    assert.equal(first.status, 200);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.text, first.text);
    const c = await stripe.identity.verificationSessions.create({ type: 'document' });
    await stripe.identity.verificationSessions.cancel(c.id);
    x.rawError(await helper(key, c.id, 'process'), { status: 400, message: /this one is canceled/ });
    x.rawError(await helper(key, c.id, 'require_input'), { status: 400, message: /this one is canceled/ });
});

test('live-mode keys get 400 on the test helpers', async () => {
    const live = srv.stripe(LIVE_KEY);
    const s = await live.identity.verificationSessions.create({ type: 'document' });
    assert.equal(s.livemode, true);
    for (const action of ['process', 'verify', 'require_input']) {
        const r = await helper(LIVE_KEY, s.id, action);
        x.rawError(r, { status: 400, type: 'invalid_request_error', message: /test-mode key/ });
    }
    const still = await live.identity.verificationSessions.retrieve(s.id);
    assert.equal(still.status, 'requires_input');
});

test('redaction reaches the report, the verified outputs and the events', async () => {
    const { key, stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'document', client_reference_id: 'user-7', options: { document: { require_id_number: true } } });
    const v = await helper(key, s.id, 'verify');
    const reportId = v.json.last_verification_report;
    await stripe.identity.verificationSessions.redact(s.id);
    const done = await h.eventually(async () => {
        const r = await stripe.identity.verificationSessions.retrieve(s.id, { expand: ['verified_outputs', 'last_verification_report'] });
        return r.redaction && r.redaction.status === 'redacted' ? r : null;
    }, { what: 'redaction to complete' });
    const vo = done.verified_outputs;
    assert.equal(vo.first_name, '[redacted]');
    assert.equal(vo.last_name, '[redacted]');
    assert.equal(vo.address.line1, '[redacted]');
    assert.equal(vo.address.city, '[redacted]');
    assert.equal(vo.id_number_type, null, 'an enum that cannot hold [redacted] becomes null');
    const rep = await stripe.identity.verificationReports.retrieve(reportId);
    assert.equal(rep.client_reference_id, '[redacted]');
    assert.equal(rep.document.first_name, '[redacted]');
    assert.equal(rep.document.address.postal_code, '[redacted]');
    assert.equal(rep.document.issued_date, null);
    assert.equal(rep.id_number.last_name, '[redacted]');
    assert.equal(rep.id_number.id_number_type, null);
    assert.equal(rep.document.status, 'verified', 'statuses are not personal data');
    assert.deepEqual(h.plain(done.last_verification_report), h.plain(rep));
    const listed = await stripe.identity.verificationReports.list({ verification_session: s.id });
    assert.ok(!JSON.stringify(listed).includes('Jenny'));
    const evs = await eventsOf(stripe, s.id);
    assert.ok(!JSON.stringify(evs).includes('user-7'), 'past events are redacted too');
    assert.ok(!JSON.stringify(evs).includes('Jenny'));
    assert.equal(evs[evs.length - 1].type, 'identity.verification_session.redacted');
});

test('a delayed outcome from the hosted page survives a restart and completes with request null', async () => {
    const { stripe } = client();
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const post = await h.request(new URL(s.url).port, { method: 'POST', path: new URL(s.url).pathname, body: 'outcome=verified_delayed', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(post.status, 200, post.text);
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).status, 'processing');
    await srv.kill9();
    await srv.restart();
    const v = await h.eventually(async () => {
        const r = await stripe.identity.verificationSessions.retrieve(s.id);
        return r.status === 'verified' ? r : null;
    }, { what: 'the delayed outcome after a restart' });
    assert.match(v.last_verification_report, /^vr_/);
    const evs = await eventsOf(stripe, s.id);
    assert.deepEqual(evs.map((e) => e.type.split('.').pop()), ['created', 'processing', 'verified']);
    assert.deepEqual(evs[1].request, { id: null, idempotency_key: null });
    assert.deepEqual(evs[2].request, { id: null, idempotency_key: null });
});

test('all six events arrive at a webhook receiver with a valid signature', async () => {
    const { key, stripe } = client();
    const rec = await wr.startReceiver();
    try {
        const secret = await wr.subscribe(stripe, rec);
        const a = await stripe.identity.verificationSessions.create({ type: 'document' });
        await helper(key, a.id, 'require_input', 'last_error[code]=document_expired');
        await helper(key, a.id, 'verify');
        await stripe.identity.verificationSessions.redact(a.id);
        const b = await stripe.identity.verificationSessions.create({ type: 'id_number' });
        await stripe.identity.verificationSessions.cancel(b.id);

        const want = [
            ['created', a.id], ['processing', a.id], ['requires_input', a.id], ['verified', a.id],
            ['redacted', a.id], ['canceled', b.id],
        ];
        for (const [t, id] of want) {
            const e = await wr.waitForEvent(stripe, rec, secret, `identity.verification_session.${t}`, id);
            assert.equal(e.object, 'event');
            assert.equal(e.livemode, false);
        }
        const ri = await wr.waitForEvent(stripe, rec, secret, 'identity.verification_session.requires_input', a.id);
        assert.equal(ri.data.object.last_error.code, 'document_expired');
    } finally {
        await rec.close();
    }
});
