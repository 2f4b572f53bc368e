/*
 * shell.c — `tstable shell`: an interactive SQL prompt over one table.
 *
 * The shell opens (or, asking a few questions, creates) a table, registers
 * it in a SQL session under its folder's name, and then reads lines:
 * SQL statements, which end at a ';' and may span several lines, and
 * commands — dot-commands (.tables, .coverage, .append, ...) and the
 * reference shell's bare words (query, append, refresh, help, exit). A
 * statement is previewed exactly as `tstable query` previews it, through
 * the same code (run_query.c); .coverage, .gaps and .info run the same
 * code as their subcommands, with --table filled in. The session refreshes
 * the table on every statement, so rows another process appends show up
 * without doing anything.
 *
 * Reading lines: on a terminal, libedit's native API (histedit.h) gives
 * line editing and history, saved after every statement so a killed shell
 * loses nothing, to $XDG_STATE_HOME/tstable/history (default
 * ~/.local/state/tstable/history), outside the table folder, which may be
 * shared or read-only. A statement typed over several lines is one history
 * entry. Ctrl-C is bound as an editing key (the terminal's own interrupt is
 * switched off while a line is edited) so it clears the line instead of
 * racing a signal against read(). While a statement runs, SIGINT is caught:
 * the handler only posts a semaphore (async-signal-safe), and a watcher
 * thread calls tst_session_interrupt, so the statement fails with
 * "Interrupted" and the prompt comes back with every registration kept;
 * outside a statement (an append) Ctrl-C ends the process as before.
 * Several statements on one line (select 1; select 2;) run one after the
 * other. When stdin is not a terminal (a script piped in)
 * lines are read plainly, nothing is edited or remembered, no prompts are
 * shown and the banner goes to stderr: stdout carries results only, and
 * the exit code is 1 if any line failed, like sqlite3.
 *
 * Errors inside the loop are printed to stderr once and the loop goes on.
 */
#include <ctype.h>
#include <errno.h>
#include <histedit.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tstable/error.h"

static const char HELP[] =
    "Interactive SQL over a table, with line editing and history.\n"
    "\n"
    "Usage: tstable shell [--table PATH] [--history FILE]\n"
    "\n"
    "Options:\n"
    "  --table PATH    The table. Without it the shell asks for the path. A folder\n"
    "                  without a table is created (protocol 7) after a few questions\n"
    "                  (index column, type, bucket, entity columns); a table without data\n"
    "                  asks for its first Parquet or CSV file.\n"
    "  --history FILE  Where to keep the statements typed (default\n"
    "                  $XDG_STATE_HOME/tstable/history, else\n"
    "                  ~/.local/state/tstable/history; '' keeps none)\n"
    "  --help          Show this help\n"
    "\n"
    "In the shell, SQL ending with ';' runs against the table, registered under its\n"
    "folder's name (./my-table -> my_table), and is previewed like `tstable query`.\n"
    "Type 'help' there for the commands (.tables, .coverage, .gaps, .append, .timing,\n"
    "...). When stdin is not a terminal, lines are read as a script: no prompts, and\n"
    "stdout carries only results.\n"
    "\n"
    "Example:\n"
    "  tstable shell --table ./my_stocks\n"
    "  >> SELECT symbol, count(*) FROM my_stocks GROUP BY symbol;\n"
    "  >> .coverage --entity symbol=NVDA --start 2024-06-01 --end 2024-06-08\n"
    "  >> .exit\n";

static const char SHELL_HELP[] =
    "SQL ending with ';' runs against the registered tables; a statement may span\n"
    "several lines ('.. ' asks for the rest). Tables are read at their latest version.\n"
    "\n"
    "Commands:\n"
    "  query [--max-rows N] [--format F] [--output PATH] [--timing] [--explain] [--] SQL\n"
    "                       One statement with the options of `tstable query`\n"
    "  .tables              The registered names\n"
    "  .table NAME PATH     Register another tstable as NAME\n"
    "  .parquet NAME PATH   Register a Parquet file, folder or glob as NAME\n"
    "  .info [--format json]\n"
    "                       The table's index, version, schema and coverage\n"
    "  .coverage [--start S] [--end E] [--entity COL=VALUE]... [--format json]\n"
    "                       How much of a range the table covers\n"
    "  .gaps [--start S] [--end E] [--entity COL=VALUE]... [--max-buckets N]\n"
    "                       The missing ranges (.info, .coverage and .gaps take\n"
    "                       --table PATH to ask about another table)\n"
    "  .append PATH         Append a Parquet or CSV file (by its extension)\n"
    "  .refresh             Read commits made since the last look (refreshed: true|false)\n"
    "  .timing [on|off]     Print elapsed_ms after each statement (toggles)\n"
    "  .require_coverage [on|warn|off]\n"
    "                       Check that each statement's ranges are covered before it\n"
    "                       runs: on refuses a statement with gaps, warn reports them\n"
    "  .calendar SPEC|off   Check only the buckets a calendar expects (weekdays;tz=...)\n"
    "  .help                This help\n"
    "  .exit                Leave (also .quit, or Ctrl-D)\n"
    "Also: help, exit, quit, append PATH, refresh, \\timing.\n"
    "Arguments may be quoted ('a b', \"a b\"). Ctrl-C clears the line being typed,\n"
    "and cancels a running statement (the shell stays, with its registrations).\n"
    "Several statements on one line run in turn: SELECT 1; SELECT 2;\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"history", NULL, CLI_VALUE},
};

