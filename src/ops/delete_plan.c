/*
 * delete_plan.c — planning and staging the removal of (entity, range) pairs
 * (see delete_plan.h and tstable/delete.h).
 *
 * It reads top to bottom as a plan is built:
 *   1. targets into spans: the range's type and order, its alignment on
 *      bucket boundaries (refused with the nearest aligned ranges), the
 *      identity canonicalized to the table's entity_columns order and typed
 *      after its schema, and known to the table's coverage (refused with the
 *      nearest identities it holds);
 *   2. segments: each live segment whose bounds and layout may meet a span
 *      has its coverage sidecar read; its pairs inside the spans are its
 *      `hit`, the others its `rest`. No hit: untouched. No rest: removed
 *      whole (unless the index is nullable and it holds rows without an
 *      index value, which lie in no range: then rewritten). Otherwise
 *      rewritten. The union of the hits is what the plan uncovers;
 *   3. rewrites: the segment is checked against the log and its sidecar
 *      (rewrite.c), its rows outside the spans are written in file order
 *      to data/_staged/<op>-rewrite/<uuid>/<n:010>.parquet, measured, and
 *      checked to cover exactly `rest`, then given a sidecar.
 *
 * Why whole buckets: the hit of a segment is read from its sidecar, so the
 * coverage of what is deleted is known exactly without reading rows only
 * because every row of an (entity, bucket) pair inside a span goes. The
 * rows themselves are chosen by index value in SQL, as integers in the
 * table's unit (epoch_ms/us/ns for timestamps), so no rounding is involved.
 */
#include "delete_plan.h"

#include "cancel.h"
#include "coverage_internal.h"
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "segment.h"
#include "table_internal.h"
#include "tstable/table_coverage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const tst_schema *schema_of(const tst_delete_plan *p)
{
    return tst_table_get_meta(p->table)->schema;
}

static const tst_index_spec *spec_of(const tst_delete_plan *p)
{
    return tst_table_index(p->table);
}

static int refuse(const tst_delete_plan *p, int code, const char *detail)
{
    tst_fail(code, "%s of table %s rejected: %s; nothing was written", p->op, p->root, detail);
    tst_fail_set_path(p->root);
    return code;
}

/* ---- coverage arithmetic ------------------------------------------------------- */

static int add_run(void *ctx, uint64_t first, uint64_t last)
{
    return tst_coverage_add_range(ctx, first, last);
}

/* dst |= src ∩ [first, last] */
static int add_runs_in(tst_coverage *dst, const tst_coverage *src, uint64_t first, uint64_t last)
{
    return tst_coverage_each_run(src, first, last, add_run, dst);
}

typedef struct minus_ctx {
    tst_coverage *out;
    const tst_coverage *b;
} minus_ctx;

static int add_missing_of_b(void *ctx, uint64_t first, uint64_t last)
{
    minus_ctx *m = ctx;
    return tst_coverage_each_missing_run(m->b, first, last, 0, add_run, m->out);
}

/* *out = a less b (b may be NULL): a's runs, each less b's. */
static int coverage_minus(tst_coverage **out, const tst_coverage *a, const tst_coverage *b)
{
    int rc = b ? tst_coverage_new(out) : tst_coverage_clone(out, a);
    if (rc != 0 || !b)
        return rc;
    minus_ctx m = {*out, b};
    rc = tst_coverage_each_run(a, 0, UINT64_MAX, add_missing_of_b, &m);
    if (rc != 0) {
        tst_coverage_free(*out);
        *out = NULL;
    }
    return rc;
}

static int entity_minus(tst_entity_coverage **out, const tst_entity_coverage *a,
                        const tst_entity_coverage *b)
{
    int rc = tst_entity_coverage_new(out);
    size_t n = tst_entity_coverage_count(a);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *ca = NULL;
        tst_coverage *left = NULL, *slot = NULL;
        rc = tst_entity_coverage_at(a, i, &id, &ca);
        if (rc == 0)
            rc = coverage_minus(&left, ca, b ? tst_entity_coverage_get(b, &id) : NULL);
        if (rc == 0 && !tst_coverage_is_empty(left))
            rc = tst_entity_coverage_get_or_add(*out, &id, &slot);
        if (rc == 0 && slot)
            rc = tst_coverage_union_inplace(slot, left);
        tst_coverage_free(left);
    }
    return rc;
}

static int cov_minus(tst_table_cov *out, const tst_table_cov *a, const tst_table_cov *b)
{
    memset(out, 0, sizeof *out);
    int rc = a->global ? coverage_minus(&out->global, a->global, b->global)
                       : entity_minus(&out->entities, a->entities, b->entities);
    if (rc != 0)
        tst_table_cov_clear(out);
    return rc;
}

