/*
 * entity_list.c — every entity of a table, filtered by --entity, and the
 * warning for an entity the table has never seen.
 *
 * `entities`, `coverage --each-entity` and `gaps --each-entity` answer once
 * per entity. They share this list: the table's coverage summary (canonical
 * identity order, one row without entity columns), narrowed by --entity
 * COL=VALUE filters, where an entity passes when, for every column named,
 * its value is one of the values given for that column (repeat --entity to
 * keep several).
 *
 * A misspelt entity (--entity NVDAA) is not an error: the table covers
 * nothing for it, and a script asking about a symbol that will appear
 * tomorrow must not fail today. But a person who typed it wants to know,
 * so every command that takes --entity prints to stderr
 *   warning: symbol=NVDAA never occurs in the table; nearest: NVDA, NVDS
 * naming up to three known values by edit distance (case-insensitive) and
 * still answers. The cheap check comes first (tst_table_entity_known); the
 * summary is only read when a name is unknown.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define NEAREST_MAX 3

/* ---- identities and bindings ---------------------------------------------- */

void cli_identity_bindings(const tst_index_spec *spec, const tst_entity_identity *id,
                           tst_entity_binding *out)
{
    for (size_t k = 0; k < id->count && k < spec->entity_count; k++)
        out[k] = (tst_entity_binding){spec->entity_columns[k], id->values[k]};
}

static bool value_equal(const tst_entity_value *a, const tst_entity_value *b)
{
    tst_entity_identity x = {1, a}, y = {1, b};
    return tst_entity_identity_compare(&x, &y) == 0;
}

static size_t column_index(const tst_index_spec *spec, const char *column)
{
    for (size_t k = 0; k < spec->entity_count; k++)
        if (strcmp(spec->entity_columns[k], column) == 0)
            return k;
    return spec->entity_count;
}

/* Every filtered column has one of its given values. */
static bool passes(const tst_index_spec *spec, const tst_entity_identity *id,
                   const tst_entity_binding *f, size_t n)
{
    for (size_t k = 0; k < spec->entity_count && k < id->count; k++) {
        bool named = false, hit = false;
        for (size_t i = 0; i < n; i++) {
            if (column_index(spec, f[i].column) != k)
                continue;
            named = true;
            hit = hit || value_equal(&id->values[k], &f[i].value);
        }
        if (named && !hit)
            return false;
    }
    return true;
}

/* ---- nearest names ------------------------------------------------------- */

