"""The one path every entry point uses: ingest files, ask questions, manage documents.

CLI, HTTP API, chat UI and the evaluation runner all call ``Pipeline``; none of them
parses, chunks, retrieves or answers on its own.
"""

from __future__ import annotations

import datetime
import gzip
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import ask as ask_path
from .answer.extractive import ExtractiveAnswerer
from .ask import MAX_QUESTION_CHARS, Day, clean_question, clean_question_soft  # noqa: F401 - this module's API
from .chunk import chunk_article
from .corrections import check_changes, correct_article, keep_corrections
from .errors import NotFoundError, ParseError
from .keyword import Tokenizer
from .lookup import StoreLookup
from .parse import article_date, iter_corpus_files, iter_jsonl_articles, parse_file, relative_source, year_from_name
from .retrieve import Filters, HybridRetriever, KeywordIndex, Mode
from .store import Store, chunk_metadata
from .types import Answer, Article, Chunk

MAX_HISTORY_TURNS = 40  # the latest messages (20 questions with answers) a follow-up is resolved against
MAX_LISTED = 100  # entries per file in an ingest report's lists (unreadable parts, undated articles)


@dataclass
class IngestReport:
    """Counts of one ingest run. Chunk counts: added (new ids), updated (same id, changed
    metadata), unchanged (skipped, not re-embedded), removed (stale chunks of a changed file).
    errors: ``{"file", "code", "message"}`` per failed file or bad line.
    unreadable: ``{"file", "code", "message"}`` per part of a file that could not be read (the
        rest of the file went in): a PDF page without a text layer, pictures, a Word chart or
        embedded object (codes in ``rag.parse.ParseResult``); at most ``MAX_LISTED`` per file.
    duplicates: articles not stored because the same text is already stored (under another
        document, or earlier in the same file); ``duplicate_of`` names the other documents:
        ``{"file", "existing", "articles"}`` (this file's articles found in document ``existing``).
    undated: articles stored without a date (their lead has no year and none was given: pass
        ``year``); ``undated_articles`` lists the first ``MAX_LISTED`` as ``{"file", "title"}``.
    skipped: ``{"file", "code", "message", "text"}`` per part of a file left out on purpose because
        it is not article text: ``masthead``, ``empty_section`` (a heading without a body that is a
        section name, e.g. "图片新闻"), ``running_header`` / ``running_footer`` (a PDF's page furniture);
        ``text`` is what was left out (``rag.parse.Skipped``); at most ``MAX_LISTED`` per file.
    headline_only: ``{"file", "title"}`` per stored article that is a headline without a body (a
        简讯 item: its text is its title, so it can be found and cited)."""

    files: int = 0
    articles: int = 0
    duplicates: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    pending: int = 0
    embed_seconds: float = 0.0
    errors: list[dict] = field(default_factory=list)
    unreadable: list[dict] = field(default_factory=list)
    duplicate_of: list[dict] = field(default_factory=list)
    undated: int = 0
    undated_articles: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    headline_only: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def add_duplicate(self, file: str, existing: str) -> None:
        """Count one article of ``file`` already stored under document ``existing``."""
        self.duplicates += 1
        for d in self.duplicate_of:
            if d["file"] == file and d["existing"] == existing:
                d["articles"] += 1
                return
        self.duplicate_of.append({"file": file, "existing": existing, "articles": 1})

    def add_undated(self, art: Article) -> None:
        """Count one stored article without a date."""
        self.undated += 1
        if len(self.undated_articles) < MAX_LISTED:
            self.undated_articles.append({"file": art.source, "title": art.title})


@dataclass
class IngestProgress:
    """What the ``progress`` callback of an ingest receives (after every written batch).

    report: counts so far (``articles`` written, ``added``/``updated``/``unchanged`` chunks...).
    done: articles handled so far (written, unchanged, duplicates and empty ones).
    total: best known number of articles to handle: articles of the files parsed so far plus
        the lines of a .jsonl being streamed (an estimate; it grows as files are parsed).
    file: the file being read ("" between files).
    """

    report: IngestReport
    done: int
    total: int
    file: str = ""


