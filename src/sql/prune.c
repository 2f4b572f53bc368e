/*
 * prune.c — segment pruning for SQL statements over registered tstables.
 *
 * DuckDB's read_parquet([...]) opens every listed file when a statement is
 * bound, and table functions written against the C API get no filter
 * push-down, so a session prunes before DuckDB sees the statement: it reads
 * the parsed statement, decides which segments each registered table can
 * need, and defines the table's name for this one statement as a view over
 * only those files. The workload is a time-range query on a table of
 * hundreds or thousands of segments that needs a handful of them.
 *
 * The push-down plan
 * ------------------
 * 1. json_serialize_sql(sql) gives DuckDB's own parse tree as JSON: SELECT
 *    nodes ("type": "SELECT_NODE") with a from_table (BASE_TABLE, JOIN with
 *    left/right/ref_type, SUBQUERY, TABLE_FUNCTION, ...) and a where_clause
 *    of expression objects ("class": COMPARISON | BETWEEN | CONJUNCTION |
 *    COLUMN_REF | CONSTANT | PARAMETER | CAST | FUNCTION | OPERATOR ...).
 *    EXPLAIN [ANALYZE] [(options)] is read as its inner statement (the
 *    plan shown is the pruned statement's). Statements it cannot serialize
 *    (COPY, SHOW, DESCRIBE, several statements, syntax errors) prune
 *    nothing: every registered table whose name appears in the text keeps
 *    all its segments. So does a statement that calls query('...') or
 *    query_table('...'): the SQL in the string reads a table through the
 *    same view the pruned files define, and the tree does not show it.
 * 2. Every SELECT node anywhere in the tree (CTEs, subqueries, set
 *    operations, join sides) is visited. For each base-table reference in its
 *    FROM (through REGULAR and CROSS joins only) to a registered tstable, the
 *    top-level AND-conjuncts of that node's WHERE are read:
 *        col  <|<=|>|>=|=  constant     (either side)
 *        col  BETWEEN constant AND constant
 *        col::DATE  <|<=|>|>=|=  date   and   CAST(col AS DATE) BETWEEN ...
 *        col  op  now() [+|- INTERVAL ...]   (also current_timestamp, ...)
 *        entity_col = constant
 *        a OR b ..., col IN (constants): the hull of the alternatives' ranges
 *        to_unixtime(col) | to_date(col) | date_bin(stride, col)  op  constant
 *        col op to_timestamp_seconds|millis|micros|nanos(c) | to_date(c)
 *            (DataFusion's functions, datafusion_functions.c; see below)
 *    where col is the table's index column, unqualified (only when every
 *    other FROM item is a registered tstable without such a column) or
 *    qualified by the reference's alias (or table name when it has none);
 *    and a constant is a literal, a $parameter with a given value, or a
 *    plain CAST of one. Integer indexes: integer literals. Timestamps are
 *    not parsed here: DuckDB evaluates the statement's constants in the
 *    session (one SELECT for all, e.g. of
 *    TRY(epoch_us(CAST('2024-06-10 18:00' AS TIMESTAMPTZ)))), each cast the
 *    way the comparison casts it, so a zone-less text, a DATE or a
 *    TIMESTAMP compared with a TIMESTAMPTZ index is read in the session's
 *    current TimeZone, DST and all, and a text with a zone or offset as
 *    DuckDB reads it. Where the statement's reading depends on a zone offset
 *    the planner does not compute (a zone-less index against an instant, the
 *    local date of a zoned index, outside UTC) the bound is widened by the
 *    largest offset any zone has (ZONE_SLACK_NS); now() by NOW_SLACK_NS.
 *    A WHERE conjunct filters rows before joins, windows and aggregates see
 *    them, and a NULL-extended outer-join row fails it too, so pruning on it
 *    is exact for inner and outer joins. ASOF, POSITIONAL, NATURAL and
 *    LATERAL-style joins change which rows match, so references under them
 *    keep everything.
 * 3. Each reference gives a range [lo, hi] (inclusive, in index units: ns
 *    for timestamps) and per-entity-column equalities. A segment is kept
 *    when [index_min, index_max] meets the range and, for a Single-layout
 *    segment, its identity matches every equality, and then, when the
 *    range is narrower than the segment's buckets or an equality narrows a
 *    multi-entity segment, its coverage sidecar holds one of the (entity,
 *    bucket) slots asked for (the bitmap check below). Anything unread (NOT,
 *    a function of the column, an unknown node, an ambiguous column, an
 *    alias we cannot resolve) simply does not narrow the range, so the
 *    result is always that of the full table.
 * 4. A table referenced several times keeps the union of what each
 *    reference needs.
 * 5. Each reference also leaves what it reads (tst_read_ask, prune.h) for
 *    coverage checks (coverage_check.c): the range, the equalities, why a
 *    bound may be wider than the statement's, and whether a condition on
 *    the index went unread (pruning ignores that; a check must not clamp
 *    an open side to the table's extent then).
 */
#include "prune.h"

#include "constants.h"
#include "fail.h"
#include "model.h"
#include "session_internal.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

__extension__ typedef __int128 wide;
#define WIDE_MAX ((wide)(((unsigned __int128)1 << 127) - 1))
#define WIDE_MIN (-WIDE_MAX - 1)
#define NS_PER_SEC 1000000000LL

/* Equalities on entity columns past this many are not used (no narrowing). */
#define MAX_ENTITY TST_PRUNE_MAX_ENTITY
/* FROM items per SELECT we reason about; more prunes nothing there. */
#define MAX_ITEMS 32

/* entity_col = value, as read from one reference's WHERE. */
typedef struct entity_eq {
    bool set, conflict;
    bool is_text;
    const char *text;
    size_t len;
    wide num;
} entity_eq;

/* What one reference needs: index in [lo, hi], entity equalities. */
typedef struct ref_filter {
    wide lo, hi;
    unsigned lo_why, hi_why, mid_why; /* TST_WIDEN_* of the bounds (coverage checks) */
    unsigned reads;                   /* index bounds read (narrow_index calls) */
    bool unread; /* a condition on the index was not read (coverage checks: the range
                  * may be narrower than it looks, so an open side is not "no bound") */
    entity_eq eq[MAX_ENTITY];
} ref_filter;

typedef struct from_item {
    json_object *node;
    bool base;
    const char *table, *alias;
    tst_prune_target *target;
} from_item;

typedef struct select_scope {
    from_item items[MAX_ITEMS];
    size_t count;
    bool unsafe; /* a join kind whose matching pruning could change */
} select_scope;

typedef struct prune_ctx {
    /* The walk runs twice when the statement has timestamp constants: the
     * first records them, one SELECT evaluates them all, the second uses the
     * values (constants.c). */
    tst_constants k;
    tst_prune_target *targets;
    size_t target_count;
    const tst_param *params;
    size_t param_count;
    bool no_bitmaps; /* TST_PRUNE_BITMAPS=0: min/max and identity only */
    bool oom;        /* recording an ask failed */
    bool sql_text;   /* query('...') / query_table('...'): SQL the tree does not show */
} prune_ctx;

/* A constant operand: text or integer, possibly under a CAST. */
typedef enum lit_kind { LIT_NONE, LIT_TEXT, LIT_INT } lit_kind;
typedef struct lit {
    lit_kind kind;
    const char *text;
    size_t len;
    wide num;
    const char *cast; /* cast_type id, NULL without a cast */
} lit;

/* Which column of the reference an operand names. */
enum { COL_NONE = -2, COL_INDEX = -1 }; /* >= 0: entity column k */

/* floor(v / grain) * grain, for grain > 0. */
static wide floor_to(wide v, wide grain)
{
    wide r = v % grain;
    return r < 0 ? v - r - grain : v - r;
}

/* ---- JSON helpers --------------------------------------------------------- */

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v)
               ? v
               : NULL;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool jis(json_object *o, const char *key, const char *want)
{
    const char *s = jstr(o, key);
    return s && strcmp(s, want) == 0;
}

static bool jempty(json_object *o, const char *key)
{
    json_object *v = jget(o, key);
    if (!v)
        return true;
    if (json_object_is_type(v, json_type_array))
        return json_object_array_length(v) == 0;
    return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0;
}

/* ---- targets and columns -------------------------------------------------- */

static tst_prune_target *find_target(prune_ctx *c, const char *name)
{
    for (size_t i = 0; name && i < c->target_count; i++)
        if (strcasecmp(c->targets[i].name, name) == 0)
            return &c->targets[i];
    return NULL;
}

static const tst_field *find_column(const tst_table *t, const char *name)
{
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    for (size_t i = 0; schema && i < schema->column_count; i++)
        if (strcasecmp(schema->columns[i].name, name) == 0)
            return &schema->columns[i];
    return NULL;
}

/* An unqualified name binds to `it` only if no other FROM item may have it. */
static bool unambiguous(const select_scope *s, const from_item *it, const char *name)
{
    for (size_t j = 0; j < s->count; j++) {
        const from_item *o = &s->items[j];
        if (o == it)
            continue;
        if (!o->base || !o->target || find_column(o->target->table, name))
            return false;
    }
    return true;
}

static bool qualifier_matches(const select_scope *s, const from_item *it, const char *qual)
{
    const char *own = it->alias && *it->alias ? it->alias : it->table;
    if (strcasecmp(qual, own) != 0)
        return false;
    for (size_t j = 0; j < s->count; j++) { /* a repeated name is DuckDB's error, not ours */
        const from_item *o = &s->items[j];
        const char *other = o->alias && *o->alias ? o->alias : o->table;
        if (o != it && other && strcasecmp(other, qual) == 0)
            return false;
    }
    return true;
}

