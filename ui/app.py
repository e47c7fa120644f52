"""Staff chat (Gradio 6 Blocks), mounted at ``/`` of the API server by ``ui.server.create_server``.

Two tabs: 问答 (streaming cited answers, follow-up questions, filters) and 文档管理 (upload,
list, delete). A thin layer over the same ``Pipeline`` as the CLI and the HTTP API.

Everything that comes from the archive or from a user (titles, quotes, answers, file names,
questions) is escaped with ``html.escape`` before it goes into a message: article text is
shown as text, never rendered or run. Gradio's own sanitizer is a second layer only.
"""

from __future__ import annotations

import html
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from rag.service import (INTERNAL_ERROR_MESSAGE, UPLOAD_SUFFIXES, PipelineHolder, check_upload_suffix,
                         delete_document, ingest_upload, key_matches, make_filters, normalise_upload_name,
                         parse_year, report_notes, too_large_error)
from rag.errors import RagError
from rag.settings import Settings
from rag.stream import ask_stream
from rag.types import Answer

log = logging.getLogger("rag.ui")

TITLE = "县域新闻档案问答"
EXAMPLES = [
    "县长在招商引资工作推进会议上强调了什么？",
    "李晓军5月份调研了哪些地方？",
    "调研组到了哪些学校？",
    "一季度经济运行分析会是哪天召开的？",
]
ABSTAIN_HEADING = "⚠️ 档案中没有找到答案"
# Pacing of streamed pieces: the extractive answer arrives all at once, so its pieces are
# spaced to make the answer visibly build up; a piece that took longer to arrive (an LLM
# token) is never delayed, and the added pauses of one answer never exceed PACING_CAP_S.
PIECE_DELAY_S = 0.02
PACING_CAP_S = 0.8

