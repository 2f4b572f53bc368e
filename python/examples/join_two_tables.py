"""Two tables, one Parquet file each, joined in a Session.

    python3 join_two_tables.py [WORK_DIR]

The smallest end-to-end use of the installed package (scripts/wheel.sh runs
it against the repaired wheel, from a folder outside the repository):
`prices` (ts, symbol, close) and `volumes` (ts, symbol, volume) are hourly
tables keyed by symbol; each gets a 2-row Parquet file written with pyarrow
and appended with append_parquet; a Session registers both and joins them.
"""
import datetime as dt
import os
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

import timeseries_table_format as ttf

UTC = dt.timezone.utc
HOURS = [dt.datetime(2024, 6, 3, 14, tzinfo=UTC), dt.datetime(2024, 6, 3, 15, tzinfo=UTC)]


def hourly_table(root):
    """An empty hourly table at root, coverage kept per symbol."""
    return ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_type="timestamp",
                                      bucket="1h", entity_columns=["symbol"])


def write_parquet(path, **columns):
    """Writes the columns (ts first) as one Parquet file; returns its path."""
    ts = pa.array(HOURS, type=pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"ts": ts, "symbol": ["AAPL", "AAPL"], **columns}), path)
    return path


def main(work):
    prices = hourly_table(os.path.join(work, "prices"))
    prices.append_parquet(write_parquet(os.path.join(work, "prices.parquet"),
                                        close=pa.array([189.5, 190.25])))
    volumes = hourly_table(os.path.join(work, "volumes"))
    volumes.append_parquet(write_parquet(os.path.join(work, "volumes.parquet"),
                                         volume=pa.array([1200, 1300], type=pa.int64())))

    session = ttf.Session()
    session.register_tstable("prices", prices.root())
    session.register_tstable("volumes", volumes.root())
    out = session.sql("SELECT p.ts, p.symbol, p.close, v.volume "
                      "FROM prices p JOIN volumes v ON p.ts = v.ts AND p.symbol = v.symbol "
                      "ORDER BY p.ts")
    print(type(out))
    print(out)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.makedirs(sys.argv[1], exist_ok=True)
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