/* COL_INDEX, an entity column number, or COL_NONE. */
static int resolve_column(const select_scope *s, const from_item *it, json_object *node)
{
    json_object *names = jget(node, "column_names");
    if (!jis(node, "class", "COLUMN_REF") || !names || !json_object_is_type(names, json_type_array))
        return COL_NONE;
    size_t n = json_object_array_length(names);
    if (n < 1 || n > 2)
        return COL_NONE;
    const char *name = json_object_get_string(json_object_array_get_idx(names, n - 1));
    const tst_field *f = name ? find_column(it->target->table, name) : NULL;
    if (!f)
        return COL_NONE;
    if (n == 2 ? !qualifier_matches(s, it, json_object_get_string(json_object_array_get_idx(names, 0)))
               : !unambiguous(s, it, name))
        return COL_NONE;
    const tst_index_spec *spec = tst_table_index(it->target->table);
    if (strcmp(f->name, spec->column) == 0)
        return COL_INDEX;
    for (size_t k = 0; k < spec->entity_count && k < MAX_ENTITY; k++)
        if (strcmp(f->name, spec->entity_columns[k]) == 0)
            return (int)k;
    return COL_NONE;
}

/* ---- constants ------------------------------------------------------------ */

static bool parse_wide(const char *text, size_t len, wide *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (text[i] == '-' || text[i] == '+'))
        neg = text[i++] == '-';
    if (i == len || len - i > 20)
        return false;
    wide v = 0;
    for (; i < len; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static bool is_integer_type(const char *id)
{
    static const char *const ids[] = {"TINYINT",  "SMALLINT",  "INTEGER", "BIGINT",  "UTINYINT",
                                      "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT", "UHUGEINT"};
    for (size_t i = 0; id && i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(id, ids[i]) == 0)
            return true;
    return false;
}

static bool read_hugeint(json_object *v, wide *out)
{
    json_object *upper = jget(v, "upper"), *lower = jget(v, "lower");
    if (!upper || !lower)
        return false;
    int64_t up = json_object_get_int64(upper);
    const char *lo_text = json_object_to_json_string(lower);
    wide lo = 0;
    if ((up != 0 && up != -1) || !parse_wide(lo_text, strlen(lo_text), &lo))
        return false;
    *out = up == 0 ? lo : lo - ((wide)1 << 64);
    return true;
}

static void read_constant(json_object *node, lit *out)
{
    json_object *value = jget(node, "value");
    json_object *is_null = jget(value, "is_null");
    const char *id = jstr(jget(value, "type"), "id");
    json_object *v = jget(value, "value");
    if (!v || !id || (is_null && json_object_get_boolean(is_null)))
        return;
    if (strcmp(id, "VARCHAR") == 0 && json_object_is_type(v, json_type_string)) {
        out->kind = LIT_TEXT;
        out->text = json_object_get_string(v);
        out->len = (size_t)json_object_get_string_len(v);
    } else if (is_integer_type(id) && json_object_is_type(v, json_type_int)) {
        const char *text = json_object_to_json_string(v);
        if (parse_wide(text, strlen(text), &out->num))
            out->kind = LIT_INT;
    } else if ((strcmp(id, "HUGEINT") == 0 || strcmp(id, "UHUGEINT") == 0) &&
               read_hugeint(v, &out->num)) {
        out->kind = LIT_INT;
    }
}

static const tst_param *find_param(const prune_ctx *c, const char *ident)
{
    wide pos = 0;
    if (ident && parse_wide(ident, strlen(ident), &pos)) {
        for (size_t i = 0; i < c->param_count; i++)
            if (!c->params[i].name && --pos == 0)
                return &c->params[i];
        return NULL;
    }
    for (size_t i = 0; ident && i < c->param_count; i++)
        if (c->params[i].name && strcmp(c->params[i].name, ident) == 0)
            return &c->params[i];
    return NULL;
}

static void read_parameter(const prune_ctx *c, json_object *node, lit *out)
{
    const tst_param *p = find_param(c, jstr(node, "identifier"));
    if (!p)
        return;
    if (p->type == TST_PARAM_TEXT && p->v.bytes.ptr) {
        out->kind = LIT_TEXT;
        out->text = p->v.bytes.ptr;
        out->len = p->v.bytes.len;
    } else if (p->type == TST_PARAM_INT64 || p->type == TST_PARAM_UINT64) {
        out->kind = LIT_INT;
        out->num = p->type == TST_PARAM_INT64 ? (wide)p->v.i64 : (wide)p->v.u64;
    }
}

static lit read_literal(const prune_ctx *c, json_object *node)
{
    lit out = {LIT_NONE, NULL, 0, 0, NULL};
    const char *cls = jstr(node, "class");
    if (cls && strcmp(cls, "CAST") == 0) {
        json_object *try_cast = jget(node, "try_cast");
        if (try_cast && json_object_get_boolean(try_cast))
            return out;
        out = read_literal(c, jget(node, "child"));
        if (out.cast) /* a cast of a cast: not a plain cast */
            out.kind = LIT_NONE;
        out.cast = jstr(jget(node, "cast_type"), "id");
        if (!out.cast)
            out.kind = LIT_NONE;
    } else if (cls && strcmp(cls, "CONSTANT") == 0) {
        read_constant(node, &out);
    } else if (cls && strcmp(cls, "PARAMETER") == 0) {
        read_parameter(c, node, &out);
    }
    return out;
}

/* ---- one predicate -------------------------------------------------------- */

typedef enum cmp_op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE, OP_NONE } cmp_op;

static cmp_op op_of(const char *type)
{
    static const struct { const char *name; cmp_op op; } ops[] = {
        {"COMPARE_EQUAL", OP_EQ},       {"COMPARE_LESSTHAN", OP_LT},
        {"COMPARE_LESSTHANOREQUALTO", OP_LE}, {"COMPARE_GREATERTHAN", OP_GT},
        {"COMPARE_GREATERTHANOREQUALTO", OP_GE},
    };
    for (size_t i = 0; type && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(type, ops[i].name) == 0)
            return ops[i].op;
    return OP_NONE;
}

static cmp_op flip(cmp_op op)
{
    return op == OP_LT ? OP_GT : op == OP_LE ? OP_GE : op == OP_GT ? OP_LT : op == OP_GE ? OP_LE : op;
}

/* ---- timestamp bounds, evaluated by DuckDB in the session ------------------ */

/* The SQL spelling of a cast the planner evaluates, or NULL for any other. */
static const char *time_cast_sql(const char *id)
{
    static const struct { const char *id, *sql; } casts[] = {
        {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}, {"TIMESTAMP", "TIMESTAMP"},
        {"TIMESTAMP_S", "TIMESTAMP_S"}, {"TIMESTAMP_MS", "TIMESTAMP_MS"},
        {"TIMESTAMP_NS", "TIMESTAMP_NS"}, {"DATE", "DATE"},
    };
    for (size_t i = 0; id && i < sizeof casts / sizeof casts[0]; i++)
        if (strcmp(id, casts[i].id) == 0)
            return casts[i].sql;
    return NULL;
}

/* The type the table's view gives a timestamp index column (segment_select.c). */
static const char *index_view_type(const tst_field *f)
{
    if (f->type.timezone)
        return "TIMESTAMPTZ";
    return f->type.unit == TST_PRECISION_MILLIS   ? "TIMESTAMP_MS"
           : f->type.unit == TST_PRECISION_MICROS ? "TIMESTAMP"
                                                  : "TIMESTAMP_NS";
}

/* No zone's offset from UTC, local mean times included, exceeds 16 hours
 * (America/Sitka's +14:58:47 and Asia/Manila's -15:56 come closest): the
 * widening when a zone's offset is not known exactly. */
#define ZONE_SLACK_NS (17LL * 3600 * NS_PER_SEC)
/* now() is evaluated in its own statement just before the real one: a clock
 * step between the two may move it, this much at most. */
#define NOW_SLACK_NS (3600LL * NS_PER_SEC)
#define DAY_NS (86400LL * NS_PER_SEC)

/* A constant operand as SQL DuckDB evaluates for the planner, and its type
 * (the SQL spelling; NULL for an untyped string, which takes the column's). */
typedef struct operand {
    tst_sql sql;
    const char *type;
    bool now; /* a now() form: the value is the statement's clock */
} operand;

static bool literal_operand(const lit *l, operand *out)
{
    memset(out, 0, sizeof *out);
    if (l->kind != LIT_TEXT || l->len > 256 || memchr(l->text, '\0', l->len))
        return false;
    out->type = l->cast ? time_cast_sql(l->cast) : NULL;
    if (l->cast && !out->type)
        return false;
    char *text = strndup(l->text, l->len);
    int rc = text ? SQL_LIT(&out->sql, text) : TST_ENOMEM;
    free(text);
    return rc == 0;
}

/*
 * epoch_<unit>(CAST(CAST(<operand> AS <as>) AS <to>)) as evaluated in the
 * session, in ns. While collecting, it only records the expression (and
 * answers false); afterwards it answers from the batch.
 */
static bool eval_epoch(prune_ctx *c, const operand *o, const char *as, const char *to, wide *out)
{
    bool ns = strcmp(to, "TIMESTAMP_NS") == 0;
    tst_sql q = {0};
    int64_t v = 0;
    bool ok = SQL_F(&q, "epoch_%s(CAST(CAST(%s AS %s) AS %s))", ns ? "ns" : "us", o->sql.s, as,
                    to) == 0 &&
              tst_constants_get(&c->k, q.s, &v);
    free(q.s);
    if (ok)
        *out = ns ? (wide)v : (wide)v * 1000;
    return ok;
}

/*
 * The bound `col op <operand>` puts on a timestamp index, in ns of the
 * column's own values. DuckDB compares a TIMESTAMPTZ column with
 * CAST(x AS TIMESTAMPTZ) (a zone-less text, TIMESTAMP or DATE read in the
 * session's TimeZone), and a zone-less column of type C with CAST('text' AS C)
 * or, for a typed x, in the finer of the two types (exact both ways), except
 * for a TIMESTAMPTZ x: then CAST(col AS TIMESTAMPTZ) >= x, where the column's
 * local time moves by the zone's offset (not even monotonically across a DST
 * change), so outside UTC the instant is widened by ZONE_SLACK_NS. The values
 * are DuckDB's own, evaluated in this session, so they match whatever the
 * statement will see.
 */
