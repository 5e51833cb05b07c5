'use strict';
/*
 * Assertions shared by the black-box tests: the Stripe error object (CONTRACT.md §1 "Error body",
 * §11 "Errors") as seen through the SDK or raw HTTP, and the shape of an
 * identity.verification_session (CONTRACT.md §2, identity-openapi.json).
 */

const assert = require('node:assert/strict');

const REQUEST_ID_RE = /^req_[A-Za-z0-9]+$/;
const SESSION_ID_RE = /^vs_[A-Za-z0-9]{24}$/;

function docUrlFor(code) {
    return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

/* Check fields of an error body (the inner object) against want. A want value of null means
 * "absent"; a RegExp is matched; anything else must be equal. */
function checkErrorFields(e, want, where) {
    for (const [k, v] of Object.entries(want)) {
        if (k === 'status') continue;
        if (v === null) assert.equal(e[k], undefined, `${where}: error.${k} must be absent, got ${JSON.stringify(e[k])}`);
        else if (v instanceof RegExp) assert.match(String(e[k]), v, `${where}: error.${k}`);
        else assert.equal(e[k], v, `${where}: error.${k} (full error: ${JSON.stringify(e)})`);
    }
    assert.equal(typeof e.type, 'string', `${where}: error.type is required`);
    assert.ok(['api_error', 'card_error', 'idempotency_error', 'invalid_request_error'].includes(e.type),
        `${where}: error.type ${e.type} is not in the spec's enum`);
    assert.equal(typeof e.message, 'string', `${where}: error.message`);
    if (e.code !== undefined && e.code !== null) {
        assert.equal(e.doc_url, docUrlFor(e.code), `${where}: doc_url for code ${e.code}`);
    }
    for (const f of ['code', 'param', 'doc_url', 'request_log_url']) {
        assert.notEqual(e[f], null, `${where}: error.${f} must be omitted rather than null`);
    }
}

/*
 * An SDK error. want: {status, type (raw type), code, param, message}. Also checks the
 * Request-Id header and doc_url.
 */
function sdkError(err, want = {}) {
    assert.ok(err && err.raw, `expected a Stripe API error, got ${err && err.stack}`);
    if (want.status !== undefined) {
        assert.equal(err.statusCode, want.status, `HTTP status (error: ${JSON.stringify(err.raw)})`);
    }
    assert.match(String(err.headers && err.headers['request-id']), REQUEST_ID_RE, 'Request-Id header on an error');
    const body = Object.assign({}, err.raw);
    for (const k of ['headers', 'statusCode', 'requestId']) delete body[k];
    checkErrorFields(body, want, 'sdk');
    return err;
}

/* A raw response carrying a Stripe error. want as for sdkError. Returns the inner error. */
function rawError(res, want = {}) {
    assert.ok(!res.error, `expected an HTTP response, got a connection error: ${res.error && res.error.message}`);
    if (want.status !== undefined) assert.equal(res.status, want.status, `HTTP status (body: ${res.text})`);
    assert.match(String(res.headers['request-id']), REQUEST_ID_RE, `Request-Id header (status ${res.status})`);
    assert.match(String(res.headers['content-type']), /^application\/json/, 'errors are JSON');
    assert.ok(res.json && typeof res.json.error === 'object', `body must be {"error": {...}}: ${res.text}`);
    checkErrorFields(res.json.error, want, 'raw');
    return res.json.error;
}

/* Stripe's 404 for a method and path it does not serve (CONTRACT.md §11 "Unknown route"), in the
 * words of its real answers quoted in public code (help sentence included). */
function unknownRouteMessage(method, path) {
    return `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`;
}

/* A raw response carrying an error that, as Stripe's unknown-route 404, has only message and
 * type (no code, param, doc_url or request_log_url). want as for rawError. */
function bareError(res, want = {}) {
    const e = rawError(res, want);
    assert.deepEqual(Object.keys(e).sort(), ['message', 'type'], `only message and type: ${JSON.stringify(e)}`);
    return e;
}

const SESSION_PROPS = new Set([
    'client_reference_id', 'client_secret', 'created', 'id', 'last_error', 'last_verification_report',
    'livemode', 'metadata', 'object', 'options', 'provided_details', 'redaction', 'related_customer',
    'related_customer_account', 'related_person', 'status', 'type', 'url', 'verification_flow',
    'verified_outputs',
]);
const REQUIRED = ['created', 'id', 'livemode', 'metadata', 'object', 'status', 'type'];

/*
 * Structural checks every session must pass, whatever its state: only spec properties, required
 * ones present, enums respected, client_secret/url null outside requires_input (§2, §11).
 * publicUrl: the server's public base URL.
 */
function sessionShape(s, publicUrl) {
    for (const k of Object.keys(s)) assert.ok(SESSION_PROPS.has(k), `unexpected property ${k} on the session`);
    for (const k of REQUIRED) assert.ok(k in s, `required property ${k} missing`);
    assert.match(s.id, SESSION_ID_RE);
    assert.equal(s.object, 'identity.verification_session');
    assert.equal(s.livemode, false);
    assert.ok(Number.isInteger(s.created), 'created is a unix integer');
    assert.ok(['requires_input', 'processing', 'verified', 'canceled'].includes(s.status), `status ${s.status}`);
    assert.ok(['document', 'id_number', 'verification_flow'].includes(s.type), `type ${s.type}`);
    assert.equal(typeof s.metadata, 'object');
    assert.notEqual(s.metadata, null);
    for (const v of Object.values(s.metadata)) assert.equal(typeof v, 'string');
    assert.ok('provided_details' in s, 'provided_details is always present (CONTRACT §11)');
    if (s.status === 'requires_input' && !(s.redaction)) {
        assert.equal(typeof s.client_secret, 'string');
        assert.ok(s.client_secret.startsWith(`${s.id}_secret_`), `client_secret ${s.client_secret}`);
        assert.ok(s.client_secret.length > `${s.id}_secret_`.length);
        assert.equal(typeof s.url, 'string');
        if (publicUrl) assert.ok(s.url.startsWith(publicUrl + '/'), `url ${s.url} must start with ${publicUrl}/`);
    } else {
        assert.equal(s.client_secret, null, `client_secret must be null in status ${s.status}`);
        assert.equal(s.url, null, `url must be null in status ${s.status}`);
    }
    if (s.redaction !== null && s.redaction !== undefined) {
        assert.ok(['processing', 'redacted'].includes(s.redaction.status), `redaction.status ${s.redaction.status}`);
    }
    if ('related_person' in s) {
        assert.equal(typeof s.related_person.account, 'string');
        assert.equal(typeof s.related_person.person, 'string');
    }
    assert.ok(!('return_url' in s), 'return_url is not a field on the object');
}

/* created within [t0, t1] (ms timestamps taken around the request), one second of slack. */
function createdNear(created, t0, t1) {
    assert.ok(created >= Math.floor(t0 / 1000) - 1 && created <= Math.ceil(t1 / 1000) + 1,
        `created ${created} not within the request window ${t0 / 1000}..${t1 / 1000}`);
}

module.exports = { sdkError, rawError, bareError, unknownRouteMessage, sessionShape, createdNear, docUrlFor, REQUEST_ID_RE, SESSION_ID_RE };
