/*
 * session.c — SQL sessions (see tstable/session.h): a registry of names,
 * and the path every statement takes before DuckDB runs it.
 *
 * A session is one DuckDB connection on the process's database, opened in
 * UTC (a statement may SET TimeZone; pruning reads the current setting). A
 * registered Parquet path is a TEMP VIEW over read_parquet(path). A
 * registered tstable is a tst_table handle whose name is, at registration,
 * a view with the table's columns and no rows (no data file is opened or
 * checked, so a table with thousands of segments, or a lost one, registers
 * at once), and is redefined for each statement that reaches it:
 *
 *   1. find the tables the statement reaches: named in its text, or named by
 *      a view or macro the session defined that the statement names;
 *   2. refresh their handles (reads only new commits), so rows another
 *      process appended are seen without registering again;
 *   3. prune (prune.c): which segments the statement can need — every
 *      segment for a table reached through a definition or named only as
 *      text (a string, a column name, query('...'));
 *   3b. check coverage (coverage_check.c) when the session asks for it: a
 *      failed check under TST_COVERAGE_REQUIRE stops here, before any view;
 *   4. CREATE OR REPLACE TEMP VIEW name AS SELECT CAST(c AS T) AS c, ...
 *      FROM read_parquet([kept files], union_by_name = false) — or, when
 *      nothing is kept, the same columns over no rows — skipped when the
 *      definition is the one already in place. Kept files the statement
 *      reads directly are checked to exist first, so a missing one is an
 *      error naming the table, the segment and the file;
 *   5. prepare the statement and bind its parameters.
 *
 * Every segment file shares the table's column order (an append that does
 * not match it exactly is re-encoded), so columns are matched by position;
 * the CASTs give every file the table's logical types. A protocol-7 table
 * that declares `schema_add_columns` is the exception: files written before
 * a column was added lack it, so they are matched by name
 * (union_by_name = true), which reads the missing columns as nulls.
 */
#include "session_internal.h"

#include "coverage_check.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"
#include "prune.h"
#include "segment_select.h"
#include "table_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- the registry --------------------------------------------------------- */

static bool valid_name(const char *name)
{
    if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

tst_registration *tst_session_find(const tst_session *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->count; i++)
        if (strcasecmp(s->regs[i].name, name) == 0)
            return &s->regs[i];
    return NULL;
}

void tst_registration_clear(tst_registration *r)
{
    free(r->name);
    free(r->root);
    free(r->parquet);
    free(r->view_sql);
    tst_table_free(r->table);
    tst_segment_covs_free(r->covs);
    tst_segment_order_free(r->order);
    memset(r, 0, sizeof *r);
}

static int compare_regs(const void *a, const void *b)
{
    return strcmp(((const tst_registration *)a)->name, ((const tst_registration *)b)->name);
}

/* Takes r's contents: replaces the registration of that name, or adds one. */
static int registry_put(tst_session *s, tst_registration *r)
{
    tst_registration *old = tst_session_find(s, r->name);
    if (old) {
        tst_registration_clear(old);
        *old = *r;
    } else {
        if (s->count == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            tst_registration *regs = realloc(s->regs, cap * sizeof *regs);
            if (!regs)
                return tst_fail(TST_ENOMEM, "out of memory registering '%s'", r->name);
            s->regs = regs, s->cap = cap;
        }
        s->regs[s->count++] = *r;
    }
    memset(r, 0, sizeof *r);
    qsort(s->regs, s->count, sizeof *s->regs, compare_regs);
    return 0;
}

static int run(tst_session *s, const tst_sql *sql, const char *what)
{
    return tst_duck_query(s->con, sql->s, NULL, what);
}

