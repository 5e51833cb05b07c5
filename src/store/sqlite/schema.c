/*
 * schema: the SQLite schema of the store, as migrations, and the code that applies them at open.
 */
#include <stdio.h>

#include "store/sqlite/internal.h"

/*
 * The schema, one migration per entry. Entry i brings PRAGMA user_version from i to i + 1; each is
 * applied in its own transaction together with that version bump, so a crash mid-migration leaves
 * the previous version intact. Append only: never edit an entry that has shipped.
 *
 * Every list query filters on account first, and every index that serves a list ends in
 * (created, seq), so a page is an index range scan already in the order asked for: O(log n + page),
 * no temp b-tree. seq is the rowid, hence insertion order, the tie-break for equal created.
 */
static const char *const migrations[] = {
    /* 1: sessions, events, idempotency. */
    "CREATE TABLE sessions ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  client_reference_id TEXT,"
    "  related_customer TEXT,"
    "  related_customer_account TEXT,"
    "  redaction_due INTEGER," /* unix ms; NULL unless a redaction is processing */
    "  body BLOB NOT NULL"     /* session_encode() */
    ");"
    "CREATE INDEX sessions_created ON sessions(account, created, seq);"
    "CREATE INDEX sessions_status ON sessions(account, status, created, seq);"
    "CREATE INDEX sessions_client_ref ON sessions(account, client_reference_id, created, seq)"
    "  WHERE client_reference_id IS NOT NULL;"
    "CREATE INDEX sessions_customer ON sessions(account, related_customer, created, seq)"
    "  WHERE related_customer IS NOT NULL;"
    "CREATE INDEX sessions_customer_account"
    "  ON sessions(account, related_customer_account, created, seq)"
    "  WHERE related_customer_account IS NOT NULL;"
    "CREATE INDEX sessions_redaction_due ON sessions(redaction_due)"
    "  WHERE redaction_due IS NOT NULL;"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  livemode INTEGER,"
    "  created INTEGER,"
    "  type TEXT,"
    "  object_id TEXT,"
    "  request_id TEXT,"
    "  idempotency_key TEXT,"
    "  snapshot BLOB"
    ");"
    "CREATE INDEX events_created ON events(account, created, seq);"
    "CREATE TABLE idempotency ("
    "  account TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body BLOB,"
    "  created INTEGER NOT NULL,"
    "  object_id TEXT," /* the object the saved response carries, for redaction */
    "  PRIMARY KEY (account, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency(created);"
    "CREATE INDEX idempotency_object ON idempotency(account, object_id)"
    "  WHERE object_id IS NOT NULL;"
    /* Events, webhook endpoints and the delivery outbox. */
    /* pending_webhooks: deliveries of the event not yet succeeded. Endpoints: enabled_events is
     * "\n" + names joined by "\n" + "\n"; account '*' is the --forward-to endpoint. deliveries
     * is the outbox: state 0 pending (next_attempt_ms set), 1 succeeded, 2 failed. */
    "ALTER TABLE events ADD COLUMN pending_webhooks INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE webhook_endpoints ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  livemode INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  disabled INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  api_version TEXT,"
    "  description TEXT,"
    "  enabled_events TEXT NOT NULL,"
    "  metadata BLOB"
    ");"
    "CREATE INDEX webhook_endpoints_account ON webhook_endpoints(account, created, seq);"
    "CREATE TABLE deliveries ("
    "  seq INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL,"
    "  endpoint_id TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  next_attempt_ms INTEGER,"
    "  state INTEGER NOT NULL"
    ");"
    "CREATE INDEX deliveries_due ON deliveries(next_attempt_ms, seq) WHERE state = 0;"
    /* Verification reports, hosted links and delayed outcomes. */
    "CREATE TABLE reports ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  verification_session TEXT,"
    "  client_reference_id TEXT,"
    "  body BLOB NOT NULL" /* report_encode() */
    ");"
    "CREATE INDEX reports_created ON reports(account, created, seq);"
    "CREATE INDEX reports_type ON reports(account, type, created, seq);"
    "CREATE INDEX reports_client_ref ON reports(account, client_reference_id, created, seq)"
    "  WHERE client_reference_id IS NOT NULL;"
    "CREATE INDEX reports_session ON reports(account, verification_session, created, seq);"
    /* Every url_token ever issued, by SHA-256, so the hosted page finds its session. */
    "CREATE TABLE hosted_links ("
    "  token_hash BLOB PRIMARY KEY,"
    "  account TEXT NOT NULL,"
    "  session_id TEXT NOT NULL"
    ") WITHOUT ROWID;"
    /* Delayed outcomes of the hosted page (unix ms), polled by the lifecycle worker. */
    "CREATE TABLE outcomes_due ("
    "  account TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  due INTEGER NOT NULL,"
    "  PRIMARY KEY (account, session_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX outcomes_due_due ON outcomes_due(due);",
    /* 2: session ids move out of the sessions table's own unique index into session_ids,
     * filled in batches (session_ids.c); session_ids_merged holds the highest
     * sessions.seq whose id is in it. SQLite cannot drop a UNIQUE constraint, so the table is
     * rebuilt. */
    "CREATE TABLE sessions_v2 ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  client_reference_id TEXT,"
    "  related_customer TEXT,"
    "  related_customer_account TEXT,"
    "  redaction_due INTEGER,"
    "  body BLOB NOT NULL"
    ");"
    "INSERT INTO sessions_v2 SELECT seq, id, account, created, status, client_reference_id,"
    "  related_customer, related_customer_account, redaction_due, body FROM sessions;"
    "DROP TABLE sessions;"
    "ALTER TABLE sessions_v2 RENAME TO sessions;"
    "CREATE INDEX sessions_created ON sessions(account, created, seq);"
    "CREATE INDEX sessions_status ON sessions(account, status, created, seq);"
    "CREATE INDEX sessions_client_ref ON sessions(account, client_reference_id, created, seq)"
    "  WHERE client_reference_id IS NOT NULL;"
    "CREATE INDEX sessions_customer ON sessions(account, related_customer, created, seq)"
    "  WHERE related_customer IS NOT NULL;"
    "CREATE INDEX sessions_customer_account"
    "  ON sessions(account, related_customer_account, created, seq)"
    "  WHERE related_customer_account IS NOT NULL;"
    "CREATE INDEX sessions_redaction_due ON sessions(redaction_due)"
    "  WHERE redaction_due IS NOT NULL;"
    "CREATE TABLE session_ids ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO session_ids SELECT id, seq FROM sessions ORDER BY id;"
    "CREATE TABLE session_ids_merged (seq INTEGER NOT NULL);"
    "INSERT INTO session_ids_merged SELECT COALESCE(MAX(seq), 0) FROM sessions;",
    /* 3: v2 event destinations share the webhook_endpoints table (and so the fan-out and the
     * outbox) with v1 endpoints: api is 1 for an endpoint, 2 for a destination, with its name,
     * event_payload ('thin' or 'snapshot') and updated time (unix ms). Events of the v2 API
     * itself (pings) have api 2 and stay out of the v1 event list. */
    "ALTER TABLE webhook_endpoints ADD COLUMN api INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE webhook_endpoints ADD COLUMN name TEXT;"
    "ALTER TABLE webhook_endpoints ADD COLUMN event_payload TEXT;"
    "ALTER TABLE webhook_endpoints ADD COLUMN updated_ms INTEGER;"
    "ALTER TABLE events ADD COLUMN api INTEGER NOT NULL DEFAULT 1;"
    /* Webhook endpoints made with connect=true get the events of connected accounts. */
    "ALTER TABLE webhook_endpoints ADD COLUMN connect INTEGER NOT NULL DEFAULT 0;",
    /* 4: each account's test clock (CONTRACT.md §11 "Test control plane"): how far, in ms, the
     * account's time runs ahead of real time. No row: the account's time is real time. */
    "CREATE TABLE clocks ("
    "  account TEXT PRIMARY KEY,"
    "  offset_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;",
    /* 5: the delivery attempt log (attempts.c): each webhook attempt with its status, latency,
     * error or the start of the answer, and the next attempt's due time (unix ms, NULL: none).
     * Bounded per delivery; pruned with its events. */
    "CREATE TABLE delivery_attempts ("
    "  seq INTEGER PRIMARY KEY,"
    "  delivery_seq INTEGER NOT NULL,"
    "  account TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  endpoint_id TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  latency_ms INTEGER NOT NULL,"
    "  error TEXT,"
    "  response TEXT,"
    "  next_ms INTEGER"
    ");"
    "CREATE INDEX delivery_attempts_account ON delivery_attempts(account, seq);"
    "CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_seq, seq);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

const char *sqlite__migration_sql(int i)
{
    return i >= 0 && i < N_MIGRATIONS ? migrations[i] : NULL;
}

/* Bring the schema to the newest version: 0, or STORE_EIO with *errmsg set. Running it again on
 * an up-to-date database changes nothing. */
int sqlite__migrate(sqlite3 *db, const char **errmsg)
{
    int rc = 0;
    for (int i = 0; i < N_MIGRATIONS; i++) {
        int64_t version = 0;
        rc = sqlite__exec(db, "BEGIN IMMEDIATE", "migration begin");
        if (rc != 0) goto done;
        rc = sqlite__pragma_int(db, "PRAGMA user_version", &version);
        if (rc != 0) goto rollback;
        if (version > N_MIGRATIONS) {
            fprintf(stderr, "verifyd: store: schema version %lld, this build knows %d\n",
                    (long long)version, N_MIGRATIONS);
            *errmsg = "the database schema is newer than this build";
            rc = STORE_EIO;
            goto rollback;
        }
        if (version <= i) {
            char bump[64];
            snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
            rc = sqlite__exec(db, migrations[i], "migration");
            if (rc == 0) rc = sqlite__exec(db, bump, "migration version");
            if (rc != 0) goto rollback;
        }
        rc = sqlite__exec(db, "COMMIT", "migration commit");
        if (rc != 0) goto rollback;
    }
    return 0;
rollback:
    if (!sqlite3_get_autocommit(db)) sqlite__exec(db, "ROLLBACK", "migration rollback");
done:
    if (*errmsg == NULL) *errmsg = "cannot migrate the database schema";
    return rc;
}
