/*
 * redactor: the background worker that completes redactions (CONTRACT.md §3 "redact", §11):
 * a session whose redaction is `processing` becomes `redacted` once its due time passes, its
 * personal data is erased everywhere verifyd keeps it, and the
 * identity.verification_session.redacted event is written in the same transaction.
 *
 * Due times are in the database, so a redaction requested before a crash completes after the
 * restart.
 */
#ifndef VERIFYD_REDACTOR_H
#define VERIFYD_REDACTOR_H

#include "app.h"
#include "background/worker.h"

/* Start the redactor's worker (worker.h): kick it with worker_kick when a redaction was
 * requested, stop it with worker_stop. */
worker *redactor_start(app *ap);

#endif
