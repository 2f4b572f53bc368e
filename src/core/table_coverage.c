/*
 * table_coverage.c — the questions of tstable/table_coverage.h: how much of
 * a range a table (or one entity) covers, where its gaps are, its last
 * fully covered window, and a per-entity summary.
 *
 * Every question takes the same three steps, in this order:
 *   1. check the arguments without touching the disk: the entity bindings
 *      (canonicalized to the table's entity_columns order and type-checked
 *      against its schema) and the range (mapped to inclusive buckets);
 *   2. load the table's coverage (sidecar.c: cached per version, with
 *      read-only recovery) and pick the bucket set asked about — the whole
 *      table's union, one identity's set, or an empty set for an identity
 *      the table has never seen;
 *   3. ask coverage.h in buckets, and convert the answer back to index
 *      values with tst_bucket_bounds, so callers never see bucket ids.
 * Work in step 3 is proportional to the covered containers in the range,
 * never to the range's length.
 *
 * The _cal variants add one step between 1 and 2: the calendar's expected
 * buckets of the range (calendar.c, cost in days and sessions), and step 3
 * then asks calendar.h's expected-bucket questions instead.
 */
#include "tstable/table_coverage.h"

#include "coverage_internal.h"
#include "fail.h"
#include "model.h"
#include "sidecar.h"
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- which coverage a question is about --------------------------------- */

typedef struct query {
    tst_table *t;
    tst_entity_value *identity; /* entity_columns order; NULL: the whole table */
    size_t count;
    const tst_coverage *cov; /* after query_load */
    tst_coverage *owned;     /* empty stand-in for an identity never seen */
} query;

static bool find_column(const tst_index_spec *spec, const char *column, size_t *out)
{
    for (size_t j = 0; j < spec->entity_count; j++)
        if (strcmp(spec->entity_columns[j], column) == 0) {
            *out = j;
            return true;
        }
    return false;
}

/* The value must have exactly the column's type: an int32 column takes an
 * int32 value, never an int64 one that happens to fit. */
static int check_value(const tst_table *t, const char *column, const tst_entity_value *v)
{
    const tst_field *field = tst_schema_find(t->state.meta.schema, column);
    tst_entity_type want = field ? tst_entity_type_of(&field->type) : (tst_entity_type)0;
    if (v->type != want)
        return tst_fail(TST_EINVAL,
                        "entity column \"%s\" of table %s is %s, but the value "
                        "given is %s",
                        column, t->root, tst_entity_type_name(want), tst_entity_type_name(v->type));
    if (v->type == TST_ENTITY_UTF8 && !v->v.utf8.ptr && v->v.utf8.len > 0)
        return tst_fail(TST_EINVAL, "entity column \"%s\": NULL string", column);
    return 0;
}

static int place_binding(const tst_table *t, const tst_entity_binding *b, tst_entity_value *slots)
{
    const tst_index_spec *spec = &t->state.meta.index;
    size_t j = 0;
    if (!b->column)
        return tst_fail(TST_EINVAL, "entity binding without a column name");
    if (!find_column(spec, b->column, &j))
        return tst_fail(TST_EINVAL, "\"%s\" is not an entity column of table %s", b->column,
                        t->root);
    if (slots[j].type != 0)
        return tst_fail(TST_EINVAL, "entity column \"%s\" is given more than once", b->column);
    int rc = check_value(t, b->column, &b->value);
    if (rc == 0)
        slots[j] = b->value;
    return rc;
}

static int check_bindable(const tst_table *t, const tst_entity_binding *b)
{
    if (t->state.meta.index.entity_count == 0)
        return tst_fail(TST_EINVAL,
                        "table %s has no configured entity columns; ask about the "
                        "whole table (no entity bindings)",
                        t->root);
    if (!t->state.meta.schema)
        return tst_fail(TST_EINVAL,
                        "table %s has no schema yet (nothing appended), so entity "
                        "values cannot be checked",
                        t->root);
    if (!b)
        return tst_fail(TST_EINVAL, "entity bindings are NULL but their count is not 0");
    return 0;
}

