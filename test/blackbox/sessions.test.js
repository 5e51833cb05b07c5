'use strict';
/*
 * VerificationSession create / retrieve / update / cancel / redact through the official SDK.
 * CONTRACT.md §1-3 and §11 ("Errors", "Sessions").
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
let stripe;
let key;
const seenSecrets = [];
const test = h.testWithLog(() => srv);

before(async () => {
    srv = await h.startServer();
    key = h.randomKey();
    stripe = srv.stripe(key);
});
after(async () => {
    if (srv) await srv.close();
});

const vs = () => stripe.identity.verificationSessions;

async function create(params) {
    const s = await vs().create(params);
    if (s.client_secret) seenSecrets.push(s.client_secret);
    return s;
}

function unknownId() {
    return 'vs_' + h.randomAlnum(24);
}

test('create type=document returns a complete requires_input session', async () => {
    const t0 = Date.now();
    const s = await create({ type: 'document' });
    const t1 = Date.now();
    x.sessionShape(s, srv.url);
    assert.match(s.id, /^vs_[A-Za-z0-9]{24}$/);
    assert.equal(s.object, 'identity.verification_session');
    assert.equal(s.status, 'requires_input');
    assert.equal(s.type, 'document');
    assert.ok(s.client_secret.startsWith(`${s.id}_secret_`));
    assert.ok(s.url.startsWith(srv.url + '/'), `url ${s.url}`);
    assert.equal(s.livemode, false);
    assert.deepEqual(s.metadata, {});
    assert.equal(s.last_error, null);
    assert.equal(s.last_verification_report, null);
    assert.equal(s.redaction, null);
    assert.equal(s.provided_details, null);
    assert.ok(!('verified_outputs' in s), 'verified_outputs only when expanded');
    assert.ok(!('related_person' in s), 'related_person omitted when unset');
    assert.ok(!('verification_flow' in s), 'verification_flow omitted unless used');
    assert.ok(s.client_reference_id == null);
    assert.ok(s.related_customer == null);
    assert.ok(s.related_customer_account == null);
    x.createdNear(s.created, t0, t1);
    assert.ok(s.lastResponse.requestId.startsWith('req_'));
});

test('two creates give distinct ids, secrets and urls', async () => {
    const a = await create({ type: 'document' });
    const b = await create({ type: 'document' });
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.client_secret, b.client_secret);
    assert.notEqual(a.url, b.url);
});

test('create type=id_number', async () => {
    const s = await create({ type: 'id_number' });
    x.sessionShape(s, srv.url);
    assert.equal(s.type, 'id_number');
    assert.equal(s.status, 'requires_input');
});

test('create with every parameter echoes each one (return_url excepted)', async () => {
    const params = {
        type: 'document',
        client_reference_id: 'user_1234 ünïcode ✓',
        metadata: { order: '42', note: 'hello world & more=stuff', quoted: 'say "hi" \\ tab\there\nline </script>' },
        options: {
            document: {
                allowed_types: ['passport', 'id_card'],
                require_id_number: true,
                require_live_capture: true,
                require_matching_selfie: false,
            },
        },
        provided_details: { email: 'jenny@example.com', phone: '+14155550123' },
        related_customer: 'cus_Abc123',
        related_customer_account: 'acct_Cust456',
        related_person: { account: 'acct_1Person', person: 'person_1Abc' },
        return_url: 'https://example.com/return?x=1',
    };
    const s = await create(params);
    x.sessionShape(s, srv.url);
    assert.equal(s.type, 'document');
    assert.equal(s.client_reference_id, params.client_reference_id);
    assert.deepEqual(s.metadata, params.metadata);
    assert.deepEqual(s.options.document, params.options.document);
    assert.deepEqual(s.provided_details, params.provided_details);
    assert.equal(s.related_customer, 'cus_Abc123');
    assert.equal(s.related_customer_account, 'acct_Cust456');
    assert.deepEqual(s.related_person, params.related_person);
    assert.ok(!('return_url' in s), 'return_url is not a field on the object');
    assert.ok(!JSON.stringify(s).includes('example.com/return'), 'return_url must not be echoed anywhere');

    const r = await vs().retrieve(s.id);
    assert.deepEqual(h.plain(r), h.plain(s), 'retrieve returns what create returned');
});

test('create with options[document]="" is accepted and sets no document options', async () => {
    const s = await create({ type: 'document', options: { document: '' } });
    x.sessionShape(s, srv.url);
    const doc = s.options && s.options.document;
    assert.ok(doc === undefined || doc === null || Object.keys(doc).length === 0,
        `options.document should be empty, got ${JSON.stringify(s.options)}`);
});

test('create with only some document options shows those it was given', async () => {
    const s = await create({ type: 'document', options: { document: { require_matching_selfie: true } } });
    assert.equal(s.options.document.require_matching_selfie, true);
    assert.ok(!('require_id_number' in s.options.document) || s.options.document.require_id_number === false);
});

test('create with verification_flow gives type verification_flow', async () => {
    const s = await create({ verification_flow: 'vf_1TestFlow' });
    x.sessionShape(s, srv.url);
    assert.equal(s.type, 'verification_flow');
    assert.equal(s.verification_flow, 'vf_1TestFlow');
    const r = await vs().retrieve(s.id);
    assert.equal(r.type, 'verification_flow');
    assert.equal(r.verification_flow, 'vf_1TestFlow');
});

test('create with both type and verification_flow: 400 on type, nothing created', async () => {
    // CONTRACT.md §3: a flow decides the session's type (the object's type is then
    // verification_flow); sessions_api.c refuses a type given together with a flow.
    const st = srv.stripe(h.randomKey());
    for (const type of ['document', 'id_number']) {
        const err = await h.rejects(st.identity.verificationSessions.create({ type, verification_flow: 'vf_1TestFlow' }));
        x.sdkError(err, {
            status: 400,
            type: 'invalid_request_error',
            code: null,
            param: 'type',
            message: 'You cannot pass `type` together with `verification_flow`: the flow decides the type.',
        });
    }
    assert.deepEqual((await st.identity.verificationSessions.list()).data, []);
    assert.deepEqual((await st.events.list()).data, [], 'no created event');
});

test('retrieve returns the same object, with a stable client_secret and url', async () => {
    const s = await create({ type: 'document', metadata: { a: 'b' } });
    const r1 = await vs().retrieve(s.id);
    const r2 = await vs().retrieve(s.id);
    assert.deepEqual(h.plain(r1), h.plain(s));
    assert.deepEqual(h.plain(r2), h.plain(s));
    assert.equal(r1.lastResponse.statusCode, 200);
});

test('update metadata: set, merge, unset one key with "", clear all with metadata=""', async () => {
    const s = await create({ type: 'document' });
    let u = await vs().update(s.id, { metadata: { a: '1', b: '2' } });
    assert.deepEqual(u.metadata, { a: '1', b: '2' });
    u = await vs().update(s.id, { metadata: { c: '3', a: 'one' } });
    assert.deepEqual(u.metadata, { a: 'one', b: '2', c: '3' });
    u = await vs().update(s.id, { metadata: { a: '' } });
    assert.deepEqual(u.metadata, { b: '2', c: '3' });
    assert.deepEqual((await vs().retrieve(s.id)).metadata, { b: '2', c: '3' });
    u = await vs().update(s.id, { metadata: '' });
    assert.deepEqual(u.metadata, {});
    const r = await vs().retrieve(s.id);
    assert.deepEqual(r.metadata, {});
    assert.equal(r.status, 'requires_input');
    assert.equal(r.client_secret, s.client_secret, 'a metadata update does not rotate the client_secret');
});

test('update options, provided_details and type while requires_input', async () => {
    const s = await create({ type: 'document' });
    let u = await vs().update(s.id, {
        options: { document: { require_matching_selfie: true, allowed_types: ['driving_license'] } },
    });
    assert.equal(u.options.document.require_matching_selfie, true);
    assert.deepEqual(u.options.document.allowed_types, ['driving_license']);

    u = await vs().update(s.id, { provided_details: { email: 'a@example.com' } });
    assert.equal(u.provided_details.email, 'a@example.com');

    u = await vs().update(s.id, { type: 'id_number' });
    assert.equal(u.type, 'id_number');

    const r = await vs().retrieve(s.id);
    assert.equal(r.type, 'id_number');
    assert.equal(r.provided_details.email, 'a@example.com');
    assert.deepEqual(h.plain(r), h.plain(u));
    x.sessionShape(r, srv.url);
});

test('update with no parameters returns the session unchanged', async () => {
    const s = await create({ type: 'document', metadata: { a: '1' } });
    const u = await vs().update(s.id, {});
    assert.deepEqual(h.plain(u), h.plain(s));
});

test('update with options[document]="" clears the document options', async () => {
    const s = await create({ type: 'document', options: { document: { require_matching_selfie: true } } });
    assert.equal(s.options.document.require_matching_selfie, true);
    await vs().update(s.id, { options: { document: '' } });
    const r = await vs().retrieve(s.id);
    const doc = r.options && r.options.document;
    assert.ok(!doc || !doc.require_matching_selfie, `document options not cleared: ${JSON.stringify(r.options)}`);
});

test('update rejects create-only parameters (client_reference_id, return_url)', async () => {
    const s = await create({ type: 'document' });
    let err = await h.rejects(vs().update(s.id, { client_reference_id: 'x' }));
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: 'parameter_unknown', param: 'client_reference_id' });
    err = await h.rejects(vs().update(s.id, { return_url: 'https://example.com' }));
    x.sdkError(err, { status: 400, code: 'parameter_unknown', param: 'return_url' });
    const r = await vs().retrieve(s.id);
    assert.equal(r.client_reference_id ?? null, null);
});

test('cancel: status canceled, client_secret and url null; second cancel is a 400 naming the status', async () => {
    const s = await create({ type: 'document', metadata: { k: 'v' } });
    const c = await vs().cancel(s.id);
    x.sessionShape(c, srv.url);
    assert.equal(c.id, s.id);
    assert.equal(c.status, 'canceled');
    assert.equal(c.client_secret, null);
    assert.equal(c.url, null);
    assert.equal(c.redaction, null);
    assert.deepEqual(c.metadata, { k: 'v' }, 'cancel keeps metadata');
    assert.deepEqual(h.plain(await vs().retrieve(s.id)), h.plain(c));

    const err = await h.rejects(vs().cancel(s.id));
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: null, param: null });
    assert.match(err.message, /cancel/i, 'message names the action');
    assert.match(err.message, /canceled/, 'message names the current status');
    assert.equal(err.constructor.name, 'StripeInvalidRequestError');
});

const TH = '/v1/test_helpers/identity/verification_sessions';
/* A test helper (no SDK method exists for these paths); returns the session. */
async function helper(id, action, body = '') {
    const r = await srv.request({
        method: 'POST', path: `${TH}/${id}/${action}`, key, body,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.status, 200, r.text);
    return r.json;
}

test('cancel is allowed only in requires_input: from processing, verified and canceled it is the exact wrong-state 400', async () => {
    // CONTRACT.md §3 (cancel only in requires_input) and §11 (no code, no param, a message
    // naming the action and the current status; api.c api_err_state).
    const processing = await create({ type: 'document' });
    await helper(processing.id, 'process');
    const verified = await create({ type: 'document' });
    await helper(verified.id, 'verify');
    const canceled = await create({ type: 'document' });
    await vs().cancel(canceled.id);
    for (const [s, status] of [[processing, 'processing'], [verified, 'verified'], [canceled, 'canceled']]) {
        const before = await vs().retrieve(s.id);
        assert.equal(before.status, status);
        const err = await h.rejects(vs().cancel(s.id), `cancel from ${status} must be refused`);
        x.sdkError(err, {
            status: 400,
            type: 'invalid_request_error',
            code: null,
            param: null,
            message: `You can only cancel a VerificationSession while its status is requires_input; this one is ${status}.`,
        });
        assert.equal(err.constructor.name, 'StripeInvalidRequestError');
        assert.deepEqual(h.plain(await vs().retrieve(s.id)), h.plain(before), `a refused cancel changes nothing (${status})`);
    }
    // No canceled event for the refused ones: the only canceled event is the real cancel.
    const evs = (await stripe.events.list({ type: 'identity.verification_session.canceled', limit: 100 })).data;
    const ids = new Set([processing.id, verified.id, canceled.id]);
    assert.deepEqual(evs.filter((e) => ids.has(e.data.object.id)).map((e) => e.data.object.id), [canceled.id]);
    // A requires_input session after a failed attempt can still be canceled.
    const retried = await create({ type: 'document' });
    await helper(retried.id, 'require_input');
    assert.equal((await vs().cancel(retried.id)).status, 'canceled');
});

test('redaction redacts last_error.reason and keeps its code', async () => {
    const s = await create({ type: 'document', client_reference_id: 'last_error_ref' });
    const failed = await helper(s.id, 'require_input', 'last_error[code]=document_expired');
    assert.equal(failed.status, 'requires_input');
    assert.equal(failed.last_error.code, 'document_expired');
    assert.equal(typeof failed.last_error.reason, 'string');
    assert.notEqual(failed.last_error.reason, '[redacted]');
    const reason = failed.last_error.reason;
    const r = await vs().redact(s.id);
    assert.equal(r.status, 'canceled', 'redacting a requires_input session cancels it');
    const done = await h.eventually(async () => {
        const g = await vs().retrieve(s.id);
        return g.redaction && g.redaction.status === 'redacted' ? g : null;
    }, { what: 'redaction.status=redacted' });
    // CONTRACT.md §11 / session.c vs_redact: a string field reads "[redacted]"; the code is an
    // enum value (not personal data) and stays.
    assert.deepEqual(done.last_error, { code: 'document_expired', reason: '[redacted]' });
    assert.equal(done.client_reference_id, '[redacted]');
    // The same in every past event of the session.
    const evs = (await stripe.events.list({ limit: 100 })).data.filter((e) => e.data.object.id === s.id);
    assert.deepEqual(evs.map((e) => e.type.split('.').pop()), ['redacted', 'canceled', 'requires_input', 'processing', 'created']);
    for (const e of evs) {
        assert.ok(!JSON.stringify(e).includes(reason), `${e.type} still carries the reason`);
        if (e.data.object.last_error) assert.deepEqual(e.data.object.last_error, { code: 'document_expired', reason: '[redacted]' }, e.type);
    }
});

test('update after cancel is a wrong-state 400 naming the action and status', async () => {
    const s = await create({ type: 'document' });
    await vs().cancel(s.id);
    // CONTRACT §3: update is for requires_input; whether a metadata-only change is allowed in
    // other statuses is left open, so only changes to the verification itself are checked here.
    const cases = [
        { type: 'id_number' },
        { options: { document: { require_id_number: true } } },
        { options: { document: '' } },
        { provided_details: { email: 'late@example.com' } },
        { type: 'id_number', metadata: { a: 'b' } },
    ];
    for (const params of cases) {
        const err = await h.rejects(vs().update(s.id, params));
        x.sdkError(err, { status: 400, type: 'invalid_request_error', code: null, param: null });
        assert.match(err.message, /update/i, `message names the action: ${err.message}`);
        assert.match(err.message, /canceled/, `message names the current status: ${err.message}`);
    }
    const r = await vs().retrieve(s.id);
    assert.equal(r.type, 'document');
    assert.equal(r.provided_details, null);
    assert.deepEqual(r.metadata, {}, 'a rejected update changes no field, metadata included');
});

test('redacting a processing session is the exact wrong-state 400, and changes nothing', async () => {
    // CONTRACT.md §11: processing must finish first; verified and canceled may be redacted.
    const p = await create({ type: 'document', metadata: { keep: 'me' } });
    await helper(p.id, 'process');
    const before = await vs().retrieve(p.id);
    assert.equal(before.status, 'processing');
    const err = await h.rejects(vs().redact(p.id), 'redact from processing must be refused');
    x.sdkError(err, {
        status: 400,
        type: 'invalid_request_error',
        code: null,
        param: null,
        message: 'You can only redact a VerificationSession while its status is requires_input, verified or canceled; this one is processing.',
    });
    assert.deepEqual(h.plain(await vs().retrieve(p.id)), h.plain(before), 'a refused redact changes nothing');
    // Once verified, the same session may be redacted.
    await helper(p.id, 'verify');
    const r = await vs().redact(p.id);
    assert.equal(r.status, 'verified');
    assert.ok(r.redaction && ['processing', 'redacted'].includes(r.redaction.status));
});

test('redact a requires_input session: canceled + redaction processing, then redacted', async () => {
    const s = await create({
        type: 'document',
        client_reference_id: 'user_secret_ref',
        metadata: { pii: 'yes' },
        provided_details: { email: 'jenny@example.com', phone: '+14155550123' },
    });
    const r = await vs().redact(s.id);
    x.sessionShape(r, srv.url);
    assert.equal(r.id, s.id);
    assert.equal(r.status, 'canceled');
    assert.deepEqual(r.redaction, { status: 'processing' });
    assert.equal(r.client_secret, null);
    assert.equal(r.url, null);

    const done = await h.eventually(async () => {
        const g = await vs().retrieve(s.id);
        return g.redaction && g.redaction.status === 'redacted' ? g : null;
    }, { what: 'redaction.status=redacted' });
    x.sessionShape(done, srv.url);
    assert.equal(done.status, 'canceled');
    assert.deepEqual(done.metadata, {}, 'redaction erases metadata');
    assert.equal(done.client_reference_id, '[redacted]');
    assert.deepEqual(done.provided_details, { email: '[redacted]', phone: '[redacted]' });
    assert.ok(!JSON.stringify(done).includes('jenny@example.com'));
    assert.ok(!JSON.stringify(done).includes('user_secret_ref'));

    // Redacting again returns it unchanged.
    const again = await vs().redact(s.id);
    assert.deepEqual(h.plain(again), h.plain(done));
    assert.deepEqual(h.plain(await vs().retrieve(s.id)), h.plain(done));

    // Redacted sessions cannot be updated or canceled.
    const err = await h.rejects(vs().update(s.id, { metadata: { a: 'b' } }));
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: null });
    const err2 = await h.rejects(vs().cancel(s.id));
    x.sdkError(err2, { status: 400, type: 'invalid_request_error', code: null });
    assert.match(err2.message, /canceled/);
});