static bool cov_empty(const tst_table_cov *c)
{
    return c->global ? tst_coverage_is_empty(c->global)
                     : !c->entities || tst_entity_coverage_cardinality(c->entities) == 0;
}

static uint64_t cov_pairs(const tst_table_cov *c)
{
    return c->global ? tst_coverage_cardinality(c->global)
                     : c->entities ? tst_entity_coverage_cardinality(c->entities) : 0;
}

/* The spans' pairs of one identity's coverage `c`, into `hit` (global or
 * that identity's entry, created only when something lands there). */
static int hit_of(const tst_delete_plan *p, const tst_entity_identity *id, const tst_coverage *c,
                  tst_table_cov *hit)
{
    int rc = 0;
    for (size_t s = 0; rc == 0 && s < p->span_count; s++) {
        const tst_delete_span *span = &p->spans[s];
        if (id && span->identity) {
            tst_entity_identity want = {id->count, span->identity};
            if (tst_entity_identity_compare(id, &want) != 0)
                continue;
        }
        if (tst_coverage_count_range(c, span->first, span->last) == 0)
            continue;
        tst_coverage *dst = hit->global;
        if (id)
            rc = tst_entity_coverage_get_or_add(hit->entities, id, &dst);
        if (rc == 0)
            rc = add_runs_in(dst, c, span->first, span->last);
    }
    return rc;
}

static int hit_of_cov(const tst_delete_plan *p, const tst_table_cov *cov, tst_table_cov *hit)
{
    int rc = tst_table_cov_new(hit, spec_of(p));
    if (rc != 0 || cov->global)
        return rc == 0 ? hit_of(p, NULL, cov->global, hit) : rc;
    size_t n = tst_entity_coverage_count(cov->entities);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *c = NULL;
        rc = tst_entity_coverage_at(cov->entities, i, &id, &c);
        if (rc == 0)
            rc = hit_of(p, &id, c, hit);
    }
    return rc;
}

int tst_delete_plan_uncover(const tst_delete_plan *p, const tst_table_cov *cov,
                            tst_table_cov *out)
{
    return cov_minus(out, cov, &p->doomed);
}

/* ---- 1. targets ------------------------------------------------------------------ */

static int compare_values(const tst_index_value *a, const tst_index_value *b)
{
    int c = 0;
    tst_index_value_compare(a, b, &c);
    return c;
}

/* The start of v's bucket, and its end. */
static int bucket_edges(const tst_index_kind *kind, const tst_index_value *v, tst_index_value *lo,
                        tst_index_value *hi)
{
    uint64_t b = 0;
    bool inclusive = false;
    int rc = tst_bucket_of(kind, v, &b);
    return rc == 0 ? tst_bucket_bounds(kind, b, lo, hi, &inclusive) : rc;
}

static void bucket_text(const tst_index_kind *kind, char *buf, size_t cap)
{
    char w[32] = "?";
    if (kind->type == TST_INDEX_TIMESTAMP)
        tst_time_bucket_format(kind->bucket, w, sizeof w);
    else
        snprintf(w, sizeof w, "width %" PRIu64, kind->bucket_width);
    snprintf(buf, cap, "%s", w);
}

static void range_text(const tst_index_value *a, const tst_index_value *b, char *buf, size_t cap)
{
    char x[TST_TIMESTAMP_TEXT_MAX] = "?", y[TST_TIMESTAMP_TEXT_MAX] = "?";
    tst_index_value_format(a, x, sizeof x);
    tst_index_value_format(b, y, sizeof y);
    snprintf(buf, cap, "[%s, %s)", x, y);
}

static int misaligned(const tst_delete_plan *p, const tst_delete_target *t)
{
    const tst_index_kind *kind = &spec_of(p)->kind;
    tst_index_value s_lo, s_hi, e_lo, e_hi;
    int rc = bucket_edges(kind, &t->start, &s_lo, &s_hi);
    if (rc == 0)
        rc = bucket_edges(kind, &t->end, &e_lo, &e_hi);
    if (rc != 0)
        return tst_fail_context(rc, "%s of table %s", p->op, p->root);
    /* inward: from the first whole bucket to the last; outward: every bucket touched */
    tst_index_value in_start = compare_values(&s_lo, &t->start) == 0 ? s_lo : s_hi;
    tst_index_value out_end = compare_values(&e_lo, &t->end) == 0 ? e_lo : e_hi;
    char given[128], inward[160], outward[128], width[32], detail[640];
    range_text(&t->start, &t->end, given, sizeof given);
    range_text(&s_lo, &out_end, outward, sizeof outward);
    if (compare_values(&in_start, &e_lo) < 0) {
        char r[128];
        range_text(&in_start, &e_lo, r, sizeof r);
        snprintf(inward, sizeof inward, "%s (inward: deletes less)", r);
    } else {
        snprintf(inward, sizeof inward, "none inward (no whole bucket lies inside it)");
    }
    bucket_text(kind, width, sizeof width);
    snprintf(detail, sizeof detail, "the range %s does not fall on the table's bucket boundaries "
             "(buckets of %s): coverage is kept per (entity, bucket), so a delete removes whole "
             "buckets; the nearest aligned ranges are %s and %s (outward: deletes more)", given,
             width, inward, outward);
    return refuse(p, TST_EINVAL, detail);
}

