/*
 * coverage_plot.c — `tstable coverage --plot FILE.svg|FILE.png`: the picture
 * of a table's coverage (tstable/coverage_plot.h draws it; this file picks
 * the format from the extension, reads --width/--height and writes the file).
 *
 * The extension is checked before the table is opened, so a typo costs
 * nothing. The file is written whole (fopen "wb", one fwrite, fclose); a
 * failure removes the partial file and names the path.
 */
#include "cli.h"

#include "tstable/coverage_plot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool format_of(const char *path, tst_plot_format *out)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".svg") == 0)
        *out = TST_PLOT_SVG;
    else if (dot && strcasecmp(dot, ".png") == 0)
        *out = TST_PLOT_PNG;
    else
        return false;
    return true;
}

static bool pixels(const cli_args *args, const char *name, unsigned *out)
{
    const char *text = cli_get(args, name);
    uint64_t v = 0;
    if (!text)
        return true;
    if (!cli_parse_u64(text, &v) || v > 20000) {
        cli_usage_error("coverage", "--%s '%s' is not a number of pixels (up to 20000)", name,
                        text);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static int write_file(const char *path, const uint8_t *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_fail("Cannot write the plot to %s: %s", path, strerror(errno));
    bool ok = fwrite(bytes, 1, len, f) == len;
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        remove(path);
        return cli_fail("Cannot write the plot to %s: %s", path, strerror(err ? err : EIO));
    }
    return 0;
}

int cli_coverage_plot(const cli_args *args)
{
    const char *path = cli_get(args, "plot");
    tst_plot_format format = TST_PLOT_SVG;
    tst_coverage_plot_options o = TST_COVERAGE_PLOT_OPTIONS_INIT;
    if (!path)
        return cli_usage_error("coverage", "--width and --height go with --plot FILE");
    if (!format_of(path, &format))
        return cli_usage_error("coverage", "--plot '%s': the file must end in .svg or .png", path);
    if (cli_get(args, "format"))
        return cli_usage_error("coverage", "--plot draws a picture; --format does not apply");
    if (!pixels(args, "width", &o.width) || !pixels(args, "height", &o.height))
        return CLI_EXIT_FAIL;
    tst_calendar *cal = NULL;
    if (cli_calendar(args, &cal) != 0)
        return CLI_EXIT_FAIL;
    o.calendar = cal;
    cli_target t;
    int rc = cli_target_open(&t, args);
    uint8_t *bytes = NULL;
    size_t len = 0;
    o.start = &t.start;
    o.end = &t.end;
    o.entity = t.entity;
    o.entity_count = t.entity_count;
    if (rc == 0 && tst_table_coverage_plot(t.table, &o, format, &bytes, &len) != 0)
        rc = cli_fail_lib("Failed to draw coverage");
    if (rc == 0)
        rc = write_file(path, bytes, len);
    free(bytes);
    cli_target_close(&t);
    tst_calendar_free(cal);
    return rc;
}
