'use strict';
/*
 * The form encodings older SDKs send, over plain HTTP (not the pinned SDK's encoder): booleans in
 * Python's spelling (True / False, older stripe-python) and any other letter case, arrays as
 * `a[]=x` (older stripe-node and stripe-python) and as `a[0]=x` (today's SDKs), with the indexes
 * in any order. CONTRACT.md §1 "Request encoding", §11 "Errors" ("Booleans"), "Expand".
 *
 * Each case asserts what a user sees: the value read back, the objects expanded, the events
 * listed; and Stripe's 400 on the right param for what Stripe refuses (a plain `expand=x` is
 * "Invalid array", as stripe/stripe-cli#47 quotes; an index with a gap is refused the same way).
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
const test = h.testWithLog(() => srv);
const PATH = h.SESSIONS_PATH;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const HOOKS = '/v1/webhook_endpoints';
const VERIFIED = 'identity.verification_session.verified';
const CANCELED = 'identity.verification_session.canceled';
const CREATED = 'identity.verification_session.created';

before(async () => {
    srv = await h.startServer();
});
after(async () => {
    if (srv) await srv.close();
});

const post = (key, path, body) => srv.request({ method: 'POST', path, key, headers: FORM, body });
const get = (key, path) => srv.request({ path, key });
function ok(r) {
    assert.equal(r.status, 200, r.text);
    return r.json;
}

/* Every spelling verifyd takes for each boolean, and the value it stands for. */
const SPELLINGS = [['true', true], ['false', false], ['True', true], ['False', false], ['TRUE', true], ['FALSE', false]];
/* What is not a boolean: Stripe's 400 on the parameter (an empty string is Stripe's "cannot be
 * unset" answer). */
const NOT_BOOLEAN = [['yes', 'parameter_invalid_boolean'], ['1', 'parameter_invalid_boolean'], ['', 'parameter_invalid_empty']];
const DOC_BOOLS = ['require_id_number', 'require_live_capture', 'require_matching_selfie'];

test('options[document] booleans on create and update: every spelling reads back as its value', async () => {
    const key = h.randomKey();
    for (const name of DOC_BOOLS) {
        for (const [spelled, value] of SPELLINGS) {
            const s = ok(await post(key, PATH, `type=document&options[document][${name}]=${spelled}`));
            assert.deepEqual(s.options.document, { [name]: value }, `create ${name}=${spelled}`);
            assert.deepEqual(ok(await get(key, `${PATH}/${s.id}`)).options.document, { [name]: value }, `retrieve ${name}=${spelled}`);
            // Update to the opposite, spelled in the other case.
            const other = SPELLINGS.find(([sp, v]) => v !== value && sp !== sp.toLowerCase());
            const u = ok(await post(key, `${PATH}/${s.id}`, `options[document][${name}]=${other[0]}`));
            assert.deepEqual(u.options.document, { [name]: !value }, `update ${name}=${other[0]}`);
        }
    }
});

test('options[document] booleans: yes, 1 and "" are refused on create and update, naming the parameter', async () => {
    const key = h.randomKey();
    const s = ok(await post(key, PATH, 'type=document&options[document][require_id_number]=true'));
    for (const name of DOC_BOOLS) {
        const param = `options[document][${name}]`;
        for (const [bad, code] of NOT_BOOLEAN) {
            const c = await post(key, PATH, `type=document&${param}=${bad}`);
            const e = x.rawError(c, { status: 400, type: 'invalid_request_error', code, param });
            if (code === 'parameter_invalid_boolean') assert.equal(e.message, `Invalid boolean: ${bad}`);
            x.rawError(await post(key, `${PATH}/${s.id}`, `${param}=${bad}`), { status: 400, code, param });
        }
    }
    const l = ok(await get(key, `${PATH}?limit=100`));
    assert.deepEqual(l.data.map((v) => v.id), [s.id], 'no refused create made a session');
    assert.deepEqual(ok(await get(key, `${PATH}/${s.id}`)).options.document, { require_id_number: true }, 'no refused update changed it');
});

