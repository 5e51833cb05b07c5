/*
 * session_store: sessions in and out of the store. The store keeps a session as its record
 * (session_encode) plus the columns its lists filter on; this module is the one place that
 * turns one into the other, and the one place that keeps what the store must know about a
 * session's hosted link: every url_token a session is saved with is remembered under a key
 * derived from the token (never the token itself), so the hosted page finds the session from
 * the token alone, and a used link can still be told apart from an unknown one (CONTRACT.md §2,
 * §11 "Hosted page").
 *
 * Every function returns 0 or a STORE_E* code; decoded strings live in the arena passed in.
 */
#ifndef VERIFYD_SESSION_STORE_H
#define VERIFYD_SESSION_STORE_H

#include "identity/session.h"
#include "store/store.h"

/* The session (account, id): 0, STORE_NOT_FOUND, STORE_CORRUPT (the record does not decode) or
 * STORE_EIO. store_ reads go through the store's cache; txn_ reads see the running job. */
int session_store_get(store *st, const char *account, const char *id, arena *a, session *out);
int session_store_txn_get(store_txn *t, const char *account, const char *id, arena *a,
                          session *out);

/* Inside a job: insert s (STORE_EXISTS when the id is taken), or save s over the stored one
 * read in this job with status was (STORE_CONFLICT when another change came first; was
 * SESSION_STATUS_ANY: whatever the stored status). The record
 * is encoded once, into *rec (memory of a, valid for the job's lifetime): pass it to event_emit
 * as the snapshot of this write. */
int session_store_insert(store_txn *t, arena *a, const session *s, store_record *rec);
#define SESSION_STATUS_ANY ((session_status)-1)
int session_store_update(store_txn *t, arena *a, const session *s, session_status was,
                         store_record *rec);

/* One page of sessions (store_session_list's contract), decoded. */
int session_store_list(store *st, const store_session_query *q, arena *a, session **items,
                       size_t *n, int *has_more);

/* The session a hosted-page url token was issued for: 0 with *account and *session_id (in a),
 * STORE_NOT_FOUND or STORE_EIO. The caller still compares the token with the session's own. */
int session_store_find_link(store *st, const char *token, arena *a, const char **account,
                            const char **session_id);
/* The session a client_secret ("<id>_secret_<token>") was issued for, as find_link does for a
 * url token (the /v3/ Stripe.js stand-in). The caller still compares the secret. */
int session_store_find_secret(store *st, const char *client_secret, arena *a, const char **account,
                              const char **session_id);

#endif
