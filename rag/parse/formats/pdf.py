"""PDF → text, page by page (pypdf); an unreadable page is reported and skipped."""

from __future__ import annotations

from pathlib import Path

from rag.errors import ParseError


def pdf_text(path: Path, source: str, errors: list[ParseError]) -> str:
    """Page texts joined by blank lines (so sentences broken across pages get repaired)."""
    corrupt = f"文件 {source} 不是有效的 PDF（可能已损坏或下载不完整）；请重新导出 PDF 后再导入。"
    try:
        import pypdf

        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise ParseError(f"文件 {source} 是加密的 PDF，无法读取；请先去除密码后再导入。", code="corrupt_document")
        pages = list(reader.pages)
    except ParseError:
        raise
    except Exception:
        raise ParseError(corrupt, code="corrupt_document") from None
    texts = []
    for n, page in enumerate(pages, 1):
        try:
            texts.append(page.extract_text() or "")
        except Exception:
            errors.append(ParseError(f"{source} 第 {n} 页无法提取文字，已跳过。", code="corrupt_document"))
    return "\n\n".join(texts)
