'use strict';
/*
 * Harness for the black-box suite: starts the real verifyd binary (env VERIFYD_BIN) on a free
 * port with a fresh data directory, waits until it answers, and stops it again. Also: a Stripe SDK
 * client pointed at it, a raw node:http helper for requests the SDK never sends, a form encoder,
 * random per-test keys, and a `test` wrapper that appends the server's stderr to a failure.
 *
 * Not for: assertions about the API itself (those live in the *.test.js files).
 */

const { spawn } = require('node:child_process');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const nodeTest = require('node:test');
const Stripe = require('stripe');

const BIN = process.env.VERIFYD_BIN || path.resolve(__dirname, '../../../build/verifyd');
/* Generous: the same suite runs against an ASan build. */
const START_TIMEOUT_MS = 60000;
const STOP_TIMEOUT_MS = 60000;
const SESSIONS_PATH = '/v1/identity/verification_sessions';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* A port that was free a moment ago: bind port 0, read it, close. */
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.unref();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomAlnum(n) {
    const bytes = crypto.randomBytes(n);
    let s = '';
    for (let i = 0; i < n; i++) s += ALNUM[bytes[i] % ALNUM.length];
    return s;
}
/* A fresh account in open test mode. */
function randomKey() {
    return 'sk_test_' + randomAlnum(24);
}

/*
 * Raw HTTP request. opts: {method, path, headers, body (string|Buffer), key (Bearer), agent,
 * timeout}. Resolves {status, headers, text, json, socketReused} or, when the connection fails,
 * {error} (never rejects) so tests can assert on either outcome.
 */
function request(port, opts = {}) {
    return new Promise((resolve) => {
        let gotResponse = false;
        const headers = Object.assign({}, opts.headers || {});
        if (opts.key !== undefined && opts.key !== null) headers.Authorization = 'Bearer ' + opts.key;
        let body = opts.body;
        if (body !== undefined && body !== null && !Buffer.isBuffer(body)) body = Buffer.from(String(body), 'utf8');
        if (body && headers['Content-Length'] === undefined && headers['Transfer-Encoding'] === undefined) {
            headers['Content-Length'] = String(body.length);
        }
        const req = http.request(
            {
                host: '127.0.0.1',
                port,
                method: opts.method || 'GET',
                path: opts.path || '/',
                headers,
                agent: opts.agent || false,
                timeout: opts.timeout || 60000,
            },
            (res) => {
                gotResponse = true;
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('error', (error) => resolve({ error }));
                res.on('end', () => {
                    const raw = Buffer.concat(chunks);
                    const text = raw.toString('utf8');
                    let json;
                    try {
                        json = JSON.parse(text);
                    } catch (_) {
                        json = undefined;
                    }
                    resolve({ status: res.statusCode, headers: res.headers, raw, text, json, socketReused: req.reusedSocket });
                });
            },
        );
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        /* A write error after the response arrived (the server answered early, e.g. 413, and
         * closed) is not the outcome: the response is. */
        req.on('error', (error) => {
            if (!gotResponse) resolve({ error });
        });
        if (opts.chunks) {
            /* Send the body in pieces (chunked transfer encoding). */
            for (const c of opts.chunks) req.write(c);
            req.end();
        } else {
            req.end(body);
        }
    });
}

/* Stripe form encoding with bracket notation, arrays indexed, like the official SDK. */
function formEncode(obj) {
    const pairs = [];
    const enc = (s) => encodeURIComponent(s).replace(/%5B/g, '[').replace(/%5D/g, ']');
    const walk = (key, v) => {
        if (v === undefined) return;
        if (v === null || typeof v !== 'object') {
            pairs.push(enc(key) + '=' + enc(v === null ? '' : String(v)));
        } else if (Array.isArray(v)) {
            v.forEach((x, i) => walk(`${key}[${i}]`, x));
        } else {
            for (const k of Object.keys(v)) walk(`${key}[${k}]`, v[k]);
        }
    };
    for (const k of Object.keys(obj)) walk(k, obj[k]);
    return pairs.join('&');
}

class VerifydServer {
    constructor(opts) {
        this.opts = opts;
        this.dataDir = opts.dataDir;
        this.port = opts.port;
        this.url = `http://127.0.0.1:${this.port}`;
        this.proc = null;
        this.log = ''; /* stderr + stdout of every run, in order */
        this.exits = []; /* {code, signal} of each run that ended */
    }

