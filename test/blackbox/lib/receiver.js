'use strict';
/*
 * A real webhook receiver for the black-box tests: a node:http server on 127.0.0.1 (free port)
 * that records every request (raw body, headers, arrival time) and answers with whatever the
 * test's `respond` function says: a status code, or 'hang' to never answer (the connection is
 * only closed by close()).
 *
 * Not for: checking signatures (tests do that with the SDK's stripe.webhooks.constructEvent).
 */

const http = require('node:http');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Receiver {
    /* respond(req, n): n = 1-based count of requests so far; returns a status or 'hang'. */
    constructor(respond) {
        this.respond = respond || (() => 200);
        this.requests = []; /* {t, method, path, headers, body (string), json} */
        this.hung = new Set();
        this.server = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const body = Buffer.concat(chunks).toString('utf8');
                let json;
                try {
                    json = JSON.parse(body);
                } catch (_) {
                    json = undefined;
                }
                const rec = { t: Date.now(), method: req.method, path: req.url, headers: req.headers, body, json };
                this.requests.push(rec);
                const what = this.respond(rec, this.requests.length);
                if (what === 'hang') {
                    this.hung.add(res);
                    return;
                }
                res.writeHead(what, { 'Content-Type': 'application/json' });
                res.end('{"received":true}');
            });
        });
        this.server.keepAliveTimeout = 60000;
    }

    listen() {
        return new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => {
                this.port = this.server.address().port;
                this.url = `http://127.0.0.1:${this.port}/webhook`;
                resolve(this);
            });
        });
    }

    /* Requests whose event (JSON body) passes pred. */
    events(pred = () => true) {
        return this.requests.filter((r) => r.json && pred(r.json, r));
    }

    /* Wait until at least n requests pass pred; returns them. */
    async waitFor(n, pred = () => true, timeout = 20000) {
        const deadline = Date.now() + timeout;
        for (;;) {
            const got = this.events(pred);
            if (got.length >= n) return got;
            if (Date.now() > deadline) {
                throw new Error(`receiver: expected ${n} matching deliveries within ${timeout} ms, got ${got.length}` +
                    ` (all: ${JSON.stringify(this.requests.map((r) => r.json && [r.json.type, r.json.id]))})`);
            }
            await sleep(20);
        }
    }

    close() {
        for (const res of this.hung) res.destroy();
        this.hung.clear();
        this.server.closeAllConnections && this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}

/* Start a receiver; respond as for the Receiver constructor. */
async function startReceiver(respond) {
    return new Receiver(respond).listen();
}

module.exports = { startReceiver, Receiver };
