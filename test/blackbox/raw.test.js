'use strict';
/*
 * Requests the SDK never sends, with node:http: wrong content types, malformed form encoding,
 * oversized inputs, auth variants, keep-alive and headers. CONTRACT.md §1 "Request encoding",
 * "Headers"; §11 "Errors". The server must answer each with a Stripe error (never a crash) and
 * leave the stored data untouched.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
let key; /* the account attacked with bad requests; holds exactly one session */
let key2; /* the account for requests that should succeed */
let baseline; /* {id, raw body of retrieve} */
const test = h.testWithLog(() => srv);
const PATH = h.SESSIONS_PATH;
const FORM = 'application/x-www-form-urlencoded';
/* api.c api_handle: the answer to a body over --max-body. */
const TOO_LARGE = {
    status: 413,
    type: 'invalid_request_error',
    code: null,
    param: null,
    message: 'Request body too large: verifyd accepts request bodies up to the configured limit.',
};

before(async () => {
    srv = await h.startServer();
    key = h.randomKey();
    key2 = h.randomKey();
    const c = await srv.request({
        method: 'POST', path: PATH, key,
        headers: { 'Content-Type': FORM },
        body: 'type=document&client_reference_id=baseline&metadata[k]=v&options[document][require_id_number]=true',
    });
    assert.equal(c.status, 200, c.text);
    const r = await srv.request({ path: `${PATH}/${c.json.id}`, key });
    assert.equal(r.status, 200);
    baseline = { id: c.json.id, raw: r.raw };
});
after(async () => {
    if (srv) await srv.close();
});

const post = (body, headers = {}, k = key) =>
    srv.request({ method: 'POST', path: PATH, key: k, headers: Object.assign({ 'Content-Type': FORM }, headers), body });

async function stillServing() {
    const r = await srv.request({ path: `${PATH}/${baseline.id}`, key });
    assert.ok(!r.error, `server not serving: ${r.error && r.error.message}`);
    assert.equal(r.status, 200);
}

test('JSON body on create: 400 saying the API takes form-encoded bodies', async () => {
    const r = await post('{"type":"document"}', { 'Content-Type': 'application/json' });
    const e = x.rawError(r, { status: 400, type: 'invalid_request_error' });
    assert.match(e.message, /form-encoded|x-www-form-urlencoded/i);
    // Even a JSON body that parses as a form ("type=document" is not JSON) is refused by type.
    const r2 = await post('type=document', { 'Content-Type': 'application/json' });
    x.rawError(r2, { status: 400 });
});

