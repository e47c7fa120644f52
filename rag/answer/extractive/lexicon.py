"""The answer step's word lists (``lexicon.toml``), read once and compiled."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("lexicon.toml")


def _alternation(words) -> re.Pattern:
    """A regex matching any of ``words``, longest first."""
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


@dataclass(frozen=True)
class Lexicon:
    """The compiled lists of ``lexicon.toml`` (see its comments for what each list is)."""

    wh: dict[str, tuple[str, ...]]
    wh_re: re.Pattern  # any interrogative
    wh_category: dict[str, str]  # interrogative -> category
    list_re: re.Pattern
    speech_re: re.Pattern  # a speech verb followed by what is said ("强调了什么")
    speech_verbs_re: re.Pattern
    events_re: re.Pattern
    author_re: re.Pattern
    author_list_re: re.Pattern
    units: tuple[str, ...]
    unit_re: re.Pattern
    cues: dict[str, re.Pattern]
    scaffold: frozenset[str]
    entity_tags: frozenset[str]
    noun_tags: frozenset[str]
    content_tags: frozenset[str]
    generic: frozenset[str]


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and compile ``lexicon.toml`` (cached per path).

    raises OSError / tomllib.TOMLDecodeError: a missing or malformed file.
    """
    with open(path, "rb") as f:
        d = tomllib.load(f)
    wh = {k: tuple(v) for k, v in d["wh"].items()}
    category = {w: k for k, words in wh.items() for w in words}
    k = d["kind"]
    verbs = _alternation(k["speech_verbs"]).pattern
    objects = _alternation(k["speech_objects"]).pattern
    return Lexicon(
        wh=wh,
        wh_re=_alternation(category),
        wh_category=category,
        list_re=_alternation(k["list"]),
        speech_re=re.compile(rf"(?:{verbs})(?:了|过|的|些)?(?:{objects})"),
        speech_verbs_re=re.compile(verbs),
        events_re=_alternation(k["events"]),
        author_re=_alternation(k["author"]),
        author_list_re=_alternation(k["author_list"]),
        units=tuple(sorted(set(d["measure"]["units"]), key=len, reverse=True)),
        unit_re=_alternation(d["measure"]["units"]),
        cues={name: _alternation(words) for name, words in d["cues"].items()},
        scaffold=frozenset(d["scaffold"]["words"]),
        entity_tags=frozenset(d["tags"]["entity"]),
        noun_tags=frozenset(d["tags"]["noun"]),
        content_tags=frozenset(d["tags"]["content"]),
        generic=frozenset(d["abstain"]["generic"]),
    )
