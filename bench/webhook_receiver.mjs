// bench/webhook_receiver.mjs: the local webhook receiver of bench/webhooks.sh, and its
// create-to-arrival latency probe (one process, so both ends of the measurement share a clock).
//
//   node bench/webhook_receiver.mjs PORT
//
// Answers 200 to every POST and counts them. Control routes (GET):
//   /count                         {"count": N}: webhook POSTs received so far
//   /probe?url=U&key=K&n=N         N sequential creates on verifyd at U with key K (which has a
//                                  wildcard endpoint pointing here); for each, the time from the
//                                  create's response to the arrival of its created event.
//                                  Answers {"n", "median_ms", "p90_ms", "max_ms", "missing"}.
// Not for: checking signatures (the black-box tests do).
import http from 'node:http';

const port = Number(process.argv[2] || 0);
let count = 0;
let probing = false; // parse bodies only while probing: keep the receiver cheap under load
const waiting = new Map(); // session id -> resolve(arrival time)
const arrived = new Map(); // session id -> arrival time (when it came before the response)

function onEvent(body, t) {
    if (!probing) return;
    let id;
    try {
        const ev = JSON.parse(body);
        if (ev.type !== 'identity.verification_session.created') return;
        id = ev.data.object.id;
    } catch {
        return;
    }
    const w = waiting.get(id);
    if (w) {
        waiting.delete(id);
        w(t);
    } else if (arrived.size < 100000) {
        arrived.set(id, t);
    }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function create(base, key) {
    return new Promise((resolve, reject) => {
        const u = new URL('/v1/identity/verification_sessions', base);
        const body = 'type=document';
        const req = http.request(u, {
            method: 'POST', agent,
            headers: {
                Authorization: `Bearer ${key}`,
                'Content-Type': 'application/x-www-form-urlencoded',
                'Content-Length': body.length,
            },
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const t = performance.now();
                if (res.statusCode !== 200) return reject(new Error(`create answered ${res.statusCode}`));
                resolve({ id: JSON.parse(Buffer.concat(chunks)).id, t });
            });
        });
        req.on('error', reject);
        req.end(body);
    });
}

async function probe(base, key, n) {
    probing = true;
    arrived.clear();
    const lat = [];
    let missing = 0;
    for (let i = 0; i < n; i++) {
        const { id, t } = await create(base, key);
        let at = arrived.get(id);
        if (at !== undefined) {
            arrived.delete(id);
        } else {
            at = await Promise.race([
                new Promise((r) => waiting.set(id, r)),
                new Promise((r) => setTimeout(() => r(null), 5000)),
            ]);
            waiting.delete(id);
        }
        if (at === null) missing++;
        else lat.push(Math.max(0, at - t));
        await new Promise((r) => setTimeout(r, 5)); // one at a time, not a burst
    }
    probing = false;
    lat.sort((a, b) => a - b);
    const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null);
    return { n: lat.length, median_ms: q(0.5), p90_ms: q(0.9), max_ms: lat[lat.length - 1] ?? null, missing };
}

const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            count++;
            if (probing) onEvent(Buffer.concat(chunks).toString('utf8'), performance.now());
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end('{"received":true}');
        });
        return;
    }
    const u = new URL(req.url, 'http://x');
    const reply = (code, obj) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(obj));
    };
    if (u.pathname === '/count') return reply(200, { count });
    if (u.pathname === '/probe') {
        probe(u.searchParams.get('url'), u.searchParams.get('key'), Number(u.searchParams.get('n') || 200))
            .then((r) => reply(200, r), (e) => reply(500, { error: String(e) }));
        return;
    }
    reply(404, { error: 'not found' });
});
server.keepAliveTimeout = 120000;
server.listen(port, '127.0.0.1', () => console.log(`receiver listening on ${server.address().port}`));