test('return_url: an absolute http(s) URL (scheme in any case); anything else is 400 url_invalid and creates nothing', async () => {
    const refused = [
        'javascript:alert(1)',
        'data:text/html,<script>alert(1)</script>',
        'ftp://example.com/back',
        '//example.com/back',
        '/back',
        'example.com/back',
        'https://',
        'https:///path',
        'https://example.com/"onmouseover="x',
        'https://example.com/<script>',
        'https://example.com/a b',
        'https://example.com/\r\nSet-Cookie: a=b',
        'https://exa\u00e9mple.com/',
    ];
    const before = await vs().list({ limit: 100 });
    for (const url of refused) {
        const err = await h.rejects(vs().create({ type: 'document', return_url: url }));
        x.sdkError(err, { status: 400, type: 'invalid_request_error', code: 'url_invalid', param: 'return_url' });
        assert.equal(err.message, 'Not a valid URL', url);
    }
    const after = await vs().list({ limit: 100 });
    assert.deepEqual(after.data.map((s) => s.id), before.data.map((s) => s.id), 'no session was created');
    for (const url of ['HTTPS://EXAMPLE.COM/back', 'Http://127.0.0.1:3000/x?y=1#z', 'https://user@example.com:8443/p', 'https://[::1]:9/']) {
        const s = await create({ type: 'document', return_url: url });
        assert.equal(s.status, 'requires_input', url);
    }
});

