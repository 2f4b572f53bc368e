/*
 * coverage_plot.c — the picture of a coverage raster (tstable/coverage_plot.h,
 * step 2): SVG with text, or an 8-bit palette PNG of the same layout.
 *
 * Layout, in pixels: a title band on top, entity names on the left, the
 * plot area (the raster stretched to it: column c covers x in
 * [c*w/cols, (c+1)*w/cols), row r likewise in y), and below it the x axis
 * with ticks in the index's units and a legend of the colour scale.
 *
 * Colours: nine classes, a gap (0%) in orange and eight blues for
 * (0, 12.5%], ..., (87.5%, 100%]; with a calendar, a tenth, neutral grey,
 * for cells it expects nothing of (their fraction is NaN). In SVG each row is a <g class="row"> of
 * rectangles, one per run of equal class, so contiguous coverage stays
 * small; names are thinned to one per 11 pixels and the picture says how
 * many it shows. PNG is written by hand: stored (uncompressed) deflate
 * blocks, CRC-32 and Adler-32 below — no dependency, and a palette keeps
 * it at one byte per pixel.
 */
#include "tstable/coverage_plot.h"

#include "bitmap_font.h"
#include "coverage_plot_internal.h"
#include "fail.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LEFT = 170, RIGHT = 24, TOP = 54, BOTTOM = 74, NAME_PX = 11, NAME_CHARS = 24, MAX_TICKS = 8 };


void tst_coverage_plot_area(unsigned width, unsigned height, unsigned *w, unsigned *h)
{
    *w = width - LEFT - RIGHT;
    *h = height - TOP - BOTTOM;
}

unsigned tst_coverage_plot_default_height(size_t entities)
{
    size_t plot = entities * 14;
    plot = plot < 40 ? 40 : plot > 672 ? 672 : plot;
    return (unsigned)(plot + TOP + BOTTOM);
}

static const char *const COLOURS[] = {
    "#ffffff", "#888888", "#222222", "#f28e2b", /* background, frame, text, gap */
    "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b",
    "#e4e4e4", /* closed: a calendar expects nothing there */
};
/* C_CLOSED comes last and only joins the palette (and the SVG style) when a
 * calendar left a cell with nothing expected, so other pictures keep their bytes. */
enum { C_BG, C_FRAME, C_TEXT, C_GAP, C_LEVEL0, C_CLOSED = 12, N_COLOURS = 13 };

static int class_of(double f)
{
    if (isnan(f))
        return C_CLOSED;
    if (f <= 0)
        return C_GAP;
    int level = (int)ceil(f * 8) - 1;
    return C_LEVEL0 + (level < 0 ? 0 : level > 7 ? 7 : level);
}

/* ---- the layout shared by both formats ---------------------------------- */

typedef struct layout {
    const tst_coverage_raster *r;
    int colours; /* palette size: N_COLOURS with closed cells, C_CLOSED without */
    unsigned width, height, w, h; /* picture, plot area */
    size_t name_step;             /* label every name_step-th row */
} layout;

/* Colours the picture uses: C_CLOSED only when some cell is NaN. */
static int colours_used(const tst_coverage_raster *r)
{
    const double *f = tst_coverage_raster_fractions(r);
    size_t n = tst_coverage_raster_rows(r) * tst_coverage_raster_cols(r);
    for (size_t i = 0; i < n; i++)
        if (isnan(f[i]))
            return N_COLOURS;
    return C_CLOSED;
}

static void layout_of(const tst_coverage_raster *r, layout *l)
{
    l->r = r;
    l->colours = colours_used(r);
    tst_coverage_raster_size(r, &l->width, &l->height);
    tst_coverage_plot_area(l->width, l->height, &l->w, &l->h);
    size_t rows = tst_coverage_raster_rows(r), fit = l->h / NAME_PX ? l->h / NAME_PX : 1;
    l->name_step = rows <= fit ? 1 : (rows + fit - 1) / fit;
}

static double row_y(const layout *l, size_t row)
{
    return TOP + (double)l->h * (double)row / (double)tst_coverage_raster_rows(l->r);
}

