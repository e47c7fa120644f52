"""What the staff chat shows: its CSS, its page script, and the HTML of its messages.

Everything that comes from the archive or from a user (titles, quotes, answers, file names,
questions) goes through ``esc`` (``html.escape``) before it goes into a message: article text
is shown as text, never rendered or run. Gradio's own sanitizer is a second layer only.

An answer is shown one point per line (``rag.answer.citations.answer_lines``: the ``Answer``
text itself has no line breaks); its ``[n]`` markers are links (``PAGE_JS``) that open source
``n`` and scroll to it; each source is one article, and opening it shows every passage quoted
with the quoted sentences marked.
"""

from __future__ import annotations

import html
import re

from rag.answer.citations import answer_lines
from rag.types import Answer, Citation

ABSTAIN_HEADING = "档案中没有找到答案"

# System fonts only: the page must render on an intranet without reaching any font CDN.
SANS = [
    "system-ui",
    "-apple-system",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "sans-serif",
]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Noto Sans Mono CJK SC", "monospace"]

CSS = """
.rag-standalone { color: #8a8f98; font-size: 0.8em; margin-bottom: 0.35em; }
.rag-pending { color: #8a8f98; }
.rag-answer { line-height: 1.75; }
.rag-line + .rag-line { margin-top: 0.3em; }
.rag-ref { color: #2563eb; font-size: 0.75em; margin: 0 1px; cursor: pointer; text-decoration: none; }
.rag-ref:hover, .rag-ref:focus { text-decoration: underline; }
.rag-abstain { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f; padding: 0.5em 0.75em; border-radius: 4px; }
.rag-abstain-head { font-weight: 600; margin-bottom: 0.25em; }
.rag-error { border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d; padding: 0.5em 0.75em; border-radius: 4px; }
.rag-ok { border-left: 4px solid #16a34a; background: #f0fdf4; color: #14532d; padding: 0.5em 0.75em; border-radius: 4px; }
/* marks drawn with CSS (a round badge with an ASCII "!", a rotated border as a tick): no emoji font needed */
.rag-abstain-head::before, .rag-error::before { content: "!"; display: inline-block; width: 1.25em; height: 1.25em;
  line-height: 1.25em; border-radius: 50%; text-align: center; font-weight: 700; color: #fff; margin-right: 0.4em; }
.rag-abstain-head::before { background: #d97706; }
.rag-error::before { background: #dc2626; }
.rag-ok::before { content: ""; display: inline-block; width: 0.35em; height: 0.75em; margin: 0 0.6em 0.1em 0.2em;
  border: solid #16a34a; border-width: 0 0.18em 0.18em 0; transform: rotate(45deg); }
.rag-notice { color: #92400e; font-size: 0.85em; margin-top: 0.4em; }
.rag-sources { margin-top: 0.75em; border-top: 1px solid #e5e7eb; padding-top: 0.4em; font-size: 0.9em; }
.rag-sources-head { color: #6b7280; font-size: 0.85em; margin-bottom: 0.2em; }
.rag-source summary { cursor: pointer; }
.rag-source.rag-flash > summary { background: #dbeafe; border-radius: 3px; }
.rag-count { color: #6b7280; font-size: 0.85em; }
.rag-quote { color: #374151; background: #f9fafb; border-left: 3px solid #d1d5db; padding: 0.4em 0.6em; margin: 0.3em 0 0.5em; white-space: pre-wrap; }
.rag-quote mark.rag-hl { background: #fde68a; color: #111827; padding: 0 1px; border-radius: 2px; }
#feedback { align-items: center; gap: 0.5em; }
/* Gradio writes its notices' titles ("Error", "Warning", "Info") in English whatever the locale */
.toast-title { visibility: hidden; font-size: 0; }
.toast-title::before { visibility: visible; font-size: var(--text-md); }
.toast-title.error::before { content: "错误"; }
.toast-title.warning::before { content: "注意"; }
.toast-title.info::before, .toast-title.success::before { content: "提示"; }
.rag-file { color: #9ca3af; font-size: 0.8em; }
"""

