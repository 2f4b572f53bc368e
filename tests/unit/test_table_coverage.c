/*
 * test_table_coverage.c — asking a table what it covers (table_coverage.h,
 * format-v6 §4 and §10.2 "table coverage queries"), and loading its
 * coverage with read-only recovery (§4.3, §10.3).
 *
 * Tables are built by hand the way an append builds them: segment and
 * snapshot sidecars written with tst_sidecar_write_*, then a commit of
 * AddSegment (with coverage_path) and UpdateTableCoverage. Answers are
 * checked in index units, rendered with tst_index_value_format.
 */
#include "testsupport.h"

#include "fsio.h"
#include "sidecar.h"
#include "table_internal.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Fixture: a hand-built table                                               */

#define SIGN_BIT 0x8000000000000000ULL
#define T0 1717200000LL /* 2024-06-01T00:00:00Z, hourly bucket 2^63 + 477000 */

#define TS_COL                                                                                     \
    "{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":\"Millis\",\"timezone\":null}},"      \
    "\"nullable\":false}"
#define I64_COL "{\"name\":\"ts\",\"data_type\":\"Int64\",\"nullable\":false}"
#define U64_COL "{\"name\":\"ts\",\"data_type\":\"UInt64\",\"nullable\":false}"
#define SYMBOL_COL "{\"name\":\"symbol\",\"data_type\":\"Utf8\",\"nullable\":false}"
#define VENUE_COL "{\"name\":\"venue\",\"data_type\":\"Int32\",\"nullable\":false}"
#define ID_COL "{\"name\":\"id\",\"data_type\":\"UInt64\",\"nullable\":false}"

#define HOURLY "{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}"
#define MINUTELY "{\"type\":\"timestamp\",\"bucket\":{\"Minutes\":1}}"

typedef struct fixture {
    char *root;
    tst_table *t;
    const char *kind_json;
    tst_table_cov all; /* union of the segments so far */
    int segments;
    char snapshot[TST_SIDECAR_PATH_MAX];    /* the latest snapshot's path */
    char segment_cov[TST_SIDECAR_PATH_MAX]; /* the latest segment sidecar's path */
} fixture;

/* A table whose first commit already carries its schema. */
static void fx_open(fixture *f, const char *kind_json, const char *entities_json,
                    const char *columns_json)
{
    memset(f, 0, sizeof *f);
    f->root = tst_test_tmpdir("tcov");
    f->kind_json = kind_json;
    char meta[2048];
    snprintf(
        meta, sizeof meta,
        "[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"
        "%s,\"kind\":%s}},\"logical_schema\":{\"columns\":[%s]},\"created_at\":"
        "\"2026-01-01T00:00:00Z\",\"format_version\":6}}]",
        entities_json, kind_json, columns_json);
    assert_int_equal(tst_test_write_commit(f->root, 1, meta), 0);
    assert_int_equal(tst_test_set_current(f->root, 1), 0);
    assert_tst_ok(tst_table_open(&f->t, f->root));
    assert_tst_ok(tst_table_cov_new(&f->all, tst_table_index(f->t)));
}

static void fx_close(fixture *f)
{
    tst_table_free(f->t);
    tst_table_cov_clear(&f->all);
    tst_test_rmtree(f->root);
}

static void value_json(const tst_index_value *v, char *buf, size_t cap)
{
    char text[TST_TIMESTAMP_TEXT_MAX];
    tst_index_value_format(v, text, sizeof text);
    const char *type = v->type == TST_INDEX_TIMESTAMP ? "timestamp"
                       : v->type == TST_INDEX_INT64   ? "int64"
                                                      : "uint64";
    const char *quote = v->type == TST_INDEX_TIMESTAMP ? "\"" : "";
    snprintf(buf, cap, "{\"type\":\"%s\",\"value\":%s%s%s}", type, quote, text, quote);
}

/* Segment bounds: the starts of its first and last covered buckets. */
static void segment_bounds(const fixture *f, const tst_table_cov *cov, char *min, char *max,
                           size_t cap)
{
    tst_coverage *u = NULL;
    if (cov->entities)
        assert_tst_ok(tst_entity_coverage_union_all(&u, cov->entities));
    const tst_coverage *c = cov->entities ? u : cov->global;
    uint64_t lo = 0, hi = 0;
    assert_true(tst_coverage_min(c, &lo) && tst_coverage_max(c, &hi));
    tst_index_value a, b, ignored;
    bool incl = false;
    const tst_index_kind *kind = &tst_table_index(f->t)->kind;
    assert_tst_ok(tst_bucket_bounds(kind, lo, &a, &ignored, &incl));
    assert_tst_ok(tst_bucket_bounds(kind, hi, &b, &ignored, &incl));
    value_json(&a, min, cap);
    value_json(&b, max, cap);
    tst_coverage_free(u);
}

static void fx_commit(fixture *f, const char *actions)
{
    assert_tst_ok(tst_table_commit_json(f->t, actions, NULL));
}

/* What an append does: a segment sidecar, a snapshot of the union, one commit. */
static void fx_add(fixture *f, const tst_table_cov *cov)
{
    const tst_index_spec *spec = tst_table_index(f->t);
    char uuid[37], min[128], max[128], actions[2048];
    assert_tst_ok(tst_io_uuid(uuid));
    segment_bounds(f, cov, min, max, sizeof min);
    assert_tst_ok(
        tst_sidecar_write_segment(f->root, spec, cov, uuid, f->segment_cov, sizeof f->segment_cov));
    assert_tst_ok(tst_table_cov_union_inplace(&f->all, cov));
    assert_tst_ok(tst_sidecar_write_snapshot(f->root, spec, tst_table_version(f->t) + 1, &f->all,
                                             uuid, f->snapshot, sizeof f->snapshot));
    snprintf(actions, sizeof actions,
             "[{\"AddSegment\":{\"path\":\"data/seg-%d.parquet\",\"format\":\"parquet\","
             "\"entity_layout\":%s,\"index_min\":%s,\"index_max\":%s,\"row_count\":1,"
             "\"file_size\":100,\"coverage_path\":\"%s\"}},{\"UpdateTableCoverage\":{"
             "\"index_kind\":%s,\"coverage_path\":\"%s\"}}]",
             ++f->segments, cov->entities ? "\"Mixed\"" : "\"NotApplicable\"", min, max,
             f->segment_cov, f->kind_json, f->snapshot);
    fx_commit(f, actions);
}

static char *fx_path(const fixture *f, const char *rel)
{
    return tst_test_path(f->root, rel);
}

/* ---- coverage values ---------------------------------------------------- */

static tst_entity_value utf8(const char *s)
{
    tst_entity_value v = {TST_ENTITY_UTF8, {.utf8 = {s, strlen(s)}}};
    return v;
}

static tst_entity_value i32(int32_t x)
{
    tst_entity_value v = {TST_ENTITY_INT32, {.i32 = x}};
    return v;
}

static tst_entity_value i64v(int64_t x)
{
    tst_entity_value v = {TST_ENTITY_INT64, {.i64 = x}};
    return v;
}

