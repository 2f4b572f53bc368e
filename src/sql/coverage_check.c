/*
 * coverage_check.c — coverage-guaranteed reads (tstable/session.h): before
 * a statement runs, are the (entity, bucket) slots it reads of each
 * registered tstable covered by that table?
 *
 * The workload is a backtest or a report that must not run on a range with
 * holes in it: a statement over a handful of entities and a range of days
 * to years, on a table whose coverage is a few runs per entity. So the
 * check works in runs, never in buckets:
 *
 *   1. asks: what each reference reads, from the pruner (prune.c): an index
 *      range whose open sides reach the table's covered extent, and the
 *      entity equalities. Each becomes an inclusive bucket range.
 *   2. asked entities: an ask with no equality reaches every entity the
 *      table knows; one whose equalities match no known entity asks for
 *      that (unknown) entity, which has no data. Each entity gathers the
 *      ranges of the asks that reach it, merged.
 *   3. missing_slots(): asked minus covered, per entity, as merged runs —
 *      tst_coverage_each_missing_run, which costs the covered containers in
 *      the range. This is the one place the difference is taken: a set of
 *      expected buckets (a calendar) is to be intersected with the asked
 *      ranges here.
 *   4. the report (kept in the session, or handed to the caller) and its
 *      message: up to MAX_SHOWN ranges per entity, the totals, what was
 *      checked, where and why it was widened, what to do.
 *
 * What is checked is a superset of what is read: a check may fail for a
 * slot the statement would not read (a widened bound), never pass with a
 * slot it reads missing.
 */
#include "coverage_check.h"

#include "fail.h"
#include "model.h"
#include "session_internal.h"
#include "sidecar.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ranges the message lists per entity (the report has them all). */
#define MAX_SHOWN 5
/* Entities the message lists per table before "and N more". */
#define MAX_ENTITIES_SHOWN 20

/* ---- the report -------------------------------------------------------------- */

typedef struct report {
    tst_coverage_report pub; /* first: the public pointer is this struct's */
    const tst_calendar *cal; /* only the buckets it expects are asked (NULL: all) */
    tst_coverage_checked *tables;
    size_t table_count, table_cap;
    tst_coverage_missing *missing;
    size_t missing_count, missing_cap;
    void **owned; /* strings and binding arrays the entries point to */
    size_t owned_count, owned_cap;
    char *message;
} report;

static void *own(report *r, void *p)
{
    if (!p)
        return NULL;
    if (r->owned_count == r->owned_cap) {
        size_t cap = r->owned_cap ? r->owned_cap * 2 : 16;
        void **owned = realloc(r->owned, cap * sizeof *owned);
        if (!owned) {
            free(p);
            return NULL;
        }
        r->owned = owned, r->owned_cap = cap;
    }
    return r->owned[r->owned_count++] = p;
}

static char *own_copy(report *r, const char *bytes, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, bytes, len);
        p[len] = '\0';
    }
    return own(r, p);
}

void tst_coverage_report_free(tst_coverage_report *pub)
{
    report *r = (report *)pub;
    if (!r)
        return;
    for (size_t i = 0; i < r->owned_count; i++)
        free(r->owned[i]);
    free(r->owned);
    free(r->tables);
    free(r->missing);
    free(r->message);
    free(r);
}

static bool grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 8;
    void *p = realloc(*items, n * size);
    if (!p)
        return false;
    *items = p, *cap = n;
    return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t span_len(uint64_t first, uint64_t last)
{
    return last - first == UINT64_MAX ? UINT64_MAX : last - first + 1;
}

/* ---- asked entities ------------------------------------------------------------ */

typedef struct brange {
    uint64_t first, last;
} brange;

/* One entity asked about: a known identity (every column set) or the
 * columns an ask fixed that no known identity matches. */
typedef struct asked_entity {
    const tst_entity_value *values; /* borrowed: the identity's, or the ask's */
    const bool *set;                /* NULL: every column */
    size_t count;
    const tst_coverage *cov;        /* NULL: the table has no data for it */
    brange *ranges;
    size_t n, cap;
} asked_entity;

/* One ask in buckets, after clamping its open sides to the extent. */
typedef struct bucket_ask {
    uint64_t first, last;
    const bool *eq_set; /* TST_PRUNE_MAX_ENTITY entries, or NULL: no equality */
    const tst_entity_value *eq;
} bucket_ask;