# The page script (in <head>, before Gradio's own code runs):
# 1. Gradio picks its language from navigator.language and falls back to English: the staff chat
#    is Chinese in any browser, so the browser's language is reported as zh-CN to it.
# 2. Gradio's upload box writes two messages in English in every language (a file type it does
#    not accept; a file over the size limit): they are rewritten in Chinese as they appear.
# 3. [n] in an answer opens source n of the same answer (the one whose summary starts with "[n]":
#    Gradio's sanitizer keeps no data attributes) and scrolls to it.
# 4. Login (RAG_API_KEY_ALL): an empty user name is sent as "工作人员" (the key alone decides),
#    and the "凭据不正确" of a failed try is hidden once the user types again.
PAGE_JS = """<script>
(() => {
  try {
    Object.defineProperty(navigator, 'language', {get: () => 'zh-CN'});
    Object.defineProperty(navigator, 'languages', {get: () => ['zh-CN', 'zh']});
  } catch (e) {}
  const list = s => s.split(/,\\s*/).join('、');
  const RULES = [
    [/^Invalid file types?: (.+?)\\. Only (.+) allowed\\.?$/s,
     m => `不支持的文件类型：${m[1]}。只能上传 ${list(m[2])} 文件。`],
    [/^File\\(s\\) exceed the maximum allowed size of ([\\d.]+) ?(\\w+): (.+)$/s,
     m => `文件太大：${m[3].replace(/"/g, '')} 超过了上传上限 ${m[1]} ${m[2].replace(/^Mb$/, 'MB').replace(/^Kb$/, 'KB')}，请拆分后再上传。`],
  ];
  const translate = node => {
    for (const el of node.querySelectorAll ? node.querySelectorAll('[data-testid="toast-text"], .toast-text') : []) {
      const text = el.textContent.trim();
      for (const [re, fn] of RULES) {
        const m = text.match(re);
        if (m) el.textContent = fn(m);
      }
    }
  };
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => translate(n.parentNode || n))))
    .observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('click', ev => {
    const ref = ev.target.closest && ev.target.closest('.rag-ref');
    if (!ref) return;
    ev.preventDefault();
    const msg = ref.closest('.rag-message') || ref.closest('.message') || document;
    const src = [...msg.querySelectorAll('.rag-source')]
      .find(d => d.querySelector('summary')?.textContent.startsWith(ref.textContent.trim()));
    if (!src) return;
    src.open = true;  // then its title to the top of the chat, once laid out (and again after the chat's own scrolling)
    const go = () => src.querySelector('summary').scrollIntoView({block: 'start'});
    setTimeout(go, 50);
    setTimeout(go, 400);
    src.classList.add('rag-flash');
    setTimeout(() => src.classList.remove('rag-flash'), 1200);
  });
  const send = window.fetch;
  window.fetch = async (input, init) => {
    const url = String(input && input.url || input);
    const login = /\\/login\\/?$/.test(url.split('?')[0]) && init && init.body instanceof FormData;
    if (login && !String(init.body.get('username') || '').trim()) init.body.set('username', '工作人员');
    const r = await send(input, init);
    if (login && r.status === 400) setTimeout(() => document.querySelectorAll('p.creds').forEach(p => p.style.display = ''), 0);
    return r;
  };
  document.addEventListener('input', () => document.querySelectorAll('p.creds').forEach(p => p.style.display = 'none'), true);
})();
</script>"""


