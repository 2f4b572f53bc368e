"""`tstable entities`, `coverage`/`gaps --each-entity`, `coverage --last-window`,
the time grammar (now, -7d, today, zone-less = UTC) and the unknown-entity
warning: the guide's examples (docs/guide/freshness.md) print what it shows,
goldens for the refusals and the help, and checks that every command reads
a time the same way. The answers are also checked against a naive model in
python/tests/test_entities.py."""

import json
import re
import shlex
import shutil

import pytest

from conftest import REPO

GUIDE = REPO / "docs" / "guide" / "freshness.md"
NOW = "2024-06-03T12:30:00Z"


def guide_blocks(cli):
    """Writes the guide's CSV, runs its sh blocks; returns (result, text shown) pairs."""
    guide = GUIDE.read_text()
    (cli.tmp / "bars.csv").write_text(re.findall(r"```csv\n(.*?)```", guide, re.S)[0])
    pairs = []
    blocks = re.findall(r"```sh\n(.*?)```", guide, re.S)
    texts = re.findall(r"```text\n(.*?)```", guide, re.S)
    for block in blocks:
        results = []
        for line in block.splitlines():
            words = shlex.split(line)
            env = {}
            while "=" in words[0]:
                key, value = words.pop(0).split("=", 1)
                env[key] = value
            results.append(cli(*words[1:], env=env))
            assert results[-1].code == 0, (line, results[-1].stderr)
        pairs.append(results[-1])
    assert len(pairs) == len(texts) == 9
    return list(zip(pairs, texts))


def test_the_guide_examples_run_and_print_what_they_show(cli):
    for r, text in guide_blocks(cli):
        assert r.stdout + r.stderr == text


def bars(cli):
    guide_blocks(cli)
    return "bars"


def js(r):
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


# ---- entities -------------------------------------------------------------------------------

def test_entities_goldens(cli, golden):
    bars(cli)
    golden("entities_json", cli("entities", "--table", "bars", "--now", NOW, "--format", "json"))
    golden("entities_filter", cli("entities", "--table", "bars", "--now", NOW,
                                  "--entity", "NVDA", "--entity", "symbol=TSLA"))
    golden("entities_err_stale", cli("entities", "--table", "bars", "--stale", "2x"))
    golden("entities_err_now", cli("entities", "--table", "bars", "--now", "tomorrow"))
    golden("help_times", cli("help", "times"))


def test_entities_lag_follows_now_in_every_spelling(cli):
    bars(cli)
    pinned = {"TSTABLE_NOW": NOW}
    want = js(cli("entities", "--table", "bars", "--now", NOW, "--format", "json"))
    for spelling in ["2024-06-03 12:30", "2024-06-03T12:30", "2024-06-03T14:30:00+02:00",
                     "now", "today+750m", "-0s"]:
        got = js(cli("entities", "--table", "bars", "--now", spelling, "--format", "json",
                     env=pinned))
        assert got == want, spelling
    assert js(cli("entities", "--table", "bars", "--format", "json", env=pinned)) == want
    assert [e["lag_seconds"] for e in want] == [1800, 9000, 23400]


def test_stale_keeps_entities_lagging_strictly_more(cli):
    bars(cli)
    def stale(d):
        return [e["entity"]["symbol"] for e in js(cli("entities", "--table", "bars", "--now", NOW,
                                                      "--stale", d, "--format", "json"))]
    assert stale("0s") == ["MSFT", "NVDA", "TSLA"]
    assert stale("30m") == ["NVDA", "TSLA"]       # MSFT lags exactly 30m: not more
    assert stale("150m") == ["TSLA"]
    assert stale("1w") == []


def test_entities_as_of_reads_the_older_version(cli):
    bars(cli)
    (cli.tmp / "late.csv").write_text("ts,symbol,close\n2024-06-03T10:00:00Z,NVDA,1\n")
    cli.ok("append", "--table", "bars", "--csv", "late.csv")
    now = js(cli("entities", "--table", "bars", "--now", NOW, "--format", "json"))
    old = js(cli("entities", "--table", "bars", "--now", NOW, "--format", "json", "--as-of", "2"))
    assert now[1]["last"] == "2024-06-03T11:00:00Z" and old[1]["last"] == "2024-06-03T10:00:00Z"


