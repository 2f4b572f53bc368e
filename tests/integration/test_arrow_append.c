/*
 * test_arrow_append.c — appending an ArrowArrayStream: from a tiny producer
 * written here by hand (int64/timestamp/utf8 columns, several batches, a
 * zero-row batch, an injected failure) and from DuckDB's own Arrow export of
 * a query, an independent producer. Each test checks the stream contract
 * too: read once, released exactly once, every batch released.
 */
#include "testsupport.h"

#include "arrow_source.h"
#include "duck.h"
#include "tstable/append.h"
#include "tstable/arrow.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"
#define HOUR_US 3600000000LL
#define T0_US 1717200000000000LL /* 2024-06-01T00:00:00Z */

/* ---- a hand-made producer --------------------------------------------------
 * Columns ts (ts_format, int64 values), symbol (utf8 "NVDA"), v (v_format,
 * v_width-byte integers). Row r has ts = ts0 + r * step and v = r. */

typedef struct producer {
    const char *ts_format;
    const char *v_format;
    const char *v_metadata; /* ArrowSchema metadata of v, or NULL */
    const char *metadata;   /* ArrowSchema metadata of the stream's schema, or NULL */
    int v_width;
    int64_t ts0, step;
    size_t batch_rows[8];
    size_t batch_count;
    int fail_at;          /* get_next call that fails with EIO; -1: none */
    size_t next;          /* get_next calls so far */
    int64_t row;
    int releases;         /* stream releases */
    int schemas_live;     /* schemas handed out and not yet released */
    int arrays_live;      /* batches handed out and not yet released */
} producer;

static producer producer_init(const char *ts_format, const char *v_format, int v_width)
{
    producer p;
    memset(&p, 0, sizeof p);
    p.ts_format = ts_format;
    p.v_format = v_format;
    p.v_width = v_width;
    p.ts0 = T0_US;
    p.step = HOUR_US;
    p.fail_at = -1;
    return p;
}

typedef struct schema_mem {
    struct ArrowSchema kids[3];
    struct ArrowSchema *ptrs[3];
    producer *p;
} schema_mem;

static void child_schema_release(struct ArrowSchema *s)
{
    s->release = NULL;
}

static void schema_release(struct ArrowSchema *s)
{
    schema_mem *m = s->private_data;
    m->p->schemas_live--;
    free(m);
    s->release = NULL;
}

static int p_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    producer *p = st->private_data;
    schema_mem *m = calloc(1, sizeof *m);
    const char *names[3] = {"ts", "symbol", "v"};
    const char *formats[3] = {p->ts_format, "u", p->v_format};
    for (int i = 0; i < 3; i++) {
        m->kids[i] = (struct ArrowSchema){formats[i], names[i], i == 2 ? p->v_metadata : NULL,
                                          i == 0 ? 0 : ARROW_FLAG_NULLABLE, 0, NULL, NULL,
                                          child_schema_release, NULL};
        m->ptrs[i] = &m->kids[i];
    }
    m->p = p;
    *out = (struct ArrowSchema){"+s", "", p->metadata, 0, 3, m->ptrs, NULL, schema_release, m};
    p->schemas_live++;
    return 0;
}

typedef struct batch_mem {
    struct ArrowArray root, kids[3];
    struct ArrowArray *ptrs[3];
    const void *root_bufs[1], *ts_bufs[2], *sym_bufs[3], *v_bufs[2];
    int64_t *ts;
    int32_t *offsets;
    char *chars;
    void *v;
    producer *p;
} batch_mem;

static void child_array_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static void batch_release(struct ArrowArray *a)
{
    batch_mem *m = a->private_data;
    m->p->arrays_live--;
    free(m->ts);
    free(m->offsets);
    free(m->chars);
    free(m->v);
    free(m);
    a->release = NULL;
}

