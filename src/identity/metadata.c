/*
 * metadata: merging a request's metadata changes into stored metadata, shared by sessions and
 * webhook endpoints (CONTRACT.md §1 "Metadata"). The handlers read the changes from their
 * parameters (params_metadata) and answer the error; nothing here knows about HTTP.
 */
#include "identity/metadata.h"

#include <string.h>

#include "identity/limits.h"

/* The change u makes to key, or NULL when it leaves key alone. */
static const metadata_kv *change_of(const metadata_update *u, const char *key)
{
    for (size_t i = 0; i < u->n_set; i++) {
        if (strcmp(u->set[i].key, key) == 0) return &u->set[i];
    }
    return NULL;
}

int metadata_merge(arena *a, const metadata_update *u, metadata_kv **md, size_t *n_md)
{
    if (u->clear) {
        *md = NULL;
        *n_md = 0;
        return METADATA_OK;
    }
    const metadata_kv *cur = *md;
    size_t n_cur = *n_md;
    metadata_kv *out = arena_alloc(a, (n_cur + u->n_set + 1) * sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < n_cur; i++) {
        const metadata_kv *v = change_of(u, cur[i].key);
        if (!v)
            out[n++] = cur[i];
        else if (v->value[0] != '\0')
            out[n++] = (metadata_kv){cur[i].key, v->value};
    }
    for (size_t j = 0; j < u->n_set; j++) {
        const metadata_kv *v = &u->set[j];
        int existed = 0;
        for (size_t i = 0; i < n_cur && !existed; i++)
            existed = strcmp(cur[i].key, v->key) == 0;
        if (!existed && v->value[0] != '\0') out[n++] = *v;
    }
    /* Stripe: CONTRACT.md §1 "Metadata": at most 50 keys once merged. */
    if (n > METADATA_MAX_KEYS) return METADATA_TOO_MANY_KEYS;
    *md = out;
    *n_md = n;
    return METADATA_OK;
}

void metadata_encode(const metadata_kv *md, size_t n, buf *out)
{
    for (size_t i = 0; i < n; i++) {
        buf_append(out, md[i].key, strlen(md[i].key) + 1);
        buf_append(out, md[i].value, strlen(md[i].value) + 1);
    }
}

void metadata_decode(arena *a, const void *data, size_t len, metadata_kv **md, size_t *n)
{
    const char *s = data;
    size_t pairs = 0;
    for (size_t i = 0; i < len; i++)
        pairs += s[i] == '\0';
    pairs /= 2;
    *md = arena_alloc(a, (pairs + 1) * sizeof **md);
    *n = 0;
    if (len == 0) return; /* no metadata (and s + 0 would be arithmetic on NULL) */
    const char *p = s, *end = s + len;
    while (p < end && *n < pairs) {
        const char *k = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        if (p >= end) break;
        const char *v = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        (*md)[(*n)++] = (metadata_kv){arena_strdup(a, k), arena_strdup(a, v)};
    }
}
