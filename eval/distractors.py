"""Distractor articles for the evaluation: unrelated news mixed into the index so that
retrieval has to find the county articles among others, as it would in a real archive.

Source: news-crud (``news.jsonl.gz``, ~63k Chinese news of 2023 from the CRUD-RAG benchmark,
IAAR-Shanghai/CRUD_RAG, Apache-2.0), one ``{"id", "date", "text"}`` object per line, no titles.
Distractors are never answers: gold questions only name seed-corpus titles.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import os
import re
from pathlib import Path

from rag.types import Article, stable_id


def _default_news() -> Path:
    """``RAG_EVAL_DISTRACTORS``, else ``shared/`` beside the checkout (as CI lays it out),
    else the workplace's ``/work/shared``."""
    if os.environ.get("RAG_EVAL_DISTRACTORS"):
        return Path(os.environ["RAG_EVAL_DISTRACTORS"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-crud" / "news.jsonl.gz"
    return beside if beside.exists() else Path("/work/shared/data/news-crud/news.jsonl.gz")


DEFAULT_DISTRACTORS = _default_news()
SEED = "county-rag-eval"  # changing it changes which articles are drawn
TITLE_CHARS = 30
MIN_TEXT_CHARS = 50
# A distractor that mentions the county could genuinely answer an "unanswerable" question;
# such lines are skipped so that a distractor can never be a right answer.
EXCLUDE = re.compile(r"绛县")

_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def make_title(text: str, limit: int = TITLE_CHARS) -> str:
    """Title from the first sentence: whitespace collapsed, cut to at most ``limit`` characters
    (the last one then being "…"). Returns ``""`` for empty text."""
    text = re.sub(r"\s+", " ", text).strip()
    m = _SENTENCE_END.search(text)
    sentence = (text[: m.start()] if m else text).strip(" ，,：:、")
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rstrip(" ，,：:、") + "…"
    return sentence


def _rank_key(line_id: str) -> str:
    return hashlib.sha1(f"{SEED}\x00{line_id}".encode()).hexdigest()


def _open(path: Path):
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def load_distractors(
    path: Path | str = DEFAULT_DISTRACTORS, n: int = 300, exclude: set[str] = frozenset()
) -> list[Article]:
    """Read ``n`` articles from a news-crud style JSON Lines file (``.jsonl`` or ``.jsonl.gz``).

    Deterministic and independent of line order: the ``n`` lines with the smallest
    ``sha1(SEED + id)`` are taken (a seeded sample drawn in one pass), so the first 30 are
    always among the first 300 and a smaller run reuses a bigger run's cached embeddings.
    Lines with fewer than ``MIN_TEXT_CHARS`` characters, bad JSON, mentioning the county
    (``EXCLUDE``) or whose id is in ``exclude`` (articles of the evaluated corpus itself, e.g.
    ``eval/datasets/news_dev_corpus.jsonl``) are skipped.
    returns: Articles sorted by their line id; title from the first sentence (≤ 30 chars),
        source ``"news-crud/<id>"``, author ``""``, date as given (``""`` if null).
    raises FileNotFoundError: with a message naming ``--distractors`` / ``RAG_EVAL_DISTRACTORS``.
    """
    path = Path(path)
    if n <= 0:
        return []
    if not path.exists():
        raise FileNotFoundError(
            f"distractor file not found: {path}; pass --distractors FILE.jsonl(.gz), "
            "set RAG_EVAL_DISTRACTORS, or use --n-distractors 0"
        )
    with _open(path) as f:
        chosen = heapq.nsmallest(
            n, (r for r in _records(f) if r[1] not in exclude), key=lambda r: r[0]
        )  # keeps only n in memory
    out = []
    for _key, line_id, text, date in sorted(chosen, key=lambda r: _natural(r[1])):
        out.append(
            Article(
                id=stable_id(text),
                title=make_title(text) or line_id,
                text=text,
                date=_iso(date),
                author="",
                source=f"news-crud/{line_id}",
            )
        )
    return out


def _records(lines):
    """(rank key, line id, text, date) of every usable line."""
    for lineno, line in enumerate(lines):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        text = (rec.get("text") or "").strip() if isinstance(rec, dict) else ""
        if len(text) < MIN_TEXT_CHARS or EXCLUDE.search(text):
            continue
        line_id = str(rec.get("id") or f"line-{lineno}")
        yield _rank_key(line_id), line_id, text, rec.get("date") or ""


def _iso(date: str) -> str:
    return date if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(date)) else ""


def _natural(s: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s))
