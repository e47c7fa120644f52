"""Instances of an answer type inside a sentence: the spans an answer can quote.

Each finder returns ``(start, end)`` character offsets into the sentence (``str`` indices),
in text order. Values are always verbatim spans, so an answer that quotes them is checkable
against its citation.

- dates: "4月29日", "2024年5月9日", "2023-07-17"; years: "2021年"; times of day are not dates.
- quantities: a number (Arabic, or Chinese numerals read with cn2an) with an optional
  multiplier and its unit ("1200册", "15份", "210万美元", "8.16公里", "19.71%").
- people: names in the user dictionary or gathered from the archive, else ``nr`` tokens of
  the POS tagger (2–4 characters).
- named things: a noun phrase ending in the focus noun ("宝山站" for 观测站, "第一会议室"
  for 会议室) or, for organisations and places, ``nt``/``ns`` tokens and phrases ending in a
  common head (集团, 公司, 大学, 镇, 村…).
- enumerations: runs of items joined by 、 / 和 / 及 / 与 ("新庄村和韩庄村").
"""

from __future__ import annotations

import re

from .analysis import MEASURE_CHARS, ORG, ORG_HEADS, PERSON_HEADS, PLACE, PLACE_HEADS

_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
NUMBER = re.compile(
    rf"(?<![\d\-.:：/])(?:约|近|不超过|不低于|不少于|超过|逾)?(?:\d+(?:[.,]\d+)*|[{_CN_NUM}]{{2,}}|[一二两三四五六七八九十])"
    rf"(?:多|余)?(?:万|亿|千|百)?(?![\d\-:：/])"
)
# a Chinese numeral counts only before a measure word ("十二家", "两名"); "一盘棋", "四川" are words
# units written with a number; one Han character (a measure word) or a known multi-character unit
MULTI_UNITS = (
    "平方公里",
    "平方米",
    "万平方米",
    "人次",
    "公里",
    "千米",
    "公顷",
    "千克",
    "公斤",
    "美元",
    "欧元",
    "英镑",
    "港元",
    "日元",
    "万元",
    "亿元",
    "百分点",
    "个月",
    "小时",
    "分钟",
    "余人",
    "多人",
    "余家",
    "余个",
    "毫米",
    "厘米",
    "立方米",
    "千瓦",
    "兆瓦",
    "万千瓦",
    "吨标准煤",
    "周年",
    "家次",
    "批次",
    "架次",
    "场次",
)
DATE_SPAN = re.compile(
    r"(?:(?:19|20)\d{2}年)?\d{1,2}月\d{1,2}[日号](?:[上下]午|晚|早)?|(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}"
)
MONTH_SPAN = re.compile(r"(?:(?:19|20)\d{2}年)?\d{1,2}月(?:上旬|中旬|下旬|初|底|末)?(?!\d)")
YEAR_SPAN = re.compile(r"(?<!\d)(?:19|20)\d{2}年")
ORG_NAME_HEADS = (
    "集团",
    "公司",
    "有限公司",
    "股份",
    "银行",
    "大学",
    "学院",
    "学校",
    "中学",
    "小学",
    "医院",
    "研究院",
    "研究所",
    "委员会",
    "协会",
    "学会",
    "中心",
    "局",
    "厅",
    "部",
    "委",
    "办",
    "院",
    "所",
    "厂",
    "社",
    "馆",
    "站",
    "台",
    "报",
    "网",
    "队",
    "团",
    "会",
    "党委",
    "政府",
    "法院",
    "检察院",
    "种业",
    "科技",
)
PLACE_NAME_HEADS = (
    "省",
    "市",
    "县",
    "区",
    "镇",
    "乡",
    "村",
    "街道",
    "社区",
    "路",
    "街",
    "号",
    "园区",
    "园",
    "广场",
    "大楼",
    "大厦",
    "中心",
    "馆",
    "场",
    "站",
    "港",
    "湾",
    "岛",
    "山",
    "湖",
    "河",
    "江",
    "国",
)
STOP_ITEMS = frozenset({"等", "其中", "同时", "以及", "和", "与", "及"})
_ENUM_SPLIT = re.compile(r"、|和|及|与|以及|，")


