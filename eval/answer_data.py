"""Questions with their retrieved evidence, the input of the answer step's training and
validation (``eval/train_scorer.py``).

Every gold set of ``eval/datasets/`` and the third-party ``crud-dev`` set is asked through the
pipeline's own retrieval (``Pipeline.prepare``: condense, normalise, hybrid retrieval) on an
index of its corpus plus 300 distractor articles, as ``rag eval`` builds it. The indexes stay in
``.cache/answer-index/<group>/`` (built once, embeddings from the shared embedding cache) and
each question's standalone form, passages and whole evidence articles are kept in
``.cache/answer-data/<set>.pkl``, so that fitting and measuring the answer step never
re-retrieves.

Each item knows its part of the split by article (``eval/split.py``).
"""

from __future__ import annotations

import json
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rag.settings import PROJECT_DIR, Settings, build_pipeline
from rag.types import Chunk, ScoredChunk

from .distractors import DEFAULT_DISTRACTORS
from .runner import DEFAULT_CACHE, build_index, load_dataset
from .split import split_of

CACHE = PROJECT_DIR / ".cache"
DATASETS = PROJECT_DIR / "eval" / "datasets"
CRUD_DIR = DEFAULT_DISTRACTORS.parent.parent / "crud-dev"
N_DISTRACTORS = 300

#: index group -> corpus (file or folder)
GROUPS: dict[str, Path] = {
    "county": PROJECT_DIR / "corpus",
    "news_dev": DATASETS / "news_dev_corpus.jsonl",
    "heldout_news": DATASETS / "heldout_news_corpus.jsonl",
    "heldout2_news": DATASETS / "heldout2_news_corpus.jsonl",
    "heldout3_news": DATASETS / "heldout3_news_corpus.jsonl",
    "crud_dev": CRUD_DIR / "crud_dev_corpus.jsonl",
}
#: set name -> (dataset file, index group)
SETS: dict[str, tuple[Path, str]] = {
    "dev": (DATASETS / "dev.jsonl", "county"),
    "heldout": (DATASETS / "heldout.jsonl", "county"),
    "heldout2": (DATASETS / "heldout2.jsonl", "county"),
    "heldout3": (DATASETS / "heldout3.jsonl", "county"),
    "test": (DATASETS / "test.jsonl", "county"),
    "news_dev": (DATASETS / "news_dev.jsonl", "news_dev"),
    "heldout_news": (DATASETS / "heldout_news.jsonl", "heldout_news"),
    "heldout2_news": (DATASETS / "heldout2_news.jsonl", "heldout2_news"),
    "heldout3_news": (DATASETS / "heldout3_news.jsonl", "heldout3_news"),
    "crud_dev": (CRUD_DIR / "crud_dev.jsonl", "crud_dev"),
}


@dataclass
class Item:
    """One gold question with what retrieval gave the answerer.

    gold: the dataset line (``id, question, history, facts, min_facts, articles, kind, subkind``).
    standalone: the question as searched (after condensing and normalisation).
    passages: the retrieved passages, best first (what ``Pipeline.ask`` hands the answerer).
    articles: ``{article_id: its chunks in order}`` for the passages' articles.
    """

    set: str
    gold: dict
    question: str
    standalone: str
    passages: list[ScoredChunk]
    articles: dict[str, list[Chunk]] = field(default_factory=dict)

    @property
    def split(self) -> str:
        """``"train"`` or ``"val"`` (see the module docstring)."""
        return split_of(self.gold)


class _Lookup:
    """``ArchiveLookup`` over the cached articles of one question."""

    def __init__(self, articles: dict[str, list[Chunk]]):
        self.articles = articles

    def article_chunks(self, article_ids):
        return {a: self.articles[a] for a in article_ids if a in self.articles}

    def by_author(self, author: str):
        return []


def lookup_for(item: Item) -> _Lookup:
    """An ``ArchiveLookup`` answering from the item's cached articles only."""
    return _Lookup(item.articles)


