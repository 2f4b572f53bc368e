/*
 * travel.c — time travel inside one statement: "trades@v12".
 *
 * A registered table answers for its latest version (or the one it was
 * registered at). To compare two versions in one statement, a statement may
 * name a registered table at another version with a quoted identifier:
 *
 *   SELECT count(*) FROM "trades@v12"            -- version 12
 *   SELECT * FROM "trades@2024-06-01T09:30:00Z"  -- as of an instant
 *   SELECT ... FROM trades JOIN "trades@v12" old USING (symbol, ts)
 *
 * Each such name becomes a registration of its own (s->travel), kept for
 * the session: a handle pinned at that version (tst_table_open_at /
 * tst_table_open_as_of) under the name as written. From there it is a
 * registered table like any other: the statement's predicates on it prune
 * its segments (prune.c matches the name in the parsed statement), and its
 * view reads only the kept files of that version. A version is immutable,
 * so its handle is never reloaded; an instant is re-resolved when the
 * table's head has moved since (a later commit may still be older than the
 * instant). An instant without an offset is UTC, whatever the session's
 * TimeZone: the name is a fixed point in the table's history, not a value
 * compared with data.
 *
 * The coverage functions take the same names as text, tstable_coverage(
 * 'trades@v12', ...) (tst_session_travel_find).
 *
 * A quoted identifier whose part before '@' is no registered tstable is left
 * alone (DuckDB reports an unknown table); one whose suffix is neither a
 * version nor an instant is TST_EINVAL. String literals and comments are
 * skipped, so 'bob@example.com' in a WHERE clause is only text.
 */
#include "session_internal.h"

#include "fail.h"
#include "log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One quoted identifier: where its text starts and ends (exclusive), quotes included. */
typedef struct quoted {
    const char *start, *end;
    char *text; /* unescaped content, malloc'd */
} quoted;

/* Past a '...' string, a -- or a block comment starting at p; p itself otherwise. */
static const char *skip_literal(const char *p)
{
    if (p[0] == '\'') {
        for (p++; *p; p++)
            if (p[0] == '\'' && p[1] != '\'')
                return p + 1;
            else if (p[0] == '\'')
                p++;
        return p;
    }
    if (p[0] == '-' && p[1] == '-')
        return p + strcspn(p, "\n");
    if (p[0] == '/' && p[1] == '*') {
        const char *end = strstr(p + 2, "*/");
        return end ? end + 2 : p + strlen(p);
    }
    return p;
}

/* Reads the quoted identifier at p (p[0] == '"'); false when unterminated. */
static bool read_quoted(const char *p, quoted *out)
{
    size_t len = 0, cap = strlen(p);
    char *text = malloc(cap + 1);
    if (!text)
        return false;
    const char *q = p + 1;
    for (; *q; q++) {
        if (q[0] == '"' && q[1] == '"')
            text[len++] = '"', q++;
        else if (q[0] == '"')
            break;
        else
            text[len++] = *q;
    }
    if (!*q) {
        free(text);
        return false;
    }
    text[len] = '\0';
    *out = (quoted){p, q + 1, text};
    return true;
}

/* "v12", "12": a version; anything else an instant. false: neither. */
static bool parse_suffix(const char *suffix, tst_table_pin *pin)
{
    const char *digits = suffix[0] == 'v' || suffix[0] == 'V' ? suffix + 1 : suffix;
    if (*digits && strspn(digits, "0123456789") == strlen(digits)) {
        char *end = NULL;
        pin->kind = TST_PIN_VERSION;
        pin->version = strtoull(digits, &end, 10);
        return *end == '\0';
    }
    pin->kind = TST_PIN_INSTANT;
    return tst_session_parse_time(suffix, &pin->at);
}

static tst_registration *find_travel(tst_session *s, const char *name)
{
    for (size_t i = 0; i < s->travel_count; i++)
        if (strcasecmp(s->travel[i].name, name) == 0)
            return &s->travel[i];
    return NULL;
}

