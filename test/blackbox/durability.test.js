'use strict';
/*
 * Durability: every acknowledged change survives kill -9, and a SIGTERM during a burst of
 * creates finishes the accepted ones and exits 0. A 200 is a promise that the change is stored.
 */

const { after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');

const servers = [];
const test = h.testWithLog(() => servers);
const PATH = h.SESSIONS_PATH;

after(() => h.closeAll(servers));

/* Run fns with at most n in flight. */
async function pool(items, n, fn) {
    const out = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: n }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i], i);
        }
    }));
    return out;
}

test('kill -9 right after the last acknowledged change loses nothing', async () => {
    const srv = await h.startServer();
    servers.push(srv);
    const key = h.randomKey();
    let vs = srv.stripe(key).identity.verificationSessions;
    const N = 50;

    // Creates, 8 at a time so that commits can overlap.
    const expected = new Map();
    const order = await pool(Array.from({ length: N }, (_, i) => i), 8, async (i) => {
        const s = await vs.create({
            type: i % 2 ? 'document' : 'id_number',
            client_reference_id: `dur_${i}`,
            metadata: { i: String(i), payload: 'x'.repeat(i * 9) },
            options: i % 2 ? { document: { require_matching_selfie: i % 4 === 1 } } : undefined,
        });
        expected.set(s.id, s);
        return s.id;
    });
    assert.equal(expected.size, N);

    // Updates and cancels, also concurrent; the response is the acknowledged state.
    await pool(order, 8, async (id, i) => {
        if (i % 5 === 0) {
            const u = await vs.update(id, { metadata: { updated: 'yes', i: '' } });
            expected.set(id, u);
        }
        if (i % 7 === 0) {
            const c = await vs.cancel(id);
            expected.set(id, c);
        }
        if (i % 11 === 3 && i % 7 !== 0) {
            const u = await vs.update(id, { provided_details: { email: `u${i}@example.com` } });
            expected.set(id, u);
        }
    });
    // The very last acknowledged request, then kill immediately.
    const lastId = order[N - 1];
    const last = await vs.update(lastId, { metadata: { last: 'change' } });
    expected.set(lastId, last);
    await srv.kill9();
    assert.equal(srv.exits.at(-1).signal, 'SIGKILL');

    await srv.restart();
    vs = srv.stripe(key).identity.verificationSessions;
    for (const [id, want] of expected) {
        const got = await vs.retrieve(id);
        assert.deepEqual(h.plain(got), h.plain(want), `session ${id} after kill -9 and restart`);
    }
    const all = await vs.list({ limit: 100 });
    assert.equal(all.data.length, N, 'no session lost or invented');
    assert.equal(all.has_more, false);
    sameMembers(all.data.map((s) => s.id), [...expected.keys()]);

    // The restarted server keeps working normally and shuts down cleanly.
    const more = await vs.create({ type: 'document' });
    assert.equal((await vs.list({ limit: 1 })).data[0].id, more.id);
    await srv.stop();
    await srv.restart();
    vs = srv.stripe(key).identity.verificationSessions;
    assert.equal((await vs.retrieve(more.id)).id, more.id);
    assert.equal((await vs.list({ limit: 100 })).data.length, N + 1);
});

function sameMembers(listed, all) {
    assert.deepEqual([...listed].sort(), [...all].sort(), 'the list holds exactly the acknowledged sessions');
}

