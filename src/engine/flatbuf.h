/*
 * flatbuf.h — a small FlatBuffers writer for the Arrow IPC messages we emit.
 *
 * Two writers need it: the ARROW:schema footer key of re-encoded segments
 * (arrow_schema_write.c) and the Arrow IPC stream export (arrow_ipc.c).
 * The buffer is written front to back: a table is written with its
 * reference slots empty, the objects they point to after it, then the slots
 * are patched (fbw_set_ref), so every uoffset points forward. Each vtable
 * precedes its table; scalars sit at multiples of their size, largest
 * first; tables, strings and vectors start at multiples of 4. A failure
 * (ENOMEM, or more than FB_MAX_BYTES) is remembered in rc and every later
 * write is dropped, so callers check once at the end.
 */
#ifndef TST_FLATBUF_H
#define TST_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FB_MAX_BYTES (64u << 20) /* metadata beyond this is a runaway schema */
#define FB_MAX_SLOTS 8           /* the widest table written (Field) has 7 */

typedef struct fbw {
    uint8_t *p;
    size_t len, cap;
    int rc; /* 0, or why the buffer stopped growing; later writes are dropped */
} fbw;

typedef struct fb_slot {
    uint8_t size;   /* 1, 2, 4 or 8 bytes; 0 when the slot is absent */
    bool ref;       /* a uoffset, patched with fbw_set_ref() once its target exists */
    uint64_t value; /* a scalar's value */
} fb_slot;

extern const fb_slot FB_REF;
extern const fb_slot FB_ABSENT;

fb_slot fb_scalar(uint8_t size, uint64_t value);
/* A scalar slot, absent when it equals the schema's default (as the
 * flatbuffers library writes them). */
fb_slot fb_scalar_unless(uint8_t size, int64_t value, int64_t dflt);

/* Appends `size` zero bytes at the first position p with (p + skew) a
 * multiple of `align` (a power of two); SIZE_MAX once the writer failed. */
size_t fbw_reserve(fbw *w, size_t align, size_t skew, size_t size);
void fbw_put(fbw *w, size_t pos, uint64_t v, size_t size);
uint64_t fbw_get(const fbw *w, size_t pos, size_t size);
/* Points the uoffset at `at` to `target`, written after it. */
void fbw_put_ref(fbw *w, size_t at, size_t target);
/* A vtable and its table; reference slots stay zero until fbw_set_ref(). */
size_t fbw_table(fbw *w, const fb_slot *slots, int n);
/* Patches reference slot `slot` of `table` to point to `target`. */
void fbw_set_ref(fbw *w, size_t table, int slot, size_t target);
size_t fbw_string(fbw *w, const char *s, size_t len);
/* A vector of `count` uoffsets, filled with fbw_set_element(). */
size_t fbw_vector(fbw *w, size_t count);
void fbw_set_element(fbw *w, size_t vector, size_t i, size_t target);
/* A vector of `count` structs of two int64 (FieldNode, Buffer). */
size_t fbw_pairs(fbw *w, const int64_t (*pairs)[2], size_t count);
/* An encapsulated IPC message: begin reserves the continuation marker, the
 * length and the root uoffset (returned); end pads to 8 and fills them in. */
size_t fbw_begin_message(fbw *w);
void fbw_end_message(fbw *w);

#endif