size_t cli_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 256 || lb > 256)
        return la > lb ? la : lb;
    size_t *row = cli_xmalloc((lb + 1) * sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            bool same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + !same;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

typedef struct nearest {
    char *names[NEAREST_MAX];
    size_t dist[NEAREST_MAX];
    size_t count;
    const char *query;
    size_t limit; /* farther than this is no suggestion */
} nearest;

/* Keeps the closest names, ties in the order offered (canonical order). */
static void nearest_offer(nearest *n, const char *name)
{
    size_t d = cli_edit_distance(n->query, name);
    if (d > n->limit)
        return;
    for (size_t i = 0; i < n->count; i++)
        if (strcmp(n->names[i], name) == 0)
            return;
    size_t at = n->count;
    while (at > 0 && n->dist[at - 1] > d)
        at--;
    if (at >= NEAREST_MAX)
        return;
    if (n->count == NEAREST_MAX)
        free(n->names[--n->count]);
    memmove(&n->names[at + 1], &n->names[at], (n->count - at) * sizeof n->names[0]);
    memmove(&n->dist[at + 1], &n->dist[at], (n->count - at) * sizeof n->dist[0]);
    n->names[at] = cli_xstrdup(name);
    n->dist[at] = d;
    n->count++;
}

static void warn(const char *what, nearest *n)
{
    fprintf(stderr, "warning: %s never occurs in the table", what);
    for (size_t i = 0; i < n->count; i++) {
        fprintf(stderr, "%s%s", i ? ", " : "; nearest: ", n->names[i]);
        free(n->names[i]);
    }
    fputc('\n', stderr);
}

static size_t limit_for(const char *query)
{
    size_t third = strlen(query) / 3;
    return third > 2 ? third : 2;
}

/* ---- the checks ---------------------------------------------------------- */

static void value_text(const tst_entity_value *v, char *buf, size_t cap)
{
    tst_entity_identity one = {1, v};
    tst_entity_identity_format(&one, buf, cap);
}

/* One --entity COL=VALUE that no entity has in that column. */
static bool check_value(const tst_index_spec *spec, const tst_coverage_summary *sum,
                        const tst_entity_binding *b)
{
    size_t k = column_index(spec, b->column);
    for (size_t i = 0; i < tst_coverage_summary_count(sum); i++)
        if (value_equal(&tst_coverage_summary_at(sum, i)->identity.values[k], &b->value))
            return true;
    char query[512], what[600], name[512];
    value_text(&b->value, query, sizeof query);
    nearest n = {.query = query, .limit = limit_for(query)};
    for (size_t i = 0; i < tst_coverage_summary_count(sum); i++) {
        value_text(&tst_coverage_summary_at(sum, i)->identity.values[k], name, sizeof name);
        nearest_offer(&n, name);
    }
    snprintf(what, sizeof what, "%s=%s", b->column, query);
    warn(what, &n);
    return false;
}

/* A whole identity whose values each occur, but never together. */
static void check_identity(const tst_index_spec *spec, const tst_coverage_summary *sum,
                           const tst_entity_binding *b, size_t count)
{
    char query[1024], name[1024];
    cli_format_bindings(b, count, query, sizeof query);
    nearest n = {.query = query, .limit = limit_for(query)};
    for (size_t i = 0; i < tst_coverage_summary_count(sum); i++) {
        tst_entity_identity_format_named(spec, &tst_coverage_summary_at(sum, i)->identity, name,
                                         sizeof name);
        nearest_offer(&n, name);
    }
    warn(query, &n);
}

/* Each entity column named exactly once: the bindings are one identity. */
static bool is_identity(const tst_index_spec *spec, const tst_entity_binding *b, size_t n)
{
    if (n != spec->entity_count)
        return false;
    for (size_t k = 0; k < spec->entity_count; k++) {
        size_t named = 0;
        for (size_t i = 0; i < n; i++)
            named += column_index(spec, b[i].column) == k;
        if (named != 1)
            return false;
    }
    return true;
}

static bool known_anywhere(tst_table *const *tables, size_t count, const tst_entity_binding *b,
                           size_t n)
{
    for (size_t i = 0; i < count; i++) {
        bool known = false;
        if (tst_table_segment_count(tables[i]) == 0)
            continue; /* nothing appended yet: it knows no entity */
        if (tst_table_entity_known(tables[i], b, n, &known) != 0 || known)
            return true; /* an error here is reported by the answer itself */
    }
    return false;
}

void cli_warn_unknown_entity(tst_table *const *tables, size_t table_count,
                             const tst_entity_binding *b, size_t n)
{
    const tst_index_spec *spec = tst_table_index(tables[0]);
    if (n == 0 || spec->entity_count == 0)
        return;
    bool identity = is_identity(spec, b, n);
    if (identity && known_anywhere(tables, table_count, b, n))
        return;
    /* Names come from the first table with data (an old version may have none). */
    tst_coverage_summary *sum = NULL;
    for (size_t i = 0; i < table_count && !sum; i++)
        if (tst_table_segment_count(tables[i]) > 0 &&
            tst_table_coverage_summary(tables[i], &sum) != 0)
            return;
    bool each_known = true;
    for (size_t i = 0; i < n; i++)
        if (column_index(spec, b[i].column) < spec->entity_count)
            each_known = check_value(spec, sum, &b[i]) && each_known;
    if (identity && each_known)
        check_identity(spec, sum, b, n);
    tst_coverage_summary_free(sum);
}

/* ---- the filtered list --------------------------------------------------- */

int cli_entity_list_open(cli_entity_list *l, tst_table *table, const cli_args *args)
{
    memset(l, 0, sizeof *l);
    size_t n = 0;
    const char *const *specs = cli_list(args, "entity", &n);
    tst_entity_binding *filter = NULL;
    if (n && cli_parse_entity(table, specs, n, &filter) != 0)
        return CLI_EXIT_FAIL;
    if (n)
        cli_warn_unknown_entity(&table, 1, filter, n);
    /* A table with nothing appended has no coverage to read: no entities. */
    if (tst_table_segment_count(table) > 0 && tst_table_coverage_summary(table, &l->summary) != 0) {
        cli_free_entity(filter, n);
        return cli_fail_lib("Failed to read the table's entities");
    }
    size_t total = tst_coverage_summary_count(l->summary);
    l->keep = cli_xmalloc((total ? total : 1) * sizeof *l->keep);
    const tst_index_spec *spec = tst_table_index(table);
    for (size_t i = 0; i < total; i++)
        if (passes(spec, &tst_coverage_summary_at(l->summary, i)->identity, filter, n))
            l->keep[l->count++] = i;
    cli_free_entity(filter, n);
    return 0;
}

const tst_entity_summary *cli_entity_list_at(const cli_entity_list *l, size_t i)
{
    return tst_coverage_summary_at(l->summary, l->keep[i]);
}

void cli_entity_list_close(cli_entity_list *l)
{
    tst_coverage_summary_free(l->summary);
    free(l->keep);
    memset(l, 0, sizeof *l);
}