/* What a step tells the loop: go on, something failed, or leave. */
enum { SHELL_OK = 0, SHELL_FAILED = 1, SHELL_EXIT = 2 };

typedef enum line_status { LINE_OK, LINE_CANCELLED, LINE_EOF } line_status;

#define HISTORY_SIZE 1000

typedef struct shell {
    bool interactive;   /* stdin is a terminal: editing, prompts, history */
    bool color;         /* the prompt may be colored */
    FILE *talk;         /* banner and questions: stdout, or stderr for scripts */
    EditLine *el;       /* NULL when not interactive */
    History *hist;      /* NULL when not interactive */
    char *history_path; /* NULL: nothing saved */
    bool history_warned;
    char *prompt;   /* what prompt_of() shows */
    bool cancelled; /* Ctrl-C was pressed in the line being read */

    char *root;           /* the main table */
    char *name;           /* its registered name */
    tst_table *table;     /* for .append and refresh */
    tst_session *session; /* where SQL runs */
    bool timing;          /* .timing */
    char *pending;        /* SQL lines still waiting for their ';' */
    bool failed;          /* a line failed: the exit code of a script */
} shell;

/* ---- reading lines --------------------------------------------------------- */

static char *prompt_of(EditLine *el)
{
    shell *sh = NULL;
    el_get(el, EL_CLIENTDATA, &sh);
    return sh->prompt;
}

/*
 * Ctrl-C while editing: show "^C" after the text and end the line, marked
 * cancelled so the caller drops it. Pushing a newline (rather than
 * returning CC_NEWLINE) lets libedit redraw the line and move past it the
 * way Enter does.
 */
static unsigned char cancel_line(EditLine *el, int ch)
{
    (void)ch;
    shell *sh = NULL;
    el_get(el, EL_CLIENTDATA, &sh);
    const LineInfo *line = el_line(el);
    el_cursor(el, (int)(line->lastchar - line->cursor));
    el_insertstr(el, "^C");
    sh->cancelled = true;
    el_push(el, "\n");
    return CC_REFRESH;
}