int tst_session_open(tst_session **out)
{
    if (!out)
        return tst_fail(TST_EINVAL, "tst_session_open needs an output pointer");
    *out = NULL;
    tst_session *s = calloc(1, sizeof *s);
    if (!s)
        return tst_fail(TST_ENOMEM, "out of memory opening a SQL session");
    int rc = tst_duck_connect(&s->con);
    if (rc == 0)
        rc = tst_duck_query(s->con, "SET SESSION TimeZone = 'UTC'", NULL,
                            "opening a SQL session: pinning the time zone");
    if (rc == 0) {
        duckdb_client_context ctx = NULL;
        duckdb_connection_get_client_context(s->con, &ctx);
        s->connection_id = duckdb_client_context_get_connection_id(ctx);
        duckdb_destroy_client_context(&ctx);
        rc = tst_session_register_functions(s);
    }
    if (rc != 0) {
        tst_session_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void free_definitions(tst_session *s)
{
    for (size_t i = 0; i < s->def_count; i++)
        free(s->defs[i].name), free(s->defs[i].sql);
    free(s->defs);
}

void tst_session_free(tst_session *s)
{
    if (!s)
        return;
    tst_session_unregister_functions(s);
    for (size_t i = 0; i < s->count; i++)
        tst_registration_clear(&s->regs[i]);
    free(s->regs);
    for (size_t i = 0; i < s->travel_count; i++)
        tst_registration_clear(&s->travel[i]);
    free(s->travel);
    free_definitions(s);
    tst_coverage_report_drop(s);
    tst_calendar_free(s->coverage_calendar);
    if (s->con)
        tst_duck_disconnect(&s->con);
    free(s);
}

static int check_name(const tst_session *s, const char *name, const char *what)
{
    if (!s || !name || !what)
        return tst_fail(TST_EINVAL, "registering needs a session, a name and a location");
    if (!valid_name(name))
        return tst_fail(TST_EINVAL, "'%s' is not a valid name: use a SQL identifier "
                        "([A-Za-z_][A-Za-z0-9_]*)", name);
    return 0;
}

/* ---- views ---------------------------------------------------------------- */

/* SELECT over the kept segments' files (or no rows), as scan.c reads them. */
static int table_select(tst_sql *t, tst_table *table, char *const *files, size_t n)
{
    const tst_schema *schema = tst_table_get_meta(table)->schema;
    /* Protocol 7 after add_columns: older files lack the added columns, so
     * match by name, which reads a missing column as nulls. */
    bool added_columns = tst_meta_requires_feature(tst_table_get_meta(table),
                                                   "schema_add_columns");
    /* A column none of these files has reads as nulls (segment_select.h). */
    tst_select_names present = {0};
    int rc = added_columns && n ? tst_select_file_columns(files, n, &present) : 0;
    if (rc == 0)
        rc = SQL_F(t, "SELECT ");
    for (size_t i = 0; rc == 0 && i < schema->column_count; i++) {
        const tst_field *f = &schema->columns[i];
        bool absent = added_columns && n && !tst_select_names_has(&present, f->name);
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = tst_select_column(t, f, n == 0 || absent);
    }
    tst_select_names_clear(&present);
    if (rc == 0)
        rc = n ? tst_select_from(t, files, n, added_columns) : SQL_F(t, " WHERE false");
    return rc;
}

static void free_files(char **files, size_t n)
{
    for (size_t i = 0; files && i < n; i++)
        free(files[i]);
    free(files);
}

/* The absolute path of a segment's data file, checked to exist: a missing
 * one is an error naming the table, the segment and the file. */
static int check_segment_file(const tst_registration *r, const tst_segment *seg, char **out)
{
    char *abs = tst_io_join(r->root, seg->path);
    if (!abs)
        return tst_fail(TST_ENOMEM, "out of memory listing the segments of '%s'", r->name);
    struct stat st;
    if (stat(abs, &st) == 0) {
        *out = abs;
        return 0;
    }
    int err = errno, code = err == ENOENT || err == ENOTDIR ? TST_ENOTFOUND : TST_EIO;
    char *root = realpath(r->root, NULL); /* the message names the file absolutely */
    char *named = root ? tst_io_join(root, seg->path) : NULL;
    tst_fail(code, "table '%s' (%s): the statement needs segment %s, whose data file %s cannot "
             "be read: %s; restore the file, or narrow the statement's time range or entities "
             "so that it does not need this segment", r->name, r->root, seg->path,
             named ? named : abs, strerror(err));
    tst_fail_set_path(named ? named : abs);
    free(named), free(root), free(abs);
    return tst_table_note_lost_file(r->table, code);
}

/* The absolute paths of the kept segments (keep NULL: all of them). With
 * `check`, each is checked to exist, so a missing one is an error naming the
 * file and the table rather than DuckDB's; the registration and a table
 * reached only indirectly skip that (no per-file system call). */
static int kept_files(tst_registration *r, const bool *keep, bool check, char ***out,
                      size_t *out_n)
{
    size_t total = tst_table_segment_count(r->table), n = 0;
    char **files = calloc(total ? total : 1, sizeof *files);
    if (!files)
        return tst_fail(TST_ENOMEM, "out of memory listing the segments of '%s'", r->name);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < total; i++) {
        if (keep && !keep[i])
            continue;
        const tst_segment *seg = tst_table_segment_at(r->table, i);
        if (check) {
            rc = check_segment_file(r, seg, &files[n]);
        } else if ((files[n] = tst_io_join(r->root, seg->path)) == NULL) {
            rc = tst_fail(TST_ENOMEM, "out of memory listing the segments of '%s'", r->name);
        }
        n += rc == 0;
    }
    if (rc != 0) {
        free_files(files, n);
        return rc;
    }
    *out = files, *out_n = n;
    return 0;
}

/* Which files a table's view reads for one statement. */
typedef enum view_files {
    VIEW_NONE,      /* no rows: the name and columns only (registration) */
    VIEW_ALL,       /* every segment, unchecked (reached indirectly) */
    VIEW_KEPT       /* the kept segments, checked to exist */
} view_files;

/* When a view over every file failed: the first missing file, named with the
 * table (TST_ENOTFOUND), or `rc` with DuckDB's message when none is. */
static int name_missing_file(tst_registration *r, int rc)
{
    char **files = NULL;
    size_t n = 0;
    int missing = kept_files(r, NULL, true, &files, &n);
    if (missing == 0)
        free_files(files, n);
    return missing != 0 ? missing : rc;
}

/* (Re)defines the table's view over the chosen files, unless it already is. */
static int define_table_view(tst_session *s, tst_registration *r, view_files which,
                             const bool *keep, uint64_t *kept)
{
    char **files = NULL;
    size_t n = 0;
    tst_sql t = {0};
    int rc = which == VIEW_NONE ? 0 : kept_files(r, which == VIEW_ALL ? NULL : keep,
                                                 which == VIEW_KEPT, &files, &n);
    if (rc != 0)
        return rc;
    *kept = n;
    rc = SQL_F(&t, "CREATE OR REPLACE TEMP VIEW ");
    if (rc == 0)
        rc = SQL_IDENT(&t, r->name);
    if (rc == 0)
        rc = SQL_F(&t, " AS ");
    if (rc == 0)
        rc = table_select(&t, r->table, files, n);
    free_files(files, n);
    if (rc == 0 && r->view_sql && strcmp(r->view_sql, t.s) == 0) {
        free(t.s);
        return 0;
    }
    if (rc == 0)
        rc = run(s, &t, "defining a registered table's view");
    if (rc != 0 && which == VIEW_ALL) /* DuckDB's message names no table: find the file */
        rc = name_missing_file(r, rc);
    free(r->view_sql);
    r->view_sql = rc == 0 ? t.s : NULL;
    if (rc != 0)
        free(t.s);
    return rc;
}

/* ---- registration --------------------------------------------------------- */

int tst_session_open_table(const char *name, const char *root, const tst_table_pin *pin,
                           tst_table **out)
{
    int rc = pin->kind == TST_PIN_VERSION   ? tst_table_open_at(out, root, pin->version)
             : pin->kind == TST_PIN_INSTANT ? tst_table_open_as_of(out, root, pin->at)
                                            : tst_table_open(out, root);
    if (rc != 0)
        return tst_fail_context(rc, "registering '%s'", name);
    if (!tst_table_get_meta(*out)->schema) {
        tst_table_free(*out);
        *out = NULL;
        return tst_fail(TST_EEMPTY, "registering '%s': table %s has no schema yet (nothing was "
                        "appended); append data first", name, root);
    }
    return 0;
}

static int register_table(tst_session *s, const char *name, const char *root,
                          const tst_table_pin *pin)
{
    int rc = check_name(s, name, root);
    if (rc != 0)
        return rc;
    tst_registration r = {0};
    r.pin = *pin;
    rc = tst_session_open_table(name, root, pin, &r.table);
    r.name = strdup(name), r.root = strdup(root);
    if (rc == 0 && (!r.name || !r.root))
        rc = tst_fail(TST_ENOMEM, "out of memory registering '%s'", name);
    uint64_t kept = 0;
    /* The name and its columns exist from now on; which files the view reads
     * is decided per statement, so registering opens and checks no file. */
    if (rc == 0)
        rc = define_table_view(s, &r, VIEW_NONE, NULL, &kept);
    if (rc == 0)
        rc = registry_put(s, &r);
    tst_registration_clear(&r);
    return rc;
}

int tst_session_register_table(tst_session *s, const char *name, const char *root)
{
    tst_table_pin pin = {TST_PIN_LATEST, 0, {0, 0}};
    return register_table(s, name, root, &pin);
}

int tst_session_register_table_at(tst_session *s, const char *name, const char *root,
                                  uint64_t version)
{
    tst_table_pin pin = {TST_PIN_VERSION, version, {0, 0}};
    return register_table(s, name, root, &pin);
}

int tst_session_register_table_as_of(tst_session *s, const char *name, const char *root,
                                     tst_timestamp at)
{
    tst_table_pin pin = {TST_PIN_INSTANT, 0, at};
    return register_table(s, name, root, &pin);
}

/* A folder means the Parquet files in it. */
static char *parquet_pattern(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return strdup(path);
    size_t n = strlen(path);
    char *p = malloc(n + 16);
    if (p)
        snprintf(p, n + 16, "%s%s*.parquet", path, n && path[n - 1] == '/' ? "" : "/");
    return p;
}

int tst_session_register_parquet(tst_session *s, const char *name, const char *path)
{
    int rc = check_name(s, name, path);
    if (rc != 0)
        return rc;
    tst_registration r = {0};
    char *pattern = parquet_pattern(path);
    tst_sql t = {0};
    r.name = strdup(name), r.parquet = strdup(path);
    rc = r.name && r.parquet && pattern ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = SQL_F(&t, "CREATE OR REPLACE TEMP VIEW ");
    if (rc == 0)
        rc = SQL_IDENT(&t, name);
    if (rc == 0)
        rc = SQL_F(&t, " AS SELECT * FROM read_parquet(");
    if (rc == 0)
        rc = SQL_LIT(&t, pattern);
    if (rc == 0)
        rc = SQL_F(&t, ")");
    if (rc == 0 && (rc = run(s, &t, "registering Parquet")) != 0)
        tst_fail_context(rc, "registering '%s' as %s", path, name);
    if (rc == 0)
        rc = registry_put(s, &r);
    tst_registration_clear(&r);
    free(pattern);
    free(t.s);
    return rc;
}

int tst_session_deregister(tst_session *s, const char *name)
{
    tst_registration *r = tst_session_find(s, name);
    if (!r)
        return tst_fail(TST_ENOTFOUND, "no registration named '%s'", name ? name : "(null)");
    tst_sql t = {0};
    int rc = SQL_F(&t, "DROP VIEW IF EXISTS ");
    if (rc == 0)
        rc = SQL_IDENT(&t, r->name);
    if (rc == 0)
        rc = run(s, &t, "dropping a registration's view");
    free(t.s);
    if (rc != 0)
        return rc;
    tst_session_travel_forget(s, r->name);
    tst_registration_clear(r);
    size_t i = (size_t)(r - s->regs);
    memmove(&s->regs[i], &s->regs[i + 1], (s->count - i - 1) * sizeof *s->regs);
    s->count--;
    return 0;
}

size_t tst_session_name_count(const tst_session *s)
{
    return s ? s->count : 0;
}

const char *tst_session_name_at(const tst_session *s, size_t i)
{
    return s && i < s->count ? s->regs[i].name : NULL;
}

const char *tst_session_table_root(const tst_session *s, const char *name)
{
    const tst_registration *r = tst_session_find(s, name);
    return r && r->table ? r->root : NULL;
}

void tst_session_last_prune(const tst_session *s, tst_prune_stats *out)
{
    if (out)
        *out = s ? s->last : (tst_prune_stats){0, 0, 0, 0};
}

/* ---- statements ----------------------------------------------------------- */

static int refresh_table(tst_registration *r)
{
    int rc = tst_table_refresh(r->table, NULL); /* a pinned one stays where it is */
    if (rc == 0 && !tst_table_get_meta(r->table)->schema)
        rc = tst_fail(TST_EEMPTY, "table %s lost its schema", r->root);
    return rc == 0 ? 0 : tst_fail_context(rc, "refreshing registered table '%s'", r->name);
}

/* ---- what a statement reaches ---------------------------------------------- */

/* Remembers a view or macro the statement defines (replacing one of that name). */
static int record_definition(tst_session *s, const char *sql)
{
    char *name = NULL, *text = NULL;
    int rc = tst_prune_defined_name(sql, &name);
    if (rc != 0 || !name)
        return rc; /* not a definition */
    if ((text = strdup(sql)) == NULL) {
        free(name);
        return tst_fail(TST_ENOMEM, "out of memory remembering a view definition");
    }
    for (size_t i = 0; *name && i < s->def_count; i++)
        if (strcasecmp(s->defs[i].name, name) == 0) {
            free(s->defs[i].sql), free(name);
            s->defs[i].sql = text;
            return 0;
        }
    if (s->def_count == s->def_cap) {
        size_t cap = s->def_cap ? s->def_cap * 2 : 8;
        tst_definition *defs = realloc(s->defs, cap * sizeof *defs);
        if (!defs) {
            free(name), free(text);
            return tst_fail(TST_ENOMEM, "out of memory remembering a view definition");
        }
        s->defs = defs, s->def_cap = cap;
    }
    s->defs[s->def_count++] = (tst_definition){name, text};
    return 0;
}

/* Marks the definitions the statement reaches: named by it, or by a reached
 * one (views over views), and those whose name could not be read. */
static void reach_definitions(const tst_session *s, const char *sql, bool *reached)
{
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < s->def_count; i++) {
            const char *name = s->defs[i].name;
            bool named = !*name || tst_prune_mentions(sql, name);
            for (size_t j = 0; !named && j < s->def_count; j++)
                named = reached[j] && tst_prune_mentions(s->defs[j].sql, name);
            if (named && !reached[i])
                reached[i] = grew = true;
        }
    }
}

