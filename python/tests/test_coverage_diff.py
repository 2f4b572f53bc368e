"""coverage_diff and plan_backfill against a naive model of (entity, bucket) slots.

Random tables: appends of random uncovered slots and deletes of random aligned
ranges over a few entities, on an int64 index with 10-unit buckets. After each
commit the model records each entity's bucket set at that version. Then:
  - the diff between two versions (opened by time travel) equals the model's set
    differences, merged into runs, sorted by entity and start, also restricted
    to a random range and entity subset;
  - the plan's requests cover every missing bucket, none longer than the
    maximum, none covering a covered bucket except across runs merge_within
    allows, and their count equals a brute-force dynamic program's minimum.
The results are pyarrow Tables; polars reads them as they are.
"""
import datetime as dt
import random

import polars as pl
import pyarrow as pa
import pytest

import timeseries_table_format as ttf

W = 10          # bucket width
NB = 48         # buckets 0..NB-1
ENTITIES = ["a", "b", "c", "d"]


def make_table(path, width=W):
    return ttf.TimeSeriesTable.create(table_root=str(path), index_column="i",
                                      index_type="int64", bucket_width=width,
                                      entity_columns=["sym"])


def append_slots(table, slots, rng):
    rows = sorted(slots)
    table.append(pa.table({"i": pa.array([b * W + rng.randrange(W) for _, b in rows], pa.int64()),
                           "sym": [e for e, _ in rows],
                           "x": pa.array([1.0] * len(rows))}))


def build_random(path, seed, ops=10):
    """The table and {version: {entity: set(buckets)}}."""
    rng = random.Random(seed)
    table = make_table(path)
    model = {table.version(): {}}
    state = {e: set() for e in ENTITIES}
    for _ in range(ops):
        if rng.random() < 0.7 or not any(state.values()):
            slots = set()
            for e in rng.sample(ENTITIES, rng.randint(1, 3)):
                free = [b for b in range(NB) if b not in state[e]]
                lo = rng.randrange(NB)
                run = [b for b in free if lo <= b < lo + rng.randint(1, 12)]
                run += rng.sample(free, min(len(free), rng.randint(0, 4)))
                slots |= {(e, b) for b in run}
            if not slots:
                continue
            append_slots(table, slots, rng)
            for e, b in slots:
                state[e].add(b)
        else:
            e = rng.choice([x for x in ENTITIES if state[x]])
            lo = rng.randrange(NB)
            hi = min(NB, lo + rng.randint(1, 10))
            report = table.delete_rows(lo * W, hi * W, entities=[e])
            if report.no_op:
                continue
            state[e] -= set(range(lo, hi))
        model[table.version()] = {e: set(s) for e, s in state.items() if s}
    return table, model


def runs(buckets):
    out = []
    for b in sorted(buckets):
        if out and out[-1][1] == b - 1:
            out[-1][1] = b
        else:
            out.append([b, b])
    return out


def expected_diff(old, new, lo, hi, ents):
    rows = []
    for e in sorted(set(old) | set(new)):
        if ents is not None and e not in ents:
            continue
        a = {b for b in old.get(e, ()) if lo <= b <= hi}
        b_ = {b for b in new.get(e, ()) if lo <= b <= hi}
        changes = [(r[0], "added", r[1]) for r in runs(b_ - a)]
        changes += [(r[0], "removed", r[1]) for r in runs(a - b_)]
        for first, change, last in sorted(changes):
            rows.append({"sym": e, "change": change, "start": first * W,
                         "end": (last + 1) * W, "buckets": last - first + 1})
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_diff_between_any_two_versions_is_the_models_set_difference(tmp_path, seed):
    table, model = build_random(tmp_path / "t", seed)
    rng = random.Random(1000 + seed)
    versions = sorted(model)
    for _ in range(12):
        v1, v2 = rng.choice(versions), rng.choice(versions)
        kwargs, lo, hi, ents = {}, 0, NB, None
        if rng.random() < 0.5:
            s, e = sorted(rng.sample(range(0, NB * W + 1), 2))
            kwargs.update(start=s, end=e)
            lo, hi = s // W, (e - 1) // W
        if rng.random() < 0.4:
            ents = set(rng.sample(ENTITIES + ["zz"], 2))
            kwargs["entities"] = sorted(ents)
        got = table.coverage_diff(from_version=v1, to_version=v2, **kwargs)
        assert isinstance(got, pa.Table)
        assert got.to_pylist() == expected_diff(model[v1], model[v2], lo, hi, ents), \
            (v1, v2, kwargs)
    # to_version defaults to the handle's version
    latest = table.coverage_diff(from_version=versions[0])
    assert latest.to_pylist() == expected_diff(model[versions[0]], model[versions[-1]], 0, NB,
                                               None)


def min_requests(missing, max_len, merge):
    """Brute force: the fewest intervals covering the missing buckets."""
    m = sorted(missing)
    best = [0] + [None] * len(m)
    for j in range(1, len(m) + 1):
        for i in range(j):
            ok = m[j - 1] - m[i] + 1 <= (max_len or 10 ** 9) and all(
                m[k + 1] - m[k] - 1 <= merge for k in range(i, j - 1))
            if ok and best[i] is not None and (best[j] is None or best[i] + 1 < best[j]):
                best[j] = best[i] + 1
    return best[len(m)]