static bool timestamp_bound_as(prune_ctx *c, const char *col, const operand *o, wide *out,
                               wide *slack)
{
    const char *type = o->type ? o->type : col;
    bool col_tz = strcmp(col, "TIMESTAMPTZ") == 0, lit_tz = strcmp(type, "TIMESTAMPTZ") == 0;
    if ((col_tz && !lit_tz && strncmp(type, "TIMESTAMP_", 10) == 0) ||
        (!col_tz && lit_tz && strcmp(col, "TIMESTAMP") != 0))
        return false; /* DuckDB refuses the comparison itself */
    const char *to = col_tz || lit_tz ? "TIMESTAMPTZ"
                     : strcmp(type, "TIMESTAMP_NS") == 0 ? "TIMESTAMP_NS"
                                                         : "TIMESTAMP";
    if (!eval_epoch(c, o, type, to, out))
        return false;
    *slack = (!col_tz && lit_tz && !tst_constants_zone_is_utc(&c->k) ? ZONE_SLACK_NS : 0) +
             (o->now ? NOW_SLACK_NS : 0);
    return true;
}

/* The same for the index column itself, in its view's type. */
static bool timestamp_bound(prune_ctx *c, const tst_field *f, const operand *o, wide *out,
                            wide *slack)
{
    return timestamp_bound_as(c, index_view_type(f), o, out, slack);
}

/* The literal in the index's units; *slack > 0 when the bound is widened. */
static bool index_value(prune_ctx *c, const tst_table *t, const lit *l, wide *out, wide *slack)
{
    const tst_index_spec *spec = tst_table_index(t);
    *slack = 0;
    if (spec->kind.type != TST_INDEX_TIMESTAMP) {
        if (l->cast && !is_integer_type(l->cast))
            return false;
        if (l->kind == LIT_INT) {
            *out = l->num;
            return true;
        }
        return l->kind == LIT_TEXT && l->cast && parse_wide(l->text, l->len, out);
    }
    const tst_field *f = find_column(t, spec->column);
    operand o = {{NULL, 0, 0}, NULL, false};
    bool ok = f && f->type.kind == TST_TYPE_TIMESTAMP && literal_operand(l, &o) &&
              timestamp_bound(c, f, &o, out, slack);
    free(o.sql.s);
    return ok;
}

/* ---- now() and its offsets ------------------------------------------------- */

static bool now_function(const char *name)
{
    static const char *const names[] = {"now", "get_current_timestamp", "transaction_timestamp",
                                        "current_timestamp"};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

/* now(), get_current_timestamp(), transaction_timestamp() or current_timestamp
 * (a column reference unless a FROM item may have a column of that name). */
static bool render_now(const select_scope *s, const from_item *it, json_object *node,
                       tst_sql *out)
{
    const char *cls = jstr(node, "class");
    json_object *names = jget(node, "column_names"), *kids = jget(node, "children");
    if (cls && strcmp(cls, "FUNCTION") == 0 && now_function(jstr(node, "function_name")) &&
        kids && json_object_array_length(kids) == 0 && jempty(node, "schema"))
        return SQL_F(out, "%s()", jstr(node, "function_name")) == 0;
    if (!cls || strcmp(cls, "COLUMN_REF") != 0 || !names ||
        json_object_array_length(names) != 1 ||
        strcasecmp(json_object_get_string(json_object_array_get_idx(names, 0)),
                   "current_timestamp") != 0 ||
        find_column(it->target->table, "current_timestamp") ||
        !unambiguous(s, it, "current_timestamp"))
        return false;
    return SQL_F(out, "current_timestamp") == 0;
}

/* An interval constant as the parser writes INTERVAL 30 DAY or
 * INTERVAL '2 hours': integers, strings, casts and to_<unit>/trunc only. */
static bool render_interval(json_object *node, tst_sql *out, int depth)
{
    static const char *const fns[] = {"to_years",   "to_months",  "to_weeks",
                                      "to_days",    "to_hours",   "to_minutes",
                                      "to_seconds", "to_milliseconds", "to_microseconds",
                                      "trunc"};
    const char *cls = jstr(node, "class");
    if (!cls || depth > 6)
        return false;
    if (strcmp(cls, "CONSTANT") == 0) {
        lit l = {LIT_NONE, NULL, 0, 0, NULL};
        read_constant(node, &l);
        if (l.kind == LIT_INT)
            return SQL_F(out, "%lld", (long long)l.num) == 0;
        return l.kind == LIT_TEXT && !memchr(l.text, '\0', l.len) && SQL_LIT(out, l.text) == 0;
    }
    if (strcmp(cls, "CAST") == 0) {
        const char *type = jstr(jget(node, "cast_type"), "id");
        json_object *try_cast = jget(node, "try_cast");
        if (!type || (try_cast && json_object_get_boolean(try_cast)) ||
            (strcmp(type, "INTERVAL") != 0 && strcmp(type, "DOUBLE") != 0 &&
             strcmp(type, "INTEGER") != 0 && strcmp(type, "BIGINT") != 0))
            return false;
        return SQL_F(out, "CAST(") == 0 && render_interval(jget(node, "child"), out, depth + 1) &&
               SQL_F(out, " AS %s)", type) == 0;
    }
    json_object *kids = jget(node, "children");
    const char *name = jstr(node, "function_name");
    bool known = false;
    for (size_t i = 0; name && i < sizeof fns / sizeof fns[0]; i++)
        known = known || strcmp(name, fns[i]) == 0;
    if (strcmp(cls, "FUNCTION") != 0 || !known || !kids || json_object_array_length(kids) != 1 ||
        !jempty(node, "schema"))
        return false;
    return SQL_F(out, "%s(", name) == 0 &&
           render_interval(json_object_array_get_idx(kids, 0), out, depth + 1) &&
           SQL_F(out, ")") == 0;
}

/*
 * now() [+|- interval constant]: a constant for the statement (the start of
 * its transaction), monotonic in the clock, so it bounds the index like a
 * literal once DuckDB evaluates it here, widened by NOW_SLACK_NS.
 */
static bool now_operand(const select_scope *s, const from_item *it, json_object *node,
                        operand *out)
{
    memset(out, 0, sizeof *out);
    out->type = "TIMESTAMPTZ", out->now = true;
    if (render_now(s, it, node, &out->sql))
        return true;
    json_object *kids = jget(node, "children");
    const char *name = jstr(node, "function_name");
    if (!jis(node, "class", "FUNCTION") || !name || (strcmp(name, "+") != 0 && strcmp(name, "-")) ||
        !kids || json_object_array_length(kids) != 2)
        return false;
    json_object *a = json_object_array_get_idx(kids, 0), *b = json_object_array_get_idx(kids, 1);
    bool ok = SQL_F(&out->sql, "(") == 0 && render_now(s, it, a, &out->sql) &&
              SQL_F(&out->sql, " %s ", name) == 0 && render_interval(b, &out->sql, 0) &&
              SQL_F(&out->sql, ")") == 0;
    if (!ok && strcmp(name, "+") == 0) { /* interval + now() */
        free(out->sql.s);
        memset(&out->sql, 0, sizeof out->sql);
        ok = SQL_F(&out->sql, "(") == 0 && render_interval(a, &out->sql, 0) &&
             SQL_F(&out->sql, " + ") == 0 && render_now(s, it, b, &out->sql) &&
             SQL_F(&out->sql, ")") == 0;
    }
    return ok;
}

/* `why`: the TST_WIDEN_* reasons of a nonzero slack. */
static void narrow_index(ref_filter *f, cmp_op op, wide v, wide slack, unsigned why)
{
    f->reads++;
    wide lower = op == OP_GT && slack == 0 ? v + 1 : v - slack;
    wide upper = op == OP_LT && slack == 0 ? v - 1 : v + slack;
    if ((op == OP_GT || op == OP_GE || op == OP_EQ) && lower > f->lo)
        f->lo = lower, f->lo_why = slack ? why : 0;
    if ((op == OP_LT || op == OP_LE || op == OP_EQ) && upper < f->hi)
        f->hi = upper, f->hi_why = slack ? why : 0;
}

static unsigned slack_why(wide slack, bool now)
{
    return (slack >= ZONE_SLACK_NS ? TST_WIDEN_ZONE : 0) | (now ? TST_WIDEN_NOW : 0);
}

static void narrow_entity(const tst_table *t, ref_filter *f, int k, const lit *l)
{
    const tst_field *col = find_column(t, tst_table_index(t)->entity_columns[k]);
    entity_eq e = {true, false, false, NULL, 0, 0};
    if (col && col->type.kind == TST_TYPE_UTF8 && l->kind == LIT_TEXT &&
        (!l->cast || strcmp(l->cast, "VARCHAR") == 0)) {
        e.is_text = true, e.text = l->text, e.len = l->len;
    } else if (col && col->type.kind != TST_TYPE_UTF8 && l->kind == LIT_INT &&
               (!l->cast || is_integer_type(l->cast))) {
        e.num = l->num;
    } else {
        return;
    }
    entity_eq *have = &f->eq[k];
    if (!have->set) {
        *have = e;
        return;
    }
    bool same = have->is_text ? e.len == have->len && memcmp(e.text, have->text, e.len) == 0
                              : e.num == have->num;
    if (!same)
        have->conflict = true; /* a = 'x' AND a = 'y': no row of a Single segment matches */
}

/* `col::DATE op <date>`: the day [D, D + 1 day) of the column's local time,
 * for a zoned column D's midnight in the session's zone; outside UTC that is
 * within ZONE_SLACK_NS of D's midnight in UTC. */
static void narrow_date(prune_ctx *c, const from_item *it, ref_filter *f, cmp_op op,
                        json_object *operand_node)
{
    const tst_table *t = it->target->table;
    const tst_field *col = find_column(t, tst_table_index(t)->column);
    lit l = read_literal(c, operand_node);
    operand o = {{NULL, 0, 0}, NULL, false};
    wide d = 0;
    bool ok = col && col->type.kind == TST_TYPE_TIMESTAMP &&
              tst_table_index(t)->kind.type == TST_INDEX_TIMESTAMP && literal_operand(&l, &o) &&
              (!o.type || strcmp(o.type, "DATE") == 0) &&
              eval_epoch(c, &o, "DATE", "TIMESTAMP", &d);
    free(o.sql.s);
    if (!ok)
        return;
    wide slack = col->type.timezone && !tst_constants_zone_is_utc(&c->k) ? ZONE_SLACK_NS : 0;
    if (op == OP_EQ || op == OP_GE || op == OP_GT)
        narrow_index(f, OP_GE, op == OP_GT ? d + DAY_NS : d, slack, TST_WIDEN_ZONE);
    if (op == OP_EQ || op == OP_LE || op == OP_LT)
        narrow_index(f, OP_LT, op == OP_LT ? d : d + DAY_NS, slack, TST_WIDEN_ZONE);
}

/* ---- the DataFusion time functions (datafusion_functions.c) ----------------
 *
 * The reference's documentation writes bounds with DataFusion's functions,
 * and a session has them too: a function of constants on one side
 * (ts < to_timestamp_millis(1704672000123)) is a constant DuckDB evaluates
 * in the session like a literal, and to_unixtime(ts), to_date(ts) and
 * date_bin(stride, ts) compared with a constant bound the index exactly, by
 * the floors those functions take:
 *   to_unixtime(ts) = floor(ts / 1 s)       op N     [N s, N s + 1 s)
 *   to_date(ts)     = floor(ts / 1 day)     op D     [D, D + 1 day)  (UTC)
 *   date_bin(w, ts) = floor(ts / w) * w     op C     bin(ts) >= C <=> ts >= ceil_w(C),
 *                                                    bin(ts) <= C <=> ts < floor_w(C) + w
 * (origin 1970-01-01, the two-argument form only). All three read the
 * column's UTC instant, never the session's zone. They take TIMESTAMP
 * (microseconds): a zone-less nanosecond index reaches them truncated, so
 * its bounds are widened by 1 us each way.
 */

typedef enum df_kind { DF_NONE, DF_UNIXTIME, DF_DATE, DF_BIN } df_kind;

static bool plain_function(json_object *node, const char *name, size_t arity)
{
    json_object *kids = jget(node, "children"), *distinct = jget(node, "distinct");
    const char *fn = jstr(node, "function_name");
    return jis(node, "class", "FUNCTION") && fn && strcasecmp(fn, name) == 0 &&
           jempty(node, "schema") && jempty(node, "catalog") && kids &&
           json_object_is_type(kids, json_type_array) &&
           json_object_array_length(kids) == arity &&
           !(distinct && json_object_get_boolean(distinct)) &&
           !json_object_is_type(jget(node, "filter"), json_type_object);
}

/* to_unixtime(col), to_date(col) or date_bin(stride, col) of the index. */
static df_kind index_function(const select_scope *s, const from_item *it, json_object *node)
{
    json_object *kids = jget(node, "children");
    df_kind kind = plain_function(node, "to_unixtime", 1) ? DF_UNIXTIME
                   : plain_function(node, "to_date", 1)   ? DF_DATE
                   : plain_function(node, "date_bin", 2)  ? DF_BIN
                                                          : DF_NONE;
    if (kind == DF_NONE ||
        resolve_column(s, it, json_object_array_get_idx(kids, kind == DF_BIN ? 1 : 0)) != COL_INDEX)
        return DF_NONE;
    const tst_table *t = it->target->table;
    const tst_field *f = find_column(t, tst_table_index(t)->column);
    return f && f->type.kind == TST_TYPE_TIMESTAMP &&
                   tst_table_index(t)->kind.type == TST_INDEX_TIMESTAMP
               ? kind
               : DF_NONE;
}

/* to_timestamp_seconds/millis/micros/nanos(constant) or to_date(constant):
 * an operand DuckDB evaluates, of the function's result type. */
static bool function_operand(const prune_ctx *c, json_object *node, operand *out)
{
    static const struct { const char *name, *type; } fns[] = {
        {"to_timestamp_seconds", "TIMESTAMP_S"}, {"to_timestamp_millis", "TIMESTAMP_MS"},
        {"to_timestamp_micros", "TIMESTAMP"},    {"to_timestamp_nanos", "TIMESTAMP_NS"},
        {"to_date", "DATE"},
    };
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (!plain_function(node, fns[i].name, 1))
            continue;
        lit l = read_literal(c, json_object_array_get_idx(jget(node, "children"), 0));
        const char *cast = l.cast ? time_cast_sql(l.cast) : NULL;
        int rc = -1;
        if (l.kind == LIT_INT && (!l.cast || is_integer_type(l.cast)) && l.num >= INT64_MIN &&
            l.num <= INT64_MAX)
            rc = SQL_F(&out->sql, "%s(CAST(%lld AS BIGINT))", fns[i].name, (long long)l.num);
        else if (l.kind == LIT_TEXT && (!l.cast || cast) && l.len <= 256 &&
                 !memchr(l.text, '\0', l.len)) {
            char *text = strndup(l.text, l.len);
            rc = !text ? TST_ENOMEM
                 : cast ? SQL_F(&out->sql, "%s(CAST(", fns[i].name) || SQL_LIT(&out->sql, text) ||
                              SQL_F(&out->sql, " AS %s))", cast)
                        : SQL_F(&out->sql, "%s(", fns[i].name) || SQL_LIT(&out->sql, text) ||
                              SQL_F(&out->sql, ")");
            free(text);
        }
        out->type = fns[i].type;
        return rc == 0;
    }
    return false;
}

