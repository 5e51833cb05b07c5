/*
 * test_webhook_sign: the Stripe-Signature value against vectors computed independently with
 * `printf '%s' '<t>.<body>' | openssl dgst -sha256 -hmac '<secret>'`, plus the header's shape
 * and its refusal of a too-small buffer.
 *
 * Not for: delivery (black-box webhooks.test.js checks constructEvent of the official SDK).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "identity/webhook_sign.h"

static void test_known_vector(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"evt_test\",\"object\":\"event\"}";
    char out[WEBHOOK_SIG_MAX];
    assert_int_equal(
        webhook_sign("whsec_test_secret", 1700000000, body, strlen(body), out, sizeof out), 0);
    assert_string_equal(
        out, "t=1700000000,v1=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724");
}

static void test_empty_body(void **state)
{
    (void)state;
    char out[WEBHOOK_SIG_MAX];
    assert_int_equal(webhook_sign("whsec_x", 1, "", 0, out, sizeof out), 0);
    assert_string_equal(out,
                        "t=1,v1=f1b68d95161b3c525bccedf84eee05fc6a0f584b9d3d3f3064f734a501e707af");
}

/* A different timestamp or secret gives a different signature: each attempt is fresh. */
static void test_depends_on_t_and_secret(void **state)
{
    (void)state;
    const char *body = "{}";
    char a[WEBHOOK_SIG_MAX], b[WEBHOOK_SIG_MAX], c[WEBHOOK_SIG_MAX];
    assert_int_equal(webhook_sign("whsec_a", 100, body, 2, a, sizeof a), 0);
    assert_int_equal(webhook_sign("whsec_a", 101, body, 2, b, sizeof b), 0);
    assert_int_equal(webhook_sign("whsec_b", 100, body, 2, c, sizeof c), 0);
    assert_string_not_equal(strchr(a, ','), strchr(b, ','));
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(strstr(a, "v1=") + 3), 64);
}

static void test_small_buffer(void **state)
{
    (void)state;
    char out[16] = "junk";
    assert_int_equal(webhook_sign("whsec_a", 100, "{}", 2, out, sizeof out), -1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_depends_on_t_and_secret),
        cmocka_unit_test(test_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
