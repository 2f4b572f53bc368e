/*
 * test_coverage_diff.c — tst_table_coverage_diff and tst_table_plan_backfill
 * on hand-built tables (sidecars and commits written directly, as an append
 * would), plus a differential test against a bit-per-bucket model.
 *
 * The model: for each of a few entities, a random set of buckets inside a
 * small window, written as one segment per version. The diff between any
 * two versions must list exactly the runs of the model's set differences,
 * and the plan's requests must cover exactly the model's gaps, at most
 * max buckets long, in the fewest requests a brute-force count finds.
 */
#include "testsupport.h"

#include "fsio.h"
#include "sidecar.h"
#include "table_internal.h"
#include "tstable/coverage_diff.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1717200000LL /* 2024-06-01T00:00:00Z */
#define HOUR0 (0x8000000000000000ULL + 477000)
#define TS_COL                                                                                     \
    "{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":\"Millis\",\"timezone\":null}},"      \
    "\"nullable\":false}"
#define SYMBOL_COL "{\"name\":\"symbol\",\"data_type\":\"Utf8\",\"nullable\":false}"
#define HOURLY "{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}"
#define MINUTES60 "{\"type\":\"timestamp\",\"bucket\":{\"Minutes\":60}}"
#define DAILY "{\"type\":\"timestamp\",\"bucket\":{\"Days\":1}}"

typedef struct fixture {
    char *root;
    tst_table *t;
    const char *kind_json;
    int segments;
} fixture;

static void fx_open(fixture *f, const char *kind_json, const char *entities_json,
                    const char *columns_json)
{
    memset(f, 0, sizeof *f);
    f->root = tst_test_tmpdir("cdiff");
    f->kind_json = kind_json;
    char meta[2048];
    snprintf(meta, sizeof meta,
             "[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"
             "%s,\"kind\":%s}},\"logical_schema\":{\"columns\":[%s]},\"created_at\":"
             "\"2026-01-01T00:00:00Z\",\"format_version\":6}}]",
             entities_json, kind_json, columns_json);
    assert_int_equal(tst_test_write_commit(f->root, 1, meta), 0);
    assert_int_equal(tst_test_set_current(f->root, 1), 0);
    assert_tst_ok(tst_table_open(&f->t, f->root));
}

static void fx_symbols(fixture *f, const char *kind)
{
    fx_open(f, kind, "[\"symbol\"]", TS_COL "," SYMBOL_COL);
}

static void fx_close(fixture *f)
{
    tst_table_free(f->t);
    tst_test_rmtree(f->root);
}

static tst_entity_value utf8(const char *s)
{
    tst_entity_value v = {TST_ENTITY_UTF8, {.utf8 = {s, strlen(s)}}};
    return v;
}

static void set_identity(tst_table_cov *cov, const char *sym, tst_coverage **out)
{
    tst_entity_value v = utf8(sym);
    tst_entity_identity id = {1, &v};
    assert_tst_ok(tst_entity_coverage_get_or_add(cov->entities, &id, out));
}

/*
 * Commits `all` as the table's whole coverage: one segment sidecar (the
 * same set) and a snapshot, as an append writes them. Removing buckets
 * this way is what a delete's rewrite amounts to for coverage.
 */