def open_group(group: str, *, progress: bool = True):
    """The pipeline over ``group``'s corpus + distractors, built in ``.cache/answer-index`` the
    first time (embeddings from ``.cache/embed_cache.sqlite``), opened as it is afterwards."""
    data_dir = CACHE / "answer-index" / group
    settings = Settings().with_overrides(data_dir=data_dir, embed_cache=str(DEFAULT_CACHE))
    done = data_dir / "built.json"
    if done.exists():
        return build_pipeline(settings)
    if data_dir.exists():
        import shutil

        shutil.rmtree(data_dir)
    pipe, info = build_index(settings, GROUPS[group], n_distractors=N_DISTRACTORS, progress=progress)
    done.write_text(json.dumps(info, ensure_ascii=False))
    return pipe


def corpus_day(pipe) -> str | None:
    """The day a gold set's questions are asked on (``eval.runner.build_index``'s ``as_of``): the
    date of the index's latest article, so that their 今年/去年 mean what their writer meant."""
    return max((c.date for c in pipe.store.iter_chunks() if c.date), default="") or None


def build_set(name: str, pipe, *, top_k: int = 5, as_of: str | None = None) -> list[Item]:
    """Retrieve for every question of set ``name`` through ``pipe`` and cache the items."""
    path, _group = SETS[name]
    items = []  # built from the dataset file
    for q in load_dataset(path):
        _q, standalone, passages, _t, _period = pipe.prepare(
            q["question"], q.get("history") or [], top_k, None, as_of=q.get("as_of") or as_of
        )
        ids = list(dict.fromkeys(p.chunk.article_id for p in passages))
        articles = pipe.extractive.lookup.article_chunks(ids) if ids else {}
        items.append(Item(name, q, q["question"], standalone, passages, articles))
    return _save(items, name)


def build_false_premises(name: str, pipe, *, top_k: int = 5, seed: int = 7, as_of: str | None = None) -> list[Item]:
    """Unanswerable questions made from the training part of set ``name``: in an answerable
    question, one name (a person, place, organisation or time the tagger finds) is replaced by
    another name of the same tag taken from the set's other questions and absent from the gold
    article — the false premise of SQuAD 2.0-style negatives (Rajpurkar et al. 2018). Only the
    training part is used, so the validation part stays as written. Cached as ``<name>_fp``."""
    import random

    rng = random.Random(f"{seed}:{name}")
    tagger = pipe.extractive.tagger
    items = [it for it in load_set(name) if it.split == "train" and it.gold.get("kind") != "unanswerable"]
    pool: dict[str, list[str]] = {}
    named = []
    for it in items:
        names = [
            (w, t) for w, t in tagger.tag([it.standalone])[0] if t in ("PER", "LOC", "ORG", "TIME") and len(w) >= 2
        ]
        named.append((it, names))
        for w, t in names:
            pool.setdefault(t, []).append(w)
    out = []
    for it, names in named:
        if not names:
            continue
        gold_text = "".join(c.text for cs in it.articles.values() for c in cs)
        word, tag = rng.choice(names)
        options = sorted({w for w in pool[tag] if w != word and w not in gold_text and word not in w and w not in word})
        if not options:
            continue
        q = it.standalone.replace(word, rng.choice(options), 1)
        out.append(_unanswerable(pipe, it, q, "fp", "false_premise", top_k, as_of))
    return _save(out, f"{name}_fp")