static bool value_equal(const tst_entity_value *a, const tst_entity_value *b)
{
    tst_entity_identity x = {1, a}, y = {1, b};
    return tst_entity_identity_compare(&x, &y) == 0;
}

static bool any_set(const bucket_ask *a, size_t count)
{
    for (size_t k = 0; a->eq_set && k < count && k < TST_PRUNE_MAX_ENTITY; k++)
        if (a->eq_set[k])
            return true;
    return false;
}

static bool ask_matches(const bucket_ask *a, const tst_entity_value *values, size_t count)
{
    for (size_t k = 0; a->eq_set && k < count && k < TST_PRUNE_MAX_ENTITY; k++)
        if (a->eq_set[k] && !value_equal(&a->eq[k], &values[k]))
            return false;
    return true;
}

static int add_range(asked_entity *e, uint64_t first, uint64_t last)
{
    if (!grow((void **)&e->ranges, &e->cap, e->n, sizeof *e->ranges))
        return tst_fail(TST_ENOMEM, "out of memory checking coverage");
    e->ranges[e->n++] = (brange){first, last};
    return 0;
}

static int range_order(const void *a, const void *b)
{
    const brange *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static void merge_ranges(asked_entity *e)
{
    if (e->n < 2)
        return;
    qsort(e->ranges, e->n, sizeof *e->ranges, range_order);
    size_t out = 0;
    for (size_t i = 1; i < e->n; i++) {
        brange *cur = &e->ranges[out];
        if (cur->last == UINT64_MAX || e->ranges[i].first <= cur->last + 1) {
            if (e->ranges[i].last > cur->last)
                cur->last = e->ranges[i].last;
        } else {
            e->ranges[++out] = e->ranges[i];
        }
    }
    e->n = out + 1;
}

typedef struct entity_set {
    asked_entity *items;
    size_t count, cap;
} entity_set;

static void entity_set_free(entity_set *es)
{
    for (size_t i = 0; i < es->count; i++)
        free(es->items[i].ranges);
    free(es->items);
}

static int entity_add(entity_set *es, const tst_entity_value *values, const bool *set,
                      size_t count, const tst_coverage *cov)
{
    if (!grow((void **)&es->items, &es->cap, es->count, sizeof *es->items))
        return tst_fail(TST_ENOMEM, "out of memory checking coverage");
    es->items[es->count++] = (asked_entity){values, set, count, cov, NULL, 0, 0};
    return 0;
}

/* The unknown entity an ask's equalities name (added when new). */
static int unknown_entity(entity_set *es, size_t known, const bucket_ask *a, size_t count,
                          asked_entity **out)
{
    size_t n = count < TST_PRUNE_MAX_ENTITY ? count : TST_PRUNE_MAX_ENTITY;
    for (size_t i = known; i < es->count; i++) {
        asked_entity *e = &es->items[i];
        bool same = true;
        for (size_t k = 0; same && k < n; k++)
            same = e->set[k] == a->eq_set[k] && (!a->eq_set[k] || value_equal(&e->values[k],
                                                                              &a->eq[k]));
        if (same) {
            *out = e;
            return 0;
        }
    }
    int rc = entity_add(es, a->eq, a->eq_set, n, NULL);
    *out = rc == 0 ? &es->items[es->count - 1] : NULL;
    return rc;
}

/* Step 2: every known entity of the table, then the asks spread over them. */
static int gather(const tst_table_cov *tc, size_t entity_count, const bucket_ask *asks,
                  size_t ask_count, entity_set *es)
{
    int rc = 0;
    if (tc->global)
        rc = entity_add(es, NULL, NULL, 0, tc->global);
    size_t known = tc->entities ? tst_entity_coverage_count(tc->entities) : 0;
    for (size_t i = 0; rc == 0 && i < known; i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL;
        rc = tst_entity_coverage_at(tc->entities, i, &id, &cov);
        if (rc == 0)
            rc = entity_add(es, id.values, NULL, id.count, cov);
    }
    known = es->count;
    for (size_t j = 0; rc == 0 && j < ask_count; j++) {
        const bucket_ask *a = &asks[j];
        bool matched = false;
        for (size_t i = 0; rc == 0 && i < known; i++) {
            asked_entity *e = &es->items[i];
            if (tc->global || ask_matches(a, e->values, e->count)) {
                matched = true;
                rc = add_range(e, a->first, a->last);
            }
        }
        asked_entity *u = NULL;
        if (rc == 0 && !matched && tc->entities && any_set(a, entity_count) &&
            (rc = unknown_entity(es, known, a, entity_count, &u)) == 0)
            rc = add_range(u, a->first, a->last);
    }
    return rc;
}

/* ---- step 3: asked minus covered ------------------------------------------------ */

typedef struct entity_label {
    const char *text;
    const tst_entity_binding *bindings;
    size_t binding_count;
} entity_label;

static int label_entity(report *r, const tst_index_spec *spec, const asked_entity *e,
                        entity_label *out)
{
    memset(out, 0, sizeof *out);
    out->text = "";
    if (!e->values)
        return 0;
    tst_entity_binding *b = own(r, calloc(e->count ? e->count : 1, sizeof *b));
    char text[1024] = "";
    size_t used = 0, n = 0;
    if (!b)
        return tst_fail(TST_ENOMEM, "out of memory checking coverage");
    for (size_t k = 0; k < e->count && k < spec->entity_count; k++) {
        if (e->set && !e->set[k])
            continue;
        char value[256];
        tst_entity_identity one = {1, &e->values[k]};
        tst_entity_identity_format(&one, value, sizeof value);
        if (used < sizeof text)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%s=%s", n ? "," : "",
                                     spec->entity_columns[k], value);
        b[n].column = own_copy(r, spec->entity_columns[k], strlen(spec->entity_columns[k]));
        b[n].value = e->values[k];
        if (e->values[k].type == TST_ENTITY_UTF8)
            b[n].value.v.utf8.ptr = own_copy(r, e->values[k].v.utf8.ptr, e->values[k].v.utf8.len);
        if (!b[n].column || (e->values[k].type == TST_ENTITY_UTF8 && !b[n].value.v.utf8.ptr))
            return tst_fail(TST_ENOMEM, "out of memory checking coverage");
        n++;
    }
    out->text = own_copy(r, text, strlen(text));
    out->bindings = b, out->binding_count = n;
    return out->text ? 0 : tst_fail(TST_ENOMEM, "out of memory checking coverage");
}