test('webhook endpoint booleans: disabled in every spelling sets the status; connect in every spelling is accepted', async () => {
    const key = h.randomKey();
    for (const [spelled] of SPELLINGS) {
        const we = ok(await post(key, HOOKS, `url=https://example.com/hook&enabled_events[]=*&connect=${spelled}`));
        assert.equal(we.status, 'enabled');
        ok(await post(key, `${HOOKS}/${we.id}`, 'disabled=false'));
    }
    const we = ok(await post(key, HOOKS, 'url=https://example.com/hook&enabled_events[]=*'));
    for (const [spelled, value] of SPELLINGS) {
        const u = ok(await post(key, `${HOOKS}/${we.id}`, `disabled=${spelled}`));
        assert.equal(u.status, value ? 'disabled' : 'enabled', `disabled=${spelled}`);
        assert.equal(ok(await get(key, `${HOOKS}/${we.id}`)).status, value ? 'disabled' : 'enabled', `retrieve after disabled=${spelled}`);
    }
    for (const [bad, code] of NOT_BOOLEAN) {
        x.rawError(await post(key, HOOKS, `url=https://example.com/hook&enabled_events[]=*&connect=${bad}`),
            { status: 400, type: 'invalid_request_error', code, param: 'connect' });
        x.rawError(await post(key, `${HOOKS}/${we.id}`, `disabled=${bad}`), { status: 400, code, param: 'disabled' });
    }
    const list = ok(await get(key, `${HOOKS}?limit=100`));
    assert.equal(list.data.length, SPELLINGS.length + 1, 'no refused create made an endpoint');
});

test('delivery_success on the events list: every spelling filters by its value', async () => {
    const key = h.randomKey();
    // No endpoint: the event is delivered to all (none) of them (CONTRACT.md §11).
    const s = ok(await post(key, PATH, 'type=document'));
    for (const [spelled, value] of SPELLINGS) {
        const l = ok(await get(key, `/v1/events?delivery_success=${spelled}`));
        assert.deepEqual(l.data.map((e) => e.data.object.id), value ? [s.id] : [], `delivery_success=${spelled}`);
    }
    for (const [bad, code] of NOT_BOOLEAN) {
        x.rawError(await get(key, `/v1/events?delivery_success=${bad}`), { status: 400, type: 'invalid_request_error', code, param: 'delivery_success' });
    }
});

/* A verified session: last_verification_report is a report id, verified_outputs is only there
 * when expanded. */
async function verifiedSession(key) {
    const s = ok(await post(key, PATH, 'type=document'));
    ok(await post(key, `/v1/test_helpers/identity/verification_sessions/${s.id}/verify`, ''));
    return s.id;
}

function expanded(s, what) {
    assert.equal(typeof s.last_verification_report, 'object', `${what}: last_verification_report expanded`);
    assert.equal(s.last_verification_report.object, 'identity.verification_report', what);
    assert.equal(s.verified_outputs.first_name, 'Jenny', `${what}: verified_outputs expanded`);
}