/* Fills q->identity from the bindings, in entity_columns order. */
static int canonicalize(query *q, const tst_entity_binding *b, size_t n)
{
    int rc = check_bindable(q->t, b);
    if (rc != 0)
        return rc;
    const tst_index_spec *spec = &q->t->state.meta.index;
    q->identity = calloc(spec->entity_count, sizeof *q->identity); /* type 0: not given yet */
    if (!q->identity)
        return tst_fail(TST_ENOMEM, "out of memory");
    q->count = spec->entity_count;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = place_binding(q->t, &b[i], q->identity);
    for (size_t j = 0; rc == 0 && j < q->count; j++)
        if (q->identity[j].type == 0)
            rc = tst_fail(TST_EINVAL,
                          "entity column \"%s\" is missing: give every entity "
                          "column of table %s exactly once",
                          spec->entity_columns[j], q->t->root);
    return rc;
}

static int check_handle(const tst_table *t)
{
    if (!t)
        return tst_fail(TST_EINVAL, "table is NULL");
    if (t->stale)
        return tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it first",
                        t->root);
    return 0;
}

static int query_begin(query *q, tst_table *t, const tst_entity_binding *b, size_t n)
{
    memset(q, 0, sizeof *q);
    q->t = t;
    int rc = check_handle(t);
    return rc != 0 || n == 0 ? rc : canonicalize(q, b, n);
}

/* The only step that reads files. */
static int query_load(query *q)
{
    if (!q->identity)
        return tst_table_load_coverage_union(q->t, &q->cov);
    tst_entity_identity id = {q->count, q->identity};
    int rc = tst_table_load_entity_coverage(q->t, &id, &q->cov);
    if (rc != 0 || q->cov)
        return rc;
    rc = tst_coverage_new(&q->owned);
    q->cov = q->owned;
    return rc;
}

static void query_end(query *q)
{
    free(q->identity);
    tst_coverage_free(q->owned);
}

/* ---- index values and buckets ------------------------------------------- */

static const tst_index_kind *kind_of(const tst_table *t)
{
    return &t->state.meta.index.kind;
}

static int range_buckets(const tst_table *t, const tst_index_value *start,
                         const tst_index_value *end, uint64_t *first, uint64_t *last)
{
    if (!start || !end)
        return tst_fail(TST_EINVAL, "range start and end are required");
    int rc = tst_bucket_range(kind_of(t), start, end, first, last);
    return rc != 0 ? tst_fail_context(rc, "coverage query on table %s", t->root) : 0;
}

/* Buckets in [first, last]; only the whole 64-bit domain saturates. */
static uint64_t span_len(uint64_t first, uint64_t last)
{
    return last - first == UINT64_MAX ? UINT64_MAX : last - first + 1;
}

/* [start of bucket first, end of bucket last), the end inclusive when clipped. */
static int bucket_span(const tst_table *t, uint64_t first, uint64_t last, tst_index_value *start,
                       tst_index_value *end, bool *end_inclusive)
{
    tst_index_value ignored_end, ignored_start;
    bool ignored = false;
    memset(&ignored_end, 0, sizeof ignored_end);
    ignored_start = ignored_end;
    int rc = tst_bucket_bounds(kind_of(t), first, start, &ignored_end, &ignored);
    if (rc == 0)
        rc = tst_bucket_bounds(kind_of(t), last, &ignored_start, end, end_inclusive);
    if (rc != 0)
        return tst_fail_context(TST_ECORRUPT,
                                "table %s: coverage holds buckets no index value "
                                "maps to",
                                t->root);
    return 0;
}

