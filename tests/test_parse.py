"""Tests for rag.parse: real files in tmp_path, real python-docx / pypdf / BeautifulSoup."""

from __future__ import annotations

import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest

from rag.errors import NotFoundError, ParseError
from rag.parse import (
    SUPPORTED_SUFFIXES,
    ParseResult,
    decode_bytes,
    iter_corpus_files,
    parse_file,
    parse_text,
    relative_source,
    repair_page_breaks,
    year_from_name,
)

SEED_NAME = "绛县新闻-2024年4-5月.txt"
SEED = Path(__file__).resolve().parents[1] / "corpus" / SEED_NAME
HALF_AFTER_HAN = re.compile(r"[\u4e00-\u9fff”’」』）》】][,;:?!]")

ARTICLE = (
    "# 县委召开专题会议\n\n"
    "本报讯 5月9日,县委召开专题会议,研究部署重点工作。\n\n"
    "会议强调,要优化保障,\n\n\n"
    "加强统筹协调。\n\n"
    "张三丰\n"
)


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> ParseResult:
    root = tmp_path_factory.mktemp("corpus")
    shutil.copy(SEED, root / SEED_NAME)
    return parse_file(root / SEED_NAME, root=root)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def code_of(excinfo) -> str:
    return excinfo.value.code


# --- the seed bulletin -------------------------------------------------------------


def test_seed_titles_dates_authors(seed):
    arts = seed.articles
    assert seed.errors == []
    assert [a.title for a in arts] == [
        "我县召开一季度经济运行分析会",
        "张建元带队到我县调研义务教育优质均衡发展情况",
        "李晓军调研农业农村工作",
        "李晓军调研部分重点民生项目建设情况",
        "我县召开2024年招商引资工作推进会议",
    ]
    assert [a.date for a in arts] == ["2024-04-29", "2024-05-09", "2024-05-07", "2024-05-06", "2024-05-10"]
    assert [a.date_int for a in arts] == [20240429, 20240509, 20240507, 20240506, 20240510]
    assert [a.author for a in arts] == ["张倩倩", "秦佳凤", "刘岚涛", "", "刘岚涛"]
    assert {a.source for a in arts} == {SEED_NAME}
    assert len({a.id for a in arts}) == 5


def test_seed_page_breaks_joined_and_paragraphs_kept(seed):
    arts = seed.articles
    bodies = "\n\n".join(a.text for a in arts)
    paragraphs = bodies.split("\n\n")
    for joined in [
        "新要求",
        "消费品",
        "躬身入局",
        "要优化保障，加强",
        "促进义务教育",
        "保洁员作用",
        "山楂园区",
        "政策和市场",
    ]:
        # present inside one paragraph: no blank line left inside the repaired sentence
        assert any(joined in p for p in paragraphs), joined
    # real paragraph breaks are kept: 7 + 3 + 5 + 4 + 3 paragraphs
    assert [len(a.text.split("\n\n")) for a in arts] == [7, 3, 5, 4, 3]
    first = arts[0].text.split("\n\n")
    assert first[1].endswith("蓬勃向上的发展态势。") and first[2].startswith("解芳强调，做好经济工作一定要实")
    assert arts[4].text.endswith("作出更大贡献！")
    assert arts[3].text.endswith("助推绛山种业高质量发展。")


def test_seed_bylines_removed_and_text_clean(seed):
    for a in seed.articles:
        if a.author:
            assert a.author not in a.text
        assert not HALF_AFTER_HAN.search(a.text), a.title
        assert "\n\n\n" not in a.text
        for p in a.text.split("\n\n"):
            assert p == p.strip() and p
        assert not a.text.startswith("#") and a.title not in a.text.split("\n\n")[0][: len(a.title)]
    assert seed.articles[0].text.startswith("本报讯 4月29日，我县召开")
    assert seed.articles[0].text.endswith("相关单位作了表态发言。")


# --- dates and years ---------------------------------------------------------------


def test_year_argument_used_when_text_has_none():
    [a] = parse_text("# 会议\n\n本报讯 5月9日,县里开会。", source="x.txt", year=2023)
    assert a.date == "2023-05-09"


def test_explicit_year_in_date_beats_year_argument():
    [a] = parse_text("# 会议\n\n本报讯 2022年5月9日,县里开会。", source="x.txt", year=2023)
    assert a.date == "2022-05-09"


def test_year_from_title_when_no_argument():
    [a] = parse_text("# 2021年工作会议\n\n本报讯 5月9日,县里开会。", source="x.txt")
    assert a.date == "2021-05-09"


def test_year_argument_beats_file_name(tmp_path):
    f = write(tmp_path / "新闻-2024年.txt", "# 会议\n\n本报讯 5月9日,县里开会。")
    assert parse_file(f, year=2023).articles[0].date == "2023-05-09"
    assert parse_file(f).articles[0].date == "2024-05-09"


def test_no_year_anywhere_gives_unknown_date(tmp_path):
    f = write(tmp_path / "news.txt", "# 会议\n\n本报讯 5月9日,县里开会。")
    a = parse_file(f).articles[0]
    assert a.date == "" and a.date_int == 0


