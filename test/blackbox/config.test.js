'use strict';
/*
 * Configuration (README "Configuration", `verifyd --help`): every flag and every VERIFYD_*
 * variable, through what a user sees. Bad values stop verifyd at start-up with exit code 2 (1
 * when a file, the database or the address cannot be used) and a message naming the option;
 * good values have their effect (limits, logging, URLs, JSON layout, threads, schedules, keys,
 * data directory); each variable does what its flag does, and a flag wins over its variable.
 *
 * Start-up failures run the binary directly (spawnSync, fresh data directory, --listen on port
 * 0); running servers use launch() below, which reads the bound port from the start-up line so
 * that the listen address itself can come from a flag or a variable.
 *
 * Not for: the time behaviour of --redaction-delay / --hosted-delay (redaction and hosted-page
 * tests), the webhook API itself (webhooks.test.js).
 */

const { after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const x = require('./lib/expect');
const { startReceiver } = require('./lib/receiver');

const BIN = h.BIN;
const running = []; /* every launched server, for after() and failure logs */
const receivers = [];
const dirs = [];
const test = h.testWithLog(() => running.slice(-3));

after(async () => {
    for (const s of running) {
        if (s.running) {
            s.proc.kill('SIGKILL');
            await (s.exited || s.proc.exited);
        }
    }
    for (const r of receivers) await r.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-cfg-'));
    dirs.push(d);
    return d;
}

/* The environment for a child: ours without any VERIFYD_* (so only what a test sets counts). */
function childEnv(env = {}) {
    const e = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VERIFYD_')) e[k] = v;
    return Object.assign(e, env);
}

/* Run verifyd expecting it to end by itself (start-up error, --help). defaults: put --listen
 * 127.0.0.1:0 and a fresh --data-dir first (later flags win; off to test the variables). */
function run(args, { env, defaults = true, cwd, timeout = 5000 } = {}) {
    const pre = defaults ? ['--listen', '127.0.0.1:0', '--data-dir', tmpDir()] : [];
    const r = spawnSync(BIN, [...pre, ...args], {
        env: childEnv(env), cwd, encoding: 'utf8', timeout, killSignal: 'SIGKILL',
    });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, args };
}

/* verifyd with these args/env must refuse to start: exit code and a message on stderr. */
function refuses(args, message, { code = 2, env, defaults } = {}) {
    const r = run(args, { env, defaults });
    const what = `verifyd ${JSON.stringify(args)} env ${JSON.stringify(env || {})}`;
    assert.equal(r.signal, null, `${what} must exit at start-up, but it kept running (stderr: ${r.stderr})`);
    assert.equal(r.code, code, `${what}: exit code (stderr: ${r.stderr})`);
    if (message instanceof RegExp) assert.match(r.stderr, message, `${what}: message`);
    else assert.ok(r.stderr.includes(message), `${what}: stderr must include ${JSON.stringify(message)}, got ${JSON.stringify(r.stderr)}`);
    assert.ok(!r.stderr.includes('listening on'), `${what} must not start`);
    return r;
}

const LISTENING = /msg="verifyd \S+ listening on (.*):(\d+)" data_dir=(\S+) public_url=(\S+)/;

/*
 * A port below the kernel's ephemeral range (32768-60999 by default), which no harness that
 * binds port 0 is handed, so that a start here rarely meets a port in use.
 */
const quietPort = () => 20000 + crypto.randomInt(12000);

/*
 * Start verifyd and wait for its start-up line. opts: {args, env, defaults (as for run, but
 * with a random port from quietPort()), dataDir, cwd}. Returns {proc, port, host, publicUrl,
 * log, running, exited, stop(), stripe(key), request(opts), tail()}.
 */
async function launch(opts = {}) {
    for (let attempt = 1; ; attempt++) {
        try {
            return await launchOnce(opts);
        } catch (e) {
            /* The random port was taken: try another one. */
            if (!(opts.defaults !== false && /cannot listen on/.test(e.message) && attempt < 5)) throw e;
        }
    }
}

async function launchOnce({ args = [], env, defaults = true, dataDir, cwd } = {}) {
    const dir = dataDir || tmpDir();
    const pre = defaults ? ['--listen', `127.0.0.1:${quietPort()}`, '--data-dir', dir] : [];
    const proc = spawn(BIN, [...pre, ...args], { env: childEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = {
        proc, dataDir: dir, log: `--- start: ${BIN} ${[...pre, ...args].join(' ')}\n`, running: true,
        tail(n = 4000) { return this.log.slice(-n); },
        stripe(key, extra) { return h.makeStripe(this.port, key, extra); },
        request(o) { return h.request(this.port, o); },
        async stop() {
            if (this.running) proc.kill('SIGTERM');
            const ex = await this.exited;
            assert.deepEqual(ex, { code: 0, signal: null }, `clean exit on SIGTERM\n${this.tail()}`);
        },
    };
    running.push(s);
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => (s.log += d));
    proc.stderr.on('data', (d) => (s.log += d));
    /* 'close': the process has exited and both pipes are drained, so s.log is complete. */
    s.exited = new Promise((resolve) => proc.on('close', (code, signal) => {
        s.running = false;
        resolve({ code, signal });
    }));
    const deadline = Date.now() + 20000;
    for (;;) {
        const m = s.log.match(LISTENING);
        if (m) {
            s.host = m[1];
            s.port = Number(m[2]);
            s.publicUrl = m[4];
            return s;
        }
        if (!s.running) throw new Error(`verifyd exited during start-up\n${s.tail()}`);
        if (Date.now() > deadline) throw new Error(`verifyd did not start\n${s.tail()}`);
        await h.sleep(10);
    }
}

async function receiver(respond) {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
}

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
const post = (srv, key, body, extra = {}) =>
    srv.request(Object.assign({ method: 'POST', path: h.SESSIONS_PATH, key, body, headers: form }, extra));
const accessLines = (log) => log.split('\n').filter((l) => / method=\S+ path=\S+ status=\d+ /.test(l));
const sha = (k) => crypto.createHash('sha256').update(k).digest('hex');

/* A keys file listing one live key. */
function liveKeysFile() {
    const key = 'sk_live_' + h.randomAlnum(24);
    const file = path.join(tmpDir(), 'keys');
    fs.writeFileSync(file, `# operator keys\n\n${sha(key)} acct_cfg\n`);
    return { key, file };
}

/* ---- a raw keep-alive HTTP/1.1 connection, one response at a time ---- */

function rawConnection(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, host);
        const c = { sock, buf: Buffer.alloc(0), responses: [], closed: false, waiters: [] };
        const wake = () => {
            for (;;) {
                const end = c.buf.indexOf('\r\n\r\n');
                if (end < 0) break;
                const head = c.buf.subarray(0, end).toString('latin1');
                const m = head.match(/\r\ncontent-length: *(\d+)/i);
                const len = m ? Number(m[1]) : 0;
                if (c.buf.length < end + 4 + len) break;
                c.responses.push({ status: Number(head.split(' ')[1]), head, body: c.buf.subarray(end + 4, end + 4 + len).toString() });
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
        /* A GET of p, or the raw request given (bytes Node's own client refuses to send). */
        c.send = (p = h.SESSIONS_PATH, raw = `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`) => sock.write(raw, 'latin1');
        /* Wait until cond(c) holds (re-checked on every byte or close), at most ms. */
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
        c.ask = async (ms = 5000, raw = undefined) => {
            const n = c.responses.length + 1;
            c.send(undefined, raw);
            await c.until((cc) => cc.responses.length >= n || cc.closed, ms, 'a response');
            assert.ok(c.responses.length >= n, 'the server closed the connection instead of answering');
            return c.responses[n - 1];
        };
        c.close = () => sock.destroy();
        sock.once('connect', () => resolve(c));
        sock.once('error', reject);
    });
}

/* ================= --help, --version, unknown arguments ================= */

/* The README's Configuration table: [flag, variable] per row. */
function readmeOptions() {
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `(--[a-z-]+)[^`]*` \| `(VERIFYD_[A-Z_]+)[^`]*` \|/gm)];
    assert.ok(rows.length >= 15, `the README lists the options (found ${rows.length})`);
    return rows.map((m) => [m[1], m[2]]);
}

