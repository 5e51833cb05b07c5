'use strict';
/*
 * Authentication and validation errors. CONTRACT.md §1 "Base and authentication", "Request
 * encoding", "Error body", "Metadata"; §11 "Errors", "Keys and accounts".
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
const createErr = async (params) => h.rejects(vs().create(params), `create ${JSON.stringify(params).slice(0, 200)} must fail`);

async function countSessions() {
    const p = await vs().list({ limit: 100 });
    return p.data.length;
}

test('no API key: 401 with the "did not provide an API key" message', async () => {
    for (const [method, path] of [['GET', PATH], ['POST', PATH], ['GET', `${PATH}/vs_${h.randomAlnum(24)}`]]) {
        const res = await srv.request({ method, path, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? 'type=document' : undefined });
        const e = x.rawError(res, { status: 401, type: 'invalid_request_error' });
        assert.match(e.message, /^You did not provide an API key/);
    }
    // Empty bearer token is no key either.
    const res = await srv.request({ path: PATH, headers: { Authorization: 'Bearer ' } });
    x.rawError(res, { status: 401 });
});

test('SDK with a malformed key: AuthenticationError, key masked to its last 4 characters', async () => {
    const bad = 'sk_test_has-a-dash-xY9z';
    const err = await h.rejects(srv.stripe(bad).identity.verificationSessions.list());
    x.sdkError(err, { status: 401, type: 'invalid_request_error' });
    assert.equal(err.constructor.name, 'StripeAuthenticationError');
    assert.match(err.message, /^Invalid API Key provided: sk_test_\*+xY9z$/);
    assert.ok(!err.message.includes('has-a-dash'), 'the key must not be echoed');
});

test('keys that are not valid open-test-mode keys are 401', async () => {
    const cases = [
        'sk_test_', // empty suffix
        'sk_test_' + 'a'.repeat(248), // too long
        'sk_test_abc def',
        'sk_test_abcé',
        'sk_tset_abcdef',
        'garbage',
    ];
    for (const k of cases) {
        const res = await srv.request({ path: PATH, headers: { Authorization: 'Bearer ' + k } });
        const e = x.rawError(res, { status: 401, type: 'invalid_request_error' });
        if (k.length > 12) {
            assert.ok(!e.message.includes(k), `message echoes the whole key: ${e.message}`);
        }
    }
    // The longest valid key works.
    const longest = 'sk_test_' + 'A_9'.repeat(82) + 'b';
    assert.equal(longest.length, 8 + 247);
    const ok = await srv.stripe(longest).identity.verificationSessions.list();
    assert.equal(ok.object, 'list');
});

test('publishable key: 403 secret_key_required (StripePermissionError)', async () => {
    const err = await h.rejects(srv.stripe('pk_test_' + h.randomAlnum(24)).identity.verificationSessions.list());
    x.sdkError(err, {
        status: 403, type: 'invalid_request_error', code: 'secret_key_required', param: null,
        message: 'This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.',
    });
    assert.equal(err.constructor.name, 'StripePermissionError');
});

test('live and restricted keys are refused in open test mode', async () => {
    const live = 'sk_live_' + h.randomAlnum(24);
    const err = await h.rejects(srv.stripe(live).identity.verificationSessions.create({ type: 'document' }));
    x.sdkError(err, { status: 401 });
    assert.ok(!err.message.includes(live), 'the key must not be echoed');
    const rk = 'rk_test_' + h.randomAlnum(24);
    const err2 = await h.rejects(srv.stripe(rk).identity.verificationSessions.list());
    /* Without a keys file no restricted key exists: it is an unknown key, masked. */
    x.sdkError(err2, { status: 401, type: 'invalid_request_error', code: null, message: `Invalid API Key provided: rk_test_****${rk.slice(-4)}` });
});

