"""Regenerates the coverage pictures in docs/images/ (README, docs/guide/coverage-plot.md).

Three tables made from seeded random data with the built `tstable`:
  coverage-week.png    1 entity, a week of minute bars (trading hours, weekdays)
  coverage-months.png  50 entities, six months of hourly bars with random gaps
  coverage-years.png   5,000 entities, eight years of daily bars, each with its
                       own listing and delisting dates and random gaps

Each is drawn as PNG by `tstable coverage --plot` itself (the same layout and
text as the SVG, in its built-in bitmap font). tstable writes PNG without
compression; here the image data is recompressed with zlib (Python's standard
library) so the pictures stay at tens of KB. No other tool is needed.

    .venv/bin/python scripts/coverage_pictures.py [--bin build/tstable]
"""
import argparse
import datetime as dt
import random
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
UTC = dt.timezone.utc
SHAPES = {
    # name: (bucket, entities, start, step, buckets)
    "week": ("1m", 1, dt.datetime(2024, 6, 3, tzinfo=UTC), dt.timedelta(minutes=1), 7 * 1440),
    "months": ("1h", 50, dt.datetime(2024, 1, 1, tzinfo=UTC), dt.timedelta(hours=1), 24 * 182),
    "years": ("1d", 5000, dt.datetime(2016, 1, 1, tzinfo=UTC), dt.timedelta(days=1), 365 * 8),
}


def rows_of(kind):
    _, n, start, step, count = SHAPES[kind]
    rng = random.Random(7)
    syms, ts = [], []
    for e in range(n):
        lo, hi = 0, count
        if kind == "years":  # listed and delisted at random
            lo = rng.randrange(0, count // 2)
            hi = rng.randrange(lo + 1, count + 1)
        i = lo
        while i < hi:
            t = start + step * i
            if kind == "week" and (t.weekday() >= 5 or not 6 <= t.hour < 22):
                i += 1
                continue
            if rng.random() < (0.0005 if kind == "week" else 0.002):
                i += rng.randrange(5, 200)  # a gap
                continue
            syms.append(f"S{e:04d}" if n > 1 else "NVDA")
            ts.append(t)
            i += 1
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "symbol": syms,
                     "v": pa.array(range(len(ts)), pa.int64())})


def recompressed(png: bytes) -> bytes:
    """The same PNG with its image data deflated at level 9 (pixels unchanged)."""
    out, pos, idat = [png[:8]], 8, b""
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IDAT":
            idat += body
            continue
        if kind == b"IEND":
            body = zlib.compress(zlib.decompress(idat), 9)
            out.append(struct.pack(">I", len(body)) + b"IDAT" + body
                       + struct.pack(">I", zlib.crc32(b"IDAT" + body)))
        out.append(png[pos - 12 - n:pos])
    return b"".join(out)


def draw(tstable, kind, work, out_dir):
    table = work / f"{kind}"
    bucket = SHAPES[kind][0]
    subprocess.run([tstable, "create", "--table", table, "--index-column", "ts", "--bucket",
                    bucket, "--entity", "symbol"], check=True, capture_output=True)
    pq.write_table(rows_of(kind), work / f"{kind}.parquet")
    subprocess.run([tstable, "append", "--table", table, "--parquet", work / f"{kind}.parquet"],
                   check=True, capture_output=True)
    png = work / f"{kind}.png"
    subprocess.run([tstable, "coverage", "--table", table, "--plot", png], check=True)
    target = out_dir / f"coverage-{kind}.png"
    target.write_bytes(recompressed(png.read_bytes()))
    print(f"{target}: {target.stat().st_size // 1024} KB")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=str(REPO / "build" / "tstable"))
    p.add_argument("--out", default=str(REPO / "docs" / "images"))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coverage-pictures-") as tmp:
        for kind in SHAPES:
            draw(args.bin, kind, Path(tmp), out)


if __name__ == "__main__":
    main()