static void fill_v(void *v, int width, size_t i, int64_t value)
{
    if (width == 8)
        ((int64_t *)v)[i] = value;
    else if (width == 4)
        ((int32_t *)v)[i] = (int32_t)value;
    else if (width == 2)
        ((int16_t *)v)[i] = (int16_t)value;
    else
        ((int8_t *)v)[i] = (int8_t)value;
}

static void make_batch(producer *p, size_t n, struct ArrowArray *out)
{
    batch_mem *m = calloc(1, sizeof *m);
    m->p = p;
    m->ts = calloc(n + 1, sizeof *m->ts);
    m->offsets = calloc(n + 1, sizeof *m->offsets);
    m->chars = calloc(4 * n + 1, 1);
    m->v = calloc(n + 1, 8);
    for (size_t i = 0; i < n; i++, p->row++) {
        m->ts[i] = p->ts0 + p->row * p->step;
        memcpy(m->chars + 4 * i, "NVDA", 4);
        m->offsets[i + 1] = (int32_t)(4 * (i + 1));
        fill_v(m->v, p->v_width, i, p->row);
    }
    m->ts_bufs[1] = m->ts;
    m->sym_bufs[1] = m->offsets;
    m->sym_bufs[2] = m->chars;
    m->v_bufs[1] = m->v;
    const void **bufs[3] = {m->ts_bufs, m->sym_bufs, m->v_bufs};
    int64_t nbufs[3] = {2, 3, 2};
    for (int c = 0; c < 3; c++) {
        m->kids[c] = (struct ArrowArray){(int64_t)n, 0, 0, nbufs[c], 0, bufs[c], NULL, NULL,
                                         child_array_release, NULL};
        m->ptrs[c] = &m->kids[c];
    }
    *out = (struct ArrowArray){(int64_t)n, 0, 0, 1, 3, m->root_bufs, m->ptrs, NULL,
                               batch_release, m};
    p->arrays_live++;
}

static int p_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    producer *p = st->private_data;
    if ((int)p->next++ == p->fail_at)
        return EIO;
    size_t b = p->next - 1;
    if (b >= p->batch_count) {
        memset(out, 0, sizeof *out); /* end of stream */
        return 0;
    }
    make_batch(p, p->batch_rows[b], out);
    return 0;
}

static const char *p_get_last_error(struct ArrowArrayStream *st)
{
    (void)st;
    return "the sensor feed went away";
}

static void p_release(struct ArrowArrayStream *st)
{
    producer *p = st->private_data;
    p->releases++;
    st->release = NULL;
}

static struct ArrowArrayStream stream_of(producer *p)
{
    struct ArrowArrayStream s = {p_get_schema, p_get_next, p_get_last_error, p_release, p};
    return s;
}

/* Every batch and schema released, the stream exactly once. */
static void assert_released_once(const producer *p)
{
    assert_int_equal(p->releases, 1);
    assert_int_equal(p->arrays_live, 0);
    assert_int_equal(p->schemas_live, 0);
}

static int files_in(const char *root, const char *folder)
{
    char *dir = tst_test_path(root, folder);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    free(dir);
    return n;
}

static int data_files(const char *root)
{
    return files_in(root, "data");
}

static uint64_t covered_hours(tst_table *t, int64_t from_us, int64_t to_us)
{
    tst_entity_binding nvda = {"symbol", {TST_ENTITY_UTF8, {.utf8 = {"NVDA", 4}}}};
    tst_index_value a = tst_index_value_timestamp(from_us / 1000000, 0);
    tst_index_value b = tst_index_value_timestamp(to_us / 1000000, 0);
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &a, &b, &c));
    return c.covered_buckets;
}

static char *type_text(const tst_table *t, const char *column)
{
    const tst_schema *s = tst_table_get_meta(t)->schema;
    assert_non_null(s);
    for (size_t i = 0; i < s->column_count; i++)
        if (strcmp(s->columns[i].name, column) == 0) {
            static char buf[128];
            tst_type_format(&s->columns[i].type, buf, sizeof buf);
            return buf;
        }
    fail_msg("no column %s", column);
    return NULL;
}

