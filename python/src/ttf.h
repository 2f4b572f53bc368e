/*
 * ttf.h — what the files of the _native extension share.
 *
 * The extension is split by area: module.c (init), errors.c (exception
 * classes and the mapping from tst_error_last()), convert.c (index values,
 * timestamps and entities between Python and C), table.c and coverage.c
 * (TimeSeriesTable), session.c (Session), result.c (SqlResult,
 * RecordBatchReader and the Arrow C stream capsules that pyarrow imports
 * them through). Everything here is private to the
 * extension; it sees the library only through the headers in include/tstable/.
 */
#ifndef TTF_H
#define TTF_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdatomic.h>

#include "tstable/append.h"
#include "tstable/arrow.h"
#include "tstable/coverage_plot.h"
#include "tstable/error.h"
#include "tstable/index.h"
#include "tstable/scan.h"
#include "tstable/schema.h"
#include "tstable/session.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

/* Methods taking keywords are stored as PyCFunction; the double cast keeps
 * -Wcast-function-type quiet about a cast CPython itself requires. */
#define TTF_KW(fn) ((PyCFunction)(void (*)(void))(fn))

/* ---- module.c: objects imported once at init ---------------------------- */
extern PyObject *ttf_utc;          /* datetime.timezone.utc */
extern PyObject *ttf_decimal_type; /* decimal.Decimal */

/* ---- errors.c ----------------------------------------------------------- */
extern PyObject *ttf_TimeseriesTableError;
extern PyObject *ttf_StorageError;
extern PyObject *ttf_ConflictError;
extern PyObject *ttf_CoverageOverlapError;
extern PyObject *ttf_SchemaMismatchError;
extern PyObject *ttf_SqlError;
extern PyObject *ttf_DuplicateIndexIntervalError;
extern PyObject *ttf_VersionVacuumedError;
extern PyObject *ttf_IncompleteCoverageError;
extern PyObject *ttf_CoverageWarning;

int ttf_errors_init(PyObject *module);
/* Raises the exception for tst_error_last(); table_root (may be NULL) is
 * attached as the table_root attribute and a " (table_root=...)" suffix;
 * table (may be NULL) types the overlap example's entity values. Returns NULL. */
PyObject *ttf_raise_last(const char *table_root, const tst_table *table);
/* Like ttf_raise_last() for a SQL statement: TST_EINVAL becomes SqlError. */
PyObject *ttf_raise_last_statement(void);
/* Raises `type` with message and attributes given as NULL-terminated
 * name/value pairs (values are borrowed; NULL values become None). */
PyObject *ttf_raise_with(PyObject *type, const char *message, ...);

/* ---- calendar.c: the calendar= argument (a spec str, a dict or None) ----- */
/* *out: NULL for None; else free with tst_calendar_free. -1 with an exception set. */
int ttf_calendar_from_py(PyObject *obj, tst_calendar **out);

/* ---- convert.c ---------------------------------------------------------- */
/* A path argument (str, bytes or os.PathLike) copied to malloc'd UTF-8. */
int ttf_path_arg(PyObject *obj, char **out);
char *ttf_strdup(const char *s);
int ttf_timestamp_from_py(PyObject *obj, tst_timestamp *out);
PyObject *ttf_timestamp_to_py(int64_t sec, uint32_t nsec, PyObject *tz);
int ttf_index_value_from_py(PyObject *obj, tst_index_type type, const char *what,
                            tst_index_value *out);
PyObject *ttf_index_value_to_py(const tst_index_value *v);
PyObject *ttf_entity_value_to_py(const tst_entity_value *v);
/* The identity as {column: value} in the table's entity_columns order. */
PyObject *ttf_identity_to_py(const tst_index_spec *spec, const tst_entity_identity *id);
int ttf_convert_init(void); /* imports the datetime C API (per file, so here) */
PyObject *ttf_date_to_py(int64_t days);
PyObject *ttf_time_to_py(int64_t micros);
PyObject *ttf_timedelta_to_py(int64_t micros);
/* The text a datetime (UTC RFC 3339) or date (YYYY-MM-DD) is bound as in SQL:
 * 1 when obj is one (buf filled, TST_TIMESTAMP_TEXT_MAX is enough), 0 when
 * not, -1 with an exception set. */
