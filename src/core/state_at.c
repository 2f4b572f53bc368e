/*
 * state_at.c — the state at an older version (see state_at.h).
 *
 * Vacuum asks for the state at the oldest retained version V0, which is
 * usually a few versions behind the head: the newest checkpoint at or below
 * V0 bounds the replay to the checkpoint interval, as open does for the head.
 */
#include "state_at.h"

#include "checkpoint.h"
#include "fail.h"
#include "fsio.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "<10 digits>.checkpoint" -> its version. */
static bool checkpoint_name(const char *name, uint64_t *out)
{
    if (strlen(name) != 10 + strlen(".checkpoint") || strcmp(name + 10, ".checkpoint") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *out = v;
    return v > 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tst_checkpoint_list(const char *root, uint64_t **out, size_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    char *dir = tst_io_join(root, TST_CHECKPOINT_DIR);
    if (!dir)
        return TST_ENOMEM;
    DIR *d = opendir(dir);
    if (!d) {
        int err = errno, rc = 0;
        if (err != ENOENT)
            rc = tst_fail_errno(TST_EIO, err, "cannot list checkpoints in %s", dir);
        free(dir);
        return rc;
    }
    int rc = 0;
    size_t cap = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        uint64_t v;
        if (!checkpoint_name(e->d_name, &v))
            continue;
        if (*out_count == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                rc = tst_fail(TST_ENOMEM, "out of memory listing checkpoints");
                break;
            }
            *out = grown;
        }
        (*out)[(*out_count)++] = v;
    }
    closedir(d);
    free(dir);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *out_count = 0;
        return rc;
    }
    if (*out_count > 1)
        qsort(*out, *out_count, sizeof **out, compare_u64);
    return 0;
}

/* Starts from the newest readable checkpoint at or below version, if any. */
static void start_from_checkpoint(tst_state *out, const char *root, uint64_t version)
{
    uint64_t *versions = NULL;
    size_t count = 0;
    if (tst_checkpoint_list(root, &versions, &count) != 0)
        return;
    for (size_t i = count; i-- > 0;) {
        if (versions[i] > version)
            continue;
        if (tst_checkpoint_load_version(root, versions[i], out) == 0)
            break;
        tst_state_clear(out);
        tst_state_init(out);
    }
    free(versions);
}

int tst_state_load_at(tst_state *out, const char *root, uint64_t version)
{
    tst_state_init(out);
    start_from_checkpoint(out, root, version);
    while (out->version < version) {
        tst_commit c;
        int rc = tst_log_load_commit_for(root, out->version + 1,
                                         out->has_meta ? out->meta.protocol_version : 0, &c);
        if (rc == 0) {
            char origin[64];
            snprintf(origin, sizeof origin, "commit %" PRIu64, c.version);
            rc = tst_state_apply_owned(out, &c, origin);
        }
        tst_commit_clear(&c);
        if (rc != 0)
            return tst_fail_context(rc, "table %s: loading version %" PRIu64, root, version);
    }
    return 0;
}
