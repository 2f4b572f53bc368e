/*
 * segment_write.c — new segment files: a byte copy of a Parquet file that
 * already matches the table, or a re-encode through DuckDB; and the two
 * numbers a segment's metadata keeps about its file (rows, bytes).
 *
 * Both writers follow the library's durable-write rule: the bytes go to a
 * temp name in the destination's folder ("<dst>.<uuid>.tmp"), are fsynced,
 * then published with link(2), which fails instead of overwriting, and the
 * folder is fsynced. A failure at any step removes what this call created:
 * the caller sees either a complete dst or no dst, and never a temp file.
 * The link, unlink and folder fsync go through fsio so tests can fail each
 * of them; the temp file's own writes are DuckDB's or copy_file_range's
 * (and parquet_footer.c's pwrite of the footer fix).
 *
 * The re-encode casts every column to the DuckDB type whose Parquet
 * encoding is the schema's type (checked with parquet_schema() on DuckDB
 * 1.4.4):
 *   Bool BOOLEAN, Int32 INT32, Int64 INT64, UInt64 INT64 (UINT_64),
 *   Float32 FLOAT, Float64 DOUBLE, Utf8 BYTE_ARRAY (UTF8), Binary BYTE_ARRAY,
 *   zone-less Timestamp ms/us/ns INT64 TIMESTAMP(unit, isAdjustedToUTC=false),
 *   Timestamp us "UTC" INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true),
 *   other zoned timestamps INT64 TIMESTAMP(unit, isAdjustedToUTC=true): DuckDB
 *   writes a zoned column only as micros, so the UTC instant goes out as a
 *   plain timestamp of the unit and parquet_footer.c then flips the footer's
 *   isAdjustedToUTC to true in the temp file (a nibble; nothing moves);
 *   without it DuckDB reads a wall time and shifts it by the session zone,
 *   Decimal(p<=38) DECIMAL(p,s) on INT32/INT64/FIXED_LEN_BYTE_ARRAY(16).
 *   Struct, List, Map: passed through as DuckDB read them (the append rules
 *   admit a nested column only with the table's exact type); the embedded
 *   ARROW:schema gives their field names.
 * Anything else has no exact DuckDB encoding and is TST_EUNSUPPORTED:
 * FixedBinary (a BLOB is written as BYTE_ARRAY, i.e. binary), decimals over
 * 38 digits, Int96 and Other, also inside a nested column.
 * DuckDB 1.4.4 writes every column OPTIONAL, even from a NOT NULL table
 * column, and writes no ARROW:schema footer key of its own. So the COPY
 * embeds the table's schema as that key (KV_METADATA, encoded by
 * arrow_schema_write.c): a reader that takes a segment's schema from its
 * footer (format §1.7, §1.13) then sees the table's nullability and
 * timezones, not what the OPTIONAL, zone-less Parquet columns suggest.
 */
#include "segment.h"

#include "arrow_schema_write.h"
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"
#include "parquet_footer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* How much one read/write round of the fallback copy moves. */
#define COPY_CHUNK (1u << 20)

/* ------------------------------------------------------------------------ */
/* Temp names and publishing                                                 */

/* "<dst>.<uuid>.tmp", malloc'd. */
static int temp_name(const char *dst, char **out)
{
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    if (rc != 0)
        return rc;
    size_t cap = strlen(dst) + sizeof uuid + 8;
    *out = malloc(cap);
    if (!*out)
        return tst_fail(TST_ENOMEM, "out of memory naming a temp file for %s", dst);
    snprintf(*out, cap, "%s.%s.tmp", dst, uuid);
    return 0;
}

/* The folder holding path, malloc'd ("." for a bare name). */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 2);
    if (!dir)
        return NULL;
    if (n == 0)
        strcpy(dir, ".");
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* Fails early, before any work, when dst is taken; link() checks again. */
static int require_absent(const char *dst)
{
    struct stat st;
    if (lstat(dst, &st) == 0) {
        tst_fail(TST_EEXISTS, "%s already exists; segment files are never overwritten", dst);
        tst_fail_set_path(dst);
        return TST_EEXISTS;
    }
    return 0;
}