static bool aligned(const tst_index_kind *kind, const tst_index_value *v)
{
    tst_index_value lo, hi;
    return bucket_edges(kind, v, &lo, &hi) == 0 && compare_values(&lo, v) == 0;
}

static int check_range(const tst_delete_plan *p, const tst_delete_target *t)
{
    const tst_index_kind *kind = &spec_of(p)->kind;
    if (t->start.type != kind->type || t->end.type != kind->type) {
        char detail[160];
        snprintf(detail, sizeof detail, "start and end must be %s values (the table's index "
                 "type)", tst_index_type_name(kind->type));
        return refuse(p, TST_EINVAL, detail);
    }
    if (compare_values(&t->start, &t->end) >= 0) {
        char r[128], detail[200];
        range_text(&t->start, &t->end, r, sizeof r);
        snprintf(detail, sizeof detail, "the range %s is empty: start must be before end", r);
        return refuse(p, TST_EINVAL, detail);
    }
    if (!aligned(kind, &t->start) || !aligned(kind, &t->end))
        return misaligned(p, t);
    return 0;
}

/* The bindings in entity_columns order, each of its column's type. */
static int canonical_identity(const tst_delete_plan *p, const tst_delete_target *t,
                              tst_entity_value **out)
{
    const tst_index_spec *spec = spec_of(p);
    char detail[512];
    if (spec->entity_count == 0)
        return refuse(p, TST_EINVAL, "the table has no entity columns: delete a range of the "
                      "whole table (no entity)");
    if (!t->entity)
        return refuse(p, TST_EINVAL, "entity bindings are NULL but their count is not 0");
    tst_entity_value *id = calloc(spec->entity_count, sizeof *id); /* type 0: not given */
    if (!id)
        return tst_fail(TST_ENOMEM, "out of memory");
    *out = id;
    for (size_t i = 0; i < t->entity_count; i++) {
        const tst_entity_binding *b = &t->entity[i];
        size_t j = 0;
        while (j < spec->entity_count && b->column && strcmp(spec->entity_columns[j], b->column))
            j++;
        const tst_field *f = j < spec->entity_count ? tst_schema_find(schema_of(p), b->column)
                                                    : NULL;
        if (!f) {
            snprintf(detail, sizeof detail, "'%s' is not an entity column of the table",
                     b->column ? b->column : "(null)");
            return refuse(p, TST_EINVAL, detail);
        }
        if (id[j].type != 0) {
            snprintf(detail, sizeof detail, "entity column '%s' is given twice", b->column);
            return refuse(p, TST_EINVAL, detail);
        }
        if (b->value.type != tst_entity_type_of(&f->type) ||
            (b->value.type == TST_ENTITY_UTF8 && !b->value.v.utf8.ptr && b->value.v.utf8.len)) {
            char type[64] = "?";
            tst_type_format(&f->type, type, sizeof type);
            snprintf(detail, sizeof detail, "the value given for entity column '%s' is not of "
                     "its type %s", b->column, type);
            return refuse(p, TST_EINVAL, detail);
        }
        id[j] = b->value;
    }
    for (size_t j = 0; j < spec->entity_count; j++)
        if (id[j].type == 0) {
            snprintf(detail, sizeof detail, "entity column '%s' is missing: give every entity "
                     "column exactly once", spec->entity_columns[j]);
            return refuse(p, TST_EINVAL, detail);
        }
    return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(b), *row = calloc(n + 1, sizeof *row), best = 0;
    if (!row)
        return SIZE_MAX;
    for (size_t j = 0; j <= n; j++)
        row[j] = j;
    for (size_t i = 1; a[i - 1]; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t up = row[j], cost = diag + (a[i - 1] != b[j - 1]);
            size_t del = up + 1, ins = row[j - 1] + 1;
            row[j] = cost < del ? (cost < ins ? cost : ins) : (del < ins ? del : ins);
            diag = up;
        }
    }
    best = row[n];
    free(row);
    return best;
}