static tst_entity_value u64v(uint64_t x)
{
    tst_entity_value v = {TST_ENTITY_UINT64, {.u64 = x}};
    return v;
}

static tst_table_cov global_range(uint64_t first, uint64_t last)
{
    tst_table_cov cov = {NULL, NULL};
    assert_tst_ok(tst_coverage_new(&cov.global));
    assert_tst_ok(tst_coverage_add_range(cov.global, first, last));
    return cov;
}

static void add_identity(tst_table_cov *cov, const tst_entity_value *values, size_t n,
                         uint64_t first, uint64_t last)
{
    if (!cov->entities)
        assert_tst_ok(tst_entity_coverage_new(&cov->entities));
    tst_entity_identity id = {n, values};
    tst_coverage *c = NULL;
    assert_tst_ok(tst_entity_coverage_get_or_add(cov->entities, &id, &c));
    if (first <= last)
        assert_tst_ok(tst_coverage_add_range(c, first, last));
}

/* Hourly bucket of T0 + h hours. */
static uint64_t hour(int64_t h)
{
    return SIGN_BIT + 477000 + (uint64_t)h;
}

static tst_table_cov symbol_hours(const char *sym, int64_t first, int64_t last)
{
    tst_table_cov cov = {NULL, NULL};
    tst_entity_value v = utf8(sym);
    add_identity(&cov, &v, 1, hour(first), hour(last));
    return cov;
}

static void fx_add_symbol(fixture *f, const char *sym, int64_t first, int64_t last)
{
    tst_table_cov cov = symbol_hours(sym, first, last);
    fx_add(f, &cov);
    tst_table_cov_clear(&cov);
}

static tst_index_value at_hour(int64_t h)
{
    return tst_index_value_timestamp(T0 + h * 3600, 0);
}

static tst_entity_binding symbol_is(const char *sym)
{
    tst_entity_binding b = {"symbol", utf8(sym)};
    return b;
}

/* ---- answers ------------------------------------------------------------ */

static tst_coverage_counts counts_of(tst_table *t, const tst_entity_binding *b, size_t n,
                                     tst_index_value start, tst_index_value end)
{
    tst_coverage_counts c;
    memset(&c, 0, sizeof c);
    assert_tst_ok(tst_table_coverage(t, b, n, &start, &end, &c));
    return c;
}

static void assert_value_text(const tst_index_value *v, const char *want)
{
    char text[TST_TIMESTAMP_TEXT_MAX];
    assert_true(tst_index_value_format(v, text, sizeof text) > 0);
    assert_string_equal(text, want);
}

/* Gaps rendered as "[a, b) n;" one after another. */
typedef struct gap_text {
    char text[1024];
    int calls;
    int stop_after; /* 0: never */
} gap_text;

static int collect_gap(void *ctx, const tst_index_value *start, const tst_index_value *end,
                       bool inclusive, uint64_t buckets)
{
    gap_text *g = ctx;
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    tst_index_value_format(start, a, sizeof a);
    tst_index_value_format(end, b, sizeof b);
    size_t used = strlen(g->text);
    snprintf(g->text + used, sizeof g->text - used, "[%s, %s%c %llu;", a, b, inclusive ? ']' : ')',
             (unsigned long long)buckets);
    return ++g->calls == g->stop_after ? 7 : 0;
}

static const char *gaps_of(tst_table *t, const tst_entity_binding *b, size_t n,
                           tst_index_value start, tst_index_value end, uint64_t max_buckets,
                           gap_text *g)
{
    memset(g, 0, sizeof *g);
    assert_tst_ok(tst_table_gaps(t, b, n, &start, &end, max_buckets, collect_gap, g));
    return g->text;
}

typedef struct window {
    bool found;
    char start[TST_TIMESTAMP_TEXT_MAX];
    char end[TST_TIMESTAMP_TEXT_MAX];
} window;

static window window_of(tst_table *t, const tst_entity_binding *b, size_t n, tst_index_value end,
                        uint64_t len)
{
    window w;
    memset(&w, 0, sizeof w);
    tst_index_value s, e;
    memset(&s, 0, sizeof s);
    e = s;
    assert_tst_ok(tst_table_last_covered_window(t, b, n, &end, len, &w.found, &s, &e));
    if (w.found) {
        tst_index_value_format(&s, w.start, sizeof w.start);
        tst_index_value_format(&e, w.end, sizeof w.end);
    }
    return w;
}

/* ---- the log ------------------------------------------------------------ */

typedef struct log_capture {
    int recover_warnings;
    int events;
    char message[1024];
} log_capture;

static void capture_log(void *ctx, tst_log_level level, const char *event, const char *message)
{
    log_capture *c = ctx;
    c->events++;
    if (level == TST_LOG_WARN && strcmp(event, "coverage.recover") == 0)
        c->recover_warnings++;
    snprintf(c->message, sizeof c->message, "%s", message);
}

static void assert_message_contains(const char *needle)
{
    const char *message = tst_error_last()->message;
    if (!strstr(message, needle))
        print_error("message \"%s\" lacks \"%s\"\n", message, needle);
    assert_non_null(strstr(message, needle));
}

/* ------------------------------------------------------------------------ */
/* The reference examples (§4.1)                                             */

static void the_last_window_of_two_minutes_ending_at_six_is_minutes_four_and_five(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, MINUTELY, "[]", TS_COL);
    tst_table_cov cov = global_range(SIGN_BIT + 4, SIGN_BIT + 5);
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    tst_index_value end = tst_index_value_timestamp(360, 0);
    window w = window_of(f.t, NULL, 0, end, 2);
    assert_true(w.found);
    assert_string_equal(w.start, "1970-01-01T00:04:00Z");
    assert_string_equal(w.end, "1970-01-01T00:06:00Z");
    assert_false(window_of(f.t, NULL, 0, end, 3).found);
    assert_false(window_of(f.t, NULL, 0, end, 0).found);
    /* The end is exclusive: ending at 5 min leaves only minute 4. */
    assert_false(window_of(f.t, NULL, 0, tst_index_value_timestamp(300, 0), 2).found);
    /* One nanosecond past 5 min reaches into minute 5 again. */
    assert_true(window_of(f.t, NULL, 0, tst_index_value_timestamp(300, 1), 2).found);
    fx_close(&f);
}

static void minutes_zero_one_and_three_leave_a_longest_gap_of_one(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, MINUTELY, "[]", TS_COL);
    tst_table_cov cov = global_range(SIGN_BIT, SIGN_BIT + 1);
    assert_tst_ok(tst_coverage_add(cov.global, SIGN_BIT + 3));
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    tst_index_value start = tst_index_value_timestamp(0, 0),
                    end = tst_index_value_timestamp(240, 0);
    tst_coverage_counts c = counts_of(f.t, NULL, 0, start, end);
    assert_int_equal(c.max_gap_buckets, 1);
    assert_int_equal(c.covered_buckets, 3);
    assert_int_equal(c.total_buckets, 4);
    assert_true(c.ratio == 0.75);
    gap_text g;
    assert_string_equal(gaps_of(f.t, NULL, 0, start, end, 0, &g),
                        "[1970-01-01T00:02:00Z, 1970-01-01T00:03:00Z) 1;");
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Whole table and one entity                                                */