/* Same switch as fsio's: only for building huge test fixtures quickly. */
static bool fsync_disabled(void)
{
    const char *v = getenv("TST_UNSAFE_NO_FSYNC");
    return v && strcmp(v, "1") == 0;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tst_fail_errno(TST_EIO, errno, "cannot open %s to fsync it", path);
    int rc = fsync_disabled() ? 0 : fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0)
        return tst_fail_errno(TST_EIO, err, "cannot fsync %s", path);
    return 0;
}

/*
 * Makes a finished, fsynced temp file visible as dst. On failure nothing of
 * this call remains: a dst already linked is ours (link() never takes an
 * existing name) and not yet referenced by any commit, so it is removed too.
 */
static int publish(const char *tmp, const char *dst)
{
    char *dir = folder_of(dst);
    if (!dir) {
        unlink(tmp);
        return tst_fail(TST_ENOMEM, "out of memory publishing %s", dst);
    }
    int rc = tst_io_link_new(tmp, dst);
    bool linked = rc == 0;
    if (rc == 0)
        rc = tst_io_unlink(tmp);
    if (rc == 0)
        rc = tst_io_fsync_dir(dir);
    if (rc != 0) {
        unlink(tmp);
        if (linked)
            unlink(dst);
    }
    free(dir);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Byte copy                                                                 */

static int copy_fallback(int in, int out)
{
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        return ENOMEM;
    int err = 0;
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            break;
        }
        for (ssize_t done = 0; done < n && err == 0;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                err = errno;
            else if (w > 0)
                done += w;
        }
        if (err != 0)
            break;
    }
    free(buf);
    return err;
}

/* Copies all of in to out; returns 0 or an errno. copy_file_range lets the
 * kernel (or a reflink-capable filesystem) move the bytes without user
 * space; where it is unavailable the plain loop takes over from the start. */
static int copy_fd(int in, int out)
{
    bool moved = false;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
        if (n > 0) {
            moved = true;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (moved || (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP &&
                      errno != EINVAL))
            return errno;
        return copy_fallback(in, out);
    }
}

/* Writes a complete, fsynced copy of src at tmp (which is created new). */
static int copy_to_temp(const char *src, const char *tmp)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int code = errno == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, errno, "cannot open %s", src);
        tst_fail_set_path(src);
        return code;
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int err = errno;
        close(in);
        return tst_fail_errno(TST_EIO, err, "cannot create %s", tmp);
    }
    int err = copy_fd(in, out);
    if (err == 0 && !fsync_disabled() && fsync(out) != 0)
        err = errno;
    if (close(out) != 0 && err == 0)
        err = errno;
    close(in);
    if (err != 0) {
        unlink(tmp);
        return tst_fail_errno(TST_EIO, err, "cannot copy %s to %s", src, tmp);
    }
    return 0;
}

int tst_segment_copy_file(const char *src, const char *dst)
{
    char *tmp = NULL;
    int rc = require_absent(dst);
    if (rc == 0)
        rc = temp_name(dst, &tmp);
    if (rc == 0)
        rc = copy_to_temp(src, tmp);
    if (rc == 0)
        rc = publish(tmp, dst);
    free(tmp);
    if (rc != 0)
        tst_fail_context(rc, "copying segment %s to %s", src, dst);
    return rc;
}

int tst_segment_link_file(const char *src, const char *dst, bool *out_linked)
{
    *out_linked = false;
    int rc = require_absent(dst);
    if (rc != 0)
        return rc;
    struct stat st, dir_st;
    char *dir = folder_of(dst);
    if (!dir)
        return tst_fail(TST_ENOMEM, "out of memory linking %s", dst);
    if (lstat(src, &st) != 0) {
        int code = errno == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, errno, "cannot open %s", src);
        tst_fail_set_path(src);
        free(dir);
        return code;
    }
    /* another file system (EXDEV), or not a plain file (link() would link a
     * symlink itself, not its target): the caller copies */
    if (!S_ISREG(st.st_mode) || stat(dir, &dir_st) != 0 || dir_st.st_dev != st.st_dev) {
        free(dir);
        return 0;
    }
    rc = tst_io_link_new(src, dst);
    bool linked = rc == 0;
    if (rc == 0) /* the caller's writes may not be durable yet */
        rc = fsync_path(dst);
    if (rc == 0)
        rc = tst_io_fsync_dir(dir);
    if (rc != 0 && linked)
        unlink(dst);
    free(dir);
    if (rc != 0)
        return tst_fail_context(rc, "moving segment %s to %s", src, dst);
    *out_linked = true;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Re-encode through DuckDB                                                  */

