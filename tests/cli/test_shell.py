"""Tests of `tstable shell`, the interactive SQL prompt.

Interactive tests drive the shell through a pseudo-terminal, as a person
would: they wait for a prompt, type a line (arrow keys, Ctrl-C and Ctrl-D
are the bytes a terminal sends), and read what comes back. Every wait has
a timeout, so a shell that hangs fails the test instead of blocking the
suite. What a terminal shows is not byte-stable (line editing redraws with
escape sequences), so these tests look for the lines that matter; the
script tests (stdin piped) compare exact stdout, stderr and exit code with
tests/cli/golden/shell_*.

Data: the NVDA sample (240 hourly bars, 2024-06-01 .. 2024-06-10), as CSV
and as a Parquet file written by `tstable query`.
"""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time

import pytest

from conftest import BIN, REPO, Result

NVDA_CSV = REPO / "examples" / "data" / "nvda_1h_sample.csv"
TIMEOUT = 20  # seconds for any one wait; generous for a loaded CI machine
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x08\r]")

LEFT, RIGHT, CTRL_C, CTRL_D = "\x1b[D", "\x1b[C", "\x03", "\x04"


class Terminal:
    """The shell running on a pseudo-terminal, typed at like a person would."""

    def __init__(self, tmp, *args, env=None):
        full_env = dict(os.environ, TERM="xterm", NO_COLOR="1", HOME=str(tmp))
        full_env.update(env or {})
        for name in ("TSTABLE_LOG", "EDITRC"):
            full_env.pop(name, None)
        full_env = {k: v for k, v in full_env.items() if v is not None}  # None: unset
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the shell, never returns
            try:
                os.chdir(tmp)
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
                os.execve(str(BIN), [str(BIN), "shell", *args], full_env)
            finally:
                os._exit(127)
        self.pending = b""
        self.transcript = ""  # everything read so far, escapes removed
        self.raw = b""  # everything read so far, as sent
        self.code = None

    def expect(self, text, timeout=TIMEOUT):
        """Reads until `text` appears; returns what came before it, without escapes."""
        want = text.encode()
        deadline = time.monotonic() + timeout
        while want not in self.pending:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"timed out waiting for {text!r}; last output:\n"
                                     f"{self.pending.decode(errors='replace')[-2000:]}")
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the shell has exited
                chunk = b""
            if not chunk:
                raise AssertionError(f"the shell ended before {text!r}; last output:\n"
                                     f"{self.pending.decode(errors='replace')[-2000:]}")
            self.pending += chunk
        cut = self.pending.index(want)
        before, self.pending = self.pending[:cut], self.pending[cut + len(want):]
        self.raw += before + want
        seen = ESCAPES.sub("", before.decode(errors="replace"))
        self.transcript += seen + text
        return seen

    def type(self, keys):
        """Types keys once the shell is reading them: libedit shows the prompt a moment
        before it puts the terminal in raw mode, and a Ctrl-D or Ctrl-C typed in between
        would be taken by the terminal instead (no person types that fast)."""
        deadline = time.monotonic() + TIMEOUT
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                raise AssertionError("the shell never started reading keys")
            time.sleep(0.005)
        os.write(self.fd, keys.encode())

    def answer(self, prompt, line):
        """Waits for a prompt and types a line; returns what was printed before it."""
        seen = self.expect(prompt)
        self.type(line + "\r")
        return seen

    def run(self, line, prompt=">> "):
        """At a prompt: types a line and returns its echo and output, up to the next prompt."""
        self.type(line + "\r")
        return self.expect(prompt)

    def wait(self, timeout=TIMEOUT):
        """Waits for the shell to exit (killing it if it does not) and returns its code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
                return self.code
            try:  # keep the terminal drained so the shell never blocks on output
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.pending += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise AssertionError("the shell did not exit; last output:\n"
                             f"{self.pending.decode(errors='replace')[-2000:]!r}")

    def kill(self):
        """Ends the shell if it still runs, and closes the terminal."""
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.code = -9
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@pytest.fixture
def terminal(tmp_path):
    """Starts shells on a terminal; any still running at the end are killed."""
    started = []

    def start(*args, env=None):
        t = Terminal(tmp_path, *args, env=env)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


# ---- data ------------------------------------------------------------------

def nvda_parquet(cli):
    """The NVDA sample as Parquet, written by `tstable query` from the CSV."""
    cli.ok("query", "--sql", f"SELECT * FROM read_csv('{NVDA_CSV}')", "--format", "parquet",
           "--output", "nvda.parquet")
    return "nvda.parquet"


def make_prices(cli, name="prices"):
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h", "--entity", "symbol")
    cli.ok("append", "--table", name, "--csv", str(NVDA_CSV))
    return name


def amd_csv(cli):
    """AMD bars at 00, 01, 02, 05 and 06 o'clock on 2024-06-01 (03 and 04 missing)."""
    lines = ["ts,symbol,open,high,low,close,volume"]
    for hour in (0, 1, 2, 5, 6):
        lines.append(f"2024-06-01T{hour:02d}:00:00Z,AMD,160.5,161.5,159.5,160.5,{1000 + hour}")
    (cli.tmp / "amd.csv").write_text("\n".join(lines) + "\n")
    return "amd.csv"


