/*
 * testsupport.h — small helpers shared by the test programs: scratch
 * folders that clean themselves up, whole-file reads and writes, hex
 * decoding for golden vectors, and cmocka assertion shorthands.
 */
#ifndef TST_TESTSUPPORT_H
#define TST_TESTSUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the includes above first. */
#include <cmocka.h>

#include "tstable/error.h"
#include "tstable/index.h"
#include "tstable/schema.h"
#include "tstable/session.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

/* Creates a fresh folder under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tst_test_tmpdir(const char *tag);
/* Removes a folder tree (like rm -rf) and frees the path. */
void tst_test_rmtree(char *path);
/* Reads a whole file; *out is malloc'd and NUL-terminated. Returns 0 or -1. */
int tst_test_read_file(const char *path, char **out, size_t *len);
/* Writes (creates or truncates) a file. Returns 0 or -1. */
int tst_test_write_file(const char *path, const void *bytes, size_t len);
/* Joins a folder and a relative path into a static-lifetime-free buffer (malloc'd). */
char *tst_test_path(const char *dir, const char *rel);
/* Decodes hex, ignoring spaces and '|'. Returns byte count; out must be big enough. */
size_t tst_test_hex(const char *hex, uint8_t *out);
/* True if a path exists. */
int tst_test_exists(const char *path);

/* Asserts a call returned `code` and left a non-empty message with that code. */
#define assert_tst_fails(call, expected_code)                                          \
    do {                                                                               \
        int rc_ = (call);                                                              \
        if (rc_ != (expected_code))                                                    \
            print_error("got %s (%d), wanted %s: %s\n", tst_error_name(rc_), rc_,      \
                        tst_error_name(expected_code), tst_error_last()->message);     \
        assert_int_equal(rc_, (expected_code));                                        \
        assert_int_equal(tst_error_last()->code, (expected_code));                     \
        assert_true(tst_error_last()->message[0] != '\0');                             \
    } while (0)

/* Asserts a call succeeded, printing the last error if not. */
#define assert_tst_ok(call)                                                            \
    do {                                                                               \
        int rc_ = (call);                                                              \
        if (rc_ != 0)                                                                  \
            print_error("%s failed: %s (%d): %s\n", #call, tst_error_name(rc_), rc_,   \
                        tst_error_last()->message);                                    \
        assert_int_equal(rc_, 0);                                                      \
    } while (0)


/* ---- DuckDB fixtures ------------------------------------------------------ */

/* Runs SQL through the library's DuckDB (session zone UTC), e.g. COPY ...
 * TO 'x.parquet' to write a fixture. Fails the test on error. */
void tst_test_duck(const char *sql);
/* The same in a forked child: for process tests, whose later children must
 * start their own engine rather than inherit a copy of a running one. */
void tst_test_duck_in_child(const char *sql);
/* The first cell of a query (printf-style; session zone UTC) as malloc'd
 * text, "(null)" for NULL; fails the test on an error or no row. */
char *tst_test_sql_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Fails the test, printing the query and both values, unless the first
 * cell of the query reads `expected`. */
