'use strict';
/*
 * Open test mode: every sk_test_ key is its own account and never sees another key's sessions.
 * CONTRACT.md §11 "Keys and accounts".
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');
const x = require('./lib/expect');

let srv;
const test = h.testWithLog(() => srv);
const PATH = h.SESSIONS_PATH;

before(async () => {
    srv = await h.startServer();
});
after(async () => {
    if (srv) await srv.close();
});

function notFound(err, id) {
    x.sdkError(err, {
        status: 404,
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'session',
        message: `No such verification_session: '${id}'`,
    });
}

test('another key cannot retrieve, update, cancel, redact or list a session', async () => {
    const keyA = h.randomKey();
    const keyB = h.randomKey();
    const a = srv.stripe(keyA).identity.verificationSessions;
    const b = srv.stripe(keyB).identity.verificationSessions;
    const s = await a.create({ type: 'document', client_reference_id: 'shared_ref', metadata: { owner: 'A' } });

    notFound(await h.rejects(b.retrieve(s.id)), s.id);
    notFound(await h.rejects(b.update(s.id, { metadata: { owner: 'B' } })), s.id);
    notFound(await h.rejects(b.cancel(s.id)), s.id);
    notFound(await h.rejects(b.redact(s.id)), s.id);

    const listB = await b.list({ limit: 100 });
    assert.deepEqual(listB.data, []);
    assert.equal(listB.has_more, false);
    assert.deepEqual((await b.list({ client_reference_id: 'shared_ref' })).data, []);

    // A's session is untouched by all of that.
    const r = await a.retrieve(s.id);
    assert.deepEqual(h.plain(r), h.plain(s));
    assert.deepEqual((await a.list()).data.map((v) => v.id), [s.id]);
});

test("another account's session id as starting_after or ending_before is a 400 exactly like an unknown id", async () => {
    // The cursor lookup is per account (CONTRACT.md §11 "Keys and accounts"): B's list must not
    // treat A's session as a position (that would page through B's sessions relative to A's
    // created time, or leak A's sessions), it must answer exactly what an unknown id gets.
    const a = srv.stripe(h.randomKey()).identity.verificationSessions;
    const b = srv.stripe(h.randomKey()).identity.verificationSessions;
    const sa = [];
    for (let i = 0; i < 3; i++) sa.push(await a.create({ type: 'document' }));
    const sb = [await b.create({ type: 'document' }), await b.create({ type: 'document' })];
    const unknown = 'vs_' + h.randomAlnum(24);
    for (const cursor of ['starting_after', 'ending_before']) {
        for (const id of [sa[0].id, sa[1].id, sa[2].id, unknown]) {
            const err = await h.rejects(b.list({ [cursor]: id }), `${cursor}=${id} (not B's) must be rejected`);
            x.sdkError(err, {
                status: 400,
                type: 'invalid_request_error',
                code: 'resource_missing',
                param: cursor,
                message: `No such verification_session: '${id}'`,
            });
        }
        // B's own sessions are valid cursors, and A still pages with its own.
        const own = await b.list({ [cursor]: cursor === 'starting_after' ? sb[1].id : sb[0].id });
        assert.deepEqual(own.data.map((s) => s.id), [cursor === 'starting_after' ? sb[0].id : sb[1].id]);
        const mine = await a.list({ [cursor]: sa[1].id });
        assert.deepEqual(mine.data.map((s) => s.id), [cursor === 'starting_after' ? sa[0].id : sa[2].id]);
    }
});

test('keys differing only in case or length are different accounts', async () => {
    const base = 'sk_test_' + h.randomAlnum(20).toLowerCase() + 'abc';
    const upper = 'sk_test_' + base.slice(8).toUpperCase();
    const longer = base + 'X';
    const s = await srv.stripe(base).identity.verificationSessions.create({ type: 'document' });
    for (const k of [upper, longer, base.slice(0, -1)]) {
        const other = srv.stripe(k).identity.verificationSessions;
        notFound(await h.rejects(other.retrieve(s.id)), s.id);
        assert.deepEqual((await other.list()).data, []);
    }
});

test('Bearer and Basic auth with the same key are the same account', async () => {
    const k = h.randomKey();
    const s = await srv.stripe(k).identity.verificationSessions.create({ type: 'document' });
    const basic = 'Basic ' + Buffer.from(k + ':').toString('base64');
    const res = await srv.request({ path: `${PATH}/${s.id}`, headers: { Authorization: basic } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, s.id);
    const res2 = await srv.request({ path: PATH, headers: { Authorization: basic } });
    assert.deepEqual(res2.json.data.map((v) => v.id), [s.id]);
});

test('idempotency keys do not cross accounts', async () => {
    const a = srv.stripe(h.randomKey()).identity.verificationSessions;
    const b = srv.stripe(h.randomKey()).identity.verificationSessions;
    const ik = 'shared-idem-' + h.randomAlnum(8);
    const sa = await a.create({ type: 'document' }, { idempotencyKey: ik });
    const sb = await b.create({ type: 'document' }, { idempotencyKey: ik });
    assert.notEqual(sa.id, sb.id);
    assert.deepEqual((await b.list()).data.map((v) => v.id), [sb.id]);
});
