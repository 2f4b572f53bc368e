/* testsupport.c — see testsupport.h. */
#include "testsupport.h"

#include "fsio.h"
#include "sidecar.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tst_test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t cap = strlen(base) + strlen(tag) + 32;
    char *path = malloc(cap);
    snprintf(path, cap, "%s/tst-%s-XXXXXX", base, tag);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tst_test_rmtree(char *path)
{
    if (!path)
        return;
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

int tst_test_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    *out = buf;
    if (len)
        *len = got;
    return got == (size_t)n ? 0 : -1;
}

int tst_test_write_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(bytes, 1, len, f);
    return (fclose(f) == 0 && put == len) ? 0 : -1;
}

char *tst_test_path(const char *dir, const char *rel)
{
    size_t cap = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(cap);
    snprintf(p, cap, "%s/%s", dir, rel);
    return p;
}

size_t tst_test_hex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    int hi = -1;
    for (const char *c = hex; *c; c++) {
        int v;
        if (*c >= '0' && *c <= '9')
            v = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            v = *c - 'a' + 10;
        else if (*c >= 'A' && *c <= 'F')
            v = *c - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

int tst_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tst_test_write_commit(const char *root, uint64_t version, const char *actions_json)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/_timeseries_log", root);
    mkdir(root, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%010llu.json", dir, (unsigned long long)version);
    size_t cap = strlen(actions_json) + 200;
    char *text = malloc(cap);
    int n = snprintf(text, cap,
                     "{\"version\":%llu,\"base_version\":%llu,\"timestamp\":"
                     "\"2026-01-01T00:00:00Z\",\"actions\":%s}",
                     (unsigned long long)version, (unsigned long long)(version - 1), actions_json);
    int rc = tst_test_write_file(path, text, (size_t)n);
    free(text);
    return rc;
}

int tst_test_set_current(const char *root, uint64_t version)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/_timeseries_log/CURRENT", root);
    int n = snprintf(text, sizeof text, "%llu\n", (unsigned long long)version);
    return tst_test_write_file(path, text, (size_t)n);
}

char *tst_test_read_commit(const char *root, uint64_t version)
{
    char rel[64];
    snprintf(rel, sizeof rel, "_timeseries_log/%010llu.json", (unsigned long long)version);
    char *path = tst_test_path(root, rel), *text = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &text, &len), 0);
    free(path);
    return text;
}

void tst_test_put(const char *root, const char *rel, const char *text)
{
    char *path = tst_test_path(root, rel);
    char *dir = strdup(path);
    *strrchr(dir, '/') = '\0';
    assert_tst_ok(tst_io_mkdirs(dir));
    assert_int_equal(tst_test_write_file(path, text, strlen(text)), 0);
    free(dir);
    free(path);
}

const char *const TST_TEST_META_ACTION =
    "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"
    "[\"symbol\"],\"kind\":{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}}},"
    "\"logical_schema\":{\"columns\":[{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":"
    "\"Millis\",\"timezone\":null}},\"nullable\":false},{\"name\":\"symbol\",\"data_type\":"
    "\"Utf8\",\"nullable\":false},{\"name\":\"close\",\"data_type\":\"Float64\",\"nullable\":"
    "false}]},\"created_at\":\"2026-01-01T00:00:00Z\",\"format_version\":6}}";

char *tst_test_add_segment_action(const char *path, const char *sym, long long min_sec,
                                  long long max_sec)
{
    char min_text[64], max_text[64];
    tst_timestamp_format((tst_timestamp){min_sec, 0}, min_text, sizeof min_text);
    tst_timestamp_format((tst_timestamp){max_sec, 0}, max_text, sizeof max_text);
    size_t cap = strlen(path) + strlen(sym) + 512;
    char *out = malloc(cap);
    snprintf(out, cap,
             "{\"AddSegment\":{\"path\":\"%s\",\"format\":\"parquet\",\"entity_layout\":"
             "{\"Single\":[{\"type\":\"utf8\",\"value\":\"%s\"}]},\"index_min\":{\"type\":"
             "\"timestamp\",\"value\":\"%s\"},\"index_max\":{\"type\":\"timestamp\",\"value\":"
             "\"%s\"},\"row_count\":1,\"file_size\":100}}",
             path, sym, min_text, max_text);
    return out;
}