static bool reached_indirectly(const tst_session *s, const bool *reached, const char *name)
{
    for (size_t i = 0; i < s->def_count; i++)
        if (reached[i] && tst_prune_mentions(s->defs[i].sql, name))
            return true;
    return false;
}

/* The tables a statement reaches: named in it (pruned by what it says of
 * them) or through a view or macro (every segment). */
typedef struct statement_tables {
    tst_prune_target *targets;
    tst_registration **regs;
    bool *indirect;
    size_t count;
} statement_tables;

/* Whether the statement reaches registration r: named in `named` (the text
 * the name is looked for in), or through a definition (*indirect). */
static bool reaches(const tst_session *s, const bool *reached, const tst_registration *r,
                    const char *named, bool *indirect)
{
    *indirect = r->table && reached_indirectly(s, reached, r->name);
    return r->table && (*indirect || tst_prune_mentions(named, r->name));
}

static int add_table(statement_tables *out, tst_registration *r, bool indirect)
{
    int rc = r->pin.kind == TST_PIN_LATEST ? refresh_table(r) : 0;
    out->targets[out->count] = (tst_prune_target){r->name, r->table, r->root, &r->covs, false, NULL,
                                                   NULL, NULL, false, 0, 0, &r->order};
    out->indirect[out->count] = indirect;
    out->regs[out->count++] = r;
    return rc;
}