typedef struct run_ctx {
    report *r;
    const tst_index_kind *kind;
    const char *table;
    const entity_label *label;
    bool known;
    tst_coverage_checked *checked;
} run_ctx;

static int record_missing(run_ctx *c, uint64_t first, uint64_t last, uint64_t buckets)
{
    report *r = c->r;
    tst_index_value start, end, ignored;
    bool inclusive = false, ignored_inclusive = false;
    if (tst_bucket_bounds(c->kind, first, &start, &ignored, &ignored_inclusive) != 0 ||
        tst_bucket_bounds(c->kind, last, &ignored, &end, &inclusive) != 0)
        return tst_fail_context(TST_EINVAL, "coverage check of table '%s'", c->table);
    if (!grow((void **)&r->missing, &r->missing_cap, r->missing_count, sizeof *r->missing))
        return tst_fail(TST_ENOMEM, "out of memory checking coverage");
    r->missing[r->missing_count++] = (tst_coverage_missing){
        c->table, c->label->text, c->label->bindings, c->label->binding_count, c->known,
        start, end, inclusive, buckets};
    c->checked->missing_buckets = add_sat(c->checked->missing_buckets, buckets);
    r->pub.missing_buckets = add_sat(r->pub.missing_buckets, buckets);
    return 0;
}

static int missing_run(void *arg, uint64_t first, uint64_t last)
{
    return record_missing(arg, first, last, span_len(first, last));
}

/* Under a calendar: a gap of expected buckets, closed time inside it
 * neither ending it nor counted (tstable/calendar.h). */
static int missing_expected(void *arg, uint64_t first, uint64_t last, uint64_t missing)
{
    return record_missing(arg, first, last, missing);
}

/* The asked range [first, last] of one entity, less what it covers (cov:
 * NULL for an entity the table has no data for), and with a calendar less
 * what the calendar does not expect. */
