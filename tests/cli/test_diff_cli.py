"""`tstable diff` and `tstable plan-backfill`: the guide's examples
(docs/guide/coverage-diff.md) print what it shows; goldens for the text and
JSON answers and for the refusals (neither --from-version nor --other, a table
with another index, lengths that are not whole buckets, an entity of the wrong
shape). The answers themselves are checked against a model in
python/tests/test_coverage_diff.py and tests/unit/test_coverage_diff.c."""

import json
import re
import shlex

from conftest import REPO

GUIDE = REPO / "docs" / "guide" / "coverage-diff.md"
HEADER = "ts,symbol,close\n"


def guide_tables(cli):
    """Writes the guide's CSV files and runs its sh blocks; returns the outputs
    of each block's last command and the texts the guide shows for them."""
    guide = GUIDE.read_text()
    for name, text in zip(["bars.csv", "late.csv", "vendor_b.csv"],
                          re.findall(r"```csv\n(.*?)```", guide, re.S)):
        (cli.tmp / name).write_text(text)
    outputs = []
    for block in re.findall(r"```sh\n(.*?)```", guide, re.S):
        lines = block.splitlines()
        for line in lines[:-1]:
            cli.ok(*shlex.split(line)[1:])
        outputs.append(cli(*shlex.split(lines[-1])[1:]))
    return outputs, re.findall(r"```text\n(.*?)```", guide, re.S)


def test_the_guide_examples_run_and_print_what_they_show(cli):
    outputs, texts = guide_tables(cli)
    assert len(outputs) == len(texts) == 5
    for r, text in zip(outputs, texts):
        assert r.code == 0 and r.stderr == "", r.stderr
        assert r.stdout == text


def test_diff_and_plan_goldens(cli, golden):
    guide_tables(cli)
    golden("diff_versions_json", cli("diff", "--table", "bars", "--from-version", "3",
                                     "--to-version", "2", "--format", "json"))
    golden("diff_tables_range", cli("diff", "--table", "bars", "--other", "vendor_b",
                                    "--start", "2024-06-03T05:00:00Z", "--end",
                                    "2024-06-03T07:00:00Z", "--entity", "symbol=NVDA",
                                    "--entity", "MSFT"))
    golden("diff_no_changes", cli("diff", "--table", "bars", "--from-version", "3"))
    golden("plan_backfill_json", cli("plan-backfill", "--table", "bars", "--start", "2024-06-03",
                                     "--end", "2024-06-03T10:00:00Z", "--entity", "NVDA",
                                     "--entity", "TSLA", "--max-request", "3h",
                                     "--format", "json"))


def test_refusals_are_one_line_each(cli, golden):
    guide_tables(cli)
    cli.ok("create", "--table", "daily", "--index-column", "ts", "--bucket", "1d",
           "--entity", "symbol")
    golden("diff_err_no_side", cli("diff", "--table", "bars"))
    golden("diff_err_both_forms", cli("diff", "--table", "bars", "--other", "vendor_b",
                                      "--from-version", "2"))
    golden("diff_err_other_index", cli("diff", "--table", "bars", "--other", "daily"))
    golden("diff_err_no_version", cli("diff", "--table", "bars", "--from-version", "9"))
    golden("plan_err_partial_bucket", cli("plan-backfill", "--table", "bars",
                                          "--max-request", "90m"))
    golden("plan_err_entity_shape", cli("plan-backfill", "--table", "bars", "--entity",
                                        "symbol=NVDA,venue=X"))
    for args in (["diff", "--help"], ["plan-backfill", "--help"]):
        r = cli(*args)
        assert r.code == 0 and "Example:" in r.stdout


def test_json_matches_the_text_rows(cli):
    guide_tables(cli)
    rows = json.loads(cli.ok("plan-backfill", "--table", "bars", "--start", "2024-06-03",
                             "--end", "2024-06-03T12:00:00Z", "--max-request", "4h",
                             "--format", "json").stdout)
    assert [(r["entity"]["symbol"], r["start"][11:13], r["buckets"]) for r in rows] == [
        ("AAPL", "04", 4), ("AAPL", "08", 4), ("NVDA", "05", 1), ("NVDA", "08", 4)]
    assert all(r["missing_buckets"] == r["buckets"] for r in rows)


def test_sql_function_answers_what_diff_answers(cli):
    guide_tables(cli)
    want = json.loads(cli.ok("diff", "--table", "bars", "--other", "vendor_b",
                             "--format", "json").stdout)
    got = cli.ok("query", "--table", "bars", "--table", "vendor_b", "--sql",
                 "select entity, change, strftime(start, '%Y-%m-%dT%H:%M:%SZ') s, buckets "
                 "from tstable_coverage_diff('bars', 'vendor_b')", "--format", "csv").stdout
    assert got.split()[1:] == [f"{r['entity']['symbol']},{r['change']},{r['start']},{r['buckets']}"
                               for r in want]
    r = cli("query", "--table", "bars", "--sql",
            "select * from tstable_coverage_diff('bars@v2', 'nosuch')")
    assert r.code == 1 and "no tstable registered as 'nosuch'" in r.stderr
