/*
 * coverage_diff.c — the coverage diff and the backfill planner of
 * tstable/coverage_diff.h.
 *
 * Both work on runs, never on single buckets: for each entity, the covered
 * runs inside the range are collected (tst_coverage_each_run, proportional
 * to the covered containers), and set differences are taken by a two-
 * pointer walk over two sorted run lists. A year of minutes for one
 * entity with a handful of holes is a handful of runs, so a diff of a
 * thousand such entities costs thousands of steps, not 500 million.
 *
 * Entities are walked in canonical order: every identity either table
 * knows (a merge of two sorted lists), or the caller's identities, sorted
 * and deduplicated. Rows copy their identity into the list's own store so
 * the list outlives the tables.
 *
 * The planner: gaps = expected runs (the whole range, or a calendar's
 * buckets) minus covered runs. Requests are cut greedily from the left: a
 * request starts at the first unfilled missing bucket and grows over the
 * following gaps while the next gap starts within max_request_buckets of
 * the request's start and the buckets between (covered or not expected)
 * number at most merge_within_buckets; a gap that does not fit is cut at
 * the limit and continued by the next request. No request can start
 * earlier (it must fill its first bucket) or reach further, so the count
 * is minimal, the usual exchange argument for covering points by bounded
 * intervals.
 */
#include "tstable/coverage_diff.h"

#include "coverage_internal.h"
#include "fail.h"
#include "model.h"
#include "sidecar.h"
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- runs --------------------------------------------------------------- */

typedef struct run {
    uint64_t first, last;
} run;

typedef struct run_list {
    run *items;
    size_t count, cap;
} run_list;

