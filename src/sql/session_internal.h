/*
 * session_internal.h — the session's state, shared by session.c (registry,
 * statements, Arrow results), rows.c (text rows), export.c (files),
 * session_interrupt.c (Ctrl-C) and coverage_functions.c (tstable_coverage /
 * tstable_gaps).
 */
#ifndef TST_SESSION_INTERNAL_H
#define TST_SESSION_INTERNAL_H

#include "duck.h"
#include "segment_covs.h"
#include "tstable/session.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <stdbool.h>
#include <stddef.h>

/* Which version a registered tstable answers for. */
typedef enum tst_pin_kind {
    TST_PIN_LATEST = 0, /* refreshed by every statement */
    TST_PIN_VERSION,    /* one version, forever */
    TST_PIN_INSTANT     /* the version current at an instant */
} tst_pin_kind;

typedef struct tst_table_pin {
    tst_pin_kind kind;
    uint64_t version;
    tst_timestamp at;
} tst_table_pin;

/* One registered name: a tstable (table != NULL) or a Parquet path. */
typedef struct tst_registration {
    char *name;
    char *root;         /* tstable root, or NULL */
    char *parquet;      /* Parquet file/folder/glob as given, or NULL */
    tst_table *table;
    char *view_sql;     /* the view definition last executed, to skip repeats */
    tst_table_pin pin;  /* LATEST unless registered at a version or instant */
    uint64_t pin_head;  /* time-travel names (travel.c): the head the pin was resolved at */
    tst_segment_covs *covs; /* segment sidecars the pruner read (prune.c), or NULL */
    struct tst_segment_order *order; /* the pruner's time index of the segments, or NULL */
} tst_registration;

/* A view or macro one of the session's statements defined. A statement
 * naming it reaches the registered tables its text names, which then read
 * every segment (their predicates are not in the statement). */
typedef struct tst_definition {
    char *name;         /* "" when the name could not be read: always reached */
    char *sql;
} tst_definition;

struct tst_session {
    duckdb_connection con;
    idx_t connection_id;      /* DuckDB's id, to find the session from a table function */
    tst_registration *regs;   /* sorted by name (strcmp) */
    size_t count, cap;
    tst_prune_stats last;
    tst_definition *defs;
    size_t def_count, def_cap;
    /* Time-travel names ("trades@v12") statements used (travel.c), by name. */
    tst_registration *travel;
    size_t travel_count, travel_cap;
    /* Coverage-guaranteed reads (coverage_check.c): the mode, and the last
     * statement's report (owned; NULL when it ran without a check). */
    tst_coverage_mode coverage_mode;
    tst_calendar *coverage_calendar; /* owned; NULL: every bucket is expected */
    tst_coverage_report *coverage;
};

/* The registration of `name` (case-insensitive, as DuckDB's catalog), or NULL. */
tst_registration *tst_session_find(const tst_session *s, const char *name);

/*
 * Readies one statement: refreshes the registered tables the analysed text
 * (`analyse`) names, prunes their segments, defines their views, prepares
 * `run` and binds the parameters. `run` may wrap `analyse` (COPY (...) TO).
 */
int tst_session_prepare(tst_session *s, const char *analyse, const char *run,
                        const tst_param *params, size_t param_count,
                        duckdb_prepared_statement *out);

/* Opens `root` as `pin` says, checking it has a schema; errors name `name`. */
int tst_session_open_table(const char *name, const char *root, const tst_table_pin *pin,
                           tst_table **out);

/* Frees what a registration owns and zeroes it. */
void tst_registration_clear(tst_registration *r);

/*
 * Time travel inside a statement (travel.c): every quoted identifier
 * "name@v12", "name@12" or "name@<instant>" whose name is a registered
 * tstable becomes a registration of its own in s->travel, opened at that
 * version (an instant is re-resolved when the table's head moves), and is
 * then reached, pruned and given a view like any registered table. `masked`
 * (malloc'd) is `sql` with those identifiers blanked, so that the base
 * table does not count as named by them. TST_EINVAL for a suffix that is
 * neither; the errors of tst_table_open_at / _as_of.
 */
int tst_session_travel_ready(tst_session *s, const char *sql, char **masked);
/* The time-travel registration a name such as "trades@v12" means, opened if
 * needed; *out NULL when the name is not one (no '@', or no registered
 * tstable before it). TST_EINVAL for an unreadable suffix. */
int tst_session_travel_find(tst_session *s, const char *name, tst_registration **out);
/* Forgets the time-travel names of `base` (it was deregistered). */
void tst_session_travel_forget(tst_session *s, const char *base);

/* Registers tstable_coverage and tstable_gaps for the session's connection. */
int tst_session_register_functions(tst_session *s);
void tst_session_unregister_functions(tst_session *s);

/*
 * What coverage_functions.c lends the other table functions
 * (freshness_functions.c): the refreshed table a call's parameter names
 * ('bars', 'bars@v3'), a bound as a value of the table's index, and an
 * entity text ('NVDA' or 'col=v,col=v', parsed in place; b holds 16).
 */
int tst_sqlfn_table(duckdb_bind_info info, idx_t param, tst_table **out);
int tst_sqlfn_index_value(duckdb_value v, const tst_index_spec *spec, const char *which,
                          tst_index_value *out);
int tst_sqlfn_entity(const tst_table *t, char *text, tst_entity_binding *b, size_t *n);
/* Registers tstable_freshness and tstable_last_window (once per process). */
int tst_sqlfn_register_freshness(duckdb_connection con);
/* datafusion_functions.c: date_bin, to_unixtime, to_date, to_timestamp_*. */
int tst_sqlfn_register_datafusion(duckdb_connection con);

/* "2024-06-01", "2024-06-01 00:00:00", "...T...Z", "+02:00": an instant
 * (text read as UTC unless it carries an offset). false if unreadable. */
bool tst_session_parse_time(const char *text, tst_timestamp *out);

#endif