def test_an_uploads_temp_name_gives_no_year(tmp_path):
    """Uploads are stored as <uuid hex>.txt: digits in the random name ("…a2019b…") are no year
    (this made uploads get a random year now and then, and a re-upload look changed)."""
    f = write(tmp_path / "3fa2019bc7.txt", "# 会议\n\n本报讯 5月9日,县里开会。")
    assert parse_file(f, source="植树.txt").articles[0].date == ""
    assert parse_file(f, source="植树-2024.txt").articles[0].date == "2024-05-09"


def test_date_only_in_first_80_chars_and_valid():
    body = "县里开会。" * 20 + "5月9日又开会。"
    [a] = parse_text("# 会议\n\n" + body, source="x", year=2024)
    assert a.date == ""
    [b] = parse_text("# 会议\n\n本报讯 2月30日,开会。", source="x", year=2024)
    assert b.date == ""


def test_year_from_name():
    assert year_from_name(SEED_NAME) == 2024
    assert year_from_name("20230510.txt") == 2023
    assert year_from_name("2022/会议.txt") == 2022
    assert year_from_name("第12345期.txt") is None
    assert year_from_name("news-1850.txt") is None
    assert year_from_name("news.txt") is None


# --- text formats ------------------------------------------------------------------


def test_md_single_article(tmp_path):
    f = write(
        tmp_path / "sub" / "a.md",
        "# 县委召开**专题**会议\n\n本报讯 5月9日,会议由[县委](http://x.cn)主持。\n\n第二段。\n",
    )
    res = parse_file(f, root=tmp_path, year=2024)
    [a] = res.articles
    assert a.title == "县委召开专题会议"
    assert a.text == "本报讯 5月9日，会议由县委主持。\n\n第二段。"
    assert a.source == "sub/a.md" and a.date == "2024-05-09"


def test_txt_without_heading_uses_first_line_as_title(tmp_path):
    f = write(tmp_path / "b.txt", "县委召开专题会议\n\n本报讯 5月9日,县委召开专题会议。\n\n第二段。\n\n李四\n")
    [a] = parse_file(f, year=2024).articles
    assert a.title == "县委召开专题会议"
    assert a.text == "本报讯 5月9日，县委召开专题会议。\n\n第二段。"
    assert a.author == "李四" and a.source == "b.txt"


def test_txt_without_heading_and_sentence_first_line_keeps_text(tmp_path):
    f = write(tmp_path / "c.txt", "本报讯 5月9日,县委召开专题会议,研究部署重点工作。\n\n第二段。")
    [a] = parse_file(f, year=2024).articles
    assert a.text.startswith("本报讯 5月9日，县委召开专题会议")
    assert a.title == "县委召开专题会议，研究部署重点工作"


def test_text_before_first_heading(tmp_path):
    text = "绛县新闻 第5期\n\n" + ARTICLE
    assert [a.title for a in parse_text(text, source="x", year=2024)] == ["县委召开专题会议"]


def test_txt_script_stays_literal(tmp_path):
    f = write(tmp_path / "s.txt", "# 标题\n\n正文<script>alert('x')</script>结束。")
    [a] = parse_file(f).articles
    assert "<script>alert('x')</script>" in a.text


def test_jsonl_good_and_bad_lines(tmp_path):
    lines = [
        json.dumps(
            {"id": "a1", "title": "第一篇", "text": "本报讯 5月9日,县里开会。", "url": "http://x.cn/1"},
            ensure_ascii=False,
        ),
        "{not json",
        json.dumps(
            {
                "text": "县委召开专题会议,研究工作。会议强调,要优化保障,\n\n加强统筹。",
                "date": "2024年5月8日",
                "author": "王五",
                "source": "报纸/第3期",
            },
            ensure_ascii=False,
        ),
        json.dumps({"title": "没有正文"}, ensure_ascii=False),
        "",
        json.dumps({"text": "第三篇正文。", "date": None}, ensure_ascii=False),
    ]
    f = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    res = parse_file(f, year=2024)
    assert [a.title for a in res.articles] == ["第一篇", "县委召开专题会议，研究工作", "第三篇正文"]
    a, b, c = res.articles
    assert a.date == "2024-05-09" and a.url == "http://x.cn/1" and a.source == "d.jsonl"
    assert b.date == "2024-05-08" and b.author == "王五" and b.source == "d.jsonl"  # the file names it, not "source"
    assert b.text == "县委召开专题会议，研究工作。会议强调，要优化保障，加强统筹。"
    assert c.date == ""
    assert [e.code for e in res.errors] == ["bad_jsonl_line", "bad_jsonl_line"]
    assert "第 2 行" in res.errors[0].message and "d.jsonl" in res.errors[0].message
    assert "第 4 行" in res.errors[1].message


def test_jsonl_all_lines_bad(tmp_path):
    f = write(tmp_path / "e.jsonl", '[1, 2]\n"text"\n')
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "no_text" and "第 1 行" in ei.value.message


# --- encodings and bad files -------------------------------------------------------