/* "symbol=AAPL, symbol=AAP" — the (up to) three identities nearest to `want`. */
static void nearest_identities(const tst_delete_plan *p, const tst_entity_coverage *ec,
                               const char *want, char *buf, size_t cap)
{
    char best[3][256] = {"", "", ""};
    size_t dist[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX}, n = tst_entity_coverage_count(ec);
    for (size_t i = 0; i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *c = NULL;
        char name[256];
        if (tst_entity_coverage_at(ec, i, &id, &c) != 0)
            continue;
        tst_entity_identity_format_named(spec_of(p), &id, name, sizeof name);
        size_t d = edit_distance(want, name);
        for (int k = 0; k < 3; k++) {
            if (d >= dist[k])
                continue;
            for (int m = 2; m > k; m--) {
                dist[m] = dist[m - 1];
                memcpy(best[m], best[m - 1], sizeof best[m]);
            }
            dist[k] = d;
            snprintf(best[k], sizeof best[k], "%s", name);
            break;
        }
    }
    snprintf(buf, cap, "%s%s%s%s%s", best[0], best[1][0] ? ", " : "", best[1],
             best[2][0] ? ", " : "", best[2]);
}

static int check_known(const tst_delete_plan *p, const tst_entity_value *values)
{
    const tst_table_cov *cov = NULL;
    int rc = tst_table_load_coverage(p->table, &cov);
    if (rc != 0)
        return rc;
    tst_entity_identity id = {spec_of(p)->entity_count, values};
    if (tst_entity_coverage_get(cov->entities, &id))
        return 0;
    char want[256], near[800], detail[1200];
    tst_entity_identity_format_named(spec_of(p), &id, want, sizeof want);
    nearest_identities(p, cov->entities, want, near, sizeof near);
    if (near[0])
        snprintf(detail, sizeof detail, "the table holds no rows of entity %s (nearest it "
                 "holds: %s)", want, near);
    else
        snprintf(detail, sizeof detail, "the table holds no rows of entity %s (it holds no "
                 "rows at all)", want);
    return refuse(p, TST_EINVAL, detail);
}

static int resolve_span(tst_delete_plan *p, const tst_delete_target *t, tst_delete_span *span)
{
    int rc = check_range(p, t);
    if (rc == 0 && t->entity_count > 0)
        rc = canonical_identity(p, t, &span->identity);
    if (rc == 0 && span->identity)
        rc = check_known(p, span->identity);
    if (rc == 0)
        rc = tst_bucket_range(&spec_of(p)->kind, &t->start, &t->end, &span->first, &span->last);
    span->start = t->start;
    span->end = t->end;
    return rc;
}

static int resolve_targets(tst_delete_plan *p, const tst_delete_target *targets, size_t count)
{
    if (!targets || count == 0)
        return refuse(p, TST_EINVAL, "no range to delete was given");
    if (!schema_of(p))
        return refuse(p, TST_EEMPTY, "the table has no rows yet, so there is nothing to delete");
    p->spans = calloc(count, sizeof *p->spans);
    if (!p->spans)
        return tst_fail(TST_ENOMEM, "out of memory");
    p->span_count = count;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = resolve_span(p, &targets[i], &p->spans[i]);
    return rc;
}

/* ---- 2. segments ------------------------------------------------------------------ */

static bool same_identity(const tst_entity_layout *l, const tst_entity_value *values, size_t n)
{
    tst_entity_identity a = {l->count, l->values}, b = {n, values};
    return tst_entity_identity_compare(&a, &b) == 0;
}

/* From the log alone: whether the segment can hold a row of a span. */
static bool may_meet(const tst_delete_plan *p, const tst_segment *seg)
{
    for (size_t s = 0; s < p->span_count; s++) {
        const tst_delete_span *span = &p->spans[s];
        if (compare_values(&seg->index_max, &span->start) < 0 ||
            compare_values(&seg->index_min, &span->end) >= 0)
            continue;
        if (span->identity && seg->layout.kind == TST_LAYOUT_SINGLE &&
            !same_identity(&seg->layout, span->identity, spec_of(p)->entity_count))
            continue;
        return true;
    }
    return false;
}

static int sql_int128(tst_sql *t, __int128 v)
{
    char digits[48];
    size_t n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    int rc = neg ? SQL_F(t, "-") : 0;
    while (rc == 0 && n)
        rc = SQL_F(t, "%c", digits[--n]);
    return rc;
}