static int unsupported(const tst_field *f, const char *why)
{
    char type[128];
    if (tst_type_format(&f->type, type, sizeof type) < 0)
        strcpy(type, "this type");
    return tst_fail(TST_EUNSUPPORTED, "column '%s' (%s) cannot be written exactly: %s", f->name,
                    type, why);
}

/* A zoned timestamp DuckDB cannot write as TIMESTAMPTZ (anything but us "UTC"). */
static bool zoned_as_plain(const tst_field *f)
{
    const char *tz = f->type.timezone;
    return f->type.kind == TST_TYPE_TIMESTAMP && tz &&
           !(strcmp(tz, "UTC") == 0 && f->type.unit == TST_PRECISION_MICROS);
}

/*
 * Zoned timestamps are UTC instants. Microseconds in UTC map to DuckDB's
 * TIMESTAMPTZ (Parquet isAdjustedToUTC=true); every other zoned column is
 * written as the plain timestamp of its unit holding the UTC instant, then
 * marked as an instant in the footer (mark_zoned_columns); the ARROW:schema
 * in the footer carries the zone, which is how arrow-rs and pyarrow read it.
 */
static int timestamp_type(const tst_field *f, char *out, size_t cap)
{
    tst_time_precision u = f->type.unit;
    bool utc_micros = f->type.timezone && !zoned_as_plain(f);
    const char *name = utc_micros                 ? "TIMESTAMPTZ"
                     : u == TST_PRECISION_MILLIS ? "TIMESTAMP_MS"
                     : u == TST_PRECISION_MICROS ? "TIMESTAMP"
                                                 : "TIMESTAMP_NS";
    snprintf(out, cap, "%s", name);
    return 0;
}

/*
 * Nested columns pass through as DuckDB reads them (out is ""): the append
 * rules let one in only with the table's exact type, so there is nothing to
 * cast, and DuckDB writes lists, structs and maps with the values it read.
 * The leaves must be ones DuckDB writes as they are.
 */
static int nested_type(const tst_field *f, const tst_type *t, char *out, size_t cap)
{
    out[0] = '\0';
    (void)cap;
    switch (t->kind) {
    case TST_TYPE_FIXED_BINARY:
        return unsupported(f, "DuckDB writes BLOB as variable-length binary");
    case TST_TYPE_INT96:
    case TST_TYPE_OTHER: return unsupported(f, "the type cannot be appended");
    case TST_TYPE_DECIMAL:
        if (t->precision > 38)
            return unsupported(f, "DuckDB decimals hold at most 38 digits");
        return 0;
    default: break;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->field_count; i++)
        rc = nested_type(f, &t->fields[i].type, out, cap);
    if (rc == 0 && t->element)
        rc = nested_type(f, &t->element->type, out, cap);
    if (rc == 0 && t->key)
        rc = nested_type(f, &t->key->type, out, cap);
    if (rc == 0 && t->value)
        rc = nested_type(f, &t->value->type, out, cap);
    return rc;
}

