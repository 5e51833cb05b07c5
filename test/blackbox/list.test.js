'use strict';
/*
 * GET /v1/identity/verification_sessions: limits, filters, order and cursor pagination.
 * CONTRACT.md §1 "Lists and pagination", §3 "list".
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
let stripe;
let key;
const test = h.testWithLog(() => srv);

/* Sessions in creation order, as last acknowledged by the server. */
const created = [];
let newestFirst; /* ids, expected list order */

const REF_A = 'user_list_A';
const CUS = 'cus_ListTest1';
const CUSACCT = 'acct_ListCust1';

async function waitNextSecond() {
    const ms = 1000 - (Date.now() % 1000);
    await h.sleep(ms + 20);
}

before(async () => {
    srv = await h.startServer();
    key = h.randomKey();
    stripe = srv.stripe(key);
    const vs = stripe.identity.verificationSessions;
    // Three groups in three different seconds, created one after another, so ties on
    // `created` within a group are certain and the created filters have distinct values.
    const groups = [10, 10, 5];
    let n = 0;
    for (let g = 0; g < groups.length; g++) {
        if (g > 0) await waitNextSecond();
        for (let i = 0; i < groups[g]; i++, n++) {
            const params = { type: n % 3 === 0 ? 'id_number' : 'document', metadata: { n: String(n) } };
            if (n % 5 === 0) params.client_reference_id = REF_A;
            if (n % 6 === 1) params.related_customer = CUS;
            if (n % 8 === 2) params.related_customer_account = CUSACCT;
            created.push(await vs.create(params));
        }
    }
    // Every status is represented: canceled (i % 4 == 3), processing (i % 8 == 1), verified
    // (i % 8 == 5), and requires_input, some of those after a failed attempt (i % 8 == 2, with
    // last_error), so the status filter is checked against sessions that changed status.
    for (let i = 0; i < created.length; i++) {
        if (i % 4 === 3) created[i] = await vs.cancel(created[i].id);
        else if (i % 8 === 1) created[i] = await helper(created[i].id, 'process');
        else if (i % 8 === 5) created[i] = await helper(created[i].id, 'verify');
        else if (i % 8 === 2) created[i] = await helper(created[i].id, 'require_input');
    }
    newestFirst = created.map((s) => s.id).reverse();
});

/* A test helper (the SDK has no method for these paths); returns the session it answers. */
async function helper(id, action) {
    const r = await srv.request({
        method: 'POST', path: `/v1/test_helpers/identity/verification_sessions/${id}/${action}`, key,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '',
    });
    assert.equal(r.status, 200, r.text);
    return r.json;
}
after(async () => {
    if (srv) await srv.close();
});

const list = (params) => stripe.identity.verificationSessions.list(params);
const ids = (page) => page.data.map((s) => s.id);
const sameSet = (a, b, msg) => assert.deepEqual([...a].sort(), [...b].sort(), msg);

test('setup spans several seconds with ties inside each', () => {
    const secs = new Set(created.map((s) => s.created));
    assert.ok(secs.size >= 2, 'sessions were created in at least two different seconds');
    assert.ok(secs.size < created.length, 'some sessions share a created second');
});

test('default list: 10 newest, has_more, object list, url without query', async () => {
    const p = await list();
    assert.equal(p.object, 'list');
    assert.equal(p.url, '/v1/identity/verification_sessions');
    assert.equal(p.data.length, 10);
    assert.equal(p.has_more, true);
    assert.deepEqual(ids(p), newestFirst.slice(0, 10));
    for (const s of p.data) {
        x.sessionShape(s, srv.url);
        assert.ok(!('verified_outputs' in s));
    }
    assert.deepEqual(Object.keys(p).sort(), ['data', 'has_more', 'object', 'url']);
});

test('list items equal what retrieve returns', async () => {
    const p = await list({ limit: 100 });
    for (const s of p.data.slice(0, 5)) {
        const r = await stripe.identity.verificationSessions.retrieve(s.id);
        assert.deepEqual(h.plain(s), h.plain(r));
    }
});

