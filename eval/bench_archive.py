"""Large-archive benchmark (the persisted keyword index): how fast a fresh ``rag serve`` answers
its first question with a saved index vs the rebuild paths, its memory, how soon another
process's write is found, and the two tokenizer engines side by side. Driven by ``eval.bench``
(steps ``tokenizer``, ``serve-saved``, ``serve-rebuild``, ``serve-jieba``, ``fresh``), each phase
in its own process: ``python -m eval.bench_archive --phase NAME [ARGS]`` prints one JSON line.

Definitions
- first answer: wall time from starting ``rag serve`` (a subprocess, ``RAG_RETRIEVAL_MODE=bm25``,
  the store built by the ``ingest-all-kw`` step) until ``POST /api/ask`` first returns 200;
  the server builds its pipeline and refreshes the keyword index on that first question.
  "listening" is when ``GET /v1/models`` (no pipeline needed) first answers: Python imports.
  ``saved``: the index the ingest saved; ``rebuild``: no saved index (an empty
  ``RAG_KEYWORD_INDEX``), rjieba; ``jieba``: no saved index and ``RAG_TOKENIZER=jieba`` (today's
  tokenizer on the rebuild path: the same-run baseline).
- serving RSS: the server's peak resident set (``VmHWM``) after the first answer and 40 more
  dev questions over HTTP.
- freshness: the archive behind a ``chroma run`` server; a serving pipeline with a current index,
  then ``rag ingest`` of one new article in another process; the time of the serving process's
  next ``ask`` (keyword refresh included) and whether its first citation is the new article.
- tokenizer agreement: the first N news-crud articles chunked as in ingest, local names gathered
  and added to both engines; identical = the chunk's token list is the same, overlap = multiset
  intersection / tokens. Speed: CPU seconds of ``tokenize`` over every chunk.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from .bench import CORPUS, NEWS, ROOT, WORK, load_questions, pct

NEW_TITLE = "我县举办首届山楂文化旅游节"
NEW_ARTICLE = f"""# {NEW_TITLE}

本报讯 6月8日，我县首届山楂文化旅游节在横水镇山楂产业园开幕。副县长郝卫东宣布开幕，来自周边县市的两千余名游客参加活动。

旅游节期间举办山楂采摘体验、山楂美食评比和非遗剪纸展览，现场签约山楂深加工项目三个，总投资一点二亿元。

