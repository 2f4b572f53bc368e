/*
 * state.c — replaying commits into a table state (see state.h).
 *
 * Live segments sit in an array in insertion order, indexed by an
 * open-addressing hash of their paths so AddSegment's duplicate check and
 * RemoveSegment stay O(1) with 100,000 segments. Removal is rare (only
 * optimize writes it), so it simply rebuilds the index.
 */
#include "state.h"

#include "fail.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tst_state_init(tst_state *state)
{
    memset(state, 0, sizeof *state);
}

void tst_state_clear(tst_state *state)
{
    if (!state)
        return;
    tst_table_meta_clear(&state->meta);
    for (size_t i = 0; i < state->segment_count; i++)
        tst_segment_clear(&state->segments[i]);
    for (size_t i = 0; i < state->removed_count; i++)
        tst_segment_clear(&state->removed[i]);
    free(state->segments);
    free(state->removed);
    free(state->slots);
    tst_coverage_pointer_clear(&state->coverage);
    memset(state, 0, sizeof *state);
}

static uint64_t hash_path(const char *path)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static size_t *slot_for(const tst_state *state, const char *path)
{
    size_t mask = state->slot_cap - 1;
    for (size_t i = (size_t)hash_path(path) & mask;; i = (i + 1) & mask) {
        size_t *slot = &state->slots[i];
        if (*slot == 0 || strcmp(state->segments[*slot - 1].path, path) == 0)
            return slot;
    }
}

static int rebuild_index(tst_state *state, size_t cap)
{
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return tst_fail(TST_ENOMEM, "out of memory indexing segments");
    free(state->slots);
    state->slots = slots;
    state->slot_cap = cap;
    for (size_t i = 0; i < state->segment_count; i++)
        *slot_for(state, state->segments[i].path) = i + 1;
    return 0;
}

const tst_segment *tst_state_find(const tst_state *state, const char *path)
{
    if (state->slot_cap == 0)
        return NULL;
    size_t *slot = slot_for(state, path);
    return *slot ? &state->segments[*slot - 1] : NULL;
}

static int grow(void **array, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return 0;
    size_t next = *cap ? *cap * 2 : 16;
    while (next < need)
        next *= 2;
    void *grown = realloc(*array, next * item);
    if (!grown)
        return tst_fail(TST_ENOMEM, "out of memory growing table state");
    *array = grown;
    *cap = next;
    return 0;
}

int tst_state_take_segment(tst_state *state, tst_segment *seg, const char *origin)
{
    if (tst_state_find(state, seg->path))
        return tst_fail(TST_ECORRUPT, "%s: duplicate live segment path: %s", origin, seg->path);
    int rc = grow((void **)&state->segments, &state->segment_cap, state->segment_count + 1,
                  sizeof *state->segments);
    if (rc != 0)
        return rc;
    state->segments[state->segment_count++] = *seg;
    memset(seg, 0, sizeof *seg);
    const char *path = state->segments[state->segment_count - 1].path;
    if (state->segment_count * 2 > state->slot_cap)
        return rebuild_index(state, state->slot_cap ? state->slot_cap * 2 : 64);
    *slot_for(state, path) = state->segment_count;
    return 0;
}

int tst_state_add_segment(tst_state *state, const tst_segment *seg, const char *origin)
{
    if (tst_state_find(state, seg->path))
        return tst_fail(TST_ECORRUPT, "%s: duplicate live segment path: %s", origin, seg->path);
    tst_segment copy;
    int rc = tst_segment_copy(&copy, seg);
    if (rc == 0)
        rc = tst_state_take_segment(state, &copy, origin);
    tst_segment_clear(&copy);
    return rc;
}

int tst_state_add_removed(tst_state *state, const tst_segment *seg)
{
    int rc = grow((void **)&state->removed, &state->removed_cap, state->removed_count + 1,
                  sizeof *state->removed);
    if (rc == 0)
        rc = tst_segment_copy(&state->removed[state->removed_count], seg);
    if (rc == 0)
        state->removed_count++;
    return rc;
}

