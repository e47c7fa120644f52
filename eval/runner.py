"""Evaluation runner: build a fresh index, ask every gold question, score, write the report.

The index lives in a temporary data dir (removed afterwards); embeddings come from a
persistent cache (default ``<project>/.cache/embed_cache.sqlite``), so a re-run embeds only
what changed. Questions go through ``Pipeline.ask`` (the path the CLI and the API use);
retrieval metrics are measured on ``pipeline.retriever.retrieve(standalone, k)``, i.e. on
what was retrieved, not on what the answer cited.

Entry points: :func:`run_eval` (used by ``rag eval`` and ``tests/test_quality_gate.py``),
:func:`build_index`, :func:`evaluate`, :func:`load_dataset`, :func:`load_thresholds`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rag.errors import RagError
from rag.settings import PROJECT_DIR, Settings, build_pipeline

from . import metrics as M
from .distractors import DEFAULT_DISTRACTORS, load_distractors
from .report import write_report
from .results import EvalRun, ModeResult
from .split import split_of

DEFAULT_CACHE = PROJECT_DIR / ".cache" / "embed_cache.sqlite"
DEFAULT_RUNS = PROJECT_DIR / "eval" / "runs"
DEFAULT_THRESHOLDS = PROJECT_DIR / "eval" / "thresholds.toml"
MODES = ("bm25", "dense", "hybrid")
KINDS = ("fact", "list", "summary", "multi", "followup", "paraphrase", "unanswerable")


# -- inputs -------------------------------------------------------------------------------------
def load_dataset(path: Path | str) -> list[dict]:
    """Gold questions from a JSON Lines file (format: eval/README.md).

    raises ValueError: a line that is not a JSON object with ``id``, ``question`` and
        ``kind`` (message names the file and line), or a repeated id.
    """
    path = Path(path)
    out: list[dict] = []
    seen: set[str] = set()
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{i}: not JSON ({exc})") from None
        if not isinstance(q, dict) or not all(
            isinstance(q.get(k), str) and q.get(k) for k in ("id", "question", "kind")
        ):
            raise ValueError(f"{path}:{i}: each line needs string fields id, question and kind")
        if q["id"] in seen:
            raise ValueError(f"{path}:{i}: repeated id {q['id']!r}")
        seen.add(q["id"])
        q.setdefault("history", [])
        q.setdefault("facts", [])
        q.setdefault("articles", [])
        out.append(q)
    return out


def load_thresholds(path: Path | str = DEFAULT_THRESHOLDS) -> dict:
    """The quality gate table (``eval/thresholds.toml``): ``[min]``, ``[max]``,
    ``[kind.<kind>.min]``… and ``[run]`` (the configuration it was measured with)."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def resolve_cache(settings: Settings) -> str:
    """The embedding cache the eval uses: ``settings.embed_cache`` when set (a file or
    ``"off"``), else the persistent project cache (the data dir is temporary)."""
    return settings.embed_cache or str(DEFAULT_CACHE)


