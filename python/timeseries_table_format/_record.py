"""Read-only report records (OptimizeReport, UpdateRowsReport).

The reference returns report objects with read-only properties; each report
class here is built by `report_class` from its field names and docs: built
from the dict the native method returns, equal to another report with the
same fields, picklable, a repr naming every field, and `to_dict()`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence, Tuple


def report_class(name: str, fields: Sequence[Tuple[str, str]], doc: str) -> type:
    """A read-only record class `name` with one property per (field, doc)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_fields", {f: values.get(f) for f, _ in fields})

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"{name} is read-only")

    def __reduce__(self):
        return (cls, (dict(self._fields),))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, cls):
            return NotImplemented
        return self._fields == other._fields

    def __repr__(self) -> str:
        body = ", ".join(f"{f}={self._fields[f]!r}" for f, _ in fields)
        return f"{name}({body})"

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return dict(self._fields)

    body = {"__slots__": ("_fields",), "__doc__": doc, "__init__": __init__,
            "__setattr__": __setattr__, "__reduce__": __reduce__, "__eq__": __eq__,
            # equal reports need not hash alike; a report is a record, not a key
            "__hash__": None, "__repr__": __repr__, "to_dict": to_dict}
    for f, text in fields:
        body[f] = property(lambda self, f=f: self._fields[f], doc=text[0].upper() + text[1:] + ".")
    cls = type(name, (), body)
    return cls