static int missing_in(run_ctx *c, const tst_coverage *cov, const tst_coverage *expected,
                      uint64_t first, uint64_t last)
{
    if (!expected) {
        c->checked->asked_buckets = add_sat(c->checked->asked_buckets, span_len(first, last));
        return cov ? tst_coverage_each_missing_run(cov, first, last, 0, missing_run, c)
                   : missing_run(c, first, last);
    }
    c->checked->asked_buckets =
        add_sat(c->checked->asked_buckets, tst_coverage_count_range(expected, first, last));
    tst_coverage *none = NULL;
    int rc = cov ? 0 : tst_coverage_new(&none);
    if (rc == 0)
        rc = tst_coverage_each_expected_gap(cov ? cov : none, expected, first, last, 0,
                                            missing_expected, c);
    tst_coverage_free(none);
    return rc;
}

/*
 * missing = asked - covered, for each asked entity: its asked bucket ranges
 * (merged here) less its covered buckets, appended to the report as
 * ranges in index values. The one place the difference is taken.
 */
static int missing_slots(report *r, const char *table, const tst_index_spec *spec,
                         asked_entity *asked, size_t count, const tst_coverage *expected,
                         tst_coverage_checked *checked)
{
    for (size_t i = 0; i < count; i++) {
        asked_entity *e = &asked[i];
        entity_label label;
        merge_ranges(e);
        if (e->n == 0)
            continue;
        checked->entities++;
        int rc = label_entity(r, spec, e, &label);
        run_ctx c = {r, &spec->kind, table, &label, e->cov != NULL, checked};
        for (size_t j = 0; rc == 0 && j < e->n; j++)
            rc = missing_in(&c, e->cov, expected, e->ranges[j].first, e->ranges[j].last);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- one table ------------------------------------------------------------------- */

/* The table's covered extent over every entity, in buckets. */
static int extent_of(tst_table *t, bool *found, uint64_t *first, uint64_t *last)
{
    const tst_coverage *all = NULL;
    int rc = tst_table_load_coverage_union(t, &all);
    *found = rc == 0 && tst_coverage_min(all, first) && tst_coverage_max(all, last);
    return rc;
}

/* Step 1 for one pruner ask: false when it asks nothing (empty, or an open
 * side and a table with no coverage). An open side an unread condition (or
 * a WHERE outside the table's references: outer_bound) may bound makes the
 * table uncheckable (*unread). */
static bool to_buckets(const tst_index_kind *kind, const tst_read_ask *a, bool outer_bound,
                       bool found, uint64_t ext_first, uint64_t ext_last, bucket_ask *out,
                       bool *unread)
{
    bool has_first = a->has_lo && tst_bucket_of(kind, &a->lo, &out->first) == 0;
    bool has_last = a->has_hi && tst_bucket_of(kind, &a->hi, &out->last) == 0;
    if (a->empty)
        return false;
    if ((a->unread || outer_bound) && (!has_first || !has_last))
        *unread = true;
    if ((!has_first || !has_last) && !found)
        return false;
    if (!has_first)
        out->first = ext_first;
    if (!has_last)
        out->last = ext_last;
    out->eq_set = a->eq_set, out->eq = a->eq;
    return out->first <= out->last;
}

/* The first and last asked bucket over every entity; false when none is asked. */
static bool hull_buckets(entity_set *es, uint64_t *lo, uint64_t *hi)
{
    bool any = false;
    *lo = UINT64_MAX, *hi = 0;
    for (size_t i = 0; i < es->count; i++) {
        asked_entity *e = &es->items[i];
        merge_ranges(e);
        if (e->n == 0)
            continue;
        any = true;
        *lo = e->ranges[0].first < *lo ? e->ranges[0].first : *lo;
        *hi = e->ranges[e->n - 1].last > *hi ? e->ranges[e->n - 1].last : *hi;
    }
    return any;
}

static void hull_of(const tst_index_kind *kind, entity_set *es, tst_coverage_checked *c)
{
    uint64_t lo = 0, hi = 0;
    bool any = hull_buckets(es, &lo, &hi), ignored = false;
    tst_index_value skip;
    c->empty = !any;
    if (any && (tst_bucket_bounds(kind, lo, &c->start, &skip, &ignored) != 0 ||
                tst_bucket_bounds(kind, hi, &skip, &c->end, &c->end_inclusive) != 0))
        c->empty = true;
}

static int check_table(report *r, tst_table *t, const tst_read_ask *asks, size_t ask_count,
                       bool outer_bound, tst_coverage_checked *checked)
{
    const tst_index_spec *spec = tst_table_index(t);
    const tst_table_cov *tc = NULL;
    bool found = false;
    uint64_t ext_first = 0, ext_last = 0;
    int rc = tst_table_load_coverage(t, &tc);
    if (rc == 0)
        rc = extent_of(t, &found, &ext_first, &ext_last);
    if (rc != 0)
        return tst_fail_context(rc, "coverage check of table '%s'", checked->table);
    bucket_ask *b = calloc(ask_count ? ask_count : 1, sizeof *b);
    entity_set es = {NULL, 0, 0};
    size_t n = 0;
    if (!b)
        return tst_fail(TST_ENOMEM, "out of memory checking coverage");
    bool unread = false;
    for (size_t i = 0; i < ask_count; i++) {
        checked->widened |= asks[i].lo_widened | asks[i].hi_widened | asks[i].widened;
        n += to_buckets(&spec->kind, &asks[i], outer_bound, found, ext_first, ext_last, &b[n],
                        &unread);
    }
    if (unread) {
        checked->readable = false, checked->bound_unread = true;
        free(b);
        return 0;
    }
    rc = gather(tc, spec->entity_count, b, n, &es);
    /* one expected set for the table, over the hull of what is asked */
    tst_coverage *expected = NULL;
    uint64_t lo = 0, hi = 0;
    if (rc == 0 && r->cal && hull_buckets(&es, &lo, &hi) &&
        (rc = tst_calendar_expected(&expected, r->cal, &spec->kind, lo, hi)) != 0)
        tst_fail_context(rc, "coverage check of table '%s' under a calendar", checked->table);
    if (rc == 0)
        rc = missing_slots(r, checked->table, spec, es.items, es.count, expected, checked);
    if (rc == 0)
        hull_of(&spec->kind, &es, checked);
    tst_coverage_free(expected);
    entity_set_free(&es);
    free(b);
    return rc;
}

static tst_coverage_checked *add_checked(report *r, const char *name)
{
    if (!grow((void **)&r->tables, &r->table_cap, r->table_count, sizeof *r->tables))
        return NULL;
    tst_coverage_checked *c = &r->tables[r->table_count];
    memset(c, 0, sizeof *c);
    c->table = own_copy(r, name, strlen(name));
    c->readable = true;
    c->calendar = r->cal != NULL;
    if (!c->table)
        return NULL;
    r->table_count++;
    return c;
}

/* ---- step 4: the message ---------------------------------------------------------- */

typedef struct text {
    char *s;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) TST_PRINTF(2, 3);
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->failed)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s, t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void put_range(text *t, const tst_index_value *start, const tst_index_value *end,
                      bool inclusive)
{
    char a[TST_BUCKET_TEXT_MAX], b[TST_BUCKET_TEXT_MAX];
    tst_index_value_format(start, a, sizeof a);
    tst_index_value_format(end, b, sizeof b);
    put(t, "[%s, %s%c", a, b, inclusive ? ']' : ')');
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* The missing ranges of one table, up to MAX_SHOWN per entity. */
static void put_missing(text *t, const report *r, const char *table)
{
    size_t entities = 0;
    for (size_t i = 0; i < r->missing_count;) {
        const tst_coverage_missing *m = &r->missing[i];
        size_t j = i;
        uint64_t buckets = 0;
        while (j < r->missing_count && r->missing[j].table == m->table &&
               r->missing[j].entity == m->entity)
            buckets = add_sat(buckets, r->missing[j++].buckets);
        if (strcmp(m->table, table) == 0 && entities++ < MAX_ENTITIES_SHOWN) {
            put(t, "\n  %s%s%s%s: ", m->table, *m->entity ? " " : "", m->entity,
                m->known ? "" : " (no data for this entity in the table)");
            for (size_t k = i; k < j && k < i + MAX_SHOWN; k++) {
                put(t, "%s", k > i ? ", " : "");
                put_range(t, &r->missing[k].start, &r->missing[k].end,
                          r->missing[k].end_inclusive);
            }
            if (j - i > MAX_SHOWN)
                put(t, " and %zu more", j - i - MAX_SHOWN);
            put(t, " (%" PRIu64 " bucket%s)", buckets, plural(buckets));
        }
        i = j;
    }
    if (entities > MAX_ENTITIES_SHOWN)
        put(t, "\n  %s: and %zu more entities", table, entities - MAX_ENTITIES_SHOWN);
}

static void put_widened(text *t, unsigned w)
{
    if (w & TST_COVERAGE_WIDENED_ZONE)
        put(t, "\n  note: a bound depends on a zone offset the planner does not compute (a "
               "zone-less index compared with an instant, or the date of a zoned index outside "
               "UTC), so it was widened by up to 17 hours; compare the index with a value of its "
               "own type, e.g. a TIMESTAMPTZ literal with an offset '2024-01-06 00:00:00+00', "
               "to make it exact");
    if (w & TST_COVERAGE_WIDENED_NOW)
        put(t, "\n  note: now() is read just before the statement runs, so its bound was "
               "widened by 1 hour; write the instant as a literal to make it exact");
    if (w & TST_COVERAGE_WIDENED_HULL)
        put(t, "\n  note: an OR or IN of separate ranges was checked as the one range spanning "
               "them; check each range in a statement of its own to make it exact");
    if (w & TST_COVERAGE_WIDENED_WHOLE)
        put(t, "\n  note: a reference the planner does not narrow (an ASOF, POSITIONAL or "
               "NATURAL join, SAMPLE, column aliases) was checked over the whole table; put its "
               "range in a plain WHERE on the table to narrow it");
    if (w & TST_COVERAGE_WIDENED_VIEW)
        put(t, "\n  note: a view or macro reaches the table, so the whole table was checked; "
               "query the table directly with its range in the WHERE to narrow it");
}

static void put_checked(text *t, const tst_coverage_checked *c)
{
    if (c->bound_unread) {
        put(t, "\nnot checked: %s (a condition on its index the planner cannot read, or one "
               "outside the WHERE that reads the table (over a CTE or a subquery), leaves a side "
               "of the range open, so where the statement starts or stops reading is not known; "
               "bound the index with constants in the WHERE that reads the table, e.g. ts >= "
               "'2024-01-01' AND ts < '2024-02-01': literals, parameters or now() +/- an "
               "interval)",
            c->table);
        return;
    }
    if (!c->readable) {
        put(t, "\nnot checked: %s (the planner cannot tell which rows the statement reads of "
               "it: COPY, several statements, DDL, or the name inside a string or "
               "query('...'); write it as one SELECT ... FROM %s WHERE ...)",
            c->table, c->table);
        return;
    }
    if (c->empty) {
        put(t, "\nchecked: %s, nothing (the statement reads no covered range of it)", c->table);
        return;
    }
    put(t, "\nchecked: %s ", c->table);
    put_range(t, &c->start, &c->end, c->end_inclusive);
    put(t, " for %zu entit%s, %" PRIu64 " %s(entity, bucket) slot%s, %" PRIu64 " missing",
        c->entities, c->entities == 1 ? "y" : "ies", c->asked_buckets,
        c->calendar ? "expected " : "", plural(c->asked_buckets), c->missing_buckets);
    put_widened(t, c->widened);
}

static int compose(report *r)
{
    text t = {NULL, 0, 0, false};
    size_t unreadable = 0, tables_missing = 0;
    for (size_t i = 0; i < r->table_count; i++) {
        unreadable += !r->tables[i].readable;
        tables_missing += r->tables[i].missing_buckets > 0;
    }
    bool require = r->pub.mode == TST_COVERAGE_REQUIRE;
    const char *head = require ? "coverage check failed" : "coverage check";
    if (r->missing_count > 0)
        put(&t, "%s: the statement reads %" PRIu64 " (entity, bucket) slot%s "
                "in %zu range%s that %s not cover%s",
            head, r->pub.missing_buckets, plural(r->pub.missing_buckets), r->missing_count,
            plural(r->missing_count),
            tables_missing == 1 ? "its table does" : "its tables do", unreadable
                                                                    ? ", and some it reads "
                                                                      "could not be checked"
                                                                    : "");
    else
        put(&t, "%s: what the statement reads of %zu table%s could not be checked", head,
            unreadable, plural(unreadable));
    put(&t, "%s", require ? "; nothing was run" : "; the statement runs anyway");
    for (size_t i = 0; i < r->table_count; i++)
        put_missing(&t, r, r->tables[i].table);
    for (size_t i = 0; i < r->table_count; i++)
        put_checked(&t, &r->tables[i]);
    if (r->missing_count > 0)
        put(&t, "\nto go on: load the missing ranges, narrow the statement to what is covered, "
                "or %s",
            require ? "turn the check off (or to a warning) for this statement"
                    : "turn the warning off");
    if (t.failed) {
        free(t.s);
        return tst_fail(TST_ENOMEM, "out of memory describing a coverage check");
    }
    r->message = t.s;
    return 0;
}

/* Publishes the arrays (missing ranges by table, entity, start) and the verdict. */
static int finish(report *r)
{
    r->pub.tables = r->tables, r->pub.table_count = r->table_count;
    r->pub.missing = r->missing, r->pub.missing_count = r->missing_count;
    bool readable = true;
    for (size_t i = 0; i < r->table_count; i++)
        readable = readable && r->tables[i].readable;
    r->pub.complete = readable && r->missing_count == 0;
    r->pub.message = "";
    if (r->pub.complete)
        return 0;
    int rc = compose(r);
    if (rc == 0)
        r->pub.message = r->message;
    return rc;
}

static report *report_new(tst_coverage_mode mode, const tst_calendar *cal)
{
    report *r = calloc(1, sizeof *r);
    if (r)
        r->pub.mode = mode, r->pub.message = "", r->cal = cal;
    return r;
}

/* ---- entry points ------------------------------------------------------------------ */

void tst_coverage_report_drop(tst_session *s)
{
    tst_coverage_report_free(s->coverage);
    s->coverage = NULL;
}

int tst_session_set_coverage_mode(tst_session *s, tst_coverage_mode mode)
{
    if (!s)
        return tst_fail(TST_EINVAL, "tst_session_set_coverage_mode needs a session");
    if (mode != TST_COVERAGE_OFF && mode != TST_COVERAGE_REQUIRE && mode != TST_COVERAGE_WARN)
        return tst_fail(TST_EINVAL, "unknown coverage mode %d (expected TST_COVERAGE_OFF, "
                        "TST_COVERAGE_REQUIRE or TST_COVERAGE_WARN)", (int)mode);
    s->coverage_mode = mode;
    return 0;
}

void tst_session_set_coverage_calendar(tst_session *s, tst_calendar *cal)
{
    if (!s) {
        tst_calendar_free(cal);
        return;
    }
    tst_calendar_free(s->coverage_calendar);
    s->coverage_calendar = cal;
}

tst_coverage_mode tst_session_coverage_mode(const tst_session *s)
{
    return s ? s->coverage_mode : TST_COVERAGE_OFF;
}

const tst_coverage_report *tst_session_last_coverage(const tst_session *s)
{
    return s ? s->coverage : NULL;
}

static int verdict(report *r)
{
    int rc = finish(r);
    if (rc == 0 && !r->pub.complete && r->pub.mode == TST_COVERAGE_REQUIRE)
        rc = tst_fail(TST_EINCOMPLETE, "%s", r->message);
    return rc;
}

/* A view or macro reaching the table may bound its index where the planner
 * does not look: whether the statement or any definition names the column. */
static bool view_may_bound(const tst_session *s, const char *sql, const tst_table *t)
{
    const char *col = tst_table_index(t)->column;
    bool named = tst_prune_mentions(sql, col);
    for (size_t i = 0; !named && i < s->def_count; i++)
        named = tst_prune_mentions(s->defs[i].sql, col);
    return named;
}

int tst_coverage_check_statement(tst_session *s, const char *sql,
                                 const tst_prune_target *targets, const bool *indirect,
                                 size_t count)
{
    tst_coverage_report_drop(s);
    if (s->coverage_mode == TST_COVERAGE_OFF)
        return 0;
    report *r = report_new(s->coverage_mode, s->coverage_calendar);
    if (!r)
        return tst_fail(TST_ENOMEM, "out of memory checking coverage");
    static const tst_read_ask whole = {.widened = TST_COVERAGE_WIDENED_VIEW};
    static const tst_read_ask whole_unread = {.widened = TST_COVERAGE_WIDENED_VIEW,
                                              .unread = true};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const tst_prune_target *t = &targets[i];
        tst_coverage_checked *c = add_checked(r, t->name);
        if (!c)
            rc = tst_fail(TST_ENOMEM, "out of memory checking coverage");
        else if (indirect[i])
            rc = check_table(r, t->table, view_may_bound(s, sql, t->table) ? &whole_unread : &whole,
                             1, false, c);
        else if (!t->referenced)
            c->readable = false;
        else
            rc = check_table(r, t->table, t->asks, t->ask_count, t->outer_bound, c);
    }
    if (rc == 0 || rc == TST_EINCOMPLETE) {
        s->coverage = &r->pub; /* kept for the caller even when it fails the statement */
        return verdict(r);
    }
    tst_coverage_report_free(&r->pub);
    return rc;
}

/* ---- a direct read ------------------------------------------------------------------ */

static int place_binding(const tst_index_spec *spec, const tst_entity_binding *b, tst_read_ask *a)
{
    for (size_t k = 0; b->column && k < spec->entity_count && k < TST_PRUNE_MAX_ENTITY; k++)
        if (strcmp(spec->entity_columns[k], b->column) == 0) {
            if (a->eq_set[k])
                return tst_fail(TST_EINVAL, "entity column \"%s\" is given more than once",
                                b->column);
            a->eq_set[k] = true, a->eq[k] = b->value;
            return 0;
        }
    return tst_fail(TST_EINVAL, "\"%s\" is not an entity column of the table (coverage check)",
                    b->column ? b->column : "(null)");
}

static int check_value_types(tst_table *t, const tst_read_ask *a)
{
    const tst_index_spec *spec = tst_table_index(t);
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    for (size_t k = 0; k < spec->entity_count && k < TST_PRUNE_MAX_ENTITY; k++) {
        const tst_field *f = schema ? tst_schema_find(schema, spec->entity_columns[k]) : NULL;
        if (a->eq_set[k] && (!f || tst_entity_type_of(&f->type) != a->eq[k].type))
            return tst_fail(TST_EINVAL, "entity column \"%s\" is %s, but the value given is %s",
                            spec->entity_columns[k],
                            f ? tst_entity_type_name(tst_entity_type_of(&f->type)) : "unknown",
                            tst_entity_type_name(a->eq[k].type));
    }
    return 0;
}

/* [start, end) as an inclusive ask: its buckets are those of start and of
 * the last value before end. */
static int range_ask(tst_table *t, const tst_index_value *start, const tst_index_value *end,
                     tst_read_ask *a)
{
    const tst_index_kind *kind = &tst_table_index(t)->kind;
    uint64_t first = 0, last = 0;
    int rc = tst_bucket_range(kind, start, end, &first, &last);
    if (rc != 0)
        return tst_fail_context(rc, "coverage check of [start, end)");
    bool ignored = false;
    tst_index_value skip;
    a->has_lo = a->has_hi = true;
    a->lo = *start;
    return tst_bucket_bounds(kind, last, &a->hi, &skip, &ignored); /* a value in the last */
}

int tst_table_check_coverage(tst_table *t, const char *name, const tst_entity_binding *entity,
                             size_t entity_count, const tst_index_value *start,
                             const tst_index_value *end, const tst_calendar *cal,
                             tst_coverage_mode mode, tst_coverage_report **out)
{
    if (out)
        *out = NULL;
    if (!t || !start || !end || !out || (entity_count && !entity))
        return tst_fail(TST_EINVAL, "tst_table_check_coverage needs a table, a range and an "
                        "output pointer");
    tst_read_ask a;
    memset(&a, 0, sizeof a);
    int rc = range_ask(t, start, end, &a);
    for (size_t i = 0; rc == 0 && i < entity_count; i++)
        rc = place_binding(tst_table_index(t), &entity[i], &a);
    if (rc == 0)
        rc = check_value_types(t, &a);
    if (rc != 0)
        return rc;
    report *r = report_new(mode == TST_COVERAGE_OFF ? TST_COVERAGE_WARN : mode, cal);
    tst_coverage_checked *c = r ? add_checked(r, name ? name : tst_table_root(t)) : NULL;
    rc = c ? check_table(r, t, &a, 1, false, c) : tst_fail(TST_ENOMEM, "out of memory checking coverage");
    if (rc == 0)
        rc = verdict(r);
    if (rc == 0 || rc == TST_EINCOMPLETE)
        *out = &r->pub;
    else
        tst_coverage_report_free(r ? &r->pub : NULL);
    return rc;
}