# System fonts only: the page must render on an intranet without reaching any font CDN.
SANS = ["system-ui", "-apple-system", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC",
        "Source Han Sans SC", "WenQuanYi Micro Hei", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Noto Sans Mono CJK SC", "monospace"]

CSS = """
.rag-standalone { color: #8a8f98; font-size: 0.8em; margin-bottom: 0.35em; }
.rag-pending { color: #8a8f98; }
.rag-answer { line-height: 1.75; }
.rag-ref { color: #2563eb; font-size: 0.75em; margin: 0 1px; }
.rag-abstain { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f; padding: 0.5em 0.75em; border-radius: 4px; }
.rag-abstain-head { font-weight: 600; margin-bottom: 0.25em; }
.rag-error { border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d; padding: 0.5em 0.75em; border-radius: 4px; }
.rag-notice { color: #92400e; font-size: 0.85em; margin-top: 0.4em; }
.rag-sources { margin-top: 0.75em; border-top: 1px solid #e5e7eb; padding-top: 0.4em; font-size: 0.9em; }
.rag-sources-head { color: #6b7280; font-size: 0.85em; margin-bottom: 0.2em; }
.rag-source summary { cursor: pointer; }
.rag-quote { color: #374151; background: #f9fafb; border-left: 3px solid #d1d5db; padding: 0.4em 0.6em; margin: 0.3em 0 0.5em; white-space: pre-wrap; }
.rag-file { color: #9ca3af; font-size: 0.8em; }
"""


# -- rendering (every dynamic string goes through esc) -----------------------------------------------
def esc(text: str | None) -> str:
    """HTML-escape text for a chat message; newlines become ``<br>`` so a message never
    contains a blank line (which would end its HTML block and let Markdown parse the rest)."""
    return html.escape(text or "", quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def _marked(text: str) -> str:
    """Escaped answer text with its ``[n]`` markers styled as references."""
    return re.sub(r"\[(\d+)\]", r'<sup class="rag-ref">[\1]</sup>', esc(text))


def render_pending(text: str = "") -> str:
    if not text:
        return '<div class="rag-pending">正在检索档案…</div>'
    return f'<div class="rag-answer">{_marked(text)}</div>'


def render_answer(answer: Answer) -> str:
    """The final assistant message: standalone question (when rewritten), the answer or a
    distinct abstention, a notice, and the numbered sources with their quoted passages."""
    parts = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f'<div class="rag-standalone">按“{esc(answer.standalone_question)}”检索</div>')
    if answer.abstained:
        parts.append(f'<div class="rag-abstain"><div class="rag-abstain-head">{ABSTAIN_HEADING}</div>'
                     f'{esc(answer.text)}</div>')
    else:
        parts.append(f'<div class="rag-answer">{_marked(answer.text)}</div>')
    if answer.notice:
        parts.append(f'<div class="rag-notice">{esc(answer.notice)}</div>')
    if answer.citations:
        items = []
        for c in answer.citations:
            meta = " · ".join(esc(x) for x in (c.date, c.author) if x)
            items.append(
                f'<details class="rag-source"><summary>[{c.n}] 《{esc(c.title)}》'
                f'{" " + meta if meta else ""}</summary>'
                f'<div class="rag-quote">{esc(c.quote)}</div>'
                f'<div class="rag-file">文件：{esc(c.source)}</div></details>'
            )
        parts.append(f'<div class="rag-sources"><div class="rag-sources-head">来源（{len(items)}）</div>'
                     f'{"".join(items)}</div>')
    return "".join(parts)


def render_error(message: str) -> str:
    return f'<div class="rag-error">❌ {esc(message)}</div>'


def _status(message: str, ok: bool = True) -> str:
    return f'<div class="{"rag-ok" if ok else "rag-error"}">{"✅" if ok else "❌"} {esc(message)}</div>'


# -- chat -----------------------------------------------------------------------------------------
def _text_of(content: Any) -> str:
    """Text of a Chatbot message content: a string, a text part, or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "".join(_text_of(p) for p in content)
    return ""


def _plain_messages(history: list | None) -> list[dict]:
    """Chatbot history as ``{"role", "content": str}`` dicts (Gradio may hand us parts lists)."""
    out = []
    for m in history or []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
            out.append({"role": m["role"], "content": _text_of(m.get("content"))})
    return out


def user_turns(history: list[dict]) -> list[str]:
    """Earlier user questions, oldest first, as typed (the stored message is escaped)."""
    return [html.unescape(m["content"]).strip() for m in history if m["role"] == "user" and m["content"].strip()]


def make_chat_fn(holder: PipelineHolder, settings: Settings, delay: float = PIECE_DELAY_S):
    def chat(message: str, history: list[dict] | None = None, top_k: int = settings.top_k, date_from: str = "",
             date_to: str = "") -> Iterator[list[dict]]:
        """Answer a question in a chat. history: the chat so far as ``{"role", "content"}``
        messages (earlier user turns are used to resolve follow-up questions). top_k: passages
        retrieved (1–20); date_from / date_to: YYYY-MM-DD or "". Yields the whole chat after
        each streamed piece; the last yield's assistant message carries the numbered sources
        (HTML, every archive text escaped)."""
        messages = _plain_messages(history)
        question = (message or "").strip()
        if not question:
            gr.Warning("请输入问题。")
            yield messages
            return
        prior = user_turns(messages)
        messages = messages + [{"role": "user", "content": esc(question)},
                               {"role": "assistant", "content": render_pending()}]
        yield messages
        try:
            filters = make_filters(date_from, date_to)
            pipe = holder.get()
            streamed, final, paused = "", None, 0.0
            stream = ask_stream(pipe, question, prior, top_k=int(top_k or settings.top_k), filters=filters)
            try:
                last = time.monotonic()
                for item in stream:
                    if isinstance(item, Answer):
                        final = item
                        break
                    pause = min(delay - (time.monotonic() - last), PACING_CAP_S - paused)
                    if pause > 0:
                        time.sleep(pause)
                        paused += pause
                    streamed += item
                    messages[-1] = {"role": "assistant", "content": render_pending(streamed)}
                    yield messages
                    last = time.monotonic()
            finally:
                stream.close()
            if final is None:
                raise RuntimeError("answer stream ended without an Answer")
            messages[-1] = {"role": "assistant", "content": render_answer(final)}
        except RagError as exc:
            messages[-1] = {"role": "assistant", "content": render_error(exc.message)}
        except Exception:  # noqa: BLE001 - staff see a plain message; the traceback goes to the log
            log.exception("chat failed")
            messages[-1] = {"role": "assistant", "content": render_error(INTERNAL_ERROR_MESSAGE)}
        yield messages

    return chat


# -- documents ------------------------------------------------------------------------------------
def _doc_rows(holder: PipelineHolder) -> tuple[list[list], list[str], str]:
    """(table rows, document names, status): the status is an error message when the store
    is unavailable."""
    try:
        docs = holder.get().documents()
    except RagError as exc:
        return [], [], _status(exc.message, ok=False)
    rows = [[d.source, d.articles, d.chunks, "；".join(d.titles[:3]) + ("…" if len(d.titles) > 3 else "")]
            for d in docs]
    total = f"共 {len(docs)} 个文档，{sum(d.articles for d in docs)} 篇文章，{sum(d.chunks for d in docs)} 个文本块。"
    return rows, [d.source for d in docs], esc(total)


def _check_ui_key(settings: Settings, key: str | None) -> None:
    if settings.api_key and not key_matches(key or None, settings.api_key):
        raise RagError("管理密钥不正确：上传和删除文档需要填写 RAG_API_KEY。", code="forbidden", status=403)


def _report_text(name: str, r) -> str:
    text = (f"已导入 {name}：文章 {r.articles} 篇（重复 {r.duplicates} 篇）；文本块 新增 {r.added}，"
            f"更新 {r.updated}，未变 {r.unchanged}，删除 {r.removed}。")
    for line in [e["message"] for e in r.errors] + report_notes(r):
        text += f"\n⚠️ {line}"
    return text


def make_doc_fns(holder: PipelineHolder, settings: Settings):
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)

    def refresh():
        rows, names, status = _doc_rows(holder)
        return rows, gr.Dropdown(choices=names, value=None), status

    def upload(path: str | None, key: str, year: str = ""):
        if not path:
            return (None, *refresh())
        try:
            _check_ui_key(settings, key)
            name = normalise_upload_name(Path(path).name)
            check_upload_suffix(name)
            if Path(path).stat().st_size > max_bytes:
                raise too_large_error(settings.max_upload_mb)
            report = ingest_upload(holder, Path(path), name, parse_year(year))
            ok = bool(report.articles + report.duplicates) or not report.errors
            status = _status(_report_text(name, report), ok=ok)
        except RagError as exc:
            status = _status(exc.message, ok=False)
        except Exception:  # noqa: BLE001
            log.exception("upload failed")
            status = _status(INTERNAL_ERROR_MESSAGE, ok=False)
        finally:
            try:
                os.unlink(path)  # Gradio's cached copy; the archive keeps only the chunks
            except OSError:
                pass
        rows, dropdown, listing = refresh()
        return None, rows, dropdown, f"{status}{listing}"

    def delete(name: str | None, key: str):
        if not name:
            rows, dropdown, listing = refresh()
            return rows, dropdown, _status("请先选择要删除的文档。", ok=False) + listing
        try:
            _check_ui_key(settings, key)
            n = delete_document(holder, name)
            status = _status(f"已删除 {name}（{n} 个文本块）。")
        except RagError as exc:
            status = _status(exc.message, ok=False)
        except Exception:  # noqa: BLE001
            log.exception("delete failed")
            status = _status(INTERNAL_ERROR_MESSAGE, ok=False)
        rows, dropdown, listing = refresh()
        return rows, dropdown, f"{status}{listing}"

    return refresh, upload, delete


# -- the app ----------------------------------------------------------------------------------------
def build_ui(holder: PipelineHolder, settings: Settings, *, piece_delay: float = PIECE_DELAY_S) -> gr.Blocks:
    """The Blocks app. Named API endpoint: ``/chat`` (message, history as role/content
    messages, top_k, date_from, date_to → the chat with the new answer)."""
    chat = make_chat_fn(holder, settings, piece_delay)
    refresh, upload, delete = make_doc_fns(holder, settings)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"## {TITLE}\n答案摘自本县新闻档案，每句后的 [n] 对应下方来源；档案里没有的内容会明确说明。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chatbot = gr.Chatbot(
                    label="对话", elem_id="chat", height=560, sanitize_html=True, render_markdown=True,
                    latex_delimiters=[], line_breaks=False, feedback_options=None, buttons=["copy"],
                    placeholder="在下方输入问题，例如“县长在招商引资工作推进会议上强调了什么？”",
                )
                with gr.Row():
                    msg = gr.Textbox(show_label=False, placeholder="输入问题，按回车发送", elem_id="question",
                                     scale=8, max_lines=4, autofocus=True)
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="send")
                    new = gr.Button("新对话", scale=1, min_width=80, elem_id="new-chat")
                with gr.Accordion("筛选条件", open=False):
                    with gr.Row():
                        date_from = gr.Textbox("", label="起始日期", placeholder="YYYY-MM-DD，如 2024-05-01")
                        date_to = gr.Textbox("", label="截止日期", placeholder="YYYY-MM-DD")
                        top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="来源数量（检索段落数）")
                gr.Examples(EXAMPLES, inputs=[msg], label="示例问题")

            with gr.Tab("文档管理", id="docs") as docs_tab:
                gr.Markdown(f"支持 {'、'.join(UPLOAD_SUFFIXES)}，单个文件不超过 {settings.max_upload_mb:g} MB。"
                            "同一文件重复上传不会产生重复内容；内容相同、文件名不同的文件不会重复导入，并会提示已有的文档名。")
                key = gr.Textbox(label="管理密钥（RAG_API_KEY）", type="password", visible=bool(settings.api_key))
                year = gr.Textbox("", label="年份（可选）", placeholder="导语只有月日时使用的年份，如 2024；请在选择文件前填写",
                                  elem_id="upload-year", max_lines=1)
                upload_box = gr.File(label="上传文件", file_types=list(UPLOAD_SUFFIXES), file_count="single",
                                     elem_id="upload")
                status = gr.Markdown(elem_id="doc-status")
                table = gr.Dataframe(headers=["文档", "文章数", "文本块数", "文章标题"],
                                     datatype=["str", "number", "number", "str"], interactive=False,
                                     elem_id="doc-table", wrap=True)
                with gr.Row():
                    pick = gr.Dropdown(label="要删除的文档", choices=[], scale=4)
                    remove = gr.Button("删除所选文档", variant="stop", scale=1)
                    reload = gr.Button("刷新列表", scale=1)

        # the UI's events are private; the same function is the public "/chat" endpoint with
        # plain role/content history (the Chatbot component would demand its parts-list form)
        gr.api(chat, api_name="chat", concurrency_limit=8, concurrency_id="chat")
        # Sending moves the question into a hidden box and empties the input in the browser
        # (no round trip, so a slow server can never wipe a question typed meanwhile); the
        # answer then streams from the hidden box's value.
        asked = gr.Textbox(visible=False)
        answering = []
        for trigger in (msg.submit, send.click):
            take = trigger(None, [msg], [msg, asked], js="(q) => ['', q]", queue=False, api_visibility="private")
            answering.append(take.then(chat, [asked, chatbot, top_k, date_from, date_to], chatbot,
                                       api_visibility="private", concurrency_limit=8, concurrency_id="chat"))
        new.click(lambda: ([], ""), None, [chatbot, msg], cancels=answering, queue=False, api_visibility="private")

        docs_tab.select(refresh, None, [table, pick, status], api_visibility="private")
        reload.click(refresh, None, [table, pick, status], api_visibility="private")
        upload_box.upload(upload, [upload_box, key, year], [upload_box, table, pick, status], api_visibility="private")
        remove.click(delete, [pick, key], [table, pick, status], api_visibility="private")
    return demo


def mount_ui(app, holder: PipelineHolder, settings: Settings, path: str = "/"):
    """Mount the chat on a FastAPI app (after its own routes). System fonts only; uploads
    capped at ``settings.max_upload_mb``; with ``RAG_API_KEY_ALL`` the page asks for the key
    (any user name, the key as password)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    theme = gr.themes.Default(font=SANS, font_mono=MONO)
    auth = None
    if settings.api_key and settings.api_key_all:
        key = settings.api_key
        auth = lambda _user, password: key_matches(password or "", key)  # noqa: E731
    return gr.mount_gradio_app(
        app, build_ui(holder, settings), path=path, theme=theme, css=CSS,
        max_file_size=f"{int(settings.max_upload_mb * 1024)}kb", ssr_mode=False, footer_links=["api"],
        auth=auth, auth_message="请输入访问密钥（用户名任意，密码为 RAG_API_KEY）。",
    )
