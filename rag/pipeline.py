"""The one path every entry point uses: ingest files, ask questions, manage documents.

CLI, HTTP API, chat UI and the evaluation runner all call ``Pipeline``; none of them
parses, chunks, retrieves or answers on its own.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .answer.condense import condense
from .answer.extractive import ABSTAIN_THRESHOLD, ExtractiveAnswerer
from .chunk import chunk_article
from .errors import NotFoundError, ParseError, QuestionError
from .keyword import Tokenizer
from .parse import iter_corpus_files, parse_file
from .retrieve import Filters, HybridRetriever, KeywordIndex, Mode
from .store import Store, chunk_metadata
from .types import Answer, Article, Chunk

MAX_QUESTION_CHARS = 500  # longer input is refused: no question needs more, and it would only slow the embedder


@dataclass
class IngestReport:
    """Counts of one ingest run. Chunk counts: added (new ids), updated (same id, changed
    metadata), unchanged (skipped, not re-embedded), removed (stale chunks of a changed file).
    errors: ``{"file", "code", "message"}`` per failed file or bad line."""

    files: int = 0
    articles: int = 0
    duplicates: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


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
        raise QuestionError(f"问题太长（{len(q)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内。", code="question_too_long")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in q):
        raise QuestionError("问题里没有文字，请用中文描述您要查找的内容。", code="empty_question")
    return q


class Pipeline:
    """Parse → chunk → embed → Chroma; hybrid retrieval → cited answer.

    store: an open ``Store`` (its embedder is used for passages and queries).
    tokenizer: the keyword tokenizer (jieba + user dictionary), shared by BM25 and the answerer.
    chunk_chars: chunk budget in characters; chunk_overlap: sentences shared by neighbours.
    answerer: defaults to the extractive answerer; an LLM answerer may be passed instead.
    """

    def __init__(self, store: Store, tokenizer: Tokenizer, *, chunk_chars: int = 300, chunk_overlap: int = 1,
                 candidates: int = 30, mode: Mode = "hybrid", abstain_threshold: float = ABSTAIN_THRESHOLD,
                 known_people: Iterable[str] = (), answerer=None):
        self.store = store
        self.embedder = store.embedder
        self.tokenizer = tokenizer
        self.chunk_chars = chunk_chars
        self.chunk_overlap = chunk_overlap
        self.keyword = KeywordIndex(store, tokenizer)
        self.retriever = HybridRetriever(store, self.embedder, self.keyword, candidates=candidates, mode=mode)
        self.extractive = ExtractiveAnswerer(tokenizer.tokenize, self.keyword.idf, threshold=abstain_threshold)
        self.answerer = answerer or self.extractive
        self.known_people = frozenset(known_people)

    # -- ingest ---------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], *, year: int | None = None,
               on_file: Callable[[Path, IngestReport], None] | None = None) -> IngestReport:
        """Ingest files and folders (recursively). One bad file never stops the rest: its
        error is recorded in the report. Re-ingesting unchanged files changes nothing."""
        report = IngestReport()
        for path, root in iter_corpus_files([Path(p) for p in paths]):
            self.ingest_file(path, root=root, year=year, report=report)
            if on_file:
                on_file(path, report)
        return report

    def ingest_file(self, path: Path, *, root: Path | None = None, source: str | None = None,
                    year: int | None = None, report: IngestReport | None = None) -> IngestReport:
        """Parse one file and store its articles; errors go into the report, never raised
        (except StoreError: a store that cannot be written stops the ingest)."""
        report = report or IngestReport()
        report.files += 1
        try:
            result = parse_file(Path(path), root=root, year=year, source=source)
        except (ParseError, NotFoundError) as exc:
            report.errors.append({"file": source or str(path), "code": exc.code, "message": exc.message})
            return report
        for err in result.errors:
            report.errors.append({"file": source or str(path), "code": err.code, "message": err.message})
        if not result.articles:
            return report
        src = result.articles[0].source
        self.ingest_articles(result.articles, report=report, replace_source=src)
        return report

    def ingest_articles(self, articles: Sequence[Article], *, report: IngestReport | None = None,
                        replace_source: str | None = None, batch_chunks: int = 64) -> IngestReport:
        """Chunk, embed (only new or changed chunks) and upsert articles.

        Articles are written whole: one article's chunks go to Chroma in one call.
        replace_source: after writing, delete chunks of this source that are no longer
            produced (a changed file replaces its old chunks).
        Reprints: an article whose text is already stored under another source is skipped
            and counted in ``duplicates``.
        """
        report = report or IngestReport()
        keep_ids: set[str] = set()
        pending: list[tuple[Article, list[Chunk]]] = []
        seen_articles: set[str] = set()
        for art in articles:
            if art.id in seen_articles:
                report.duplicates += 1
                continue
            seen_articles.add(art.id)
            chunks = chunk_article(art, max_chars=self.chunk_chars, overlap_sentences=self.chunk_overlap)
            if not chunks:
                continue
            pending.append((art, chunks))
            if sum(len(c) for _, c in pending) >= batch_chunks:
                keep_ids |= self._write(pending, report)
                pending = []
        if pending:
            keep_ids |= self._write(pending, report)
        if replace_source is not None:
            stale = [i for i in self.store.ids_where({"source": replace_source}) if i not in keep_ids]
            report.removed += self.store.delete_ids(stale)
        return report

    def _write(self, pending: list[tuple[Article, list[Chunk]]], report: IngestReport) -> set[str]:
        ids = [c.id for _, chunks in pending for c in chunks]
        existing = {}
        for i in range(0, len(ids), self.store.max_batch):
            res = self.store.col.get(ids=ids[i : i + self.store.max_batch], include=["metadatas"])
            existing.update(zip(res["ids"], res["metadatas"]))
        to_write: list[Chunk] = []
        kept: set[str] = set()
        for art, chunks in pending:
            other = next((existing[c.id].get("source") for c in chunks if c.id in existing), None)
            if other is not None and other != art.source:
                report.duplicates += 1  # a reprint already stored from another file
                continue
            report.articles += 1
            for c in chunks:
                kept.add(c.id)
                old = existing.get(c.id)
                if old is None:
                    report.added += 1
                    to_write.append(c)
                elif old != chunk_metadata(c):
                    report.updated += 1
                    to_write.append(c)
                else:
                    report.unchanged += 1
        if to_write:
            vectors = self.embedder.embed_documents([c.embed_text for c in to_write])
            report.embedded += len(to_write)
            self.store.upsert(to_write, vectors)
        return kept

    # -- ask --------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[str] = (), *, top_k: int = 5,
            filters: Filters | None = None) -> Answer:
        """Answer a question with citations, or abstain.

        history: earlier user turns (oldest first) for follow-up questions.
        top_k: passages retrieved (1–20). filters: date range / author / source.
        raises QuestionError: empty, symbol-only or over-long question.
        raises StoreError: Chroma unreachable.
        """
        t0 = time.perf_counter()
        q = clean_question(question)
        hist = [h for h in (clean_question_soft(h) for h in history) if h]
        top_k = max(1, min(int(top_k), 20))
        timings: dict[str, float] = {}
        standalone = condense(q, hist, self.known_people)
        timings["condense_ms"] = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        passages = self.retriever.retrieve(standalone, k=top_k, filters=filters, timings=timings)
        timings["retrieve_ms"] = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        answer = self.answerer.answer(q, standalone, passages)
        timings["answer_ms"] = (time.perf_counter() - t2) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = {**timings, **answer.timings_ms}
        return answer

    # -- documents --------------------------------------------------------------------------
    def documents(self):
        """Documents (source files) with article and chunk counts; see ``Store.documents``."""
        return self.store.documents()

    def delete_document(self, name: str) -> int:
        """Delete every chunk of a document (by source name) or of an article (by article id).

        Returns the number of chunks removed. raises NotFoundError: nothing matched.
        """
        ids = self.store.ids_where({"source": name}) or self.store.ids_where({"article_id": name})
        if not ids:
            raise NotFoundError(f"没有找到文档或文章：{name}")
        return self.store.delete_ids(ids)


def clean_question_soft(text: str) -> str:
    """History turns: same cleaning as questions, but bad turns are dropped, not raised."""
    try:
        return clean_question(text)
    except QuestionError:
        return ""
