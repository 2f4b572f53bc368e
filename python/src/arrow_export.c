/*
 * arrow_export.c — batches drained from an Arrow C stream, and streams
 * exported from them again, without copying a buffer.
 *
 * A SqlResult holds its rows as the ArrowArrays its producer (DuckDB)
 * handed over. Python code may export the same result several times
 * (pyarrow.table(result) twice, or append(result) to two tables), and each
 * consumer must be free to release, or move children out of, what it got.
 * So every export gets fresh ArrowArray structs ("views") that point at
 * the original buffers, and every view holds a reference on the batches;
 * the originals are released when the last SqlResult and the last view are
 * gone. The schema is deep-copied per export for the same reason.
 *
 * Nothing here touches Python: draining and releasing may run with the GIL
 * released, and a consumer may release a view on any thread, so the
 * reference count is atomic.
 */
#include "arrow_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- batches ------------------------------------------------------------ */

static void batches_free(ttf_batches *b)
{
    for (size_t i = 0; i < b->count; i++)
        if (b->arrays[i].release)
            b->arrays[i].release(&b->arrays[i]);
    free(b->arrays);
    if (b->schema.release)
        b->schema.release(&b->schema);
    free(b);
}

void ttf_batches_decref(ttf_batches *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1)
        batches_free(b);
}

void ttf_batches_incref(ttf_batches *b)
{
    atomic_fetch_add(&b->refs, 1);
}

