/*
 * params: checks a decoded form (form.h) against an endpoint's param_spec table and answers the
 * first problem with Stripe's error object; then reads the values back, typed. The codes and
 * messages are listed in params.h. CONTRACT.md §1 "Request encoding", "Metadata", §11 "Errors".
 *
 * It is for the shape of a request: which names exist, their types, lengths, enums and ranges.
 * It is not for rules that need state or span several parameters (type vs verification_flow,
 * metadata key counts after merging with stored keys, expand paths): the handlers do those.
 *
 * Validation makes two passes over the tree, both in the order the parameters first appeared:
 * the first only looks for unknown names (Stripe reports those before anything else), the second
 * checks every value and, when an object is done, its required fields. Both passes recurse along
 * the spec, whose depth is fixed at compile time, so hostile nesting cannot deepen them. The
 * bracket-form `param` of an error is built only when an error is reported, from a chain of
 * path links on the stack.
 */
#include "api/params.h"

#include <string.h>
#include <strings.h>

#include "identity/limits.h"

#define DEFAULT_MAX_LEN 5000
#define DEFAULT_MAX_ITEMS 100
/* Values echoed in messages are cut to this many characters. */
#define ECHO_MAX 100
/* Stripe's too-long message quotes the first 20 characters. */
#define TOO_LONG_ECHO 20

/* One step of the path to the parameter being checked: a map key, or an array index. */
typedef struct ppath {
    const struct ppath *up;
    const char *key; /* NULL: an array index */
    size_t index;
} ppath;

typedef struct ctx {
    arena *a;
    apierr *err;
} ctx;

/* ---- helpers --------------------------------------------------------------------------------- */

static void path_render(buf *b, const ppath *p)
{
    if (p->up != NULL) path_render(b, p->up);
    if (p->key != NULL) {
        if (p->up != NULL) buf_putc(b, '[');
        buf_puts(b, p->key);
        if (p->up != NULL) buf_putc(b, ']');
    } else {
        buf_printf(b, "[%zu]", p->index);
    }
}

/* The bracket form of the path, e.g. "options[document][allowed_types][0]", in the arena. */
static const char *path_str(ctx *c, const ppath *p)
{
    buf b;
    buf_init(&b, c->a);
    path_render(&b, p);
    return b.data;
}

/* Characters (code points) in UTF-8 s[0..n); form.c has checked that the input is UTF-8. */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) chars++;
    return chars;
}

/* Byte length of the first max characters of s[0..n). */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    size_t chars = 0, i;
    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == max) break;
            chars++;
        }
    }
    return i;
}

/* s as it is quoted in a message: whole, or its first max characters and "...". */
static const char *echo(ctx *c, const char *s, size_t n, size_t max)
{
    size_t cut = utf8_prefix(s, n, max);
    if (cut == n) return s;
    return arena_printf(c->a, "%.*s...", (int)cut, s);
}

static const char *kind_noun(form_kind k)
{
    return k == FORM_STR ? "a string" : k == FORM_MAP ? "an object" : "an array";
}

static const param_spec *find_field(const param_spec *fields, const char *name)
{
    if (fields == NULL) return NULL;
    for (const param_spec *f = fields; f->name != NULL; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

/* Parses a decimal integer: optional '-', then digits only. Returns 0 and *out, or -1. */
static int parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, limit;

    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n) return -1;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10) return -1;
        v = v * 10 + d;
    }
    /* -2^63 cannot be negated in int64_t, so build it from its parts. */
    *out = neg ? (v == 0 ? 0 : -(int64_t)(v - 1) - 1) : (int64_t)v;
    return 0;
}

/* The index a key of a map-form array stands for: "0", "1", ... without leading zeros, below
 * count. Returns 0 and *out, or -1. */
static int parse_index(const char *key, size_t count, size_t *out)
{
    size_t v = 0, n = strlen(key);
    if (n == 0 || n > 19 || (key[0] == '0' && n > 1)) return -1;
    for (size_t i = 0; i < n; i++) {
        if (key[i] < '0' || key[i] > '9') return -1;
        v = v * 10 + (size_t)(key[i] - '0');
    }
    if (v >= count) return -1;
    *out = v;
    return 0;
}