static int travel_slot(tst_session *s, tst_registration **out)
{
    if (s->travel_count == s->travel_cap) {
        size_t cap = s->travel_cap ? s->travel_cap * 2 : 4;
        tst_registration *t = realloc(s->travel, cap * sizeof *t);
        if (!t)
            return tst_fail(TST_ENOMEM, "out of memory naming a table at a version");
        s->travel = t, s->travel_cap = cap;
    }
    *out = &s->travel[s->travel_count++];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* Whether the registration still holds what its name asks for. */
static bool still_current(const tst_registration *r, const tst_registration *base,
                          const tst_table_pin *pin, uint64_t head)
{
    if (strcmp(r->root, base->root) != 0 || r->pin.kind != pin->kind)
        return false;
    if (pin->kind == TST_PIN_VERSION)
        return r->pin.version == pin->version;
    return r->pin_head == head;
}

/* Opens (or reopens) the time-travel registration `name` of `base`. */
static int ready_one(tst_session *s, const tst_registration *base, const char *name,
                     const tst_table_pin *pin)
{
    uint64_t head = 0;
    int rc = pin->kind == TST_PIN_INSTANT ? tst_log_head(base->root, &head) : 0;
    tst_registration *r = find_travel(s, name);
    if (rc != 0 || (r && still_current(r, base, pin, head)))
        return rc;
    tst_table *table = NULL;
    rc = tst_session_open_table(name, base->root, pin, &table);
    if (rc == 0 && !r)
        rc = travel_slot(s, &r);
    if (rc != 0) {
        tst_table_free(table);
        return tst_fail_context(rc, "time travel \"%s\"", name);
    }
    char *n = strdup(name), *root = strdup(base->root);
    if (!n || !root) {
        free(n), free(root), tst_table_free(table);
        s->travel_count -= r->name == NULL; /* a fresh slot stays unused */
        return tst_fail(TST_ENOMEM, "out of memory naming a table at a version");
    }
    char *view = r->view_sql; /* the view keeps its name: skip only identical SQL */
    r->view_sql = NULL;
    tst_registration_clear(r);
    *r = (tst_registration){n, root, NULL, table, view, *pin, head};
    return 0;
}

/* A quoted identifier: time travel when its base is a registered tstable. */
static int consider(tst_session *s, const quoted *q, bool *travel)
{
    *travel = false;
    char *at = strchr(q->text, '@');
    if (!at)
        return 0;
    *at = '\0';
    const tst_registration *base = tst_session_find(s, q->text);
    *at = '@';
    if (!base || !base->table)
        return 0;
    tst_table_pin pin = {TST_PIN_LATEST, 0, {0, 0}};
    if (!parse_suffix(at + 1, &pin))
        return tst_fail(TST_EINVAL, "\"%s\": after '@' give a version (\"%.*s@v12\") or an "
                        "instant (\"%.*s@2024-06-01T00:00:00Z\"; UTC unless it has an offset)",
                        q->text, (int)(at - q->text), q->text, (int)(at - q->text), q->text);
    *travel = true;
    return ready_one(s, base, q->text, &pin);
}

int tst_session_travel_find(tst_session *s, const char *name, tst_registration **out)
{
    *out = NULL;
    quoted q = {name, name + strlen(name), strdup(name)};
    if (!q.text)
        return tst_fail(TST_ENOMEM, "out of memory naming a table at a version");
    bool travel = false;
    int rc = consider(s, &q, &travel);
    if (rc == 0 && travel)
        *out = find_travel(s, name);
    free(q.text);
    return rc;
}

int tst_session_travel_ready(tst_session *s, const char *sql, char **masked)
{
    *masked = strdup(sql);
    if (!*masked)
        return tst_fail(TST_ENOMEM, "out of memory planning a statement");
    int rc = 0;
    for (const char *p = sql; rc == 0 && *p;) {
        const char *next = skip_literal(p);
        if (next != p) {
            p = next;
            continue;
        }
        quoted q;
        if (*p != '"' || !read_quoted(p, &q)) {
            p++;
            continue;
        }
        bool travel = false;
        rc = consider(s, &q, &travel);
        if (travel)
            memset(*masked + (q.start - sql), ' ', (size_t)(q.end - q.start));
        free(q.text);
        p = q.end;
    }
    return rc;
}

void tst_session_travel_forget(tst_session *s, const char *base)
{
    size_t n = strlen(base), kept = 0;
    for (size_t i = 0; i < s->travel_count; i++) {
        tst_registration *r = &s->travel[i];
        if (strncasecmp(r->name, base, n) == 0 && r->name[n] == '@') {
            tst_sql t = {0}; /* the view goes too: the name no longer means that table */
            if (SQL_F(&t, "DROP VIEW IF EXISTS ") == 0 && SQL_IDENT(&t, r->name) == 0)
                (void)tst_duck_query(s->con, t.s, NULL, "dropping a time-travel view");
            free(t.s);
            tst_registration_clear(r);
        } else {
            s->travel[kept++] = *r;
        }
    }
    s->travel_count = kept;
}
