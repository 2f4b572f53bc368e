"""`tstable coverage --plot FILE.svg|FILE.png`: the picture of a table's
coverage (docs/guide/coverage-plot.md). The SVG is parsed with xml.etree and
its rows and labels counted; the PNG is decoded here with zlib and struct
(signature, chunk CRCs, size, palette and a few pixels, and where its text
is: pixels of the text colour inside each label's box, none where no label
is); errors for an
unknown extension and an unwritable path are goldens."""
import struct
import xml.etree.ElementTree as ET
import zlib

from test_cli import make_bars

SVG = "{http://www.w3.org/2000/svg}"


def decode_png(data: bytes):
    """(width, height, rows of palette indices, palette) of an 8-bit palette PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + n
    assert pos == len(data) and b"IEND" in chunks
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) == (8, 3, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    assert len(raw) == h * (w + 1)
    rows = []
    for y in range(h):
        line = raw[y * (w + 1):(y + 1) * (w + 1)]
        assert line[0] == 0  # filter None
        rows.append(line[1:])
    plte = chunks[b"PLTE"]
    palette = [plte[i:i + 3].hex() for i in range(0, len(plte), 3)]
    return w, h, rows, palette


TEXT = "222222"  # the text colour; the 5x7 font: 6 px a character, 7 px tall
LEFT, TOP, RIGHT = 170, 54, 24


def text_pixels(png, x0, y0, x1, y1):
    """Pixels of the text colour in [x0, x1) x [y0, y1)."""
    w, h, rows, palette = png
    return sum(palette[rows[y][x]] == TEXT for y in range(max(y0, 0), min(y1, h))
               for x in range(max(x0, 0), min(x1, w)))


def text_width(s, scale=1):
    return (6 * len(s) - 1) * scale


def test_the_svg_has_one_row_per_entity_labels_ticks_and_a_legend(cli):
    make_bars(cli)
    cli.ok("coverage", "--table", "bars", "--plot", "c.svg")
    root = ET.parse(cli.tmp / "c.svg").getroot()
    assert root.tag == SVG + "svg" and root.get("width") == "1000"
    rows = root.findall(f".//{SVG}g[@class='row']")
    assert [(r.get("data-first"), r.get("data-count")) for r in rows] == [("0", "1"), ("1", "1")]
    names = [t.text for t in root.iter(SVG + "text") if t.get("class") == "name"]
    assert names == ["AMD", "NVDA"]
    title = [t.text for t in root.iter(SVG + "text") if t.get("class") == "title"]
    assert title == ["coverage of bars"]
    assert len([t for t in root.iter(SVG + "text") if t.get("class") == "tick"]) >= 2
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert len(legend.findall(SVG + "rect")) == 9
    # AMD's 03:00 and 04:00 are missing: its row holds a gap rectangle
    assert any(r.get("class") == "c3" for r in rows[0])


def test_an_entity_filter_keeps_the_rows_asked_for(cli):
    make_bars(cli)
    cli.ok("coverage", "--table", "bars", "--plot", "a.svg", "--entity", "symbol=AMD",
           "--start", "2024-06-01", "--end", "2024-06-01T08:00:00Z")
    root = ET.parse(cli.tmp / "a.svg").getroot()
    assert len(root.findall(f".//{SVG}g[@class='row']")) == 1
    row = root.find(f".//{SVG}g[@class='row']")
    # 8 hourly buckets: 00-02 covered, 03-04 a gap, 05-06 covered, 07 a gap
    assert [r.get("class") for r in row] == ["c11", "c3", "c11", "c3"]
    widths = [float(r.get("width")) for r in row]
    assert abs(widths[0] / widths[1] - 1.5) < 1e-6


def test_the_png_decodes_to_the_asked_size_with_the_expected_colours(cli):
    make_bars(cli)
    cli.ok("coverage", "--table", "bars", "--plot", "c.png", "--entity", "symbol=AMD",
           "--start", "2024-06-01", "--end", "2024-06-01T08:00:00Z", "--width", "418",
           "--height", "200")
    w, h, rows, palette = decode_png((cli.tmp / "c.png").read_bytes())
    assert (w, h) == (418, 200)
    # plot area: x 170..394 (224 px, 28 per bucket), y 54..126
    colour = lambda x, y: palette[rows[y][x]]
    assert colour(5, 5) == "ffffff"
    assert colour(170 + 14, 90) == "08306b"       # 00:00, covered
    assert colour(170 + 28 * 3 + 14, 90) == "f28e2b"  # 03:00, the gap
    assert colour(170 + 28 * 5 + 14, 90) == "08306b"  # 05:00
    assert colour(169, 90) == "888888"            # the frame


def test_the_png_carries_the_title_names_ticks_and_legend_labels(cli):
    make_bars(cli)
    cli.ok("coverage", "--table", "bars", "--plot", "c.png")
    png = decode_png((cli.tmp / "c.png").read_bytes())
    w, h, rows, palette = png
    assert (w, h) == (1000, 168) and palette[2] == TEXT
    # the title, twice the font's size and bold, from x 170 with its baseline at y 20
    title = text_width("coverage of bars", 2) + 1
    assert text_pixels(png, LEFT, 6, LEFT + title, 20) > 300
    assert text_pixels(png, 0, 0, LEFT, 24) == 0 and text_pixels(png, LEFT + title, 0, w, 24) == 0
    # the subtitle below it (baseline 38)
    assert text_pixels(png, LEFT, 31, LEFT + 300, 38) > 100
    # names end 6 px left of the plot, one per row (20 px rows): each exactly as wide as its text
    for name, top in (("AMD", 61), ("NVDA", 81)):
        x0 = LEFT - 6 - text_width(name)
        assert text_pixels(png, x0, top, LEFT - 6, top + 7) > 10, name
        assert text_pixels(png, x0, top, x0 + 1, top + 7) > 0, name  # its first column
        assert text_pixels(png, 0, top, x0, top + 7) == 0, name
    # no text over the raster
    assert text_pixels(png, LEFT, TOP, w - RIGHT, 94) == 0
    # tick labels under the axis (baseline 94 + 17)
    assert text_pixels(png, LEFT - 40, 104, w, 111) > 50
    # legend: a label under each of the nine swatches, and "covered" before them
    step, x, y = 38, w - RIGHT - 9 * 38, h - 34
    for i in range(9):
        assert palette[rows[y + 5][x + i * step + 5]] != TEXT
        assert text_pixels(png, x + i * step, y + 14, x + (i + 1) * step - 2, y + 21) > 5, i
    assert text_pixels(png, x - 6 - text_width("covered"), y + 2, x - 6, y + 9) > 20


def test_png_text_at_a_narrow_picture_is_clipped_at_its_edge(cli):
    name = "a_table_whose_folder_name_is_far_too_long_for_the_picture"
    make_bars(cli, name)
    cli.ok("coverage", "--table", name, "--plot", "n.png", "--width", "240", "--height", "140")
    png = decode_png((cli.tmp / "n.png").read_bytes())  # filter bytes all 0: nothing spilled
    w, h, rows, palette = png
    assert (w, h) == (240, 140)
    # the title does not fit at twice the size: drawn at 1x (bold) from x 8, cut at the edge
    assert text_pixels(png, 8, 13, 20, 20) > 0 and text_pixels(png, 0, 0, 8, 24) == 0
    assert text_pixels(png, 0, 0, w, 13) == 0
    assert text_pixels(png, w - 8, 13, w, 20) > 0
    # the subtitle too; and the names still end 6 px left of the plot
    assert text_pixels(png, w - 8, 31, w, 38) > 0
    plot_bottom = h - 74  # a plot area of 12 px
    assert text_pixels(png, LEFT - 6, TOP, LEFT, plot_bottom) == 0
    assert text_pixels(png, 0, TOP, LEFT - 6, plot_bottom) > 0


def test_more_entities_than_pixel_rows_share_rows(cli):
    cli.ok("create", "--table", "many", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    lines = ["ts,symbol,v"] + [f"2024-06-01T{e % 24:02d}:00:00Z,E{e:04d},1" for e in range(300)]
    (cli.tmp / "m.csv").write_text("\n".join(lines) + "\n")
    cli.ok("append", "--table", "many", "--csv", "m.csv")
    cli.ok("coverage", "--table", "many", "--plot", "m.svg", "--height", "228")
    root = ET.parse(cli.tmp / "m.svg").getroot()
    rows = root.findall(f".//{SVG}g[@class='row']")
    assert len(rows) == 100  # 228 - 128 pixels of plot
    assert sum(int(r.get("data-count")) for r in rows) == 300
    names = [t for t in root.iter(SVG + "text") if t.get("class") == "name"]
    assert len(names) == 9 and names[0].text == "E0000 +2"  # one per 11 px, every 12th row
    note = [t.text for t in root.iter(SVG + "text") if t.get("class") == "names-note"]
    assert note == ["9 of 300 names shown"]
    subtitle = [t.text for t in root.iter(SVG + "text") if t.get("class") == "subtitle"][0]
    assert "each row aggregates 3" in subtitle and "300 entities" in subtitle
    # the PNG thins names the same way: 9 labels, bands of text rows left of the plot
    cli.ok("coverage", "--table", "many", "--plot", "m.png", "--height", "228")
    png = decode_png((cli.tmp / "m.png").read_bytes())
    inked = [text_pixels(png, 0, y, LEFT, y + 1) > 0 for y in range(TOP - 4, TOP + 104)]
    assert sum(a and not b for a, b in zip(inked, [False] + inked)) == 9
    first = text_width("E0000 +2")
    assert text_pixels(png, LEFT - 6 - first, TOP, LEFT - 6, TOP + 11) > 20
    assert text_pixels(png, 0, TOP, LEFT - 6 - first, TOP + 11) == 0
    # the note that says so, bottom left (baseline h - 12)
    assert text_pixels(png, 8, 228 - 19, 8 + text_width("9 of 300 names shown"), 228 - 12) > 40


def test_help_shows_the_plot_options(cli):
    # the full text is the golden help_coverage.stdout (test_cli.py)
    out = cli("coverage", "--help").stdout
    assert "--plot FILE" in out and "--width PX" in out and "--plot coverage.svg" in out


def test_an_unknown_extension_is_refused_before_opening_the_table(cli, golden):
    golden("coverage_plot_err_extension", cli("coverage", "--table", "nope", "--plot", "c.jpg"))
    assert not (cli.tmp / "c.jpg").exists()


def test_an_unwritable_path_names_the_path(cli, golden):
    make_bars(cli)
    golden("coverage_plot_err_unwritable",
           cli("coverage", "--table", "bars", "--plot", "no/such/dir/c.svg"))


def test_width_without_plot_and_bad_pixels_are_usage_errors(cli, golden):
    make_bars(cli)
    golden("coverage_plot_err_width_alone", cli("coverage", "--table", "bars", "--width", "500"))
    golden("coverage_plot_err_too_small", cli("coverage", "--table", "bars", "--plot", "c.svg",
                                             "--width", "100"))


def test_the_guide_shell_example_runs_and_draws_what_it_says(cli):
    import re
    import shlex
    from conftest import REPO
    guide = (REPO / "docs" / "guide" / "coverage-plot.md").read_text()
    (commands,) = re.findall(r"```sh\n(.*?)```", guide, re.S)
    files = dict(re.findall(r"`([\w.]+\.csv)`:\n\n```csv\n(.*?)```", guide, re.S))
    for name, text in files.items():
        (cli.tmp / name).write_text(text)
    for line in commands.splitlines():
        r = cli(*shlex.split(line)[1:])
        assert r.code == 0 and r.stderr == "", line
    root = ET.parse(cli.tmp / "coverage.svg").getroot()
    assert [t.text for t in root.iter(SVG + "text") if t.get("class") == "name"] == \
        ["AAPL", "NVDA"]
    w, h, rows, palette = decode_png((cli.tmp / "nvda.png").read_bytes())
    assert (w, h) == (800, 168)
    hour = lambda h: palette[rows[70][170 + int((h + 0.5) * 606 / 24)]]
    assert [hour(h) for h in (0, 9, 10, 11, 13, 14, 23)] == \
        ["f28e2b", "08306b", "08306b", "f28e2b", "08306b", "08306b", "f28e2b"]


def test_long_and_non_ascii_names_are_cut_between_characters_and_escaped(cli):
    cli.ok("create", "--table", "n", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    long_name = "Zürich<&>" + "é" * 30
    (cli.tmp / "n.csv").write_text(f"ts,symbol,v\n2024-06-01T00:00:00Z,\"{long_name}\",1\n",
                                   encoding="utf-8")
    cli.ok("append", "--table", "n", "--csv", "n.csv")
    cli.ok("coverage", "--table", "n", "--plot", "n.svg")
    root = ET.parse(cli.tmp / "n.svg").getroot()  # well-formed despite < & >
    (name,) = [t.text for t in root.iter(SVG + "text") if t.get("class") == "name"]
    assert name.startswith("Zürich<&>é") and name.endswith("...")
    assert long_name.startswith(name[:-3]) and len(name.encode()) <= 24
    # the PNG draws the same cut name, a character a glyph (é as a box): 17 glyphs wide
    cli.ok("coverage", "--table", "n", "--plot", "n.png")
    png = decode_png((cli.tmp / "n.png").read_bytes())
    x0 = LEFT - 6 - text_width(name)
    assert len(name) == 17
    assert text_pixels(png, x0, TOP, x0 + 1, TOP + 40) > 0
    assert text_pixels(png, 0, TOP, x0, TOP + 40) == 0