/* The bucket of end - ε, ε being 1 ns or 1: the last bucket before end. */
static int end_bucket_of(const tst_table *t, const tst_index_value *end, uint64_t *out)
{
    if (!end)
        return tst_fail(TST_EINVAL, "window end is required");
    tst_index_value v = *end;
    bool at_min = (v.type == TST_INDEX_TIMESTAMP && v.v.ts.sec == INT64_MIN && v.v.ts.nsec == 0) ||
                  (v.type == TST_INDEX_INT64 && v.v.i64 == INT64_MIN) ||
                  (v.type == TST_INDEX_UINT64 && v.v.u64 == 0);
    if (at_min)
        return tst_fail(TST_EINVAL, "window end is the index domain minimum: nothing lies "
                                    "before it");
    if (v.type == TST_INDEX_TIMESTAMP && v.v.ts.nsec > 0)
        v.v.ts.nsec--;
    else if (v.type == TST_INDEX_TIMESTAMP)
        v = tst_index_value_timestamp(v.v.ts.sec - 1, 999999999u);
    else if (v.type == TST_INDEX_INT64)
        v.v.i64--;
    else
        v.v.u64--;
    int rc = tst_bucket_of(kind_of(t), &v, out);
    return rc != 0 ? tst_fail_context(rc, "coverage query on table %s", t->root) : 0;
}

/* ---- ratio, gaps, last window ------------------------------------------- */

int tst_table_coverage(tst_table *t, const tst_entity_binding *entity, size_t entity_count,
                       const tst_index_value *start, const tst_index_value *end,
                       tst_coverage_counts *out)
{
    query q;
    uint64_t first = 0, last = 0;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0)
        rc = out ? range_buckets(t, start, end, &first, &last)
                 : tst_fail(TST_EINVAL, "coverage counts output is NULL");
    if (rc == 0)
        rc = query_load(&q);
    if (rc == 0) {
        out->covered_buckets = tst_coverage_count_range(q.cov, first, last);
        out->total_buckets = span_len(first, last);
        out->ratio = tst_coverage_ratio(q.cov, first, last);
        out->max_gap_buckets = tst_coverage_max_gap(q.cov, first, last);
    }
    query_end(&q);
    return rc;
}

typedef struct gap_walk {
    const tst_table *t;
    tst_gap_fn fn;
    void *ctx;
} gap_walk;

static int gap_run(void *ctx, uint64_t first, uint64_t last)
{
    const gap_walk *w = ctx;
    tst_index_value start, end;
    bool inclusive = false;
    memset(&start, 0, sizeof start);
    end = start;
    int rc = bucket_span(w->t, first, last, &start, &end, &inclusive);
    return rc != 0 ? rc : w->fn(w->ctx, &start, &end, inclusive, span_len(first, last));
}

int tst_table_gaps(tst_table *t, const tst_entity_binding *entity, size_t entity_count,
                   const tst_index_value *start, const tst_index_value *end, uint64_t max_buckets,
                   tst_gap_fn fn, void *ctx)
{
    query q;
    uint64_t first = 0, last = 0;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0)
        rc = fn ? range_buckets(t, start, end, &first, &last)
                : tst_fail(TST_EINVAL, "gap callback is NULL");
    if (rc == 0)
        rc = query_load(&q);
    if (rc == 0) {
        gap_walk w = {t, fn, ctx};
        rc = tst_coverage_each_missing_run(q.cov, first, last, max_buckets, gap_run, &w);
    }
    query_end(&q);
    return rc;
}

int tst_table_last_covered_window(tst_table *t, const tst_entity_binding *entity,
                                  size_t entity_count, const tst_index_value *end, uint64_t buckets,
                                  bool *out_found, tst_index_value *out_start,
                                  tst_index_value *out_end)
{
    query q;
    uint64_t end_bucket = 0, first = 0, last = 0;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0)
        rc = out_found && out_start && out_end ? end_bucket_of(t, end, &end_bucket)
                                               : tst_fail(TST_EINVAL, "window outputs are NULL");
    if (rc == 0)
        rc = query_load(&q);
    bool found = rc == 0 && tst_coverage_last_window(q.cov, end_bucket, buckets, &first, &last);
    tst_index_value ws, we;
    bool inclusive = false;
    memset(&ws, 0, sizeof ws);
    we = ws;
    if (found)
        rc = bucket_span(t, first, last, &ws, &we, &inclusive);
    if (rc == 0) {
        *out_found = found;
        if (found) {
            *out_start = ws;
            *out_end = we;
        }
    }
    query_end(&q);
    return rc;
}

