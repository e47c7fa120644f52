"""The ask path of ``Pipeline.ask`` / ``Pipeline.ask_stream``: a question in its conversation,
with its relative date, → passages → one ``Answer``.

    question ─clean, normalise─▶ condense (history: questions and answers) ─▶ standalone
    standalone ─timeref.resolve─▶ period? ─▶ retrieve (within the period) ─▶ passages
    passages ─answerer─▶ Answer ─timeref.settle (a period)─▶ group_citations ─▶ Answer

Functions take the ``Pipeline`` (its retriever, answerer, extractive answerer, known people and
``today``); ``Pipeline`` keeps the public methods.
"""

from __future__ import annotations

import datetime
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence

from . import timeref
from .answer.citations import group_citations
from .answer.condense import condense, event_phrase, turns_from_history
from .answer.extractive import question_types
from .errors import QuestionError
from .normalize import normalize
from .stream import text_pieces
from .types import Answer

MAX_QUESTION_CHARS = 500  # longer input is refused: no question needs more, and it would only slow the embedder
Day = datetime.date | str | None  # a day given as a date or "YYYY-MM-DD"


def clean_question(question: str) -> str:
    """Strip control characters and outer whitespace; validate.

    raises QuestionError(empty_question): nothing left, or only punctuation/emoji/symbols.
    raises QuestionError(question_too_long): more than ``MAX_QUESTION_CHARS`` characters.
    """
    q = "".join(ch for ch in (question or "") if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    q = re.sub(r"\s+", " ", q).strip()
    if not q:
        raise QuestionError("请输入问题。", code="empty_question")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"问题太长（{len(q)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内。", code="question_too_long"
        )
    if not any(unicodedata.category(ch)[0] in "LN" for ch in q):
        raise QuestionError("问题里没有文字，请用中文描述您要查找的内容。", code="empty_question")
    return q


def clean_question_soft(text: str) -> str:
    """History turns: same cleaning as questions, but bad turns are dropped, not raised."""
    try:
        return clean_question(text)
    except QuestionError:
        return ""


def respond(pipe, question: str, history: Sequence, top_k: int, filters, as_of: Day, *, stream: bool) -> Iterator:
    """``Pipeline.ask`` (``stream`` False: yields only the ``Answer``) and ``Pipeline.ask_stream``
    (text pieces, then the ``Answer``). raises as ``Pipeline.ask``, on the first ``next()``."""
    t0 = time.perf_counter()
    q, standalone, passages, timings, dated = prepare(pipe, question, history, top_k, filters, as_of=as_of)
    t2 = time.perf_counter()
    native = getattr(pipe.answerer, "answer_stream", None)
    native = native if stream and not dated and pipe.answerer is not pipe.extractive else None
    items = native(q, standalone, passages) if callable(native) else [pipe.answerer.answer(q, standalone, passages)]
    for item in items:
        if not isinstance(item, Answer):
            yield from text_pieces(item)
            continue
        if dated:  # the period shown, or its abstention naming the latest report outside it
            search = lambda s, f: pipe.retriever.retrieve(s, k=top_k, filters=f)  # noqa: E731
            item = timeref.settle(item, dated, q, filters, search, pipe.answerer, pipe.extractive, event_phrase)
        item = group_citations(item)
        if stream and not callable(native):
            yield from text_pieces(item.text)
        timings["answer_ms"] = (time.perf_counter() - t2) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        item.timings_ms = {**timings, **item.timings_ms}
        yield item
        return


def prepare(pipe, question: str, history: Sequence, top_k: int, filters, *, as_of: Day = None):
    """Clean the question, make it standalone, retrieve: ``(q, standalone, passages, timings,
    period)``.

    ``q`` is the user's question as typed (only control characters and outer whitespace
    removed: ``Answer.question`` shows it back); the question and the history turns are then
    normalised like the documents (``rag.normalize.normalize``: invisible characters, width
    variants, traditional characters, dates in one form), and ``standalone`` — what is searched
    — is made from the normalised text by the answerer's ``condense(question, user_turns)`` when
    it has one (an LLM rewrite), else by ``rag.answer.condense.condense`` (rules; it reads the
    answers too and recomputes a missing previous answer through the extractive answerer). A
    relative date in it is taken out and searched as ``period``, within ``filters``
    (``rag.timeref``; None when there is none).
    raises QuestionError: bad question, bad ``as_of`` (bad_date).
    """
    t0 = time.perf_counter()
    q = clean_question(question)
    nq = normalize(q)
    today = timeref.parse_day(as_of) or pipe.today or datetime.date.today()
    turns = turns_from_history(history, lambda t: normalize(clean_question_soft(t)))
    top_k = max(1, min(int(top_k), 20))
    timings: dict[str, float] = {}
    hook = getattr(pipe.answerer, "condense", None)
    people = pipe.known_people | getattr(pipe.extractive, "people", frozenset())
    if callable(hook) and turns:
        standalone = hook(nq, [t.question for t in turns])
    else:
        recompute = lambda s: pipe.extractive.answer(s, *search(pipe, s, top_k, filters, today)[:2]).text  # noqa: E731
        cut = getattr(pipe.extractive, "pos_cut", None)  # the answerer's tagger with the archive's names, if it has one
        standalone = condense(nq, turns, people, pos_cut=cut, answer_of=recompute)
    timings["condense_ms"] = (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    standalone, passages, period = search(pipe, standalone, top_k, filters, today, timings)
    timings["retrieve_ms"] = (time.perf_counter() - t1) * 1000
    return q, standalone, passages, timings, period


def search(pipe, standalone: str, top_k: int, filters, today: datetime.date, timings: dict | None = None):
    """``(searched question, passages, period or None)``: a relative period of ``standalone`` is
    taken out of it and searched as a date range (``timeref.Period.searched``)."""
    period = timeref.resolve(standalone, today)
    if period:
        standalone, filters = period.searched, timeref.within(filters, period)
        if filters is None:  # the request's own range and the period do not meet
            return standalone, [], period
    # "哪些活动/会议" questions list articles: look at twice as many passages
    k = top_k * 2 if "events" in question_types(standalone) else top_k
    return standalone, pipe.retriever.retrieve(standalone, k=k, filters=filters, timings=timings), period