test('redact a canceled session is allowed and it stays canceled', async () => {
    const s = await create({ type: 'id_number', client_reference_id: 'ref_to_erase', metadata: { a: '1' } });
    await vs().cancel(s.id);
    const r = await vs().redact(s.id);
    assert.equal(r.status, 'canceled');
    assert.ok(r.redaction && ['processing', 'redacted'].includes(r.redaction.status), JSON.stringify(r.redaction));
    const done = await h.eventually(async () => {
        const g = await vs().retrieve(s.id);
        return g.redaction && g.redaction.status === 'redacted' ? g : null;
    }, { what: 'redaction.status=redacted' });
    assert.equal(done.status, 'canceled');
    assert.equal(done.type, 'id_number');
    assert.equal(done.client_reference_id, '[redacted]');
    assert.deepEqual(done.metadata, {});
});

test('redact twice in a row: the second call returns the session unchanged', async () => {
    const s = await create({ type: 'document' });
    const first = await vs().redact(s.id);
    const second = await vs().redact(s.id);
    assert.equal(second.status, 'canceled');
    assert.ok(second.redaction && ['processing', 'redacted'].includes(second.redaction.status));
    assert.equal(first.id, second.id);
    // The redactor may complete it at any moment, so the comparison waits for the end state.
    const done = await h.eventually(async () => {
        const g = await vs().retrieve(s.id);
        return g.redaction.status === 'redacted' ? g : null;
    }, { what: 'redaction.status=redacted' });
    assert.deepEqual(h.plain(await vs().redact(s.id)), h.plain(done));
    const events = await stripe.events.list({ limit: 100 });
    const mine = events.data.filter((e) => e.data.object.id === s.id).map((e) => e.type);
    assert.deepEqual(mine.sort(), [
        'identity.verification_session.canceled',
        'identity.verification_session.created',
        'identity.verification_session.redacted',
    ], 'one redaction: one canceled and one redacted event');
});