int tst_table_entity_known(tst_table *t, const tst_entity_binding *entity, size_t entity_count,
                           bool *out_known)
{
    if (!out_known)
        return tst_fail(TST_EINVAL, "entity_known output is NULL");
    query q;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0 && q.identity)
        rc = query_load(&q);
    if (rc == 0)
        *out_known = q.owned == NULL; /* query_load stands in an empty set for a stranger */
    query_end(&q);
    return rc;
}

/* ---- with a calendar ------------------------------------------------------ */

static int calendar_expected(const tst_table *t, const tst_calendar *cal, uint64_t first,
                             uint64_t last, tst_coverage **out)
{
    int rc = tst_calendar_expected(out, cal, kind_of(t), first, last);
    return rc != 0 ? tst_fail_context(rc, "calendar on table %s", t->root) : 0;
}

int tst_table_expected_buckets(tst_coverage **out, tst_table *t, const tst_calendar *cal,
                               const tst_index_value *start, const tst_index_value *end)
{
    uint64_t first = 0, last = 0;
    int rc = check_handle(t);
    if (rc == 0)
        rc = out && cal ? range_buckets(t, start, end, &first, &last)
                        : tst_fail(TST_EINVAL, "expected buckets: calendar or output is NULL");
    return rc != 0 ? rc : calendar_expected(t, cal, first, last, out);
}

int tst_table_coverage_cal(tst_table *t, const tst_entity_binding *entity, size_t entity_count,
                           const tst_index_value *start, const tst_index_value *end,
                           const tst_calendar *cal, tst_coverage_counts *out)
{
    if (!cal)
        return tst_table_coverage(t, entity, entity_count, start, end, out);
    query q;
    uint64_t first = 0, last = 0;
    tst_coverage *expected = NULL;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0)
        rc = out ? range_buckets(t, start, end, &first, &last)
                 : tst_fail(TST_EINVAL, "coverage counts output is NULL");
    if (rc == 0)
        rc = calendar_expected(t, cal, first, last, &expected);
    if (rc == 0)
        rc = query_load(&q);
    if (rc == 0)
        rc = tst_coverage_expected_counts(q.cov, expected, first, last, &out->covered_buckets,
                                          &out->total_buckets, &out->ratio,
                                          &out->max_gap_buckets);
    tst_coverage_free(expected);
    query_end(&q);
    return rc;
}

static int expected_gap(void *ctx, uint64_t first, uint64_t last, uint64_t missing)
{
    const gap_walk *w = ctx;
    tst_index_value start, end;
    bool inclusive = false;
    memset(&start, 0, sizeof start);
    end = start;
    int rc = bucket_span(w->t, first, last, &start, &end, &inclusive);
    return rc != 0 ? rc : w->fn(w->ctx, &start, &end, inclusive, missing);
}

int tst_table_gaps_cal(tst_table *t, const tst_entity_binding *entity, size_t entity_count,
                       const tst_index_value *start, const tst_index_value *end,
                       const tst_calendar *cal, uint64_t max_buckets, tst_gap_fn fn, void *ctx)
{
    if (!cal)
        return tst_table_gaps(t, entity, entity_count, start, end, max_buckets, fn, ctx);
    query q;
    uint64_t first = 0, last = 0;
    tst_coverage *expected = NULL;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0)
        rc = fn ? range_buckets(t, start, end, &first, &last)
                : tst_fail(TST_EINVAL, "gap callback is NULL");
    if (rc == 0)
        rc = calendar_expected(t, cal, first, last, &expected);
    if (rc == 0)
        rc = query_load(&q);
    if (rc == 0) {
        gap_walk w = {t, fn, ctx};
        rc = tst_coverage_each_expected_gap(q.cov, expected, first, last, max_buckets,
                                            expected_gap, &w);
    }
    tst_coverage_free(expected);
    query_end(&q);
    return rc;
}

/* A window must hold a covered bucket (it holds an expected one, all
 * covered), so nothing below min(covered) - (len - 1) needs a calendar. */
static uint64_t window_floor(const tst_coverage *cov, uint64_t len)
{
    uint64_t min = 0;
    tst_coverage_min(cov, &min);
    return min >= len - 1 ? min - (len - 1) : 0;
}

