/*
 * calendar_opt.c — the --calendar option shared by coverage, gaps and
 * plan-backfill: the spec is parsed by the library (tstable/calendar.h), so
 * the CLI, Python and SQL accept exactly the same text.
 */
#include "cli.h"

int cli_calendar(const cli_args *args, tst_calendar **out)
{
    const char *spec = cli_get(args, "calendar");
    *out = NULL;
    if (!spec)
        return 0;
    if (tst_calendar_parse(out, spec) != 0)
        return cli_fail_lib("Invalid --calendar");
    return 0;
}