test('multipart body on create: 400', async () => {
    const boundary = 'XyZ123';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ndocument\r\n--${boundary}--\r\n`;
    const r = await post(body, { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    const e = x.rawError(r, { status: 400, type: 'invalid_request_error' });
    assert.match(e.message, /form-encoded|x-www-form-urlencoded/i);
    const r2 = await post('type=document', { 'Content-Type': 'text/plain' });
    x.rawError(r2, { status: 400 });
});

test('malformed percent-encoding, bad UTF-8 and NUL: 400', async () => {
    const bodies = [
        'type=document&client_reference_id=%zz',
        'type=document&client_reference_id=%4G', // one good hex digit is not enough
        'type=document&client_reference_id=%G4',
        'type=document&client_reference_id=%',
        'type=document&client_reference_id=abc%2',
        'type=document&client_reference_id=%FF',
        'type=document&client_reference_id=%C3%28',
        'type=document&client_reference_id=%ED%A0%80', // UTF-16 surrogate encoded in UTF-8
        'type=document&client_reference_id=%C0%AF', // overlong
        'type=document&client_reference_id=a%00b',
        'type=document&metadata[a%00]=x',
        'type=document&metadata[%FF]=x',
        'type%zz=document',
        'type=document&metadata[a]b=x', // text after a closing bracket
        'type=document&metadata[a]=x&metadata[b]c[d]=y',
    ];
    for (const body of bodies) {
        const r = await post(body);
        x.rawError(r, { status: 400, type: 'invalid_request_error' });
    }
    // A closing bracket must end the key or open the next segment: the name is what is wrong,
    // not the value it would have made.
    for (const name of ['metadata[a]zb]', 'metadata[a]b', 'options[document]x[require_id_number]']) {
        const r = await post(`type=document&${name}=x`);
        x.rawError(r, { status: 400, type: 'invalid_request_error', code: null, param: null,
            message: `Invalid request: Invalid parameter name: ${name}` });
    }
    // The same in a query string.
    const q = await srv.request({ path: `${PATH}?client_reference_id=%zz`, key });
    x.rawError(q, { status: 400 });
    const q2 = await srv.request({ path: `${PATH}?client_reference_id=%FF`, key });
    x.rawError(q2, { status: 400 });
});

test('malformed brackets: 400', async () => {
    for (const body of ['type=document&metadata[a=1', 'type=document&metadata]a[=1', 'type=document&metadata[a][]b=1',
        'type=document&metadata=x&metadata[a]=1']) {
        const r = await post(body);
        x.rawError(r, { status: 400 });
    }
});

test('nesting 1000 levels deep: 400', async () => {
    const r = await post('type=document&metadata' + '[a]'.repeat(1000) + '=1');
    x.rawError(r, { status: 400, type: 'invalid_request_error' });
    const r2 = await post('type=document&a' + '[a]'.repeat(1000) + '=1');
    x.rawError(r2, { status: 400 });
    const r3 = await srv.request({ path: `${PATH}?created` + '[gt]'.repeat(1000) + '=1', key });
    x.rawError(r3, { status: 400 });
});

test('more than 1,000 parameters: 400 before any is decoded; 1,000 are decoded', async () => {
    const TOO_MANY = { status: 400, type: 'invalid_request_error', code: null, param: null,
        message: 'Invalid request: Too many parameters: at most 1000 are allowed' };
    const parts = ['type=document'];
    for (let i = 0; i < 10000; i++) parts.push(`metadata[k${i}]=v`);
    x.rawError(await post(parts.join('&')), TOO_MANY);
    const parts2 = ['type=document'];
    for (let i = 0; i < 10000; i++) parts2.push(`expand[]=verified_outputs`);
    x.rawError(await post(parts2.join('&')), TOO_MANY);
    /* The bound is exact: 1,001 pairs are refused, 1,000 reach validation (which then names
     * the 51st metadata key as one too many). */
    const at = (n) => ['type=document', ...Array.from({ length: n - 1 }, (_, i) => `metadata[k${i}]=v`)].join('&');
    x.rawError(await post(at(1001)), TOO_MANY);
    const e = x.rawError(await post(at(1000)), { status: 400, param: 'metadata' });
    assert.match(e.message, /^Metadata can have up to 50 keys/);
});

test('body over 1 MiB: 413, and the server serves the next request', async () => {
    // Several attempts: a server that closes the connection right after its early 413 (no
    // lingering close, RFC 9112 §9.6) makes the client see a reset instead of the answer, but
    // only some of the time.
    for (const size of [1024 * 1024 + 1, 1024 * 1024 + 100, 2 * 1024 * 1024, 4 * 1024 * 1024, 1100 * 1024]) {
        const big = 'type=document&client_reference_id=' + 'x'.repeat(size);
        const r = await post(big);
        assert.ok(!r.error, `${big.length}-byte body: connection error instead of 413: ${r.error && r.error.message}`);
        assert.equal(r.status, 413, r.text.slice(0, 300));
        x.rawError(r, TOO_LARGE);
        await stillServing();
    }
    // Exactly at the limit is not too large (it is a 400 for other reasons or a 200).
    const atLimit = 'type=document&metadata[a]=' + 'y'.repeat(1024 * 1024 - 'type=document&metadata[a]='.length);
    assert.equal(atLimit.length, 1024 * 1024);
    const r0 = await post(atLimit);
    assert.ok(!r0.error, r0.error && r0.error.message);
    assert.notEqual(r0.status, 413, 'a body of exactly 1 MiB is within the limit');

    // Chunked, with no Content-Length, is bounded the same way.
    const chunk = 'x'.repeat(64 * 1024);
    const chunks = ['type=document&client_reference_id='];
    for (let i = 0; i < 20; i++) chunks.push(chunk);
    const r2 = await srv.request({
        method: 'POST', path: PATH, key,
        headers: { 'Content-Type': FORM, 'Transfer-Encoding': 'chunked' },
        chunks,
    });
    // The whole chunked body is sent before the server answers (it reads and drops what is over
    // the limit), so the client always gets to read the 413: a reset is a failure here too.
    assert.ok(!r2.error, `chunked body over the limit: connection error instead of 413: ${r2.error && r2.error.message}`);
    assert.equal(r2.status, 413, r2.text.slice(0, 300));
    x.rawError(r2, TOO_LARGE);
    await stillServing();
});

test('64 KB header: 4xx or connection closed, and the server keeps serving', async () => {
    const r = await srv.request({ path: PATH, key, headers: { 'X-Big': 'a'.repeat(64 * 1024) } });
    if (!r.error) assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    const r2 = await srv.request({ path: PATH, headers: { Authorization: 'Bearer ' + key + 'a'.repeat(64 * 1024) } });
    if (!r2.error) assert.ok(r2.status >= 400 && r2.status < 500, `status ${r2.status}`);
    const many = {};
    for (let i = 0; i < 2000; i++) many['X-H' + i] = 'v'.repeat(30);
    const r3 = await srv.request({ path: PATH, key, headers: many });
    if (!r3.error) assert.ok(r3.status >= 400 && r3.status < 500, `status ${r3.status}`);
    await stillServing();
});

test('empty body on create: 400 parameter_missing type', async () => {
    const r = await post('');
    x.rawError(r, { status: 400, type: 'invalid_request_error', code: 'parameter_missing', param: 'type' });
    const r2 = await srv.request({ method: 'POST', path: PATH, key, headers: { 'Content-Length': '0' } });
    x.rawError(r2, { status: 400, code: 'parameter_missing', param: 'type' });
});

test('Basic auth with the key as username works', async () => {
    const basic = 'Basic ' + Buffer.from(key + ':').toString('base64');
    const r = await srv.request({ path: `${PATH}/${baseline.id}`, headers: { Authorization: basic } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, baseline.id);
    const bad = 'Basic ' + Buffer.from('sk_test_nope!:').toString('base64');
    const r2 = await srv.request({ path: PATH, headers: { Authorization: bad } });
    x.rawError(r2, { status: 401 });
    const r3 = await srv.request({ path: PATH, headers: { Authorization: 'Basic %%%not-base64' } });
    x.rawError(r3, { status: 401 });
});

test('Content-Type with charset, chunked bodies and encoded brackets work', async () => {
    const r = await post('type=document&client_reference_id=charset', { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }, key2);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.client_reference_id, 'charset');
    const r2 = await srv.request({
        method: 'POST', path: PATH, key: key2,
        headers: { 'Content-Type': FORM, 'Transfer-Encoding': 'chunked' },
        chunks: ['type=doc', 'ument&client_reference_id=chun', 'ked'],
    });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.client_reference_id, 'chunked');
    const r3 = await post('type=document&metadata%5Bk%5D=v&options%5Bdocument%5D%5Ballowed_types%5D%5B%5D=passport', {}, key2);
    assert.equal(r3.status, 200, r3.text);
    assert.deepEqual(r3.json.metadata, { k: 'v' });
    assert.deepEqual(r3.json.options.document.allowed_types, ['passport']);
});

test("form decoding: '+' is a space, %2B a plus, UTF-8 round-trips, expand[] and expand[0] both work", async () => {
    const r = await post('type=document&client_reference_id=a+b%2Bc&metadata[n%C3%A4me]=J%C3%BCrgen+%E2%9C%93', {}, key2);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.client_reference_id, 'a b+c');
    assert.deepEqual(r.json.metadata, { 'näme': 'Jürgen ✓' });
    const r2 = await post('type=document&options[document][allowed_types][]=passport&options[document][allowed_types][]=id_card', {}, key2);
    assert.equal(r2.status, 200, r2.text);
    assert.deepEqual(r2.json.options.document.allowed_types, ['passport', 'id_card']);
    const r3 = await post('type=document&options[document][allowed_types][1]=id_card&options[document][allowed_types][0]=passport', {}, key2);
    assert.equal(r3.status, 200, r3.text);
    assert.deepEqual(r3.json.options.document.allowed_types, ['passport', 'id_card'], 'indexed arrays follow the index');
});

test('keep-alive: two requests on one socket both succeed', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
        const a = await srv.request({ path: `${PATH}/${baseline.id}`, key, agent });
        const b = await srv.request({ method: 'POST', path: PATH, key: key2, agent, headers: { 'Content-Type': FORM }, body: 'type=id_number' });
        const c = await srv.request({ path: `${PATH}/${b.json && b.json.id}`, key: key2, agent });
        assert.equal(a.status, 200);
        assert.equal(b.status, 200, b.text);
        assert.equal(c.status, 200, c.text);
        assert.equal(b.socketReused, true, 'the second request reused the connection');
        assert.equal(c.socketReused, true, 'the third request reused the connection');
        // An error response keeps the connection too.
        const d = await srv.request({ path: '/v1/nope', key, agent });
        const e = await srv.request({ path: PATH, key, agent });
        assert.equal(d.status, 404);
        assert.equal(e.status, 200);
        assert.equal(e.socketReused, true);
    } finally {
        agent.destroy();
    }
});

test('Stripe-Version is accepted and a Stripe-Version header comes back', async () => {
    const r = await srv.request({ path: `${PATH}/${baseline.id}`, key, headers: { 'Stripe-Version': '2026-07-29.dahlia' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['stripe-version'], '2026-07-29.dahlia');
    const r2 = await srv.request({ path: `${PATH}/${baseline.id}`, key, headers: { 'Stripe-Version': '2020-08-27' } });
    assert.equal(r2.status, 200);
    assert.match(String(r2.headers['stripe-version']), /^\d{4}-\d{2}-\d{2}/);
    const r3 = await srv.request({ path: `${PATH}/${baseline.id}`, key });
    assert.match(String(r3.headers['stripe-version']), /^\d{4}-\d{2}-\d{2}/);
    const r4 = await srv.request({ path: '/v1/nope', key, headers: { 'Stripe-Version': '2026-07-29.dahlia' } });
    assert.match(String(r4.headers['stripe-version']), /^\d{4}-\d{2}-\d{2}/);
});

test('Request-Id on every response: 200, 400, 401, 404 (413: see the body-size test)', async () => {
    const seen = new Set();
    const responses = [
        await srv.request({ path: `${PATH}/${baseline.id}`, key }),
        await post('type=passport'),
        await srv.request({ path: PATH }),
        await srv.request({ path: '/v1/nope', key }),
        await srv.request({ path: '/v1/nope' }),
        await srv.request({ path: `${PATH}/vs_${h.randomAlnum(24)}`, key }),
    ];
    for (const r of responses) {
        assert.ok(!r.error, r.error && r.error.message);
        assert.match(String(r.headers['request-id']), x.REQUEST_ID_RE, `Request-Id on a ${r.status}`);
        seen.add(r.headers['request-id']);
    }
    assert.equal(seen.size, responses.length, 'request ids are unique');
    const st = responses.map((r) => r.status);
    assert.deepEqual([st[0], st[1], st[2], st[3], st[5]], [200, 400, 401, 404, 404]);
    assert.ok([401, 404].includes(st[4]), `unknown route without a key: ${st[4]}`);
});

test('OPTIONS, PATCH and PUT are unknown routes: 404 naming the method and path', async () => {
    for (const method of ['OPTIONS', 'PATCH', 'PUT']) {
        const path = `${PATH}/${baseline.id}`;
        const r = await srv.request({ method, path, key });
        x.bareError(r, { status: 404, type: 'invalid_request_error', message: x.unknownRouteMessage(method, path) });
    }
    await stillServing();
});

test('HEAD is no route: 404 with headers and no body, and the keep-alive connection stays usable', async () => {
    // The route table (api.c) has GET, POST and DELETE routes only, so HEAD on a GET path is
    // the unknown-route 404 (CONTRACT.md §11 "Unknown route"); as HTTP requires, the answer to
    // a HEAD carries the headers but no body. If the server wrote the body anyway, the next
    // response on the same connection would start with those stray bytes and fail to parse.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
        for (const path of [PATH, `${PATH}/${baseline.id}`, '/v1/events']) {
            const r = await srv.request({ method: 'HEAD', path, key, agent });
            assert.ok(!r.error, `HEAD ${path}: ${r.error && r.error.message}`);
            assert.equal(r.status, 404, `HEAD ${path}`);
            assert.match(String(r.headers['request-id']), x.REQUEST_ID_RE, 'Request-Id on a HEAD answer');
            assert.match(String(r.headers['content-type']), /^application\/json/);
            assert.equal(r.raw.length, 0, 'no body in the answer to a HEAD');
            const g = await srv.request({ path: `${PATH}/${baseline.id}`, key, agent });
            assert.equal(g.status, 200, g.text);
            assert.equal(g.socketReused, true, 'the GET after the HEAD reused the connection');
            assert.equal(g.raw.toString('utf8'), baseline.raw.toString('utf8'));
        }
    } finally {
        agent.destroy();
    }
    // Without a key it is the same 404 (routing comes before authentication).
    const nokey = await srv.request({ method: 'HEAD', path: PATH });
    assert.equal(nokey.status, 404);
    assert.equal(nokey.raw.length, 0);
});

test('after all of this the attacked account is unchanged', async () => {
    const r = await srv.request({ path: `${PATH}/${baseline.id}`, key });
    assert.equal(r.status, 200);
    assert.equal(r.raw.toString('utf8'), baseline.raw.toString('utf8'), 'byte-identical retrieve');
    const l = await srv.request({ path: `${PATH}?limit=100`, key });
    assert.equal(l.status, 200);
    assert.deepEqual(l.json.data.map((s) => s.id), [baseline.id], 'no session was created by a rejected request');
});

/* CONTRACT.md §11 "Booleans": what older stripe-python releases send (Python's str() of a bool). */
test('booleans in any letter case on every boolean parameter, with the meaning of their value', async () => {
    const k = h.randomKey();
    const post = (path, body) => srv.request({ method: 'POST', path, key: k, headers: { 'Content-Type': FORM }, body });
    for (const [spelled, value] of [['True', true], ['False', false], ['TRUE', true], ['fAlSe', false]]) {
        const r = await post(PATH, `type=document&options[document][require_matching_selfie]=${spelled}` +
            `&options[document][require_id_number]=${spelled}&options[document][require_live_capture]=${spelled}`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.options.document, {
            require_id_number: value, require_live_capture: value, require_matching_selfie: value,
        }, spelled);
    }
    const we = await post('/v1/webhook_endpoints', 'url=https://example.com/hook&enabled_events[]=*&connect=False');
    assert.equal(we.status, 200, we.text);
    const off = await post(`/v1/webhook_endpoints/${we.json.id}`, 'disabled=True');
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.status, 'disabled');
    const on = await post(`/v1/webhook_endpoints/${we.json.id}`, 'disabled=False');
    assert.equal(on.json.status, 'enabled');
    for (const spelled of ['True', 'False']) {
        const l = await srv.request({ path: `/v1/events?delivery_success=${spelled}`, key: k });
        const lower = await srv.request({ path: `/v1/events?delivery_success=${spelled.toLowerCase()}`, key: k });
        assert.equal(l.status, 200, l.text);
        assert.deepEqual(l.json.data.map((e) => e.id), lower.json.data.map((e) => e.id), spelled);
    }
    const bad = await post(PATH, 'type=document&options[document][require_id_number]=yes');
    x.rawError(bad, { status: 400, type: 'invalid_request_error', code: 'parameter_invalid_boolean', param: 'options[document][require_id_number]' });
});