def test_a_table_without_entity_columns_has_one_row_and_each_entity_changes_nothing(cli):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    (cli.tmp / "t.csv").write_text("ts,v\n2024-06-03T00:00:00Z,1\n2024-06-03T02:00:00Z,2\n")
    cli.ok("append", "--table", "t", "--csv", "t.csv")
    rows = js(cli("entities", "--table", "t", "--now", "2024-06-03T04:00:00Z", "--format", "json"))
    assert rows == [{"entity": None, "first": "2024-06-03T00:00:00Z",
                     "last": "2024-06-03T03:00:00Z", "covered_buckets": 2, "gaps": 1,
                     "missing_buckets": 1, "ratio": 2 / 3, "lag": "1h", "lag_seconds": 3600}]
    for command in ("coverage", "gaps"):
        for fmt in ("table", "json"):
            plain = cli(command, "--table", "t", "--format", fmt)
            assert cli(command, "--table", "t", "--format", fmt, "--each-entity") == plain
    one = js(cli("coverage", "--table", "t", "--last-window", "1h", "--format", "json"))
    assert one == {"entity": None, "buckets": 1, "before": "2024-06-03T03:00:00Z",
                   "start": "2024-06-03T02:00:00Z", "end": "2024-06-03T03:00:00Z"}
    assert js(cli("coverage", "--table", "t", "--last-window", "1h", "--format", "json",
                  "--each-entity")) == one


def test_integer_indexes_have_no_clock(cli, golden):
    cli.ok("create", "--table", "seq", "--index-column", "k", "--index-type", "int64",
           "--index-granularity", "10", "--entity", "dev")
    (cli.tmp / "s.csv").write_text("k,dev\n0,a\n15,a\n35,b\n")
    cli.ok("append", "--table", "seq", "--csv", "s.csv")
    rows = js(cli("entities", "--table", "seq", "--format", "json"))
    assert [(r["first"], r["last"], r["lag"], r["lag_units"]) for r in rows] == \
        [(0, 20, None, None), (30, 40, None, None)]
    rows = js(cli("entities", "--table", "seq", "--format", "json", "--now", "100",
                  "--stale", "65"))
    assert [(r["entity"], r["lag"], r["lag_units"]) for r in rows] == [({"dev": "a"}, "80", 80)]
    golden("entities_err_int_stale", cli("entities", "--table", "seq", "--stale", "5"))
    golden("coverage_err_int_relative", cli("coverage", "--table", "seq", "--start", "-7d"))
    assert js(cli("coverage", "--table", "seq", "--start", "-10", "--end", "20",
                  "--format", "json"))["total_buckets"] == 3
    assert js(cli("coverage", "--table", "seq", "--last-window", "20", "--each-entity",
                  "--format", "json")) == [
        {"entity": {"dev": "a"}, "buckets": 2, "before": 40, "start": 0, "end": 20},
        {"entity": {"dev": "b"}, "buckets": 2, "before": 40, "start": None, "end": None}]


# ---- each entity ----------------------------------------------------------------------------

def test_each_entity_answers_equal_the_one_entity_answers(cli):
    bars(cli)
    rng = ["--start", "2024-06-03T02:00:00Z", "--end", "2024-06-03T11:00:00Z"]
    each = js(cli("coverage", "--table", "bars", "--each-entity", "--format", "json", *rng))
    gaps = js(cli("gaps", "--table", "bars", "--each-entity", "--format", "json",
                  "--max-buckets", "1", *rng))
    windows = js(cli("coverage", "--table", "bars", "--each-entity", "--format", "json",
                     "--last-window", "3h", "--end", "2024-06-03T09:00"))
    assert [e["entity"]["symbol"] for e in each] == ["MSFT", "NVDA", "TSLA"]
    for row, window in zip(each, windows):
        sym = row["entity"]["symbol"]
        assert row == js(cli("coverage", "--table", "bars", "--entity", sym, "--format", "json",
                             *rng))
        mine = [{k: v for k, v in g.items() if k != "entity"} for g in gaps
                if g["entity"]["symbol"] == sym]
        assert mine == js(cli("gaps", "--table", "bars", "--entity", sym, "--format", "json",
                              "--max-buckets", "1", *rng))
        assert window == js(cli("coverage", "--table", "bars", "--entity", sym, "--format",
                                "json", "--last-window", "3h", "--end", "2024-06-03T09:00"))
    assert [(w["start"], w["end"]) for w in windows] == [
        ("2024-06-03T06:00:00Z", "2024-06-03T09:00:00Z"),
        ("2024-06-03T06:00:00Z", "2024-06-03T09:00:00Z"),
        ("2024-06-03T03:00:00Z", "2024-06-03T06:00:00Z")]