test('limit 1 and limit 100', async () => {
    const one = await list({ limit: 1 });
    assert.deepEqual(ids(one), [newestFirst[0]]);
    assert.equal(one.has_more, true);
    const all = await list({ limit: 100 });
    assert.equal(all.data.length, created.length);
    assert.equal(all.has_more, false);
    const exact = await list({ limit: created.length });
    assert.equal(exact.data.length, created.length);
    assert.equal(exact.has_more, false, 'has_more is false when the page holds exactly the rest');
    const oneShort = await list({ limit: created.length - 1 });
    assert.equal(oneShort.has_more, true);
});

test('newest first; ties within a second keep creation order (newest first)', async () => {
    const all = await list({ limit: 100 });
    assert.deepEqual(ids(all), newestFirst);
    for (let i = 1; i < all.data.length; i++) {
        assert.ok(all.data[i - 1].created >= all.data[i].created, 'created never increases down the list');
    }
});

test('limit out of range or not an integer: 400 param limit', async () => {
    for (const limit of [0, 101, -1, 'abc', '1.5']) {
        const err = await h.rejects(list({ limit }), `limit=${limit} must be rejected`);
        x.sdkError(err, { status: 400, type: 'invalid_request_error', param: 'limit' });
        assert.equal(err.code, 'parameter_invalid_integer', `limit=${limit}: code`);
    }
});

/* Expected ids, in list order, of the sessions that pass pred (pred gets the session as last
 * acknowledged by the server). */
const want = (pred) => newestFirst.filter((id) => pred(created.find((s) => s.id === id)));

test('filter by status: each of the four statuses lists exactly its sessions', async () => {
    const counts = {};
    for (const st of ['canceled', 'processing', 'requires_input', 'verified']) {
        const expected = want((s) => s.status === st);
        counts[st] = expected.length;
        const p = await list({ status: st, limit: 100 });
        assert.deepEqual(ids(p), expected, `status=${st}`);
        assert.equal(p.has_more, false);
        for (const s of p.data) assert.equal(s.status, st);
    }
    // The setup drove sessions into every status (a filter that matched nothing would prove
    // nothing), and the failed-then-retried ones are back in requires_input with last_error.
    assert.deepEqual(counts, { canceled: 6, processing: 3, requires_input: 13, verified: 3 });
    const retried = (await list({ status: 'requires_input', limit: 100 })).data.filter((s) => s.last_error);
    assert.deepEqual(retried.map((s) => s.id), want((s) => s.status === 'requires_input' && s.last_error));
    assert.equal(retried.length, 3);
    // A small page of one status: has_more and the next page.
    const p1 = await list({ status: 'verified', limit: 2 });
    assert.deepEqual(ids(p1), want((s) => s.status === 'verified').slice(0, 2));
    assert.equal(p1.has_more, true);
    const p2 = await list({ status: 'verified', limit: 2, starting_after: p1.data[1].id });
    assert.deepEqual(ids(p2), want((s) => s.status === 'verified').slice(2));
    assert.equal(p2.has_more, false);

    const err = await h.rejects(list({ status: 'bogus' }));
    x.sdkError(err, {
        status: 400, type: 'invalid_request_error', code: 'parameter_invalid_value', param: 'status',
        message: 'Invalid status: must be one of canceled, processing, requires_input, or verified',
    });
});

