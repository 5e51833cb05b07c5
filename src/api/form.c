/*
 * form: decodes Stripe's bracket form encoding (request bodies and query strings) into a tree of
 * form_node, as form.h describes. CONTRACT.md §1 "Request encoding".
 *
 * It is for turning untrusted bytes into a well-formed tree quickly (every request passes through
 * it) and for refusing hostile input cheaply: the number of parameters is counted before anything
 * is allocated, a key or value whose raw length already proves it too long is refused before it is
 * decoded, and nesting is walked with a loop bounded by max_depth, never by recursion. It is not
 * for deciding which parameters an endpoint accepts or what type they have: params.c does that.
 *
 * How it works: the input is split on '&', each pair on its first '='. The key is percent-decoded
 * into a scratch buffer (so %5B and %5D are brackets, as when SDKs encode them), checked for UTF-8
 * and NUL, then cut into a name and its [segments]. Children are found through one open-addressing
 * hash table per parse keyed by (parent, segment), so a hostile flat body of max_params distinct
 * keys costs linear time, not quadratic. Values are decoded straight into arena memory that
 * becomes the node's string.
 */
#include "api/form.h"

#include <stdint.h>
#include <string.h>

#include "base/util.h"

const form_limits form_default_limits = {
    .max_depth = 5,
    .max_params = 1000,
    .max_key_len = 512,
    .max_value_len = 64 * 1024,
};

/* A node as this file allocates it: the public part first, so a form_node * handed out is also a
 * pointer to the whole struct. The extra fields serve the lookup table only. */
typedef struct fnode {
    form_node pub;
    const struct fnode *parent;
    size_t key_len;
    uint32_t hash; /* of (parent, key); 0 for list items, which are never looked up */
    uint32_t id;   /* mixed into the children's hashes */
} fnode;

typedef struct parser {
    arena *a;
    const form_limits *lim;
    const char **errmsg;
    fnode **slots; /* open addressing, linear probing; size is a power of two */
    size_t mask;
    size_t used;
    uint32_t next_id;
} parser;

/* One [segment] (or the leading name) of a decoded key, as offsets into the key. */
typedef struct seg {
    size_t off, len;
    size_t end; /* offset just past this segment's ']' (or past the name): its prefix length */
} seg;

enum { FORM_ERR = -1 };

static int fail(parser *p, const char *msg)
{
    *p->errmsg = msg;
    return FORM_ERR;
}

/* ---- percent-decoding ------------------------------------------------------------------------ */

/* Values of the hex digits; other bytes read 0, and is_hex() tells them apart. */
static const unsigned char hexval[256] = {
    ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,  ['7'] = 7,
    ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

enum { DEC_OK = 0, DEC_BAD_ESCAPE = 1, DEC_NUL = 2, DEC_UTF8 = 3 };

/* 1 when none of the eight bytes in w needs attention: no '%', '+', NUL or byte >= 0x80. The
 * zero-byte test is the classic (v - 0x01..) & ~v & 0x80..; it can misplace a hit, never miss
 * one or invent one, and only "any" is asked here. */
static int word_plain(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t pct = w ^ (ones * '%'), plus = w ^ (ones * '+');
    uint64_t zero = ((w - ones) & ~w) | ((pct - ones) & ~pct) | ((plus - ones) & ~plus);
    return ((zero | w) & highs) == 0;
}

/* Decode src[0..n) into dst (room for n + 1 bytes): '+' is a space, %XX a byte. The result is
 * NUL-terminated, its length goes to *out. Returns DEC_OK or the reason it is refused. Runs of
 * plain ASCII are copied eight bytes at a time: this is most of every request body. */
static int decode(const char *src, size_t n, char *dst, size_t *out)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    unsigned high = 0;

    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (word_plain(w)) {
                memcpy(dst + o, &w, 8);
                i += 8;
                o += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c == '%') {
            if (n - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return DEC_BAD_ESCAPE;
            c = (unsigned char)(hexval[s[i + 1]] << 4 | hexval[s[i + 2]]);
            i += 3;
        } else {
            if (c == '+') c = ' ';
            i++;
        }
        if (c == 0) return DEC_NUL;
        high |= c;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    *out = o;
    /* Pure ASCII needs no further check. */
    if ((high & 0x80) && !util_utf8_valid(dst, o)) return DEC_UTF8;
    return DEC_OK;
}

/* ---- the child lookup table ------------------------------------------------------------------ */

/* Hash of a segment under its parent, eight bytes per step. It is not keyed: crafted collisions
 * can at worst make lookups as slow as a linear scan, which max_params already bounds. */
static uint32_t key_hash(uint32_t parent_id, const char *k, size_t n)
{
    const uint64_t mul = 0xbf58476d1ce4e5b9ull;
    uint64_t h = ((uint64_t)parent_id << 32 | (uint32_t)n) * 0x9e3779b97f4a7c15ull;
    uint64_t w;

    for (; n >= 8; k += 8, n -= 8) {
        memcpy(&w, k, 8);
        h = (h ^ w) * mul;
        h ^= h >> 31;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, k, n);
        h = (h ^ w) * mul;
        h ^= h >> 31;
    }
    h ^= h >> 32;
    return (uint32_t)h | 1; /* never 0, so a hash of 0 can mean "not in the table" */
}