# -- rendering (every dynamic string goes through esc) -----------------------------------------------
def esc(text: str | None) -> str:
    """HTML-escape text for a chat message; newlines become ``<br>`` so a message never
    contains a blank line (which would end its HTML block and let Markdown parse the rest)."""
    return html.escape(text or "", quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def _marked(text: str) -> str:
    """Escaped answer text one point per line (``answer_lines``), its ``[n]`` markers as links
    to their source (``rag-ref``, handled by ``PAGE_JS``)."""
    lines = [re.sub(r"\[(\d+)\]", r'<a class="rag-ref">[\1]</a>', esc(line)) for line in answer_lines(text)]
    return "".join(f'<div class="rag-line">{line}</div>' for line in lines)


def render_pending(text: str = "") -> str:
    if not text:
        return '<div class="rag-pending">正在检索档案…</div>'
    return f'<div class="rag-answer">{_marked(text)}</div>'


def _highlighted(text: str, base: int, spans) -> str:
    """``text`` (article offsets from ``base``) with ``spans`` in ``<mark class="rag-hl">``,
    merged when adjacent; every piece of text escaped separately."""
    merged: list[list[int]] = []
    for s, e in sorted((max(s - base, 0), min(e - base, len(text))) for s, e in spans):
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out.append(f'{esc(text[pos:s])}<mark class="rag-hl">{esc(text[s:e])}</mark>')
        pos = e
    return "".join(out) + esc(text[pos:])


def render_passage(c: Citation) -> str:
    """The passages of a citation (``passages``, or its one ``passage``), each in a
    ``rag-quote`` box with the quoted sentences in ``<mark class="rag-hl">``.

    Marks: ``c.highlights`` (article offsets; the quote's ``start``/``end`` when there are none
    and the quote is not the whole passage). Without a passage (an answer from before the field
    existed), the quote alone is shown.
    """
    passages = c.passages or (
        [{"start": c.passage_start, "end": c.passage_end, "text": c.passage}] if c.passage else []
    )
    if not passages:
        return f'<div class="rag-quote">{esc(c.quote)}</div>'
    spans = [tuple(h) for h in c.highlights]
    if not spans and (c.start, c.end) != (c.passage_start, c.passage_end) and not c.passages:
        spans = [(c.start, c.end)]
    boxes = []
    for p in passages:
        inside = [h for h in spans if h[0] < p["end"] and h[1] > p["start"]]
        boxes.append(f'<div class="rag-quote">{_highlighted(p["text"], p["start"], inside)}</div>')
    return "".join(boxes)


def render_answer(answer: Answer) -> str:
    """The final assistant message: standalone question (when rewritten), the answer one point
    per line or a distinct abstention, a notice, and the sources, one per article, each opening
    on its passages with the quoted sentences highlighted (``render_passage``)."""
    parts = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f'<div class="rag-standalone">按“{esc(answer.standalone_question)}”检索</div>')
    if answer.abstained:
        parts.append(
            f'<div class="rag-abstain"><div class="rag-abstain-head">{ABSTAIN_HEADING}</div>{esc(answer.text)}</div>'
        )
    else:
        parts.append(f'<div class="rag-answer">{_marked(answer.text)}</div>')
    if answer.notice:
        parts.append(f'<div class="rag-notice">{esc(answer.notice)}</div>')
    if answer.citations:
        items = []
        for c in answer.citations:
            meta = " · ".join(esc(x) for x in (c.date, c.author) if x)
            count = f' <span class="rag-count">（引用 {len(c.quotes)} 处）</span>' if len(c.quotes) > 1 else ""
            items.append(
                f'<details class="rag-source"><summary>[{c.n}] 《{esc(c.title)}》'
                f"{' ' + meta if meta else ''}{count}</summary>{render_passage(c)}"
                f'<div class="rag-file">文件：{esc(c.source)}</div></details>'
            )
        parts.append(
            f'<div class="rag-sources"><div class="rag-sources-head">来源（{len(items)}）</div>{"".join(items)}</div>'
        )
    return f'<div class="rag-message">{"".join(parts)}</div>'


def render_error(message: str) -> str:
    return f'<div class="rag-error">{esc(message)}</div>'


def render_status(message: str, ok: bool = True) -> str:
    """A status line (green tick or red mark) with ``message`` escaped."""
    return f'<div class="{"rag-ok" if ok else "rag-error"}">{esc(message)}</div>'
