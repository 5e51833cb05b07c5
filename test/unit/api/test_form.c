/*
 * Unit tests for form.c: the bracket form decoder on well-formed input (nesting, both list forms,
 * escapes, repeated keys, order) and on hostile input (depth, parameter count, lengths, bad
 * escapes, bad UTF-8, NUL, unbalanced brackets, conflicts), plus a seeded random fuzz loop.
 *
 * Not for parameter validation against endpoint specs: test_params.c covers params.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "api/form.h"
#include "base/util.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* A compact, unambiguous picture of a tree: {k:"v",m:{...},l:["x"]}. */
static void dump_node(buf *b, const form_node *n)
{
    switch (n->kind) {
    case FORM_STR:
        buf_printf(b, "\"%s\"", n->str);
        break;
    case FORM_MAP:
    case FORM_LIST:
        buf_putc(b, n->kind == FORM_MAP ? '{' : '[');
        for (const form_node *c = n->first; c != NULL; c = c->next) {
            if (c != n->first) buf_putc(b, ',');
            if (n->kind == FORM_MAP) buf_printf(b, "%s:", c->key);
            dump_node(b, c);
        }
        buf_putc(b, n->kind == FORM_MAP ? '}' : ']');
        break;
    }
}

static const char *dump(arena *a, const form_node *n)
{
    buf b;
    buf_init(&b, a);
    dump_node(&b, n);
    return b.data;
}

/* Parses s with the default limits; returns the dump, or "ERR: <message>". */
static const char *parse_str(arena *a, const char *s)
{
    form_node *root = NULL;
    const char *err = NULL;
    if (form_parse(a, s, strlen(s), NULL, &root, &err) != 0) {
        assert_non_null(err);
        assert_null(root);
        return arena_printf(a, "ERR: %s", err);
    }
    assert_non_null(root);
    return dump(a, root);
}

#define assert_parses(in, want)                                                                    \
    do {                                                                                           \
        arena *a_ = arena_new();                                                                   \
        assert_string_equal(parse_str(a_, (in)), (want));                                          \
        arena_free(a_);                                                                            \
    } while (0)

/* Asserts that data[0..len) is refused, that *root is untouched, and returns nothing; the message
 * must start with want_prefix when that is not NULL. */