test('with --redaction-delay: processing until the delay passes; redacting again meanwhile changes nothing', async () => {
    const slow = await h.startServer({ redactionDelay: 1500 });
    try {
        const v = slow.stripe(h.randomKey()).identity.verificationSessions;
        const s = await v.create({ type: 'document', client_reference_id: 'slow_ref', metadata: { a: '1' } });
        const r = await v.redact(s.id);
        assert.deepEqual(r.redaction, { status: 'processing' });
        assert.equal(r.status, 'canceled');
        const g1 = await v.retrieve(s.id);
        assert.deepEqual(g1.redaction, { status: 'processing' }, 'still processing right after');
        const again = await v.redact(s.id);
        assert.deepEqual(h.plain(again), h.plain(g1), 'a second redact while processing returns it unchanged');
        const done = await h.eventually(async () => {
            const g = await v.retrieve(s.id);
            return g.redaction.status === 'redacted' ? g : null;
        }, { what: 'redaction.status=redacted' });
        assert.equal(done.client_reference_id, '[redacted]');
        assert.deepEqual(done.metadata, {});
    } finally {
        await slow.close();
    }
});

test('a redaction still processing at a kill -9 completes after the restart, with its event', async () => {
    // The delay keeps the redaction processing well past the kill, so only the restarted
    // process can complete it: from the due time stored with the session.
    const slow = await h.startServer({ redactionDelay: 2000 });
    try {
        const k = h.randomKey();
        let st = slow.stripe(k);
        const s = await st.identity.verificationSessions.create({ type: 'document', client_reference_id: 'restart_ref', metadata: { a: '1' } });
        const r = await st.identity.verificationSessions.redact(s.id);
        assert.deepEqual(r.redaction, { status: 'processing' });
        assert.equal(r.status, 'canceled');
        const g = await st.identity.verificationSessions.retrieve(s.id);
        assert.deepEqual(g.redaction, { status: 'processing' }, 'still processing just before the kill');
        assert.equal(g.client_reference_id, 'restart_ref', 'nothing is erased yet');
        await slow.kill9();
        await slow.restart();
        st = slow.stripe(k);
        const done = await h.eventually(async () => {
            const d = await st.identity.verificationSessions.retrieve(s.id);
            return d.redaction.status === 'redacted' ? d : null;
        }, { what: 'redaction.status=redacted after the restart' });
        assert.equal(done.status, 'canceled');
        assert.equal(done.client_reference_id, '[redacted]');
        assert.deepEqual(done.metadata, {});
        // The redacted event is written in the same transaction as the change: it is there as
        // soon as the session reads redacted, exactly once, and newest.
        const evs = (await st.events.list({ limit: 100 })).data;
        assert.deepEqual(evs.map((e) => e.type), [
            'identity.verification_session.redacted',
            'identity.verification_session.canceled',
            'identity.verification_session.created',
        ]);
        assert.equal(evs[0].data.object.id, s.id);
        assert.deepEqual(evs[0].data.object.redaction, { status: 'redacted' });
        assert.deepEqual(evs[0].request, { id: null, idempotency_key: null });
        assert.equal(slow.exits.length, 1);
        assert.equal(slow.exits[0].signal, 'SIGKILL');
    } finally {
        await slow.close();
    }
});