static fnode *table_find(const parser *p, const fnode *parent, uint32_t h, const char *k, size_t n)
{
    for (size_t i = h & p->mask;; i = (i + 1) & p->mask) {
        fnode *e = p->slots[i];
        if (e == NULL) return NULL;
        if (e->hash == h && e->parent == parent && e->key_len == n && memcmp(e->pub.key, k, n) == 0)
            return e;
    }
}

static void table_put(parser *p, fnode *n)
{
    if ((p->used + 1) * 2 > p->mask + 1) {
        /* Grow to keep the load under one half. The old array stays in the arena; the sizes
         * double, so all arrays together take at most twice the final one. */
        size_t size = (p->mask + 1) * 2;
        fnode **slots = arena_calloc(p->a, size * sizeof *slots);
        for (size_t i = 0; i <= p->mask; i++) {
            fnode *e = p->slots[i];
            if (e == NULL) continue;
            size_t j = e->hash & (size - 1);
            while (slots[j] != NULL)
                j = (j + 1) & (size - 1);
            slots[j] = e;
        }
        p->slots = slots;
        p->mask = size - 1;
    }
    size_t i = n->hash & p->mask;
    while (p->slots[i] != NULL)
        i = (i + 1) & p->mask;
    p->slots[i] = n;
    p->used++;
}

/* ---- the tree -------------------------------------------------------------------------------- */

static fnode *node_new(parser *p, form_kind kind)
{
    fnode *n = arena_calloc(p->a, sizeof *n);
    n->pub.kind = kind;
    n->id = p->next_id++;
    return n;
}

static void append_child(fnode *parent, fnode *child)
{
    form_node *m = &parent->pub;
    child->parent = parent;
    if (m->last != NULL)
        m->last->next = &child->pub;
    else
        m->first = &child->pub;
    m->last = &child->pub;
    m->count++;
}

/* A keyed child of the map parent, created (and indexed) with the given kind. */
static fnode *keyed_child_new(parser *p, fnode *parent, form_kind kind, const char *k, size_t n,
                              uint32_t h)
{
    fnode *c = node_new(p, kind);
    c->pub.key = arena_strndup(p->a, k, n);
    c->key_len = n;
    c->hash = h;
    append_child(parent, c);
    table_put(p, c);
    return c;
}

static const char *kind_noun(form_kind k)
{
    return k == FORM_STR ? "a string" : k == FORM_MAP ? "an object" : "an array";
}

static int conflict(parser *p, const char *key, size_t prefix_len, form_kind have, form_kind want)
{
    *p->errmsg = arena_printf(p->a, "Conflicting parameters: %.*s is sent both as %s and as %s",
                              (int)prefix_len, key, kind_noun(have), kind_noun(want));
    return FORM_ERR;
}

/* Cut the decoded key into its name and [segments]. Returns the number of segments after the
 * name, or FORM_ERR. segs has room for max_depth + 1 entries (bounded as form_parse says). */
