"""Bounded load test of the HTTP API on loopback.

``N`` concurrent clients (asyncio + httpx) ask the dev questions on ``POST /api/ask`` (every
``DATED_EVERY``-th with a date range) for a fixed time, optionally while an ingest runs (news-crud distractors uploaded through
``POST /api/documents``, so the server embeds and writes them while it answers). Every
second the server process's resident memory (``VmRSS`` of ``/proc/<pid>/status``) is sampled.

Script (starts its own ``rag serve`` on 127.0.0.1 with a fresh data dir seeded from ``corpus/``)::

    python -m eval.load                                  # 16 clients x 60 s, then again with an ingest
    python -m eval.load --embed-threads 1 --ingest 300   # one configuration only
    python -m eval.load --matrix                         # threads default/1 x ingest off/on
    python -m eval.load --ingest 0 --cli-ingest 200      # a `rag ingest` into the same data dir alongside

Result: one JSON object per run on stdout (and ``--out``): requests, errors (with the first
few bodies), throughput (requests/s), latency p50/p95/max (ms, overall and while the ingest
was running), RSS start/end/max (MiB), ingest articles/chunks/seconds.

The test suite runs a short version (``run_load`` against an in-process server, 4 clients x
10 s, no ingest) and asserts zero errors: ``tests/test_robustness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "eval" / "datasets" / "dev.jsonl"
NEWS = Path(os.environ.get("RAG_EVAL_DISTRACTORS", "/work/shared/data/news-crud/news.jsonl.gz"))
#: news-crud lines taken as ingest material start here: far from the lines the evaluation's
#: seeded sample tends to reuse, so the embedding cache does not make the ingest free
NEWS_OFFSET = 20_000
MAX_ERRORS_KEPT = 5
DATED_EVERY = 4  # every 4th question carries a date range


def load_questions(path: Path = DEV) -> list[str]:
    """The ``question`` of every line of a gold-question JSONL file, in file order."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation between closest ranks; 0 for no values."""
    if not values:
        return 0.0
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def rss_mib(pid: int) -> float | None:
    """Resident set size of process ``pid`` in MiB (``VmRSS``), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class LoadResult:
    """What one load run measured. Latencies in milliseconds, memory in MiB."""

    clients: int
    duration_s: float
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    throughput_rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    abstained: int = 0
    # requests that started while the ingest was running (empty without an ingest)
    during_ingest_requests: int = 0
    during_ingest_p50_ms: float = 0.0
    during_ingest_p95_ms: float = 0.0
    rss_start_mib: float | None = None
    rss_end_mib: float | None = None
    rss_max_mib: float | None = None
    rss_samples: int = 0
    rss_series_mib: list[float] = field(default_factory=list)  # one sample a second
    ingest: dict = field(default_factory=dict)
    cli_ingest: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


async def _client(
    http: httpx.AsyncClient,
    url: str,
    questions: list[str],
    offset: int,
    stop_at: float,
    lat: list[tuple[float, float]],
    res: LoadResult,
) -> None:
    i = offset
    while time.monotonic() < stop_at:
        q = questions[i % len(questions)]
        i += 1
        body = {"question": q}
        if i % DATED_EVERY == 0:  # date filters: what a second writer used to break ("Error finding id")
            body.update(date_from="2024-04-01", date_to="2024-05-31")
        t0 = time.monotonic()
        try:
            r = await http.post(f"{url}/api/ask", json=body)
            ok = r.status_code == 200 and "answer" in r.json()
            if ok and r.json().get("abstained"):
                res.abstained += 1
            detail = "" if ok else f"{r.status_code} {r.text[:300]}"
        except Exception as exc:  # noqa: BLE001 - any transport failure is an error of the run
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        lat.append((t0, (time.monotonic() - t0) * 1000))
        res.requests += 1
        if not ok:
            res.errors += 1
            if len(res.error_samples) < MAX_ERRORS_KEPT:
                res.error_samples.append(detail)


async def _sample_rss(pid: int, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        v = rss_mib(pid)
        if v is not None:
            out.append(v)
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass
    v = rss_mib(pid)
    if v is not None:
        out.append(v)


async def _ingest(
    http: httpx.AsyncClient, url: str, files: list[Path], window: list[float], info: dict, headers: dict, stop_at: float
) -> None:
    """Upload the files one after another until they are all in or the run's time is up (the
    upload in flight then finishes; no new one starts). ``window`` gets [start, end] (monotonic)."""
    window.append(time.monotonic())
    info.update(files=0, articles=0, chunks_added=0, errors=[])
    try:
        for path in files:
            if time.monotonic() >= stop_at:
                break
            r = await http.post(
                f"{url}/api/documents",
                headers=headers,
                timeout=None,
                files={"file": (path.name, path.read_bytes(), "application/jsonl")},
            )
            if r.status_code != 200:
                info["errors"].append(f"{path.name}: {r.status_code} {r.text[:300]}")
                continue
            body = r.json()
            info["files"] += 1
            info["articles"] += body["articles"]
            info["chunks_added"] += body["added"]
    finally:
        window.append(time.monotonic())
        info["seconds"] = round(window[1] - window[0], 1)
        info["articles_per_s"] = round(info["articles"] / max(info["seconds"], 1e-9), 2)


async def _cli_ingest(cmd: list[str], env: dict, stop_at: float, info: dict) -> None:
    """Run ``rag ingest`` (``cmd``) into the server's data dir every 10 s until the time is up, as an
    operator following the README would; record each attempt's exit code, time and first line."""
    info.update(attempts=[])
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        text = (err or out).decode("utf-8", "replace").strip().splitlines()
        info["attempts"].append(
            {"exit": proc.returncode, "seconds": round(time.monotonic() - t0, 1), "said": (text or [""])[-1][:300]}
        )
        await asyncio.sleep(max(0.0, min(10.0, stop_at - time.monotonic())))


