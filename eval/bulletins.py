"""Bulletin PDFs like a county news office makes them, with their ground truth, for the parse
tests (``tests/test_documents.py``) and the PDF reading-order benchmark (``eval/bench_pdf.py``).

The pages are laid out here and drawn with ReportLab in a real CJK TrueType font (Debian's
``fonts-wqy-microhei``, embedded as a subset with a ToUnicode map, as Word's and WPS's PDF export
do): titles in 16 pt, body text in 10.5 pt with 1.8× line pitch, paragraphs with a two-character
first-line indent, justified lines (character spacing), bylines right-aligned, each line drawn as
its own text object. Nothing is downloaded: without the font (or ReportLab) :func:`cjk_font`
returns None and :func:`missing` says what to install.

Pages (A4, 595 × 842 pt):

- :func:`two_column_page`: a bulletin page with a masthead and two articles side by side (the
  county job fair on the left, the cherry-growing training on the right), each opening with a
  "本报讯 M月D日" lead; ``order`` chooses the content-stream order (column by column, or line by
  line across the page as some layout programs draw it).
- :func:`running_heads_pdf`: two pages with a running header ("绛县新闻·内部资料 2024年6月5日 第N版
  责任编辑：李明") and footer ("— N — 电话：0359-6521234"), three articles, one of them broken
  across the page break in the middle of a sentence.

Each returns a :class:`Bulletin`: the file, the articles it holds (title, date, author, text as
the parser should store them) and the page lines in reading order (for the benchmark).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: where Debian's fonts-wqy-microhei puts the font (``RAG_CJK_FONT`` overrides)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
PAGE_W, PAGE_H = 595.0, 842.0
BODY_PT, TITLE_PT, HEAD_PT = 10.5, 16.0, 9.0
PITCH = 1.8  # line pitch as a multiple of the font size
_NO_LINE_START = "，。、；：？！”’）》」』】…%"


def cjk_font() -> Path | None:
    """The CJK TrueType font to draw with, or None when it (or ReportLab) is missing."""
    try:
        import reportlab  # noqa: F401
    except ImportError:
        return None
    for p in [os.environ.get("RAG_CJK_FONT", ""), *FONT_CANDIDATES]:
        if p and Path(p).is_file():
            return Path(p)
    return None


def missing() -> str:
    """Why bulletin PDFs cannot be made here ("" when they can)."""
    try:
        import reportlab  # noqa: F401
    except ImportError:
        return "reportlab is not installed (pip install -e '.[dev]')"
    if cjk_font() is None:
        return "no CJK font: apt-get install fonts-wqy-microhei (make fonts), or set RAG_CJK_FONT"
    return ""


@dataclass(frozen=True)
class Expected:
    """An article as the parser should store it."""

    title: str
    date: str
    author: str
    text: str


@dataclass
class Bulletin:
    """A generated file and its ground truth.

    articles: the articles in reading order.
    pages: per page, the text lines in reading order (running heads included, first and last).
    running: the running header and footer lines of each page (empty for a one-page file).
    """

    path: Path
    articles: list[Expected]
    pages: list[list[str]] = field(default_factory=list)
    running: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    x: float
    y: float
    size: float
    text: str
    char_space: float = 0.0


# --- layout ----------------------------------------------------------------------------


def _register() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    font = cjk_font()
    if font is None:
        raise RuntimeError(missing())
    if "CJK" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("CJK", str(font), subfontIndex=0))


def _width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    _register()
    return stringWidth(text, "CJK", size)


def _wrap(text: str, width: float, size: float, indent: float = 0.0) -> list[str]:
    """Greedy line breaking by glyph widths; no line starts with closing punctuation, no number is
    broken."""
    lines: list[str] = []
    cur, avail = "", width - indent
    for ch in text:
        if cur and _width(cur + ch, size) > avail:
            run = len(cur) - len(cur.rstrip("0123456789.%"))  # a number is never broken
            if ch.isascii() and ch.isalnum() and 0 < run < len(cur):
                lines.append(cur[:-run])
                cur = cur[-run:]
            elif ch in _NO_LINE_START:  # pull the last character down with it
                lines.append(cur[:-1])
                cur = cur[-1]
            else:
                lines.append(cur)
                cur = ""
            avail = width
        cur += ch
    if cur:
        lines.append(cur)
    return lines


def _story(blocks: list[tuple[str, str]], x: float, width: float) -> list[tuple[float, _Line]]:
    """Blocks ``(kind, text)`` (kind: title / para / byline) → ``(advance, line)`` pairs, the
    advance being the vertical distance from the previous line's baseline."""
    out: list[tuple[float, _Line]] = []
    for kind, text in blocks:
        if kind == "title":
            for i, ln in enumerate(_wrap(text, width, TITLE_PT)):
                w = _width(ln, TITLE_PT)
                out.append((TITLE_PT * (2.0 if i == 0 else 1.4), _Line(x + (width - w) / 2, 0, TITLE_PT, ln)))
        elif kind == "byline":
            w = _width(text, BODY_PT)
            out.append((BODY_PT * PITCH, _Line(x + width - w - BODY_PT, 0, BODY_PT, text)))
        else:
            indent = 2 * BODY_PT
            lines = _wrap(text, width, BODY_PT, indent)
            for i, ln in enumerate(lines):
                lx = x + (indent if i == 0 else 0)
                avail = width - (indent if i == 0 else 0)
                cs = 0.0
                if i < len(lines) - 1 and len(ln) > 1:  # justified, the last line of a paragraph not
                    cs = (avail - _width(ln, BODY_PT)) / (len(ln) - 1)
                out.append((BODY_PT * PITCH, _Line(lx, 0, BODY_PT, ln, cs)))
    return out


