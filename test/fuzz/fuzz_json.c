/*
 * fuzz_json: libFuzzer harness for the v2 JSON body decoder (src/api/json_body.c). Any bytes go
 * in, as a v2 request body would; nothing may crash, leak or hit undefined behaviour, and the
 * tree that comes out must keep the promises of json_body.h:
 *
 *  - shape: the root is a map without a key; a map's children have keys, all distinct (a
 *    repeated key kept once); list items have none; count, first, last and next agree; no deeper
 *    than max_depth + 1; no more values than max_values;
 *  - strings: every key and value is NUL-terminated at its length, holds no NUL, is valid UTF-8
 *    and is no longer than its limit;
 *  - errors: a refusal is -1 with a non-empty message that is valid UTF-8 (it is quoted to the
 *    client) and leaves *root untouched;
 *  - limits are monotonic: decoded again under tighter limits derived from its own bytes, a
 *    success there means the default decode succeeded with an equal tree;
 *  - the tree round-trips: every leaf written back as a JSON string (numbers, booleans and null
 *    already are strings in the tree) decodes to an equal tree under the same limits.
 *
 * Seeds are plain JSON (corpus/json/). Not for: what the v2 endpoints accept (fuzz_pipeline.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_body.h"
#include "base/arena.h"
#include "base/util.h"
#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_json: %s (input of %zu bytes: %.*s)\n", what, size,
            (int)(size < 200 ? size : 200), (const char *)data);
    abort();
}

/* ---- the tree's own promises ---- */

typedef struct walk {
    const json_body_limits *lim;
    const uint8_t *data;
    size_t size;
    int values;
} walk;

static void check_string(walk *w, const char *s, size_t len, size_t max)
{
    if (s == NULL) json_fail("a string that is NULL", w->data, w->size);
    if (s[len] != '\0' || strlen(s) != len)
        json_fail("a string not NUL-terminated at its length", w->data, w->size);
    if (len > max) json_fail("a string beyond its limit", w->data, w->size);
    if (!util_utf8_valid(s, len)) json_fail("a string that is not UTF-8", w->data, w->size);
}

/* Check node (at depth levels below the root) and everything under it. */
static void check_node(walk *w, const form_node *node, int depth)
{
    if (depth > w->lim->max_depth + 1) json_fail("nested deeper than max_depth", w->data, w->size);
    if (depth > 0 && ++w->values > w->lim->max_values)
        json_fail("more values than max_values", w->data, w->size);
    if (node->kind == FORM_STR) {
        /* The literals true and false are their words whatever the limit (json_body.h bounds
         * the strings and numbers that come from the input). */
        int literal = strcmp(node->str, "true") == 0 || strcmp(node->str, "false") == 0;
        check_string(w, node->str, node->len, literal ? 5 : w->lim->max_value_len);
        if (node->first != NULL || node->count != 0)
            json_fail("a string with children", w->data, w->size);
        return;
    }
    if (node->kind != FORM_MAP && node->kind != FORM_LIST)
        json_fail("an unknown node kind", w->data, w->size);
    size_t n = 0;
    const form_node *last = NULL;
    for (const form_node *c = node->first; c != NULL; c = c->next) {
        if (++n > node->count) json_fail("more children than count", w->data, w->size);
        if (node->kind == FORM_LIST) {
            if (c->key != NULL) json_fail("a list item with a key", w->data, w->size);
        } else {
            check_string(w, c->key, c->key != NULL ? strlen(c->key) : 0, w->lim->max_key_len);
            /* Distinct keys: a linear scan each, bounded by the first children (a flat body of
             * 1000 keys would otherwise cost a million comparisons per input). */
            if (n <= 16)
                for (const form_node *d = c->next; d != NULL; d = d->next)
                    if (strcmp(c->key, d->key) == 0) json_fail("a repeated key", w->data, w->size);
            if (n <= 8 && form_get(node, c->key) != c)
                json_fail("form_get misses a child", w->data, w->size);
        }
        check_node(w, c, depth + 1);
        last = c;
    }
    if (n != node->count || node->last != last)
        json_fail("count or last disagree", w->data, w->size);
}

/* ---- comparing and re-encoding trees ---- */

/* s as a JSON string: '"', '\\' and control bytes escaped, UTF-8 as it is. */
static void put_string(buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_putc(b, (char)c);
    }
    buf_putc(b, '"');
}

static void encode_node(buf *b, const form_node *node)
{
    if (node->kind == FORM_STR) {
        put_string(b, node->str, node->len);
        return;
    }
    buf_putc(b, node->kind == FORM_MAP ? '{' : '[');
    for (const form_node *c = node->first; c != NULL; c = c->next) {
        if (c != node->first) buf_putc(b, ',');
        if (node->kind == FORM_MAP) {
            put_string(b, c->key, strlen(c->key));
            buf_putc(b, ':');
        }
        encode_node(b, c);
    }
    buf_putc(b, node->kind == FORM_MAP ? '}' : ']');
}

/* ---- the harness ---- */

/* Limits no looser than the defaults, taken from the input's own bytes so that a saved input
 * replays the same way: small enough that the fuzzer reaches every limit's error. */
static json_body_limits tight_limits(const uint8_t *data, size_t size)
{
    uint32_t h = fuzz_input_hash(data, size);
    json_body_limits lim;
    lim.max_depth = (int)(h % 6);                 /* 0..5 */
    lim.max_values = (int)((h >> 3) % 40);        /* 0..39 */
    lim.max_key_len = (h >> 9) % 64;              /* 0..63 */
    lim.max_value_len = (size_t)((h >> 15) % 96); /* 0..95 */
    return lim;
}

/* Decode with lim; check the result whichever it is. Returns the tree, or NULL when refused. */
static form_node *decode_checked(arena *a, const uint8_t *data, size_t size,
                                 const json_body_limits *lim)
{
    form_node *sentinel = (form_node *)&sentinel, *root = sentinel;
    const char *msg = NULL;
    int rc = json_body_parse(a, (const char *)data, size, lim, &root, &msg);
    if (rc != 0) {
        if (rc != -1) json_fail("a code other than 0 or -1", data, size);
        if (root != sentinel) json_fail("*root written on error", data, size);
        if (msg == NULL || msg[0] == '\0' || !util_utf8_valid(msg, strlen(msg)))
            json_fail("an error message that is empty or not UTF-8", data, size);
        return NULL;
    }
    if (root == NULL || root == sentinel || root->kind != FORM_MAP || root->key != NULL)
        json_fail("the root is not a map", data, size);
    walk w = {lim, data, size, 0};
    check_node(&w, root, 0);
    return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new();
    form_node *full = decode_checked(a, data, size, &json_body_default_limits);
    json_body_limits tight = tight_limits(data, size);
    form_node *small = decode_checked(a, data, size, &tight);
    if (small != NULL && (full == NULL || !fuzz_tree_equal(small, full)))
        json_fail("accepted under tighter limits but not alike under the defaults", data, size);
    if (full != NULL) {
        buf b;
        buf_init(&b, a);
        encode_node(&b, full);
        form_node *again =
            decode_checked(a, (const uint8_t *)b.data, b.len, &json_body_default_limits);
        if (again == NULL || !fuzz_tree_equal(again, full))
            json_fail("the re-encoded tree decodes differently", data, size);
    }
    arena_free(a);
    return 0;
}