test('unknown id: 404 resource_missing, param session, on retrieve/update/cancel/redact', async () => {
    const id = unknownId();
    const calls = [
        () => vs().retrieve(id),
        () => vs().update(id, { metadata: { a: 'b' } }),
        () => vs().cancel(id),
        () => vs().redact(id),
    ];
    for (const call of calls) {
        const err = await h.rejects(call());
        x.sdkError(err, {
            status: 404,
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'session',
            message: `No such verification_session: '${id}'`,
        });
        assert.equal(err.constructor.name, 'StripeInvalidRequestError');
    }
    // Something that does not even look like an id is just as missing.
    const err = await h.rejects(vs().retrieve('nope'));
    x.sdkError(err, { status: 404, code: 'resource_missing', param: 'session', message: "No such verification_session: 'nope'" });
});

test('the server output never contains the API key or a client_secret', async () => {
    // Wait for the access-log line of one last request instead of sleeping: the server writes
    // each line before it answers, in order, so once this one is in, every earlier one is.
    const marker = await vs().list({ limit: 1 });
    const rid = marker.lastResponse.requestId;
    await h.eventually(() => srv.log.includes(`request_id=${rid}`), { what: 'the last access-log line' });
    assert.ok(srv.log.includes('listening on'), 'the server printed its ready line');
    assert.ok(seenSecrets.length > 5, 'the suite saw some client secrets');
    assert.ok(!srv.log.includes(key), 'API key appears in the server output');
    assert.ok(!srv.log.includes(key.slice(8)), 'the secret part of the API key appears in the server output');
    for (const secret of seenSecrets) {
        assert.ok(!srv.log.includes(secret), `client_secret ${secret} appears in the server output`);
        const opaque = secret.split('_secret_')[1];
        assert.ok(!srv.log.includes(opaque), 'the opaque part of a client_secret appears in the server output');
    }
});
