"""Word (.docx) → markdown-like text in document order, from every place Word keeps body
text (python-docx opens the package; its XML is walked here), with a zip-bomb guard."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from rag.errors import ParseError

from ..decode import fmt_size

#: Uncompressed size of a .docx (zip bomb guard): at most max(50 × its own size, max_bytes), so a
#: small file never unpacks to more text than a plain file may hold, and never above
#: min(50 × max_bytes, 200 MiB).
DOCX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DOCX_MAX_RATIO = 50
DOCX_MAX_ENTRIES = 10_000


def docx_text(path: Path, source: str, max_bytes: int, unreadable: list[ParseError]) -> str:
    """A .docx as markdown-like text: Title/Heading 1/Heading 2 → ``#``/``##``, deeper headings
    → ``###``, table rows → ``| a | b |`` (a ``| --- |`` row after a header row: the article rules
    write each data row as a sentence, ``rag.parse.tables``), paragraphs separated by blank lines; text boxes,
    content controls, footnotes and the rest in document order (see ``_WordReader``).

    unreadable: receives one ``ParseError`` per kind of content that could not be read, with
        its count (codes ``images_not_read``, ``charts_not_read``, ``smartart_not_read``,
        ``objects_not_read``, ``altchunks_not_read``).
    raises ParseError: ``corrupt_document`` (not a .docx, damaged), ``file_too_large`` (zip bomb).
    """
    corrupt = f"文件 {source} 不是有效的 .docx 文档（可能已损坏，或是旧版 .doc 改了扩展名）；请用 Word 另存为 .docx 后再导入。"
    try:
        size = path.stat().st_size
        limit = min(max(DOCX_MAX_RATIO * size, max_bytes), DOCX_MAX_RATIO * max_bytes, DOCX_MAX_UNCOMPRESSED)
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if len(infos) > DOCX_MAX_ENTRIES or total > limit:
                raise ParseError(
                    f"文件 {source} 解压后达 {fmt_size(total)}（{len(infos)} 个部件），超过上限 {fmt_size(limit)}，"
                    "疑似压缩炸弹，已拒绝导入。",
                    code="file_too_large",
                )
            if "word/document.xml" not in {i.filename for i in infos}:
                raise ParseError(corrupt, code="corrupt_document")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ParseError(corrupt, code="corrupt_document") from None

    try:
        import docx  # python-docx

        document = docx.Document(str(path))
        styles = {st.style_id: (st.name or "") for st in document.styles}
        reader = _WordReader(styles, _notes(document))
        blocks = reader.blocks(document.element.body, top=True)
    except ParseError:
        raise
    except Exception:  # python-docx raises KeyError, ValueError, lxml errors, … on broken parts
        raise ParseError(corrupt, code="corrupt_document") from None
    for kind, count in reader.skipped.items():
        if count:
            unreadable.append(ParseError(f"{source} 中有 {count} {_SKIPPED[kind]}", code=f"{kind}_not_read"))
    return "\n\n".join(blocks)


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_M = "http://schemas.openxmlformats.org/officeDocument/2006/math"
_TEXT_TAGS = {f"{{{_W}}}t", f"{{{_M}}}t"}
# never read: deleted revisions, field codes, ruby (phonetic) text, properties
_SKIP = {
    f"{{{_W}}}{t}"
    for t in (
        "del",
        "moveFrom",
        "delText",
        "delInstrText",
        "instrText",
        "rt",
        "rPr",
        "pPr",
        "sdtPr",
        "sdtEndPr",
        "tblPr",
        "trPr",
        "tcPr",
        "sectPr",
    )
}
_SKIPPED = {
    "images": "张图片，图片里的文字（如有）没有导入；如需检索，请另行录入。",
    "charts": "个图表，图表中的文字没有导入。",
    "smartart": "个 SmartArt 图形，其中的文字没有导入；请改为正文或文本框后再导入。",
    "objects": "个嵌入对象（如 Excel 表格、公式编辑器对象），其内容没有导入；请复制为正文后再导入。",
    "altchunks": "个外部嵌入的文档片段（altChunk），其内容没有导入；请在 Word 中另存为 .docx 后再导入。",
}


def _local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _notes(document) -> dict[tuple[str, str], list]:
    """Footnote and endnote elements by ``(kind, id)``: ``("footnote", "1")`` → ``<w:footnote>``."""
    from lxml import etree

    out: dict[tuple[str, str], list] = {}
    for rel in document.part.rels.values():
        kind = rel.reltype.rsplit("/", 1)[-1]
        if kind not in ("footnotes", "endnotes") or rel.is_external:
            continue
        root = etree.fromstring(rel.target_part.blob)
        for note in root:
            note_id = note.get(f"{{{_W}}}id")
            if note_id is not None and note.get(f"{{{_W}}}type") in (None, "normal"):
                out[(kind[:-1], note_id)] = note
    return out


class _WordReader:
    """Body text of a Word document in document order, from every place Word keeps it:
    paragraphs, tables (nested too), content controls (block, row, cell and inline),
    text boxes (DrawingML and VML: the ``mc:AlternateContent`` choice is read once, never
    both), footnotes and endnotes (after the paragraph that cites them), hyperlinks, fields'
    results, smart tags, tracked insertions (deletions are left out), equations. Headers and
    footers are page furniture (running titles, page numbers) and comments are remarks
    about the text: neither is read. What cannot be read is counted in ``skipped`` (images,
    charts, SmartArt, embedded objects, altChunks)."""

    def __init__(self, styles: dict[str, str], notes: dict[tuple[str, str], list]):
        self.styles = styles
        self.notes = notes
        self.skipped = {k: 0 for k in _SKIPPED}

    def blocks(self, container, top: bool = False) -> list[str]:
        """Paragraph and table-row blocks of a body-like element (body, cell, text box, note)."""
        out: list[str] = []
        for el in container:
            tag = _local(el)
            if tag == "p":
                out.extend(self.paragraph(el, top))
            elif tag == "tbl":
                out.extend(self.table(el))
            elif tag == "altChunk":
                self.skipped["altchunks"] += 1
            elif tag == "AlternateContent":
                chosen = _choose(el)
                if chosen is not None:
                    out.extend(self.blocks(chosen, top))
            elif tag in ("sdt", "sdtContent", "customXml", "ins", "moveTo", "smartTag") and not _placeholder(el):
                out.extend(self.blocks(el, top))
        return out

    def paragraph(self, p, top: bool) -> list[str]:
        parts: list[str] = []
        extra: list[str] = []  # text boxes and notes of this paragraph, placed after it
        self._inline(p, parts, extra)
        text = "".join(parts).replace("\r", "")
        out = []
        if text.strip():
            level = _heading_level(self.styles.get(_style_id(p), "")) if top else 0
            out.append("#" * level + " " + re.sub(r"\s+", " ", text).strip() if level else text)
        return out + extra

    def _inline(self, el, parts: list[str], extra: list[str]) -> None:
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            local = _local(ch)
            if tag in _TEXT_TAGS:
                parts.append(ch.text or "")
            elif local == "r" and _hidden(ch):
                continue
            elif local == "tab" and tag.startswith(f"{{{_W}}}"):
                parts.append("\t")
            elif local in ("br", "cr") and tag.startswith(f"{{{_W}}}"):
                parts.append("\n")
            elif local == "noBreakHyphen":
                parts.append("-")
            elif local == "sym":
                code = int(ch.get(f"{{{_W}}}char") or "0", 16)
                if code and not 0xE000 <= code <= 0xF8FF:  # symbol-font glyphs (F0xx) are not text
                    parts.append(chr(code))
            elif local == "txbxContent":
                extra.extend(self.blocks(ch))
            elif local in ("footnoteReference", "endnoteReference"):
                note = self.notes.get((local[: -len("Reference")], ch.get(f"{{{_W}}}id") or ""))
                if note is not None:
                    extra.extend(self.blocks(note))
            elif local == "AlternateContent":
                chosen = _choose(ch)
                if chosen is not None:
                    self._inline(chosen, parts, extra)
            elif local == "object":
                self.skipped["objects"] += 1
            elif local == "sdt" and _placeholder(ch):
                continue
            else:
                if local == "pic" or (local == "imagedata" and ch.get(f"{{{_R}}}id")):
                    self.skipped["images"] += 1
                elif local == "chart":
                    self.skipped["charts"] += 1
                elif local == "relIds" and "diagram" in (ch.tag or ""):
                    self.skipped["smartart"] += 1
                self._inline(ch, parts, extra)

    def table(self, tbl) -> list[str]:
        """Table rows as Markdown pipe rows, one cell per grid column (a cell merged across columns
        fills the first, a cell merged down repeats the value above), with a separator row after
        the header row when the table has one (:func:`_has_header`)."""
        rows: list[list[str]] = []
        trs = _children(tbl, "tr")
        above: dict[int, str] = {}  # grid column → value of the cell that a vertical merge continues
        for tr in trs:
            cells: list[str] = []
            for tc in _children(tr, "tc"):
                t = re.sub(r"\s+", " ", " ".join(b.replace("|", " ") for b in self.blocks(tc))).strip()
                col = len(cells)
                vmerge = tc.find(f"{{{_W}}}tcPr/{{{_W}}}vMerge")
                if vmerge is not None and vmerge.get(f"{{{_W}}}val") != "restart" and not t:
                    t = above.get(col, "")
                above[col] = t
                span = tc.find(f"{{{_W}}}tcPr/{{{_W}}}gridSpan")
                n = int(span.get(f"{{{_W}}}val") or 1) if span is not None else 1
                cells += [t] + [t if not rows else ""] * (max(n, 1) - 1)  # a merged header names every column
            rows.append(cells)
        keep = [(tr, r) for tr, r in zip(trs, rows) if any(r)]
        out = ["| " + " | ".join(r) + " |" for _, r in keep]
        if len(keep) >= 2 and _has_header(keep[0][0], [r for _, r in keep]):
            out.insert(1, "| " + " | ".join("---" for _ in keep[0][1]) + " |")
        return out


_NUMBER_RE = re.compile(r"[-+]?\d[\d,.]*%?")


def _has_header(first_tr, rows: list[list[str]]) -> bool:
    """Is the first row a header row? Yes when Word marks it as one (repeat as header row), when
    every run of text in it is bold, or when it holds no number and heads a column of numbers."""
    if first_tr.find(f"{{{_W}}}trPr/{{{_W}}}tblHeader") is not None:
        return True
    runs = [r for r in first_tr.iter(f"{{{_W}}}r") if any((t.text or "").strip() for t in r.iter(f"{{{_W}}}t"))]
    if runs and all(_bold(r) for r in runs):
        return True
    head = rows[0]
    if any(_NUMBER_RE.fullmatch(c) for c in head if c):
        return False
    for col, name in enumerate(head):
        values = [r[col] for r in rows[1:] if col < len(r) and r[col]]
        if name and not re.search(r"\d", name) and values and all(_NUMBER_RE.fullmatch(v) for v in values):
            return True
    return False


def _bold(run) -> bool:
    b = run.find(f"{{{_W}}}rPr/{{{_W}}}b")
    return b is not None and b.get(f"{{{_W}}}val") not in ("0", "false", "off")


_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _children(el, name: str) -> list:
    """Children named ``name`` (``tr`` of a table, ``tc`` of a row), also inside content controls."""
    out = []
    for ch in el:
        local = _local(ch)
        if local == name:
            out.append(ch)
        elif local in ("sdt", "sdtContent", "customXml", "ins", "moveTo"):
            out.extend(_children(ch, name))
    return out


def _choose(alternate):
    """The branch of ``mc:AlternateContent`` to read: the first ``mc:Choice`` that holds text,
    else ``mc:Fallback`` (both usually hold the same text box; only one is read)."""
    choices = [c for c in alternate if _local(c) == "Choice"]
    fallback = next((c for c in alternate if _local(c) == "Fallback"), None)
    for c in choices:
        if _has_text(c):
            return c
    if fallback is not None and _has_text(fallback):
        return fallback
    return choices[0] if choices else fallback


def _has_text(el) -> bool:
    return any(t.text for t in el.iter(*_TEXT_TAGS))


def _placeholder(el) -> bool:
    """A content control still showing its placeholder ("单击或点击此处输入文字。"), not content."""
    return _local(el) == "sdt" and el.find(f"{{{_W}}}sdtPr/{{{_W}}}showingPlcHdr") is not None


def _hidden(run) -> bool:
    """A run formatted as hidden text (``w:vanish``), which Word does not show or print."""
    rpr = run.find(f"{{{_W}}}rPr")
    if rpr is None:
        return False
    v = rpr.find(f"{{{_W}}}vanish")
    return v is not None and v.get(f"{{{_W}}}val") not in ("0", "false", "off")


def _style_id(p) -> str:
    ps = p.find(f"{{{_W}}}pPr/{{{_W}}}pStyle")
    return ps.get(f"{{{_W}}}val") if ps is not None else ""


def _heading_level(style_name: str) -> int:
    """Title / Heading 1 / 标题 1 → 1, Heading 2 → 2, deeper headings → 3, else 0."""
    low = style_name.lower().strip()
    if low in ("title", "标题", "heading 1", "heading 2", "标题 1", "标题 2"):
        return 2 if low.endswith("2") else 1
    if low.startswith(("heading ", "标题 ")):
        return 3
    return 0