int tst_table_last_covered_window_cal(tst_table *t, const tst_entity_binding *entity,
                                      size_t entity_count, const tst_index_value *end,
                                      uint64_t buckets, const tst_calendar *cal, bool *out_found,
                                      tst_index_value *out_start, tst_index_value *out_end)
{
    if (!cal)
        return tst_table_last_covered_window(t, entity, entity_count, end, buckets, out_found,
                                             out_start, out_end);
    query q;
    uint64_t end_bucket = 0, first = 0, last = 0, lo = 0;
    tst_coverage *expected = NULL;
    bool found = false;
    int rc = query_begin(&q, t, entity, entity_count);
    if (rc == 0)
        rc = out_found && out_start && out_end ? end_bucket_of(t, end, &end_bucket)
                                               : tst_fail(TST_EINVAL, "window outputs are NULL");
    if (rc == 0)
        rc = query_load(&q);
    if (rc == 0 && buckets > 0 && !tst_coverage_is_empty(q.cov) &&
        (lo = window_floor(q.cov, buckets)) <= end_bucket) {
        rc = calendar_expected(t, cal, lo, end_bucket, &expected);
        if (rc == 0)
            rc = tst_coverage_last_expected_window(q.cov, expected, lo, end_bucket, buckets,
                                                   &found, &first, &last);
    } else if (rc == 0 && kind_of(t)->type != TST_INDEX_TIMESTAMP) {
        rc = calendar_expected(t, cal, 0, 0, &expected); /* the calendar's own error */
    }
    tst_index_value ws, we;
    bool inclusive = false;
    memset(&ws, 0, sizeof ws);
    we = ws;
    if (rc == 0 && found)
        rc = bucket_span(t, first, last, &ws, &we, &inclusive);
    if (rc == 0) {
        *out_found = found;
        if (found) {
            *out_start = ws;
            *out_end = we;
        }
    }
    tst_coverage_free(expected);
    query_end(&q);
    return rc;
}

/* ---- summary ------------------------------------------------------------ */

struct tst_coverage_summary {
    size_t count;
    size_t cap;
    tst_entity_summary *rows;
    void **owned; /* per row: its identity's values and string bytes, one block */
};

/* Copies an identity into one block: the values, then the string bytes. */
static int copy_identity(const tst_entity_identity *id, tst_entity_identity *out, void **block)
{
    size_t bytes = id->count * sizeof(tst_entity_value);
    for (size_t i = 0; i < id->count; i++)
        if (id->values[i].type == TST_ENTITY_UTF8)
            bytes += id->values[i].v.utf8.len;
    tst_entity_value *values = malloc(bytes ? bytes : 1);
    if (!values)
        return tst_fail(TST_ENOMEM, "out of memory copying an entity identity");
    char *text = (char *)(values + id->count);
    for (size_t i = 0; i < id->count; i++) {
        values[i] = id->values[i];
        if (values[i].type != TST_ENTITY_UTF8 || values[i].v.utf8.len == 0)
            continue;
        memcpy(text, id->values[i].v.utf8.ptr, values[i].v.utf8.len);
        values[i].v.utf8.ptr = text;
        text += values[i].v.utf8.len;
    }
    *block = values;
    out->count = id->count;
    out->values = values;
    return 0;
}

/* One row from a set's numbers: decoded (summarize) or read from its bytes
 * (summarize_bytes) alike. */
static int summarize_tally(const tst_table *t, const tst_coverage_tally *n, tst_entity_summary *row)
{
    row->covered = n->any;
    if (!row->covered)
        return 0;
    row->covered_buckets = n->cardinality;
    bool inclusive = false; /* only the domain's last bucket; `last` stays its maximum */
    int rc = bucket_span(t, n->min, n->max, &row->first, &row->last, &inclusive);
    /* Between min and max: the gaps are the runs less one, and the missing
     * buckets all the others (no overflow: covered - 1 <= max - min). */
    row->gaps = n->runs - 1;
    row->missing_buckets = row->gaps == 0 ? 0 : (n->max - n->min) - (n->cardinality - 1);
    return rc;
}

