/*
 * fsio.c — durable file primitives with fault injection (see fsio.h).
 *
 * Each mutating syscall first passes through step(), which counts it and,
 * when a fault is armed for that count, either ends the process on the spot
 * (a crash: nothing after it runs, no cleanup) or fails it with EIO (an
 * error the caller must handle). Reads are never counted: a crash cannot
 * corrupt anything by interrupting a read.
 */
#include "fsio.h"

#include "fail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static tst_io_fault_kind fault_kind = TST_IO_FAULT_NONE;
static uint64_t fault_step;
static uint64_t steps_taken;
static int env_read;
static int no_fsync;

static void read_env(void)
{
    if (env_read)
        return;
    env_read = 1;
    const char *crash = getenv("TST_IO_CRASH_AT");
    const char *fail = getenv("TST_IO_FAIL_AT");
    if (crash && *crash) {
        fault_kind = TST_IO_FAULT_CRASH;
        fault_step = strtoull(crash, NULL, 10);
    } else if (fail && *fail) {
        fault_kind = TST_IO_FAULT_FAIL;
        fault_step = strtoull(fail, NULL, 10);
    }
    const char *nf = getenv("TST_UNSAFE_NO_FSYNC");
    no_fsync = nf && strcmp(nf, "1") == 0;
}

void tst_io_set_fault(tst_io_fault_kind kind, uint64_t at_step)
{
    read_env();
    fault_kind = kind;
    fault_step = at_step;
    steps_taken = 0;
}

uint64_t tst_io_steps(void)
{
    return steps_taken;
}

/* Counts one mutating step; returns 0 to proceed, or -1 with errno = EIO. */
static int step(void)
{
    read_env();
    steps_taken++;
    if (fault_kind == TST_IO_FAULT_NONE || steps_taken != fault_step)
        return 0;
    if (fault_kind == TST_IO_FAULT_CRASH)
        _exit(77);
    errno = EIO;
    return -1;
}

static int do_fsync(int fd)
{
    if (step() != 0)
        return -1;
    if (no_fsync)
        return 0;
    return fsync(fd);
}

/* Opens a file to read whole, no larger than max_len bytes: *fd and its
 * size, or the error (a missing file is TST_ENOTFOUND). */
static int open_bounded(const char *path, size_t max_len, int *fd_out, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, errno, "cannot open %s", path);
        tst_fail_set_path(path);
        return code;
    }
    if (fstat(fd, st) != 0) {
        int err = errno;
        close(fd);
        return tst_fail_errno(TST_EIO, err, "cannot stat %s", path);
    }
    if ((uint64_t)st->st_size > max_len) {
        close(fd);
        tst_fail(TST_ECORRUPT, "%s is %lld bytes, more than the %zu allowed for this file",
                 path, (long long)st->st_size, max_len);
        tst_fail_set_path(path);
        return TST_ECORRUPT;
    }
    *fd_out = fd;
    return 0;
}

int tst_io_map_file(const char *path, size_t max_len, const uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int fd = -1;
    struct stat st;
    int rc = open_bounded(path, max_len, &fd, &st);
    if (rc != 0)
        return rc;
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED)
        return tst_fail_errno(TST_EIO, err, "cannot map %s", path);
    *out = p;
    *out_len = (size_t)st.st_size;
    return 0;
}

void tst_io_unmap_file(const uint8_t *bytes, size_t len)
{
    if (bytes && len)
        munmap((void *)bytes, len);
}