static int remove_segment(tst_state *state, const char *path)
{
    if (!tst_state_find(state, path))
        return 0; /* unknown path: a no-op, as in the reference */
    size_t i = *slot_for(state, path) - 1;
    int rc = grow((void **)&state->removed, &state->removed_cap, state->removed_count + 1,
                  sizeof *state->removed);
    if (rc != 0)
        return rc;
    state->removed[state->removed_count++] = state->segments[i];
    memmove(&state->segments[i], &state->segments[i + 1],
            (state->segment_count - i - 1) * sizeof *state->segments);
    state->segment_count--;
    return rebuild_index(state, state->slot_cap);
}

/* Replaces the meta; with `steal`, moves it out of *meta instead of copying. */
/*
 * Protocol 7: once adopted, the logical schema may only grow, by nullable
 * columns at its end, and only in a table that declares schema_add_columns
 * (the reference's add_columns). Format_version 6 keeps its own rules.
 */
static int check_schema_change(const tst_table_meta *from, const tst_table_meta *to,
                               const char *origin)
{
    if (to->protocol_version != TST_PROTOCOL_VERSION || !from->schema)
        return 0;
    if (!to->schema)
        return tst_fail(TST_ECORRUPT, "%s: a TableMeta removes the table's logical schema",
                        origin);
    if (tst_schema_equal(from->schema, to->schema))
        return 0;
    if (!tst_meta_requires_feature(to, "schema_add_columns"))
        return tst_fail(TST_ECORRUPT, "%s: a TableMeta changes the logical schema without "
                        "declaring the feature `schema_add_columns`", origin);
    tst_schema prefix = *to->schema;
    prefix.column_count = from->schema->column_count;
    bool additive = to->schema->column_count > from->schema->column_count &&
                    tst_schema_equal(from->schema, &prefix);
    for (size_t i = prefix.column_count; additive && i < to->schema->column_count; i++)
        additive = to->schema->columns[i].nullable;
    if (!additive)
        return tst_fail(TST_ECORRUPT, "%s: a TableMeta changes the logical schema other than by "
                        "adding nullable columns at its end", origin);
    return 0;
}

static int set_meta(tst_state *state, tst_table_meta *meta, bool steal, const char *origin)
{
    /* Protocol 7: the format never changes and features are never removed. */
    if (state->has_meta && (meta->protocol_version || state->meta.protocol_version)) {
        int rc = tst_protocol_check_transition(&state->meta, meta, origin);
        if (rc == 0)
            rc = check_schema_change(&state->meta, meta, origin);
        if (rc != 0)
            return rc;
    }
    tst_table_meta copy;
    if (steal) {
        copy = *meta;
        memset(meta, 0, sizeof *meta);
    } else {
        int rc = tst_table_meta_copy(&copy, meta);
        if (rc != 0)
            return rc;
    }
    tst_table_meta_clear(&state->meta);
    state->meta = copy;
    state->has_meta = true;
    return 0;
}

static int set_coverage(tst_state *state, const tst_coverage_pointer *ptr, uint64_t version)
{
    tst_coverage_pointer copy;
    int rc = tst_coverage_pointer_copy(&copy, ptr);
    if (rc != 0)
        return rc;
    tst_coverage_pointer_clear(&state->coverage);
    state->coverage = copy;
    state->has_coverage = true;
    state->coverage_version = version;
    return 0;
}