# -- index --------------------------------------------------------------------------------------
def build_index(
    settings: Settings,
    corpus: Path | Sequence[Path],
    *,
    distractors: Path | None = DEFAULT_DISTRACTORS,
    n_distractors: int = 0,
    progress: bool = False,
):
    """Build the pipeline named by ``settings`` (its data dir should be empty) and ingest the
    corpus (a folder or file, or several), then ``n_distractors`` articles from ``distractors``.

    returns: (pipeline, info) — info counts articles/chunks and embedding cache hits, and gives
        ``as_of``: the date of the corpus's latest article, the "today" its questions are asked
        on (a gold set's 今年/去年 mean the corpus's time, not the day the evaluation runs).
    raises RuntimeError: the corpus did not ingest cleanly (parse errors are listed).
    raises FileNotFoundError: distractor file missing while ``n_distractors > 0``.
    """
    t0 = time.perf_counter()
    pipe = build_pipeline(settings)
    report = pipe.ingest([Path(c) for c in (corpus if isinstance(corpus, (list, tuple)) else [corpus])])
    if report.errors or report.articles == 0:
        raise RuntimeError(f"corpus {corpus} did not ingest cleanly: {report.errors or 'no articles'}")
    as_of = max((c.date for c in pipe.store.iter_chunks() if c.date), default="") or None
    # a corpus drawn from the distractor file itself (news_dev_corpus.jsonl) is never drawn again
    own = {d.source.removeprefix("news-crud/") for d in pipe.documents() if d.source.startswith("news-crud/")}
    arts = load_distractors(distractors, n_distractors, exclude=own) if n_distractors > 0 else []
    dreport = None
    if arts:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(arts), unit="篇", desc="干扰文章", file=sys.stderr)
        step = 20
        for i in range(0, len(arts), step):
            dreport = pipe.ingest_articles(arts[i : i + step], report=dreport)
            if bar:
                bar.update(len(arts[i : i + step]))
        if bar:
            bar.close()
    # warm-up (untimed): the first query builds the BM25 index and loads the query model,
    # which would otherwise be charged to the first question's latency
    t1 = time.perf_counter()
    pipe.retriever.retrieve("预热", k=1)
    warmup_s = time.perf_counter() - t1
    emb = pipe.embedder
    info = {
        "as_of": as_of,
        "corpus_articles": report.articles,
        "corpus_chunks": report.added + report.unchanged + report.updated,
        "distractor_articles": dreport.articles if dreport else 0,
        "distractor_chunks": (dreport.added + dreport.unchanged + dreport.updated) if dreport else 0,
        "chunks": pipe.store.count(),
        "embedded": report.embedded + (dreport.embedded if dreport else 0),
        "cache_hits": getattr(emb, "hits", None),
        "cache_misses": getattr(emb, "misses", None),
        "warmup_seconds": round(warmup_s, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return pipe, info


# -- questions ----------------------------------------------------------------------------------
def evaluate(
    pipe,
    questions: Sequence[dict],
    *,
    top_k: int = 5,
    mode: str | None = None,
    progress: bool = False,
    as_of: str | None = None,
) -> ModeResult:
    """Ask every question, retrieve for its standalone form, and score.

    mode: set ``pipe.retriever.mode`` for this pass (restored afterwards); None keeps it.
    as_of: the day relative dates mean (``build_index``'s ``as_of``); a question's own
        ``as_of`` field wins.
    returns: a ``ModeResult`` whose records are ``Answer.to_dict()`` + the gold fields +
        ``retrieved`` (titles/sources/scores) + ``scores`` (see ``metrics.score_question``).
    """
    old_mode, old_embedder = pipe.retriever.mode, pipe.retriever.embedder
    if mode:
        pipe.retriever.mode = mode
    # ask() embeds each query (and is timed doing so); the second retrieval for the metrics
    # reuses that vector instead of paying for it again. Fresh per pass, so every mode's
    # latency includes its own query embeddings.
    pipe.retriever.embedder = _QueryMemo(old_embedder)
    t0 = time.perf_counter()
    records: list[dict] = []
    it = questions
    if progress:
        from tqdm import tqdm

        it = tqdm(questions, unit="题", desc=f"评测 {pipe.retriever.mode}", file=sys.stderr)
    try:
        for q in it:
            records.append(_ask_one(pipe, q, top_k, q.get("as_of") or as_of))
    finally:
        pipe.retriever.mode, pipe.retriever.embedder = old_mode, old_embedder
    scores = [r["scores"] for r in records]
    kinds = [r["kind"] for r in records]
    order = [k for k in KINDS if k in kinds] + [k for k in dict.fromkeys(kinds) if k not in KINDS]
    by_kind = M.aggregate_by_kind(scores, kinds)
    by_kind = {k: by_kind[k] for k in order}
    return ModeResult(mode or old_mode, records, M.aggregate(scores), by_kind, round(time.perf_counter() - t0, 1))


class _QueryMemo:
    """An embedder wrapper that remembers query vectors by text (documents pass through)."""

    def __init__(self, inner):
        self.inner = inner
        self.memo: dict[str, list[float]] = {}

    def embed_query(self, text: str) -> list[float]:
        if text not in self.memo:
            self.memo[text] = self.inner.embed_query(text)
        return self.memo[text]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _ask_one(pipe, q: dict, top_k: int, as_of: str | None = None) -> dict:
    gold = {k: q.get(k) for k in ("id", "kind", "subkind", "question", "history", "facts", "min_facts", "articles")}
    t0 = time.perf_counter()
    try:
        ans = pipe.ask(q["question"], q.get("history") or [], top_k=top_k, as_of=as_of).to_dict()
        error = None
    except RagError as exc:  # recorded as a failed question, never stops the run
        ans = {
            "question": q["question"],
            "standalone_question": q["question"],
            "answer": "",
            "abstained": True,
            "citations": [],
            "timings_ms": {},
        }
        error = exc.to_dict()
    wall_ms = (time.perf_counter() - t0) * 1000
    try:
        passages = pipe.retriever.retrieve(ans["standalone_question"], k=top_k)
    except RagError:
        passages = []
    retrieved = [
        {
            "title": p.chunk.title,
            "text": p.chunk.text,
            "author": p.chunk.author,
            "source": p.chunk.source,
            "chunk_id": p.chunk.id,
            "score": round(p.score, 4),
        }
        for p in passages
    ]
    scores = M.score_question(gold, ans, retrieved, k=top_k, latency_ms=wall_ms)
    rec = {
        "id": q["id"],
        **ans,
        "kind": q["kind"],  # the gold kind (the answer's own kind is answer_kind)
        "answer_kind": ans.get("kind"),
        **{k: gold[k] for k in ("history", "facts", "min_facts", "articles")},
        **({"subkind": gold["subkind"]} if gold.get("subkind") else {}),
        "retrieved": [{k: v for k, v in r.items() if k != "text"} for r in retrieved],
        "scores": scores,
    }
    if error:
        rec["error"] = error
    return rec


# -- the whole run ------------------------------------------------------------------------------
def run_eval(
    settings: Settings | None = None,
    *,
    dataset: Path | str,
    corpus: Path | Sequence[Path] | None = None,
    distractors: Path | None = DEFAULT_DISTRACTORS,
    n_distractors: int = 300,
    top_k: int | None = None,
    ablation: bool = False,
    out_dir: Path | None = None,
    write: bool = True,
    charts: bool = True,
    progress: bool = False,
    question_ids: Sequence[str] | None = None,
    split: str | None = None,
    baseline: Path | None = None,
) -> EvalRun:
    """Build a fresh index in a temporary data dir and evaluate ``dataset`` on it.

    settings: embedder, chunking, retrieval mode… (``Settings()`` when None); its data dir is
        replaced by a temporary one and an unset embedding cache by ``DEFAULT_CACHE``.
    corpus: folder or file of the seed corpus, or several (default ``settings.corpus_dir``).
    n_distractors: articles drawn from ``distractors`` (see ``eval.distractors``); 0 = none.
    top_k: passages per question (default ``settings.top_k``).
    ablation: also run every retrieval mode (bm25, dense, hybrid) on the same index.
    out_dir: where results.jsonl, report.md, report.json and charts go (default
        ``eval/runs/<timestamp>/``); nothing is written when ``write`` is False.
    question_ids: evaluate only these ids (in dataset order).
    split: ``"val"`` or ``"train"``: only that part of the training/validation split
        (``eval/split.py``); None evaluates every question.
    baseline: another run's ``results.jsonl`` (e.g. the rules answerer's): its metrics over the
        same questions go beside this run's in the report and the risk–coverage chart.
    raises FileNotFoundError / ValueError: missing or malformed dataset or distractor file.
    """
    t_start = time.perf_counter()
    base = settings or Settings()
    questions = load_dataset(dataset)
    if question_ids is not None:
        wanted = set(question_ids)
        questions = [q for q in questions if q["id"] in wanted]
    if split:
        questions = [q for q in questions if split_of(q) == split]
    top_k = int(top_k or base.top_k)
    corpus = [Path(c) for c in corpus] if isinstance(corpus, (list, tuple)) else Path(corpus or base.corpus_dir)
    tmp = Path(tempfile.mkdtemp(prefix="rag-eval-"))
    try:
        s = base.with_overrides(data_dir=tmp / "data", embed_cache=resolve_cache(base))
        pipe, index = build_index(s, corpus, distractors=distractors, n_distractors=n_distractors, progress=progress)
        main_mode = pipe.retriever.mode
        abl: dict[str, ModeResult] = {}
        note = ""
        if ablation:
            for mode in MODES:
                abl[mode] = evaluate(pipe, questions, top_k=top_k, mode=mode, progress=progress, as_of=index["as_of"])
            main = abl.get(main_mode) or evaluate(pipe, questions, top_k=top_k, progress=progress, as_of=index["as_of"])
            reranker = getattr(pipe.retriever, "reranker", None) or getattr(pipe, "reranker", None)
            note = (
                f"reranker configured: {type(reranker).__name__} (included in every row)"
                if reranker
                else "No reranker is configured in this pipeline, so there is no reranker row."
            )
        else:
            main = evaluate(pipe, questions, top_k=top_k, progress=progress, as_of=index["as_of"])
        config = {
            "dataset": _rel(Path(dataset)),
            "dataset_sha1": hashlib.sha1(Path(dataset).read_bytes()).hexdigest()[:12],
            "questions": len(questions),
            "corpus": ", ".join(_rel(c) for c in corpus) if isinstance(corpus, list) else _rel(corpus),
            "distractors": _rel(Path(distractors)) if (distractors and n_distractors > 0) else None,
            "n_distractors": n_distractors,
            "top_k": top_k,
            "retrieval_mode": main_mode,
            "embedder": getattr(pipe.embedder, "id", s.embedder),
            "answerer": type(pipe.answerer).__name__,
            **(
                {"llm": {**pipe.answerer.describe(), "context_tokens": pipe.answerer.context_tokens}}
                if hasattr(pipe.answerer, "context_tokens")
                else {}
            ),
            "abstain_threshold": getattr(pipe.extractive, "threshold", None),
            "chunk_chars": s.chunk_chars,
            "chunk_overlap": s.chunk_overlap,
            "git_commit": _git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(_git("status", "--porcelain", "--", "rag", "eval", "corpus")),
            "started": datetime.now().isoformat(timespec="seconds"),
        }
        del pipe
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    run = EvalRun(config=config, index=index, main=main, ablation=abl, ablation_note=note)
    if baseline:
        run.baseline = load_baseline(Path(baseline), {q["id"] for q in questions})
    run.timings_s = {
        "index": index["seconds"],
        "questions": main.seconds,
        "ablation": round(sum(r.seconds for r in abl.values()), 1),
        "total": round(time.perf_counter() - t_start, 1),
    }
    if write:
        out = Path(out_dir) if out_dir else DEFAULT_RUNS / datetime.now().strftime("%Y%m%d-%H%M%S")
        write_outputs(run, out, charts=charts)
    return run


def load_baseline(path: Path, ids: set[str]) -> dict:
    """Another run's ``results.jsonl`` scored over the questions ``ids``: ``{"name", "path",
    "metrics"}`` (name: the directory's name). raises FileNotFoundError: no such file."""
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    scores = [r["scores"] for r in records if r.get("id") in ids]
    return {"name": path.parent.name, "path": _rel(path), "metrics": M.aggregate(scores)}


def write_outputs(run: EvalRun, out: Path, *, charts: bool = True) -> None:
    """results.jsonl (main run; ``results-<mode>.jsonl`` per ablation mode), report.md,
    report.json and the PNG charts."""
    out.mkdir(parents=True, exist_ok=True)
    run.out_dir = out
    _write_jsonl(out / "results.jsonl", run.main.records)
    for mode, res in run.ablation.items():
        if res is not run.main:
            _write_jsonl(out / f"results-{mode}.jsonl", res.records)
    write_report(run, out, charts=charts)


def check(run: EvalRun, thresholds: dict) -> list[str]:
    """Failed metrics of the main run against a thresholds table (empty list = pass)."""
    return M.check_thresholds(run.metrics, thresholds, run.by_kind)


def config_mismatch(run: EvalRun, thresholds: dict) -> list[str]:
    """Differences between the run's configuration and the ``[run]`` table the thresholds
    were measured with (warnings: the numbers are not comparable)."""
    want = thresholds.get("run") or {}
    return [
        f"{k}: thresholds measured with {v!r}, this run used {run.config.get(k)!r}"
        for k, v in want.items()
        if k in run.config and run.config.get(k) != v
    ]


# -- helpers ------------------------------------------------------------------------------------
def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(p)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
