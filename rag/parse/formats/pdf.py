"""PDF → text, page by page, in reading order (pdfminer.six layout analysis).

pdfminer groups characters into lines and lines into text boxes by their positions, and
orders the boxes column by column, so two articles side by side on a newspaper page come
out one after the other (whatever order the PDF's content stream draws them in), each box
a paragraph. Pages are joined by blank lines, so a sentence broken across pages is joined
again by the article rules.

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

_CID_RE = re.compile(r"\(cid:\d+\)")


def pdf_text(path: Path, source: str, unreadable: list[ParseError]) -> str:
    """Page texts joined by blank lines; text boxes of a page separated by blank lines.

    unreadable: receives one ``ParseError`` per page that could not be read (``unreadable_page``:
        broken page, or images without a text layer) or holds unmapped characters
        (``unmapped_characters``), and one for the pictures of the file (``images_not_read``).
    raises ParseError(corrupt_document): not a PDF, damaged, or encrypted with a password.
    """
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTFigure, LTImage, LTTextBox
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    corrupt = f"文件 {source} 不是有效的 PDF（可能已损坏或下载不完整）；请重新导出 PDF 后再导入。"
    texts: list[str] = []
    images_on_text_pages = 0
    n = 0  # pages seen
    try:
        with open(path, "rb") as fp:
            resources = PDFResourceManager(caching=True)
            device = PDFPageAggregator(resources, laparams=LAParams())
            interpreter = PDFPageInterpreter(resources, device)
            pages = PDFPage.get_pages(fp, password="", check_extractable=False)
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    break
                n += 1
                try:
                    interpreter.process_page(page)
                    layout = device.get_result()
                except Exception:  # noqa: BLE001 - one broken page never stops the file
                    unreadable.append(ParseError(f"{source} 第 {n} 页无法提取文字，已跳过。", code="unreadable_page"))
                    continue
                boxes: list[str] = []
                images = 0
                stack = list(layout)
                while stack:
                    el = stack.pop(0)
                    if isinstance(el, LTTextBox):
                        boxes.append(el.get_text())
                    elif isinstance(el, LTImage):
                        images += 1
                    elif isinstance(el, LTFigure):
                        stack[:0] = list(el)
                text = "\n\n".join(b.strip("\n") for b in boxes if b.strip())
                cids = len(_CID_RE.findall(text))
                if cids:
                    text = _CID_RE.sub("", text)
                    unreadable.append(
                        ParseError(
                            f"{source} 第 {n} 页有 {cids} 个字符的字体缺少编码表，无法识别，已略去；"
                            "请从原始文档重新导出 PDF（嵌入字体）后再导入。",
                            code="unmapped_characters",
                        )
                    )
                if not text.strip():
                    if images:
                        unreadable.append(
                            ParseError(
                                f"{source} 第 {n} 页只有图片、没有文字层（可能是扫描件），未能读取；请先做文字识别（OCR）。",
                                code="unreadable_page",
                            )
                        )
                    continue
                images_on_text_pages += images
                texts.append(text)
    except PDFPasswordIncorrect:
        raise ParseError(
            f"文件 {source} 是加密的 PDF，无法读取；请先去除密码后再导入。", code="corrupt_document"
        ) from None
    except ParseError:
        raise
    except Exception:  # noqa: BLE001 - pdfminer raises PDFSyntaxError, PSEOF, struct errors, … on damaged files
        if not texts:
            raise ParseError(corrupt, code="corrupt_document") from None
        unreadable.append(ParseError(f"{source} 在第 {n + 1} 页处损坏，其后的内容未能读取。", code="unreadable_page"))
    if images_on_text_pages:
        unreadable.append(
            ParseError(
                f"{source} 中有 {images_on_text_pages} 张图片，图片里的文字（如有）没有导入；如需检索，请另行录入。",
                code="images_not_read",
            )
        )
    return "\n\n".join(texts)
