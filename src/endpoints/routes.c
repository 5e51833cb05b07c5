/*
 * routes: which handler answers which method and path. api_handle (api.c) walks this table in
 * order; the first match wins.
 */
#include "endpoints/endpoints.h"

const api_route endpoints_routes[] = {
    {"POST", "/v1/identity/verification_sessions", NULL, sessions_create},
    {"GET", "/v1/identity/verification_sessions", NULL, sessions_list},
    {"GET", "/v1/identity/verification_sessions/", "", sessions_retrieve},
    {"POST", "/v1/identity/verification_sessions/", "", sessions_update},
    {"POST", "/v1/identity/verification_sessions/", "/cancel", sessions_cancel},
    {"POST", "/v1/identity/verification_sessions/", "/redact", sessions_redact},
    {"POST", "/v1/test_helpers/identity/verification_sessions/", "/process",
     session_helpers_process},
    {"POST", "/v1/test_helpers/identity/verification_sessions/", "/verify", session_helpers_verify},
    {"POST", "/v1/test_helpers/identity/verification_sessions/", "/require_input",
     session_helpers_require_input},
    {"GET", "/v1/identity/verification_reports", NULL, reports_list},
    {"GET", "/v1/identity/verification_reports/", "", reports_retrieve},
    {"GET", "/start/", "", hosted_page_get, 1},
    {"POST", "/start/", "", hosted_page_post, 1},
    /* --- events & webhooks --- */
    {"GET", "/v1/events", NULL, events_list},
    {"GET", "/v1/events/", "", events_retrieve},
    {"POST", "/v1/webhook_endpoints", NULL, webhook_endpoints_create},
    {"GET", "/v1/webhook_endpoints", NULL, webhook_endpoints_list},
    {"GET", "/v1/webhook_endpoints/", "", webhook_endpoints_retrieve},
    {"POST", "/v1/webhook_endpoints/", "", webhook_endpoints_update},
    {"DELETE", "/v1/webhook_endpoints/", "", webhook_endpoints_delete},
    /* --- end events & webhooks --- */
    /* --- v2: event destinations and events (JSON bodies) --- */
    {"POST", "/v2/core/event_destinations", NULL, event_destinations_create},
    {"GET", "/v2/core/event_destinations", NULL, event_destinations_list},
    {"GET", "/v2/core/event_destinations/", "", event_destinations_retrieve},
    {"POST", "/v2/core/event_destinations/", "", event_destinations_update},
    {"DELETE", "/v2/core/event_destinations/", "", event_destinations_delete},
    {"POST", "/v2/core/event_destinations/", "/enable", event_destinations_enable},
    {"POST", "/v2/core/event_destinations/", "/disable", event_destinations_disable},
    {"POST", "/v2/core/event_destinations/", "/ping", event_destinations_ping},
    {"GET", "/v2/core/events", NULL, v2_events_list},
    {"GET", "/v2/core/events/", "", v2_events_retrieve},
    {"GET", "/v1/test_helpers/verifyd/clock", NULL, clock_retrieve},
    {"POST", "/v1/test_helpers/verifyd/clock/advance", NULL, clock_advance},
    /* --- the account's state (state.c) --- */
    {"POST", "/v1/test_helpers/verifyd/reset", NULL, state_reset},
    {"GET", "/v1/test_helpers/verifyd/export", NULL, state_export},
    {"POST", "/v1/test_helpers/verifyd/import", NULL, state_import, 0, 1},
    {"POST", "/v1/test_helpers/verifyd/faults", NULL, faults_create},
    {"GET", "/v1/test_helpers/verifyd/faults", NULL, faults_list},
    {"DELETE", "/v1/test_helpers/verifyd/faults", NULL, faults_clear},
    {"DELETE", "/v1/test_helpers/verifyd/faults/", "", faults_delete},
    /* --- the Stripe.js stand-in and its modal (CONTRACT.md §11 "Test control plane") --- */
    {"GET", "/v3/", NULL, stripe_js_get, 1},
    {"GET", "/v3", NULL, stripe_js_get, 1},
    {"POST", "/v3/identity/verify", NULL, hosted_page_modal, 1},
    /* --- operator pages: metrics and health --- */
    {"GET", "/metrics", NULL, metrics_get, 1},
    {"GET", "/healthz", NULL, health_live, 1},
    {"GET", "/readyz", NULL, health_ready, 1},
    {"POST", "/v1/test_helpers/verifyd/events/", "/resend", event_resend},
    /* --- the dashboard (page routes: its own sign-in) --- */
    {"GET", "/dashboard", NULL, dashboard_get, 1},
    {"GET", "/dashboard/state.json", NULL, dashboard_state, 1},
    {"GET", "/dashboard/app.js", NULL, dashboard_script, 1},
    {"POST", "/dashboard/sign-in", NULL, dashboard_sign_in, 1},
    {"POST", "/dashboard/sign-out", NULL, dashboard_sign_out, 1},
    {"POST", "/dashboard/action", NULL, dashboard_action, 1},
};

const size_t endpoints_n_routes = sizeof endpoints_routes / sizeof *endpoints_routes;