/* Sets the index range [lo, hi] (each side only if narrower). */
static void bound_index(ref_filter *f, wide lo, unsigned lo_why, wide hi, unsigned hi_why)
{
    f->reads++;
    if (lo > f->lo)
        f->lo = lo, f->lo_why = lo_why;
    if (hi < f->hi)
        f->hi = hi, f->hi_why = hi_why;
}

static wide ceil_to(wide v, wide grain)
{
    return -floor_to(-v, grain);
}

/* `fn(col) op <operand>` for the index functions above. */
static void narrow_function(prune_ctx *c, const select_scope *s, const from_item *it,
                            ref_filter *f, df_kind kind, json_object *fn, cmp_op op,
                            json_object *operand_node)
{
    const tst_table *t = it->target->table;
    const tst_field *col = find_column(t, tst_table_index(t)->column);
    wide widen = !col->type.timezone && col->type.unit == TST_PRECISION_NANOS ? 1000 : 0;
    ref_filter fb; /* the bounds on fn(col), in ns; then on col */
    memset(&fb, 0, sizeof fb);
    fb.lo = WIDE_MIN, fb.hi = WIDE_MAX;
    wide step = 0; /* fn(col) takes values that are multiples of step */
    if (kind == DF_UNIXTIME) {
        lit l = read_literal(c, operand_node);
        if (l.kind != LIT_INT || (l.cast && !is_integer_type(l.cast)))
            return;
        narrow_index(&fb, op, l.num * NS_PER_SEC, 0, 0);
        step = NS_PER_SEC;
    } else if (kind == DF_DATE) {
        lit l = read_literal(c, operand_node);
        operand o = {{NULL, 0, 0}, NULL, false};
        wide d = 0;
        bool ok = literal_operand(&l, &o) && (!o.type || strcmp(o.type, "DATE") == 0) &&
                  eval_epoch(c, &o, "DATE", "TIMESTAMP", &d);
        free(o.sql.s);
        if (!ok)
            return;
        narrow_index(&fb, op, d, 0, 0);
        step = DAY_NS;
    } else {
        tst_sql q = {0};
        int64_t us = 0;
        /* both constants are recorded on the first walk (neither answers yet) */
        bool ok = SQL_F(&q, "epoch_us(TIMESTAMP '1970-01-01' + (") == 0 &&
                  render_interval(json_object_array_get_idx(jget(fn, "children"), 0), &q, 0) &&
                  SQL_F(&q, "))") == 0 && tst_constants_get(&c->k, q.s, &us) && us > 0;
        free(q.s);
        /* date_bin's result: a TIMESTAMPTZ for a zoned index, else a TIMESTAMP */
        const char *as = col->type.timezone ? "TIMESTAMPTZ" : "TIMESTAMP";
        lit l = read_literal(c, operand_node);
        operand o = {{NULL, 0, 0}, NULL, false};
        wide v = 0, slack = 0;
        bool now = false;
        bool have = false;
        if (l.kind != LIT_NONE)
            have = literal_operand(&l, &o);
        else if (now_operand(s, it, operand_node, &o))
            have = now = true;
        else {
            free(o.sql.s);
            have = function_operand(c, operand_node, &o);
        }
        ok = have && timestamp_bound_as(c, as, &o, &v, &slack) && ok;
        free(o.sql.s);
        if (!ok)
            return;
        narrow_index(&fb, op, v, slack, slack_why(slack, now));
        step = (wide)us * 1000;
    }
    /* fn(col) = floor(col / step) * step: fn(col) >= L <=> col >= ceil_step(L), and
     * fn(col) <= U <=> col < floor_step(U) + step */
    wide lo = fb.lo, hi = fb.hi;
    if (lo > WIDE_MIN)
        lo = ceil_to(lo, step) - widen;
    if (hi < WIDE_MAX)
        hi = floor_to(hi, step) + step - 1 + widen;
    bound_index(f, lo, fb.lo_why, hi, fb.hi_why);
}

static void narrow(prune_ctx *c, const select_scope *s, const from_item *it, ref_filter *f,
                   int col, cmp_op op, json_object *operand_node)
{
    lit l = read_literal(c, operand_node);
    wide v = 0, slack = 0;
    if (l.kind == LIT_NONE && col == COL_INDEX) {
        const tst_table *t = it->target->table;
        const tst_field *field = find_column(t, tst_table_index(t)->column);
        operand o = {{NULL, 0, 0}, NULL, false};
        if (tst_table_index(t)->kind.type == TST_INDEX_TIMESTAMP && field &&
            field->type.kind == TST_TYPE_TIMESTAMP && now_operand(s, it, operand_node, &o) &&
            timestamp_bound(c, field, &o, &v, &slack)) {
            narrow_index(f, op, v, slack, slack_why(slack, true));
        } else if (tst_table_index(t)->kind.type == TST_INDEX_TIMESTAMP && field &&
                   field->type.kind == TST_TYPE_TIMESTAMP &&
                   (free(o.sql.s), function_operand(c, operand_node, &o)) &&
                   timestamp_bound(c, field, &o, &v, &slack)) {
            narrow_index(f, op, v, slack, slack_why(slack, false));
        }
        free(o.sql.s);
    } else if (col == COL_INDEX && index_value(c, it->target->table, &l, &v, &slack)) {
        narrow_index(f, op, v, slack, slack_why(slack, false));
    } else if (col >= 0 && op == OP_EQ && l.kind != LIT_NONE) {
        narrow_entity(it->target->table, f, col, &l);
    }
}

