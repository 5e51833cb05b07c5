/*
 * json_body: a bounded JSON decoder into form nodes (see json_body.h). Not for: writing JSON
 * (base/json.c) or validating what was decoded (params.c).
 */
#include "api/json_body.h"

#include <string.h>

#include "base/util.h"

const json_body_limits json_body_default_limits = {
    .max_depth = 5, .max_values = 1000, .max_key_len = 512, .max_value_len = 65536};

typedef struct parser {
    arena *a;
    const char *p, *start, *end;
    const json_body_limits *lim;
    int values;
    const char *err;
} parser;

static int fail(parser *ps, const char *what)
{
    if (ps->err == NULL)
        ps->err =
            arena_printf(ps->a, "Invalid JSON at byte %zu: %s", (size_t)(ps->p - ps->start), what);
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xc0 | cp >> 6));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xe0 | cp >> 12));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_putc(b, (char)(0xf0 | cp >> 18));
        buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* A string at ps->p (the opening quote) into *out / *out_len, at most max bytes decoded. The
 * raw length bounds the decoded one, so the bound is checked before copying. */
static int parse_string(parser *ps, size_t max, const char **out, size_t *out_len)
{
    ps->p++; /* the quote */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
    }
    if (q >= ps->end) return fail(ps, "unterminated string");
    buf b;
    buf_init(&b, ps->a);
    buf_reserve(&b, (size_t)(q - ps->p) + 1);
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) return fail(ps, "control character in a string");
        if (c != '\\') {
            buf_putc(&b, (char)c);
            ps->p++;
        } else {
            char e = ps->p[1];
            ps->p += 2;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = e ? strchr(from, e) : NULL;
            if (k) {
                buf_putc(&b, to[k - from]);
            } else if (e == 'u') {
                unsigned cp, lo;
                if (q - ps->p < 4 || hex4(ps->p, &cp) != 0) return fail(ps, "bad \\u escape");
                ps->p += 4;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                        hex4(ps->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                        return fail(ps, "unpaired surrogate");
                    ps->p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    return fail(ps, "unpaired surrogate");
                }
                if (cp == 0) return fail(ps, "NUL character in a string");
                put_utf8(&b, cp);
            } else {
                return fail(ps, "bad escape in a string");
            }
        }
        if (b.len > max) return fail(ps, "string too long");
    }
    ps->p = q + 1;
    if (!util_utf8_valid(b.data ? b.data : "", b.len)) return fail(ps, "string not valid UTF-8");
    buf_putc(&b, '\0');
    *out = b.data;
    *out_len = b.len - 1;
    return 0;
}

/* A number's text, checked against JSON's grammar. */
static int parse_number(parser *ps, const char **out, size_t *out_len)
{
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
    if (*q == '0')
        q++;
    else
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if ((size_t)(q - s) > ps->lim->max_value_len) return fail(ps, "number too long");
    *out = arena_strndup(ps->a, s, (size_t)(q - s));
    *out_len = (size_t)(q - s);
    ps->p = q;
    return 0;
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character");
    ps->p += n;
    return 0;
}

static void add_child(form_node *parent, form_node *child)
{
    if (parent->kind == FORM_MAP) {
        /* A repeated key keeps the last value at the place of its first appearance. */
        for (form_node **pp = &parent->first; *pp; pp = &(*pp)->next) {
            if (strcmp((*pp)->key, child->key) == 0) {
                child->next = (*pp)->next;
                if (parent->last == *pp) parent->last = child;
                *pp = child;
                return;
            }
        }
    }
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
    parent->count++;
}

static int parse_value(parser *ps, int depth, form_node *node);

/* An object or array at ps->p; depth is that of the container itself. */
static int parse_container(parser *ps, int depth, form_node *node)
{
    int is_obj = *ps->p == '{';
    char close = is_obj ? '}' : ']';
    if (depth > ps->lim->max_depth) return fail(ps, "nested too deeply");
    node->kind = is_obj ? FORM_MAP : FORM_LIST;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        form_node *child = arena_calloc(ps->a, sizeof *child);
        skip_ws(ps);
        if (is_obj) {
            size_t klen;
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a key");
            if (parse_string(ps, ps->lim->max_key_len, &child->key, &klen) != 0) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
        }
        if (parse_value(ps, depth + 1, child) != 0) return -1;
        add_child(node, child);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(parser *ps, int depth, form_node *node)
{
    skip_ws(ps);
    if (++ps->values > ps->lim->max_values) return fail(ps, "too many values");
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    node->kind = FORM_STR;
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, depth, node);
    case '"':
        return parse_string(ps, ps->lim->max_value_len, &node->str, &node->len);
    case 't':
        node->str = "true";
        node->len = 4;
        return literal(ps, "true");
    case 'f':
        node->str = "false";
        node->len = 5;
        return literal(ps, "false");
    case 'n':
        node->str = "";
        return literal(ps, "null");
    default:
        return parse_number(ps, &node->str, &node->len);
    }
}

int json_body_parse(arena *a, const char *data, size_t len, const json_body_limits *lim,
                    form_node **root, const char **errmsg)
{
    parser ps = {.a = a,
                 .p = data,
                 .start = data,
                 .end = data + len,
                 .lim = lim ? lim : &json_body_default_limits};
    form_node *r = arena_calloc(a, sizeof *r);
    r->kind = FORM_MAP;
    skip_ws(&ps);
    if (ps.p == ps.end) {
        *root = r;
        return 0;
    }
    if (*ps.p != '{') {
        fail(&ps, "the body must be a JSON object");
        *errmsg = ps.err;
        return -1;
    }
    if (parse_container(&ps, 0, r) != 0) {
        *errmsg = ps.err;
        return -1;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail(&ps, "trailing characters after the object");
        *errmsg = ps.err;
        return -1;
    }
    *root = r;
    return 0;
}