static int summarize(const tst_table *t, const tst_coverage *cov, tst_entity_summary *row)
{
    tst_coverage_tally n = {0};
    n.any = tst_coverage_min(cov, &n.min) && tst_coverage_max(cov, &n.max);
    if (n.any) {
        n.cardinality = tst_coverage_cardinality(cov);
        n.runs = tst_coverage_run_count(cov);
    }
    return summarize_tally(t, &n, row);
}

static int summary_alloc(tst_coverage_summary **out, size_t count)
{
    tst_coverage_summary *s = calloc(1, sizeof *s);
    if (s && count > 0) {
        s->cap = count;
        s->rows = calloc(count, sizeof *s->rows);
        s->owned = calloc(count, sizeof *s->owned);
    }
    if (!s || (count > 0 && (!s->rows || !s->owned))) {
        tst_coverage_summary_free(s);
        return tst_fail(TST_ENOMEM, "out of memory summarizing coverage of %zu entities", count);
    }
    *out = s;
    return 0;
}

static int summarize_entities(const tst_table *t, const tst_entity_coverage *ec,
                              tst_coverage_summary *s)
{
    for (size_t i = 0; i < tst_entity_coverage_count(ec); i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL;
        int rc = tst_entity_coverage_at(ec, i, &id, &cov);
        if (rc == 0)
            rc = copy_identity(&id, &s->rows[i].identity, &s->owned[i]);
        if (rc == 0)
            rc = summarize(t, cov, &s->rows[i]);
        if (rc != 0)
            return rc;
        s->count = i + 1;
    }
    return 0;
}

/*
 * The summary of a fresh handle is read from the snapshot's bytes: each
 * identity's numbers come from its containers' headers and runs
 * (tst_coverage_tally_serialized, with every check decoding makes), so a
 * process that asks only this (`tstable info`, `entities`) never builds a
 * bitmap. The rows are what the decoded coverage gives (the tally's tests
 * compare them); a snapshot that fails is loaded in full, and recovered.
 */
typedef struct bytes_summary {
    const tst_table *t;
    tst_coverage_summary *s;
} bytes_summary;

static int summarize_bytes(void *ctx, uint32_t i, uint32_t count, const tst_entity_identity *id,
                           const uint8_t *bytes, size_t len)
{
    bytes_summary *b = ctx;
    tst_coverage_tally n;
    int rc = b->s ? 0 : summary_alloc(&b->s, count);
    if (rc == 0)
        rc = tst_coverage_tally_serialized(bytes, len, &n);
    if (rc == 0)
        rc = copy_identity(id, &b->s->rows[i].identity, &b->s->owned[i]);
    if (rc == 0)
        rc = summarize_tally(b->t, &n, &b->s->rows[i]);
    if (rc == 0)
        b->s->count = i + 1;
    return rc;
}

/* 0 with *out, 1 when the bytes do not apply (the caller loads), or an error. */
static int summary_from_bytes(tst_table *t, tst_coverage_summary **out)
{
    bytes_summary b = {t, NULL};
    int rc = tst_table_each_snapshot_identity(t, summarize_bytes, &b);
    if (rc == 0 && !b.s)
        rc = summary_alloc(&b.s, 0); /* a snapshot of no identity */
    if (rc == 0) {
        *out = b.s;
        return 0;
    }
    tst_coverage_summary_free(b.s);
    if (rc == TST_ENOTFOUND || rc == TST_ECORRUPT) {
        tst_error_clear(); /* loading in full recovers, and warns */
        return 1;
    }
    return rc;
}