/* CAST(col AS DATE) (col::DATE) of the index column. */
static bool index_as_date(const select_scope *s, const from_item *it, json_object *node)
{
    json_object *try_cast = jget(node, "try_cast");
    return jis(node, "class", "CAST") && jis(jget(node, "cast_type"), "id", "DATE") &&
           !(try_cast && json_object_get_boolean(try_cast)) &&
           resolve_column(s, it, jget(node, "child")) == COL_INDEX;
}

/* Whether the reference's index column appears anywhere in the node. */
static bool mentions_index(const select_scope *s, const from_item *it, json_object *node)
{
    if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++)
            if (mentions_index(s, it, json_object_array_get_idx(node, i)))
                return true;
        return false;
    }
    if (!json_object_is_type(node, json_type_object))
        return false;
    if (jis(node, "class", "COLUMN_REF"))
        return resolve_column(s, it, node) == COL_INDEX;
    json_object_object_foreach(node, key, val) {
        (void)key;
        if (mentions_index(s, it, val))
            return true;
    }
    return false;
}

/* A condition that names the index but gave fewer bounds than it has:
 * what it reads is not known (only that it is within the rest). */
static void note_unread(const select_scope *s, const from_item *it, json_object *node,
                        ref_filter *f, unsigned before, unsigned want)
{
    if (f->reads - before < want && mentions_index(s, it, node))
        f->unread = true;
}

static void read_comparison(prune_ctx *c, const select_scope *s, const from_item *it,
                            json_object *node, ref_filter *f)
{
    cmp_op op = op_of(jstr(node, "type"));
    json_object *left = jget(node, "left"), *right = jget(node, "right");
    int col = COL_NONE;
    if (op == OP_NONE)
        return;
    df_kind kind = DF_NONE;
    if (index_as_date(s, it, left))
        narrow_date(c, it, f, op, right);
    else if (index_as_date(s, it, right))
        narrow_date(c, it, f, flip(op), left);
    else if ((kind = index_function(s, it, left)) != DF_NONE)
        narrow_function(c, s, it, f, kind, left, op, right);
    else if ((kind = index_function(s, it, right)) != DF_NONE)
        narrow_function(c, s, it, f, kind, right, flip(op), left);
    else if ((col = resolve_column(s, it, left)) != COL_NONE)
        narrow(c, s, it, f, col, op, right);
    else if ((col = resolve_column(s, it, right)) != COL_NONE)
        narrow(c, s, it, f, col, flip(op), left);
}

static void read_predicate(prune_ctx *c, const select_scope *s, const from_item *it,
                           json_object *node, ref_filter *f);

/* What an IN element is, for DuckDB's choice of the type all are compared in. */
static const char *element_type(json_object *node)
{
    const char *cls = jstr(node, "class");
    if (cls && strcmp(cls, "CAST") == 0)
        return jstr(jget(node, "cast_type"), "id");
    if (cls && strcmp(cls, "CONSTANT") == 0)
        return jstr(jget(jget(node, "value"), "type"), "id");
    return cls && strcmp(cls, "PARAMETER") == 0 ? "PARAMETER" : NULL;
}

/* The range one alternative of an OR (or value of an IN) allows the index. */
static void read_alternative(prune_ctx *c, const select_scope *s, const from_item *it,
                             json_object *in_col, json_object *node, ref_filter *alt)
{
    memset(alt, 0, sizeof *alt);
    alt->lo = WIDE_MIN, alt->hi = WIDE_MAX;
    if (!in_col)
        read_predicate(c, s, it, node, alt);
    else if (index_as_date(s, it, in_col))
        narrow_date(c, it, alt, OP_EQ, node);
    else if (resolve_column(s, it, in_col) == COL_INDEX)
        narrow(c, s, it, alt, COL_INDEX, OP_EQ, node);
    if (in_col)
        note_unread(s, it, in_col, alt, 0, 1);
}

/* An alternative's index range, to tell whether the hull of all has gaps. */
typedef struct span {
    wide lo, hi;
} span;