static int find_tables(tst_session *s, const char *sql, statement_tables *out)
{
    char *defined = NULL, *masked = NULL;
    int rc = tst_prune_defined_name(sql, &defined);
    bool defines = defined != NULL;
    free(defined);
    if (rc == 0) /* time-travel names exist before a definition binds to them */
        rc = tst_session_travel_ready(s, sql, &masked);
    if (rc != 0 || defines) { /* a view or macro body binds to the columns only */
        free(masked);
        return rc;
    }
    size_t cap = s->count + s->travel_count + 1;
    bool *reached = calloc(s->def_count ? s->def_count : 1, sizeof *reached);
    out->targets = calloc(cap, sizeof *out->targets);
    out->regs = calloc(cap, sizeof *out->regs);
    out->indirect = calloc(cap, sizeof *out->indirect);
    rc = reached && out->targets && out->regs && out->indirect
             ? 0
             : tst_fail(TST_ENOMEM, "out of memory planning a statement");
    if (rc == 0)
        reach_definitions(s, sql, reached);
    bool indirect = false;
    for (size_t i = 0; rc == 0 && i < s->count; i++)
        if (reaches(s, reached, &s->regs[i], masked, &indirect))
            rc = add_table(out, &s->regs[i], indirect);
    for (size_t i = 0; rc == 0 && i < s->travel_count; i++)
        if (reaches(s, reached, &s->travel[i], sql, &indirect))
            rc = add_table(out, &s->travel[i], indirect);
    free(reached);
    free(masked);
    return rc;
}

