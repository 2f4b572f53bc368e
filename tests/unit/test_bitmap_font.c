/*
 * test_bitmap_font.c — the PNG coverage picture's 5x7 font (bitmap_font.h):
 * every printable ASCII glyph but space has pixels and fits its 5x7 cell,
 * glyphs differ where the picture needs them to (digits, letters), UTF-8 is
 * decoded one character at a time (unknown ones as the box), widths add up,
 * and the drawer writes only inside the image: text hanging over each edge
 * sets exactly the pixels an unclipped drawing puts inside, and the guard
 * bytes around the image (and the row padding) stay untouched.
 */
#include "testsupport.h"

#include "bitmap_font.h"

#include <stdlib.h>
#include <string.h>

static int pixels_of(const uint8_t *g)
{
    int n = 0;
    for (int c = 0; c < TST_FONT_W; c++)
        for (int r = 0; r < 8; r++)
            n += g[c] >> r & 1;
    return n;
}

static void every_printable_ascii_glyph_but_space_has_pixels_inside_its_cell(void **state)
{
    (void)state;
    assert_int_equal(pixels_of(tst_font_glyph(' ')), 0);
    for (uint32_t ch = 0x21; ch <= 0x7E; ch++) {
        const uint8_t *g = tst_font_glyph(ch);
        assert_true(pixels_of(g) > 0);
        for (int c = 0; c < TST_FONT_W; c++)
            assert_int_equal(g[c] & 0x80, 0); /* row 7 is outside the 7-row cell */
    }
    /* distinct glyphs for every printable character (each reads as itself) */
    for (uint32_t a = 0x20; a <= 0x7E; a++)
        for (uint32_t b = a + 1; b <= 0x7E; b++)
            assert_memory_not_equal(tst_font_glyph(a), tst_font_glyph(b), TST_FONT_W);
}

static void other_characters_are_the_box_except_the_three_the_picture_writes(void **state)
{
    (void)state;
    const uint8_t *box = tst_font_glyph(0x4E2D); /* 中 */
    assert_true(pixels_of(box) > 0);
    assert_memory_equal(tst_font_glyph(0x00), box, TST_FONT_W);
    assert_memory_equal(tst_font_glyph(0x7F), box, TST_FONT_W);
    assert_memory_equal(tst_font_glyph(0xE9), box, TST_FONT_W); /* é */
    uint32_t own[] = {0x2264, 0x00B7, 0x2013};                  /* ≤ · – */
    for (size_t i = 0; i < 3; i++) {
        assert_true(pixels_of(tst_font_glyph(own[i])) > 0);
        assert_memory_not_equal(tst_font_glyph(own[i]), box, TST_FONT_W);
    }
}

