"""Word (.docx) → markdown-like text, with a zip-bomb guard."""

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


def docx_text(path: Path, source: str, max_bytes: int) -> str:
    """A .docx as markdown-like text: Title/Heading 1/Heading 2 → ``#``/``##``, deeper headings
    → ``###``, table rows → ``| a | b |``, paragraphs separated by blank lines."""
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
        from docx.table import Table

        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells: list[str] = []
                    for cell in row.cells:
                        t = re.sub(r"\s+", " ", cell.text).strip()
                        if not cells or cells[-1] != t:  # merged cells repeat
                            cells.append(t)
                    if any(cells):
                        blocks.append("| " + " | ".join(cells) + " |")
                continue
            text = item.text.replace("\r", "")
            if not text.strip():
                continue
            level = _docx_heading_level(item)
            if level:
                blocks.append("#" * level + " " + re.sub(r"\s+", " ", text).strip())
            else:
                blocks.append(text)
    except ParseError:
        raise
    except Exception:  # python-docx raises KeyError, ValueError, lxml errors, … on broken parts
        raise ParseError(corrupt, code="corrupt_document") from None
    return "\n\n".join(blocks)


def _docx_heading_level(paragraph) -> int:
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except Exception:
        return 0
    low = name.lower().strip()
    if low in ("title", "标题", "heading 1", "heading 2", "标题 1", "标题 2"):
        return 2 if low.endswith("2") else 1
    if low.startswith(("heading ", "标题 ")):
        return 3
    return 0
