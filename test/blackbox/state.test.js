'use strict';
/*
 * The account's state in the test control plane (CONTRACT.md §11 "Test control plane", README
 * "Resetting, exporting and seeding an account"): POST /v1/test_helpers/verifyd/reset empties
 * exactly the key's account, GET .../export and POST .../import carry it to another server or
 * key so that every answer reads the same, redaction survives the trip, a clash imports
 * nothing, and --seed / VERIFYD_SEED load a document at start (a bad one is exit 1).
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./lib/server');

const TH = '/v1/test_helpers/identity/verification_sessions';
const CP = '/v1/test_helpers/verifyd';
const PUBLIC = 'http://verifyd.test'; /* the same on every server, so hosted urls read alike */
const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
const json = { 'Content-Type': 'application/json' };
const servers = [];
const dirs = [];
let srv;
const test = h.testWithLog(() => servers);

before(async () => {
    srv = await h.startServer({ publicUrl: PUBLIC, redactionDelay: 0 });
    servers.push(srv);
});
after(async () => {
    await h.closeAll(servers);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-state-'));
    dirs.push(d);
    return d;
}

async function start(opts = {}) {
    const s = await h.startServer(Object.assign({ publicUrl: PUBLIC, redactionDelay: 0 }, opts));
    servers.push(s);
    return s;
}

const helper = (s, key, id, step, body = '') =>
    s.request({ method: 'POST', path: `${TH}/${id}/${step}`, key, headers: form, body });
const reset = (s, key, headers = {}) =>
    s.request({ method: 'POST', path: `${CP}/reset`, key, headers: Object.assign({}, form, headers) });
async function exportDoc(s, key) {
    const r = await s.request({ path: `${CP}/export`, key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.export');
    return r;
}
const importDoc = (s, key, body) =>
    s.request({ method: 'POST', path: `${CP}/import`, key, headers: json, body: typeof body === 'string' ? body : JSON.stringify(body) });

/* Every base64 record of an export, decoded, as one buffer (what "grep the export" means for
 * the parts that are stored records). */
function recordBytes(doc) {
    const parts = [];
    for (const s of doc.sessions) parts.push(Buffer.from(s.record, 'base64'));
    for (const r of doc.reports) parts.push(Buffer.from(r.record, 'base64'));
    for (const e of doc.events) if (e.snapshot) parts.push(Buffer.from(e.snapshot, 'base64'));
    return Buffer.concat(parts);
}

/* A little of everything in one account: sessions in four states (one verified, with its report;
 * one with last_error; one canceled), metadata, a webhook endpoint and a v2 destination. */
async function populate(s, key) {
    const stripe = s.stripe(key);
    const v = stripe.identity.verificationSessions;
    const open = await v.create({ type: 'document', metadata: { order: '6735' }, client_reference_id: 'ref_open',
        provided_details: { email: 'open@example.com' } });
    const verified = await v.create({ type: 'id_number' });
    assert.equal((await helper(s, key, verified.id, 'verify')).status, 200);
    const failed = await v.create({ type: 'document', options: { document: { require_matching_selfie: true } } });
    assert.equal((await helper(s, key, failed.id, 'require_input', 'last_error[code]=selfie_face_mismatch')).status, 200);
    const canceled = await v.create({ type: 'document' });
    await v.cancel(canceled.id);
    const we = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/hook', enabled_events: ['identity.verification_session.canceled'],
        metadata: { team: 'qa' }, description: 'dead end' });
    const dest = await stripe.v2.core.eventDestinations.create({
        name: 'outcomes', type: 'webhook_endpoint', event_payload: 'thin',
        enabled_events: ['v1.identity.verification_session.verified'], webhook_endpoint: { url: 'http://127.0.0.1:9/thin' },
    });
    const report = (await v.retrieve(verified.id)).last_verification_report;
    assert.ok(report);
    return { stripe, sessions: [open, verified, failed, canceled], report, we, dest };
}

/* The raw answers an account gives, path by path. */
async function answers(s, key, ids) {
    const paths = [
        '/v1/identity/verification_sessions?limit=100',
        '/v1/identity/verification_sessions?limit=2',
        '/v1/identity/verification_reports?limit=100',
        '/v1/events?limit=100',
        '/v1/events?limit=3&type=identity.verification_session.*',
        '/v1/webhook_endpoints',
        '/v2/core/event_destinations',
        `/v1/webhook_endpoints/${ids.we.id}`,
        `/v2/core/event_destinations/${ids.dest.id}`,
        `/v1/identity/verification_reports/${ids.report}`,
    ];
    for (const x of ids.sessions) {
        paths.push(`/v1/identity/verification_sessions/${x.id}`);
        paths.push(`/v1/identity/verification_sessions/${x.id}?expand[]=verified_outputs&expand[]=last_verification_report`);
    }
    const events = await s.request({ path: '/v1/events?limit=100', key });
    for (const e of events.json.data) paths.push(`/v1/events/${e.id}`);
    const out = {};
    for (const p of paths) {
        const r = await s.request({ path: p, key });
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        out[p] = r.text;
    }
    return out;
}

test('reset empties exactly the key\'s account: lists, events, endpoints, retrieves, idempotency keys', async () => {
    const key = h.randomKey();
    const other = h.randomKey();
    const mine = await populate(srv, key);
    const theirs = await populate(srv, other);
    const v = mine.stripe.identity.verificationSessions;
    const idem = `idem_${h.randomAlnum(12)}`;
    const before = await v.create({ type: 'document' }, { idempotencyKey: idem });
    const theirsBefore = await answers(srv, other, theirs);
    const link = await h.request(srv.port, { path: new URL(mine.sessions[0].url).pathname });
    assert.equal(link.status, 200, 'the hosted link works before the reset');

    const r = await reset(srv, key);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.reset');
    assert.equal(r.json.livemode, false);
    assert.equal(r.json.deleted.verification_sessions, 5);
    assert.equal(r.json.deleted.verification_reports, 2);
    assert.equal(r.json.deleted.webhook_endpoints, 2);

    for (const p of ['/v1/identity/verification_sessions', '/v1/identity/verification_reports', '/v1/events', '/v1/webhook_endpoints']) {
        const l = await srv.request({ path: p, key });
        assert.equal(l.status, 200, l.text);
        assert.deepEqual(l.json.data, [], `${p} is empty after the reset`);
    }
    assert.deepEqual((await srv.request({ path: '/v2/core/event_destinations', key })).json.data, []);
    assert.deepEqual((await srv.request({ path: '/v2/core/events', key })).json.data, []);
    for (const x of [...mine.sessions, before]) {
        const g = await srv.request({ path: `/v1/identity/verification_sessions/${x.id}`, key });
        assert.equal(g.status, 404, `${x.id} is gone: ${g.text}`);
        assert.equal(g.json.error.code, 'resource_missing');
    }
    assert.equal((await srv.request({ path: `/v1/identity/verification_reports/${mine.report}`, key })).status, 404);
    assert.equal((await srv.request({ path: `/v1/webhook_endpoints/${mine.we.id}`, key })).status, 404);
    assert.equal((await srv.request({ path: `/v2/core/event_destinations/${mine.dest.id}`, key })).status, 404);
    const gone = await h.request(srv.port, { path: new URL(mine.sessions[0].url).pathname });
    assert.notEqual(gone.status, 200, 'the hosted link is gone with its session');

    const again = await v.create({ type: 'document' }, { idempotencyKey: idem });
    assert.notEqual(again.id, before.id, 'a key used before the reset makes a new object');
    assert.equal(again.lastResponse.headers['idempotent-replayed'], undefined);

    assert.deepEqual(await answers(srv, other, theirs), theirsBefore, 'another key\'s account is untouched');
});

test('a reset with an Idempotency-Key replays its answer and does not reset again', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    await stripe.identity.verificationSessions.create({ type: 'document' });
    const first = await reset(srv, key, { 'Idempotency-Key': 'reset-1' });
    assert.equal(first.json.deleted.verification_sessions, 1);
    const made = await stripe.identity.verificationSessions.create({ type: 'document' });
    const replay = await reset(srv, key, { 'Idempotency-Key': 'reset-1' });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.text, first.text);
    assert.equal((await stripe.identity.verificationSessions.retrieve(made.id)).id, made.id, 'the replay reset nothing');
});

