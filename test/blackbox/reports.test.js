'use strict';
/*
 * identity.verification_report through the official SDK (issue 4): GET
 * /v1/identity/verification_reports/{report} and the list with its filters and pagination
 * (CONTRACT.md §3, §5), the sub-reports each session type and option calls for, and the
 * restricted fields (§1, §5, §6: a restricted key and an explicit expand path), on reports,
 * on an expanded last_verification_report and on verified_outputs.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');

const RESTRICTED_KEY = 'rk_test_' + h.randomAlnum(24);
const TH = '/v1/test_helpers/identity/verification_sessions';
const REPORT_PROPS = new Set(['id', 'object', 'client_reference_id', 'created', 'document', 'email', 'id_number',
    'livemode', 'options', 'phone', 'selfie', 'type', 'verification_flow', 'verification_session']);
const DOCUMENT_PROPS = new Set(['address', 'dob', 'error', 'expiration_date', 'files', 'first_name', 'issued_date',
    'issuing_country', 'last_name', 'number', 'sex', 'status', 'type', 'unparsed_place_of_birth', 'unparsed_sex']);

let srv;
let keysDir;
const test = h.testWithLog(() => srv);

before(async () => {
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-keys-'));
    const keysFile = path.join(keysDir, 'keys');
    const hash = crypto.createHash('sha256').update(RESTRICTED_KEY).digest('hex');
    fs.writeFileSync(keysFile, `${hash} acct_restricted_reports restricted\n`);
    srv = await h.startServer({ args: ['--keys-file', keysFile] });
});
after(async () => {
    if (srv) await srv.close();
    fs.rmSync(keysDir, { recursive: true, force: true });
});

async function helper(key, id, action, body = '') {
    const r = await srv.request({ method: 'POST', path: `${TH}/${id}/${action}`, key, body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 200, r.text);
    return r.json;
}

function reportShape(r) {
    for (const k of Object.keys(r)) assert.ok(REPORT_PROPS.has(k), `unexpected report property ${k}`);
    for (const k of ['created', 'id', 'livemode', 'object', 'type']) assert.ok(k in r, `required ${k}`);
    assert.match(r.id, /^vr_[A-Za-z0-9]{24}$/);
    assert.equal(r.object, 'identity.verification_report');
    assert.ok(['document', 'id_number', 'verification_flow'].includes(r.type));
    if (r.document) for (const k of Object.keys(r.document)) assert.ok(DOCUMENT_PROPS.has(k), `unexpected document.${k}`);
    for (const sub of ['document', 'id_number', 'selfie', 'email', 'phone']) {
        if (r[sub]) assert.ok(['verified', 'unverified'].includes(r[sub].status), `${sub}.status`);
    }
}

test('a report carries exactly the checks the session type and options call for', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const cases = [
        [{ type: 'document' }, ['document']],
        [{ type: 'document', options: { document: { require_matching_selfie: true } } }, ['document', 'selfie']],
        [{ type: 'document', options: { document: { require_id_number: true, allowed_types: ['passport'] } } }, ['document', 'id_number']],
        [{ type: 'id_number' }, ['id_number']],
    ];
    for (const [params, checks] of cases) {
        const s = await stripe.identity.verificationSessions.create(Object.assign({ client_reference_id: 'ref-1' }, params));
        const v = await helper(key, s.id, 'verify');
        const r = await stripe.identity.verificationReports.retrieve(v.last_verification_report);
        reportShape(r);
        assert.equal(r.type, params.type);
        assert.equal(r.verification_session, s.id);
        assert.equal(r.client_reference_id, 'ref-1');
        assert.equal(r.livemode, false);
        for (const c of ['document', 'id_number', 'selfie', 'email', 'phone']) {
            assert.equal(c in r, checks.includes(c), `${JSON.stringify(params)}: ${c} present?`);
            if (checks.includes(c)) {
                assert.equal(r[c].status, 'verified');
                assert.equal(r[c].error, null);
            }
        }
        if (r.document) {
            assert.equal(r.document.first_name, 'Jenny');
            assert.equal(r.document.last_name, 'Rosen');
            assert.equal(r.document.issuing_country, 'US');
            assert.equal(r.document.type, params.options && params.options.document.allowed_types ? 'passport' : 'driving_license');
            for (const k of ['dob', 'number', 'expiration_date']) assert.ok(!(k in r.document), `document.${k} is restricted`);
        }
        if (r.id_number) {
            assert.equal(r.id_number.id_number_type, 'us_ssn');
            assert.ok(!('id_number' in r.id_number) && !('dob' in r.id_number), 'id_number.id_number and .dob are restricted');
        }
        if (params.type === 'id_number') assert.deepEqual(r.options.id_number, {});
    }
});

test('retrieve: unknown report is 404 param report; another account cannot see it', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const e = await h.rejects(stripe.identity.verificationReports.retrieve('vr_nope'));
    x.sdkError(e, { status: 404, type: 'invalid_request_error', code: 'resource_missing', param: 'report', message: "No such verification_report: 'vr_nope'" });
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const v = await helper(key, s.id, 'verify');
    const other = srv.stripe(h.randomKey());
    x.sdkError(await h.rejects(other.identity.verificationReports.retrieve(v.last_verification_report)), { status: 404, code: 'resource_missing' });
    x.sdkError(await h.rejects(stripe.identity.verificationReports.retrieve(v.last_verification_report, { expand: ['nope'] })), { status: 400, param: 'expand[0]' });
});

test('list: newest first, filters, pagination and validation', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const a = await stripe.identity.verificationSessions.create({ type: 'document', client_reference_id: 'alice' });
    const b = await stripe.identity.verificationSessions.create({ type: 'id_number', client_reference_id: 'bob' });
    const ids = [];
    ids.push((await helper(key, a.id, 'require_input')).last_verification_report);
    ids.push((await helper(key, a.id, 'verify')).last_verification_report);
    ids.push((await helper(key, b.id, 'verify')).last_verification_report);
    const all = await stripe.identity.verificationReports.list();
    assert.equal(all.object, 'list');
    assert.equal(all.url, '/v1/identity/verification_reports');
    assert.equal(all.has_more, false);
    assert.deepEqual(all.data.map((r) => r.id), [...ids].reverse());
    all.data.forEach(reportShape);

    const byType = await stripe.identity.verificationReports.list({ type: 'id_number' });
    assert.deepEqual(byType.data.map((r) => r.id), [ids[2]]);
    const bySession = await stripe.identity.verificationReports.list({ verification_session: a.id });
    assert.deepEqual(bySession.data.map((r) => r.id), [ids[1], ids[0]]);
    assert.equal(bySession.data[1].document.status, 'unverified');
    const byRef = await stripe.identity.verificationReports.list({ client_reference_id: 'bob' });
    assert.deepEqual(byRef.data.map((r) => r.id), [ids[2]]);
    const created = all.data[0].created;
    assert.equal((await stripe.identity.verificationReports.list({ created: { gt: created } })).data.length, 0);
    assert.equal((await stripe.identity.verificationReports.list({ created: { lte: created } })).data.length, 3);

    const p1 = await stripe.identity.verificationReports.list({ limit: 2 });
    assert.equal(p1.has_more, true);
    assert.deepEqual(p1.data.map((r) => r.id), [ids[2], ids[1]]);
    const p2 = await stripe.identity.verificationReports.list({ limit: 2, starting_after: p1.data[1].id });
    assert.deepEqual(p2.data.map((r) => r.id), [ids[0]]);
    assert.equal(p2.has_more, false);
    const back = await stripe.identity.verificationReports.list({ limit: 2, ending_before: ids[0] });
    assert.deepEqual(back.data.map((r) => r.id), [ids[2], ids[1]]);
    const auto = [];
    for await (const r of stripe.identity.verificationReports.list({ limit: 1 })) auto.push(r.id);
    assert.deepEqual(auto, [...ids].reverse());

    x.sdkError(await h.rejects(stripe.identity.verificationReports.list({ type: 'passport' })), { status: 400, param: 'type' });
    x.sdkError(await h.rejects(stripe.identity.verificationReports.list({ limit: 101 })), { status: 400, param: 'limit' });
    x.sdkError(await h.rejects(stripe.identity.verificationReports.list({ starting_after: 'vr_nope' })), { status: 400, param: 'starting_after' });
    x.sdkError(await h.rejects(stripe.identity.verificationReports.list({ expand: ['document'] })), { status: 400, param: 'expand[0]' });
    assert.equal((await srv.stripe(h.randomKey()).identity.verificationReports.list()).data.length, 0, 'accounts are separate');
});

test('list: filters combine with starting_after and ending_before; cursor errors are exact', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const vr = stripe.identity.verificationReports;
    const A = await stripe.identity.verificationSessions.create({ type: 'document', client_reference_id: 'alice' });
    const B = await stripe.identity.verificationSessions.create({ type: 'id_number', client_reference_id: 'bob' });
    const C = await stripe.identity.verificationSessions.create({ type: 'document', client_reference_id: 'alice' });
    const r = [];
    for (const [sess, action] of [[A, 'require_input'], [A, 'require_input'], [A, 'verify'], [B, 'require_input'], [B, 'verify'], [C, 'verify']]) {
        r.push((await helper(key, sess.id, action)).last_verification_report);
    }
    const page = async (params) => {
        const p = await vr.list(params);
        return { ids: p.data.map((x) => x.id), has_more: p.has_more };
    };
    // Newest first: r5 (C), r4 r3 (B, id_number), r2 r1 r0 (A).
    assert.deepEqual(await page({ limit: 100 }), { ids: [r[5], r[4], r[3], r[2], r[1], r[0]], has_more: false });

    // type with both cursors.
    assert.deepEqual(await page({ type: 'document', limit: 2 }), { ids: [r[5], r[2]], has_more: true });
    assert.deepEqual(await page({ type: 'document', limit: 2, starting_after: r[2] }), { ids: [r[1], r[0]], has_more: false });
    assert.deepEqual(await page({ type: 'document', limit: 2, ending_before: r[0] }), { ids: [r[2], r[1]], has_more: true });
    assert.deepEqual(await page({ type: 'document', limit: 5, ending_before: r[1] }), { ids: [r[5], r[2]], has_more: false });
    assert.deepEqual(await page({ type: 'id_number', starting_after: r[4] }), { ids: [r[3]], has_more: false });
    assert.deepEqual(await page({ type: 'id_number', ending_before: r[4] }), { ids: [], has_more: false });

    // verification_session with both cursors, and with type.
    assert.deepEqual(await page({ verification_session: A.id, ending_before: r[0], limit: 1 }), { ids: [r[1]], has_more: true });
    assert.deepEqual(await page({ verification_session: A.id, starting_after: r[2], limit: 1 }), { ids: [r[1]], has_more: true });
    assert.deepEqual(await page({ verification_session: A.id, starting_after: r[1] }), { ids: [r[0]], has_more: false });
    assert.deepEqual(await page({ verification_session: B.id, type: 'id_number' }), { ids: [r[4], r[3]], has_more: false });
    assert.deepEqual(await page({ verification_session: A.id, type: 'id_number' }), { ids: [], has_more: false });

    // client_reference_id with type and a cursor.
    assert.deepEqual(await page({ client_reference_id: 'alice', type: 'document', starting_after: r[5] }), { ids: [r[2], r[1], r[0]], has_more: false });
    assert.deepEqual(await page({ client_reference_id: 'bob', ending_before: r[3] }), { ids: [r[4]], has_more: false });

    // created ranges with cursors.
    const newest = (await vr.retrieve(r[5])).created;
    const oldest = (await vr.retrieve(r[0])).created;
    assert.deepEqual(await page({ created: { lte: newest }, starting_after: r[4], limit: 100 }), { ids: [r[3], r[2], r[1], r[0]], has_more: false });
    assert.deepEqual(await page({ created: { gte: oldest }, ending_before: r[0], limit: 100 }), { ids: [r[5], r[4], r[3], r[2], r[1]], has_more: false });
    assert.deepEqual(await page({ created: { gt: newest }, starting_after: r[4] }), { ids: [], has_more: false });
    assert.deepEqual(await page({ created: { gte: oldest }, type: 'id_number', ending_before: r[3] }), { ids: [r[4]], has_more: false });

    // Cursor errors: an unknown id, and another account's report, name the cursor given.
    const otherKey = h.randomKey();
    const oth = await srv.stripe(otherKey).identity.verificationSessions.create({ type: 'document' });
    const foreign = (await helper(otherKey, oth.id, 'verify')).last_verification_report;
    for (const cursor of ['starting_after', 'ending_before']) {
        for (const id of ['vr_nope', foreign]) {
            x.sdkError(await h.rejects(vr.list({ [cursor]: id, type: 'document' })), {
                status: 400, type: 'invalid_request_error', code: 'resource_missing', param: cursor,
                message: `No such verification_report: '${id}'`,
            });
        }
    }
    x.sdkError(await h.rejects(vr.list({ starting_after: r[2], ending_before: r[0] })), {
        status: 400, type: 'invalid_request_error', code: null, param: 'ending_before',
        message: 'You may only specify one of these parameters: ending_before, starting_after.',
    });
});

test('restricted fields need a restricted key and their own expand path', async () => {
    const rk = srv.stripe(RESTRICTED_KEY);
    const s = await rk.identity.verificationSessions.create({ type: 'document', options: { document: { require_id_number: true } } });
    const v = await helper(RESTRICTED_KEY, s.id, 'verify');
    const plain = await rk.identity.verificationReports.retrieve(v.last_verification_report);
    assert.ok(!('dob' in plain.document) && !('number' in plain.document));
    const full = await rk.identity.verificationReports.retrieve(v.last_verification_report, {
        expand: ['document.dob', 'document.number', 'document.expiration_date', 'id_number.dob', 'id_number.id_number'],
    });
    assert.deepEqual(full.document.dob, { day: 1, month: 1, year: 1901 });
    assert.equal(typeof full.document.number, 'string');
    assert.deepEqual(full.document.expiration_date, { day: 1, month: 12, year: 2030 });
    assert.deepEqual(full.id_number.dob, { day: 1, month: 1, year: 1901 });
    assert.equal(full.id_number.id_number, '0000');
    const listed = await rk.identity.verificationReports.list({ expand: ['data.document.dob'] });
    assert.deepEqual(listed.data[0].document.dob, { day: 1, month: 1, year: 1901 });
    assert.ok(!('number' in listed.data[0].document));

    const sess = await rk.identity.verificationSessions.retrieve(s.id, {
        expand: ['verified_outputs', 'verified_outputs.dob', 'verified_outputs.id_number', 'last_verification_report', 'last_verification_report.document.number'],
    });
    assert.deepEqual(sess.verified_outputs.dob, { day: 1, month: 1, year: 1901 });
    assert.match(sess.verified_outputs.id_number, /0000$/);
    assert.equal(sess.verified_outputs.id_number_type, 'us_ssn');
    assert.equal(typeof sess.last_verification_report.document.number, 'string');
    assert.ok(!('dob' in sess.last_verification_report.document));
    const inList = await rk.identity.verificationSessions.list({ expand: ['data.verified_outputs', 'data.verified_outputs.dob', 'data.last_verification_report'] });
    assert.deepEqual(inList.data[0].verified_outputs.dob, { day: 1, month: 1, year: 1901 });
    assert.equal(inList.data[0].last_verification_report.id, v.last_verification_report);

    /* A secret (unrestricted) key never sees them, expanded or not. */
    const key = h.randomKey();
    const sk = srv.stripe(key);
    const s2 = await sk.identity.verificationSessions.create({ type: 'id_number' });
    const v2 = await helper(key, s2.id, 'verify');
    const r2 = await sk.identity.verificationReports.retrieve(v2.last_verification_report, { expand: ['id_number.dob', 'id_number.id_number'] });
    assert.ok(!('dob' in r2.id_number) && !('id_number' in r2.id_number));
    const o2 = await sk.identity.verificationSessions.retrieve(s2.id, { expand: ['verified_outputs', 'verified_outputs.dob', 'verified_outputs.id_number'] });
    assert.ok(!('dob' in o2.verified_outputs) && !('id_number' in o2.verified_outputs));
    assert.equal(o2.verified_outputs.first_name, 'Jenny');
});
