"""Evaluation metrics: pure functions, deterministic, no LLM judge.

Text matching is done after :func:`normalize` on both sides (NFKC, punctuation and
whitespace removed), so ``"5月9日"`` matches ``"５月９日"`` and ``"抓招商、强支撑"`` contains
``"抓招商强支撑"``.

Per question, :func:`score_question` returns a flat dict of scores; :func:`aggregate`
turns a list of them into the report's metrics (overall and per kind). A metric that has
no question to be measured on is ``None`` (e.g. abstention accuracy without unanswerable
questions), never 0.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

MARKER = re.compile(r"\[(\d+)\]")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TRIM_MARK = re.compile(r"(……|…|\.\.\.)+$")


# -- normalisation ------------------------------------------------------------------------
def normalize(text: str) -> str:
    """NFKC, then drop every punctuation (Unicode category P*), separator (Z*) and
    control/format (C*) character. ``"５月９日，"`` → ``"5月9日"``; ``"《T》"`` → ``"T"``."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def strip_markers(text: str) -> str:
    """Remove ``[n]`` citation markers."""
    return MARKER.sub("", text or "")


def facts_found(facts: Sequence[str], text: str) -> list[str]:
    """The facts (in their given order) found in ``text`` after normalisation of both."""
    hay = normalize(strip_markers(text))
    return [f for f in facts if normalize(f) and normalize(f) in hay]


def fact_recall(facts: Sequence[str], text: str) -> float | None:
    """Share of ``facts`` found in ``text``, in [0, 1]; None when there are no facts."""
    if not facts:
        return None
    return len(facts_found(facts, text)) / len(facts)


def required_facts(facts: Sequence[str], min_facts: int | None) -> int:
    """How many facts a correct answer needs: ``min_facts`` if given (capped), else all."""
    if min_facts is None:
        return len(facts)
    return max(0, min(int(min_facts), len(facts)))


# -- retrieval ------------------------------------------------------------------------------
def first_relevant_rank(ranked_titles: Sequence[str], gold_titles: Iterable[str]) -> int | None:
    """1-based rank of the first title that is a gold title, or None if none is."""
    gold = set(gold_titles)
    for i, t in enumerate(ranked_titles, 1):
        if t in gold:
            return i
    return None


def hit_at_k(ranked_titles: Sequence[str], gold_titles: Iterable[str], k: int) -> float:
    """1.0 when a gold title is among the first ``k`` ranked titles, else 0.0."""
    r = first_relevant_rank(ranked_titles[:k], gold_titles)
    return 1.0 if r is not None else 0.0


def reciprocal_rank(ranked_titles: Sequence[str], gold_titles: Iterable[str]) -> float:
    """1 / rank of the first gold title (0.0 when none is ranked); averaged over questions
    this is the mean reciprocal rank (MRR, Voorhees, TREC-8 QA track, 1999)."""
    r = first_relevant_rank(ranked_titles, gold_titles)
    return 1.0 / r if r else 0.0


def article_recall(ranked_titles: Sequence[str], gold_titles: Sequence[str]) -> float | None:
    """Share of the gold articles that appear among the ranked titles (multi-article questions)."""
    gold = set(gold_titles)
    if not gold:
        return None
    return len(gold & set(ranked_titles)) / len(gold)


