"""`--calendar` on coverage, gaps and plan-backfill: the guide's examples
(docs/guide/calendars.md) print what it shows; goldens for JSON answers,
gaps cut by --max-buckets, the SQL functions' calendar := and the refusals
(an unknown item, a missing zone, a bad holiday line, an integer index).
The answers themselves are checked against a naive model in
python/tests/test_calendar_differential.py."""

import json
import re
import shlex

from conftest import REPO

GUIDE = REPO / "docs" / "guide" / "calendars.md"
NYSE = "weekdays;tz=America/New_York;sessions=09:30-16:00;holidays=holidays.txt"
WEEK = ("--start", "2024-07-01", "--end", "2024-07-06")


def guide_tables(cli):
    """Writes the guide's files and runs its sh blocks; returns the outputs of
    each block's last command and the texts the guide shows for them."""
    guide = GUIDE.read_text()
    (cli.tmp / "bars.csv").write_text(re.findall(r"```csv\n(.*?)```", guide, re.S)[0])
    (cli.tmp / "holidays.txt").write_text(re.findall(r"```txt\n(.*?)```", guide, re.S)[0])
    outputs = []
    for block in re.findall(r"```sh\n(.*?)```", guide, re.S):
        lines = block.splitlines()
        for line in lines[:-1]:
            cli.ok(*shlex.split(line)[1:])
        outputs.append(cli(*shlex.split(lines[-1])[1:]))
    return outputs, re.findall(r"```text\n(.*?)```", guide, re.S)


def test_the_guide_examples_run_and_print_what_they_show(cli):
    outputs, texts = guide_tables(cli)
    assert len(outputs) == len(texts) == 3
    for r, text in zip(outputs, texts):
        assert r.code == 0 and r.stderr == "", r.stderr
        assert r.stdout == text


def test_calendar_goldens(cli, golden):
    guide_tables(cli)
    golden("calendar_coverage_json", cli("coverage", "--table", "bars", *WEEK, "--entity",
                                         "NVDA", "--calendar", NYSE, "--format", "json"))
    golden("calendar_gaps_pieces", cli("gaps", "--table", "bars", *WEEK, "--max-buckets", "5",
                                       "--calendar", NYSE, "--format", "json"))
    golden("calendar_plan_merge", cli("plan-backfill", "--table", "bars", *WEEK,
                                      "--merge-within", "2h", "--calendar", NYSE))
    golden("calendar_sql", cli("query", "--table", "bars", "--format", "csv", "--sql",
                               "SELECT * FROM tstable_coverage('bars', '2024-07-01', "
                               f"'2024-07-06', calendar := '{NYSE}') UNION ALL "
                               "SELECT entity, buckets, 0, 0, 0, 0 FROM tstable_gaps('bars', "
                               f"'2024-07-01', '2024-07-06', 'NVDA', calendar := '{NYSE}')"))


def test_gaps_with_a_calendar_agree_with_coverage(cli):
    guide_tables(cli)
    cov = json.loads(cli.ok("coverage", "--table", "bars", *WEEK, "--calendar", NYSE,
                            "--format", "json").stdout)
    gaps = json.loads(cli.ok("gaps", "--table", "bars", *WEEK, "--max-buckets", "2",
                             "--calendar", NYSE, "--format", "json").stdout)
    assert sum(g["buckets"] for g in gaps) == cov["missing_buckets"] == 13
    assert all(g["buckets"] <= 2 for g in gaps)
    plain = json.loads(cli.ok("coverage", "--table", "bars", *WEEK, "--format",
                              "json").stdout)
    assert plain["total_buckets"] == 120 and cov["total_buckets"] == 25


def test_calendar_refusals_are_one_line_each(cli, golden):
    guide_tables(cli)
    (cli.tmp / "bad.txt").write_text("2024-07-04\n# fine\n2024-07-05 9am\n")
    cli.ok("create", "--table", "ints", "--index-column", "x", "--index-type", "int64",
           "--bucket-width", "10")
    golden("calendar_err_unknown_item", cli("coverage", "--table", "bars", *WEEK,
                                            "--calendar", "weekdays;hours=9-5"))
    golden("calendar_err_no_zone", cli("gaps", "--table", "bars", *WEEK, "--calendar",
                                       "tz=America/Gotham", env={"TZDIR": "/nonexistent"}))
    golden("calendar_err_holiday_line", cli("plan-backfill", "--table", "bars", *WEEK,
                                            "--calendar", "weekdays;holidays=bad.txt"))
    golden("calendar_err_integer_index", cli("coverage", "--table", "ints", "--start", "0",
                                             "--end", "100", "--calendar", "weekdays"))


def test_the_plot_draws_closed_time_grey(cli):
    guide_tables(cli)
    cli.ok("coverage", "--table", "bars", *WEEK, "--plot", "cal.svg", "--width", "600",
           "--calendar", NYSE)
    cli.ok("coverage", "--table", "bars", *WEEK, "--plot", "plain.svg", "--width", "600")
    cal, plain = (cli.tmp / "cal.svg").read_text(), (cli.tmp / "plain.svg").read_text()
    assert ".c12{fill:#e4e4e4}" in cal and ">closed</text>" in cal
    assert ".c12" not in plain and "closed" not in plain
    # 120 hourly columns: 25 expected (13 missing in 3 stretches: Tuesday, Wednesday's
    # early close, Friday's first two hours), the rest closed.
    row = re.search(r'<g class="row"[^>]*>(.*?)</g>', cal, re.S).group(1)
    classes = re.findall(r'class="c(\d+)"', row)
    assert classes.count("3") == 3 and "12" in classes
    assert '<g class="row"' in plain and 'class="c12"' not in plain
    for name in ("cal.png", "plain.png"):
        cli.ok("coverage", "--table", "bars", *WEEK, "--plot", name, "--width", "600",
               *(["--calendar", NYSE] if name == "cal.png" else []))
    plte = [(cli.tmp / n).read_bytes().split(b"PLTE")[0][-4:] for n in ("cal.png", "plain.png")]
    assert [int.from_bytes(p, "big") for p in plte] == [3 * 13, 3 * 12]
