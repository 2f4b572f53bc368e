/*
 * paths.c — the rules for names the log persists: relative paths and coverage ids.
 *
 * Every path in the log (segment path, coverage_path, RemoveSegment.path,
 * the table coverage_path) is joined to the table root before any file is
 * touched, so a path that escapes the root ("..", "/etc/x", "C:/x") or has
 * two spellings ("a//b", "a\b") is either an attack or corruption. The rule
 * (format-v6 §1.9) is that a path must already be in canonical form; when it
 * is merely non-canonical the message shows the canonical spelling, which
 * is what a person repairing the log needs.
 *
 * Coverage ids become file names, so they are held to a short allowlist.
 */
#include "model.h"

#include "fail.h"

#include <stdio.h>
#include <string.h>

/* No real file system path is longer; the cap also bounds messages. */
#define PATH_MAX_BYTES 4096
#define COVERAGE_ID_MAX 128
#define QUOTE_MAX 160

/* Length of the UTF-8 sequence at s (within n bytes), or 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || s[0] > 0xF4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong forms, surrogates and code points above U+10FFFF. */
    if (len == 3 && s[0] == 0xE0 && s[1] < 0xA0)
        return 0;
    if (len == 3 && s[0] == 0xED && s[1] >= 0xA0)
        return 0;
    if (len == 4 && s[0] == 0xF0 && s[1] < 0x90)
        return 0;
    if (len == 4 && s[0] == 0xF4 && s[1] >= 0x90)
        return 0;
    return len;
}

static bool utf8_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(s + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

/* Copies text into buf for a message: control and non-ASCII bytes as \xNN. */
static const char *quote(const char *text, char *buf, size_t cap)
{
    size_t used = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (; *s && used + 8 < cap; s++) {
        if (*s >= 0x20 && *s < 0x7F)
            buf[used++] = (char)*s;
        else
            used += (size_t)snprintf(buf + used, cap - used, "\\x%02x", *s);
    }
    if (*s)
        used += (size_t)snprintf(buf + used, cap - used, "...");
    buf[used] = '\0';
    return buf;
}

static bool ascii_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool ascii_alnum(char c)
{
    return ascii_alpha(c) || (c >= '0' && c <= '9');
}

static bool has_drive_prefix(const char *path)
{
    return ascii_alpha(path[0]) && path[1] == ':';
}

static bool is_dot_dot(const char *component, size_t len)
{
    return len == 2 && component[0] == '.' && component[1] == '.';
}

/*
 * The canonical spelling: '\' read as '/', empty and "." components dropped.
 * Fails on "..", which has no canonical form inside the table root.
 */
static int canonicalize(const char *path, char *out, size_t cap, const char *what)
{
    size_t used = 0;
    const char *p = path;
    while (*p) {
        size_t len = strcspn(p, "/\\");
        bool keep = len > 0 && !(len == 1 && p[0] == '.');
        if (is_dot_dot(p, len)) {
            char q[QUOTE_MAX];
            return tst_fail(TST_ECORRUPT,
                            "invalid persisted %s '%s': '..' components are not allowed", what,
                            quote(path, q, sizeof q));
        }
        if (keep && used + len + 2 <= cap) {
            if (used > 0)
                out[used++] = '/';
            memcpy(out + used, p, len);
            used += len;
        }
        p += len;
        if (*p)
            p++;
    }
    out[used] = '\0';
    return 0;
}

static int invalid(const char *path, const char *what, const char *why)
{
    char q[QUOTE_MAX];
    return tst_fail(TST_ECORRUPT, "invalid persisted %s '%s': %s", what, quote(path, q, sizeof q),
                    why);
}

int tst_path_validate(const char *path, const char *what)
{
    if (!what)
        what = "path";
    if (!path || !*path)
        return tst_fail(TST_ECORRUPT, "invalid persisted %s: the path is empty", what);
    size_t len = strlen(path);
    if (len > PATH_MAX_BYTES)
        return invalid(path, what, "longer than 4096 bytes");
    if (!utf8_valid(path))
        return invalid(path, what, "not valid UTF-8");
    if (path[0] == '/' || path[0] == '\\')
        return invalid(path, what, "absolute paths are not allowed (it must be relative to the table root)");
    if (has_drive_prefix(path))
        return invalid(path, what, "drive prefixes are not allowed");
    char canonical[PATH_MAX_BYTES + 1];
    int rc = canonicalize(path, canonical, sizeof canonical, what);
    if (rc != 0)
        return rc;
    if (!canonical[0])
        return invalid(path, what, "the path names no file");
    if (strcmp(canonical, path) != 0) {
        char q[QUOTE_MAX], c[QUOTE_MAX];
        return tst_fail(TST_ECORRUPT, "non-canonical persisted %s '%s'; canonical form is '%s'",
                        what, quote(path, q, sizeof q), quote(canonical, c, sizeof c));
    }
    return 0;
}

static bool coverage_id_char(char c)
{
    return ascii_alnum(c) || c == '.' || c == '_' || c == '-';
}

int tst_coverage_id_validate(const char *id)
{
    if (!id || !*id)
        return tst_fail(TST_EINVAL, "invalid coverage id: it is empty");
    char q[QUOTE_MAX];
    size_t len = strlen(id);
    if (len > COVERAGE_ID_MAX)
        return tst_fail(TST_EINVAL, "invalid coverage id '%s': %zu characters (at most %d)",
                        quote(id, q, sizeof q), len, COVERAGE_ID_MAX);
    bool alnum = false;
    for (size_t i = 0; i < len; i++) {
        if (!coverage_id_char(id[i]))
            return tst_fail(TST_EINVAL,
                            "invalid coverage id '%s': character %zu is not one of [A-Za-z0-9._-]",
                            quote(id, q, sizeof q), i);
        alnum = alnum || ascii_alnum(id[i]);
    }
    if (id[0] == '.')
        return tst_fail(TST_EINVAL, "invalid coverage id '%s': it starts with '.'",
                        quote(id, q, sizeof q));
    if (strstr(id, ".."))
        return tst_fail(TST_EINVAL, "invalid coverage id '%s': it contains '..'",
                        quote(id, q, sizeof q));
    if (!alnum)
        return tst_fail(TST_EINVAL, "invalid coverage id '%s': it has no letter or digit",
                        quote(id, q, sizeof q));
    return 0;
}
