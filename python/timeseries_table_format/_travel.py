"""Time travel arguments: version= and as_of= of TimeSeriesTable.open and
Session.register_tstable, checked and turned into what the native layer takes.

A version is an int >= 1 (TimeSeriesTable.version() and the log number
commits this way). as_of is an instant: a datetime (naive means UTC), a date
(midnight UTC) or an ISO 8601 string ("2024-06-01T09:30:00Z",
"2024-06-01 09:30", "2024-06-01"; no offset means UTC). The handle then
holds the version that was current at that instant.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Optional, Tuple

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _instant(as_of: Any) -> Tuple[int, int]:
    """(seconds, nanoseconds) since the epoch, UTC."""
    value = as_of
    if isinstance(value, str):
        text = value.strip()
        try:
            value = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and
                                               text else text)
        except ValueError:
            raise ValueError(f"as_of={as_of!r} is not an ISO 8601 instant; give a datetime "
                             "or text such as '2024-06-01T09:30:00Z' (no offset means UTC)"
                             ) from None
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"as_of must be a datetime, a date or an ISO 8601 string, not "
                        f"{type(as_of).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    delta = value - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    nanos = delta.microseconds * 1000 + int(getattr(value, "nanosecond", 0) or 0)
    return seconds, nanos


def pin(version: Any, as_of: Any) -> Tuple[Optional[int], Optional[Tuple[int, int]]]:
    """(version, None), (None, (sec, nsec)) or (None, None) for the latest."""
    if version is not None and as_of is not None:
        raise ValueError("give version= or as_of=, not both")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"version must be an int, not {type(version).__name__}")
        if version < 0:
            raise ValueError(f"version must be >= 1, not {version}")
        return version, None
    if as_of is not None:
        return None, _instant(as_of)
    return None, None