@pytest.mark.parametrize(
    "encoding,prefix",
    [
        ("gbk", b""),
        ("gb18030", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
    ],
)
def test_encodings_decode(tmp_path, encoding, prefix):
    text = ARTICLE.replace("\n", "\r\n")
    if encoding == "gb18030":
        text = text.replace("专题", "专题㐀")  # U+3400: in GB18030, not in GBK
    f = tmp_path / f"enc-{encoding}.txt"
    f.write_bytes(prefix + text.encode(encoding))
    [a] = parse_file(f, year=2024).articles
    assert a.title.startswith("县委召开专题")
    assert a.author == "张三丰" and a.date == "2024-05-09"
    assert "要优化保障，加强统筹协调。" in a.text and "\r" not in a.text


def test_decode_bytes_rules():
    assert decode_bytes("第一行\r\n第二行\r第三行\f第四页".encode("gbk"), "x") == "第一行\n第二行\n第三行\n\n第四页"
    with pytest.raises(ParseError) as ei:
        decode_bytes(b"", "x")
    assert code_of(ei) == "empty_file"
    with pytest.raises(ParseError) as ei:
        decode_bytes(b"abc" + bytes(range(1, 9)) * 10, "x")
    assert code_of(ei) == "binary_file"
    with pytest.raises(ParseError) as ei:
        decode_bytes(b"\xff\xfe\x00\xd8a\x00", "bad-utf16.txt")  # BOM, then a lone surrogate
    assert code_of(ei) == "decode_error" and "bad-utf16.txt" in ei.value.message
    with pytest.raises(ParseError) as ei:
        decode_bytes(b"\xef\xbb\xbf" + "中文".encode("gbk"), "x")  # UTF-8 BOM on GBK bytes
    assert code_of(ei) == "decode_error"


def test_binary_file_renamed_txt(tmp_path):
    f = tmp_path / "image.txt"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "binary_file" and "image.txt" in ei.value.message


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t  "])
def test_empty_file(tmp_path, content):
    f = tmp_path / "empty.txt"
    f.write_bytes(content)
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "empty_file" and "empty.txt" in ei.value.message


def test_unsupported_suffix(tmp_path):
    f = write(tmp_path / "表格.xlsx", "whatever")
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "unsupported_type" and "表格.xlsx" in ei.value.message


def test_file_too_large(tmp_path):
    f = write(tmp_path / "big.txt", ARTICLE * 10)
    with pytest.raises(ParseError) as ei:
        parse_file(f, max_bytes=100)
    assert code_of(ei) == "file_too_large"


def test_missing_file(tmp_path):
    with pytest.raises(NotFoundError):
        parse_file(tmp_path / "nope.txt")


def test_headings_only_is_no_text(tmp_path):
    f = write(tmp_path / "h.md", "# 标题一\n\n## 标题二\n")
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "no_text"


# --- docx --------------------------------------------------------------------------


def test_docx_headings_and_paragraphs(tmp_path):
    d = docx.Document()
    d.add_paragraph("绛县新闻 第5期")
    d.add_heading("县委召开专题会议", level=1)
    d.add_paragraph("本报讯 5月9日,县委召开专题会议。")
    d.add_paragraph("会议强调,要优化保障,")
    d.add_paragraph("加强统筹协调。")
    d.add_paragraph("张三丰")
    d.add_heading("县长调研农业工作", level=2)
    d.add_paragraph("本报讯 5月10日,县长调研农业工作。")
    d.add_heading("一、总体要求", level=3)
    d.add_paragraph("要抓好春耕。")
    f = tmp_path / "news.docx"
    d.save(f)
    res = parse_file(f, year=2024)
    assert [a.title for a in res.articles] == ["县委召开专题会议", "县长调研农业工作"]
    a, b = res.articles
    assert a.date == "2024-05-09" and a.author == "张三丰"
    assert a.text == "本报讯 5月9日，县委召开专题会议。\n\n会议强调，要优化保障，加强统筹协调。"
    assert b.date == "2024-05-10" and b.author == ""
    assert b.text == "本报讯 5月10日，县长调研农业工作。\n\n一、总体要求\n\n要抓好春耕。"


def test_docx_random_bytes_is_corrupt(tmp_path):
    f = tmp_path / "bad.docx"
    f.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "corrupt_document" and "bad.docx" in ei.value.message


def test_docx_zip_without_document_is_corrupt(tmp_path):
    f = tmp_path / "empty.docx"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert code_of(ei) == "corrupt_document"


def test_docx_zip_bomb_refused(tmp_path):
    f = tmp_path / "bomb.docx"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as out:
            chunk = b" " * (4 * 1024 * 1024)
            for _ in range(75):  # 300 MiB uncompressed, ~1.3 MB on disk
                out.write(chunk)
    assert f.stat().st_size < 20 * 1024 * 1024
    t0 = time.perf_counter()
    with pytest.raises(ParseError) as ei:
        parse_file(f)
    assert time.perf_counter() - t0 < 2  # refused from the zip directory, never inflated
    assert code_of(ei) == "file_too_large" and "bomb.docx" in ei.value.message


def test_docx_uncompressed_limit_scales_with_max_bytes(tmp_path):
    d = docx.Document()
    d.add_paragraph("县" * 1_000_000)  # 3 MB of XML that deflates to a few KB
    f = tmp_path / "small.docx"
    d.save(f)
    assert parse_file(f).articles[0].text == "县" * 1_000_000
    size = f.stat().st_size
    with pytest.raises(ParseError) as ei:
        parse_file(f, max_bytes=size)  # may unpack to 50 × its own size: this one unpacks to more
    assert code_of(ei) == "file_too_large"


# --- pdf ---------------------------------------------------------------------------


def make_text_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF with real text: a Type0/Identity-H font whose codes are Unicode code
    points, with a ToUnicode CMap (no embedded font program, so nothing to install)."""
    chars = sorted({c for page in pages for line in page for c in line})
    objs: list[bytes | None] = []

    def add(body: bytes | None) -> int:
        objs.append(body)
        return len(objs)

    bfchar = "".join(f"<{ord(c):04X}> <{ord(c):04X}>\n" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(chars)} beginbfchar\n{bfchar}endbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode()
    catalog, pages_id = add(None), add(None)
    tounicode = add(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
    desc = add(
        b"<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -200 1000 900] "
        b"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>"
    )
    cid = add(
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 1000 >>" % desc
    )
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H "
        b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cid, tounicode)
    )
    kids = []
    for lines in pages:
        ops = ["BT /F1 12 Tf 14 TL 50 780 Td"]
        ops += ["<" + "".join(f"{ord(c):04X}" for c in line) + "> Tj T*" for line in lines]
        ops.append("ET")
        content = "\n".join(ops).encode()
        c = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_id, font, c)
            )
        )
    objs[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objs[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
    return bytes(out)


def test_pdf_text_with_page_break(tmp_path):
    f = tmp_path / "2024-bulletin.pdf"
    f.write_bytes(
        make_text_pdf(
            [
                ["县委召开专题会议", "本报讯 5月9日,县委召开专题会议。", "会议强调,要优化保障,"],
                ["加强统筹协调。", "张三丰"],
            ]
        )
    )
    assert len(pypdf.PdfReader(f).pages) == 2
    res = parse_file(f)
    [a] = res.articles
    assert a.title == "县委召开专题会议"
    assert a.date == "2024-05-09" and a.author == "张三丰"
    assert a.text == "本报讯 5月9日，县委召开专题会议。\n\n会议强调，要优化保障，加强统筹协调。"


def test_pdf_blank_and_invalid(tmp_path):
    blank = tmp_path / "blank.pdf"
    w = pypdf.PdfWriter()
    w.add_blank_page(width=200, height=200)
    with open(blank, "wb") as fh:
        w.write(fh)
    with pytest.raises(ParseError) as ei:
        parse_file(blank)
    assert code_of(ei) == "no_text" and "OCR" in ei.value.message
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    with pytest.raises(ParseError) as ei:
        parse_file(bad)
    assert code_of(ei) == "corrupt_document" and "bad.pdf" in ei.value.message


# --- html --------------------------------------------------------------------------


def test_html_articles_script_dropped(tmp_path):
    html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>绛县新闻网</title>
    <style>p { color: red }</style><script>alert("x")</script></head>
    <body><nav>首页 | 新闻</nav>
    <h1>县委召开专题会议</h1><p>本报讯 5月9日,县委召开
    专题会议。</p><p>会议强调,要优化保障,</p><p>加强统筹协调。</p><p>张三丰</p>
    <h2>县长调研农业工作</h2><div>本报讯 5月10日,县长<b>调研</b>农业工作。<script>evil()</script></div>
    <!-- comment --><footer>版权所有</footer></body></html>"""
    f = write(tmp_path / "page.html", html)
    res = parse_file(f, year=2024)
    assert [a.title for a in res.articles] == ["县委召开专题会议", "县长调研农业工作"]
    a, b = res.articles
    assert a.text == "本报讯 5月9日，县委召开专题会议。\n\n会议强调，要优化保障，加强统筹协调。"
    assert a.author == "张三丰" and a.date == "2024-05-09"
    assert b.text == "本报讯 5月10日，县长调研农业工作。"
    joined = a.text + b.text
    for junk in ("alert", "evil", "color", "首页", "版权", "comment"):
        assert junk not in joined


def test_html_without_headings_uses_title_tag(tmp_path):
    f = write(
        tmp_path / "p.htm",
        "<html><head><title>县委召开专题会议</title></head>"
        "<body><p>本报讯 5月9日,县委召开会议。</p><p>第二段。</p></body></html>",
    )
    [a] = parse_file(f, year=2024).articles
    assert a.title == "县委召开专题会议"
    assert a.text == "本报讯 5月9日，县委召开会议。\n\n第二段。"


# --- ids, repair, punctuation --------------------------------------------------------


def test_reprint_gets_same_id(tmp_path):
    a = parse_file(write(tmp_path / "one.txt", ARTICLE), root=tmp_path).articles[0]
    b = parse_file(
        write(tmp_path / "two.md", "# 转载：县委召开专题会议\n\n" + ARTICLE.split("\n\n", 1)[1]), root=tmp_path
    ).articles[0]
    c = parse_file(
        write(tmp_path / "three.jsonl", json.dumps({"text": a.text}, ensure_ascii=False)), root=tmp_path
    ).articles[0]
    assert a.id == b.id == c.id
    assert (a.source, b.source, c.source) == ("one.txt", "two.md", "three.jsonl")


def test_duplicates_within_a_file_are_dropped():
    assert len(parse_text(ARTICLE + "\n" + ARTICLE, source="x")) == 1


def test_repair_page_breaks_rules():
    text = (
        "他说。\n\n新的段落。”\n\n“引语！”\n\n"
        "一、总体要求\n\n"
        "要及时学习新政策、新要\n\n求,加强统筹。\n\n"
        "English words split\n\nacross pages.\n\n"
        "## 标题\n\n正文没有句号\n\n## 下一个标题\n\n"
        "共计1,000\n\n万元。\n\n"
        "段首缩进前\n\u3000\u3000新段落。\n"
        "硬换行  \n下一行"
    )
    assert repair_page_breaks(text).split("\n\n") == [
        "他说。",
        "新的段落。”",
        "“引语！”",
        "一、总体要求",
        "要及时学习新政策、新要求,加强统筹。",
        "English words split across pages.",
        "## 标题",
        "正文没有句号",
        "## 下一个标题",
        "共计1,000万元。",
        "段首缩进前",
        "新段落。",
        "硬换行",
        "下一行",
    ]


def test_byline_not_taken_from_a_wrapped_line():
    [a] = parse_text("# 标题\n\n正文第一段。\n\n这一句在这里断开\n没有", source="x")
    assert a.author == "" and a.text.endswith("断开没有")


def test_punctuation_normalised_outside_numbers():
    [a] = parse_text("# 标题:副题\n\n共1,000万元,同比增长5%,其中:工业;服务业?是的!“好”,行。Hello, world.", source="x")
    assert a.title == "标题：副题"
    assert a.text == "共1,000万元，同比增长5%，其中：工业；服务业？是的！“好”，行。Hello, world."


# --- corpus walking ----------------------------------------------------------------


def test_iter_corpus_files(tmp_path):
    for rel in [
        "b.txt",
        "a/z.md",
        "a/y.HTML",
        "dict.txt",
        "a/dict.txt",
        ".hidden.txt",
        ".git/x.txt",
        "notes.xlsx",
        "c.jsonl",
        "d.docx",
        "e.pdf",
        "f.htm",
    ]:
        write(tmp_path / rel, "x")
    got = list(iter_corpus_files([tmp_path]))
    assert [(f.relative_to(tmp_path).as_posix(), r) for f, r in got] == [
        ("a/y.HTML", tmp_path),
        ("a/z.md", tmp_path),
        ("b.txt", tmp_path),
        ("c.jsonl", tmp_path),
        ("d.docx", tmp_path),
        ("e.pdf", tmp_path),
        ("f.htm", tmp_path),
    ]
    direct = tmp_path / "a" / "z.md"
    assert list(iter_corpus_files([direct, tmp_path / "dict.txt"])) == [(direct, direct.parent)]
    assert len(list(iter_corpus_files([tmp_path, direct]))) == 7  # each file once
    with pytest.raises(NotFoundError):
        list(iter_corpus_files([tmp_path / "missing"]))
    assert ".txt" in SUPPORTED_SUFFIXES and ".htm" in SUPPORTED_SUFFIXES


# --- normalised text, articles split at leads ----------------------------------------


def test_invisible_characters_and_width_variants_never_reach_the_stored_text():
    clean = parse_text(SEED.read_text(encoding="utf-8"), source=SEED.name)
    pasted = SEED.read_text(encoding="utf-8")
    for _i, ch in enumerate(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u180e", "\u00a0"]):
        pasted = (
            pasted.replace("樱桃", f"樱{ch}桃", 1)
            .replace("王大凤", f"王{ch}大凤", 1)
            .replace("李晓军", f"李{ch}晓{ch}军", 1)
        )
    pasted = pasted.replace("4月29日", "４月２９日").replace("5月10日", "五月十日")
    assert pasted != SEED.read_text(encoding="utf-8")
    got = parse_text(pasted, source=SEED.name)
    assert [(a.id, a.title, a.text, a.date, a.author) for a in got] == [
        (a.id, a.title, a.text, a.date, a.author) for a in clean
    ]


def test_traditional_document_is_stored_in_simplified_characters(tmp_path):
    f = tmp_path / "繁體.txt"
    f.write_text("李曉軍調研農業農村工作\n本報訊 5月7日，縣委副書記、縣長李曉軍調研農業農村工作。\n", encoding="big5")
    [a] = parse_file(f, year=2024).articles
    assert a.title == "李晓军调研农业农村工作" and a.text == "本报讯 5月7日，县委副书记、县长李晓军调研农业农村工作。"
    assert a.date == "2024-05-07"


LEFT = [
    "县里召开春耕备耕工作会议",
    "本报讯 3月2日，县里召开春耕",
    "备耕工作会议，部署全县春耕",
    "生产工作。会议要求，各乡镇",
    "要抓好农资供应。",
    "王小明",
]
RIGHT = [
    "县文旅局举办非遗展演活动",
    "本报讯 3月9日，县文旅局在",
    "文化广场举办非遗展演活动，",
    "吸引游客12.6万人次。活动展",
    "示了剪纸、面塑等技艺。",
    "李小红",
]


def _check_two_articles(articles, year="2024"):
    assert [(a.title, a.date, a.author) for a in articles] == [
        ("县里召开春耕备耕工作会议", f"{year}-03-02", "王小明"),
        ("县文旅局举办非遗展演活动", f"{year}-03-09", "李小红"),
    ]
    assert articles[1].text == (
        "本报讯 3月9日，县文旅局在文化广场举办非遗展演活动，吸引游客12.6万人次。活动展示了剪纸、面塑等技艺。"
    )


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".docx", ".jsonl-like-md"])
def test_articles_split_at_leads_in_every_format(tmp_path, suffix):
    lines = ["绛县新闻 2024年3月10日 第2版", ""] + LEFT + [""] + RIGHT
    if suffix == ".docx":
        d = docx.Document()
        for ln in lines:
            if ln:
                d.add_paragraph(ln)
        f = tmp_path / "第2版.docx"
        d.save(f)
    elif suffix == ".html":
        f = tmp_path / "第2版.html"
        f.write_text(
            "<html><head><title>绛县新闻</title></head><body>"
            + "".join(f"<p>{ln}</p>" for ln in lines if ln)
            + "</body></html>",
            encoding="utf-8",
        )
    elif suffix == ".md":
        f = tmp_path / "第2版.md"
        f.write_text("# 简讯\n\n" + "\n".join(LEFT + [""] + RIGHT), encoding="utf-8")
    else:
        f = tmp_path / "第2版.txt"
        f.write_text("\n".join(lines), encoding="utf-8")
    # the year comes from the masthead when neither the file name nor the leads have one
    _check_two_articles(parse_file(f, year=2024 if suffix == ".md" else None).articles)


