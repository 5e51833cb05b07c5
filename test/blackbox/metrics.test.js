'use strict';
/*
 * GET /metrics, /healthz and /readyz (README "Dashboard and metrics"): the scrape parses as
 * Prometheus text (every sample a declared family, histograms cumulative and ending in +Inf),
 * its counters move with requests, labelled by route pattern (never a raw path or an id), group
 * commits and webhook attempts are counted, no key shows; /healthz and /readyz answer 200, and
 * /readyz 503 once the store's writes fail (the file-size limit of faults.test.js).
 *
 * Not for: who may see /metrics beyond loopback (dashboard.test.js covers the shared rule).
 */

const { after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');
const { startReceiver } = require('./lib/receiver');

const servers = [];
const receivers = [];
const dirs = [];
const test = h.testWithLog(() => servers);

after(async () => {
    for (const s of servers) if (s.proc && !s.proc.exitInfo) s.proc.kill('SIGKILL');
    for (const s of servers) if (s.proc && s.proc.exited) await s.proc.exited;
    for (const r of receivers) await r.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/* Parse the text exposition format strictly enough to catch a malformed line: returns
 * {types: {family: type}, samples: [{name, labels, value}]}. */
function parseProm(text) {
    const types = {};
    const samples = [];
    assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
    for (const line of text.split('\n').slice(0, -1)) {
        let m;
        if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) {
            assert.ok(!(m[1] in types), `family ${m[1]} declared twice`);
            types[m[1]] = m[2];
            continue;
        }
        if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
        m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$/);
        assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
        const labels = {};
        if (m[2]) {
            const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
            let l;
            let end = 0;
            while ((l = re.exec(m[2]))) {
                labels[l[1]] = l[2];
                end = re.lastIndex;
            }
            assert.equal(end, m[2].length, `bad labels: ${m[2]}`);
        }
        const family = m[1].replace(/_(bucket|sum|count)$/, '');
        assert.ok(types[m[1]] || types[family], `sample ${m[1]} before its # TYPE`);
        samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    /* Histograms: buckets cumulative, the last one +Inf and equal to _count. */
    for (const [family, type] of Object.entries(types)) {
        if (type !== 'histogram') continue;
        const groups = new Map();
        for (const s of samples.filter((x) => x.name === family + '_bucket')) {
            const { le, ...rest } = s.labels;
            const k = JSON.stringify(rest);
            if (!groups.has(k)) groups.set(k, []);
            groups.get(k).push({ le, v: s.value });
        }
        for (const [k, bs] of groups) {
            for (let i = 1; i < bs.length; i++) assert.ok(bs[i].v >= bs[i - 1].v, `${family}${k} buckets are cumulative`);
            assert.equal(bs[bs.length - 1].le, '+Inf');
            const count = samples.find((x) => x.name === family + '_count' && JSON.stringify(x.labels) === k);
            assert.ok(count, `${family}${k} has a _count`);
            assert.equal(count.value, bs[bs.length - 1].v);
        }
    }
    return { types, samples };
}

function value(p, name, labels = {}) {
    const s = p.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return s ? s.value : 0;
}

async function scrape(srv) {
    const r = await srv.request({ path: '/metrics' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return { text: r.text, p: parseProm(r.text) };
}

test('/metrics parses as Prometheus text and its counters move with requests, by route pattern', async () => {
    const srv = await h.startServer({ args: ['--webhook-retry-schedule', '1ms'] });
    servers.push(srv);
    const rec = await startReceiver();
    receivers.push(rec);
    const key = h.randomKey();
    const stripe = srv.stripe(key);
    await stripe.webhookEndpoints.create({ url: rec.url + '/hook', enabled_events: ['*'] });

    const before = await scrape(srv);
    assert.equal(before.p.types.verifyd_http_requests_total, 'counter');
    assert.equal(before.p.types.verifyd_http_request_duration_seconds, 'histogram');
    assert.equal(before.p.types.verifyd_store_batch_size, 'histogram');
    assert.equal(before.p.types.verifyd_outbox_pending, 'gauge');
    assert.equal(before.p.types.verifyd_redactions_pending, 'gauge');
    const create = { route: '/v1/identity/verification_sessions', method: 'POST', status: '200' };
    const retrieve = { route: '/v1/identity/verification_sessions/{id}', method: 'GET', status: '200' };
    const missing = { route: '/v1/identity/verification_sessions/{id}', method: 'GET', status: '404' };

    const made = [];
    for (let i = 0; i < 3; i++) made.push(await stripe.identity.verificationSessions.create({ type: 'document' }));
    await stripe.identity.verificationSessions.retrieve(made[0].id);
    await h.rejects(stripe.identity.verificationSessions.retrieve('vs_nope'));
    await srv.request({ path: '/no/such/route/' + made[1].id });
    await h.eventually(() => rec.requests.length >= 3, { what: 'three webhooks' });

    const after = await h.eventually(async () => {
        const s = await scrape(srv);
        return value(s.p, 'verifyd_webhook_attempts_total', { outcome: 'delivered' }) >= 3 ? s : null;
    }, { what: 'the delivered counter' });
    const d = (name, labels) => value(after.p, name, labels) - value(before.p, name, labels);
    assert.equal(d('verifyd_http_requests_total', create), 3);
    assert.equal(d('verifyd_http_requests_total', retrieve), 1);
    assert.equal(d('verifyd_http_requests_total', missing), 1);
    assert.equal(d('verifyd_http_request_duration_seconds_count', create), 3);
    assert.ok(d('verifyd_http_request_duration_seconds_sum', create) > 0);
    assert.ok(d('verifyd_http_requests_total', { route: 'unmatched', status: '404' }) >= 1);
    assert.ok(d('verifyd_store_batch_size_count') >= 3, 'each create is in a group commit');
    assert.ok(d('verifyd_store_batch_size_sum') >= 3);
    /* Patterns only: no id, no key, no raw path. */
    for (const m of made) assert.ok(!after.text.includes(m.id), 'no session id in /metrics');
    assert.ok(!after.text.includes(key) && !after.text.includes('/no/such/route'), 'no key, no raw path');
    /* Every delivery done: the outbox is empty again. */
    await h.eventually(async () => value((await scrape(srv)).p, 'verifyd_outbox_pending') === 0, { what: 'an empty outbox' });
});

test('/healthz and /readyz answer 200 on a healthy server', async () => {
    const srv = await h.startServer();
    servers.push(srv);
    const live = await srv.request({ path: '/healthz' });
    assert.equal(live.status, 200);
    assert.equal(live.text, 'ok\n');
    const ready = await srv.request({ path: '/readyz' });
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ready\n');
});

/* verifyd under a file-size limit (as faults.test.js): once the WAL reaches it, commits fail. */
async function startLimited(dataDir) {
    const script = 'trap "" XFSZ; ulimit -f 1024 || exit 99; exec "$0" "$@"';
    const env = Object.assign({}, process.env);
    delete env.VERIFYD_LISTEN;
    delete env.VERIFYD_DATA_DIR;
    const proc = spawn('bash', ['-c', script, h.BIN, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn'],
        { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = { proc, log: '', tail(n = 4000) { return this.log.slice(-n); } };
    servers.push(s);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => (s.log += d));
    proc.exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
    proc.exited.then((ex) => (proc.exitInfo = ex));
    const m = await h.eventually(() => s.log.match(/listening on 127\.0\.0\.1:(\d+)/) || proc.exitInfo, { what: 'the start-up line' });
    assert.ok(Array.isArray(m), s.log);
    s.port = Number(m[1]);
    return s;
}

test('/readyz is 503 once the store\'s writes fail, while /healthz stays 200', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-ready-'));
    dirs.push(dir);
    const srv = await startLimited(dir);
    const stripe = h.makeStripe(srv.port, h.randomKey());
    assert.equal((await h.request(srv.port, { path: '/readyz' })).status, 200);
    let failure;
    for (let i = 0; i < 3000 && !failure; i++) {
        try {
            await stripe.identity.verificationSessions.create({ type: 'document', metadata: { n: String(i) } });
        } catch (e) {
            failure = e;
        }
    }
    assert.ok(failure, 'a write failed under the file-size limit');
    assert.equal(failure.statusCode, 500);
    const ready = await h.request(srv.port, { path: '/readyz' });
    assert.equal(ready.status, 503, ready.text);
    assert.match(ready.text, /^not ready/);
    assert.equal((await h.request(srv.port, { path: '/healthz' })).status, 200);
    const m = await h.request(srv.port, { path: '/metrics' });
    assert.match(m.text, /^verifyd_store_up 0$/m);
    srv.proc.kill('SIGTERM');
    await srv.proc.exited;
});
