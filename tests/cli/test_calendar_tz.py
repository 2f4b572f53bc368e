"""Time zones of calendars against Python's zoneinfo (a differential test).

src/core/tzfile.c reads the system's TZif files and their POSIX footers
itself; zoneinfo reads the same files its own way. For each zone, every
offset change from 1900 to 2100 is found by scanning zoneinfo, and both are
asked about the seconds around it and about random instants: the offset in
force, and the first instant of wall times around the change (inside a DST
gap, inside a fold, just before and after), which tzfile.h defines as the
first instant whose local time is at or after the wall time.

The C side is `test_tzfile --dump` (tests/unit/test_tzfile.c), built next
to the tstable binary.
"""

import datetime as dt
import os
import random
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import BIN

DUMP = Path(os.environ.get("TSTABLE_TZDUMP", BIN.parent / "tests" / "test_tzfile"))

ZONES = [
    "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
    "Pacific/Chatham", "America/Sao_Paulo", "Africa/Casablanca", "Europe/Dublin",
    "America/Nuuk", "Pacific/Apia", "Asia/Tehran", "America/Santiago",
    "Antarctica/Troll", "Pacific/Kiritimati", "Europe/Moscow", "Asia/Gaza",
    "America/St_Johns", "Australia/Adelaide", "UTC",
]
EPOCH = dt.datetime(1970, 1, 1)
START = int(dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc).timestamp())
END = int(dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc).timestamp())


def offset(zone: ZoneInfo, t: int) -> int:
    return int(dt.datetime.fromtimestamp(t, zone).utcoffset().total_seconds())


def transitions(zone: ZoneInfo) -> list[int]:
    """Every instant in 1900..2100 where the offset changes (6-hour scan, then bisection)."""
    out, step, t = [], 6 * 3600, START
    prev = offset(zone, t)
    while t < END:
        nxt = min(t + step, END)
        cur = offset(zone, nxt)
        if cur != prev:
            lo, hi = t, nxt  # offset(lo) == prev, offset(hi) != prev
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(zone, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        prev, t = cur, nxt
    return out


def local_to_utc(zone: ZoneInfo, wall: int) -> int:
    """The first instant whose local wall time is >= wall (tzfile.h)."""
    naive = EPOCH + dt.timedelta(seconds=wall)
    cands = [int(naive.replace(tzinfo=zone, fold=f).timestamp()) for f in (0, 1)]
    valid = [c for c in cands if c + offset(zone, c) == wall]
    if valid:
        return min(valid)
    lo, hi = min(cands), max(cands)  # a gap: local(lo) < wall <= local(hi)
    assert lo + offset(zone, lo) < wall <= hi + offset(zone, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid + offset(zone, mid) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def run_dump(lines: list[str]) -> list[str]:
    if not DUMP.exists():
        pytest.skip(f"{DUMP} is not built (cmake --build build --target test_tzfile)")
    out = subprocess.run([str(DUMP), "--dump"], input="\n".join(lines) + "\n", text=True,
                         capture_output=True, check=True, timeout=600).stdout
    return out.split()


@pytest.mark.parametrize("name", ZONES)
def test_offsets_and_wall_times_match_zoneinfo(name):
    zone = ZoneInfo(name)
    rng = random.Random(name)
    instants, walls = [], []
    trans = transitions(zone)
    for t in trans:
        instants += [t - 1, t, t + 1, t + 3600]
        before, after = offset(zone, t - 1), offset(zone, t)
        for base in (t + before, t + after):
            walls += [base - 1, base, base + 1, base + 1799, base - 1800]
    for _ in range(400):
        instants.append(rng.randrange(START, END))
        walls.append(rng.randrange(START, END))
    walls = [w for w in walls if START + 3 * 86400 < w < END - 3 * 86400]
    got = run_dump([f"o {name} {t}" for t in instants] + [f"l {name} {w}" for w in walls])
    want = [str(offset(zone, t)) for t in instants] + [str(local_to_utc(zone, w)) for w in walls]
    assert len(got) == len(want)
    bad = [(q, g, w) for q, g, w in zip(instants + walls, got, want) if g != w]
    assert not bad, f"{name}: {len(bad)} of {len(want)} differ, first {bad[:5]}"
    if name != "UTC":
        assert trans, f"{name}: no transitions found, the scan is broken"