static void expect_error_n(const char *data, size_t len, const form_limits *lim,
                           const char *want_prefix)
{
    arena *a = arena_new();
    form_node sentinel;
    form_node *root = &sentinel;
    const char *err = NULL;
    assert_int_equal(form_parse(a, data, len, lim, &root, &err), -1);
    assert_ptr_equal(root, &sentinel);
    assert_non_null(err);
    assert_true(strlen(err) > 0);
    if (want_prefix != NULL && strncmp(err, want_prefix, strlen(want_prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", err, want_prefix);
    arena_free(a);
}

static void expect_error(const char *data, const char *want_prefix)
{
    expect_error_n(data, strlen(data), NULL, want_prefix);
}

/* Checks the invariants every successful parse must hold; returns the number of nodes. */
static size_t check_tree(const form_node *n, int depth, int max_depth)
{
    size_t nodes = 1, count = 0;
    const form_node *last = NULL;

    assert_true(depth <= max_depth + 1);
    if (n->kind == FORM_STR) {
        assert_non_null(n->str);
        assert_int_equal(strlen(n->str), n->len);
        assert_true(util_utf8_valid(n->str, n->len));
        assert_null(n->first);
        assert_int_equal(n->count, 0);
        return 1;
    }
    assert_true(n->kind == FORM_MAP || n->kind == FORM_LIST);
    for (const form_node *c = n->first; c != NULL; c = c->next) {
        if (n->kind == FORM_MAP) {
            assert_non_null(c->key);
            assert_true(c->key[0] != '\0');
            assert_null(strpbrk(c->key, "[]"));
            assert_true(util_utf8_valid(c->key, strlen(c->key)));
            for (const form_node *d = n->first; d != c; d = d->next)
                assert_string_not_equal(d->key, c->key);
        } else {
            /* "[]" is only allowed last, so a list holds strings only. */
            assert_null(c->key);
            assert_int_equal(c->kind, FORM_STR);
        }
        nodes += check_tree(c, depth + 1, max_depth);
        count++;
        last = c;
    }
    assert_int_equal(count, n->count);
    assert_ptr_equal(last, n->last);
    return nodes;
}

/* Re-encodes a tree as a canonical form body, every non-alphanumeric byte escaped. */
static void encode_str(buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            buf_putc(b, (char)*p);
        else
            buf_printf(b, "%%%02X", *p);
    }
}

static void encode_node(buf *b, buf *prefix, const form_node *n)
{
    size_t keep = prefix->len;
    if (n->kind == FORM_STR) {
        if (b->len > 0) buf_putc(b, '&');
        buf_append(b, prefix->data, prefix->len);
        buf_putc(b, '=');
        encode_str(b, n->str);
        return;
    }
    for (const form_node *c = n->first; c != NULL; c = c->next) {
        prefix->len = keep;
        if (keep == 0) {
            encode_str(prefix, c->key);
        } else if (n->kind == FORM_MAP) {
            buf_putc(prefix, '[');
            encode_str(prefix, c->key);
            buf_putc(prefix, ']');
        } else {
            buf_puts(prefix, "[]");
        }
        prefix->data[prefix->len] = '\0';
        encode_node(b, prefix, c);
    }
    prefix->len = keep;
}

static const char *encode(arena *a, const form_node *root)
{
    buf b, prefix;
    buf_init(&b, a);
    buf_init(&prefix, a);
    buf_puts(&b, "");
    buf_puts(&prefix, "");
    encode_node(&b, &prefix, root);
    return b.data;
}

/* ---- well-formed input ----------------------------------------------------------------------- */

static void test_flat(void **state)
{
    (void)state;
    assert_parses("", "{}");
    assert_parses("a=1", "{a:\"1\"}");
    assert_parses("a=1&b=2", "{a:\"1\",b:\"2\"}");
    assert_parses("type=document&client_reference_id=u_123",
                  "{type:\"document\",client_reference_id:\"u_123\"}");
    assert_parses("a=b=c", "{a:\"b=c\"}");
}

static void test_nesting(void **state)
{
    (void)state;
    assert_parses("a[b][c]=1", "{a:{b:{c:\"1\"}}}");
    assert_parses("options[document][require_id_number]=true&options[document][allowed_types][]="
                  "passport",
                  "{options:{document:{require_id_number:\"true\",allowed_types:[\"passport\"]}}}");
    assert_parses("a[b]=1&c=2&a[d]=3", "{a:{b:\"1\",d:\"3\"},c:\"2\"}");
    assert_parses("a[b][c][d][e][f]=1", "{a:{b:{c:{d:{e:{f:\"1\"}}}}}}");
    /* Brackets may hold anything but brackets, including what would be special elsewhere. */
    assert_parses("metadata[a%3Db%26c]=1", "{metadata:{a=b&c:\"1\"}}");
    assert_parses("metadata[with+space]=x", "{metadata:{with space:\"x\"}}");
}

static void test_lists(void **state)
{
    (void)state;
    assert_parses("a[]=x&a[]=y", "{a:[\"x\",\"y\"]}");
    assert_parses("a[0]=x&a[1]=y", "{a:{0:\"x\",1:\"y\"}}");
    assert_parses("a[1]=y&a[0]=x", "{a:{1:\"y\",0:\"x\"}}");
    assert_parses("expand[]=a&other=1&expand[]=b", "{expand:[\"a\",\"b\"],other:\"1\"}");
    assert_parses("a[b][]=1&a[b][]=2", "{a:{b:[\"1\",\"2\"]}}");
    assert_parses("a[]=&a[]=", "{a:[\"\",\"\"]}");
    /* A list item may repeat: lists are not keyed. */
    assert_parses("a[]=x&a[]=x", "{a:[\"x\",\"x\"]}");
}

static void test_empty_values(void **state)
{
    (void)state;
    assert_parses("a=", "{a:\"\"}");
    assert_parses("a", "{a:\"\"}");
    assert_parses("metadata=&options[document]=", "{metadata:\"\",options:{document:\"\"}}");
    assert_parses("&a=1&&b=2&", "{a:\"1\",b:\"2\"}");
    assert_parses("&&&", "{}");
}

static void test_escapes(void **state)
{
    (void)state;
    assert_parses("a=hello+world%21", "{a:\"hello world!\"}");
    assert_parses("a=%2B%25%26%3D", "{a:\"+%&=\"}");
    assert_parses("%61=1", "{a:\"1\"}");
    assert_parses("a+b=1", "{a b:\"1\"}");
    assert_parses("a=%c3%a9%C3%A9", "{a:\"\xc3\xa9\xc3\xa9\"}");
    assert_parses("a=\xc3\xa9", "{a:\"\xc3\xa9\"}");
    assert_parses("a=%F0%9F%98%80", "{a:\"\xf0\x9f\x98\x80\"}");
    /* Encoded brackets, as some clients send them, are brackets. */
    assert_parses("a%5Bb%5D=1", "{a:{b:\"1\"}}");
    assert_parses("a%5bb%5d%5B%5D=1", "{a:{b:[\"1\"]}}");
    assert_parses("metadata%5Bk%5D=v&metadata[j]=w", "{metadata:{k:\"v\",j:\"w\"}}");
}

static void test_repeated_and_order(void **state)
{
    (void)state;
    /* Stripe keeps the last value; the key keeps its first position. */
    assert_parses("a=1&b=2&a=3", "{a:\"3\",b:\"2\"}");
    assert_parses("m[x]=1&m[y]=2&m[x]=", "{m:{x:\"\",y:\"2\"}}");
    assert_parses("z=1&y=2&x[c]=1&x[a]=2&w=0", "{z:\"1\",y:\"2\",x:{c:\"1\",a:\"2\"},w:\"0\"}");
    /* Raw and encoded spellings of one key are one key. */
    assert_parses("a[b]=1&a%5Bb%5D=2", "{a:{b:\"2\"}}");
}

static void test_form_get(void **state)
{
    (void)state;
    arena *a = arena_new();
    form_node *root;
    const char *err;
    const char *body = "a=1&m[k]=v";
    assert_int_equal(form_parse(a, body, strlen(body), NULL, &root, &err), 0);
    assert_string_equal(form_get(root, "a")->str, "1");
    assert_int_equal(form_get(root, "a")->len, 1);
    assert_string_equal(form_get(form_get(root, "m"), "k")->str, "v");
    assert_string_equal(form_get(root, "m")->key, "m");
    assert_null(form_get(root, "nope"));
    assert_null(form_get(form_get(root, "a"), "x")); /* not a map */
    assert_null(form_get(NULL, "a"));
    assert_int_equal(root->count, 2);
    assert_null(root->key);
    arena_free(a);
}

static void test_limits_exact(void **state)
{
    (void)state;
    form_limits lim = {.max_depth = 2, .max_params = 3, .max_key_len = 8, .max_value_len = 4};
    arena *a = arena_new();
    form_node *root;
    const char *err;
#define OK(s) assert_int_equal(form_parse(a, s, strlen(s), &lim, &root, &err), 0)
#define NO(s) assert_int_equal(form_parse(a, s, strlen(s), &lim, &root, &err), -1)
    OK("a[b][c]=1");
    NO("a[b][c][d]=1");
    OK("a=1&b=2&c=3");
    OK("a=1&&b=2&c=3&");
    NO("a=1&b=2&c=3&d=4");
    OK("abcdefgh=1");
    NO("abcdefghi=1");
    OK("%61bcdefgh=1"); /* the limit is on the decoded key */
    OK("a=abcd");
    NO("a=abcde");
    OK("a=%41%42%43%44");
    NO("a=%41%42%43%44%45");
    /* No brackets at all. */
    lim.max_depth = 0;
    OK("a=1");
    NO("a[b]=1");
    NO("a[]=1");
#undef OK
#undef NO
    arena_free(a);
}

static void test_speed(void **state)
{
    (void)state;
    /* A typical create body (~300 bytes). The figure is printed, not asserted: sanitizer and
     * debug builds are much slower. */
    const char *body =
        "type=document&client_reference_id=user_8f14e45fceea167a5a36dedd4bea2543&"
        "metadata[order_id]=6735&metadata[customer]=cus_NffrFeUfNV2Hib&"
        "options[document][allowed_types][0]=driving_license&options[document][allowed_types][1]="
        "passport&options[document][require_id_number]=true&options[document][require_live_"
        "capture]=true&options[document][require_matching_selfie]=true&return_url=https%3A%2F%"
        "2Fexample.com%2Fdone&expand[0]=last_verification_report";
    size_t len = strlen(body);
    const int rounds = 20000;
    int64_t t0 = util_mono_us();
    for (int i = 0; i < rounds; i++) {
        arena *a = arena_new();
        form_node *root;
        const char *err;
        assert_int_equal(form_parse(a, body, len, NULL, &root, &err), 0);
        arena_free(a);
    }
    int64_t t1 = util_mono_us();
    print_message("form_parse: %zu-byte body in %.3f us (with arena_new/free)\n", len,
                  (double)(t1 - t0) / rounds);
}

/* ---- hostile input --------------------------------------------------------------------------- */

static char *repeat(const char *unit, size_t times, const char *prefix, const char *suffix)
{
    size_t ul = strlen(unit), pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + ul * times + sl + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < times; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * times, suffix, sl + 1);
    return s;
}

static void test_deep_brackets(void **state)
{
    (void)state;
    char *s = repeat("[a]", 10000, "a", "=1");
    expect_error(s, "Invalid parameter name: longer than 512 bytes");
    /* With a key limit that lets it through, the depth limit stops it. */
    form_limits lim = form_default_limits;
    lim.max_key_len = 1 << 20;
    expect_error_n(s, strlen(s), &lim, "Invalid parameter name: a[a][a][a][a][a][a]");
    /* And with both raised, 10k levels parse without recursion. */
    lim.max_depth = 20000;
    arena *a = arena_new();
    form_node *root;
    const char *err;
    assert_int_equal(form_parse(a, s, strlen(s), &lim, &root, &err), 0);
    int depth = 0;
    const form_node *n = root;
    while (n->kind == FORM_MAP) {
        assert_int_equal(n->count, 1);
        n = n->first;
        depth++;
    }
    assert_int_equal(depth, 10001);
    assert_string_equal(n->str, "1");
    arena_free(a);
    free(s);

    s = repeat("[", 10000, "a", "=1");
    expect_error(s, NULL);
    free(s);
    s = repeat("]", 10000, "a", "=1");
    expect_error(s, NULL);
    free(s);
    s = repeat("[]", 10000, "a", "=1");
    expect_error(s, NULL);
    free(s);
    s = repeat("%5B", 100, "a", "=1");
    expect_error(s, NULL);
    free(s);
    /* Six levels: one too many. */
    expect_error("a[b][c][d][e][f][g]=1",
                 "Invalid parameter name: a[b][c][d][e][f][g] is nested too deeply");
}

static void test_many_params(void **state)
{
    (void)state;
    char *s = repeat("a=1&", 100000, "", "");
    expect_error(s, "Too many parameters: at most 1000 are allowed");
    free(s);

    /* 100k distinct keys with the limit raised: linear time thanks to the hash table. */
    buf b;
    buf_init(&b, NULL);
    for (int i = 0; i < 100000; i++)
        buf_printf(&b, "%sk%d[x%d]=%d", i ? "&" : "", i % 1000, i, i);
    form_limits lim = form_default_limits;
    lim.max_params = 100000;
    arena *a = arena_new();
    form_node *root;
    const char *err;
    int64_t t0 = util_mono_us();
    assert_int_equal(form_parse(a, b.data, b.len, &lim, &root, &err), 0);
    int64_t t1 = util_mono_us();
    assert_int_equal(root->count, 1000);
    assert_int_equal(form_get(root, "k7")->count, 100);
    assert_string_equal(form_get(form_get(root, "k7"), "x99007")->str, "99007");
    print_message("form_parse: 100k params in %lld us\n", (long long)(t1 - t0));
    arena_free(a);
    buf_free(&b);

    /* Empty pairs do not count, but a flood of them is still just skipped. */
    s = repeat("&", 1000000, "a=1", "&b=2");
    a = arena_new();
    assert_int_equal(form_parse(a, s, strlen(s), NULL, &root, &err), 0);
    assert_int_equal(root->count, 2);
    arena_free(a);
    free(s);
}

static void test_huge_keys_and_values(void **state)
{
    (void)state;
    char *s = repeat("k", 1 << 20, "", "=1");
    expect_error(s, "Invalid parameter name: longer than 512 bytes");
    free(s);
    /* 600 raw bytes but 200 decoded: the limit is on the decoded key. */
    s = repeat("%6B", 200, "", "=1");
    arena *a = arena_new();
    form_node *root;
    const char *err;
    assert_int_equal(form_parse(a, s, strlen(s), NULL, &root, &err), 0);
    assert_int_equal(strlen(root->first->key), 200);
    arena_free(a);
    free(s);
    /* Over three times the limit raw is refused before decoding. */
    s = repeat("%6B", 513, "", "=1");
    expect_error(s, "Invalid parameter name: longer than 512 bytes");
    free(s);
    s = repeat("%6B", 512, "", "=1");
    a = arena_new();
    assert_int_equal(form_parse(a, s, strlen(s), NULL, &root, &err), 0);
    arena_free(a);
    free(s);
}

static void test_huge_values(void **state)
{
    (void)state;
    char *s = repeat("v", 1 << 20, "a=", "");
    expect_error(s, "The value of a is too long: at most 65536 bytes are allowed");
    free(s);
    s = repeat("%41", 65536, "a=", "");
    arena *a = arena_new();
    form_node *root;
    const char *err;
    assert_int_equal(form_parse(a, s, strlen(s), NULL, &root, &err), 0);
    assert_int_equal(form_get(root, "a")->len, 65536);
    arena_free(a);
    free(s);
    s = repeat("%41", 65537, "a=", "");
    expect_error(s, "The value of a is too long");
    free(s);
}

static void test_bad_escapes(void **state)
{
    (void)state;
    expect_error("a=%zz", "Invalid URL encoding in the value of a");
    expect_error("a=%4", "Invalid URL encoding in the value of a");
    expect_error("a=%", "Invalid URL encoding in the value of a");
    expect_error("a=%4g", "Invalid URL encoding in the value of a");
    expect_error("a=%%41", "Invalid URL encoding in the value of a");
    expect_error("a=1&b[c]=x%", "Invalid URL encoding in the value of b[c]");
    expect_error("%zz=1", "Invalid URL encoding in a parameter name");
    expect_error("a%=1", "Invalid URL encoding in a parameter name");
    expect_error("a%5=1", "Invalid URL encoding in a parameter name");
}

static void test_bad_utf8(void **state)
{
    (void)state;
    expect_error("a=%C0%AF", "The value of a is not valid UTF-8");       /* overlong '/' */
    expect_error("a=%ED%A0%80", "The value of a is not valid UTF-8");    /* surrogate */
    expect_error("a=%FF", "The value of a is not valid UTF-8");          /* never valid */
    expect_error("a=%C3", "The value of a is not valid UTF-8");          /* truncated */
    expect_error("a=%F4%90%80%80", "The value of a is not valid UTF-8"); /* > U+10FFFF */
    expect_error("a=\xff", "The value of a is not valid UTF-8");         /* raw byte */
    expect_error("%C0%AF=1", "Invalid parameter name: not valid UTF-8");
    expect_error("m[%ED%A0%80]=1", "Invalid parameter name: not valid UTF-8");
    expect_error("\xc3=1", "Invalid parameter name: not valid UTF-8");
}

static void test_nul(void **state)
{
    (void)state;
    expect_error("a=%00", "The value of a contains a NUL character");
    expect_error("a=x%00y", "The value of a contains a NUL character");
    expect_error("%00=1", "Invalid parameter name: contains a NUL character");
    expect_error("m[%00]=1", "Invalid parameter name: contains a NUL character");
    expect_error_n("a=x\0y", 5, NULL, "The value of a contains a NUL character");
    expect_error_n("a\0=1", 4, NULL, "Invalid parameter name: contains a NUL character");
}

static void test_unbalanced(void **state)
{
    (void)state;
    expect_error("a[b=1", "Invalid parameter name: a[b");
    expect_error("a]=1", "Invalid parameter name: a]");
    expect_error("a]b[c]=1", "Invalid parameter name: a]b[c]");
    expect_error("a[b]]=1", "Invalid parameter name: a[b]]");
    expect_error("a[[b]]=1", "Invalid parameter name: a[[b]]");
    expect_error("a[b][=1", "Invalid parameter name: a[b][");
    expect_error("a[b[c]]=1", "Invalid parameter name: a[b[c]]");
    expect_error("a%5Bb=1", "Invalid parameter name: a[b");
    expect_error("a[", "Invalid parameter name: a[");
}

static void test_conflicts(void **state)
{
    (void)state;
    expect_error("a=1&a[b]=2",
                 "Conflicting parameters: a is sent both as a string and as an object");
    expect_error("a[b]=2&a=1",
                 "Conflicting parameters: a is sent both as an object and as a string");
    expect_error("a[]=1&a[b]=2",
                 "Conflicting parameters: a is sent both as an array and as an object");
    expect_error("a[b]=1&a[]=2",
                 "Conflicting parameters: a is sent both as an object and as an array");
    expect_error("a[]=1&a=2", "Conflicting parameters: a is sent both as an array and as a string");
    expect_error("a=1&a[]=2", "Conflicting parameters: a is sent both as a string and as an array");
    expect_error("a[b][c]=1&a[b]=2",
                 "Conflicting parameters: a[b] is sent both as an object and as a string");
    expect_error("a[b]=1&a[b][c]=2",
                 "Conflicting parameters: a[b] is sent both as a string and as an object");
    expect_error("a[]=1&a[0]=2", "Conflicting parameters: a is sent both as an array");
    expect_error("metadata=&metadata[k]=v", "Conflicting parameters: metadata");
}

static void test_empty_names(void **state)
{
    (void)state;
    expect_error("=x", "Invalid parameter name: empty name");
    expect_error("=", "Invalid parameter name: empty name");
    expect_error("a=1&=2", "Invalid parameter name: empty name");
    expect_error("a[]b=1", "Invalid parameter name: a[]b");
    expect_error("[x]=1", "Invalid parameter name: [x]");
    expect_error("[]=1", "Invalid parameter name: []");
    expect_error("a[b]c=1", "Invalid parameter name: a[b]c");
    expect_error("a[b]c[d]=1", "Invalid parameter name: a[b]c[d]");
    expect_error("%5Bx%5D=1", "Invalid parameter name: [x]");
}

static void test_append_in_middle(void **state)
{
    (void)state;
    expect_error("a[][b]=1", "Invalid parameter name: a[][b]");
    expect_error("a[][]=1", "Invalid parameter name: a[][]");
    expect_error("a[b][][c]=1", "Invalid parameter name: a[b][][c]");
    expect_error("a%5B%5D%5Bb%5D=1", "Invalid parameter name: a[][b]");
}

/* ---- fuzz ------------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic across platforms, good enough to pick bytes. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_fuzz(void **state)
{
    (void)state;
    static const char alphabet[] = "a[]=&%0F+x";
    const int rounds = 200000;
    int ok = 0;
    char in[33];
    form_limits lim = form_default_limits;
    arena *a = NULL;

    for (int i = 0; i < rounds; i++) {
        if (i % 512 == 0) {
            if (a != NULL) arena_free(a);
            a = arena_new();
        }
        size_t len = (size_t)(rng() % 33);
        for (size_t j = 0; j < len; j++)
            in[j] = alphabet[rng() % (sizeof alphabet - 1)];
        /* Now and then a byte from the whole range, to reach the UTF-8 and NUL paths. */
        if (len > 0 && rng() % 8 == 0) in[rng() % len] = (char)(rng() & 0xff);
        /* Small limits now and then, so their edges are reached too. */
        lim.max_depth = rng() % 4 == 0 ? 1 : 5;
        lim.max_key_len = rng() % 4 == 0 ? 6 : 512;

        form_node sentinel;
        form_node *root = &sentinel;
        const char *err = NULL;
        int rc = form_parse(a, in, len, &lim, &root, &err);
        if (rc != 0) {
            assert_int_equal(rc, -1);
            assert_ptr_equal(root, &sentinel);
            assert_non_null(err);
            /* Keys are only quoted once they are known to be UTF-8. */
            assert_true(util_utf8_valid(err, strlen(err)));
            continue;
        }
        ok++;
        assert_int_equal(root->kind, FORM_MAP);
        assert_null(root->key);
        check_tree(root, 0, lim.max_depth);

        /* Round trip: the canonical encoding of the tree parses to the same tree. */
        const char *again = encode(a, root);
        form_node *root2;
        form_limits wide = lim;
        wide.max_key_len = 4096;
        assert_int_equal(form_parse(a, again, strlen(again), &wide, &root2, &err), 0);
        assert_string_equal(dump(a, root2), dump(a, root));
    }
    arena_free(a);
    print_message("fuzz: %d of %d inputs parsed, the rest refused cleanly\n", ok, rounds);
    assert_true(ok > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat),        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_lists),       cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_escapes),     cmocka_unit_test(test_repeated_and_order),
        cmocka_unit_test(test_form_get),    cmocka_unit_test(test_limits_exact),
        cmocka_unit_test(test_speed),       cmocka_unit_test(test_deep_brackets),
        cmocka_unit_test(test_many_params), cmocka_unit_test(test_huge_keys_and_values),
        cmocka_unit_test(test_huge_values), cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_bad_utf8),    cmocka_unit_test(test_nul),
        cmocka_unit_test(test_unbalanced),  cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_empty_names), cmocka_unit_test(test_append_in_middle),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
