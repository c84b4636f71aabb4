"""Text that every plot can draw: a list of font families with wide Unicode coverage (DejaVu Sans, which ships with
matplotlib, first; CJK, emoji and symbol fonts where installed), and any character that none of them has replaced by
a visible box, so a task named in any script renders without a console warning about missing glyphs."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

# in order of preference; those not installed are left out
FAMILIES = (
    "DejaVu Sans",
    "Noto Sans",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
    "Noto Emoji",
    "Symbola",
)
MISSING = "\u25a1"  # WHITE SQUARE, in DejaVu Sans: what a character no installed font has becomes


@functools.cache
def families() -> tuple[str, ...]:
    """The families of FAMILIES that are installed (DejaVu Sans always is: matplotlib ships it)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return tuple(f for f in FAMILIES if f in installed) or ("DejaVu Sans",)


@functools.cache
def coverage() -> frozenset[int]:
    """The code points that one of the families can draw."""
    points: set[int] = set()
    for family in families():
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        points.update(FT2Font(path).get_charmap())
    return frozenset(points)


def drawable(text: str) -> str:
    """The text with every character that no family covers (control characters aside) replaced by MISSING."""
    if text.isascii():
        return text
    have = coverage()
    return "".join(c if ord(c) in have or c in "\n\t" else MISSING for c in text)


@contextmanager
def plot_fonts() -> Iterator[None]:
    """Draw with the families, each character from the first that has it (matplotlib's font fallback)."""
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": list(families())}):
        yield