/* NVDA hours 0..9, AAPL hours 5..14 of 2024-06-01. */
static void fx_two_symbols(fixture *f)
{
    fx_open(f, HOURLY, "[\"symbol\"]", TS_COL "," SYMBOL_COL);
    fx_add_symbol(f, "NVDA", 0, 9);
    fx_add_symbol(f, "AAPL", 5, 14);
}

static void the_whole_table_counts_a_bucket_any_entity_covers(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_coverage_counts c = counts_of(f.t, NULL, 0, at_hour(0), at_hour(20));
    assert_int_equal(c.covered_buckets, 15);
    assert_int_equal(c.total_buckets, 20);
    assert_true(c.ratio == 0.75);
    assert_int_equal(c.max_gap_buckets, 5);
    gap_text g;
    assert_string_equal(gaps_of(f.t, NULL, 0, at_hour(0), at_hour(20), 0, &g),
                        "[2024-06-01T15:00:00Z, 2024-06-01T20:00:00Z) 5;");
    window w = window_of(f.t, NULL, 0, at_hour(20), 15);
    assert_true(w.found);
    assert_string_equal(w.start, "2024-06-01T00:00:00Z");
    assert_string_equal(w.end, "2024-06-01T15:00:00Z");
    fx_close(&f);
}

/* A fresh handle unites the snapshot's identities from its bytes; a handle
 * that loaded the coverage unites the decoded sets: the same set. The
 * answer stays valid while the handle loads everything at its version. */
static void the_whole_table_from_the_snapshot_bytes_equals_the_decoded_union(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    fx_add_symbol(&f, "MSFT", 30, 31);
    tst_table *fresh = NULL, *loaded = NULL;
    assert_tst_ok(tst_table_open(&fresh, f.root));
    assert_tst_ok(tst_table_open(&loaded, f.root));
    const tst_table_cov *cov = NULL;
    assert_tst_ok(tst_table_load_coverage(loaded, &cov));
    const tst_coverage *from_bytes = NULL, *again = NULL, *decoded = NULL;
    assert_tst_ok(tst_table_load_coverage_union(fresh, &from_bytes));
    assert_tst_ok(tst_table_load_coverage_union(fresh, &again));
    assert_ptr_equal(from_bytes, again); /* cached at the version */
    assert_tst_ok(tst_table_load_coverage_union(loaded, &decoded));
    assert_true(tst_coverage_equals(from_bytes, decoded));
    assert_int_equal(tst_coverage_cardinality(from_bytes), 17);
    tst_entity_binding nvda = symbol_is("NVDA"), aapl = symbol_is("AAPL");
    assert_int_equal(counts_of(fresh, &nvda, 1, at_hour(0), at_hour(40)).covered_buckets, 10);
    assert_int_equal(counts_of(fresh, &aapl, 1, at_hour(0), at_hour(40)).covered_buckets, 10);
    assert_int_equal(tst_coverage_cardinality(from_bytes), 17); /* still valid */
    assert_int_equal(counts_of(fresh, NULL, 0, at_hour(0), at_hour(40)).covered_buckets, 17);
    tst_table_free(fresh);
    tst_table_free(loaded);
    fx_close(&f);
}

static void one_entity_sees_only_its_own_buckets(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_entity_binding nvda = symbol_is("NVDA"), aapl = symbol_is("AAPL");
    tst_coverage_counts c = counts_of(f.t, &nvda, 1, at_hour(0), at_hour(20));
    assert_int_equal(c.covered_buckets, 10);
    assert_true(c.ratio == 0.5);
    assert_int_equal(c.max_gap_buckets, 10);
    gap_text g;
    assert_string_equal(gaps_of(f.t, &aapl, 1, at_hour(0), at_hour(20), 0, &g),
                        "[2024-06-01T00:00:00Z, 2024-06-01T05:00:00Z) 5;"
                        "[2024-06-01T15:00:00Z, 2024-06-01T20:00:00Z) 5;");
    window w = window_of(f.t, &aapl, 1, at_hour(12), 3);
    assert_true(w.found);
    assert_string_equal(w.start, "2024-06-01T09:00:00Z");
    assert_string_equal(w.end, "2024-06-01T12:00:00Z");
    assert_false(window_of(f.t, &nvda, 1, at_hour(20), 11).found);
    fx_close(&f);
}

static void gaps_split_into_pieces_and_the_callback_can_stop_the_walk(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_entity_binding nvda = symbol_is("NVDA");
    gap_text g;
    assert_string_equal(gaps_of(f.t, &nvda, 1, at_hour(0), at_hour(20), 4, &g),
                        "[2024-06-01T10:00:00Z, 2024-06-01T14:00:00Z) 4;"
                        "[2024-06-01T14:00:00Z, 2024-06-01T18:00:00Z) 4;"
                        "[2024-06-01T18:00:00Z, 2024-06-01T20:00:00Z) 2;");
    memset(&g, 0, sizeof g);
    g.stop_after = 2;
    tst_index_value start = at_hour(0), end = at_hour(20);
    assert_int_equal(tst_table_gaps(f.t, &nvda, 1, &start, &end, 4, collect_gap, &g), 7);
    assert_int_equal(g.calls, 2);
    fx_close(&f);
}

static void a_gap_starts_at_its_first_bucket_even_before_the_range(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    /* [20:30, 21:30) touches buckets 20 and 21, both missing. */
    tst_index_value start = tst_index_value_timestamp(T0 + 20 * 3600 + 1800, 0);
    tst_index_value end = tst_index_value_timestamp(T0 + 21 * 3600 + 1800, 0);
    gap_text g;
    assert_string_equal(gaps_of(f.t, NULL, 0, start, end, 0, &g),
                        "[2024-06-01T20:00:00Z, 2024-06-01T22:00:00Z) 2;");
    fx_close(&f);
}

static void an_unknown_identity_covers_nothing(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_entity_binding msft = symbol_is("MSFT");
    tst_coverage_counts c = counts_of(f.t, &msft, 1, at_hour(0), at_hour(20));
    assert_int_equal(c.covered_buckets, 0);
    assert_true(c.ratio == 0.0);
    assert_int_equal(c.max_gap_buckets, 20);
    gap_text g;
    assert_string_equal(gaps_of(f.t, &msft, 1, at_hour(0), at_hour(20), 0, &g),
                        "[2024-06-01T00:00:00Z, 2024-06-01T20:00:00Z) 20;");
    assert_false(window_of(f.t, &msft, 1, at_hour(20), 1).found);
    fx_close(&f);
}

