"""The registry of answer kinds: each kind says how its answer is composed from a ``Reading``.

A kind module registers one ``Kind``; ``analysis.analyze`` names the kind of a question
(``Frame.kind``) and the answerer calls that kind's ``compose``. To add a kind of question: write
``kinds/<name>.py`` with a ``compose`` and a ``register(Kind(...))`` call, add it to the imports
at the end of this file and its cue words to ``lexicon.toml [kind]``, and give ``analysis._kind``
the rule that names it.

compose(reading, ctx) -> ``Draft`` or None (nothing to say: the answerer abstains).
"""

from __future__ import annotations

from . import author, description, events, factoid, listing, statements  # noqa: E402,F401  (they register)
from .registry import REGISTRY, Kind, kind_of, register

__all__ = ["REGISTRY", "Kind", "kind_of", "register"]