test('--help and -h print the usage with every option of the README, exit 0', () => {
    for (const flag of ['--help', '-h']) {
        const r = run([flag]);
        assert.equal(r.code, 0, `${flag}: exit code`);
        assert.ok(r.stdout.startsWith('Usage: verifyd [options]\n'), `${flag}: usage on stdout, got ${r.stdout}`);
        assert.equal(r.stderr, '');
        for (const [opt, env] of readmeOptions()) {
            assert.ok(r.stdout.includes(opt), `usage mentions ${opt}`);
            assert.ok(r.stdout.includes(env), `usage mentions ${env}`);
        }
        assert.match(r.stdout, /units? \(?ms, s, m, h, d\)?/, 'usage names the schedule units');
    }
});

test('--version and -V print "verifyd 0.1.0", exit 0', () => {
    for (const flag of ['--version', '-V']) {
        const r = run([flag]);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, 'verifyd 0.1.0\n');
    }
});

test('an unknown flag, a missing value and a stray argument exit 2 with the usage', () => {
    let r = refuses(['--bogus'], "unrecognized option '--bogus'");
    assert.ok(r.stderr.includes('Usage: verifyd [options]'));
    refuses(['-x'], /invalid option -- 'x'/);
    r = refuses(['serve'], "verifyd: unexpected argument 'serve'");
    assert.ok(r.stderr.includes('Usage: verifyd [options]'));
    refuses(['--threads'], "option '--threads' requires an argument");
    refuses(['--pretty=yes'], "option '--pretty' doesn't allow an argument");
});

/* ================= numbers: one parser, each option its own range ================= */

const NUMERIC = [
    /* flag, variable, min, max */
    ['--threads', 'VERIFYD_THREADS', 1, 64],
    ['--max-body', 'VERIFYD_MAX_BODY', 1024, 64 << 20],
    ['--max-connections', 'VERIFYD_MAX_CONNECTIONS', 1, 100000],
    ['--idle-timeout', 'VERIFYD_IDLE_TIMEOUT', 1, 86400],
    ['--redaction-delay', 'VERIFYD_REDACTION_DELAY_MS', 0, 4 * 24 * 3600 * 1000],
    ['--hosted-delay', 'VERIFYD_HOSTED_DELAY_MS', 0, 24 * 3600 * 1000],
];

test('numeric options: out of range or not a whole number is exit 2 naming the flag and the range', () => {
    for (const [flag, env, min, max] of NUMERIC) {
        const msg = (v) => `verifyd: ${flag} must be a whole number from ${min} to ${max} (got '${v}')`;
        for (const v of [String(min - 1), String(max + 1), 'ten', '5s', '1.5', '', ' 5', '+5']) {
            refuses([flag, v], msg(v));
        }
        /* The variable goes through the same check, and the message still names the flag. */
        refuses([], msg('lots'), { env: { [env]: 'lots' } });
        refuses([], msg(String(max + 1)), { env: { [env]: String(max + 1) } });
    }
});

test('numeric options: the extremes of each range are accepted', async () => {
    const lo = await launch({ args: NUMERIC.flatMap(([flag, , min]) => [flag, String(min)]) });
    assert.equal((await lo.request({ path: h.SESSIONS_PATH })).status, 401);
    await lo.stop();
    const hi = await launch({ args: NUMERIC.flatMap(([flag, , , max]) => [flag, String(max)]) });
    assert.equal((await hi.request({ path: h.SESSIONS_PATH })).status, 401);
    await hi.stop();
});

/* ================= --listen / VERIFYD_LISTEN ================= */

test('--listen: a malformed address is exit 2 with a clear message', () => {
    const usage = (v) => `verifyd: --listen takes ADDR:PORT, e.g. 127.0.0.1:12111 (got '${v}')`;
    for (const v of ['garbage', '127.0.0.1', '127.0.0.1:', ':12111', '127.0.0.1:http', '127.0.0.1:-1', '[::1]12111', '[::1', '[]:1']) {
        refuses(['--listen', v], usage(v));
    }
    let r = refuses(['--listen', '127.0.0.1:70000'], usage('127.0.0.1:70000'));
    assert.ok(r.stderr.includes("the listen port must be a whole number from 0 to 65535 (got '70000')"));
    const literal = (v) => `verifyd: --listen takes a numeric IPv4 or IPv6 address (host names are not resolved), e.g. 127.0.0.1:12111 or [::1]:12111 (got '${v}')`;
    for (const v of ['localhost:12111', 'example.com:80', '999.1.1.1:80', '[127.0.0.1]:80']) refuses(['--listen', v], literal(v));
    refuses(['--data-dir', tmpDir()], usage('nope'), { env: { VERIFYD_LISTEN: 'nope' }, defaults: false });
});

test('--listen: an address that cannot be bound is exit 1 "cannot listen on ..."', async () => {
    /* 192.0.2.1 (TEST-NET-1) is on no interface of this machine. */
    refuses(['--listen', '192.0.2.1:12111'],
        'verifyd: cannot listen on 192.0.2.1:12111: cannot listen on that address (in use, or not permitted)', { code: 1 });
    /* A port another program holds. */
    const other = net.createServer();
    await new Promise((r) => other.listen(0, '127.0.0.1', r));
    const { port } = other.address();
    try {
        refuses(['--listen', `127.0.0.1:${port}`], `verifyd: cannot listen on 127.0.0.1:${port}: cannot listen on that address (in use`, { code: 1 });
    } finally {
        other.close();
    }
});

test('--listen: a port a running verifyd holds is refused, not shared', async () => {
    const first = await launch();
    const r = run(['--listen', `127.0.0.1:${first.port}`], { timeout: 1000 });
    await first.stop();
    assert.equal(r.code, 1, `the second verifyd must not start (stderr: ${r.stderr})`);
});

async function ipv6Loopback() {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.once('error', () => resolve(false));
        s.listen(0, '::1', () => s.close(() => resolve(true)));
    });
}

test('--listen [::1]:PORT serves on IPv6 loopback, and the default public URL brackets it', async (t) => {
    if (!(await ipv6Loopback())) {
        t.skip('no IPv6 loopback on this machine');
        return;
    }
    const srv = await launch({ args: ['--listen', '[::1]:0'] });
    assert.equal(srv.host, '::1');
    assert.equal(srv.publicUrl, `http://[::1]:${srv.port}`);
    const key = h.randomKey();
    const s = await h.makeStripe(srv.port, key, { host: '::1' }).identity.verificationSessions.create({ type: 'document' });
    assert.ok(s.url.startsWith(`http://[::1]:${srv.port}/start/`), s.url);
    await srv.stop();
});