/* The key of a FORM_MAP array that is not an index, or NULL when all are. The keys of a map are
 * distinct, so count distinct indexes below count are exactly 0..count-1. */
static const char *bad_index_key(const form_node *map)
{
    size_t ix;
    for (const form_node *c = map->first; c != NULL; c = c->next)
        if (parse_index(c->key, map->count, &ix) != 0) return c->key;
    return NULL;
}

static int is_range_key(const char *k)
{
    return strcmp(k, "gt") == 0 || strcmp(k, "gte") == 0 || strcmp(k, "lt") == 0 ||
           strcmp(k, "lte") == 0;
}

/* ---- pass 1: unknown parameters -------------------------------------------------------------- */

static int unknown_in_value(ctx *c, const form_node *node, const param_spec *f, const ppath *p);

static int unknown_in_object(ctx *c, const form_node *map, const param_spec *fields,
                             const ppath *up)
{
    for (const form_node *n = map->first; n != NULL; n = n->next) {
        ppath p = {up, n->key, 0};
        const param_spec *f = find_field(fields, n->key);
        /* Stripe: CONTRACT.md §1, additionalProperties:false everywhere. */
        if (f == NULL)
            return apierr_invalid(c->err, c->a, "parameter_unknown", path_str(c, &p),
                                  "Received unknown parameter: %s", path_str(c, &p));
        if (unknown_in_value(c, n, f, &p) != 0) return -1;
    }
    return 0;
}

