/*
 * duckdb_runner.c — a minimal DuckDB command line for bench/run.sh, which
 * needs DuckDB as its users run it (a database file or Parquet files, SQL
 * in, rows out) but has no DuckDB CLI: Debian does not package one, and the
 * npm registry ships only the library. This is the DuckDB the library links
 * (.deps/duckdb, through DuckDB's public C API); nothing of tstable is used.
 *
 *   duckdb_runner DB [--print] SQL...
 *
 * DB is a database file (created if missing) or :memory:. Every SQL argument
 * may hold several statements; they run in order, each one streamed to the
 * end. By default only the number of rows of the last statement is printed
 * ("rows: N"), so a SELECT * costs what it costs to produce and consume its
 * rows, not to format them. --print prints every row of every statement
 * instead, tab-separated (for small answers only; cast a value to VARCHAR
 * if it prints as NULL: the C API's varchar view does not cover every type).
 * Errors go to stderr and the exit code is 1.
 */
#include <duckdb.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int run_statement(duckdb_connection con, duckdb_extracted_statements stmts, idx_t i,
                         bool print, uint64_t *rows)
{
    duckdb_prepared_statement prep = NULL;
    if (duckdb_prepare_extracted_statement(con, stmts, i, &prep) == DuckDBError) {
        fprintf(stderr, "error: %s\n", duckdb_prepare_error(prep));
        duckdb_destroy_prepare(&prep);
        return 1;
    }
    duckdb_result res;
    duckdb_state st = print ? duckdb_execute_prepared(prep, &res)
                            : duckdb_execute_prepared_streaming(prep, &res);
    duckdb_destroy_prepare(&prep);
    if (st == DuckDBError) {
        fprintf(stderr, "error: %s\n", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return 1;
    }
    *rows = 0;
    if (print) {
        idx_t ncol = duckdb_column_count(&res), nrow = duckdb_row_count(&res);
        for (idx_t r = 0; r < nrow; r++) {
            for (idx_t c = 0; c < ncol; c++) {
                char *v = duckdb_value_varchar(&res, c, r);
                printf("%s%s", c ? "\t" : "", v ? v : "NULL");
                duckdb_free(v);
            }
            putchar('\n');
        }
        *rows = nrow;
    } else {
        for (;;) {
            duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
            if (!chunk)
                break;
            *rows += duckdb_data_chunk_get_size(chunk);
            duckdb_destroy_data_chunk(&chunk);
        }
        const char *err = duckdb_result_error(&res);
        if (err) {
            fprintf(stderr, "error: %s\n", err);
            duckdb_destroy_result(&res);
            return 1;
        }
    }
    duckdb_destroy_result(&res);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: duckdb_runner DB [--print] SQL...\n");
        return 2;
    }
    const char *path = strcmp(argv[1], ":memory:") == 0 ? NULL : argv[1];
    bool print = false;
    int first = 2;
    if (strcmp(argv[2], "--print") == 0) {
        print = true;
        first = 3;
    }
    duckdb_database db;
    duckdb_connection con;
    if (duckdb_open(path, &db) == DuckDBError) {
        fprintf(stderr, "error: cannot open %s\n", argv[1]);
        return 1;
    }
    if (duckdb_connect(db, &con) == DuckDBError) {
        fprintf(stderr, "error: cannot connect\n");
        duckdb_close(&db);
        return 1;
    }
    int rc = 0;
    uint64_t rows = 0;
    for (int a = first; a < argc && rc == 0; a++) {
        duckdb_extracted_statements stmts = NULL;
        idx_t n = duckdb_extract_statements(con, argv[a], &stmts);
        if (n == 0) {
            const char *err = duckdb_extract_statements_error(stmts);
            fprintf(stderr, "error: %s\n", err ? err : "no statement");
            rc = 1;
        }
        for (idx_t i = 0; i < n && rc == 0; i++)
            rc = run_statement(con, stmts, i, print, &rows);
        duckdb_destroy_extracted(&stmts);
    }
    if (rc == 0 && !print)
        printf("rows: %" PRIu64 "\n", rows);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return rc;
}