int tst_table_coverage_summary(tst_table *t, tst_coverage_summary **out)
{
    const tst_table_cov *tc = NULL;
    int rc = check_handle(t);
    if (rc == 0 && out) {
        rc = summary_from_bytes(t, out);
        if (rc <= 0)
            return rc;
        rc = 0; /* 1: load the coverage instead */
    }
    if (rc == 0)
        rc = out ? tst_table_load_coverage(t, &tc) : tst_fail(TST_EINVAL, "summary output is NULL");
    if (rc != 0)
        return rc;
    tst_coverage_summary *s = NULL;
    bool entity = tc->entities != NULL;
    rc = summary_alloc(&s, entity ? tst_entity_coverage_count(tc->entities) : 1);
    if (rc == 0 && entity) {
        rc = summarize_entities(t, tc->entities, s);
    } else if (rc == 0) {
        s->count = 1;
        rc = summarize(t, tc->global, &s->rows[0]);
    }
    if (rc != 0) {
        tst_coverage_summary_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- summary under a calendar -------------------------------------------- */

static int count_gap(void *ctx, uint64_t first, uint64_t last, uint64_t missing)
{
    (void)first;
    (void)last;
    (void)missing;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* Rewrites one row's counts against the expected set (first/last stay). */
static int summarize_expected(const tst_coverage *cov, const tst_coverage *expected,
                              tst_entity_summary *row)
{
    uint64_t min = 0, max = 0, total = 0, gap = 0;
    double ratio = 0;
    if (!row->covered || !tst_coverage_min(cov, &min) || !tst_coverage_max(cov, &max))
        return 0;
    row->gaps = 0;
    int rc = tst_coverage_expected_counts(cov, expected, min, max, &row->covered_buckets, &total,
                                          &ratio, &gap);
    row->missing_buckets = rc == 0 ? total - row->covered_buckets : 0;
    if (rc == 0)
        rc = tst_coverage_each_expected_gap(cov, expected, min, max, 0, count_gap, &row->gaps);
    return rc;
}

static int summary_under(tst_table *t, const tst_calendar *cal, tst_coverage_summary *s)
{
    const tst_table_cov *tc = NULL;
    const tst_coverage *all = NULL;
    tst_coverage *expected = NULL;
    uint64_t min = 0, max = 0;
    int rc = tst_table_load_coverage(t, &tc);
    if (rc == 0)
        rc = tst_table_load_coverage_union(t, &all);
    if (rc == 0 && tst_coverage_min(all, &min))
        tst_coverage_max(all, &max);
    if (rc == 0) /* an empty table still checks the calendar suits its index */
        rc = calendar_expected(t, cal, min, tst_coverage_is_empty(all) ? min : max, &expected);
    for (size_t i = 0; rc == 0 && i < s->count; i++) {
        const tst_coverage *cov = tc->global;
        if (tc->entities)
            cov = tst_entity_coverage_get(tc->entities, &s->rows[i].identity);
        rc = cov ? summarize_expected(cov, expected, &s->rows[i]) : 0;
    }
    tst_coverage_free(expected);
    return rc;
}

int tst_table_coverage_summary_cal(tst_table *t, const tst_calendar *cal,
                                   tst_coverage_summary **out)
{
    tst_coverage_summary *s = NULL;
    int rc = tst_table_coverage_summary(t, &s);
    if (rc == 0 && cal)
        rc = summary_under(t, cal, s);
    if (rc != 0) {
        tst_coverage_summary_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

size_t tst_coverage_summary_count(const tst_coverage_summary *s)
{
    return s ? s->count : 0;
}

const tst_entity_summary *tst_coverage_summary_at(const tst_coverage_summary *s, size_t i)
{
    return s && i < s->count ? &s->rows[i] : NULL;
}

void tst_coverage_summary_free(tst_coverage_summary *s)
{
    if (!s)
        return;
    if (s->owned)
        for (size_t i = 0; i < s->cap; i++)
            free(s->owned[i]);
    free(s->owned);
    free(s->rows);
    free(s);
}

int tst_entity_identity_format_named(const tst_index_spec *spec, const tst_entity_identity *id,
                                     char *buf, size_t cap)
{
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < id->count && i < spec->entity_count; i++) {
        char value[256];
        tst_entity_identity one = {1, &id->values[i]};
        tst_entity_identity_format(&one, value, sizeof value);
        int n = snprintf(used < cap ? buf + used : NULL, used < cap ? cap - used : 0, "%s%s=%s",
                         i ? "," : "", spec->entity_columns[i], value);
        if (n < 0)
            return n;
        used += (size_t)n;
    }
    return (int)used;
}