test('SIGTERM while 32 creates are in flight: every 200 survives, exit code 0', async (t) => {
    const srv = await h.startServer();
    servers.push(srv);
    const key = h.randomKey();
    const agent = new (require('node:http').Agent)({ keepAlive: false, maxSockets: 64 });

    // Warm up: one create so the server has done its first commit.
    const warm = await srv.request({
        method: 'POST', path: PATH, key,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'type=document',
    });
    assert.equal(warm.status, 200, warm.text);

    let firstResponse;
    const firstDone = new Promise((r) => (firstResponse = r));
    let releaseSlow;
    const slowGate = new Promise((r) => (releaseSlow = r));
    // Half of the creates are sent whole; the other half send their headers and half the body
    // now and the rest only after the SIGTERM, so some requests are certainly mid-flight.
    const inflight = Array.from({ length: 32 }, (_, i) => {
        const body = `type=document&client_reference_id=burst_${i}&metadata[i]=${i}`;
        const p = i % 2 === 0
            ? srv.request({ method: 'POST', path: PATH, key, agent, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })
            : slowPost(srv.port, key, agent, body, slowGate);
        return p.then((r) => {
            firstResponse();
            return r;
        });
    });
    await Promise.race([firstDone, h.sleep(30)]);
    srv.proc.kill('SIGTERM');
    await h.sleep(50);
    releaseSlow();
    const results = await Promise.all(inflight);
    const ex = await srv.proc.exited;
    assert.deepEqual({ code: ex.code, signal: ex.signal }, { code: 0, signal: null }, 'exit code after SIGTERM');
    agent.destroy();

    const ok = results.filter((r) => !r.error && r.status === 200);
    t.diagnostic(`in flight at SIGTERM: ${ok.length} answered 200, ` +
        `${results.filter((r) => !r.error && r.status !== 200).length} answered otherwise, ` +
        `${results.filter((r) => r.error).length} connection errors`);
    for (const r of results) {
        if (!r.error) assert.ok([200, 503].includes(r.status), `in-flight create answered ${r.status}: ${r.text}`);
    }
    await srv.restart();
    const vs = srv.stripe(key).identity.verificationSessions;
    for (const r of ok) {
        const got = await vs.retrieve(r.json.id);
        assert.deepEqual(h.plain(got), r.json, `acknowledged create ${r.json.id} after SIGTERM`);
    }
    const all = await vs.list({ limit: 100 });
    const listed = new Set(all.data.map((s) => s.id));
    assert.ok(listed.has(warm.json.id));
    for (const r of ok) assert.ok(listed.has(r.json.id));
    assert.ok(all.data.length <= 33, 'no more sessions than requests');
    // Every stored session is a whole one, and none is duplicated.
    assert.equal(listed.size, all.data.length);
    for (const s of all.data) {
        if (s.id === warm.json.id) continue;
        assert.match(s.client_reference_id, /^burst_\d+$/);
        assert.equal(s.metadata.i, s.client_reference_id.slice(6));
    }
    const refs = all.data.map((s) => s.client_reference_id).filter(Boolean);
    assert.equal(new Set(refs).size, refs.length, 'no request stored twice');
    assert.ok(srv.exits.length >= 1);
});

/* POST whose body is sent in two halves, the second once gate resolves. Resolves like request(). */
function slowPost(port, key, agent, body, gate) {
    return new Promise((resolve) => {
        let got = false;
        const req = require('node:http').request({
            host: '127.0.0.1', port, method: 'POST', path: PATH, agent,
            headers: {
                Authorization: 'Bearer ' + key,
                'Content-Type': 'application/x-www-form-urlencoded',
                'Content-Length': Buffer.byteLength(body),
            },
        }, (res) => {
            got = true;
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('error', (error) => resolve({ error }));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json;
                try {
                    json = JSON.parse(text);
                } catch (_) { /* not JSON */ }
                resolve({ status: res.statusCode, headers: res.headers, text, json });
            });
        });
        req.on('error', (error) => {
            if (!got) resolve({ error });
        });
        const half = Math.floor(body.length / 2);
        req.write(body.slice(0, half));
        gate.then(() => req.end(body.slice(half)));
    });
}

test('SIGTERM with idle keep-alive connections still exits promptly with code 0', async () => {
    const srv = await h.startServer();
    servers.push(srv);
    const key = h.randomKey();
    const agent = new (require('node:http').Agent)({ keepAlive: true });
    const r = await srv.request({ path: PATH, key, agent });
    assert.equal(r.status, 200);
    const t0 = Date.now();
    await srv.stop(); // asserts exit code 0
    assert.ok(Date.now() - t0 < 30000, 'shutdown did not wait for idle connections to time out');
    agent.destroy();
});
