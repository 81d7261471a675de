"""Text typed in the legacy 8-bit Vietnamese fonts, read back as Unicode.

Old government spreadsheets were typed in TCVN3 (ABC, fonts ".VnTime", ".VnArial") or VNI
("VNI-Times") fonts: the file stores Latin-1 characters that only the font draws as Vietnamese,
so a Unicode reader sees mojibake ("TrËt tù ch÷ c¸i" for "Trật tự chữ cái"). Such a cell is
detected by characters that Vietnamese Unicode text never contains; it is converted only when
the conversion is certain: exactly one of the two tables explains every such character and
yields real Vietnamese syllables. Anything else is left to the caller to reject.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TCVN3 = "tcvn3"
VNI = "vni"
NAMES = {TCVN3: "TCVN3 (ABC, phông .VnTime)", VNI: "VNI (phông VNI-Times)"}

# TCVN3 (ABC): one byte per letter; uppercase letters with tone marks have no code of their
# own (the ".VnTimeH" fonts draw the lowercase codes as capitals).
_TCVN3_PAIRS = (
    "àµ á¸ ả¶ ã· ạ¹ ă¨ ằ» ắ¾ ẳ¼ ẵ½ ặÆ â© ầÇ ấÊ ẩÈ ẫÉ ậË đ® èÌ éÐ ẻÎ ẽÏ ẹÑ êª ềÒ ếÕ ểÓ ễÔ ệÖ "
    "ì× íÝ ỉØ ĩÜ ịÞ òß óã ỏá õâ ọä ô« ồå ốè ổæ ỗç ộé ơ¬ ờê ớí ởë ỡì ợî ùï úó ủñ ũò ụô "
    "ư\u00ad ừõ ứø ửö ữ÷ ựù ỳú ýý ỷû ỹü ỵþ Ă¡ Â¢ Đ§ Ê£ Ô¤ Ơ¥ Ư¦"
)
TCVN3_TO_UNICODE = {pair[1]: pair[0] for pair in _TCVN3_PAIRS.split()}

# VNI: a base letter followed by a mark character; a few letters are one character.
_VNI_PAIRS = (
    "áaù àaø ảaû ãaõ ạaï âaâ ấaá ầaà ẩaå ẫaã ậaä ăaê ắaé ằaè ẳaú ẵaü ặaë "
    "éeù èeø ẻeû ẽeõ ẹeï êeâ ếeá ềeà ểeå ễeã ệeä "
    "óoù òoø ỏoû õoõ ọoï ôoâ ốoá ồoà ổoå ỗoã ộoä ớôù ờôø ởôû ỡôõ ợôï "
    "úuù ùuø ủuû ũuõ ụuï ứöù ừöø ửöû ữöõ ựöï ýyù ỳyø ỷyû ỹyõ"
)
_VNI_SINGLE = "íí ìì ỉæ ĩó ịò ơô ưö ỵî đñ"
VNI_TO_UNICODE: dict[str, str] = {}
for _pair in _VNI_PAIRS.split():
    VNI_TO_UNICODE[_pair[1:]] = _pair[0]
    VNI_TO_UNICODE[_pair[1:].upper()] = _pair[0].upper()
for _pair in _VNI_SINGLE.split():
    VNI_TO_UNICODE[_pair[1]] = _pair[0]
    VNI_TO_UNICODE[_pair[1].upper()] = _pair[0].upper()

# Latin-1 letters and signs that Vietnamese Unicode text does not use
_VN_LATIN1 = set("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")
_LATIN1 = {chr(c) for c in range(0xA0, 0x100)}
_FOREIGN = "".join(sorted(_LATIN1 - _VN_LATIN1 - {"\u00a0", "×", "÷", "°", "±"}))
_TCVN3_ONLY = set(TCVN3_TO_UNICODE) - _VN_LATIN1
_VNI_ONLY = {c for k in VNI_TO_UNICODE for c in k} - _VN_LATIN1 - set("aeiouyAEIOUY")
SUSPECT = re.compile(f"[{re.escape(''.join(sorted(_TCVN3_ONLY | _VNI_ONLY)))}]")
_VN_UNICODE = re.compile("[ĂăĐđĨĩŨũƠơƯư\u1ea0-\u1ef9]")

_TONES = "\u0300\u0301\u0303\u0309\u0323"
_ONSET = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]"
_NUCLEUS = (
    "iêu|yêu|oai|oay|oeo|uây|uôi|uya|uyê|uyu|ươi|ươu|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|ôi|ơi|ua|uâ|uê|ui|uô|uơ|uy|ưa|ưi|ươ|ưu|yê|oo|"
    "[aăâeêioôơuưy]"
)
_SYLLABLE = re.compile(rf"^(?:{_ONSET})?(?:{_NUCLEUS})(?:ch|ng|nh|[cmnpt])?$")
_WORD = re.compile(r"[^\W\d_]+")
_VOWELS = set("aăâeêioôơuưy")


def is_vietnamese_word(word: str) -> bool:
    """True for a Vietnamese syllable (one tone at most); words with no vowel (abbreviations
    such as "HĐND") are not judged and count as true."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    if sum(decomposed.count(t) for t in _TONES) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    if not any(c in _VOWELS for c in bare):
        return True
    return bool(_SYLLABLE.match(bare))