def _place(story: list[tuple[float, _Line]], top: float) -> list[_Line]:
    y, out = top, []
    for adv, ln in story:
        y -= adv
        out.append(_Line(ln.x, y, ln.size, ln.text, ln.char_space))
    return out


def _draw(path: Path, pages: list[list[_Line]]) -> None:
    from reportlab.pdfgen import canvas

    _register()
    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1)
    for lines in pages:
        for ln in lines:
            t = c.beginText(ln.x, ln.y)
            t.setFont("CJK", ln.size)
            t.setCharSpace(ln.char_space)
            t.textOut(ln.text)
            c.drawText(t)
        c.showPage()
    c.save()


def _centered(text: str, y: float, size: float) -> _Line:
    return _Line((PAGE_W - _width(text, size)) / 2, y, size, text)


def _expected(title: str, paras: list[str], date: str, author: str) -> Expected:
    return Expected(title, date, author, "\n\n".join(paras))


# --- the two-column page -----------------------------------------------------------------

JOB_FAIR = (
    "县人社局举办2024年春季招聘会",
    [
        "本报讯 3月2日，县人社局在县城体育馆举办2024年“春风行动”暨春季招聘会。全县46家企业进场招聘，"
        "提供就业岗位1800余个，涵盖机械制造、食品加工、电子商务、物流配送等行业。",
        "招聘会现场共接待求职群众2600余人次，现场达成就业意向420人。县人社局还在现场设置政策咨询台，"
        "为求职者解答社保、职业技能培训等方面的问题，发放宣传资料3000余份。",
    ],
    "2024-03-02",
    "刘岚涛",
)
CHERRY_TRAINING = (
    "县农业农村局举办樱桃种植技术培训班",
    [
        "本报讯 3月9日，县农业农村局在南樊镇举办樱桃种植技术培训班，邀请省农科院专家授课。"
        "来自全县各乡镇的110余名樱桃种植户参加培训。",
        "专家围绕樱桃树春季修剪、花期管理、病虫害绿色防控等内容进行了详细讲解，并深入田间地头现场示范。"
        "参训群众纷纷表示，培训内容实用，解决了生产中的实际难题。",
    ],
    "2024-03-09",
    "王晓燕",
)
MASTHEAD_2 = "绛县新闻 2024年3月10日 第2版"