test('export, then import into a fresh server under another key: every answer reads the same', async () => {
    const key = h.randomKey();
    const ids = await populate(srv, key);
    const exp = await exportDoc(srv, key);
    assert.equal(exp.json.format, 1);
    assert.equal(exp.json.sessions.length, 4);
    assert.equal(exp.json.reports.length, 2);
    assert.equal(exp.json.webhook_endpoints.length, 1);
    assert.equal(exp.json.event_destinations.length, 1);
    assert.match(exp.json.webhook_endpoints[0].secret, /^whsec_/, 'endpoints carry their secrets');
    const want = await answers(srv, key, ids);

    const fresh = await start();
    const key2 = h.randomKey();
    const r = await importDoc(fresh, key2, exp.text);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'verifyd.import');
    assert.deepEqual(r.json.imported, { verification_sessions: 4, verification_reports: 2, events: exp.json.events.length, webhook_endpoints: 2 });
    assert.deepEqual(await answers(fresh, key2, ids), want);
    /* The imported open session's hosted link works on the new server. */
    const link = await h.request(fresh.port, { path: new URL(ids.sessions[0].url).pathname });
    assert.equal(link.status, 200, 'the hosted link of an imported session');
    /* The imported session goes on living: it can be verified there. */
    assert.equal((await helper(fresh, key2, ids.sessions[0].id, 'verify')).status, 200);
    /* And the account exports as it was imported, but for what the import changed since. */
    const back = await exportDoc(fresh, key2);
    assert.equal(back.json.sessions.length, 4);
    assert.equal(back.json.account === exp.json.account, false, 'an export names its own account');
});