def decode_history(path):
    """libedit's history file: a header line, then one vis(3)-encoded line per entry."""
    lines = path.read_text().splitlines()
    assert lines[0] == "_HiStOrY_V2_"
    return [re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), x) for x in lines[1:]]


# ---- help ------------------------------------------------------------------

def test_shell_help_has_an_example(cli, golden):
    r = cli("shell", "--help")
    golden("help_shell", r)
    assert "Example" in r.stdout and r.code == 0


def test_top_level_help_lists_the_shell(cli):
    assert "\n  shell " in cli("--help").stdout


# ---- interactive: creating a table ------------------------------------------

def test_shell_creates_a_table_by_asking_and_reprompts_on_invalid_answers(cli, terminal):
    nvda_parquet(cli)
    t = terminal()
    t.answer("table root path: ", "prices")
    t.answer("index column name: ", "ts")
    t.answer("index type (timestamp, int64, uint64): ", "float")
    seen = t.answer("index type (timestamp, int64, uint64): ", "timestamp")
    assert "Invalid index type 'float': expected timestamp, int64, or uint64" in seen
    t.answer("time bucket (e.g. 1s, 1m, 1h, 1d): ", "2x")
    seen = t.answer("time bucket (e.g. 1s, 1m, 1h, 1d): ", "1h")
    assert "Invalid time bucket '2x': unknown time bucket unit 'x'" in seen
    t.answer("timezone (optional, IANA name; metadata only, buckets stay UTC): ", "")
    t.answer("entity columns (comma-separated, optional): ", "symbol, ")
    t.answer("first segment (Parquet or CSV file): ", "missing.parquet")
    seen = t.answer("first segment (Parquet or CSV file): ", "nvda.parquet")
    assert "created table at prices" in t.transcript
    assert "table has no schema yet; please append the first segment." in t.transcript
    assert "Failed to read Parquet source missing.parquet" in seen
    seen = t.answer(">> ", "SELECT * FROM prices;")
    assert "appended table version: 2\n" in seen
    assert ("tstable shell\ntable: prices\nregistered as: prices (quoted: \"prices\")\n"
            "type 'help' for commands\n") in seen
    seen = t.expect(">> ")
    assert "Preview output" in seen and "total_rows: 240\n" in seen
    t.type(CTRL_D)
    assert t.wait() == 0
    info = cli.ok("info", "--table", "prices", "--format", "json").stdout
    assert '"entity_columns":["symbol"]' in info.replace(" ", "")


def test_shell_creates_an_integer_indexed_table(cli, terminal):
    (cli.tmp / "counts.csv").write_text("seq,device,reading\n" +
                                        # one row per bucket: the shell makes protocol-7 tables
                                        "".join(f"{i},a,{i}\n" for i in range(0, 25, 10)))
    t = terminal("--table", "counters")
    t.answer("index column name: ", "seq")
    t.answer("index type (timestamp, int64, uint64): ", "int64")
    t.answer("integer bucket width (positive index-value units): ", "0")
    seen = t.answer("integer bucket width (positive index-value units): ", "10")
    assert "Invalid bucket width '0'" in seen
    t.answer("entity columns (comma-separated, optional): ", "device")
    t.answer("first segment (Parquet or CSV file): ", "counts.csv")
    t.answer(">> ", ".coverage --entity device=a")
    seen = t.expect(">> ")
    assert "covered_buckets: 3" in seen
    t.type(CTRL_D)
    assert t.wait() == 0


