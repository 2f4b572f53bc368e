"""Quickstart: two tables, one append each, one join.

    python3 examples/quickstart.py [WORK_DIR]

Runs against the installed package (pip install ./python; scripts/test.sh
installs it into .venv).

1. `prices`: hourly NVDA bars, appended straight from the sample CSV.
2. `volume`: daily volume per symbol, derived in plain Python from the same
   CSV and appended from a small generated CSV (no SQL engine needed).
3. A Session registers both tables and joins them: each day's range and
   its volume. Coverage questions are answered from the tables directly.
"""
import csv
import datetime
import os
import sys
import tempfile
from collections import defaultdict

import timeseries_table_format as ttf

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "data",
                      "nvda_1h_sample.csv")


def daily_volume_csv(src, dst):
    """Sums the hourly volume per (symbol, UTC day) into a new CSV."""
    totals = defaultdict(int)
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            totals[(row["symbol"], row["ts"][:10])] += int(row["volume"])
    with open(dst, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["day", "symbol", "volume"])
        for (symbol, day), volume in sorted(totals.items()):
            out.writerow([f"{day}T00:00:00Z", symbol, volume])
    return dst


def main(work):
    prices = ttf.TimeSeriesTable.create(table_root=os.path.join(work, "prices"),
                                        time_column="ts", bucket="1h",
                                        entity_columns=["symbol"], timezone=None)
    print("prices version", prices.append_csv(SAMPLE))

    volume = ttf.TimeSeriesTable.create(table_root=os.path.join(work, "volume"),
                                        index_column="day", index_type="timestamp",
                                        bucket="1d", entity_columns=["symbol"])
    generated = daily_volume_csv(SAMPLE, os.path.join(work, "daily_volume.csv"))
    print("volume version", volume.append_csv(generated))

    nvda = {"symbol": "NVDA"}
    print("coverage of June 1-15:", prices.coverage_ratio("2024-06-01", "2024-06-16", nvda))
    print("gaps:", [(a.isoformat(), b.isoformat())
                    for a, b in prices.gaps("2024-06-01", "2024-06-16", nvda)])

    session = ttf.Session()
    session.register_tstable("prices", prices.root())
    session.register_tstable("volume", volume.root())
    result = session.sql(
        """
        SELECT v.symbol, v.day, min(p.low) AS low, max(p.high) AS high, v.volume
        FROM prices p
        JOIN volume v
          ON p.symbol = v.symbol AND p.ts >= v.day AND p.ts < v.day + INTERVAL 1 DAY
        WHERE v.day >= $1
        GROUP BY v.symbol, v.day, v.volume
        ORDER BY v.day
        """,
        params=[datetime.datetime(2024, 6, 1)],  # naive = UTC; or "2024-06-01T00:00:00Z"
    )
    print(type(result))  # <class 'pyarrow.lib.Table'>
    print("joined rows:", result.num_rows, "columns:", result.column_names)
    for row in result.to_pylist():
        print(f"  {row['symbol']} {row['day']:%Y-%m-%d}  low {row['low']:8.2f}  "
              f"high {row['high']:8.2f}  volume {row['volume']}")
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.makedirs(sys.argv[1], exist_ok=True)
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
