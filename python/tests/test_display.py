"""Results display as tables in IPython/Jupyter, through IPython's own
display machinery; repr() stays readable everywhere."""
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from timeseries_table_format._display import render_table_html

IPython = pytest.importorskip("IPython")


def run_in_ipython(code, env_extra=None):
    """Runs code in a fresh process inside a real InteractiveShell; returns stdout."""
    import os
    script = textwrap.dedent("""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
    """) + textwrap.dedent(code)
    env = dict(os.environ, **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_inside_ipython_a_result_shows_as_an_html_table():
    out = run_in_ipython("""
        import pyarrow as pa
        import timeseries_table_format as ttf
        s = ttf.Session()
        table = s.sql("SELECT range AS n, 'x<y' AS s FROM range(30)")
        data, _ = shell.display_formatter.format(table)
        html = data["text/html"]
        print("rows", html.count("<tr>"))
        print("escaped", "x&lt;y" in html and "x<y" not in html)
        print("elided", "15 more rows" in html)
        print("plain", data["text/plain"].startswith("pyarrow.Table"))
        print("off", ttf.disable_notebook_display(), "text/html" in shell.display_formatter.format(table)[0])
        print("on", ttf.enable_notebook_display())
    """)
    # header + 10 head rows + the elision row + 5 tail rows
    assert "rows 17" in out and "escaped True" in out and "elided True" in out
    assert "plain True" in out and "off True False" in out and "on True" in out


def test_the_environment_can_turn_the_display_off():
    out = run_in_ipython("""
        import pyarrow as pa
        import timeseries_table_format as ttf
        print("html", "text/html" in shell.display_formatter.format(pa.table({"a": [1]}))[0])
    """, {"TTF_NOTEBOOK_DISPLAY": "0"})
    assert "html False" in out


def test_a_printer_the_user_installed_is_kept_and_restored():
    out = run_in_ipython("""
        import pyarrow as pa
        mine = lambda t: "<b>mine</b>"
        shell.display_formatter.formatters["text/html"].for_type(pa.Table, mine)
        import timeseries_table_format as ttf
        fmt = lambda: shell.display_formatter.format(pa.table({"a": [1]}))[0]["text/html"]
        print("kept", fmt())
        ttf.enable_notebook_display()
        print("ours", "<table>" in fmt())
        ttf.disable_notebook_display()
        print("restored", fmt())
    """)
    assert "kept <b>mine</b>" in out and "ours True" in out and "restored <b>mine</b>" in out


def test_outside_ipython_nothing_changes():
    assert ttf.enable_notebook_display() is False
    assert ttf.disable_notebook_display() is False


def test_the_renderer_shows_types_and_nulls_and_counts():
    table = pa.table({"x": pa.array([1, None], pa.int64()), "s": ["a", "b"]})
    html = render_table_html(table)
    assert "int64" in html and "null" in html and "2 rows \u00d7 2 columns" in html
    assert "text-align:right" in html  # numbers align right