int tst_io_read_file(const char *path, size_t max_len, char **out, size_t *out_len)
{
    *out = NULL;
    int fd = -1;
    struct stat st;
    int rc = open_bounded(path, max_len, &fd, &st);
    if (rc != 0)
        return rc;
    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return tst_fail(TST_ENOMEM, "out of memory reading %s", path);
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 == cap) {
            /* The file grew since fstat: only allowed up to max_len. */
            if (cap > max_len) {
                free(buf);
                close(fd);
                return tst_fail(TST_ECORRUPT, "%s grew past %zu bytes while being read", path,
                                max_len);
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                close(fd);
                return tst_fail(TST_ENOMEM, "out of memory reading %s", path);
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            free(buf);
            close(fd);
            return tst_fail_errno(TST_EIO, err, "cannot read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return 0;
}

static int write_all(int fd, const void *bytes, size_t len)
{
    const char *p = bytes;
    while (len > 0) {
        if (step() != 0)
            return -1;
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tst_io_write_new(const char *path, const void *bytes, size_t len)
{
    if (step() != 0)
        return tst_fail_errno(TST_EIO, errno, "cannot create %s", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        int code = err == EEXIST ? TST_EEXISTS : err == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, err, "cannot create %s", path);
        tst_fail_set_path(path);
        return code;
    }
    if (write_all(fd, bytes, len) != 0 || do_fsync(fd) != 0) {
        int err = errno;
        close(fd);
        unlink(path);
        tst_fail_errno(TST_EIO, err, "cannot write %s", path);
        tst_fail_set_path(path);
        return TST_EIO;
    }
    if (close(fd) != 0) {
        int err = errno;
        unlink(path);
        return tst_fail_errno(TST_EIO, err, "cannot close %s", path);
    }
    return 0;
}

int tst_io_link_new(const char *from, const char *to)
{
    if (step() != 0 || link(from, to) != 0) {
        int err = errno;
        int code = err == EEXIST ? TST_EEXISTS : TST_EIO;
        tst_fail_errno(code, err, "cannot publish %s", to);
        tst_fail_set_path(to);
        return code;
    }
    return 0;
}

int tst_io_rename(const char *from, const char *to)
{
    if (step() != 0 || rename(from, to) != 0) {
        int err = errno;
        tst_fail_errno(TST_EIO, err, "cannot rename %s to %s", from, to);
        tst_fail_set_path(to);
        return TST_EIO;
    }
    return 0;
}

int tst_io_unlink(const char *path)
{
    if (step() != 0 || (unlink(path) != 0 && errno != ENOENT)) {
        int err = errno;
        tst_fail_errno(TST_EIO, err, "cannot remove %s", path);
        tst_fail_set_path(path);
        return TST_EIO;
    }
    return 0;
}

int tst_io_rmdir(const char *dir)
{
    if (step() != 0 || (rmdir(dir) != 0 && errno != ENOENT)) {
        int err = errno;
        tst_fail_errno(TST_EIO, err, "cannot remove folder %s", dir);
        tst_fail_set_path(dir);
        return TST_EIO;
    }
    return 0;
}

int tst_io_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tst_fail_errno(TST_EIO, errno, "cannot open folder %s", dir);
    int rc = do_fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0)
        return tst_fail_errno(TST_EIO, err, "cannot fsync folder %s", dir);
    return 0;
}

static char *parent_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = '\0';
    else
        *slash = '\0';
    return copy;
}

int tst_io_replace(const char *path, const void *bytes, size_t len)
{
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    if (rc != 0)
        return rc;
    size_t cap = strlen(path) + 64;
    char *tmp = malloc(cap);
    char *dir = parent_of(path);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return tst_fail(TST_ENOMEM, "out of memory replacing %s", path);
    }
    snprintf(tmp, cap, "%s.%s.tmp", path, uuid);
    rc = tst_io_write_new(tmp, bytes, len);
    if (rc == 0) {
        rc = tst_io_rename(tmp, path);
        if (rc != 0)
            unlink(tmp);
    }
    if (rc == 0)
        rc = tst_io_fsync_dir(dir);
    free(tmp);
    free(dir);
    return rc;
}

int tst_io_mkdirs(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return tst_fail(TST_EIO, "%s exists and is not a folder", dir);
    }
    char *parent = parent_of(dir);
    if (!parent)
        return tst_fail(TST_ENOMEM, "out of memory creating %s", dir);
    int rc = 0;
    if (strcmp(parent, dir) != 0 && strcmp(parent, ".") != 0 && strcmp(parent, "/") != 0)
        rc = tst_io_mkdirs(parent);
    if (rc == 0) {
        if (step() != 0 || (mkdir(dir, 0755) != 0 && errno != EEXIST))
            rc = tst_fail_errno(TST_EIO, errno, "cannot create folder %s", dir);
        else
            rc = tst_io_fsync_dir(parent);
    }
    free(parent);
    return rc;
}

