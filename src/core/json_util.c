/*
 * json_util.c — strict reading and compact printing of log JSON (see json_util.h).
 *
 * Parsing runs json-c's tokener in strict mode with UTF-8 validation and a
 * depth limit, then makes one pass over the source text to check every
 * integer literal against the 64-bit range. That pass exists because
 * json-c 0.16 saturates: "18446744073709551616" becomes UINT64_MAX and
 * "-9223372036854775809" becomes INT64_MIN, and after parsing nothing tells
 * a saturated value from a genuine extreme. The pass runs only on text the
 * tokener accepted, so it needs to know nothing of JSON but strings. It
 * also refuses what json-c accepts even when strict but JSON does not:
 * single-quoted keys, NaN and Infinity.
 *
 * The readers accept exactly one JSON type each. json-c keeps an integer
 * either as int64 or (above INT64_MAX) as uint64; its getters saturate
 * across the two, so the readers check the sign through one getter and take
 * the value through the other.
 */
#include "json_util.h"

#include "fail.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRINT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define DESCRIBE_MAX 80

/* ---- parsing ------------------------------------------------------------ */

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Index just past the string literal that starts at text[i] (a '"'). */
static size_t skip_string(const char *text, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (text[i] == '\\')
            i++;
        else if (text[i] == '"')
            return i + 1;
    }
    return len;
}

static bool is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* Do `n` digits (no sign) fit under the magnitude limit of their sign? */
static bool digits_fit(const char *digits, size_t n, bool negative)
{
    const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
    while (n > 1 && digits[0] == '0') {
        digits++;
        n--;
    }
    size_t limit_len = strlen(limit);
    if (n != limit_len)
        return n < limit_len;
    return memcmp(digits, limit, n) <= 0;
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* true, false and null; json-c also takes NaN and Infinity, which JSON does not. */
static bool is_json_literal(const char *word, size_t n)
{
    return (n == 4 && memcmp(word, "true", 4) == 0) || (n == 5 && memcmp(word, "false", 5) == 0) ||
           (n == 4 && memcmp(word, "null", 4) == 0);
}

static int check_lexemes(const char *text, size_t len, const char *what)
{
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '"') {
            i = skip_string(text, len, i);
            continue;
        }
        /* json-c's strict mode still takes single-quoted keys; JSON does not. */
        if (c == '\'')
            return tst_fail(TST_ECORRUPT, "%s: invalid JSON at byte %zu: single-quoted string",
                            what, i);
        if (is_letter(c)) {
            size_t start = i;
            while (i < len && is_letter(text[i]))
                i++;
            if (!is_json_literal(text + start, i - start))
                return tst_fail(TST_ECORRUPT, "%s: invalid JSON at byte %zu: %.*s is not JSON", what,
                                start, (int)(i - start > 16 ? 16 : i - start), text + start);
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) {
            i++;
            continue;
        }
        size_t start = i;
        bool negative = c == '-';
        size_t digits = negative ? i + 1 : i;
        for (i = digits; i < len && text[i] >= '0' && text[i] <= '9'; i++)
            ;
        size_t ndigits = i - digits;
        bool integral = i >= len || !is_number_char(text[i]);
        while (i < len && is_number_char(text[i]))
            i++;
        if (integral && ndigits > 0 && !digits_fit(text + digits, ndigits, negative))
            return tst_fail(TST_ECORRUPT, "%s: integer %.*s at byte %zu does not fit in 64 bits",
                            what, (int)(i - start > 40 ? 40 : i - start), text + start, start);
    }
    return 0;
}

static const char *json_type_article(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double: return "a number";
    case json_type_int: return "an integer";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "an unknown value";
}

static int tokenize(json_object **out, const char *text, size_t len, const char *what)
{
    struct json_tokener *tok = json_tokener_new_ex(TST_JSON_MAX_DEPTH);
    if (!tok)
        return tst_fail(TST_ENOMEM, "%s: out of memory creating a JSON tokener", what);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (err == json_tokener_continue)
        return tst_fail(TST_ECORRUPT, "%s: truncated JSON: input ends at byte %zu inside a value",
                        what, len);
    if (err != json_tokener_success || !obj) {
        json_object_put(obj);
        return tst_fail(TST_ECORRUPT, "%s: invalid JSON at byte %zu: %s", what, end,
                        json_tokener_error_desc(err));
    }
    for (size_t i = end; i < len; i++) {
        if (!is_json_space(text[i])) {
            json_object_put(obj);
            return tst_fail(TST_ECORRUPT, "%s: unexpected bytes after the JSON value at byte %zu",
                            what, i);
        }
    }
    *out = obj;
    return 0;
}

