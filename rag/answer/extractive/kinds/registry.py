"""The registry of answer kinds (see the package docstring)."""

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
