"""timeseries_table_format: time-series tables with bucketed coverage, over libtstable.

    import timeseries_table_format as ttf
    t = ttf.TimeSeriesTable.create(table_root="bars", time_column="ts", bucket="1h",
                                   entity_columns=["symbol"])
    t.append_csv("bars.csv")
    t.coverage_ratio("2024-06-01", "2024-06-02", entity={"symbol": "NVDA"})

    s = ttf.Session()
    s.register_tstable("bars", "bars")
    s.sql("SELECT symbol, count(*) FROM bars GROUP BY symbol").to_pylist()
"""
from ._native import (
    HAS_SESSION,
    ConflictError,
    CoverageOverlapError,
    DataFusionError,
    RecordBatchReader,
    SchemaMismatchError,
    Session,
    SqlError,
    SqlResult,
    StorageError,
    TimeSeriesTable,
    TimeseriesTableError,
)

__version__ = "0.1.0"

__all__ = [
    "ConflictError",
    "CoverageOverlapError",
    "DataFusionError",
    "HAS_SESSION",
    "RecordBatchReader",
    "SchemaMismatchError",
    "Session",
    "SqlError",
    "SqlResult",
    "StorageError",
    "TimeSeriesTable",
    "TimeseriesTableError",
    "__version__",
]