static void editor_open(shell *sh)
{
    sh->el = el_init("tstable", stdin, stdout, stderr);
    sh->hist = history_init();
    HistEvent ev;
    history(sh->hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(sh->hist, &ev, H_SETUNIQUE, 1); /* a repeated line is kept once */
    el_set(sh->el, EL_CLIENTDATA, sh);
    el_set(sh->el, EL_EDITOR, "emacs");
    el_set(sh->el, EL_SIGNAL, 1); /* window resizes; the terminal restored on signals */
    el_set(sh->el, EL_PROMPT_ESC, prompt_of, '\1');
    el_set(sh->el, EL_HIST, history, sh->hist);
    /* The wide form keeps these strings; the narrow one copies them and never frees. */
    el_wset(sh->el, EL_ADDFN, L"tstable-cancel", L"Cancel the line being typed", cancel_line);
    el_set(sh->el, EL_BIND, "^C", "tstable-cancel", NULL);
    el_set(sh->el, EL_SETTY, "-d", "-isig", NULL); /* ^C reaches the editor as a key */
    el_source(sh->el, NULL); /* the user's ~/.editrc, if any (vi mode, bindings) */
}

static void set_prompt(shell *sh, const char *text, bool colored)
{
    free(sh->prompt);
    /* \1 ... \1 marks the color codes as taking no room on the line. libedit
     * drops a marked sequence at the very end of the prompt, so the reset goes
     * before the prompt's last character (its trailing space). */
    size_t n = strlen(text);
    sh->prompt = colored && n > 0
                     ? cli_xsprintf("\1\033[1;36m\1%.*s\1\033[0m\1%s", (int)(n - 1), text,
                                    text + n - 1)
                     : cli_xstrdup(text);
}

/* A line from a script: no prompt, no editing. */
static line_status read_plain_line(char **out)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = getline(&buf, &cap, stdin);
    if (n < 0) {
        free(buf);
        return LINE_EOF;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    *out = buf;
    return LINE_OK;
}

/* Reads one line into *out (free it); `prompt` is shown on a terminal only. */
static line_status read_line(shell *sh, const char *prompt, bool colored, char **out)
{
    if (!sh->interactive)
        return read_plain_line(out);
    set_prompt(sh, prompt, colored && sh->color);
    sh->cancelled = false;
    fflush(stdout);
    int count = 0;
    const char *line = el_gets(sh->el, &count);
    if (!line) {
        fputc('\n', stdout); /* Ctrl-D: leave the terminal on a fresh line */
        return LINE_EOF;
    }
    if (sh->cancelled)
        return LINE_CANCELLED;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    *out = cli_xsprintf("%.*s", (int)n, line);
    return LINE_OK;
}

/* mkdir -p of the folder a file goes in (errors show when saving). */
static void make_parents(const char *path)
{
    char *dir = cli_xstrdup(path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
    free(dir);
}

/* $XDG_STATE_HOME/tstable/history, else ~/.local/state/tstable/history; NULL without HOME. */
static char *default_history_path(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (state && state[0] == '/')
        return cli_xsprintf("%s/tstable/history", state);
    if (home && home[0])
        return cli_xsprintf("%s/.local/state/tstable/history", home);
    return NULL;
}

static void history_attach(shell *sh, const char *given)
{
    if (!sh->interactive || (given && given[0] == '\0'))
        return;
    sh->history_path = given ? cli_xstrdup(given) : default_history_path();
    if (!sh->history_path)
        return;
    if (!given)
        make_parents(sh->history_path);
    HistEvent ev;
    history(sh->hist, &ev, H_LOAD, sh->history_path); /* a missing file is a new history */
}

/* Adds a typed line to the history and saves the file right away. */
static void remember(shell *sh, const char *line)
{
    HistEvent ev;
    if (!sh->hist || line[strspn(line, " \t")] == '\0')
        return;
    history(sh->hist, &ev, H_ENTER, line);
    if (sh->history_path && history(sh->hist, &ev, H_SAVE, sh->history_path) < 0 &&
        !sh->history_warned) {
        fprintf(stderr, "warning: cannot save the history to %s; continuing without it\n",
                sh->history_path);
        sh->history_warned = true;
    }
}

/* Trims spaces at both ends, in place. */
static char *trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t");
    memmove(s, s + lead, n - lead + 1);
    return s;
}

/*
 * A question of the setup dialog: 0 with the trimmed answer, or SHELL_EXIT
 * at EOF, on Ctrl-C, or when the answer is .exit / .quit (the dialog is
 * cancelled and nothing is created).
 */
static int ask(shell *sh, const char *question, char **out)
{
    line_status st = read_line(sh, question, false, out);
    if (st == LINE_OK) {
        trim(*out);
        if (strcmp(*out, ".exit") != 0 && strcmp(*out, ".quit") != 0)
            return SHELL_OK;
        free(*out);
        *out = NULL;
    }
    fputs("cancelled\n", sh->talk);
    return SHELL_EXIT;
}

/* ---- words and statements ---------------------------------------------------- */

static const char *skip_blanks(const char *p)
{
    return p + strspn(p, " \t");
}

/*
 * The next word of a command line, advancing *p: quotes group ('a b',
 * "a b"), a backslash escapes the next character except inside single
 * quotes. NULL at the end of the line, or with *bad set on an open quote.
 */
static char *next_word(const char **p, bool *bad)
{
    const char *s = skip_blanks(*p);
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    char *out = cli_xmalloc(strlen(s) + 1), quote = 0;
    size_t n = 0;
    for (; *s; s++) {
        char c = *s;
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else
                out[n++] = c;
        } else if (c == '\\' && s[1]) {
            out[n++] = *++s;
        } else if (quote == '"') {
            if (c == '"')
                quote = 0;
            else
                out[n++] = c;
        } else if (c == ' ' || c == '\t') {
            break;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else {
            out[n++] = c;
        }
    }
    out[n] = '\0';
    *p = s;
    *bad = quote != 0;
    return out;
}

typedef struct words {
    char **v;
    int n;
} words;

static void words_free(words *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
}

/* Splits a command line into words; on an open quote, prints the error and leaves w empty. */
static int split_words(const char *line, words *w)
{
    bool bad = false;
    char *word;
    const char *p = line;
    memset(w, 0, sizeof *w);
    while ((word = next_word(&p, &bad)) != NULL) {
        w->v = cli_xrealloc(w->v, (size_t)(w->n + 2) * sizeof *w->v);
        w->v[w->n++] = word;
        w->v[w->n] = NULL;
        if (bad) {
            words_free(w);
            memset(w, 0, sizeof *w);
            return cli_fail("unterminated quote in: %s", line);
        }
    }
    return 0;
}

/*
 * The next ';' of sql that is not inside a string, a quoted name or a
 * comment (the test psql and sqlite3 make), or NULL. *open is set when the
 * text ends inside a string, quoted name or block comment.
 */
static const char *next_terminator(const char *sql, bool *open)
{
    char quote = 0;
    *open = false;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
            if (*p == '\0')
                break;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (!end) {
                *open = true;
                return NULL;
            }
            p = end + 1;
        } else if (*p == ';') {
            return p;
        }
    }
    *open = quote != 0;
    return NULL;
}

/* Whether only blanks and comments follow p. */
static bool only_comments(const char *p)
{
    for (;;) {
        p += strspn(p, " \t\r\n");
        if (p[0] == '-' && p[1] == '-')
            p += strcspn(p, "\n");
        else if (p[0] == '/' && p[1] == '*' && strstr(p + 2, "*/"))
            p = strstr(p + 2, "*/") + 2;
        else
            return *p == '\0';
    }
}

/* Whether the SQL typed so far ends with a ';' outside strings and comments. */
static bool statement_complete(const char *sql)
{
    bool open = false;
    const char *last = NULL;
    for (const char *p = sql, *t; (t = next_terminator(p, &open)) != NULL; p = t + 1)
        last = t;
    return !open && last && only_comments(last + 1);
}

/* The statement without its trailing ';' and blanks (the engine takes one statement). */
static char *strip_terminator(const char *sql)
{
    char *copy = cli_xstrdup(skip_blanks(sql));
    size_t n = strlen(copy);
    while (n > 0 && (isspace((unsigned char)copy[n - 1]) || copy[n - 1] == ';'))
        copy[--n] = '\0';
    return copy;
}