/* ---- tests -------------------------------------------------------------------- */

static void a_hand_made_stream_with_an_empty_batch_becomes_the_first_segment(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer p = producer_init("tsu:UTC", "l", 8);
    p.batch_count = 3;
    p.batch_rows[0] = 3;
    p.batch_rows[1] = 0;
    p.batch_rows[2] = 4;
    struct ArrowArrayStream s = stream_of(&p);
    tst_append_result res;
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, &res));
    assert_released_once(&p);
    assert_null(s.release);
    assert_int_equal(p.next, 4); /* three batches and the end, each asked for once */
    assert_int_equal(res.version, 2);
    assert_int_equal(res.rows, 7);
    assert_false(res.copied);
    assert_int_equal(covered_hours(t, T0_US, T0_US + 10 * HOUR_US), 7);

    const tst_schema *schema = tst_table_get_meta(t)->schema;
    assert_int_equal(schema->column_count, 3);
    assert_string_equal(schema->columns[0].name, "ts");
    assert_false(schema->columns[0].nullable);
    assert_true(schema->columns[2].nullable);
    assert_string_equal(schema->columns[0].type.timezone, "UTC");
    assert_int_equal(schema->columns[0].type.unit, TST_PRECISION_MICROS);
    assert_int_equal(schema->columns[1].type.kind, TST_TYPE_UTF8);
    assert_int_equal(schema->columns[2].type.kind, TST_TYPE_INT64);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void timestamp_units_and_zones_are_adopted_exactly(void **state)
{
    (void)state;
    /* "tsm:UTC" reads as timestamp[ms](UTC), exactly as format §1.7 says. */
    producer p = producer_init("tsm:UTC", "l", 8);
    p.batch_count = 1;
    p.batch_rows[0] = 2;
    p.ts0 = T0_US / 1000;
    p.step = HOUR_US / 1000;
    struct ArrowArrayStream s = stream_of(&p);
    tst_source src;
    tst_arrow_staging staging = {{0}, false};
    assert_tst_ok(tst_source_arrow(&src, &s, &staging));
    assert_released_once(&p);
    assert_int_equal(src.row_count, 2);
    assert_int_equal(src.columns[0].type.unit, TST_PRECISION_MILLIS);
    assert_string_equal(src.columns[0].type.timezone, "UTC");
    assert_string_equal(src.columns[0].type_text, "timestamp[ms](UTC)");
    tst_source_clear(&src);
    tst_arrow_staging_drop(&staging);

    /* A zoned millisecond column is stored exactly (the zone travels in the
     * segment's ARROW:schema); a naive one is then another type. */
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer q = producer_init("tsm:UTC", "l", 8);
    q.batch_count = 1;
    q.batch_rows[0] = 2;
    q.ts0 = T0_US / 1000;
    q.step = HOUR_US / 1000;
    s = stream_of(&q);
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));
    assert_released_once(&q);
    assert_string_equal(type_text(t, "ts"), "timestamp[ms](UTC)");

    producer r = producer_init("tsm:", "l", 8);
    r.batch_count = 1;
    r.batch_rows[0] = 2;
    r.ts0 = T0_US / 1000 + 10 * HOUR_US / 1000;
    r.step = HOUR_US / 1000;
    s = stream_of(&r);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'ts'"));
    assert_released_once(&r);
    assert_int_equal(covered_hours(t, T0_US, T0_US + 4 * HOUR_US), 2);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void a_narrow_integer_stream_widens_on_a_later_append(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer a = producer_init("tsu:UTC", "l", 8);
    a.batch_count = 1;
    a.batch_rows[0] = 5;
    struct ArrowArrayStream s = stream_of(&a);
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));

    producer b = producer_init("tsu:UTC", "s", 2); /* int16 -> int64 */
    b.ts0 = T0_US + 100 * HOUR_US;
    b.batch_count = 2;
    b.batch_rows[0] = 2;
    b.batch_rows[1] = 3;
    s = stream_of(&b);
    tst_append_result res;
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, &res));
    assert_released_once(&b);
    assert_int_equal(res.rows, 5);
    assert_string_equal(type_text(t, "v"), "int64");
    assert_int_equal(covered_hours(t, T0_US, T0_US + 200 * HOUR_US), 10);

    /* A uint64 stream cannot widen into a signed column (uint32 could). */
    producer c = producer_init("tsu:UTC", "L", 8);
    c.ts0 = T0_US + 300 * HOUR_US;
    c.batch_count = 1;
    c.batch_rows[0] = 1;
    s = stream_of(&c);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'v'"));
    assert_released_once(&c);
    assert_int_equal(tst_table_version(t), 3);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void unsupported_types_are_refused_on_the_first_append_naming_the_column(void **state)
{
    (void)state;
    const char *formats[] = {"ttu", "tDu", "tiM"};
    const char *names[] = {"time64[us]", "duration[us]", "interval[year_month]"};
    int widths[] = {8, 8, 4};
    for (size_t i = 0; i < 3; i++) {
        char *root = tst_test_tmpdir("arrow");
        tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
        producer p = producer_init("tsu:UTC", formats[i], widths[i]);
        p.batch_count = 1;
        p.batch_rows[0] = 2;
        struct ArrowArrayStream s = stream_of(&p);
        assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_ESCHEMA);
        assert_non_null(strstr(tst_error_last()->message, "'v'"));
        assert_non_null(strstr(tst_error_last()->message, names[i]));
        assert_non_null(strstr(tst_error_last()->message, "epoch_us(v)")); /* the way out */
        assert_released_once(&p);
        /* A type no table can hold is refused from the schema, before any
         * batch is read. */
        assert_int_equal(p.next, 0);
        assert_int_equal(tst_table_version(t), 1);
        assert_int_equal(data_files(root), 0);
        tst_table_free(t);
        tst_test_rmtree(root);
    }
}