static int apply_action(tst_state *state, tst_action *a, uint64_t version, bool steal,
                        const char *origin)
{
    switch (a->type) {
    case TST_ACTION_UPDATE_TABLE_META: return set_meta(state, &a->u.meta, steal, origin);
    case TST_ACTION_ADD_SEGMENT:
        return steal ? tst_state_take_segment(state, &a->u.segment, origin)
                     : tst_state_add_segment(state, &a->u.segment, origin);
    case TST_ACTION_REMOVE_SEGMENT: return remove_segment(state, a->u.remove_path);
    case TST_ACTION_UPDATE_TABLE_COVERAGE: return set_coverage(state, &a->u.coverage, version);
    }
    return tst_fail(TST_ECORRUPT, "%s: an action has an unknown type", origin);
}

static int apply(tst_state *state, tst_commit *commit, bool steal, const char *origin)
{
    if (commit->version != state->version + 1)
        return tst_fail(TST_ECORRUPT, "%s: version %" PRIu64 " cannot follow version %" PRIu64,
                        origin, commit->version, state->version);
    for (size_t i = 0; i < commit->action_count; i++) {
        int rc = apply_action(state, &commit->actions[i], commit->version, steal, origin);
        if (rc != 0)
            return rc;
    }
    state->version = commit->version;
    return 0;
}

int tst_state_apply(tst_state *state, const tst_commit *commit, const char *origin)
{
    return apply(state, (tst_commit *)commit, false, origin);
}

int tst_state_apply_owned(tst_state *state, tst_commit *commit, const char *origin)
{
    return apply(state, commit, true, origin);
}

/* ---- validation -------------------------------------------------------- */

static bool index_type_matches(const tst_type *type, tst_index_type index)
{
    switch (index) {
    case TST_INDEX_TIMESTAMP: return type->kind == TST_TYPE_TIMESTAMP;
    case TST_INDEX_INT64: return type->kind == TST_TYPE_INT64;
    case TST_INDEX_UINT64: return type->kind == TST_TYPE_UINT64;
    }
    return false;
}

static bool entity_type_matches(const tst_type *type, tst_entity_type entity)
{
    switch (entity) {
    case TST_ENTITY_UTF8: return type->kind == TST_TYPE_UTF8;
    case TST_ENTITY_INT32: return type->kind == TST_TYPE_INT32;
    case TST_ENTITY_INT64: return type->kind == TST_TYPE_INT64;
    case TST_ENTITY_UINT64: return type->kind == TST_TYPE_UINT64;
    }
    return false;
}

static int validate_schema(const tst_table_meta *meta, const char *root)
{
    const tst_field *index = tst_schema_find(meta->schema, meta->index.column);
    if (!index)
        return tst_fail(TST_ECORRUPT, "table %s: schema has no index column '%s'", root,
                        meta->index.column);
    if (!index_type_matches(&index->type, meta->index.kind.type)) {
        char type[128];
        tst_type_format(&index->type, type, sizeof type);
        return tst_fail(TST_ECORRUPT, "table %s: index column '%s' has type %s, which does not "
                        "match the index kind", root, meta->index.column, type);
    }
    for (size_t i = 0; i < meta->index.entity_count; i++) {
        const char *name = meta->index.entity_columns[i];
        const tst_field *f = tst_schema_find(meta->schema, name);
        if (!f)
            return tst_fail(TST_ECORRUPT, "table %s: schema has no entity column '%s'", root,
                            name);
        tst_type_kind k = f->type.kind;
        if (k != TST_TYPE_UTF8 && k != TST_TYPE_INT32 && k != TST_TYPE_INT64 &&
            k != TST_TYPE_UINT64)
            return tst_fail(TST_ECORRUPT, "table %s: entity column '%s' must be utf8, int32, "
                            "int64 or uint64", root, name);
    }
    return 0;
}