static void utf8_is_read_one_character_at_a_time(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(tst_font_next("", &cp), 0);
    assert_int_equal(tst_font_next("A", &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(tst_font_next("é", &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(tst_font_next("≤", &cp), 3);
    assert_int_equal(cp, 0x2264);
    assert_int_equal(tst_font_next("\xF0\x9F\x98\x80", &cp), 4); /* an emoji */
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(tst_font_next("\x80x", &cp), 1); /* a stray continuation byte */
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(tst_font_next("\xE2\x89", &cp), 2); /* cut short by the end */
    assert_int_equal(cp, 0xFFFD);
    /* widths count characters, not bytes: 6 px each, no gap after the last */
    assert_int_equal(tst_font_text_width("", 1), 0);
    assert_int_equal(tst_font_text_width("A", 1), 5);
    assert_int_equal(tst_font_text_width("ab", 1), 11);
    assert_int_equal(tst_font_text_width("≤12%", 1), 23);
    assert_int_equal(tst_font_text_width("né中", 2), 34);
}

enum { W = 40, H = 20, GUARD = 64, STRIDE = W + 1 };

/* An image with a padding byte per row (like a PNG row's filter byte) and
 * guard bytes on both sides, all 0xAA; the image itself starts at 0. */
typedef struct canvas {
    uint8_t mem[GUARD + H * STRIDE + GUARD];
} canvas;

static uint8_t *pixels(canvas *c)
{
    return c->mem + GUARD;
}

static void canvas_init(canvas *c)
{
    memset(c->mem, 0xAA, sizeof c->mem);
    for (int y = 0; y < H; y++)
        memset(pixels(c) + y * STRIDE, 0, W);
}

static void outside_untouched(canvas *c)
{
    for (size_t i = 0; i < GUARD; i++) {
        assert_int_equal(c->mem[i], 0xAA);
        assert_int_equal(c->mem[GUARD + H * STRIDE + i], 0xAA);
    }
    for (int y = 0; y < H; y++)
        assert_int_equal(pixels(c)[y * STRIDE + W], 0xAA);
}

/* The same text drawn unclipped into a big image, then counted inside the
 * W x H window at (ox, oy). */
static size_t reference_count(long x, long y, const char *s, unsigned scale, uint8_t *window)
{
    enum { BW = 400, BH = 120, OX = 150, OY = 50 };
    uint8_t *big = calloc(BW * BH, 1);
    assert_non_null(big);
    size_t all = tst_font_draw(big, BW, BW, BH, OX + x, OY + y, s, scale, 7);
    (void)all;
    size_t n = 0;
    for (int yy = 0; yy < H; yy++)
        for (int xx = 0; xx < W; xx++) {
            window[yy * W + xx] = big[(OY + yy) * BW + OX + xx];
            n += window[yy * W + xx] == 7;
        }
    free(big);
    return n;
}

static void text_over_every_edge_is_clipped_to_the_image(void **state)
{
    (void)state;
    struct {
        long x, y;
        const char *s;
        unsigned scale;
    } cases[] = {
        {-8, 3, "left edge", 1},       {30, 5, "right edge runs on", 1},
        {2, -4, "Top", 1},             {3, 16, "Bottom", 1},
        {-20, -9, "ALL WAYS OUT!", 2}, {-1000, 5, "far left", 1},
        {5, 5, "é中≤·–", 2},           {38, 18, "corner", 3},
        {50, 5, "past the right", 1},  {5, 30, "below", 1},
        {37, 2, "W", 2},               {36, 8, "MM", 1}, /* a glyph across the right edge */
        {-3, 15, "Hg", 2},                               /* across the left and bottom */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        canvas c;
        canvas_init(&c);
        uint8_t want[W * H];
        size_t expected = reference_count(cases[i].x, cases[i].y, cases[i].s, cases[i].scale, want);
        size_t set = tst_font_draw(pixels(&c), STRIDE, W, H, cases[i].x, cases[i].y, cases[i].s,
                                   cases[i].scale, 7);
        assert_int_equal(set, expected);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                assert_int_equal(pixels(&c)[y * STRIDE + x], want[y * W + x]);
        outside_untouched(&c);
    }
}

static void a_glyph_lands_where_it_is_drawn_and_scales_by_whole_pixels(void **state)
{
    (void)state;
    canvas c;
    canvas_init(&c);
    /* 'I' is the column 0x41,0x7F,0x41 in columns 1..3: its stem is column 2 */
    size_t set = tst_font_draw(pixels(&c), STRIDE, W, H, 10, 4, "I", 2, 3);
    assert_int_equal(set, (size_t)pixels_of(tst_font_glyph('I')) * 4);
    for (int y = 4; y < 4 + 14; y++) /* the stem, 2 px wide, 14 px tall */
        assert_true(pixels(&c)[y * STRIDE + 14] == 3 && pixels(&c)[y * STRIDE + 15] == 3);
    assert_int_equal(pixels(&c)[3 * STRIDE + 14], 0);
    assert_int_equal(pixels(&c)[18 * STRIDE + 14], 0);
    assert_int_equal(pixels(&c)[4 * STRIDE + 10], 0); /* column 0 of 'I' is empty */
    /* space draws nothing; an empty string draws nothing */
    assert_int_equal(tst_font_draw(pixels(&c), STRIDE, W, H, 0, 0, "   ", 1, 3), 0);
    assert_int_equal(tst_font_draw(pixels(&c), STRIDE, W, H, 0, 0, "", 1, 3), 0);
    outside_untouched(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_printable_ascii_glyph_but_space_has_pixels_inside_its_cell),
        cmocka_unit_test(other_characters_are_the_box_except_the_three_the_picture_writes),
        cmocka_unit_test(utf8_is_read_one_character_at_a_time),
        cmocka_unit_test(text_over_every_edge_is_clipped_to_the_image),
        cmocka_unit_test(a_glyph_lands_where_it_is_drawn_and_scales_by_whole_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
