"""Coverage-guaranteed reads (require_coverage=, docs/guide/guaranteed-reads.md).

The differential part builds random tables (three entities, 1h buckets over
three days, random holes, entities that stop early), runs random statements
(ranges with <, <=, >, >=, BETWEEN, dates, entity equalities, IN, joins of two
tables, a CTE) in UTC and America/New_York, and compares the missing ranges
the check reports with a naive model: the buckets a probe at every minute
(and at its last microsecond) of the three days lands in when DuckDB filters
it with the statement's own predicate in the same TimeZone, clamped to the
table's covered extent on a side the statement leaves open, for the entities
the statement names (every known one when it names none), less the (entity,
bucket) slots of the rows written. Where the check reports its range was
widened it may report more than the model, never less; elsewhere exactly
the model.
"""
import datetime as dt
import random
import warnings

import duckdb
import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from conftest import needs_session

pytestmark = needs_session
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
HOURS = 72
SYMBOLS = ["A", "B", "C"]


def bars(rows):
    return pa.table({
        "ts": pa.array([t for t, _ in rows], pa.timestamp("us", tz="UTC")),
        "symbol": pa.array([s for _, s in rows]),
        "price": pa.array([float(i) for i in range(len(rows))]),
    })


def random_table(root, rng):
    """Returns the table and its slots {(symbol, hour)}."""
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   entity_columns=["symbol"], bucket="1h")
    slots = set()
    for sym in SYMBOLS:
        if rng.random() < 0.15:
            continue  # an entity the table never saw
        start = rng.randrange(0, 12)
        stop = HOURS - (rng.randrange(10, 40) if rng.random() < 0.4 else rng.randrange(0, 4))
        hours = [h for h in range(start, stop) if rng.random() > 0.15]
        if not hours:
            continue
        cut = len(hours) // 2
        for part in (hours[:cut], hours[cut:]):
            if part:
                rows = [(T0 + dt.timedelta(hours=h, minutes=rng.randrange(60)), sym)
                        for h in part]
                t.append(bars(rows))
        slots |= {(sym, h) for h in hours}
    return t, slots


def literal(rng):
    h = rng.randrange(-6, HOURS + 6)
    m = rng.choice([0, 0, 0, 30, 59])
    t = T0 + dt.timedelta(hours=h, minutes=m)
    return t.strftime("'%Y-%m-%d %H:%M:%S'"), h


def range_predicate(rng, col):
    """(sql, open_low, open_high) on the index column `col`."""
    kind = rng.choice(["lt", "le", "gt", "ge", "both", "between", "date", "datebetween",
                       "none", "in", "or"])
    a, ha = literal(rng)
    b, hb = literal(rng)
    if ha > hb:
        a, b = b, a
    if kind == "lt":
        return f"{col} < {a}", True, False
    if kind == "le":
        return f"{col} <= {a}", True, False
    if kind == "gt":
        return f"{col} > {a}", False, True
    if kind == "ge":
        return f"{col} >= {a}", False, True
    if kind == "both":
        return f"{col} >= {a} AND {col} < {b}", False, False
    if kind == "between":
        return f"{col} BETWEEN {a} AND {b}", False, False
    first = T0 + dt.timedelta(days=rng.randrange(-1, 4))
    day = first.strftime("DATE '%Y-%m-%d'")
    if kind == "date":
        return f"{col}::DATE = {day}", False, False
    if kind == "datebetween":
        after = (first + dt.timedelta(days=1)).strftime("DATE '%Y-%m-%d'")
        return f"CAST({col} AS DATE) BETWEEN {day} AND {after}", False, False
    if kind == "in":
        return f"{col} IN ({a}::TIMESTAMPTZ, {b}::TIMESTAMPTZ)", False, False
    if kind == "or":
        return f"({col} < {a} OR {col} >= {b})", True, True
    return "", True, True


def entity_predicate(rng, col):
    """(sql, names or None for every entity)."""
    kind = rng.random()
    if kind < 0.4:
        return "", None
    if kind < 0.85:
        sym = rng.choice(SYMBOLS + ["Z"])
        return f"{col} = '{sym}'", {sym}
    return f"{col} IN ('A', 'B')", None  # an IN on an entity column is not narrowed


