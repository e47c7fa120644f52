"""The training / validation split of the gold questions, by article.

A question belongs to the validation part when ``sha1("answer-split-1:" + key)`` falls in the
lowest ``VALIDATION_SHARE`` of its range, where ``key`` is its first gold article's title (an
unanswerable question: its ``near_article``, else its id). Every question about an article is
in the same part, so no article's sentences are both fitted on and validated on.
"""

from __future__ import annotations

import hashlib

VALIDATION_SHARE = 0.3
SPLIT_SALT = "answer-split-1:"


def split_key(gold: dict) -> str:
    """The article a question is split by (see the module docstring)."""
    return (gold.get("articles") or [gold.get("near_article") or gold["id"]])[0]


def split_of(gold: dict) -> str:
    """``"val"`` for the validation part, ``"train"`` otherwise."""
    h = int(hashlib.sha1((SPLIT_SALT + split_key(gold)).encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < VALIDATION_SHARE else "train"