/* Splits a pruned table's skipped segments by what skipped them. */
static void count_skips(const tst_prune_target *t, tst_prune_stats *stats)
{
    size_t n = tst_table_segment_count(t->table);
    for (size_t i = 0; t->keep && t->in_range && i < n; i++) {
        stats->range_skipped_segments += !t->in_range[i];
        stats->bitmap_skipped_segments += t->in_range[i] && !t->keep[i];
    }
}

/* Prunes and (re)defines the views of the tables the statement reaches. A
 * table it names only as text (a string, a column, inside query('...')) or
 * reaches through a definition reads every segment, unchecked. */
static int ready_tables(tst_session *s, const char *sql, const tst_param *params, size_t n)
{
    statement_tables st = {NULL, NULL, NULL, 0};
    tst_coverage_report_drop(s);
    int rc = find_tables(s, sql, &st);
    if (rc == 0)
        rc = tst_prune_statement(s->con, sql, params, n, st.targets, st.count);
    if (rc == 0) /* before any view is defined: a failed check runs nothing */
        rc = tst_coverage_check_statement(s, sql, st.targets, st.indirect, st.count);
    tst_prune_stats stats = {0, 0, 0, 0};
    for (size_t i = 0; rc == 0 && i < st.count; i++) {
        uint64_t kept = 0;
        bool all = st.indirect[i] || !st.targets[i].referenced;
        rc = define_table_view(s, st.regs[i], all ? VIEW_ALL : VIEW_KEPT, st.targets[i].keep,
                               &kept);
        stats.candidate_segments += tst_table_segment_count(st.regs[i]->table);
        stats.kept_segments += kept;
        if (!all)
            count_skips(&st.targets[i], &stats);
    }
    if (rc == 0)
        s->last = stats;
    if (st.targets)
        tst_prune_clear(st.targets, st.count);
    free(st.targets), free(st.regs), free(st.indirect);
    return rc;
}