def conj(*parts):
    parts = [p for p in parts if p]
    return " AND ".join(parts) if parts else "TRUE"


class Model:
    """The naive answer for one table reference."""

    def __init__(self, con, slots):
        self.con = con
        self.slots = slots
        hours = sorted({h for _, h in slots})
        self.extent = (hours[0], hours[-1]) if hours else None
        self.known = {s for s, _ in slots}

    def asked_hours(self, pred, open_low, open_high):
        where = pred or "TRUE"
        got = self.con.execute(
            f"SELECT DISTINCT CAST(floor(epoch(ts) / 3600) AS BIGINT) - {int(T0.timestamp()) // 3600}"
            f" FROM probe WHERE {where}").fetchall()
        hours = {h for (h,) in got}
        if self.extent is None:
            return set() if (open_low or open_high) else hours
        if open_low:
            hours = {h for h in hours if h >= self.extent[0]}
        if open_high:
            hours = {h for h in hours if h <= self.extent[1]}
        return hours

    def missing(self, pred, open_low, open_high, names):
        hours = self.asked_hours(pred, open_low, open_high)
        entities = names if names is not None else self.known
        return {(sym, h) for sym in entities for h in hours if (sym, h) not in self.slots}


def probe_connection(zone):
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    start = T0 - dt.timedelta(days=2)
    con.execute("CREATE TABLE probe AS SELECT ts FROM ("
                "SELECT range AS ts FROM range(TIMESTAMPTZ '%s', TIMESTAMPTZ '%s', INTERVAL 1 MINUTE) "
                "UNION ALL SELECT range + INTERVAL 59999999 MICROSECOND FROM range(TIMESTAMPTZ '%s', "
                "TIMESTAMPTZ '%s', INTERVAL 1 MINUTE))"
                % ((start.isoformat(), (T0 + dt.timedelta(days=5)).isoformat()) * 2))
    return con


def reported(missing, table):
    out = set()
    for m in missing:
        if m["table"] != table:
            continue
        sym = m["entity"]["symbol"]
        first = int((m["start"] - T0).total_seconds()) // 3600
        for h in range(first, first + m["buckets"]):
            out.add((sym, h))
    return out