test('filter by client_reference_id, related_customer, related_customer_account', async () => {
    let p = await list({ client_reference_id: REF_A, limit: 100 });
    assert.deepEqual(ids(p), want((s) => s.client_reference_id === REF_A));
    assert.ok(p.data.length >= 2);
    p = await list({ related_customer: CUS, limit: 100 });
    assert.deepEqual(ids(p), want((s) => s.related_customer === CUS));
    assert.ok(p.data.length >= 2);
    p = await list({ related_customer_account: CUSACCT, limit: 100 });
    assert.deepEqual(ids(p), want((s) => s.related_customer_account === CUSACCT));
    assert.ok(p.data.length >= 2);
    p = await list({ client_reference_id: 'nobody', limit: 100 });
    assert.deepEqual(p.data, []);
    // Filters combine.
    p = await list({ client_reference_id: REF_A, status: 'canceled', limit: 100 });
    assert.deepEqual(ids(p), want((s) => s.client_reference_id === REF_A && s.status === 'canceled'));
    // related_customer sessions are #1 (processing), #7 (canceled), #13 (verified), #19 (canceled).
    const cus = created.filter((s) => s.related_customer === CUS).map((s) => s.status);
    assert.deepEqual(cus, ['processing', 'canceled', 'verified', 'canceled']);
    for (const st of ['processing', 'canceled', 'verified', 'requires_input']) {
        p = await list({ related_customer: CUS, status: st, limit: 100 });
        assert.deepEqual(ids(p), want((s) => s.related_customer === CUS && s.status === st), `related_customer + status=${st}`);
    }
    assert.deepEqual(ids(await list({ related_customer: CUS, status: 'canceled' })), [created[19].id, created[7].id]);
    assert.deepEqual((await list({ related_customer: CUS, status: 'requires_input' })).data, []);
});

test('filter by created: exact and gt/gte/lt/lte', async () => {
    const secs = [...new Set(created.map((s) => s.created))].sort((a, b) => a - b);
    const mid = secs[1];
    const want = (pred) => newestFirst.filter((id) => pred(created.find((s) => s.id === id).created));
    const cases = [
        [mid, (c) => c === mid],
        [{ gt: mid }, (c) => c > mid],
        [{ gte: mid }, (c) => c >= mid],
        [{ lt: mid }, (c) => c < mid],
        [{ lte: mid }, (c) => c <= mid],
        [{ gte: secs[0], lt: mid }, (c) => c >= secs[0] && c < mid],
        [{ gt: secs[secs.length - 1] }, () => false],
    ];
    for (const [createdParam, pred] of cases) {
        const p = await list({ created: createdParam, limit: 100 });
        assert.deepEqual(ids(p), want(pred), `created=${JSON.stringify(createdParam)}`);
    }
    const err = await h.rejects(list({ created: { gt: 'yesterday' } }));
    x.sdkError(err, { status: 400 });
    assert.match(String(err.param), /^created/);
    const err2 = await h.rejects(list({ created: { between: '1' } }));
    x.sdkError(err2, { status: 400 });
});

test('starting_after walks forward across pages without duplicates or gaps', async () => {
    const seen = [];
    const hasMore = [];
    let cursor;
    for (let i = 0; i < 10; i++) {
        const p = await list(cursor ? { limit: 7, starting_after: cursor } : { limit: 7 });
        seen.push(...ids(p));
        hasMore.push(p.has_more);
        if (!p.has_more) break;
        cursor = p.data[p.data.length - 1].id;
    }
    assert.deepEqual(seen, newestFirst);
    assert.deepEqual(hasMore, [true, true, true, false]);
});

test('ending_before walks backward from the oldest, pages in list order', async () => {
    const n = newestFirst.length; // 25
    let cursor = newestFirst[n - 1];
    const pages = [];
    for (let i = 0; i < 10; i++) {
        const p = await list({ limit: 7, ending_before: cursor });
        pages.push({ ids: ids(p), has_more: p.has_more });
        if (!p.has_more) break;
        cursor = p.data[0].id;
    }
    assert.deepEqual(pages, [
        { ids: newestFirst.slice(n - 8, n - 1), has_more: true },
        { ids: newestFirst.slice(n - 15, n - 8), has_more: true },
        { ids: newestFirst.slice(n - 22, n - 15), has_more: true },
        { ids: newestFirst.slice(0, n - 22), has_more: false },
    ]);
});

