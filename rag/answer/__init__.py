"""Answerers: extractive (default, no LLM) and LLM-written with verified citations.

Both return ``rag.types.Answer``; ``condense`` rewrites follow-ups into standalone questions.
"""