（记者 侯晓峰）
"""
NEW_QUESTION = "首届山楂文化旅游节在哪里开幕？"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**kw) -> dict:
    env = {
        **os.environ,
        "RAG_DICT": str(CORPUS / "dict.txt"),
        "RAG_EMBED_CACHE": "off",
        "RAG_EMBED_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    env.pop("RAG_CHROMA_URL", None)
    env.update({k: str(v) for k, v in kw.items()})
    return env


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def phase_tokenizer(n: int) -> dict:
    """Token agreement and speed of rjieba vs jieba on the first ``n`` news-crud articles."""
    from rag.chunk import chunk_article
    from rag.keyword import Tokenizer, gather_user_words
    from rag.parse import iter_jsonl_articles

    with gzip.open(NEWS, "rt", encoding="utf-8") as f:
        lines = [line for _, line in zip(range(n), f)]
    arts = list(iter_jsonl_articles(iter(lines), source="news", year=None, errors=[]))
    chunks = [c for a in arts for c in chunk_article(a, max_chars=300, overlap_sentences=1)]
    texts = [c.embed_text for c in chunks]
    words = sorted(gather_user_words([c.text for c in chunks], [c.author for c in chunks if c.author]))
    out: dict = {
        "phase": "tokenizer",
        "articles": len(arts),
        "chunks": len(texts),
        "chars": sum(map(len, texts)),
        "user_words": len(words),
    }
    tokens = {}
    for engine in ("jieba", "rjieba"):
        tok = Tokenizer(dict_path=CORPUS / "dict.txt", engine=engine)
        tok.add_words(words)
        c0, t0 = time.process_time(), time.perf_counter()
        tokens[engine] = [tok.tokenize(t) for t in texts]
        out[f"{engine}_cpu_s"], out[f"{engine}_wall_s"] = time.process_time() - c0, time.perf_counter() - t0
    a, b = tokens["jieba"], tokens["rjieba"]
    inter = sum(sum((collections.Counter(x) & collections.Counter(y)).values()) for x, y in zip(a, b))
    diff = collections.Counter()
    for x, y in zip(a, b):
        cx, cy = collections.Counter(x), collections.Counter(y)
        diff.update({f"-{t}": k for t, k in (cx - cy).items()})
        diff.update({f"+{t}": k for t, k in (cy - cx).items()})
    out.update(
        identical=sum(x == y for x, y in zip(a, b)) / len(a),
        overlap_jieba=inter / sum(map(len, a)),
        overlap_rjieba=inter / sum(map(len, b)),
        tokens=sum(map(len, a)),
        speedup_cpu=out["jieba_cpu_s"] / out["rjieba_cpu_s"],
        top_differences=diff.most_common(12),
        loadavg_1min=os.getloadavg()[0],
    )
    return out


def phase_serve(n: str, mode: str, questions: int = 40) -> dict:
    """Time from ``rag serve`` start to its first answer, and its peak RSS (see module docstring)."""
    import httpx

    data = WORK / f"kw-{n}"
    if not (data / "chroma").exists():
        raise SystemExit(f"no store at {data}: run the ingest-all-kw step first")
    prep_s = None
    kw: dict = {"RAG_DATA_DIR": data, "RAG_RETRIEVAL_MODE": "bm25"}
    tmp = None
    if mode == "saved":
        if not (data / "keyword").exists():  # a store ingested before the index was saved
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "rag.cli", "reindex", "--keyword"],
                env=_env(**kw),
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            prep_s = time.perf_counter() - t0
    else:
        tmp = Path(tempfile.mkdtemp(prefix="kwidx-", dir=WORK))
        kw["RAG_KEYWORD_INDEX"] = tmp
        if mode == "jieba":
            kw["RAG_TOKENIZER"] = "jieba"
    port = _free_port()
    log = open(WORK / f"serve-{mode}.log", "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=_env(**kw),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/ask"
    qs = [q["question"] for q in load_questions() if not q.get("history")]
    up_s = first_s = None
    lat: list[float] = []
    try:
        with httpx.Client(timeout=3600) as http:
            while up_s is None:  # listening: a route that needs no pipeline
                if proc.poll() is not None:
                    raise SystemExit(f"rag serve exited: see {log.name}")
                try:
                    http.get(f"http://127.0.0.1:{port}/v1/models").raise_for_status()
                    up_s = time.perf_counter() - t0
                except httpx.HTTPError:
                    time.sleep(0.1)
            r = http.post(url, json={"question": qs[0]})
            r.raise_for_status()
            first_s = time.perf_counter() - t0
            first = r.json()
            for q in qs[1 : questions + 1]:
                t1 = time.perf_counter()
                http.post(url, json={"question": q}).raise_for_status()
                lat.append((time.perf_counter() - t1) * 1000)
        peak, rss = _status_mb(proc.pid, "VmHWM"), _status_mb(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "phase": "serve",
        "n": n,
        "mode": mode,
        "first_answer_s": first_s,
        "reachable_s": up_s,
        "prep_s": prep_s,
        "first_abstained": first["abstained"],
        "http_p50_ms": pct(lat, 50),
        "http_p95_ms": pct(lat, 95),
        "peak_rss_mb": peak,
        "rss_mb": rss,
        "questions": len(lat) + 1,
        "loadavg_1min": os.getloadavg()[0],
    }


def phase_fresh(n: str) -> dict:
    """Another process writes one article into a shared Chroma server; how long the serving
    process's next question takes and whether it finds the article (see module docstring)."""
    from rag.settings import Settings, build_pipeline, keyword_index_dir

    data = WORK / f"kw-{n}"
    work = Path(tempfile.mkdtemp(prefix="fresh-", dir=WORK))
    port = _free_port()
    db = work / "chroma"
    shutil.copytree(data / "chroma", db)  # the server gets its own copy: the store stays as it was
    exe = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(exe), "run", "--path", str(db), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("chroma run did not start") from None
                time.sleep(0.5)
        saved = keyword_index_dir(replace(Settings(), data_dir=data, chroma_url=None))
        settings = {}
        for role in ("serve", "writer"):  # each process keeps its own copy of the index
            s = Settings().with_overrides(
                data_dir=work / role,
                chroma_url=url,
                dict_path=CORPUS / "dict.txt",
                retrieval_mode="bm25",
                embed_cache="off",
                embed_threads=1,
            )
            shutil.copytree(saved, keyword_index_dir(s))
            settings[role] = s
        pipe = build_pipeline(settings["serve"])
        t0 = time.perf_counter()
        pipe.keyword.refresh()
        load_s = time.perf_counter() - t0
        assert pipe.keyword.last_action == "loaded", pipe.keyword.last_action
        pipe.ask("招商引资工作推进会议在哪里召开？")
        new = work / "new" / "绛县新闻-2024年6月.txt"
        new.parent.mkdir()
        new.write_text(NEW_ARTICLE, encoding="utf-8")
        t0 = time.perf_counter()
        w = subprocess.run(
            [sys.executable, "-m", "rag.cli", "ingest", str(new), "--json", "--keyword-first"],
            env=_env(RAG_CHROMA_URL=url, RAG_DATA_DIR=work / "writer"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        writer_s = time.perf_counter() - t0
        tokenized = pipe.keyword.tokenized
        t0 = time.perf_counter()
        ans = pipe.ask(NEW_QUESTION)
        ask_ms = (time.perf_counter() - t0) * 1000
        found = bool(ans.citations) and ans.citations[0].title == NEW_TITLE
        return {
            "phase": "fresh",
            "n": n,
            "load_s": load_s,
            "writer_s": writer_s,
            "writer_report": json.loads(w.stdout.strip().splitlines()[-1]),
            "next_ask_ms": ask_ms,
            "refresh_ms": pipe.keyword.last_build_ms,
            "action": pipe.keyword.last_action,
            "tokenized": pipe.keyword.tokenized - tokenized,
            "found": found,
            "abstained": ans.abstained,
            "loadavg_1min": os.getloadavg()[0],
        }
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


PHASES = {
    "tokenizer": lambda a: phase_tokenizer(int(a[0]) if a else 5000),
    "serve": lambda a: phase_serve(a[0], a[1]),
    "fresh": lambda a: phase_fresh(a[0]),
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval.bench_archive", description=__doc__.split("\n")[0])
    ap.add_argument("--phase", nargs="+", required=True, help="phase name and arguments (run by eval.bench)")
    a = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    print(json.dumps(PHASES[a.phase[0]](a.phase[1:]), ensure_ascii=False))


if __name__ == "__main__":
    main()