static double col_x(const layout *l, size_t col)
{
    return LEFT + (double)l->w * (double)col / (double)tst_coverage_raster_cols(l->r);
}

/* Legend swatches: gap, the eight levels, and "closed" when a calendar
 * closed some cells. */
static int legend_count(const layout *l)
{
    return l->colours == N_COLOURS ? 10 : 9;
}

static int legend_colour(int i)
{
    return i < 9 ? C_GAP + i : C_CLOSED;
}

/* Legend swatches: 38 px apart, narrower when the picture is narrow. */
static unsigned legend_step(const layout *l)
{
    unsigned room = (l->width - RIGHT - 8) / (unsigned)legend_count(l);
    return room < 38 ? room : 38;
}

/* ---- x axis ticks --------------------------------------------------------- */

typedef struct tick {
    double x;
    char text[40];
} tick;

static double value_of(const tst_index_value *v)
{
    if (v->type == TST_INDEX_TIMESTAMP)
        return (double)v->v.ts.sec + v->v.ts.nsec / 1e9;
    return v->type == TST_INDEX_INT64 ? (double)v->v.i64 : (double)v->v.u64;
}

static const double STEPS[] = {1,     2,      5,      10,     15,     30,       60,      120,
                               300,   600,    900,    1800,   3600,   7200,     10800,   21600,
                               43200, 86400,  172800, 604800, 1209600};

static void time_label(int64_t sec, double step, bool multi_day, char *buf, size_t cap)
{
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    const char *fmt = step < 60 ? "%H:%M:%S"
                      : step < 86400 ? (multi_day ? "%m-%d %H:%M" : "%H:%M")
                                     : "%Y-%m-%d";
    strftime(buf, cap, fmt, &tm);
}

static size_t calendar_ticks(const layout *l, double v0, double v1, tick *out)
{
    static const int MONTHS[] = {1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200};
    double days = (v1 - v0) / 86400;
    int m = MONTHS[0];
    for (size_t i = 0; i < sizeof MONTHS / sizeof MONTHS[0]; i++) {
        m = MONTHS[i];
        if (days / (30.44 * m) <= MAX_TICKS)
            break;
    }
    time_t tt = (time_t)floor(v0);
    struct tm tm;
    gmtime_r(&tt, &tm);
    long month = (long)(tm.tm_year + 1900) * 12 + tm.tm_mon;
    month = (month + m - 1) / m * m;
    size_t n = 0;
    for (; n < MAX_TICKS + 2; month += m) {
        struct tm at = {.tm_year = (int)(month / 12 - 1900), .tm_mon = (int)(month % 12), .tm_mday = 1};
        double v = (double)timegm(&at);
        if (v < v0)
            continue;
        if (v > v1)
            break;
        out[n].x = LEFT + (v - v0) / (v1 - v0) * l->w;
        strftime(out[n].text, sizeof out[n].text, m >= 12 ? "%Y" : "%Y-%m", &at);
        n++;
    }
    return n;
}

static size_t time_ticks(const layout *l, double v0, double v1, tick *out)
{
    double step = 0;
    for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0] && step == 0; i++)
        if ((v1 - v0) / STEPS[i] <= MAX_TICKS)
            step = STEPS[i];
    if (step == 0)
        return calendar_ticks(l, v0, v1, out);
    size_t n = 0;
    for (double v = ceil(v0 / step) * step; v <= v1 && n < MAX_TICKS + 2; v += step, n++) {
        out[n].x = LEFT + (v - v0) / (v1 - v0) * l->w;
        time_label((int64_t)v, step, v1 - v0 > 86400, out[n].text, sizeof out[n].text);
    }
    return n;
}

