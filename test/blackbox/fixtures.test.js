'use strict';
/*
 * --fixtures, the stripe-mock compatibility switch (CONTRACT.md §11 "Test control plane"):
 * unknown test-mode ids answer with a fixture shaped like the real object and carrying the id
 * asked for; without the switch they are the 404; real objects keep behaving statefully; live
 * keys are never answered with fixtures.
 */

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/server');

let on;
let off;
const test = h.testWithLog(() => [on, off]);

before(async () => {
    on = await h.startServer({ args: ['--fixtures'] });
    off = await h.startServer();
});
after(async () => h.closeAll([on, off].filter(Boolean)));

test('unknown ids answer with fixtures shaped like the real objects', async () => {
    const stripe = on.stripe(h.randomKey());
    const real = await stripe.identity.verificationSessions.create({ type: 'document' });
    const vs = await stripe.identity.verificationSessions.retrieve('vs_xxxxxxxxxxxxx');
    assert.equal(vs.id, 'vs_xxxxxxxxxxxxx');
    assert.deepEqual(Object.keys(vs).sort(), Object.keys(real).sort(), 'the same fields as a real session');
    assert.equal(vs.object, 'identity.verification_session');
    assert.equal(vs.status, 'requires_input');
    for (const act of ['cancel', 'redact']) {
        const r = await stripe.identity.verificationSessions[act]('vs_123');
        assert.equal(r.id, 'vs_123', act);
        assert.equal(r.object, 'identity.verification_session', act);
    }
    const up = await stripe.identity.verificationSessions.update('vs_123', { metadata: { a: 'b' } });
    assert.equal(up.id, 'vs_123');
    const vr = await stripe.identity.verificationReports.retrieve('vr_xxxxxxxxxxxxx');
    assert.equal(vr.id, 'vr_xxxxxxxxxxxxx');
    assert.equal(vr.object, 'identity.verification_report');
    assert.equal(vr.document.status, 'verified');
    const ev = await stripe.events.retrieve('evt_xxxxxxxxxxxxx');
    assert.equal(ev.id, 'evt_xxxxxxxxxxxxx');
    assert.equal(ev.object, 'event');
    assert.equal(ev.data.object.object, 'identity.verification_session');
    const realEp = await stripe.webhookEndpoints.create({ url: 'https://example.com/hook', enabled_events: ['*'] });
    const we = await stripe.webhookEndpoints.retrieve('we_xxxxxxxxxxxxx');
    assert.equal(we.id, 'we_xxxxxxxxxxxxx');
    const { secret: _s, ...realShape } = realEp;
    assert.deepEqual(Object.keys(we).sort(), Object.keys(realShape).sort(), 'the same fields as a real endpoint');
    const weUp = await stripe.webhookEndpoints.update('we_xxxxxxxxxxxxx', { url: 'https://example.com/new' });
    assert.equal(weUp.id, 'we_xxxxxxxxxxxxx');
    const del = await stripe.webhookEndpoints.del('we_xxxxxxxxxxxxx');
    assert.deepEqual(h.plain(del), { id: 'we_xxxxxxxxxxxxx', object: 'webhook_endpoint', deleted: true });
    /* An id of the wrong kind is still a 404. */
    const wrong = await h.rejects(stripe.identity.verificationSessions.retrieve('vr_123'));
    assert.equal(wrong.statusCode, 404);
});

test('real objects are unaffected, and fixtures leave nothing behind', async () => {
    const stripe = on.stripe(h.randomKey());
    const s = await stripe.identity.verificationSessions.create({ type: 'document', metadata: { k: 'v' } });
    const c = await stripe.identity.verificationSessions.cancel(s.id);
    assert.equal(c.status, 'canceled');
    const again = await h.rejects(stripe.identity.verificationSessions.cancel(s.id));
    assert.equal(again.statusCode, 400, 'a real session keeps its state rules');
    assert.equal((await stripe.identity.verificationSessions.retrieve(s.id)).metadata.k, 'v');
    await stripe.identity.verificationSessions.cancel('vs_456');
    const list = await stripe.identity.verificationSessions.list();
    assert.deepEqual(list.data.map((x) => x.id), [s.id], 'the fixture was not stored');
    const vs = await stripe.identity.verificationSessions.retrieve('vs_456');
    assert.equal(vs.status, 'requires_input', 'a fixture is stateless');
});

test('without --fixtures unknown ids are the 404', async () => {
    const stripe = off.stripe(h.randomKey());
    for (const [call, param] of [
        [() => stripe.identity.verificationSessions.retrieve('vs_xxxxxxxxxxxxx'), 'session'],
        [() => stripe.identity.verificationSessions.cancel('vs_123'), 'session'],
        [() => stripe.identity.verificationReports.retrieve('vr_xxxxxxxxxxxxx'), 'report'],
        [() => stripe.events.retrieve('evt_xxxxxxxxxxxxx'), 'id'],
        [() => stripe.webhookEndpoints.del('we_xxxxxxxxxxxxx'), 'webhook_endpoint'],
    ]) {
        const e = await h.rejects(call());
        assert.equal(e.statusCode, 404);
        assert.equal(e.code, 'resource_missing');
        assert.equal(e.param, param);
    }
});
