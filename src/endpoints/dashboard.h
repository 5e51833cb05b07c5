/*
 * dashboard: the private interface between the dashboard's two files: dashboard.c (sign-in,
 * cookies, CSRF, the buttons, the state JSON and the script) and dashboard_page.c (the HTML).
 * Everything lives in the request's arena.
 */
#ifndef VERIFYD_ENDPOINTS_DASHBOARD_H
#define VERIFYD_ENDPOINTS_DASHBOARD_H

#include "endpoints/endpoints.h"

/* What one page shows of one account. */
typedef struct dashboard__data {
    const char *account;
    session *sessions; /* newest first */
    size_t n_sessions;
    store_event *events; /* newest first (the status histories are read from them) */
    size_t n_events;
    store_attempt *attempts; /* newest first */
    size_t n_attempts;
    store_webhook *webhooks; /* the account's endpoints, for the resend buttons */
    size_t n_webhooks;
} dashboard__data;

/* The page for d: csrf goes into every form; flash (NULL: none) is the last button's outcome;
 * version (the state's, dashboard.c) goes on the live part for the script. */
void dashboard__page(buf *out, const dashboard__data *d, const char *csrf, const char *flash,
                     const char *version);
/* The sign-in page: error (NULL: none) above the form; with operator set it also asks for the
 * operator key. */
void dashboard__signin(buf *out, const char *error, int operator);

#endif