static size_t int_ticks(const layout *l, double v0, double v1, tick *out)
{
    double step = 1;
    for (int i = 0; (v1 - v0) / step > MAX_TICKS; i++)
        step *= i % 3 == 1 ? 2.5 : 2; /* 1, 2, 5, 10, 20, 50, ... */
    size_t n = 0;
    for (double v = ceil(v0 / step) * step; v <= v1 && n < MAX_TICKS + 2; v += step, n++) {
        out[n].x = LEFT + (v - v0) / (v1 - v0) * l->w;
        snprintf(out[n].text, sizeof out[n].text, "%.0f", v);
    }
    return n;
}

static size_t ticks_of(const layout *l, tick *out)
{
    tst_index_value start, end;
    tst_coverage_raster_range(l->r, &start, &end);
    double v0 = value_of(&start), v1 = value_of(&end);
    if (!(v1 > v0))
        return 0;
    return start.type == TST_INDEX_TIMESTAMP ? time_ticks(l, v0, v1, out)
                                             : int_ticks(l, v0, v1, out);
}

/* ---- a growing text buffer ---------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
} sbuf;

static void put(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 65536) + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p || cap > ((size_t)1 << 31)) { /* a picture is never 2 GiB */
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void put_escaped(sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            put(b, "&lt;");
        else if (*s == '>')
            put(b, "&gt;");
        else if (*s == '&')
            put(b, "&amp;");
        else if (*s == '"')
            put(b, "&quot;");
        else if ((unsigned char)*s < 0x20)
            put(b, "?");
        else
            put(b, "%c", *s);
    }
}

/* ---- SVG ------------------------------------------------------------------ */