    async _spawn() {
        const args = ['--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir];
        if (this.opts.publicUrl) args.push('--public-url', this.opts.publicUrl);
        if (this.opts.logLevel) args.push('--log-level', this.opts.logLevel);
        if (this.opts.redactionDelay !== undefined) args.push('--redaction-delay', String(this.opts.redactionDelay));
        if (this.opts.args) args.push(...this.opts.args);
        const env = Object.assign({}, process.env, this.opts.env || {});
        delete env.VERIFYD_LISTEN;
        delete env.VERIFYD_DATA_DIR;
        this.log += `\n--- start: ${BIN} ${args.join(' ')}\n`;
        const runStart = this.log.length;
        /* The start-up line is printed at warn level: absent only at --log-level error (the
         * last --log-level wins, and it wins over VERIFYD_LOG_LEVEL). */
        const levels = args.flatMap((a, i) => (a === '--log-level' ? [args[i + 1]] : []));
        const level = levels.length ? levels[levels.length - 1] : env.VERIFYD_LOG_LEVEL || 'info';
        const proc = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        this.proc = proc;
        proc.stdout.setEncoding('utf8');
        proc.stderr.setEncoding('utf8');
        proc.stdout.on('data', (d) => (this.log += d));
        proc.stderr.on('data', (d) => (this.log += d));
        proc.exited = new Promise((resolve) => {
            proc.on('exit', (code, signal) => {
                const ex = { code, signal };
                this.exits.push(ex);
                resolve(ex);
            });
            proc.on('error', (err) => {
                this.log += `\n--- spawn error: ${err.message}\n`;
                const ex = { code: -1, signal: null, error: err };
                this.exits.push(ex);
                resolve(ex);
            });
        });
        proc.exitInfo = null;
        proc.exited.then((ex) => (proc.exitInfo = ex));
        await this._waitReady(proc, () => level === 'error' || this.log.includes(' listening on ', runStart));
    }

    /*
     * Ready once GET on the sessions list without a key answers 401 and started() holds: the
     * start-up line has arrived. Everything verifyd prints before it listens (a --forward-to
     * secret, say) comes before that line on the same pipe, while the HTTP answer comes on
     * another channel that Node may read first; so only the line proves the output is complete.
     */
    async _waitReady(proc, started) {
        const deadline = Date.now() + START_TIMEOUT_MS;
        let answered = false;
        while (Date.now() < deadline) {
            if (proc.exitInfo) {
                throw new Error(`verifyd exited during start-up (${JSON.stringify(proc.exitInfo)})\n${this.tail()}`);
            }
            if (!answered) {
                const r = await request(this.port, { path: SESSIONS_PATH, timeout: 2000 });
                if (!r.error && r.status !== 401) {
                    throw new Error(`verifyd answered ${r.status} instead of 401 to an unauthenticated request\n${this.tail()}`);
                }
                answered = !r.error;
            }
            if (answered && started()) return;
            await sleep(answered ? 5 : 50);
        }
        throw new Error(`verifyd did not become ready within ${START_TIMEOUT_MS} ms\n${this.tail()}`);
    }

    get running() {
        return !!this.proc && !this.proc.exitInfo;
    }

    /* The last n characters of everything the server printed. */
    tail(n = 6000) {
        return this.log.length > n ? '…' + this.log.slice(-n) : this.log;
    }

    /* SIGTERM and wait; a clean shutdown (exit code 0, no signal) is part of the contract. */
    async stop() {
        const proc = this.proc;
        if (!proc) return;
        if (!proc.exitInfo) proc.kill('SIGTERM');
        let timer;
        const timeout = new Promise((r) => (timer = setTimeout(() => r(null), STOP_TIMEOUT_MS)));
        const ex = await Promise.race([proc.exited, timeout]);
        clearTimeout(timer);
        if (!ex) {
            proc.kill('SIGKILL');
            await proc.exited;
            throw new Error(`verifyd did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${this.tail()}`);
        }
        assert.deepEqual({ code: ex.code, signal: ex.signal }, { code: 0, signal: null },
            `verifyd must exit 0 on SIGTERM\n${this.tail()}`);
    }

    /* SIGKILL and wait: a crash as far as the server can tell. */
    async kill9() {
        const proc = this.proc;
        if (!proc || proc.exitInfo) return;
        proc.kill('SIGKILL');
        await proc.exited;
    }

    /* Start again on the same port and data directory (after stop() or kill9()). */
    async restart() {
        if (this.running) await this.stop();
        let lastErr;
        /* The port may linger briefly after a kill; retry a few times. */
        for (let attempt = 0; attempt < 5; attempt++) {
            try {
                await this._spawn();
                return this;
            } catch (e) {
                lastErr = e;
                if (this.running) await this.kill9();
                await sleep(300);
            }
        }
        throw lastErr;
    }

    /* stop() then remove the data directory, whatever stop() says. */
    async close() {
        try {
            await this.stop();
        } finally {
            this.cleanup();
        }
    }

    cleanup() {
        if (this.running) this.proc.kill('SIGKILL');
        fs.rmSync(this.dataDir, { recursive: true, force: true });
    }

    /* An SDK client for key, against this server. */
    stripe(key, extra = {}) {
        return makeStripe(this.port, key, extra);
    }

    request(opts) {
        return request(this.port, opts);
    }
}

function makeStripe(port, key, extra = {}) {
    return new Stripe(key, Object.assign({
        host: '127.0.0.1',
        port,
        protocol: 'http',
        maxNetworkRetries: 0,
        timeout: 60000,
    }, extra));
}

/*
 * Start verifyd. opts: {publicUrl, logLevel, redactionDelay, args, env, dataDir}.
 * Returns a started VerifydServer: {url, port, dataDir, stop(), kill9(), restart(), close(), ...}.
 */
async function startServer(opts = {}) {
    if (!fs.existsSync(BIN)) throw new Error(`verifyd binary not found at ${BIN} (set VERIFYD_BIN)`);
    const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-bb-'));
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
        const port = await freePort();
        const srv = new VerifydServer(Object.assign({}, opts, { dataDir, port }));
        try {
            await srv._spawn();
            return srv;
        } catch (e) {
            lastErr = e;
            if (srv.running) await srv.kill9();
        }
    }
    if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw lastErr;
}