static int span_order(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static bool has_gaps(span *spans, size_t n)
{
    qsort(spans, n, sizeof *spans, span_order);
    wide reach = n ? spans[0].hi : 0;
    for (size_t i = 1; i < n; i++) {
        if (reach < WIDE_MAX && spans[i].lo > reach + 1)
            return true;
        reach = spans[i].hi > reach ? spans[i].hi : reach;
    }
    return false;
}

/*
 * a OR b OR ..., index IN (x, y, ...): a matching row lies in one
 * alternative's range, so in the hull of them all. Only the index range is
 * used (entity equalities inside are not); an IN is read only when its
 * values all have one type, so each compares as it would alone.
 */
static void read_alternatives(prune_ctx *c, const select_scope *s, const from_item *it,
                              json_object *node, ref_filter *f)
{
    json_object *kids = jget(node, "children");
    bool in = jis(node, "type", "COMPARE_IN");
    size_t n = kids && json_object_is_type(kids, json_type_array) ? json_object_array_length(kids)
                                                                   : 0;
    json_object *in_col = in && n > 1 ? json_object_array_get_idx(kids, 0) : NULL;
    const char *type = in_col ? element_type(json_object_array_get_idx(kids, 1)) : NULL;
    for (size_t i = 2; in_col && i < n; i++) {
        const char *other = element_type(json_object_array_get_idx(kids, i));
        if (!type || !other || strcmp(type, other) != 0) {
            note_unread(s, it, in_col, f, f->reads, 1);
            return;
        }
    }
    if (n == 0 || (in && !in_col)) {
        note_unread(s, it, node, f, f->reads, 1);
        return;
    }
    wide lo = WIDE_MAX, hi = WIDE_MIN;
    unsigned lo_why = 0, hi_why = 0, mid_why = 0;
    span *spans = calloc(n, sizeof *spans);
    size_t m = 0;
    for (size_t i = in ? 1 : 0; i < n; i++) {
        ref_filter alt;
        read_alternative(c, s, it, in_col, json_object_array_get_idx(kids, i), &alt);
        f->unread |= alt.unread;
        if (alt.lo > alt.hi)
            continue; /* this alternative matches nothing */
        if (alt.lo < lo)
            lo = alt.lo, lo_why = alt.lo_why;
        if (alt.hi > hi)
            hi = alt.hi, hi_why = alt.hi_why;
        mid_why |= alt.lo_why | alt.hi_why | alt.mid_why;
        if (spans)
            spans[m++] = (span){alt.lo, alt.hi};
    }
    if (!spans || has_gaps(spans, m))
        mid_why |= TST_WIDEN_HULL;
    free(spans);
    if (lo > f->lo)
        f->lo = lo, f->lo_why = lo_why;
    if (hi < f->hi)
        f->hi = hi, f->hi_why = hi_why;
    f->mid_why |= mid_why;
}

static void read_predicate(prune_ctx *c, const select_scope *s, const from_item *it,
                           json_object *node, ref_filter *f)
{
    const char *cls = jstr(node, "class");
    json_object *input = jget(node, "input");
    unsigned before = f->reads;
    if (!cls)
        return;
    if (strcmp(cls, "CONJUNCTION") == 0 && jis(node, "type", "CONJUNCTION_AND")) {
        json_object *kids = jget(node, "children");
        for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
            read_predicate(c, s, it, json_object_array_get_idx(kids, i), f);
    } else if ((strcmp(cls, "CONJUNCTION") == 0 && jis(node, "type", "CONJUNCTION_OR")) ||
               (strcmp(cls, "OPERATOR") == 0 && jis(node, "type", "COMPARE_IN"))) {
        read_alternatives(c, s, it, node, f);
    } else if (strcmp(cls, "COMPARISON") == 0) {
        read_comparison(c, s, it, node, f);
        note_unread(s, it, node, f, before, 1);
    } else if (strcmp(cls, "BETWEEN") == 0 && jis(node, "type", "COMPARE_BETWEEN")) {
        if (index_as_date(s, it, input)) {
            narrow_date(c, it, f, OP_GE, jget(node, "lower"));
            narrow_date(c, it, f, OP_LE, jget(node, "upper"));
        } else if (index_function(s, it, input) != DF_NONE) {
            df_kind kind = index_function(s, it, input);
            narrow_function(c, s, it, f, kind, input, OP_GE, jget(node, "lower"));
            narrow_function(c, s, it, f, kind, input, OP_LE, jget(node, "upper"));
        } else if (resolve_column(s, it, input) == COL_INDEX) {
            narrow(c, s, it, f, COL_INDEX, OP_GE, jget(node, "lower"));
            narrow(c, s, it, f, COL_INDEX, OP_LE, jget(node, "upper"));
        }
        note_unread(s, it, node, f, before, 2);
    } else if (!jis(node, "type", "OPERATOR_IS_NULL") &&
               !jis(node, "type", "OPERATOR_IS_NOT_NULL")) {
        note_unread(s, it, node, f, before, 1); /* NOT, a function of the index, ... */
    }
}

/* ---- segments ------------------------------------------------------------- */

static bool wide_of(const tst_index_value *v, wide *out)
{
    switch (v->type) {
    case TST_INDEX_TIMESTAMP: *out = (wide)v->v.ts.sec * NS_PER_SEC + v->v.ts.nsec; return true;
    case TST_INDEX_INT64: *out = v->v.i64; return true;
    case TST_INDEX_UINT64: *out = v->v.u64; return true;
    default: return false;
    }
}

/* Whether an identity (one value per entity column) can satisfy the
 * reference's entity equalities. */
static bool values_match(const ref_filter *f, const tst_entity_value *values, size_t count)
{
    for (size_t k = 0; k < count && k < MAX_ENTITY; k++) {
        const entity_eq *e = &f->eq[k];
        const tst_entity_value *v = &values[k];
        if (!e->set)
            continue;
        if (e->conflict)
            return false;
        if (e->is_text != (v->type == TST_ENTITY_UTF8))
            continue; /* types we cannot compare: keep */
        bool same = e->is_text ? v->v.utf8.len == e->len &&
                                     (e->len == 0 || memcmp(v->v.utf8.ptr, e->text, e->len) == 0)
                    : v->type == TST_ENTITY_INT32 ? e->num == v->v.i32
                    : v->type == TST_ENTITY_INT64 ? e->num == v->v.i64
                                                  : e->num == (wide)v->v.u64;
        if (!same)
            return false;
    }
    return true;
}

static bool single_identity(const tst_segment *seg, size_t entity_count)
{
    return seg->layout.kind == TST_LAYOUT_SINGLE && seg->layout.count == entity_count;
}

static bool identity_matches(const ref_filter *f, const tst_segment *seg, size_t entity_count)
{
    return !single_identity(seg, entity_count) ||
           values_match(f, seg->layout.values, entity_count);
}

/* The table's view reads a zoned index as TIMESTAMPTZ (microseconds): a
 * finer stored value reaches the statement truncated, so bounds are compared
 * at that grain, widened outwards. */
static wide view_grain(const tst_table *t)
{
    const tst_field *f = find_column(t, tst_table_index(t)->column);
    return f && f->type.kind == TST_TYPE_TIMESTAMP && f->type.timezone &&
                   f->type.unit == TST_PRECISION_NANOS
               ? 1000
               : 1;
}

static bool segment_needed(const tst_table *t, const ref_filter *f, const tst_segment *seg,
                           wide grain)
{
    wide lo = 0, hi = 0;
    if (!f)
        return true;
    if (f->lo > f->hi)
        return false;
    if (wide_of(&seg->index_min, &lo) && wide_of(&seg->index_max, &hi)) {
        lo = floor_to(lo, grain);
        hi = -floor_to(-hi, grain);
        if (hi < f->lo || lo > f->hi)
            return false;
    }
    return identity_matches(f, seg, tst_table_index(t)->entity_count);
}

/* ---- the bitmap check ------------------------------------------------------
 *
 * min/max says only that a segment's rows lie between index_min and
 * index_max. A backfill segment with rows on Jan 1 and Dec 31 meets every
 * range of the year. Its coverage sidecar lists the (entity, bucket) slots
 * it actually holds, so for a segment min/max kept, the reference's range
 * (clipped to the segment's) is turned into buckets [first, last] and the
 * sidecar is asked whether it holds any of them, for an identity the
 * entity equalities allow. None: no row of the segment can match.
 *
 * The sidecar is read only when it can say no. It holds the buckets of
 * index_min and index_max (rows are there), so a range reaching either of
 * them is answered without it, unless an entity equality narrows a
 * multi-entity segment: only a range strictly between the segment's first
 * and last bucket can be skipped by the bitmap alone. A sidecar that
 * cannot be read (no path, missing, corrupt) keeps the segment. The
 * environment variable TST_PRUNE_BITMAPS=0 turns the check off (to measure
 * it, or to rule it out when diagnosing).
 */

static bool index_value_of(const tst_index_kind *kind, wide v, tst_index_value *out)
{
    if (kind->type == TST_INDEX_TIMESTAMP) {
        wide sec = v / NS_PER_SEC, ns = v % NS_PER_SEC;
        if (ns < 0)
            sec--, ns += NS_PER_SEC;
        *out = tst_index_value_timestamp((int64_t)sec, (uint32_t)ns);
    } else if (kind->type == TST_INDEX_INT64) {
        *out = tst_index_value_int64((int64_t)v);
    } else {
        *out = tst_index_value_uint64((uint64_t)v);
    }
    return true;
}

static bool bucket_at(const tst_index_kind *kind, wide v, uint64_t *out)
{
    tst_index_value iv;
    return index_value_of(kind, v, &iv) && tst_bucket_of(kind, &iv, out) == 0;
}

static bool any_equality(const ref_filter *f, size_t entity_count)
{
    for (size_t k = 0; k < entity_count && k < MAX_ENTITY; k++)
        if (f->eq[k].set)
            return true;
    return false;
}

/* Whether the sidecar holds a bucket of [first, last] for an identity the
 * equalities allow. */
static bool sidecar_holds(const tst_table_cov *cov, const ref_filter *f, uint64_t first,
                          uint64_t last)
{
    if (cov->global)
        return tst_coverage_count_range(cov->global, first, last) > 0;
    size_t n = cov->entities ? tst_entity_coverage_count(cov->entities) : 0;
    for (size_t i = 0; i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *buckets = NULL;
        if (tst_entity_coverage_at(cov->entities, i, &id, &buckets) != 0)
            return true;
        if (values_match(f, id.values, id.count) &&
            tst_coverage_count_range(buckets, first, last) > 0)
            return true;
    }
    return false;
}

static bool bitmap_may_hold(tst_prune_target *t, const ref_filter *f, const tst_segment *seg,
                            wide grain)
{
    const tst_index_spec *spec = tst_table_index(t->table);
    wide seg_lo = 0, seg_hi = 0;
    if (!t->covs || !wide_of(&seg->index_min, &seg_lo) || !wide_of(&seg->index_max, &seg_hi))
        return true;
    /* A row's view value is its index truncated to the grain (toward zero
     * or downwards): the row itself may lie up to grain - 1 either side. */
    wide pad = grain - 1;
    wide lo = f->lo > WIDE_MIN + pad ? f->lo - pad : WIDE_MIN;
    wide hi = f->hi < WIDE_MAX - pad ? f->hi + pad : WIDE_MAX;
    lo = lo > seg_lo ? lo : seg_lo;
    hi = hi < seg_hi ? hi : seg_hi;
    uint64_t first = 0, last = 0, seg_first = 0, seg_last = 0;
    if (lo > hi || !bucket_at(&spec->kind, lo, &first) || !bucket_at(&spec->kind, hi, &last) ||
        !bucket_at(&spec->kind, seg_lo, &seg_first) || !bucket_at(&spec->kind, seg_hi, &seg_last))
        return true;
    bool entity_narrows = any_equality(f, spec->entity_count) &&
                          !single_identity(seg, spec->entity_count);
    if ((first == seg_first || last == seg_last) && !entity_narrows)
        return true; /* the buckets of index_min and index_max hold rows */
    const tst_table_cov *cov =
        tst_segment_covs_get(t->covs, t->root, spec, NULL, seg->coverage_path);
    return !cov || sidecar_holds(cov, f, first, last);
}

/* ---- what a reference reads, for coverage checks ---------------------------
 *
 * The reference's [lo, hi] and equalities, in the index's domain: a side at
 * or past the domain's end is unbounded (the check clamps it to the
 * table's covered extent: nothing lies outside the domain), a range wholly
 * outside it reads nothing. A zoned nanosecond index is compared at the
 * view's microsecond grain, so a row up to grain - 1 past hi is read too.
 * An equality whose value the column's type cannot hold is dropped (every
 * entity is asked: wider, never narrower).
 */

/* Beyond year 9999 either way, where no bucket (and so no row) can be. */
#define TS_DOMAIN_NS ((wide)400000000 * 1000000000 * 1000)

static void domain_of(const tst_index_kind *kind, wide *min, wide *max)
{
    if (kind->type == TST_INDEX_TIMESTAMP)
        *min = -TS_DOMAIN_NS, *max = TS_DOMAIN_NS;
    else if (kind->type == TST_INDEX_INT64)
        *min = INT64_MIN, *max = INT64_MAX;
    else
        *min = 0, *max = (wide)UINT64_MAX;
}

static void ask_bounds(const tst_index_kind *kind, const ref_filter *f, wide grain,
                       tst_read_ask *a)
{
    wide min = 0, max = 0, lo = f->lo, hi = f->hi;
    domain_of(kind, &min, &max);
    if (hi < WIDE_MAX - grain)
        hi += grain - 1;
    a->empty = lo > hi || lo > max || hi < min;
    a->has_lo = !a->empty && lo > min;
    a->has_hi = !a->empty && hi < max;
    if (a->has_lo)
        index_value_of(kind, lo, &a->lo);
    if (a->has_hi)
        index_value_of(kind, hi, &a->hi);
    a->lo_widened = f->lo_why, a->hi_widened = f->hi_why, a->widened = f->mid_why;
}

static bool ask_equality(const tst_table *t, size_t k, const entity_eq *e, tst_entity_value *out)
{
    const tst_field *col = find_column(t, tst_table_index(t)->entity_columns[k]);
    tst_entity_type type = col ? tst_entity_type_of(&col->type) : (tst_entity_type)0;
    if (e->is_text) {
        char *copy = type == TST_ENTITY_UTF8 ? malloc(e->len + 1) : NULL;
        if (!copy)
            return false;
        memcpy(copy, e->text, e->len);
        copy[e->len] = '\0';
        out->type = TST_ENTITY_UTF8, out->v.utf8.ptr = copy, out->v.utf8.len = e->len;
        return true;
    }
    out->type = type;
    if (type == TST_ENTITY_INT32 && e->num >= INT32_MIN && e->num <= INT32_MAX)
        out->v.i32 = (int32_t)e->num;
    else if (type == TST_ENTITY_INT64 && e->num >= INT64_MIN && e->num <= INT64_MAX)
        out->v.i64 = (int64_t)e->num;
    else if (type == TST_ENTITY_UINT64 && e->num >= 0 && e->num <= (wide)UINT64_MAX)
        out->v.u64 = (uint64_t)e->num;
    else
        return false;
    return true;
}

static void record_ask(prune_ctx *c, tst_prune_target *t, const ref_filter *f)
{
    if (t->ask_count == t->ask_cap) {
        size_t cap = t->ask_cap ? t->ask_cap * 2 : 4;
        tst_read_ask *asks = realloc(t->asks, cap * sizeof *asks);
        if (!asks) {
            c->oom = true;
            return;
        }
        t->asks = asks, t->ask_cap = cap;
    }
    tst_read_ask *a = &t->asks[t->ask_count++];
    memset(a, 0, sizeof *a);
    if (!f) {
        a->widened = TST_WIDEN_WHOLE;
        return;
    }
    const tst_index_spec *spec = tst_table_index(t->table);
    ask_bounds(&spec->kind, f, view_grain(t->table), a);
    a->unread = f->unread;
    for (size_t k = 0; k < spec->entity_count && k < MAX_ENTITY; k++) {
        if (f->eq[k].set && f->eq[k].conflict)
            a->empty = true;
        else if (f->eq[k].set)
            a->eq_set[k] = ask_equality(t->table, k, &f->eq[k], &a->eq[k]);
    }
}

static void clear_asks(tst_prune_target *t)
{
    for (size_t i = 0; i < t->ask_count; i++)
        for (size_t k = 0; k < MAX_ENTITY; k++)
            if (t->asks[i].eq_set[k] && t->asks[i].eq[k].type == TST_ENTITY_UTF8)
                free((char *)t->asks[i].eq[k].v.utf8.ptr);
    t->ask_count = 0;
}

/* ORs what one reference needs into the target's keep flags. While the
 * statement's timestamp constants are still being collected (the first of
 * two walks), bounds are incomplete and no sidecar is read. */
/* ---- the time index of the segments ------------------------------------------
 *
 * A statement's range meets few of a long table's segments; checking each
 * of them (two 128-bit floors apiece) made planning grow with the table.
 * The session keeps, per registered table and version, the segments sorted
 * by index_min (at the view's grain, as segment_needed reads it) with the
 * running maximum of index_max: the segments meeting [lo, hi] lie between
 * the first position whose running maximum reaches lo and the first whose
 * index_min passes hi, found by binary search. Between those, segments that
 * end before lo while an earlier one reaches past it are checked and
 * skipped (none, when segments do not overlap). Every candidate still goes
 * through segment_needed, so the index only saves checks, never keeps one.
 */

struct tst_segment_order {
    const tst_table *table;
    uint64_t version;
    size_t count;
    wide grain;
    size_t *order;  /* segment numbers by index_min */
    wide *min;      /* index_min of order[j], floored to the grain */
    wide *reach;    /* max index_max of order[0..j], ceiled to the grain */
};

void tst_segment_order_free(tst_segment_order *o)
{
    if (o) {
        free(o->order), free(o->min), free(o->reach);
        free(o);
    }
}

typedef struct order_key {
    wide min;
    size_t i;
} order_key;

static int order_key_cmp(const void *a, const void *b)
{
    const order_key *x = a, *y = b;
    return x->min < y->min ? -1 : x->min > y->min ? 1 : (x->i > y->i) - (x->i < y->i);
}

/* The table's index at its current version, built if needed; NULL when
 * out of memory (then every segment is checked). */
static const tst_segment_order *segment_order(tst_prune_target *t, wide grain)
{
    size_t n = tst_table_segment_count(t->table);
    tst_segment_order *o = t->order ? *t->order : NULL;
    if (!t->order)
        return NULL;
    if (o && o->table == t->table && o->version == tst_table_version(t->table) &&
        o->count == n && o->grain == grain)
        return o;
    tst_segment_order_free(o);
    *t->order = NULL;
    o = calloc(1, sizeof *o);
    order_key *keys = calloc(n ? n : 1, sizeof *keys);
    wide *max = calloc(n ? n : 1, sizeof *max);
    if (o) {
        o->order = calloc(n ? n : 1, sizeof *o->order);
        o->min = calloc(n ? n : 1, sizeof *o->min);
        o->reach = calloc(n ? n : 1, sizeof *o->reach);
    }
    if (!o || !keys || !max || !o->order || !o->min || !o->reach) {
        tst_segment_order_free(o);
        free(keys), free(max);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const tst_segment *seg = tst_table_segment_at(t->table, i);
        wide lo = 0, hi = 0;
        if (wide_of(&seg->index_min, &lo) && wide_of(&seg->index_max, &hi))
            lo = floor_to(lo, grain), hi = -floor_to(-hi, grain);
        else
            lo = WIDE_MIN, hi = WIDE_MAX; /* segment_needed keeps it on any range */
        keys[i] = (order_key){lo, i};
        max[i] = hi;
    }
    qsort(keys, n, sizeof *keys, order_key_cmp);
    for (size_t j = 0; j < n; j++) {
        o->order[j] = keys[j].i;
        o->min[j] = keys[j].min;
        wide hi = max[keys[j].i];
        o->reach[j] = j == 0 || hi > o->reach[j - 1] ? hi : o->reach[j - 1];
    }
    free(keys), free(max);
    o->table = t->table, o->version = tst_table_version(t->table), o->count = n, o->grain = grain;
    *t->order = o;
    return o;
}

/* Positions [*from, *to) of the order whose segments may meet [lo, hi]. */
static void order_span(const tst_segment_order *o, wide lo, wide hi, size_t *from, size_t *to)
{
    size_t a = 0, b = o->count; /* first j with reach[j] >= lo */
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (o->reach[m] < lo)
            a = m + 1;
        else
            b = m;
    }
    *from = a;
    b = o->count; /* first j with min[j] > hi */
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (o->min[m] <= hi)
            a = m + 1;
        else
            b = m;
    }
    *to = a;
}