test('unknown parameters: 400 parameter_unknown with bracket-form param', async () => {
    const cases = [
        [{ type: 'document', bogus: 'x' }, 'bogus'],
        [{ type: 'document', options: { document: { foo: 'x' } } }, 'options[document][foo]'],
        [{ type: 'document', options: { email: { require_verification: 'true' } } }, 'options[email]'],
        [{ type: 'document', provided_details: { name: 'Jenny' } }, 'provided_details[name]'],
        [{ type: 'document', related_person: { account: 'acct_1', person: 'person_1', extra: '1' } }, 'related_person[extra]'],
    ];
    for (const [params, param] of cases) {
        const err = await createErr(params);
        x.sdkError(err, {
            status: 400,
            type: 'invalid_request_error',
            code: 'parameter_unknown',
            param,
            message: `Received unknown parameter: ${param}`,
        });
    }
});

test('missing type: 400 parameter_missing param type', async () => {
    for (const params of [{}, { metadata: { a: 'b' } }, { client_reference_id: 'x' }]) {
        const err = await createErr(params);
        x.sdkError(err, { status: 400, type: 'invalid_request_error', code: 'parameter_missing', param: 'type' });
    }
});

test('bad enum value for type: 400 with param type', async () => {
    for (const type of ['passport', 'verification_flow', 'Document', '']) {
        const err = await createErr({ type });
        x.sdkError(err, { status: 400, type: 'invalid_request_error', param: 'type' });
        assert.match(String(err.code), /^parameter_/, `code ${err.code}`);
    }
    const s = await vs().create({ type: 'document' });
    const err = await h.rejects(vs().update(s.id, { type: 'selfie' }));
    x.sdkError(err, { status: 400, param: 'type' });
});

test('bad allowed_types value: 400 naming options[document][allowed_types]', async () => {
    const err = await createErr({ type: 'document', options: { document: { allowed_types: ['passport', 'selfie'] } } });
    x.sdkError(err, { status: 400, type: 'invalid_request_error' });
    assert.match(String(err.param), /^options\[document\]\[allowed_types\]/);
});

test('bad boolean: 400 param options[document][require_id_number]', async () => {
    for (const v of ['yes', '1', 'Truthy', 'on', '']) {
        const err = await createErr({ type: 'document', options: { document: { require_id_number: v } } });
        x.sdkError(err, { status: 400, type: 'invalid_request_error', param: 'options[document][require_id_number]' });
    }
});

test('object where a string is expected and vice versa: 400', async () => {
    let err = await createErr({ type: 'document', client_reference_id: { a: 'b' } });
    x.sdkError(err, { status: 400 });
    assert.match(String(err.param), /^client_reference_id/);
    err = await createErr({ type: 'document', provided_details: 'x' });
    x.sdkError(err, { status: 400 });
    assert.match(String(err.param), /^provided_details/);
    err = await createErr({ type: 'document', options: 'x' });
    x.sdkError(err, { status: 400 });
    assert.match(String(err.param), /^options/);
});

test('client_reference_id: 5000 characters ok, 5001 rejected', async () => {
    const ok = await vs().create({ type: 'document', client_reference_id: 'c'.repeat(5000) });
    assert.equal(ok.client_reference_id.length, 5000);
    const err = await createErr({ type: 'document', client_reference_id: 'c'.repeat(5001) });
    x.sdkError(err, { status: 400, type: 'invalid_request_error', param: 'client_reference_id' });
    for (const f of ['related_customer', 'related_customer_account', 'verification_flow']) {
        const e = await createErr({ type: 'document', [f]: 'c'.repeat(5001) });
        x.sdkError(e, { status: 400, param: f });
    }
});

