/*
 * arrow_export.h — batches shared between a SqlResult and the streams
 * exported from it (see arrow_export.c). Plain C: callable without the GIL.
 */
#ifndef TTF_ARROW_EXPORT_H
#define TTF_ARROW_EXPORT_H

#include <stdatomic.h>
#include <stddef.h>

#include "tstable/arrow.h"

struct ttf_batches {
    atomic_int refs;
    struct ArrowSchema schema; /* a struct ("+s") of the columns */
    struct ArrowArray *arrays; /* non-empty batches, in stream order */
    size_t count, cap;
    int64_t rows;
};
typedef struct ttf_batches ttf_batches;

ttf_batches *ttf_batches_drain(struct ArrowArrayStream *stream, char *err, size_t errcap);
void ttf_batches_incref(ttf_batches *b);
void ttf_batches_decref(ttf_batches *b);
/* A new stream over b (one more reference); -1 when out of memory. */
int ttf_batches_export(ttf_batches *b, struct ArrowArrayStream *out);

#endif
