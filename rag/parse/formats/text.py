"""Plain text and Markdown (.txt, .md): decoded text; Markdown gets a light clean-up."""

from __future__ import annotations

import re

_MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_MD_EMPH_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_QUOTE_RE = re.compile(r"(?m)^[ \t]{0,3}>[ \t]?")
# a GFM table's separator row: "--- | :---:" (outer pipes optional)
_MD_SEPARATOR_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")


def strip_markdown(text: str) -> str:
    """Light .md clean-up: images dropped, links → their text, **bold** → bold, "> " removed,
    tables written without outer pipes (``a | b`` over ``--- | ---``) given them, so every table
    is pipe rows (``rag.parse.tables``)."""
    text = _MD_IMAGE_RE.sub("", text)
    text = _MD_LINK_RE.sub(r"\1", text)
    text = _MD_EMPH_RE.sub(r"\2", text)
    return _outer_pipes(_MD_QUOTE_RE.sub("", text))


def _outer_pipes(text: str) -> str:
    if "|" not in text:
        return text
    lines = text.split("\n")
    i = 1
    while i < len(lines):
        if _MD_SEPARATOR_RE.match(lines[i]) and "|" in lines[i - 1] and not lines[i - 1].lstrip().startswith("|"):
            j = i - 1
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                lines[j] = "| " + lines[j].strip().strip("|").strip() + " |"
                j += 1
            i = j
        i += 1
    return "\n".join(lines)