void tst_test_assert_sql(const char *expected, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* <dir>/<name> written as Parquet from `select`, which reads the NVDA
 * sample as `nvda`. Returns the malloc'd path. */
char *tst_test_nvda_parquet(const char *dir, const char *name, const char *select);

/* Another writer that appends `file` to the table at `root` right before an
 * append's first commit attempt, through the append's test hook
 * (append_internal.h); its result lands in rc. tst_test_interloper_arm
 * installs it, tst_test_interloper_disarm removes the hook. */
typedef struct tst_test_interloper {
    const char *root, *file;
    int rc;
} tst_test_interloper;
void tst_test_interloper_arm(tst_test_interloper *in);
void tst_test_interloper_disarm(void);

/* A TST_PARAM_TEXT parameter (name NULL for positional); text is borrowed. */
tst_param tst_test_text_param(const char *name, const char *text);

/* A cmocka state for session tests: a scratch folder, a table root in it,
 * and a session (each may be NULL). */
typedef struct tst_test_session_fixture {
    char *dir, *root;
    tst_session *s;
} tst_test_session_fixture;
/* cmocka teardown: frees the session and root, removes dir, frees the state. */
int tst_test_session_teardown(void **state);
/* The first value of a query's first row ("NULL" for null; later rows are
 * ignored), malloc'd. Fails the test on error or no row. */
char *tst_test_first_value(tst_session *s, const char *sql, const tst_param *p, size_t n);
/* The first value of `sql` over the table at `root` registered as "t" in a
 * fresh session (closed again), malloc'd as tst_test_first_value gives it. */
char *tst_test_table_value(const char *root, const char *sql);

/* ---- small values and checks ------------------------------------------ */

/* A timestamp index value from RFC 3339 text (fails the test if invalid). */
tst_index_value tst_test_ts(const char *text);
/* The binding symbol=<value> (a utf8 entity; value is borrowed). */
tst_entity_binding tst_test_symbol(const char *value);
/* The files under a folder, recursively (0 for a missing folder). */
int tst_test_count_files(const char *dir);

/* ---- tables ------------------------------------------------------------ */

/* A timestamp index spec on "ts" with buckets of 1 hour and the given entity
 * columns (borrowed; NULL, 0 for none). */
tst_index_spec tst_test_hourly_spec(char **entities, size_t n);
/* Creates a table at `root` with a timestamp index on `index_column`, one
 * entity column `entity_column` (NULL: none) and buckets of `count` x `unit`.
 * Fails the test on error; the caller frees the table. */
tst_table *tst_test_create_table(const char *root, const char *index_column,
                                 const char *entity_column, tst_time_unit unit, uint32_t count);

/* What a table's log and sidecars say, without DuckDB, for crash tests:
 * its version, the live segments' rows and mixed-layout count, and the
 * coverage (a tst_table_cov, kept opaque here: sidecar.h). Fails the test
 * unless every live segment's data file and sidecar exist. Release with
 * tst_test_log_state_clear. */
typedef struct tst_test_log_state {
    uint64_t version, rows;
    size_t mixed;
    void *cov; /* tst_table_cov * */
} tst_test_log_state;
tst_test_log_state tst_test_log_state_of(const char *root);
/* Same rows and coverage. */
void tst_test_assert_same_log_data(const tst_test_log_state *a, const tst_test_log_state *b);
void tst_test_log_state_clear(tst_test_log_state *s);
/* The same as a format_version-6 table (protocol 6): for tests of what only
 * that format does (two rows in one bucket in one append, data/<uuid> paths)
 * or that commit the hand-made format_version-6 actions below. */
tst_table *tst_test_create_table_v6(const char *root, const char *index_column,
                                    const char *entity_column, tst_time_unit unit, uint32_t count);
/* The usual test table: timestamp index "ts" with buckets of 1 hour, entity
 * column "symbol", at the given protocol (6, 7; 0: the library's default).
 * Fails the test on error; the caller frees the table. */
tst_table *tst_test_create_symbol_table(const char *root, uint32_t protocol);

/* ---- hand-made logs ---------------------------------------------------- */

/* Writes <root>/_timeseries_log/<version>.json holding the given actions
 * (a JSON array), creating the folder. Returns 0 or -1. */
int tst_test_write_commit(const char *root, uint64_t version, const char *actions_json);
/* Writes CURRENT = "<version>\n". */
int tst_test_set_current(const char *root, uint64_t version);
/* The text of <root>/_timeseries_log/<version, 10 digits>.json, malloc'd;
 * fails the test if it cannot be read. */
char *tst_test_read_commit(const char *root, uint64_t version);
/* Writes `text` to <root>/<rel>, creating the folders on the way; fails the
 * test on error. */
void tst_test_put(const char *root, const char *rel, const char *text);

/* An UpdateTableMeta action for an hourly table on "ts" with entity
 * "symbol" and schema ts: timestamp[ms], symbol: utf8, close: float64. */
extern const char *const TST_TEST_META_ACTION;
/* An AddSegment action JSON for path `path`, Single("sym") layout, bounds in
 * epoch seconds. Returns a malloc'd string. */
char *tst_test_add_segment_action(const char *path, const char *sym, long long min_sec,
                                  long long max_sec);

#endif