/*
 * A node:test `test` whose failures carry the tail of the server's output. getSrv returns the
 * server (or servers) in use when the test runs.
 */
function testWithLog(getSrv) {
    const wrapped = (name, opts, fn) => {
        if (typeof opts === 'function') {
            fn = opts;
            opts = {};
        }
        return nodeTest.test(name, opts, async (t) => {
            try {
                return await fn(t);
            } catch (e) {
                let servers = getSrv();
                if (!Array.isArray(servers)) servers = [servers];
                for (const s of servers) {
                    if (s && typeof s.tail === 'function') {
                        const extra = `\n--- verifyd output (port ${s.port}, tail) ---\n${s.tail(4000)}`;
                        if (e && typeof e === 'object') {
                            try {
                                e.message = String(e.message) + extra;
                            } catch (_) { /* read-only message */ }
                        }
                    }
                }
                throw e;
            }
        });
    };
    return wrapped;
}

/* Stop every server of a file (SIGTERM, a clean exit asserted) and remove their data
 * directories, whatever a stop says; then close the receivers. For a file's after() hook. */
async function closeAll(servers, receivers = []) {
    for (const s of servers) {
        try {
            if (s.running) await s.stop();
        } finally {
            s.cleanup();
        }
    }
    for (const r of receivers) await r.close();
}

/* Expect a promise (usually an SDK call) to reject; return the error. */
async function rejects(promise, msg) {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    assert.fail(msg || 'expected the request to fail');
}

/* Poll fn until it returns a truthy value or the timeout passes. */
async function eventually(fn, { timeout = 30000, interval = 50, what = 'condition' } = {}) {
    const deadline = Date.now() + timeout;
    let last;
    while (Date.now() < deadline) {
        last = await fn();
        if (last) return last;
        await sleep(interval);
    }
    assert.fail(`timed out after ${timeout} ms waiting for ${what}`);
}

/* The object as plain JSON (drops the SDK's non-enumerable lastResponse). */
function plain(o) {
    return JSON.parse(JSON.stringify(o));
}

module.exports = {
    BIN,
    SESSIONS_PATH,
    startServer,
    makeStripe,
    request,
    formEncode,
    randomKey,
    randomAlnum,
    freePort,
    testWithLog,
    closeAll,
    rejects,
    eventually,
    plain,
    sleep,
};