int ttf_time_param_text(PyObject *obj, char *buf, size_t cap);
/* 1 and the length in microseconds if obj is a timedelta, else 0. */
int ttf_is_timedelta(PyObject *obj, int64_t *out_micros);

/* Entity bindings built from a Python dict, owning copies of every string,
 * so the library can read them while the GIL is released. */
typedef struct ttf_entity_args {
    tst_entity_binding *bindings;
    size_t count;
    char **owned; /* 2 * count strings: column names and utf8 values */
} ttf_entity_args;
int ttf_entity_args_from_py(PyObject *obj, const tst_table *table, ttf_entity_args *out);

/* Coverage-guaranteed reads (coverage_check.c). require_coverage=False|None
 * (off), True (require) or "warn"; ValueError otherwise. */
int ttf_coverage_mode_from_py(PyObject *obj, tst_coverage_mode *out);
/* The report's missing ranges and checked tables as lists of dicts. */
PyObject *ttf_coverage_missing_to_py(const tst_coverage_report *r);
PyObject *ttf_coverage_checked_to_py(const tst_coverage_report *r);
/* Raises IncompleteCoverageError for a failed check; returns NULL. */
PyObject *ttf_raise_incomplete(const tst_coverage_report *r, const char *table_root);
/* Issues CoverageWarning for the lists (stolen); -1 when the warning
 * filter turned it into an exception. */
int ttf_warn_coverage(const char *message, PyObject *missing, PyObject *checked);
void ttf_entity_args_free(ttf_entity_args *args);
#define TTF_ENTITY_ARGS_INIT {NULL, 0, NULL}

/* ---- table.c / coverage.c ----------------------------------------------- */
typedef struct ttf_TableObject {
    PyObject_HEAD
    tst_table *table;
    PyThread_type_lock lock; /* the handle allows one writer: serialise every call */
} ttf_TableObject;

extern PyTypeObject ttf_TableType;
/* Takes the handle's lock; waits with the GIL released so a thread holding
 * the lock can still run Python (an Arrow producer may need the GIL). */
void ttf_table_lock(ttf_TableObject *self);
void ttf_table_unlock(ttf_TableObject *self);
/* With the lock held: brings the handle to the latest commit (reading only
 * new commits), so reads answer what any process committed. Raises and
 * returns -1 on failure, leaving the handle as it was. */
int ttf_table_refresh_locked(ttf_TableObject *self);
extern PyMethodDef ttf_coverage_methods[];
extern PyMethodDef ttf_coverage_plot_methods[]; /* coverage_plot.c */
extern PyMethodDef ttf_coverage_diff_methods[]; /* coverage_diff.c */
extern PyMethodDef ttf_optimize_methods[]; /* optimize.c */
extern PyMethodDef ttf_vacuum_methods[];   /* vacuum.c */
extern PyMethodDef ttf_add_columns_methods[]; /* add_columns.c */
extern PyMethodDef ttf_update_methods[];   /* update.c */
extern PyMethodDef ttf_delete_methods[];   /* delete.c */
extern PyMethodDef ttf_migrate_functions[]; /* migrate.c: module functions */

/* ---- session.c ---------------------------------------------------------- */
extern PyTypeObject ttf_SessionType;

/* ---- result.c / arrow_export.c ------------------------------------------ */
#include "arrow_export.h"

extern PyTypeObject ttf_ResultType;
extern PyTypeObject ttf_ReaderType;
/* A SqlResult taking over `b`. */
PyObject *ttf_result_new(ttf_batches *b);
/* A RecordBatchReader taking over the stream (moved; src->release set NULL). */
PyObject *ttf_reader_new(struct ArrowArrayStream *src);
/* The source of an append: calls obj.__arrow_c_stream__() and moves the
 * stream out of the capsule into *out. */
int ttf_stream_from_py(PyObject *obj, struct ArrowArrayStream *out);

#endif