static bool has_suffix_nocase(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* ---- Ctrl-C while a statement runs ------------------------------------------------ */

/*
 * The handler may only do async-signal-safe things: it posts a semaphore
 * that a watcher thread waits on, and the thread interrupts the session.
 * Outside a statement the default action is restored and the signal
 * raised again, so Ctrl-C during an append still ends the process.
 */
static sem_t interrupt_sem;
static volatile sig_atomic_t statement_running;
static tst_session *volatile interrupt_target;
static volatile sig_atomic_t watcher_stop;
static pthread_t watcher;
static bool watcher_started;

static void on_sigint(int sig)
{
    if (statement_running) {
        int saved = errno;
        sem_post(&interrupt_sem);
        errno = saved;
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void *watch_interrupts(void *arg)
{
    (void)arg;
    for (;;) {
        while (sem_wait(&interrupt_sem) != 0 && errno == EINTR)
            ;
        if (watcher_stop)
            return NULL;
        if (interrupt_target)
            tst_session_interrupt(interrupt_target);
    }
}

static void interrupts_start(shell *sh)
{
    if (!sh->interactive || sem_init(&interrupt_sem, 0, 0) != 0)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the watcher never takes SIGINT itself */
    watcher_started = pthread_create(&watcher, NULL, watch_interrupts, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!watcher_started)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
}

static void interrupts_stop(void)
{
    if (!watcher_started)
        return;
    signal(SIGINT, SIG_DFL);
    watcher_stop = 1;
    sem_post(&interrupt_sem);
    pthread_join(watcher, NULL);
    sem_destroy(&interrupt_sem);
    watcher_started = false;
}

/* Runs the plan with Ctrl-C cancelling it rather than the shell. */
static int run_interruptible(shell *sh, const cli_query_plan *plan)
{
    interrupt_target = sh->session;
    while (watcher_started && sem_trywait(&interrupt_sem) == 0) /* a late Ctrl-C */
        ;
    statement_running = 1;
    int rc = cli_query_run(sh->session, plan);
    statement_running = 0;
    return rc;
}

/* ---- running SQL ------------------------------------------------------------- */

typedef struct query_options {
    char *max_rows, *format, *output; /* NULL: the default */
    bool explain, timing;
} query_options;

static int run_statement(shell *sh, const char *sql, const query_options *o)
{
    char *text = strip_terminator(sql);
    cli_query_plan plan;
    int rc = SHELL_OK;
    if (text[0] == '\0')
        rc = cli_fail("query: missing the SQL statement, e.g. query --max-rows 5 SELECT 1");
    else if (cli_query_plan_init(&plan, text, o->max_rows, o->format, o->output) != 0)
        rc = SHELL_FAILED;
    if (rc == SHELL_OK) {
        plan.explain = o->explain;
        plan.timing = o->timing;
        rc = run_interruptible(sh, &plan) == 0 ? SHELL_OK : SHELL_FAILED;
    }
    free(text);
    return rc;
}

static bool option_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncmp(name, want, len) == 0;
}

/* One --option of `query` (word), taking its value from "=value" or the next word. */
static int query_option(const char *word, const char **p, query_options *o)
{
    const char *name = word + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    char **slot = option_is(name, len, "max-rows") ? &o->max_rows
                  : option_is(name, len, "format") ? &o->format
                  : option_is(name, len, "output") ? &o->output
                                                   : NULL;
    bool *flag = option_is(name, len, "timing")    ? &o->timing
                 : option_is(name, len, "explain") ? &o->explain
                                                   : NULL;
    if (flag && !eq) {
        *flag = true;
        return SHELL_OK;
    }
    if (!slot)
        return cli_fail("query: unknown option '%s' (options: --max-rows N, --format F, "
                        "--output PATH, --timing, --explain; put -- before SQL that starts "
                        "with --)",
                        word);
    bool bad = false;
    char *value = eq ? cli_xstrdup(eq + 1) : next_word(p, &bad);
    if (!value || bad) {
        free(value);
        return cli_fail("query: option '--%.*s' needs a value", (int)len, name);
    }
    free(*slot);
    *slot = value;
    return SHELL_OK;
}

/* `query [options] [--] SQL`: the options end at the first word that is not one. */
static int cmd_query(shell *sh, const char *rest)
{
    query_options o = {NULL, NULL, NULL, false, sh->timing};
    const char *p = rest, *sql = NULL;
    int rc = SHELL_OK;
    while (rc == SHELL_OK && !sql) {
        p = skip_blanks(p);
        if (strncmp(p, "--", 2) != 0) {
            sql = p;
            break;
        }
        bool bad = false;
        char *word = next_word(&p, &bad);
        if (strcmp(word, "--") == 0)
            sql = p;
        else
            rc = query_option(word, &p, &o);
        free(word);
    }
    if (rc == SHELL_OK)
        rc = run_statement(sh, sql, &o);
    free(o.max_rows);
    free(o.format);
    free(o.output);
    return rc;
}

static int run_sql(shell *sh, const char *sql)
{
    query_options o = {NULL, NULL, NULL, false, sh->timing};
    char *text = strip_terminator(sql);
    int rc = text[0] ? run_statement(sh, text, &o) : SHELL_OK; /* a lone ';' is nothing */
    free(text);
    return rc;
}

/* Runs each ';'-terminated statement of a complete text in turn (SELECT 1; SELECT 2;). */
static int run_statements(shell *sh, const char *text)
{
    int rc = SHELL_OK;
    bool open = false;
    const char *p = text, *t;
    while ((t = next_terminator(p, &open)) != NULL) {
        char *one = cli_xsprintf("%.*s", (int)(t - p), p);
        if (!only_comments(one) && run_sql(sh, one) != SHELL_OK)
            rc = SHELL_FAILED; /* like sqlite3: the next statements still run */
        free(one);
        p = t + 1;
    }
    return rc;
}

/*
 * A line of SQL: once the statement is complete, remember it as one history
 * entry (however many lines it took) and run it; else keep it for more.
 */
static int add_sql_line(shell *sh, const char *line)
{
    char *joined = sh->pending ? cli_xsprintf("%s\n%s", sh->pending, line) : cli_xstrdup(line);
    free(sh->pending);
    sh->pending = NULL;
    if (!statement_complete(joined)) {
        sh->pending = joined;
        return SHELL_OK;
    }
    remember(sh, joined);
    int rc = run_statements(sh, joined);
    free(joined);
    return rc;
}

/* ---- commands ------------------------------------------------------------------ */

static int cmd_help(shell *sh, int argc, char **argv)
{
    (void)sh, (void)argc, (void)argv;
    fputs(SHELL_HELP, stdout);
    return SHELL_OK;
}

static int cmd_exit(shell *sh, int argc, char **argv)
{
    (void)sh, (void)argc, (void)argv;
    return SHELL_EXIT;
}

static int cmd_timing(shell *sh, int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0))
        return cli_fail("usage: .timing [on|off]");
    sh->timing = argc == 2 ? strcmp(argv[1], "on") == 0 : !sh->timing;
    printf("timing: %s\n", sh->timing ? "on" : "off");
    return SHELL_OK;
}

