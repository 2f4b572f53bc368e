"""append(..., on_overlap="reject" | "skip" | "replace"): differential tests
against a naive model (rows per (entity, bucket)) on random tables of both
protocols, the reports, the no-op, and the option on every append entry point
(append, append_parquet, append_csv)."""
import os
import random
import re

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf
from conftest import REPO

WIDTH = 10
ENTITIES = ["A", "B", "C"]
BUCKETS = 8


def create(tmp_path, protocol, name="t"):
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / name), index_column="ts",
                                      index_type="int64", bucket_width=WIDTH,
                                      entity_columns=["sym"], protocol=protocol)


def source(rows):
    return pa.table({"ts": pa.array([ts for _, ts, _ in rows], pa.int64()),
                     "sym": [s for s, _, _ in rows],
                     "v": pa.array([v for _, _, v in rows], pa.int64())})


def stored(t):
    s = ttf.Session()
    s.register_tstable("t", t.root())
    return sorted((r["sym"], r["ts"], r["v"]) for r in s.sql("SELECT * FROM t").to_pylist())


def covered(t, model):
    """The (entity, bucket) pairs the table's coverage holds, asked bucket by bucket."""
    pairs = set()
    for e in sorted({e for e, _ in model}):
        for b in range(BUCKETS):
            if t.coverage_ratio(b * WIDTH, (b + 1) * WIDTH, entity={"sym": e}) == 1.0:
                pairs.add((e, b))
    return pairs


def random_source(rng, protocol, serial):
    """Rows over a few entities and buckets; protocol 7 allows one row per
    (entity, bucket) in one source, protocol 6 several."""
    rows = []
    for e in rng.sample(ENTITIES, rng.randint(1, len(ENTITIES))):
        lo = rng.randrange(BUCKETS)
        hi = rng.randrange(lo, min(BUCKETS, lo + 4))
        for b in range(lo, hi + 1):
            if rng.random() < 0.2:
                continue
            offsets = [rng.randrange(WIDTH)] if protocol == 7 else \
                rng.sample(range(WIDTH), rng.randint(1, 3))
            rows += [(e, b * WIDTH + o, serial * 1000 + len(rows)) for o in offsets]
    return rows or [(ENTITIES[0], 0, serial * 1000)]


