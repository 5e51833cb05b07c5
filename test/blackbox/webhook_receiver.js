'use strict';
/*
 * Glue for the lifecycle tests (issue 4) around the shared receiver (lib/receiver.js): subscribe
 * a receiver to every event of an account through POST /v1/webhook_endpoints, then wait for one
 * event of a session and check its signature with the official SDK's verifier
 * (stripe.webhooks.constructEvent).
 *
 * Not for: the webhook API's own behaviour (webhooks.test.js, events.test.js).
 */

const assert = require('node:assert/strict');
const { startReceiver } = require('./lib/receiver');

/* Subscribe rec to every event of the key's account; returns the endpoint's signing secret. */
async function subscribe(stripe, rec) {
    const ep = await stripe.webhookEndpoints.create({ url: rec.url, enabled_events: ['*'] });
    assert.match(ep.secret, /^whsec_/);
    return ep.secret;
}

/* Wait for a delivery of an event of type for sessionId, verify its signature with the SDK and
 * return the parsed event. */
async function waitForEvent(stripe, rec, secret, type, sessionId, timeout = 30000) {
    const [d] = await rec.waitFor(1, (e) => e.type === type && e.data && e.data.object && e.data.object.id === sessionId, timeout);
    assert.match(String(d.headers['stripe-signature']), /^t=\d+,v1=[0-9a-f]{64}/);
    assert.match(String(d.headers['content-type']), /^application\/json/);
    /* Throws if the signature is not valid for secret. */
    return stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature'], secret);
}

module.exports = { startReceiver, subscribe, waitForEvent };
