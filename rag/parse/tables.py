"""Table rows → sentence-like lines that can be searched, quoted and cited.

Every reader writes a table as Markdown pipe rows (``| 乡镇 | 项目 | 完成投资（万元） |``), with a
separator row (``| --- | --- | --- |``) after the header row when the table has one (Word: the
row marked as a repeating header, a bold first row, or a first row of words over a column of
numbers; HTML: ``<th>`` cells; Markdown: as written). The article rules then write each data row
as one line, the contract the answer step relies on:

- ``header：value`` pairs joined by "，" in column order, ending in "。":
  header ``| 乡镇 | 项目 | 完成投资（万元） |`` and row ``| 南樊镇 | 樱桃冷链仓储中心 | 1450 |`` →
  "乡镇：南樊镇，项目：樱桃冷链仓储中心，完成投资（万元）：1450。";
- empty cells are left out (a cell without a header is written alone);
- a table without a header row keeps its cells joined by "，": "南樊镇，樱桃冷链仓储中心，1450。";
- the header row itself, separator rows and repeats of the header row (a table continued on the
  next page) are not written;
- the line is one unit: the chunker never splits it (``Article.table_rows``).
"""

from __future__ import annotations

import re

_ROW_RE = re.compile(r"^[ \t]{0,3}\|")
_SEPARATOR_CELL_RE = re.compile(r":?-+:?")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_VALUE_END = "。；;，,、 \t\u3000"


def is_table_row(line: str) -> bool:
    """A Markdown pipe row: the line starts with "|" (up to three spaces before it)."""
    return bool(_ROW_RE.match(line))


def split_row(line: str) -> list[str]:
    """The cells of a pipe row, stripped (outer pipes dropped, ``\\|`` is a literal "|")."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.replace("\\|", "|").strip() for c in _CELL_SPLIT_RE.split(s)]


def is_separator(cells: list[str]) -> bool:
    """A Markdown separator row (``| --- | :-: |``)."""
    return bool(cells) and all(_SEPARATOR_CELL_RE.fullmatch(c.replace(" ", "")) for c in cells)


def row_sentence(cells: list[str], header: list[str] | None) -> str:
    """One data row as a sentence (the module docstring's contract); "" when every cell is empty."""
    parts = []
    for i, cell in enumerate(cells):
        value = cell.strip().rstrip(_VALUE_END)
        if not value:
            continue
        head = header[i].strip().rstrip("：:").strip() if header and i < len(header) else ""
        parts.append(f"{head}：{value}" if head else value)
    return "，".join(parts) + "。" if parts else ""


def table_sentences(paragraphs: list[str]) -> list[tuple[str, bool]]:
    """Paragraphs with each run of pipe rows (a table) written as row sentences.

    returns: ``(text, is a table row)`` pairs in order; other paragraphs pass unchanged.
    """
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(paragraphs):
        if not is_table_row(paragraphs[i]):
            out.append((paragraphs[i], False))
            i += 1
            continue
        j = i
        while j < len(paragraphs) and is_table_row(paragraphs[j]):
            j += 1
        rows = [split_row(p) for p in paragraphs[i:j]]
        header = None
        if len(rows) >= 3 and is_separator(rows[1]):
            header, rows = rows[0], rows[2:]
        elif len(rows) == 2 and is_separator(rows[1]):
            rows = rows[:1]  # a header without data: its cells, joined
        for cells in rows:
            if is_separator(cells) or cells == header:
                continue
            sentence = row_sentence(cells, header)
            if sentence:
                out.append((sentence, True))
        i = j
    return out
