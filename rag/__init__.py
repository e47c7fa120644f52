"""County news archive question answering: parse → chunk → embed → Chroma → hybrid retrieval → cited answer."""

__version__ = "0.1.0"