/* The DuckDB type that writes f's exact Parquet type (see the top of the file). */
static int duck_type(const tst_field *f, char *out, size_t cap)
{
    const char *name = NULL;
    switch (f->type.kind) {
    case TST_TYPE_BOOL: name = "BOOLEAN"; break;
    case TST_TYPE_INT32: name = "INTEGER"; break;
    case TST_TYPE_INT64: name = "BIGINT"; break;
    case TST_TYPE_UINT64: name = "UBIGINT"; break;
    case TST_TYPE_FLOAT32: name = "FLOAT"; break;
    case TST_TYPE_FLOAT64: name = "DOUBLE"; break;
    case TST_TYPE_UTF8: name = "VARCHAR"; break;
    case TST_TYPE_BINARY: name = "BLOB"; break;
    case TST_TYPE_TIMESTAMP: return timestamp_type(f, out, cap);
    case TST_TYPE_DECIMAL:
        if (f->type.precision < 1 || f->type.precision > 38)
            return unsupported(f, "DuckDB decimals hold at most 38 digits");
        snprintf(out, cap, "DECIMAL(%u,%d)", f->type.precision, (int)f->type.scale);
        return 0;
    case TST_TYPE_FIXED_BINARY:
        return unsupported(f, "DuckDB writes BLOB as variable-length binary");
    case TST_TYPE_STRUCT:
    case TST_TYPE_LIST:
    case TST_TYPE_MAP: return nested_type(f, &f->type, out, cap);
    default:
        return unsupported(f, "the type cannot be appended");
    }
    snprintf(out, cap, "%s", name);
    return 0;
}

static int order_by_sql(tst_sql *t, const tst_index_spec *spec, const char *order_by)
{
    int rc = SQL_F(t, " ORDER BY ");
    if (order_by)
        return rc == 0 ? SQL_IDENT(t, order_by) : rc;
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        rc = SQL_IDENT(t, spec->entity_columns[k]);
        if (rc == 0)
            rc = SQL_F(t, ", ");
    }
    if (rc == 0)
        rc = SQL_IDENT(t, spec->column);
    return rc;
}

/* The DuckDB type of a typed NULL for f, nested types spelled out
 * (STRUCT("a" T, ...), T[], MAP(K, V)). */
static int null_type_sql(tst_sql *t, const tst_field *f, const tst_type *type)
{
    int rc = 0;
    switch (type->kind) {
    case TST_TYPE_STRUCT:
        rc = SQL_F(t, "STRUCT(");
        for (size_t i = 0; rc == 0 && i < type->field_count; i++) {
            rc = SQL_F(t, "%s", i ? ", " : "");
            if (rc == 0)
                rc = SQL_IDENT(t, type->fields[i].name);
            if (rc == 0)
                rc = SQL_F(t, " ");
            if (rc == 0)
                rc = null_type_sql(t, f, &type->fields[i].type);
        }
        return rc == 0 ? SQL_F(t, ")") : rc;
    case TST_TYPE_LIST:
        rc = null_type_sql(t, f, &type->element->type);
        return rc == 0 ? SQL_F(t, "[]") : rc;
    case TST_TYPE_MAP:
        if (!type->value)
            return unsupported(f, "a map without values cannot be written");
        rc = SQL_F(t, "MAP(");
        if (rc == 0)
            rc = null_type_sql(t, f, &type->key->type);
        if (rc == 0)
            rc = SQL_F(t, ", ");
        if (rc == 0)
            rc = null_type_sql(t, f, &type->value->type);
        return rc == 0 ? SQL_F(t, ")") : rc;
    default: {
        tst_field leaf = *f;
        leaf.type = *type;
        char name[64];
        rc = duck_type(&leaf, name, sizeof name);
        return rc == 0 ? SQL_F(t, "%s", name) : rc;
    }
    }
}

/* "CAST(NULL AS T) AS c": a nullable column the relation does not have (a
 * column added to the table after the data was written, format
 * "schema_add_columns"). */
static int null_column_sql(tst_sql *t, const tst_field *f)
{
    int rc = SQL_F(t, "CAST(NULL AS ");
    if (rc == 0)
        rc = null_type_sql(t, f, &f->type);
    if (rc == 0)
        rc = SQL_F(t, ") AS ");
    return rc == 0 ? SQL_IDENT(t, f->name) : rc;
}

/* Whether the relation has a column of that name (exact, case-sensitive). */
static int relation_has_column(duckdb_prepared_statement all, const char *name, bool *out)
{
    idx_t n = duckdb_prepared_statement_column_count(all);
    *out = false;
    for (idx_t i = 0; i < n && !*out; i++) {
        const char *c = duckdb_prepared_statement_column_name(all, i);
        *out = c && strcmp(c, name) == 0;
        duckdb_free((void *)c);
    }
    return 0;
}

