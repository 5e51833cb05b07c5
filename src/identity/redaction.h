/*
 * redaction: what redacting a session erases, in one place (CONTRACT.md §3 "redact", §11
 * "Redaction"). session_redact (session.h) and report_redact (report.h) say which fields of one
 * object become "[redacted]"; this module reaches every other copy verifyd keeps.
 */
#ifndef VERIFYD_REDACTION_H
#define VERIFYD_REDACTION_H

#include "identity/session.h"
#include "store/store.h"

/* Inside a job, once s itself is saved redacted: rewrite the snapshot of every event of s with
 * session_redact applied, delete the saved idempotent responses that carry s (a retry then runs
 * afresh and finds it redacted), and redact s's reports. 0 or a STORE_E* code. */
int redaction_erase_copies(store_txn *t, arena *a, const session *s);

#endif