static int batches_push(ttf_batches *b, struct ArrowArray *array)
{
    if (b->count == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        struct ArrowArray *grown = realloc(b->arrays, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        b->arrays = grown;
        b->cap = cap;
    }
    b->arrays[b->count++] = *array;
    b->rows += array->length;
    array->release = NULL; /* moved */
    return 0;
}

static void stream_error(struct ArrowArrayStream *s, int rc, const char *what, char *err,
                         size_t cap)
{
    const char *detail = s->get_last_error ? s->get_last_error(s) : NULL;
    snprintf(err, cap, "%s failed: %s", what, detail && detail[0] ? detail : strerror(rc));
}

ttf_batches *ttf_batches_drain(struct ArrowArrayStream *stream, char *err, size_t errcap)
{
    ttf_batches *b = calloc(1, sizeof *b);
    if (b == NULL) {
        snprintf(err, errcap, "out of memory");
        stream->release(stream);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    int rc = stream->get_schema(stream, &b->schema);
    if (rc != 0)
        stream_error(stream, rc, "reading the result's schema", err, errcap);
    while (rc == 0) {
        struct ArrowArray array = {0};
        rc = stream->get_next(stream, &array);
        if (rc != 0) {
            stream_error(stream, rc, "reading the result", err, errcap);
            break;
        }
        if (array.release == NULL)
            break; /* end of stream */
        if (array.length == 0) {
            array.release(&array);
            continue;
        }
        if (batches_push(b, &array) < 0) {
            array.release(&array);
            snprintf(err, errcap, "out of memory");
            rc = ENOMEM;
        }
    }
    stream->release(stream);
    if (rc != 0) {
        ttf_batches_decref(b);
        return NULL;
    }
    return b;
}

/* ---- schema copies ------------------------------------------------------ */

static size_t metadata_size(const char *metadata)
{
    if (metadata == NULL)
        return 0;
    int32_t n, len;
    size_t pos = sizeof n;
    memcpy(&n, metadata, sizeof n);
    for (int32_t i = 0; i < 2 * n; i++) {
        memcpy(&len, metadata + pos, sizeof len);
        pos += sizeof len + (size_t)len;
    }
    return pos;
}

static void schema_copy_release(struct ArrowSchema *s)
{
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release)
            s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    if (s->dictionary) {
        if (s->dictionary->release)
            s->dictionary->release(s->dictionary);
        free(s->dictionary);
    }
    free((void *)s->format);
    free((void *)s->name);
    free((void *)s->metadata);
    s->release = NULL;
}

static char *dup_or_null(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

static int schema_copy(struct ArrowSchema *out, const struct ArrowSchema *src)
{
    memset(out, 0, sizeof *out);
    out->release = schema_copy_release; /* safe on a partial copy */
    out->flags = src->flags;
    out->format = dup_or_null(src->format, strlen(src->format) + 1);
    out->name = dup_or_null(src->name, src->name ? strlen(src->name) + 1 : 0);
    out->metadata = dup_or_null(src->metadata, metadata_size(src->metadata));
    out->children = calloc((size_t)src->n_children + 1, sizeof *out->children);
    if (!out->format || (src->name && !out->name) || (src->metadata && !out->metadata) ||
        !out->children)
        goto fail;
    for (int64_t i = 0; i < src->n_children; i++) {
        out->children[i] = malloc(sizeof **out->children);
        if (out->children[i] == NULL)
            goto fail;
        out->n_children = i + 1;
        if (schema_copy(out->children[i], src->children[i]) < 0)
            goto fail;
    }
    if (src->dictionary) {
        out->dictionary = malloc(sizeof *out->dictionary);
        if (out->dictionary == NULL || schema_copy(out->dictionary, src->dictionary) < 0)
            goto fail;
    }
    return 0;
fail:
    out->release(out);
    return -1;
}

/* ---- array views -------------------------------------------------------- */

typedef struct view_private {
    ttf_batches *owner;
} view_private;

static void view_release(struct ArrowArray *a)
{
    for (int64_t i = 0; i < a->n_children; i++) {
        if (a->children[i]->release)
            a->children[i]->release(a->children[i]);
        free(a->children[i]);
    }
    free(a->children);
    if (a->dictionary) {
        if (a->dictionary->release)
            a->dictionary->release(a->dictionary);
        free(a->dictionary);
    }
    view_private *p = a->private_data;
    ttf_batches_decref(p->owner);
    free(p);
    a->release = NULL;
}

/* A view of src sharing its buffers; holds one reference on owner. */
static int view_array(struct ArrowArray *out, const struct ArrowArray *src, ttf_batches *owner)
{
    *out = *src;
    out->children = NULL;
    out->dictionary = NULL;
    out->n_children = 0;
    view_private *p = malloc(sizeof *p);
    if (p == NULL) {
        out->release = NULL;
        return -1;
    }
    ttf_batches_incref(owner);
    p->owner = owner;
    out->private_data = p;
    out->release = view_release;
    out->children = calloc((size_t)src->n_children + 1, sizeof *out->children);
    if (out->children == NULL)
        goto fail;
    for (int64_t i = 0; i < src->n_children; i++) {
        if ((out->children[i] = malloc(sizeof **out->children)) == NULL)
            goto fail;
        if (view_array(out->children[i], src->children[i], owner) < 0) {
            free(out->children[i]);
            goto fail;
        }
        out->n_children = i + 1;
    }
    if (src->dictionary) {
        out->dictionary = malloc(sizeof *out->dictionary);
        if (out->dictionary == NULL || view_array(out->dictionary, src->dictionary, owner) < 0) {
            free(out->dictionary);
            out->dictionary = NULL;
            goto fail;
        }
    }
    return 0;
fail:
    view_release(out);
    return -1;
}

/* ---- exported streams --------------------------------------------------- */

typedef struct export_private {
    ttf_batches *batches;
    size_t next;
    char error[64];
} export_private;

static int export_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    export_private *p = s->private_data;
    if (schema_copy(out, &p->batches->schema) == 0)
        return 0;
    snprintf(p->error, sizeof p->error, "out of memory copying the schema");
    return ENOMEM;
}

static int export_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    export_private *p = s->private_data;
    if (p->next == p->batches->count) {
        memset(out, 0, sizeof *out); /* release == NULL: end of stream */
        return 0;
    }
    if (view_array(out, &p->batches->arrays[p->next], p->batches) < 0) {
        snprintf(p->error, sizeof p->error, "out of memory exporting a batch");
        return ENOMEM;
    }
    p->next++;
    return 0;
}

static const char *export_last_error(struct ArrowArrayStream *s)
{
    export_private *p = s->private_data;
    return p->error[0] ? p->error : NULL;
}

static void export_release(struct ArrowArrayStream *s)
{
    export_private *p = s->private_data;
    ttf_batches_decref(p->batches);
    free(p);
    s->release = NULL;
}

int ttf_batches_export(ttf_batches *b, struct ArrowArrayStream *out)
{
    export_private *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    ttf_batches_incref(b);
    p->batches = b;
    out->get_schema = export_get_schema;
    out->get_next = export_get_next;
    out->get_last_error = export_last_error;
    out->release = export_release;
    out->private_data = p;
    return 0;
}
