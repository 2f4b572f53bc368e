/*
 * flatbuf.c — the FlatBuffers writer (see flatbuf.h).
 */
#include "flatbuf.h"

#include "tstable/error.h"

#include <stdlib.h>
#include <string.h>

const fb_slot FB_REF = {4, true, 0};
const fb_slot FB_ABSENT = {0, false, 0};

fb_slot fb_scalar(uint8_t size, uint64_t value)
{
    return (fb_slot){size, false, value};
}

fb_slot fb_scalar_unless(uint8_t size, int64_t value, int64_t dflt)
{
    return value == dflt ? FB_ABSENT : fb_scalar(size, (uint64_t)value);
}

/* Appends `size` zero bytes at the first position p with (p + skew) a
 * multiple of `align` (a power of two); SIZE_MAX once the writer failed. */
size_t fbw_reserve(fbw *w, size_t align, size_t skew, size_t size)
{
    size_t pos = ((w->len + skew + align - 1) & ~(align - 1)) - skew;
    if (w->rc == 0 && (size > FB_MAX_BYTES || pos + size > FB_MAX_BYTES))
        w->rc = TST_EINVAL;
    if (w->rc == 0 && pos + size > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap < pos + size)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (p)
            w->p = p, w->cap = cap;
        else
            w->rc = TST_ENOMEM;
    }
    if (w->rc != 0)
        return SIZE_MAX;
    memset(w->p + w->len, 0, pos + size - w->len);
    w->len = pos + size;
    return pos;
}

void fbw_put(fbw *w, size_t pos, uint64_t v, size_t size)
{
    for (size_t i = 0; w->rc == 0 && i < size; i++)
        w->p[pos + i] = (uint8_t)(v >> (8 * i));
}

uint64_t fbw_get(const fbw *w, size_t pos, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; w->rc == 0 && i < size; i++)
        v |= (uint64_t)w->p[pos + i] << (8 * i);
    return v;
}

/* Points the uoffset at `at` to `target`, written after it. */
void fbw_put_ref(fbw *w, size_t at, size_t target)
{
    fbw_put(w, at, target - at, 4);
}

/* Slot offsets in a table: the 4-byte soffset, then the present slots
 * largest first, each at a multiple of its size. Returns the table size. */
static size_t fb_layout(const fb_slot *slots, int n, uint16_t *offs, size_t *align)
{
    static const uint8_t SIZES[] = {8, 4, 2, 1};
    size_t end = 4;
    *align = 4;
    for (size_t k = 0; k < sizeof SIZES; k++)
        for (int i = 0; i < n; i++) {
            if (slots[i].size != SIZES[k])
                continue;
            end = (end + SIZES[k] - 1) & ~(size_t)(SIZES[k] - 1);
            offs[i] = (uint16_t)end;
            end += SIZES[k];
            *align = SIZES[k] > *align ? SIZES[k] : *align;
        }
    return end;
}

/* A vtable and its table; reference slots stay zero until fbw_set_ref(). */
size_t fbw_table(fbw *w, const fb_slot *slots, int n)
{
    uint16_t offs[FB_MAX_SLOTS] = {0};
    size_t align;
    while (n > 0 && slots[n - 1].size == 0)
        n--;
    if (n > FB_MAX_SLOTS && w->rc == 0)
        w->rc = TST_EINVAL; /* a caller's mistake, never the data's */
    if (w->rc != 0)
        return SIZE_MAX;
    size_t size = fb_layout(slots, n, offs, &align);
    size_t vt = fbw_reserve(w, 2, 0, 4 + 2 * (size_t)n);
    size_t t = fbw_reserve(w, align, 0, size);
    fbw_put(w, vt, 4 + 2 * (uint64_t)n, 2);
    fbw_put(w, vt + 2, size, 2);
    for (int i = 0; i < n; i++)
        fbw_put(w, vt + 4 + 2 * (size_t)i, offs[i], 2);
    fbw_put(w, t, t - vt, 4);
    for (int i = 0; i < n; i++)
        if (slots[i].size != 0 && !slots[i].ref)
            fbw_put(w, t + offs[i], slots[i].value, slots[i].size);
    return t;
}

/* Patches reference slot `slot` of `table` (found through its vtable). */
void fbw_set_ref(fbw *w, size_t table, int slot, size_t target)
{
    size_t vt = table - fbw_get(w, table, 4);
    size_t entry = 4 + 2 * (size_t)slot;
    if (w->rc == 0 && entry < fbw_get(w, vt, 2))
        fbw_put_ref(w, table + fbw_get(w, vt + entry, 2), target);
}

size_t fbw_string(fbw *w, const char *s, size_t len)
{
    size_t pos = fbw_reserve(w, 4, 0, 4 + len + 1); /* the NUL is already zero */
    fbw_put(w, pos, len, 4);
    if (w->rc == 0 && len)
        memcpy(w->p + pos + 4, s, len);
    return pos;
}

/* A vector of `count` uoffsets, filled with fbw_set_element(). */
size_t fbw_vector(fbw *w, size_t count)
{
    if (w->rc == 0 && count > FB_MAX_BYTES / 4)
        w->rc = TST_EINVAL;
    size_t pos = fbw_reserve(w, 4, 0, 4 + 4 * count);
    fbw_put(w, pos, count, 4);
    return pos;
}

void fbw_set_element(fbw *w, size_t vector, size_t i, size_t target)
{
    fbw_put_ref(w, vector + 4 + 4 * i, target);
}

/* A vector of `count` structs of two int64 (FieldNode, Buffer): the
 * count sits just before an 8-aligned first element. */
size_t fbw_pairs(fbw *w, const int64_t (*pairs)[2], size_t count)
{
    if (w->rc == 0 && count > FB_MAX_BYTES / 16)
        w->rc = TST_EINVAL;
    size_t pos = fbw_reserve(w, 8, 4, 4 + 16 * count);
    fbw_put(w, pos, count, 4);
    for (size_t i = 0; i < count; i++) {
        fbw_put(w, pos + 4 + 16 * i, (uint64_t)pairs[i][0], 8);
        fbw_put(w, pos + 12 + 16 * i, (uint64_t)pairs[i][1], 8);
    }
    return pos;
}

/* Starts a message: room for the continuation marker and length. */
size_t fbw_begin_message(fbw *w)
{
    w->len = 0;
    w->rc = 0;
    fbw_reserve(w, 8, 0, 8);
    return fbw_reserve(w, 4, 0, 4); /* the root uoffset */
}

/* Pads the flatbuffer to 8 and writes FF FF FF FF and its length first. */
void fbw_end_message(fbw *w)
{
    fbw_reserve(w, 8, 0, 0);
    fbw_put(w, 0, 0xFFFFFFFFu, 4);
    fbw_put(w, 4, w->len - 8, 4);
}

