/*
 * fuzz_tree: what the decoder harnesses (fuzz_form.c, fuzz_json.c) share about the tree both
 * decoders build (form.h): comparing two trees, and the hash of an input's first bytes that
 * their tighter limits are derived from (so that a saved input replays the same way).
 */
#ifndef VERIFYD_FUZZ_TREE_H
#define VERIFYD_FUZZ_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/form.h"

/* 1 when x and y are the same tree: kinds, keys, values and order. */
static inline int fuzz_tree_equal(const form_node *x, const form_node *y)
{
    if (x->kind != y->kind || x->count != y->count) return 0;
    if ((x->key == NULL) != (y->key == NULL) || (x->key != NULL && strcmp(x->key, y->key) != 0))
        return 0;
    if (x->kind == FORM_STR) return x->len == y->len && memcmp(x->str, y->str, x->len) == 0;
    const form_node *a = x->first, *b = y->first;
    for (; a != NULL && b != NULL; a = a->next, b = b->next)
        if (!fuzz_tree_equal(a, b)) return 0;
    return a == NULL && b == NULL;
}

/* FNV-1a of the input's first 64 bytes. */
static inline uint32_t fuzz_input_hash(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

#endif