async def run_load(
    url: str,
    questions: list[str],
    *,
    clients: int = 16,
    duration: float = 60.0,
    server_pid: int | None = None,
    ingest_files: list[Path] = (),
    api_key: str | None = None,
    cli_ingest: tuple[list[str], dict] | None = None,
) -> LoadResult:
    """Drive ``clients`` concurrent askers against ``url`` for ``duration`` seconds.

    ingest_files: uploaded one by one (``POST /api/documents``) from the start of the run until
        the time is up; the upload in flight then completes (so the run may end a little late).
    server_pid: process whose RSS is sampled every second (None: no sampling).
    cli_ingest: ``(command, env)`` of a ``rag ingest`` run alongside every 10 s (``_cli_ingest``).
    Every non-200 answer, every answer without ``answer`` and every transport error counts
    as an error. Returns a ``LoadResult``.
    """
    res = LoadResult(clients=clients, duration_s=duration)
    lat: list[tuple[float, float]] = []
    rss: list[float] = []
    stop = asyncio.Event()
    window: list[float] = []
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=limits) as http:
        sampler = asyncio.create_task(_sample_rss(server_pid, stop, rss)) if server_pid else None
        t0 = time.monotonic()
        stop_at = t0 + duration
        ingest = (
            asyncio.create_task(_ingest(http, url, list(ingest_files), window, res.ingest, headers, stop_at))
            if ingest_files
            else None
        )
        cli = asyncio.create_task(_cli_ingest(*cli_ingest, stop_at, res.cli_ingest)) if cli_ingest else None
        await asyncio.gather(*(_client(http, url, questions, k * 7, stop_at, lat, res) for k in range(clients)))
        if cli is not None:
            await cli
        elapsed = time.monotonic() - t0
        if ingest is not None:
            await ingest
        stop.set()
        if sampler is not None:
            await sampler
    ms = [m for _, m in lat]
    res.throughput_rps = round(res.requests / elapsed, 2) if elapsed > 0 else 0.0
    res.p50_ms, res.p95_ms, res.max_ms = (
        round(percentile(ms, 50), 1),
        round(percentile(ms, 95), 1),
        round(max(ms, default=0.0), 1),
    )
    if window:
        end = window[1] if len(window) > 1 else float("inf")
        during = [m for t, m in lat if window[0] <= t <= end]
        res.during_ingest_requests = len(during)
        res.during_ingest_p50_ms = round(percentile(during, 50), 1)
        res.during_ingest_p95_ms = round(percentile(during, 95), 1)
    if rss:
        res.rss_start_mib, res.rss_end_mib, res.rss_max_mib = round(rss[0], 1), round(rss[-1], 1), round(max(rss), 1)
        res.rss_samples = len(rss)
        res.rss_series_mib = [round(v, 1) for v in rss]
    return res


