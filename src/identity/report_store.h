/*
 * report_store: verification reports in and out of the store, the one place that turns a
 * report into its stored record (report_encode) and back. Every function returns 0 or a
 * STORE_E* code; decoded strings live in the arena passed in.
 */
#ifndef VERIFYD_REPORT_STORE_H
#define VERIFYD_REPORT_STORE_H

#include "identity/report.h"
#include "store/store.h"

/* The report (account, id): 0, STORE_NOT_FOUND, STORE_CORRUPT or STORE_EIO. t NULL: read from
 * st; else inside the running job. */
int report_store_get(store *st, store_txn *t, const char *account, const char *id, arena *a,
                     report *out);
/* Inside a job: insert r (STORE_EXISTS on a duplicate id). */
int report_store_insert(store_txn *t, arena *a, const report *r);
/* One page of reports (store_report_list's contract), decoded. */
int report_store_list(store *st, const store_report_query *q, arena *a, report **items, size_t *n,
                      int *has_more);
/* Inside a job: redact every report of the session (CONTRACT.md §11 "Redaction"). */
int report_store_redact_session(store_txn *t, arena *a, const char *account,
                                const char *session_id);

#endif