def two_column_page(path: Path, order: str = "column by column", gutter: float = 25.0) -> Bulletin:
    """One A4 page: masthead, then :data:`JOB_FAIR` (left column) and :data:`CHERRY_TRAINING`
    (right column), two columns 495 pt wide together, ``gutter`` points apart (25 pt: 2.4
    characters of body text).

    order: content-stream order, ``"column by column"`` or ``"line by line"`` (across the page,
        top to bottom, as some layout programs draw it).
    """
    col_w, top = (495.0 - gutter) / 2, 770.0
    left_x, right_x = 50.0, 50.0 + col_w + gutter
    cols = []
    for art, x in ((JOB_FAIR, left_x), (CHERRY_TRAINING, right_x)):
        title, paras, _date, author = art
        blocks = [("title", title)] + [("para", p) for p in paras] + [("byline", author)]
        cols.append(_place(_story(blocks, x, col_w), top))
    head = _centered(MASTHEAD_2, 800, HEAD_PT + 3)
    if order == "column by column":
        lines = [head, *cols[0], *cols[1]]
    elif order == "line by line":
        lines = [head, *sorted(cols[0] + cols[1], key=lambda ln: (-ln.y, ln.x))]
    else:
        raise ValueError(f"unknown order {order!r}")
    _draw(path, [lines])
    return Bulletin(
        Path(path),
        [_expected(*JOB_FAIR), _expected(*CHERRY_TRAINING)],
        pages=[[head.text] + [ln.text for ln in cols[0]] + [ln.text for ln in cols[1]]],
    )


# --- two pages with a running header and footer --------------------------------------------

SAFETY = (
    "我县开展安全生产大检查",
    [
        "本报讯 6月3日，县安委会召开安全生产工作会议，部署开展为期一个月的安全生产大检查。"
        "会议要求，各乡镇、各部门要聚焦矿山、危险化学品、道路交通、燃气、建筑施工等重点行业领域，"
        "全面排查整治各类风险隐患。",
        "检查采取“四不两直”方式进行，对发现的问题隐患建立台账，实行清单化管理，"
        "明确整改责任人和整改时限，确保整改到位。县应急管理局将对整改情况进行跟踪督办。",
    ],
    "2024-06-03",
    "王晓燕",
)
MARKET = (
    "城北农贸市场提升改造完工",
    [
        "本报讯 6月4日，经过两个多月的提升改造，城北农贸市场恢复营业。改造后的市场划分为蔬菜、肉类、水产、"
        "粮油、熟食五个区域，新增摊位120个，并安装了电子秤溯源系统和智能消防设施，"
        "市民买菜环境明显改善。",
        "市场管理服务中心负责人介绍，市场实行统一管理，每天早6点至晚8点营业。市民如有意见建议，"
        "可拨打市场管理服务中心联系电话0359-6538866。",
    ],
    "2024-06-04",
    "刘岚涛",
)
LIBRARY = (
    "县图书馆开展全民阅读月活动",
    [
        "本报讯 6月5日，县图书馆在文化广场启动全民阅读月活动，向全县中小学赠送图书1200册，"
        "并举办了读书分享会和亲子阅读等活动。",
    ],
    "2024-06-05",
    "张建元",
)
RUNNING_HEADER = "绛县新闻·内部资料 2024年6月5日 第{n}版 责任编辑：李明"
RUNNING_FOOTER = "— {n} — 电话：0359-6521234"


def running_heads_pdf(path: Path) -> Bulletin:
    """Two A4 pages, one column 495 pt wide, with :data:`RUNNING_HEADER` and
    :data:`RUNNING_FOOTER` on both; :data:`SAFETY`, :data:`MARKET` and :data:`LIBRARY`; the page
    breaks after the second line of :data:`MARKET`'s first paragraph, in the middle of a sentence."""
    x, width, top = 50.0, 495.0, 780.0
    story: list[tuple[float, _Line]] = []
    first_page_lines = 0
    for art in (SAFETY, MARKET, LIBRARY):
        title, paras, _date, author = art
        part = _story([("title", title)] + [("para", p) for p in paras] + [("byline", author)], x, width)
        if art is MARKET:
            first_page_lines = len(story) + 1 + 2  # the title and two lines of the lead paragraph
            assert not part[2][1].text.endswith("。"), "the page break must fall inside a sentence"
        story.extend(part)
    pages_lines = [story[:first_page_lines], story[first_page_lines:]]
    pages, truth, running = [], [], []
    for n, chunk in enumerate(pages_lines, 1):
        head = _Line(x, 806, HEAD_PT, RUNNING_HEADER.format(n=n))
        foot = _centered(RUNNING_FOOTER.format(n=n), 40, HEAD_PT)
        body = _place(chunk, top)
        pages.append([head, *body, foot])
        truth.append([head.text] + [ln.text for ln in body] + [foot.text])
        running += [head.text, foot.text]
    _draw(path, pages)
    return Bulletin(
        Path(path), [_expected(*SAFETY), _expected(*MARKET), _expected(*LIBRARY)], pages=truth, running=running
    )