/* "CAST(c AS T) AS c"; a TIMESTAMPTZ going to ms or ns, and anything going to
 * ms, passes through TIMESTAMP. */
static int column_sql(tst_sql *t, duckdb_connection con, const char *relation,
                      const tst_field *f)
{
    char type[64];
    int rc = duck_type(f, type, sizeof type);
    if (rc == 0 && type[0] == '\0') { /* nested: as it is */
        rc = SQL_IDENT(t, f->name);
        if (rc == 0)
            rc = SQL_F(t, " AS ");
        return rc == 0 ? SQL_IDENT(t, f->name) : rc;
    }
    bool via = false;
    if (rc == 0 && f->type.kind == TST_TYPE_TIMESTAMP && strcmp(type, "TIMESTAMPTZ") != 0 &&
        strcmp(type, "TIMESTAMP") != 0)
        rc = tst_duck_column_is_tstz(con, relation, f->name, &via);
    /* DuckDB casts nothing finer than TIMESTAMP to TIMESTAMP_MS directly (a
     * zoned ns source is read as TIMESTAMP_NS, see source.c) */
    via |= strcmp(type, "TIMESTAMP_MS") == 0;
    if (rc == 0)
        rc = SQL_F(t, via ? "CAST(CAST(" : "CAST(");
    if (rc == 0)
        rc = SQL_IDENT(t, f->name);
    if (rc == 0)
        rc = SQL_F(t, "%s AS %s) AS ", via ? " AS TIMESTAMP)" : "", type);
    if (rc == 0)
        rc = SQL_IDENT(t, f->name);
    return rc;
}

/* ", KV_METADATA {'ARROW:schema': '<base64>'}": the table's exact schema in
 * the footer. Built after the columns, so a type DuckDB cannot write is
 * reported as before. */
static int arrow_schema_sql(tst_sql *t, const tst_schema *schema)
{
    char *base64 = NULL;
    int rc = tst_arrow_schema_encode(schema, &base64);
    if (rc == 0)
        rc = SQL_F(t, ", KV_METADATA {'ARROW:schema': ");
    if (rc == 0)
        rc = SQL_LIT(t, base64);
    if (rc == 0)
        rc = SQL_F(t, "}");
    free(base64);
    return rc;
}

/* SELECT CAST(c AS T) AS c, ... FROM rel: the table's columns from one
 * relation; a nullable column the relation lacks is written as nulls. */
static int select_sql(tst_sql *t, duckdb_connection con, const char *relation,
                      const tst_schema *schema)
{
    /* The relation's own columns, to find the nullable ones it lacks. */
    tst_sql all_sql = {0};
    duckdb_prepared_statement all = NULL;
    int rc = SQL_F(&all_sql, "SELECT * FROM %s", relation);
    if (rc == 0 && duckdb_prepare(con, all_sql.s, &all) == DuckDBError)
        rc = tst_fail(TST_ESQL, "reading the columns of %s: %s", relation,
                      duckdb_prepare_error(all) ? duckdb_prepare_error(all) : "prepare failed");
    free(all_sql.s);
    if (rc == 0)
        rc = SQL_F(t, "SELECT ");
    for (size_t i = 0; rc == 0 && i < schema->column_count; i++) {
        const tst_field *f = &schema->columns[i];
        bool present = true;
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0 && f->nullable)
            rc = relation_has_column(all, f->name, &present);
        if (rc == 0)
            rc = present ? column_sql(t, con, relation, f) : null_column_sql(t, f);
    }
    duckdb_destroy_prepare(&all);
    if (rc == 0)
        rc = SQL_F(t, " FROM %s", relation);
    return rc;
}

/* ") TO 'tmp' (FORMAT parquet, ...)": the tail every COPY shares. */
static int copy_target_sql(tst_sql *t, const tst_schema *schema, const char *tmp,
                           const tst_segment_layout *layout)
{
    int rc = SQL_F(t, ") TO ");
    if (rc == 0)
        rc = SQL_LIT(t, tmp);
    if (rc == 0)
        rc = SQL_F(t, " (FORMAT parquet, COMPRESSION %s",
                   tst_compression_name(layout->compression));
    if (rc == 0 && layout->row_group_rows > 0)
        rc = SQL_F(t, ", ROW_GROUP_SIZE %" PRIu64, layout->row_group_rows);
    if (rc == 0)
        rc = arrow_schema_sql(t, schema);
    if (rc == 0)
        rc = SQL_F(t, ")");
    return rc;
}

