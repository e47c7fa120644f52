"""Re-embedding a collection after an embedder change (``rag reindex``)."""

from __future__ import annotations

import unicodedata
import uuid

from .store import chroma_name


def reindex_collection(client, name: str, embedder, batch: int = 256) -> int:
    """Re-embed every chunk of collection ``name`` with ``embedder`` (after a model change).

    The old collection is read whatever embedder built it; a new one is filled beside it
    and then takes its name, so an interrupted reindex leaves the old one intact. ``name``: as
    staff write it (mapped by :func:`chroma_name`). Returns the number of chunks written.
    """
    display = unicodedata.normalize("NFC", name.strip())
    name = chroma_name(name)
    try:
        old = client.get_collection(name, embedding_function=None)
    except Exception:  # noqa: BLE001 - nothing to reindex
        return 0
    tmp_name = f"{name}__reindex"
    try:
        client.delete_collection(tmp_name)
    except Exception:  # noqa: BLE001 - no leftover from an earlier attempt
        pass
    tmp = client.create_collection(
        tmp_name,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={
            "embedder": embedder.id,
            "dim": embedder.dim,
            "display_name": display,
            "generation": uuid.uuid4().hex,
        },
        embedding_function=None,
    )
    n, offset = 0, 0
    while True:
        res = old.get(include=["documents", "metadatas"], limit=batch, offset=offset)
        if not res["ids"]:
            break
        texts = [
            f"{m.get('title', '')}\n{d}" if m.get("title") else d for d, m in zip(res["documents"], res["metadatas"])
        ]
        tmp.upsert(
            ids=res["ids"],
            documents=res["documents"],
            metadatas=[{**(m or {}), "dense": 1} for m in res["metadatas"]],
            embeddings=embedder.embed_documents(texts),
        )
        n += len(res["ids"])
        offset += batch
    client.delete_collection(name)
    tmp.modify(name=name)
    return n