/* date32, int8 and timestamp[s] streams start a table as the nearest types. */
static void converted_types_from_a_stream_are_adopted(void **state)
{
    (void)state;
    const char *formats[] = {"tdD", "c", "S"};
    const char *adopted[] = {"timestamp[us]", "int32", "uint64"};
    int widths[] = {4, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        char *root = tst_test_tmpdir("arrow");
        tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
        producer p = producer_init("tsu:UTC", formats[i], widths[i]);
        p.batch_count = 1;
        p.batch_rows[0] = 3;
        struct ArrowArrayStream s = stream_of(&p);
        assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));
        assert_string_equal(type_text(t, "v"), adopted[i]);
        tst_table_free(t);
        tst_test_rmtree(root);
    }
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer p = producer_init("tss:UTC", "l", 8);
    p.ts0 = T0_US / 1000000;
    p.step = HOUR_US / 1000000;
    p.batch_count = 1;
    p.batch_rows[0] = 3;
    struct ArrowArrayStream s = stream_of(&p);
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));
    assert_string_equal(type_text(t, "ts"), "timestamp[ms](UTC)");
    assert_int_equal(covered_hours(t, T0_US, T0_US + 10 * HOUR_US), 3);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* The arrow.uuid extension type is 16 bytes in the stream, and refused. */
