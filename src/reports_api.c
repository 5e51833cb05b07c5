/*
 * reports_api: GET /v1/identity/verification_reports/{report} and GET
 * /v1/identity/verification_reports (filters client_reference_id, created, type,
 * verification_session; cursor pagination). CONTRACT.md §3 "Verification reports", §5.
 *
 * Reports are read-only and made by the lifecycle (lifecycle.c), so both endpoints answer from a
 * read. Not for: the report's data or rendering (report.c).
 */
#include <string.h>

#include "api.h"
#include "report.h"

static const char *const type_values[] = {"document", "id_number", NULL};
static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};

static const param_spec retrieve_spec[] = {{"expand", P_ARRAY, 0, .fields = string_item}, {NULL}};

static const param_spec list_spec[] = {{"client_reference_id", P_STRING, 0, .max_len = 5000},
                                       {"created", P_RANGE},
                                       {"ending_before", P_STRING, 0, .max_len = 5000},
                                       {"expand", P_ARRAY, 0, .fields = string_item},
                                       {"limit", P_INT, 0, .min = 1, .max = 100},
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
    apierr e;
    unsigned flags;
    if (params_validate(c->params, spec, c->a, &e) != 0 ||
        api_expand(c, expandable, list, &flags, &e) != 0) {
        api_respond_error(c, &e);
        return -1;
    }
    *show = 0;
    for (unsigned i = 0; c->restricted && vr_sensitive_paths[i]; i++) {
        if (api_expand_path(c, vr_sensitive_paths[i], list)) *show |= 1u << i;
    }
    return 0;
}

void reports_retrieve(api_ctx *c)
{
    unsigned show;
    if (prepare(c, retrieve_spec, 0, &show) != 0) return;
    vr_report r;
    apierr e;
    int rc = store_report_get(c->app->st, c->account, c->path_id, c->a, &r);
    if (rc == STORE_NOT_FOUND) {
        api_err_missing(c, &e, "verification_report", "report", c->path_id);
        api_respond_error(c, &e);
        return;
    }
    if (rc != 0) {
        api_finish(c, NULL, rc);
        return;
    }
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    vr_render(&r, show, &w);
    api_finish(c, &res, 0);
}

void reports_list(api_ctx *c)
{
    unsigned show;
    if (prepare(c, list_spec, 1, &show) != 0) return;
    apierr e;
    store_report_query q = {.account = c->account};
    q.limit = (int)params_int(c->params, "limit", 10);
    q.client_reference_id = params_str(c->params, "client_reference_id");
    q.verification_session = params_str(c->params, "verification_session");
    q.starting_after = params_str(c->params, "starting_after");
    q.ending_before = params_str(c->params, "ending_before");
    const char *type = params_str(c->params, "type");
    if (type) {
        q.has_type = 1;
        q.type = strcmp(type, "document") == 0 ? VS_TYPE_DOCUMENT : VS_TYPE_ID_NUMBER;
    }
    params_range r;
    params_get_range(c->params, "created", &r);
    q.created = (store_range){r.has_eq, r.has_gt, r.has_gte, r.has_lt, r.has_lte,
                              r.eq,     r.gt,     r.gte,     r.lt,     r.lte};
    if (q.starting_after && q.ending_before) {
        apierr_invalid(&e, c->a, NULL, "ending_before",
                       "You may only specify one of these parameters: ending_before, "
                       "starting_after.");
        api_respond_error(c, &e);
        return;
    }
    vr_report *items;
    size_t n;
    int has_more;
    int rc = store_report_list(c->app->st, &q, c->a, &items, &n, &has_more);
    if (rc == STORE_CURSOR) {
        const char *param = q.starting_after ? "starting_after" : "ending_before";
        apierr_set(&e, c->a, 400, "invalid_request_error", "resource_missing", param,
                   "No such verification_report: '%s'",
                   q.starting_after ? q.starting_after : q.ending_before);
        api_respond_error(c, &e);
        return;
    }
    if (rc != 0) {
        api_finish(c, NULL, rc);
        return;
    }
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    json_obj_begin(&w);
    json_kstr(&w, "object", "list");
    json_key(&w, "data");
    json_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        vr_render(&items[i], show, &w);
    json_arr_end(&w);
    json_kbool(&w, "has_more", has_more);
    json_kstr(&w, "url", "/v1/identity/verification_reports");
    json_obj_end(&w);
    api_finish(c, &res, 0);
}
