/*
 * reports_api: GET /v1/identity/verification_reports/{report} and GET
 * /v1/identity/verification_reports (filters client_reference_id, created, type,
 * verification_session; cursor pagination). CONTRACT.md §3 "Verification reports", §5.
 *
 * Reports are read-only and made by the lifecycle (lifecycle.c), so both endpoints answer from a
 * read. Not for: the report's data or rendering (report.c).
 */
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/report_store.h"
#include "identity/report.h"

static const char *const type_values[] = {"document", "id_number", NULL};
static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};

static const param_spec retrieve_spec[] = {{"expand", P_ARRAY, 0, .fields = string_item}, {NULL}};

static const param_spec list_spec[] = {{"client_reference_id", P_STRING, 0, .max_len = 5000},
                                       {"created", P_RANGE},
                                       {"ending_before", P_STRING, 0, .max_len = 5000},
                                       {"expand", P_ARRAY, 0, .fields = string_item},
                                       {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
                                       {"starting_after", P_STRING, 0, .max_len = 5000},
                                       {"type", P_ENUM, 0, .enums = type_values},
                                       {"verification_session", P_STRING, 0, .max_len = 5000},
                                       {NULL}};

/* x-expandableFields of identity.verification_report: all inline already, so expanding them is
 * a no-op, except for the restricted fields below them. */
static const char *const expandable[] = {"document", "email",  "id_number", "options",
                                         "phone",    "selfie", NULL};

/* Validate, then work out which restricted fields this request may see (CONTRACT.md §1, §5:
 * a restricted key and the field's own expand path). 0, or -1 when an error was answered. */
static int prepare(api_ctx *c, const param_spec *spec, int list, unsigned *show)
{
    if (api_validate(c, spec, expandable, list, NULL) != 0) return -1;
    *show = 0;
    for (unsigned i = 0; c->restricted && report_sensitive_paths[i]; i++) {
        if (api_expand_path(c, report_sensitive_paths[i], list)) *show |= 1u << i;
    }
    return 0;
}

void reports_retrieve(api_ctx *c)
{
    unsigned show;
    if (prepare(c, retrieve_spec, 0, &show) != 0) return;
    report r;
    int rc = report_store_get(c->app->st, NULL, c->account, c->path_id, c->a, &r);
    if (rc == STORE_NOT_FOUND && fixtures_on(c, "vr_")) {
        fixtures_report(c, &r);
        rc = 0;
    }
    if (api_read_failed(c, rc, "verification_report", "report")) return;
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    report_render(&r, show, &w);
    api_finish(c, &res, 0);
}

/* A list item (api_item_render): the report, with the sensitive fields *ctx (REPORT_SHOW_*). */
static int render_item(void *ctx, const void *item, json_writer *w)
{
    report_render(item, *(const unsigned *)ctx, w);
    return 0;
}

void reports_list(api_ctx *c)
{
    unsigned show;
    api_page p;
    if (prepare(c, list_spec, 1, &show) != 0 || api_page_read(c, &p) != 0) return;
    store_report_query q = {.account = c->account,
                            .limit = p.limit,
                            .starting_after = p.starting_after,
                            .ending_before = p.ending_before,
                            .created = p.created};
    q.client_reference_id = params_str(c->params, "client_reference_id");
    q.verification_session = params_str(c->params, "verification_session");
    const char *type = params_str(c->params, "type");
    if (type) {
        q.has_type = 1;
        q.type = strcmp(type, "document") == 0 ? SESSION_TYPE_DOCUMENT : SESSION_TYPE_ID_NUMBER;
    }
    report *items;
    size_t n;
    int has_more;
    int rc = report_store_list(c->app->st, &q, c->a, &items, &n, &has_more);
    api_list_answer(c, &p, "verification_report", "/v1/identity/verification_reports", rc, items, n,
                    sizeof *items, has_more, render_item, &show);
}
