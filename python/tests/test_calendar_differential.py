"""Calendars against a naive model, on random tables (a differential test).

Each case draws a table (1-minute, 5-minute, 1-hour or 1-day buckets, one to
three entities, random covered runs) and a calendar (a zone, open weekdays,
one or two daily sessions, some running past midnight, holidays, early
closes, a closed range), then asks coverage, gaps, max_gap,
last_fully_covered_window, coverage_summary and plan_backfill with the
calendar, as a spec string (with a holiday file) and as a dict (with a list
of entries), and compares with a model that knows nothing of the library: it lays each local
day's sessions out in UTC with zoneinfo, and walks the buckets one by one.

The model's rules are the calendar's definition (tstable/calendar.h):
a bucket is expected when any part of it lies in an open session; a wall
time maps to the first instant whose local time is at or after it; a gap
runs from a missing expected bucket over closed time until a covered
expected bucket; the last window holds an expected bucket and all of its
expected buckets are covered; a backfill request covers missing expected
buckets only (closed time ends a request, like covered time).
"""

import datetime as dt
import os
import random
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

import timeseries_table_format as ttf

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1)
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Chatham", "America/Sao_Paulo", "Africa/Casablanca", "UTC", "+05:30"]
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# bucket: (seconds, days in the range)
SEEDS = int(os.environ.get("TST_CAL_SEEDS", "40"))  # 400 in a long run
BUCKETS = {"1m": (60, 6), "5m": (300, 12), "1h": (3600, 40), "1d": (86400, 150)}


# ---- the model ---------------------------------------------------------------

def zone_of(name):
    if name.startswith(("+", "-")):
        sign = -1 if name[0] == "-" else 1
        h, m = int(name[1:3]), int(name[4:6])
        return dt.timezone(sign * dt.timedelta(hours=h, minutes=m))
    return ZoneInfo(name)


def offset(zone, t):
    return int(dt.datetime.fromtimestamp(t, zone).utcoffset().total_seconds())


def local_to_utc(zone, wall):
    """The first instant whose local wall time is >= wall."""
    naive = EPOCH + dt.timedelta(seconds=wall)
    cands = [int(naive.replace(tzinfo=zone, fold=f).timestamp()) for f in (0, 1)]
    valid = [c for c in cands if c + offset(zone, c) == wall]
    if valid:
        return min(valid)
    lo, hi = min(cands), max(cands)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid + offset(zone, mid) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def hm(seconds):
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