static void an_identity_is_known_once_the_table_has_a_coverage_entry_for_it(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_entity_binding nvda = symbol_is("NVDA"), msft = symbol_is("MSFT");
    bool known = false;
    assert_tst_ok(tst_table_entity_known(f.t, &nvda, 1, &known));
    assert_true(known);
    assert_tst_ok(tst_table_entity_known(f.t, &msft, 1, &known));
    assert_false(known);
    known = false;
    assert_tst_ok(tst_table_entity_known(f.t, NULL, 0, &known)); /* the whole table */
    assert_true(known);
    tst_entity_binding venue = {"venue", utf8("XNAS")};
    assert_tst_fails(tst_table_entity_known(f.t, &venue, 1, &known), TST_EINVAL);
    assert_tst_fails(tst_table_entity_known(f.t, &nvda, 1, NULL), TST_EINVAL);
    fx_add_symbol(&f, "MSFT", 30, 30);
    assert_tst_ok(tst_table_entity_known(f.t, &msft, 1, &known));
    assert_true(known);
    fx_close(&f);
}

static void a_table_before_its_first_append_covers_nothing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("tcov");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_coverage_counts c = counts_of(t, NULL, 0, at_hour(0), at_hour(5));
    assert_int_equal(c.covered_buckets, 0);
    assert_int_equal(c.total_buckets, 5);
    assert_true(c.ratio == 0.0);
    assert_int_equal(c.max_gap_buckets, 5);
    tst_entity_binding nvda = symbol_is("NVDA");
    tst_index_value start = at_hour(0), end = at_hour(5);
    assert_tst_fails(tst_table_coverage(t, &nvda, 1, &start, &end, &c), TST_EINVAL);
    assert_message_contains("no schema yet");
    tst_coverage_summary *s = NULL;
    assert_tst_ok(tst_table_coverage_summary(t, &s));
    assert_int_equal(tst_coverage_summary_count(s), 0);
    tst_coverage_summary_free(s);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* ------------------------------------------------------------------------ */
/* Integer indexes and extremes                                              */

static void an_int64_table_answers_at_both_ends_of_its_domain(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, "{\"type\":\"int64\",\"bucket_width\":10}", "[]", I64_COL);
    tst_table_cov cov = {NULL, NULL};
    assert_tst_ok(tst_coverage_new(&cov.global));
    uint64_t lowest = 0, highest = 0;
    tst_index_value min = tst_index_value_int64(INT64_MIN), max = tst_index_value_int64(INT64_MAX);
    assert_tst_ok(tst_bucket_of(&tst_table_index(f.t)->kind, &min, &lowest));
    assert_tst_ok(tst_bucket_of(&tst_table_index(f.t)->kind, &max, &highest));
    assert_tst_ok(tst_coverage_add(cov.global, lowest));
    assert_tst_ok(tst_coverage_add(cov.global, highest));
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);

    tst_coverage_counts c = counts_of(f.t, NULL, 0, min, max);
    assert_int_equal(c.covered_buckets, 2);
    assert_int_equal(c.total_buckets, 1844674407370955162ULL);
    assert_int_equal(c.max_gap_buckets, 1844674407370955160ULL);
    gap_text g;
    assert_string_equal(gaps_of(f.t, NULL, 0, min, max, 0, &g),
                        "[-9223372036854775800, 9223372036854775800) 1844674407370955160;");
    bool found = false;
    tst_index_value ws, we;
    memset(&ws, 0, sizeof ws);
    we = ws;
    assert_tst_ok(tst_table_last_covered_window(f.t, NULL, 0, &max, 1, &found, &ws, &we));
    assert_true(found);
    assert_value_text(&ws, "9223372036854775800");
    assert_value_text(&we, "9223372036854775807"); /* clipped at the domain maximum */
    /* Window ending at the lowest bucket's end finds it, clipped at the minimum. */
    tst_index_value low_end = tst_index_value_int64(INT64_MIN + 2);
    assert_tst_ok(tst_table_last_covered_window(f.t, NULL, 0, &low_end, 1, &found, &ws, &we));
    assert_true(found);
    assert_value_text(&ws, "-9223372036854775808");
    assert_value_text(&we, "-9223372036854775800");
    assert_tst_fails(tst_table_last_covered_window(f.t, NULL, 0, &min, 1, &found, &ws, &we),
                     TST_EINVAL);
    fx_close(&f);
}

static void a_uint64_table_answers_up_to_its_maximum(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, "{\"type\":\"uint64\",\"bucket_width\":1}", "[]", U64_COL);
    tst_table_cov cov = global_range(0, 0);
    assert_tst_ok(tst_coverage_add(cov.global, UINT64_MAX));
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    tst_index_value zero = tst_index_value_uint64(0), max = tst_index_value_uint64(UINT64_MAX);
    tst_coverage_counts c = counts_of(f.t, NULL, 0, zero, max);
    assert_int_equal(c.covered_buckets, 1);
    assert_int_equal(c.total_buckets, UINT64_MAX);
    assert_int_equal(c.max_gap_buckets, UINT64_MAX - 1);
    gap_text g;
    assert_string_equal(gaps_of(f.t, NULL, 0, zero, max, 0, &g),
                        "[1, 18446744073709551615) 18446744073709551614;");
    window w = window_of(f.t, NULL, 0, max, 1);
    assert_true(w.found);
    assert_string_equal(w.start, "0");
    assert_string_equal(w.end, "1");
    /* The top value is covered, but [x, max) never reaches it. */
    c = counts_of(f.t, NULL, 0, tst_index_value_uint64(UINT64_MAX - 1), max);
    assert_int_equal(c.covered_buckets, 0);
    assert_tst_fails(tst_table_coverage(f.t, NULL, 0, &max, &max, &c), TST_EINVAL);
    fx_close(&f);
}

