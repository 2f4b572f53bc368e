"""Pruning by coverage bitmap over tables the reference writes.

The reference 0.4.0 (format_version 6) and 0.9.0 (protocol 7) each write a
table holding a sparse backfill segment (rows on Jan 1 and Dec 30) and a
June segment, with their own segment sidecars. `tstable query --explain`
over a June range must skip the backfill by its bitmap (its min/max meets
June), and the answer must be the reference's own."""
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import (BIN, REFERENCE, REFERENCE_MISSING, Cli, cli_sql, ok,
                            reference)
from reference09 import REF09, ref

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built")
UTC = dt.timezone.utc
JUNE = "SELECT count(*) AS n FROM t WHERE ts >= '2024-06-01' AND ts < '2024-07-01'"


def bars(path, times):
    pq.write_table(pa.table({
        "ts": pa.array(times, pa.timestamp("us", tz="UTC")),
        "symbol": pa.array(["A"] * len(times)),
        "price": pa.array([float(i) for i in range(len(times))]),
    }), path)
    return path


def files(tmp_path):
    backfill = bars(tmp_path / "backfill.parquet",
                    [dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 12, 30, tzinfo=UTC)])
    june = bars(tmp_path / "june.parquet", [dt.datetime(2024, 6, d, tzinfo=UTC) for d in (5, 15)])
    return backfill, june


def check(cli, root, theirs):
    explain = cli.ok("query", "--table", f"t={root}", "--explain", "--max-rows", "0",
                     "--sql", JUNE).stdout
    assert "segments kept after pruning: 1 of 2\n" in explain, explain
    assert "segments skipped: 0 by index range, 1 by coverage bitmap\n" in explain, explain
    assert cli_sql(cli, root, JUNE) == theirs == [[2]]


@pytest.mark.skipif(not REFERENCE.exists(), reason=REFERENCE_MISSING)
def test_a_sparse_segment_the_reference_0_4_wrote_is_skipped_by_its_bitmap(tmp_path):
    backfill, june = files(tmp_path)
    root = tmp_path / "t"
    results = reference([
        {"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                  "index_type": "timestamp", "bucket": "1h",
                                  "entity_columns": ["symbol"]}},
        {"op": "append", "root": root, "path": backfill},
        {"op": "append", "root": root, "path": june},
        {"op": "sql", "root": root, "sql": JUNE}])
    for r in results:
        ok(r)
    check(Cli(), root, ok(results[3]))


@pytest.mark.skipif(not REF09.exists(), reason="the reference 0.9.0 is not installed")
def test_a_sparse_segment_the_reference_0_9_wrote_is_skipped_by_its_bitmap(tmp_path):
    backfill, june = files(tmp_path)
    root = tmp_path / "t"
    results = ref({"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                            "index_type": "timestamp", "index_granularity": "1h",
                                            "entity_columns": ["symbol"]}},
                  {"op": "append", "root": root, "path": backfill},
                  {"op": "append", "root": root, "path": june},
                  {"op": "sql", "root": root, "sql": JUNE})
    for r in results:
        assert "ok" in r, r
    check(Cli(), root, results[3]["ok"])
