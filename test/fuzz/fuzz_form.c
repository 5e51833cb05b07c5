/*
 * fuzz_form: libFuzzer harness for the bracket form decoder (src/api/form.c). Any bytes go in,
 * as a request body or query string would; nothing may crash, leak or hit undefined behaviour,
 * and the tree that comes out must keep the promises of form.h:
 *
 *  - shape: the root is a map without a key; a map's children have distinct, non-empty keys;
 *    list items are strings without a key (a "[]" can only be last); containers other than the
 *    root are never empty; count, first, last and next agree; no deeper than max_depth + 1;
 *  - sizes: every key and value is NUL-terminated at its length, holds no NUL, is valid UTF-8,
 *    and is no longer than the limits and the input; there are no more string leaves than pairs;
 *  - lookups: form_get finds the children of every map under their own keys;
 *  - errors: a refusal comes with a non-empty message that is valid UTF-8 (it is quoted to the
 *    client) and leaves *root untouched;
 *  - limits are monotonic: the input is decoded again under tighter limits derived from its own
 *    bytes, and when that succeeds the default decode must have succeeded with an equal tree;
 *  - the tree round-trips: encoded again canonically (every byte but unreserved ones as %XX),
 *    it decodes to an equal tree under the same limits.
 *
 * The input is the whole body, so seeds are plain text (corpus/form/). Not for: what endpoints
 * accept (fuzz_params.c) or the request pipeline (fuzz_pipeline.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/form.h"
#include "base/arena.h"
#include "base/util.h"
#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void form_fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_form: %s (input of %zu bytes: %.*s)\n", what, size,
            (int)(size < 200 ? size : 200), (const char *)data);
    abort();
}

/* ---- the tree's own promises ---- */

typedef struct walk {
    const form_limits *lim;
    size_t input_len;
    size_t leaves;
    const uint8_t *data; /* for messages */
} walk;

static void check_string(walk *w, const char *s, size_t len, size_t max, const char *what)
{
    if (s == NULL) form_fail(what, w->data, w->input_len);
    if (s[len] != '\0' || strlen(s) != len)
        form_fail("a string not NUL-terminated at its length", w->data, w->input_len);
    if (len > max || len > w->input_len)
        form_fail("a string beyond its limit", w->data, w->input_len);
    if (!util_utf8_valid(s, len)) form_fail("a string that is not UTF-8", w->data, w->input_len);
}

/* Check node (at depth levels below the root) and everything under it. */
static void check_node(walk *w, const form_node *node, int depth)
{
    if (depth > w->lim->max_depth + 1)
        form_fail("nested deeper than max_depth", w->data, w->input_len);
    if (node->kind == FORM_STR) {
        check_string(w, node->str, node->len, w->lim->max_value_len, "a string without a value");
        if (node->first != NULL || node->count != 0)
            form_fail("a string with children", w->data, w->input_len);
        w->leaves++;
        return;
    }
    if (node->kind != FORM_MAP && node->kind != FORM_LIST)
        form_fail("an unknown node kind", w->data, w->input_len);
    if (depth > 0 && node->count == 0) form_fail("an empty container", w->data, w->input_len);

    size_t n = 0;
    const form_node *last = NULL;
    for (const form_node *c = node->first; c != NULL; c = c->next) {
        if (++n > node->count) form_fail("more children than count", w->data, w->input_len);
        if (node->kind == FORM_LIST) {
            if (c->key != NULL) form_fail("a list item with a key", w->data, w->input_len);
            if (c->kind != FORM_STR)
                form_fail("a list item that is not a string", w->data, w->input_len);
        } else {
            size_t klen = c->key != NULL ? strlen(c->key) : 0;
            check_string(w, c->key, klen, w->lim->max_key_len, "a map child without a key");
            if (klen == 0) form_fail("an empty key", w->data, w->input_len);
            /* form_get is a linear scan: checking every child would make a flat body of 1000
             * keys cost a million comparisons per input. The first ones and the last do. */
            if ((n <= 8 || c->next == NULL) && form_get(node, c->key) != c)
                form_fail("form_get misses a child", w->data, w->input_len);
        }
        check_node(w, c, depth + 1);
        last = c;
    }
    if (n != node->count || node->last != last)
        form_fail("count or last disagree", w->data, w->input_len);
}

