'use strict';
/*
 * The PostgreSQL store (README "PostgreSQL"): `--store postgres://...` / `VERIFYD_STORE`.
 *
 * Always: a server that is down, or one that accepts the connection and never answers, stops
 * verifyd at start-up with exit code 1 and a message (never a hang, never a silent fallback to
 * the SQLite data directory), for both URL schemes, from the flag and from the variable.
 *
 * With VERIFYD_TEST_STORE=postgres://... (make test-postgres starts one: test/pg/pg.sh): the API
 * on that database through the official SDK: create, retrieve, list, cancel, an idempotent
 * replay, and everything still there after a restart on an empty data directory. Each run uses
 * fresh random accounts, so the database needs no cleaning. Skipped without it.
 *
 * Not for: the store contract itself (test/unit/store/test_store_contract.c runs on PostgreSQL
 * too), several instances on one database (not built yet).
 */

const { after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');

const PG_URL = /^postgres(ql)?:\/\//.test(process.env.VERIFYD_TEST_STORE || '') ? process.env.VERIFYD_TEST_STORE : null;
const dirs = [];
const servers = [];
const listeners = [];
const test = h.testWithLog(() => servers);

after(async () => {
    for (const s of servers) await s.close();
    for (const l of listeners) l.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-pg-bb-'));
    dirs.push(d);
    return d;
}

/* Run verifyd to its end (it must not start): {code, signal, stderr, ms}. */
function runToEnd(args, env = {}, timeout = 20000) {
    const e = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VERIFYD_') && !k.startsWith('PG')) e[k] = v;
    const t0 = Date.now();
    const r = spawnSync(h.BIN, ['--listen', '127.0.0.1:0', '--data-dir', tmpDir(), ...args], {
        env: Object.assign(e, env), encoding: 'utf8', timeout, killSignal: 'SIGKILL',
    });
    return { code: r.status, signal: r.signal, stderr: r.stderr, ms: Date.now() - t0 };
}

function refusedAtStart(r, what) {
    assert.equal(r.signal, null, `${what}: verifyd must exit by itself, it kept running (stderr: ${r.stderr})`);
    assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, /cannot open the store named by --store: cannot connect to PostgreSQL/, what);
    assert.ok(!r.stderr.includes('listening on'), `${what}: must not start`);
}

test('a PostgreSQL server that is down stops verifyd at start-up, for the flag and the variable', async () => {
    const port = await h.freePort();
    const flag = runToEnd(['--store', `postgres://verifyd@127.0.0.1:${port}/verifyd`]);
    refusedAtStart(flag, '--store postgres://');
    assert.ok(flag.ms < 5000, `refused at once (${flag.ms} ms)`);
    const variable = runToEnd([], { VERIFYD_STORE: `postgresql://verifyd@127.0.0.1:${port}/verifyd` });
    refusedAtStart(variable, 'VERIFYD_STORE=postgresql://');
});

test('a server that accepts the connection and never answers times out instead of hanging', async () => {
    const silent = net.createServer(() => {}); /* holds each socket open, says nothing */
    listeners.push(silent);
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address();
    const r = runToEnd(['--store', `postgres://verifyd@127.0.0.1:${port}/verifyd?sslmode=disable`]);
    refusedAtStart(r, 'silent server');
    assert.ok(r.ms >= 4000 && r.ms < 15000, `gave up after the default connect timeout (${r.ms} ms)`);
});

test('the API on PostgreSQL: create, retrieve, list, cancel, idempotent replay, and a restart keeps it all',
    { skip: PG_URL ? false : 'VERIFYD_TEST_STORE is not a postgres:// URL' }, async () => {
        const srv = await h.startServer({ args: ['--store', PG_URL] });
        servers.push(srv);
        const key = h.randomKey();
        const stripe = srv.stripe(key);
        const vs = stripe.identity.verificationSessions;
        const a = await vs.create({ type: 'document', metadata: { n: '1' } });
        const b = await vs.create({ type: 'id_number', client_reference_id: 'ref-pg' });
        assert.equal((await vs.retrieve(a.id)).metadata.n, '1');
        const page = await vs.list({ limit: 10 });
        assert.deepEqual(page.data.map((s) => s.id), [b.id, a.id]);
        assert.deepEqual((await vs.list({ client_reference_id: 'ref-pg' })).data.map((s) => s.id), [b.id]);
        assert.equal((await vs.cancel(a.id)).status, 'canceled');
        const k = 'pg-' + h.randomAlnum(12);
        const first = await vs.create({ type: 'document' }, { idempotencyKey: k });
        const again = await vs.create({ type: 'document' }, { idempotencyKey: k });
        assert.equal(again.id, first.id, 'the replay answers with the first session');

        /* The data lives in PostgreSQL, not in the data directory: a restart on an empty one
         * finds everything. */
        await srv.close();
        const next = await h.startServer({ args: ['--store', PG_URL] });
        servers.push(next);
        const vs2 = next.stripe(key).identity.verificationSessions;
        assert.equal((await vs2.retrieve(a.id)).status, 'canceled');
        assert.deepEqual((await vs2.list({ limit: 10 })).data.map((s) => s.id), [first.id, b.id, a.id]);
        assert.equal((await vs2.create({ type: 'document' }, { idempotencyKey: k })).id, first.id);
    });
