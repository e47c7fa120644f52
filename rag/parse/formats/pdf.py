"""PDF → text, page by page, in reading order.

pdfminer.six reads the characters and groups them into lines (its layout analysis, with
``LAParams(char_margin=1.0)``: characters a character's width or more apart are not one line, so
two columns 1 character apart never merge); ``rag.parse.layout`` does the rest, independently of
the library: running headers and footers found across pages are removed (and reported), each
page is read column by column (two articles side by side on a bulletin page come out one after
the other, whatever order the PDF draws them in), and lines are grouped into paragraphs. Pages
are joined by blank lines, so a sentence broken across a page break is joined again by the
article rules. Chosen by measurement over pdfminer's own box order, pypdfium2 and PyMuPDF:
``eval/bench_pdf.py``, ``eval/reports/pdf_layout.md``.

What cannot be read is reported, not silently lost (``unreadable``): a page that fails to
parse, a page with images but no text layer (a scan: needs OCR), characters whose font has
no Unicode mapping (``(cid:N)``), and pictures on pages with text (their text, if any, is
not read).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from rag.errors import ParseError

from ..articles import Skipped
from ..layout import TextLine, page_text, running_lines

_CID_RE = re.compile(r"\(cid:\d+\)")
#: pdfminer's ``char_margin``: characters farther apart than this many character widths are not
#: one line (its default, 2.0, merges the lines of two columns 1.5 characters apart)
CHAR_MARGIN = 1.0


def pdf_text(path: Path, source: str, unreadable: list[ParseError], skipped: list[Skipped]) -> tuple[str, str]:
    """The text of a PDF: pages in order, each in reading order (columns one after the other),
    paragraphs and pages separated by blank lines, running headers and footers removed.

    unreadable: receives one ``ParseError`` per page that could not be read (``unreadable_page``:
        broken page, or images without a text layer) or holds unmapped characters
        (``unmapped_characters``), and one for the pictures of the file (``images_not_read``).
    skipped: receives one ``Skipped`` per running header or footer removed (``running_header``,
        ``running_footer``), with its first occurrence as ``text``.
    returns: ``(text, running)``: the text, and the removed running heads one per line (a masthead
        such as "绛县新闻 2024年6月5日", whose year dates leads written without one).
    raises ParseError(corrupt_document): not a PDF, damaged, or encrypted with a password.
    """
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTFigure, LTImage, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    corrupt = f"文件 {source} 不是有效的 PDF（可能已损坏或下载不完整）；请重新导出 PDF 后再导入。"
    pages: list[list[TextLine]] = []
    images_on_text_pages = 0
    n = 0  # pages seen
    try:
        with open(path, "rb") as fp:
            resources = PDFResourceManager(caching=True)
            device = PDFPageAggregator(resources, laparams=LAParams(char_margin=CHAR_MARGIN))
            interpreter = PDFPageInterpreter(resources, device)
            page_iter = PDFPage.get_pages(fp, password="", check_extractable=False)
            while True:
                try:
                    page = next(page_iter)
                except StopIteration:
                    break
                n += 1
                try:
                    interpreter.process_page(page)
                    layout = device.get_result()
                except Exception:  # noqa: BLE001 - one broken page never stops the file
                    unreadable.append(ParseError(f"{source} 第 {n} 页无法提取文字，已跳过。", code="unreadable_page"))
                    continue
                lines: list[TextLine] = []
                images = cids = 0
                stack = list(layout)
                while stack:
                    el = stack.pop(0)
                    if isinstance(el, LTTextBox):
                        stack[:0] = [ln for ln in el if isinstance(ln, LTTextLine)]
                    elif isinstance(el, LTTextLine):
                        text = el.get_text().replace("\n", "")
                        cids += len(_CID_RE.findall(text))
                        text = _CID_RE.sub("", text)
                        if text.strip():
                            lines.append(TextLine(el.x0, el.y0, el.x1, el.y1, text))
                    elif isinstance(el, LTImage):
                        images += 1
                    elif isinstance(el, LTFigure):
                        stack[:0] = list(el)
                if cids:
                    unreadable.append(
                        ParseError(
                            f"{source} 第 {n} 页有 {cids} 个字符的字体缺少编码表，无法识别，已略去；"
                            "请从原始文档重新导出 PDF（嵌入字体）后再导入。",
                            code="unmapped_characters",
                        )
                    )
                if not lines:
                    if images:
                        unreadable.append(
                            ParseError(
                                f"{source} 第 {n} 页只有图片、没有文字层（可能是扫描件），未能读取；请先做文字识别（OCR）。",
                                code="unreadable_page",
                            )
                        )
                    continue
                images_on_text_pages += images
                pages.append(lines)
    except PDFPasswordIncorrect:
        raise ParseError(
            f"文件 {source} 是加密的 PDF，无法读取；请先去除密码后再导入。", code="corrupt_document"
        ) from None
    except ParseError:
        raise
    except Exception:  # noqa: BLE001 - pdfminer raises PDFSyntaxError, PSEOF, struct errors, … on damaged files
        if not pages:
            raise ParseError(corrupt, code="corrupt_document") from None
        unreadable.append(ParseError(f"{source} 在第 {n + 1} 页处损坏，其后的内容未能读取。", code="unreadable_page"))
    if images_on_text_pages:
        unreadable.append(
            ParseError(
                f"{source} 中有 {images_on_text_pages} 张图片，图片里的文字（如有）没有导入；如需检索，请另行录入。",
                code="images_not_read",
            )
        )
    pages, running = running_lines(pages)
    for r in running:
        where = "页眉" if r.where == "header" else "页脚"
        skipped.append(
            Skipped(
                f"running_{r.where}",
                f"{source} 每页重复的{where}「{r.text}」（{r.pages} 页）不是正文，已去除。",
                r.text,
            )
        )
    return "\n\n".join(t for t in (page_text(p) for p in pages) if t), "\n".join(r.text for r in running)