def build_unstated(name: str, pipe, *, top_k: int = 5, seed: int = 11, as_of: str | None = None) -> list[Item]:
    """Unanswerable questions of the unstated-attribute kind, from the training part of set
    ``name``: an answerable question's focus noun (what its interrogative asks about: 什么**奖项**,
    哪个**品牌**) is replaced by the focus of another question of the set whose last character
    the gold article never uses — the article still discusses the thing, but never states that.
    Cached as ``<name>_ua``."""
    import random

    from rag.answer.extractive.lexicon import load_lexicon

    rng = random.Random(f"{seed}:{name}")
    ex = pipe.extractive
    items = [it for it in load_set(name) if it.split == "train" and it.gold.get("kind") not in ("unanswerable",)]
    frames = [(it, ex.analyze(it.standalone)) for it in items]
    foci = sorted({f.focus for _, f in frames if len(f.focus) >= 2})
    generic = load_lexicon().generic
    out = []
    for it, f in frames:
        if len(f.focus) < 2 or f.focus in generic or f.focus not in it.standalone:
            continue
        gold_text = "".join(c.title + c.text for cs in it.articles.values() for c in cs)
        options = [x for x in foci if x != f.focus and x[-1] not in gold_text and x not in generic]
        if not options:
            continue
        q = it.standalone.replace(f.focus, rng.choice(options), 1)
        out.append(_unanswerable(pipe, it, q, "ua", "unstated_attribute", top_k, as_of))
    return _save(out, f"{name}_ua")


def _unanswerable(pipe, it: Item, q: str, suffix: str, subkind: str, top_k: int, as_of: str | None) -> Item:
    """The synthetic unanswerable question ``q`` made from ``it`` (set ``<it.set>_<suffix>``),
    with what the pipeline retrieves for it; split with its source question's article."""
    _q, standalone, passages, _t, _period = pipe.prepare(q, [], top_k, None, as_of=as_of)
    ids = list(dict.fromkeys(p.chunk.article_id for p in passages))
    articles = pipe.extractive.lookup.article_chunks(ids) if ids else {}
    gold = {
        "id": f"{it.gold['id']}-{suffix}",
        "question": q,
        "facts": [],
        "articles": [],
        "kind": "unanswerable",
        "subkind": subkind,
        "near_article": (it.gold.get("articles") or [it.gold["id"]])[0],
        "synthetic": True,
    }
    return Item(f"{it.set}_{suffix}", gold, q, standalone, passages, articles)


def _save(items: list[Item], name: str) -> list[Item]:
    """Cache ``items`` as ``.cache/answer-data/<name>.pkl``; returns them."""
    (CACHE / "answer-data").mkdir(parents=True, exist_ok=True)
    with open(CACHE / "answer-data" / f"{name}.pkl", "wb") as fh:
        pickle.dump(items, fh)
    return items


def load_set(name: str) -> list[Item]:
    """The cached items of set ``name`` (build them first with ``python -m eval.answer_data``).

    raises FileNotFoundError: not built yet.
    """
    with open(CACHE / "answer-data" / f"{name}.pkl", "rb") as f:
        return _Unpickler(f).load()


class _Unpickler(pickle.Unpickler):
    """Items pickled by ``python -m eval.answer_data`` name their class ``__main__.Item``."""

    def find_class(self, module, name):
        if module == "__main__" and name == "Item":
            return Item
        return super().find_class(module, name)


def main(argv: list[str] | None = None) -> None:
    """``python -m eval.answer_data [SET ...]``: build the indexes and item caches (all sets
    by default), and the false-premise questions of each set's training part (``<set>_fp``)."""
    names = (argv if argv is not None else sys.argv[1:]) or list(SETS)
    by_group: dict[str, list[str]] = {}
    for n in names:
        by_group.setdefault(SETS[n][1], []).append(n)
    for group, members in by_group.items():
        print(f"== {group}: {', '.join(members)}", file=sys.stderr, flush=True)
        pipe = open_group(group)
        day = corpus_day(pipe)
        for n in members:
            items = build_set(n, pipe, as_of=day)
            fps = build_false_premises(n, pipe, as_of=day)
            uas = build_unstated(n, pipe, as_of=day)
            print(
                f"   {n}: {len(items)} questions, {len(fps)} false premises, {len(uas)} unstated attributes",
                file=sys.stderr,
                flush=True,
            )
        pipe.store.close() if hasattr(pipe.store, "close") else None


if __name__ == "__main__":
    main()