test('cursors at both ends', async () => {
    const n = newestFirst.length;
    let p = await list({ starting_after: newestFirst[n - 1] });
    assert.deepEqual(p.data, []);
    assert.equal(p.has_more, false);
    p = await list({ ending_before: newestFirst[0] });
    assert.deepEqual(p.data, []);
    assert.equal(p.has_more, false);
    p = await list({ starting_after: newestFirst[n - 2], limit: 1 });
    assert.deepEqual(ids(p), [newestFirst[n - 1]]);
    assert.equal(p.has_more, false);
    p = await list({ starting_after: newestFirst[n - 3], limit: 1 });
    assert.deepEqual(ids(p), [newestFirst[n - 2]]);
    assert.equal(p.has_more, true);
    p = await list({ ending_before: newestFirst[1], limit: 1 });
    assert.deepEqual(ids(p), [newestFirst[0]]);
    assert.equal(p.has_more, false);
    p = await list({ ending_before: newestFirst[2], limit: 1 });
    assert.deepEqual(ids(p), [newestFirst[1]]);
    assert.equal(p.has_more, true);
    p = await list({ starting_after: newestFirst[0], limit: 100 });
    assert.deepEqual(ids(p), newestFirst.slice(1));
    assert.equal(p.has_more, false);
});

test('cursor pagination inside a tie (same created second)', async () => {
    // Pick two neighbours that share a created second and page with limit 1 between them.
    const all = (await list({ limit: 100 })).data;
    const i = all.findIndex((s, k) => k + 1 < all.length && all[k + 1].created === s.created);
    assert.ok(i >= 0);
    let p = await list({ starting_after: all[i].id, limit: 1 });
    assert.deepEqual(ids(p), [all[i + 1].id]);
    p = await list({ ending_before: all[i + 1].id, limit: 1 });
    assert.deepEqual(ids(p), [all[i].id]);
});

test('cursor and filter combine', async () => {
    const canceled = (await list({ status: 'canceled', limit: 100 })).data.map((s) => s.id);
    assert.ok(canceled.length >= 3);
    const p = await list({ status: 'canceled', starting_after: canceled[0], limit: 2 });
    assert.deepEqual(ids(p), canceled.slice(1, 3));
    assert.equal(p.has_more, canceled.length > 3);
});

test('ending_before with a filter pages backwards within the filtered sessions', async () => {
    const open = want((s) => s.status === 'requires_input'); // 13, newest first
    const n = open.length;
    let p = await list({ status: 'requires_input', ending_before: open[n - 1], limit: 5 });
    assert.deepEqual(ids(p), open.slice(n - 6, n - 1));
    assert.equal(p.has_more, true);
    p = await list({ status: 'requires_input', ending_before: p.data[0].id, limit: 5 });
    assert.deepEqual(ids(p), open.slice(n - 11, n - 6));
    assert.equal(p.has_more, true);
    p = await list({ status: 'requires_input', ending_before: p.data[0].id, limit: 5 });
    assert.deepEqual(ids(p), open.slice(0, n - 11));
    assert.equal(p.has_more, false);
    // The same with two filters: related_customer's canceled sessions are #19 and #7.
    p = await list({ related_customer: CUS, status: 'canceled', ending_before: created[7].id, limit: 1 });
    assert.deepEqual(ids(p), [created[19].id]);
    assert.equal(p.has_more, false);
    p = await list({ related_customer: CUS, status: 'canceled', starting_after: created[19].id, limit: 1 });
    assert.deepEqual(ids(p), [created[7].id]);
    assert.equal(p.has_more, false);
    p = await list({ client_reference_id: REF_A, ending_before: want((s) => s.client_reference_id === REF_A).slice(-1)[0] });
    assert.deepEqual(ids(p), want((s) => s.client_reference_id === REF_A).slice(0, -1));
    assert.equal(p.has_more, false);
});