/* .require_coverage on|warn|off: the session's coverage check for the
 * statements that follow (tstable query --require-coverage / --warn-coverage). */
static int cmd_require_coverage(shell *sh, int argc, char **argv)
{
    static const char *const names[] = {"off", "on", "warn"};
    tst_coverage_mode mode = tst_session_coverage_mode(sh->session);
    if (argc > 2)
        return cli_fail("usage: .require_coverage [on|warn|off]");
    if (argc == 2) {
        size_t i = 0;
        while (i < 3 && strcmp(argv[1], names[i]) != 0)
            i++;
        if (i == 3)
            return cli_fail("usage: .require_coverage [on|warn|off] ('%s' is none of them)",
                            argv[1]);
        mode = i == 0 ? TST_COVERAGE_OFF : i == 1 ? TST_COVERAGE_REQUIRE : TST_COVERAGE_WARN;
        if (tst_session_set_coverage_mode(sh->session, mode) != 0)
            return cli_fail_lib("Failed to set the coverage check");
    }
    printf("require_coverage: %s\n", names[mode == TST_COVERAGE_REQUIRE ? 1
                                             : mode == TST_COVERAGE_WARN  ? 2
                                                                          : 0]);
    return SHELL_OK;
}

/* .calendar SPEC|off: the calendar of that check (tstable query --calendar). */
static int cmd_calendar(shell *sh, int argc, char **argv)
{
    if (argc != 2)
        return cli_fail("usage: .calendar SPEC|off (e.g. .calendar "
                        "weekdays;tz=America/New_York;sessions=09:30-16:00)");
    tst_calendar *cal = NULL;
    if (strcmp(argv[1], "off") != 0 && tst_calendar_parse(&cal, argv[1]) != 0)
        return cli_fail_lib("Invalid calendar");
    tst_session_set_coverage_calendar(sh->session, cal);
    printf("calendar: %s\n", cal ? argv[1] : "off (every bucket)");
    return SHELL_OK;
}