test('VERIFYD_LISTEN sets the address; --listen wins over it', async () => {
    const port = quietPort();
    const env = await launch({ env: { VERIFYD_LISTEN: `127.0.0.1:${port}` }, defaults: false, args: ['--data-dir', tmpDir()] });
    assert.equal(env.host, '127.0.0.1');
    assert.equal(env.port, port);
    assert.equal((await env.request({ path: h.SESSIONS_PATH })).status, 401);
    await env.stop();
    const flag = await launch({ env: { VERIFYD_LISTEN: 'not-an-address' }, defaults: false, args: ['--listen', `127.0.0.1:${quietPort()}`, '--data-dir', tmpDir()] });
    assert.equal((await flag.request({ path: h.SESSIONS_PATH })).status, 401);
    await flag.stop();
});

/* ================= --data-dir / VERIFYD_DATA_DIR ================= */

test('--data-dir: data persists in that directory across a restart, and only there', async () => {
    const dir = tmpDir();
    const key = h.randomKey();
    const a = await launch({ args: ['--data-dir', dir] });
    const created = await a.stripe(key).identity.verificationSessions.create({ type: 'document', metadata: { n: '1' } });
    await a.stop();
    assert.ok(fs.existsSync(path.join(dir, 'verifyd.db')), 'the database is in the directory');
    const b = await launch({ args: ['--data-dir', dir] });
    const got = await b.stripe(key).identity.verificationSessions.retrieve(created.id);
    assert.equal(got.id, created.id);
    assert.deepEqual(got.metadata, { n: '1' });
    await b.stop();
    const other = await launch({ args: ['--data-dir', tmpDir()] });
    x.sdkError(await h.rejects(other.stripe(key).identity.verificationSessions.retrieve(created.id)), { status: 404, code: 'resource_missing' });
    await other.stop();
});

test('VERIFYD_DATA_DIR sets the directory, --data-dir wins, ./data is the default', async () => {
    const envDir = tmpDir();
    const flagDir = tmpDir();
    const key = h.randomKey();
    const a = await launch({ env: { VERIFYD_DATA_DIR: envDir }, defaults: false, args: ['--listen', `127.0.0.1:${quietPort()}`] });
    const s = await a.stripe(key).identity.verificationSessions.create({ type: 'document' });
    await a.stop();
    assert.ok(fs.existsSync(path.join(envDir, 'verifyd.db')));
    const b = await launch({ env: { VERIFYD_DATA_DIR: envDir }, defaults: false, args: ['--listen', `127.0.0.1:${quietPort()}`] });
    assert.equal((await b.stripe(key).identity.verificationSessions.retrieve(s.id)).id, s.id);
    await b.stop();

    const c = await launch({ env: { VERIFYD_DATA_DIR: envDir }, defaults: false, args: ['--listen', `127.0.0.1:${quietPort()}`, '--data-dir', flagDir] });
    await c.stop();
    assert.ok(fs.existsSync(path.join(flagDir, 'verifyd.db')), 'the flag\'s directory is used');

    const cwd = tmpDir();
    const d = await launch({ defaults: false, args: ['--listen', `127.0.0.1:${quietPort()}`], cwd });
    await d.stop();
    assert.ok(fs.existsSync(path.join(cwd, 'data', 'verifyd.db')), 'default ./data');
});

test('--data-dir that cannot hold a database is exit 1 naming it', () => {
    const file = path.join(tmpDir(), 'plain-file');
    fs.writeFileSync(file, 'x');
    refuses(['--data-dir', path.join(file, 'db')], `verifyd: cannot open the database in ${path.join(file, 'db')}:`, { code: 1 });
});

/* ================= --public-url / VERIFYD_PUBLIC_URL ================= */

test('--public-url is the base of every session url (trailing slashes dropped); the page is served at its path', async () => {
    const srv = await launch({ args: ['--public-url', 'https://verify.example.com:8443/base//'] });
    const key = h.randomKey();
    const s = await srv.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.match(s.url, /^https:\/\/verify\.example\.com:8443\/base\/start\/[A-Za-z0-9]+$/);
    const token = s.url.split('/start/')[1];
    const page = await srv.request({ path: `/start/${token}` });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    await srv.stop();

    const def = await launch();
    const d = await def.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.ok(d.url.startsWith(`http://127.0.0.1:${def.port}/start/`), `default: ${d.url}`);
    await def.stop();
});