# -- script: a real `rag serve` ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_distractor_files(
    dest: Path, n: int, per_file: int = 25, offset: int = NEWS_OFFSET, news: Path = NEWS
) -> list[Path]:
    """``n`` news-crud articles (from line ``offset`` on) as .jsonl files of ``per_file`` lines."""
    dest.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    lines: list[str] = []
    with gzip.open(news, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < offset:
                continue
            if len(lines) >= n:
                break
            if "绛县" not in line:  # a distractor must never answer a county question
                lines.append(line)
    for k in range(0, len(lines), per_file):
        p = dest / f"distractors-{k // per_file:03d}.jsonl"
        p.write_text("".join(lines[k : k + per_file]), encoding="utf-8")
        files.append(p)
    return files


class Server:
    """``rag serve`` on 127.0.0.1 in its own process, with its own data dir."""

    def __init__(self, data_dir: Path, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        rag = Path(sys.executable).with_name("rag")
        cmd = [
            str(rag) if rag.exists() else "rag",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        self.proc = subprocess.Popen(
            cmd, env={**env, "RAG_DATA_DIR": str(data_dir)}, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )

    def wait(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"rag serve exited with {self.proc.returncode}: {self.log.read_text(errors='replace')[-2000:]}"
                )
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"rag serve did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def run_configuration(
    *,
    clients: int,
    duration: float,
    ingest: int,
    embed_threads: int | None,
    seed_cache: Path,
    work: Path,
    cli_ingest: int = 0,
) -> LoadResult:
    """Seed a fresh data dir from ``corpus/`` (``rag ingest``, embedding cache ``seed_cache``), start
    ``rag serve`` on it (no embedding cache, so the concurrent ingest really embeds), warm it up,
    run the load, stop the server. cli_ingest: articles a ``rag ingest`` alongside tries to
    write into the same data dir (every 10 s)."""
    data = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "RAG_LLM": "none",
    }
    env.pop("RAG_CHROMA_URL", None)
    env.pop("RAG_API_KEY", None)
    if embed_threads:
        env["RAG_EMBED_THREADS"] = str(embed_threads)
    else:
        env.pop("RAG_EMBED_THREADS", None)
    seed = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(ROOT / "corpus"), "--json"],
        env={**env, "RAG_EMBED_CACHE": str(seed_cache)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if seed.returncode != 0:
        raise RuntimeError(f"seeding failed: {seed.stderr[-2000:]}")
    files = write_distractor_files(work / "distractors", ingest) if ingest else []
    cli = None
    if cli_ingest:
        cli_files = write_distractor_files(work / "cli", cli_ingest, per_file=cli_ingest, offset=NEWS_OFFSET + 5000)
        cli = ([sys.executable, "-m", "rag.cli", "ingest", *map(str, cli_files)], {**env, "RAG_EMBED_CACHE": "off"})
    server = Server(data, {**env, "RAG_EMBED_CACHE": "off"}, work / f"serve-{data.name}.log")
    try:
        server.wait()
        questions = load_questions()
        httpx.post(f"{server.url}/api/ask", json={"question": questions[0]}, timeout=120)  # warm-up, untimed
        res = asyncio.run(
            run_load(
                server.url,
                questions,
                clients=clients,
                duration=duration,
                server_pid=server.proc.pid,
                ingest_files=files,
                cli_ingest=cli,
            )
        )
        res.config["date_filtered_share"] = 1 / DATED_EVERY
    finally:
        server.stop()
    res.config = {
        **res.config,
        "embed_threads": embed_threads or "default (all cores)",
        "ingest_articles": ingest,
        "cli_ingest_articles": cli_ingest,
        "cpus": os.cpu_count(),
        "questions": len(load_questions()),
    }
    return res


def summary(res: LoadResult) -> str:
    ing = (
        (
            f"，导入 {res.ingest.get('articles', 0)} 篇/{res.ingest.get('chunks_added', 0)} 块用时 "
            f"{res.ingest.get('seconds', 0)} 秒（导入期间 p50 {res.during_ingest_p50_ms:.0f} ms，p95 "
            f"{res.during_ingest_p95_ms:.0f} ms）"
        )
        if res.ingest
        else ""
    )
    tries = res.cli_ingest.get("attempts", [])
    if tries:
        codes = sorted({a["exit"] for a in tries})
        ing += f"，命令行导入 {len(tries)} 次（退出码 {codes}：{tries[0]['said'][:60]}…）"
    return (
        f"线程 {res.config.get('embed_threads')}：{res.clients} 个客户端 {res.duration_s:.0f} 秒，请求 {res.requests}，"
        f"错误 {res.errors}，吞吐 {res.throughput_rps} 次/秒，p50 {res.p50_ms:.0f} ms，p95 {res.p95_ms:.0f} ms，"
        f"内存 {res.rss_start_mib}→{res.rss_end_mib} MiB（最高 {res.rss_max_mib}）{ing}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load per run")
    ap.add_argument(
        "--ingest",
        type=int,
        default=None,
        help="distractor articles uploaded during the run (default: one run without, one with 300)",
    )
    ap.add_argument(
        "--embed-threads", type=int, default=None, help="RAG_EMBED_THREADS of the server (default: all cores)"
    )
    ap.add_argument(
        "--cli-ingest",
        type=int,
        default=0,
        help="articles a `rag ingest` into the server's data dir tries to write every 10 s during the run",
    )
    ap.add_argument(
        "--matrix", action="store_true", help="embed threads default and 1, each without and with an ingest"
    )
    ap.add_argument(
        "--seed-cache",
        type=Path,
        default=ROOT / ".cache" / "embed_cache.sqlite",
        help="embedding cache used to seed corpus/ (the server itself runs without one)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write the results (a JSON list) here")
    args = ap.parse_args(argv)

    if args.matrix:
        plan = [(t, n) for t in (None, 1) for n in (0, 300)]
    elif args.ingest is None:
        plan = [(args.embed_threads, 0), (args.embed_threads, 300)]
    else:
        plan = [(args.embed_threads, args.ingest)]
    results = []
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        for threads, n in plan:
            res = run_configuration(
                clients=args.clients,
                duration=args.duration,
                ingest=n,
                embed_threads=threads,
                seed_cache=args.seed_cache,
                work=Path(tmp),
                cli_ingest=args.cli_ingest,
            )
            print(summary(res), file=sys.stderr, flush=True)
            print(json.dumps(res.to_dict(), ensure_ascii=False), flush=True)
            results.append(res.to_dict())
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
