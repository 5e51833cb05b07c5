/*
 * api internal: what the api module's files share beyond api.h (STYLE.md §1, the __ tier).
 * Not for: anything a handler or another layer calls.
 */
#ifndef VERIFYD_API_INTERNAL_H
#define VERIFYD_API_INTERNAL_H

#include "api/api.h"

/* How api_handle goes on with a request once the fault rules have let it through. */
typedef void (*api__route_fn)(api_ctx *c, const api_route *r);

/* The test control plane's fault rules (fault_gate.c): for an authenticated test-mode request
 * outside /v1/test_helpers/verifyd/, ask the account's rules. Returns 0 when none applies (the
 * caller goes on), 1 when the gate took the request: it answered the injected error, or parked
 * the request for its latency and calls run later, from the timer's thread. */
int api__fault_gate(api_ctx *c, const api_route *r, api__route_fn run);

#endif
