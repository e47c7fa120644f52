"""HTML → markdown-like text (BeautifulSoup + lxml): only the text is extracted, nothing is
rendered or run; h1/h2 become ``#`` headings."""

from __future__ import annotations

import re

from ..articles import _HAN

_HTML_DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "nav",
    "aside",
    "form",
    "footer",
    "button",
    "select",
    "textarea",
    "input",
)
_HTML_BLOCKS = (
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "blockquote",
    "pre",
    "h3",
    "h4",
    "h5",
    "h6",
    "figure",
    "figcaption",
    "address",
    "hr",
    "center",
    "details",
    "summary",
    "body",
)
_PARA_MARK, _LINE_MARK = "\ue000", "\ue001"
_CJK_CHARS = f"{_HAN}\u3000-\u303f\uff00-\uffef“”‘’"


def html_text(html: str) -> tuple[str, str]:
    """An HTML page as (markdown-like text, page title). h1/h2 become ``#`` headings, tables
    Markdown pipe rows (:func:`_table_rows`)."""
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString

    soup = BeautifulSoup(html.replace(_PARA_MARK, "").replace(_LINE_MARK, ""), "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(list(_HTML_DROP)):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    roots = soup.find_all("article") or soup.find_all("main") or [soup.body or soup]
    ids = {id(r) for r in roots}
    roots = [r for r in roots if not any(id(p) in ids for p in r.parents)]  # outermost only

    for root in roots:
        for table in root.find_all("table"):
            if table.find_parent("table") is None:  # a nested table is read as its cell's text
                table.replace_with(NavigableString(_PARA_MARK + _LINE_MARK.join(_table_rows(table)) + _PARA_MARK))
        for h in root.find_all(["h1", "h2"]):
            text = re.sub(r"\s+", " ", h.get_text(" ")).strip()
            h.replace_with(NavigableString(f"{_PARA_MARK}# {text}{_PARA_MARK}" if text else ""))
        for br in root.find_all("br"):
            br.replace_with(NavigableString(_LINE_MARK))
        for tag in root.find_all(list(_HTML_BLOCKS)):
            tag.insert(0, NavigableString(_PARA_MARK))
            tag.append(NavigableString(_PARA_MARK))
        for cell in root.find_all(["td", "th"]):
            cell.append(NavigableString(" "))

    parts = []
    for root in roots:
        parts.append(_PARA_MARK)
        for s in root.find_all(string=True):
            if isinstance(s, PreformattedString):  # comments, CDATA, doctype, processing instructions
                continue
            parts.append(str(s))
        parts.append(_PARA_MARK)
    text = "".join(parts)
    # Source-code line breaks between Chinese characters are not spaces.
    text = re.sub(rf"(?<=[{_CJK_CHARS}])[ \t\r\f\v]*\n\s*(?=[{_CJK_CHARS}])", "", text)
    text = re.sub(r"\s+", " ", text)
    text = text.replace(_LINE_MARK, "\n")
    text = re.sub(rf" *{_PARA_MARK}[ {_PARA_MARK}]*", "\n\n", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    if not re.search(r"(?m)^#{1,2} ", text):
        return text, title
    return text, ""


def _table_rows(table) -> list[str]:
    """A ``<table>`` as Markdown pipe rows, one cell per column (``colspan``: a header cell names
    every column it spans, a data cell fills the first; ``rowspan``: the value repeats below),
    with a separator row after the first row when all its cells are ``<th>`` or it is in
    ``<thead>`` (the article rules write each data row as a sentence, ``rag.parse.tables``)."""
    rows: list[list[str]] = []
    header = False
    down: dict[int, tuple[int, str]] = {}  # column → (rows still spanned, value)
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells = tr.find_all(["td", "th"], recursive=False)
        if not rows:
            header = bool(cells) and (all(c.name == "th" for c in cells) or tr.find_parent("thead") is not None)
        row: list[str] = []
        for c in cells:
            while len(row) in down:
                left, value = down.pop(len(row))
                if left > 1:
                    down[len(row)] = (left - 1, value)
                row.append(value)
            text = re.sub(r"\s+", " ", c.get_text(" ")).replace("|", " ").strip()
            span, rowspan = _int(c.get("colspan")), _int(c.get("rowspan"))
            if rowspan > 1:
                down[len(row)] = (rowspan - 1, text)
            row += [text] + [text if not rows else ""] * (span - 1)
        while len(row) in down:
            left, value = down.pop(len(row))
            if left > 1:
                down[len(row)] = (left - 1, value)
            row.append(value)
        if any(row):
            rows.append(row)
    out = ["| " + " | ".join(r) + " |" for r in rows]
    if header and len(rows) >= 2:
        out.insert(1, "| " + " | ".join("---" for _ in rows[0]) + " |")
    return out


def _int(value) -> int:
    try:
        return max(1, min(int(str(value).strip()), 100))
    except (TypeError, ValueError):
        return 1