static void a_uuid_extension_stream_is_refused_with_the_way_out(void **state)
{
    (void)state;
    /* metadata: 1 pair, "ARROW:extension:name" -> "arrow.uuid" (int32 lengths) */
    static const char md[] = "\x01\x00\x00\x00"
                             "\x14\x00\x00\x00" "ARROW:extension:name"
                             "\x0a\x00\x00\x00" "arrow.uuid";
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer p = producer_init("tsu:UTC", "w:16", 8);
    p.v_metadata = md;
    p.batch_count = 1;
    p.batch_rows[0] = 1;
    struct ArrowArrayStream s = stream_of(&p);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "column 'v' has type uuid"));
    assert_non_null(strstr(tst_error_last()->message, "v::VARCHAR")); /* the way out */
    assert_int_equal(p.next, 0);
    assert_released_once(&p);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void an_empty_stream_is_refused_before_anything_is_written(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer none = producer_init("tsu:UTC", "l", 8); /* no batch at all */
    struct ArrowArrayStream s = stream_of(&none);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_EEMPTY);
    assert_released_once(&none);

    producer zeros = producer_init("tsu:UTC", "l", 8); /* only zero-row batches */
    zeros.batch_count = 3;
    s = stream_of(&zeros);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_EEMPTY);
    assert_released_once(&zeros);
    assert_int_equal(zeros.next, 4);
    assert_int_equal(tst_table_version(t), 1);
    assert_int_equal(data_files(root), 0);

    /* The call owns the stream even when it cannot start. */
    producer orphan = producer_init("tsu:UTC", "l", 8);
    s = stream_of(&orphan);
    assert_tst_fails(tst_table_append_arrow(NULL, &s, NULL, NULL), TST_EINVAL);
    assert_released_once(&orphan);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_EINVAL); /* released */
    assert_int_equal(orphan.releases, 1);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void a_producer_failing_midway_fails_the_append_and_writes_nothing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arrow");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer p = producer_init("tsu:UTC", "l", 8);
    p.batch_count = 3;
    p.batch_rows[0] = p.batch_rows[1] = p.batch_rows[2] = 2;
    p.fail_at = 1;
    struct ArrowArrayStream s = stream_of(&p);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_EIO);
    assert_non_null(strstr(tst_error_last()->message, "the sensor feed went away"));
    assert_released_once(&p);
    assert_int_equal(p.next, 2); /* nothing asked for after the failure */
    assert_int_equal(tst_table_version(t), 1);
    assert_int_equal(data_files(root), 0);

    /* The table takes the next stream normally. */
    producer ok = producer_init("tsu:UTC", "l", 8);
    ok.batch_count = 1;
    ok.batch_rows[0] = 3;
    s = stream_of(&ok);
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));
    assert_int_equal(tst_table_version(t), 2);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* ---- DuckDB as an independent producer -------------------------------------------
 * A streaming query whose chunks DuckDB itself converts to Arrow. */

typedef struct duck_producer {
    duckdb_connection con;
    duckdb_result result;
    duckdb_arrow_options options;
    int releases;
} duck_producer;

static int d_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    duck_producer *d = st->private_data;
    idx_t n = duckdb_column_count(&d->result);
    duckdb_logical_type types[16];
    const char *names[16];
    assert_true(n <= 16);
    for (idx_t i = 0; i < n; i++) {
        types[i] = duckdb_column_logical_type(&d->result, i);
        names[i] = duckdb_column_name(&d->result, i);
    }
    duckdb_error_data e = duckdb_to_arrow_schema(d->options, types, names, n, out);
    for (idx_t i = 0; i < n; i++)
        duckdb_destroy_logical_type(&types[i]);
    assert_null(e);
    return 0;
}

static int d_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    duck_producer *d = st->private_data;
    duckdb_data_chunk chunk = duckdb_fetch_chunk(d->result);
    memset(out, 0, sizeof *out);
    if (!chunk)
        return 0;
    duckdb_error_data e = duckdb_data_chunk_to_arrow(d->options, chunk, out);
    duckdb_destroy_data_chunk(&chunk);
    assert_null(e);
    return 0;
}

static const char *d_get_last_error(struct ArrowArrayStream *st)
{
    (void)st;
    return NULL;
}

static void d_release(struct ArrowArrayStream *st)
{
    duck_producer *d = st->private_data;
    d->releases++;
    duckdb_destroy_arrow_options(&d->options);
    duckdb_destroy_result(&d->result);
    tst_duck_disconnect(&d->con);
    st->release = NULL;
}

