"""The registry of answer kinds: each kind says how its answer is composed from a ``Reading``.

A kind module registers one ``Kind``; ``analysis.analyze`` names the kind of a question
(``Frame.kind``) and the answerer calls that kind's ``compose``. To add a kind of question: write
``kinds/<name>.py`` with a ``compose`` and a ``register(Kind(...))`` call, add it to the imports
at the end of this file and its cue words to ``lexicon.toml [kind]``, and give ``analysis._kind``
the rule that names it.

compose(reading, ctx) -> ``Draft`` or None (nothing to say: the answerer abstains).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """An answer kind. name: the ``Frame.kind`` it answers. values: True when its candidates are
    values scored by the candidate model (a factoid), False when they are whole sentences scored
    by the sentence model."""

    name: str
    compose: Callable
    values: bool = False


REGISTRY: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind`` to the registry (a later registration of the same name replaces it)."""
    REGISTRY[kind.name] = kind
    return kind


def kind_of(name: str) -> Kind:
    """The registered kind ``name`` (``description`` for an unknown name)."""
    return REGISTRY.get(name) or REGISTRY["description"]


from . import author, description, events, factoid, listing, statements  # noqa: E402,F401  (they register)