static int run_push(run_list *l, uint64_t first, uint64_t last)
{
    if (l->count > 0 && l->items[l->count - 1].last + 1 == first) {
        l->items[l->count - 1].last = last; /* merge adjacent */
        return 0;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        run *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return tst_fail(TST_ENOMEM, "out of memory collecting coverage runs");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = (run){first, last};
    return 0;
}

static int collect_run(void *ctx, uint64_t first, uint64_t last)
{
    return run_push(ctx, first, last);
}

static int runs_of(const tst_coverage *cov, uint64_t first, uint64_t last, run_list *out)
{
    out->count = 0;
    return cov ? tst_coverage_each_run(cov, first, last, collect_run, out) : 0;
}

/* out = a \ b, both sorted and disjoint. */
static int runs_subtract(const run_list *a, const run_list *b, run_list *out)
{
    out->count = 0;
    size_t j = 0;
    for (size_t i = 0; i < a->count; i++) {
        uint64_t cur = a->items[i].first, last = a->items[i].last;
        bool done = false;
        while (j < b->count && b->items[j].last < cur)
            j++;
        for (size_t k = j; !done && k < b->count && b->items[k].first <= last; k++) {
            if (b->items[k].first > cur) {
                int rc = run_push(out, cur, b->items[k].first - 1);
                if (rc != 0)
                    return rc;
            }
            if (b->items[k].last >= last)
                done = true;
            else
                cur = b->items[k].last + 1;
        }
        if (!done) {
            int rc = run_push(out, cur, last);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- the list ----------------------------------------------------------- */

typedef struct owned_identity {
    tst_entity_value *values;
    char **strings;
    size_t count;
} owned_identity;

struct tst_range_list {
    tst_entity_range *rows;
    size_t count, cap;
    owned_identity *ids;
    size_t id_count, id_cap;
};

const char *tst_range_change_name(tst_range_change change)
{
    switch (change) {
    case TST_RANGE_ADDED: return "added";
    case TST_RANGE_REMOVED: return "removed";
    case TST_RANGE_REQUEST: return "request";
    }
    return "unknown";
}

size_t tst_range_list_count(const tst_range_list *list)
{
    return list ? list->count : 0;
}

const tst_entity_range *tst_range_list_at(const tst_range_list *list, size_t i)
{
    return list && i < list->count ? &list->rows[i] : NULL;
}

void tst_range_list_free(tst_range_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->id_count; i++) {
        for (size_t k = 0; k < list->ids[i].count; k++)
            free(list->ids[i].strings[k]);
        free(list->ids[i].strings);
        free(list->ids[i].values);
    }
    free(list->ids);
    free(list->rows);
    free(list);
}

/* Copies id into the list's store (the last stored one is reused). */
static int store_identity(tst_range_list *l, const tst_entity_identity *id,
                          tst_entity_identity *out)
{
    if (l->id_count > 0) {
        owned_identity *prev = &l->ids[l->id_count - 1];
        tst_entity_identity p = {prev->count, prev->values};
        if (tst_entity_identity_compare(&p, id) == 0) {
            *out = p;
            return 0;
        }
    }
    if (l->id_count == l->id_cap) {
        size_t cap = l->id_cap ? l->id_cap * 2 : 16;
        owned_identity *ids = realloc(l->ids, cap * sizeof *ids);
        if (!ids)
            return tst_fail(TST_ENOMEM, "out of memory");
        l->ids = ids;
        l->id_cap = cap;
    }
    owned_identity *o = &l->ids[l->id_count];
    size_t n = id->count ? id->count : 1;
    o->values = calloc(n, sizeof *o->values);
    o->strings = calloc(n, sizeof *o->strings);
    o->count = id->count;
    if (!o->values || !o->strings) {
        free(o->values);
        free(o->strings);
        return tst_fail(TST_ENOMEM, "out of memory");
    }
    l->id_count++;
    for (size_t k = 0; k < id->count; k++) {
        o->values[k] = id->values[k];
        if (id->values[k].type != TST_ENTITY_UTF8)
            continue;
        size_t len = id->values[k].v.utf8.len;
        o->strings[k] = malloc(len + 1);
        if (!o->strings[k])
            return tst_fail(TST_ENOMEM, "out of memory");
        if (len)
            memcpy(o->strings[k], id->values[k].v.utf8.ptr, len);
        o->strings[k][len] = '\0';
        o->values[k].v.utf8.ptr = o->strings[k];
    }
    *out = (tst_entity_identity){o->count, o->values};
    return 0;
}

static int add_row(tst_range_list *l, const tst_index_kind *kind, const tst_entity_identity *id,
                   tst_range_change change, uint64_t first, uint64_t last, uint64_t missing)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        tst_entity_range *rows = realloc(l->rows, cap * sizeof *rows);
        if (!rows)
            return tst_fail(TST_ENOMEM, "out of memory");
        l->rows = rows;
        l->cap = cap;
    }
    tst_entity_range *r = &l->rows[l->count];
    memset(r, 0, sizeof *r);
    int rc = store_identity(l, id, &r->identity);
    tst_index_value ignored;
    bool ignored_incl = false;
    if (rc == 0)
        rc = tst_bucket_bounds(kind, first, &r->start, &ignored, &ignored_incl);
    if (rc == 0)
        rc = tst_bucket_bounds(kind, last, &ignored, &r->end, &r->end_inclusive);
    if (rc != 0)
        return tst_fail_context(rc, "coverage holds buckets no index value maps to");
    r->change = change;
    r->buckets = last - first == UINT64_MAX ? UINT64_MAX : last - first + 1;
    r->missing_buckets = missing;
    l->count++;
    return 0;
}

/* ---- arguments ---------------------------------------------------------- */

static int check_handle(const tst_table *t, const char *what)
{
    if (!t)
        return tst_fail(TST_EINVAL, "%s table is NULL", what);
    if (t->stale)
        return tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it first",
                        t->root);
    return 0;
}

static bool same_buckets(const tst_index_kind *a, const tst_index_kind *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == TST_INDEX_TIMESTAMP)
        return tst_time_bucket_seconds(a->bucket) == tst_time_bucket_seconds(b->bucket);
    return a->bucket_width == b->bucket_width;
}