test('metadata limits: 50 keys, 40-character keys, 500-character values', async () => {
    const fifty = {};
    for (let i = 0; i < 50; i++) fifty['k' + i] = 'v';
    const ok = await vs().create({
        type: 'document',
        metadata: Object.assign({}, fifty),
    });
    assert.equal(Object.keys(ok.metadata).length, 50);
    const okLong = await vs().create({ type: 'document', metadata: { ['k'.repeat(40)]: 'v'.repeat(500) } });
    assert.equal(okLong.metadata['k'.repeat(40)].length, 500);

    const before = await countSessions();
    const fiftyOne = Object.assign({}, fifty, { k50: 'v' });
    // Stripe sends no code with these three (CONTRACT.md §1 "Metadata", params.h).
    let err = await createErr({ type: 'document', metadata: fiftyOne });
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: null, param: 'metadata',
        message: "Metadata can have up to 50 keys, but you've set 51." });
    err = await createErr({ type: 'document', metadata: { ['k'.repeat(41)]: 'v' } });
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: null, param: `metadata[${'k'.repeat(41)}]`,
        message: `Metadata keys can have up to 40 characters, but you passed in a key that is 41 characters. Invalid key: ${'k'.repeat(41)}` });
    err = await createErr({ type: 'document', metadata: { k: 'v'.repeat(501) } });
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: null, param: 'metadata[k]',
        message: /^Metadata values can have up to 500 characters, but you passed in a value that is 501 characters\. Invalid value: v+/ });
    assert.equal(await countSessions(), before, 'rejected creates create nothing');

    // An update that would take a session past 50 keys is rejected too.
    const s = await vs().create({ type: 'document', metadata: Object.assign({}, fifty) });
    err = await h.rejects(vs().update(s.id, { metadata: { extra: 'x' } }));
    x.sdkError(err, { status: 400 });
    assert.match(String(err.param), /^metadata/);
    assert.equal(Object.keys((await vs().retrieve(s.id)).metadata).length, 50);
    // ...but replacing one key while deleting another is fine.
    const u = await vs().update(s.id, { metadata: { k0: '', extra: 'x' } });
    assert.equal(Object.keys(u.metadata).length, 50);
    assert.equal(u.metadata.extra, 'x');
});

test('empty string only where the spec allows it', async () => {
    // options[document] and metadata take "" (CONTRACT §1); options, provided_details and
    // related_person do not.
    const ok = await vs().create({ type: 'document', options: { document: '' }, metadata: '' });
    assert.equal(ok.status, 'requires_input');
    for (const f of ['options', 'provided_details', 'related_person']) {
        const err = await createErr({ type: 'document', [f]: '' });
        x.sdkError(err, { status: 400, type: 'invalid_request_error', param: f });
    }
});

test('cancel and redact take only expand', async () => {
    const s = await vs().create({ type: 'document' });
    let err = await h.rejects(vs().cancel(s.id, { metadata: { a: 'b' } }));
    x.sdkError(err, { status: 400, code: 'parameter_unknown', param: 'metadata' });
    err = await h.rejects(vs().redact(s.id, { bogus: '1' }));
    x.sdkError(err, { status: 400, code: 'parameter_unknown', param: 'bogus' });
    assert.equal((await vs().retrieve(s.id)).status, 'requires_input', 'the rejected calls did nothing');
});

test('related_person needs both account and person', async () => {
    let err = await createErr({ type: 'document', related_person: { account: 'acct_1' } });
    x.sdkError(err, { status: 400, type: 'invalid_request_error', code: 'parameter_missing', param: 'related_person[person]' });
    err = await createErr({ type: 'document', related_person: { person: 'person_1' } });
    x.sdkError(err, { status: 400, code: 'parameter_missing', param: 'related_person[account]' });
});

test('unknown route: 404 "Unrecognized request URL (METHOD: /path). Please see ..."', async () => {
    const cases = [
        ['GET', '/v1/nope'],
        ['POST', '/v1/nope'],
        ['DELETE', PATH],
        ['GET', `${PATH}/vs_${h.randomAlnum(24)}/cancel`],
        ['GET', '/v2/identity/verification_sessions'],
        ['GET', `${PATH}/`],
        ['GET', '/'],
    ];
    for (const [method, path] of cases) {
        const res = await srv.request({ method, path, key });
        const e = x.rawError(res, { status: 404, type: 'invalid_request_error' });
        assert.equal(e.message, x.unknownRouteMessage(method, path));
    }
    // Through the SDK's generic request path too.
    const err = await h.rejects(stripe.rawRequest('GET', '/v1/nope'));
    x.sdkError(err, { status: 404, message: x.unknownRouteMessage('GET', '/v1/nope') });
});

