/*
 * fsio.h — every durable file operation of the library, in one small layer.
 *
 * The commit protocol's guarantees rest on a handful of primitives: create a
 * file that must be new, publish a finished temp file under a name without
 * overwriting (link), replace a small file atomically (temp + fsync + rename),
 * and fsync a folder that gained an entry. They all live here so that a test
 * can fail or crash the process at any numbered step ("fault injection"),
 * the way SQLite's test6.c simulates crashes at each sync.
 *
 * Faults: tst_io_set_fault(TST_IO_FAULT_CRASH, n) makes the n-th mutating
 * step (1-based: each write, fsync, link, rename, unlink) _exit(77) before it
 * runs; TST_IO_FAULT_FAIL makes it fail with EIO instead. The environment
 * variables TST_IO_CRASH_AT and TST_IO_FAIL_AT do the same for child
 * processes. TST_UNSAFE_NO_FSYNC=1 skips fsync (only for building huge test
 * fixtures quickly; never for real data).
 */
#ifndef TST_FSIO_H
#define TST_FSIO_H

#include <stddef.h>
#include <stdint.h>

typedef enum tst_io_fault_kind {
    TST_IO_FAULT_NONE = 0,
    TST_IO_FAULT_CRASH = 1,
    TST_IO_FAULT_FAIL = 2
} tst_io_fault_kind;

void tst_io_set_fault(tst_io_fault_kind kind, uint64_t at_step);
/* Number of mutating steps taken so far in this process. */
uint64_t tst_io_steps(void);

/* Reads a whole file of at most max_len bytes; *out is malloc'd and
 * NUL-terminated. Missing file: TST_ENOTFOUND. Larger: TST_ECORRUPT. */
int tst_io_read_file(const char *path, size_t max_len, char **out, size_t *out_len);

/* Maps a whole file of at most max_len bytes read-only (errors as above);
 * release it with tst_io_unmap_file. For large immutable files read in
 * part (a coverage snapshot asked about one entity): only the pages
 * touched are read, none are copied. An empty file maps to NULL, 0.
 * The file must not shrink while mapped (tstable never changes a file in
 * place; an unlink leaves the mapping valid). */
int tst_io_map_file(const char *path, size_t max_len, const uint8_t **out, size_t *out_len);
void tst_io_unmap_file(const uint8_t *bytes, size_t len);

/* Creates path exclusively, writes bytes, fsyncs, closes. Exists: TST_EEXISTS.
 * On any failure the partial file is removed. Does not fsync the folder. */
int tst_io_write_new(const char *path, const void *bytes, size_t len);

/* Publishes a finished file under a new name without ever overwriting:
 * link(from, to). Exists: TST_EEXISTS. */
int tst_io_link_new(const char *from, const char *to);

/* Atomically replaces path's content: unique temp in the same folder, write,
 * fsync, rename over path, fsync the folder. */
int tst_io_replace(const char *path, const void *bytes, size_t len);

int tst_io_rename(const char *from, const char *to);
int tst_io_unlink(const char *path); /* a missing file is not an error */
int tst_io_fsync_dir(const char *dir);
/* Removes an empty folder; a missing one is not an error, a non-empty one is TST_EIO. */
int tst_io_rmdir(const char *dir);
/* mkdir -p; fsyncs each parent that gained a folder. */
int tst_io_mkdirs(const char *dir);

/* Creates one folder that must be new (its parent must exist). Exists:
 * TST_EEXISTS. Does not fsync the parent. */
int tst_io_mkdir_new(const char *dir);

/* Copies a regular file to a new path, streaming in 1 MiB chunks, then fsyncs
 * the copy. Exists: TST_EEXISTS. On failure the partial copy is removed.
 * *out_bytes (may be NULL) gets the bytes copied. */
int tst_io_copy_new(const char *from, const char *to, uint64_t *out_bytes);

/* Renames a folder (or file) to a name that must not exist: renameat2 with
 * RENAME_NOREPLACE, or, where the kernel lacks it, a check then rename(2).
 * Exists: TST_EEXISTS. */
int tst_io_rename_new(const char *from, const char *to);

/* Removes a folder and everything under it (best effort, for discarding a
 * private staging folder; symlinks are removed, never followed). */
int tst_io_remove_tree(const char *dir);

/* A fresh random UUID v4, lowercase hyphenated, into buf (>= 37 bytes). */
int tst_io_uuid(char *buf);

/* Joins path parts with '/', malloc'd; NULL on ENOMEM (error recorded). */
char *tst_io_join(const char *a, const char *b);

#endif