def test_single_lead_keeps_one_article_and_its_subtitle():
    [a] = parse_text("# 我县召开会议\n\n副题：部署春耕\n\n本报讯 3月2日，我县召开会议。\n", source="x.txt", year=2024)
    assert a.title == "我县召开会议" and a.text.startswith("副题：部署春耕")
    # a lead quoted inside a paragraph never splits
    [b] = parse_text(
        "县里召开会议\n本报讯 3月2日，县里开会。会上通报了本报讯 3月9日的报道。\n", source="x.txt", year=2024
    )
    assert b.title == "县里召开会议"


def test_text_before_the_first_lead_with_a_sentence_is_its_own_article():
    arts = parse_text(
        "# 简讯\n\n编者按：春耕时节，各地忙碌。\n\n" + "\n".join(LEFT + [""] + RIGHT), source="x.md", year=2024
    )
    assert [a.title for a in arts] == ["简讯", "县里召开春耕备耕工作会议", "县文旅局举办非遗展演活动"]
    assert arts[0].text == "编者按：春耕时节，各地忙碌。"


# --- Word: every place body text lives ------------------------------------------------

_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" '
    'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
    'xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'
)
KEY = "全年接待游客12.6万人次。"


def _p(inner: str) -> str:
    return f"<w:p {_NS}>{inner}</w:p>"


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def _txbx(text: str) -> str:
    return f"<w:txbxContent>{_p(_r(text))}</w:txbxContent>"