/* The index as an integer in the table's unit, for comparing. */
static int index_sql(tst_sql *t, const tst_delete_plan *p, tst_time_precision *unit)
{
    const tst_field *f = tst_schema_find(schema_of(p), spec_of(p)->column);
    const char *fn = NULL;
    *unit = TST_PRECISION_NANOS;
    if (f && f->type.kind == TST_TYPE_TIMESTAMP) {
        *unit = f->type.unit;
        fn = f->type.unit == TST_PRECISION_MILLIS ? "epoch_ms"
           : f->type.unit == TST_PRECISION_MICROS ? "epoch_us" : "epoch_ns";
    }
    int rc = fn ? SQL_F(t, "%s(", fn) : 0;
    if (rc == 0)
        rc = SQL_IDENT(t, spec_of(p)->column);
    return rc == 0 && fn ? SQL_F(t, ")") : rc;
}

static int value_sql(tst_sql *t, const tst_index_value *v, tst_time_precision unit)
{
    switch (v->type) {
    case TST_INDEX_INT64: return SQL_F(t, "%" PRId64, v->v.i64);
    case TST_INDEX_UINT64: return SQL_F(t, "%" PRIu64, v->v.u64);
    case TST_INDEX_TIMESTAMP: break;
    }
    __int128 per = unit == TST_PRECISION_MILLIS ? 1000 : unit == TST_PRECISION_MICROS ? 1000000
                                                                                      : 1000000000;
    /* aligned values are whole seconds */
    return sql_int128(t, (__int128)v->v.ts.sec * per);
}

static int entity_value_sql(tst_sql *t, const tst_entity_value *v)
{
    switch (v->type) {
    case TST_ENTITY_INT32: return SQL_F(t, "%" PRId32, v->v.i32);
    case TST_ENTITY_INT64: return SQL_F(t, "%" PRId64, v->v.i64);
    case TST_ENTITY_UINT64: return SQL_F(t, "%" PRIu64, v->v.u64);
    case TST_ENTITY_UTF8: break;
    }
    char *text = strndup(v->v.utf8.ptr ? v->v.utf8.ptr : "", v->v.utf8.len);
    int rc = text ? SQL_LIT(t, text) : tst_fail(TST_ENOMEM, "out of memory");
    free(text);
    return rc;
}

/* "coalesce((e = v AND i >= S AND i < E) OR ..., false)": a row of the spans. */
static int doomed_row_sql(tst_sql *t, const tst_delete_plan *p)
{
    const tst_index_spec *spec = spec_of(p);
    int rc = SQL_F(t, "coalesce(");
    for (size_t s = 0; rc == 0 && s < p->span_count; s++) {
        const tst_delete_span *span = &p->spans[s];
        rc = SQL_F(t, "%s(", s ? " OR " : "");
        for (size_t k = 0; rc == 0 && span->identity && k < spec->entity_count; k++) {
            rc = SQL_IDENT(t, spec->entity_columns[k]);
            if (rc == 0)
                rc = SQL_F(t, " = ");
            if (rc == 0)
                rc = entity_value_sql(t, &span->identity[k]);
            if (rc == 0)
                rc = SQL_F(t, " AND ");
        }
        tst_time_precision unit;
        if (rc == 0)
            rc = index_sql(t, p, &unit);
        if (rc == 0)
            rc = SQL_F(t, " >= ");
        if (rc == 0)
            rc = value_sql(t, &span->start, unit);
        if (rc == 0)
            rc = SQL_F(t, " AND ");
        if (rc == 0)
            rc = index_sql(t, p, &unit);
        if (rc == 0)
            rc = SQL_F(t, " < ");
        if (rc == 0)
            rc = value_sql(t, &span->end, unit);
        if (rc == 0)
            rc = SQL_F(t, ")");
    }
    return rc == 0 ? SQL_F(t, ", false)") : rc;
}

/* Rows of the segment whose index is null (only asked when the index is nullable). */
static int null_index_rows(const tst_delete_plan *p, const char *path, uint64_t *out)
{
    tst_source src = {0};
    duckdb_connection con = NULL;
    duckdb_result res;
    tst_sql t = {0};
    char *abs = tst_io_join(p->root, path);
    int rc = abs ? tst_source_parquet(&src, abs) : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = SQL_F(&t, "SELECT count(*) FROM %s WHERE ", src.relation_sql);
    if (rc == 0)
        rc = SQL_IDENT(&t, spec_of(p)->column);
    if (rc == 0)
        rc = SQL_F(&t, " IS NULL");
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = tst_duck_query(con, t.s, &res, "counting rows without an index value");
    if (rc == 0) {
        *out = duckdb_value_uint64(&res, 0, 0);
        duckdb_destroy_result(&res);
    }
    tst_duck_disconnect(&con);
    tst_source_clear(&src);
    free(t.s);
    free(abs);
    return rc;
}