static void keep_segment(prune_ctx *c, tst_prune_target *t, const ref_filter *f, size_t i,
                         wide grain, bool bitmaps)
{
    (void)c;
    const tst_segment *seg = tst_table_segment_at(t->table, i);
    if (t->keep[i] || !segment_needed(t->table, f, seg, grain))
        return;
    if (t->in_range)
        t->in_range[i] = true;
    t->keep[i] = !bitmaps || bitmap_may_hold(t, f, seg, grain);
}

static void keep_needed(prune_ctx *c, tst_prune_target *t, const ref_filter *f)
{
    t->referenced = true;
    record_ask(c, t, f);
    size_t n = tst_table_segment_count(t->table);
    wide grain = view_grain(t->table);
    bool bitmaps = f && !c->no_bitmaps && (c->k.count == 0 || c->k.evaluated);
    if (!t->keep || (f && f->lo > f->hi))
        return; /* no row meets the range: no segment */
    if (c->k.count > 0 && !c->k.evaluated)
        return; /* the first of two walks: the second, with the values, decides */
    const tst_segment_order *o = f ? segment_order(t, grain) : NULL;
    if (o) {
        size_t from = 0, to = 0;
        order_span(o, f->lo, f->hi, &from, &to);
        for (size_t j = from; j < to; j++)
            if (o->reach[j] >= f->lo)
                keep_segment(c, t, f, o->order[j], grain, bitmaps);
        return;
    }
    for (size_t i = 0; i < n; i++)
        keep_segment(c, t, f, i, grain, bitmaps);
}

/* ---- the tree walk -------------------------------------------------------- */

static void walk(prune_ctx *c, json_object *node);

/* A reference with no sample, column aliases, schema or time travel. */
static bool plain_reference(json_object *node)
{
    json_object *sample = jget(node, "sample"), *at = jget(node, "at_clause");
    return !sample && !at && jempty(node, "column_name_alias") && jempty(node, "schema_name") &&
           jempty(node, "catalog_name");
}

static void collect_from(prune_ctx *c, select_scope *s, json_object *from)
{
    const char *type = jstr(from, "type");
    if (!type)
        return;
    if (strcmp(type, "JOIN") == 0) {
        const char *ref = jstr(from, "ref_type");
        if (!ref || (strcmp(ref, "REGULAR") != 0 && strcmp(ref, "CROSS") != 0))
            s->unsafe = true;
        collect_from(c, s, jget(from, "left"));
        collect_from(c, s, jget(from, "right"));
        walk(c, jget(from, "condition"));
        return;
    }
    if (s->count == MAX_ITEMS) {
        s->unsafe = true;
        walk(c, from); /* its references keep everything */
        return;
    }
    from_item *it = &s->items[s->count++];
    it->node = from;
    it->base = strcmp(type, "BASE_TABLE") == 0;
    if (!it->base) {
        walk(c, from);
        return;
    }
    it->table = jstr(from, "table_name");
    it->alias = jstr(from, "alias");
    it->target = find_target(c, it->table);
}

/* Whether a column of that name (any qualifier, any case) appears in node. */
static bool names_column(json_object *node, const char *name)
{
    if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++)
            if (names_column(json_object_array_get_idx(node, i), name))
                return true;
        return false;
    }
    if (!json_object_is_type(node, json_type_object))
        return false;
    json_object *names = jget(node, "column_names");
    if (jis(node, "class", "COLUMN_REF") && names &&
        json_object_is_type(names, json_type_array) && json_object_array_length(names) > 0) {
        const char *last =
            json_object_get_string(json_object_array_get_idx(names, json_object_array_length(names) - 1));
        return last && strcasecmp(last, name) == 0;
    }
    json_object_object_foreach(node, key, val) {
        (void)key;
        if (names_column(val, name))
            return true;
    }
    return false;
}

/* A WHERE over a subquery, CTE or view (a FROM item that is not a registered
 * tstable) may bound a table's index where its own reference does not:
 * remembered for coverage checks (outer_bound). A SELECT that reads the
 * table itself, or only other tstables, bounds their own columns. */
static void note_outer_bounds(prune_ctx *c, const select_scope *s, json_object *where)
{
    bool derived = false;
    for (size_t i = 0; i < s->count; i++)
        derived = derived || !s->items[i].target;
    for (size_t k = 0; where && derived && k < c->target_count; k++) {
        tst_prune_target *t = &c->targets[k];
        bool own = false;
        for (size_t i = 0; i < s->count; i++)
            own = own || s->items[i].target == t;
        if (!own && !t->outer_bound && names_column(where, tst_table_index(t->table)->column))
            t->outer_bound = true;
    }
}

