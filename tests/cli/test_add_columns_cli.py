"""`tstable add-columns`: the one-line report, the new columns read as NULL in older rows,
appends that leave them out, and one-line errors for every refusal (golden files). Tables are
created with an explicit --protocol."""

import json

from conftest import BIN  # noqa: F401  (the binary fixture lives there)

CREATE7 = ("create", "--table", "t", "--protocol", "7", "--index-column", "ts", "--index-type",
           "timestamp", "--index-granularity", "1h", "--entity", "symbol")


def table_with_rows(cli, protocol="7"):
    args = list(CREATE7)
    args[args.index("--protocol") + 1] = protocol
    cli.ok(*args)
    (cli.tmp / "a.csv").write_text("ts,symbol,close\n2024-06-01T00:00:00Z,A,1.5\n"
                                   "2024-06-01T00:00:00Z,B,2.5\n")
    cli.ok("append", "--table", "t", "--csv", "a.csv")


def query(cli, sql):
    return cli.ok("query", "--table", "t", "--sql", sql, "--format", "csv").stdout


def test_add_columns_reports_the_version_and_old_rows_read_null(cli, golden):
    table_with_rows(cli)
    golden("add_columns_ok", cli("add-columns", "--table", "t", "--column", "vwap=float64",
                                 "--column", "venue=string", "--column",
                                 "at=timestamp[ms, UTC]", "--column", "px=decimal(10,2)"))
    info = json.loads(cli.ok("info", "--table", "t", "--format", "json").stdout)
    assert info["reader_features"] == ["schema_add_columns"]
    assert [(c["name"], c["type"]) for c in info["schema"]][3:] == [
        ("vwap", "float64"), ("venue", "utf8"), ("at", "timestamp[ms](UTC)"),
        ("px", "decimal(precision=10, scale=2)")]
    assert query(cli, "select count(*) n, count(vwap) v, count(venue) c from t") == "n,v,c\n2,0,0\n"
    # Appends may now leave the new columns (and close) out; the keys stay required.
    (cli.tmp / "b.csv").write_text("ts,symbol\n2024-06-02T00:00:00Z,A\n")
    cli.ok("append", "--table", "t", "--csv", "b.csv")
    (cli.tmp / "c.csv").write_text("ts,symbol,close,vwap,venue\n2024-06-03T00:00:00Z,A,3,9.5,X\n")
    cli.ok("append", "--table", "t", "--csv", "c.csv")
    assert query(cli, "select count(*) n, count(close) c, sum(vwap) v, max(venue) m from t") \
        == "n,c,v,m\n4,3,9.5,X\n"
    (cli.tmp / "d.csv").write_text("ts,close\n2024-06-04T00:00:00Z,1\n")
    r = cli("append", "--table", "t", "--csv", "d.csv")
    assert r.code == 1 and "'symbol'" in r.stderr


def test_a_table_without_additions_still_requires_every_column(cli):
    table_with_rows(cli)
    (cli.tmp / "b.csv").write_text("ts,symbol\n2024-06-02T00:00:00Z,A\n")
    r = cli("append", "--table", "t", "--csv", "b.csv")
    assert r.code == 1 and "close" in r.stderr


def test_an_existing_column_is_one_error(cli, golden):
    table_with_rows(cli)
    golden("add_columns_err_existing", cli("add-columns", "--table", "t", "--column",
                                           "close=float64"))


def test_a_table_without_a_schema_is_one_error(cli, golden):
    cli.ok(*CREATE7)
    golden("add_columns_err_no_schema", cli("add-columns", "--table", "t", "--column",
                                            "vwap=float64"))


def test_a_format_version_6_table_points_to_migrate(cli, golden):
    table_with_rows(cli, protocol="6")
    golden("add_columns_err_v6", cli("add-columns", "--table", "t", "--column", "vwap=float64"))


def test_an_unknown_type_is_a_usage_error(cli, golden):
    table_with_rows(cli)
    golden("add_columns_err_type", cli("add-columns", "--table", "t", "--column", "n=int16"))
    golden("add_columns_err_no_column", cli("add-columns", "--table", "t"))
    r = cli("add-columns", "--table", "t", "--column", "novalue")
    assert r.code == 1 and "--column needs NAME=TYPE, got 'novalue'" in r.stderr
    assert json.loads(cli.ok("info", "--table", "t", "--format", "json").stdout)["version"] == 2


def test_a_missing_table_is_one_error(cli, golden):
    golden("add_columns_err_no_table", cli("add-columns", "--table", "nope", "--column",
                                           "n=int64"))
