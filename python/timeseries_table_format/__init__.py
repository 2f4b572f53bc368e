"""timeseries_table_format: time-series tables with bucketed coverage, over libtstable.

    import timeseries_table_format as ttf
    t = ttf.TimeSeriesTable.create(table_root="bars", index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append_csv("bars.csv")                  # or append(pyarrow/polars/pandas data)
    t.coverage_ratio("2024-06-01", "2024-06-02", entity={"symbol": "NVDA"})

    s = ttf.Session()
    s.register_tstable("bars", "bars")
    s.sql("SELECT symbol, count(*) FROM bars GROUP BY symbol")   # a pyarrow.Table
"""
from ._native import (
    HAS_SESSION,
    ConflictError,
    CoverageOverlapError,
    CoverageWarning,
    DataFusionError,
    DuplicateIndexIntervalError,
    IncompleteCoverageError,
    SchemaMismatchError,
    SqlError,
    StorageError,
    TimeseriesTableError,
    VersionVacuumedError,
)
from ._delete import DeleteReport
from ._entities import UnknownEntityWarning
from ._display import disable_notebook_display, enable_notebook_display
from ._logging import refresh_logging_cache
from ._migrate import MigrateReport, migrate
from ._optimize import OptimizeReport
from ._reports import AppendReport
from ._session import Session
from ._table import TimeSeriesTable
from ._update import UpdateRowsReport
from ._vacuum import VacuumApplyError, VacuumArtifact, VacuumReport
from . import _display, _logging

# The reference's 0.5+ names. An overlap is the same error under both names.
IndexIntervalOverlapError = CoverageOverlapError


__version__ = "0.1.0"

# The reference's report classes live in its _native module; code that checks
# `_native.AppendReport is AppendReport` finds ours there too.
from . import _native
_native.AppendReport = AppendReport
_native.OptimizeReport = OptimizeReport
_native.VacuumReport = VacuumReport
_native.VacuumArtifact = VacuumArtifact


_logging.install()
_display.auto_enable()
del _display, _logging

__all__ = [
    "AppendReport",
    "ConflictError",
    "CoverageOverlapError",
    "CoverageWarning",
    "DataFusionError",
    "DeleteReport",
    "DuplicateIndexIntervalError",
    "HAS_SESSION",
    "IncompleteCoverageError",
    "IndexIntervalOverlapError",
    "MigrateReport",
    "OptimizeReport",
    "SchemaMismatchError",
    "Session",
    "SqlError",
    "StorageError",
    "TimeSeriesTable",
    "TimeseriesTableError",
    "UnknownEntityWarning",
    "UpdateRowsReport",
    "VacuumApplyError",
    "VacuumArtifact",
    "VacuumReport",
    "VersionVacuumedError",
    "__version__",
    "disable_notebook_display",
    "enable_notebook_display",
    "migrate",
    "refresh_logging_cache",
]