test('VERIFYD_PUBLIC_URL sets the base; --public-url wins over it', async () => {
    const key = h.randomKey();
    const env = await launch({ env: { VERIFYD_PUBLIC_URL: 'http://id.example.org/' } });
    let s = await env.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.match(s.url, /^http:\/\/id\.example\.org\/start\/[A-Za-z0-9]+$/);
    await env.stop();
    const both = await launch({ env: { VERIFYD_PUBLIC_URL: 'http://id.example.org' }, args: ['--public-url', 'https://flag.example.net'] });
    s = await both.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.match(s.url, /^https:\/\/flag\.example\.net\/start\//);
    await both.stop();
});

test('--public-url must be an http(s) URL with a host of at most 400 characters (exit 2)', async () => {
    const msg = 'verifyd: --public-url must be an absolute http:// or https:// URL with a host, at most 400 characters';
    for (const v of ['ftp://verify.example.com', 'verify.example.com', 'http://', 'https:///x', 'http://a b', 'http://' + 'a'.repeat(394)]) {
        refuses(['--public-url', v], msg);
    }
    refuses([], msg, { env: { VERIFYD_PUBLIC_URL: 'file:///etc' } });
    /* 400 characters is still fine. */
    const base = 'http://' + 'a'.repeat(393);
    const srv = await launch({ args: ['--public-url', base] });
    const s = await srv.stripe(h.randomKey()).identity.verificationSessions.create({ type: 'document' });
    assert.ok(s.url.startsWith(base + '/start/'));
    await srv.stop();
});

/* ================= --pretty / VERIFYD_PRETTY ================= */

test('--pretty and VERIFYD_PRETTY=1 indent JSON (errors too); the default is compact', async () => {
    const check = async (srv, pretty) => {
        const key = h.randomKey();
        const r = await post(srv, key, 'type=document&metadata[a]=b');
        assert.equal(r.status, 200);
        const e = await srv.request({ path: '/v1/nope', key });
        assert.equal(e.status, 404);
        if (pretty) {
            assert.match(r.text, /^\{\n {2}"id": "vs_[A-Za-z0-9]+",\n {2}"object": "identity\.verification_session",\n/);
            assert.match(r.text, /\n {2}"metadata": \{\n {4}"a": "b"\n {2}\},\n/);
            assert.match(e.text, /^\{\n {2}"error": \{\n {4}"/);
        } else {
            assert.ok(!r.text.includes('\n') && !r.text.includes(': '), `compact: ${r.text.slice(0, 80)}`);
            assert.ok(!e.text.includes('\n'));
        }
        /* Same content either way, and the SDK reads it. */
        assert.equal(r.json.metadata.a, 'b');
        const s = await srv.stripe(key).identity.verificationSessions.retrieve(r.json.id);
        assert.deepEqual(h.plain(s), r.json);
        await srv.stop();
    };
    await check(await launch(), false);
    await check(await launch({ args: ['--pretty'] }), true);
    await check(await launch({ env: { VERIFYD_PRETTY: '1' } }), true);
    await check(await launch({ env: { VERIFYD_PRETTY: '0' } }), false);
    await check(await launch({ env: { VERIFYD_PRETTY: '0' }, args: ['--pretty'] }), true);
});

/* ================= --max-body / VERIFYD_MAX_BODY ================= */

/* A valid create body of exactly n bytes: metadata values of at most 500 characters, some
 * written as %78 so that the byte count can be anything. */
function createBody(n) {
    const head = 'type=document';
    const pairs = Math.max(1, Math.ceil((n - head.length) / 1400));
    let left = n - head.length;
    let body = head;
    for (let i = 0; i < pairs; i++) {
        const key = `&metadata[k${i}]=`;
        const bytes = Math.floor((left - key.length * (pairs - i)) / (pairs - i)) + key.length;
        const v = bytes - key.length;
        const enc = Math.max(0, Math.ceil((v - 500) / 2));
        assert.ok(v >= 1 && v - 3 * enc >= 0, 'createBody: size out of reach');
        body += key + 'x'.repeat(v - 3 * enc) + '%78'.repeat(enc);
        left -= bytes;
    }
    assert.equal(body.length, n);
    return body;
}

const TOO_LARGE = {
    status: 413, type: 'invalid_request_error',
    message: 'Request body too large: verifyd accepts request bodies up to the configured limit.',
    code: null, param: null,
};

async function bodyLimit(srv, limit) {
    const key = h.randomKey();
    const at = await post(srv, key, createBody(limit));
    assert.equal(at.status, 200, `a body of exactly ${limit} bytes is accepted: ${at.text}`);
    assert.equal(Object.keys(at.json.metadata).length, Math.max(1, Math.ceil((limit - 13) / 1400)));
    x.rawError(await post(srv, key, createBody(limit + 1)), TOO_LARGE);
    /* Chunked, without Content-Length: the same limit. */
    const chunked = (b) => post(srv, key, null, { chunks: [b.slice(0, 700), b.slice(700)], headers: Object.assign({ 'Transfer-Encoding': 'chunked' }, form) });
    assert.equal((await chunked(createBody(limit))).status, 200);
    x.rawError(await chunked(createBody(limit + 1)), TOO_LARGE);
    /* Nothing of the refused bodies was created. */
    const list = await srv.stripe(key).identity.verificationSessions.list({ limit: 10 });
    assert.equal(list.data.length, 2);
}

test('--max-body: one byte over the limit is 413 with Stripe\'s error, the limit itself is accepted', async () => {
    const srv = await launch({ args: ['--max-body', '2048'] });
    await bodyLimit(srv, 2048);
    await srv.stop();
});

test('VERIFYD_MAX_BODY sets the limit, --max-body wins; the default is 1 MiB', async () => {
    const env = await launch({ env: { VERIFYD_MAX_BODY: '4096' } });
    await bodyLimit(env, 4096);
    await env.stop();
    const both = await launch({ env: { VERIFYD_MAX_BODY: '4096' }, args: ['--max-body', '3000'] });
    await bodyLimit(both, 3000);
    await both.stop();
    const def = await launch();
    const key = h.randomKey();
    const pad = (n) => 'type=document&padding=' + 'x'.repeat(n - 22);
    /* Read and parsed (so refused for its content, not its size). */
    const at = x.rawError(await post(def, key, pad(1048576)), { status: 400, type: 'invalid_request_error' });
    assert.match(at.message, /padding/);
    x.rawError(await post(def, key, pad(1048577)), TOO_LARGE);
    await def.stop();
});

/* ================= --threads / VERIFYD_THREADS ================= */

/* libmicrohttpd names its event-loop threads MHD-single (one) or MHD-worker (a pool). */
function httpThreads(pid) {
    const dir = `/proc/${pid}/task`;
    return fs.readdirSync(dir).filter((tid) => {
        try {
            return fs.readFileSync(`${dir}/${tid}/comm`, 'utf8').startsWith('MHD-');
        } catch (_) {
            return false;
        }
    }).length;
}

test('--threads N runs N HTTP event-loop threads; VERIFYD_THREADS too; the flag wins; default 2', async (t) => {
    if (!fs.existsSync('/proc/self/task')) {
        t.skip('no /proc');
        return;
    }
    for (const [opts, want] of [
        [{}, 2], [{ args: ['--threads', '1'] }, 1], [{ args: ['--threads', '5'] }, 5],
        [{ env: { VERIFYD_THREADS: '3' } }, 3], [{ env: { VERIFYD_THREADS: '3' }, args: ['--threads', '4'] }, 4],
    ]) {
        const srv = await launch(opts);
        /* Each thread names itself once it runs, which on a loaded machine can be a moment after
         * the start-up line: wait for the count to settle, then require it exact. */
        let n = -1;
        await h.eventually(() => (n = httpThreads(srv.proc.pid)) === want, { timeout: 5000, what: `${want} threads` }).catch(() => {});
        assert.equal(n, want, `threads for ${JSON.stringify(opts)}`);
        /* And they serve: a few concurrent requests. */
        const key = h.randomKey();
        const rs = await Promise.all([1, 2, 3, 4].map(() => post(srv, key, 'type=document')));
        assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200]);
        await srv.stop();
    }
});

/* ================= --max-connections / VERIFYD_MAX_CONNECTIONS ================= */

/* n connections fit: each is served and stays open. With n open and idle, one more is served at
 * once and makes room by closing the one that has waited longest for its next request (README
 * "Limits"); the others stay open and served. */
async function connectionLimit(srv, n) {
    const open = [];
    for (let i = 0; i < n; i++) {
        const c = await rawConnection(srv.port);
        assert.equal((await c.ask()).status, 401, `connection ${i + 1} of ${n} is served`);
        open.push(c);
    }
    await h.sleep(100);
    assert.deepEqual(open.map((c) => c.closed), open.map(() => false), `${n} connections fit`);
    const extra = await rawConnection(srv.port);
    assert.equal((await extra.ask()).status, 401, `connection ${n + 1} is served`);
    await open[0].until((c) => c.closed, 5000, 'the longest-idle connection to be closed');
    for (const c of open.slice(1)) assert.equal((await c.ask()).status, 401, 'the others stay open and served');
    for (const c of [...open, extra]) c.close();
}

test('--max-connections N: N fit; the N+1th closes the longest-idle one', async () => {
    const srv = await launch({ args: ['--max-connections', '3', '--threads', '1'] });
    await connectionLimit(srv, 3);
    await srv.stop();
});

test('VERIFYD_MAX_CONNECTIONS sets the limit; --max-connections wins over it', async () => {
    const env = await launch({ env: { VERIFYD_MAX_CONNECTIONS: '1' }, args: ['--threads', '1'] });
    await connectionLimit(env, 1);
    await env.stop();
    const both = await launch({ env: { VERIFYD_MAX_CONNECTIONS: '1' }, args: ['--threads', '1', '--max-connections', '2'] });
    await connectionLimit(both, 2);
    await both.stop();
});

/* ================= --idle-timeout / VERIFYD_IDLE_TIMEOUT ================= */

/* Once idle, a keep-alive connection is closed after about `seconds`; busy: first show that
 * one in use survives past the timeout. */
/* Bounds wide enough for a loaded machine (a stalled event loop, a sanitizer build): the
 * default is 60 s, so a close within seconds still shows the option at work. */
async function idleClose(srv, seconds, busy = false) {
    const c = await rawConnection(srv.port);
    const t0 = Date.now();
    do {
        assert.equal((await c.ask()).status, 401);
        if (busy) await h.sleep(250);
    } while (busy && Date.now() - t0 < seconds * 1000 + 500);
    assert.ok(!c.closed, 'a connection in use is not closed');
    const idleFrom = Date.now();
    await c.until((cc) => cc.closed, seconds * 1000 + 8000, 'the server to close the idle connection');
    const idle = c.closedAt - idleFrom;
    assert.ok(idle >= seconds * 1000 - 700 && idle <= seconds * 1000 + 5000, `closed after ${idle} ms idle (timeout ${seconds} s)`);
}

test('--idle-timeout closes an idle keep-alive connection after about that long, never one in use', async () => {
    /* 3 s: requests 250 ms apart keep the connection in use even if the machine stalls. */
    const srv = await launch({ args: ['--idle-timeout', '3'] });
    await idleClose(srv, 3, true);
    await srv.stop();
});

test('VERIFYD_IDLE_TIMEOUT sets the idle timeout; --idle-timeout wins over it', async () => {
    const [env, both] = await Promise.all([
        launch({ env: { VERIFYD_IDLE_TIMEOUT: '1' } }),
        launch({ env: { VERIFYD_IDLE_TIMEOUT: '86400' }, args: ['--idle-timeout', '1'] }),
    ]);
    await Promise.all([idleClose(env, 1), idleClose(both, 1)]);
    await Promise.all([env.stop(), both.stop()]);
});

/* ================= --log-level / VERIFYD_LOG_LEVEL ================= */

test('--log-level: anything but error, warn, info, debug is exit 2', () => {
    for (const v of ['loud', 'INFO', 'warning', '', '3']) refuses(['--log-level', v], 'verifyd: --log-level is one of error, warn, info, debug');
    refuses([], 'verifyd: --log-level is one of error, warn, info, debug', { env: { VERIFYD_LOG_LEVEL: 'trace' } });
});

/* A few requests; returns their Request-Ids, after the server has stopped (its log complete). */
async function someRequests(srv) {
    const key = h.randomKey();
    const a = await post(srv, key, 'type=document');
    const b = await srv.request({ path: `${h.SESSIONS_PATH}/${a.json.id}`, key });
    const c = await srv.request({ path: '/v1/nope', key });
    await srv.stop();
    return [['POST', h.SESSIONS_PATH, 200, a], ['GET', `${h.SESSIONS_PATH}/${a.json.id}`, 200, b], ['GET', '/v1/nope', 404, c]]
        .map(([method, p, status, r]) => ({ method, path: p, status, id: r.headers['request-id'] }));
}

/* One raw request on a fresh connection; its answer {status, head, body}. */
async function rawOnce(port, request) {
    const c = await rawConnection(port);
    const r = await c.ask(5000, request);
    c.close();
    return r;
}

test('an access line stays one key=value record whatever the path holds; a Stripe-Version with control bytes is refused, not echoed', async () => {
    const srv = await launch({ args: ['--log-level', 'info'] });
    const key = h.randomKey();
    // Raw bytes in the request line: the HTTP library hands the path on as it came.
    const paths = [
        '/v1/\x1b[2J\x1b[1;1H',
        '/v1/x"\x09level=error\x09msg="forged',
        '/v1/a\x0bts=2026-01-01T00:00:00.000Z\x0clevel=error',
        '/v1/\xc3\xa9t\xc3\xa9\xff\x7f\\',
        '/v1/%1b%22',
        '/v1/' + 'x'.repeat(3000),
    ];
    for (const p of paths) {
        const r = await rawOnce(srv.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n\r\n`);
        assert.equal(r.status, 404, p);
    }
    const bad = await rawOnce(srv.port, `GET ${h.SESSIONS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nStripe-Version: 2025-03-31.basil\x1b[2J\r\n\r\n`);
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error.type, 'invalid_request_error');
    assert.match(JSON.parse(bad.body).error.message, /^Invalid Stripe API version: 2025-03-31\.basil/);
    assert.ok(!bad.head.includes('\x1b'), 'the header is not echoed back');
    assert.match(bad.head, /\r\nStripe-Version: \d{4}-\d\d-\d\d\.[a-z]+\r\n/i, 'the default version answers instead');
    await srv.stop();

    const lines = srv.log.split('\n').filter((l) => l.includes(' method='));
    assert.equal(lines.length, paths.length + 1, srv.log);
    const value = '(?:[!#-<>-\\[\\]-~]+|"(?:[ !#-\\[\\]-~]|\\\\["\\\\]|\\\\x[0-9a-f]{2})*")';
    const record = new RegExp(`^ts=\\S+Z level=info method=GET path=${value} status=\\d+ ms=[0-9.]+ request_id=req_\\w+$`);
    for (const l of lines) assert.match(l, record);
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(srv.log), 'no control byte reaches the log');
    for (const l of srv.log.split('\n').filter((x) => x && !x.startsWith('--- start:'))) assert.match(l, /^ts=\S+Z level=(warn|info) /, 'no forged record');
    assert.ok(lines[0].includes('path="/v1/\\x1b[2J\\x1b[1;1H"'), lines[0]);
    assert.ok(lines[1].includes('path="/v1/x\\"\\x09level=error\\x09msg=\\"forged"'), lines[1]);
    assert.ok(lines[3].includes('path="/v1/\\xc3\\xa9t\\xc3\\xa9\\xff\\x7f\\\\"'), lines[3]);
    assert.ok(lines[4].includes('path=/v1/%1b%22 '), lines[4]);
    assert.ok(lines[5].length < 1000, 'a long path is cut short');
});

test('--log-level info logs one access line per request; warn and error log none', async () => {
    const info = await launch({ args: ['--log-level', 'info'] });
    const reqs = await someRequests(info);
    const lines = accessLines(info.log);
    assert.equal(lines.length, reqs.length, `one line per request:\n${lines.join('\n')}`);
    reqs.forEach((r, i) => assert.match(lines[i],
        new RegExp(`^ts=\\S+Z level=info method=${r.method} path=${r.path.replace(/\//g, '\\/')} status=${r.status} ms=[0-9.]+ request_id=${r.id}$`)));

    const warn = await launch({ args: ['--log-level', 'warn'] });
    await someRequests(warn);
    assert.deepEqual(accessLines(warn.log), []);
    assert.match(warn.log, /level=warn msg="stopped"/, 'warn lines still appear');

    const error = await h.startServer({ logLevel: 'error' });
    running.push(error);
    await error.stripe(h.randomKey()).identity.verificationSessions.create({ type: 'document' });
    await error.close();
    assert.ok(!/level=(warn|info|debug)/.test(error.log), `error: only errors\n${error.log}`);
});

test('VERIFYD_LOG_LEVEL sets the level; --log-level wins over it', async () => {
    const env = await launch({ env: { VERIFYD_LOG_LEVEL: 'warn' } });
    await someRequests(env);
    assert.deepEqual(accessLines(env.log), []);
    const both = await launch({ env: { VERIFYD_LOG_LEVEL: 'warn' }, args: ['--log-level', 'info'] });
    await someRequests(both);
    assert.equal(accessLines(both.log).length, 3);
});

test('--log-level debug adds successful webhook attempts; no level logs keys, secrets or page tokens', async () => {
    const rcv = await receiver(() => 200);
    for (const level of ['info', 'debug']) {
        const srv = await launch({ args: ['--log-level', level] });
        const key = h.randomKey();
        const stripe = srv.stripe(key);
        const we = await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['*'] });
        const s = await stripe.identity.verificationSessions.create({ type: 'document' });
        const [ev] = (await stripe.events.list({ type: 'identity.verification_session.created' })).data;
        /* Recorded as delivered: the attempt's log line (if any) was written before. */
        await h.eventually(async () => (await stripe.events.retrieve(ev.id)).pending_webhooks === 0, { timeout: 10000, what: 'the delivery' });
        const token = s.url.split('/start/')[1];
        assert.equal((await srv.request({ path: `/start/${token}` })).status, 200);
        /* Basic auth, and a malformed key. */
        const basic = await srv.request({ path: h.SESSIONS_PATH, headers: { Authorization: 'Basic ' + Buffer.from(key + ':').toString('base64') } });
        assert.equal(basic.status, 200);
        const badKey = 'sk_test_' + h.randomAlnum(20) + '-oops';
        assert.equal((await srv.request({ path: h.SESSIONS_PATH, key: badKey })).status, 401);
        await srv.stop();
        const log = srv.log;
        const attempt = new RegExp(`level=debug msg="webhook attempt" event=${ev.id} endpoint=${we.id} attempt=1 status=200\n`);
        assert.equal(attempt.test(log), level === 'debug', `${level}: the successful attempt is logged only at debug`);
        assert.ok(accessLines(log).length >= 7, `${level}: access lines`);
        assert.ok(log.includes('path=/start/[token] status=200'), 'the page path is logged without its token');
        for (const [what, secret] of [['API key', key], ['key body', key.slice(8)], ['malformed key', badKey.slice(8, 24)],
            ['client_secret', s.client_secret], ['client_secret tail', s.client_secret.split('_secret_')[1]],
            ['webhook secret', we.secret], ['page token', token]]) {
            assert.ok(!log.includes(secret), `${level}: the ${what} must not be logged`);
        }
    }
});

/* ================= --redaction-delay, --hosted-delay ================= */

async function redactAndWait(srv, timeout) {
    const stripe = srv.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document' });
    const t0 = Date.now();
    const r = await stripe.identity.verificationSessions.redact(s.id);
    assert.ok(r.redaction && ['processing', 'redacted'].includes(r.redaction.status));
    await h.eventually(async () => {
        const g = await stripe.identity.verificationSessions.retrieve(s.id);
        return g.redaction && g.redaction.status === 'redacted';
    }, { timeout, interval: 25, what: 'the redaction to complete' });
    return Date.now() - t0;
}

test('--redaction-delay 0 completes a redaction at once; VERIFYD_REDACTION_DELAY_MS sets the delay, the flag wins', async () => {
    const zero = await launch({ args: ['--redaction-delay', '0'] });
    await redactAndWait(zero, 3000);
    await zero.stop();
    const env = await launch({ env: { VERIFYD_REDACTION_DELAY_MS: '800' } });
    const took = await redactAndWait(env, 5000);
    assert.ok(took >= 750, `VERIFYD_REDACTION_DELAY_MS=800: redacted after ${took} ms`);
    await env.stop();
    const both = await launch({ env: { VERIFYD_REDACTION_DELAY_MS: '3600000' }, args: ['--redaction-delay', '0'] });
    await redactAndWait(both, 3000);
    await both.stop();
});

test('--hosted-delay and VERIFYD_HOSTED_DELAY_MS set the delay the hosted page announces; the flag wins', async () => {
    for (const [opts, shown] of [[{}, '10.0 s'], [{ args: ['--hosted-delay', '1200'] }, '1.2 s'],
        [{ env: { VERIFYD_HOSTED_DELAY_MS: '2500' } }, '2.5 s'], [{ env: { VERIFYD_HOSTED_DELAY_MS: '2500' }, args: ['--hosted-delay', '0'] }, '0.0 s']]) {
        const srv = await launch(opts);
        const s = await srv.stripe(h.randomKey()).identity.verificationSessions.create({ type: 'document' });
        const page = await srv.request({ path: new URL(s.url).pathname });
        assert.equal(page.status, 200);
        assert.ok(page.text.includes(`<code>processing</code> for ${shown} before the outcome arrives`), `${JSON.stringify(opts)}: ${shown}`);
        await srv.stop();
    }
});

/* ================= --webhook-retry-schedule / VERIFYD_WEBHOOK_RETRY_SCHEDULE ================= */

test('--webhook-retry-schedule: malformed lists are exit 2 with the reason', () => {
    const flag = '--webhook-retry-schedule';
    const bad = (v, reason) => refuses([flag, v], `verifyd: --webhook-retry-schedule: ${reason} (got '${v}')`);
    const form = (i, v) => `delay ${i} ('${v}') must be a whole number followed by a unit (ms, s, m, h, d), without signs or spaces, e.g. 1s,2s,4s`;
    const empty = (i) => `delay ${i} is empty: write delays such as 1s,2s,4s separated by single commas, none leading or trailing`;
    bad('1s,', empty(2));
    bad('1s,,2s', empty(2));
    bad(',1s', empty(1));
    bad('', empty(1));
    bad(' 1s', form(1, ' 1s'));
    bad('1s ', form(1, '1s '));
    bad('1s, 2s', form(2, ' 2s'));
    bad('+1s', form(1, '+1s'));
    bad('-1s', form(1, '-1s'));
    bad('1.5s', form(1, '1.5s'));
    bad('s', form(1, 's'));
    bad('5x', "delay 1 ('5x') has an unknown unit 'x': use ms, s, m, h or d");
    bad('1s,2sec', "delay 2 ('2sec') has an unknown unit 'sec': use ms, s, m, h or d");
    bad('5', "delay 1 ('5') has no unit: a bare number is ambiguous, write e.g. 5ms or 5s (units ms, s, m, h, d)");
    bad('1s,500', "delay 2 ('500') has no unit: a bare number is ambiguous, write e.g. 500ms or 500s (units ms, s, m, h, d)");
    bad(Array(33).fill('1s').join(','), 'the retry schedule has at most 32 delays');
    bad('31d', "delay 1 ('31d') is longer than 30 days");
    bad('1s,721h', "delay 2 ('721h') is longer than 30 days");
    bad('2592000001ms', "delay 1 ('2592000001ms') is longer than 30 days");
    bad('99999999999999999999999s', "delay 1 ('99999999999999999999999s') is longer than 30 days");
    refuses([], `verifyd: --webhook-retry-schedule: ${empty(2)} (got '1s,')`, { env: { VERIFYD_WEBHOOK_RETRY_SCHEDULE: '1s,' } });
});

test('--webhook-retry-schedule: well-formed lists are accepted', async () => {
    for (const v of ['1s', '500ms,2s', '1m,1h,1d', '0ms', '30d', '720h,43200m', Array(32).fill('1s').join(',')]) {
        const srv = await launch({ args: ['--webhook-retry-schedule', v] });
        await srv.stop();
    }
});

const ALWAYS_500 = () => 500;

/* The attempts that reached rcv for the event of the session with this id. */
const attemptsFor = (rcv, sessionId) => rcv.events((ev) => ev.data && ev.data.object && ev.data.object.id === sessionId);

test('--webhook-retry-schedule 200ms,200ms: exactly 3 attempts, about 200 ms apart, then no more', async () => {
    const rcv = await receiver(ALWAYS_500);
    const srv = await launch({ args: ['--webhook-retry-schedule', '200ms,200ms'] });
    const a = srv.stripe(h.randomKey());
    await a.webhookEndpoints.create({ url: rcv.url + '?a', enabled_events: ['identity.verification_session.created'] });
    const sa = await a.identity.verificationSessions.create({ type: 'document' });
    const got = await rcv.waitFor(3, (ev) => ev.data.object.id === sa.id, 10000);
    const gaps = [got[1].t - got[0].t, got[2].t - got[1].t];
    for (const g of gaps) assert.ok(g >= 150 && g < 2000, `retry gaps ${gaps} ms for a 200 ms schedule (+-10%)`);
    assert.equal(new Set(got.map((r) => r.json.id)).size, 1, 'the same event each time');

    /* No fourth: a 4th attempt would be due about 200 ms after the 3rd. A second account's
     * event, created now on the same schedule, has its 3rd attempt 400 ms after its 1st, so
     * by then the worker would long have sent a 4th for the first event. */
    const b = srv.stripe(h.randomKey());
    await b.webhookEndpoints.create({ url: rcv.url + '?b', enabled_events: ['identity.verification_session.created'] });
    const sb = await b.identity.verificationSessions.create({ type: 'document' });
    await rcv.waitFor(3, (ev) => ev.data.object.id === sb.id, 10000);
    assert.equal(attemptsFor(rcv, sa.id).length, 3, 'no attempt after the schedule is used up');
    await srv.stop();
    const lines = srv.log.split('\n').filter((l) => l.includes(`event=${got[0].json.id}`));
    assert.deepEqual(lines.map((l) => l.match(/attempt=(\d+) status=(\d+)/).slice(1).join(':')), ['1:500', '2:500', '3:500']);
});

test('VERIFYD_WEBHOOK_RETRY_SCHEDULE sets the schedule; --webhook-retry-schedule wins over it', async () => {
    const rcv = await receiver(ALWAYS_500);
    const run1 = async (opts, want) => {
        const srv = await launch(opts);
        const stripe = srv.stripe(h.randomKey());
        await stripe.webhookEndpoints.create({ url: rcv.url, enabled_events: ['identity.verification_session.created'] });
        const s = await stripe.identity.verificationSessions.create({ type: 'document' });
        const got = await rcv.waitFor(want, (ev) => ev.data.object.id === s.id, 10000);
        await srv.stop();
        return got;
    };
    /* 4 attempts within seconds: the default (10 min, 1 h, 3 h) would give 1. */
    await run1({ env: { VERIFYD_WEBHOOK_RETRY_SCHEDULE: '150ms,150ms,150ms' } }, 4);
    /* The env is malformed (that alone is exit 2): the flag's schedule is the one used. */
    await run1({ env: { VERIFYD_WEBHOOK_RETRY_SCHEDULE: '1s,' }, args: ['--webhook-retry-schedule', '100ms'] }, 2);
});

/* ================= --forward-to / VERIFYD_FORWARD_TO ================= */

const READY = /Ready! Your webhook signing secret is (whsec_[A-Za-z0-9]+) \(forwarding to (\S+)\)/;

test('--forward-to sends every account\'s events signed with the printed secret, kept across restarts', async () => {
    const rcv = await receiver(() => 200);
    const dir = tmpDir();
    const srv = await launch({ dataDir: dir, args: ['--forward-to', rcv.url] });
    const [, secret, shownUrl] = srv.log.match(READY);
    assert.equal(shownUrl, rcv.url);
    const ids = [];
    for (let i = 0; i < 2; i++) {
        const s = await srv.stripe(h.randomKey()).identity.verificationSessions.create({ type: 'document' });
        ids.push(s.id);
    }
    const stripe = srv.stripe(h.randomKey());
    for (const id of ids) {
        const [r] = await rcv.waitFor(1, (ev) => ev.data.object.id === id);
        const ev = stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], secret);
        assert.equal(ev.type, 'identity.verification_session.created');
        assert.throws(() => stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'], 'whsec_' + h.randomAlnum(32)),
            /signature/i, 'a different secret does not verify');
    }
    await srv.stop();
    const again = await launch({ dataDir: dir, args: ['--forward-to', rcv.url] });
    assert.equal(again.log.match(READY)[1], secret, 'the same secret for the same data directory');
    await again.stop();
    const fresh = await launch({ args: ['--forward-to', rcv.url] });
    assert.notEqual(fresh.log.match(READY)[1], secret, 'another data directory has its own secret');
    await fresh.stop();
    /* No --forward-to: nothing printed. */
    const none = await launch({ dataDir: dir });
    assert.ok(!none.log.includes('whsec_'));
    await none.stop();
});

test('VERIFYD_FORWARD_TO forwards too; --forward-to wins over it; a non-http(s) URL is exit 2', async () => {
    const rcv = await receiver(() => 200);
    const env = await launch({ env: { VERIFYD_FORWARD_TO: rcv.url } });
    const [, secret] = env.log.match(READY);
    const s = await env.stripe(h.randomKey()).identity.verificationSessions.create({ type: 'document' });
    const [r] = await rcv.waitFor(1, (ev) => ev.data.object.id === s.id);
    env.stripe(h.randomKey()).webhooks.constructEvent(r.body, r.headers['stripe-signature'], secret);
    await env.stop();
    const both = await launch({ env: { VERIFYD_FORWARD_TO: 'ftp://nowhere' }, args: ['--forward-to', rcv.url + '?flag'] });
    assert.equal(both.log.match(READY)[2], rcv.url + '?flag');
    await both.stop();

    const msg = 'verifyd: --forward-to takes an absolute http:// or https:// URL with a host, at most 2048 characters';
    for (const v of ['ftp://example.com/hook', 'localhost:3000/webhook', 'http://', 'http:///hook', 'http://a b/c', 'http://example.com/' + 'x'.repeat(2030)]) {
        refuses(['--forward-to', v], msg);
    }
    refuses([], msg, { env: { VERIFYD_FORWARD_TO: 'example.com' } });
});

/* ================= --allow-private-webhooks / VERIFYD_ALLOW_PRIVATE_WEBHOOKS ================= */

/* A TCP server that only counts connections and what their first byte was. */
async function tcpSink() {
    const s = { conns: 0, firstBytes: [] };
    s.server = net.createServer((sock) => {
        s.conns++;
        sock.once('data', (d) => {
            s.firstBytes.push(d[0]);
            sock.destroy();
        });
        sock.on('error', () => {});
    });
    await new Promise((r) => s.server.listen(0, '127.0.0.1', r));
    s.port = s.server.address().port;
    receivers.push({ close: () => new Promise((r) => s.server.close(() => r())) });
    return s;
}

const privateMsg = (u) => `Invalid URL: ${u}. Live mode webhook endpoints cannot point at loopback or private network addresses.`;
const httpsMsg = (u) => `Invalid URL: ${u}. Live mode webhook endpoints must use https.`;

test('without --allow-private-webhooks a live endpoint on a loopback or private address is refused', async () => {
    const { key, file } = liveKeysFile();
    const srv = await launch({ args: ['--keys-file', file] });
    const live = srv.stripe(key);
    for (const u of ['https://127.0.0.1:8443/hook', 'https://localhost/hook', 'https://10.1.2.3/x', 'https://192.168.1.1/x', 'https://[::1]/x']) {
        x.sdkError(await h.rejects(live.webhookEndpoints.create({ url: u, enabled_events: ['*'] })), {
            status: 400, type: 'invalid_request_error', code: 'url_invalid', param: 'url', message: privateMsg(u),
        });
    }
    x.sdkError(await h.rejects(live.webhookEndpoints.create({ url: 'http://127.0.0.1:8080/hook', enabled_events: ['*'] })), {
        status: 400, code: 'url_invalid', param: 'url', message: httpsMsg('http://127.0.0.1:8080/hook'),
    });
    /* Test mode takes loopback http, flag or not. */
    const t = await srv.stripe(h.randomKey()).webhookEndpoints.create({ url: 'http://127.0.0.1:8080/hook', enabled_events: ['*'] });
    assert.equal(t.livemode, false);
    await srv.stop();
});

test('--allow-private-webhooks lets a live https endpoint use loopback, and the worker connects to it', async () => {
    const { key, file } = liveKeysFile();
    const sink = await tcpSink();
    const url = `https://127.0.0.1:${sink.port}/hook`;
    const dir = tmpDir();
    const args = ['--keys-file', file, '--webhook-retry-schedule', '1h'];
    const srv = await launch({ dataDir: dir, args: [...args, '--allow-private-webhooks'] });
    const live = srv.stripe(key);
    const we = await live.webhookEndpoints.create({ url, enabled_events: ['*'] });
    assert.equal(we.url, url);
    assert.equal(we.livemode, true);
    /* https is still required. */
    x.sdkError(await h.rejects(live.webhookEndpoints.create({ url: `http://127.0.0.1:${sink.port}/hook`, enabled_events: ['*'] })), {
        status: 400, code: 'url_invalid', message: httpsMsg(`http://127.0.0.1:${sink.port}/hook`),
    });
    await live.identity.verificationSessions.create({ type: 'document' });
    await h.eventually(() => sink.firstBytes.length > 0, { timeout: 10000, what: 'a connection from the delivery worker' });
    assert.equal(sink.firstBytes[0], 0x16, 'a TLS handshake');
    await srv.stop();

    /* The same endpoint after a restart without the flag: the worker refuses to connect. */
    const before = sink.conns;
    const strict = await launch({ dataDir: dir, args });
    const s2 = await strict.stripe(key).identity.verificationSessions.create({ type: 'document' });
    const [ev] = (await strict.stripe(key).events.list({ type: 'identity.verification_session.created', limit: 1 })).data;
    assert.equal(ev.data.object.id, s2.id);
    await h.eventually(() => new RegExp(`msg="webhook attempt" event=${ev.id} endpoint=${we.id} attempt=1 status=0 error=`).test(strict.log),
        { timeout: 10000, what: 'the refused attempt in the log' });
    assert.equal(sink.conns, before, 'no connection to a private address without the flag');
    await strict.stop();
});

test('VERIFYD_ALLOW_PRIVATE_WEBHOOKS=1 does what the flag does; other values do not', async () => {
    const { key, file } = liveKeysFile();
    const u = 'https://127.0.0.1:8443/hook';
    const on = await launch({ env: { VERIFYD_ALLOW_PRIVATE_WEBHOOKS: '1' }, args: ['--keys-file', file] });
    assert.equal((await on.stripe(key).webhookEndpoints.create({ url: u, enabled_events: ['*'] })).url, u);
    await on.stop();
    const off = await launch({ env: { VERIFYD_ALLOW_PRIVATE_WEBHOOKS: '0' }, args: ['--keys-file', file] });
    x.sdkError(await h.rejects(off.stripe(key).webhookEndpoints.create({ url: u, enabled_events: ['*'] })), { status: 400, message: privateMsg(u) });
    await off.stop();
    const flag = await launch({ env: { VERIFYD_ALLOW_PRIVATE_WEBHOOKS: '0' }, args: ['--keys-file', file, '--allow-private-webhooks'] });
    assert.equal((await flag.stripe(key).webhookEndpoints.create({ url: u, enabled_events: ['*'] })).url, u);
    await flag.stop();
});

/* ================= --keys-file / VERIFYD_KEYS_FILE ================= */

test('--keys-file: a missing file or a malformed line is exit 1 with the reason and the file', () => {
    const missing = path.join(tmpDir(), 'no-such-keys');
    refuses(['--keys-file', missing], `verifyd: cannot open the keys file (${missing})`, { code: 1 });
    const bad = (content, reason) => {
        const f = path.join(tmpDir(), 'keys');
        fs.writeFileSync(f, content);
        refuses(['--keys-file', f], `verifyd: ${reason} (${f})`, { code: 1 });
    };
    const line = "keys file: each line is '<sha256 hex of key> <account> [restricted]', the account without '/'";
    bad('zzz acct_x\n', line);
    /* '/' would make the account look like a connected account's namespace (Stripe-Account). */
    bad(`${sha('sk_live_a')} acct_x/acct_y\n`, line);
    bad(`${sha('sk_live_a')}\n`, line);
    bad(`${sha('sk_live_a')} acct_x\nnot a key line at all\n`, line);
    bad(`${sha('sk_live_a')} acct_x admin\n`, line);
    bad(`${'g'.repeat(64)} acct_x\n`, 'keys file: bad sha256 hex');
    refuses([], `verifyd: cannot open the keys file (${missing})`, { code: 1, env: { VERIFYD_KEYS_FILE: missing } });
});

test('VERIFYD_KEYS_FILE lists live keys like --keys-file; the flag wins over it', async () => {
    const { key, file } = liveKeysFile();
    const env = await launch({ env: { VERIFYD_KEYS_FILE: file } });
    const s = await env.stripe(key).identity.verificationSessions.create({ type: 'document' });
    assert.equal(s.livemode, true);
    await env.stop();
    const none = await launch();
    x.sdkError(await h.rejects(none.stripe(key).identity.verificationSessions.list()), { status: 401 });
    await none.stop();
    const both = await launch({ env: { VERIFYD_KEYS_FILE: path.join(tmpDir(), 'missing') }, args: ['--keys-file', file] });
    assert.equal((await both.stripe(key).identity.verificationSessions.list()).data.length, 0);
    await both.stop();
});

/* ================= all together ================= */

test('every flag wins over a malformed value of its variable', async () => {
    /* Each of these variables alone stops verifyd (tests above); with every flag given, the
     * variables are not even read. */
    const { file } = liveKeysFile();
    const env = {
        VERIFYD_LISTEN: 'x', VERIFYD_DATA_DIR: '/proc/nonexistent/dir', VERIFYD_PUBLIC_URL: 'x', VERIFYD_LOG_LEVEL: 'x',
        VERIFYD_KEYS_FILE: '/nonexistent/keys', VERIFYD_REDACTION_DELAY_MS: 'x', VERIFYD_HOSTED_DELAY_MS: 'x',
        VERIFYD_THREADS: 'x', VERIFYD_MAX_BODY: 'x', VERIFYD_MAX_CONNECTIONS: 'x', VERIFYD_IDLE_TIMEOUT: 'x',
        VERIFYD_FORWARD_TO: 'x', VERIFYD_WEBHOOK_RETRY_SCHEDULE: 'x',
    };
    for (const [k, v] of Object.entries(env)) {
        if (k === 'VERIFYD_DATA_DIR' || k === 'VERIFYD_KEYS_FILE') continue; /* exit 1, tested above */
        const r = run(k === 'VERIFYD_LISTEN' ? ['--data-dir', tmpDir()] : [], { env: { [k]: v }, defaults: k !== 'VERIFYD_LISTEN' });
        assert.equal(r.code, 2, `${k}=${v} alone is exit 2 (stderr: ${r.stderr})`);
    }
    const srv = await launch({
        env,
        defaults: false,
        args: ['--listen', `127.0.0.1:${quietPort()}`, '--data-dir', tmpDir(), '--public-url', 'http://flags.example', '--log-level', 'info',
            '--keys-file', file, '--redaction-delay', '0', '--hosted-delay', '0', '--threads', '1', '--max-body', '2048',
            '--max-connections', '8', '--idle-timeout', '5', '--forward-to', 'http://127.0.0.1:9/fwd', '--webhook-retry-schedule', '1h'],
    });
    const s = await srv.stripe(h.randomKey()).identity.verificationSessions.create({ type: 'document' });
    assert.ok(s.url.startsWith('http://flags.example/start/'));
    await srv.stop();
});