test('expand[0]=a&expand[1]=b and expand[]=a&expand[]=b on retrieve, list and create', async () => {
    const key = h.randomKey();
    const id = await verifiedSession(key);
    const plain = ok(await get(key, `${PATH}/${id}`));
    assert.match(plain.last_verification_report, /^vr_/);
    assert.ok(!('verified_outputs' in plain), 'verified_outputs only when expanded');

    for (const q of ['expand[0]=last_verification_report&expand[1]=verified_outputs',
        'expand[1]=verified_outputs&expand[0]=last_verification_report',
        'expand[]=last_verification_report&expand[]=verified_outputs',
        'expand%5B%5D=last_verification_report&expand%5B%5D=verified_outputs']) {
        expanded(ok(await get(key, `${PATH}/${id}?${q}`)), `retrieve ${q}`);
        // A POST takes them in the body too (update with nothing but expand).
        expanded(ok(await post(key, `${PATH}/${id}`, q)), `update ${q}`);
        const l = ok(await get(key, `${PATH}?${q.replace(/=/g, '=data.')}`));
        assert.equal(l.data.length, 1);
        expanded(l.data[0], `list ${q}`);
    }
    // Create: verified_outputs is there (null for a new session) only when expanded.
    for (const q of ['expand[0]=verified_outputs', 'expand[]=verified_outputs']) {
        const c = ok(await post(key, PATH, `type=document&${q}`));
        assert.ok('verified_outputs' in c, `create ${q}`);
        assert.equal(c.verified_outputs, null);
    }
    assert.ok(!('verified_outputs' in ok(await post(key, PATH, 'type=document'))));
});

test('expand as a plain string, with a gap, or without data. in a list: Stripe\'s 400', async () => {
    const key = h.randomKey();
    const id = await verifiedSession(key);
    // Stripe answers expand=x with "Invalid array" on expand (stripe/stripe-cli#47), repeated or not.
    for (const q of ['expand=verified_outputs', 'expand=verified_outputs&expand=last_verification_report']) {
        x.rawError(await get(key, `${PATH}/${id}?${q}`), { status: 400, type: 'invalid_request_error', code: null, param: 'expand', message: 'Invalid array' });
        x.rawError(await post(key, PATH, `type=document&${q}`), { status: 400, code: null, param: 'expand', message: 'Invalid array' });
    }
    for (const q of ['expand[0]=verified_outputs&expand[2]=last_verification_report', 'expand[1]=verified_outputs', 'expand[x]=verified_outputs']) {
        x.rawError(await get(key, `${PATH}/${id}?${q}`), { status: 400, code: null, param: 'expand', message: 'Invalid array' });
    }
    x.rawError(await get(key, `${PATH}?expand[]=verified_outputs`), {
        status: 400, param: 'expand[0]',
        message: "This property cannot be expanded (verified_outputs). You may want to try expanding 'data.verified_outputs' instead.",
    });
    x.rawError(await get(key, `${PATH}/${id}?expand[]=a.b.c.d.e`), {
        status: 400, code: 'property_expansion_max_depth', param: 'expand[0]',
        message: 'You cannot expand more than 4 levels of a property. Property: a.b.c.d.e',
    });
    assert.equal(ok(await get(key, `${PATH}?limit=100`)).data.length, 1, 'no refused create made a session');
});

test('options[document][allowed_types]: [] and [0] forms, indexes in any order, a gap refused', async () => {
    const key = h.randomKey();
    const at = 'options[document][allowed_types]';
    const cases = [
        [`${at}[]=passport&${at}[]=id_card`, ['passport', 'id_card']],
        [`${at}[0]=passport&${at}[1]=id_card`, ['passport', 'id_card']],
        [`${at}[1]=passport&${at}[0]=id_card`, ['id_card', 'passport']],
        [`${at}[2]=driving_license&${at}[0]=passport&${at}[1]=id_card`, ['passport', 'id_card', 'driving_license']],
        [`${at}[0]=driving_license`, ['driving_license']],
    ];
    for (const [body, want] of cases) {
        const s = ok(await post(key, PATH, `type=document&${body}`));
        assert.deepEqual(s.options.document.allowed_types, want, body);
        assert.deepEqual(ok(await get(key, `${PATH}/${s.id}`)).options.document.allowed_types, want, `retrieve ${body}`);
        const u = ok(await post(key, `${PATH}/${s.id}`, `${at}[1]=id_card&${at}[0]=driving_license`));
        assert.deepEqual(u.options.document.allowed_types, ['driving_license', 'id_card'], `update after ${body}`);
    }
    // A bad item is named by its index, whichever form carried it.
    for (const body of [`${at}[]=passport&${at}[]=selfie`, `${at}[1]=selfie&${at}[0]=passport`]) {
        x.rawError(await post(key, PATH, `type=document&${body}`), { status: 400, code: 'parameter_invalid_value', param: `${at}[1]` });
    }
    // Gaps, indexes that are not 0..n-1, and a plain string are not arrays.
    for (const body of [`${at}[0]=passport&${at}[2]=id_card`, `${at}[1]=passport`, `${at}[01]=passport`, `${at}=passport`]) {
        x.rawError(await post(key, PATH, `type=document&${body}`), { status: 400, type: 'invalid_request_error', code: null, param: at, message: 'Invalid array' });
    }
    assert.equal(ok(await get(key, `${PATH}?limit=100`)).data.length, cases.length, 'no refused create made a session');
});

