"""The default answerer: extractive, cited, no LLM (see ``answerer.py``).

``analysis.py`` (answer type and constraints of a question), ``instances.py`` (values of an
answer type in a sentence), ``sentences.py`` (evidence sentences, windows, citations),
``answerer.py`` (``ExtractiveAnswerer``: evidence that satisfies the constraints, answer
first, abstentions that say what the archive holds).
"""

from .answerer import ABSTAIN_MESSAGE, ABSTAIN_THRESHOLD, ArchiveLookup, ExtractiveAnswerer, question_types
from .sentences import make_citation

__all__ = [
    "ABSTAIN_MESSAGE",
    "ABSTAIN_THRESHOLD",
    "ArchiveLookup",
    "ExtractiveAnswerer",
    "make_citation",
    "question_types",
]