/* COPY (SELECT CAST(c AS T) AS c, ... FROM rel ORDER BY e.., i) TO 'tmp' (...). One
 * relation is cast and sorted in one SELECT; several are each cast to the
 * table's types first (their own columns may differ: a file from before an
 * add_columns, a zoned timestamp read another way), then united and sorted:
 * COPY (SELECT * FROM (sel1 UNION ALL sel2 ...) ORDER BY e.., i) TO ... */
static int copy_sql(tst_sql *t, duckdb_connection con, const char *const *relations, size_t n,
                    const tst_index_spec *spec, const tst_schema *schema, const char *tmp,
                    const tst_segment_layout *layout)
{
    int rc = SQL_F(t, n == 1 ? "COPY (" : "COPY (SELECT * FROM (");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = i ? SQL_F(t, " UNION ALL ") : 0;
        if (rc == 0)
            rc = select_sql(t, con, relations[i], schema);
    }
    if (rc == 0 && n != 1)
        rc = SQL_F(t, ")");
    if (rc == 0)
        rc = order_by_sql(t, spec, layout->order_by);
    if (rc == 0)
        rc = copy_target_sql(t, schema, tmp, layout);
    return rc;
}

/* The ORDER BY names the index and entity columns: they must be columns. */
static int check_spec_columns(const tst_index_spec *spec, const tst_schema *schema)
{
    if (!tst_schema_find(schema, spec->column))
        return tst_fail(TST_ESCHEMA, "index column '%s' is not in the schema", spec->column);
    for (size_t k = 0; k < spec->entity_count; k++)
        if (!tst_schema_find(schema, spec->entity_columns[k]))
            return tst_fail(TST_ESCHEMA, "entity column '%s' is not in the schema",
                            spec->entity_columns[k]);
    return 0;
}

/* Flips isAdjustedToUTC to true in tmp's footer for the zoned columns
 * written as plain timestamps: the file then says they are instants. */
static int mark_zoned_columns(const tst_schema *schema, const char *tmp)
{
    const char **names = calloc(schema->column_count + 1, sizeof *names);
    if (!names)
        return tst_fail(TST_ENOMEM, "out of memory marking the timestamps of %s", tmp);
    size_t n = 0;
    for (size_t i = 0; i < schema->column_count; i++)
        if (zoned_as_plain(&schema->columns[i]))
            names[n++] = schema->columns[i].name;
    int rc = n > 0 ? tst_parquet_footer_mark_utc(tmp, names, n) : 0;
    free(names);
    return rc;
}

/*
 * Builds and runs the COPY into tmp, marks its zoned columns, then fsyncs it; on failure no tmp
 * remains. Zoned columns are cast from whatever the source holds; pinning
 * the session zone to UTC keeps naive timestamps' wall time as the instant.
 */