def test_entity_filters_the_each_entity_list(cli):
    bars(cli)
    got = js(cli("coverage", "--table", "bars", "--each-entity", "--format", "json",
                 "--entity", "TSLA", "--entity", "symbol=MSFT"))
    assert [e["entity"]["symbol"] for e in got] == ["MSFT", "TSLA"]


def test_last_window_goldens(cli, golden):
    bars(cli)
    golden("last_window_one", cli("coverage", "--table", "bars", "--last-window", "3h",
                                  "--entity", "NVDA", "--end", "2024-06-03T05:00:00Z"))
    golden("last_window_none_json", cli("coverage", "--table", "bars", "--last-window", "7h",
                                        "--entity", "NVDA", "--format", "json"))
    golden("last_window_err_length", cli("coverage", "--table", "bars", "--last-window", "90m"))
    golden("last_window_err_text", cli("coverage", "--table", "bars", "--last-window", "1 day"))
    golden("last_window_err_start", cli("coverage", "--table", "bars", "--last-window", "1h",
                                        "--start", "2024-06-03"))


# ---- times ----------------------------------------------------------------------------------

ZONELESS = ["2024-06-03 05:00", "2024-06-03T05:00", "2024-06-03 05:00:00", "2024-06-03t05:00:00",
            "2024-06-03T07:00:00+02:00", "2024-06-03T05:00:00.000Z"]


@pytest.mark.parametrize("spelling", ZONELESS)
def test_every_command_reads_a_time_without_offset_as_utc(cli, spelling):
    bars(cli)
    z = "2024-06-03T05:00:00Z"
    for args in (["coverage", "--table", "bars", "--each-entity", "--end", "{}"],
                 ["gaps", "--table", "bars", "--entity", "NVDA", "--start", "{}"],
                 ["plan-backfill", "--table", "bars", "--start", "{}"],
                 ["diff", "--table", "bars", "--from-version", "1", "--start", "2024-06-03",
                  "--end", "{}"],
                 ["entities", "--table", "bars", "--now", "{}"],
                 ["coverage", "--table", "bars", "--last-window", "1h", "--end", "{}"]):
        want = cli(*[a.format(z) for a in args])
        assert want.code == 0, want.stderr
        assert cli(*[a.format(spelling) for a in args]) == want, args
    # delete: the same rows go whichever way the range is written
    shutil.copytree(cli.tmp / "bars", cli.tmp / "copy")
    cli.ok("delete", "--table", "bars", "--start", "2024-06-03", "--end", z)
    cli.ok("delete", "--table", "copy", "--start", "2024-06-03 00:00", "--end", spelling)
    assert cli("entities", "--table", "bars", "--now", NOW).stdout == \
        cli("entities", "--table", "copy", "--now", NOW).stdout


