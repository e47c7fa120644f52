"""List answers (哪些 / 哪几 / 有什么): the sentences that state the items, best first by the
sentence model, from the best sentence's article, in article order."""

from __future__ import annotations

from ..reading import Draft, Reading
from . import Kind, register
from .description import sentences_draft

MAX_SENTENCES = 4
MAX_CHARS = 360


def compose(r: Reading, ctx) -> Draft | None:
    """Up to ``MAX_SENTENCES`` sentences (``MAX_CHARS`` in all) of the best sentence's article
    whose P(states the answer) is at least half the best one's."""
    return sentences_draft(r, MAX_SENTENCES, MAX_CHARS)


register(Kind("list", compose))
