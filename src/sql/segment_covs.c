/*
 * segment_covs.c — a session's cache of segment coverage sidecars.
 *
 * The pruner reads a segment's sidecar only when min/max cannot decide
 * (prune.c, "the bitmap check"), and a session asks the same questions of
 * the same segments statement after statement. A sidecar's path names its
 * content (format §1.11: the coverage id is a hash of the bytes) and files
 * are never rewritten, so a path read once is good for the session's
 * lifetime, across table versions: a commit adds new paths, it never
 * changes what an old one holds. The cache is an open-addressing hash table
 * keyed by that path, one per registered table (freed with the
 * registration). A file that could not be read is remembered as such, so
 * a table with a lost sidecar pays one failed read, not one per statement.
 *
 * Memory is bounded: past MAX_ENTRIES sidecars (removed segments' entries
 * included) the cache is emptied and refills with what statements ask for.
 */
#include "segment_covs.h"

#include "tstable/error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES ((size_t)1 << 16)

typedef struct entry {
    char *path;        /* NULL: free slot */
    bool ok;           /* cov holds the decoded sidecar */
    tst_table_cov cov;
} entry;

struct tst_segment_covs {
    entry *slots;
    size_t cap, count; /* cap is a power of two, count <= cap / 2 */
};

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static entry *slot_of(const tst_segment_covs *c, const char *path)
{
    size_t i = hash(path) & (c->cap - 1);
    while (c->slots[i].path && strcmp(c->slots[i].path, path) != 0)
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static void clear_slots(entry *slots, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        free(slots[i].path);
        tst_table_cov_clear(&slots[i].cov);
    }
}

/* Room for one more entry: doubles the table, or empties it at the cap. */
static bool make_room(tst_segment_covs *c)
{
    if (c->count >= MAX_ENTRIES) {
        clear_slots(c->slots, c->cap);
        memset(c->slots, 0, c->cap * sizeof *c->slots);
        c->count = 0;
    }
    if (c->slots && (c->count + 1) * 2 <= c->cap)
        return true;
    size_t cap = c->cap ? c->cap * 2 : 64;
    entry *old = c->slots, *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    size_t old_cap = c->cap;
    c->slots = slots, c->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].path)
            *slot_of(c, old[i].path) = old[i];
    free(old);
    return true;
}

const tst_table_cov *tst_segment_covs_get(tst_segment_covs **covs, const char *root,
                                          const tst_index_spec *spec, const tst_schema *schema,
                                          const char *coverage_path)
{
    if (!coverage_path || !*coverage_path || !root)
        return NULL;
    if (!*covs && (*covs = calloc(1, sizeof **covs)) == NULL)
        return NULL;
    tst_segment_covs *c = *covs;
    if (c->slots) {
        entry *e = slot_of(c, coverage_path);
        if (e->path)
            return e->ok ? &e->cov : NULL;
    }
    if (!make_room(c))
        return NULL;
    entry *e = slot_of(c, coverage_path);
    if ((e->path = strdup(coverage_path)) == NULL)
        return NULL;
    c->count++;
    e->ok = tst_sidecar_read(root, coverage_path, spec, schema, &e->cov) == 0;
    if (!e->ok) {
        tst_table_cov_clear(&e->cov);
        tst_error_clear(); /* not a failure of the statement: it reads the segment */
    }
    return e->ok ? &e->cov : NULL;
}

void tst_segment_covs_free(tst_segment_covs *covs)
{
    if (!covs)
        return;
    clear_slots(covs->slots, covs->cap);
    free(covs->slots);
    free(covs);
}
