"""LLM-written answers with verified citations, as LangChain runnables.

    question + history ─condense─▶ standalone ─(Pipeline: retrieve)─▶ passages
    passages ─extractive answer─▶ gate + selected sentences
             ─prompt (token budget)─▶ chat model ─▶ draft ─verify─▶ Answer

The extractive answer comes first: when it abstains the model is not called (same
abstentions as the default path), and the sentences it selected go into the prompt first
(``rag.answer.prompt``: sources trimmed to ``context_tokens``, rules never cut). The model
writes from numbered, delimited sources; ``rag.answer.verify`` checks every sentence
against the source it cites, re-attributes a sentence found verbatim in another source,
drops what it cannot find and renumbers the citations.

The LLM never makes the product worse than no LLM: when the model fails (context too long,
model not found, timeout, unreachable, cut off mid-answer, empty output) or nothing of its
answer survives verification, the extractive answer comes back with ``Answer.notice`` saying
what happened and ``Answer.notice_code`` naming it (``rag.errors.LLMError``).

The chat model is any LangChain ``BaseChatModel`` (``rag.chat_models.make_chat_model`` builds
ChatOpenAI or ChatOllama; tests pass ``GenericFakeChatModel`` or a real llama.cpp server).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from ..chat_models import classify_error
from ..errors import LLMError
from ..types import Answer, ScoredChunk
from .condense import condense as rule_condense
from .extractive import ExtractiveAnswerer, make_citation
from .prompt import (  # noqa: F401 - re-exported: the prompt is part of this module's contract
    CONDENSE_PROMPT,
    DEFAULT_CONTEXT_TOKENS,
    SYSTEM_PROMPT,
    Prompt,
    build_messages,
    build_prompt,
    neutralise,
    verification_text,
)
from .verify import SUPPORT_THRESHOLD, Verified, complete_sentences, is_abstention, settled_prefix, verify_answer

logger = logging.getLogger(__name__)

DROPPED_NOTICE = "大模型回答中有 {n} 句无法在引用的原文中核实，已删去。"
DROPPED_CODE = "llm_sentences_dropped"


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)


def strip_reasoning(text: str) -> str:
    """Remove ``<think>…</think>`` blocks (DeepSeek-R1, Qwen3 served without a reasoning
    parser put their reasoning in the content); an unclosed block runs to the end."""
    return _THINK.sub("", text or "")


class LLMAnswerer:
    """Answers written by a chat model from the retrieved passages, every citation verified.

    model: a LangChain chat model (``rag.chat_models.make_chat_model``).
    fallback: the extractive answerer: the evidence gate, the prompt's selected sentences,
        and the answer whenever the model's cannot be used.
    tokenize: the pipeline's keyword tokenizer (content terms for verification).
    key_terms: person and place names checked exactly by the verifier (corpus dictionary).
    known_people: names preferred by the rule-based condense fallback.
    gate: when True, abstain without calling the model when the extractive answerer
        abstains (same abstentions as the default path; no model call for questions the
        archive cannot answer).
    threshold: verifier support threshold (``rag.answer.verify.SUPPORT_THRESHOLD``).
    context_tokens: the server's context window in tokens; the prompt is fitted to it minus
        ``answer_tokens(context_tokens)`` for the answer (``rag.answer.prompt``).
    provider / model_name / base_url: shown by ``describe()`` (never the API key) and in
        the model-not-found notice.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        fallback: ExtractiveAnswerer,
        tokenize: Callable[[str], list[str]],
        key_terms: Iterable[str] = (),
        known_people: Iterable[str] = (),
        gate: bool = True,
        threshold: float = SUPPORT_THRESHOLD,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        provider: str = "",
        model_name: str = "",
        base_url: str | None = None,
    ):
        self.model = model
        self.fallback = fallback
        self.tokenize = tokenize
        self.key_terms = frozenset(key_terms)
        self.known_people = frozenset(known_people)
        self.gate = gate
        self.threshold = threshold
        self.context_tokens = int(context_tokens)
        self.provider, self.model_name, self.base_url = provider, model_name, base_url
        parser = StrOutputParser()
        # messages -> AIMessage (text and usage_metadata)
        self.generate: Runnable = model
        # {"question", "history"} -> standalone question text
        self.rewrite: Runnable = RunnableLambda(self._condense_messages, name="condense_prompt") | model | parser

    # -- description -------------------------------------------------------------------------
    def describe(self) -> dict:
        """``{"provider", "model", "base_url"}`` for health pages: never the API key, and any
        ``user:password@`` in the URL is removed."""
        url = re.sub(r"//[^/@]*@", "//", self.base_url) if self.base_url else self.base_url
        return {"provider": self.provider, "model": self.model_name, "base_url": url}

    # -- condense ------------------------------------------------------------------------------
    def _condense_messages(self, inp: dict) -> list[BaseMessage]:
        turns = "\n".join(f"{i}. {neutralise(h)}" for i, h in enumerate(inp["history"], 1))
        return [
            SystemMessage(CONDENSE_PROMPT),
            HumanMessage(f"之前的提问：\n{turns}\n最后的问题：{neutralise(inp['question'])}"),
        ]

    def condense(self, question: str, history: Sequence[str]) -> str:
        """Standalone form of ``question`` given earlier user turns (oldest first).

        No history: the question itself, no model call. Otherwise the model rewrites it; a
        failed call or junk output (see ``clean_rewrite``) falls back to the rule-based
        ``rag.answer.condense.condense``.
        """
        hist = [h for h in history if h and h.strip()]
        if not hist:
            return question
        try:
            out = self.rewrite.invoke({"question": question, "history": hist})
        except Exception as exc:  # noqa: BLE001 - any model failure means "use the rules"
            logger.warning("LLM condense failed, using rules: %s", exc)
            out = ""
        cleaned = clean_rewrite(out, question, hist)
        return cleaned or rule_condense(question, hist, self.known_people)

    # -- answer --------------------------------------------------------------------------------
    def prompt(self, standalone: str, passages: Sequence[ScoredChunk], base: Answer | None = None) -> Prompt:
        """The prompt for ``standalone``: sources fitted to ``context_tokens``, the sentences
        ``base`` (the extractive answer) cites first."""
        selected = [
            (c.article_id, s, e)
            for c in (base.citations if base else [])
            for s, e in (c.highlights or [[c.start, c.end]])
        ]
        return build_prompt(standalone, passages, context_tokens=self.context_tokens, selected=selected)

    def _start(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> tuple[Answer, Prompt | None]:
        """The extractive answer, and the prompt (None: gated, do not call the model)."""
        base = self.fallback.answer(question, standalone, passages)
        if not passages or (self.gate and base.abstained):
            return base, None
        return base, self.prompt(standalone, passages, base)

    def answer(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Answer:
        """Answer ``standalone`` from ``passages`` (retrieval order) through the model.

        Returns an ``Answer`` like the extractive one: ``[n]`` markers numbered in order of
        first use, citations for exactly those sources, ``usage`` with the prompt's token
        counts and ``timings_ms["llm_ms"]``. The extractive answer (an abstention only where
        the extractive answerer abstains) with a notice and ``notice_code`` when the model
        fails or nothing it wrote survives verification (``rag.errors.LLMError``).
        """
        base, prompt = self._start(question, standalone, passages)
        if prompt is None:
            return base
        t0 = time.perf_counter()
        msg = None
        try:
            if not prompt.sources:
                raise LLMError("llm_context_too_long")
            msg = self.generate.invoke(prompt.messages)
            ans = self.finish(
                question, standalone, passages, msg.text, base=base, prompt=prompt, truncated=_truncated(msg)
            )
        except Exception as exc:  # noqa: BLE001 - every model failure falls back, with its reason
            ans = self.fallback_answer(base, exc)
        return self._measured(ans, prompt, msg, t0)

    def answer_stream(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Iterator[str | Answer]:
        """Yield the answer in pieces as the model writes it, then one final ``Answer``.

        Only verified text is ever yielded: each sentence is checked (and renumbered) once
        it is complete, so the pieces are a prefix of the final text, and a client that
        cannot take text back (an OpenAI-style stream) never shows an unverified sentence.
        The final Answer is the same as ``answer()`` returns for the same draft; when the
        model fails or nothing verifies, it is the extractive fallback with its notice (a
        client replaces what it showed with the final text).
        """
        base, prompt = self._start(question, standalone, passages)
        if prompt is None:
            yield base.text
            yield base
            return
        t0 = time.perf_counter()
        msg = None
        draft = shown = checked = ""
        try:
            if not prompt.sources:
                raise LLMError("llm_context_too_long")
            for chunk in self.generate.stream(prompt.messages):
                msg = chunk if msg is None else msg + chunk
                draft += chunk.text
                settled = settled_prefix(strip_reasoning(draft))
                if len(settled) > len(checked):
                    checked = settled
                    text = self.verify(settled, prompt).text
                    if len(text) > len(shown) and text.startswith(shown):
                        yield text[len(shown) :]
                        shown = text
            ans = self.finish(
                question, standalone, passages, draft, base=base, prompt=prompt, truncated=_truncated(msg)
            )
        except Exception as exc:  # noqa: BLE001 - any model failure falls back
            if shown:  # verified sentences were shown: they stay, with a notice that the answer is cut off
                err = classify_error(exc, model=self.model_name)
                logger.warning("LLM answer cut off (%s) after verified sentences: %r", err.code, exc)
                ans = self.finish(question, standalone, passages, checked, base=base, prompt=prompt)
                ans.notice, ans.notice_code = err.partial_notice(), err.code
            else:
                ans = self.fallback_answer(base, exc)
        yield self._measured(ans, prompt, msg, t0)

    @staticmethod
    def _measured(ans: Answer, prompt: Prompt, msg, t0: float) -> Answer:
        """Add ``llm_ms`` and the token counts (the server's, when it reported them)."""
        ans.timings_ms["llm_ms"] = (time.perf_counter() - t0) * 1000
        usage = {"prompt_tokens_est": prompt.tokens}
        meta = getattr(msg, "usage_metadata", None) or {}
        if meta.get("input_tokens"):
            usage["prompt_tokens"] = int(meta["input_tokens"])
        if meta.get("output_tokens"):
            usage["completion_tokens"] = int(meta["output_tokens"])
        ans.usage = usage
        return ans

    def fallback_answer(self, base: Answer, error: BaseException) -> Answer:
        """``base`` (the extractive answer) with the notice and code of ``error``
        (``rag.chat_models.classify_error``)."""
        err = classify_error(error, model=self.model_name)
        logger.warning("LLM answer not used (%s), falling back to extractive: %r", err.code, error)
        return replace(base, timings_ms=dict(base.timings_ms), notice=err.message, notice_code=err.code)

    def verify(self, draft: str, prompt: Prompt) -> Verified:
        """Verify ``draft`` against the prompt's sources (see ``rag.answer.verify``)."""
        sources = [verification_text(s.chunk, s.text) for s in prompt.sources]
        groups = [s.chunk.article_id for s in prompt.sources]  # one number per article
        return verify_answer(
            draft, sources, self.tokenize, key_terms=self.key_terms, threshold=self.threshold, groups=groups
        )

    def finish(
        self,
        question: str,
        standalone: str,
        passages: Sequence[ScoredChunk],
        draft: str,
        *,
        base: Answer,
        prompt: Prompt,
        truncated: bool = False,
    ) -> Answer:
        """Turn a draft into the final Answer.

        truncated: the model stopped at ``max_tokens``; its unfinished last sentence is cut.
        raises LLMError: ``llm_empty`` (no text), ``llm_unverified`` (no sentence survived)
            or ``llm_abstained`` (the model abstained): the caller falls back to ``base``.
            When ``base`` abstains too, the abstention is returned instead.
        """
        draft = strip_reasoning(draft)
        if truncated:
            draft = complete_sentences(draft)
        if not draft.strip():
            raise LLMError("llm_empty")
        t0 = time.perf_counter()
        v = self.verify(draft, prompt)
        timings = {"verify_ms": (time.perf_counter() - t0) * 1000}
        if v.abstained:
            if base.abstained:
                return replace(base, timings_ms=timings)
            raise LLMError("llm_abstained" if v.model_abstained or is_abstention(draft) else "llm_unverified")
        citations = [make_citation(n, passages[prompt.sources[idx].passage]) for n, idx in zip(v.numbers, v.sources)]
        n = len(v.dropped)
        notice, code = (DROPPED_NOTICE.format(n=n), DROPPED_CODE) if n else ("", "")
        return Answer(question, standalone, v.text, False, citations, timings, notice, code)


def _truncated(msg) -> bool:
    """True when the model stopped because it reached ``max_tokens`` (OpenAI-compatible
    ``finish_reason``, Ollama ``done_reason``)."""
    meta = getattr(msg, "response_metadata", None) or {}
    return "length" in (meta.get("finish_reason"), meta.get("done_reason"))


def clean_rewrite(text: str, question: str, history: Sequence[str], max_chars: int = 200) -> str:
    """The model's standalone question, or "" when it is junk.

    Kept: the first non-empty line, without a "改写后的问题：" label or quotes. Junk: empty;
    longer than ``max_chars`` or three times the question plus the last turn; an answer
    (citation markers, the abstention phrase); mostly new words: under 80 % of its Han
    characters occur in the question or the history (a rewrite only moves words around); or
    a different question: under 60 % of the question's own Han characters, pronouns and
    "这次/该…" aside, are in it (a tiny model echoes the earlier turn, "县里召开了招商引资工作
    推进会议" for "这次会议由谁主持？").
    """
    line = next((ln.strip() for ln in strip_reasoning(text).splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:改写后(?:的问题)?|完整问题|问题|standalone question)\s*[:：]\s*", "", line, flags=re.I)
    line = line.strip().strip("\"'“”‘’「」『』").strip()
    if not line:
        return ""
    limit = min(max_chars, 3 * (len(question) + len(history[-1] if history else "")) + 20)
    if len(line) > limit or re.search(r"[\[［【]\d+[\]］】]", line) or is_abstention(line):
        return ""
    han = re.findall(r"[\u4e00-\u9fff]", line)
    context = set("".join([question, *history]))
    if not han or sum(ch in context for ch in han) / len(han) < 0.8:
        return ""
    own = re.findall(r"[\u4e00-\u9fff]", _DEICTIC.sub("", question))
    if own and sum(ch in line for ch in own) / len(own) < 0.6:
        return ""
    return line


_DEICTIC = re.compile(r"这次|那次|这个|那个|这些|那些|这位|那位|上述|他们|她们|[该此他她它]")


def describe_answerer(answerer) -> dict:
    """``describe()`` of an LLM answerer, or ``{"provider": "none", ...}`` for the extractive one."""
    d = getattr(answerer, "describe", None)
    return d() if callable(d) else {"provider": "none", "model": None, "base_url": None}