static int consider(tst_delete_plan *p, const tst_segment *seg)
{
    if (!seg->coverage_path)
        return tst_fail(TST_ECORRUPT, "%s of table %s: segment %s has no coverage sidecar "
                        "(coverage_path); nothing was written", p->op, p->root, seg->path);
    tst_table_cov cov = {0}, hit = {0}, rest = {0};
    int rc = tst_sidecar_read(p->root, seg->coverage_path, spec_of(p), schema_of(p), &cov);
    if (rc == 0)
        rc = hit_of_cov(p, &cov, &hit);
    if (rc == 0 && !cov_empty(&hit))
        rc = cov_minus(&rest, &cov, &hit);
    bool rewrite = rc == 0 && !cov_empty(&hit) && !cov_empty(&rest);
    const tst_field *index = tst_schema_find(schema_of(p), spec_of(p)->column);
    if (rc == 0 && !cov_empty(&hit) && !rewrite && index && index->nullable) {
        uint64_t nulls = 0;
        rc = null_index_rows(p, seg->path, &nulls);
        rewrite = nulls > 0;
    }
    if (rc == 0 && !cov_empty(&hit)) {
        tst_delete_item *it = &p->items[p->count++];
        it->path = strdup(seg->path);
        it->rows = seg->row_count;
        it->rewrite = rewrite;
        it->hit = hit;
        it->rest = rest;
        memset(&hit, 0, sizeof hit);
        memset(&rest, 0, sizeof rest);
        if (!it->path)
            rc = tst_fail(TST_ENOMEM, "out of memory");
        if (rc == 0)
            rc = tst_table_cov_union_inplace(&p->doomed, &it->hit);
    }
    tst_table_cov_clear(&cov);
    tst_table_cov_clear(&hit);
    tst_table_cov_clear(&rest);
    return rc;
}

static int choose_segments(tst_delete_plan *p)
{
    size_t n = tst_table_segment_count(p->table);
    p->items = calloc(n ? n : 1, sizeof *p->items);
    int rc = p->items ? tst_table_cov_new(&p->doomed, spec_of(p))
                      : tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const tst_segment *seg = tst_table_segment_at(p->table, i);
        if (may_meet(p, seg))
            rc = consider(p, seg);
    }
    return rc;
}

/* ---- 3. rewrites -------------------------------------------------------------------- */

static int layout_of(const tst_measure *m, tst_entity_layout *out)
{
    tst_entity_layout_clear(out);
    if (!m->entities) {
        out->kind = TST_LAYOUT_NOT_APPLICABLE;
        return 0;
    }
    if (tst_entity_coverage_count(m->entities) != 1) {
        out->kind = TST_LAYOUT_MIXED;
        return 0;
    }
    tst_entity_identity id;
    const tst_coverage *c = NULL;
    int rc = tst_entity_coverage_at(m->entities, 0, &id, &c);
    tst_entity_layout single = {TST_LAYOUT_SINGLE, (tst_entity_value *)id.values, id.count};
    return rc == 0 ? tst_entity_layout_copy(out, &single) : rc;
}

/* (SELECT * FROM <segment numbered> WHERE NOT <doomed row>) */
static int kept_relation(const tst_delete_plan *p, const tst_source *file, char **out)
{
    char *rel = NULL;
    tst_sql t = {0};
    int rc = tst_rewrite_numbered(file->relation_sql, &rel);
    if (rc == 0)
        rc = SQL_F(&t, "(SELECT * FROM %s WHERE NOT ", rel);
    if (rc == 0)
        rc = doomed_row_sql(&t, p);
    if (rc == 0)
        rc = SQL_F(&t, ")");
    free(rel);
    if (rc != 0)
        free(t.s);
    *out = rc == 0 ? t.s : NULL;
    return rc;
}

/*
 * Rows whose index is null lie in no range, so a delete or replace keeps
 * them; but a segment needs an index value for each identity it holds
 * (segment.h). When every indexed row of an identity goes and only its
 * unindexed rows would stay, the operation is refused before anything is
 * written: dropping rows nobody asked to remove would be silent loss.
 */
