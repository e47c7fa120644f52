"""List answers (哪些 / 哪几 / 有什么): the sentences that state the items, chosen by the
sentence model (``description.sentences_draft``), in article order."""

from __future__ import annotations

from ..reading import Draft, Reading
from .description import sentences_draft
from .registry import Kind, register

MAX_SENTENCES = 5
MAX_CHARS = 420


def compose(r: Reading, ctx) -> Draft | None:
    """Up to ``MAX_SENTENCES`` sentences (``MAX_CHARS`` in all) whose P(states the answer) is
    close to the best one's."""
    return sentences_draft(r, MAX_SENTENCES, MAX_CHARS)


register(Kind("list", compose))