def _anchor(inner: str) -> str:
    return (
        '<w:drawing><wp:anchor><wp:docPr id="1" name="框"/><a:graphic><a:graphicData '
        f'uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">{inner}'
        "</a:graphicData></a:graphic></wp:anchor></w:drawing>"
    )


WORD_CONTAINERS = {
    "text box (DrawingML + VML fallback)": _p(
        f'<w:r><mc:AlternateContent><mc:Choice Requires="wps">{_anchor(f"<wps:wsp><wps:txbx>{_txbx(KEY)}</wps:txbx></wps:wsp>")}'
        f"</mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{_txbx(KEY)}</v:textbox></v:shape></w:pict>"
        "</mc:Fallback></mc:AlternateContent></w:r>"
    ),
    "text box (VML only)": _p(f"<w:r><w:pict><v:shape><v:textbox>{_txbx(KEY)}</v:textbox></v:shape></w:pict></w:r>"),
    "text box in a group shape": _p(
        "<w:r>"
        + _anchor(
            '<wpg:wgp xmlns:wpg="http://schemas.microsoft.com/office/word/2010/wordprocessingGroup"><wps:wsp><wps:txbx>'
            + _txbx(KEY)
            + "</wps:txbx></wps:wsp></wpg:wgp>"
        )
        + "</w:r>"
    ),
    "block content control": f"<w:sdt {_NS}><w:sdtPr/><w:sdtContent>{_p(_r(KEY))}</w:sdtContent></w:sdt>",
    "inline content control": _p(f"<w:sdt><w:sdtPr/><w:sdtContent>{_r(KEY)}</w:sdtContent></w:sdt>"),
    "table cell": f"<w:tbl {_NS}><w:tr><w:tc>{_p(_r('指标'))}</w:tc><w:tc>{_p(_r(KEY))}</w:tc></w:tr></w:tbl>",
    "nested table": (
        f"<w:tbl {_NS}><w:tr><w:tc><w:tbl><w:tr><w:tc>{_p(_r(KEY))}</w:tc></w:tr></w:tbl>{_p('')}</w:tc></w:tr></w:tbl>"
    ),
    "row in a content control": (
        f"<w:tbl {_NS}><w:sdt><w:sdtContent><w:tr><w:tc>{_p(_r(KEY))}</w:tc></w:tr></w:sdtContent></w:sdt></w:tbl>"
    ),
    "hyperlink": _p(f'<w:hyperlink r:id="rId99">{_r(KEY)}</w:hyperlink>'),
    "field result": _p(
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> MERGEFIELD 人数 </w:instrText>'
        f'</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>{_r(KEY)}'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    ),
    "simple field": _p(f'<w:fldSimple w:instr=" DOCPROPERTY 人数 ">{_r(KEY)}</w:fldSimple>'),
    "tracked insertion": _p(f'<w:ins w:id="1" w:author="审核">{_r(KEY)}</w:ins>'),
    "smart tag and custom XML": _p(
        f'<w:smartTag w:element="place"><w:customXml w:element="x">{_r(KEY)}</w:customXml></w:smartTag>'
    ),
    "footnote": _p(_r("详见注释") + '<w:r><w:footnoteReference w:id="1"/></w:r>'),
    "endnote": _p(_r("详见尾注") + '<w:r><w:endnoteReference w:id="1"/></w:r>'),
}
NOT_TEXT = {
    "tracked deletion": _p(
        '<w:del w:id="2" w:author="审核"><w:r><w:delText>删除的12.7万人次</w:delText></w:r></w:del>'
    ),
    "hidden text": _p("<w:r><w:rPr><w:vanish/></w:rPr><w:t>隐藏的12.8万人次</w:t></w:r>"),
    "placeholder": f"<w:sdt {_NS}><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>{_p(_r('单击此处输入文字。'))}</w:sdtContent></w:sdt>",
}
_NOTES = {"footnotes": ("footnote", "footnotes"), "endnotes": ("endnote", "endnotes")}