static struct ArrowArrayStream duck_stream(duck_producer *d, const char *sql)
{
    memset(d, 0, sizeof *d);
    assert_tst_ok(tst_duck_connect(&d->con));
    assert_tst_ok(tst_duck_query(d->con, "SET TimeZone = 'UTC'", NULL, "test"));
    assert_tst_ok(tst_duck_query(d->con, sql, &d->result, "test producer"));
    d->options = duckdb_result_get_arrow_options(&d->result);
    struct ArrowArrayStream s = {d_get_schema, d_get_next, d_get_last_error, d_release, d};
    return s;
}

static void duckdbs_own_arrow_export_appends_like_the_csv(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arrow");
    char *csv_root = tst_test_tmpdir("csv");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table *csv = tst_test_create_table(csv_root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(csv, NVDA_CSV, NULL, NULL, NULL));

    duck_producer d;
    struct ArrowArrayStream s =
        duck_stream(&d, "SELECT * FROM read_csv('" NVDA_CSV "') ORDER BY ts DESC");
    tst_append_result res;
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, &res));
    assert_int_equal(d.releases, 1);
    assert_int_equal(res.rows, 240);
    assert_int_equal(covered_hours(t, T0_US, T0_US + 300 * HOUR_US), 240);
    assert_int_equal(covered_hours(csv, T0_US, T0_US + 300 * HOUR_US), 240);
    /* Same columns, same types: DuckDB's TIMESTAMPTZ arrives as "tsu:UTC". */
    const tst_schema *a = tst_table_get_meta(t)->schema, *b = tst_table_get_meta(csv)->schema;
    assert_int_equal(a->column_count, b->column_count);
    for (size_t i = 0; i < a->column_count; i++) {
        char ta[128], tb[128];
        tst_type_format(&a->columns[i].type, ta, sizeof ta);
        tst_type_format(&b->columns[i].type, tb, sizeof tb);
        assert_string_equal(a->columns[i].name, b->columns[i].name);
        assert_string_equal(ta, tb);
    }
    assert_string_equal(type_text(t, "ts"), "timestamp[us](UTC)");

    /* The same rows again overlap what the table holds. */
    s = duck_stream(&d, "SELECT * FROM read_csv('" NVDA_CSV "') LIMIT 3");
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(d.releases, 1);
    tst_table_free(t);
    tst_table_free(csv);
    tst_test_rmtree(root);
    tst_test_rmtree(csv_root);
}

static void large_batches_are_staged_whole(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arrow");
    /* Many rows per bucket in one append: format_version 6 only. */
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    producer p = producer_init("tsu:UTC", "l", 8);
    p.step = 1000000; /* one row a second: 5000 rows in two hours */
    p.batch_count = 2;
    p.batch_rows[0] = 5000; /* more than one DuckDB vector */
    p.batch_rows[1] = 2100;
    struct ArrowArrayStream s = stream_of(&p);
    tst_append_result res;
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, &res));
    assert_released_once(&p);
    assert_int_equal(res.rows, 7100);
    assert_int_equal(covered_hours(t, T0_US, T0_US + 10 * HOUR_US), 2);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* Annotations (protocol 7, schema_metadata): the stream's schema and field metadata are
 * adopted by a first append, which declares the feature; a later stream may leave keys out,
 * but another value is TST_ESCHEMA with nothing written; bytes that are not UTF-8 are
 * TST_EINVAL before a batch is read. */