def dates(sentence: str) -> list[tuple[int, int]]:
    """Full dates ("5月9日", "2024年5月9日", "2023-07-17")."""
    return [m.span() for m in DATE_SPAN.finditer(sentence)]


def months(sentence: str) -> list[tuple[int, int]]:
    """Month-level times ("7月", "2023年8月", "5月中旬") that are not part of a full date."""
    full = dates(sentence)
    return [
        m.span()
        for m in MONTH_SPAN.finditer(sentence)
        if not any(s <= m.start() < e for s, e in full) and not sentence[m.end() : m.end() + 1].isdigit()
    ]


def years(sentence: str) -> list[tuple[int, int]]:
    """Years ("2021年"), also the year of a full date."""
    return [m.span() for m in YEAR_SPAN.finditer(sentence)]


def quantities(sentence: str) -> list[tuple[int, int, str]]:
    """``(start, end, unit)`` of every number with a unit; dates, years and clock times are
    not quantities. The unit is the measure word or unit after the number ("册", "万美元",
    "%"), or "" when none follows."""
    taken = [(s, e) for s, e in dates(sentence) + years(sentence) + months(sentence)]
    out = []
    for m in NUMBER.finditer(sentence):
        s, e = m.span()
        if any(a <= s < b for a, b in taken):
            continue
        num = m.group(0)
        if not re.search(r"\d", num) and len(num) < 2 and num not in "两":
            # a lone 一/二/三 is usually part of a word (一季度, 三个导向): only as a count with a unit
            pass
        rest = sentence[e:]
        unit = ""
        if rest[:1] in ("%", "％"):
            unit = rest[:1]
        else:
            for u in MULTI_UNITS:
                if rest.startswith(u):
                    unit = u
                    break
            if not unit and rest[:1] and re.match(r"[\u4e00-\u9fff]", rest[:1]):
                unit = rest[:1]
        digits = bool(re.search(r"\d", num))
        if not digits and (
            not unit or unit[0] not in MEASURE_CHARS or re.fullmatch(r"[一]", num.strip("约近超过逾共达多余"))
        ):
            continue  # "一盘棋", "三产", "四川": a word, not a number
        ordinal = s > 0 and sentence[s - 1] == "第"
        if (
            unit in ("月", "日", "号", "时", "点", "年")
            and digits
            and not ordinal
            and not (unit == "日" and re.match(r"(?:以内|之内|内)", sentence[e + 1 :]))
        ):
            continue  # times and dates, not quantities ("30日内" is a duration)
        if digits and not unit and not re.search(r"\d{2,}|\.", num):
            continue  # a bare one-digit number is a label ("1号", "第2") more often than a quantity
        if ordinal:
            s -= 1  # an ordinal is written whole: "第八届", "第2690号"
        out.append((s, e + len(unit), unit))
    return out


def people(sentence: str, known: frozenset[str], pos_cut, titles: tuple[str, ...] = ()) -> list[tuple[int, int]]:
    """Person names: known names (user dictionary, bylines, names gathered from the archive)
    found verbatim, ``nr`` tokens of 2–4 Han characters from the tagger, and a surname plus
    one or two characters written right after one of ``titles`` ("总指挥董爱华") or right
    before "为/任 + title" ("马骉为组长") — the tagger splits many unseen names."""
    from ...keyword import _name_at  # the name rule of the archive's name gatherer

    spans: list[tuple[int, int]] = []
    for title in titles:
        for m in re.finditer(re.escape(title), sentence):
            hit = _name_at(sentence, m.end())
            if hit:
                spans.append((m.end(), hit[1]))
            # "马骉为组长", "王成名为蓝箭电子董事长": a name, 为/任, at most 12 characters of the body, the title
            lo = max(0, m.start() - 14)
            for v in re.finditer(r"为|任|担任|出任", sentence[lo : m.start()]):
                at = lo + v.start()
                for size in (3, 2):
                    if at - size >= 0 and _name_at(sentence[at - size : at] + "为", 0) == (
                        sentence[at - size : at],
                        size,
                    ):
                        spans.append((at - size, at))
                        break
    for name in known:
        for m in re.finditer(re.escape(name), sentence):
            spans.append(m.span())
    pos = 0
    for w, f in pos_cut(sentence):
        if f in ("nr", "nrfg") and 2 <= len(w) <= 4 and re.fullmatch(r"[\u4e00-\u9fff·]+", w):
            spans.append((pos, pos + len(w)))
        pos += len(w)
    return _outermost(spans)


