"""The library's diagnostics, in Python's logging.

libtstable never prints: it reports notable events (a coverage snapshot it
had to rebuild, a column type it widened on a first append, an invalid
CURRENT hint it skipped) to a callback. This module turns them into records
of the logger "timeseries_table_format", as the reference's Rust diagnostics
were, so the usual logging configuration decides what is shown.
"""
from __future__ import annotations

import atexit
import logging

from . import _native

logger = logging.getLogger("timeseries_table_format")

# The library's levels (TST_LOG_DEBUG, TST_LOG_INFO, TST_LOG_WARN).
_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING}


def _forward(level: int, event: str, message: str) -> None:
    py_level = _LEVELS.get(level, logging.WARNING)
    if logger.isEnabledFor(py_level):
        logger.log(py_level, "%s: %s", event, message, extra={"tstable_event": event})


def refresh_logging_cache() -> None:
    """Kept for code written for the reference 0.5+, where native log levels were
    cached. Here every event is checked against the logger's level when it
    happens, so changes to the logging configuration apply at once and this
    function has nothing to do."""


def install() -> None:
    _native._set_log_handler(_forward)
    # No event may reach Python while the interpreter shuts down.
    atexit.register(_native._set_log_handler, None)
