/*
 * cli.h — what the files of the `tstable` command line share.
 *
 * The CLI is a thin shell over the public headers in include/tstable/: each
 * subcommand lives in its own file (create.c, append.c, query.c, ...) and
 * exposes one `cli_cmd_<name>(argc, argv)` that returns the process exit
 * code. main.c holds the table of commands. Everything else here is the
 * plumbing those files have in common:
 *
 *   args.c    long options (--opt value, --opt=value, repeatable lists),
 *             --help, and usage errors printed once;
 *   output.c  box-drawn tables, JSON strings and numbers, error printing;
 *   values.c  command-line text -> library values: index values, entity
 *             bindings, and opening a --table with a readable error;
 *   run_query.c  running one SQL statement and previewing or writing its
 *             rows (shared by `query` and `shell`).
 *
 * Conventions: results go to stdout, diagnostics to stderr, and an error is
 * printed exactly once by the code that detects it; callers only pass the
 * exit code up. Exit code 0 is success, 1 any failure (usage errors too, as
 * the reference CLI does).
 */
#ifndef TSTABLE_CLI_H
#define TSTABLE_CLI_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tstable/append.h"
#include "tstable/index.h"
#include "tstable/session.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

/* Mirrors project(tstable VERSION ...) in CMakeLists.txt, which the CLI may not edit. */
#define CLI_VERSION "0.1.0"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1

/* ---- commands (main.c dispatches; one file each) ------------------------ */