def phrases_ending_in(
    sentence: str, heads: tuple[str, ...] | list[str], *, min_chars: int = 2, max_chars: int = 16
) -> list[tuple[int, int]]:
    """Noun phrases ending in one of ``heads``: the head plus the Han/Latin/digit characters
    before it back to punctuation or a function word (在/到/由/和/与/的/了…), at most
    ``max_chars`` characters; the head alone does not count."""
    out = []
    for head in sorted(set(h for h in heads if h), key=len, reverse=True):
        for m in re.finditer(re.escape(head), sentence):
            end = m.end()
            start = m.start()
            while (
                start > 0
                and end - start < max_chars
                and re.match(r"[\u4e00-\u9fffA-Za-z0-9·]", sentence[start - 1])
                and sentence[start - 1] not in "在到由和与及的了对向从于为是把被将给跟同以并而或"
            ):
                start -= 1
            if end - start >= max(min_chars, len(head) + 1):
                out.append((start, end))
    return _outermost(out)


# names of a class that do not end in the class noun (a 学校 is often a 小学 or 中学)
SUBCLASS_HEADS = {
    "学校": ("小学", "中学", "大学", "学院", "幼儿园", "中心校", "学校"),
    "高校": ("大学", "学院"),
    "院校": ("大学", "学院"),
    "企业": ("公司", "集团", "厂", "股份"),
    "公司": ("集团", "股份"),
    "医院": ("医院", "卫生院"),
    "城市": ("市",),
    "省份": ("省",),
    "国家": ("国",),
}
NP_TAGS = ("n", "nr", "ns", "nt", "nz", "nrt", "nrfg", "j", "m", "b", "eng", "ng", "l", "an", "vn", "x")
PROPER_TAGS = ("ns", "nt", "nz", "nr", "nrt", "nrfg", "j", "eng")
GENERIC_FOCUS = frozenset(
    {
        "地方",
        "地点",
        "位置",
        "单位",
        "企业",
        "机构",
        "部门",
        "城市",
        "方面",
        "领域",
        "场所",
        "地区",
        "国家",
        "省份",
        "项目",
        "产业",
        "行业",
        "东西",
        "内容",
        "事情",
    }
)