static void fx_commit_coverage(fixture *f, const tst_table_cov *all)
{
    const tst_index_spec *spec = tst_table_index(f->t);
    char uuid[37], seg[TST_SIDECAR_PATH_MAX], snap[TST_SIDECAR_PATH_MAX], actions[2048];
    assert_tst_ok(tst_io_uuid(uuid));
    assert_tst_ok(tst_sidecar_write_segment(f->root, spec, all, uuid, seg, sizeof seg));
    assert_tst_ok(tst_sidecar_write_snapshot(f->root, spec, tst_table_version(f->t) + 1, all, uuid,
                                             snap, sizeof snap));
    snprintf(actions, sizeof actions,
             "[{\"AddSegment\":{\"path\":\"data/seg-%d.parquet\",\"format\":\"parquet\","
             "\"entity_layout\":%s,\"index_min\":{\"type\":\"timestamp\",\"value\":"
             "\"2024-06-01T00:00:00Z\"},\"index_max\":{\"type\":\"timestamp\",\"value\":"
             "\"2024-06-01T00:00:00Z\"},\"row_count\":1,\"file_size\":100,\"coverage_path\":"
             "\"%s\"}},{\"UpdateTableCoverage\":{\"index_kind\":%s,\"coverage_path\":\"%s\"}}]",
             ++f->segments, all->entities ? "\"Mixed\"" : "\"NotApplicable\"", seg,
             f->kind_json, snap);
    assert_tst_ok(tst_table_commit_json(f->t, actions, NULL));
}

/* Commits symbol -> hours [first, last] ranges given as "SYM:first-last ..." */
static void fx_commit_text(fixture *f, const char *text)
{
    tst_table_cov cov = {NULL, NULL};
    assert_tst_ok(tst_entity_coverage_new(&cov.entities));
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char sym[16];
        int a = 0, b = 0;
        assert_int_equal(sscanf(tok, "%15[^:]:%d-%d", sym, &a, &b), 3);
        tst_coverage *c = NULL;
        set_identity(&cov, sym, &c);
        assert_tst_ok(tst_coverage_add_range(c, HOUR0 + (uint64_t)a, HOUR0 + (uint64_t)b));
    }
    free(copy);
    fx_commit_coverage(f, &cov);
    tst_table_cov_clear(&cov);
}

static tst_index_value at_hour(int64_t h)
{
    return tst_index_value_timestamp(T0 + h * 3600, 0);
}

static int64_t hour_of(const tst_index_value *v)
{
    return (v->v.ts.sec - T0) / 3600;
}

/* "SYM change first-last;" per row, hours relative to T0, last exclusive. */
static char *render(const tst_range_list *list)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < tst_range_list_count(list); i++) {
        const tst_entity_range *r = tst_range_list_at(list, i);
        char id[64] = "-";
        if (r->identity.count)
            tst_entity_identity_format(&r->identity, id, sizeof id);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s %s %lld-%lld", id,
                              tst_range_change_name(r->change), (long long)hour_of(&r->start),
                              (long long)hour_of(&r->end));
        if (r->change == TST_RANGE_REQUEST && r->missing_buckets != r->buckets)
            n += (size_t)snprintf(buf + n, sizeof buf - n, " (%llu missing)",
                                  (unsigned long long)r->missing_buckets);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "; ");
    }
    return buf;
}

static void the_diff_between_two_versions_lists_added_and_removed_runs_in_order(void **state)
{
    (void)state;
    fixture f;
    fx_symbols(&f, HOURLY);
    fx_commit_text(&f, "NVDA:0-9 AAPL:5-6");              /* version 2 */
    fx_commit_text(&f, "NVDA:0-2 NVDA:4-12 MSFT:1-1");    /* version 3 */
    tst_table *v2 = NULL;
    assert_tst_ok(tst_table_open_at(&v2, f.root, 2));
    tst_range_list *list = NULL;
    assert_tst_ok(tst_table_coverage_diff(&list, v2, f.t, NULL));
    assert_string_equal(render(list), "AAPL removed 5-7; MSFT added 1-2; NVDA removed 3-4; "
                                      "NVDA added 10-13; ");
    tst_range_list_free(list);

    /* Restricted to a range and one entity (and one the tables never saw). */
    tst_entity_value vals[2] = {utf8("NVDA"), utf8("ZZZ")};
    tst_entity_identity ids[2] = {{1, &vals[1]}, {1, &vals[0]}};
    tst_index_value s = at_hour(4), e = at_hour(11);
    tst_coverage_scope scope = {&s, &e, ids, 2};
    assert_tst_ok(tst_table_coverage_diff(&list, v2, f.t, &scope));
    tst_table_free(v2);
    fx_close(&f); /* the list owns its identities */
    assert_string_equal(render(list), "NVDA added 10-11; ");
    tst_range_list_free(list);
}

