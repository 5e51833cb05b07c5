'use strict';
/*
 * Redaction leaves nothing behind (CONTRACT.md §4 and §11 "Redaction"): once the `redacted` event
 * is visible, no file under the data directory holds an erased value, and no past event still
 * shows the session's personal data, client_secret or url.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/server');

let srv;
const test = h.testWithLog(() => srv);

before(async () => {
    srv = await h.startServer({ redactionDelay: 0 });
});
after(async () => {
    if (srv) await srv.close();
});

/* Every regular file under dir, recursively. */
function filesUnder(dir) {
    const out = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...filesUnder(p));
        else if (e.isFile()) out.push(p);
    }
    return out;
}

/* The erased values found in the data directory's files, as "file: value" strings. */
function leftovers(dir, values) {
    const found = [];
    for (const f of filesUnder(dir)) {
        const bytes = fs.readFileSync(f);
        for (const v of values) if (bytes.includes(Buffer.from(v))) found.push(`${path.basename(f)}: ${v}`);
    }
    return found;
}

async function redactedEvent(stripe, id) {
    return h.eventually(async () => {
        const l = await stripe.events.list({ type: 'identity.verification_session.redacted', limit: 100 });
        return l.data.find((e) => e.data.object.id === id) || null;
    }, { what: 'the redacted event' });
}

test('after the redacted event, no file of the data directory holds an erased value, while the server runs', async () => {
    const stripe = srv.stripe(h.randomKey());
    const v = stripe.identity.verificationSessions;
    const tag = h.randomAlnum(16);
    const erased = {
        email: `erase.${tag}@example.com`,
        phone: `+1555${tag.replace(/[^0-9]/g, '').padEnd(7, '7').slice(0, 7)}`,
        ref: `ref_${tag}`,
        meta: `meta_${tag}`,
    };
    const s = await v.create({
        type: 'document',
        client_reference_id: erased.ref,
        metadata: { k: erased.meta },
        provided_details: { email: erased.email, phone: erased.phone },
    });
    const secret = s.client_secret.split('_secret_')[1];
    const urlToken = s.url.split('/').pop();
    // More copies of the same values: updates, and other sessions written around them.
    await v.update(s.id, { metadata: { k: erased.meta, k2: erased.meta } });
    for (let i = 0; i < 20; i++) await v.create({ type: 'id_number', metadata: { n: String(i) } });
    assert.notDeepEqual(leftovers(srv.dataDir, Object.values(erased)), [], 'the values are on disk before the redaction');

    await v.redact(s.id);
    await redactedEvent(stripe, s.id);
    const found = leftovers(srv.dataDir, [...Object.values(erased), secret, urlToken]);
    assert.deepEqual(found, [], 'erased values still in the data directory');

    // The server keeps working after the WAL was emptied under it.
    const after = await v.create({ type: 'document', provided_details: { email: 'kept@example.com' } });
    assert.equal((await v.retrieve(after.id)).provided_details.email, 'kept@example.com');
    assert.equal((await v.retrieve(s.id)).provided_details.email, '[redacted]');
});

test('past events of a redacted session show neither its personal data nor its client_secret and url', async () => {
    const stripe = srv.stripe(h.randomKey());
    const v = stripe.identity.verificationSessions;
    const s = await v.create({ type: 'document', client_reference_id: 'ref_events', provided_details: { email: 'ev@example.com' } });
    assert.ok(s.client_secret && s.url);
    const before = await stripe.events.list({ limit: 100 });
    const created = before.data.find((e) => e.type === 'identity.verification_session.created' && e.data.object.id === s.id);
    assert.equal(created.data.object.client_secret, s.client_secret, 'the created event carries the client_secret before');

    await v.redact(s.id);
    await redactedEvent(stripe, s.id);
    const events = (await stripe.events.list({ limit: 100 })).data.filter((e) => e.data.object.id === s.id);
    assert.deepEqual(events.map((e) => e.type).sort(), [
        'identity.verification_session.canceled',
        'identity.verification_session.created',
        'identity.verification_session.redacted',
    ]);
    for (const e of [...events, await stripe.events.retrieve(created.id)]) {
        const o = e.data.object;
        assert.equal(o.client_secret, null, `${e.type}: client_secret`);
        assert.equal(o.url, null, `${e.type}: url`);
        assert.equal(o.client_reference_id, '[redacted]', `${e.type}: client_reference_id`);
        assert.equal(o.provided_details.email, '[redacted]', `${e.type}: provided_details.email`);
    }
    // The created event still tells what it was: a requires_input session.
    assert.equal((await stripe.events.retrieve(created.id)).data.object.status, 'requires_input');
});