def named(sentence: str, kind: str, focus: str, pos_cut) -> list[tuple[int, int]]:
    """Instances of an organisation (kind ``org``), a place (``place``) or a thing named by
    the focus noun (``instance``), as noun phrases of the POS tagger's tokens ending in a
    head: the focus itself or its last character ("宝山站" for 观测站, "第一会议室" for 会议室),
    and for org/place with a generic focus ("地方", "单位") the common heads of such names
    (集团, 公司, 大学, 镇, 村…) and ``nt``/``ns`` tokens. A single token counts only if it is
    a proper noun (``ns``/``nt``/``nz``…) or a known name; "农村" alone is no place."""
    heads: list[str] = []
    if focus:
        heads.append(focus)
        if len(focus) >= 3 and focus not in GENERIC_FOCUS:
            heads.append(focus[-1])  # 观测站 → "宝山站"; a two-character focus is its own head
        heads += list(SUBCLASS_HEADS.get(focus, ()))
    if kind == ORG and (not focus or focus in GENERIC_FOCUS):
        heads += list(ORG_NAME_HEADS)
    elif kind == PLACE and (not focus or focus in GENERIC_FOCUS):
        heads += list(PLACE_NAME_HEADS)
    want = {"org": ("nt",), "place": ("ns",)}.get(kind, ())
    toks = []
    pos = 0
    for w, f in pos_cut(sentence):
        toks.append((pos, pos + len(w), w, f))
        pos += len(w)
    spans = []
    for i, (_s, e, w, f) in enumerate(toks):
        is_head = (f in want and len(w) >= 2) or any(
            w == h
            or (w.endswith(h) and (len(h) > 1 or f.startswith(PROPER_TAGS)))
            or (len(h) > len(w) and sentence[:e].endswith(h))
            for h in heads
        )  # "产业园|区" ends in 园区
        if not is_head or not re.search(r"[\u4e00-\u9fffA-Za-z]", w):
            continue
        j = i
        while (
            j > 0
            and toks[j - 1][3].startswith(NP_TAGS)
            and toks[j - 1][3] not in ("x",)
            and re.match(r"[\u4e00-\u9fffA-Za-z0-9·]", toks[j - 1][2])
            and e - toks[j - 1][0] <= 16
            and toks[j - 1][2] not in ("各", "等", "和", "与", "及")
        ):
            j -= 1
        start = toks[j][0]
        if j == i and not (f.startswith(PROPER_TAGS) or f in want) and len(w) <= len(focus or "") + 1:
            continue  # a common noun alone ("农村", "现场") names nothing
        if j == i and not f.startswith(PROPER_TAGS) and f not in want and w in heads:
            continue
        spans.append((start, e))
    return [sp for sp in _outermost(spans) if sentence[sp[0] : sp[1]] not in (focus, *ORG_HEADS, *PLACE_HEADS)]


def enumerations(sentence: str, min_items: int = 2) -> list[tuple[int, int, int]]:
    """``(start, end, items)`` of runs of short items joined by 、/和/及/与 ("冷口中心校、第三实验
    小学"); items are 2–16 characters without other punctuation."""
    out = []
    for m in re.finditer(
        r"[^，。；：！？,;:“”「」（）()]{2,16}?(?:(?:、|和|及|与|以及)[^，。；：！？,;:“”「」（）()、]{2,16}?)+(?=[，。；：！？,;:等的]|$)",
        sentence,
    ):
        items = [x for x in _ENUM_SPLIT.split(m.group(0)) if x]
        if len(items) >= min_items:
            out.append((m.start(), m.end(), len(items)))
    return out


def role_before(sentence: str, start: int) -> tuple[int, int] | None:
    """The title written just before a name at ``start`` ("市人大常委会副主任" of
    "…，市人大常委会副主任张建元带队…"; "县委副书记、县长" of "县委副书记、县长李晓军"), or None."""
    while start > 0 and sentence[start - 1] in " \u3000":
        start -= 1  # "副主任 付佳": a space between title and name
    s = start
    while s > 0 and re.match(r"[\u4e00-\u9fffA-Za-z0-9、]", sentence[s - 1]):
        s -= 1
    text = sentence[s:start]
    text = re.sub(r"^(?:本报讯|记者|由|在|和|与|及|对|向|从|为|是|陪同|参加|出席|带队|主持|调研)", "", text)
    text = text.strip("、")
    if len(text) < 2 or not text.endswith(PERSON_HEADS + ("主任", "副主任", "常委", "局长", "县长", "书记", "部长")):
        return None
    return (start - len(text), start)


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted by start, a span inside another removed."""
    spans = sorted(set(spans), key=lambda x: (x[0], -(x[1] - x[0])))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s >= out[-1][0] and e <= out[-1][1]:
            continue
        out.append((s, e))
    return out
