'use strict';
/*
 * The HTTP adapter's limits and framing rules (README "Limits"), driven over raw sockets the
 * way a misbehaving or hostile client would: the deadline for a complete request head
 * (--header-timeout), what a full connection table does (--max-connections), requests whose
 * body length is ambiguous (RFC 9112 §6.1, §6.3) and absolute-form request targets (RFC 9112
 * §3.2.2).
 *
 * Not for: the idle timeout and the connection limit as plain settings (config.test.js), body
 * and header size limits (raw.test.js).
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');

const PATH = h.SESSIONS_PATH;
const FORM = 'application/x-www-form-urlencoded';
const servers = [];
let quick; /* a 2 s header deadline: deadlines, framing, absolute form */
let idleKeep; /* a 1 s header deadline, --idle-timeout 2: the keep-alive rule */
let table; /* a 6 s header deadline: a full connection table */
const test = h.testWithLog(() => servers);

/* The deadlines come from VERIFYD_HEADER_TIMEOUT (the flag is tested below, and wins over it). */
const start = async (seconds, args = []) => {
    const s = await h.startServer({ args, env: { VERIFYD_HEADER_TIMEOUT: String(seconds) } });
    servers.push(s);
    return s;
};
before(async () => {
    [quick, idleKeep, table] = await Promise.all([start(2), start(1, ['--idle-timeout', '2']), start(6)]);
});
after(() => h.closeAll(servers));

/* ---- raw connections ---- */

/* One raw connection: the responses parsed from what the server sent, and when it closed. */
function rawConnection(port) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        sock.setNoDelay(true);
        const c = { sock, buf: Buffer.alloc(0), responses: [], closed: false, closedAt: 0, waiters: [] };
        const wake = () => {
            for (;;) {
                const end = c.buf.indexOf('\r\n\r\n');
                if (end < 0) break;
                const lines = c.buf.subarray(0, end).toString('latin1').split('\r\n');
                const headers = {};
                for (const l of lines.slice(1)) {
                    const i = l.indexOf(':');
                    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
                }
                const len = Number(headers['content-length'] || 0);
                if (c.buf.length < end + 4 + len) break;
                const text = c.buf.subarray(end + 4, end + 4 + len).toString('utf8');
                let json;
                try {
                    json = JSON.parse(text);
                } catch (_) {
                    json = undefined;
                }
                c.responses.push({ status: Number(lines[0].split(' ')[1]), headers, text, json, at: Date.now() });
                c.buf = c.buf.subarray(end + 4 + len);
            }
            for (const w of c.waiters.splice(0)) w();
        };
        sock.on('data', (d) => {
            c.buf = Buffer.concat([c.buf, d]);
            wake();
        });
        sock.on('close', () => {
            c.closed = true;
            c.closedAt = Date.now();
            wake();
        });
        sock.on('error', () => {});
        c.write = (s) => {
            if (!sock.destroyed) sock.write(s);
        };
        /* Wait until cond(c) holds (checked on every byte and on close), at most ms. */
        c.until = (cond, ms, what) => new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
            const check = () => {
                if (cond(c)) {
                    clearTimeout(timer);
                    res(c);
                } else c.waiters.push(check);
            };
            check();
        });
        c.destroy = () => sock.destroy();
        sock.once('connect', () => {
            c.openedAt = Date.now();
            resolve(c);
        });
        sock.once('error', reject);
    });
}

/* Send one raw request on a fresh connection; resolve with its response and, with
 * waitClose, whether the server then closed the connection (within 2 s). */
async function rawExchange(port, text, { waitClose = false } = {}) {
    const c = await rawConnection(port);
    try {
        c.write(text);
        await c.until((cc) => cc.responses.length > 0 || cc.closed, 5000, 'a response');
        assert.ok(c.responses.length > 0, 'the server closed the connection without answering');
        if (waitClose) await c.until((cc) => cc.closed, 2000, 'the server to close the connection').catch(() => {});
        return Object.assign({ closedAfter: c.closed }, c.responses[0]);
    } finally {
        c.destroy();
    }
}

/* The soft limit on open files of a child shell (this process has the same), or a large
 * number when it cannot be read. */
