// seed: creates a fixed number of VerificationSessions through the public API, as fast as the
// server takes them, so that bench/run.sh can measure retrieve and list against a full store.
// It is a load tool for the benchmark, not a test: it checks only that every answer is a 2xx.
//
// Usage: node bench/seed.mjs URL SECRET_KEY COUNT [CONCURRENCY] [BODY]
//   URL          http://127.0.0.1:PORT (loopback only)
//   COUNT        sessions to create, exactly
//   CONCURRENCY  requests in flight on that many keep-alive connections (default 64)
//   BODY         form body of each create (default "type=document&metadata[n]=1")
// Prints one JSON line {"created", "seconds", "per_second", "first_id"} on stdout; exits 1 with a
// message on stderr at the first non-2xx answer or socket error.
import http from 'node:http';

const [url, key, countArg, concArg, bodyArg] = process.argv.slice(2);
if (!url || !key || !countArg) {
    console.error('usage: node seed.mjs URL SECRET_KEY COUNT [CONCURRENCY] [BODY]');
    process.exit(2);
}
const target = new URL(url);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    console.error(`seed: refusing a non-loopback host ${target.hostname}`);
    process.exit(2);
}
const count = Number(countArg);
const concurrency = Math.min(Number(concArg || 64), count);
const body = bodyArg || 'type=document&metadata[n]=1';
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const headers = {
    Authorization: `Bearer ${key}`,
    'Content-Type': 'application/x-www-form-urlencoded',
    'Content-Length': Buffer.byteLength(body),
};

let started = 0;
let created = 0;
let firstId = null;
const t0 = process.hrtime.bigint();

function fail(msg) {
    console.error(`seed: ${msg} (after ${created} created)`);
    process.exit(1);
}

function one() {
    return new Promise((resolve) => {
        const req = http.request(
            {
                agent,
                host: target.hostname.replace(/^\[|\]$/g, ''),
                port: target.port,
                method: 'POST',
                path: '/v1/identity/verification_sessions',
                headers,
            },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => {
                    const text = Buffer.concat(chunks).toString();
                    if (res.statusCode < 200 || res.statusCode > 299)
                        fail(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
                    if (firstId === null) {
                        const m = /"id"\s*:\s*"([^"]+)"/.exec(text);
                        if (!m) fail(`no id in ${text.slice(0, 300)}`);
                        firstId = m[1];
                    }
                    created++;
                    resolve();
                });
            },
        );
        req.on('error', (e) => fail(e.message));
        req.end(body);
    });
}

async function worker() {
    while (started < count) {
        started++;
        await one();
    }
}

await Promise.all(Array.from({ length: concurrency }, worker));
agent.destroy();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
    JSON.stringify({
        created,
        seconds: Number(seconds.toFixed(2)),
        per_second: Math.round(created / seconds),
        first_id: firstId,
    }),
);