static void select_node(prune_ctx *c, json_object *node)
{
    select_scope s;
    memset(&s, 0, sizeof s);
    collect_from(c, &s, jget(node, "from_table"));
    json_object *where = jget(node, "where_clause");
    for (size_t i = 0; i < s.count; i++) {
        from_item *it = &s.items[i];
        if (!it->target)
            continue;
        ref_filter f;
        memset(&f, 0, sizeof f);
        f.lo = WIDE_MIN, f.hi = WIDE_MAX;
        bool usable = !s.unsafe && plain_reference(it->node);
        if (usable && where)
            read_predicate(c, &s, it, where, &f);
        keep_needed(c, it->target, usable ? &f : NULL);
        if (!usable && where && it->target->ask_count > 0 && mentions_index(&s, it, where))
            it->target->asks[it->target->ask_count - 1].unread = true;
    }
    note_outer_bounds(c, &s, where);
    json_object_object_foreach(node, key, val) {
        if (strcmp(key, "from_table") != 0)
            walk(c, val);
    }
}

/* Finds every SELECT node and every stray table reference. */
static void walk(prune_ctx *c, json_object *node)
{
    if (!node)
        return;
    if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++)
            walk(c, json_object_array_get_idx(node, i));
        return;
    }
    if (!json_object_is_type(node, json_type_object))
        return;
    if (jis(node, "type", "SELECT_NODE")) {
        select_node(c, node);
        return;
    }
    if (jis(node, "type", "BASE_TABLE")) {
        tst_prune_target *t = find_target(c, jstr(node, "table_name"));
        if (t)
            keep_needed(c, t, NULL);
        return;
    }
    const char *fn = jis(node, "class", "FUNCTION") ? jstr(node, "function_name") : NULL;
    if (fn && (strcasecmp(fn, "query") == 0 || strcasecmp(fn, "query_table") == 0))
        c->sql_text = true;
    json_object_object_foreach(node, key, val) {
        (void)key;
        walk(c, val);
    }
}

/* ---- the statement -------------------------------------------------------- */

/* json_serialize_sql(sql) as a malloc'd string, or NULL when DuckDB fails.
 * The function needs a constant argument (a parameter does not bind). */
static char *serialize(duckdb_connection con, const char *sql)
{
    tst_sql q = {0};
    duckdb_result res;
    char *json = NULL;
    if (SQL_F(&q, "SELECT json_serialize_sql(") != 0 || SQL_LIT(&q, sql) != 0 ||
        SQL_F(&q, ")") != 0) {
        free(q.s);
        return NULL;
    }
    if (duckdb_query(con, q.s, &res) == DuckDBSuccess) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
        if (chunk && duckdb_data_chunk_get_size(chunk) == 1) {
            duckdb_string_t *v = duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0));
            json = strndup(duckdb_string_t_data(&v[0]), duckdb_string_t_length(v[0]));
        }
        if (chunk)
            duckdb_destroy_data_chunk(&chunk);
    }
    duckdb_destroy_result(&res);
    free(q.s);
    return json;
}

/* Whether `name` appears in the text as a whole identifier (any case). */
bool tst_prune_mentions(const char *sql, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = sql; (p = strcasestr(p, name)) != NULL; p++) {
        bool before = p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool after = isalnum((unsigned char)p[n]) || p[n] == '_';
        if (!before && !after)
            return true;
    }
    return false;
}

static int alloc_keep(tst_prune_target *targets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t segs = tst_table_segment_count(targets[i].table);
        targets[i].referenced = false;
        targets[i].outer_bound = false;
        targets[i].keep = calloc(segs ? segs : 1, sizeof *targets[i].keep);
        targets[i].in_range = calloc(segs ? segs : 1, sizeof *targets[i].in_range);
        if (!targets[i].keep || !targets[i].in_range)
            return tst_fail(TST_ENOMEM, "out of memory planning which segments to read");
    }
    return 0;
}

/* Past blanks and SQL comments. */
static const char *skip_space(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (!end)
                return p;
            p = end + 2;
        } else {
            return p;
        }
    }
}

/* Past `word` (any case, a whole word) and the blanks after it, or NULL. */
static const char *skip_word(const char *p, const char *word)
{
    size_t n = strlen(word);
    if (strncasecmp(p, word, n) != 0 || isalnum((unsigned char)p[n]) || p[n] == '_')
        return NULL;
    return skip_space(p + n);
}

/* Past a balanced "( ... )" (EXPLAIN's options), or NULL. Quotes are not
 * special here: a statement cut wrongly fails to serialize, and prunes
 * nothing. */
static const char *skip_parens(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
        if (depth == 0)
            return skip_space(p + 1);
    }
    return NULL;
}

/* The parse tree of one statement, or NULL when DuckDB cannot serialize it. */
static json_object *parse_one(duckdb_connection con, const char *sql)
{
    char *text = serialize(con, sql);
    json_object *root = text ? json_tokener_parse(text) : NULL;
    free(text);
    json_object *stmts = jget(root, "statements"), *err = jget(root, "error");
    if (stmts && json_object_is_type(stmts, json_type_array) &&
        json_object_array_length(stmts) == 1 && !(err && json_object_get_boolean(err)))
        return root;
    json_object_put(root);
    return NULL;
}

/*
 * EXPLAIN [ANALYZE] [(options)] <statement> shows (and ANALYZE runs) the plan
 * of <statement> over the views this statement defines, so it prunes as
 * <statement> does. json_serialize_sql reads SELECTs only: the inner
 * statement is found in the text. "EXPLAIN (SELECT ...)" is a statement in
 * parentheses, tried before reading the parentheses as options.
 */
static json_object *parse_statement(duckdb_connection con, const char *sql)
{
    const char *p = skip_space(sql), *inner = skip_word(p, "EXPLAIN");
    if (!inner)
        return parse_one(con, sql);
    const char *analyze = skip_word(inner, "ANALYZE");
    inner = analyze ? analyze : skip_word(inner, "ANALYSE") ? skip_word(inner, "ANALYSE") : inner;
    json_object *root = parse_one(con, inner);
    if (!root && *inner == '(' && (inner = skip_parens(inner)) != NULL)
        root = parse_one(con, inner);
    return root;
}

int tst_prune_statement(duckdb_connection con, const char *sql, const tst_param *params,
                        size_t param_count, tst_prune_target *targets, size_t target_count)
{
    int rc = alloc_keep(targets, target_count);
    if (rc != 0 || target_count == 0)
        return rc;
    prune_ctx c;
    memset(&c, 0, sizeof c);
    c.k.con = con, c.targets = targets, c.target_count = target_count;
    c.params = params, c.param_count = param_count;
    const char *bitmaps = getenv("TST_PRUNE_BITMAPS"); /* for benchmarks and diagnosis */
    c.no_bitmaps = bitmaps && strcmp(bitmaps, "0") == 0;
    json_object *root = parse_statement(con, sql);
    if (root) {
        walk(&c, jget(root, "statements"));
        if (c.k.count > 0) { /* again, with the constants' values */
            tst_constants_evaluate(&c.k);
            for (size_t i = 0; i < target_count; i++) {
                targets[i].referenced = false;
                targets[i].outer_bound = false;
                clear_asks(&targets[i]);
                memset(targets[i].keep, 0, tst_table_segment_count(targets[i].table));
                memset(targets[i].in_range, 0, tst_table_segment_count(targets[i].table));
            }
            walk(&c, jget(root, "statements"));
        }
    }
    /* A table may also be read by SQL inside a string (query('SELECT * FROM
     * bars')), through the same view the pruned files define: the view must
     * then hold every segment, whatever the tree's own references ask. */
    if (!root || c.sql_text) { /* unread: every segment, "referenced" unknown (false) */
        for (size_t i = 0; i < target_count; i++) {
            targets[i].referenced = false;
            clear_asks(&targets[i]);
            memset(targets[i].keep, 1, tst_table_segment_count(targets[i].table));
            memset(targets[i].in_range, 1, tst_table_segment_count(targets[i].table));
        }
    }
    json_object_put(root);
    tst_constants_free(&c.k);
    return c.oom ? tst_fail(TST_ENOMEM, "out of memory reading what a statement reads") : 0;
}

int tst_prune_defined_name(const char *sql, char **out)
{
    const char *p = skip_word(skip_space(sql), "CREATE"), *q;
    *out = NULL;
    if (!p)
        return 0;
    if ((q = skip_word(p, "OR")) != NULL && (q = skip_word(q, "REPLACE")) != NULL)
        p = q;
    if ((q = skip_word(p, "TEMP")) != NULL || (q = skip_word(p, "TEMPORARY")) != NULL)
        p = q;
    if ((q = skip_word(p, "VIEW")) == NULL && (q = skip_word(p, "MACRO")) == NULL &&
        (q = skip_word(p, "FUNCTION")) == NULL)
        return 0;
    p = q;
    if ((q = skip_word(p, "IF")) != NULL && (q = skip_word(q, "NOT")) != NULL &&
        (q = skip_word(q, "EXISTS")) != NULL)
        p = q;
    size_t n = 0; /* [schema.]name: the last part, unquoted or in "..." */
    for (const char *e = p; *e && (isalnum((unsigned char)*e) || strchr("_.\"", *e)); e++) {
        if (*e == '"') {
            const char *close = strchr(e + 1, '"');
            if (!close || close[1] == '"') { /* unreadable: reached by every statement */
                p = "", n = 0;
                break;
            }
            p = e + 1, n = (size_t)(close - p), e = close;
        } else if (*e == '.') {
            p = e + 1, n = 0;
        } else {
            n++;
        }
    }
    *out = strndup(p, n);
    return *out ? 0 : tst_fail(TST_ENOMEM, "out of memory reading a view definition");
}

void tst_prune_clear(tst_prune_target *targets, size_t target_count)
{
    for (size_t i = 0; targets && i < target_count; i++) {
        free(targets[i].keep);
        free(targets[i].in_range);
        targets[i].keep = NULL;
        targets[i].in_range = NULL;
        clear_asks(&targets[i]);
        free(targets[i].asks);
        targets[i].asks = NULL;
        targets[i].ask_cap = 0;
    }
}
