/*
 * db: the libpq helpers every file of the PostgreSQL backend uses: parameters, queries and their
 * error mapping, binary columns, and opening a connection (internal.h).
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/internal.h"

void pg__p_init(pg_params *p)
{
    p->n = 0;
}

/* The next slot, or abort: PG__MAX_PARAMS bounds what this backend's own SQL uses. */
static int p_next(pg_params *p)
{
    if (p->n >= PG__MAX_PARAMS) {
        fprintf(stderr, "verifyd: store: more than %d statement parameters\n", PG__MAX_PARAMS);
        abort();
    }
    return p->n++;
}

void pg__p_text(pg_params *p, const char *s)
{
    int i = p_next(p);
    p->v[i] = s;
    p->len[i] = 0;
    p->fmt[i] = 0;
}

void pg__p_int(pg_params *p, int64_t v)
{
    int i = p_next(p);
    snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
    p->v[i] = p->num[i];
    p->len[i] = 0;
    p->fmt[i] = 0;
}

void pg__p_bytes(pg_params *p, const void *data, size_t n)
{
    int i = p_next(p);
    /* An empty bytea still needs a non-NULL pointer: NULL is SQL NULL. */
    p->v[i] = data == NULL ? NULL : n > 0 ? data : "";
    p->len[i] = (int)n;
    p->fmt[i] = 1;
}

/* Log a failed statement (the server's message and SQLSTATE, never parameter values). */
static int fail(pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    if (msg == NULL || msg[0] == '\0') msg = PQerrorMessage(c->conn);
    fprintf(stderr, "verifyd: store: postgres %s: %s: %s%s(sqlstate %s)\n", c->role, what, msg,
            msg[0] != '\0' && msg[strlen(msg) - 1] == '\n' ? "" : " ", state ? state : "none");
    return STORE_EIO;
}

int pg__query(pg_conn *c, const char *sql, const pg_params *p, PGresult **out, int64_t *changes,
              const char *what)
{
    if (out != NULL) *out = NULL;
    if (changes != NULL) *changes = 0;
    if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) return fail(c, NULL, what);
    PGresult *res = PQexecParams(c->conn, sql, p != NULL ? p->n : 0, NULL, p != NULL ? p->v : NULL,
                                 p != NULL ? p->len : NULL, p != NULL ? p->fmt : NULL, 1);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        int rc = state != NULL && strcmp(state, "23505") == 0 ? STORE_EXISTS : fail(c, res, what);
        PQclear(res);
        return rc;
    }
    if (changes != NULL) *changes = strtoll(PQcmdTuples(res), NULL, 10);
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

int pg__exec(pg_conn *c, const char *sql, const char *what)
{
    if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) return fail(c, NULL, what);
    PGresult *res = PQexec(c->conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : fail(c, res, what);
    PQclear(res);
    return rc;
}

const char *pg__col_text(const PGresult *res, int row, int col, arena *a)
{
    if (PQgetisnull(res, row, col)) return NULL;
    return arena_strndup(a, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

int64_t pg__col_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) return 0;
    const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
    switch (PQgetlength(res, row, col)) {
    case 1:
        return v[0];
    case 2: {
        uint16_t x;
        memcpy(&x, v, 2);
        return (int16_t)be16toh(x);
    }
    case 4: {
        uint32_t x;
        memcpy(&x, v, 4);
        return (int32_t)be32toh(x);
    }
    case 8: {
        uint64_t x;
        memcpy(&x, v, 8);
        return (int64_t)be64toh(x);
    }
    default:
        return 0;
    }
}

store_record pg__col_record(const PGresult *res, int row, int col, arena *a)
{
    size_t n = PQgetisnull(res, row, col) ? 0 : (size_t)PQgetlength(res, row, col);
    void *copy = arena_alloc(a, n > 0 ? n : 1);
    if (n > 0) memcpy(copy, PQgetvalue(res, row, col), n);
    return (store_record){copy, n};
}

/* libpq writes NOTICEs (CREATE TABLE IF NOT EXISTS, ...) to stderr by default; they are not
 * errors. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

int pg__connect(const char *url, pg_conn *c, const char *role, const char **errmsg)
{
    /* Keywords before dbname are defaults: the URL (expanded from dbname) overrides them, and
     * PGCONNECT_TIMEOUT is left to libpq when it is set. */
    const char *keys[4], *vals[4];
    int k = 0;
    if (getenv("PGCONNECT_TIMEOUT") == NULL) {
        keys[k] = "connect_timeout";
        vals[k++] = PG__CONNECT_TIMEOUT;
    }
    keys[k] = "application_name";
    vals[k++] = "verifyd";
    keys[k] = "dbname";
    vals[k++] = url;
    keys[k] = NULL;
    vals[k] = NULL;
    c->role = role;
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (c->conn == NULL) {
        *errmsg = "cannot connect to PostgreSQL (out of memory)";
        return STORE_EIO;
    }
    if (PQstatus(c->conn) != CONNECTION_OK) {
        /* libpq's message says which: server down, timeout, authentication, no database. */
        fprintf(stderr, "verifyd: store: postgres: %s", PQerrorMessage(c->conn));
        *errmsg = "cannot connect to PostgreSQL (see the message above)";
        PQfinish(c->conn);
        c->conn = NULL;
        return STORE_EIO;
    }
    PQsetNoticeProcessor(c->conn, quiet_notice, NULL);
    return 0;
}

void pg__disconnect(pg_conn *c)
{
    if (c->conn != NULL) PQfinish(c->conn);
    c->conn = NULL;
}

int pg__conn_ready(pg_conn *c)
{
    if (c->conn == NULL) return STORE_EIO;
    if (PQstatus(c->conn) == CONNECTION_OK) return 0;
    PQreset(c->conn);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        fprintf(stderr, "verifyd: store: postgres %s: reconnect failed: %s", c->role,
                PQerrorMessage(c->conn));
        return STORE_EIO;
    }
    fprintf(stderr, "verifyd: store: postgres %s: reconnected\n", c->role);
    PQsetNoticeProcessor(c->conn, quiet_notice, NULL);
    return 0;
}