def make_docx(path: Path, body_xml: list[str], notes: dict[str, str] | None = None) -> Path:
    """A .docx made with python-docx, with raw WordprocessingML appended to its body and
    optional footnotes/endnotes parts (``{"footnotes": text, "endnotes": text}``)."""
    from docx.oxml import parse_xml

    d = docx.Document()
    d.add_paragraph("县文旅局举办非遗展演活动")
    d.add_paragraph("本报讯 3月9日，县文旅局举办非遗展演活动。")
    body = d.element.body
    for xml in body_xml:
        body.insert(len(body) - 1, parse_xml(xml))  # before sectPr
    d.add_paragraph("活动展示了剪纸、面塑等技艺。")
    d.save(path)
    if notes:
        src = zipfile.ZipFile(path)
        entries = {n: src.read(n) for n in src.namelist()}
        src.close()
        rels = entries["word/_rels/document.xml.rels"].decode()
        types = entries["[Content_Types].xml"].decode()
        for part, text in notes.items():
            tag, _ = _NOTES[part]
            entries[f"word/{part}.xml"] = (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{part} {_NS}>'
                f'<w:{tag} w:type="separator" w:id="-1">{_p("<w:r><w:separator/></w:r>")}</w:{tag}>'
                f'<w:{tag} w:id="1">{_p(_r(text))}</w:{tag}></w:{part}>'
            ).encode()
            rels = rels.replace(
                "</Relationships>",
                f'<Relationship Id="rIdN{part}" Type="http://schemas.openxmlformats.'
                f'org/officeDocument/2006/relationships/{part}" Target="{part}.xml"/></Relationships>',
            )
            types = types.replace(
                "</Types>",
                f'<Override PartName="/word/{part}.xml" ContentType="application/vnd.'
                f'openxmlformats-officedocument.wordprocessingml.{part}+xml"/></Types>',
            )
        entries["word/_rels/document.xml.rels"] = rels.encode()
        entries["[Content_Types].xml"] = types.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for n, data in entries.items():
                out.writestr(n, data)
    return path