static int split_key(parser *p, const char *key, size_t n, seg *segs)
{
    const char *lb = memchr(key, '[', n);
    size_t name_len = lb != NULL ? (size_t)(lb - key) : n;
    int depth = 0;

    if (name_len == 0) goto bad;
    if (memchr(key, ']', name_len) != NULL) goto bad;
    segs[0] = (seg){0, name_len, name_len};

    for (size_t i = name_len; i < n;) {
        /* Here key[i] == '['. Find the segment's end; a '[' before the ']' is unbalanced. */
        size_t j = i + 1;
        while (j < n && key[j] != ']' && key[j] != '[')
            j++;
        if (j == n || key[j] == '[') goto bad;
        /* Stripe: "a[]" appends to a list, which only makes sense as the last segment. */
        if (depth > 0 && segs[depth].len == 0) goto bad;
        if (depth == p->lim->max_depth) {
            *p->errmsg = arena_printf(p->a,
                                      "Invalid parameter name: %.*s is nested too deeply (at "
                                      "most %d levels of brackets are allowed)",
                                      (int)n, key, p->lim->max_depth);
            return FORM_ERR;
        }
        depth++;
        segs[depth] = (seg){i + 1, j - i - 1, j + 1};
        i = j + 1;
        if (i < n && key[i] != '[') goto bad; /* "a[b]c" */
    }
    return depth;

bad:
    *p->errmsg = arena_printf(p->a, "Invalid parameter name: %.*s", (int)n, key);
    return FORM_ERR;
}

/* Put value (already decoded, arena memory) at the path segs[0..depth] of root. */
static int insert(parser *p, fnode *root, const char *key, const seg *segs, int depth,
                  const char *value, size_t value_len)
{
    fnode *cur = root;

    /* Every container before the last segment is a map: "[]" can only be last. */
    for (int j = 0; j < depth; j++) {
        form_kind want = segs[j + 1].len == 0 ? FORM_LIST : FORM_MAP;
        const char *k = key + segs[j].off;
        uint32_t h = key_hash(cur->id, k, segs[j].len);
        fnode *c = table_find(p, cur, h, k, segs[j].len);
        if (c == NULL)
            c = keyed_child_new(p, cur, want, k, segs[j].len, h);
        else if (c->pub.kind != want)
            return conflict(p, key, segs[j].end, c->pub.kind, want);
        cur = c;
    }

    if (depth > 0 && segs[depth].len == 0) {
        /* cur is the list the loop made or found. */
        fnode *item = node_new(p, FORM_STR);
        item->pub.str = value;
        item->pub.len = value_len;
        append_child(cur, item);
        return 0;
    }

    const char *k = key + segs[depth].off;
    uint32_t h = key_hash(cur->id, k, segs[depth].len);
    fnode *c = table_find(p, cur, h, k, segs[depth].len);
    if (c == NULL) {
        c = keyed_child_new(p, cur, FORM_STR, k, segs[depth].len, h);
    } else if (c->pub.kind != FORM_STR) {
        return conflict(p, key, segs[depth].end, c->pub.kind, FORM_STR);
    }
    /* Stripe: a repeated scalar keeps the last value, at the place of its first appearance. */
    c->pub.str = value;
    c->pub.len = value_len;
    return 0;
}

/* ---- the entry point ------------------------------------------------------------------------- */

/* Raw (encoded) length beyond which the decoded length must exceed max: each decoded byte takes
 * at most three raw ones. */
static size_t raw_bound(size_t max)
{
    return max > SIZE_MAX / 3 ? SIZE_MAX : max * 3;
}

static int key_too_long(parser *p)
{
    *p->errmsg =
        arena_printf(p->a, "Invalid parameter name: longer than %zu bytes", p->lim->max_key_len);
    return FORM_ERR;
}

/* The key is decoded and checked by the time its value is, so value errors can name it. */
static int value_too_long(parser *p, const char *key)
{
    *p->errmsg = arena_printf(p->a, "The value of %s is too long: at most %zu bytes are allowed",
                              key, p->lim->max_value_len);
    return FORM_ERR;
}

/* Decode one non-empty pair [pair, e) into the tree under top. key is scratch space for the
 * decoded key (room for raw_bound(max_key_len) + 1 bytes or the pair's length + 1). */