test('export, reset, then import into the same account brings every answer back', async () => {
    const key = h.randomKey();
    const ids = await populate(srv, key);
    const exp = await exportDoc(srv, key);
    const want = await answers(srv, key, ids);
    assert.equal((await reset(srv, key)).status, 200);
    const r = await importDoc(srv, key, exp.text);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await answers(srv, key, ids), want);
});

test('a redacted session exports without its erased values and imports redacted', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const v = stripe.identity.verificationSessions;
    const tag = h.randomAlnum(16);
    const s = await v.create({ type: 'document', client_reference_id: `ref_${tag}`, metadata: { k: `meta_${tag}` },
        provided_details: { email: `erase.${tag}@example.com` } });
    assert.equal((await helper(srv, key, s.id, 'verify')).status, 200);
    const before = await exportDoc(srv, key);
    const erased = [tag, 'Jenny', 'Rosen', '1234 Main'];
    for (const e of erased) assert.ok(recordBytes(before.json).includes(e), `before the redaction the export holds ${e}`);

    await v.redact(s.id);
    await h.eventually(async () => (await v.retrieve(s.id)).redaction?.status === 'redacted', { what: 'the redaction' });
    const exp = await exportDoc(srv, key);
    const bytes = Buffer.concat([Buffer.from(exp.text), recordBytes(exp.json)]);
    for (const e of erased) assert.ok(!bytes.includes(e), `the export of a redacted session holds no ${e}`);

    const fresh = await start();
    const key2 = h.randomKey();
    assert.equal((await importDoc(fresh, key2, exp.text)).status, 200);
    const got = await fresh.stripe(key2).identity.verificationSessions.retrieve(s.id, { expand: ['verified_outputs', 'last_verification_report'] });
    assert.equal(got.redaction.status, 'redacted');
    assert.equal(got.client_reference_id, '[redacted]');
    assert.equal(got.provided_details.email, '[redacted]');
    assert.equal(got.verified_outputs.first_name, '[redacted]');
    assert.equal(got.last_verification_report.document.first_name, '[redacted]');
    assert.deepEqual(got.metadata, {});
});

