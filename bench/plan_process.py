"""Per process: the 7-day aggregate and the one-hour query of bench_plan as
whole client processes (start-up included), tstable's CLI against DuckDB
over the same raw files (bench/duckdb_runner, a fresh in-memory DuckDB),
interleaved run by run; medians in ms, markdown on stdout.

    python3 bench/plan_process.py BUILD_DIR WORK_DIR [SEGMENTS...] [--runs R]

WORK_DIR holds days_N/table and days_N/src from bench_plan (run it first).
The list form (read_parquet([...])) is skipped where the SQL would exceed
one argument's limit (128 KiB)."""
import statistics
import subprocess
import sys
import time

DAY0 = 1577836800


def day_text(day, hour):
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(DAY0 + day * 86400 + hour * 3600))


def query(week, src, day):
    if week:
        return (f"SELECT symbol, count(*), avg(price) FROM {src} WHERE ts >= '{day_text(day, 0)}' "
                f"AND ts < '{day_text(day + 7, 0)}' GROUP BY symbol ORDER BY symbol")
    return (f"SELECT count(*), avg(price) FROM {src} WHERE ts >= '{day_text(day, 10)}' "
            f"AND ts < '{day_text(day, 11)}'")


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.monotonic() - t0) * 1e3


def main():
    args = sys.argv[1:]
    runs = 15
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    build, work, sizes = args[0], args[1], [int(a) for a in args[2:]] or [100, 1000, 10000]
    print("| segments | statement | tstable CLI ms | DuckDB list ms | DuckDB glob ms | vs list | vs glob |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        root, src, day = f"{work}/days_{n}/table", f"{work}/days_{n}/src", n // 2
        files = ", ".join(f"'{src}/day_id={k}/data_0.parquet'" for k in range(n))
        for week in (True, False):
            cmds = {"tstable": [f"{build}/tstable", "query", "--table", f"t={root}", "--sql",
                                query(week, "t", day), "--max-rows", "0"],
                    "glob": [f"{build}/duckdb_runner", ":memory:",
                             f"CREATE VIEW t AS SELECT * FROM read_parquet('{src}/day_id=*/data_0.parquet'); "
                             + query(week, "t", day)]}
            listed = (f"CREATE VIEW t AS SELECT * FROM read_parquet([{files}]); " + query(week, "t", day))
            if len(listed) < 120000:
                cmds["list"] = [f"{build}/duckdb_runner", ":memory:", listed]
            times = {k: [] for k in cmds}
            for i in range(runs + 1):
                for k, cmd in cmds.items():
                    ms = timed(cmd)
                    if i:
                        times[k].append(ms)
            med = {k: statistics.median(v) for k, v in times.items()}
            lst, tst = med.get("list"), med["tstable"]
            vs_list = f"{tst / lst:.2f}x" if lst else "-"
            lst_ms = f"{lst:.1f}" if lst else "-"
            name = "Q7 (7 days)" if week else "Q1 (1 hour)"
            print(f"| {n} | {name} | {tst:.1f} | {lst_ms} | {med['glob']:.1f} | {vs_list} | "
                  f"{tst / med['glob']:.2f}x |", flush=True)
    print(f"\nmedians of {runs} runs per cell, interleaved; whole processes (start-up included).")


if __name__ == "__main__":
    main()
