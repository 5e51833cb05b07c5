/*
 * Unit tests for fault.c: path patterns (exact, prefix, every path), method filters, counts
 * that run out, accounts kept apart (a connected account meets its platform's rules), seeded
 * draws that repeat, the rate limiter's burst, webhook rules by endpoint, the per-account bound,
 * and remove / clear.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "identity/fault.h"

static fault_rule error_rule(const char *account, const char *method, const char *path,
                             int64_t count)
{
    fault_rule f = {0};
    f.account = account;
    f.kind = FAULT_ERROR;
    f.method = method;
    f.path = path;
    f.count = f.count_given = count;
    f.probability = 1.0;
    f.status = 500;
    f.err_type = "api_error";
    f.err_message = "boom";
    f.should_retry = -1;
    return f;
}

static int fails(fault_registry *r, const char *account, const char *method, const char *path,
                 arena *a)
{
    fault_verdict v;
    fault_request(r, account, method, path, a, &v);
    return v.fail;
}

static void test_patterns_methods_and_counts(void **state)
{
    (void)state;
    arena *a = arena_new();
    fault_registry *r = fault_registry_new();
    fault_rule made, f = error_rule("acct_a", "POST", "/v1/identity/verification_sessions", 2);
    assert_int_equal(fault_add(r, &f, 0, a, &made), 0);
    f = error_rule("acct_a", NULL, "/v1/events*", -1);
    assert_int_equal(fault_add(r, &f, 0, a, &made), 0);

    assert_false(fails(r, "acct_a", "GET", "/v1/identity/verification_sessions", a));
    assert_false(fails(r, "acct_a", "POST", "/v1/identity/verification_sessions/vs_1", a));
    assert_true(fails(r, "acct_a", "POST", "/v1/identity/verification_sessions", a));
    assert_true(fails(r, "acct_a", "POST", "/v1/identity/verification_sessions", a));
    assert_false(fails(r, "acct_a", "POST", "/v1/identity/verification_sessions", a));
    assert_true(fails(r, "acct_a", "GET", "/v1/events/evt_1", a));
    assert_true(fails(r, "acct_a", "DELETE", "/v1/events", a));
    /* Another account meets none of them; a connected account of acct_a meets them all. */
    assert_false(fails(r, "acct_b", "GET", "/v1/events", a));
    assert_true(fails(r, "acct_a/acct_123", "GET", "/v1/events", a));

    fault_rule *list;
    assert_int_equal(fault_list(r, "acct_a", a, &list), 2);
    assert_int_equal(list[0].matched, 3);
    assert_int_equal(list[0].applied, 2);
    assert_int_equal(list[0].count, 0);
    assert_int_equal(fault_remove(r, "acct_b", list[1].id), FAULT_ENOTFOUND);
    assert_int_equal(fault_remove(r, "acct_a", list[1].id), 0);
    assert_false(fails(r, "acct_a", "GET", "/v1/events", a));
    assert_int_equal(fault_clear(r, "acct_a"), 1);
    assert_int_equal(fault_list(r, "acct_a", a, &list), 0);
    fault_registry_free(r);
    arena_free(a);
}

static void test_seeded_draws_repeat(void **state)
{
    (void)state;
    arena *a = arena_new();
    int outcomes[2][64];
    for (int run = 0; run < 2; run++) {
        fault_registry *r = fault_registry_new();
        fault_rule made, f = error_rule("acct_a", NULL, NULL, -1);
        f.probability = 0.5;
        f.seed = 1234;
        assert_int_equal(fault_add(r, &f, 1, a, &made), 0);
        for (int i = 0; i < 64; i++)
            outcomes[run][i] = fails(r, "acct_a", "GET", "/v1/x", a);
        fault_registry_free(r);
    }
    assert_memory_equal(outcomes[0], outcomes[1], sizeof outcomes[0]);
    int n = 0;
    for (int i = 0; i < 64; i++)
        n += outcomes[0][i];
    assert_true(n > 10 && n < 54);
    arena_free(a);
}

static void test_rate_limit_burst(void **state)
{
    (void)state;
    arena *a = arena_new();
    fault_registry *r = fault_registry_new();
    fault_rule made = {0}, f = {0};
    f.account = "acct_a";
    f.kind = FAULT_RATE_LIMIT;
    f.rate = FAULT_TEST_RATE;
    f.status = 429;
    f.err_type = "invalid_request_error";
    f.err_code = "rate_limit";
    f.err_message = "Request rate limit exceeded.";
    f.should_retry = -1;
    assert_int_equal(fault_add(r, &f, 0, a, &made), 0);
    int limited = 0;
    for (int i = 0; i < 100; i++) {
        fault_verdict v;
        fault_request(r, "acct_a", "GET", "/v1/anything", a, &v);
        if (v.fail) {
            assert_true(v.rate_limited);
            assert_int_equal(v.status, 429);
            limited++;
        }
    }
    /* A burst passes 25 (and whatever refilled while it ran, a fraction of a token). */
    assert_in_range(limited, 70, 75);
    fault_registry_free(r);
    arena_free(a);
}

static void test_webhook_rules_and_bound(void **state)
{
    (void)state;
    arena *a = arena_new();
    fault_registry *r = fault_registry_new();
    fault_rule made = {0}, f = {0};
    f.account = "acct_a";
    f.kind = FAULT_WEBHOOK;
    f.endpoint = "we_1";
    f.action = FAULT_WH_DELAY;
    f.delay_ms = 250;
    f.count = f.count_given = 1;
    f.probability = 1.0;
    assert_int_equal(fault_add(r, &f, 0, a, &made), 0);
    fault_webhook_action act;
    int64_t ms = 0;
    assert_false(fault_webhook(r, "we_2", &act, &ms));
    assert_true(fault_webhook(r, "we_1", &act, &ms));
    assert_int_equal(act, FAULT_WH_DELAY);
    assert_int_equal(ms, 250);
    assert_false(fault_webhook(r, "we_1", &act, &ms));
    /* Webhook rules never touch requests. */
    fault_verdict v;
    assert_false(fault_request(r, "acct_a", "GET", "/v1/x", a, &v));

    for (int i = 1; i < FAULT_MAX_PER_ACCOUNT; i++) {
        fault_rule e = error_rule("acct_a", NULL, "/v1/y", -1);
        assert_int_equal(fault_add(r, &e, 0, a, &made), 0);
    }
    fault_rule e = error_rule("acct_a", NULL, "/v1/y", -1);
    assert_int_equal(fault_add(r, &e, 0, a, &made), FAULT_ELIMIT);
    e.account = "acct_b";
    assert_int_equal(fault_add(r, &e, 0, a, &made), 0);
    fault_registry_free(r);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns_methods_and_counts),
        cmocka_unit_test(test_seeded_draws_repeat),
        cmocka_unit_test(test_rate_limit_burst),
        cmocka_unit_test(test_webhook_rules_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