@pytest.mark.parametrize("seed", range(6))
def test_plan_fills_exactly_the_gaps_with_the_fewest_requests(tmp_path, seed):
    table, model = build_random(tmp_path / "t", seed)
    latest = model[table.version()]
    rng = random.Random(2000 + seed)
    for _ in range(10):
        s, e = sorted(rng.sample(range(0, NB * W + 1), 2))
        lo, hi = s // W, (e - 1) // W
        max_len = rng.choice([None, 1, 2, 3, 5, 8])
        merge = rng.choice([None, 0, 1, 2, 4])
        ents = rng.sample(ENTITIES + ["zz"], rng.randint(1, 5))
        plan = table.plan_backfill(s, e, entities=ents,
                                   max_request=None if max_len is None else max_len * W,
                                   merge_within=None if merge is None else merge * W)
        rows = plan.to_pylist()
        for ent in sorted(ents):
            covered = latest.get(ent, set())
            missing = {b for b in range(lo, hi + 1) if b not in covered}
            mine = [r for r in rows if r["sym"] == ent]
            assert [r["start"] for r in mine] == sorted(r["start"] for r in mine)
            got = set()
            for r in mine:
                first, last = r["start"] // W, r["end"] // W - 1
                assert r["buckets"] == last - first + 1
                assert max_len is None or r["buckets"] <= max_len
                span = set(range(first, last + 1))
                assert not (span & got), "requests overlap"
                got |= span
                assert first in missing and last in missing, "a request starts or ends covered"
                assert r["missing_buckets"] == len(span & missing)
                for run_first, run_last in runs(span - missing):
                    assert run_last - run_first + 1 <= (merge or 0), "over-fetch not allowed"
            assert missing <= got
            assert len(mine) == min_requests(missing, max_len, merge or 0), (ent, s, e)


def test_diff_of_two_tables_reconciles_vendor_a_with_vendor_b(tmp_path):
    rng = random.Random(5)
    a, b = make_table(tmp_path / "a"), make_table(tmp_path / "b")
    append_slots(a, {("x", k) for k in range(0, 10)} | {("y", 3)}, rng)
    append_slots(b, {("x", k) for k in range(5, 15)} | {("z", 1)}, rng)
    got = a.coverage_diff(other=b).to_pylist()
    assert got == [
        {"sym": "x", "change": "removed", "start": 0, "end": 50, "buckets": 5},
        {"sym": "x", "change": "added", "start": 100, "end": 150, "buckets": 5},
        {"sym": "y", "change": "removed", "start": 30, "end": 40, "buckets": 1},
        {"sym": "z", "change": "added", "start": 10, "end": 20, "buckets": 1},
    ]
    df = pl.from_arrow(a.coverage_diff(other=b, start=0, end=100, entities=["x"]))
    assert df.shape == (1, 5) and df["buckets"].to_list() == [5]


def test_diff_refuses_tables_with_another_index(tmp_path):
    a = make_table(tmp_path / "a")
    b = make_table(tmp_path / "b", width=20)
    with pytest.raises(ttf.TimeseriesTableError, match="same index type, bucket width"):
        a.coverage_diff(other=b)
    c = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "c"), index_column="i",
                                   index_type="int64", bucket_width=W, entity_columns=["venue"])
    with pytest.raises(ttf.TimeseriesTableError, match="entity columns"):
        a.coverage_diff(other=c)


def test_plan_on_a_timestamp_table_takes_durations(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "ts"), index_column="ts",
                                   index_type="timestamp", index_granularity="1h",
                                   entity_columns=["symbol"])
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    hours = [0, 1, 5]
    t.append(pa.table({"ts": pa.array([t0 + dt.timedelta(hours=h) for h in hours],
                                      pa.timestamp("us", tz="UTC")),
                       "symbol": ["N"] * 3, "v": [1.0] * 3}))
    plan = t.plan_backfill(t0, t0 + dt.timedelta(hours=12), max_request=dt.timedelta(hours=4))
    assert [(r["start"].hour, r["buckets"]) for r in plan.to_pylist()] == [(2, 3), (6, 4), (10, 2)]
    merged = t.plan_backfill(t0, t0 + dt.timedelta(hours=8), merge_within="1h")
    assert [(r["start"].hour, r["buckets"], r["missing_buckets"])
            for r in merged.to_pylist()] == [(2, 6, 5)]
    assert pl.from_arrow(merged)["start"].dtype == pl.Datetime("us", "UTC")
    with pytest.raises(ValueError, match="whole number"):
        t.plan_backfill(t0, t0 + dt.timedelta(hours=8), max_request=dt.timedelta(minutes=30))


def test_the_guide_python_block_runs(tmp_path, monkeypatch):
    """docs/guide/coverage-diff.md: its tables are built with the Python API from
    its CSV blocks, as its sh blocks build them, then its python block runs."""
    import os
    import re
    from conftest import REPO
    guide = open(os.path.join(REPO, "docs", "guide", "coverage-diff.md")).read()
    csvs = re.findall(r"```csv\n(.*?)```", guide, re.S)
    monkeypatch.chdir(tmp_path)
    for name, text in zip(["bars.csv", "late.csv", "vendor_b.csv"], csvs):
        (tmp_path / name).write_text(text)
    for root, files in (("bars", ["bars.csv", "late.csv"]), ("vendor_b", ["vendor_b.csv"])):
        t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts",
                                       index_type="timestamp", index_granularity="1h",
                                       entity_columns=["symbol"])
        for f in files:
            t.append_csv(f)
    (block,) = re.findall(r"```python\n(.*?)```", guide, re.S)
    exec(compile(block, "coverage-diff.md python block", "exec"), {"__name__": "guide"})


def test_entities_take_dicts_tuples_and_bare_values_but_not_an_empty_list(tmp_path):
    t = make_table(tmp_path / "t")
    append_slots(t, {("a", 1), ("b", 2)}, random.Random(1))
    for ents in (["a"], [{"sym": "a"}], [("a",)], "a"):
        assert t.plan_backfill(0, 30, entities=ents)["sym"].to_pylist() == ["a", "a"]
    with pytest.raises(ValueError, match="empty"):
        t.plan_backfill(0, 30, entities=[])