ProgressFn = Callable[[IngestProgress], None]

#: a .jsonl larger than this (bytes) is streamed line by line instead of parsed whole
STREAM_BYTES = 8 * 1024 * 1024
#: parse and chunk in a process pool when an ingest has at least this many files
PARALLEL_MIN_FILES = 8


class _Tracker:
    """Counts handled articles and calls the progress callback."""

    def __init__(self, report: IngestReport, fn: ProgressFn | None):
        self.report, self.fn, self.done, self.total, self.file = report, fn, 0, 0, ""

    def add_total(self, n: int) -> None:
        self.total += n

    def seen(self, n: int) -> None:
        self.done += n
        self.total = max(self.total, self.done)
        if self.fn:
            self.fn(IngestProgress(self.report, self.done, self.total, self.file))

    def file_done(self, path: Path) -> None:
        self.file = ""
        self.total = max(self.done, self.total)
        if self.fn:
            self.fn(IngestProgress(self.report, self.done, self.total, str(path)))


def _is_stream(path: Path) -> bool:
    """A .jsonl.gz, or a .jsonl over ``STREAM_BYTES``: read lazily, never whole."""
    name = path.name.lower()
    if name.endswith(".jsonl.gz"):
        return True
    try:
        return name.endswith(".jsonl") and path.stat().st_size > STREAM_BYTES
    except OSError:
        return False


def _open_lines(path: Path) -> Iterator[str]:
    """Lines of a (possibly gzipped) UTF-8 text file, without line ends, read lazily."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig") as f:
        for line in f:
            yield line.rstrip("\r\n")


def _count_lines(path: Path) -> int:
    """Newlines in a (possibly gzipped) file, read in 1 MiB blocks (an article-count estimate)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    n = 0
    try:
        with opener(path, "rb") as f:
            while block := f.read(1 << 20):
                n += block.count(b"\n")
    except (OSError, EOFError):
        pass
    return n


def _parse_and_chunk(
    path: Path, root: Path | None, year: int | None, source: str | None, chunk_chars: int, chunk_overlap: int
) -> tuple:
    """Parse one file and chunk its articles (runs in a worker process when there are many files).

    returns ``("ok", [(article, chunks), ...], errors, unreadable, skipped)`` or
    ``("error", [], [(code, message)], [], [])``, errors and unreadable parts as ``(code, message)``
    lists, skipped parts as ``(code, message, text)``; plain tuples, since they cross a process boundary.
    """
    name = source or relative_source(Path(path), root)
    try:
        result = parse_file(Path(path), root=root, year=year, source=name)
    except (ParseError, NotFoundError) as exc:
        return "error", [], [(exc.code, exc.message)], [], []
    arts = [replace(a, source=name) for a in result.articles]  # a document is named by its file, never by a field
    pairs = [(a, chunk_article(a, max_chars=chunk_chars, overlap_sentences=chunk_overlap)) for a in arts]
    errors, unreadable = [(e.code, e.message) for e in result.errors], [(e.code, e.message) for e in result.unreadable]
    return ("ok", pairs, errors, unreadable, [(k.code, k.message, k.text) for k in result.skipped])