static void describe_index(const tst_index_spec *s, char *buf, size_t cap)
{
    char width[32];
    if (s->kind.type == TST_INDEX_TIMESTAMP)
        tst_time_bucket_format(s->kind.bucket, width, sizeof width);
    else
        snprintf(width, sizeof width, "%llu", (unsigned long long)s->kind.bucket_width);
    int n = snprintf(buf, cap, "%s, bucket %s, entity (", tst_index_type_name(s->kind.type),
                     width);
    for (size_t i = 0; i < s->entity_count && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%s", i ? ", " : "", s->entity_columns[i]);
    if (n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, ")");
}

static tst_entity_type column_type(const tst_table *t, size_t j)
{
    const tst_field *f = t->state.meta.schema
                             ? tst_schema_find(t->state.meta.schema,
                                               t->state.meta.index.entity_columns[j])
                             : NULL;
    return f ? tst_entity_type_of(&f->type) : (tst_entity_type)0;
}

static int check_comparable(const tst_table *a, const tst_table *b)
{
    const tst_index_spec *sa = &a->state.meta.index, *sb = &b->state.meta.index;
    bool same = same_buckets(&sa->kind, &sb->kind) && sa->entity_count == sb->entity_count;
    for (size_t j = 0; same && j < sa->entity_count; j++) {
        tst_entity_type ta = column_type(a, j), tb = column_type(b, j);
        same = strcmp(sa->entity_columns[j], sb->entity_columns[j]) == 0 &&
               (ta == 0 || tb == 0 || ta == tb);
    }
    if (same)
        return 0;
    char da[256], db[256];
    describe_index(sa, da, sizeof da);
    describe_index(sb, db, sizeof db);
    return tst_fail(TST_EINVAL,
                    "cannot compare coverage of %s (%s) with %s (%s): the tables need the same "
                    "index type, bucket width and entity columns",
                    a->root, da, b->root, db);
}

static int check_identity(const tst_table *t, const tst_entity_identity *id, size_t i)
{
    size_t want = t->state.meta.index.entity_count;
    if (id->count != want || (want > 0 && !id->values))
        return tst_fail(TST_EINVAL,
                        "entity %zu of the scope has %zu values, but table %s has %zu entity "
                        "columns",
                        i, id->count, t->root, want);
    for (size_t j = 0; j < want; j++) {
        tst_entity_type ct = column_type(t, j);
        if (ct != 0 && id->values[j].type != ct)
            return tst_fail(TST_EINVAL,
                            "entity %zu of the scope: column \"%s\" of table %s is %s, but the "
                            "value given is %s",
                            i, t->state.meta.index.entity_columns[j], t->root,
                            tst_entity_type_name(ct), tst_entity_type_name(id->values[j].type));
    }
    return 0;
}

static int range_of(const tst_table *t, const tst_coverage_scope *s, bool required,
                    uint64_t *first, uint64_t *last)
{
    if (!s->start != !s->end)
        return tst_fail(TST_EINVAL, "give both a start and an end, or neither");
    if (!s->start) {
        if (required)
            return tst_fail(TST_EINVAL, "a backfill plan needs a range: start and end");
        *first = 0;
        *last = UINT64_MAX;
        return 0;
    }
    int rc = tst_bucket_range(&t->state.meta.index.kind, s->start, s->end, first, last);
    return rc != 0 ? tst_fail_context(rc, "coverage of table %s", t->root) : 0;
}

/* ---- entities ----------------------------------------------------------- */

static int compare_ids(const void *a, const void *b)
{
    return tst_entity_identity_compare(a, b);
}

/* The scope's identities, sorted and without duplicates (a copy). */
static int scope_identities(const tst_table *t, const tst_coverage_scope *s,
                            tst_entity_identity **out, size_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    if (s->entity_count == 0)
        return 0;
    if (!s->entities)
        return tst_fail(TST_EINVAL, "scope entities are NULL but their count is not 0");
    for (size_t i = 0; i < s->entity_count; i++) {
        int rc = check_identity(t, &s->entities[i], i);
        if (rc != 0)
            return rc;
    }
    tst_entity_identity *ids = malloc(s->entity_count * sizeof *ids);
    if (!ids)
        return tst_fail(TST_ENOMEM, "out of memory");
    memcpy(ids, s->entities, s->entity_count * sizeof *ids);
    qsort(ids, s->entity_count, sizeof *ids, compare_ids);
    size_t n = 1;
    for (size_t i = 1; i < s->entity_count; i++)
        if (tst_entity_identity_compare(&ids[n - 1], &ids[i]) != 0)
            ids[n++] = ids[i];
    *out = ids;
    *out_count = n;
    return 0;
}

static const tst_coverage *coverage_for(const tst_table_cov *tc, const tst_entity_identity *id)
{
    if (!tc->entities)
        return tc->global;
    return tst_entity_coverage_get(tc->entities, id);
}

/* Visits every entity to report on, with its coverage in a and b (b may be NULL). */
typedef int (*entity_fn)(void *ctx, const tst_entity_identity *id, const tst_coverage *a,
                         const tst_coverage *b);

static int each_entity(const tst_table_cov *a, const tst_table_cov *b,
                       const tst_entity_identity *ids, size_t id_count, entity_fn fn, void *ctx)
{
    if (!a->entities) {
        tst_entity_identity none = {0, NULL};
        return fn(ctx, &none, a->global, b ? b->global : NULL);
    }
    if (ids) {
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < id_count; i++)
            rc = fn(ctx, &ids[i], coverage_for(a, &ids[i]), b ? coverage_for(b, &ids[i]) : NULL);
        return rc;
    }
    size_t na = tst_entity_coverage_count(a->entities);
    size_t nb = b ? tst_entity_coverage_count(b->entities) : 0;
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < na || j < nb)) {
        tst_entity_identity ia = {0}, ib = {0};
        const tst_coverage *ca = NULL, *cb = NULL;
        if (i < na)
            tst_entity_coverage_at(a->entities, i, &ia, &ca);
        if (j < nb)
            tst_entity_coverage_at(b->entities, j, &ib, &cb);
        int cmp = i >= na ? 1 : j >= nb ? -1 : tst_entity_identity_compare(&ia, &ib);
        if (cmp < 0)
            rc = fn(ctx, &ia, ca, NULL), i++;
        else if (cmp > 0)
            rc = fn(ctx, &ib, NULL, cb), j++;
        else
            rc = fn(ctx, &ia, ca, cb), i++, j++;
    }
    return rc;
}