static int validate_layout(const tst_table_meta *meta, const tst_segment *seg, const char *root)
{
    size_t n = meta->index.entity_count;
    const tst_entity_layout *l = &seg->layout;
    if ((n == 0) != (l->kind == TST_LAYOUT_NOT_APPLICABLE))
        return tst_fail(TST_ECORRUPT, "table %s: segment %s has an entity layout that does not fit "
                        "a table with %zu entity columns", root, seg->path, n);
    if (l->kind != TST_LAYOUT_SINGLE)
        return 0;
    if (l->count != n)
        return tst_fail(TST_ECORRUPT, "table %s: segment %s has a Single identity of %zu values "
                        "for %zu entity columns", root, seg->path, l->count, n);
    for (size_t i = 0; i < n; i++) {
        const tst_field *f = tst_schema_find(meta->schema, meta->index.entity_columns[i]);
        if (f && !entity_type_matches(&f->type, l->values[i].type))
            return tst_fail(TST_ECORRUPT, "table %s: segment %s has an identity value of the "
                            "wrong type for entity column '%s'", root, seg->path,
                            meta->index.entity_columns[i]);
    }
    return 0;
}

static int validate_bounds(const tst_index_kind *kind, const tst_segment *seg, const char *root)
{
    int cmp = 0;
    if (seg->index_min.type != kind->type || seg->index_max.type != kind->type)
        return tst_fail(TST_ECORRUPT, "table %s: segment %s has bounds of another index domain",
                        root, seg->path);
    if (tst_index_value_compare(&seg->index_min, &seg->index_max, &cmp) != 0 || cmp > 0)
        return tst_fail(TST_ECORRUPT, "table %s: segment %s has index_min after index_max", root,
                        seg->path);
    return 0;
}

int tst_segment_check(const tst_table_meta *meta, const tst_segment *seg, const char *root)
{
    if (!meta->schema)
        return tst_fail(TST_ECORRUPT, "table %s: segment %s cannot exist before the table has a "
                        "logical schema", root, seg->path);
    int rc = validate_layout(meta, seg, root);
    return rc != 0 ? rc : validate_bounds(&meta->index.kind, seg, root);
}

static int validate_segments(const tst_state *state, const char *root)
{
    const tst_table_meta *meta = &state->meta;
    if ((state->segment_count || state->removed_count) && !meta->schema)
        return tst_fail(TST_ECORRUPT, "table %s: has segments but no logical schema", root);
    for (size_t i = 0; i < state->removed_count; i++) {
        int rc = validate_layout(meta, &state->removed[i], root);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < state->segment_count; i++) {
        int rc = validate_layout(meta, &state->segments[i], root);
        if (rc == 0)
            rc = validate_bounds(&meta->index.kind, &state->segments[i], root);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tst_meta_check(const tst_table_meta *meta, const char *root)
{
    if (meta->protocol_version) {
        char where[4200];
        snprintf(where, sizeof where, "table %s", root);
        int rc = tst_protocol_check_read(meta, where);
        if (rc != 0)
            return rc;
    } else if (meta->format_version != TST_FORMAT_VERSION)
        return tst_fail(TST_EUNSUPPORTED, "table %s: format_version %u is not supported (this "
                        "build reads %d)", root, meta->format_version, TST_FORMAT_VERSION);
    if (meta->generic)
        return tst_fail(TST_EUNSUPPORTED, "table %s: Generic tables are not supported by the "
                        "current format", root);
    if (tst_index_spec_validate(&meta->index) != 0)
        return tst_fail_context(TST_ECORRUPT, "table %s", root);
    return meta->schema ? validate_schema(meta, root) : 0;
}

int tst_state_validate(const tst_state *state, const char *root)
{
    if (!state->has_meta)
        return tst_fail(TST_ECORRUPT, "table %s: no TableMeta found in commits up to version %" PRIu64,
                        root, state->version);
    const tst_table_meta *meta = &state->meta;
    int rc = tst_meta_check(meta, root);
    if (rc != 0)
        return rc;
    if (state->has_coverage && !tst_index_kind_equal(&state->coverage.index_kind, &meta->index.kind))
        return tst_fail(TST_ECORRUPT, "table %s: the table coverage pointer of version %" PRIu64
                        " has a different index kind than the table", root, state->coverage_version);
    return validate_segments(state, root);
}
