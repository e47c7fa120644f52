"""One normalisation step for documents and questions, so that both are matched in the same form.

:func:`normalize` is applied to every document text before it is split into articles (so
the stored article text *is* the normalised text and citation offsets point into it) and
to every question (and history turn) before it is condensed and searched; the user's own
question is shown back unchanged. In order:

1. **Unicode NFC**, then per character (one ``str.translate`` table, built once):

   - **invisible characters removed**: every format character (general category ``Cf``:
     zero-width space/joiners U+200B–U+200D, word joiner U+2060, BOM U+FEFF, soft hyphen
     U+00AD, bidi marks and isolates, invisible operators, tag characters …), the other
     ``Default_Ignorable_Code_Point`` characters of Unicode's DerivedCoreProperties.txt
     (combining grapheme joiner, variation selectors, Hangul fillers, Khmer inherent vowels,
     Mongolian free variation selectors) and control characters (``Cc``) except ``\\n``/``\\t``;
   - **width and compatibility variants folded** as NFKC folds them (decomposition types
     ``<wide> <narrow> <compat> <font> <noBreak> <small> <vertical>`` and the Arabic
     presentation forms): full-width letters and digits ``ＡＢＣ１２３`` → ``ABC123``,
     ``％＋－＝／`` → ``%+-=/``, half-width katakana and ``｡､｢｣``, Kangxi radicals ``⼀`` →
     ``一``, ligatures, mathematical letters, every space separator except U+3000
     (``NBSP``, U+2000–U+200A, U+202F, U+205F, U+1680) → an ordinary space.
     Kept as written: the full-width punctuation of Chinese text (``！（），：；？［］｛｝～．``;
     a ``．`` between digits becomes ``.``),
     the ideographic space U+3000, ``…`` and ``‥``, and the forms whose folding would change
     the meaning (``<super> <sub> <circle> <square> <fraction>``: ``m²``, ``①``, ``㎡``, ``½``).

2. **Traditional → simplified characters** with OpenCC's ``t2s`` conversion (phrase-aware),
   except that a character that is itself a simplified-Chinese character (encodable in
   GB 2312) is never changed (OpenCC would turn the simplified 坏 into 坯 and 沈 into 沉) and
   no character is turned into one outside the Basic Multilingual Plane (which common fonts
   cannot show). So ``李曉軍調研農業`` → ``李晓军调研农业``, while a simplified text stays as
   written. Traditional-character documents are therefore *stored* in simplified form.

3. **Dates in one form**: ``YYYY年M月D日`` when a year is written, else ``M月D日``; from Chinese
   numerals (``二〇二四年五月九日``, ``五月廿九日``), ``号`` for ``日``, leading zeros, spaces,
   and ``2024-05-09`` / ``2024/5/9`` / ``2024.5.9``. ``YYYY年M月`` and ``M月份`` with Chinese
   numerals get Arabic digits too. Only valid calendar dates are rewritten; other Chinese
   numerals (``一季度``, ``五一``) are left alone. Numeral values by ``cn2an``.

4. **Spaces inside Chinese text removed**: between two Han characters (``王 大凤`` → ``王大凤``;
   PDF extraction and justified text put them there). In a *spaced line* (OCR, letter-spacing:
   at least two Han characters followed by a space before another, and no more pairs written
   together) every space between Chinese text, Chinese punctuation and numbers goes, so a number
   keeps its measure word: ``赠 送 图 书 1200 册 。`` → ``赠送图书1200册。``. Other spaces are kept
   (``本报讯 3月2日``, ``Python 3``, web text's ``图书 1200 册``): text that was not spaced out is
   stored as before, so an archive ingested earlier is not re-embedded. Only spaces are removed,
   so offsets taken in the normalised text (citations) stay right.

Every step is idempotent: ``normalize(normalize(s)) == normalize(s)``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata

__all__ = ["normalize", "normalize_dates", "to_simplified", "is_removed", "fold_table"]

# Default_Ignorable_Code_Point characters that are not of category Cf (DerivedCoreProperties.txt,
# Unicode 15.1): combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free
# variation selectors, variation selectors 1–256. (The Cf ones are removed by category.)
_IGNORABLE_NON_CF = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
# Decomposition types folded (NFKC's); the others (<super> <sub> <circle> <square> <fraction>)
# would change the meaning of what is written (m² → m2, ① → 1, ㎡ → m2, ½ → 1⁄2).
_FOLDED_TYPES = frozenset(
    {"wide", "narrow", "compat", "font", "noBreak", "small", "vertical", "initial", "medial", "final", "isolated"}
)
# Full-width punctuation of Chinese text, the ideographic space and the Chinese ellipses: kept.
_KEEP = frozenset("！（），：；？［］｛｝～．\u3000…‥")
# The BMP less the CJK ideographs (U+3400–U+9FFF) and Hangul syllables (U+AC00–U+D7FF), which
# are never folded or removed (end exclusive), and the supplementary-plane ranges that hold
# folded or removed characters (end inclusive).
_BMP = ((0x0000, 0x3400), (0xA000, 0xAC00), (0xF900, 0x10000))
_SUPPLEMENTARY = (
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1345F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0x1D400, 0x1D7FF),
    (0x1E030, 0x1E06D),
    (0x1EE00, 0x1EEFF),
    (0x1FBF0, 0x1FBF9),
    (0xE0000, 0xE0FFF),
)

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Chinese punctuation (full-width forms kept by step 1, quotes and brackets of Chinese text)
_CN_PUNCT = "，。、；：？！（）《》〈〉「」『』【】〔〕“”‘’…"
_CJK = _HAN + _CN_PUNCT
_SP = r"[ \t\u3000]+"
# Spaces removed everywhere: between two Han characters
_HAN_SPACE_RE = re.compile(rf"(?<=[{_HAN}]){_SP}(?=[{_HAN}])")
# in a spaced line (OCR, letter-spacing): every space between Chinese text, punctuation and numbers
_SPACED_LINE_RE = re.compile(rf"(?<=[{_CJK}0-9]){_SP}(?=[{_CJK}])|(?<=[{_CJK}]){_SP}(?=[0-9])")
_SPACED_PAIR_RE = re.compile(rf"[{_HAN}]{_SP}(?=[{_HAN}])")
_TIGHT_PAIR_RE = re.compile(rf"[{_HAN}](?=[{_HAN}])")
_DECIMAL_POINT_RE = re.compile(r"(?<=\d)．(?=\d)")


def is_removed(ch: str) -> bool:
    """True for a character :func:`normalize` deletes: category ``Cf``, the other
    ``Default_Ignorable_Code_Point`` characters, and ``Cc`` except ``\\n`` and ``\\t``."""
    cp = ord(ch)
    cat = unicodedata.category(ch)
    if cat == "Cf" or (cat == "Cc" and ch not in "\n\t"):
        return True
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_NON_CF)


def _fold_char(ch: str) -> str:
    """One character folded (recursively through its decomposition), or itself."""
    if ch in _KEEP:
        return ch
    if unicodedata.category(ch) == "Zs" and ch != "\u3000":
        return " "
    decomp = unicodedata.decomposition(ch)
    if not decomp.startswith("<"):
        return ch  # none, or canonical (NFC's business)
    kind, _, codes = decomp[1:].partition("> ")
    if kind not in _FOLDED_TYPES:
        return ch
    return unicodedata.normalize("NFC", "".join(_fold_char(chr(int(c, 16))) for c in codes.split()))


@functools.cache
def fold_table() -> dict[int, str | None]:
    """The ``str.translate`` table of step 1: code point → replacement, or None (removed).
    Built once per process (~0.2 s) over the code points that can hold compatibility or
    ignorable characters (``_BMP``, ``_SUPPLEMENTARY``)."""
    table: dict[int, str | None] = {}
    cps = [cp for lo, hi in _BMP for cp in range(lo, hi)]
    cps += [cp for lo, hi in _SUPPLEMENTARY for cp in range(lo, hi + 1)]
    cps += [cp for lo, hi in _IGNORABLE_NON_CF for cp in range(lo, hi + 1) if cp > 0xFFFF]
    for cp in cps:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if is_removed(ch):
            table[cp] = None
            continue
        folded = _fold_char(ch)
        if folded != ch:
            table[cp] = folded
    return table


# -- traditional → simplified -------------------------------------------------------------


@functools.cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=4096)
def _simplified_char(ch: str) -> bool:
    """True if ``ch`` is a character of simplified Chinese text (encodable in GB 2312)."""
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def to_simplified(text: str) -> str:
    """Traditional characters → simplified (OpenCC ``t2s``, phrase-aware), never changing a
    character that is itself simplified (in GB 2312) and never producing one outside the BMP.
    The result has the same length as ``text`` (character for character)."""
    if not text or text.isascii():
        return text
    conv = _t2s().convert(text)
    if conv == text:
        return text
    if len(conv) != len(text):  # a phrase mapping changed the length: convert line by line, then per character
        lines = text.split("\n")
        return "\n".join(to_simplified(ln) if len(lines) > 1 else "".join(_char_t2s(c) for c in ln) for ln in lines)
    out = list(text)
    for i, (a, b) in enumerate(zip(text, conv)):
        if a != b and not _simplified_char(a) and ord(b) <= 0xFFFF:
            out[i] = b
    return "".join(out)


def _char_t2s(ch: str) -> str:
    if _simplified_char(ch):
        return ch
    conv = _t2s().convert(ch)
    return conv if len(conv) == 1 and ord(conv) <= 0xFFFF else ch


# -- dates --------------------------------------------------------------------------------

_CN_DIGITS = "〇○零O一二三四五六七八九"
_CN_NUM = "一二三四五六七八九十廿卅"
_NUM = rf"(\d{{1,2}}|[{_CN_NUM}]{{1,3}})"
_YEAR = rf"(\d{{4}}|[{_CN_DIGITS}]{{4}})"
# 2024年5月9日 / 五月九号 / 2024 年 05 月 09 日 (year optional)
_CN_DATE_RE = re.compile(rf"(?<![\d{_CN_NUM}〇○零])(?:{_YEAR}\s*年\s*)?{_NUM}\s*月\s*{_NUM}\s*[日号]")
# 2024-05-09 / 2024/5/9 / 2024.5.9 (not after a digit or a dot: checked in the replacement, so
# that the pattern starts with a literal and is found fast)
_NUM_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?![\d])")
# 二〇二四年五月 (no day) / 五月份
_CN_MONTH_RE = re.compile(rf"(?<![\d{_CN_NUM}〇○零]){_YEAR}\s*年\s*{_NUM}\s*月(?!\s*{_NUM}\s*[日号])")
_CN_MONTH_FEN_RE = re.compile(rf"(?<![\d{_CN_NUM}〇○零年])([{_CN_NUM}]{{1,2}})月份")
# A span that may hold one of the above with 月 (a cheap pattern: the exact ones run only inside it)
_CANDIDATE_RE = re.compile(
    rf"[\d{_CN_DIGITS}{_CN_NUM}][\d{_CN_DIGITS}{_CN_NUM}\s年]*月(?:份|\s*[\d{_CN_NUM}]{{1,3}}\s*[日号])?"
)


def _num(s: str) -> int | None:
    """A month/day number: Arabic digits or a Chinese numeral (十二, 二十九, 廿九, 卅一)."""
    if s.isdigit():
        return int(s)
    import cn2an

    s = s.replace("廿", "二十").replace("卅", "三十")
    try:
        return int(cn2an.cn2an(s, "strict"))
    except (ValueError, KeyError, TypeError):
        return None


def _year(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    digits = s.translate(
        str.maketrans(
            {
                "〇": "0",
                "○": "0",
                "零": "0",
                "O": "0",
                "一": "1",
                "二": "2",
                "三": "3",
                "四": "4",
                "五": "5",
                "六": "6",
                "七": "7",
                "八": "8",
                "九": "9",
            }
        )
    )
    return int(digits) if digits.isdigit() else None


def _valid(y: int | None, m: int | None, d: int | None) -> bool:
    if m is None or d is None:
        return False
    try:
        _dt.date(y if y is not None else 2024, m, d)  # no year: 2024 is a leap year (2月29日 is fine)
    except ValueError:
        return False
    return y is None or 1900 <= y <= 2099


def _date_str(y: int | None, m: int, d: int) -> str:
    return f"{y}年{m}月{d}日" if y is not None else f"{m}月{d}日"


def normalize_dates(text: str) -> str:
    """Dates in one form (step 3 of :func:`normalize`): ``YYYY年M月D日`` with a year, ``M月D日``
    without; ``YYYY年M月`` and ``M月份`` with Arabic digits. Invalid dates stay as written."""
    if "月" not in text and not re.search(r"\d\s*[-/.]\s*\d", text):
        return text

    def cn(m: re.Match) -> str:
        y = _year(m.group(1)) if m.group(1) else None
        mo, d = _num(m.group(2)), _num(m.group(3))
        return _date_str(y, mo, d) if _valid(y, mo, d) else m.group(0)

    def num(m: re.Match) -> str:
        if m.start() and m.string[m.start() - 1] in "0123456789.":
            return m.group(0)
        y, mo, d = int(m.group(1)), int(m.group(3)), int(m.group(4))
        return _date_str(y, mo, d) if _valid(y, mo, d) else m.group(0)

    def month(m: re.Match) -> str:
        y, mo = _year(m.group(1)), _num(m.group(2))
        return f"{y}年{mo}月" if y and 1900 <= y <= 2099 and mo and 1 <= mo <= 12 else m.group(0)

    def month_fen(m: re.Match) -> str:
        mo = _num(m.group(1))
        return f"{mo}月份" if mo and 1 <= mo <= 12 else m.group(0)

    def span(m: re.Match) -> str:  # the exact patterns, with the character before the span for their look-behinds
        before = m.string[m.start() - 1] if m.start() else ""
        t = _CN_MONTH_FEN_RE.sub(month_fen, _CN_MONTH_RE.sub(month, _CN_DATE_RE.sub(cn, before + m.group(0))))
        return t[len(before) :]

    text = _NUM_DATE_RE.sub(num, text)
    return _CANDIDATE_RE.sub(span, text) if "月" in text else text


# -- the one step -------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Normalise a document text or a question (the four steps in the module docstring).

    Lengths change (characters are removed or folded): apply it *before* offsets are taken.
    Newlines are kept, so line-based parsing still works after it. Never raises.
    """
    if not text:
        return text
    text = unicodedata.normalize("NFC", text).translate(fold_table())
    text = normalize_dates(to_simplified(_DECIMAL_POINT_RE.sub(".", text)))
    return _HAN_SPACE_RE.sub("", _join_spaced_lines(text))


def _join_spaced_lines(text: str) -> str:
    """Spaced lines (at least two Han characters followed by a space before another Han
    character, and no more pairs written together) lose every space between Chinese text,
    Chinese punctuation and numbers (``册 。 活 动`` → ``册。活动``); other lines are left as they are."""
    if not _SPACED_PAIR_RE.search(text):
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        spaced = len(_SPACED_PAIR_RE.findall(line))
        if spaced >= 2 and spaced >= len(_TIGHT_PAIR_RE.findall(line)):
            lines[i] = _SPACED_LINE_RE.sub("", line)
    return "\n".join(lines)
