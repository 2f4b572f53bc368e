/*
 * fuzz_path.c — persisted path and coverage id rules on arbitrary bytes.
 *
 * A path that passes tst_path_validate is joined to the table root, so
 * every accepted path is checked here against the properties that keep it
 * inside the root and give it one spelling only.
 */
#include "model.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_component(const char *path, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = path; p; p = strchr(p, '/')) {
        if (*p == '/')
            p++;
        if (strncmp(p, name, n) == 0 && (p[n] == '/' || p[n] == '\0'))
            return true;
    }
    return false;
}

static void check_accepted_path(const char *path)
{
    size_t len = strlen(path);
    if (len == 0 || path[0] == '/' || path[len - 1] == '/')
        abort();
    if (strstr(path, "//") || strchr(path, '\\'))
        abort();
    if (has_component(path, ".") || has_component(path, ".."))
        abort();
    if (len >= 2 && path[1] == ':' &&
        ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z')))
        abort();
}

static void check_accepted_id(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > 128 || id[0] == '.' || strstr(id, "..") || strchr(id, '/'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* an embedded NUL just ends the string, as in C callers */
    if (tst_path_validate(text, "fuzz path") == 0)
        check_accepted_path(text);
    if (tst_coverage_id_validate(text) == 0)
        check_accepted_id(text);
    free(text);
    return 0;
}