static int cmd_tables(shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    cli_grid grid;
    cli_grid_init(&grid, 3);
    cli_grid_add(&grid, (const char *[]){"name", "kind", "table root"});
    for (size_t i = 0; i < tst_session_name_count(sh->session); i++) {
        const char *name = tst_session_name_at(sh->session, i);
        const char *root = tst_session_table_root(sh->session, name);
        cli_grid_add(&grid, (const char *[]){name, root ? "tstable" : "parquet", root ? root : ""});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
    return SHELL_OK;
}

/* A name already taken (DuckDB's names ignore case) is an error naming what holds it. */
static int check_free_name(shell *sh, const char *name, const char *path)
{
    for (size_t i = 0; i < tst_session_name_count(sh->session); i++) {
        const char *taken = tst_session_name_at(sh->session, i);
        if (strcasecmp(taken, name) != 0)
            continue;
        const char *root = tst_session_table_root(sh->session, taken);
        return cli_fail("'%s' is already registered (%s%s); register %s under another name",
                        taken, root ? "the tstable at " : "a Parquet source",
                        root ? root : "", path);
    }
    return SHELL_OK;
}

static int cmd_register_table(shell *sh, int argc, char **argv)
{
    if (argc != 3)
        return cli_fail("usage: .table NAME PATH (register the tstable at PATH as NAME)");
    if (check_free_name(sh, argv[1], argv[2]) != SHELL_OK)
        return SHELL_FAILED;
    if (tst_session_register_table(sh->session, argv[1], argv[2]) != 0)
        return cli_fail_lib("Failed to register table");
    printf("registered as: %s (quoted: \"%s\")\n", argv[1], argv[1]);
    return SHELL_OK;
}

static int cmd_register_parquet(shell *sh, int argc, char **argv)
{
    if (argc != 3)
        return cli_fail("usage: .parquet NAME PATH (a Parquet file, folder or glob)");
    if (check_free_name(sh, argv[1], argv[2]) != SHELL_OK)
        return SHELL_FAILED;
    if (tst_session_register_parquet(sh->session, argv[1], argv[2]) != 0)
        return cli_fail("Failed to register Parquet %s as '%s': %s", argv[2], argv[1],
                        tst_error_last()->message);
    printf("registered as: %s (quoted: \"%s\")\n", argv[1], argv[1]);
    return SHELL_OK;
}

/* Appends a file, picking Parquet or CSV by its extension, and says the version. */
static int append_file(shell *sh, const char *path)
{
    uint64_t version = 0, elapsed_ms = 0;
    if (tst_table_refresh(sh->table, NULL) != 0) /* build on the latest commit */
        return cli_fail_lib("Failed to refresh the table");
    bool csv = has_suffix_nocase(path, ".csv");
    if (cli_append_source(sh->table, path, csv, &version, &elapsed_ms) != 0)
        return SHELL_FAILED;
    printf("appended table version: %llu\n", (unsigned long long)version);
    if (sh->timing)
        printf("elapsed_ms: %llu\n", (unsigned long long)elapsed_ms);
    return SHELL_OK;
}

static int cmd_append(shell *sh, int argc, char **argv)
{
    if (argc != 2)
        return cli_fail("usage: .append PATH (a .parquet or .csv file)");
    return append_file(sh, argv[1]);
}

static int cmd_refresh(shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    bool changed = false;
    if (tst_table_refresh(sh->table, &changed) != 0)
        return cli_fail_lib("Failed to refresh the table");
    printf("refreshed: %s\n", changed ? "true" : "false");
    return SHELL_OK;
}

/* Runs a subcommand (coverage, gaps, info) with --table set to the shell's table. */
static int delegate(shell *sh, int argc, char **argv, const char *command, int (*run)(int, char **))
{
    bool has_table = false;
    for (int i = 1; i < argc; i++)
        has_table |= strcmp(argv[i], "--table") == 0 || strncmp(argv[i], "--table=", 8) == 0;
    char **full = cli_xmalloc((size_t)(argc + 4) * sizeof *full);
    int n = 0;
    full[n++] = (char *)command;
    if (!has_table) {
        full[n++] = "--table";
        full[n++] = sh->root;
    }
    for (int i = 1; i < argc; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    int rc = run(n, full) == 0 ? SHELL_OK : SHELL_FAILED;
    free(full);
    return rc;
}

static int cmd_coverage(shell *sh, int argc, char **argv)
{
    return delegate(sh, argc, argv, "coverage", cli_cmd_coverage);
}

static int cmd_gaps(shell *sh, int argc, char **argv)
{
    return delegate(sh, argc, argv, "gaps", cli_cmd_gaps);
}

static int cmd_info(shell *sh, int argc, char **argv)
{
    return delegate(sh, argc, argv, "info", cli_cmd_info);
}

typedef struct shell_command {
    const char *names; /* the command and its aliases, separated by spaces */
    int (*run)(shell *sh, int argc, char **argv);
} shell_command;

static const shell_command COMMANDS[] = {
    {".help help", cmd_help},
    {".exit .quit exit quit", cmd_exit},
    {".timing \\timing", cmd_timing},
    {".require_coverage", cmd_require_coverage},
    {".calendar", cmd_calendar},
    {".tables", cmd_tables},
    {".table", cmd_register_table},
    {".parquet", cmd_register_parquet},
    {".append append", cmd_append},
    {".refresh refresh", cmd_refresh},
    {".coverage", cmd_coverage},
    {".gaps", cmd_gaps},
    {".info", cmd_info},
};
#define SHELL_COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static const shell_command *find_command(const char *word, size_t len)
{
    for (size_t i = 0; i < SHELL_COMMAND_COUNT; i++) {
        for (const char *p = COMMANDS[i].names; *p;) {
            size_t n = strcspn(p, " ");
            if (n == len && strncmp(p, word, len) == 0)
                return &COMMANDS[i];
            p += n + (p[n] == ' ');
        }
    }
    return NULL;
}

static int run_command(shell *sh, const shell_command *cmd, const char *line)
{
    char *text = strip_terminator(line); /* "exit;" is exit */
    words w;
    int rc = split_words(text, &w);
    if (rc == 0)
        rc = cmd->run(sh, w.n, w.v);
    words_free(&w);
    free(text);
    return rc;
}

/* One line typed at the prompt. */
static int handle_line(shell *sh, const char *line)
{
    if (sh->pending)
        return add_sql_line(sh, line);
    const char *p = skip_blanks(line);
    size_t len = strcspn(p, " \t;");
    if (*p == '\0')
        return SHELL_OK;
    bool command = (len == 5 && strncmp(p, "query", 5) == 0) || find_command(p, len) ||
                   *p == '.' || *p == '\\';
    if (command)
        remember(sh, line);
    if (len == 5 && strncmp(p, "query", 5) == 0)
        return cmd_query(sh, p + 5);
    const shell_command *cmd = find_command(p, len);
    if (cmd)
        return run_command(sh, cmd, p);
    if (*p == '.' || *p == '\\')
        return cli_fail("unknown command '%.*s'; type 'help' for the commands", (int)len, p);
    return add_sql_line(sh, line);
}

static int shell_loop(shell *sh)
{
    for (;;) {
        char *line = NULL;
        line_status st = read_line(sh, sh->pending ? ".. " : ">> ", true, &line);
        if (st == LINE_CANCELLED) {
            free(sh->pending); /* Ctrl-C drops the unfinished statement too */
            sh->pending = NULL;
            continue;
        }
        if (st == LINE_EOF)
            break;
        int rc = handle_line(sh, line);
        free(line);
        fflush(stdout);
        if (rc == SHELL_EXIT)
            return SHELL_OK;
        sh->failed |= rc != SHELL_OK;
    }
    /* A script's last statement may lack its ';'; typed text is dropped on Ctrl-D. */
    if (sh->pending && !sh->interactive && run_sql(sh, sh->pending) != SHELL_OK)
        sh->failed = true;
    return SHELL_OK;
}

/* ---- setup: finding, creating and filling the table ------------------------------ */

static bool has_log(const char *root)
{
    char *log = cli_xsprintf("%s/_timeseries_log", root);
    struct stat st;
    bool found = stat(log, &st) == 0 && S_ISDIR(st.st_mode);
    free(log);
    return found;
}

static int ask_index_type(shell *sh, tst_index_type *out)
{
    for (;;) {
        char *a = NULL;
        if (ask(sh, "index type (timestamp, int64, uint64): ", &a) != SHELL_OK)
            return SHELL_EXIT;
        bool ok = true;
        if (a[0] == '\0' || strcmp(a, "timestamp") == 0) /* the default, as for create */
            *out = TST_INDEX_TIMESTAMP;
        else if (strcmp(a, "int64") == 0)
            *out = TST_INDEX_INT64;
        else if (strcmp(a, "uint64") == 0)
            *out = TST_INDEX_UINT64;
        else
            ok = false;
        if (!ok)
            cli_fail("Invalid index type '%s': expected timestamp, int64, or uint64", a);
        free(a);
        if (ok)
            return SHELL_OK;
    }
}

static int ask_time_bucket(shell *sh, tst_index_kind *kind)
{
    for (;;) {
        char *a = NULL;
        if (ask(sh, "time bucket (e.g. 1s, 1m, 1h, 1d): ", &a) != SHELL_OK)
            return SHELL_EXIT;
        bool ok = tst_time_bucket_parse(&kind->bucket, a) == 0;
        if (!ok)
            cli_fail("Invalid time bucket '%s': %s", a, tst_error_last()->message);
        free(a);
        if (ok)
            return SHELL_OK;
    }
}

static int ask_timezone(shell *sh, tst_index_kind *kind)
{
    for (;;) {
        char *a = NULL;
        if (ask(sh, "timezone (optional, IANA name; metadata only, buckets stay UTC): ", &a) !=
            SHELL_OK)
            return SHELL_EXIT;
        bool ok = cli_check_timezone("timezone", a) == 0;
        if (ok)
            snprintf(kind->timezone, sizeof kind->timezone, "%s", a);
        free(a);
        if (ok)
            return SHELL_OK;
    }
}

static int ask_bucket_width(shell *sh, tst_index_kind *kind)
{
    for (;;) {
        char *a = NULL;
        if (ask(sh, "integer bucket width (positive index-value units): ", &a) != SHELL_OK)
            return SHELL_EXIT;
        bool ok = cli_parse_u64(a, &kind->bucket_width) && kind->bucket_width > 0;
        if (!ok)
            cli_fail("Invalid bucket width '%s': expected an integer in 1..=18446744073709551615",
                     a);
        free(a);
        if (ok)
            return SHELL_OK;
    }
}

/* A column name, not a path or a sentence typed at the wrong question. */
static bool plausible_column(const char *name)
{
    return name[0] != '.' && !strpbrk(name, "/\\ \t");
}

/* "symbol, venue" -> entity columns; empty pieces are skipped. False on an odd name. */
static bool parse_entities(shell *sh, char *answer, tst_index_spec *spec)
{
    (void)sh;
    for (char *save = NULL, *piece = strtok_r(answer, ",", &save); piece;
         piece = strtok_r(NULL, ",", &save)) {
        if (trim(piece)[0] == '\0')
            continue;
        if (!plausible_column(piece)) {
            cli_fail("Invalid entity column '%s': expected column names, e.g. symbol, venue",
                     piece);
            return false;
        }
        spec->entity_columns =
            cli_xrealloc(spec->entity_columns, (spec->entity_count + 1) * sizeof(char *));
        spec->entity_columns[spec->entity_count++] = cli_xstrdup(piece);
    }
    return true;
}

static int ask_entities(shell *sh, tst_index_spec *spec)
{
    for (;;) {
        char *a = NULL;
        if (ask(sh, "entity columns (comma-separated, optional): ", &a) != SHELL_OK)
            return SHELL_EXIT;
        bool ok = parse_entities(sh, a, spec);
        free(a);
        if (ok)
            return SHELL_OK;
        for (size_t i = 0; i < spec->entity_count; i++)
            free(spec->entity_columns[i]);
        spec->entity_count = 0;
    }
}

static int ask_index_spec(shell *sh, tst_index_spec *spec)
{
    int rc;
    do {
        free(spec->column);
        spec->column = NULL;
        if ((rc = ask(sh, "index column name: ", &spec->column)) != SHELL_OK)
            return rc;
        if (spec->column[0] && !plausible_column(spec->column)) {
            cli_fail("Invalid index column '%s': expected a column name, e.g. ts", spec->column);
            spec->column[0] = '\0';
        }
    } while (spec->column[0] == '\0');
    if ((rc = ask_index_type(sh, &spec->kind.type)) != SHELL_OK)
        return rc;
    if (spec->kind.type == TST_INDEX_TIMESTAMP)
        rc = ask_time_bucket(sh, &spec->kind) == SHELL_OK ? ask_timezone(sh, &spec->kind)
                                                          : SHELL_EXIT;
    else
        rc = ask_bucket_width(sh, &spec->kind);
    return rc == SHELL_OK ? ask_entities(sh, spec) : rc;
}

static int create_interactively(shell *sh)
{
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    fputs("table not found; creating new table...\n", sh->talk);
    int rc = ask_index_spec(sh, &spec);
    tst_table *table = NULL;
    if (rc == SHELL_OK && tst_table_create(&table, sh->root, &spec) != 0)
        rc = cli_fail("Failed to create timeseries table at %s: %s", sh->root,
                      tst_error_last()->message);
    if (rc == SHELL_OK)
        printf("created table at %s\n", sh->root);
    tst_table_free(table);
    free(spec.column);
    for (size_t i = 0; i < spec.entity_count; i++)
        free(spec.entity_columns[i]);
    free(spec.entity_columns);
    return rc;
}

/* A table without a schema cannot be queried: ask for its first file until one appends. */
static int append_first_segment(shell *sh)
{
    fputs("table has no schema yet; please append the first segment.\n", sh->talk);
    for (;;) {
        char *path = NULL;
        if (ask(sh, "first segment (Parquet or CSV file): ", &path) != SHELL_OK)
            return SHELL_EXIT;
        int rc = path[0] ? append_file(sh, path) : SHELL_FAILED;
        free(path);
        fflush(stdout);
        if (rc == SHELL_OK)
            return SHELL_OK;
    }
}

static int choose_root(shell *sh, const char *given)
{
    if (given) {
        if (given[0] == '\0')
            return cli_fail("Invalid --table: the path is empty");
        sh->root = cli_xstrdup(given);
        return SHELL_OK;
    }
    while (!sh->root || sh->root[0] == '\0') {
        free(sh->root);
        sh->root = NULL;
        if (ask(sh, "table root path: ", &sh->root) != SHELL_OK)
            return SHELL_EXIT;
    }
    return SHELL_OK;
}

static int register_main_table(shell *sh)
{
    sh->name = cli_table_name(sh->root);
    if (tst_session_open(&sh->session) != 0)
        return cli_fail_lib("Failed to start the SQL engine");
    if (tst_session_register_table(sh->session, sh->name, sh->root) != 0)
        return cli_fail_lib("Failed to register table");
    fprintf(sh->talk,
            "tstable shell\n"
            "table: %s\n"
            "registered as: %s (quoted: \"%s\")\n"
            "type 'help' for commands\n",
            sh->root, sh->name, sh->name);
    return SHELL_OK;
}

static int shell_start(shell *sh, const char *table, const char *history_file)
{
    int rc = choose_root(sh, table);
    if (rc == SHELL_OK && !has_log(sh->root))
        rc = create_interactively(sh);
    if (rc == SHELL_OK && cli_open_table(&sh->table, sh->root) != 0)
        rc = SHELL_FAILED;
    if (rc == SHELL_OK)
        history_attach(sh, history_file);
    if (rc == SHELL_OK && tst_table_get_meta(sh->table)->schema == NULL)
        rc = append_first_segment(sh);
    return rc == SHELL_OK ? register_main_table(sh) : rc;
}

static void shell_init(shell *sh)
{
    memset(sh, 0, sizeof *sh);
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    sh->interactive = isatty(STDIN_FILENO);
    sh->color = sh->interactive && isatty(STDOUT_FILENO) && !(no_color && no_color[0]) &&
                !(term && strcmp(term, "dumb") == 0);
    sh->talk = sh->interactive ? stdout : stderr;
    if (sh->interactive)
        editor_open(sh);
}

static void shell_close(shell *sh)
{
    if (sh->el)
        el_end(sh->el);
    if (sh->hist)
        history_end(sh->hist);
    tst_session_free(sh->session);
    tst_table_free(sh->table);
    free(sh->history_path);
    free(sh->prompt);
    free(sh->root);
    free(sh->name);
    free(sh->pending);
}

int cli_cmd_shell(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "shell", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    if (parsed != CLI_PARSED) {
        cli_args_free(&args);
        return cli_parse_exit(parsed);
    }
    shell sh;
    shell_init(&sh);
    int rc = shell_start(&sh, cli_get(&args, "table"), cli_get(&args, "history"));
    if (rc == SHELL_OK) {
        interrupts_start(&sh);
        rc = shell_loop(&sh);
        interrupts_stop();
    }
    /* Leaving by Ctrl-D or exit is success; a script reports its failures. */
    if (rc == SHELL_OK && sh.failed && !sh.interactive)
        rc = SHELL_FAILED;
    shell_close(&sh);
    cli_args_free(&args);
    return rc == SHELL_FAILED ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
