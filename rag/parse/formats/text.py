"""Plain text and Markdown (.txt, .md): decoded text; Markdown gets a light clean-up."""

from __future__ import annotations

import re

_MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_MD_EMPH_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_QUOTE_RE = re.compile(r"(?m)^[ \t]{0,3}>[ \t]?")


def strip_markdown(text: str) -> str:
    """Light .md clean-up: images dropped, links → their text, **bold** → bold, "> " removed."""
    text = _MD_IMAGE_RE.sub("", text)
    text = _MD_LINK_RE.sub(r"\1", text)
    text = _MD_EMPH_RE.sub(r"\2", text)
    return _MD_QUOTE_RE.sub("", text)