typedef struct cli_command {
    const char *name;
    const char *summary;               /* one line for `tstable --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

int cli_cmd_create(int argc, char **argv);
int cli_cmd_append(int argc, char **argv);
int cli_cmd_query(int argc, char **argv);
int cli_cmd_info(int argc, char **argv);
int cli_cmd_log(int argc, char **argv);
int cli_cmd_coverage(int argc, char **argv);
int cli_cmd_gaps(int argc, char **argv);
int cli_cmd_diff(int argc, char **argv);          /* diff.c */
int cli_cmd_plan_backfill(int argc, char **argv); /* diff.c */
int cli_cmd_shell(int argc, char **argv);
int cli_cmd_segments(int argc, char **argv);
int cli_cmd_optimize(int argc, char **argv);
int cli_cmd_add_columns(int argc, char **argv);
int cli_cmd_update(int argc, char **argv);
int cli_cmd_delete(int argc, char **argv);
int cli_cmd_migrate(int argc, char **argv);
int cli_cmd_vacuum(int argc, char **argv);
int cli_cmd_entities(int argc, char **argv); /* entities.c */

/* ---- options (args.c) ---------------------------------------------------- */

typedef enum cli_opt_kind {
    CLI_FLAG,  /* --timing */
    CLI_VALUE, /* --table PATH, at most once */
    CLI_LIST,  /* --entity COL, repeatable; values kept in order */
    CLI_LIST_MANY /* --parquet A [B ...], repeatable: also takes the tokens after its value
                     up to the next "--option" (a shell glob expands to several) */
} cli_opt_kind;

typedef struct cli_opt {
    const char *name;  /* without the leading "--" */
    const char *alias; /* another accepted name, or NULL */
    cli_opt_kind kind;
} cli_opt;

#define CLI_MAX_OPTS 16

typedef struct cli_slot {
    bool set;
    const char **values; /* CLI_VALUE: one; CLI_LIST: count (borrowed from argv) */
    size_t count;
} cli_slot;

typedef struct cli_args {
    const char *command; /* for messages: "create" */
    const cli_opt *opts;
    size_t opt_count;
    cli_slot slots[CLI_MAX_OPTS];
} cli_args;

/* What cli_parse() decided. */
enum { CLI_PARSED = 0, CLI_HELP_SHOWN = 1, CLI_USAGE_ERROR = 2 };

/*
 * Parses argv[1..] against opts. --help / -h prints `help` to stdout.
 * Unknown options, missing values, repeated single options and positional
 * arguments print one usage error to stderr. Returns one of the values above.
 */
int cli_parse(cli_args *args, const char *command, const char *help, const cli_opt *opts,
              size_t opt_count, int argc, char **argv);
void cli_args_free(cli_args *args);

/* Converts a cli_parse() outcome into an exit code (help: 0, error: 1). */
int cli_parse_exit(int parsed);

const char *cli_get(const cli_args *args, const char *name); /* NULL when absent */
bool cli_has(const cli_args *args, const char *name);
const char *const *cli_list(const cli_args *args, const char *name, size_t *out_count);

/* Prints "error: <message>" and the --help hint for the command; returns 1. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Usage error unless the option was given. */
bool cli_require(const cli_args *args, const char *name);

/* --format table|json (table when absent); false after printing the error. */
bool cli_format_is_json(const cli_args *args, bool *out_json);

/* Parses "--opt" values: a decimal u64 (no sign, no spaces). */
bool cli_parse_u64(const char *text, uint64_t *out);

/* coverage_plot.c: `tstable coverage --plot FILE` (args parsed by coverage.c). */
int cli_coverage_plot(const cli_args *args);

/* ---- output (output.c) --------------------------------------------------- */

/* Prints one error line to stderr (the library message is printed by the caller's format). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<context>: <library message>" for the last library failure; returns 1. */
int cli_fail_lib(const char *context);

void *cli_xmalloc(size_t size);
void *cli_xrealloc(void *ptr, size_t size);
char *cli_xstrdup(const char *s);
char *cli_xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A table of text cells for the terminal, drawn with rounded box lines.
 * Row 0 is the header. Cells may hold several lines ('\n').
 */
typedef struct cli_grid {
    size_t cols;
    size_t rows;
    char **cells; /* rows * cols, owned */
    size_t cap_rows;
} cli_grid;

void cli_grid_init(cli_grid *grid, size_t cols);
/* Copies cols cells (NULL is printed as an empty cell). */
void cli_grid_add(cli_grid *grid, const char *const *cells);
/* Prints the grid; `label`, when not NULL, is written into the top border. */
void cli_grid_print(const cli_grid *grid, FILE *out, const char *label);
void cli_grid_free(cli_grid *grid);

/* JSON: a quoted, escaped string (NULL -> null); a finite double as the shortest exact text. */
void cli_json_string(FILE *out, const char *s);
void cli_json_double(FILE *out, double v);

/*
 * A double as the shortest of %.15g, %.16g and %.17g that reads back as the
 * same value (1.5e-07, 1e+300, 0.1, 123.45; nan, inf, -inf), the text
 * DuckDB's CSV export and the library's row rendering also use.
 * CLI_FLOAT_TEXT_MAX always holds it.
 */
#define CLI_FLOAT_TEXT_MAX 32
void cli_format_float(double v, char *buf, size_t cap);

/*
 * A result value made fit for one box cell (malloc'd; free it): tab, CR and
 * LF as \t \r \n, other control characters as \xNN, and cut with "…" to
 * at most max_width terminal columns (0: never cut).
 */
char *cli_preview_cell(const char *value, size_t max_width);

/* ---- values (values.c) --------------------------------------------------- */

/* Opens --table, printing "Failed to open table at <T>: <why>" on failure. */
int cli_open_table(tst_table **out, const char *root);

/*
 * --as-of VERSION|TIMESTAMP (time travel): a bare integer is a version;
 * anything else an instant, RFC 3339 or a date (midnight), with a space or
 * a T, and UTC when it has no offset. Returns false after printing a usage
 * error for `command`. NULL text: not set.
 */
typedef struct cli_as_of {
    bool set;
    bool is_version;
    uint64_t version;
    tst_timestamp at;
    const char *text; /* as given, for messages */
} cli_as_of;
bool cli_parse_as_of(const char *command, const char *text, cli_as_of *out);

/* Opens --table at the parsed --as-of (the latest when not set), printing
 * "Failed to open table at <T> as of <X>: <why>" on failure. */
int cli_open_table_as_of(tst_table **out, const char *root, const cli_as_of *as_of);

/* The --help lines of --as-of, shared by every command that takes it; PAD is
 * the spaces (a string literal) up to the command's description column. */
#define CLI_AS_OF_HELP(PAD)                                                  \
    "  --as-of VERSION|TIME\n" PAD                                          \
    "Read the table as it was at VERSION (an integer, as `tstable\n" PAD     \
    "log` numbers commits) or at an instant: RFC 3339 or a date\n" PAD       \
    "(2024-06-01T09:30:00Z, 2024-06-01 09:30, 2024-06-01); an\n" PAD        \
    "instant without an offset is UTC\n"

/* Levenshtein distance between two names, case-insensitive (for "did you
 * mean" suggestions); names longer than 256 bytes cost their length
 * (entity_list.c). */
size_t cli_edit_distance(const char *a, const char *b);

/* ---- times.c: the time grammar of every time option ----------------------- */

/*
 * A time as people type it: RFC 3339; a date or a date and time without an
 * offset (UTC); now, today, yesterday, optionally +/-N unit (s m h d w);
 * or -N unit / +N unit relative to now. TSTABLE_NOW pins "now" (tests).
 */
bool cli_parse_time(const char *text, tst_timestamp *out);
/* Whether text is one of the relative forms (an integer index rejects them). */
bool cli_time_is_relative(const char *text);
/* The clock "now" reads: TSTABLE_NOW when set (tests only), else the real one. */
tst_timestamp cli_now(void);
/* "90m", "7d", "2w": a non-negative duration with one unit s m h d w. */
bool cli_parse_duration(const char *text, int64_t *out_seconds);
/* A signed duration as 2d3h4m5s (whole seconds, toward zero; "0s" for none). */
void cli_format_duration(int64_t sec, uint32_t nsec, char *buf, size_t cap);

/* The grammar, for --help texts: the lines of `tstable help times`. */
#define CLI_TIMES_HINT(PAD)                                                \
    PAD "Times: 2024-06-01T09:30:00Z, 2024-06-01 09:30 (UTC), 2024-06-01,\n" \
    PAD "now, today, now-7d, -7d ('tstable help times')\n"
/* ---- calendar_opt.c: --calendar SPEC (tstable/calendar.h) ---------------- */
/* *out: the parsed --calendar, or NULL without the option. Prints the error. */
int cli_calendar(const cli_args *args, tst_calendar **out);
#define CLI_CALENDAR_HELP(PAD)                                               \
    "  --calendar SPEC     Count only the buckets a calendar expects: nights,\n" PAD \
    "weekends and holidays are then not gaps. SPEC: items joined by\n" PAD   \
    "';' (weekdays, days=mon-fri, tz=ZONE, sessions=HH:MM-HH:MM[,..],\n" PAD \
    "holidays=FILE, closed=DATE[,..]); see docs/guide/calendars.md\n"

/* ---- signals.c: Ctrl-C / SIGTERM cancel a long operation ---------------- */
typedef struct cli_signal_guard {
    sigset_t set;
    pthread_t thread;
    bool running;
    tst_cancel *cancel;              /* pass to the operation's options */
    volatile sig_atomic_t received;  /* the first signal, or 0 */
} cli_signal_guard;
/* Call first, before anything starts a thread (DuckDB does on first use). */
void cli_guard_start(cli_signal_guard *g);
void cli_guard_stop(cli_signal_guard *g);

/*
 * Parses a value of the table's index type: RFC 3339 (or a plain date
 * YYYY-MM-DD, read as midnight UTC) for timestamps, decimal for integers.
 * `option` names the flag in the error it prints.
 */
int cli_parse_index_value(const tst_index_kind *kind, const char *option, const char *text,
                          tst_index_value *out);

/* Renders an index value (RFC 3339 or decimal) into buf. */
void cli_format_index_value(const tst_index_value *v, char *buf, size_t cap);

/*
 * Turns repeated --entity col=value into bindings, typed after the table's
 * schema. *out is allocated (free it); values borrow from `specs`.
 */
int cli_parse_entity(tst_table *table, const char *const *specs, size_t count,
                     tst_entity_binding **out);
void cli_free_entity(tst_entity_binding *bindings, size_t count);

/*
 * Fills start/end from --start/--end, or, when absent, from the table's
 * observed bounds: the first segment value and just past the last.
 */
int cli_range(tst_table *table, const char *start_text, const char *end_text,
              tst_index_value *start, tst_index_value *end);

/*
 * What coverage and gaps ask about: --table, --entity col=value..., and
 * [--start, --end). cli_target_open prints its own errors.
 */
typedef struct cli_target {
    tst_table *table;
    tst_entity_binding *entity;
    size_t entity_count;
    tst_index_value start;
    tst_index_value end;
} cli_target;

int cli_target_open(cli_target *t, const cli_args *args);
void cli_target_close(cli_target *t);

/* "symbol=NVDA,venue=X" for a binding list ("" for none). */
void cli_format_bindings(const tst_entity_binding *b, size_t n, char *buf, size_t cap);

/* Bindings as a JSON object {"symbol":"NVDA"} (numbers for integer columns); null for none. */
void cli_json_bindings(FILE *out, const tst_entity_binding *b, size_t n);
/* An index value as JSON: an RFC 3339 string for timestamps, a number otherwise. */
void cli_json_index_value(FILE *out, const tst_index_value *v);

/* Name and index description of a table: "ts (timestamp, bucket 1h)". */
void cli_format_index_kind(const tst_index_kind *kind, char *buf, size_t cap);

/*
 * A timestamp bucket ("1h") for `option`, with hints for "0" (must be
 * positive) and weeks ("1w": use 7d). Prints the error; returns 1 on one.
 */
int cli_parse_time_bucket(const char *option, const char *text, tst_time_bucket *out);

/*
 * An IANA timezone name ("" and UTC pass): looked up in $TZDIR or
 * /usr/share/zoneinfo (a TZif file), so no DuckDB is loaded; without a tz
 * database only the name's shape is checked. Prints the error; returns 1.
 */
int cli_check_timezone(const char *option, const char *tz);

/* ---- entity_list.c: every entity, filtered, and unknown-entity warnings ---- */

/*
 * The table's entities in canonical order (one row without entity columns),
 * kept when, for every column --entity names, the value is one of those
 * given. Warns about --entity values the table never saw. Prints its errors.
 */
typedef struct cli_entity_list {
    tst_coverage_summary *summary;
    size_t *keep;
    size_t count;
} cli_entity_list;
int cli_entity_list_open(cli_entity_list *l, tst_table *table, const cli_args *args);
const tst_entity_summary *cli_entity_list_at(const cli_entity_list *l, size_t i);
void cli_entity_list_close(cli_entity_list *l);

/* An identity as bindings (out holds spec->entity_count; values borrowed). */
void cli_identity_bindings(const tst_index_spec *spec, const tst_entity_identity *id,
                           tst_entity_binding *out);

/*
 * "warning: symbol=NVDAA never occurs in the table; nearest: NVDA, NVDS" on
 * stderr when no table of `tables` has seen the entity the bindings name
 * (a whole identity, or COL=VALUE filters); nearest names from tables[0].
 */
void cli_warn_unknown_entity(tst_table *const *tables, size_t table_count,
                             const tst_entity_binding *b, size_t n);

/* ---- each_entity.c: coverage/gaps --each-entity and --last-window -------- */
/* What the --each-entity functions return for a table without entity
 * columns: the caller answers as if the flag were absent. */
#define CLI_EACH_NONE (-1)
int cli_coverage_each_entity(const cli_args *args); /* coverage --each-entity */
int cli_coverage_last_window(const cli_args *args); /* coverage --last-window */
int cli_gaps_each_entity(const cli_args *args);     /* gaps --each-entity */

/* ---- appending (append.c; also used by shell.c) --------------------------- */

/*
 * Appends one Parquet or CSV file to the table as a new segment, with a
 * spinner on stderr while a long append runs on a terminal. A missing
 * source is reported with its path before the library is asked. Prints
 * its own error; on success fills the new version and the time it took.
 */
int cli_append_source(tst_table *table, const char *path, bool csv, uint64_t *out_version,
                      uint64_t *out_elapsed_ms);

/* ---- running a query (run_query.c; `query` and `shell`) ------------------ */

typedef struct cli_query_plan {
    const char *sql;    /* borrowed */
    uint64_t max_rows;  /* rows in the preview; 0 = none */
    const char *format; /* "csv", "jsonl", "json", "parquet", "arrow", "arrows" */
    const char *label;  /* "Csv", ... for the "wrote:" line */
    const char *output; /* NULL: preview only */
    bool to_stdout;     /* every row to stdout, no preview */
    bool explain;       /* print the plan and the pruning first */
    bool timing;        /* print elapsed_ms: N */
} cli_query_plan;

/*
 * The name a table folder is registered under, the reference's way: the
 * folder's name with non [A-Za-z0-9_] -> '_', "t_" before a leading
 * non-letter, lowercase (./my-table 1 -> my_table_1). Free it.
 */
char *cli_table_name(const char *root);

/*
 * Checks the statement and the --max-rows, --format and --output texts
 * (NULL when absent) and fills plan; explain and timing start false.
 * Prints the error and returns 1 when one is invalid. sql is borrowed.
 */
int cli_query_plan_init(cli_query_plan *plan, const char *sql, const char *max_rows,
                        const char *format, const char *output);

/* Runs the plan against the session's registrations; prints its own errors. */
int cli_query_run(tst_session *session, const cli_query_plan *plan);

#endif