static int check_unindexed_rest(const tst_delete_plan *p, const char *relation)
{
    const tst_index_spec *spec = spec_of(p);
    const tst_field *index = tst_schema_find(schema_of(p), spec->column);
    if (!index || !index->nullable)
        return 0;
    tst_sql t = {0};
    int rc = SQL_F(&t, "SELECT count(*)");
    for (size_t i = 0; rc == 0 && i < spec->entity_count; i++) {
        rc = SQL_F(&t, ", ");
        if (rc == 0)
            rc = SQL_IDENT(&t, spec->entity_columns[i]);
        if (rc == 0)
            rc = SQL_F(&t, "::VARCHAR");
    }
    if (rc == 0)
        rc = SQL_F(&t, " FROM %s GROUP BY ALL HAVING count(", relation);
    if (rc == 0)
        rc = SQL_IDENT(&t, spec->column);
    if (rc == 0)
        rc = SQL_F(&t, ") = 0 LIMIT 1");
    duckdb_connection con = NULL;
    duckdb_result res;
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = tst_duck_query(con, t.s, &res, "looking for rows left without an index value");
    if (rc == 0) {
        if (duckdb_row_count(&res) > 0) {
            char who[256] = "";
            size_t len = 0;
            for (size_t i = 0; i < spec->entity_count && len < sizeof who; i++) {
                char *v = duckdb_value_varchar(&res, i + 1, 0);
                len += (size_t)snprintf(who + len, sizeof who - len, "%s%s=%s", i ? "," : " of ",
                                        spec->entity_columns[i], v ? v : "");
                duckdb_free(v);
            }
            bool replace = strcmp(p->op, "replace") == 0;
            rc = tst_fail(TST_EUNSUPPORTED,
                          "rejected: %" PRIu64 " row(s)%s have a null index '%s' and would be "
                          "the only rows of theirs left; rows without an index value lie in no "
                          "range, so they are kept, but they cannot stay in a segment on their "
                          "own. Nothing was written. %s, or copy the table's rows to a new "
                          "table without them", duckdb_value_uint64(&res, 0, 0), who,
                          spec->column,
                          replace ? "Replace fewer buckets of that entity (or append with "
                                    "on_overlap skip)"
                                  : "Delete a narrower range that leaves one of that entity's "
                                    "indexed rows in the segment");
        }
        duckdb_destroy_result(&res);
    }
    tst_duck_disconnect(&con);
    free(t.s);
    return rc;
}

static int check_piece(const tst_delete_plan *p, const tst_delete_item *it, const tst_measure *old,
                       const tst_measure *m)
{
    tst_table_cov got = {m->global, m->entities};
    if (m->rows < old->rows && it->piece.rows == m->rows && tst_table_cov_equals(&got, &it->rest))
        return 0;
    return tst_fail(TST_ECORRUPT, "%s of table %s: the rewrite %s of segment %s does not cover "
                    "what the segment's sidecar says it keeps (%" PRIu64 " of %" PRIu64 " rows "
                    "kept); nothing was committed", p->op, p->root, it->piece.path, it->path,
                    m->rows, old->rows);
}

static int write_piece(tst_delete_plan *p, tst_delete_item *it, size_t n, const tst_source *src,
                       const tst_measure *old)
{
    tst_rewrite_piece *pc = &it->piece;
    snprintf(pc->path, sizeof pc->path, "data/_staged/%s-rewrite/%s/%010zu.parquet", p->op,
             p->attempt_uuid, n);
    char *abs = tst_io_join(p->root, pc->path), *dir = NULL, *relation = NULL;
    int rc = abs ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0 && !(dir = strndup(abs, (size_t)(strrchr(abs, '/') - abs))))
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = kept_relation(p, src, &relation);
    if (rc == 0)
        rc = check_unindexed_rest(p, relation);
    if (rc == 0)
        rc = tst_io_mkdirs(dir);
    tst_segment_layout layout = {TST_COMPRESSION_DEFAULT, 0, "file_row_number"};
    if (rc == 0)
        rc = tst_segment_write(relation, spec_of(p), schema_of(p), abs, &layout);
    pc->data_written = rc == 0;
    tst_measure m = {0};
    if (rc == 0)
        rc = tst_rewrite_cancelled(p->cancel, p->op, p->root);
    if (rc == 0)
        rc = tst_rewrite_measure_piece(p->table, pc, abs, &m);
    if (rc == 0)
        rc = check_piece(p, it, old, &m);
    if (rc == 0)
        rc = layout_of(&m, &pc->layout);
    if (rc == 0)
        rc = tst_rewrite_write_sidecar(p->table, pc, &m, p->attempt_uuid);
    if (rc == 0)
        p->rows_deleted += old->rows - m.rows;
    tst_measure_clear(&m);
    free(relation);
    free(dir);
    free(abs);
    return rc;
}

