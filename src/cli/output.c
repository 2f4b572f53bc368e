/*
 * output.c — how the CLI writes things: box tables, JSON, numbers, errors.
 *
 * Tables are drawn like the reference CLI's previews (tabled's rounded
 * style): a rounded border, a line under the header and none between rows;
 * an optional label such as "Preview output" sits in the top border. Cells
 * may span several lines (DuckDB's EXPLAIN plan is one multi-line cell).
 * Widths are terminal columns (wcwidth of each UTF-8 code point, so CJK
 * text counts two per character); main() sets a UTF-8 LC_CTYPE for that.
 * Preview cells of data are made printable first (cli_preview_cell):
 * control characters escaped, long values cut with an ellipsis.
 *
 * JSON is written directly with a small escaper rather than built as a tree,
 * so a long result streams row by row. Allocation failures end the process
 * with one message: a CLI has nothing better to do, and it keeps every
 * caller free of out-of-memory branches.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cli.h"
#include "tstable/error.h"

/* ---- errors and memory ---------------------------------------------------- */

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_fail_lib(const char *context)
{
    const tst_error *e = tst_error_last();
    const char *msg = e->message[0] ? e->message : tst_error_name(e->code);
    return cli_fail("%s: %s", context, msg);
}

static void *check_alloc(void *p)
{
    if (!p) {
        fputs("out of memory\n", stderr);
        exit(CLI_EXIT_FAIL);
    }
    return p;
}

void *cli_xmalloc(size_t size)
{
    return check_alloc(malloc(size ? size : 1));
}

void *cli_xrealloc(void *ptr, size_t size)
{
    return check_alloc(realloc(ptr, size ? size : 1));
}

char *cli_xstrdup(const char *s)
{
    return check_alloc(strdup(s));
}

char *cli_xsprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = cli_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return buf;
}

/* ---- tables -------------------------------------------------------------- */

void cli_grid_init(cli_grid *grid, size_t cols)
{
    memset(grid, 0, sizeof *grid);
    grid->cols = cols;
}

void cli_grid_add(cli_grid *grid, const char *const *cells)
{
    if (grid->rows == grid->cap_rows) {
        grid->cap_rows = grid->cap_rows ? grid->cap_rows * 2 : 8;
        grid->cells = cli_xrealloc(grid->cells, grid->cap_rows * grid->cols * sizeof(char *));
    }
    for (size_t c = 0; c < grid->cols; c++)
        grid->cells[grid->rows * grid->cols + c] = cli_xstrdup(cells[c] ? cells[c] : "");
    grid->rows++;
}

void cli_grid_free(cli_grid *grid)
{
    for (size_t i = 0; i < grid->rows * grid->cols; i++)
        free(grid->cells[i]);
    free(grid->cells);
    memset(grid, 0, sizeof *grid);
}

/* Decodes one UTF-8 sequence at s (at most len bytes); returns its length
 * (1 for a malformed byte, decoded as U+FFFD). */
static size_t utf8_decode(const char *s, size_t len, uint32_t *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
    if (n == 0 || n > len) {
        *out = 0xFFFD;
        return 1;
    }
    uint32_t c = n == 1 ? p[0] : p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *out = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3F);
    }
    *out = c;
    return n;
}

/* Terminal columns of one code point: 2 for East Asian wide, 0 for combining marks. */
static size_t char_width(uint32_t c)
{
    if (c < 0x80)
        return 1;
    int w = wcwidth((wchar_t)c);
    return w < 0 ? 1 : (size_t)w;
}

/* Terminal columns of s[0..len). */
static size_t text_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        i += utf8_decode(s + i, len - i, &c);
        w += char_width(c);
    }
    return w;
}

char *cli_preview_cell(const char *value, size_t max_width)
{
    size_t len = strlen(value), cap = len * 4 + 8, n = 0, width = 0;
    char *out = cli_xmalloc(cap);
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t step = utf8_decode(value + i, len - i, &c);
        char esc[8] = "";
        if (c == '\t' || c == '\n' || c == '\r')
            snprintf(esc, sizeof esc, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
        else if (c < 0x20 || c == 0x7F)
            snprintf(esc, sizeof esc, "\\x%02X", (unsigned)c);
        size_t w = esc[0] ? strlen(esc) : char_width(c);
        if (max_width > 0 && width + w > max_width - 1 && i + step < len) {
            memcpy(out + n, "…", strlen("…"));
            n += strlen("…");
            break;
        }
        if (esc[0]) {
            memcpy(out + n, esc, strlen(esc));
            n += strlen(esc);
        } else {
            memcpy(out + n, value + i, step);
            n += step;
        }
        width += w;
        i += step;
    }
    out[n] = '\0';
    return out;
}