function openFileLimit() {
    const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
    const n = Number(String(r.stdout).trim());
    return Number.isFinite(n) && n > 0 ? n : 1 << 20;
}

/*
 * n sockets opened at once. Each sends `first` on connect (or nothing), and then `line` every
 * `everyMs` (a slow client keeping its request head unfinished, fast enough for the idle
 * timeout never to trip). Resolves once every socket has connected or failed, or after
 * settleMs; returns {socks: [{sock, closedAt}], closedCount(), destroy()}.
 */
async function crowd(port, n, { first = '', line = '', everyMs = 4000, settleMs = 8000 } = {}) {
    const socks = [];
    let pending = n;
    let settled;
    const allSettled = new Promise((r) => (settled = r));
    const done = (s) => {
        if (s.settled) return;
        s.settled = true;
        if (--pending === 0) settled();
    };
    for (let i = 0; i < n; i++) {
        const sock = net.connect(port, '127.0.0.1');
        const s = { sock, closedAt: 0, settled: false };
        sock.on('connect', () => {
            if (first) sock.write(first);
            done(s);
        });
        sock.on('error', () => done(s));
        sock.on('close', () => {
            s.closedAt = Date.now();
            done(s);
        });
        sock.on('data', () => {});
        socks.push(s);
    }
    const timer = line ? setInterval(() => {
        for (const s of socks) if (!s.closedAt && !s.sock.destroyed && s.sock.writable) s.sock.write(line);
    }, everyMs) : null;
    let settleTimer;
    await Promise.race([allSettled, new Promise((r) => (settleTimer = setTimeout(r, settleMs)))]);
    clearTimeout(settleTimer);
    return {
        socks,
        closedCount: () => socks.filter((s) => s.closedAt).length,
        destroy() {
            if (timer) clearInterval(timer);
            for (const s of socks) s.sock.destroy();
        },
    };
}

const GET_HEAD = (p = PATH) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

/* ================= --header-timeout / VERIFYD_HEADER_TIMEOUT ================= */