/* ---- comparing and re-encoding trees ---- */

static void put_escaped(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            buf_putc(b, (char)c);
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[c >> 4]);
            buf_putc(b, hex[c & 15]);
        }
    }
}

/* The path from the root to a node, as the segments of its key. */
typedef struct segs {
    const char *v[16];
    int n;
} segs;

/* Append every leaf under node as "name[seg]...=value&", in tree order, so that each map's
 * children first appear in the order they have. */
static void encode_node(buf *b, const form_node *node, segs *path)
{
    if (node->kind == FORM_STR) {
        for (int i = 0; i < path->n; i++) {
            if (i > 0) buf_putc(b, '[');
            if (path->v[i] != NULL) put_escaped(b, path->v[i], strlen(path->v[i]));
            if (i > 0) buf_putc(b, ']');
        }
        buf_putc(b, '=');
        put_escaped(b, node->str, node->len);
        buf_putc(b, '&');
        return;
    }
    for (const form_node *c = node->first; c != NULL; c = c->next) {
        if (path->n == (int)(sizeof path->v / sizeof *path->v)) abort();
        path->v[path->n++] = c->key; /* NULL for a list item: "[]" */
        encode_node(b, c, path);
        path->n--;
    }
}

/* ---- the harness ---- */

/* Limits no looser than the defaults, taken from the input's own bytes so that a saved input
 * replays the same way: small enough that the fuzzer reaches every limit's error. */
static form_limits tight_limits(const uint8_t *data, size_t size)
{
    uint32_t h = fuzz_input_hash(data, size);
    form_limits lim;
    lim.max_depth = (int)(h % 6);                 /* 0..5 */
    lim.max_params = (int)((h >> 3) % 40);        /* 0..39 */
    lim.max_key_len = 1 + (h >> 9) % 64;          /* 1..64 */
    lim.max_value_len = (size_t)((h >> 15) % 96); /* 0..95 */
    return lim;
}

/* Decode with lim; check the result whichever it is. Returns the tree, or NULL when refused. */
static form_node *decode_checked(arena *a, const uint8_t *data, size_t size, const form_limits *lim)
{
    form_node *sentinel = (form_node *)&sentinel, *root = sentinel;
    const char *msg = NULL;
    int rc = form_parse(a, (const char *)data, size, lim, &root, &msg);
    if (rc != 0) {
        if (rc != -1) form_fail("a code other than 0 or -1", data, size);
        if (root != sentinel) form_fail("*root written on error", data, size);
        if (msg == NULL || msg[0] == '\0' || !util_utf8_valid(msg, strlen(msg)))
            form_fail("an error message that is empty or not UTF-8", data, size);
        return NULL;
    }
    if (root == NULL || root == sentinel || root->kind != FORM_MAP || root->key != NULL)
        form_fail("the root is not a map", data, size);

    walk w = {lim, size, 0, data};
    check_node(&w, root, 0);
    size_t pairs = 0;
    for (size_t i = 0; i < size; i++)
        pairs += data[i] == '&';
    if (w.leaves > pairs + 1 || w.leaves > (size_t)lim->max_params)
        form_fail("more values than pairs", data, size);
    return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new();

    form_node *def = decode_checked(a, data, size, &form_default_limits);
    form_limits lim = tight_limits(data, size);
    form_node *tight = decode_checked(a, data, size, &lim);
    if (tight != NULL && (def == NULL || !fuzz_tree_equal(tight, def)))
        form_fail("tighter limits accepted what the defaults refused or changed", data, size);

    if (def != NULL) {
        buf b;
        buf_init(&b, a);
        segs path = {.n = 0};
        encode_node(&b, def, &path);
        form_node *again = decode_checked(a, (const uint8_t *)b.data, b.len, &form_default_limits);
        if (again == NULL || !fuzz_tree_equal(def, again)) {
            fprintf(stderr, "fuzz_form: re-encoded as: %.*s\n", (int)b.len, b.data);
            form_fail("the canonical re-encoding decodes to another tree", data, size);
        }
    }

    arena_free(a);
    return 0;
}