class Calendar:
    """A random calendar, its two spellings, and its open intervals in UTC."""

    def __init__(self, rng, first_day, n_days):
        self.zone_name = rng.choice(ZONES)
        self.days = sorted(rng.sample(range(7), rng.randint(1, 7)))
        self.sessions = [self.random_session(rng) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.2:
            self.sessions = [(0, 0)]  # the whole day
        dates = [first_day + dt.timedelta(days=rng.randrange(n_days)) for _ in range(6)]
        self.closed = sorted(set(dates[:3]))
        self.early = {d: [self.random_session(rng)] for d in dates[3:5]}
        start = dt.datetime.combine(dates[5], dt.time(rng.randrange(24), rng.choice([0, 30])))
        self.ranges = [(start, start + dt.timedelta(minutes=rng.randrange(30, 3000)))]

    @staticmethod
    def random_session(rng):
        a = rng.randrange(0, 24 * 4) * 900
        b = rng.randrange(0, 24 * 4) * 900  # b <= a: runs past midnight
        return (a, b)

    def entries(self):
        out = [d.isoformat() for d in self.closed]
        out += [f"{d.isoformat()} {','.join(f'{hm(a)}-{hm(b)}' for a, b in s)}"
                for d, s in self.early.items()]
        out += [f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}" for a, b in self.ranges]
        return out

    def spec(self, holiday_file):
        days = ",".join(DAY_NAMES[d] for d in self.days)
        sessions = ",".join(f"{hm(a)}-{hm(b)}" for a, b in self.sessions)
        return f"days={days}; tz={self.zone_name};sessions={sessions};holidays={holiday_file}"

    def as_dict(self):
        return {"days": [DAY_NAMES[d] for d in self.days], "tz": self.zone_name,
                "sessions": [f"{hm(a)}-{hm(b)}" for a, b in self.sessions],
                "holidays": self.entries()}

    def open_intervals(self, lo, hi):
        """Open UTC intervals [a, b) meeting [lo, hi), sorted."""
        zone = zone_of(self.zone_name)
        closed = [(local_to_utc(zone, int((a - EPOCH).total_seconds())),
                   local_to_utc(zone, int((b - EPOCH).total_seconds()))) for a, b in self.ranges]
        out = []
        day = (EPOCH + dt.timedelta(seconds=lo)).date() - dt.timedelta(days=3)
        last = (EPOCH + dt.timedelta(seconds=hi)).date() + dt.timedelta(days=1)
        while day <= last:
            if day in self.early:
                sessions = self.early[day]
            elif day in self.closed or day.weekday() not in self.days:
                sessions = []
            else:
                sessions = self.sessions
            midnight = int((dt.datetime.combine(day, dt.time()) - EPOCH).total_seconds())
            for a, b in sessions:
                end = b if b > a else b + 86400
                pieces = [(local_to_utc(zone, midnight + a), local_to_utc(zone, midnight + end))]
                for ca, cb in closed:
                    pieces = [p for s, e in pieces for p in ((s, min(e, ca)), (max(s, cb), e))]
                out += [(s, e) for s, e in pieces if s < e]
            day += dt.timedelta(days=1)
        return sorted(out)


def expected_buckets(cal, width, b0, b1):
    """{bucket ordinal: expected?} for ordinals b0..b1, one bucket at a time."""
    intervals = cal.open_intervals(b0 * width, (b1 + 1) * width)
    return {b: any(a < (b + 1) * width and b * width < e for a, e in intervals)
            for b in range(b0, b1 + 1)}


def model_gaps(expected, covered, b0, b1):
    """[(first, last, missing)] walking buckets b0..b1."""
    out, cur = [], None
    for b in range(b0, b1 + 1):
        if not expected[b]:
            continue
        if b in covered:
            if cur:
                out.append(tuple(cur))
            cur = None
        elif cur:
            cur[1], cur[2] = b, cur[2] + 1
        else:
            cur = [b, b, 1]
    if cur:
        out.append(tuple(cur))
    return out


def model_window(expected, covered, end_bucket, length, floor):
    for s in range(end_bucket - length + 1, floor - 1, -1):
        window = range(s, s + length)
        if any(expected[b] for b in window) and all(b in covered for b in window if expected[b]):
            return s, s + length - 1
    return None


def model_plan(expected, covered, b0, b1, max_request):
    out, run = [], None
    for b in range(b0, b1 + 2):
        missing = b <= b1 and expected[b] and b not in covered
        if missing and run and b - run[0] < max_request:
            run[1] = b
        else:
            if run:
                out.append(tuple(run))
            run = [b, b] if missing else None
    return out


# ---- the cases ----------------------------------------------------------------

def at(ordinal, width):
    return dt.datetime.fromtimestamp(ordinal * width, UTC)


def random_case(rng, tmp_path, bucket):
    width, n_days = BUCKETS[bucket]
    first_day = dt.date(rng.choice([2023, 2024, 2025]), rng.choice([1, 3, 4, 10, 11]),
                        rng.randint(1, 20))
    b0 = int((dt.datetime.combine(first_day, dt.time()) - EPOCH).total_seconds()) // width
    b1 = b0 + n_days * 86400 // width - 1
    entities = ["AAA", "BBB", "CCC"][:rng.randint(1, 3)]
    covered = {}
    for name in entities:
        cov, b = set(), b0
        while b <= b1:
            run = rng.randint(1, max(2, (b1 - b0) // 12))
            if rng.random() < 0.55:
                cov.update(range(b, min(b + run, b1 + 1)))
            b += run
        covered[name] = cov
    table = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                       index_type="timestamp", bucket=bucket,
                                       entity_columns=["symbol"])
    rows = [(b, name) for name in entities for b in sorted(covered[name])]
    if rows:
        table.append(pa.table({
            "ts": pa.array([b * width * 1_000_000 for b, _ in rows], pa.timestamp("us", "UTC")),
            "symbol": [n for _, n in rows],
            "v": [1.0] * len(rows)}))
    cal = Calendar(rng, first_day, n_days)
    return table, width, b0, b1, entities, covered, cal


SEEN = {"gaps over closed time": 0, "windows": 0, "split requests": 0}


def checked_missing(read, calendar):
    """The (start, end, buckets) a coverage-checked read reports missing, []
    when it passes (and then it must read)."""
    try:
        read(require_coverage=True, calendar=calendar)
    except ttf.IncompleteCoverageError as e:
        assert e.checked[0]["calendar"] is True
        return [(m["start"], m["end"], m["buckets"]) for m in e.missing]
    return []


@pytest.mark.parametrize("seed", range(SEEDS))
def test_calendar_answers_match_the_naive_model(tmp_path, seed):
    rng = random.Random(seed)
    bucket = list(BUCKETS)[seed % 4]
    table, width, b0, b1, entities, covered, cal = random_case(rng, tmp_path, bucket)
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("# generated\n\n" + "\n".join(e + "  # entry" for e in cal.entries()))
    spec, as_dict = cal.spec(holidays), cal.as_dict()

    # A query range inside the table's, its ends not on bucket edges.
    q0 = rng.randint(b0, (b0 + b1) // 2)
    q1 = rng.randint(q0, b1)
    start = at(q0, width) + dt.timedelta(seconds=rng.randrange(width))
    end = at(q1, width) + dt.timedelta(seconds=rng.randrange(1, width + 1))
    floor = b0 - 200
    expected = expected_buckets(cal, width, floor, b1 + 5)
    length = rng.choice([1, 2, 5, 30])
    max_request = rng.choice([1, 3, 10, 1000])

    summary = table.coverage_summary(calendar=spec)
    assert summary == table.coverage_summary(calendar=as_dict)
    for name in entities + [None]:
        entity = {"symbol": name} if name else None
        cov = covered[name] if name else set().union(*covered.values())
        want_total = sum(expected[b] for b in range(q0, q1 + 1))
        want_covered = sum(expected[b] and b in cov for b in range(q0, q1 + 1))
        want_gaps = model_gaps(expected, cov, q0, q1)
        want = {"covered_buckets": want_covered, "total_buckets": want_total,
                "missing_buckets": want_total - want_covered,
                "ratio": want_covered / want_total if want_total else 1.0,
                "max_gap_buckets": max((g[2] for g in want_gaps), default=0)}
        window = model_window(expected, cov, q1, length, floor)
        SEEN["gaps over closed time"] += sum(g[1] - g[0] + 1 > g[2] for g in want_gaps)
        SEEN["windows"] += window is not None
        for calendar in (spec, as_dict):
            assert table.coverage(start, end, entity, calendar=calendar) == pytest.approx(want)
            assert table.coverage_ratio(start, end, entity, calendar) == pytest.approx(want["ratio"])
            assert table.max_gap(start, end, entity, calendar=calendar) == want["max_gap_buckets"]
            assert table.gaps(start, end, entity, calendar=calendar) == [
                (at(a, width), at(b + 1, width)) for a, b, _ in want_gaps]
            got = table.last_fully_covered_window(end, length, entity, calendar=calendar)
            assert got == (None if window is None else
                           (at(window[0], width), at(window[1] + 1, width))), (length, name)
        # guaranteed reads: a scan and a statement of [start, end) ask the same slots
        want_missing = [(at(a, width), at(b + 1, width), n) for a, b, n in want_gaps]
        if name:
            assert checked_missing(lambda **kw: table.scan(start, end, entity=entity, **kw),
                                   spec) == want_missing
            session = ttf.Session()
            session.register_tstable("t", table.root())
            sql = "SELECT count(*) FROM t WHERE ts >= $1 AND ts < $2 AND symbol = $3"
            assert checked_missing(lambda **kw: session.sql(sql, [start, end, name], **kw),
                                   as_dict) == want_missing
        if name:
            row = next(r for r in summary if r["entity"] == entity)
            assert row["missing_buckets"] == sum(g[2] for g in model_gaps(
                expected, cov, min(cov), max(cov))) if cov else True
            if cov:
                lo, hi = min(cov), max(cov)
                assert (row["covered_buckets"], row["gaps"]) == (
                    sum(expected[b] for b in cov), len(model_gaps(expected, cov, lo, hi)))
                assert (row["first"], row["last"]) == (at(lo, width), at(hi + 1, width))
            plan = table.plan_backfill(start, end, entities=[name], max_request=max_request
                                       * dt.timedelta(seconds=width), calendar=spec).to_pylist()
            SEEN["split requests"] += len(plan) > len(model_gaps(expected, cov, q0, q1))
            assert [(r["start"], r["end"], r["buckets"]) for r in plan] == [
                (at(a, width), at(b + 1, width), b - a + 1)
                for a, b in model_plan(expected, cov, q0, q1, max_request)]


def test_the_random_cases_reached_the_interesting_answers():
    """Runs after the cases above (file order): they must have met gaps that
    span closed time, found windows and split requests, or they prove little."""
    if SEEN["windows"] == 0:
        pytest.skip("run with the differential cases")
    assert all(SEEN.values()), SEEN


def test_a_wednesday_to_friday_outage_is_one_gap_of_trading_minutes(tmp_path):
    """The issue's example: 1-minute buckets, New York sessions, data Tuesday
    and Monday only: one gap from Wednesday's open to Friday's close."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "m"), index_column="ts",
                                   index_type="timestamp", bucket="1m")
    ny = ZoneInfo("America/New_York")
    minutes = []
    for day in (4, 10):  # Tuesday 2024-06-04 and Monday 2024-06-10
        open_ = dt.datetime(2024, 6, day, 9, 30, tzinfo=ny)
        minutes += [open_ + dt.timedelta(minutes=i) for i in range(390)]
    t.append(pa.table({"ts": pa.array(minutes, pa.timestamp("us", "UTC")),
                       "v": [1.0] * len(minutes)}))
    cal = "weekdays;tz=America/New_York;sessions=09:30-16:00"
    start, end = dt.datetime(2024, 6, 4, tzinfo=UTC), dt.datetime(2024, 6, 11, tzinfo=UTC)
    assert t.gaps(start, end, calendar=cal) == [
        (dt.datetime(2024, 6, 5, 13, 30, tzinfo=UTC), dt.datetime(2024, 6, 7, 20, 0, tzinfo=UTC))]
    c = t.coverage(start, end, calendar=cal)
    assert c["total_buckets"] == 5 * 390 and c["covered_buckets"] == 2 * 390
    assert c["max_gap_buckets"] == 3 * 390
    assert t.max_gap(start, end) > 3 * 390  # without a calendar, nights and the weekend count
    # The latest 390 minutes before `end` hold Monday's last 150 trading minutes, all
    # covered, and then the night: a window needs no more than that.
    assert t.last_fully_covered_window(end, 390, calendar=cal) == (
        dt.datetime(2024, 6, 10, 17, 30, tzinfo=UTC), dt.datetime(2024, 6, 11, 0, 0, tzinfo=UTC))
    # Ending at Tuesday's open, the latest window with a trading minute is Monday's last.
    assert t.last_fully_covered_window("2024-06-11T13:30:00Z", 1000, calendar=cal) == (
        dt.datetime(2024, 6, 10, 19, 59, tzinfo=UTC),
        dt.datetime(2024, 6, 10, 19, 59, tzinfo=UTC) + dt.timedelta(minutes=1000))
    assert t.last_fully_covered_window(end, 390) == (
        dt.datetime(2024, 6, 10, 13, 30, tzinfo=UTC), dt.datetime(2024, 6, 10, 20, 0, tzinfo=UTC))


def test_calendar_errors_say_what_to_write(bars):
    with pytest.raises(ttf.TimeseriesTableError, match=r"position 10: unknown item; accepted"):
        bars.coverage("2024-06-01", "2024-06-02", calendar="weekdays;sesions=09:00-17:00")
    with pytest.raises(ttf.StorageError, match=r"Mars/Olympus.*tzdata"):
        bars.gaps("2024-06-01", "2024-06-02", calendar={"tz": "Mars/Olympus"})
    with pytest.raises(ValueError, match="unknown calendar key 'hours'"):
        bars.coverage_ratio("2024-06-01", "2024-06-02", calendar={"hours": "9-5"})
    with pytest.raises(TypeError, match="calendar must be a spec str"):
        bars.max_gap("2024-06-01", "2024-06-02", calendar=5)
    with pytest.raises(ttf.TimeseriesTableError, match=r"HH:MM-HH:MM"):
        bars.coverage("2024-06-01", "2024-06-02", calendar={"sessions": "9-5"})


def test_an_integer_index_has_no_calendar(ints):
    with pytest.raises(ttf.TimeseriesTableError, match="calendars need a timestamp index"):
        ints.coverage(0, 100, calendar="weekdays")


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    """The python block of docs/guide/calendars.md, on the guide's own table."""
    import re
    from conftest import REPO
    guide = open(REPO + "/docs/guide/calendars.md").read()
    (tmp_path / "bars.csv").write_text(re.findall(r"```csv\n(.*?)```", guide, re.S)[0])
    (tmp_path / "holidays.txt").write_text(re.findall(r"```txt\n(.*?)```", guide, re.S)[0])
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "bars"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    t.append_csv(str(tmp_path / "bars.csv"))
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "calendars.md", "exec"), {"__name__": "guide"})