def check(session, sql, models, unreadable=()):
    """Runs sql in warn mode; compares each table's missing slots with its model
    (tables in `unreadable` must be reported as not checked)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session.sql(sql, require_coverage="warn")
    found = [w.message for w in caught if isinstance(w.message, ttf.CoverageWarning)]
    missing = found[0].missing if found else []
    checked = {c["table"]: c for c in found[0].checked} if found else {}
    for table in unreadable:
        assert checked[table]["readable"] is False, (sql, checked)
        assert reported(missing, table) == set()
    for table, want in models.items():
        got = reported(missing, table)
        c = checked.get(table)
        assert c is None or c["readable"], (sql, c)
        if c is not None and c["widened"]:
            assert want <= got, (sql, table, sorted(want - got))
        else:
            assert got == want, (sql, table, sorted(got - want), sorted(want - got))
    return bool(missing)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_missing_ranges_match_a_naive_model_over_random_tables(tmp_path, zone):
    rng = random.Random(1234 if zone == "UTC" else 4321)
    con = probe_connection(zone)
    failures = 0
    statements = 0
    for n in range(5):
        t1, slots1 = random_table(tmp_path / f"a{n}", rng)
        t2, slots2 = random_table(tmp_path / f"b{n}", rng)
        if not slots1 or not slots2:
            continue
        s = ttf.Session()
        s.register_tstable("a", t1.root())
        s.register_tstable("b", t2.root())
        s.sql(f"SET TimeZone = '{zone}'")
        m1, m2 = Model(con, slots1), Model(con, slots2)
        for _ in range(30):
            shape = rng.choice(["one", "one", "join", "cte", "outer"])
            p1, lo1, hi1 = range_predicate(rng, "ts")
            e1, names1 = entity_predicate(rng, "symbol")
            if shape == "one":
                sql = f"SELECT count(*) FROM a WHERE {conj(p1, e1)}"
                models = {"a": m1.missing(p1, lo1, hi1, names1)}
            elif shape == "outer":
                # the range over a CTE: with an open side inside, not checkable
                p2, lo2, hi2 = range_predicate(rng, "ts")
                sql = (f"WITH u AS (SELECT * FROM a WHERE {conj(p1, e1)}) "
                       f"SELECT count(*) FROM u WHERE {conj(p2)}")
                if p2 and (lo1 or hi1):
                    failures += check(s, sql, {}, unreadable=["a"])
                else:
                    failures += check(s, sql, {"a": m1.missing(p1, lo1, hi1, names1)})
                statements += 1
                continue
            else:
                p2, lo2, hi2 = range_predicate(rng, "ts")
                e2, names2 = entity_predicate(rng, "symbol")
                if shape == "join":
                    q = lambda p, al: p.replace("ts", f"{al}.ts").replace("symbol", f"{al}.symbol")
                    sql = (f"SELECT count(*) FROM a x JOIN b y ON x.symbol = y.symbol "
                           f"WHERE {conj(q(p1, 'x'), q(e1, 'x'), q(p2, 'y'), q(e2, 'y'))}")
                else:
                    sql = (f"WITH u AS (SELECT * FROM a WHERE {conj(p1, e1)}), "
                           f"v AS (SELECT * FROM b WHERE {conj(p2, e2)}) "
                           f"SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM v)")
                models = {"a": m1.missing(p1, lo1, hi1, names1),
                          "b": m2.missing(p2, lo2, hi2, names2)}
            failures += check(s, sql, models)
            statements += 1
    assert statements > 60
    assert failures > 10  # the random holes are found, not only full coverage


@pytest.fixture
def table(tmp_path):
    """A: hours 0..9 without 4 and 5; B: hours 0..5 (stops early)."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "bars"), index_column="ts",
                                   entity_columns=["symbol"], bucket="1h")
    at = lambda h: T0 + dt.timedelta(hours=h, minutes=1)
    t.append(bars([(at(h), "A") for h in (0, 1, 2, 3)]))
    t.append(bars([(at(h), "A") for h in (6, 7, 8, 9)]))
    t.append(bars([(at(h), "B") for h in range(6)]))
    return t


def hours(h0, h1):
    return T0 + dt.timedelta(hours=h0), T0 + dt.timedelta(hours=h1)


def session_over(table):
    s = ttf.Session()
    s.register_tstable("bars", table.root())
    return s


def test_full_coverage_passes(table):
    s = session_over(table)
    got = s.sql("SELECT count(*) AS n FROM bars WHERE ts < '2024-01-01 04:00'",
                require_coverage=True)
    assert got.to_pylist() == [{"n": 8}]


def test_a_hole_fails_with_the_exact_range_and_reads_nothing(table):
    s = session_over(table)
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql("SELECT error('ran') FROM bars WHERE symbol = 'A' AND ts >= '2024-01-01' "
              "AND ts < '2024-01-01 10:00'", require_coverage=True)
    start, end = hours(4, 6)
    assert e.value.missing == [{"table": "bars", "entity": {"symbol": "A"}, "start": start,
                                "end": end, "buckets": 2, "known": True}]
    assert isinstance(e.value, ttf.TimeseriesTableError)
    assert e.value.code == "TST_EINCOMPLETE"
    assert "nothing was run" in str(e.value)
    assert e.value.checked[0]["asked_buckets"] == 10


def test_a_stopped_entity_and_an_unknown_one(table):
    s = session_over(table)
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql("SELECT * FROM bars WHERE ts >= '2024-01-01 02:00'", require_coverage=True)
    assert [(m["entity"], m["buckets"]) for m in e.value.missing] == [
        ({"symbol": "A"}, 2), ({"symbol": "B"}, 4)]
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql("SELECT * FROM bars WHERE symbol = 'ZZZ' AND ts BETWEEN '2024-01-01 01:00' "
              "AND '2024-01-01 02:30'", require_coverage=True)
    start, end = hours(1, 3)
    assert e.value.missing == [{"table": "bars", "entity": {"symbol": "ZZZ"}, "start": start,
                                "end": end, "buckets": 2, "known": False}]