static int parse_pair(parser *p, fnode *top, const char *pair, const char *e, char *key, seg *segs)
{
    const char *eq = memchr(pair, '=', (size_t)(e - pair));
    const char *kend = eq != NULL ? eq : e;
    const char *vraw = eq != NULL ? eq + 1 : e;
    size_t kraw_len = (size_t)(kend - pair), vraw_len = (size_t)(e - vraw);
    size_t key_len, value_len;
    int depth;
    char *value;

    if (kraw_len > raw_bound(p->lim->max_key_len)) return key_too_long(p);
    switch (decode(pair, kraw_len, key, &key_len)) {
    case DEC_BAD_ESCAPE:
        return fail(p, "Invalid URL encoding in a parameter name");
    case DEC_NUL:
        return fail(p, "Invalid parameter name: contains a NUL character");
    case DEC_UTF8:
        return fail(p, "Invalid parameter name: not valid UTF-8");
    }
    if (key_len > p->lim->max_key_len) return key_too_long(p);
    if (key_len == 0) return fail(p, "Invalid parameter name: empty name");

    depth = split_key(p, key, key_len, segs);
    if (depth < 0) return FORM_ERR;

    if (vraw_len > raw_bound(p->lim->max_value_len)) return value_too_long(p, key);
    value = arena_alloc(p->a, vraw_len + 1);
    switch (decode(vraw, vraw_len, value, &value_len)) {
    case DEC_BAD_ESCAPE:
        *p->errmsg = arena_printf(p->a, "Invalid URL encoding in the value of %s", key);
        return FORM_ERR;
    case DEC_NUL:
        *p->errmsg = arena_printf(p->a, "The value of %s contains a NUL character", key);
        return FORM_ERR;
    case DEC_UTF8:
        *p->errmsg = arena_printf(p->a, "The value of %s is not valid UTF-8", key);
        return FORM_ERR;
    }
    if (value_len > p->lim->max_value_len) return value_too_long(p, key);

    return insert(p, top, key, segs, depth, value, value_len);
}

int form_parse(arena *a, const char *data, size_t len, const form_limits *lim, form_node **root,
               const char **errmsg)
{
    parser p = {.a = a, .lim = lim != NULL ? lim : &form_default_limits, .errmsg = errmsg};
    const char *end = data + len;
    size_t npairs = 0;

    if (p.lim->max_depth < 0 || p.lim->max_params < 0) return fail(&p, "Invalid form limits");

    /* Count the non-empty pairs first, so that a body with too many is refused before anything
     * is allocated. "a=1&&b=2" and a trailing '&' hold empty pairs, which are skipped. */
    for (const char *s = data; s < end;) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *e = amp != NULL ? amp : end;
        if (e > s) npairs++;
        s = e + 1;
    }
    if (npairs > (size_t)p.lim->max_params) {
        *errmsg = arena_printf(a, "Too many parameters: at most %d are allowed", p.lim->max_params);
        return FORM_ERR;
    }

    /* Nothing past this point needs undoing on failure: everything is arena memory and *root is
     * written only at the end. */
    size_t size = 16;
    while (size < npairs * 4)
        size *= 2;
    p.slots = arena_calloc(a, size * sizeof *p.slots);
    p.mask = size - 1;

    fnode *top = node_new(&p, FORM_MAP);
    /* A key has at most one segment per two bytes, so this bounds segs whatever max_depth is. */
    size_t max_segs = (size_t)p.lim->max_depth;
    if (max_segs > p.lim->max_key_len / 2) max_segs = p.lim->max_key_len / 2;
    seg *segs = arena_alloc(a, (max_segs + 1) * sizeof *segs);
    size_t max_raw_key = raw_bound(p.lim->max_key_len);
    char *key = arena_alloc(a, (len < max_raw_key ? len : max_raw_key) + 1);

    for (const char *s = data; s < end;) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *e = amp != NULL ? amp : end;
        if (e > s && parse_pair(&p, top, s, e, key, segs) != 0) return FORM_ERR;
        s = e + 1;
    }

    *root = &top->pub;
    return 0;
}

form_node *form_get(const form_node *map, const char *key)
{
    if (map == NULL || map->kind != FORM_MAP || key == NULL) return NULL;
    for (form_node *c = map->first; c != NULL; c = c->next)
        if (strcmp(c->key, key) == 0) return c;
    return NULL;
}
