"""The default answerer: extractive, cited, no LLM; candidates scored by learned models and a
calibrated abstention (``answerer.py`` shows the whole path).

``analysis.py`` (what a question asks), ``evidence.py`` (the passages' articles and sentences),
``tagger.py`` (LAC: words, POS, names), ``candidates.py`` (candidate values), ``features.py`` and
``scorer.py`` (the learned models in ``model/``), ``kinds/`` (one module per answer kind: how its
answer is composed), ``compose.py`` (citations), ``lexicon.toml`` (every word list).
"""

from .analysis import question_kind
from .answerer import ExtractiveAnswerer
from .compose import ABSTAIN_MESSAGE
from .evidence import ArchiveLookup, make_citation
from .lexicon import load_lexicon


def question_types(question: str) -> set[str]:
    """``{kind}`` of a question (see ``analysis.question_kind``): the pipeline reads twice as many
    passages for an ``events`` question."""
    return {question_kind(question, load_lexicon())}


__all__ = ["ABSTAIN_MESSAGE", "ArchiveLookup", "ExtractiveAnswerer", "make_citation", "question_kind", "question_types"]