static void numeric_entities_take_their_exact_types_in_any_order(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[\"venue\",\"id\"]", TS_COL "," VENUE_COL "," ID_COL);
    tst_table_cov cov = {NULL, NULL};
    tst_entity_value a[] = {i32(-1), u64v(UINT64_MAX)};
    tst_entity_value b[] = {i32(-1), u64v(0)};
    add_identity(&cov, a, 2, hour(0), hour(1));
    add_identity(&cov, b, 2, hour(2), hour(2));
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    tst_entity_binding reversed[] = {{"id", u64v(UINT64_MAX)}, {"venue", i32(-1)}};
    tst_coverage_counts c = counts_of(f.t, reversed, 2, at_hour(0), at_hour(4));
    assert_int_equal(c.covered_buckets, 2);
    tst_entity_binding wide[] = {{"venue", i64v(-1)}, {"id", u64v(UINT64_MAX)}};
    tst_index_value start = at_hour(0), end = at_hour(4);
    assert_tst_fails(tst_table_coverage(f.t, wide, 2, &start, &end, &c), TST_EINVAL);
    assert_message_contains("venue");
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Argument errors                                                           */

static void entity_bindings_are_checked_against_the_entity_columns(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[\"symbol\",\"venue\"]", TS_COL "," SYMBOL_COL "," VENUE_COL);
    tst_coverage_counts c;
    tst_index_value start = at_hour(0), end = at_hour(4);
    tst_entity_binding unknown[] = {{"symbol", utf8("A")}, {"venue", i32(1)}, {"desk", i32(2)}};
    assert_tst_fails(tst_table_coverage(f.t, unknown, 3, &start, &end, &c), TST_EINVAL);
    assert_message_contains("desk");
    tst_entity_binding repeated[] = {{"symbol", utf8("A")}, {"symbol", utf8("B")}};
    assert_tst_fails(tst_table_coverage(f.t, repeated, 2, &start, &end, &c), TST_EINVAL);
    assert_message_contains("more than once");
    tst_entity_binding missing[] = {{"symbol", utf8("A")}};
    assert_tst_fails(tst_table_coverage(f.t, missing, 1, &start, &end, &c), TST_EINVAL);
    assert_message_contains("\"venue\" is missing");
    tst_entity_binding mistyped[] = {{"symbol", i32(1)}, {"venue", i32(1)}};
    assert_tst_fails(tst_table_coverage(f.t, mistyped, 2, &start, &end, &c), TST_EINVAL);
    assert_message_contains("symbol");
    tst_entity_binding no_name[] = {{NULL, utf8("A")}};
    assert_tst_fails(tst_table_coverage(f.t, no_name, 1, &start, &end, &c), TST_EINVAL);
    assert_tst_fails(tst_table_coverage(f.t, NULL, 2, &start, &end, &c), TST_EINVAL);
    fx_close(&f);
}

static void an_entity_binding_on_a_table_without_entities_is_invalid(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[]", TS_COL);
    tst_entity_binding nvda = symbol_is("NVDA");
    tst_coverage_counts c;
    tst_index_value start = at_hour(0), end = at_hour(4);
    assert_tst_fails(tst_table_coverage(f.t, &nvda, 1, &start, &end, &c), TST_EINVAL);
    assert_message_contains("no configured entity columns");
    bool found = false;
    assert_tst_fails(tst_table_last_covered_window(f.t, &nvda, 1, &end, 1, &found, &start, &end),
                     TST_EINVAL);
    fx_close(&f);
}

static void ranges_are_validated_before_any_file_is_read(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    /* Remove every sidecar: a query that read them would fail with ENOTFOUND. */
    char *cov_dir = fx_path(&f, "_coverage");
    tst_test_rmtree(cov_dir);
    tst_table *fresh = NULL;
    assert_tst_ok(tst_table_open(&fresh, f.root));
    tst_coverage_counts c;
    tst_index_value start = at_hour(4), end = at_hour(4), int_end = tst_index_value_int64(5);
    assert_tst_fails(tst_table_coverage(fresh, NULL, 0, &start, &end, &c), TST_EINVAL);
    assert_tst_fails(tst_table_coverage(fresh, NULL, 0, &start, &int_end, &c), TST_EINVAL);
    assert_tst_fails(tst_table_gaps(fresh, NULL, 0, &end, &start, 0, collect_gap, NULL),
                     TST_EINVAL);
    assert_tst_fails(tst_table_coverage(fresh, NULL, 0, NULL, &end, &c), TST_EINVAL);
    tst_entity_binding wrong = {"symbol", i32(1)};
    start = at_hour(0);
    assert_tst_fails(tst_table_coverage(fresh, &wrong, 1, &start, &end, &c), TST_EINVAL);
    /* A valid question does read, and fails for the missing files. */
    assert_tst_fails(tst_table_coverage(fresh, NULL, 0, &start, &end, &c), TST_ENOTFOUND);
    tst_table_free(fresh);
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Loading and recovery                                                      */

static void assert_two_symbols_answers(tst_table *t)
{
    tst_entity_binding nvda = symbol_is("NVDA");
    tst_coverage_counts c = counts_of(t, NULL, 0, at_hour(0), at_hour(20));
    assert_int_equal(c.covered_buckets, 15);
    c = counts_of(t, &nvda, 1, at_hour(0), at_hour(20));
    assert_int_equal(c.covered_buckets, 10);
    window w = window_of(t, &nvda, 1, at_hour(20), 10);
    assert_true(w.found);
    assert_string_equal(w.start, "2024-06-01T00:00:00Z");
}

static void recover_after_asking(fixture *f, bool corrupt, bool one_entity_first)
{
    char *snapshot = fx_path(f, f->snapshot);
    if (corrupt)
        assert_int_equal(tst_test_write_file(snapshot, "garbage", 7), 0);
    else
        assert_int_equal(remove(snapshot), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    log_capture log;
    memset(&log, 0, sizeof log);
    tst_set_log_callback(capture_log, &log);
    if (one_entity_first) { /* the selective read (sidecar.c) fails over to recovery */
        tst_entity_binding nvda = symbol_is("NVDA");
        assert_int_equal(counts_of(t, &nvda, 1, at_hour(0), at_hour(20)).covered_buckets, 10);
    }
    assert_two_symbols_answers(t);
    assert_two_symbols_answers(t); /* cached: no second warning */
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(log.recover_warnings, 1);
    assert_int_equal(log.events, 1);
    assert_non_null(strstr(log.message, f->snapshot));
    assert_non_null(strstr(log.message, "snapshot_version=3"));
    assert_non_null(strstr(log.message, "recovery_source=segment_sidecars"));
    assert_non_null(strstr(log.message, "coverage_mode=entity"));
    assert_null(strstr(log.message, "NVDA"));
    assert_null(strstr(log.message, "AAPL"));
    /* Recovery never rewrites the snapshot. */
    char *bytes = NULL;
    size_t len = 0;
    if (corrupt) {
        assert_int_equal(tst_test_read_file(snapshot, &bytes, &len), 0);
        assert_int_equal(len, 7);
        free(bytes);
    } else {
        assert_false(tst_test_exists(snapshot));
    }
    tst_table_free(t);
    free(snapshot);
}

static void recover_after(fixture *f, bool corrupt)
{
    recover_after_asking(f, corrupt, false);
}

static void a_corrupt_snapshot_read_for_one_entity_is_rebuilt_with_one_warning(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    recover_after_asking(&f, true, true);
    fx_close(&f);
}

static void a_missing_snapshot_read_for_one_entity_is_rebuilt_with_one_warning(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    recover_after_asking(&f, false, true);
    fx_close(&f);
}

/* A fresh handle's first question about one entity reads that identity
 * alone; the next, about another, loads everything; both agree with the
 * whole coverage, and an unknown entity stays unknown on either path. */
static void one_entity_is_read_alone_and_a_second_loads_the_table(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_entity_binding nvda = symbol_is("NVDA"), aapl = symbol_is("AAPL"), none = symbol_is("X");
    for (int order = 0; order < 3; order++) {
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open(&t, f.root));
        bool known = true;
        if (order == 1) {
            assert_tst_ok(tst_table_entity_known(t, &none, 1, &known));
            assert_false(known);
        }
        if (order == 2)
            assert_int_equal(counts_of(t, NULL, 0, at_hour(0), at_hour(20)).covered_buckets, 15);
        assert_int_equal(counts_of(t, &nvda, 1, at_hour(0), at_hour(20)).covered_buckets, 10);
        assert_int_equal(counts_of(t, &nvda, 1, at_hour(0), at_hour(20)).covered_buckets, 10);
        assert_tst_ok(tst_table_entity_known(t, &none, 1, &known));
        assert_false(known);
        assert_tst_ok(tst_table_entity_known(t, &aapl, 1, &known));
        assert_true(known);
        assert_int_equal(counts_of(t, &aapl, 1, at_hour(0), at_hour(20)).covered_buckets, 10);
        assert_two_symbols_answers(t);
        tst_table_free(t);
    }
    fx_close(&f);
}

static void a_missing_snapshot_is_rebuilt_from_segment_sidecars_with_one_warning(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    assert_two_symbols_answers(f.t);
    recover_after(&f, false);
    fx_close(&f);
}

static void a_corrupt_snapshot_is_rebuilt_from_segment_sidecars_with_one_warning(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    recover_after(&f, true);
    fx_close(&f);
}

static void a_global_recovery_warning_carries_the_error_detail(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, MINUTELY, "[]", TS_COL);
    tst_table_cov cov = global_range(SIGN_BIT, SIGN_BIT + 9);
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    char *snapshot = fx_path(&f, f.snapshot);
    assert_int_equal(tst_test_write_file(snapshot, "xx", 2), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    log_capture log;
    memset(&log, 0, sizeof log);
    tst_set_log_callback(capture_log, &log);
    tst_coverage_counts c =
        counts_of(t, NULL, 0, tst_index_value_timestamp(0, 0), tst_index_value_timestamp(600, 0));
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(c.covered_buckets, 10);
    assert_int_equal(log.recover_warnings, 1);
    assert_non_null(strstr(log.message, "coverage_mode=global"));
    assert_non_null(strstr(log.message, "error=TST_ECORRUPT"));
    tst_table_free(t);
    free(snapshot);
    fx_close(&f);
}

static void strict_loading_never_recovers(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_table_cov cov;
    assert_tst_ok(tst_table_load_coverage_strict(f.t, &cov));
    assert_true(tst_table_cov_equals(&cov, &f.all));
    tst_table_cov_clear(&cov);
    char *snapshot = fx_path(&f, f.snapshot);
    assert_int_equal(remove(snapshot), 0);
    assert_tst_fails(tst_table_load_coverage_strict(f.t, &cov), TST_ENOTFOUND);
    free(snapshot);
    fx_close(&f);
}

static void a_pointer_of_another_index_kind_is_corrupt_and_not_recovered(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    /* Commits and replay refuse such a pointer, so bend the handle's state. */
    f.t->state.coverage.index_kind.bucket.count = 2;
    log_capture log;
    memset(&log, 0, sizeof log);
    tst_set_log_callback(capture_log, &log);
    tst_coverage_counts c;
    tst_index_value start = at_hour(0), end = at_hour(4);
    assert_tst_fails(tst_table_coverage(f.t, NULL, 0, &start, &end, &c), TST_ECORRUPT);
    assert_message_contains("index kind");
    tst_table_cov cov;
    assert_tst_fails(tst_table_load_coverage_strict(f.t, &cov), TST_ECORRUPT);
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(log.events, 0);
    f.t->state.coverage.index_kind.bucket.count = 1;
    fx_close(&f);
}

static void recovery_fails_for_a_segment_without_coverage_path(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    char *seg = tst_test_add_segment_action("data/legacy.parquet", "MSFT", T0, T0 + 3600);
    char actions[2048];
    snprintf(actions, sizeof actions, "[%s]", seg);
    free(seg);
    fx_commit(&f, actions);
    /* The pointer still names the version-3 snapshot, which is fine... */
    tst_coverage_counts c = counts_of(f.t, NULL, 0, at_hour(0), at_hour(20));
    assert_int_equal(c.covered_buckets, 15);
    /* ...until it is lost and recovery needs every segment's sidecar. */
    char *snapshot = fx_path(&f, f.snapshot);
    assert_int_equal(remove(snapshot), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    tst_index_value start = at_hour(0), end = at_hour(20);
    assert_tst_fails(tst_table_coverage(t, NULL, 0, &start, &end, &c), TST_ECORRUPT);
    assert_message_contains("data/legacy.parquet is missing coverage_path");
    tst_table_free(t);
    free(snapshot);
    fx_close(&f);
}

static void recovery_names_the_segment_and_its_unreadable_sidecar(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    char *snapshot = fx_path(&f, f.snapshot), *sidecar = fx_path(&f, f.segment_cov);
    assert_int_equal(remove(snapshot), 0);
    assert_int_equal(remove(sidecar), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    tst_set_log_callback(NULL, NULL);
    tst_coverage_counts c;
    tst_index_value start = at_hour(0), end = at_hour(20);
    assert_tst_fails(tst_table_coverage(t, NULL, 0, &start, &end, &c), TST_ENOTFOUND);
    assert_message_contains("data/seg-2.parquet");
    assert_message_contains(f.segment_cov);
    tst_table_free(t);
    free(snapshot);
    free(sidecar);
    fx_close(&f);
}

static void without_a_pointer_the_segment_sidecars_are_united_silently(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[\"symbol\"]", TS_COL "," SYMBOL_COL);
    const tst_index_spec *spec = tst_table_index(f.t);
    tst_table_cov a = symbol_hours("NVDA", 0, 3), b = symbol_hours("NVDA", 6, 7);
    char pa[TST_SIDECAR_PATH_MAX], pb[TST_SIDECAR_PATH_MAX], actions[2048];
    assert_tst_ok(tst_sidecar_write_segment(f.root, spec, &a, "u1", pa, sizeof pa));
    assert_tst_ok(tst_sidecar_write_segment(f.root, spec, &b, "u2", pb, sizeof pb));
    snprintf(
        actions, sizeof actions,
        "[{\"AddSegment\":{\"path\":\"data/a.parquet\",\"format\":\"parquet\","
        "\"entity_layout\":\"Mixed\",\"index_min\":{\"type\":\"timestamp\",\"value\":"
        "\"2024-06-01T00:00:00Z\"},\"index_max\":{\"type\":\"timestamp\",\"value\":"
        "\"2024-06-01T07:00:00Z\"},\"row_count\":1,\"file_size\":1,\"coverage_path\":\"%s\"}},"
        "{\"AddSegment\":{\"path\":\"data/b.parquet\",\"format\":\"parquet\","
        "\"entity_layout\":\"Mixed\",\"index_min\":{\"type\":\"timestamp\",\"value\":"
        "\"2024-06-01T00:00:00Z\"},\"index_max\":{\"type\":\"timestamp\",\"value\":"
        "\"2024-06-01T07:00:00Z\"},\"row_count\":1,\"file_size\":1,\"coverage_path\":\"%s\"}}]",
        pa, pb);
    fx_commit(&f, actions);
    log_capture log;
    memset(&log, 0, sizeof log);
    tst_set_log_callback(capture_log, &log);
    tst_entity_binding nvda = symbol_is("NVDA");
    tst_coverage_counts c = counts_of(f.t, &nvda, 1, at_hour(0), at_hour(8));
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(c.covered_buckets, 6);
    assert_int_equal(c.max_gap_buckets, 2);
    assert_int_equal(log.events, 0);
    tst_table_cov strict;
    assert_tst_fails(tst_table_load_coverage_strict(f.t, &strict), TST_ENOTFOUND);
    tst_table_cov_clear(&a);
    tst_table_cov_clear(&b);
    fx_close(&f);
}

static void the_cache_follows_new_commits_and_refreshes(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_table *reader = NULL;
    assert_tst_ok(tst_table_open(&reader, f.root));
    tst_entity_binding msft = symbol_is("MSFT");
    assert_int_equal(counts_of(f.t, &msft, 1, at_hour(0), at_hour(20)).covered_buckets, 0);
    assert_int_equal(counts_of(reader, &msft, 1, at_hour(0), at_hour(20)).covered_buckets, 0);
    fx_add_symbol(&f, "MSFT", 2, 3);
    assert_int_equal(counts_of(f.t, &msft, 1, at_hour(0), at_hour(20)).covered_buckets, 2);
    assert_int_equal(counts_of(f.t, NULL, 0, at_hour(0), at_hour(20)).covered_buckets, 15);
    /* The other handle keeps its version until it refreshes. */
    assert_int_equal(counts_of(reader, &msft, 1, at_hour(0), at_hour(20)).covered_buckets, 0);
    bool changed = false;
    assert_tst_ok(tst_table_refresh(reader, &changed));
    assert_true(changed);
    assert_int_equal(counts_of(reader, &msft, 1, at_hour(0), at_hour(20)).covered_buckets, 2);
    tst_table_free(reader);
    fx_close(&f);
}

static void adopted_coverage_is_answered_without_reading_files(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_table_cov copy;
    assert_tst_ok(tst_table_cov_clone(&copy, &f.all));
    assert_tst_ok(tst_table_adopt_coverage(f.t, &copy));
    assert_null(copy.entities);
    char *cov_dir = fx_path(&f, "_coverage");
    tst_test_rmtree(cov_dir);
    assert_two_symbols_answers(f.t);
    const tst_table_cov *loaded = NULL;
    assert_tst_ok(tst_table_load_coverage(f.t, &loaded));
    assert_true(tst_table_cov_equals(loaded, &f.all));
    tst_table_cov wrong = global_range(1, 1);
    assert_tst_fails(tst_table_adopt_coverage(f.t, &wrong), TST_EINVAL);
    assert_null(wrong.global);
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Summary                                                                   */

static void the_summary_has_one_row_per_identity_in_canonical_order(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[\"symbol\"]", TS_COL "," SYMBOL_COL);
    tst_table_cov cov = symbol_hours("NVDA", 0, 2);
    tst_entity_value nvda = utf8("NVDA"), aapl = utf8("AAPL"), msft = utf8("MSFT");
    add_identity(&cov, &nvda, 1, hour(5), hour(6));
    add_identity(&cov, &nvda, 1, hour(9), hour(9));
    add_identity(&cov, &aapl, 1, hour(3), hour(3));
    add_identity(&cov, &msft, 1, 1, 0); /* known, covering nothing */
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    tst_coverage_summary *s = NULL;
    assert_tst_ok(tst_table_coverage_summary(f.t, &s));
    assert_int_equal(tst_coverage_summary_count(s), 3);
    const tst_entity_summary *r = tst_coverage_summary_at(s, 0);
    char name[64];
    tst_entity_identity_format(&r->identity, name, sizeof name);
    assert_string_equal(name, "AAPL");
    assert_true(r->covered);
    assert_value_text(&r->first, "2024-06-01T03:00:00Z");
    assert_value_text(&r->last, "2024-06-01T04:00:00Z");
    assert_int_equal(r->covered_buckets, 1);
    assert_int_equal(r->gaps, 0);
    assert_int_equal(r->missing_buckets, 0);
    r = tst_coverage_summary_at(s, 1);
    tst_entity_identity_format(&r->identity, name, sizeof name);
    assert_string_equal(name, "MSFT");
    assert_false(r->covered);
    assert_int_equal(r->covered_buckets, 0);
    r = tst_coverage_summary_at(s, 2);
    tst_entity_identity_format(&r->identity, name, sizeof name);
    assert_string_equal(name, "NVDA");
    assert_value_text(&r->first, "2024-06-01T00:00:00Z");
    assert_value_text(&r->last, "2024-06-01T10:00:00Z");
    assert_int_equal(r->covered_buckets, 6);
    assert_int_equal(r->gaps, 2);
    assert_int_equal(r->missing_buckets, 4); /* hours 3-4 and 7-8 of [0, 10) */
    assert_null(tst_coverage_summary_at(s, 3));
    /* Rows own their identities: they outlive a new version of the table. */
    fx_add_symbol(&f, "ZZZ", 20, 20);
    assert_int_equal(counts_of(f.t, NULL, 0, at_hour(20), at_hour(21)).covered_buckets, 1);
    tst_entity_identity_format(&tst_coverage_summary_at(s, 0)->identity, name, sizeof name);
    assert_string_equal(name, "AAPL");
    tst_coverage_summary_free(s);
    tst_coverage_summary_free(NULL);
    fx_close(&f);
}

/* A fresh handle reads the summary from the snapshot's bytes (no bitmap
 * built); a handle whose cache holds the coverage summarizes the decoded
 * sets. Row for row, both say the same, gaps and all. */
static void the_summary_from_the_snapshot_bytes_equals_the_decoded_one(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, HOURLY, "[\"symbol\"]", TS_COL "," SYMBOL_COL);
    fx_add_symbol(&f, "NVDA", 0, 3);
    fx_add_symbol(&f, "AAPL", 5, 14);
    fx_add_symbol(&f, "NVDA", 6, 9);
    fx_add_symbol(&f, "NVDA", 70000, 70001); /* another container */
    fx_add_symbol(&f, "MSFT", 100, 100);
    tst_table *fresh = NULL, *loaded = NULL;
    assert_tst_ok(tst_table_open(&fresh, f.root));
    assert_tst_ok(tst_table_open(&loaded, f.root));
    const tst_table_cov *tc = NULL;
    assert_tst_ok(tst_table_load_coverage(loaded, &tc));
    tst_coverage_summary *a = NULL, *b = NULL;
    assert_tst_ok(tst_table_coverage_summary(fresh, &a));
    assert_tst_ok(tst_table_coverage_summary(loaded, &b));
    assert_int_equal(tst_coverage_summary_count(a), 3);
    assert_int_equal(tst_coverage_summary_count(b), 3);
    for (size_t i = 0; i < 3; i++) {
        const tst_entity_summary *x = tst_coverage_summary_at(a, i);
        const tst_entity_summary *y = tst_coverage_summary_at(b, i);
        assert_int_equal(tst_entity_identity_compare(&x->identity, &y->identity), 0);
        assert_int_equal(x->covered, y->covered);
        assert_int_equal(x->covered_buckets, y->covered_buckets);
        assert_int_equal(x->gaps, y->gaps);
        assert_int_equal(x->missing_buckets, y->missing_buckets);
        char xs[64], ys[64];
        value_json(&x->first, xs, sizeof xs);
        value_json(&y->first, ys, sizeof ys);
        assert_string_equal(xs, ys);
        value_json(&x->last, xs, sizeof xs);
        value_json(&y->last, ys, sizeof ys);
        assert_string_equal(xs, ys);
    }
    const tst_entity_summary *nvda = tst_coverage_summary_at(a, 2); /* AAPL, MSFT, NVDA */
    assert_int_equal(nvda->covered_buckets, 10);
    assert_int_equal(nvda->gaps, 2);
    assert_int_equal(nvda->missing_buckets, 70001 - 0 + 1 - 10);
    tst_coverage_summary_free(a);
    tst_coverage_summary_free(b);
    tst_table_free(fresh);
    tst_table_free(loaded);
    fx_close(&f);
}

/* What the cache hands out stays valid until the version changes (sidecar.h),
 * also a set read for one identity when a question about another then loads
 * everything at the same version (another thread may still be using it:
 * under valgrind or ASan, a use after free here fails). */
static void a_set_read_for_one_entity_outlives_the_full_load_at_its_version(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    tst_entity_value nv = {TST_ENTITY_UTF8, {.utf8 = {"NVDA", 4}}};
    tst_entity_value av = {TST_ENTITY_UTF8, {.utf8 = {"AAPL", 4}}};
    tst_entity_identity nvda = {1, &nv}, aapl = {1, &av};
    const tst_coverage *one = NULL, *other = NULL;
    assert_tst_ok(tst_table_load_entity_coverage(t, &nvda, &one));
    assert_tst_ok(tst_table_load_entity_coverage(t, &aapl, &other)); /* loads everything */
    assert_non_null(one);
    assert_non_null(other);
    assert_int_equal(tst_coverage_cardinality(one), 10);
    assert_int_equal(tst_coverage_cardinality(other), 10);
    tst_table_free(t);
    fx_close(&f);
}

/* A snapshot whose bytes fail the walk is loaded, and recovered, instead. */
static void a_corrupt_snapshot_summarized_first_is_rebuilt_with_one_warning(void **state)
{
    (void)state;
    fixture f;
    fx_two_symbols(&f);
    char *snapshot = fx_path(&f, f.snapshot);
    assert_int_equal(tst_test_write_file(snapshot, "garbage", 7), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    log_capture log;
    memset(&log, 0, sizeof log);
    tst_set_log_callback(capture_log, &log);
    tst_coverage_summary *s = NULL;
    assert_tst_ok(tst_table_coverage_summary(t, &s));
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(log.recover_warnings, 1);
    assert_int_equal(tst_coverage_summary_count(s), 2);
    assert_int_equal(tst_coverage_summary_at(s, 1)->covered_buckets, 10); /* NVDA */
    tst_coverage_summary_free(s);
    tst_table_free(t);
    free(snapshot);
    fx_close(&f);
}

static void a_table_without_entities_has_one_summary_row(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, "{\"type\":\"int64\",\"bucket_width\":10}", "[]", I64_COL);
    tst_coverage_summary *s = NULL;
    assert_tst_ok(tst_table_coverage_summary(f.t, &s));
    assert_int_equal(tst_coverage_summary_count(s), 1);
    assert_false(tst_coverage_summary_at(s, 0)->covered);
    tst_coverage_summary_free(s);
    tst_table_cov cov = global_range(SIGN_BIT - 2, SIGN_BIT + 1); /* [-20, 20) */
    assert_tst_ok(tst_coverage_add(cov.global, SIGN_BIT + 5));    /* [50, 60) */
    fx_add(&f, &cov);
    tst_table_cov_clear(&cov);
    assert_tst_ok(tst_table_coverage_summary(f.t, &s));
    assert_int_equal(tst_coverage_summary_count(s), 1);
    const tst_entity_summary *r = tst_coverage_summary_at(s, 0);
    assert_int_equal(r->identity.count, 0);
    assert_true(r->covered);
    assert_value_text(&r->first, "-20");
    assert_value_text(&r->last, "60");
    assert_int_equal(r->covered_buckets, 5);
    assert_int_equal(r->gaps, 1);
    assert_int_equal(r->missing_buckets, 3); /* [20, 50) */
    tst_coverage_summary_free(s);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_last_window_of_two_minutes_ending_at_six_is_minutes_four_and_five),
        cmocka_unit_test(minutes_zero_one_and_three_leave_a_longest_gap_of_one),
        cmocka_unit_test(the_whole_table_counts_a_bucket_any_entity_covers),
        cmocka_unit_test(the_whole_table_from_the_snapshot_bytes_equals_the_decoded_union),
        cmocka_unit_test(one_entity_sees_only_its_own_buckets),
        cmocka_unit_test(gaps_split_into_pieces_and_the_callback_can_stop_the_walk),
        cmocka_unit_test(a_gap_starts_at_its_first_bucket_even_before_the_range),
        cmocka_unit_test(an_unknown_identity_covers_nothing),
        cmocka_unit_test(a_table_before_its_first_append_covers_nothing),
        cmocka_unit_test(the_summary_from_the_snapshot_bytes_equals_the_decoded_one),
        cmocka_unit_test(a_set_read_for_one_entity_outlives_the_full_load_at_its_version),
        cmocka_unit_test(a_corrupt_snapshot_summarized_first_is_rebuilt_with_one_warning),
        cmocka_unit_test(one_entity_is_read_alone_and_a_second_loads_the_table),
        cmocka_unit_test(a_corrupt_snapshot_read_for_one_entity_is_rebuilt_with_one_warning),
        cmocka_unit_test(a_missing_snapshot_read_for_one_entity_is_rebuilt_with_one_warning),
        cmocka_unit_test(an_int64_table_answers_at_both_ends_of_its_domain),
        cmocka_unit_test(a_uint64_table_answers_up_to_its_maximum),
        cmocka_unit_test(numeric_entities_take_their_exact_types_in_any_order),
        cmocka_unit_test(entity_bindings_are_checked_against_the_entity_columns),
        cmocka_unit_test(an_entity_binding_on_a_table_without_entities_is_invalid),
        cmocka_unit_test(ranges_are_validated_before_any_file_is_read),
        cmocka_unit_test(a_missing_snapshot_is_rebuilt_from_segment_sidecars_with_one_warning),
        cmocka_unit_test(a_corrupt_snapshot_is_rebuilt_from_segment_sidecars_with_one_warning),
        cmocka_unit_test(a_global_recovery_warning_carries_the_error_detail),
        cmocka_unit_test(strict_loading_never_recovers),
        cmocka_unit_test(a_pointer_of_another_index_kind_is_corrupt_and_not_recovered),
        cmocka_unit_test(recovery_fails_for_a_segment_without_coverage_path),
        cmocka_unit_test(recovery_names_the_segment_and_its_unreadable_sidecar),
        cmocka_unit_test(without_a_pointer_the_segment_sidecars_are_united_silently),
        cmocka_unit_test(the_cache_follows_new_commits_and_refreshes),
        cmocka_unit_test(adopted_coverage_is_answered_without_reading_files),
        cmocka_unit_test(the_summary_has_one_row_per_identity_in_canonical_order),
        cmocka_unit_test(an_identity_is_known_once_the_table_has_a_coverage_entry_for_it),
        cmocka_unit_test(a_table_without_entities_has_one_summary_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
