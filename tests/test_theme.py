"""Colours: every text colour readable on the white background (>= 4.5:1), every line colour visible
(>= 3:1), and every pair of models told apart by more than one cue."""

import itertools

import pytest

from rnnviz.figures import equations, theme


def test_contrast_matches_known_wcag_values():
    assert theme.contrast("#000000") == pytest.approx(21.0)
    assert theme.contrast("#FFFFFF") == pytest.approx(1.0)
    assert theme.contrast("#777777") == pytest.approx(4.48, abs=0.01)  # the classic just-failing grey
    # the mark colours the issue measured as unreadable text
    for name, ratio in (("input", 2.31), ("c", 2.25), ("reset", 2.13), ("new", 2.82)):
        assert theme.contrast(theme.COLORS[name]) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("name", sorted(theme.TEXT_COLORS))
def test_every_text_colour_reads_on_the_background(name):
    assert theme.contrast(theme.TEXT_COLORS[name], theme.BACKGROUND) >= 4.5


@pytest.mark.parametrize("name", sorted(theme.LINE_COLORS))
def test_every_line_colour_is_visible_on_the_background(name):
    assert theme.contrast(theme.LINE_COLORS[name], theme.BACKGROUND) >= 3.0


@pytest.mark.parametrize("kind", sorted(theme.MODEL_COLORS))
def test_model_colours_work_as_lines_and_their_text_shades_as_text(kind):
    assert theme.contrast(theme.MODEL_COLORS[kind]) >= 3.0
    assert theme.contrast(theme.MODEL_TEXT_COLORS[kind]) >= 4.5


def test_shades_keep_the_hue_and_leave_readable_colours_alone():
    assert theme.readable("#0072B2", 4.5) == "#0072B2"  # 5.2:1 already
    dark = theme.readable(theme.COLORS["c"], 4.5)
    r, g, b = (int(dark[i : i + 2], 16) for i in (1, 3, 5))
    r0, g0, b0 = (int(theme.COLORS["c"][i : i + 2], 16) for i in (1, 3, 5))
    assert (r / r0) == pytest.approx(g / g0, abs=0.02) and b == b0 == 0  # scaled towards black: same hue
    assert theme.contrast(dark) < theme.contrast(theme.readable(theme.COLORS["c"], 7.0))  # only as dark as needed


def test_every_pair_of_models_differs_in_colour_dash_and_marker():
    for a, b in itertools.combinations(theme.MODEL_COLORS, 2):
        assert theme.MODEL_COLORS[a] != theme.MODEL_COLORS[b]
        assert theme.MODEL_DASH[a] != theme.MODEL_DASH[b]
        assert theme.MODEL_SYMBOLS[a] != theme.MODEL_SYMBOLS[b]


def test_equations_use_the_readable_text_shades():
    for name, tex in equations._TEX.items():
        assert tex == rf"\color{{{theme.TEXT_COLORS[name]}}}"
    assert set(equations._TEX) >= {"input", "forget", "cell", "output", "c", "h", "reset", "update", "new"}