static int rewrite_segment(tst_delete_plan *p, tst_delete_item *it, size_t n)
{
    tst_source src = {0};
    tst_measure m = {0};
    int rc = tst_rewrite_open_segment(p->table, it->path, &src, &m);
    if (rc == 0)
        rc = tst_rewrite_cancelled(p->cancel, p->op, p->root);
    if (rc == 0)
        rc = write_piece(p, it, n, &src, &m);
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "%s of table %s, segment %s", p->op, p->root, it->path);
    tst_measure_clear(&m);
    tst_source_clear(&src);
    return rc;
}

static int stage(tst_delete_plan *p)
{
    int rc = tst_io_uuid(p->attempt_uuid);
    size_t n = 0;
    for (size_t i = 0; rc == 0 && i < p->count; i++) {
        tst_delete_item *it = &p->items[i];
        if (it->rewrite) {
            rc = rewrite_segment(p, it, n++);
            p->segments_rewritten += rc == 0;
        } else {
            p->rows_deleted += it->rows;
            p->segments_removed++;
        }
    }
    return rc;
}

/* ---- the plan ------------------------------------------------------------------------ */

int tst_delete_plan_build(tst_delete_plan *p, tst_table *table, const char *op,
                          const tst_delete_target *targets, size_t count,
                          const tst_cancel *cancel)
{
    memset(p, 0, sizeof *p);
    p->table = table;
    p->op = op;
    p->root = tst_table_root(table);
    p->cancel = cancel;
    int rc = resolve_targets(p, targets, count);
    if (rc == 0)
        rc = choose_segments(p);
    if (rc == 0)
        rc = tst_rewrite_cancelled(cancel, op, p->root);
    if (rc == 0 && p->count > 0)
        rc = stage(p);
    if (rc != 0)
        tst_delete_plan_roll_back(p);
    return rc;
}

int tst_delete_plan_find(tst_delete_plan *p, tst_table *table, const char *op,
                         const tst_delete_target *targets, size_t count)
{
    memset(p, 0, sizeof *p);
    p->table = table;
    p->op = op;
    p->root = tst_table_root(table);
    int rc = resolve_targets(p, targets, count);
    return rc == 0 ? choose_segments(p) : rc;
}

int tst_delete_targets_predicate(tst_table *table, const char *op,
                                 const tst_delete_target *targets, size_t count, char **out)
{
    tst_delete_plan p;
    memset(&p, 0, sizeof p);
    p.table = table;
    p.op = op;
    p.root = tst_table_root(table);
    tst_sql t = {0};
    int rc = resolve_targets(&p, targets, count);
    if (rc == 0)
        rc = doomed_row_sql(&t, &p);
    tst_delete_plan_clear(&p);
    if (rc != 0)
        free(t.s);
    *out = rc == 0 ? t.s : NULL;
    return rc;
}

size_t tst_delete_plan_action_count(const tst_delete_plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        n += p->items[i].rewrite ? 2 : 1;
    return n;
}

void tst_delete_plan_fill_actions(const tst_delete_plan *p, tst_action *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++) {
        out[n].type = TST_ACTION_REMOVE_SEGMENT;
        out[n++].u.remove_path = p->items[i].path;
        if (!p->items[i].rewrite)
            continue;
        out[n].type = TST_ACTION_ADD_SEGMENT;
        tst_rewrite_fill_segment(&p->items[i].piece, &out[n++].u.segment);
    }
}

void tst_delete_plan_replaced(const tst_delete_plan *p, char **out)
{
    for (size_t i = 0; i < p->count; i++)
        out[i] = p->items[i].path;
}

uint64_t tst_delete_plan_pairs(const tst_delete_plan *p)
{
    return cov_pairs(&p->doomed);
}

void tst_delete_plan_roll_back(tst_delete_plan *p)
{
    for (size_t i = p->count; p->items && i-- > 0;)
        tst_rewrite_remove_piece(p->root, &p->items[i].piece);
    if (p->attempt_uuid[0]) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/_staged/%s-rewrite/%s", p->op, p->attempt_uuid);
        char *abs = tst_io_join(p->root, rel);
        if (abs)
            rmdir(abs); /* best effort: empty unless a file could not be removed */
        free(abs);
    }
}

void tst_delete_plan_clear(tst_delete_plan *p)
{
    for (size_t i = 0; p->items && i < p->count; i++) {
        tst_delete_item *it = &p->items[i];
        free(it->path);
        tst_table_cov_clear(&it->hit);
        tst_table_cov_clear(&it->rest);
        tst_entity_layout_clear(&it->piece.layout);
    }
    free(p->items);
    for (size_t s = 0; p->spans && s < p->span_count; s++)
        free(p->spans[s].identity);
    free(p->spans);
    tst_table_cov_clear(&p->doomed);
    memset(p, 0, sizeof *p);
}