tst_index_value tst_test_ts(const char *text)
{
    tst_index_value v = {TST_INDEX_TIMESTAMP, {{0, 0}}};
    assert_tst_ok(tst_timestamp_parse(&v.v.ts, text));
    return v;
}

tst_entity_binding tst_test_symbol(const char *value)
{
    tst_entity_binding b;
    b.column = "symbol";
    b.value.type = TST_ENTITY_UTF8;
    b.value.v.utf8.ptr = value;
    b.value.v.utf8.len = strlen(value);
    return b;
}

int tst_test_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = tst_test_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0)
            n += S_ISDIR(st.st_mode) ? tst_test_count_files(p) : 1;
        free(p);
    }
    closedir(d);
    return n;
}

tst_index_spec tst_test_hourly_spec(char **entities, size_t n)
{
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "ts";
    spec.entity_columns = entities;
    spec.entity_count = n;
    spec.kind.type = TST_INDEX_TIMESTAMP;
    spec.kind.bucket.unit = TST_TIME_HOURS;
    spec.kind.bucket.count = 1;
    return spec;
}

static tst_table *create_table(const char *root, const char *index_column,
                               const char *entity_column, tst_time_unit unit, uint32_t count,
                               uint32_t protocol)
{
    char *entities[1] = {(char *)entity_column};
    tst_index_spec spec = tst_test_hourly_spec(entities, entity_column ? 1 : 0);
    if (!entity_column)
        spec.entity_columns = NULL;
    spec.column = (char *)index_column;
    spec.kind.bucket.unit = unit;
    spec.kind.bucket.count = count;
    spec.kind.protocol = protocol;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, root, &spec));
    return t;
}

tst_test_log_state tst_test_log_state_of(const char *root)
{
    tst_test_log_state s;
    memset(&s, 0, sizeof s);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    s.version = tst_table_version(t);
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        s.rows += seg->row_count;
        s.mixed += seg->layout.kind == TST_LAYOUT_MIXED;
        char *data = tst_test_path(root, seg->path), *cov = tst_test_path(root, seg->coverage_path);
        assert_true(tst_test_exists(data) && tst_test_exists(cov));
        free(data);
        free(cov);
    }
    const tst_table_cov *cov = NULL;
    assert_tst_ok(tst_table_load_coverage(t, &cov));
    tst_table_cov *copy = calloc(1, sizeof *copy);
    assert_non_null(copy);
    assert_tst_ok(tst_table_cov_clone(copy, cov));
    s.cov = copy;
    tst_table_free(t);
    return s;
}

void tst_test_assert_same_log_data(const tst_test_log_state *a, const tst_test_log_state *b)
{
    assert_int_equal(a->rows, b->rows);
    assert_true(tst_table_cov_equals(a->cov, b->cov));
}

void tst_test_log_state_clear(tst_test_log_state *s)
{
    if (s->cov)
        tst_table_cov_clear(s->cov);
    free(s->cov);
    s->cov = NULL;
}

tst_table *tst_test_create_table(const char *root, const char *index_column,
                                 const char *entity_column, tst_time_unit unit, uint32_t count)
{
    return create_table(root, index_column, entity_column, unit, count, 0);
}

tst_table *tst_test_create_table_v6(const char *root, const char *index_column,
                                    const char *entity_column, tst_time_unit unit, uint32_t count)
{
    return create_table(root, index_column, entity_column, unit, count, TST_FORMAT_VERSION);
}

tst_table *tst_test_create_symbol_table(const char *root, uint32_t protocol)
{
    return create_table(root, "ts", "symbol", TST_TIME_HOURS, 1, protocol);
}