static void svg_head(sbuf *b, const layout *l)
{
    put(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
           "viewBox=\"0 0 %u %u\" font-family=\"sans-serif\" font-size=\"10\">\n<style>",
        l->width, l->height, l->width, l->height);
    for (int c = C_GAP; c < l->colours; c++)
        put(b, ".c%d{fill:%s}", c, COLOURS[c]);
    put(b, "</style>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
}

/* An estimate of a text's width in the SVG's 10 px sans-serif (the viewer's
 * font decides; this errs wide), in UTF-8 characters. */
static long svg_text_width(const char *s)
{
    long chars = 0;
    for (; *s; s++)
        chars += ((unsigned char)*s & 0xC0) != 0x80;
    return chars * 6;
}

/* The subtitle's text: range, entities, buckets, and how rows and columns
 * aggregate. A narrow picture drops the
 * optional parts, least needed first (columns, rows, buckets, entities),
 * until the text fits `room` pixels as `width_of` measures it; the range
 * always stays. */
static void subtitle_text(const layout *l, long room, long (*width_of)(const char *), char *buf,
                          size_t cap)
{
    tst_index_value s, e;
    char a[64], z[64], part[4][96];
    tst_coverage_raster_range(l->r, &s, &e);
    tst_index_value_format(&s, a, sizeof a);
    tst_index_value_format(&e, z, sizeof z);
    size_t n = tst_coverage_raster_entity_count(l->r), first = 0, count = 0;
    tst_coverage_raster_row_entities(l->r, 0, &first, &count);
    uint64_t per = tst_coverage_raster_buckets(l->r) / tst_coverage_raster_cols(l->r);
    /* in the order shown */
    snprintf(part[0], sizeof part[0], " · %zu %s", n, n == 1 ? "entity" : "entities");
    snprintf(part[1], sizeof part[1], " · %llu buckets",
             (unsigned long long)tst_coverage_raster_buckets(l->r));
    part[2][0] = '\0';
    if (tst_coverage_raster_rows(l->r) < n)
        snprintf(part[2], sizeof part[2], " · each row aggregates %zu–%zu entities", count,
                 count + 1);
    if (per > 1)
        snprintf(part[3], sizeof part[3], " · each column %llu+ buckets", (unsigned long long)per);
    else
        part[3][0] = '\0';
    for (int keep = 4;; keep--) {
        int k = snprintf(buf, cap, "[%s, %s)", a, z);
        size_t used = k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
        for (int i = 0; i < keep; i++)
            if (part[i][0]) {
                k = snprintf(buf + used, cap - used, "%s", part[i]);
                used = k < 0 ? used : used + (size_t)k < cap ? used + (size_t)k : cap - 1;
            }
        if (keep == 0 || width_of(buf) <= room)
            return;
    }
}

/* The title's left edge: narrow pictures use the names' margin too. */
static int title_left(const layout *l)
{
    return l->width >= 800 ? LEFT : 8;
}

/* The label of a row: its first entity's name, cut to NAME_CHARS bytes between
 * UTF-8 characters, and "+N" when the row holds more entities. */
static void name_text(const layout *l, size_t row, char *buf, size_t cap)
{
    size_t first = 0, count = 0;
    tst_coverage_raster_row_entities(l->r, row, &first, &count);
    const char *full = tst_coverage_raster_entity_name(l->r, first);
    bool cut = strlen(full) > NAME_CHARS;
    int keep = NAME_CHARS - 3;
    while (cut && keep > 0 && ((unsigned char)full[keep] & 0xC0) == 0x80)
        keep--; /* cut between UTF-8 characters, never inside one (nor past the end) */
    int k = cut ? snprintf(buf, cap, "%.*s...", keep, full) : snprintf(buf, cap, "%s", full);
    if (count > 1 && k >= 0 && (size_t)k < cap)
        snprintf(buf + k, cap - (size_t)k, " +%zu", count - 1);
}

/* The baseline of row's label. */
static double name_baseline(const layout *l, size_t row)
{
    return (row_y(l, row) + row_y(l, row + 1)) / 2 + 3.5;
}

static const char *const LEGEND_LABELS[] = {"gap", "≤12%", "≤25%", "≤37%", "≤50%",
                                            "≤62%", "≤75%", "≤87%", "100%", "closed"};

static void svg_title(sbuf *b, const layout *l)
{
    int left = title_left(l);
    char sub[512];
    subtitle_text(l, (long)l->width - left - 8, svg_text_width, sub, sizeof sub);
    put(b, "<text class=\"title\" x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", left);
    put_escaped(b, tst_coverage_raster_title(l->r));
    put(b, "</text>\n<text class=\"subtitle\" x=\"%d\" y=\"38\" fill=\"#444\">", left);
    put_escaped(b, sub);
    put(b, "</text>\n");
}

static void svg_row(sbuf *b, const layout *l, size_t row)
{
    size_t cols = tst_coverage_raster_cols(l->r), first = 0, count = 0;
    const double *f = tst_coverage_raster_fractions(l->r) + row * cols;
    tst_coverage_raster_row_entities(l->r, row, &first, &count);
    double y0 = row_y(l, row), y1 = row_y(l, row + 1);
    put(b, "<g class=\"row\" data-first=\"%zu\" data-count=\"%zu\">", first, count);
    for (size_t c = 0; c < cols;) {
        size_t d = c + 1;
        int k = class_of(f[c]);
        while (d < cols && class_of(f[d]) == k)
            d++;
        double x0 = col_x(l, c), x1 = col_x(l, d);
        put(b, "<rect class=\"c%d\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>", k,
            x0, y0, x1 - x0, y1 - y0);
        c = d;
    }
    put(b, "</g>\n");
}

static void svg_names(sbuf *b, const layout *l)
{
    size_t rows = tst_coverage_raster_rows(l->r), shown = 0;
    put(b, "<g class=\"names\" text-anchor=\"end\">\n");
    for (size_t row = 0; row < rows; row += l->name_step, shown++) {
        char name[NAME_CHARS + 32];
        name_text(l, row, name, sizeof name);
        put(b, "<text class=\"name\" x=\"%d\" y=\"%.2f\">", LEFT - 6, name_baseline(l, row));
        put_escaped(b, name);
        put(b, "</text>\n");
    }
    put(b, "</g>\n");
    size_t n = tst_coverage_raster_entity_count(l->r);
    if (shown < n)
        put(b, "<text class=\"names-note\" x=\"8\" y=\"%u\" fill=\"#444\">%zu of %zu names "
               "shown</text>\n",
            l->height - 12, shown, n);
}

static void svg_axis(sbuf *b, const layout *l)
{
    tick ticks[MAX_TICKS + 2];
    size_t n = ticks_of(l, ticks);
    unsigned y = TOP + l->h;
    put(b, "<rect x=\"%d\" y=\"%d\" width=\"%u\" height=\"%u\" fill=\"none\" stroke=\"%s\"/>\n",
        LEFT, TOP, l->w, l->h, COLOURS[C_FRAME]);
    put(b, "<g class=\"axis\" text-anchor=\"middle\">\n");
    for (size_t i = 0; i < n; i++)
        put(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%u\" y2=\"%u\" stroke=\"%s\"/>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%u\">%s</text>\n",
            ticks[i].x, ticks[i].x, y, y + 5, COLOURS[C_FRAME], ticks[i].x, y + 17,
            ticks[i].text);
    put(b, "</g>\n");
}

static void svg_legend(sbuf *b, const layout *l)
{
    unsigned step = legend_step(l);
    int count = legend_count(l);
    double x = (double)l->width - RIGHT - count * step;
    unsigned y = l->height - 34;
    put(b, "<g class=\"legend\" font-size=\"%u\">\n", step >= 34 ? 9 : 7);
    for (int i = 0; i < count; i++) {
        put(b, "<rect class=\"c%d\" x=\"%.0f\" y=\"%u\" width=\"%u\" height=\"10\"/>"
               "<text x=\"%.0f\" y=\"%u\">%s</text>\n",
            legend_colour(i), x + i * step, y, step - 2, x + i * step, y + 21, LEGEND_LABELS[i]);
    }
    if (x >= 60)
        put(b, "<text x=\"%.0f\" y=\"%u\" text-anchor=\"end\">covered</text>\n", x - 6, y + 9);
    put(b, "</g>\n");
}

static int render_svg(const layout *l, uint8_t **out, size_t *len)
{
    sbuf b = {0};
    svg_head(&b, l);
    svg_title(&b, l);
    put(&b, "<g class=\"raster\" shape-rendering=\"crispEdges\">\n");
    for (size_t row = 0; row < tst_coverage_raster_rows(l->r); row++)
        svg_row(&b, l, row);
    put(&b, "</g>\n");
    svg_names(&b, l);
    svg_axis(&b, l);
    svg_legend(&b, l);
    put(&b, "</svg>\n");
    if (b.failed) {
        free(b.p);
        return tst_fail(TST_ENOMEM, "out of memory writing the coverage SVG");
    }
    *out = (uint8_t *)b.p;
    *len = b.len;
    return 0;
}

/* ---- PNG ------------------------------------------------------------------ */

static uint32_t crc32_of(const uint8_t *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t *chunk(uint8_t *p, const char *type, const uint8_t *data, uint32_t n)
{
    be32(p, n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    be32(p + 8 + n, crc32_of(p + 4, 4 + (size_t)n, 0));
    return p + 12 + n;
}

/* A zlib stream of stored deflate blocks (at most 65535 bytes each). */
static size_t zlib_stored(const uint8_t *raw, size_t n, uint8_t *out)
{
    uint8_t *p = out;
    uint32_t a = 1, b = 0;
    *p++ = 0x78;
    *p++ = 0x01;
    for (size_t off = 0; off < n || off == 0; ) {
        size_t k = n - off > 65535 ? 65535 : n - off;
        *p++ = off + k == n ? 1 : 0;
        p[0] = (uint8_t)k;
        p[1] = (uint8_t)(k >> 8);
        p[2] = (uint8_t)~k;
        p[3] = (uint8_t)(~k >> 8);
        memcpy(p + 4, raw + off, k);
        p += 4 + k;
        off += k;
        if (n == 0)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    be32(p, (b << 16) | a);
    return (size_t)(p + 4 - out);
}

static void fill_rect(uint8_t *img, const layout *l, long x0, long y0, long x1, long y1, int c)
{
    for (long y = y0 < 0 ? 0 : y0; y < y1 && y < (long)l->height; y++)
        for (long x = x0 < 0 ? 0 : x0; x < x1 && x < (long)l->width; x++)
            img[(size_t)y * (l->width + 1) + 1 + (size_t)x] = (uint8_t)c;
}

enum { START, MIDDLE, END };

/* Text in the 5x7 font, placed like SVG text: x and the anchor say where it
 * starts, is centred or ends; baseline is the bottom of the glyphs. Bold
 * draws it twice, one pixel apart. Clipped to the image. */
static void png_text(uint8_t *img, const layout *l, double x, double baseline, int anchor,
                     const char *s, unsigned scale, bool bold)
{
    long w = tst_font_text_width(s, scale) + (bold ? 1 : 0);
    long left = lround(x) - (anchor == MIDDLE ? w / 2 : anchor == END ? w : 0);
    long top = lround(baseline) - TST_FONT_H * (long)scale;
    for (int k = 0; k <= (bold ? 1 : 0); k++)
        tst_font_draw(img + 1, (size_t)l->width + 1, l->width, l->height, left + k, top, s, scale,
                      C_TEXT);
}

/* The SVG's text, in the same places: the title twice as large when it fits. */
static long png_text_width(const char *s)
{
    return tst_font_text_width(s, 1);
}

static void png_labels(uint8_t *img, const layout *l, const tick *ticks, size_t n)
{
    const char *title = tst_coverage_raster_title(l->r);
    long left = title_left(l), room = (long)l->width - left - 8;
    bool big = tst_font_text_width(title, 2) + 1 <= room;
    png_text(img, l, left, 20, START, title, big ? 2 : 1, true);
    char sub[512];
    subtitle_text(l, (long)l->width - 16, png_text_width, sub, sizeof sub);
    long sub_left = tst_font_text_width(sub, 1) <= room ? left : 8;
    png_text(img, l, sub_left, 38, START, sub, 1, false);

    size_t rows = tst_coverage_raster_rows(l->r), shown = 0;
    for (size_t row = 0; row < rows; row += l->name_step, shown++) {
        char name[NAME_CHARS + 32];
        name_text(l, row, name, sizeof name);
        png_text(img, l, LEFT - 6, name_baseline(l, row), END, name, 1, false);
    }
    size_t entities = tst_coverage_raster_entity_count(l->r);
    long step = (long)legend_step(l);
    int count = legend_count(l);
    long x = (long)l->width - RIGHT - count * step, y = (long)l->height - 34;
    if (shown < entities) {
        char note[96];
        snprintf(note, sizeof note, "%zu of %zu names shown", shown, entities);
        bool clear = 8 + tst_font_text_width(note, 1) + 6 <= x; /* else below the legend */
        png_text(img, l, 8, (double)l->height - (clear ? 12 : 3), START, note, 1, false);
    }

    unsigned axis = TOP + l->h;
    long drawn_to = -1000000; /* a label that would touch the previous one is left out */
    for (size_t i = 0; i < n; i++) {
        long w = tst_font_text_width(ticks[i].text, 1), at = lround(ticks[i].x) - w / 2;
        if (at < drawn_to + 8)
            continue;
        png_text(img, l, ticks[i].x, axis + 17, MIDDLE, ticks[i].text, 1, false);
        drawn_to = at + w;
    }

    long widest = tst_font_text_width("≤12%", 1);
    for (int i = 0; i < count; i++)
        if (step - 2 >= widest || i % 2 == 0) /* too narrow for all: every other one */
            png_text(img, l, (double)(x + i * step), y + 21, START, LEGEND_LABELS[i], 1, false);
    if (x >= 60)
        png_text(img, l, x - 6, y + 9, END, "covered", 1, false);
}

static void draw_png(uint8_t *img, const layout *l)
{
    size_t rows = tst_coverage_raster_rows(l->r), cols = tst_coverage_raster_cols(l->r);
    const double *f = tst_coverage_raster_fractions(l->r);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            fill_rect(img, l, lround(col_x(l, c)), lround(row_y(l, r)), lround(col_x(l, c + 1)),
                      lround(row_y(l, r + 1)), class_of(f[r * cols + c]));
    long t = TOP, bot = TOP + (long)l->h, left = LEFT, right = LEFT + (long)l->w;
    fill_rect(img, l, left - 1, t - 1, right + 1, t, C_FRAME);
    fill_rect(img, l, left - 1, bot, right + 1, bot + 1, C_FRAME);
    fill_rect(img, l, left - 1, t, left, bot, C_FRAME);
    fill_rect(img, l, right, t, right + 1, bot, C_FRAME);
    tick ticks[MAX_TICKS + 2];
    size_t n = ticks_of(l, ticks);
    for (size_t i = 0; i < n; i++)
        fill_rect(img, l, lround(ticks[i].x), bot, lround(ticks[i].x) + 1, bot + 6, C_FRAME);
    long step = (long)legend_step(l);
    int count = legend_count(l);
    long x = (long)l->width - RIGHT - count * step, y = (long)l->height - 34;
    for (int i = 0; i < count; i++)
        fill_rect(img, l, x + i * step, y, x + i * step + step - 2, y + 10, legend_colour(i));
    png_labels(img, l, ticks, n);
}

static int render_png(const layout *l, uint8_t **out, size_t *len)
{
    size_t stride = (size_t)l->width + 1, raw_len = stride * l->height;
    size_t z_cap = raw_len + 5 * (raw_len / 65535 + 1) + 6;
    uint8_t *raw = calloc(raw_len, 1), *z = malloc(z_cap);
    uint8_t *png = malloc(z_cap + 8 + 4 * 12 + 13 + 3 * N_COLOURS); /* 4 chunks */
    if (!raw || !z || !png) {
        free(raw), free(z), free(png);
        return tst_fail(TST_ENOMEM, "out of memory writing a %ux%u PNG", l->width, l->height);
    }
    draw_png(raw, l); /* row filter bytes stay 0 (None); colour 0 is the background */
    size_t zn = zlib_stored(raw, raw_len, z);
    uint8_t ihdr[13] = {0}, plte[3 * N_COLOURS];
    size_t plte_len = 3 * (size_t)l->colours;
    be32(ihdr, l->width);
    be32(ihdr + 4, l->height);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 3; /* palette */
    for (int c = 0; c < l->colours; c++) {
        unsigned v = (unsigned)strtoul(COLOURS[c] + 1, NULL, 16);
        plte[3 * c] = (uint8_t)(v >> 16), plte[3 * c + 1] = (uint8_t)(v >> 8),
        plte[3 * c + 2] = (uint8_t)v;
    }
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    uint8_t *p = chunk(png + 8, "IHDR", ihdr, 13);
    p = chunk(p, "PLTE", plte, (uint32_t)plte_len);
    p = chunk(p, "IDAT", z, (uint32_t)zn);
    p = chunk(p, "IEND", NULL, 0);
    free(raw);
    free(z);
    *out = png;
    *len = (size_t)(p - png);
    return 0;
}

int tst_coverage_raster_render(const tst_coverage_raster *r, tst_plot_format format,
                               uint8_t **out, size_t *len)
{
    if (!r || !out || !len)
        return tst_fail(TST_EINVAL, "coverage plot: raster or output is NULL");
    if (format != TST_PLOT_SVG && format != TST_PLOT_PNG)
        return tst_fail(TST_EINVAL, "coverage plot: unknown picture format %d (SVG or PNG)",
                        (int)format);
    layout l;
    layout_of(r, &l);
    return format == TST_PLOT_SVG ? render_svg(&l, out, len) : render_png(&l, out, len);
}

int tst_table_coverage_plot(tst_table *table, const tst_coverage_plot_options *opts,
                            tst_plot_format format, uint8_t **out, size_t *len)
{
    tst_coverage_raster *r = NULL;
    int rc = tst_table_coverage_raster(table, opts, &r);
    if (rc == 0)
        rc = tst_coverage_raster_render(r, format, out, len);
    tst_coverage_raster_free(r);
    return rc;
}
