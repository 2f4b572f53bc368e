"""coverage_plot / coverage_figure: a picture of a table's coverage.

The native layer (python/src/coverage_plot.c, the C library's
tstable/coverage_plot.h) computes the per-pixel covered fractions and the
SVG; this module shapes `entities` and builds a matplotlib Figure from the
same raster. matplotlib is optional: only coverage_figure needs it.
"""
from __future__ import annotations

from typing import Any, Optional


def entity_bindings(table: Any, entities: Any) -> Optional[list]:
    """None, a list of values (one-column entities), a list of dicts, or a
    dict of column -> value or list of values, as [{column: value}, ...]."""
    if entities is None:
        return None
    if isinstance(entities, dict):
        out = []
        for column, values in entities.items():
            many = isinstance(values, (list, tuple, set, frozenset))
            out.extend({column: v} for v in (values if many else [values]))
        return nonempty(out)
    if isinstance(entities, (str, bytes)) or not hasattr(entities, "__iter__"):
        raise TypeError("entities must be a list of values, a list of dicts, or a dict")
    columns = list(table.index_spec().get("entity_columns") or [])
    out = []
    for item in entities:
        if isinstance(item, dict):
            out.extend({k: v} for k, v in item.items())
        elif len(columns) == 1:
            out.append({columns[0]: item})
        else:
            raise TypeError("plain entity values need a table with exactly one entity column; "
                            "give {column: value} dicts")
    return nonempty(out)


def nonempty(bindings: list) -> list:
    # as plan_backfill, coverage_diff and delete_rows: an empty filter is
    # ambiguous (nothing, or everything?), so it is refused
    if not bindings:
        raise ValueError("entities is empty: give None to draw every entity, or at least one")
    return bindings


def coverage_plot(table: Any, path: Any = None, *, start: Any = None, end: Any = None,
                  entities: Any = None, width: int = 1000, height: int = 0,
                  title: Optional[str] = None, calendar: Any = None) -> str:
    svg = table._coverage_plot(start, end, entity_bindings(table, entities), width, height,
                               title, calendar)
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg)
    return svg


def coverage_figure(table: Any, *, start: Any = None, end: Any = None, entities: Any = None,
                    width: int = 1000, height: int = 0, title: Optional[str] = None,
                    calendar: Any = None) -> Any:
    try:
        import matplotlib.figure
        import matplotlib.colors
    except ImportError as e:  # pragma: no cover - exercised by a test that hides matplotlib
        raise ImportError("coverage_figure needs matplotlib (pip install matplotlib); "
                          "coverage_plot() gives an SVG without it") from e
    import numpy as np

    r = table._coverage_raster(start, end, entity_bindings(table, entities), width, height,
                               title, calendar)
    grid = np.frombuffer(r["fractions"], dtype=np.float64).reshape(r["rows"], r["cols"])
    closed = np.isnan(grid)  # a calendar expects nothing there: grey
    # gaps (0% covered) sit below vmin and take the 'under' colour; closed
    # cells are masked (transparent) over a grey layer
    shown = np.ma.masked_where(closed, np.where(grid == 0.0, -1.0, grid))
    cmap = matplotlib.colors.ListedColormap(
        ["#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
         "#08306b"]).with_extremes(under="#f28e2b", bad=(0, 0, 0, 0))
    dpi = 100
    tall = height or 160 + 14 * min(r["rows"], 48)
    fig = matplotlib.figure.Figure(figsize=(max(width, 240) / dpi, max(tall, 160) / dpi), dpi=dpi,
                                   layout="constrained")
    ax = fig.add_subplot()
    if closed.any():
        ax.imshow(np.ma.masked_where(~closed, np.zeros(grid.shape)), aspect="auto",
                  interpolation="nearest", cmap=matplotlib.colors.ListedColormap(["#e4e4e4"]))
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=1)
    legend = "orange: gap, grey: closed" if closed.any() else "orange: gap"
    ax.set_title(f"{r['title']}\n[{r['start']}, {r['end']})  ({legend})", fontsize=10)
    first = r["row_first"]
    step = max(1, -(-r["rows"] // 40))
    rows = list(range(0, r["rows"], step))
    labels = [r["names"][first[i]] + (f" +{first[i + 1] - first[i] - 1}"
                                      if first[i + 1] - first[i] > 1 else "") for i in rows]
    ax.set_yticks(rows, labels, fontsize=7)
    ticks = np.linspace(0, r["cols"] - 1, 5)
    ax.set_xticks(ticks, [_at(r, t / max(r["cols"], 1)) for t in ticks], fontsize=8)
    fig.colorbar(image, ax=ax, label="covered fraction")
    fig.raster = r  # the numbers behind the picture, for tests and callers
    return fig


def _at(r: dict, frac: float) -> str:
    start, end = r["start"], r["end"]
    value = start + (end - start) * frac
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(int(value))