test('enabled_events: [] and [0] forms, indexes in any order, a gap refused', async () => {
    const key = h.randomKey();
    const cases = [
        [`enabled_events[]=${VERIFIED}&enabled_events[]=${CANCELED}`, [VERIFIED, CANCELED]],
        [`enabled_events[0]=${VERIFIED}&enabled_events[1]=${CANCELED}`, [VERIFIED, CANCELED]],
        [`enabled_events[1]=${VERIFIED}&enabled_events[0]=${CANCELED}`, [CANCELED, VERIFIED]],
        ['enabled_events[0]=*', ['*']],
    ];
    for (const [body, want] of cases) {
        const we = ok(await post(key, HOOKS, `url=https://example.com/hook&${body}`));
        assert.deepEqual(we.enabled_events, want, body);
        assert.deepEqual(ok(await get(key, `${HOOKS}/${we.id}`)).enabled_events, want, `retrieve ${body}`);
        const u = ok(await post(key, `${HOOKS}/${we.id}`, `enabled_events[1]=${CREATED}&enabled_events[0]=${VERIFIED}`));
        assert.deepEqual(u.enabled_events, [VERIFIED, CREATED], `update after ${body}`);
    }
    for (const body of [`enabled_events[0]=${VERIFIED}&enabled_events[2]=${CANCELED}`, `enabled_events[1]=${VERIFIED}`, `enabled_events=${VERIFIED}`]) {
        x.rawError(await post(key, HOOKS, `url=https://example.com/hook&${body}`),
            { status: 400, type: 'invalid_request_error', code: null, param: 'enabled_events', message: 'Invalid array' });
    }
    assert.equal(ok(await get(key, `${HOOKS}?limit=100`)).data.length, cases.length, 'no refused create made an endpoint');
});

test('types on the events list: [] and [0] forms, indexes in any order, a gap refused', async () => {
    const key = h.randomKey();
    const a = ok(await post(key, PATH, 'type=document'));
    ok(await post(key, `${PATH}/${a.id}/cancel`, ''));
    const typesOf = async (q) => ok(await get(key, `/v1/events?${q}`)).data.map((e) => e.type);
    assert.deepEqual(await typesOf(`types[]=${CANCELED}`), [CANCELED]);
    assert.deepEqual(await typesOf(`types[0]=${CREATED}`), [CREATED]);
    for (const q of [`types[]=${CANCELED}&types[]=${CREATED}`, `types[0]=${CANCELED}&types[1]=${CREATED}`, `types[1]=${CANCELED}&types[0]=${CREATED}`]) {
        assert.deepEqual(await typesOf(q), [CANCELED, CREATED], q); // newest first, whatever the order asked in
    }
    assert.deepEqual(await typesOf(`types[]=${VERIFIED}`), []);
    for (const q of [`types[0]=${CANCELED}&types[2]=${CREATED}`, `types[1]=${CANCELED}`, `types=${CANCELED}`]) {
        x.rawError(await get(key, `/v1/events?${q}`), { status: 400, type: 'invalid_request_error', code: null, param: 'types', message: 'Invalid array' });
    }
});