test('a clash with an existing object is a 400 and nothing of the document is imported', async () => {
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    const first = await stripe.identity.verificationSessions.create({ type: 'document' });
    const one = await exportDoc(srv, key);
    const later = await stripe.identity.verificationSessions.create({ type: 'id_number' });
    const both = await exportDoc(srv, key);

    const fresh = await start();
    const key2 = h.randomKey();
    assert.equal((await importDoc(fresh, key2, one.text)).status, 200);
    const before = await fresh.request({ path: '/v1/events?limit=100', key: key2 });
    const r = await importDoc(fresh, key2, both.text);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.code, 'resource_already_exists');
    assert.ok(r.json.error.message.includes(first.id), r.json.error.message);
    assert.equal((await fresh.request({ path: `/v1/identity/verification_sessions/${later.id}`, key: key2 })).status, 404,
        'the new session of the document was not imported');
    assert.equal((await fresh.request({ path: '/v1/events?limit=100', key: key2 })).text, before.text, 'no event was imported');
    /* Importing into the same server (ids are unique across accounts) clashes too. */
    const same = await importDoc(srv, h.randomKey(), both.text);
    assert.equal(same.status, 400, same.text);
});

test('import refuses what is not an export document, with a 400 that says why', async () => {
    const key = h.randomKey();
    const exp = (await exportDoc(srv, key)).json;
    const cases = [
        ['{"object":"list"}', /object must be verifyd\.export/],
        [JSON.stringify(Object.assign({}, exp, { format: 99 })), /format must be 1/],
        [JSON.stringify(Object.assign({}, exp, { sessions: [{ id: 'vs_x', record: 'bm90IGEgcmVjb3Jk' }] })), /sessions\[0\]\.record is not a stored session/],
        [JSON.stringify(Object.assign({}, exp, { sessions: [{ id: 'vs_x', record: '***' }] })), /sessions\[0\]\.record/],
        [JSON.stringify(Object.assign({}, exp, { events: 'x' })), /events must be an array/],
        ['{"object": ', /Invalid import document/],
    ];
    for (const [body, re] of cases) {
        const r = await importDoc(srv, key, body);
        assert.equal(r.status, 400, `${body.slice(0, 60)}: ${r.text}`);
        assert.equal(r.json.error.type, 'invalid_request_error');
        assert.match(r.json.error.message, re);
    }
    const formBody = await srv.request({ method: 'POST', path: `${CP}/import`, key, headers: form, body: 'a=1' });
    assert.equal(formBody.status, 400);
    assert.match(formBody.json.error.message, /application\/json/);
    const big = await srv.request({ method: 'POST', path: `${CP}/import`, key, headers: json, body: ' '.repeat(1100000) });
    assert.equal(big.status, 413, 'the body limit holds for imports');
});

test('--seed and VERIFYD_SEED load a document at start into the account it names; a restart loads it again', async () => {
    const key = h.randomKey();
    const ids = await populate(srv, key);
    const exp = await exportDoc(srv, key);
    const want = await answers(srv, key, ids);
    const file = path.join(tmpDir(), 'seed.json');
    fs.writeFileSync(file, exp.text);

    const seeded = await start({ args: ['--seed', file] });
    assert.deepEqual(await answers(seeded, key, ids), want, 'the exporting key sees its account on the seeded server');
    const stray = await seeded.stripe(key).identity.verificationSessions.create({ type: 'document' });
    await seeded.restart();
    assert.deepEqual(await answers(seeded, key, ids), want, 'a restart with the seed makes the account the document again');
    assert.equal((await seeded.request({ path: `/v1/identity/verification_sessions/${stray.id}`, key })).status, 404);

    const byEnv = await start({ env: { VERIFYD_SEED: file } });
    assert.deepEqual(await answers(byEnv, key, ids), want, 'VERIFYD_SEED');
});