def test_time_travel_checks_its_own_version(table):
    s = ttf.Session()
    s.register_tstable("old", table.root(), version=2)
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql("SELECT * FROM old WHERE symbol = 'A' AND ts < '2024-01-01 08:00'",
              require_coverage=True)
    assert e.value.missing[0]["start"], e.value.missing[0]["end"] == hours(4, 8)
    s.register_tstable("bars", table.root())
    s.sql("SELECT * FROM bars WHERE symbol = 'A' AND ts >= '2024-01-01 06:00' AND "
          "ts < '2024-01-01 08:00'", require_coverage=True)


def test_a_statement_that_cannot_be_read_is_refused_or_warned(table):
    s = session_over(table)
    sql = "SELECT count(*) AS n FROM query('SELECT * FROM bars')"
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql(sql, require_coverage=True)
    assert e.value.missing == [] and e.value.checked[0]["readable"] is False
    with pytest.warns(ttf.CoverageWarning, match="could not be checked"):
        assert s.sql(sql, require_coverage="warn").to_pylist() == [{"n": 14}]


def test_warn_mode_runs_and_reports(table):
    s = session_over(table)
    with pytest.warns(ttf.CoverageWarning) as w:
        reader = s.sql_reader("SELECT count(*) AS n FROM bars WHERE symbol = 'A'",
                              require_coverage="warn")
        assert reader.read_all().to_pylist() == [{"n": 8}]
    assert [m["buckets"] for m in w[0].message.missing] == [2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.sql("SELECT count(*) FROM bars WHERE symbol = 'A'")  # off by default
        s.sql("SELECT count(*) FROM bars WHERE symbol = 'B' AND ts < '2024-01-01 06:00'",
              require_coverage="warn")
    with pytest.raises(ValueError, match="require_coverage"):
        s.sql("SELECT 1", require_coverage="sometimes")


def test_scan_checks_its_range_and_entity(table):
    start, end = hours(3, 7)
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        table.scan(start, end, entity={"symbol": "A"}, require_coverage=True)
    assert [(m["entity"], m["start"], m["end"]) for m in e.value.missing] == [
        ({"symbol": "A"}, *hours(4, 6))]
    assert e.value.table_root == table.root()
    with pytest.warns(ttf.CoverageWarning) as w:
        got = table.scan(start, end, require_coverage="warn")
    assert got.num_rows == 5
    assert {m["entity"]["symbol"] for m in w[0].message.missing} == {"A", "B"}
    assert table.scan(*hours(0, 4), require_coverage=True).num_rows == 8
    with pytest.raises(ttf.IncompleteCoverageError):
        table.scan_reader(start, end, entity={"symbol": "B"}, require_coverage=True)


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    import os
    import re
    guide = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "guide",
                              "guaranteed-reads.md")).read()
    csv = re.findall(r"```csv\n(.*?)```", guide, re.S)[0]
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    (tmp_path / "bars.csv").write_text(csv)
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "guaranteed-reads.md", "exec"), {"__name__": "guide"})


def test_an_integer_index_without_entities_and_parameters(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "ticks"), index_column="seq",
                                   index_type="int64", bucket_width=10)
    t.append(pa.table({"seq": pa.array([1, 12, 25, 47, 51], pa.int64()),
                       "v": pa.array([1.0, 2.0, 3.0, 4.0, 5.0])}))
    s = ttf.Session()
    s.register_tstable("ticks", t.root())
    assert s.sql("SELECT count(*) AS n FROM ticks WHERE seq >= $1 AND seq < $2",
                 [0, 30], require_coverage=True).to_pylist() == [{"n": 3}]
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql("SELECT * FROM ticks WHERE seq BETWEEN $lo AND $hi", {"lo": 5, "hi": 64},
              require_coverage=True)
    assert [(m["entity"], m["start"], m["end"], m["buckets"]) for m in e.value.missing] == [
        (None, 30, 40, 1), (None, 60, 70, 1)]
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        t.scan(0, 45, require_coverage=True)
    assert [(m["start"], m["end"]) for m in e.value.missing] == [(30, 40)]
