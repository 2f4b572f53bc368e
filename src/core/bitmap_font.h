/*
 * bitmap_font.h — a 5x7 pixel font for the PNG coverage picture
 * (coverage_plot.c), so the PNG carries the same text as the SVG without a
 * font file or a dependency.
 *
 * Glyphs are 5 columns of 7 rows in a 6-pixel advance, drawn at an integer
 * scale. Printable ASCII has a glyph each; of the rest, the three the
 * picture itself writes (≤, ·, –) have one, and any other character (a UTF-8
 * sequence, or a control byte) is drawn as a hollow box. Text is clipped to
 * the image: nothing is written outside it.
 */
#ifndef TST_BITMAP_FONT_H
#define TST_BITMAP_FONT_H

#include <stddef.h>
#include <stdint.h>

enum { TST_FONT_W = 5, TST_FONT_H = 7, TST_FONT_ADVANCE = 6 };

/* The glyph of a Unicode code point: TST_FONT_W column bytes, bit k of a
 * column is row k from the top. Never NULL: unknown code points get the box. */
const uint8_t *tst_font_glyph(uint32_t codepoint);

/* The code point at *s (UTF-8; a malformed byte counts as one unknown
 * character) and the bytes it takes, at least 1 unless *s is NUL. */
size_t tst_font_next(const char *s, uint32_t *codepoint);

/* Width in pixels of s drawn at this scale (no trailing gap). */
long tst_font_text_width(const char *s, unsigned scale);

/* Draws s with its top-left corner at (x, y), in colour, into an image of
 * width x height one-byte pixels whose rows are stride bytes apart (pixels
 * starts at (0, 0)). Pixels outside the image are skipped. Returns the
 * number of pixels set. */
size_t tst_font_draw(uint8_t *pixels, size_t stride, unsigned width, unsigned height, long x,
                     long y, const char *s, unsigned scale, uint8_t colour);

#endif