static void tables_with_another_index_are_refused_by_name(void **state)
{
    (void)state;
    fixture a, b, c, d;
    fx_symbols(&a, HOURLY);
    fx_symbols(&b, DAILY);
    fx_symbols(&c, MINUTES60);
    fx_open(&d, HOURLY, "[]", TS_COL);
    tst_range_list *list = NULL;
    assert_int_equal(tst_table_coverage_diff(&list, a.t, b.t, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "same index type, bucket width"));
    assert_non_null(strstr(tst_error_last()->message, "bucket 1d"));
    assert_null(list);
    assert_int_equal(tst_table_coverage_diff(&list, a.t, d.t, NULL), TST_EINVAL);
    /* 60m buckets are 1h buckets */
    assert_tst_ok(tst_table_coverage_diff(&list, a.t, c.t, NULL));
    assert_int_equal(tst_range_list_count(list), 0);
    tst_range_list_free(list);
    fx_close(&a);
    fx_close(&b);
    fx_close(&c);
    fx_close(&d);
}

static void a_plan_splits_long_gaps_and_merges_only_when_allowed(void **state)
{
    (void)state;
    fixture f;
    fx_symbols(&f, HOURLY);
    fx_commit_text(&f, "NVDA:0-3 NVDA:5-6 NVDA:10-10");
    tst_index_value s = at_hour(0), e = at_hour(20);
    tst_entity_value vals[2] = {utf8("NVDA"), utf8("NEW")};
    tst_entity_identity ids[2] = {{1, &vals[0]}, {1, &vals[1]}};
    tst_backfill_options o = TST_BACKFILL_OPTIONS_INIT;
    o.scope = (tst_coverage_scope){&s, &e, ids, 2};
    tst_range_list *list = NULL;
    assert_tst_ok(tst_table_plan_backfill(&list, f.t, &o));
    assert_string_equal(render(list),
                        "NEW request 0-20; NVDA request 4-5; NVDA request 7-10; "
                        "NVDA request 11-20; ");
    tst_range_list_free(list);
    o.max_request_buckets = 4;
    o.merge_within_buckets = 2;
    assert_tst_ok(tst_table_plan_backfill(&list, f.t, &o));
    assert_string_equal(render(list), "NEW request 0-4; NEW request 4-8; NEW request 8-12; "
                                      "NEW request 12-16; NEW request 16-20; "
                                      "NVDA request 4-8 (2 missing); "
                                      "NVDA request 8-12 (3 missing); NVDA request 12-16; "
                                      "NVDA request 16-20; ");
    tst_range_list_free(list);
    o.max_request_buckets = 0;
    assert_tst_ok(tst_table_plan_backfill(&list, f.t, &o));
    assert_string_equal(render(list), "NEW request 0-20; NVDA request 4-20 (13 missing); ");
    tst_range_list_free(list);

    /* A calendar: only hours 12-15 expected; hours outside are not gaps. */
    tst_coverage *expected = NULL;
    assert_tst_ok(tst_coverage_new(&expected));
    assert_tst_ok(tst_coverage_add_range(expected, HOUR0 + 12, HOUR0 + 15));
    o.expected = expected;
    o.merge_within_buckets = 0;
    o.scope.entity_count = 1;
    assert_tst_ok(tst_table_plan_backfill(&list, f.t, &o));
    assert_string_equal(render(list), "NVDA request 12-16; ");
    tst_range_list_free(list);
    tst_coverage_free(expected);

    o.scope.start = NULL;
    o.scope.end = NULL;
    assert_int_equal(tst_table_plan_backfill(&list, f.t, &o), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "needs a range"));
    tst_entity_value wrong = {TST_ENTITY_INT64, {.i64 = 1}};
    tst_entity_identity bad = {1, &wrong};
    o.scope = (tst_coverage_scope){&s, &e, &bad, 1};
    assert_int_equal(tst_table_plan_backfill(&list, f.t, &o), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "\"symbol\""));
    fx_close(&f);
}

