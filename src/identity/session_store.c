/*
 * session_store: sessions in and out of the store (see session_store.h).
 */
#include "identity/session_store.h"
#include "identity/account_clock.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* Decode rec into *out; account is the row's owner: the column is what access was checked
 * against, so it is the authority. 0 or STORE_CORRUPT. */
static int decode(const store_record *rec, const char *account, arena *a, session *out)
{
    memset(out, 0, sizeof *out);
    if (session_decode(a, rec->data != NULL ? rec->data : "", rec->len, out) != 0) {
        fprintf(stderr, "verifyd: store: a stored session record could not be decoded\n");
        return STORE_CORRUPT;
    }
    out->account = arena_strdup(a, account);
    return 0;
}

int session_store_get(store *st, const char *account, const char *id, arena *a, session *out)
{
    store_record rec;
    int rc = store_session_get(st, account, id, a, &rec);
    return rc != 0 ? rc : decode(&rec, account, a, out);
}

int session_store_txn_get(store_txn *t, const char *account, const char *id, arena *a, session *out)
{
    store_record rec;
    int rc = store_txn_session_get(t, account, id, a, &rec);
    return rc != 0 ? rc : decode(&rec, account, a, out);
}

/* The key a url token is stored under: its leading characters (the time prefix that
 * session_issue_secrets puts there, so new keys land at the end of the index) and then the
 * SHA-256 of the whole token (the database never holds a usable token). */
#define LINK_PREFIX 8
#define LINK_KEY_LEN (LINK_PREFIX + UTIL_SHA256_LEN)

static void link_key(const char *token, unsigned char key[LINK_KEY_LEN])
{
    size_t n = strlen(token);
    memset(key, 0, LINK_PREFIX);
    memcpy(key, token, n < LINK_PREFIX ? n : LINK_PREFIX);
    util_sha256(token, n, key + LINK_PREFIX);
}

int session_store_find_link(store *st, const char *token, arena *a, const char **account,
                            const char **session_id)
{
    unsigned char key[LINK_KEY_LEN];
    link_key(token, key);
    return store_link_find(st, key, sizeof key, a, account, session_id);
}

/* The row of s, its record encoded into a. */
static store_session row_of(const session *s, arena *a)
{
    buf enc;
    buf_init(&enc, a);
    session_encode(s, &enc);
    return (store_session){
        .id = s->id,
        .account = s->account,
        .created = s->created,
        .status = (int)s->status,
        .client_reference_id = s->client_reference_id,
        .related_customer = s->related_customer,
        .related_customer_account = s->related_customer_account,
        /* The record's due time is the account's; the redactor compares the column with real
         * time (account_clock.h). */
        .redaction_due = s->redaction == SESSION_REDACTION_PROCESSING
                             ? s->redaction_due - account_clock_offset_ms(s->account)
                             : 0,
        .record = {enc.data, enc.len},
    };
}

int session_store_find_secret(store *st, const char *client_secret, arena *a, const char **account,
                              const char **session_id)
{
    const char *mark = strstr(client_secret, "_secret_");
    if (mark == NULL || (size_t)(mark - client_secret) >= SESSION_ID_MAX ||
        strlen(mark + 8) <= SESSION_URL_TOKEN_LEN || strlen(mark + 8) > 64)
        return STORE_NOT_FOUND;
    /* session_issue_secrets: the secret token begins with the url token issued with it, so the
     * url token's link finds the session and no second link is written per session. */
    char url_token[SESSION_URL_TOKEN_LEN + 1];
    memcpy(url_token, mark + 8, SESSION_URL_TOKEN_LEN);
    url_token[SESSION_URL_TOKEN_LEN] = '\0';
    int rc = session_store_find_link(st, url_token, a, account, session_id);
    size_t idlen = (size_t)(mark - client_secret);
    if (rc == 0 && (strlen(*session_id) != idlen || memcmp(*session_id, client_secret, idlen) != 0))
        rc = STORE_NOT_FOUND;
    return rc;
}

/* Remember the session's current url token (after every insert and update); its client_secret
 * is found through it (session_store_find_secret). */
static int link_sync(store_txn *t, const session *s)
{
    if (s->url_token == NULL) return 0;
    unsigned char key[LINK_KEY_LEN];
    link_key(s->url_token, key);
    return store_txn_link_put(t, key, sizeof key, s->account, s->id);
}

int session_store_insert(store_txn *t, arena *a, const session *s, store_record *rec)
{
    store_session row = row_of(s, a);
    int rc = store_txn_session_insert(t, &row);
    if (rc == 0) rc = link_sync(t, s);
    if (rc == 0 && rec != NULL) *rec = row.record;
    return rc;
}

int session_store_update(store_txn *t, arena *a, const session *s, session_status was,
                         store_record *rec)
{
    store_session row = row_of(s, a);
    int rc = store_txn_session_update(t, &row, (int)was);
    if (rc == 0) rc = link_sync(t, s);
    if (rc == 0 && rec != NULL) *rec = row.record;
    return rc;
}

int session_store_list(store *st, const store_session_query *q, arena *a, session **items,
                       size_t *n, int *has_more)
{
    store_record *recs;
    *items = NULL;
    int rc = store_session_list(st, q, a, &recs, n, has_more);
    if (rc != 0) return rc;
    session *v = arena_alloc(a, (*n > 0 ? *n : 1) * sizeof *v);
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