/* Every method, every resource's path with a trailing slash (Stripe: "GET: /v1/events/" is an
 * unknown URL too), a known path under another method, with and without a key. */
test("an unknown route's 404 carries only message and type, as Stripe's does, for every method", async () => {
    const v1 = [PATH, `${PATH}/vs_${h.randomAlnum(24)}`, '/v1/identity/verification_reports', '/v1/events',
        '/v1/webhook_endpoints', `/v1/test_helpers/identity/verification_sessions/vs_${h.randomAlnum(24)}/verify`];
    const cases = [['GET', '/v1/nope'], ['POST', '/v1/nope'], ['DELETE', PATH], ['PUT', PATH], ['PATCH', PATH],
        ['OPTIONS', PATH], ['DELETE', `${PATH}/vs_${h.randomAlnum(24)}`], ['GET', '/v1/webhook_endpoints/we_1/x']];
    for (const p of v1) for (const m of ['GET', 'POST', 'DELETE']) cases.push([m, `${p}/`]);
    for (const [method, path] of cases) {
        for (const k of [key, undefined]) {
            const res = await srv.request({ method, path, key: k, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
                body: method === 'POST' ? 'type=document' : undefined });
            const e = x.bareError(res, { status: 404, type: 'invalid_request_error', message: x.unknownRouteMessage(method, path) });
            assert.ok(e, `${method} ${path}`);
        }
    }
    // A query string is not part of the URL named.
    const q = await srv.request({ path: '/v1/nope?limit=3', key });
    x.bareError(q, { status: 404, message: x.unknownRouteMessage('GET', '/v1/nope') });
});

test('expand: unknown field and more than 4 levels are 400 naming the path', async () => {
    const s = await vs().create({ type: 'document' });
    let err = await h.rejects(vs().retrieve(s.id, { expand: ['bogus'] }));
    x.sdkError(err, { status: 400, type: 'invalid_request_error' });
    assert.match(err.message, /bogus/);
    err = await h.rejects(vs().retrieve(s.id, { expand: ['metadata'] }));
    x.sdkError(err, { status: 400 });
    assert.match(err.message, /metadata/);
    const deep = 'last_verification_report.document.dob.day.more';
    err = await h.rejects(vs().retrieve(s.id, { expand: [deep] }));
    x.sdkError(err, { status: 400 });
    err = await h.rejects(vs().create({ type: 'document', expand: ['nope'] }));
    x.sdkError(err, { status: 400 });
    assert.match(err.message, /nope/);
});

test('every error carries Request-Id, and doc_url when it has a code', async () => {
    // sdkError/rawError check this on every error above; here an explicit sample of each kind.
    const errs = [
        await createErr({ type: 'document', bogus: '1' }),
        await createErr({}),
        await h.rejects(vs().retrieve('vs_' + h.randomAlnum(24))),
        await h.rejects(srv.stripe('sk_test_bad!').identity.verificationSessions.list()),
    ];
    for (const e of errs) {
        assert.match(String(e.headers['request-id']), /^req_[A-Za-z0-9]+$/);
        assert.equal(e.requestId, e.headers['request-id']);
        if (e.code) assert.equal(e.doc_url, `https://stripe.com/docs/error-codes/${e.code.replace(/_/g, '-')}`);
    }
    const ids = new Set(errs.map((e) => e.requestId));
    assert.equal(ids.size, errs.length, 'request ids are unique');
});

test('an invalid request changes nothing', async () => {
    const s = await vs().create({ type: 'document', metadata: { a: '1' } });
    const err = await h.rejects(vs().update(s.id, { metadata: { b: '2' }, type: 'passport' }));
    x.sdkError(err, { status: 400, param: 'type' });
    const r = await vs().retrieve(s.id);
    assert.deepEqual(h.plain(r), h.plain(s));
});