static void a_table_without_entities_has_one_anonymous_row_per_range(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[]", TS_COL);
    tst_table_cov cov = {NULL, NULL};
    assert_tst_ok(tst_coverage_new(&cov.global));
    assert_tst_ok(tst_coverage_add_range(cov.global, HOUR0 + 2, HOUR0 + 4));
    fx_commit_coverage(&f, &cov);
    tst_table *v1 = NULL;
    assert_tst_ok(tst_table_open_at(&v1, f.root, 1));
    tst_range_list *list = NULL;
    assert_tst_ok(tst_table_coverage_diff(&list, v1, f.t, NULL));
    assert_string_equal(render(list), "- added 2-5; ");
    tst_range_list_free(list);
    tst_index_value s = at_hour(0), e = at_hour(6);
    tst_backfill_options o = TST_BACKFILL_OPTIONS_INIT;
    o.scope.start = &s;
    o.scope.end = &e;
    assert_tst_ok(tst_table_plan_backfill(&list, f.t, &o));
    assert_string_equal(render(list), "- request 0-2; - request 5-6; ");
    tst_range_list_free(list);
    tst_table_free(v1);
    tst_table_cov_clear(&cov);
    fx_close(&f);
}

/* ---- differential ------------------------------------------------------- */

#define NB 40
#define NE 3
#define NV 6
static const char *SYMS[NE] = {"A", "B", "C"};

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Expected rows rendered the way render() does. */
static char *model_diff(bool from[NE][NB], bool to[NE][NB], int lo, int hi)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    int order[NE] = {0, 1, 2}; /* A < B < C */
    for (int k = 0; k < NE; k++) {
        int e = order[k];
        for (int b = lo; b <= hi; b++) {
            if (from[e][b] == to[e][b] || (b > lo && from[e][b - 1] == from[e][b] &&
                                           to[e][b - 1] == to[e][b]))
                continue;
            int end = b;
            while (end + 1 <= hi && from[e][end + 1] == from[e][b] && to[e][end + 1] == to[e][b])
                end++;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s %s %d-%d; ", SYMS[e],
                                  to[e][b] ? "added" : "removed", b, end + 1);
        }
    }
    return buf;
}

static int model_min_requests(const bool cov[NB], int lo, int hi, int max, int merge)
{
    int m[NB], k = 0, best[NB + 1];
    for (int b = lo; b <= hi; b++)
        if (!cov[b])
            m[k++] = b;
    best[0] = 0;
    for (int j = 1; j <= k; j++) {
        best[j] = 1 << 20;
        for (int i = j - 1; i >= 0; i--) {
            if (i < j - 1 && m[i + 1] - m[i] - 1 > merge)
                break;
            if (max && m[j - 1] - m[i] + 1 > max)
                break;
            if (best[i] + 1 < best[j])
                best[j] = best[i] + 1;
        }
    }
    return best[k];
}

