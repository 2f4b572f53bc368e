"""Session.sql() against the PyPI duckdb package over the same Parquet files:
the same rows and the same Arrow types, in a UTC session and a New York one,
for range filters that prune segments, joins, window functions and
aggregates. The table is written by pyarrow, polars and pandas appends, so
its segments come from three writers."""
import datetime as dt

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import timeseries_table_format as ttf

HOUR_US = 3_600 * 1_000_000
UTC = dt.timezone.utc


def hours(day, symbols, price0):
    """24 hourly bars per symbol on 2024-03-<day> (UTC), as a pyarrow Table."""
    ts, sym, price = [], [], []
    start = dt.datetime(2024, 3, day, tzinfo=UTC)
    for s_i, s in enumerate(symbols):
        for h in range(24):
            ts.append(start + dt.timedelta(hours=h))
            sym.append(s)
            price.append(price0 + s_i * 10 + h * 0.25)
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "symbol": sym,
                     "price": pa.array(price, pa.float64()),
                     "volume": pa.array([100 + i for i in range(len(ts))], pa.int64())})


@pytest.fixture(scope="module")
def bars(tmp_path_factory):
    """A table of three days from three writers; the raw segment files for duckdb."""
    root = tmp_path_factory.mktemp("diff") / "bars"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append(hours(9, ["NVDA", "AMD"], 100.0))                        # pyarrow
    t.append(pl.from_arrow(hours(10, ["NVDA", "AMD"], 110.0)))        # polars
    t.append(hours(11, ["NVDA", "AMD", "TSM"], 120.0).to_pandas())     # pandas (DST day in NY)
    files = [f"{t.root()}/{seg['path']}" for seg in t.segments()]
    assert len(files) == 3
    return t, files


QUERIES = [
    "SELECT * FROM bars WHERE ts >= '2024-03-10 00:00:00' AND ts < '2024-03-10 12:00:00' "
    "ORDER BY symbol, ts",
    "SELECT * FROM bars WHERE ts >= TIMESTAMPTZ '2024-03-11 01:00:00-05' AND symbol = 'NVDA' "
    "ORDER BY ts",
    "SELECT symbol, date_trunc('day', ts) AS day, count(*) AS n, sum(volume) AS v, "
    "avg(price) AS p FROM bars GROUP BY ALL ORDER BY ALL",
    "SELECT a.ts, a.price - b.price AS spread FROM bars a JOIN bars b ON a.ts = b.ts "
    "AND a.symbol = 'NVDA' AND b.symbol = 'AMD' ORDER BY a.ts",
    "SELECT ts, symbol, avg(price) OVER (PARTITION BY symbol ORDER BY ts ROWS 3 PRECEDING) AS ma "
    "FROM bars WHERE ts < '2024-03-11' ORDER BY symbol, ts",
    "SELECT * FROM bars WHERE false",
]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("query", QUERIES)
def test_session_sql_equals_duckdb_over_the_same_files(bars, zone, query):
    table, files = bars
    session = ttf.Session()
    session.register_tstable("bars", table.root())
    session.sql(f"SET TimeZone = '{zone}'")
    ours = session.sql(query)

    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    listed = ", ".join(f"'{f}'" for f in files)
    con.execute(f"CREATE VIEW bars AS SELECT * FROM read_parquet([{listed}])")
    theirs = con.sql(query).fetch_arrow_table()

    assert ours.schema == theirs.schema, (ours.schema, theirs.schema)
    assert ours.num_rows == theirs.num_rows
    assert ours.equals(theirs.cast(ours.schema)), query