static void stream_annotations_are_adopted_inherited_and_checked(void **state)
{
    (void)state;
    /* {"unit": "ms"} and {"unit": "s"}; field v: {"scale": "2"} plus the extension-free rest */
    static const char ms[] = "\x01\x00\x00\x00" "\x04\x00\x00\x00" "unit" "\x02\x00\x00\x00" "ms";
    static const char s_[] = "\x01\x00\x00\x00" "\x04\x00\x00\x00" "unit" "\x01\x00\x00\x00" "s";
    static const char v_md[] = "\x01\x00\x00\x00" "\x05\x00\x00\x00" "scale"
                               "\x01\x00\x00\x00" "2";
    static const char bad[] = "\x01\x00\x00\x00" "\x01\x00\x00\x00" "k" "\x01\x00\x00\x00" "\xff";
    char *root = tst_test_tmpdir("arrow");
    tst_index_spec spec = tst_test_hourly_spec((char *[]){(char *)"symbol"}, 1);
    spec.kind.protocol = 7;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, root, &spec));

    producer p = producer_init("tsu:UTC", "l", 8);
    p.metadata = bad;
    p.batch_count = 1;
    p.batch_rows[0] = 2;
    struct ArrowArrayStream s = stream_of(&p);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "not valid UTF-8"));
    assert_int_equal(p.next, 0);
    assert_int_equal(data_files(root), 0);

    p = producer_init("tsu:UTC", "l", 8);
    p.metadata = ms;
    p.v_metadata = v_md;
    p.batch_count = 1;
    p.batch_rows[0] = 2;
    s = stream_of(&p);
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));
    const tst_table_meta *meta = tst_table_get_meta(t);
    assert_string_equal(tst_metadata_get(&meta->schema->metadata, "unit"), "ms");
    assert_string_equal(tst_metadata_get(&meta->schema->columns[2].metadata, "scale"), "2");
    assert_int_equal(meta->reader_feature_count, 1);
    assert_string_equal(meta->reader_features[0], "schema_metadata");
    assert_string_equal(meta->writer_features[0], "schema_metadata");

    p = producer_init("tsu:UTC", "l", 8); /* no annotations: inherited */
    p.ts0 = T0_US + 10 * HOUR_US;
    p.batch_count = 1;
    p.batch_rows[0] = 2;
    s = stream_of(&p);
    assert_tst_ok(tst_table_append_arrow(t, &s, NULL, NULL));

    p = producer_init("tsu:UTC", "l", 8);
    p.ts0 = T0_US + 20 * HOUR_US;
    p.metadata = s_;
    p.batch_count = 1;
    p.batch_rows[0] = 2;
    s = stream_of(&p);
    assert_tst_fails(tst_table_append_arrow(t, &s, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "schema metadata conflicts with the table "
                                                      "for key \"unit\""));
    assert_int_equal(files_in(root, "data/_managed/append"), 2);
    assert_int_equal(p.next, 0); /* refused unread, as the reference does */
    assert_released_once(&p);
    assert_int_equal(tst_table_version(t), 3);
    tst_table_free(t);
    /* The log reopens with the annotations and the feature. */
    assert_tst_ok(tst_table_open(&t, root));
    assert_string_equal(tst_metadata_get(&tst_table_get_meta(t)->schema->metadata, "unit"), "ms");
    tst_table_free(t);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hand_made_stream_with_an_empty_batch_becomes_the_first_segment),
        cmocka_unit_test(timestamp_units_and_zones_are_adopted_exactly),
        cmocka_unit_test(a_narrow_integer_stream_widens_on_a_later_append),
        cmocka_unit_test(unsupported_types_are_refused_on_the_first_append_naming_the_column),
        cmocka_unit_test(converted_types_from_a_stream_are_adopted),
        cmocka_unit_test(a_uuid_extension_stream_is_refused_with_the_way_out),
        cmocka_unit_test(an_empty_stream_is_refused_before_anything_is_written),
        cmocka_unit_test(a_producer_failing_midway_fails_the_append_and_writes_nothing),
        cmocka_unit_test(duckdbs_own_arrow_export_appends_like_the_csv),
        cmocka_unit_test(large_batches_are_staged_whole),
        cmocka_unit_test(stream_annotations_are_adopted_inherited_and_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