int tst_io_mkdir_new(const char *dir)
{
    if (step() != 0 || mkdir(dir, 0755) != 0) {
        int err = errno;
        int code = err == EEXIST ? TST_EEXISTS : err == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, err, "cannot create folder %s", dir);
        tst_fail_set_path(dir);
        return code;
    }
    return 0;
}

#define COPY_CHUNK ((size_t)1 << 20)

/* Streams in to out; each write is a counted step (write_all). */
static int copy_stream(int in, int out, const char *from, uint64_t *out_bytes)
{
    char *chunk = malloc(COPY_CHUNK);
    if (!chunk)
        return tst_fail(TST_ENOMEM, "out of memory copying %s", from);
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, chunk, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tst_fail_errno(TST_EIO, errno, "cannot read %s", from);
            break;
        }
        if (n == 0)
            break;
        if (write_all(out, chunk, (size_t)n) != 0) {
            rc = TST_EIO; /* the caller words it: it knows the target */
            break;
        }
        *out_bytes += (uint64_t)n;
    }
    free(chunk);
    return rc;
}

int tst_io_copy_new(const char *from, const char *to, uint64_t *out_bytes)
{
    uint64_t bytes = 0;
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) {
        int err = errno;
        int code = err == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, err, "cannot open %s", from);
        tst_fail_set_path(from);
        return code;
    }
    int out = -1;
    if (step() != 0 || (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
        int err = errno;
        close(in);
        int code = err == EEXIST ? TST_EEXISTS : TST_EIO;
        tst_fail_errno(code, err, "cannot create %s", to);
        tst_fail_set_path(to);
        return code;
    }
    int rc = copy_stream(in, out, from, &bytes);
    int err = errno;
    if (rc == TST_EIO && err != 0)
        rc = tst_fail_errno(TST_EIO, err, "cannot copy %s to %s", from, to);
    if (rc == 0 && do_fsync(out) != 0)
        rc = tst_fail_errno(TST_EIO, errno, "cannot fsync %s", to);
    if (close(out) != 0 && rc == 0)
        rc = tst_fail_errno(TST_EIO, errno, "cannot close %s", to);
    close(in);
    if (rc != 0) {
        unlink(to);
        tst_fail_set_path(to);
        return rc;
    }
    if (out_bytes)
        *out_bytes = bytes;
    return 0;
}

int tst_io_rename_new(const char *from, const char *to)
{
    if (step() != 0)
        return tst_fail_errno(TST_EIO, errno, "cannot rename %s to %s", from, to);
    int r = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (r != 0 && (errno == ENOSYS || errno == EINVAL)) {
        /* No RENAME_NOREPLACE here: check, then rename (a racing creator of
         * an empty folder of that name can still lose it). */
        struct stat st;
        if (lstat(to, &st) == 0)
            errno = EEXIST;
        else
            r = rename(from, to);
    }
    if (r != 0) {
        int err = errno;
        int code = err == EEXIST || err == ENOTEMPTY ? TST_EEXISTS : TST_EIO;
        tst_fail_errno(code, err, "cannot rename %s to %s", from, to);
        tst_fail_set_path(to);
        return code;
    }
    return 0;
}

int tst_io_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : tst_fail_errno(TST_EIO, errno, "cannot list %s", dir);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = tst_io_join(dir, e->d_name);
        struct stat st;
        if (!path)
            rc = TST_ENOMEM;
        else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rc = tst_io_remove_tree(path) ? TST_EIO : rc;
        else if (tst_io_unlink(path) != 0)
            rc = TST_EIO;
        free(path);
    }
    closedir(d);
    if (step() != 0 || rmdir(dir) != 0)
        rc = tst_fail_errno(TST_EIO, errno, "cannot remove folder %s", dir);
    return rc;
}

int tst_io_uuid(char *buf)
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tst_fail_errno(TST_EIO, errno, "cannot read random bytes for a UUID");
        got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    return 0;
}

char *tst_io_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        la--;
    char *p = malloc(la + lb + 2);
    if (!p) {
        tst_fail(TST_ENOMEM, "out of memory joining %s and %s", a, b);
        return NULL;
    }
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}