/* ---- the diff ----------------------------------------------------------- */

typedef struct walk {
    tst_range_list *list;
    const tst_index_kind *kind;
    uint64_t first, last;
    run_list a, b, tmp, tmp2;
    const tst_backfill_options *plan;
} walk;

/* Added and removed runs are disjoint: emitted interleaved, by start. */
static int emit_changes(walk *w, const tst_entity_identity *id, const run_list *added,
                        const run_list *removed)
{
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < added->count || j < removed->count)) {
        bool add = j >= removed->count ||
                   (i < added->count && added->items[i].first < removed->items[j].first);
        const run *r = add ? &added->items[i++] : &removed->items[j++];
        rc = add_row(w->list, w->kind, id, add ? TST_RANGE_ADDED : TST_RANGE_REMOVED, r->first,
                     r->last, r->last - r->first == UINT64_MAX ? UINT64_MAX
                                                                : r->last - r->first + 1);
    }
    return rc;
}

static int diff_entity(void *ctx, const tst_entity_identity *id, const tst_coverage *from,
                       const tst_coverage *to)
{
    walk *w = ctx;
    int rc = runs_of(from, w->first, w->last, &w->a);
    if (rc == 0)
        rc = runs_of(to, w->first, w->last, &w->b);
    if (rc == 0)
        rc = runs_subtract(&w->b, &w->a, &w->tmp);
    if (rc == 0)
        rc = runs_subtract(&w->a, &w->b, &w->tmp2);
    return rc == 0 ? emit_changes(w, id, &w->tmp, &w->tmp2) : rc;
}

static void walk_free(walk *w)
{
    free(w->a.items);
    free(w->b.items);
    free(w->tmp.items);
    free(w->tmp2.items);
}

static int new_list(tst_range_list **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : tst_fail(TST_ENOMEM, "out of memory");
}

/* The common end of a diff and a plan: unless rc already failed, visits
 * the entities into a new list, then frees the walk and ids; *out gets the
 * list on success. */
static int finish_walk(walk *w, int rc, const tst_table *t, const tst_table_cov *a,
                       const tst_table_cov *b, tst_entity_identity *ids, size_t id_count,
                       entity_fn fn, tst_range_list **out)
{
    if (rc == 0)
        rc = new_list(&w->list);
    w->kind = &t->state.meta.index.kind;
    if (rc == 0)
        rc = each_entity(a, b, ids, id_count, fn, w);
    free(ids);
    walk_free(w);
    if (rc != 0) {
        tst_range_list_free(w->list);
        return rc;
    }
    *out = w->list;
    return 0;
}

