"""Vietnamese text as people type it, reduced to one comparable key.

Labels, headers and unit names are compared by :func:`key`: Unicode NFC (NFD cells occur),
case folding, whitespace collapsed (including no-break and zero-width spaces), superscript
footnote markers removed ("trở lên³"), and the old and new tone-mark placements unified
("hoà" = "hòa", "uỷ" = "ủy", "thuỷ" = "thủy", "khoá" = "khóa"). Spelling variants that are
words of their own ("Quý" / "Quí") are not guessed here: the catalog lists them as aliases.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# superscript digits and signs, daggers, and "(*)" style markers stuck to words
_FOOTNOTES = re.compile(r"[\u00b9\u00b2\u00b3\u2070-\u209f\u2020\u2021]+|\(\*+\)|\*+")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")
_SPACE_AROUND_PUNCT = re.compile(r"\s*([,.;:()\[\]/\-\u2013\u2014])\s*")

# Tone marks as combining characters (after NFD): grave, acute, tilde, hook above, dot below.
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _move_tone(decomposed: str) -> str:
    """Move a tone from the last vowel of a final "oa", "oe", "uy" onto the first one.

    In an open syllable ending in "oa", "oe" or "uy" the old style puts the tone on the second
    vowel ("hoà", "uỷ"), the new style on the first ("hòa", "ủy"); the key uses the new style.
    After "q" the "u" belongs to the onset ("quý" is written one way), so it is left alone.
    Works on casefolded NFD text, where each base letter is followed by its marks; only a
    base vowel directly followed by a tone (no other mark) can be affected.
    """
    out = []
    i = 0
    n = len(decomposed)
    while i < n:
        ch = decomposed[i]
        if (
            ch in "ou"
            and i + 2 < n
            and decomposed[i + 1] in ("ae" if ch == "o" else "y")
            and decomposed[i + 2] in _TONES
            and (i == 0 or decomposed[i - 1] != "q")
            and (i + 3 >= n or not decomposed[i + 3].isalpha())
            and (i + 3 >= n or unicodedata.combining(decomposed[i + 3]) == 0)
        ):
            out.append(ch + decomposed[i + 2] + decomposed[i + 1])
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def clean(text: object) -> str:
    """Readable form of a cell: NFC, footnote markers gone, single spaces, trimmed."""
    if text is None:
        return ""
    return _clean(text if isinstance(text, str) else str(text))


@lru_cache(maxsize=1 << 16)
def _clean(text: str) -> str:
    value = unicodedata.normalize("NFC", text)
    value = _FOOTNOTES.sub("", value)
    value = _SPACES.sub(" ", value).strip()
    value = _SPACE_BEFORE_PUNCT.sub(r"\1", value)
    return _SPACE_AFTER_OPEN.sub(r"\1", value)


def key(text: object) -> str:
    """The comparison key: ``key("UBND xã MỸ HOÀ³") == key("ubnd xã mỹ hòa")``."""
    return _key(text if isinstance(text, str) else "" if text is None else str(text))


@lru_cache(maxsize=1 << 16)
def _key(text: str) -> str:
    value = _SPACE_AROUND_PUNCT.sub(r"\1", clean(text).casefold())
    if not value.isascii():
        value = unicodedata.normalize("NFC", _move_tone(unicodedata.normalize("NFD", value)))
    return value


def strip_prefix(value_key: str, prefixes: tuple[str, ...]) -> str:
    """``value_key`` without the first of ``prefixes`` (keys) it starts with, as a word."""
    for prefix in prefixes:
        if value_key == prefix:
            return ""
        if value_key.startswith(prefix + " "):
            return value_key[len(prefix) + 1 :]
    return value_key