static int bind_one(duckdb_prepared_statement ps, idx_t idx, const tst_param *p)
{
    const char *text = p->v.bytes.ptr ? p->v.bytes.ptr : "";
    switch (p->type) {
    case TST_PARAM_NULL: return duckdb_bind_null(ps, idx);
    case TST_PARAM_BOOL: return duckdb_bind_boolean(ps, idx, p->v.b);
    case TST_PARAM_INT64: return duckdb_bind_int64(ps, idx, p->v.i64);
    case TST_PARAM_UINT64: return duckdb_bind_uint64(ps, idx, p->v.u64);
    case TST_PARAM_DOUBLE: return duckdb_bind_double(ps, idx, p->v.f64);
    case TST_PARAM_TEXT: return duckdb_bind_varchar_length(ps, idx, text, p->v.bytes.len);
    case TST_PARAM_BLOB: return duckdb_bind_blob(ps, idx, text, p->v.bytes.len);
    default: return DuckDBError;
    }
}

static int bind_params(duckdb_prepared_statement ps, const tst_param *params, size_t n)
{
    idx_t want = duckdb_nparams(ps), positional = 0;
    if (n && !params)
        return tst_fail(TST_EINVAL, "%zu parameters announced but none given", n);
    if (want != n)
        return tst_fail(TST_EINVAL, "the statement has %" PRIu64 " parameters but %zu were given",
                        (uint64_t)want, n);
    for (size_t i = 0; i < n; i++) {
        const tst_param *p = &params[i];
        idx_t idx = p->name ? 0 : ++positional;
        if (p->type < TST_PARAM_NULL || p->type > TST_PARAM_BLOB)
            return tst_fail(TST_EINVAL, "parameter %zu has an unknown type %d", i + 1, (int)p->type);
        if (p->name && duckdb_bind_parameter_index(ps, &idx, p->name) == DuckDBError)
            return tst_fail(TST_EINVAL, "the statement has no parameter $%s", p->name);
        if (bind_one(ps, idx, p) == DuckDBError) {
            const char *msg = duckdb_prepare_error(ps);
            char label[128];
            if (p->name)
                snprintf(label, sizeof label, "$%s", p->name);
            else
                snprintf(label, sizeof label, "$%" PRIu64, (uint64_t)idx);
            return tst_fail(TST_ESQL, "binding parameter %s: %s", label,
                            msg && *msg ? msg : "DuckDB refused the value");
        }
    }
    return 0;
}