int tst_table_coverage_diff(tst_range_list **out, tst_table *from, tst_table *to,
                            const tst_coverage_scope *scope)
{
    tst_coverage_scope none = TST_COVERAGE_SCOPE_INIT;
    const tst_table_cov *ca = NULL, *cb = NULL;
    tst_entity_identity *ids = NULL;
    size_t id_count = 0;
    walk w;
    memset(&w, 0, sizeof w);
    if (!out)
        return tst_fail(TST_EINVAL, "coverage diff output is NULL");
    *out = NULL;
    scope = scope ? scope : &none;
    int rc = check_handle(from, "from");
    if (rc == 0)
        rc = check_handle(to, "to");
    if (rc == 0)
        rc = check_comparable(from, to);
    if (rc == 0)
        rc = range_of(from, scope, false, &w.first, &w.last);
    if (rc == 0)
        rc = scope_identities(from, scope, &ids, &id_count);
    if (rc == 0)
        rc = tst_table_load_coverage(from, &ca);
    if (rc == 0)
        rc = tst_table_load_coverage(to, &cb);
    return finish_walk(&w, rc, from, ca, cb, ids, id_count, diff_entity, out);
}

/* ---- the backfill plan -------------------------------------------------- */

/* The buckets [from, to] of the gaps that are missing (gaps sorted, disjoint). */
static uint64_t missing_within(const run_list *gaps, size_t g, uint64_t from, uint64_t to)
{
    uint64_t n = 0;
    for (; g < gaps->count && gaps->items[g].first <= to; g++) {
        uint64_t a = gaps->items[g].first > from ? gaps->items[g].first : from;
        uint64_t b = gaps->items[g].last < to ? gaps->items[g].last : to;
        if (a <= b)
            n += b - a + 1;
    }
    return n;
}

static int plan_requests(walk *w, const tst_entity_identity *id, const run_list *gaps)
{
    uint64_t max = w->plan->max_request_buckets, merge = w->plan->merge_within_buckets;
    size_t g = 0;
    uint64_t cur = gaps->count ? gaps->items[0].first : 0;
    while (g < gaps->count) {
        uint64_t start = cur, limit = max && start <= UINT64_MAX - (max - 1) ? start + max - 1
                                                                             : UINT64_MAX;
        size_t first_gap = g;
        uint64_t end = start;
        for (;;) {
            const run *r = &gaps->items[g];
            if (r->last > limit) { /* cut at the limit; the rest starts the next request */
                end = limit;
                cur = limit + 1;
                break;
            }
            end = r->last;
            g++;
            if (g == gaps->count)
                break;
            const run *next = &gaps->items[g];
            if (next->first - r->last - 1 > merge || next->first > limit) {
                cur = next->first;
                break;
            }
        }
        int rc = add_row(w->list, w->kind, id, TST_RANGE_REQUEST, start, end,
                         missing_within(gaps, first_gap, start, end));
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int plan_entity(void *ctx, const tst_entity_identity *id, const tst_coverage *cov,
                       const tst_coverage *unused)
{
    (void)unused;
    walk *w = ctx;
    int rc = 0;
    w->b.count = 0;
    if (w->plan->expected)
        rc = runs_of(w->plan->expected, w->first, w->last, &w->b);
    else
        rc = run_push(&w->b, w->first, w->last);
    if (rc == 0)
        rc = runs_of(cov, w->first, w->last, &w->a);
    if (rc == 0)
        rc = runs_subtract(&w->b, &w->a, &w->tmp);
    return rc == 0 ? plan_requests(w, id, &w->tmp) : rc;
}

int tst_table_plan_backfill(tst_range_list **out, tst_table *table,
                            const tst_backfill_options *opts)
{
    const tst_table_cov *tc = NULL;
    tst_entity_identity *ids = NULL;
    size_t id_count = 0;
    walk w;
    memset(&w, 0, sizeof w);
    if (!out || !opts)
        return tst_fail(TST_EINVAL, "backfill plan: output and options are required");
    *out = NULL;
    w.plan = opts;
    int rc = check_handle(table, "the");
    if (rc == 0)
        rc = range_of(table, &opts->scope, true, &w.first, &w.last);
    if (rc == 0)
        rc = scope_identities(table, &opts->scope, &ids, &id_count);
    if (rc == 0)
        rc = tst_table_load_coverage(table, &tc);
    return finish_walk(&w, rc, table, tc, NULL, ids, id_count, plan_entity, out);
}