def test_relative_times_are_measured_from_the_pinned_now(cli):
    bars(cli)
    env = {"TSTABLE_NOW": "2024-06-04T03:00:00Z"}
    def gaps(start, end):
        return cli("gaps", "--table", "bars", "--entity", "NVDA", "--start", start,
                   "--end", end, "--format", "json", env=env)
    want = gaps("2024-06-03T02:00:00Z", "2024-06-04T03:00:00Z")
    assert want.code == 0
    for start, end in [("-25h", "now"), ("now-25h", "now+0m"), ("yesterday+2h", "today+3h"),
                       ("today-22h", "-0s")]:
        assert gaps(start, end) == want, (start, end)
    assert gaps("-1w", "now").stdout != want.stdout
    # --as-of: now is the latest version, a week ago is before the table existed
    assert cli("coverage", "--table", "bars", "--as-of", "now", env={}).code == 0
    r = cli("coverage", "--table", "bars", "--as-of", "-1000w")
    assert r.code == 1 and "as of -1000w" in r.stderr


def test_unreadable_times_name_the_grammar(cli, golden):
    bars(cli)
    golden("coverage_err_time", cli("coverage", "--table", "bars", "--start", "now-7x"))
    golden("gaps_err_as_of_time", cli("gaps", "--table", "bars", "--as-of", "lastweek"))


# ---- unknown entities -----------------------------------------------------------------------

def test_every_command_warns_about_an_entity_the_table_never_saw(cli, golden):
    bars(cli)
    golden("unknown_entity_coverage", cli("coverage", "--table", "bars", "--entity", "NVDAA"))
    golden("unknown_entity_entities", cli("entities", "--table", "bars", "--now", NOW,
                                          "--entity", "symbol=TSLS"))
    warning = "warning: symbol=msft never occurs in the table; nearest: MSFT\n"
    for args in (["coverage", "--table", "bars", "--entity", "msft"],
                 ["gaps", "--table", "bars", "--entity", "msft"],
                 ["coverage", "--table", "bars", "--entity", "msft", "--each-entity"],
                 ["coverage", "--table", "bars", "--entity", "msft", "--last-window", "1h"],
                 ["plan-backfill", "--table", "bars", "--entity", "msft"],
                 ["diff", "--table", "bars", "--from-version", "1", "--entity", "msft"],
                 ["entities", "--table", "bars", "--entity", "msft"]):
        r = cli(*args)
        assert r.code == 0 and r.stderr == warning, (args, r.stderr)
    # The plot has nothing to draw for it (the library refuses an empty picture), but says why.
    r = cli("coverage", "--table", "bars", "--entity", "msft", "--entity", "NVDA", "--plot", "p.svg")
    assert r.code == 0 and r.stderr == warning
    r = cli("coverage", "--table", "bars", "--entity", "msft", "--plot", "p.svg")
    assert r.code == 1 and r.stderr.startswith(warning)
    for args in (["coverage", "--table", "bars", "--entity", "MSFT"],
                 ["plan-backfill", "--table", "bars", "--entity", "NVDA"],
                 ["entities", "--table", "bars", "--entity", "TSLA"]):
        assert cli(*args).stderr == "", args
    far = cli("gaps", "--table", "bars", "--entity", "GOOGL")
    assert far.stderr == "warning: symbol=GOOGL never occurs in the table\n"


def test_a_composite_entity_warns_per_value_then_per_combination(cli):
    cli.ok("create", "--table", "q", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol", "--entity", "venue")
    (cli.tmp / "q.csv").write_text("ts,symbol,venue\n2024-06-03T00:00:00Z,NVDA,XNAS\n"
                                   "2024-06-03T00:00:00Z,MSFT,XLON\n")
    cli.ok("append", "--table", "q", "--csv", "q.csv")
    r = cli("coverage", "--table", "q", "--entity", "symbol=NVDA", "--entity", "venue=XLON")
    assert r.code == 0 and r.stderr == ("warning: symbol=NVDA,venue=XLON never occurs in the "
                                        "table; nearest: symbol=NVDA,venue=XNAS, "
                                        "symbol=MSFT,venue=XLON\n")
    r = cli("coverage", "--table", "q", "--entity", "symbol=NVDX", "--entity", "venue=XNAS")
    assert r.stderr == "warning: symbol=NVDX never occurs in the table; nearest: NVDA\n"
    # diff against another table: known on either side is known
    r = cli("diff", "--table", "q", "--from-version", "1", "--entity",
            "symbol=NVDA,venue=XNAS")
    assert r.code == 0 and r.stderr == ""