@pytest.mark.parametrize("where", list(WORD_CONTAINERS))
def test_docx_text_in_every_word_container_is_read_once_in_document_order(tmp_path, where):
    notes = {"footnotes": KEY} if where == "footnote" else {"endnotes": KEY} if where == "endnote" else None
    f = make_docx(tmp_path / "2024-非遗.docx", [WORD_CONTAINERS[where]], notes)
    res = parse_file(f)
    [a] = res.articles
    assert a.title == "县文旅局举办非遗展演活动" and a.date == "2024-03-09"
    assert a.text.count("12.6万人次") == 1, a.text
    assert a.text.index("举办非遗展演活动。") < a.text.index("12.6万人次") < a.text.index("剪纸")
    assert res.unreadable == []


def test_docx_deleted_hidden_and_placeholder_text_is_not_read(tmp_path):
    f = make_docx(tmp_path / "2024-非遗.docx", list(NOT_TEXT.values()))
    [a] = parse_file(f).articles
    assert "12.7" not in a.text and "12.8" not in a.text and "单击此处" not in a.text and "MERGEFIELD" not in a.text


def test_docx_content_that_cannot_be_read_is_reported(tmp_path):
    unreadable = [
        _p(f"<w:r>{_anchor('<pic:pic><pic:blipFill/></pic:pic>')}</w:r>"),
        _p(f"<w:r>{_anchor('<pic:pic><pic:blipFill/></pic:pic>')}</w:r>"),
        _p("<w:r>" + _anchor('<c:chart r:id="rId70"/>') + "</w:r>"),
        _p("<w:r>" + _anchor('<dgm:relIds r:dm="rId71"/>') + "</w:r>"),
        _p(
            '<w:r><w:object><v:shape><v:imagedata r:id="rId72"/></v:shape><o:OLEObject ProgID="Excel.Sheet.12"/>'
            "</w:object></w:r>"
        ),
        f'<w:altChunk {_NS} r:id="rId73"/>',
    ]
    f = make_docx(tmp_path / "2024-非遗.docx", unreadable)
    res = parse_file(f)
    assert len(res.articles) == 1
    got = {e.code: e.message for e in res.unreadable}
    assert set(got) == {
        "images_not_read",
        "charts_not_read",
        "smartart_not_read",
        "objects_not_read",
        "altchunks_not_read",
    }
    assert "2 张图片" in got["images_not_read"] and all("2024-非遗.docx" in m for m in got.values())


