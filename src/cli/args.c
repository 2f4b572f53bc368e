/*
 * args.c — long-option parsing shared by every subcommand.
 *
 * Subcommands take only long options, in any order: `--opt value`,
 * `--opt=value`, flags without a value, and repeatable lists (`--entity a
 * --entity b`). The token after a value option is always its value, even
 * when it starts with '-', so `--bucket-width -1` reaches validation and gets
 * the specific message rather than a generic parse error (the reference CLI
 * behaves the same way). There are no positional arguments, except that a
 * CLI_LIST_MANY option (`append --parquet a b c`) also takes the tokens that
 * follow its value, up to the next one starting with "--".
 *
 * Usage errors are printed here, once, as "error: ..." followed by a hint to
 * run --help; the caller only turns the outcome into an exit code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (command)
        fprintf(stderr, "\nRun 'tstable %s --help' for usage.\n", command);
    else
        fputs("\nRun 'tstable --help' for usage.\n", stderr);
    return CLI_EXIT_FAIL;
}

static const cli_opt *find_opt(const cli_args *args, const char *name, size_t len, size_t *idx)
{
    for (size_t i = 0; i < args->opt_count; i++) {
        const cli_opt *o = &args->opts[i];
        bool hit = (strlen(o->name) == len && strncmp(o->name, name, len) == 0) ||
                   (o->alias && strlen(o->alias) == len && strncmp(o->alias, name, len) == 0);
        if (hit) {
            *idx = i;
            return o;
        }
    }
    return NULL;
}

static int store_value(cli_args *args, const cli_opt *opt, size_t idx, const char *value)
{
    cli_slot *slot = &args->slots[idx];
    if (opt->kind == CLI_VALUE && slot->set) {
        cli_usage_error(args->command, "option '--%s' was given more than once", opt->name);
        return CLI_USAGE_ERROR;
    }
    slot->values = cli_xrealloc(slot->values, (slot->count + 1) * sizeof *slot->values);
    slot->values[slot->count++] = value;
    slot->set = true;
    return CLI_PARSED;
}

/* The value, and for CLI_LIST_MANY the tokens after it up to the next "--option". */
static int store_values(cli_args *args, const cli_opt *opt, size_t idx, const char *value,
                        int argc, char **argv, int *i)
{
    int rc = store_value(args, opt, idx, value);
    while (rc == CLI_PARSED && opt->kind == CLI_LIST_MANY && *i + 1 < argc &&
           strncmp(argv[*i + 1], "--", 2) != 0) {
        *i += 1;
        rc = store_value(args, opt, idx, argv[*i]);
    }
    return rc;
}

/* Handles argv[*i]; may consume the next token as its value. */
static int parse_one(cli_args *args, int argc, char **argv, int *i)
{
    const char *tok = argv[*i];
    if (strncmp(tok, "--", 2) != 0 || tok[2] == '\0') {
        cli_usage_error(args->command, "unexpected argument '%s' (options start with --)", tok);
        return CLI_USAGE_ERROR;
    }
    const char *name = tok + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    size_t idx = 0;
    const cli_opt *opt = find_opt(args, name, len, &idx);
    if (!opt) {
        cli_usage_error(args->command, "unknown option '--%.*s'", (int)len, name);
        return CLI_USAGE_ERROR;
    }
    if (opt->kind == CLI_FLAG) {
        if (eq) {
            cli_usage_error(args->command, "option '--%s' takes no value", opt->name);
            return CLI_USAGE_ERROR;
        }
        args->slots[idx].set = true;
        return CLI_PARSED;
    }
    if (eq)
        return store_values(args, opt, idx, eq + 1, argc, argv, i);
    if (*i + 1 >= argc) {
        cli_usage_error(args->command, "option '--%s' needs a value", opt->name);
        return CLI_USAGE_ERROR;
    }
    *i += 1;
    return store_values(args, opt, idx, argv[*i], argc, argv, i);
}

int cli_parse(cli_args *args, const char *command, const char *help, const cli_opt *opts,
              size_t opt_count, int argc, char **argv)
{
    memset(args, 0, sizeof *args);
    args->command = command;
    args->opts = opts;
    args->opt_count = opt_count < CLI_MAX_OPTS ? opt_count : CLI_MAX_OPTS;
    /* --help wins wherever it is, so `tstable create --table x --help` helps. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return CLI_HELP_SHOWN;
        }
    }
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(args, argc, argv, &i);
        if (rc != CLI_PARSED)
            return rc;
    }
    return CLI_PARSED;
}

void cli_args_free(cli_args *args)
{
    for (size_t i = 0; i < CLI_MAX_OPTS; i++)
        free(args->slots[i].values);
}

int cli_parse_exit(int parsed)
{
    return parsed == CLI_HELP_SHOWN ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static const cli_slot *slot_of(const cli_args *args, const char *name)
{
    size_t idx = 0;
    if (!find_opt(args, name, strlen(name), &idx))
        return NULL;
    return &args->slots[idx];
}

const char *cli_get(const cli_args *args, const char *name)
{
    const cli_slot *s = slot_of(args, name);
    return s && s->count ? s->values[0] : NULL;
}

bool cli_has(const cli_args *args, const char *name)
{
    const cli_slot *s = slot_of(args, name);
    return s && s->set;
}

const char *const *cli_list(const cli_args *args, const char *name, size_t *out_count)
{
    const cli_slot *s = slot_of(args, name);
    *out_count = s ? s->count : 0;
    return s ? (const char *const *)s->values : NULL;
}

bool cli_require(const cli_args *args, const char *name)
{
    if (cli_has(args, name))
        return true;
    cli_usage_error(args->command, "missing required option '--%s'", name);
    return false;
}

bool cli_parse_u64(const char *text, uint64_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_format_is_json(const cli_args *args, bool *out_json)
{
    const char *f = cli_get(args, "format");
    *out_json = f && strcmp(f, "json") == 0;
    if (!f || *out_json || strcmp(f, "table") == 0)
        return true;
    cli_fail("Invalid --format '%s': expected table or json", f);
    return false;
}