static void diffs_and_plans_match_a_bit_per_bucket_model(void **state)
{
    (void)state;
    static bool model[NV][NE][NB];
    for (uint64_t seed = 1; seed <= 8; seed++) {
        rng_state = seed;
        fixture f;
        fx_symbols(&f, HOURLY);
        tst_table *at[NV + 1] = {0};
        for (int v = 0; v < NV; v++) {
            tst_table_cov cov = {NULL, NULL};
            assert_tst_ok(tst_entity_coverage_new(&cov.entities));
            for (int e = 0; e < NE; e++) {
                tst_coverage *c = NULL;
                if (rng() % 5 == 0) {
                    memset(model[v][e], 0, sizeof model[v][e]);
                    continue;
                }
                set_identity(&cov, SYMS[e], &c);
                for (int b = 0; b < NB; b++) {
                    /* runs: keep the previous bucket's state most of the time */
                    bool prev = b > 0 ? model[v][e][b - 1] : false;
                    model[v][e][b] = rng() % 4 == 0 ? !prev : prev;
                    if (model[v][e][b])
                        assert_tst_ok(tst_coverage_add(c, HOUR0 + (uint64_t)b));
                }
            }
            fx_commit_coverage(&f, &cov);
            tst_table_cov_clear(&cov);
            assert_tst_ok(tst_table_open_at(&at[v], f.root, (uint64_t)v + 2));
        }
        for (int q = 0; q < 30; q++) {
            int v1 = (int)(rng() % NV), v2 = (int)(rng() % NV);
            int lo = (int)(rng() % NB), hi = lo + (int)(rng() % (NB - lo));
            tst_index_value s = at_hour(lo), e = at_hour(hi + 1);
            tst_coverage_scope scope = {&s, &e, NULL, 0};
            tst_range_list *list = NULL;
            assert_tst_ok(tst_table_coverage_diff(&list, at[v1], at[v2], &scope));
            assert_string_equal(render(list), model_diff(model[v1], model[v2], lo, hi));
            tst_range_list_free(list);

            tst_backfill_options o = TST_BACKFILL_OPTIONS_INIT;
            tst_entity_value vals[NE];
            tst_entity_identity ids[NE];
            for (int k = 0; k < NE; k++) {
                vals[k] = utf8(SYMS[k]);
                ids[k] = (tst_entity_identity){1, &vals[k]};
            }
            o.scope = (tst_coverage_scope){&s, &e, ids, NE};
            o.max_request_buckets = rng() % 6;
            o.merge_within_buckets = rng() % 4;
            assert_tst_ok(tst_table_plan_backfill(&list, at[v1], &o));
            int count[NE] = {0};
            bool filled[NE][NB];
            memset(filled, 0, sizeof filled);
            for (size_t i = 0; i < tst_range_list_count(list); i++) {
                const tst_entity_range *r = tst_range_list_at(list, i);
                int ent = r->identity.values[0].v.utf8.ptr[0] - 'A';
                int a = (int)hour_of(&r->start), b = (int)hour_of(&r->end) - 1;
                assert_true(a >= lo && b <= hi && a <= b);
                assert_true(!o.max_request_buckets || r->buckets <= o.max_request_buckets);
                assert_false(model[v1][ent][a]);
                assert_false(model[v1][ent][b]);
                int run = 0;
                uint64_t missing = 0;
                for (int x = a; x <= b; x++) {
                    assert_false(filled[ent][x]);
                    filled[ent][x] = true;
                    run = model[v1][ent][x] ? run + 1 : 0;
                    missing += !model[v1][ent][x];
                    assert_true((uint64_t)run <= o.merge_within_buckets);
                }
                assert_int_equal(r->missing_buckets, missing);
                count[ent]++;
            }
            for (int ent = 0; ent < NE; ent++) {
                for (int x = lo; x <= hi; x++)
                    assert_true(model[v1][ent][x] || filled[ent][x]);
                assert_int_equal(count[ent],
                                 model_min_requests(model[v1][ent], lo, hi,
                                                    (int)o.max_request_buckets,
                                                    (int)o.merge_within_buckets));
            }
            tst_range_list_free(list);
        }
        for (int v = 0; v < NV; v++)
            tst_table_free(at[v]);
        fx_close(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_diff_between_two_versions_lists_added_and_removed_runs_in_order),
        cmocka_unit_test(tables_with_another_index_are_refused_by_name),
        cmocka_unit_test(a_plan_splits_long_gaps_and_merges_only_when_allowed),
        cmocka_unit_test(a_table_without_entities_has_one_anonymous_row_per_range),
        cmocka_unit_test(diffs_and_plans_match_a_bit_per_bucket_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