int tst_json_parse_object(json_object **out, const char *text, size_t len, const char *what)
{
    *out = NULL;
    if (!text && len > 0)
        return tst_fail(TST_EINVAL, "%s: no input bytes", what);
    if (len == 0)
        return tst_fail(TST_ECORRUPT, "%s: empty input (expected a JSON object)", what);
    if (len > (size_t)INT_MAX - 1)
        return tst_fail(TST_ECORRUPT, "%s: %zu bytes is too large for a JSON document", what, len);
    /* json-c stops at a NUL byte; valid JSON never holds one raw. */
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return tst_fail(TST_ECORRUPT, "%s: invalid JSON: NUL byte at byte %zu", what,
                        (size_t)(nul - text));
    json_object *obj = NULL;
    int rc = tokenize(&obj, text, len, what);
    if (rc != 0)
        return rc;
    if (!json_object_is_type(obj, json_type_object)) {
        rc = tst_fail(TST_ECORRUPT, "%s: expected a JSON object at the top level, found %s", what,
                      json_type_article(obj));
        json_object_put(obj);
        return rc;
    }
    rc = check_lexemes(text, len, what);
    if (rc != 0) {
        json_object_put(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

int tst_json_print(json_object *obj, char **out, size_t *out_len)
{
    *out = NULL;
    size_t len = 0;
    const char *text = json_object_to_json_string_length(obj, PRINT_FLAGS, &len);
    if (!text)
        return tst_fail(TST_ENOMEM, "out of memory printing JSON");
    char *copy = malloc(len + 1);
    if (!copy)
        return tst_fail(TST_ENOMEM, "out of memory printing JSON (%zu bytes)", len);
    memcpy(copy, text, len + 1);
    *out = copy;
    if (out_len)
        *out_len = len;
    return 0;
}

/* ---- members ------------------------------------------------------------ */

int tst_json_require(json_object *obj, const char *key, const char *where, json_object **out)
{
    if (!json_object_object_get_ex(obj, key, out))
        return tst_fail(TST_ECORRUPT, "%s: missing field `%s`", where, key);
    return 0;
}

json_object *tst_json_optional(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v; /* json-c represents JSON null as NULL */
}

static bool is_allowed(const char *key, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(key, *allowed) == 0)
            return true;
    return false;
}

static void list_allowed(char *buf, size_t cap, const char *const *allowed)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; allowed[i] && used < cap; i++) {
        const char *sep = i == 0 ? "" : allowed[i + 1] ? ", " : " or ";
        int n = snprintf(buf + used, cap - used, "%s`%s`", sep, allowed[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int tst_json_only_fields(json_object *obj, const char *const *allowed, const char *where)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (!is_allowed(key, allowed)) {
            char expected[256];
            list_allowed(expected, sizeof expected, allowed);
            return tst_fail(TST_ECORRUPT, "%s: unknown field `%.100s`, expected %s", where, key,
                            expected);
        }
    }
    return 0;
}

int tst_json_single_member(json_object *obj, const char *where, const char **out_tag,
                           json_object **out_value)
{
    if (!json_object_is_type(obj, json_type_object) || json_object_object_length(obj) != 1) {
        char desc[DESCRIBE_MAX];
        return tst_fail(TST_ECORRUPT, "%s: expected an object with exactly one member, found %s",
                        where, tst_json_describe(obj, desc, sizeof desc));
    }
    json_object_object_foreach(obj, key, val)
    {
        *out_tag = key;
        *out_value = val;
    }
    return 0;
}

/* ---- values ------------------------------------------------------------- */

static int wrong_value(json_object *v, const char *where, const char *field, const char *expected)
{
    char desc[DESCRIBE_MAX];
    return tst_fail(TST_ECORRUPT, "%s: field `%s` must be %s, found %s", where, field, expected,
                    tst_json_describe(v, desc, sizeof desc));
}

int tst_json_u64(json_object *v, const char *where, const char *field, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
        return wrong_value(v, where, field, "an unsigned 64-bit integer");
    *out = json_object_get_uint64(v);
    return 0;
}

int tst_json_i64(json_object *v, const char *where, const char *field, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return wrong_value(v, where, field, "a signed 64-bit integer");
    int64_t value = json_object_get_int64(v);
    /* get_int64 saturates a uint64-held value to INT64_MAX. */
    if (value == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
        return wrong_value(v, where, field, "a signed 64-bit integer");
    *out = value;
    return 0;
}

int tst_json_u32(json_object *v, const char *where, const char *field, uint32_t *out)
{
    uint64_t value = 0;
    if (tst_json_u64(v, where, field, &value) != 0 || value > UINT32_MAX)
        return wrong_value(v, where, field, "an unsigned 32-bit integer");
    *out = (uint32_t)value;
    return 0;
}

int tst_json_i32(json_object *v, const char *where, const char *field, int32_t *out)
{
    int64_t value = 0;
    if (tst_json_i64(v, where, field, &value) != 0 || value < INT32_MIN || value > INT32_MAX)
        return wrong_value(v, where, field, "a signed 32-bit integer");
    *out = (int32_t)value;
    return 0;
}

int tst_json_bool(json_object *v, const char *where, const char *field, bool *out)
{
    if (!json_object_is_type(v, json_type_boolean))
        return wrong_value(v, where, field, "a boolean");
    *out = json_object_get_boolean(v) != 0;
    return 0;
}

int tst_json_bytes(json_object *v, const char *where, const char *field, const char **out,
                   size_t *out_len)
{
    if (!json_object_is_type(v, json_type_string))
        return wrong_value(v, where, field, "a string");
    *out = json_object_get_string(v);
    *out_len = (size_t)json_object_get_string_len(v);
    return 0;
}

int tst_json_cstr(json_object *v, const char *where, const char *field, const char **out)
{
    size_t len = 0;
    int rc = tst_json_bytes(v, where, field, out, &len);
    if (rc != 0)
        return rc;
    /* A "\u0000" escape would silently cut a C string short. */
    if (strlen(*out) != len)
        return tst_fail(TST_ECORRUPT, "%s: field `%s` holds a NUL character", where, field);
    return 0;
}

int tst_json_strdup(json_object *v, const char *where, const char *field, char **out)
{
    const char *s = NULL;
    int rc = tst_json_cstr(v, where, field, &s);
    if (rc != 0)
        return rc;
    *out = strdup(s);
    if (!*out)
        return tst_fail(TST_ENOMEM, "%s: out of memory copying field `%s`", where, field);
    return 0;
}

int tst_json_timestamp(json_object *v, const char *where, const char *field, tst_timestamp *out)
{
    const char *text = NULL;
    int rc = tst_json_cstr(v, where, field, &text);
    if (rc != 0)
        return rc;
    if (tst_timestamp_parse(out, text) != 0)
        return tst_fail_context(TST_ECORRUPT, "%s: field `%s`", where, field);
    return 0;
}

const char *tst_json_describe(json_object *v, char *buf, size_t cap)
{
    const char *text = v ? json_object_to_json_string_ext(v, PRINT_FLAGS) : "null";
    if (!text)
        text = "(unprintable)";
    size_t len = strlen(text);
    if (len < cap) {
        memcpy(buf, text, len + 1);
    } else if (cap > 4) {
        memcpy(buf, text, cap - 4);
        memcpy(buf + cap - 4, "...", 4);
    } else if (cap > 0) {
        buf[0] = '\0';
    }
    return buf;
}

const char *tst_json_where(char *buf, size_t cap, const char *where, const char *field)
{
    snprintf(buf, cap, "%s.%s", where, field);
    return buf;
}

const char *tst_json_where_index(char *buf, size_t cap, const char *where, size_t i)
{
    snprintf(buf, cap, "%s[%zu]", where, i);
    return buf;
}

/* ---- output ------------------------------------------------------------- */

int tst_json_add(json_object *obj, const char *key, json_object *val)
{
    if (!val)
        return -1;
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

int tst_json_add_null(json_object *obj, const char *key)
{
    return json_object_object_add(obj, key, NULL) == 0 ? 0 : -1;
}

json_object *tst_json_new_string(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *tst_json_new_timestamp(tst_timestamp ts)
{
    char text[TST_TIMESTAMP_TEXT_MAX];
    if (tst_timestamp_format(ts, text, sizeof text) < 0)
        return NULL;
    return json_object_new_string(text);
}
