"""Streaming answers: a ``Pipeline.ask``-compatible generator for the chat UI and SSE endpoints.

Contract of every stream here: zero or more ``str`` pieces of answer text, then exactly one
``Answer``, last. The final ``Answer`` is authoritative: a consumer shows the pieces as they
arrive and then replaces them with ``answer.text`` (an LLM answerer may renumber or drop
citations after its text was streamed, so the pieces need not add up to the final text).

The extractive answerer is not token-streaming: its answer is computed whole and cut into
pieces at clause punctuation and ``[n]`` markers. An answerer that can stream (an LLM) plugs
in by giving the pipeline an ``ask_stream(question, history, *, top_k, filters, as_of)`` method
with the contract above; ``ask_stream`` below then uses it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .types import Answer

PIECE_BREAKS = "，。；：！？、,.;:!?\n"
MAX_PIECE_CHARS = 12  # a piece is cut after this many characters when no punctuation comes first
_TOKEN = re.compile(r"\[\d+\]|.", re.S)  # a citation marker is never split


def text_pieces(text: str, max_chars: int = MAX_PIECE_CHARS) -> Iterator[str]:
    """Cut ``text`` into display pieces: after clause punctuation, after each ``[n]`` marker,
    or every ``max_chars`` characters (not tokens). ``"".join(pieces) == text``."""
    buf = ""
    for m in _TOKEN.finditer(text):
        tok = m.group()
        buf += tok
        if len(tok) > 1 or tok in PIECE_BREAKS or len(buf) >= max_chars:
            yield buf
            buf = ""
    if buf:
        yield buf


def ask_stream(
    pipeline, question: str, history: Sequence = (), *, top_k: int = 5, filters=None, as_of=None
) -> Iterator[str | Answer]:
    """Answer like ``pipeline.ask`` but as a stream: text pieces, then the final ``Answer``.

    Uses ``pipeline.ask_stream`` when the pipeline provides one (a streaming answerer);
    otherwise calls ``pipeline.ask`` and cuts its text with ``text_pieces``.
    as_of: the day relative dates mean (``Pipeline.ask``); passed only when given.
    The work starts on the first ``next()``; closing the generator early stops it.
    raises QuestionError / StoreError: as ``Pipeline.ask`` (on the first ``next()``).
    """
    native = getattr(pipeline, "ask_stream", None)
    kw = {"as_of": as_of} if as_of is not None else {}  # pipelines without dates take no as_of
    if callable(native):
        yield from native(question, list(history), top_k=top_k, filters=filters, **kw)
        return
    answer = pipeline.ask(question, list(history), top_k=top_k, filters=filters, **kw)
    yield from text_pieces(answer.text)
    yield answer