static int encode_to_temp(duckdb_connection given, const char *const *relations, size_t n,
                          const tst_index_spec *spec, const tst_schema *schema, const char *tmp,
                          const tst_segment_layout *layout)
{
    tst_sql t = {0};
    duckdb_connection con = given;
    int rc = given ? 0 : tst_duck_connect(&con);
    if (rc == 0)
        rc = tst_duck_query(con, "SET SESSION TimeZone = 'UTC'", NULL, "pinning the time zone");
    if (rc == 0)
        rc = copy_sql(&t, con, relations, n, spec, schema, tmp, layout);
    if (rc == 0)
        rc = tst_duck_query(con, t.s, NULL, "writing the segment");
    if (!given)
        tst_duck_disconnect(&con);
    free(t.s);
    if (rc == 0)
        rc = mark_zoned_columns(schema, tmp);
    if (rc == 0) /* what the reference needs to read strings and maps (parquet_footer.h) */
        rc = tst_parquet_footer_add_logical_types(tmp);
    if (rc == 0)
        rc = fsync_path(tmp);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

static int write_relations(duckdb_connection con, const char *const *relations, size_t n,
                           const tst_index_spec *spec, const tst_schema *schema, const char *dst,
                           const tst_segment_layout *layout)
{
    static const tst_segment_layout defaults = {TST_COMPRESSION_DEFAULT, 0, NULL};
    layout = layout ? layout : &defaults;
    char *tmp = NULL;
    int rc = n > 0 ? check_spec_columns(spec, schema)
                   : tst_fail(TST_EINVAL, "writing segment %s: no relation to write", dst);
    if (rc == 0)
        rc = require_absent(dst);
    if (rc == 0)
        rc = temp_name(dst, &tmp);
    if (rc == 0)
        rc = encode_to_temp(con, relations, n, spec, schema, tmp, layout);
    if (rc == 0)
        rc = publish(tmp, dst);
    free(tmp);
    if (rc != 0 && n > 0) {
        char label[256];
        tst_fail_context(rc, "writing segment %s from %s%s", dst,
                         tst_duck_relation_label(relations[0], label, sizeof label),
                         n > 1 ? " and other relations" : "");
    }
    return rc;
}

int tst_segment_write(const char *relation_sql, const tst_index_spec *spec,
                      const tst_schema *schema, const char *dst, const tst_segment_layout *layout)
{
    return write_relations(NULL, &relation_sql, 1, spec, schema, dst, layout);
}

int tst_segment_write_union(const char *const *relations, size_t n, const tst_index_spec *spec,
                            const tst_schema *schema, const char *dst,
                            const tst_segment_layout *layout)
{
    return write_relations(NULL, relations, n, spec, schema, dst, layout);
}

int tst_segment_write_union_on(duckdb_connection con, const char *const *relations, size_t n,
                               const tst_index_spec *spec, const tst_schema *schema,
                               const char *dst, const tst_segment_layout *layout)
{
    return write_relations(con, relations, n, spec, schema, dst, layout);
}

/* ------------------------------------------------------------------------ */
/* Staging several relations once (compaction)                               */

/* CREATE TEMP TABLE "name" AS SELECT * FROM (SELECT tag0 AS "tag", * FROM
 * (sel0) UNION ALL ...): each relation cast as copy_sql casts it, so that
 * the table's columns are the table's types. */
static int load_sql(tst_sql *t, duckdb_connection con, const char *name,
                    const tst_segment_stage_spec *st, const tst_schema *schema)
{
    int rc = SQL_F(t, "CREATE TEMP TABLE ");
    if (rc == 0)
        rc = SQL_IDENT(t, name);
    if (rc == 0)
        rc = SQL_F(t, " AS SELECT * FROM (");
    for (size_t i = 0; rc == 0 && i < st->count; i++) {
        rc = SQL_F(t, "%sSELECT %" PRIu64 " AS ", i ? " UNION ALL " : "", st->tags[i]);
        if (rc == 0)
            rc = SQL_IDENT(t, st->tag_column);
        if (rc == 0)
            rc = SQL_F(t, ", * FROM (");
        if (rc == 0)
            rc = select_sql(t, con, st->relations[i], schema);
        if (rc == 0)
            rc = SQL_F(t, ")");
    }
    return rc == 0 ? SQL_F(t, ")") : rc;
}

/* CREATE TEMP TABLE "to" AS SELECT * FROM "from" ORDER BY e.., i */
static int sort_sql(tst_sql *t, const char *from, const char *to, const tst_index_spec *spec)
{
    int rc = SQL_F(t, "CREATE TEMP TABLE ");
    if (rc == 0)
        rc = SQL_IDENT(t, to);
    if (rc == 0)
        rc = SQL_F(t, " AS SELECT * FROM ");
    if (rc == 0)
        rc = SQL_IDENT(t, from);
    return rc == 0 ? order_by_sql(t, spec, NULL) : rc;
}

/* DROP TABLE IF EXISTS "name", best effort and even after a cancel request:
 * what it leaves goes when the connection closes. */
static void drop_table(duckdb_connection con, const char *name)
{
    tst_sql t = {0};
    duckdb_result res;
    if (SQL_F(&t, "DROP TABLE IF EXISTS ") == 0 && SQL_IDENT(&t, name) == 0) {
        duckdb_query(con, t.s, &res);
        duckdb_destroy_result(&res);
    }
    free(t.s);
}

/*
 * Loads the relations unsorted into "<table>_unsorted", then sorts that into
 * "<table>" and drops it. Two steps because DuckDB 1.4.4 sorting straight
 * from several Parquet scans ran out of memory where the two steps fit
 * (3.5 million rows of 80 bytes: 200 MB was not enough, 128 MB is for
 * these); the load and the sort each stay under the limit, spilling.
 */
static int stage_tables(duckdb_connection con, const tst_segment_stage_spec *st,
                        const tst_index_spec *spec, const tst_schema *schema)
{
    tst_sql unsorted = {0}, load = {0}, sort = {0};
    int rc = SQL_F(&unsorted, "%s_unsorted", st->table);
    if (rc == 0)
        rc = load_sql(&load, con, unsorted.s, st, schema);
    if (rc == 0)
        rc = sort_sql(&sort, unsorted.s, st->table, spec);
    if (rc == 0)
        rc = tst_duck_query(con, load.s, NULL, "loading the segments");
    if (rc == 0)
        rc = tst_duck_query(con, sort.s, NULL, "sorting the segments");
    if (unsorted.s)
        drop_table(con, unsorted.s);
    free(unsorted.s);
    free(load.s);
    free(sort.s);
    return rc;
}

int tst_segment_stage(duckdb_connection con, const tst_segment_stage_spec *st,
                      const tst_index_spec *spec, const tst_schema *schema)
{
    int rc = st->count > 0 ? check_spec_columns(spec, schema)
                           : tst_fail(TST_EINVAL, "staging table %s: no relation", st->table);
    if (rc == 0 && tst_schema_find(schema, st->tag_column))
        rc = tst_fail(TST_EINVAL, "staging table %s: its tag column '%s' is a column of the "
                      "table", st->table, st->tag_column);
    if (rc == 0)
        rc = tst_duck_query(con, "SET SESSION TimeZone = 'UTC'", NULL, "pinning the time zone");
    if (rc == 0)
        rc = stage_tables(con, st, spec, schema);
    if (rc != 0) {
        char label[256];
        tst_fail_context(rc, "staging %zu relations (%s%s) in %s", st->count,
                         tst_duck_relation_label(st->relations[0], label, sizeof label),
                         st->count > 1 ? " and others" : "", st->table);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* File stats                                                                */

static int footer_rows(const char *path, uint64_t *out)
{
    tst_sql t = {0};
    int rc = SQL_F(&t, "SELECT num_rows FROM parquet_file_metadata(");
    if (rc == 0)
        rc = SQL_LIT(&t, path);
    if (rc == 0)
        rc = SQL_F(&t, ")");
    duckdb_connection con = NULL;
    duckdb_result res;
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = tst_duck_query(con, t.s, &res, "reading the Parquet footer");
    free(t.s);
    if (rc == 0) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
        if (chunk && duckdb_data_chunk_get_size(chunk) == 1) {
            duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
            *out = (uint64_t)((const int64_t *)duckdb_vector_get_data(vec))[0];
        } else {
            rc = tst_fail(TST_ECORRUPT, "%s has no readable Parquet footer", path);
        }
        if (chunk)
            duckdb_destroy_data_chunk(&chunk);
        duckdb_destroy_result(&res);
    }
    tst_duck_disconnect(&con);
    return rc;
}

int tst_segment_file_stats(const char *path, uint64_t *out_rows, uint64_t *out_bytes)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int code = errno == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, errno, "cannot stat segment %s", path);
        tst_fail_set_path(path);
        return code;
    }
    uint64_t rows = 0;
    int rc = footer_rows(path, &rows);
    if (rc != 0)
        return tst_fail_context(rc, "segment %s", path);
    *out_rows = rows;
    *out_bytes = (uint64_t)st.st_size;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writability of a column, for add_columns                                  */

int tst_segment_field_writable(const tst_field *field)
{
    tst_sql t = {0};
    int rc = null_type_sql(&t, field, &field->type);
    free(t.s);
    return rc;
}