# -- citations ------------------------------------------------------------------------------
def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer into (sentence, [n, ...]) pairs: each sentence is the text between
    the previous marker (or the start) and its marker(s); adjacent markers ("…。[1][2]")
    cite one sentence together. Trailing text without a marker is not returned."""
    out: list[tuple[str, list[int]]] = []
    pos = 0
    for m in MARKER.finditer(answer or ""):
        between = answer[pos : m.start()]
        n = int(m.group(1))
        if out and not normalize(between):
            out[-1][1].append(n)
        else:
            out.append((between.strip(), [n]))
        pos = m.end()
    return out


def sentence_supported(sentence: str, quote: str) -> bool:
    """True when ``sentence`` (a trailing "……" removed) is found in ``quote`` after
    normalisation of both."""
    ns = normalize(TRIM_MARK.sub("", sentence.strip()))
    return bool(ns) and ns in normalize(quote)


def quoted_runs(citation: Mapping) -> list[str]:
    """The texts a sentence citing ``citation`` may be found in: its ``quotes`` (one citation
    per article holds every quoted span), spans that touch joined into one run; without
    ``quotes`` (answers from before the grouping), its ``quote``."""
    runs: list[str] = []
    end = None
    for q in sorted(citation.get("quotes") or [], key=lambda q: q["start"]):
        if runs and q["start"] == end:
            runs[-1] += q["text"]
        else:
            runs.append(q["text"])
        end = q["end"]
    return runs or [citation.get("quote", "")]


def byline_supported(sentence: str, citation: Mapping, author: str) -> bool:
    """A byline answer's sentence (an answer of kind ``author``, whose ``value`` is the author
    it states, "" for none) is supported when it names the cited article's title, that
    article's byline is ``author``, and any date it gives is the article's."""
    title = normalize(citation.get("title", ""))
    dates = ISO_DATE.findall(sentence)
    return (
        bool(title)
        and title in normalize(sentence)
        and normalize(citation.get("author", "")) == normalize(author)
        and all(d == citation.get("date") for d in dates)
    )


def citation_support(
    answer: str, citations: Sequence[Mapping], *, kind: str = "", value: str = ""
) -> tuple[int, int, list[str]]:
    """Check every cited sentence against the quote(s) it cites.

    citations: ``Citation.to_dict()`` objects (keys ``n``, ``quotes`` or ``quote``, ``author``,
        ``title``, ``date``). kind / value: the answer's structured fields (``Answer.kind``,
        ``Answer.value``): a byline answer (kind ``author``) is checked against the cited
        articles' metadata (``byline_supported``), never by parsing its wording.
    returns: (supported sentences, cited sentences, the unsupported sentences). A sentence
        is supported when one of its citations holds it within one run of quoted text
        (``quoted_runs``: a sentence never spans two quotes that do not touch); a marker with
        no matching citation supports nothing.
    """
    by_n = {int(c["n"]): c for c in citations}
    supported, total, bad = 0, 0, []
    for sentence, ns in cited_sentences(answer):
        total += 1
        if kind == "author":
            ok = any(n in by_n and byline_supported(sentence, by_n[n], value) for n in ns)
        else:
            ok = any(
                n in by_n and sentence_supported(sentence, run) for n in ns for run in quoted_runs(by_n.get(n, {}))
            )
        if ok:
            supported += 1
        else:
            bad.append(sentence)
    return supported, total, bad


def citation_precision(cited_titles: Sequence[str], gold_titles: Iterable[str]) -> float | None:
    """Share of citations whose article is a gold article; None when nothing is cited. With
    one citation per article (``rag.answer.citations``), the share of cited articles."""
    if not cited_titles:
        return None
    gold = set(gold_titles)
    return sum(1 for t in cited_titles if t in gold) / len(cited_titles)


# -- statistics -----------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) with linear interpolation between closest ranks
    (Hyndman & Fan 1996 type 7, numpy's default). None for no values."""
    xs = sorted(float(v) for v in values if v is not None)
    if not xs:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """Arithmetic mean of the non-None values; None when there are none."""
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


