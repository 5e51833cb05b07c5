/*
 * form: the decoder for Stripe's form encoding (application/x-www-form-urlencoded bodies and
 * query strings) with bracket notation, into a tree. CONTRACT.md §1 "Request encoding".
 *
 *   a=1                 -> map{a: "1"}
 *   a[b][c]=1           -> map{a: map{b: map{c: "1"}}}
 *   a[]=x&a[]=y         -> map{a: list["x","y"]}
 *   a[0]=x&a[1]=y       -> map{a: map{"0":"x","1":"y"}}  (params.c reads a map with index keys
 *                          as an array, because metadata[0]=x is a legitimate map key)
 *   a=                  -> map{a: ""}   (empty string: "unset" for metadata and options[document])
 *
 * '+' is a space; %XX is decoded (a bad or truncated escape is an error); keys and values must
 * then be valid UTF-8 without NUL. Keys are decoded before their brackets are read, so %5B and
 * %5D are brackets. A pair without '=' ("a") has the value "". Empty pairs ("a=1&&b=2", a
 * trailing '&') are skipped and do not count against max_params. A repeated scalar key keeps the
 * last value, at the place of its first appearance (as Stripe does); list items repeat freely.
 *
 * Malformed input is an error with a message fit for a 400 (the caller picks the code):
 *   "Too many parameters: at most N are allowed"           (checked before any allocation)
 *   "Invalid parameter name: longer than N bytes"
 *   "Invalid URL encoding in a parameter name"
 *   "Invalid parameter name: contains a NUL character" / "...: not valid UTF-8"
 *   "Invalid parameter name: empty name"                   ("=x")
 *   "Invalid parameter name: <key>"                        (unbalanced brackets, "[x]", "a[b]c",
 *                                                           "a[]b", "[]" not last as in "a[][b]")
 *   "Invalid parameter name: <key> is nested too deeply (at most N levels of brackets are
 *    allowed)"
 *   "Conflicting parameters: <prefix> is sent both as a string and as an object" (any two of a
 *    string, an object, an array: "a=1&a[b]=2", "a[]=1&a[b]=2", "a[b]=1&a=2")
 *   "Invalid URL encoding in the value of <key>"
 *   "The value of <key> contains a NUL character" / "... is not valid UTF-8"
 *   "The value of <key> is too long: at most N bytes are allowed"
 * Keys are quoted only once decoded and checked, so messages are always valid UTF-8.
 *
 * Cost: linear in the input (children are found through a hash table); at most max_params *
 * (max_depth + 1) nodes. Nesting is walked with loops, never recursion.
 *
 * All nodes and strings live in the arena; nothing to free separately.
 */
#ifndef VERIFYD_FORM_H
#define VERIFYD_FORM_H

#include <stddef.h>

#include "base/arena.h"

typedef enum { FORM_STR, FORM_MAP, FORM_LIST } form_kind;

typedef struct form_node {
    form_kind kind;
    const char *key;         /* name within the parent map; NULL for list items and the root */
    const char *str;         /* FORM_STR: decoded value, NUL-terminated */
    size_t len;              /* FORM_STR: length of str */
    struct form_node *first; /* FORM_MAP / FORM_LIST: children in order of first appearance */
    struct form_node *last;
    struct form_node *next; /* next sibling */
    size_t count;           /* number of children */
} form_node;

typedef struct form_limits {
    int max_depth;        /* bracket segments after the name, e.g. a[b][c] is 2 */
    int max_params;       /* key=value pairs */
    size_t max_key_len;   /* decoded length of a whole key */
    size_t max_value_len; /* decoded length of one value */
} form_limits;

/* Defaults: depth 5, 1000 params, key 512 bytes, value 64 KiB. */
extern const form_limits form_default_limits;

/* Decode data[0..len) into *root (a FORM_MAP, possibly empty). lim NULL means
 * form_default_limits. Returns 0, or -1 with *errmsg (a literal or arena memory) describing the
 * problem; on error *root is untouched. data need not be NUL-terminated. */
int form_parse(arena *a, const char *data, size_t len, const form_limits *lim, form_node **root,
               const char **errmsg);

/* Child of a FORM_MAP by key, or NULL (also when map is NULL or not a map). */
form_node *form_get(const form_node *map, const char *key);

#endif