test('created ranges combine with starting_after and ending_before', async () => {
    // The second group started in a new second, so created >= its first session's second is
    // exactly the second and third groups (15 sessions) and created < it the first group (10).
    const mid = created[10].created;
    const upper = want((s) => s.created >= mid);
    assert.equal(upper.length, 15);
    assert.equal(want((s) => s.created < mid).length, 10);
    let p = await list({ created: { gte: mid }, starting_after: upper[3], limit: 5 });
    assert.deepEqual(ids(p), upper.slice(4, 9));
    assert.equal(p.has_more, true);
    p = await list({ created: { gte: mid }, starting_after: upper[9], limit: 5 });
    assert.deepEqual(ids(p), upper.slice(10, 15));
    assert.equal(p.has_more, false, 'the range ends where the older group starts');
    p = await list({ created: { gte: mid }, ending_before: upper[14], limit: 3 });
    assert.deepEqual(ids(p), upper.slice(11, 14));
    assert.equal(p.has_more, true);
    // created < mid with ending_before its newest member: nothing newer inside the range,
    // although newer sessions exist outside it.
    const lower = want((s) => s.created < mid);
    p = await list({ created: { lt: mid }, ending_before: lower[0] });
    assert.deepEqual(p.data, []);
    assert.equal(p.has_more, false);
    p = await list({ created: { lt: mid }, ending_before: lower[2], limit: 100 });
    assert.deepEqual(ids(p), lower.slice(0, 2));
    assert.equal(p.has_more, false);
    // Exact created with a cursor, and a filter on top.
    const exact = want((s) => s.created === mid);
    p = await list({ created: mid, starting_after: exact[0], limit: 100 });
    assert.deepEqual(ids(p), exact.slice(1));
    assert.equal(p.has_more, false);
    p = await list({ created: { gte: mid }, status: 'canceled', starting_after: want((s) => s.created >= mid && s.status === 'canceled')[0], limit: 100 });
    assert.deepEqual(ids(p), want((s) => s.created >= mid && s.status === 'canceled').slice(1));
});

test('SDK autoPagingToArray returns exactly all sessions in order', async () => {
    const all = await stripe.identity.verificationSessions.list({ limit: 4 }).autoPagingToArray({ limit: 1000 });
    assert.deepEqual(all.map((s) => s.id), newestFirst);
    const seen = [];
    for await (const s of stripe.identity.verificationSessions.list({ limit: 6, status: 'requires_input' })) seen.push(s.id);
    assert.deepEqual(seen, newestFirst.filter((id) => created.find((s) => s.id === id).status === 'requires_input'));
});

test('expand[]=data.verified_outputs on a list', async () => {
    const p = await list({ limit: 3, expand: ['data.verified_outputs'] });
    assert.equal(p.data.length, 3);
    for (const s of p.data) {
        assert.ok('verified_outputs' in s, 'expanded verified_outputs present');
        assert.equal(s.verified_outputs, null);
    }
    const err = await h.rejects(list({ expand: ['data.bogus'] }));
    x.sdkError(err, { status: 400 });
    assert.match(err.message, /data\.bogus/);
});

test('unknown or malformed cursor: 400 resource_missing naming the cursor that was given', async () => {
    const cases = [
        ['starting_after', 'vs_' + h.randomAlnum(24)],
        ['ending_before', 'vs_' + h.randomAlnum(24)],
        ['starting_after', 'garbage'],
        ['ending_before', 'garbage'],
        // A real object of another kind is no session cursor.
        ['ending_before', 'evt_' + h.randomAlnum(24)],
    ];
    for (const [cursor, id] of cases) {
        for (const extra of [{}, { status: 'canceled', limit: 3 }]) {
            const err = await h.rejects(list(Object.assign({ [cursor]: id }, extra)), `${cursor}=${id} must be rejected`);
            x.sdkError(err, {
                status: 400,
                type: 'invalid_request_error',
                code: 'resource_missing',
                param: cursor,
                message: `No such verification_session: '${id}'`,
            });
        }
    }
});

test('starting_after together with ending_before: 400', async () => {
    const err = await h.rejects(list({ starting_after: newestFirst[3], ending_before: newestFirst[1] }));
    x.sdkError(err, {
        status: 400,
        type: 'invalid_request_error',
        code: null,
        param: 'ending_before',
        message: 'You may only specify one of these parameters: ending_before, starting_after.',
    });
});

test('unknown list parameter: 400 parameter_unknown', async () => {
    const err = await h.rejects(list({ type: 'document' }));
    x.sdkError(err, { status: 400, code: 'parameter_unknown', param: 'type' });
});