# -- per question ---------------------------------------------------------------------------
def score_question(
    gold: Mapping, answer: Mapping, retrieved: Sequence[Mapping], *, k: int, latency_ms: float | None = None
) -> dict:
    """Scores of one question.

    gold: a dataset line (``facts``, ``min_facts``, ``articles``, ``kind``).
    answer: ``Answer.to_dict()`` (``answer``, ``abstained``, ``citations``, ``timings_ms``).
    retrieved: the passages retrieved for the standalone question, best first, each with
        ``title``, ``text`` and ``author``.
    k: the retrieval depth (``top_k``) the passages were retrieved with.
    latency_ms: wall clock; ``answer["timings_ms"]["total_ms"]`` wins when present.
    With an LLM answerer, also ``llm_ms`` (the model call, ``timings_ms["llm_ms"]``) and the
    prompt's size from ``answer["usage"]``: ``prompt_tokens`` (as the server counted it) and
    ``prompt_tokens_est`` (the prompt budget's estimate); None when the model was not called.
    """
    facts = list(gold.get("facts") or [])
    # titles are compared normalised: the stored title went through the document normalisation
    # (NFKC turns "…" into "..."), the gold one is as written
    articles = [normalize(a) for a in gold.get("articles") or []]
    answerable = bool(articles or facts) and gold.get("kind") != "unanswerable"
    titles = [normalize(r.get("title", "")) for r in retrieved]
    abstained = bool(answer.get("abstained"))
    text = "" if abstained else answer.get("answer", "")
    citations = [] if abstained else list(answer.get("citations") or [])
    timings = answer.get("timings_ms") or {}
    usage = answer.get("usage") or {}
    s: dict = {
        "kind": gold.get("kind"),
        "answerable": answerable,
        "abstained": abstained,
        "answer_chars": len(strip_markers(answer.get("answer", ""))),
        "latency_ms": timings.get("total_ms", latency_ms),
        "llm_ms": timings.get("llm_ms"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "prompt_tokens_est": usage.get("prompt_tokens_est"),
        "cited_titles": [normalize(c.get("title", "")) for c in citations],
        "confidence": answer.get("confidence"),
        "answer_kind": answer.get("kind") or "",
    }
    if not answerable:
        s["subkind"] = gold.get("subkind") or "unlabelled"
        s["passed"] = abstained
        return s
    context = "\n".join(f"{r.get('title', '')}\n{r.get('text', '')}\n{r.get('author', '')}" for r in retrieved)
    found = facts_found(facts, text)
    ctx_found = facts_found(facts, context)
    need = required_facts(facts, gold.get("min_facts"))
    rank = first_relevant_rank(titles, articles)
    sup, total, unsupported = citation_support(
        text, citations, kind=answer.get("kind") or "", value=answer.get("value") or ""
    )
    s.update(
        {
            "gold_rank": rank,
            "hit_at_1": hit_at_k(titles, articles, 1),
            "hit_at_3": hit_at_k(titles, articles, 3),
            "hit_at_k": hit_at_k(titles, articles, k),
            "rr": reciprocal_rank(titles, articles),
            "article_recall": article_recall(titles, articles),
            "context_fact_recall": len(ctx_found) / len(facts) if facts else None,
            "context_passed": len(ctx_found) >= need,
            "answer_fact_recall": len(found) / len(facts) if facts else None,
            "facts_found": found,
            "facts_missing": [f for f in facts if f not in found],
            "facts_needed": need,
            "passed": (not abstained) and len(found) >= need,
            "citation_precision": citation_precision(s["cited_titles"], articles),
            "citation_support": sup / total if total else None,
            "unsupported_sentences": unsupported,
            "answer_precision": answer_precision(text, citations, articles),
            "answer_first": (
                answer_first(text, facts, answer.get("value") or "")
                if gold.get("kind") in FACTOID_KINDS and not abstained
                else None
            ),
        }
    )
    return s


FACTOID_KINDS = ("fact",)  # kinds whose answer is one value (person, date, place, quantity…)


def answer_precision(answer: str, citations: Sequence[Mapping], gold_titles: Iterable[str]) -> float | None:
    """Share of the answer's cited sentences whose citations all point to a gold article
    (an answer padded with sentences from other articles scores lower); None when the
    answer cites nothing."""
    gold = {normalize(t) for t in gold_titles}
    title_of = {int(c["n"]): normalize(c.get("title", "")) for c in citations}
    pairs = cited_sentences(answer)
    if not pairs:
        return None
    return sum(1 for _, ns in pairs if all(title_of.get(n) in gold for n in ns)) / len(pairs)


def first_sentence(answer: str) -> str:
    """The answer's first sentence: up to the first ``[n]`` marker or sentence end (。！？),
    whichever comes first (markers removed)."""
    text = (answer or "").strip()
    m = re.search(r"\[\d+\]|[。！？!?]", text)
    return strip_markers(text[: m.end()] if m else text)


def answer_first(answer: str, facts: Sequence[str], value: str = "") -> float | None:
    """1.0 when the answer's value holds a gold fact, else 0.0; None without facts. The value is
    the answer's structured ``value`` field when it has one, else (an LLM answer) its first
    sentence (:func:`first_sentence`). Answer first, evidence second: "王辨明。[1]县政府办主任王辨明主持会议。[1]"."""
    if not facts:
        return None
    return 1.0 if facts_found(facts, value or first_sentence(answer)) else 0.0


# -- aggregation ----------------------------------------------------------------------------
# name → (direction, description); "higher" metrics are gated by [min], "lower" by [max]
METRICS: dict[str, tuple[str, str]] = {
    "pass_rate": ("higher", "questions passed (answerable: enough facts, not abstained; unanswerable: abstained)"),
    "answer_pass_rate": ("higher", "answerable questions passed"),
    "hit_at_1": ("higher", "gold article ranked first (answerable)"),
    "hit_at_3": ("higher", "gold article in the top 3"),
    "hit_at_k": ("higher", "gold article in the top k"),
    "mrr": ("higher", "mean reciprocal rank of the first gold article"),
    "article_recall": ("higher", "share of gold articles in the top k"),
    "context_fact_recall": ("higher", "gold facts present in the retrieved passages"),
    "context_pass_rate": ("higher", "questions whose retrieved passages hold enough facts"),
    "answer_fact_recall": ("higher", "gold facts present in the answer"),
    "citation_precision": ("higher", "citations that point to a gold article"),
    "citation_support": ("higher", "cited sentences found in the passage they cite"),
    "abstention_accuracy": ("higher", "unanswerable questions abstained"),
    "false_abstention_rate": ("lower", "answerable questions abstained"),
    "coverage": ("higher", "questions answered (not abstained)"),
    "risk": ("lower", "answered questions that are wrong (an answered unanswerable one counts as wrong)"),
    "answer_precision": (
        "higher",
        "answer sentences whose citations all point to a gold article (answered, answerable)",
    ),
    "answer_first_rate": ("higher", "factoid answers whose first sentence holds a gold fact (answered fact questions)"),
    "answer_context_ratio": (
        "higher",
        "answer fact recall / context fact recall: what the answer step keeps of what retrieval found",
    ),
    "abstention_false_premise": ("higher", "unanswerable questions with a false premise abstained"),
    "abstention_unstated_attribute": (
        "higher",
        "unanswerable questions about an attribute the archive never states abstained",
    ),
    "abstention_outside_archive": ("higher", "unanswerable questions about things outside the archive abstained"),
    "answer_chars_mean": ("lower", "answer length in characters (answered questions, markers excluded)"),
    "answer_chars_p50": ("lower", "median answer length"),
    "factoid_chars_p50": ("lower", "median answer length of answered fact questions"),
    "latency_p50_ms": ("lower", "median latency of ask(), ms"),
    "latency_p95_ms": ("lower", "95th percentile latency of ask(), ms"),
    # LLM answerer only (None otherwise); over the questions that called the model
    "llm_calls": ("lower", "questions that called the LLM (the others were answered or abstained without it)"),
    "llm_p50_ms": ("lower", "median duration of the LLM call, ms"),
    "llm_p95_ms": ("lower", "95th percentile duration of the LLM call, ms"),
    "prompt_tokens_p50": ("lower", "median prompt size, tokens as the LLM server counted them"),
    "prompt_tokens_max": ("lower", "largest prompt, tokens as the LLM server counted them"),
    "prompt_tokens_est_p50": ("lower", "median prompt size, tokens as the prompt budget estimated them"),
}
LLM_METRICS = (
    "llm_calls",
    "llm_p50_ms",
    "llm_p95_ms",
    "prompt_tokens_p50",
    "prompt_tokens_max",
    "prompt_tokens_est_p50",
)


def aggregate(scores: Sequence[Mapping]) -> dict:
    """Metrics over a list of :func:`score_question` results (see ``METRICS``), plus counts
    ``n``, ``n_answerable``, ``n_unanswerable``."""
    ans = [s for s in scores if s.get("answerable")]
    una = [s for s in scores if not s.get("answerable")]
    answered = [s for s in scores if not s.get("abstained")]
    lat = [s.get("latency_ms") for s in scores if s.get("latency_ms") is not None]
    out = {
        "n": len(scores),
        "n_answerable": len(ans),
        "n_unanswerable": len(una),
        "pass_rate": mean(float(bool(s.get("passed"))) for s in scores),
        "answer_pass_rate": mean(float(bool(s.get("passed"))) for s in ans),
        "hit_at_1": mean(s.get("hit_at_1") for s in ans),
        "hit_at_3": mean(s.get("hit_at_3") for s in ans),
        "hit_at_k": mean(s.get("hit_at_k") for s in ans),
        "mrr": mean(s.get("rr") for s in ans),
        "article_recall": mean(s.get("article_recall") for s in ans),
        "context_fact_recall": mean(s.get("context_fact_recall") for s in ans),
        "context_pass_rate": mean(float(bool(s.get("context_passed"))) for s in ans),
        "answer_fact_recall": mean(s.get("answer_fact_recall") for s in ans),
        "citation_precision": mean(s.get("citation_precision") for s in ans),
        "citation_support": mean(s.get("citation_support") for s in ans),
        "answer_precision": mean(s.get("answer_precision") for s in ans if not s.get("abstained")),
        "answer_first_rate": mean(s.get("answer_first") for s in ans),
        "abstention_accuracy": mean(float(bool(s.get("abstained"))) for s in una),
        "false_abstention_rate": mean(float(bool(s.get("abstained"))) for s in ans),
        "coverage": len(answered) / len(scores) if scores else None,
        "risk": mean(float(not (s.get("answerable") and s.get("passed"))) for s in answered),
        "answer_chars_mean": mean(s.get("answer_chars") for s in answered),
        "answer_chars_p50": percentile([s.get("answer_chars") for s in answered], 50),
        "factoid_chars_p50": percentile(
            [s.get("answer_chars") for s in answered if s.get("answerable") and s.get("kind") in FACTOID_KINDS], 50
        ),
        "latency_p50_ms": percentile(lat, 50),
        "latency_p95_ms": percentile(lat, 95),
    }
    for sub in ("false_premise", "unstated_attribute", "outside_archive"):
        out[f"abstention_{sub}"] = mean(float(bool(s.get("abstained"))) for s in una if s.get("subkind") == sub)
    ratio_base = out["context_fact_recall"]
    out["answer_context_ratio"] = (
        out["answer_fact_recall"] / ratio_base if ratio_base and out["answer_fact_recall"] is not None else None
    )
    llm = [s.get("llm_ms") for s in scores if s.get("llm_ms") is not None]
    tokens = [s.get("prompt_tokens") for s in scores if s.get("prompt_tokens") is not None]
    out.update(
        {
            "llm_calls": len(llm) if llm else None,
            "llm_p50_ms": percentile(llm, 50),
            "llm_p95_ms": percentile(llm, 95),
            "prompt_tokens_p50": percentile(tokens, 50),
            "prompt_tokens_max": max(tokens) if tokens else None,
            "prompt_tokens_est_p50": percentile([s.get("prompt_tokens_est") for s in scores], 50),
        }
    )
    return out


def aggregate_by_kind(scores: Sequence[Mapping], kinds: Sequence[str]) -> dict[str, dict]:
    """``{kind: aggregate(scores of that kind)}`` in the order kinds first appear."""
    order: list[str] = []
    for k in kinds:
        if k not in order:
            order.append(k)
    return {k: aggregate([s for s, sk in zip(scores, kinds) if sk == k]) for k in order}


def risk_coverage(scores: Sequence[Mapping]) -> list[tuple[float, float, float]]:
    """Selective answering (Kamath et al. 2020; El-Yaniv & Wiener 2010): the answered questions
    ranked by the answerer's ``confidence`` (highest first); for each cut, ``(confidence,
    coverage, risk)`` — coverage the share of all questions answered down to that confidence,
    risk the share of those answers that are wrong. Empty when no answer has a confidence."""
    answered = sorted(
        (s for s in scores if not s.get("abstained") and s.get("confidence") is not None),
        key=lambda s: -s["confidence"],
    )
    out, wrong = [], 0
    for i, s in enumerate(answered, 1):
        wrong += not (s.get("answerable") and s.get("passed"))
        out.append((float(s["confidence"]), i / len(scores), wrong / i))
    return out


# -- thresholds -----------------------------------------------------------------------------
def check_thresholds(metrics: Mapping, thresholds: Mapping, by_kind: Mapping | None = None) -> list[str]:
    """Compare metrics with a thresholds table ``{"min": {...}, "max": {...}, "kind": {kind:
    {"min": ..., "max": ...}}}`` (the layout of ``eval/thresholds.toml``).

    returns: one message per failed or missing metric, empty when everything passes.
    """
    failures: list[str] = []

    def _check(values: Mapping, table: Mapping, where: str) -> None:
        for name, bound in (table.get("min") or {}).items():
            v = values.get(name)
            if v is None:
                failures.append(f"{where}{name}: not measured (minimum {bound})")
            elif v < bound:
                failures.append(f"{where}{name} = {v:.3f} < minimum {bound}")
        for name, bound in (table.get("max") or {}).items():
            v = values.get(name)
            if v is None:
                failures.append(f"{where}{name}: not measured (maximum {bound})")
            elif v > bound:
                failures.append(f"{where}{name} = {v:.3f} > maximum {bound}")

    _check(metrics, thresholds, "")
    for kind, table in (thresholds.get("kind") or {}).items():
        values = (by_kind or {}).get(kind)
        if values is None:
            failures.append(f"[{kind}] no questions of this kind")
            continue
        _check(values, table, f"[{kind}] ")
    return failures