class Pipeline:
    """Parse → chunk → embed → Chroma; hybrid retrieval → cited answer.

    store: an open ``Store`` (its embedder is used for passages and queries).
    tokenizer: the keyword tokenizer (jieba + user dictionary), shared by BM25 and the answerer.
    chunk_chars: chunk budget in characters; chunk_overlap: sentences shared by neighbours.
    answerer: defaults to the extractive answerer; an LLM answerer may be passed instead.
    keyword_dir: where the keyword index is saved (see ``KeywordIndex``); None = memory only.
    tag_cache: the tagger's persistent cache (a sqlite file; see ``rag.answer.extractive.tagger.TagStore``).
    today: the day 今年/上个月… count from when a question gives no ``as_of`` (None: the server's date).
    """

    def __init__(
        self,
        store: Store,
        tokenizer: Tokenizer,
        *,
        chunk_chars: int = 300,
        chunk_overlap: int = 1,
        candidates: int = 30,
        mode: Mode = "hybrid",
        abstain_threshold: float | None = None,
        known_people: Iterable[str] = (),
        entities: Iterable[str] | dict[str, str] = (),
        home: Iterable[str] = (),
        answerer=None,
        keyword_dir: Path | None = None,
        tag_cache: Path | None = None,
        today: datetime.date | None = None,
    ):
        self.store = store
        self.embedder = store.embedder
        self.tokenizer = tokenizer
        self.chunk_chars = chunk_chars
        self.chunk_overlap = chunk_overlap
        self.keyword = KeywordIndex(store, tokenizer, keyword_dir)
        self.retriever = HybridRetriever(store, self.embedder, self.keyword, candidates=candidates, mode=mode)
        self.extractive = ExtractiveAnswerer(
            tokenizer.tokenize,
            self.keyword.idf,
            self.keyword.df,
            entities=entities,
            lookup=StoreLookup(store, self.keyword),
            home=home,
            known_words=lambda: tokenizer.user_words,
            threshold=abstain_threshold,
            tag_cache=tag_cache,
        )
        self.answerer = answerer or self.extractive
        self.known_people = frozenset(known_people)
        self.today = today

    # -- ingest ---------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path],
        *,
        year: int | None = None,
        on_file: Callable[[Path, IngestReport], None] | None = None,
        progress: ProgressFn | None = None,
        keyword_first: bool = False,
        workers: int | None = None,
    ) -> IngestReport:
        """Ingest files and folders (recursively). One bad file never stops the rest: its
        error is recorded in the report. Re-ingesting unchanged files changes nothing.

        Streaming: a large ``.jsonl`` (over ``STREAM_BYTES``) or a ``.jsonl.gz`` is read line by
        line and written in batches, so memory does not grow with the archive.
        progress: called after every written batch (and every file) with an ``IngestProgress``.
        keyword_first: store chunks with a placeholder vector (``dense: 0``): BM25 finds them at
            once, dense search skips them until ``embed_pending`` fills them.
        workers: processes that parse and chunk files when there are ``PARALLEL_MIN_FILES`` or
            more (default: up to 4, one per core; 1 = parse in this process). Embedding always
            runs in this process.
        raises StoreError: a store that cannot be written stops the ingest; everything written
            before stays consistent (whole articles), and a re-run completes it.

        At the end the keyword index is brought up to date and saved (``KeywordIndex.refresh``),
        so a process started afterwards loads it instead of tokenizing the archive.
        """
        report = IngestReport()
        tracker = _Tracker(report, progress)
        self.store.touch()  # readers rebuild even if a killed earlier run wrote without bumping
        files = list(iter_corpus_files([Path(p) for p in paths]))
        for path, root, parsed in self._parse_files(files, year, workers):
            self._ingest_one(
                path, root=root, year=year, report=report, keyword_first=keyword_first, tracker=tracker, parsed=parsed
            )
            tracker.file_done(path)
            if on_file:
                on_file(path, report)
        self.keyword.refresh()
        return report

    def ingest_file(
        self,
        path: Path,
        *,
        root: Path | None = None,
        source: str | None = None,
        year: int | None = None,
        report: IngestReport | None = None,
        keyword_first: bool = False,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Parse one file and store its articles; errors go into the report, never raised
        (except StoreError: a store that cannot be written stops the ingest). A large .jsonl
        or a .jsonl.gz is streamed (see ``ingest``)."""
        report = report or IngestReport()
        self._ingest_one(
            Path(path),
            root=root,
            source=source,
            year=year,
            report=report,
            keyword_first=keyword_first,
            tracker=_Tracker(report, progress),
        )
        return report

    def _ingest_one(
        self,
        path: Path,
        *,
        root: Path | None,
        year: int | None,
        report: IngestReport,
        keyword_first: bool,
        tracker: _Tracker,
        source: str | None = None,
        parsed: tuple | None = None,
    ) -> None:
        report.files += 1
        name = source or str(path)
        if parsed is None and _is_stream(path):
            self._ingest_stream(
                path, root=root, source=source, year=year, report=report, keyword_first=keyword_first, tracker=tracker
            )
            return
        if parsed is None:
            parsed = _parse_and_chunk(path, root, year, source, self.chunk_chars, self.chunk_overlap)
        status, payload, errors, unreadable, skipped = parsed
        for code, message in errors:
            report.errors.append({"file": name, "code": code, "message": message})
        for code, message in unreadable[:MAX_LISTED]:
            report.unreadable.append({"file": name, "code": code, "message": message})
        for code, message, text in skipped[:MAX_LISTED]:
            report.skipped.append({"file": name, "code": code, "message": message, "text": text})
        if status != "ok" or not payload:
            return
        payload = self._keep_dates(payload)
        tracker.add_total(len(payload))
        doc = source or relative_source(path, root)  # the stale chunks to replace are this file's own
        self.store.mark_incomplete(doc)  # listed as incomplete until its last chunk is written
        self._ingest_chunked(payload, report, replace_source=doc, keyword_first=keyword_first, tracker=tracker)
        self.store.mark_complete(doc)

    def _keep_dates(self, payload: list[tuple[Article, list[Chunk]]]) -> list[tuple[Article, list[Chunk]]]:
        """A document ingested again keeps its dates: an article that comes without a date (its
        lead has only 月日 and no year was given this time) takes the date stored for the same
        article (same text) of the same document; an article not stored before takes the year
        of the document's stored dates when they all share one (``rag.parse.article_date``).
        Articles with a date, and documents not stored before, are left as they are."""
        if all(a.date for a, _ in payload):
            return payload
        stored: dict[str, str] = {}
        for c in self.store.iter_chunks({"source": payload[0][0].source}):
            if c.date:
                stored[c.article_id] = c.date
        years = {d[:4] for d in stored.values()}
        year = int(years.pop()) if len(years) == 1 else None
        out = []
        for art, chunks in payload:
            date = art.date or stored.get(art.id) or (article_date(art.title, art.text, year) if year else "")
            if date != art.date:
                art, chunks = replace(art, date=date), [replace(c, date=date) for c in chunks]
            out.append((art, chunks))
        return out

    def _ingest_stream(
        self,
        path: Path,
        *,
        root: Path | None,
        source: str | None,
        year: int | None,
        report: IngestReport,
        keyword_first: bool,
        tracker: _Tracker,
    ) -> None:
        """A .jsonl(.gz) read lazily: articles are chunked and written batch by batch."""
        src = source or relative_source(path, root)
        year = year or year_from_name(src) or year_from_name(path.name)
        tracker.add_total(_count_lines(path))
        errors: list[ParseError] = []
        complete = False
        self.store.mark_incomplete(src)
        try:
            arts = iter_jsonl_articles(_open_lines(path), source=src, year=year, errors=errors)
            pairs = (
                (a, chunk_article(a, max_chars=self.chunk_chars, overlap_sentences=self.chunk_overlap))
                for a in (replace(a, source=src) for a in arts)  # named by the file, never by a field
            )
            n = self._ingest_chunked(
                pairs, report, replace_source=None, keyword_first=keyword_first, tracker=tracker, keep=(keep := set())
            )
            complete = True
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            report.errors.append(
                {
                    "file": source or str(path),
                    "code": "decode_error",
                    "message": f"读取 {src} 时出错，已导入此前的文章，请修复文件后重新导入：{exc}",
                }
            )
        for err in errors[:100]:
            report.errors.append({"file": source or str(path), "code": err.code, "message": err.message})
        if len(errors) > 100:
            report.errors.append(
                {
                    "file": source or str(path),
                    "code": "bad_jsonl_line",
                    "message": f"{src} 另有 {len(errors) - 100} 行无法解析，已跳过。",
                }
            )
        if complete and n:
            # stale chunks of a changed file go only after the whole file was read and written
            stale = [i for i in self.store.ids_where({"source": src}) if i not in keep]
            report.removed += self.store.delete_ids(stale)
        if complete:
            self.store.mark_complete(src)

    def _parse_files(self, files: list[tuple[Path, Path]], year: int | None, workers: int | None):
        """Yield ``(path, root, parsed or None)`` in file order; ``parsed`` comes from a process
        pool when there are many files (None = parse in this process, e.g. a streamed file)."""
        n_workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        todo = [(p, r) for p, r in files if not _is_stream(p)]
        if n_workers <= 1 or len(todo) < PARALLEL_MIN_FILES:
            for p, r in files:
                yield p, r, None
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: this process may already hold OpenMP and Chroma threads
        with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures: dict[int, object] = {}
            ahead = 4 * n_workers  # bounded look-ahead: parsed files wait in memory, not the corpus
            for i, (p, r) in enumerate(files):
                for j in range(i, min(i + ahead, len(files))):
                    pj, rj = files[j]
                    if j not in futures and not _is_stream(pj):
                        futures[j] = pool.submit(
                            _parse_and_chunk, pj, rj, year, None, self.chunk_chars, self.chunk_overlap
                        )
                fut = futures.pop(i, None)
                yield p, r, (fut.result() if fut is not None else None)

    def ingest_articles(
        self,
        articles: Iterable[Article],
        *,
        report: IngestReport | None = None,
        replace_source: str | None = None,
        batch_chunks: int | None = None,
        keyword_first: bool = False,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Chunk, embed (only new or changed chunks) and upsert articles; ``articles`` may be a
        lazy iterable (it is consumed batch by batch).

        Articles are written whole: one article's chunks go to Chroma in one call.
        replace_source: after writing, delete chunks of this source that are no longer
            produced (a changed file replaces its old chunks).
        Reprints: an article whose text is already stored under another source is skipped
            and counted in ``duplicates``.
        batch_chunks: chunks per write (default 64, or 2048 keyword-first: ~10 % faster than 512).
        keyword_first: see ``ingest``.
        """
        report = report or IngestReport()
        pairs = (
            (a, chunk_article(a, max_chars=self.chunk_chars, overlap_sentences=self.chunk_overlap)) for a in articles
        )
        self._ingest_chunked(
            pairs,
            report,
            replace_source=replace_source,
            keyword_first=keyword_first,
            tracker=_Tracker(report, progress),
            batch_chunks=batch_chunks,
        )
        return report

    def _ingest_chunked(
        self,
        pairs: Iterable[tuple[Article, list[Chunk]]],
        report: IngestReport,
        *,
        replace_source: str | None,
        keyword_first: bool,
        tracker: _Tracker,
        batch_chunks: int | None = None,
        keep: set[str] | None = None,
    ) -> int:
        """Write (article, chunks) pairs in batches of whole articles; returns chunks kept.
        Stale chunks of ``replace_source`` are deleted after every article was written."""
        batch_chunks = batch_chunks or (2048 if keyword_first else 64)
        batch_chunks = min(batch_chunks, self.store.max_batch)
        keep_ids: set[str] = keep if keep is not None else set()
        pending: list[tuple[Article, list[Chunk]]] = []
        n_pending = 0
        seen_articles: set[str] = set()
        for art, chunks in pairs:
            if art.id in seen_articles:
                report.duplicates += 1
                tracker.seen(1)
                continue
            seen_articles.add(art.id)
            if not chunks:
                tracker.seen(1)
                continue
            if pending and n_pending + len(chunks) > batch_chunks:
                keep_ids |= self._write(pending, report, keyword_first=keyword_first)
                tracker.seen(len(pending))
                pending, n_pending = [], 0
            pending.append((art, chunks))
            n_pending += len(chunks)
        if pending:
            keep_ids |= self._write(pending, report, keyword_first=keyword_first)
            tracker.seen(len(pending))
        if replace_source is not None:
            stale = [i for i in self.store.ids_where({"source": replace_source}) if i not in keep_ids]
            report.removed += self.store.delete_ids(stale)
        return len(keep_ids)

    def _write(
        self, pending: list[tuple[Article, list[Chunk]]], report: IngestReport, *, keyword_first: bool = False
    ) -> set[str]:
        """Write one batch of whole articles in one upsert call; returns the chunk ids kept.

        Per chunk: new → embedded (or a placeholder when ``keyword_first``); same metadata and
        a real vector → skipped; changed metadata but same embedded text (title unchanged) →
        rewritten with its stored vector (nothing re-embedded); changed title or pending vector →
        embedded (keyword_first: placeholder, unless the stored vector is still valid).
        """
        ids = [c.id for _, chunks in pending for c in chunks]
        existing = self.store.get_metadatas(ids)
        to_write: list[Chunk] = []
        action: list[str] = []  # "embed" | "reuse" | "placeholder", parallel to to_write
        kept: set[str] = set()
        for art, chunks in pending:
            other = next((existing[c.id].get("source") for c in chunks if c.id in existing), None)
            if other is not None and other != art.source:
                report.add_duplicate(art.source, other)  # a reprint already stored from another file
                continue
            chunks = keep_corrections(chunks, existing)  # a user's corrections survive a re-ingest
            report.articles += 1
            if not chunks[0].date:
                report.add_undated(art)
            if art.text == art.title:
                report.headline_only.append({"file": art.source, "title": art.title})
            for c in chunks:
                kept.add(c.id)
                old = existing.get(c.id)
                if old is None:
                    report.added += 1
                    to_write.append(c)
                    action.append("placeholder" if keyword_first else "embed")
                    continue
                has_vector = old.get("dense", 1) != 0
                same_meta = all(old.get(k) == v for k, v in chunk_metadata(c).items())
                if same_meta and (has_vector or keyword_first):
                    report.unchanged += 1
                    continue
                report.updated += 1
                to_write.append(c)
                if has_vector and old.get("title", "") == c.title:
                    action.append("reuse")
                else:
                    action.append("placeholder" if keyword_first else "embed")
        if not to_write:
            return kept
        vectors: list[list[float] | None] = [None] * len(to_write)
        embed_pos = [i for i, a in enumerate(action) if a == "embed"]
        if embed_pos:
            t0 = time.perf_counter()
            vecs = self.embedder.embed_documents([to_write[i].embed_text for i in embed_pos])
            report.embed_seconds += time.perf_counter() - t0
            report.embedded += len(embed_pos)
            for i, v in zip(embed_pos, vecs):
                vectors[i] = v
        reuse_pos = [i for i, a in enumerate(action) if a == "reuse"]
        if reuse_pos:
            stored = self.store.get_embeddings([to_write[i].id for i in reuse_pos])
            for i in reuse_pos:
                v = stored.get(to_write[i].id)
                if v is None:  # deleted meanwhile: embed it after all
                    v = self.embedder.embed_documents([to_write[i].embed_text])[0]
                    report.embedded += 1
                vectors[i] = v
        flags = [a != "placeholder" for a in action]
        report.pending += flags.count(False)
        self.store.upsert(to_write, vectors, dense=flags)
        return kept

    def embed_pending(
        self, *, batch: int = 64, limit: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Fill the dense vectors of chunks stored keyword-first, ``batch`` chunks at a time.

        Resumable: each batch is written as soon as it is embedded, so a killed run loses at most
        one batch (and the embedding cache keeps even that); run it again to go on.
        limit: stop after this many chunks (None = all). progress: ``(done, total)`` per batch.
        Returns the number of chunks filled. raises StoreError: Chroma unreachable.
        """
        total = self.store.pending_count()
        if limit is not None:
            total = min(total, limit)
        done = 0
        while done < total:
            chunks = self.store.pending_chunks(min(batch, total - done))
            if not chunks:
                break
            vectors = self.embedder.embed_documents([c.embed_text for c in chunks])
            self.store.set_vectors([c.id for c in chunks], vectors)
            done += len(chunks)
            if progress:
                progress(done, total)
        return done

    # -- ask --------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence = (),
        *,
        top_k: int = 5,
        filters: Filters | None = None,
        as_of: Day = None,
    ) -> Answer:
        """Answer a question with citations (one per article: ``group_citations``), or abstain.

        history: earlier turns, oldest first: user questions as strings and/or ``{"role":
            "user"|"assistant", "content"}`` messages (``rag.answer.condense.turns_from_history``);
            the last ``MAX_HISTORY_TURNS`` are used.
        top_k: passages retrieved (1–20). filters: date range / author / source.
        as_of: the day 今年/去年/上个月… mean (``YYYY-MM-DD`` or a date; default ``today``, else
            the server's date); the period is searched within ``filters`` (``rag.timeref``).
        raises QuestionError: empty, symbol-only or over-long question; bad ``as_of``.
        raises StoreError: Chroma unreachable.
        """
        history = list(history)[-MAX_HISTORY_TURNS:]  # bounded here: any length is accepted
        return next(ask_path.respond(self, question, history, top_k, filters, as_of, stream=False))

    def ask_stream(
        self,
        question: str,
        history: Sequence = (),
        *,
        top_k: int = 5,
        filters: Filters | None = None,
        as_of: Day = None,
    ) -> Iterator[str | Answer]:
        """``ask`` as a stream (the contract of ``rag.stream``): text pieces as the answerer
        writes them, then exactly one ``Answer``, last and authoritative (an LLM answer is
        verified after streaming, so its final text may differ from the pieces).

        Uses the answerer's ``answer_stream(question, standalone, passages)`` (the LLM's pieces
        are numbered one per article as they come: ``verify_answer``'s groups). The extractive
        answer, that of an answerer without a stream, or one about a relative period (which
        ``timeref.settle`` may replace) is made whole, its citations grouped, and then cut into
        pieces, so that the pieces add up to the final text. Raises as ``ask``, on the first ``next()``.
        """
        return ask_path.respond(self, question, list(history)[-MAX_HISTORY_TURNS:], top_k, filters, as_of, stream=True)

    def prepare(
        self,
        question: str,
        history: Sequence = (),
        top_k: int = 5,
        filters: Filters | None = None,
        *,
        as_of: Day = None,
    ):
        """What ``ask`` does before answering (``rag.ask.prepare``): ``(question as typed, standalone
        question, passages best first, timings in ms, period or None)``. For the answer step's
        training data (``eval/answer_data.py``). Raises as ``ask``."""
        return self._prepare(question, history, max(1, min(int(top_k), 20)), filters, as_of=as_of)

    def _prepare(self, question: str, history: Sequence, top_k: int, filters: Filters | None, *, as_of: Day = None):
        """``rag.ask.prepare``: ``(q, standalone, passages, timings, period)`` (calibration uses it)."""
        return ask_path.prepare(self, question, list(history)[-MAX_HISTORY_TURNS:], top_k, filters, as_of=as_of)

    # -- documents --------------------------------------------------------------------------
    def documents(self):
        """Documents (source files) with article and chunk counts; see ``Store.documents``."""
        return self.store.documents()

    def correct_article(
        self, article_id: str, *, title: str | None = None, date: str | None = None, author: str | None = None
    ) -> dict:
        """Correct an article's title, date (``YYYY-MM-DD`` or ``""``) or author (None = keep);
        see ``rag.corrections``. Returns the article's listing entry. raises NotFoundError (404),
        RagError(bad_request|bad_date, 422), StoreError."""
        return correct_article(self.store, self.embedder, article_id, check_changes(title, date, author))

    def delete_document(self, name: str) -> int:
        """Delete every chunk of a document (by source name) or of an article (by article id).

        Returns the number of chunks removed. raises NotFoundError: nothing matched.
        """
        ids = self.store.ids_where({"source": name}) or self.store.ids_where({"article_id": name})
        if not ids and name not in self.store.incomplete_sources():
            raise NotFoundError(f"没有找到文档或文章：{name}")
        deleted = self.store.delete_ids(ids)
        self.store.mark_complete(name)  # an unfinished ingest of it is forgotten too
        return deleted