static int unknown_in_value(ctx *c, const form_node *node, const param_spec *f, const ppath *p)
{
    switch (f->type) {
    case P_OBJECT:
        if (node->kind == FORM_MAP) return unknown_in_object(c, node, f->fields, p);
        return 0;
    case P_ARRAY: {
        /* Items are looked into only when the array has a valid shape; pass 2 reports bad ones. */
        if (f->fields == NULL || node->kind == FORM_STR) return 0;
        if (node->kind == FORM_MAP && bad_index_key(node) != NULL) return 0;
        size_t i = 0;
        for (const form_node *n = node->first; n != NULL; n = n->next, i++) {
            ppath ip = {p, NULL, i};
            if (node->kind == FORM_MAP) parse_index(n->key, node->count, &ip.index);
            if (unknown_in_value(c, n, &f->fields[0], &ip) != 0) return -1;
        }
        return 0;
    }
    case P_RANGE:
        if (node->kind != FORM_MAP) return 0;
        for (const form_node *n = node->first; n != NULL; n = n->next) {
            if (is_range_key(n->key)) continue;
            ppath kp = {p, n->key, 0};
            return apierr_invalid(c->err, c->a, "parameter_unknown", path_str(c, &kp),
                                  "Received unknown parameter: %s", path_str(c, &kp));
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- pass 2: values -------------------------------------------------------------------------- */

static int check_value(ctx *c, const form_node *node, const param_spec *f, const ppath *p);

static int invalid_type(ctx *c, const ppath *p, const char *what, const char *expected,
                        form_kind got)
{
    const char *param = path_str(c, p);
    return apierr_invalid(c->err, c->a, "parameter_invalid_type", param,
                          "Invalid %s: %s must be %s, not %s", what, param, expected,
                          kind_noun(got));
}

/* Stripe's answer when an array or an object (a "hash") is expected and something else comes:
 * "Invalid array" / "Invalid hash", with the param and no code, as its 400s quoted in public
 * issues read (stripe/stripe-cli#47 for expand=x, stripe/stripe-ruby#761). */
static int invalid_container(ctx *c, const ppath *p, int array)
{
    return apierr_invalid(c->err, c->a, NULL, path_str(c, p), "%s",
                          array ? "Invalid array" : "Invalid hash");
}

/* Stripe's wording for an empty string sent to a parameter that cannot be unset. */
static int invalid_empty(ctx *c, const ppath *p)
{
    const char *param = path_str(c, p);
    return apierr_invalid(c->err, c->a, "parameter_invalid_empty", param,
                          "You passed an empty string for '%s'. We assume empty values are an "
                          "attempt to unset a parameter; however '%s' cannot be unset. You "
                          "should remove '%s' from your request or supply a non-empty value.",
                          param, param, param);
}

static int invalid_integer(ctx *c, const ppath *p, const form_node *node)
{
    return apierr_invalid(c->err, c->a, "parameter_invalid_integer", path_str(c, p),
                          "Invalid integer: %s", echo(c, node->str, node->len, ECHO_MAX));
}

/* A string node holding an integer in [min, max] (both 0: any int64). */
static int check_int(ctx *c, const form_node *node, int64_t min, int64_t max, const ppath *p)
{
    int64_t v;
    if (node->kind != FORM_STR) return invalid_type(c, p, "integer", "an integer", node->kind);
    if (node->len == 0) return invalid_empty(c, p);
    if (parse_int(node->str, node->len, &v) != 0) return invalid_integer(c, p, node);
    if (min == 0 && max == 0) return 0;
    if (v < min)
        return apierr_invalid(c->err, c->a, "parameter_invalid_integer", path_str(c, p),
                              "This value must be greater than or equal to %lld.", (long long)min);
    if (v > max)
        return apierr_invalid(c->err, c->a, "parameter_invalid_integer", path_str(c, p),
                              "This value must be less than or equal to %lld.", (long long)max);
    return 0;
}

static int check_enum(ctx *c, const form_node *node, const param_spec *f, const ppath *p)
{
    buf b;
    size_t n = 0;

    for (const char *const *e = f->enums; e != NULL && *e != NULL; e++, n++)
        if (strcmp(*e, node->str) == 0) return 0;

    /* "must be one of a, b, or c"; "one of a or b"; "a". */
    buf_init(&b, c->a);
    buf_printf(&b, "Invalid %s: must be ", path_str(c, p));
    if (n > 1) buf_puts(&b, "one of ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && n > 2) buf_puts(&b, ", ");
        if (i > 0 && i == n - 1) buf_puts(&b, n > 2 ? "or " : " or ");
        buf_puts(&b, f->enums[i]);
    }
    return apierr_invalid(c->err, c->a, "parameter_invalid_value", path_str(c, p), "%s", b.data);
}

static int check_string(ctx *c, const form_node *node, const param_spec *f, const ppath *p)
{
    size_t max = f->max_len != 0 ? f->max_len : DEFAULT_MAX_LEN;
    /* Fewer bytes than max means fewer characters too; count only when it could matter. */
    if (node->len <= max || utf8_chars(node->str, node->len) <= max) return 0;
    return apierr_invalid(c->err, c->a, "parameter_invalid_string_too_long", path_str(c, p),
                          "Invalid string: %.*s...; must be at most %zu characters",
                          (int)utf8_prefix(node->str, node->len, TOO_LONG_ECHO), node->str, max);
}

static int check_object(ctx *c, const form_node *map, const param_spec *fields, const ppath *up)
{
    for (const form_node *n = map != NULL ? map->first : NULL; n != NULL; n = n->next) {
        ppath p = {up, n->key, 0};
        /* Pass 1 guarantees that every key names a field. */
        if (check_value(c, n, find_field(fields, n->key), &p) != 0) return -1;
    }
    for (const param_spec *f = fields; f != NULL && f->name != NULL; f++) {
        if (!(f->flags & P_REQUIRED) || form_get(map, f->name) != NULL) continue;
        ppath p = {up, f->name, 0};
        return apierr_invalid(c->err, c->a, "parameter_missing", path_str(c, &p),
                              "Missing required param: %s.", path_str(c, &p));
    }
    return 0;
}

static int check_array(ctx *c, const form_node *node, const param_spec *f, const ppath *p)
{
    static const param_spec any_string = {"item", P_STRING, 0, 0, NULL, NULL, 0, 0, 0};
    const param_spec *item = f->fields != NULL ? &f->fields[0] : &any_string;
    size_t max = f->max_items != 0 ? f->max_items : DEFAULT_MAX_ITEMS;

    if (node->kind == FORM_STR) return invalid_container(c, p, 1);
    if (node->kind == FORM_MAP && bad_index_key(node) != NULL) return invalid_container(c, p, 1);
    if (node->count > max) {
        const char *param = path_str(c, p);
        return apierr_invalid(c->err, c->a, "parameter_invalid_array_too_long", param,
                              "Invalid array: %s can have at most %zu items; you passed %zu", param,
                              max, node->count);
    }
    size_t i = 0;
    for (const form_node *n = node->first; n != NULL; n = n->next, i++) {
        ppath ip = {p, NULL, i};
        if (node->kind == FORM_MAP) parse_index(n->key, node->count, &ip.index);
        if (check_value(c, n, item, &ip) != 0) return -1;
    }
    return 0;
}

/* Stripe: CONTRACT.md §1 "Metadata" (50 keys, 40-character keys, 500-character values; "" unsets
 * one key or, for the whole map, all of them). Stripe sends no code with these errors. */
static int check_metadata(ctx *c, const form_node *node, const ppath *p)
{
    if (node->kind == FORM_STR) {
        if (node->len == 0) return 0;
        return invalid_container(c, p, 0);
    }
    if (node->kind == FORM_LIST) return invalid_container(c, p, 0);
    if (node->count > METADATA_MAX_KEYS)
        return apierr_invalid(c->err, c->a, NULL, path_str(c, p),
                              "Metadata can have up to %d keys, but you've set %zu.",
                              METADATA_MAX_KEYS, node->count);
    for (const form_node *n = node->first; n != NULL; n = n->next) {
        ppath kp = {p, n->key, 0};
        size_t klen = strlen(n->key), kchars;
        if (n->kind != FORM_STR) return invalid_type(c, &kp, "string", "a string", n->kind);
        if (klen > METADATA_MAX_KEY_LEN &&
            (kchars = utf8_chars(n->key, klen)) > METADATA_MAX_KEY_LEN)
            return apierr_invalid(c->err, c->a, NULL, path_str(c, &kp),
                                  "Metadata keys can have up to %d characters, but you passed in "
                                  "a key that is %zu characters. Invalid key: %s",
                                  METADATA_MAX_KEY_LEN, kchars, n->key);
        if (n->len > METADATA_MAX_VALUE_LEN) {
            size_t vchars = utf8_chars(n->str, n->len);
            if (vchars > METADATA_MAX_VALUE_LEN)
                return apierr_invalid(c->err, c->a, NULL, path_str(c, &kp),
                                      "Metadata values can have up to %d characters, but you "
                                      "passed in a value that is %zu characters. Invalid value: "
                                      "%s",
                                      METADATA_MAX_VALUE_LEN, vchars,
                                      echo(c, n->str, n->len, ECHO_MAX));
        }
    }
    return 0;
}

static int check_range(ctx *c, const form_node *node, const ppath *p)
{
    if (node->kind == FORM_STR) return check_int(c, node, 0, 0, p);
    if (node->kind == FORM_LIST) {
        const char *param = path_str(c, p);
        return apierr_invalid(c->err, c->a, "parameter_invalid_type", param,
                              "Invalid range: %s must be an integer or an object with gt, gte, lt "
                              "or lte, not an array",
                              param);
    }
    for (const form_node *n = node->first; n != NULL; n = n->next) {
        ppath kp = {p, n->key, 0};
        if (check_int(c, n, 0, 0, &kp) != 0) return -1;
    }
    return 0;
}

static int check_value(ctx *c, const form_node *node, const param_spec *f, const ppath *p)
{
    /* Stripe: an empty string is an attempt to unset, allowed only where the spec says so. */
    if (node->kind == FORM_STR && node->len == 0 && f->type != P_METADATA) {
        if (f->flags & P_EMPTY_OK) return 0;
        return invalid_empty(c, p);
    }

    switch (f->type) {
    case P_STRING:
        if (node->kind != FORM_STR) return invalid_type(c, p, "string", "a string", node->kind);
        return check_string(c, node, f, p);
    case P_INT:
        return check_int(c, node, f->min, f->max, p);
    case P_BOOL:
        if (node->kind != FORM_STR) return invalid_type(c, p, "boolean", "a boolean", node->kind);
        /* CONTRACT.md §11: in any letter case (older stripe-python sends True / False). */
        if (strcasecmp(node->str, "true") == 0 || strcasecmp(node->str, "false") == 0) return 0;
        return apierr_invalid(c->err, c->a, "parameter_invalid_boolean", path_str(c, p),
                              "Invalid boolean: %s", echo(c, node->str, node->len, ECHO_MAX));
    case P_ENUM:
        if (node->kind != FORM_STR) return invalid_type(c, p, "string", "a string", node->kind);
        return check_enum(c, node, f, p);
    case P_OBJECT:
        if (node->kind != FORM_MAP) return invalid_container(c, p, 0);
        return check_object(c, node, f->fields, p);
    case P_ARRAY:
        return check_array(c, node, f, p);
    case P_METADATA:
        return check_metadata(c, node, p);
    case P_RANGE:
        return check_range(c, node, p);
    }
    return 0;
}

int params_validate(const form_node *root, const param_spec *spec, arena *a, apierr *err)
{
    ctx c = {a, err};
    if (root != NULL && root->kind != FORM_MAP)
        return apierr_invalid(err, a, NULL, NULL, "Invalid request parameters");
    if (root != NULL && unknown_in_object(&c, root, spec, NULL) != 0) return -1;
    return check_object(&c, root, spec, NULL);
}

/* ---- readers --------------------------------------------------------------------------------- */

const char *params_str(const form_node *map, const char *key)
{
    const form_node *n = form_get(map, key);
    return n != NULL && n->kind == FORM_STR ? n->str : NULL;
}

int params_bool(const form_node *map, const char *key, int dflt)
{
    const char *s = params_str(map, key);
    if (s == NULL) return dflt;
    if (strcasecmp(s, "true") == 0) return 1;
    if (strcasecmp(s, "false") == 0) return 0;
    return dflt;
}

int64_t params_int(const form_node *map, const char *key, int64_t dflt)
{
    const form_node *n = form_get(map, key);
    int64_t v;
    if (n == NULL || n->kind != FORM_STR || parse_int(n->str, n->len, &v) != 0) return dflt;
    return v;
}

int params_is_empty(const form_node *map, const char *key)
{
    const form_node *n = form_get(map, key);
    return n != NULL && n->kind == FORM_STR && n->len == 0;
}

size_t params_array(const form_node *node, arena *a, const form_node ***items)
{
    const form_node **v;
    size_t i = 0;

    *items = NULL;
    if (node == NULL || node->kind == FORM_STR || node->count == 0) return 0;
    v = arena_calloc(a, node->count * sizeof *v);
    if (node->kind == FORM_MAP && bad_index_key(node) == NULL) {
        for (const form_node *n = node->first; n != NULL; n = n->next) {
            size_t ix = 0;
            parse_index(n->key, node->count, &ix);
            v[ix] = n;
        }
    } else {
        /* A list, or (unvalidated) a map that is not an array: children in order. */
        for (const form_node *n = node->first; n != NULL; n = n->next)
            v[i++] = n;
    }
    *items = v;
    return node->count;
}

int params_metadata(const form_node *map, arena *a, metadata_update *u)
{
    const form_node *md = form_get(map, "metadata");
    *u = (metadata_update){0};
    if (md == NULL) return 0;
    if (md->kind == FORM_STR) {
        u->clear = 1;
        return 1;
    }
    metadata_kv *set = arena_alloc(a, (md->count + 1) * sizeof *set);
    for (const form_node *n = md->first; n != NULL; n = n->next) {
        if (n->key == NULL) continue; /* list items: refused by validation */
        /* Anything but a string (refused by validation) removes its key, as "" does. */
        set[u->n_set++] = (metadata_kv){n->key, n->kind == FORM_STR ? n->str : ""};
    }
    u->set = set;
    return 1;
}

/* 1 and *v when map holds an integer under key, else 0. */
static int range_bound(const form_node *map, const char *key, int64_t *v)
{
    const form_node *b = form_get(map, key);
    return b != NULL && b->kind == FORM_STR && parse_int(b->str, b->len, v) == 0;
}

void params_get_range(const form_node *map, const char *key, params_range *r)
{
    const form_node *n = form_get(map, key);
    memset(r, 0, sizeof *r);
    if (n == NULL) return;
    if (n->kind == FORM_STR) {
        r->has_eq = parse_int(n->str, n->len, &r->eq) == 0;
        return;
    }
    r->has_gt = range_bound(n, "gt", &r->gt);
    r->has_gte = range_bound(n, "gte", &r->gte);
    r->has_lt = range_bound(n, "lt", &r->lt);
    r->has_lte = range_bound(n, "lte", &r->lte);
}
