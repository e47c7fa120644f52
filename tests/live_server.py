"""Helpers for tests that need a real HTTP server on loopback (gradio_client, OpenAI client,
browser): uvicorn in a thread on a port the OS picks, and a writable pipeline of its own.

Tests using these must allow loopback sockets: ``pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])``
(pytest-socket still blocks every other host).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from tests.conftest import CORPUS, make_settings


class LiveServer:
    """``with LiveServer(app) as srv: srv.url`` — uvicorn serving ``app`` on 127.0.0.1."""

    def __init__(self, app, host: str = "127.0.0.1"):
        self.app = app
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def private_settings_and_pipeline(data_dir: Path, embed_cache: Path, **overrides):
    """Settings and a pipeline with their own data dir (so uploads and deletions never touch
    the shared seed store). The seed corpus is ingested through the session's embedding
    cache, so nothing is embedded twice; only the small query model is loaded again."""
    from rag.settings import build_pipeline

    settings = make_settings(data_dir, embed_cache, **overrides)
    pipe = build_pipeline(settings)
    report = pipe.ingest([CORPUS])
    assert not report.errors, report.errors
    return settings, pipe