def test_an_existing_table_skips_the_questions(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    seen = t.expect(">> ")
    assert "registered as: prices" in seen and "index column" not in seen
    t.type("exit\r")
    assert t.wait() == 0


# ---- interactive: commands ---------------------------------------------------

def test_shell_commands_on_a_terminal(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    seen = t.run("SELECT count(*) AS n FROM prices;")
    assert "│ 240 " in seen and "total_rows: 1\n" in seen
    seen = t.run(".coverage --entity symbol=NVDA")
    assert "range:           [2024-06-01T00:00:00Z, 2024-06-11T00:00:00Z)" in seen
    assert "covered_buckets: 240" in seen and "ratio:           1\n" in seen
    seen = t.run(".gaps --start 2024-06-01 --end 2024-06-12")
    assert "2024-06-11T00:00:00Z │ 2024-06-12T00:00:00Z │ 24 " in seen
    assert "timing: on\n" in t.run(".timing")
    assert re.search(r"total_rows: 1\nelapsed_ms: \d+\n", t.run("SELECT 1 AS one;"))
    assert "timing: off\n" in t.run("\\timing")
    assert "elapsed_ms" not in t.run("SELECT 1 AS one;")
    assert re.search(r"│ prices +│ tstable +│ prices +│", t.run(".tables"))
    assert "unknown command '.frobnicate'; type 'help' for the commands\n" in t.run(".frobnicate")
    seen = t.run("SELECT no_such_column FROM prices;")
    assert "Query failed" in seen and "no_such_column" in seen
    assert "130.72" in t.run("SELECT max(close) AS hi FROM prices;")  # the loop went on
    assert ".coverage" in t.run("help")
    t.type(CTRL_D)
    assert t.wait() == 0


def test_append_and_refresh_see_new_versions(cli, terminal):
    make_prices(cli)
    amd_csv(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    assert "refreshed: false\n" in t.run("refresh")
    cli.ok("append", "--table", "prices", "--csv", "amd.csv")  # another process appends
    assert "│ 245 " in t.run("SELECT count(*) AS n FROM prices;")  # seen without asking
    assert "refreshed: true\n" in t.run("refresh")
    seen = t.run(".append amd.csv")
    assert "overlap" in seen  # the same rows again: rejected, and the loop goes on
    (cli.tmp / "later.csv").write_text("ts,symbol,open,high,low,close,volume\n"
                                       "2024-06-02T03:00:00Z,AMD,1.5,1.5,1.5,1.5,1\n")
    assert "appended table version: 4\n" in t.run("append later.csv")
    t.type("exit\r")
    assert t.wait() == 0


def test_line_editing_moves_the_cursor_and_ctrl_c_clears_the_line(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    seen = t.run("SELECT 4 AS answer;" + LEFT * 11 + "2")  # back to just after the "4"
    assert "│ 42 " in seen
    t.type("SELECT 'lost' AS x" + CTRL_C)
    seen = t.expect(">> ")
    assert seen.endswith("^C\n") and "Preview" not in seen
    t.run("SELECT 1 AS first", prompt=".. ")  # no ';' yet: the statement goes on
    t.type("+ 1" + CTRL_C)  # Ctrl-C drops the whole unfinished statement
    assert "Preview" not in t.expect(">> ")
    seen = t.run("SELECT 'kept' AS x;")
    assert "│ kept " in seen and "first" not in seen
    t.type(CTRL_D)
    assert t.wait() == 0


def test_a_statement_may_span_lines(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    t.run("SELECT symbol,", prompt=".. ")
    t.run("       count(*) AS n  -- rows; not the end", prompt=".. ")
    seen = t.run("FROM prices GROUP BY symbol;")
    assert re.search(r"│ NVDA +│ 240 +│", seen)
    t.type("quit\r")
    assert t.wait() == 0


def test_history_is_saved_after_each_line_and_loaded_next_time(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    t.run("SELECT 7 AS seven;")
    t.run(".timing")
    t.type(CTRL_D)
    assert t.wait() == 0
    history = cli.tmp / ".local" / "state" / "tstable" / "history"  # HOME is tmp
    assert decode_history(history) == ["SELECT 7 AS seven;", ".timing"]
    assert not (cli.tmp / "prices" / ".ts_table_history").exists()

    again = terminal("--table", "prices")
    again.expect(">> ")
    again.type("\x1b[A\x1b[A")  # up twice: the first line of the last session
    again.expect("SELECT 7 AS seven;")
    assert "│ 7 " in again.run("")
    again.type("exit\r")
    assert again.wait() == 0


def test_history_file_option_moves_the_history(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices", "--history", "elsewhere.hist")
    t.expect(">> ")
    t.run("SELECT 1;")
    t.type("exit\r")
    assert t.wait() == 0
    assert decode_history(cli.tmp / "elsewhere.hist") == ["SELECT 1;", "exit"]
    assert not (cli.tmp / "prices" / ".ts_table_history").exists()


def test_prompt_is_colored_unless_no_color(cli, terminal):
    make_prices(cli)
    colored = terminal("--table", "prices", env={"NO_COLOR": None})
    colored.expect(">>\x1b[0m ")
    assert b"\x1b[1;36m>>\x1b[0m " in colored.raw
    colored.type("exit\r")
    assert colored.wait() == 0
    plain = terminal("--table", "prices")
    plain.expect(">> ")
    assert b"\x1b[1;36m" not in plain.raw
    plain.type("exit\r")
    assert plain.wait() == 0


# ---- scripts (stdin is not a terminal) ----------------------------------------

SCRIPT = """\
SELECT count(*) AS n FROM prices;
SELECT symbol,
       max(close) AS hi
FROM prices
GROUP BY symbol;
.timing
query --max-rows 2 SELECT ts, close FROM prices ORDER BY ts
.timing off
.coverage --entity symbol=NVDA --start 2024-06-10 --end 2024-06-12
.gaps --start 2024-06-10 --end 2024-06-12
.tables
.nope
.append 'no closing quote.csv
refresh
SELECT 'no semicolon at the end' AS last
"""


def run_script(cli, script, *args):
    p = cli.raw("shell", *args, stdin=script.encode())
    return Result(cli.normalise(p.stdout.decode()), cli.normalise(p.stderr.decode()),
                  p.returncode)


def test_a_piped_script_prints_only_results(cli, golden):
    make_prices(cli)
    r = run_script(cli, SCRIPT, "--table", "prices")
    golden("shell_script", r)
    assert r.stdout.startswith("╭Preview output")  # no banner, no prompts on stdout
    assert r.code == 1  # .nope failed; the script ran to its end anyway
    assert "│ no semicolon at the end │" in r.stdout


def test_a_clean_script_exits_zero_and_can_create_the_table(cli):
    nvda_parquet(cli)
    answers = "ts\ntimestamp\n1h\nUTC\nsymbol\nnvda.parquet\n"  # hourly bars, one per bucket
    r = run_script(cli, answers + "SELECT count(*) AS n FROM daily;\n", "--table", "daily")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("created table at daily\nappended table version: 2\n")
    assert "│ 240 " in r.stdout
    assert "registered as: daily" in r.stderr
    assert not (cli.tmp / "daily" / ".ts_table_history").exists()  # scripts leave no history


def test_a_missing_table_path_fails_cleanly(cli):
    r = run_script(cli, "", "--table", "")
    assert r.code == 1 and "Invalid --table: the path is empty" in r.stderr


# ---- findings of the 2026-12-07 new-user trial ---------------------------------

LONG_SQL = ("SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b;")


def test_finding_11_ctrl_c_cancels_the_running_statement_and_keeps_the_shell(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    t.run(".parquet extra " + nvda_parquet(cli))
    t.type(LONG_SQL + "\r")
    t.expect(LONG_SQL)
    time.sleep(1.0)  # the statement runs; the terminal's own interrupt is back on
    os.write(t.fd, CTRL_C.encode())
    seen = t.expect(">> ", timeout=15)
    assert "Interrupted" in seen and "Preview" not in seen
    assert "│ 42 " in t.run("SELECT 42 AS x;")  # the shell is still there
    seen = t.run(".tables")  # with its registrations
    assert re.search(r"│ extra +│ parquet", seen) and re.search(r"│ prices +│ tstable", seen)
    t.type(CTRL_D)
    assert t.wait() == 0


def test_finding_21_the_prompt_colour_is_reset_before_what_is_typed(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices", env={"NO_COLOR": None})
    t.expect(">>\x1b[0m ")
    t.type("SELECT 1 AS one;\r")
    t.expect(">>\x1b[0m ")
    prompts = t.raw.count(b"\x1b[1;36m")
    assert prompts >= 2 and t.raw.count(b"\x1b[0m ") >= prompts
    t.type("exit\r")
    assert t.wait() == 0


def test_finding_31_two_statements_on_one_line_both_run(cli, terminal):
    make_prices(cli)
    t = terminal("--table", "prices")
    t.expect(">> ")
    seen = t.run("SELECT 1 AS first; SELECT 2 AS second;")
    assert "│ first " in seen and "│ second " in seen and "multiple statements" not in seen
    seen = t.run("SELECT 'a;b' AS semi; -- a comment; not a statement")
    assert "│ a;b " in seen and seen.count("total_rows") == 1
    t.type(CTRL_D)
    assert t.wait() == 0
    r = run_script(cli, "SELECT 3 AS x; SELECT nope; SELECT 4 AS y;\n", "--table", "prices")
    assert "│ 3 " in r.stdout and "│ 4 " in r.stdout and r.code == 1


def test_finding_31_unknown_dot_command_names_itself(cli):
    make_prices(cli)
    r = run_script(cli, ".tabels\n", "--table", "prices")
    assert "unknown command '.tabels'; type 'help' for the commands" in r.stderr
    assert r.code == 1


def test_finding_31_history_lives_outside_the_table_and_keeps_statements_whole(cli, terminal):
    make_prices(cli)
    state = cli.tmp / "state"
    t = terminal("--table", "prices", env={"XDG_STATE_HOME": str(state)})
    t.expect(">> ")
    t.run("SELECT symbol,", prompt=".. ")
    t.run("  count(*) AS n FROM prices GROUP BY symbol;")
    t.run(".timing")
    t.type(CTRL_D)
    assert t.wait() == 0
    entries = decode_history(state / "tstable" / "history")
    assert entries == ["SELECT symbol,\n  count(*) AS n FROM prices GROUP BY symbol;", ".timing"]
    assert not (cli.tmp / "prices" / ".ts_table_history").exists()


def test_finding_27_the_wizard_checks_answers_and_can_be_cancelled(cli, terminal):
    t = terminal("--table", "shnew")
    t.answer("index column name: ", "ts")
    t.answer("index type (timestamp, int64, uint64): ", "")
    t.answer("time bucket (e.g. 1s, 1m, 1h, 1d): ", "1h")
    tz = "timezone (optional, IANA name; metadata only, buckets stay UTC): "
    t.answer(tz, "symbol")
    seen = t.answer(tz, "America/New_York")
    assert "Invalid timezone 'symbol': no such IANA timezone" in seen
    t.answer("entity columns (comma-separated, optional): ", str(NVDA_CSV))
    seen = t.answer("entity columns (comma-separated, optional): ", ".exit")
    assert "Invalid entity column" in seen
    t.expect("cancelled")
    assert t.wait() == 0
    assert not (cli.tmp / "shnew" / "_timeseries_log").exists()  # nothing was created

    again = terminal("--table", "shnew2")
    again.expect("index column name: ")
    again.type(CTRL_C)
    again.expect("cancelled")
    assert again.wait() == 0
    assert not (cli.tmp / "shnew2" / "_timeseries_log").exists()


def test_finding_14_shell_registrations_never_replace_another_name(cli):
    make_prices(cli)
    nvda_parquet(cli)
    r = run_script(cli, ".parquet PRICES nvda.parquet\n.table extra prices\n"
                   ".parquet extra nvda.parquet\nSELECT count(*) AS n FROM prices;\n",
                   "--table", "prices")
    assert ("'prices' is already registered (the tstable at prices); register nvda.parquet "
            "under another name") in r.stderr
    assert ("'extra' is already registered (the tstable at prices); register nvda.parquet "
            "under another name") in r.stderr
    assert "│ 240 " in r.stdout and r.code == 1
