"""rag.normalize: one normalisation for documents and questions, tested over whole kinds of
input (every format character, every space separator, every width variant, many date
spellings), not only the examples of the issue."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.normalize import fold_table, is_removed, normalize, normalize_dates, to_simplified

from .conftest import SEED

ALL = range(sys.maxunicode + 1)


def _chars(pred) -> list[str]:
    return [chr(cp) for cp in ALL if not 0xD800 <= cp <= 0xDFFF and pred(chr(cp))]


FORMAT_CHARS = _chars(lambda c: unicodedata.category(c) == "Cf")
# Default_Ignorable_Code_Point characters outside Cf (DerivedCoreProperties.txt)
OTHER_IGNORABLES = (
    ["\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180b", "\u180c", "\u180d", "\u180f", "\u3164", "\uffa0"]
    + [chr(c) for c in range(0xFE00, 0xFE10)]
    + [chr(0xE0100), chr(0xE01EF)]
)
CONTROLS = _chars(lambda c: unicodedata.category(c) == "Cc" and c not in "\n\t")
SPACES = _chars(lambda c: unicodedata.category(c) == "Zs")


def test_every_format_character_is_removed_inside_a_word():
    assert len(FORMAT_CHARS) > 150  # the whole category, not a handful
    for ch in FORMAT_CHARS + OTHER_IGNORABLES + CONTROLS:
        assert is_removed(ch), f"U+{ord(ch):04X}"
        assert normalize(f"王{ch}大凤出席了樱{ch}桃节") == "王大凤出席了樱桃节", f"U+{ord(ch):04X}"


def test_every_space_separator_between_han_characters_is_removed_and_elsewhere_is_one_space():
    assert len(SPACES) >= 17
    for sp in SPACES:
        assert normalize(f"王{sp}大凤") == "王大凤", f"U+{ord(sp):04X}"
        expected = "\u3000" if sp == "\u3000" else " "  # the ideographic space is kept (an indent)
        assert normalize(f"GDP{sp}growth") == f"GDP{expected}growth", f"U+{ord(sp):04X}"
    assert normalize("李晓军 调研\t新庄村") == "李晓军调研新庄村"
    assert normalize("\u3000\u3000本报讯") == "\u3000\u3000本报讯"  # paragraph indent stays
    assert normalize("第一段。\n\n第二段") == "第一段。\n\n第二段"  # newlines stay


def test_numbers_keep_their_measure_words_in_spaced_text_and_other_text_is_stored_as_before():
    """A spaced (OCR, letter-spaced) line loses its spaces, so a number keeps its measure word;
    text that was not spaced out keeps its spaces as it always did (an archive ingested before
    is not changed, so nothing is embedded again)."""
    assert normalize("赠 送 图 书 1200 册 。") == "赠送图书1200册。"  # OCR / letter-spaced
    assert (
        normalize("县 文 联 赠 送 图 书 1200 册 。 活 动 期 间 举 办 12 期 。")
        == "县文联赠送图书1200册。活动期间举办12期。"
    )
    # kept as written: web ("pangu") spacing, a dateline's space, spaces after punctuation, Latin
    assert normalize("全县共有 46 家企业进场，提供岗位 1800 余个") == "全县共有 46 家企业进场，提供岗位 1800 余个"
    assert normalize("本报讯 3月2日，县人社局举办招聘会。") == "本报讯 3月2日，县人社局举办招聘会。"
    assert normalize("举办招聘会。  县人社局还设置咨询台") == "举办招聘会。  县人社局还设置咨询台"
    assert normalize("使用 Python 编程，共 1 200 人") == "使用 Python 编程，共 1 200 人"
    assert normalize("王 大凤参加") == "王大凤参加"  # between two Han characters, as before
    text = "赠 送 图 书 1200 册 。\n本报讯 3月2日"
    assert normalize(normalize(text)) == normalize(text) == "赠送图书1200册。\n本报讯 3月2日"


def test_every_full_width_letter_and_digit_becomes_ascii():
    for cp in range(0xFF01, 0xFF5F):
        ch, ascii_ch = chr(cp), chr(cp - 0xFEE0)
        if ch in "！（），：；？［］｛｝～．":
            assert normalize(ch) == ch  # Chinese punctuation stays full-width
        else:
            assert normalize(f"x{ch}x") == f"x{ascii_ch}x", ch
    assert normalize("２０２４年ＧＤＰ增长５．３％，达到１２．６万人次。") == "2024年GDP增长5.3%，达到12.6万人次。"


def test_every_half_width_and_compatibility_form_is_folded():
    # half-width katakana and CJK punctuation, Kangxi radicals, CJK compatibility ideographs
    assert normalize("｢ｶﾀｶﾅ｣､｡") == "「カタカナ」、。"
    for cp in range(0x2F00, 0x2FD6):
        out = normalize(chr(cp))
        assert len(out) == 1 and "\u4e00" <= out <= "\u9fff", f"U+{cp:04X}"
    for cp in range(0xF900, 0xFA6E):
        if unicodedata.category(chr(cp)) == "Lo":
            assert normalize(chr(cp)) == to_simplified(unicodedata.normalize("NFC", chr(cp)))
    assert normalize("ﬁle 𝐀𝐁𝐂 ︐﹐") == "file ABC ,,"
    # kept: forms whose folding would change the meaning
    assert normalize("100m²，①，㎡，½，H₂O") == "100m²，①，㎡，½，H₂O"
    assert normalize("“他说……”") == "“他说……”"


def test_fold_table_is_consistent_with_is_removed():
    table = fold_table()
    assert all((v is None) == is_removed(chr(k)) for k, v in table.items())
    assert table[0x200B] is None and table[0xFF21] == "A" and table[0x00A0] == " "


TRAD = [
    ("李曉軍調研農業農村工作時到了哪些村？", "李晓军调研农业农村工作时到了哪些村？"),
    ("張建元強調了什麼？", "张建元强调了什么？"),
    ("縣委書記解芳出席會議並講話", "县委书记解芳出席会议并讲话"),
    ("臺灣", "台湾"),
    ("頭髮與發展", "头发与发展"),
]


@pytest.mark.parametrize("trad,simp", TRAD)
def test_traditional_to_simplified(trad, simp):
    assert normalize(trad) == simp == to_simplified(trad)
    assert len(to_simplified(trad)) == len(trad)


def test_simplified_text_is_never_changed():
    # characters that are simplified characters too, which a plain t2s would change
    for s in ("这事坏了", "沈书记", "乾隆", "著名", "于是", "了解"):
        assert normalize(s) == s
    seed = SEED.read_text(encoding="utf-8")
    assert normalize(seed) == seed


DATES = [
    ("五月九日", "5月9日"),
    ("5月9号", "5月9日"),
    ("五月九号", "5月9日"),
    ("05月09日", "5月9日"),
    ("5 月 9 日", "5月9日"),
    ("５月９日", "5月9日"),
    ("五月廿九日", "5月29日"),
    ("十二月三十一日", "12月31日"),
    ("十月一日", "10月1日"),
    ("五月九號", "5月9日"),
    ("2024年5月9日", "2024年5月9日"),
    ("2024年05月09日", "2024年5月9日"),
    ("二〇二四年五月九日", "2024年5月9日"),
    ("二○二四年五月九日", "2024年5月9日"),
    ("二零二四年五月九号", "2024年5月9日"),
    ("2024/5/9", "2024年5月9日"),
    ("2024-05-09", "2024年5月9日"),
    ("2024.5.9", "2024年5月9日"),
    ("2024 / 05 / 09", "2024年5月9日"),
    ("２０２４－０５－０９", "2024年5月9日"),
    ("2024年5月9号", "2024年5月9日"),
    ("二〇二四年五月", "2024年5月"),
    ("五月份", "5月份"),
    ("2024年十二月份", "2024年12月份"),
]


@pytest.mark.parametrize("spelling,canonical", DATES)
def test_date_spellings_become_one_form(spelling, canonical):
    assert normalize(f"{spelling}谁带队到我县调研？") == f"{canonical}谁带队到我县调研？"


@pytest.mark.parametrize(
    "text",
    [
        "一季度",
        "五一假期",
        "十三五规划",
        "二月三十日",
        "2024-13-01",
        "2024.5",
        "3.14159",
        "一二月份",
        "192.168.1.1",
        "1,000",
        "第十一届",
        "三农工作",
    ],
)
def test_what_is_not_a_date_is_left_alone(text):
    assert normalize_dates(text) == text


NASTY = st.text(
    alphabet=st.sampled_from(
        list("王大凤樱桃曉軍農業五月九日号二〇年0123456789-/. ，。？！")
        + ["\u200b", "\u00a0", "\u3000", "\uff15", "\n", "\ufeff"]
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(NASTY)
def test_normalize_is_idempotent_and_leaves_nothing_invisible(s):
    once = normalize(s)
    assert normalize(once) == once
    assert not any(is_removed(c) for c in once)
