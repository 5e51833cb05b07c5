/*
 * report_store: verification reports in and out of the store (see report_store.h).
 */
#include "identity/report_store.h"

#include <stdio.h>
#include <string.h>

static int decode(const store_record *rec, const char *account, arena *a, report *out)
{
    memset(out, 0, sizeof *out);
    if (report_decode(a, rec->data != NULL ? rec->data : "", rec->len, out) != 0) {
        fprintf(stderr, "verifyd: store: a stored report record could not be decoded\n");
        return STORE_CORRUPT;
    }
    out->account = arena_strdup(a, account);
    return 0;
}

int report_store_get(store *st, store_txn *t, const char *account, const char *id, arena *a,
                     report *out)
{
    store_record rec;
    int rc = t != NULL ? store_txn_report_get(t, account, id, a, &rec)
                       : store_report_get(st, account, id, a, &rec);
    return rc != 0 ? rc : decode(&rec, account, a, out);
}

static store_report row_of(const report *r, arena *a)
{
    buf enc;
    buf_init(&enc, a);
    report_encode(r, &enc);
    return (store_report){
        .id = r->id,
        .account = r->account,
        .created = r->created,
        .type = (int)r->type,
        .verification_session = r->verification_session,
        .client_reference_id = r->client_reference_id,
        .record = {enc.data, enc.len},
    };
}

int report_store_insert(store_txn *t, arena *a, const report *r)
{
    store_report row = row_of(r, a);
    return store_txn_report_insert(t, &row);
}

int report_store_list(store *st, const store_report_query *q, arena *a, report **items, size_t *n,
                      int *has_more)
{
    store_record *recs;
    *items = NULL;
    int rc = store_report_list(st, q, a, &recs, n, has_more);
    if (rc != 0) return rc;
    report *v = arena_alloc(a, (*n > 0 ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        rc = decode(&recs[i], q->account, a, &v[i]);
        if (rc != 0) {
            *n = 0;
            return rc;
        }
    }
    *items = v;
    return 0;
}

int report_store_redact_session(store_txn *t, arena *a, const char *account, const char *session_id)
{
    store_report *rows;
    size_t n;
    int rc = store_txn_session_reports(t, account, session_id, a, &rows, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        report r;
        rc = decode(&rows[i].record, account, a, &r);
        if (rc != 0) break;
        report_redact(&r);
        store_report row = row_of(&r, a);
        rc = store_txn_report_update(t, &row);
    }
    return rc;
}
