"""Kills at five moments of a write, each followed by what an operator does next (issue #20).

A fresh data dir is seeded from ``corpus/``; then ``N`` news-crud articles (one ``.jsonl``) are
written and the writing process is killed with SIGKILL at one of five moments:

1. ``ingest-start``: ``rag ingest`` one second after it started (opening the store, parsing);
2. ``ingest-first-batch``: right after its first batch of chunks is in Chroma;
3. ``ingest-half``: when half of the file's chunks are in;
4. ``ingest-end``: when all chunks are in (the keyword index is being brought up to date);
5. ``serve-upload``: ``rag serve`` while it writes an upload (``POST /api/documents``).

After each kill: the data dir must open (``rag docs list``), a document cut off after its first
write must be listed as incomplete, a restarted server must have removed the upload's leftovers,
and running the same ingest (or upload) again must leave exactly the chunks of a clean run,
with the same answers to a few questions. The embedding cache is off for the killed run (so it
really embeds and can be caught halfway) and on for the re-run.

    python -m eval.kills                    # 200 articles, results as JSON lines on stdout
    python -m eval.kills --articles 100 --out kills.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from eval.load import NEWS_OFFSET, Server, write_distractor_files

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["招商引资工作推进会议由谁主持？", "调研组到了哪些学校？", "李晓军5月份调研了哪些地方？"]
MOMENTS = ("ingest-start", "ingest-first-batch", "ingest-half", "ingest-end", "serve-upload")


def chunk_ids(data: Path) -> list[str]:
    """Chunk ids of the main collection, read from the SQLite file (no Chroma process)."""
    db = sqlite3.connect(f"file:{data / 'chroma' / 'chroma.sqlite3'}?immutable=1", uri=True)
    try:
        rows = db.execute(
            "SELECT e.embedding_id FROM embeddings e JOIN segments s ON e.segment_id = s.id "
            "JOIN collections c ON s.collection = c.id WHERE c.name = 'county_news'"
        )
        return sorted(r[0] for r in rows)
    except sqlite3.Error:
        return []
    finally:
        db.close()


def _env(data: Path, cache: str) -> dict:
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_EMBED_CACHE": cache, "RAG_LLM": "none"}
    for k in ("RAG_CHROMA_URL", "RAG_API_KEY"):
        env.pop(k, None)
    return env


def rag(*args: str, env: dict, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def answers(env: dict) -> list[str]:
    out = []
    for q in QUESTIONS:
        r = rag("ask", q, "--json", env=env)
        out.append(json.loads(r.stdout)["answer"] if r.returncode == 0 else f"exit {r.returncode}")
    return out


def seed(data: Path, cache: Path) -> None:
    r = rag("ingest", str(ROOT / "corpus"), env=_env(data, str(cache)))
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])


def _wait_for(cond, proc, timeout: float = 900) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if cond():
            return True
        time.sleep(0.05)
    return False


def run_moment(moment: str, work: Path, archive: Path, cache: Path, reference: dict) -> dict:
    """Kill at ``moment``, recover as an operator would, compare with the clean ``reference``."""
    data = Path(tempfile.mkdtemp(prefix=f"{moment}-", dir=work))
    seed(data, cache)
    n_seed = len(chunk_ids(data))
    n_new = len(reference["ids"]) - n_seed
    killed_env = _env(data, "off")
    t0 = time.monotonic()
    if moment == "serve-upload":
        server = Server(data, killed_env, work / f"{data.name}.log")
        server.wait()
        import threading

        def upload() -> None:
            try:
                httpx.post(
                    f"{server.url}/api/documents",
                    files={"file": (archive.name, archive.read_bytes(), "application/jsonl")},
                    timeout=None,
                )
            except httpx.HTTPError:
                pass  # the server is killed during this upload

        threading.Thread(target=upload, daemon=True).start()
        proc = server.proc
        _wait_for(lambda: len(chunk_ids(data)) > n_seed, proc)
    else:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "ingest", str(archive)],
            env=killed_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        target = {"ingest-start": None, "ingest-first-batch": 1, "ingest-half": n_new // 2, "ingest-end": n_new}[moment]
        if target is None:
            time.sleep(1.0)
        else:
            _wait_for(lambda: len(chunk_ids(data)) - n_seed >= target, proc)
    at = round(time.monotonic() - t0, 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(chunk_ids(data)) - n_seed
    env = _env(data, str(cache))
    listing = rag("docs", "list", "--json", env=env)
    docs = {d["source"]: d for d in json.loads(listing.stdout)} if listing.returncode == 0 else {}
    row = {
        "moment": moment,
        "killed_after_s": at,
        "chunks_written_of": f"{written}/{n_new}",
        "opens_after_kill": listing.returncode == 0,
        "listed_incomplete": bool(docs.get(archive.name)) and not docs[archive.name]["complete"],
    }
    t1 = time.monotonic()
    if moment == "serve-upload":
        leftovers = [p for p in (data / "uploads").rglob("*") if p.is_file()] if (data / "uploads").exists() else []
        row["upload_leftovers_before_restart"] = len(leftovers)
        server = Server(data, env, work / f"{data.name}-2.log")
        try:
            server.wait()
            row["upload_leftovers_after_restart"] = sum(1 for p in (data / "uploads").rglob("*") if p.is_file())
            r = httpx.post(
                f"{server.url}/api/documents",
                files={"file": (archive.name, archive.read_bytes(), "application/jsonl")},
                timeout=None,
            )
            row["rerun_ok"] = r.status_code == 200
        finally:
            server.stop()
    else:
        row["rerun_ok"] = rag("ingest", str(archive), env=env).returncode == 0
    row["rerun_s"] = round(time.monotonic() - t1, 1)
    final = rag("docs", "list", "--json", env=env)
    row["complete_after_rerun"] = all(d["complete"] for d in json.loads(final.stdout))
    row["same_chunks_as_clean_run"] = chunk_ids(data) == reference["ids"]
    row["same_answers_as_clean_run"] = answers(env) == reference["answers"]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--moments", nargs="*", default=list(MOMENTS), choices=MOMENTS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-kills-") as tmp:
        work = Path(tmp)
        cache = work / "cache.sqlite"
        [archive] = write_distractor_files(
            work / "in", args.articles, per_file=args.articles, offset=NEWS_OFFSET + 9000
        )
        archive = archive.rename(archive.with_name("新闻合集.jsonl"))
        clean = work / "clean"
        seed(clean, cache)
        r = rag("ingest", str(archive), env=_env(clean, str(cache)))
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-2000:])
        reference = {"ids": chunk_ids(clean), "answers": answers(_env(clean, str(cache)))}
        for moment in args.moments:
            row = run_moment(moment, work, archive, cache, reference)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            rows.append(row)
    if args.out:
        args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    ok = all(r["opens_after_kill"] and r["rerun_ok"] and r["same_chunks_as_clean_run"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