def apply_model(model, rows, mode):
    """The model after the append; None when it must be rejected."""
    pairs = {(e, ts // WIDTH) for e, ts, _ in rows}
    shared = pairs & set(model)
    if shared and mode == "reject":
        return None, shared
    new = {k: list(v) for k, v in model.items()}
    if mode == "replace":
        for pair in shared:
            new[pair] = []
    for e, ts, v in rows:
        pair = (e, ts // WIDTH)
        if pair in shared and mode == "skip":
            continue
        new.setdefault(pair, []).append((e, ts, v))
    return {k: v for k, v in new.items() if v}, shared


@pytest.mark.parametrize("protocol", [6, 7])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_skip_and_replace_agree_with_a_naive_model_on_random_tables(tmp_path, protocol, seed):
    rng = random.Random(seed * 10 + protocol)
    t = create(tmp_path, protocol)
    model = {}
    for step in range(14):
        rows = random_source(rng, protocol, step + 1)
        mode = rng.choice(["reject", "skip", "replace", "skip", "replace"])
        expected, shared = apply_model(model, rows, mode)
        before = t.version()
        if expected is None:
            with pytest.raises(ttf.CoverageOverlapError):
                t.append(source(rows), on_overlap=mode)
            assert t.version() == before
        else:
            report = t.append(source(rows), on_overlap=mode)
            assert report.on_overlap == mode
            if mode == "skip":
                left_out = [r for r in rows if (r[0], r[1] // WIDTH) in shared]
                assert report.rows_skipped == len(left_out)
                assert report.buckets_skipped == len(shared)
                assert report.no_op == (len(left_out) == len(rows))
                assert report.row_count == len(rows) - len(left_out)
                assert t.version() == before + (0 if report.no_op else 1)
            elif mode == "replace":
                assert report.rows_replaced == sum(len(model[p]) for p in shared)
                assert report.buckets_replaced == len(shared)
                assert t.version() == before + 1  # one commit
            model = expected
        want = sorted(r for v in model.values() for r in v)
        assert stored(t) == want, (step, mode)
        assert covered(t, model) == set(model), (step, mode)
    # a fresh handle reads the same (the snapshot, not the handle's memory)
    fresh = ttf.TimeSeriesTable.open(t.root())
    assert covered(fresh, model) == set(model)


def test_skip_of_a_source_the_table_covers_whole_is_a_no_op(tmp_path):
    t = create(tmp_path, 7)
    rows = [("A", 1, 1), ("A", 12, 2), ("B", 3, 3)]
    t.append(source(rows))
    report = t.append(source(rows), on_overlap="skip")
    assert report.no_op and report.committed_version == report.starting_version == t.version()
    assert (report.rows_skipped, report.buckets_skipped, report.row_count) == (3, 3, 0)
    assert report.to_dict()["on_overlap"] == "skip"


def test_replace_rewrites_a_segment_keeping_its_other_rows(tmp_path):
    t = create(tmp_path, 7)
    t.append(source([("A", 1, 1), ("A", 12, 2), ("B", 3, 3)]))
    report = t.append(source([("A", 15, 20)]), on_overlap="replace")
    assert (report.rows_replaced, report.buckets_replaced) == (1, 1)
    assert (report.segments_removed, report.segments_rewritten) == (0, 1)
    assert stored(t) == [("A", 1, 1), ("A", 15, 20), ("B", 3, 3)]


def test_the_option_is_on_every_append_entry_point(tmp_path):
    t = create(tmp_path, 6)
    t.append(source([("A", 1, 1), ("B", 2, 2)]))
    pq.write_table(source([("A", 5, 50), ("A", 25, 60)]), str(tmp_path / "s.parquet"))
    pacsv.write_csv(source([("B", 7, 70), ("B", 31, 80)]), str(tmp_path / "s.csv"))
    r = t.append_parquet(str(tmp_path / "s.parquet"), on_overlap="skip")
    assert (r.rows_skipped, r.row_count, r.copied) == (1, 1, False)  # filtered: re-encoded
    r = t.append_csv(str(tmp_path / "s.csv"), on_overlap="replace")
    assert (r.rows_replaced, r.row_count) == (1, 2)
    assert stored(t) == [("A", 1, 1), ("A", 25, 60), ("B", 7, 70), ("B", 31, 80)]
    with pytest.raises(ttf.CoverageOverlapError):
        t.append_parquet(str(tmp_path / "s.parquet"))
    with pytest.raises(ValueError, match="on_overlap"):
        t.append(source([("C", 1, 1)]), on_overlap="merge")


def boundary_model(model, rows, protocol):
    """allow_boundary_overlap: the model after the append, None when refused."""
    shared = {(e, ts // WIDTH) for e, ts, _ in rows} & set(model)
    for e in {e for e, _ in shared}:
        buckets = [ts // WIDTH for s, ts, _ in rows if s == e]
        edges = {min(buckets), max(buckets)}
        if any(b not in edges for s, b in shared if s == e):
            return None
    if shared and protocol == 7:
        return None
    stored_keys = {(e, ts) for pair in shared for e, ts, _ in model[pair]}
    if any((e, ts) in stored_keys for e, ts, _ in rows):
        return None
    new = {k: list(v) for k, v in model.items()}
    for e, ts, v in rows:
        new.setdefault((e, ts // WIDTH), []).append((e, ts, v))
    return new


@pytest.mark.parametrize("protocol", [6, 7])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_boundary_buckets_agree_with_a_naive_model(tmp_path, protocol, seed):
    """Chunks that continue where the last one stopped (any cut, often inside a
    bucket), some re-sending a few rows, some reaching back further."""
    rng = random.Random(seed * 100 + protocol)
    t = create(tmp_path, protocol)
    model, end, accepted, refused = {}, {e: 0 for e in ENTITIES}, 0, 0
    for step in range(16):
        rows = []
        for e in rng.sample(ENTITIES, rng.randint(1, 2)):
            start = max(0, end[e] - rng.choice([0, 0, 1, 3, 15]))
            stop = min(BUCKETS * WIDTH, start + rng.randint(1, 25))
            step_by = WIDTH if protocol == 7 else rng.choice([1, 2, 3])
            rows += [(e, ts, step * 1000 + ts) for ts in range(start, stop, step_by)]
        if not rows:
            continue
        expected = boundary_model(model, rows, protocol)
        if expected is None:
            refused += 1
            with pytest.raises(ttf.CoverageOverlapError):
                t.append(source(rows), allow_boundary_overlap=True)
        else:
            accepted += 1
            t.append(source(rows), allow_boundary_overlap=True)
            model = expected
            for e, ts, _ in rows:
                end[e] = max(end[e], ts + 1)
        assert stored(t) == sorted(r for v in model.values() for r in v), step
        assert covered(t, model) == set(model), step
    assert accepted and (refused or protocol == 7)


def test_a_boundary_bucket_with_a_colliding_row_is_refused_with_a_hint(tmp_path):
    t = create(tmp_path, 6)
    t.append(source([("A", 1, 1), ("A", 4, 2)]))
    with pytest.raises(ttf.CoverageOverlapError, match="--allow-boundary-overlap"):
        t.append(source([("A", 6, 3), ("A", 12, 4)]))
    t.append(source([("A", 6, 3), ("A", 12, 4)]), allow_boundary_overlap=True)
    with pytest.raises(ttf.CoverageOverlapError, match="1 of its rows there has an index value"):
        t.append(source([("A", 15, 5), ("A", 12, 6)]), allow_boundary_overlap=True)
    with pytest.raises(ttf.CoverageOverlapError, match=r"2 buckets|already covered"):
        t.append(source([("A", 2, 7), ("A", 14, 8), ("A", 27, 9)]), allow_boundary_overlap=True)
    with pytest.raises(ttf.TimeseriesTableError, match="allow_boundary_overlap goes with"):
        t.append(source([("B", 2, 7)]), on_overlap="skip", allow_boundary_overlap=True)
    assert stored(t) == [("A", 1, 1), ("A", 4, 2), ("A", 6, 3), ("A", 12, 4)]


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    guide = open(os.path.join(REPO, "docs", "guide", "appending.md")).read()
    section = guide[guide.index("## Overlap modes"):guide.index("### Boundary buckets")]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/guide/appending.md", "exec"), {"__name__": "guide"})