def _plausible(text: str) -> bool:
    if re.search(f"[{re.escape(_FOREIGN)}]", text):
        return False
    return all(is_vietnamese_word(w) for w in _WORD.findall(text) if not w.isascii())


def from_tcvn3(text: str) -> str:
    return "".join(TCVN3_TO_UNICODE.get(c, c) for c in text)


def from_vni(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if len(pair) == 2 and pair in VNI_TO_UNICODE:
            out.append(VNI_TO_UNICODE[pair])
            i += 2
        else:
            out.append(VNI_TO_UNICODE.get(text[i], text[i]))
            i += 1
    return "".join(out)


def is_suspect(text: str) -> bool:
    """Could this cell be legacy-font text? (mojibake characters, no Vietnamese Unicode)"""
    if text.isascii():
        return False
    text = unicodedata.normalize("NFC", text)
    return bool(SUSPECT.search(text)) and not _VN_UNICODE.search(text)


@dataclass(frozen=True)
class Reading:
    """How a suspect cell reads: the encodings whose conversion is plausible, and each result."""

    text: str
    candidates: dict[str, str]


def read_cell(text: str) -> Reading:
    found = {}
    for name, convert in ((TCVN3, from_tcvn3), (VNI, from_vni)):
        converted = unicodedata.normalize("NFC", convert(text))
        if _plausible(converted):
            found[name] = converted
    return Reading(text, found)


@dataclass
class Decision:
    """What to do with a sheet's suspect cells: convert them all with ``encoding`` (certain),
    or reject the file naming ``guess`` (uncertain)."""

    encoding: str | None
    guess: str | None
    converted: dict[str, str]
    cells: int
    unexplained: list[str]


def decide(texts: list[str]) -> Decision:
    """One encoding must explain every suspect cell of the sheet for the conversion to count
    as certain; a sheet mixing both, or with a cell neither explains, is not converted."""
    readings = [read_cell(t) for t in dict.fromkeys(texts)]
    if not readings:
        return Decision(None, None, {}, 0, [])
    common = {TCVN3, VNI}
    for r in readings:
        common &= set(r.candidates)
    unexplained = [r.text for r in readings if not r.candidates]
    tally = {name: sum(name in r.candidates for r in readings) for name in (TCVN3, VNI)}
    if len(common) == 1 and not unexplained:
        (encoding,) = common
        return Decision(
            encoding,
            encoding,
            {r.text: r.candidates[encoding] for r in readings},
            len(readings),
            [],
        )
    guess = max(tally, key=lambda n: tally[n]) if any(tally.values()) else None
    if guess is not None and not unexplained:
        # every cell reads in one table or the other, but not all in the same one: a mix
        unexplained = [r.text for r in readings if guess not in r.candidates]
        guess = None
    return Decision(None, guess, {}, len(readings), unexplained or [r.text for r in readings])