test('--header-timeout: out of range or not a whole number is exit 2 naming the flag; --help lists it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-hl-'));
    try {
        const run = (args, env = {}) => spawnSync(h.BIN, ['--listen', '127.0.0.1:0', '--data-dir', dir, ...args], {
            env: Object.assign({}, process.env, env), encoding: 'utf8', timeout: 5000, killSignal: 'SIGKILL',
        });
        for (const v of ['0', '86401', 'ten', '5s', '']) {
            const r = run(['--header-timeout', v]);
            assert.equal(r.status, 2, `--header-timeout '${v}': exit code (stderr: ${r.stderr})`);
            assert.ok(r.stderr.includes(`verifyd: --header-timeout must be a whole number from 1 to 86400 (got '${v}')`), r.stderr);
        }
        const e = run([], { VERIFYD_HEADER_TIMEOUT: 'soon' });
        assert.equal(e.status, 2, e.stderr);
        assert.ok(e.stderr.includes("verifyd: --header-timeout must be a whole number from 1 to 86400 (got 'soon')"), e.stderr);
        const help = run(['--help']);
        assert.equal(help.status, 0);
        assert.match(help.stdout, /--header-timeout SECONDS\s+VERIFYD_HEADER_TIMEOUT\b[^\n]*\n[^\n]*\[10\]/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('--header-timeout wins over VERIFYD_HEADER_TIMEOUT', async () => {
    const s = await h.startServer({ args: ['--header-timeout', '1'], env: { VERIFYD_HEADER_TIMEOUT: '30' } });
    servers.push(s);
    const c = await rawConnection(s.port);
    try {
        await c.until((cc) => cc.closed, 5000, 'the silent connection to be closed');
        const after = c.closedAt - c.openedAt;
        assert.ok(after >= 700 && after <= 2500, `closed ${after} ms after it opened (flag 1 s, variable 30 s)`);
    } finally {
        c.destroy();
    }
});

test('a request head trickled a line at a time is closed at the header deadline, however busy it looks', async () => {
    /* A line every 400 ms keeps libmicrohttpd's idle timeout (60 s) from ever tripping: only
     * the deadline can end this. A connection that sends nothing at all is closed the same way. */
    const [slow, silent] = await Promise.all([rawConnection(quick.port), rawConnection(quick.port)]);
    try {
        slow.write('GET /v1/identity/verification_sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        let n = 0;
        const timer = setInterval(() => slow.write(`X-Trickle-${n++}: ${'a'.repeat(8)}\r\n`), 400);
        try {
            await Promise.all([
                slow.until((c) => c.closed, 6000, 'the trickling connection to be closed'),
                silent.until((c) => c.closed, 6000, 'the silent connection to be closed'),
            ]);
        } finally {
            clearInterval(timer);
        }
        for (const [c, what] of [[slow, 'trickling'], [silent, 'silent']]) {
            const after = c.closedAt - c.openedAt;
            assert.ok(after >= 1500 && after <= 3500, `${what} connection closed ${after} ms after it opened (deadline 2 s)`);
            assert.equal(c.responses.length, 0, `${what}: closed without an answer`);
        }
    } finally {
        slow.destroy();
        silent.destroy();
    }
    assert.equal((await quick.request({ path: PATH })).status, 401, 'and the server still serves');
});

test('a head in time is not cut off: a slow body after it, then an idle keep-alive wait past the deadline', async () => {
    const c = await rawConnection(quick.port);
    try {
        const body = 'type=document&client_reference_id=slow_body';
        c.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${FORM}\r\nContent-Length: ${body.length}\r\n\r\n`);
        /* The body over 2.6 s, longer than the 2 s deadline: the head was complete, so only
         * the idle timeout applies now. */
        for (let i = 0; i < body.length; i += 8) {
            await h.sleep(2600 / Math.ceil(body.length / 8));
            c.write(body.slice(i, i + 8));
        }
        await c.until((cc) => cc.responses.length === 1 || cc.closed, 5000, 'the answer to the slow body');
        assert.equal(c.responses.length, 1, 'answered, not closed');
        assert.equal(c.responses[0].status, 401);
        /* Idle between requests for longer than the deadline: a keep-alive connection waits
         * under the idle timeout, not under the header deadline. */
        await h.sleep(2600);
        assert.ok(!c.closed, 'an idle keep-alive connection is not closed by the header deadline');
        c.write(GET_HEAD());
        await c.until((cc) => cc.responses.length === 2 || cc.closed, 5000, 'the second answer');
        assert.equal(c.responses.length, 2, 'the keep-alive connection serves its next request');
        assert.equal(c.responses[1].status, 401);
    } finally {
        c.destroy();
    }
});

test('keep-alive: the next head is due an idle timeout plus the header deadline after the last response', async () => {
    /* idleKeep: --idle-timeout 2, VERIFYD_HEADER_TIMEOUT=1. A response,
     * then a next head trickled line by line: never idle, never complete. */
    const c = await rawConnection(idleKeep.port);
    let timer;
    try {
        c.write(GET_HEAD());
        await c.until((cc) => cc.responses.length === 1, 5000, 'the first answer');
        const answered = c.responses[0].at;
        c.write('GET /v1/identity/verification_sessions HTTP/1.1\r\n');
        let n = 0;
        timer = setInterval(() => c.write(`X-Trickle-${n++}: b\r\n`), 300);
        await c.until((cc) => cc.closed, 8000, 'the trickling keep-alive connection to be closed');
        const after = c.closedAt - answered;
        assert.ok(after >= 2500 && after <= 4500, `closed ${after} ms after the last response (idle 2 s + deadline 1 s)`);
        assert.equal(c.responses.length, 1);
    } finally {
        clearInterval(timer);
        c.destroy();
    }
    /* And a fresh connection on that server has the 1 s deadline alone. */
    const fresh = await rawConnection(idleKeep.port);
    try {
        await fresh.until((cc) => cc.closed, 5000, 'the silent fresh connection to be closed');
        const after = fresh.closedAt - fresh.openedAt;
        assert.ok(after >= 700 && after <= 2500, `fresh connection closed ${after} ms after it opened (deadline 1 s)`);
    } finally {
        fresh.destroy();
    }
});

/* ================= a full connection table ================= */

test('1,100 slow heads against 1,024 connections: the oldest are dropped and a new client is answered at once', async () => {
    /* table: --header-timeout 6, --max-connections 1024 (the default). Each slow client sends
     * a request line, then one header line every 4 s. */
    const H = 6;
    const slow = await crowd(table.port, 1100, {
        first: `GET ${PATH} HTTP/1.1\r\n`, line: 'X-Slow: 1\r\n', everyMs: 4000,
    });
    try {
        /* Every one of them is past the kernel's handshake: the table is full and 76 wait. */
        const t0 = Date.now();
        const r = await table.request({ path: PATH, timeout: (H + 1) * 1000 });
        const took = Date.now() - t0;
        assert.ok(!r.error, `the new client was not answered within the deadline + 1 s: ${r.error && r.error.message}`);
        assert.equal(r.status, 401);
        /* Dropping the oldest makes room at once; waiting for a deadline to free a slot would
         * take most of the 6 s. */
        assert.ok(took < 2000, `answered after ${took} ms; a full table must make room at once`);
        /* 76 that did not fit plus one for the new client, taken from the oldest. */
        await h.eventually(() => slow.closedCount() >= 77, { timeout: 3000, what: '77 slow connections closed' });
        const closed = slow.socks.map((s, i) => (s.closedAt ? i : -1)).filter((i) => i >= 0);
        assert.ok(closed.every((i) => i < 600), `the oldest are dropped first; closed: ${closed.slice(-10).join(',')}`);
    } finally {
        slow.destroy();
    }
});

test('a full table: a new client closes the longest-idle keep-alive connection, or is closed itself when all are busy', async () => {
    /* --max-connections 3 on one thread, so that the order is exact. */
    const s = await h.startServer({ args: ['--max-connections', '3', '--threads', '1'] });
    servers.push(s);
    const open = [];
    try {
        /* Three keep-alive connections, each served once, idle from first to last. */
        for (let i = 0; i < 3; i++) {
            const c = await rawConnection(s.port);
            open.push(c);
            c.write(GET_HEAD());
            await c.until((cc) => cc.responses.length === 1, 5000, `answer ${i + 1}`);
            await h.sleep(50);
        }
        const extra = await rawConnection(s.port);
        open.push(extra);
        extra.write(GET_HEAD());
        await extra.until((cc) => cc.responses.length === 1 || cc.closed, 5000, 'the new client to be answered');
        assert.equal(extra.responses.length, 1, 'the new client is served at once');
        await open[0].until((cc) => cc.closed, 2000, 'the longest-idle connection to be closed');
        for (const c of [open[1], open[2]]) {
            c.write(GET_HEAD());
            await c.until((cc) => cc.responses.length === 2 || cc.closed, 5000, 'a second answer');
            assert.equal(c.responses.length, 2, 'the others still serve');
        }
        for (const c of open.splice(0)) c.destroy();
        await h.sleep(100);

        /* Three connections in the middle of a request (head sent, body not yet): none waits
         * for a head, so the new client is the one closed, unanswered. */
        const body = 'type=document';
        for (let i = 0; i < 3; i++) {
            const c = await rawConnection(s.port);
            open.push(c);
            c.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${FORM}\r\nContent-Length: ${body.length}\r\n\r\n`);
        }
        await h.sleep(200);
        const refused = await rawConnection(s.port);
        open.push(refused);
        refused.write(GET_HEAD());
        await refused.until((cc) => cc.closed, 2000, 'the new client to be closed');
        assert.equal(refused.responses.length, 0);
        for (const c of open.slice(0, 3)) {
            c.write(body);
            await c.until((cc) => cc.responses.length === 1 || cc.closed, 5000, 'the busy ones to be answered');
            assert.equal(c.responses.length, 1, 'a busy connection is never the one closed');
            assert.equal(c.responses[0].status, 401);
        }
    } finally {
        for (const c of open) c.destroy();
    }
});

test('10,000 connect-only sockets: a new client is still answered within the deadline + 1 s', async () => {
    /* quick: --header-timeout 2. Fewer sockets when this process may not open that many. */
    const H = 2;
    const n = Math.min(10000, openFileLimit() - 1000);
    assert.ok(n >= 2000, `too few open files allowed (${n + 1000}) for this test`);
    const idle = await crowd(quick.port, n, { settleMs: 8000 });
    try {
        const t0 = Date.now();
        const r = await quick.request({ path: PATH, timeout: (H + 1) * 1000 });
        assert.ok(!r.error, `after ${Date.now() - t0} ms: ${r.error && r.error.message}`);
        assert.equal(r.status, 401);
    } finally {
        idle.destroy();
    }
    await h.sleep(200);
    assert.equal((await quick.request({ path: PATH })).status, 401, 'and the server still serves');
});

/* ================= body framing: RFC 9112 §6.1, §6.3 ================= */

function createHead(key, extra) {
    return `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: ${FORM}\r\n${extra}\r\n`;
}

async function sessionCount(key) {
    const r = await quick.request({ path: PATH, key });
    assert.equal(r.status, 200, r.text);
    return r.json.data.length;
}

function framingError(r, what) {
    /* Bare, as an unknown route's answer (CONTRACT.md §11): the request never reached a route. */
    const e = x.bareError(r, { status: 400, type: 'invalid_request_error' });
    assert.match(e.message, what);
    assert.equal(r.closedAfter, true, 'the connection is closed after the 400: the body length is unknown');
}

test('two Content-Length headers with different values: 400 and the connection is closed', async () => {
    const key = h.randomKey();
    const body = 'type=document';
    for (const [a, b] of [[13, 5], [5, 13]]) {
        const r = await rawExchange(quick.port, createHead(key, `Content-Length: ${a}\r\nContent-Length: ${b}\r\n`) + body, { waitClose: true });
        framingError(r, /Content-Length/);
    }
    const r = await rawExchange(quick.port, createHead(key, 'Content-Length: 13\r\ncontent-length: x\r\n') + body, { waitClose: true });
    framingError(r, /Content-Length/);
    assert.equal(await sessionCount(key), 0, 'no body was taken as a request');
    /* The same value twice says the same thing, and is served. */
    const same = await rawExchange(quick.port, createHead(key, 'Content-Length: 13\r\nContent-Length: 13\r\n') + body);
    assert.equal(same.status, 200, same.text);
    assert.equal(await sessionCount(key), 1);
});

test('Transfer-Encoding together with Content-Length: 400 and the connection is closed', async () => {
    const key = h.randomKey();
    const chunked = 'd\r\ntype=document\r\n0\r\n\r\n';
    for (const extra of [
        'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n',
        'Content-Length: 24\r\nTransfer-Encoding: chunked\r\n',
    ]) {
        const r = await rawExchange(quick.port, createHead(key, extra) + chunked, { waitClose: true });
        framingError(r, /Transfer-Encoding/);
    }
    assert.equal(await sessionCount(key), 0, 'no body was taken as a request');
    const ok = await rawExchange(quick.port, createHead(key, 'Transfer-Encoding: chunked\r\n') + chunked);
    assert.equal(ok.status, 200, ok.text);
});

/* ================= absolute-form request targets: RFC 9112 §3.2.2 ================= */

test('an absolute-form request target is routed as its path, and logged as the path', async () => {
    const key = h.randomKey();
    const c = await quick.request({ method: 'POST', path: PATH, key, headers: { 'Content-Type': FORM }, body: 'type=document' });
    assert.equal(c.status, 200, c.text);
    const id = c.json.id;
    const auth = `Authorization: Bearer ${key}\r\n`;
    const get = (target) => rawExchange(quick.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${quick.port}\r\n${auth}\r\n`);

    const one = await get(`http://127.0.0.1:${quick.port}${PATH}/${id}`);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.id, id);
    /* Scheme in capitals, another authority, a query string: the same. */
    const list = await get(`HTTP://verifyd.example${PATH}?limit=1`);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.object, 'list');
    assert.equal(list.json.data.length, 1);
    const missing = await get(`https://127.0.0.1:${quick.port}${PATH}/vs_${h.randomAlnum(24)}`);
    x.rawError(missing, { status: 404, code: 'resource_missing' });
    /* No path at all is "/": an unknown route, named as such. */
    const root = await get(`http://127.0.0.1:${quick.port}`);
    x.bareError(root, { status: 404, message: x.unknownRouteMessage('GET', '/') });

    await h.eventually(() => quick.log.includes(`path=${PATH}/${id} status=200`), { timeout: 3000, what: 'the access-log line' });
    assert.ok(!/path=https?:/i.test(quick.log), 'the access log shows paths, never a scheme and authority');
});