test('a seed file that cannot be loaded stops the start with exit 1 and the reason', () => {
    const dir = tmpDir();
    const write = (name, text) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, text);
        return f;
    };
    const cases = [
        [path.join(dir, 'missing.json'), /--seed: cannot open the seed file .*missing\.json/],
        [write('garbage.json', '\x00{not json'), /--seed: the seed file .* is not a verifyd export: Invalid JSON/],
        [write('empty.json', ''), /is not a verifyd export: the document's object must be verifyd\.export/],
        [write('list.json', '{"object":"list","data":[]}'), /object must be verifyd\.export/],
        [write('noaccount.json', '{"object":"verifyd.export","format":1}'), /names no account/],
        [write('badrec.json', '{"object":"verifyd.export","format":1,"account":"acct_x","sessions":[{"record":"AAAA"}]}'),
            /sessions\[0\]\.record is not a stored session/],
    ];
    for (const [file, re] of cases) {
        const r = spawnSync(h.BIN, ['--listen', '127.0.0.1:0', '--data-dir', tmpDir(), '--seed', file], {
            encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL',
            env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VERIFYD_'))),
        });
        assert.equal(r.signal, null, `${file}: must exit, not run (${r.stderr})`);
        assert.equal(r.status, 1, `${file}: exit code (${r.stderr})`);
        assert.match(r.stderr, re);
        assert.ok(!r.stderr.includes('listening on'), 'it never served');
    }
});

test('live keys get the test helpers\' 400 on reset, export and import', async () => {
    const live = 'sk_live_' + h.randomAlnum(24);
    const file = path.join(tmpDir(), 'keys');
    fs.writeFileSync(file, `${crypto.createHash('sha256').update(live).digest('hex')} acct_state\n`);
    const s = await start({ args: ['--keys-file', file] });
    await s.stripe(live).identity.verificationSessions.create({ type: 'document' });
    const doc = JSON.stringify({ object: 'verifyd.export', format: 1, account: 'acct_state', sessions: [] });
    for (const r of [await reset(s, live), await s.request({ path: `${CP}/export`, key: live }), await importDoc(s, live, doc)]) {
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.error.type, 'invalid_request_error');
        assert.match(r.json.error.message, /test-mode key/);
    }
    assert.equal((await s.stripe(live).identity.verificationSessions.list()).data.length, 1, 'nothing was reset');
});

test('reset takes the account\'s clock back to real time; another account\'s clock and a connected account\'s reset leave it', async () => {
    const key = h.randomKey();
    const other = h.randomKey();
    const clock = (k, headers = {}) => srv.request({ path: '/v1/test_helpers/verifyd/clock', key: k, headers });
    const advance = (k, seconds) => srv.request({
        method: 'POST', path: '/v1/test_helpers/verifyd/clock/advance', key: k, body: `seconds=${seconds}`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const DAY = 86400;
    assert.equal((await advance(key, 10 * DAY)).status, 200);
    assert.equal((await advance(other, 5 * DAY)).status, 200);
    const real = Math.floor(Date.now() / 1000);
    /* A connected account's reset: its platform's clock stays ahead. */
    const conn = await srv.request({ method: 'POST', path: '/v1/test_helpers/verifyd/reset', key, headers: { 'Stripe-Account': 'acct_1Reset' } });
    assert.equal(conn.status, 200);
    assert.ok((await clock(key)).json.now >= real + 10 * DAY - 5, 'a connected account\'s reset keeps the platform\'s clock');
    assert.equal((await reset(srv, key)).status, 200);
    const now = (await clock(key)).json.now;
    assert.ok(Math.abs(now - Math.floor(Date.now() / 1000)) <= 5, `the clock is back to real time (${now})`);
    const s = await srv.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.ok(Math.abs(s.created - Math.floor(Date.now() / 1000)) <= 5, 'new objects are created in real time again');
    assert.ok((await clock(other)).json.now >= real + 5 * DAY - 5, 'another account\'s clock is untouched');
});