/* Widest line of a cell, and how many lines it has. */
static void cell_size(const char *cell, size_t *width, size_t *lines)
{
    *width = 0;
    *lines = 1;
    const char *line = cell;
    for (;;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t w = text_width(line, len);
        if (w > *width)
            *width = w;
        if (!nl)
            break;
        (*lines)++;
        line = nl + 1;
    }
}

/* Writes line number `n` of a cell (empty past its last line) padded to width. */
static void put_cell_line(FILE *out, const char *cell, size_t n, size_t width)
{
    const char *line = cell;
    for (size_t i = 0; i < n && line; i++) {
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    size_t len = 0;
    if (line) {
        const char *nl = strchr(line, '\n');
        len = nl ? (size_t)(nl - line) : strlen(line);
        fwrite(line, 1, len, out);
    }
    for (size_t w = line ? text_width(line, len) : 0; w < width; w++)
        fputc(' ', out);
}

static void put_rule(FILE *out, const size_t *widths, size_t cols, const char *left,
                     const char *mid, const char *right, const char *label)
{
    size_t label_len = label ? strlen(label) : 0, pos = 0;
    fputs(left, out);
    for (size_t c = 0; c < cols; c++) {
        if (c > 0) {
            fputs(pos < label_len ? (char[2]){label[pos], 0} : mid, out);
            pos++;
        }
        for (size_t i = 0; i < widths[c] + 2; i++, pos++)
            fputs(pos < label_len ? (char[2]){label[pos], 0} : "─", out);
    }
    fputs(right, out);
    fputc('\n', out);
}

static void put_row(FILE *out, const cli_grid *grid, const size_t *widths, size_t r)
{
    size_t height = 1;
    for (size_t c = 0; c < grid->cols; c++) {
        size_t w, lines;
        cell_size(grid->cells[r * grid->cols + c], &w, &lines);
        if (lines > height)
            height = lines;
    }
    for (size_t line = 0; line < height; line++) {
        for (size_t c = 0; c < grid->cols; c++) {
            fputs("│ ", out);
            put_cell_line(out, grid->cells[r * grid->cols + c], line, widths[c]);
            fputc(' ', out);
        }
        fputs("│\n", out);
    }
}

void cli_grid_print(const cli_grid *grid, FILE *out, const char *label)
{
    if (grid->cols == 0 || grid->rows == 0)
        return;
    size_t *widths = cli_xmalloc(grid->cols * sizeof *widths);
    size_t inner = grid->cols - 1;
    for (size_t c = 0; c < grid->cols; c++) {
        widths[c] = 0;
        for (size_t r = 0; r < grid->rows; r++) {
            size_t w, lines;
            cell_size(grid->cells[r * grid->cols + c], &w, &lines);
            if (w > widths[c])
                widths[c] = w;
        }
        inner += widths[c] + 2;
    }
    /* A label longer than the table widens the last column so it fits. */
    size_t label_len = label ? strlen(label) : 0;
    if (label_len > inner)
        widths[grid->cols - 1] += label_len - inner;
    put_rule(out, widths, grid->cols, "╭", "┬", "╮", label);
    put_row(out, grid, widths, 0);
    if (grid->rows > 1)
        put_rule(out, widths, grid->cols, "├", "┼", "┤", NULL);
    for (size_t r = 1; r < grid->rows; r++)
        put_row(out, grid, widths, r);
    put_rule(out, widths, grid->cols, "╰", "┴", "╯", NULL);
    free(widths);
}

/* ---- JSON and numbers ---------------------------------------------------- */

void cli_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void cli_json_double(FILE *out, double v)
{
    if (!isfinite(v)) {
        fputs("null", out); /* JSON has no NaN or infinity */
        return;
    }
    char buf[CLI_FLOAT_TEXT_MAX];
    cli_format_float(v, buf, sizeof buf);
    fputs(buf, out);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
void cli_format_float(double v, char *buf, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}
