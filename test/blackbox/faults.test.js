'use strict';
/*
 * The 500 path (CONTRACT.md §1 "Error body", §11 "Errors"; api.c api_finish): a real database
 * failure, not a fake. verifyd runs with a file-size limit (ulimit -f, SIGXFSZ ignored, so a
 * write past the limit fails with EFBIG instead of killing the process). Its WAL is only
 * checkpointed after 32 MiB, so once the WAL file reaches the limit every commit fails, and
 * keeps failing. A create is then a 500 api_error that says the request was not saved, the
 * server keeps serving reads, nothing acknowledged is lost and nothing half-written shows; after
 * a restart without the limit the same idempotency key creates the session for real.
 *
 * Not for: crash durability (durability.test.js).
 */

const { after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');

/* 1 MiB: the start-up schema and a few dozen sessions fit (measured: the WAL starts at ~90 KiB
 * and a create adds ~17 KiB), so the fault comes after a second or less of creates. */
const LIMIT_KIB = 1024;
const MAX_CREATES = 3000;
const PUBLIC_URL = 'http://verify.test'; /* the same in both runs, so session urls compare equal */
const DB_ERROR = 'An error occurred with our connection to the database. The request was not saved; it is safe to retry.';

const servers = [];
const dirs = [];
const test = h.testWithLog(() => servers);

after(async () => {
    for (const s of servers) {
        if (s.proc && !s.proc.exitInfo && s.running) {
            s.proc.kill('SIGKILL');
            await s.proc.exited;
        }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/* verifyd under `ulimit -f LIMIT_KIB` with SIGXFSZ ignored (both survive the exec). */
async function startLimited(dataDir) {
    const script = 'trap "" XFSZ; ulimit -f "$VERIFYD_TEST_FSIZE_KIB" || exit 99; exec "$0" "$@"';
    const env = Object.assign({}, process.env, { VERIFYD_TEST_FSIZE_KIB: String(LIMIT_KIB) });
    delete env.VERIFYD_LISTEN;
    delete env.VERIFYD_DATA_DIR;
    const proc = spawn('bash', ['-c', script, h.BIN, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn',
        '--public-url', PUBLIC_URL],
        { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = { proc, log: '', tail(n = 4000) { return this.log.slice(-n); } };
    servers.push(s);
    proc.stderr.setEncoding('utf8');
    proc.stdout.setEncoding('utf8');
    proc.stderr.on('data', (d) => (s.log += d));
    proc.stdout.on('data', (d) => (s.log += d));
    proc.exited = new Promise((resolve) => proc.on('close', (code, signal) => {
        proc.exitInfo = { code, signal };
        resolve(proc.exitInfo);
    }));
    s.running = true;
    proc.exited.then(() => (s.running = false));
    const deadline = Date.now() + 20000;
    for (;;) {
        const m = s.log.match(/listening on 127\.0\.0\.1:(\d+)/);
        if (m) {
            s.port = Number(m[1]);
            break;
        }
        if (!s.running) throw new Error(`verifyd exited during start-up\n${s.tail()}`);
        if (Date.now() > deadline) throw new Error(`verifyd did not start\n${s.tail()}`);
        await h.sleep(10);
    }
    /* The set-up really is in force on the server process (bash exec'd into it). */
    const limits = fs.readFileSync(`/proc/${proc.pid}/limits`, 'utf8');
    assert.match(limits, new RegExp(`^Max file size\\s+${LIMIT_KIB * 1024}\\s+${LIMIT_KIB * 1024}\\s+bytes`, 'm'), limits);
    const sigIgn = BigInt('0x' + fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(/^SigIgn:\s*([0-9a-f]+)/m)[1]);
    assert.ok(sigIgn & (1n << BigInt(os.constants.signals.SIGXFSZ - 1)), 'SIGXFSZ is ignored');
    assert.match(fs.readlinkSync(`/proc/${proc.pid}/exe`), /verifyd$/);
    return s;
}

test('a database write failure is a 500 api_error; reads go on, nothing acknowledged is lost, nothing half-written shows', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-fault-'));
    dirs.push(dir);
    const srv = await startLimited(dir);
    const key = h.randomKey();
    const stripe = h.makeStripe(srv.port, key); /* maxNetworkRetries: 0, so a 500 reaches us */

    const acked = [];
    let failure;
    let failedAt;
    for (let i = 0; i < MAX_CREATES && !failure; i++) {
        try {
            acked.push(await stripe.identity.verificationSessions.create(
                { type: 'document', metadata: { n: String(i) }, client_reference_id: `ref-${i}` },
                { idempotencyKey: `fault-${i}` }));
        } catch (e) {
            failure = e;
            failedAt = i;
        }
    }
    assert.ok(failure, `no write failed within ${MAX_CREATES} creates under a ${LIMIT_KIB} KiB file-size limit`);
    assert.ok(acked.length > 0, 'some creates succeed before the limit is reached');

    /* The error: Stripe's 500 shape, retryable, without a code or param. */
    x.sdkError(failure, { status: 500, type: 'api_error', message: DB_ERROR, code: null, param: null });
    assert.equal(failure.type, 'StripeAPIError');
    assert.equal(failure.headers['stripe-should-retry'], 'true');
    assert.match(failure.raw.request_log_url, /^https:\/\/dashboard\.stripe\.com\/test\/logs\/req_/);
    /* It is the file-size limit: the WAL stopped at it. */
    const wal = fs.statSync(path.join(dir, 'verifyd.db-wal')).size;
    assert.ok(wal <= LIMIT_KIB * 1024 && wal > (LIMIT_KIB - 64) * 1024, `WAL at ${wal} bytes, limit ${LIMIT_KIB} KiB`);

    /* The fault persists: the next write fails the same way (raw, to see the headers). A write
     * smaller than the one that failed may still fit in what is left below the limit (and is
     * then rightly acknowledged), so this one is larger than any: 40 metadata values of 500
     * characters, in the session, its event and its saved idempotent answer. */
    const bigForm = Array.from({ length: 40 }, (_, i) => `metadata[k${i}]=${'v'.repeat(500)}`).join('&');
    const again = await h.request(srv.port, {
        method: 'POST', path: h.SESSIONS_PATH, key, body: `type=id_number&metadata[n]=again&${bigForm}`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': 'fault-again' },
    });
    x.rawError(again, { status: 500, type: 'api_error', message: DB_ERROR });
    assert.equal(again.headers['stripe-should-retry'], 'true');
    /* A write of another kind too, as large. */
    const big = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
    x.sdkError(await h.rejects(stripe.identity.verificationSessions.update(acked[0].id, { metadata: big })),
        { status: 500, type: 'api_error', message: DB_ERROR });

    /* Still running, still reading, data intact. */
    assert.equal(srv.proc.exitInfo, undefined, 'verifyd keeps running');
    const first = await stripe.identity.verificationSessions.retrieve(acked[0].id);
    assert.deepEqual(h.plain(first), h.plain(acked[0]), 'the first session, unchanged (the failed update left no trace)');
    const last = await stripe.identity.verificationSessions.retrieve(acked[acked.length - 1].id);
    assert.deepEqual(h.plain(last), h.plain(acked[acked.length - 1]));
    const listed = await stripe.identity.verificationSessions.list({ limit: 100 }).autoPagingToArray({ limit: MAX_CREATES });
    assert.equal(listed.length, acked.length, 'the list has exactly the acknowledged sessions');
    assert.deepEqual(listed.map((s) => s.id).sort(), acked.map((s) => s.id).sort());
    assert.ok(!listed.some((s) => s.metadata.n === String(failedAt) || s.metadata.n === 'again'), 'nothing of the failed creates');
    const events = await stripe.events.list({ limit: 100 }).autoPagingToArray({ limit: MAX_CREATES });
    assert.equal(events.length, acked.length, 'one created event per acknowledged session, none for the failed ones');
    assert.ok(events.every((e) => e.type === 'identity.verification_session.created'));

    /* A clean stop, then a start without the limit on the same data: everything is there, and
     * the failed request's idempotency key was not spent on the 500. */
    srv.proc.kill('SIGTERM');
    assert.deepEqual(await srv.proc.exited, { code: 0, signal: null }, `clean exit on SIGTERM\n${srv.tail()}`);
    const free = await h.startServer({ dataDir: dir, logLevel: 'warn', publicUrl: PUBLIC_URL });
    servers.push(free);
    const s2 = free.stripe(key);
    const relisted = await s2.identity.verificationSessions.list({ limit: 100 }).autoPagingToArray({ limit: MAX_CREATES });
    assert.equal(relisted.length, acked.length, 'no acknowledged session lost across the restart');
    const byId = new Map(relisted.map((s) => [s.id, h.plain(s)]));
    for (const s of acked) assert.deepEqual(byId.get(s.id), h.plain(s), `session ${s.id} intact`);
    const retried = await s2.identity.verificationSessions.create(
        { type: 'document', metadata: { n: String(failedAt) }, client_reference_id: `ref-${failedAt}` },
        { idempotencyKey: `fault-${failedAt}` });
    assert.notEqual(retried.lastResponse.headers['idempotent-replayed'], 'true', 'the 500 was not saved for replay');
    assert.equal(retried.metadata.n, String(failedAt));
    assert.equal((await s2.identity.verificationSessions.list({ limit: 100 }).autoPagingToArray({ limit: MAX_CREATES })).length, acked.length + 1);
    await free.stop();
});

test('database files deleted while the server runs: writes get a 503 and are never acknowledged; after a restart nothing answered 200 is missing', async () => {
    const srv = await h.startServer({ logLevel: 'warn' });
    servers.push(srv);
    const key = h.randomKey();
    const v = srv.stripe(key).identity.verificationSessions;
    const before = await v.create({ type: 'document' });
    for (const f of ['verifyd.db', 'verifyd.db-wal', 'verifyd.db-shm']) fs.rmSync(path.join(srv.dataDir, f), { force: true });

    const acknowledged = [];
    for (let i = 0; i < 5; i++) {
        const r = await srv.request({
            method: 'POST', path: h.SESSIONS_PATH, key,
            body: 'type=document', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        });
        if (r.status === 200) acknowledged.push(r.json.id);
        else {
            assert.equal(r.status, 503, r.text);
            const e = x.rawError(r, { status: 503, type: 'api_error' });
            assert.match(e.message, /removed or replaced while verifyd was running/);
        }
    }
    assert.deepEqual(acknowledged, [], 'no write is acknowledged once the files are gone');
    assert.equal((await v.retrieve(before.id)).id, before.id, 'reads go on');
    assert.match(srv.log, /was deleted or replaced while verifyd was running; no write is accepted/);

    await srv.stop();
    await srv.restart();
    const fresh = await v.create({ type: 'document' });
    assert.equal((await v.retrieve(fresh.id)).id, fresh.id, 'a restart makes a new database and writes work again');
    await srv.close();
});

test('a -shm file truncated or made unwritable under the running server changes nothing: no SIGBUS, writes and reads go on', async () => {
    const srv = await h.startServer({ logLevel: 'warn' });
    servers.push(srv);
    const v = srv.stripe(h.randomKey()).identity.verificationSessions;
    for (let i = 0; i < 5; i++) await v.create({ type: 'document' });
    // The WAL index of a file that a mapped -shm backs would fault on its next access.
    const shm = path.join(srv.dataDir, 'verifyd.db-shm');
    fs.writeFileSync(shm, '');
    fs.truncateSync(shm, 0);
    fs.chmodSync(shm, 0);
    const ids = [];
    for (let i = 0; i < 50; i++) ids.push((await v.create({ type: 'id_number' })).id);
    for (const id of ids.slice(-5)) assert.equal((await v.retrieve(id)).id, id);
    assert.equal((await v.list({ limit: 3 })).data[0].id, ids[ids.length - 1]);
    assert.ok(srv.running, 'the server is still running');
    await srv.stop();
    assert.deepEqual(srv.exits[srv.exits.length - 1], { code: 0, signal: null }, 'a clean exit');
    await srv.restart();
    assert.equal((await v.retrieve(ids[0])).id, ids[0], 'everything acknowledged is there after a restart');
    await srv.close();
});
