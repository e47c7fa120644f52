"""Features of evidence sentences and candidate answers, for the learned scorer.

The features are the classic ones of answer extraction (IBM DeepQA's candidate scoring;
Ittycheriah et al. 2001, "IBM's statistical question answering system"; Moldovan et al. 2000):
how much of the question a sentence holds (IDF-weighted term coverage, character bigrams, the
question's names, its focus noun, its measure word, its time cues), where the sentence stands
(retrieval rank, position in the article, paragraph head), and for a candidate: its type against
the question's interrogative, its alignment with the question (the candidate stands where the
interrogative stands relative to the question's terms, and its neighbours are the interrogative's
neighbours), its distance to the question's terms, whether it repeats the question, how often
the evidence states it. Every value is a plain float; categories are small integers (the
model treats them as categories). How much each counts is learned (``eval/train_scorer.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analysis import KINDS, WH_CATEGORIES, Frame
from .candidates import TYPES, Candidate
from .evidence import Doc, Sentence
from .lexicon import Lexicon

WINDOW = 15  # characters either side of a candidate for its local coverage
ADJACENT = 3  # characters between a candidate and a question term next to it
CONTEXT = 4  # characters either side of the interrogative / candidate for context agreement

SENTENCE_FEATURES = (
    "kind",
    "wh",
    "s_cov",
    "s_cov_rel",
    "s_cov_win",
    "s_cov_head",
    "a_cov",
    "t_cov",
    "s_bigram",
    "s_trigram",
    "s_names",
    "win_names",
    "a_names",
    "a_names_missing",
    "s_focus",
    "a_focus",
    "s_measure",
    "s_cues",
    "s_len",
    "s_index",
    "s_para_first",
    "s_speech",
    "head_speaker",
    "rank",
    "doc_rank",
    "doc_dense",
    "s_cov_order",
    "q_unknown",
    "q_len",
    "s_terms",
    "s_spread",
    "doc_best_cov",
    "s_has_num",
    "s_has_date",
    "s_has_mark",
)
CANDIDATE_FEATURES = SENTENCE_FEATURES + (
    "s_prob",
    "s_prob_rel",
    "c_type",
    "c_len",
    "c_in_q",
    "c_exact_q",
    "c_is_q_name",
    "c_ctx_left",
    "c_ctx_right",
    "c_align",
    "c_prox",
    "c_near",
    "c_win_cov",
    "c_focus_adj",
    "c_focus_in",
    "c_unit",
    "c_has_unit",
    "c_freq",
    "c_in_title",
    "c_pos",
    "c_before_per",
    "c_after_colon",
    "c_cue_near",
    "c_sent_cands",
    "c_left_adj",
    "c_right_adj",
    "c_adj_order",
    "c_slot_left",
    "c_slot_right",
    "c_verb_slot",
    "c_role_before",
)
CATEGORICAL = ("kind", "wh", "c_type")


@dataclass
class QuestionView:
    """What features need of a question, computed once: its frame, the terms found in each
    sentence (term → offsets), its context bigrams around the interrogative."""

    frame: Frame
    lex: Lexicon
    left: set[str]
    right: set[str]
    bigrams: set[str]
    trigrams: set[str]
    bare: str

    @classmethod
    def of(cls, frame: Frame, lex: Lexicon) -> QuestionView:
        q = frame.text
        if frame.wh_start >= 0:
            left = _bigrams(q[max(0, frame.wh_start - CONTEXT) : frame.wh_start])
            right = _bigrams(q[frame.wh_end : frame.wh_end + CONTEXT].rstrip("？?。"))
            bare = q[: frame.wh_start] + q[frame.wh_end :]
        else:
            left, right, bare = set(), set(), q
        bare = bare.rstrip("？?。！!")
        return cls(frame, lex, left, right, _bigrams(bare), _trigrams(bare), bare)


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _coverage(frame: Frame, text: str) -> float:
    total = frame.total_weight
    return sum(w for t, w in frame.terms.items() if t in text) / total if total > 0 else 0.0


_NUM = re.compile(r"\d")
_DATE = re.compile(r"\d{1,4}[年月日号]|[上下]午|今年|去年|明年|日前|近日")
_MARK = re.compile(r"[“《「『\"]")


_MONTH = re.compile(r"^(\d{1,2})月份?$")


def _holds(ctx: str, name: str, doc: Doc) -> bool:
    """The article (``ctx``: title, text, byline) names ``name``; a month ("5月份") also holds
    when the article is dated in that month."""
    if name in ctx:
        return True
    m = _MONTH.match(name)
    return bool(m and doc.date[5:7] == f"{int(m.group(1)):02d}")


def _trigrams(s: str) -> set[str]:
    return {s[i : i + 3] for i in range(len(s) - 2)}


def sentence_features(qv: QuestionView, sents: list[Sentence], docs: list[Doc]) -> list[list[float]]:
    """One row of ``SENTENCE_FEATURES`` per sentence (same order as ``sents``)."""
    f, lex = qv.frame, qv.lex
    names = [n.text for n in f.names]
    speakers = [n.text for n in f.names if n.tag == "PER"]
    doc_ctx = [f"{d.title}\n{d.text}\n{d.author}" for d in docs]
    a_cov = [_coverage(f, c) for c in doc_ctx]
    t_cov = [_coverage(f, d.title) for d in docs]
    a_names = [sum(_holds(c, n, d) for n in names) / len(names) if names else -1.0 for c, d in zip(doc_ctx, docs)]
    a_missing = [sum(not _holds(c, n, d) for n in names) for c, d in zip(doc_ctx, docs)]
    a_focus = [(1.0 if f.focus in c else 0.0) if f.focus else -1.0 for c in doc_ctx]
    covs = [_coverage(f, s.text) for s in sents]
    doc_best = [0.0] * len(docs)
    for s, c in zip(sents, covs):
        doc_best[s.doc] = max(doc_best[s.doc], c)
    best = max(covs, default=0.0) or 1.0
    order = {i: r for r, i in enumerate(sorted(range(len(sents)), key=lambda i: -covs[i]))}
    unknown = f.unknown_share
    q_len = float(len(f.text))
    kind = float(KINDS.index(f.kind))
    wh = float(WH_CATEGORIES.index(f.wh))
    q_cues = [lex.cues[c] for c in sorted(f.cues)]
    rows = []
    for i, s in enumerate(sents):
        d = docs[s.doc]
        prev = sents[i - 1].text if i > 0 and sents[i - 1].doc == s.doc else ""
        nxt = sents[i + 1].text if i + 1 < len(sents) and sents[i + 1].doc == s.doc else ""
        win = prev + s.text + nxt
        head = sents[i - (s.index - s.para_first)].text if s.index >= s.para_first else s.text
        bg = _bigrams(s.text)
        hits = [p for p in (s.text.find(t) for t in f.terms) if p >= 0]
        rows.append(
            [
                kind,
                wh,
                covs[i],
                covs[i] / best,
                _coverage(f, win),
                _coverage(f, head),
                a_cov[s.doc],
                t_cov[s.doc],
                len(qv.bigrams & bg) / len(qv.bigrams) if qv.bigrams else 0.0,
                len(qv.trigrams & _trigrams(s.text)) / len(qv.trigrams) if qv.trigrams else 0.0,
                sum(n in s.text for n in names) / len(names) if names else -1.0,
                sum(n in win for n in names) / len(names) if names else -1.0,
                a_names[s.doc],
                float(a_missing[s.doc]),
                (1.0 if f.focus in s.text else 0.0) if f.focus else -1.0,
                a_focus[s.doc],
                (1.0 if f.measure in s.text else 0.0) if f.measure else -1.0,
                (sum(1 for rx in q_cues if rx.search(s.text)) / len(q_cues)) if q_cues else -1.0,
                float(len(s.text)),
                float(s.index),
                1.0 if s.index == s.para_first else 0.0,
                1.0 if lex.speech_verbs_re.search(s.text) else 0.0,
                1.0 if (speakers and any(p in head for p in speakers) and lex.speech_verbs_re.search(head)) else 0.0,
                float(min(s.rank, 20)),
                float(d.rank),
                d.dense,
                float(order[i]),
                unknown,
                q_len,
                float(len(hits)),
                (max(hits) - min(hits)) / max(1, len(s.text)) if len(hits) > 1 else 0.0,
                doc_best[s.doc],
                1.0 if _NUM.search(s.text) else 0.0,
                1.0 if _DATE.search(s.text) else 0.0,
                1.0 if _MARK.search(s.text) else 0.0,
            ]
        )
    return rows


def candidate_features(
    qv: QuestionView,
    cands: list[Candidate],
    sents: list[Sentence],
    docs: list[Doc],
    sent_rows: list[list[float]],
    s_prob: list[float],
) -> list[list[float]]:
    """One row of ``CANDIDATE_FEATURES`` per candidate: its sentence's row, the sentence
    model's probability for it (absolute and relative to the best sentence), then its own."""
    f, lex = qv.frame, qv.lex
    q = f.text
    q_names = {n.text for n in f.names}
    qchars = set(q)
    total = f.total_weight or 1.0
    all_text = [s.text for s in sents]
    cue_res = [lex.cues[c] for c in sorted(f.cues)]
    freq_cache: dict[str, int] = {}
    per_sent: dict[int, list[int]] = {}
    for k, c in enumerate(cands):
        per_sent.setdefault(c.sent, []).append(k)
    best_s = max(s_prob, default=0.0) or 1.0
    max_w = max(f.terms.values(), default=1.0) or 1.0
    # the question's verbs and which side of each the interrogative stands on ("由谁主持": before)
    verbs, p = [], 0
    for w, t in f.tagged:
        if t in ("v", "vn", "vd") and len(w) >= 2 and f.wh_start >= 0:
            verbs.append((w, 1 if f.wh_start < p else -1))
        p += len(w)
    q_left = _plain(q[: f.wh_start]) if f.wh_start >= 0 else ""
    q_right = _plain(q[f.wh_end :]) if f.wh_start >= 0 else ""
    rows = []
    for c in cands:
        s = sents[c.sent]
        text = s.text
        # where the question's terms stand in the sentence, relative to the candidate
        agree = prox = win_w = left_adj = right_adj = adj_order = 0.0
        near = 99.0
        for t, w in f.terms.items():
            p = text.find(t)
            if p < 0 or (c.start <= p < c.end):
                continue
            dist = (c.start - (p + len(t))) if p < c.start else (p - c.end)
            dist = max(0, dist)
            near = min(near, float(dist))
            prox += w / (1.0 + dist / 5.0)
            if dist <= WINDOW:
                win_w += w
            qp = f.term_pos.get(t, -1)
            q_side = (1 if f.wh_start > qp else -1) if (f.wh_start >= 0 and qp >= 0) else 0
            s_side = 1 if c.start > p else -1
            agree += w * q_side * s_side
            if dist <= ADJACENT:
                if s_side > 0:
                    left_adj = max(left_adj, w / max_w)
                else:
                    right_adj = max(right_adj, w / max_w)
                adj_order = max(adj_order, w / max_w * q_side * s_side)
        left = _bigrams(text[max(0, c.start - CONTEXT) : c.start])
        right = _bigrams(text[c.end : c.end + CONTEXT])
        ctx_l = len(qv.left & left) / len(qv.left) if qv.left else -1.0
        ctx_r = len(qv.right & right) / len(qv.right) if qv.right else -1.0
        if f.focus:
            around = text[max(0, c.start - 4) : c.start] + "|" + text[c.end : c.end + 4]
            focus_adj = 1.0 if (f.focus in around or f.focus[-2:] in around) else 0.0
            focus_in = 1.0 if (f.focus in c.text or c.text.endswith(f.focus[-1])) else 0.0
        else:
            focus_adj = focus_in = -1.0
        if c.text not in freq_cache:
            freq_cache[c.text] = sum(c.text in t for t in all_text)
        before_per = 0.0
        after = text[c.end : c.end + 4]
        if (
            c.type in ("NP", "ORG")
            and after
            and any(cands[j].type == "PER" and cands[j].start == c.end for j in per_sent.get(c.sent, ()))
        ):
            before_per = 1.0
        verb_slot = 0.0
        right, left = text[c.end : c.end + 8], text[max(0, c.start - 8) : c.start]
        for w, side in verbs:
            if (side > 0 and w in right[: len(w) + 2]) or (side < 0 and w in left[-len(w) - 2 :]):
                verb_slot = 1.0
            elif w in right[: len(w) + 2] or w in left[-len(w) - 2 :]:
                verb_slot = min(verb_slot, -1.0) if verb_slot <= 0 else verb_slot
        role_before = 0.0
        if c.type == "PER":
            role_before = float(
                any(cands[j].type == "NP" and cands[j].end == c.start for j in per_sent.get(c.sent, ()))
            )
        cue_near = -1.0
        if cue_res:
            ctx = text[max(0, c.start - 8) : c.end + 8]
            cue_near = sum(1 for rx in cue_res if rx.search(ctx)) / len(cue_res)
        rows.append(
            sent_rows[c.sent]
            + [
                s_prob[c.sent],
                s_prob[c.sent] / best_s,
                float(TYPES.index(c.type)),
                float(len(c.text)),
                sum(ch in qchars for ch in c.text) / len(c.text),
                1.0 if c.text in q else 0.0,
                1.0 if c.text in q_names else 0.0,
                ctx_l,
                ctx_r,
                agree / total,
                prox / total,
                near,
                win_w / total,
                focus_adj,
                focus_in,
                (1.0 if f.measure and (c.head == f.measure or c.text.endswith(f.measure)) else 0.0)
                if f.measure
                else -1.0,
                1.0 if c.head else 0.0,
                float(min(freq_cache[c.text], 10)),
                1.0 if c.text in docs[s.doc].title else 0.0,
                c.start / max(1, len(text)),
                before_per,
                1.0 if text[max(0, c.start - 1) : c.start] in ("：", ":", "为", "是") else 0.0,
                cue_near,
                float(len(per_sent[c.sent])),
                left_adj,
                right_adj,
                adj_order,
                float(_common_suffix(q_left, _plain(text[max(0, c.start - 12) : c.start]))),
                float(_common_prefix(q_right, _plain(text[c.end : c.end + 12]))),
                verb_slot,
                role_before,
            ]
        )
    return rows


_FILLER = re.compile(r"[的了是在为由被把将于向从对与和及，。、；：？！“”《》（）\s]")


def _plain(s: str) -> str:
    """Text without particles and punctuation (for slot alignment)."""
    return _FILLER.sub("", s)


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n
