"""Rows whose index value is null: they lie in no bucket, so coverage never
records them. What each write does with them:

- append (reject mode) keeps them, as the reference does;
- append with on_overlap="skip" leaves them out every time (counted in
  rows_skipped): the table cannot tell whether they were appended before, and
  skip promises that running an ingest twice appends nothing the second time;
- delete_rows and replace keep them, and refuse, with nothing written, when
  they would be the only rows left of their entity in a rewritten segment (a
  segment needs an index value per identity), instead of dropping them."""
import datetime as dt
import os

import pyarrow as pa
import pytest

import timeseries_table_format as ttf

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def at(h):
    return None if h is None else T0 + dt.timedelta(hours=h)


def bars(rows):
    """rows: (symbol, hour or None, value)."""
    return pa.table({"ts": pa.array([at(h) for _, h, _ in rows], pa.timestamp("us", tz="UTC")),
                     "symbol": [s for s, _, _ in rows],
                     "v": pa.array([float(v) for _, _, v in rows], pa.float64())})


@pytest.fixture
def new_table(tmp_path):
    def make(name="t"):
        return ttf.TimeSeriesTable.create(table_root=str(tmp_path / name), index_column="ts",
                                          index_granularity="1h", entity_columns=["symbol"])
    return make


def counts(t):
    s = ttf.Session()
    s.register_tstable("t", t.root())
    r = s.sql("SELECT count(*) AS n, count(ts) AS indexed FROM t").to_pylist()[0]
    return r["n"], r["indexed"]


def staged_files(t):
    out = []
    for d, _, files in os.walk(os.path.join(t.root(), "data", "_staged")):
        out += [os.path.join(d, f) for f in files]
    return out


A3_NULL = [("A", 0, 1), ("A", 1, 2), ("A", 2, 3), ("A", None, 4)]


def test_reject_mode_keeps_rows_without_an_index(new_table):
    t = new_table()
    t.append(bars(A3_NULL))
    assert counts(t) == (4, 3)


def test_skip_leaves_them_out_whether_or_not_the_rest_of_the_file_is_new(new_table):
    t = new_table()
    # nothing of this file is covered yet: its unindexed row still stays out
    r = t.append(bars(A3_NULL), on_overlap="skip")
    assert (r.row_count, r.rows_skipped) == (3, 1)
    assert counts(t) == (3, 3)
    # partly covered: the covered buckets' rows and the unindexed row stay out
    r = t.append(bars([("A", 2, 9), ("A", 3, 5), ("A", None, 6)]), on_overlap="skip")
    assert (r.row_count, r.rows_skipped) == (1, 2)
    # all covered: nothing is appended
    r = t.append(bars([("A", 3, 9), ("A", None, 7)]), on_overlap="skip")
    assert r.no_op and r.rows_skipped == 2
    assert counts(t) == (4, 4)


def test_skip_twice_appends_nothing_the_second_time(new_table, tmp_path):
    t = new_table()
    import pyarrow.parquet as pq
    src = str(tmp_path / "day.parquet")
    pq.write_table(bars(A3_NULL + [("B", 0, 1), ("B", None, 2)]), src)
    first = t.append_parquet(src, on_overlap="skip")
    assert (first.row_count, first.rows_skipped) == (4, 2)
    before = counts(t)
    again = t.append_parquet(src, on_overlap="skip")
    assert again.no_op
    assert counts(t) == before


def test_delete_keeps_them_when_indexed_rows_of_their_entity_stay(new_table):
    t = new_table()
    t.append(bars(A3_NULL))
    report = t.delete_rows(at(1), at(2))
    assert report.rows_deleted == 1
    assert counts(t) == (3, 2)


def test_delete_refuses_rather_than_leave_them_alone_in_a_segment(new_table):
    t = new_table()
    t.append(bars(A3_NULL))
    v = t.version()
    with pytest.raises(ttf.TimeseriesTableError) as e:
        t.delete_rows(at(0), at(24))
    msg = str(e.value)
    assert "1 row(s) of symbol=A have a null index 'ts'" in msg
    assert "Nothing was written" in msg and "narrower range" in msg
    assert t.version() == v and counts(t) == (4, 3)
    assert staged_files(t) == []


def test_delete_of_one_entity_in_a_mixed_segment(new_table):
    t = new_table()
    t.append(bars(A3_NULL + [("B", 0, 1), ("B", 1, 2)]))
    # B has no unindexed rows: all of B goes, A's rows stay
    t.delete_rows(at(0), at(24), entities="B")
    assert counts(t) == (4, 3)
    # A would be left with its unindexed row only, next to nothing else
    with pytest.raises(ttf.TimeseriesTableError, match="symbol=A have a null index"):
        t.delete_rows(at(0), at(24), entities="A")
    assert counts(t) == (4, 3)


def test_replace_refuses_too_and_names_skip(new_table):
    t = new_table()
    t.append(bars(A3_NULL))
    v = t.version()
    with pytest.raises(ttf.TimeseriesTableError, match="on_overlap skip") as e:
        t.append(bars([("A", 0, 10), ("A", 1, 20), ("A", 2, 30)]), on_overlap="replace")
    assert "Nothing was written" in str(e.value)
    assert t.version() == v and counts(t) == (4, 3)
    assert staged_files(t) == []
    # a replace that leaves an indexed row of A in the segment goes through
    t.append(bars([("A", 0, 10), ("A", 1, 20)]), on_overlap="replace")
    assert counts(t) == (4, 3)