# --- PDF: columns in reading order, unreadable pages reported --------------------------


def make_positioned_pdf(pages: list[list[tuple[float, float, str]]], images: dict[int, int] | None = None) -> bytes:
    """A PDF whose text lines are drawn at given ``(x, y)`` positions, in the order given
    (so a test chooses the content-stream order); ``images``: page index → number of 1×1
    images drawn on that page."""
    chars = sorted({c for page in pages for _x, _y, line in page for c in line} | {"x"})
    objs: list[bytes | None] = []

    def add(body: bytes | None) -> int:
        objs.append(body)
        return len(objs)

    bfchar = "".join(f"<{ord(c):04X}> <{ord(c):04X}>\n" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(chars)} beginbfchar\n{bfchar}endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\n"
        "end\nend\n"
    ).encode()
    catalog, pages_id = add(None), add(None)
    tounicode = add(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
    desc = add(
        b"<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -200 1000 900] "
        b"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>"
    )
    cid = add(
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 1000 >>" % desc
    )
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H "
        b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cid, tounicode)
    )
    img = add(
        b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length 1 >>\nstream\n\x80\nendstream"
    )
    kids = []
    for n, items in enumerate(pages):
        ops = [
            f"BT /F1 10 Tf 1 0 0 1 {x} {y} Tm <" + "".join(f"{ord(c):04X}" for c in line) + "> Tj ET"
            for x, y, line in items
        ]
        ops += [f"q 100 0 0 100 {50 + 120 * i} 100 cm /Im1 Do Q" for i in range((images or {}).get(n, 0))]
        content = "\n".join(ops).encode()
        c = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> "
                b"/XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_id, font, img, c)
            )
        )
    objs[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objs[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
    return bytes(out)


def _columns(order: str) -> list[tuple[float, float, str]]:
    left = [(50, 760 - 14 * i, t) for i, t in enumerate(LEFT)]
    right = [(310, 760 - 14 * i, t) for i, t in enumerate(RIGHT)]
    if order == "column by column":
        return left + right
    if order == "right column first":
        return right + left
    return [it for pair in zip(left, right) for it in pair]  # line by line across the page


@pytest.mark.parametrize("order", ["column by column", "right column first", "line by line across"])
def test_pdf_two_articles_side_by_side_become_two_articles(tmp_path, order):
    f = tmp_path / "绛县新闻第2版.pdf"
    f.write_bytes(make_positioned_pdf([[(50, 800, "绛县新闻 2024年3月10日 第2版")] + _columns(order)]))
    res = parse_file(f)
    _check_two_articles(res.articles)
    assert res.unreadable == []


def test_pdf_scanned_page_and_pictures_are_reported(tmp_path):
    f = tmp_path / "2024-扫描.pdf"
    f.write_bytes(make_positioned_pdf([_columns("column by column"), [], []], images={0: 2, 1: 1}))
    res = parse_file(f)
    assert len(res.articles) == 2
    got = [(e.code, e.message) for e in res.unreadable]
    assert [c for c, _ in got] == ["unreadable_page", "images_not_read"]
    assert "第 2 页" in got[0][1] and "OCR" in got[0][1] and "2 张图片" in got[1][1]


@pytest.mark.parametrize(
    "encoding,name", [("gbk", "税务宣传月.txt"), ("big5", "稅務宣傳月.txt"), ("utf-8", "税务宣传月.txt")]
)
def test_file_names_not_in_utf8_on_disk_are_decoded_like_contents(tmp_path, encoding, name):
    """A file copied from a Windows share keeps its GBK/Big5 name bytes; Python shows them as
    surrogate escapes, which could not even be stored. The source is the decoded name."""
    import os

    raw = os.fsencode(tmp_path) + b"/" + name.encode(encoding)
    with open(raw, "wb") as fh:
        fh.write("税务宣传月活动启动\n本报讯 2024年4月1日，税务宣传月活动正式启动。\n".encode())
    [(path, root)] = list(iter_corpus_files([tmp_path]))
    assert parse_file(path, root=root).articles[0].source == name
    assert relative_source(path, root) == name
