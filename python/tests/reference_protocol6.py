"""A pytest plugin for running the reference 0.4.0's own test suite against us.

0.4.0 makes format_version-6 tables, and its tests check what such tables
answer (index_spec()'s 0.4 keys, several rows of one entity in one bucket).
Our create() makes protocol-7 tables unless asked for 6, so under this plugin
(pytest -p reference_protocol6, loaded by test_reference_suite.py for the
0.4.0 suite only) create() defaults to protocol=6, as a 0.4 user would ask.
Nothing else changes.
"""
import functools

import timeseries_table_format as ttf

_create = ttf.TimeSeriesTable.create.__func__


@functools.wraps(_create)
def _create_format_version_6(cls, *args, **kwargs):
    kwargs.setdefault("protocol", 6)
    return _create(cls, *args, **kwargs)


ttf.TimeSeriesTable.create = classmethod(_create_format_version_6)