/*
 * DuckDB 1.4.4's prepare errors repeat their "LINE n: ... ^" context block
 * ("Parser Error: ...\n\nLINE 1: SELEC 1\n        ^\n\nLINE 1: SELEC 1\n ...").
 * Report it once: an error is printed once.
 */
static int fail_prepare(const char *msg)
{
    if (!msg || !*msg)
        return tst_fail(TST_ESQL, "DuckDB could not prepare the statement");
    const char *first = strstr(msg, "\n\nLINE ");
    size_t len = strlen(msg);
    if (first) {
        size_t block = (size_t)(msg + len - first);
        if (block % 2 == 0 && memcmp(first, first + block / 2, block / 2) == 0)
            len -= block / 2;
    }
    return tst_fail(TST_ESQL, "%.*s", (int)len, msg);
}

int tst_session_prepare(tst_session *s, const char *analyse, const char *sql,
                        const tst_param *params, size_t param_count,
                        duckdb_prepared_statement *out)
{
    *out = NULL;
    int rc = ready_tables(s, analyse, params, param_count);
    if (rc != 0)
        return rc;
    duckdb_prepared_statement ps = NULL;
    if (duckdb_prepare(s->con, sql, &ps) == DuckDBError)
        rc = fail_prepare(duckdb_prepare_error(ps));
    if (rc == 0)
        rc = bind_params(ps, params, param_count);
    if (rc == 0)
        rc = record_definition(s, analyse);
    if (rc != 0) {
        duckdb_destroy_prepare(&ps);
        return rc;
    }
    *out = ps;
    return 0;
}

int tst_session_query(tst_session *s, const char *sql, const tst_param *params,
                      size_t param_count, struct ArrowArrayStream *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!s || !sql || !out)
        return tst_fail(TST_EINVAL, "tst_session_query needs a session, a statement and an "
                        "output stream");
    duckdb_prepared_statement ps = NULL;
    int rc = tst_session_prepare(s, sql, sql, params, param_count, &ps);
    return rc == 0 ? tst_result_stream_open(s->con, false, ps, "query", out) : rc;
}
