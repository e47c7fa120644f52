"""Staff chat (Gradio 6 Blocks), mounted at ``/`` of the API server by ``ui.server.create_server``.

Two tabs: 问答 (streaming cited answers, follow-up questions, filters, 有用 / 有误 feedback on
each answer) and 文档管理 (upload, list, delete after a confirmation). A thin layer over the
same ``Pipeline`` as the CLI and the HTTP API; feedback goes to ``rag.feedback``.

What a message looks like (escaping, one point per line, sources per article, the page
script that makes ``[n]`` open its source) is ``ui.render``.

Every visible string is Chinese, in any browser (Gradio's own strings come from its zh-CN
translations, completed by ``I18N``; ``PAGE_JS`` makes Gradio use them whatever the browser's
language and rewrites the upload box's two English messages); status marks are CSS, not emoji
(servers and older office PCs often have no emoji font).
"""

from __future__ import annotations

import html
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.api.middleware import KEY_COOKIE
from rag.errors import RagError
from rag.feedback import VOTES, FeedbackStore, make_feedback
from rag.service import (
    INTERNAL_ERROR_MESSAGE,
    UPLOAD_SUFFIXES,
    PipelineHolder,
    check_upload_suffix,
    correct_article,
    delete_document,
    ingest_upload,
    key_matches,
    make_filters,
    normalise_upload_name,
    parse_year,
    report_notes,
    too_large_error,
)
from rag.settings import Settings
from rag.stream import ask_stream
from rag.types import Answer

from .access import UPLOAD_NOT_RECEIVED, check_ui_key, claim_upload, client_of, unlock_upload
from .render import CSS, MONO, SANS, esc, render_answer, render_error, render_pending, render_status

log = logging.getLogger("rag.ui")

TITLE = "县域新闻档案问答"
EXAMPLES = [
    "县长在招商引资工作推进会议上强调了什么？",
    "李晓军5月份调研了哪些地方？",
    "调研组到了哪些学校？",
    "一季度经济运行分析会是哪天召开的？",
]
UPLOAD_ROUTE = "/gradio_api/upload"  # Gradio's own upload route: ui.server puts it behind the key rule
# Gradio keeps uploads in its temp folder: every DELETE_CACHE[0] s, files older than
# DELETE_CACHE[1] s are deleted (and all of them at shutdown); an ingested upload is deleted at once.
DELETE_CACHE = (600, 900)
# Pacing of streamed pieces: the extractive answer arrives all at once, so its pieces are
# spaced to make the answer visibly build up; a piece that took longer to arrive (an LLM
# token) is never delayed, and the added pauses of one answer never exceed PACING_CAP_S.
PIECE_DELAY_S = 0.02
PACING_CAP_S = 0.8


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


def chat_turns(history: list[dict]) -> list[dict]:
    """The conversation for ``Pipeline.ask``: user questions as typed and the assistant's
    answers as plain text (``answer_text``), as ``{"role", "content"}`` messages, oldest first."""
    out = []
    for m in history:
        text = html.unescape(m["content"]).strip() if m["role"] == "user" else answer_text(m["content"])
        if text:
            out.append({"role": m["role"], "content": text})
    return out


def answer_text(content: str) -> str:
    """The answer of an assistant message as plain text: the answer or abstention block of a
    ``render_answer`` message (without the rewritten question, notice and sources), the text
    of any other message; "" for an error or a pending message."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content or "", "html.parser")
    if soup.select_one(".rag-error, .rag-pending"):
        return ""
    block = soup.select_one(".rag-answer") or soup.select_one(".rag-abstain")
    if block is None:
        return soup.get_text().strip()
    for head in block.select(".rag-abstain-head"):
        head.decompose()
    return block.get_text().strip()


def make_turn_fn(holder: PipelineHolder, settings: Settings, delay: float = PIECE_DELAY_S):
    """``turn(message, history, top_k, date_from, date_to)``: one chat turn as a generator of
    ``(messages, answer)``: the whole chat after each streamed piece with ``answer`` None, and
    last the chat with the final message and its ``Answer`` (None when the turn failed:
    the last message is then a red error line)."""

    def turn(
        message: str, history: list | None, top_k: int, date_from: str, date_to: str
    ) -> Iterator[tuple[list[dict], Answer | None]]:
        messages = _plain_messages(history)
        question = (message or "").strip()
        if not question:  # nothing asked: the chat stays as it is
            yield messages, None
            return
        prior = chat_turns(messages)
        messages = messages + [
            {"role": "user", "content": esc(question)},
            {"role": "assistant", "content": render_pending()},
        ]
        yield messages, None
        final = None
        try:
            filters = make_filters(date_from, date_to)
            pipe = holder.get()
            streamed, paused = "", 0.0
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
                    yield messages, None
                    last = time.monotonic()
            finally:
                stream.close()
            if final is None:
                raise RuntimeError("answer stream ended without an Answer")
            messages[-1] = {"role": "assistant", "content": render_answer(final)}
        except RagError as exc:
            final = None
            messages[-1] = {"role": "assistant", "content": render_error(exc.message)}
        except Exception:  # noqa: BLE001 - staff see a plain message; the traceback goes to the log
            final = None
            log.exception("chat failed")
            messages[-1] = {"role": "assistant", "content": render_error(INTERNAL_ERROR_MESSAGE)}
        yield messages, final

    return turn


def make_chat_fn(holder: PipelineHolder, settings: Settings, delay: float = PIECE_DELAY_S):
    turn = make_turn_fn(holder, settings, delay)

    def chat(
        message: str,
        history: list[dict] | None = None,
        top_k: int = settings.top_k,
        date_from: str = "",
        date_to: str = "",
    ) -> Iterator[list[dict]]:
        """Answer a question in a chat. history: the chat so far as ``{"role", "content"}``
        messages (earlier questions and answers resolve follow-up questions). top_k: passages
        retrieved (1–20); date_from / date_to: YYYY-MM-DD or "". Yields the whole chat after
        each streamed piece; the last yield's assistant message carries the numbered sources
        (HTML, every archive text escaped)."""
        for messages, _answer in turn(message, history, top_k, date_from, date_to):
            yield messages

    return chat


# -- feedback -------------------------------------------------------------------------------------
def make_feedback_fn(settings: Settings):
    """``give(vote, comment, last) -> (last, status html)``: store the chat's vote on the latest
    answer (``last``: ``{"answer": Answer.to_dict(), "history": [...], "id", "vote"}`` kept in
    the session) in ``settings.feedback_path``. A second vote or an added comment on the same
    answer replaces the first record (same id). ``vote`` None re-saves the comment with the
    vote already given."""
    store = FeedbackStore(settings.feedback_path)

    def give(vote: str | None, comment: str, last: dict | None):
        vote = vote or (last or {}).get("vote")
        if not last or not vote:
            return last, render_status("请先点击“有用”或“有误”。" if last else "请先提问，再评价回答。", ok=False)
        try:
            fb = store.add(
                make_feedback(
                    last["answer"], vote, comment=comment, history=last["history"], channel="chat", id=last.get("id")
                )
            )
        except RagError as exc:
            return last, render_status(exc.message, ok=False)
        thanks = "谢谢！这个问题会交给评测人员补充标准答案。" if vote == "wrong" else "谢谢！"
        more = "" if fb.comment else "可在右侧补充说明后按回车保存。"
        return {**last, "id": fb.id, "vote": vote}, render_status(f"已记录：{VOTES[vote]}。{thanks}{more}")

    return give


# -- documents ------------------------------------------------------------------------------------
DOC_COLUMNS = ["文档", "日期", "标题", "作者", "文本块数", "已更正", "文章编号"]
FIELD_NAMES = {"title": "标题", "date": "日期", "author": "作者"}


def _doc_rows(holder: PipelineHolder) -> tuple[list[list], list[str], str]:
    """(table rows, document names, status): one row per article (``DOC_COLUMNS``: its document,
    date, title, author, chunk count, corrected fields and id); the status is an error message
    when the store is unavailable."""
    try:
        docs = holder.get().documents()
    except RagError as exc:
        return [], [], render_status(exc.message, ok=False)
    rows = [
        [
            d.source if d.complete else f"{d.source}（导入未完成）",
            a["date"] or "日期不详",
            a["title"],
            a["author"],
            a["chunks"],
            "、".join(FIELD_NAMES[f] for f in a["corrected"]),
            a["id"],
        ]
        for d in docs
        for a in d.article_list
    ]
    total = f"共 {len(docs)} 个文档，{sum(d.articles for d in docs)} 篇文章，{sum(d.chunks for d in docs)} 个文本块。"
    total += "".join(f"「{d.source}」导入未完成，请重新上传。" for d in docs if not d.complete)
    return rows, [d.source for d in docs], esc(total)


# -- correcting an article's title, date or author ------------------------------------------------------
def article_choices(rows) -> Any:
    """The 要更正的文章 dropdown for the documents table's rows (a list or a DataFrame):
    ``《title》 date · document`` → article id."""
    values = rows.values.tolist() if hasattr(rows, "values") else list(rows or [])
    choices = [(f"《{r[2]}》 {r[1]} · {r[0]}", r[6]) for r in values if len(r) == len(DOC_COLUMNS)]
    return gr.Dropdown(choices=choices, value=None)


def make_fix_fns(holder: PipelineHolder, settings: Settings, attempts=None):
    """``(pick, save)`` of the 更正文章信息 panel: ``pick(article id) -> (title, date, author)``
    fills the inputs with the stored values; ``save(id, title, date, author, key) -> status html``
    stores the correction (``rag.service.correct_article``; the key rule of the other writes)."""

    def pick(article_id: str | None):
        for d in holder.get().documents() if article_id else []:
            for a in d.article_list:
                if a["id"] == article_id:
                    return a["title"], a["date"], a["author"]
        return "", "", ""

    def save(article_id: str | None, title: str, date: str, author: str, key: str, request: gr.Request = None) -> str:
        if not article_id:
            return render_status("请先选择要更正的文章。", ok=False)
        try:
            check_ui_key(settings, key, attempts, client_of(request))
            a = correct_article(holder, article_id, title=title, date=date, author=author)
        except RagError as exc:
            return render_status(exc.message, ok=False)
        except Exception:  # noqa: BLE001
            log.exception("correction failed")
            return render_status(INTERNAL_ERROR_MESSAGE, ok=False)
        meta = " · ".join(x for x in (a["date"] or "日期不详", a["author"] or "无署名") if x)
        return render_status(f"已更正《{a['title']}》：{meta}。按日期筛选和引用已使用更正后的信息。")

    return pick, save


def _report_text(name: str, r) -> str:
    text = (
        f"已导入 {name}：文章 {r.articles} 篇（重复 {r.duplicates} 篇）；文本块 新增 {r.added}，"
        f"更新 {r.updated}，未变 {r.unchanged}，删除 {r.removed}。"
    )
    for line in [e["message"] for e in r.errors] + report_notes(r):
        text += f"\n注意：{line}"
    return text


def make_doc_fns(holder: PipelineHolder, settings: Settings, received: set[str], attempts=None):
    """``(refresh, upload, delete)`` of the 文档管理 tab. received: the paths the server's upload
    route received (``claim_upload``); the upload event ingests only those. attempts: the
    server's ``KeyAttempts`` (wrong keys throttled per client; None: not throttled)."""
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)

    def refresh():
        rows, names, status = _doc_rows(holder)
        return rows, gr.Dropdown(choices=names, value=None), status

    def upload(path: str | None, key: str, year: str = "", request: gr.Request = None):
        if not path:
            return (None, *refresh())
        if not claim_upload(received, path):
            log.warning("upload event refused %r: not a file this server's upload route received", path)
            rows, dropdown, listing = refresh()
            return None, rows, dropdown, render_status(UPLOAD_NOT_RECEIVED, ok=False) + listing
        try:
            check_ui_key(settings, key, attempts, client_of(request))
            name = normalise_upload_name(Path(path).name)
            check_upload_suffix(name)
            if Path(path).stat().st_size > max_bytes:
                raise too_large_error(settings.max_upload_mb)
            report = ingest_upload(holder, Path(path), name, parse_year(year))
            ok = bool(report.articles + report.duplicates) or not report.errors
            status = render_status(_report_text(name, report), ok=ok)
        except RagError as exc:
            status = render_status(exc.message, ok=False)
        except Exception:  # noqa: BLE001
            log.exception("upload failed")
            status = render_status(INTERNAL_ERROR_MESSAGE, ok=False)
        finally:
            try:
                os.unlink(path)  # Gradio's cached copy; the archive keeps only the chunks
            except OSError:
                pass
        rows, dropdown, listing = refresh()
        return None, rows, dropdown, f"{status}{listing}"

    def delete(name: str | None, key: str, request: gr.Request = None):
        if not name:
            rows, dropdown, listing = refresh()
            return rows, dropdown, render_status("请先选择要删除的文档。", ok=False) + listing
        try:
            check_ui_key(settings, key, attempts, client_of(request))
            n = delete_document(holder, name)
            status = render_status(f"已删除 {name}（{n} 个文本块）。")
        except RagError as exc:
            status = render_status(exc.message, ok=False)
        except Exception:  # noqa: BLE001
            log.exception("delete failed")
            status = render_status(INTERNAL_ERROR_MESSAGE, ok=False)
        rows, dropdown, listing = refresh()
        return rows, dropdown, f"{status}{listing}"

    return refresh, upload, delete


# -- deleting a document asks first -------------------------------------------------------------------
def confirm_delete(holder: PipelineHolder, name: str | None):
    """First step of a deletion: ``(pending name, confirm row, question html, status)``. The
    question names the document and its counts; "确定删除" then deletes the pending name (not
    whatever the dropdown shows by then). Nothing selected: the row stays hidden, the status asks."""
    if not name:
        return None, gr.Row(visible=False), "", render_status("请先选择要删除的文档。", ok=False)
    counts = ""
    try:
        doc = next((d for d in holder.get().documents() if d.source == name), None)
        counts = f"（{doc.articles} 篇文章，{doc.chunks} 个文本块）" if doc else ""
    except RagError:
        pass
    question = f'<div class="rag-confirm">确定要删除文档「{esc(name)}」{counts}吗？删除后只能重新上传恢复。</div>'
    return name, gr.Row(visible=True), question, gr.skip()


# Remembers the typed key in a cookie for this page's path, so that Gradio's own upload request
# carries it (rag.api.middleware.WriteKeyGuard checks it before Gradio reads the file).
KEY_COOKIE_JS = f"""(k) => {{
  const path = location.pathname.replace(/[^/]*$/, '') || '/';
  document.cookie = `{KEY_COOKIE}=${{encodeURIComponent(k || '')}}; path=${{path}}; SameSite=Strict` + (k ? '' : '; max-age=0');
  return k;
}}"""


# Gradio strings its zh-CN translation lacks (keys its frontend asks for; common.complete is
# announced after every finished event and has no translation at all, not even English)
I18N = gr.I18n(
    **{
        "zh-CN": {
            "chatbot": {"copy_message": "复制消息", "copied_message": "已复制", "complete": "完成"},
            "common": {
                "complete": "完成",
                "upload": "上传",
                "download_all": "全部下载",
                "progress": "进度",
                "run": "运行",
            },
            "dataframe": {"filter": "筛选", "clear_filter": "清除筛选"},
            "status": {"queue_position": "排队中：第 {position} 位，共 {size} 位"},
        }
    }
)


# -- the app ----------------------------------------------------------------------------------------
def build_ui(
    holder: PipelineHolder,
    settings: Settings,
    *,
    piece_delay: float = PIECE_DELAY_S,
    delete_cache: tuple[int, int] = DELETE_CACHE,
    attempts=None,
) -> gr.Blocks:
    """The Blocks app. Named API endpoint: ``/chat`` (message, history as role/content
    messages, top_k, date_from, date_to → the chat with the new answer). attempts: the
    server's ``rag.service.KeyAttempts`` for the documents tab's key (None: not throttled).
    delete_cache: (every s, older than s) for Gradio's uploaded files (``gr.Blocks``)."""
    chat = make_chat_fn(holder, settings, piece_delay)
    turn = make_turn_fn(holder, settings, piece_delay)
    give = make_feedback_fn(settings)
    pick_article, save_fix = make_fix_fns(holder, settings, attempts)

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=delete_cache) as demo:
        refresh, upload, delete = make_doc_fns(holder, settings, demo.upload_file_set, attempts)

        def unlock(k: str, request: gr.Request):
            return unlock_upload(settings, k, attempts, client_of(request))

        def confirmed(name: str | None, k: str, request: gr.Request):
            return (*delete(name, k, request), gr.Row(visible=False))

        gr.Markdown(
            f"## {TITLE}\n答案摘自本县新闻档案，每句后的 [n] 对应下方来源（点击可查看原文）；档案里没有的内容会明确说明。"
        )
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chatbot = gr.Chatbot(
                    label="对话",
                    elem_id="chat",
                    height=560,
                    sanitize_html=True,
                    render_markdown=True,
                    latex_delimiters=[],
                    line_breaks=False,
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="在下方输入问题，例如“县长在招商引资工作推进会议上强调了什么？”",
                )
                with gr.Row(visible=False, elem_id="feedback") as fb_row:
                    useful = gr.Button(VOTES["useful"], size="sm", scale=0, min_width=72, elem_id="fb-useful")
                    wrong = gr.Button(VOTES["wrong"], size="sm", scale=0, min_width=72, elem_id="fb-wrong")
                    comment = gr.Textbox(
                        label="补充说明",
                        show_label=False,
                        scale=6,
                        max_lines=2,
                        elem_id="fb-comment",
                        placeholder="补充说明（可选）：哪里不对，正确内容在哪篇文章",
                    )
                fb_status = gr.Markdown(elem_id="fb-status")
                with gr.Row():
                    msg = gr.Textbox(
                        label="问题",
                        show_label=False,
                        placeholder="输入问题，按回车发送",
                        elem_id="question",
                        scale=8,
                        max_lines=4,
                        autofocus=True,
                    )
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="send")
                    new = gr.Button("新对话", scale=1, min_width=80, elem_id="new-chat")
                with gr.Accordion("筛选条件", open=False):
                    with gr.Row():
                        date_from = gr.Textbox("", label="起始日期", placeholder="YYYY-MM-DD，如 2024-05-01")
                        date_to = gr.Textbox("", label="截止日期", placeholder="YYYY-MM-DD")
                        top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="来源数量（检索段落数）")
                examples = gr.Examples(EXAMPLES, inputs=[msg], label="示例问题", api_visibility="private")

            with gr.Tab("文档管理", id="docs") as docs_tab:
                gr.Markdown(
                    f"支持 {'、'.join(UPLOAD_SUFFIXES)}，单个文件不超过 {settings.max_upload_mb:g} MB。"
                    "同一文件重复上传不会产生重复内容；内容相同、文件名不同的文件不会重复导入，并会提示已有的文档名。"
                )
                key = gr.Textbox(
                    label="管理密钥（RAG_API_KEY）",
                    type="password",
                    visible=bool(settings.api_key),
                    info="填写正确的密钥后才能上传和删除文档",
                )
                year = gr.Textbox(
                    "",
                    label="年份（可选）",
                    placeholder="导语只有月日时使用的年份，如 2024；请在选择文件前填写",
                    elem_id="upload-year",
                    max_lines=1,
                )
                upload_box = gr.File(
                    label="上传文件",
                    file_types=list(UPLOAD_SUFFIXES),
                    file_count="single",
                    elem_id="upload",
                    interactive=not settings.api_key,
                )
                status = gr.Markdown(elem_id="doc-status")
                table = gr.Dataframe(
                    headers=DOC_COLUMNS,
                    datatype=["str", "str", "str", "str", "number", "str", "str"],
                    interactive=False,
                    elem_id="doc-table",
                    wrap=True,
                    buttons=[],
                )
                with gr.Row():
                    pick = gr.Dropdown(label="要删除的文档", choices=[], scale=4)
                    remove = gr.Button("删除所选文档", variant="stop", scale=1)
                    reload = gr.Button("刷新列表", scale=1)
                # deleting asks first, naming the document
                pending = gr.State(None)
                with gr.Row(visible=False, elem_id="confirm-delete") as confirm_row:
                    question = gr.Markdown(elem_id="confirm-text")
                    yes = gr.Button("确定删除", variant="stop", scale=0, min_width=100, elem_id="confirm-yes")
                    no = gr.Button("取消", scale=0, min_width=80, elem_id="confirm-no")
                with gr.Accordion("更正文章信息（日期、标题、作者）", open=False, elem_id="fix-panel"):
                    fix_pick = gr.Dropdown(label="要更正的文章", choices=[], elem_id="fix-pick")
                    with gr.Row():
                        fix_date = gr.Textbox(label="日期", placeholder="YYYY-MM-DD；不详时留空", elem_id="fix-date")
                        fix_title = gr.Textbox(label="标题", elem_id="fix-title", scale=2)
                        fix_author = gr.Textbox(label="作者", placeholder="没有署名时留空", elem_id="fix-author")
                    fix_save = gr.Button("保存更正", variant="primary", elem_id="fix-save")
        gr.HTML('<div class="rag-file"><a href="docs" target="_blank">接口说明（API）</a></div>')

        # the UI's events are private; the same function is the public "/chat" endpoint with
        # plain role/content history (the Chatbot component would demand its parts-list form)
        gr.api(chat, api_name="chat", concurrency_limit=8, concurrency_id="chat")
        # Sending moves the question into a hidden box and empties the input in the browser
        # (no round trip, so a slow server can never wipe a question typed meanwhile); the
        # answer then streams from the hidden box's value. Clicking an example asks it.
        asked = gr.Textbox(visible=False)
        last = gr.State(None)  # the latest answer, for the feedback buttons

        def ui_turn(message, history, k, d_from, d_to):
            prior = user_turns(_plain_messages(history))
            for messages, answer in turn(message, history, k, d_from, d_to):
                if answer is None:
                    yield messages, None, gr.Row(visible=False), "", gr.skip()
                else:
                    yield (
                        messages,
                        {"answer": answer.to_dict(), "history": prior, "id": None, "vote": None},
                        gr.Row(visible=True),
                        "",
                        "",
                    )

        answering = []
        for trigger in (msg.submit, send.click, examples.load_input_event.then):
            take = trigger(None, [msg], [msg, asked], js="(q) => ['', q]", queue=False, api_visibility="private")
            answering.append(
                take.then(
                    ui_turn,
                    [asked, chatbot, top_k, date_from, date_to],
                    [chatbot, last, fb_row, fb_status, comment],
                    api_visibility="private",
                    concurrency_limit=8,
                    concurrency_id="chat",
                )
            )
        new.click(
            lambda: ([], "", None, gr.Row(visible=False), ""),
            None,
            [chatbot, msg, last, fb_row, fb_status],
            cancels=answering,
            queue=False,
            api_visibility="private",
        )
        for button, vote in ((useful, "useful"), (wrong, "wrong")):
            button.click(
                lambda c, s, v=vote: give(v, c, s), [comment, last], [last, fb_status], api_visibility="private"
            )
        comment.submit(lambda c, s: give(None, c, s), [comment, last], [last, fb_status], api_visibility="private")

        table.change(article_choices, [table], [fix_pick], queue=False, api_visibility="private")
        fix_pick.change(pick_article, [fix_pick], [fix_title, fix_date, fix_author], api_visibility="private")
        fix_save.click(
            save_fix, [fix_pick, fix_title, fix_date, fix_author, key], [status], api_visibility="private"
        ).then(lambda: refresh()[:2], None, [table, pick], api_visibility="private")
        docs_tab.select(refresh, None, [table, pick, status], api_visibility="private")
        reload.click(refresh, None, [table, pick, status], api_visibility="private")
        key.change(
            unlock,
            [key],
            [upload_box],
            js=KEY_COOKIE_JS,
            queue=False,
            api_visibility="private",
        )
        upload_box.upload(upload, [upload_box, key, year], [upload_box, table, pick, status], api_visibility="private")
        hide = lambda: gr.Row(visible=False)  # noqa: E731
        remove.click(
            lambda name: confirm_delete(holder, name),
            [pick],
            [pending, confirm_row, question, status],
            api_visibility="private",
        )
        yes.click(
            confirmed,
            [pending, key],
            [table, pick, status, confirm_row],
            api_visibility="private",
        )
        for event in (no.click, pick.change):
            event(hide, None, confirm_row, queue=False, api_visibility="private")
    return demo


def mount_ui(
    app, holder: PipelineHolder, settings: Settings, path: str = "/", *, delete_cache: tuple[int, int] = DELETE_CACHE
):
    """Mount the chat on a FastAPI app (after its own routes), under ``settings.root_path``
    behind a proxy. System fonts only; Gradio strings completed in Chinese (``I18N``); no
    Gradio footer (its API page is English; ``/docs`` is linked instead); uploads capped at
    ``settings.max_upload_mb`` and deleted per ``delete_cache``; with ``RAG_API_KEY_ALL`` the
    page asks for the key (any user name, the key as password).

    Gradio checks that a file named in an event was uploaded (lies in its upload folder) only
    once its app has "launched"; a mounted app never does, so the check would be skipped and a
    client could name any server file. ``has_launched`` is set (as Gradio's own reload does)
    so that check runs before Gradio copies anything; the upload event then also takes only
    a file the upload route received (``claim_upload``)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    theme = gr.themes.Default(font=SANS, font_mono=MONO)
    auth = None
    if settings.api_key and settings.api_key_all:
        key = settings.api_key
        auth = lambda _user, password: key_matches(password or "", key)  # noqa: E731
    demo = build_ui(holder, settings, delete_cache=delete_cache, attempts=getattr(app.state, "key_attempts", None))
    mounted = gr.mount_gradio_app(
        app,
        demo,
        path=path,
        theme=theme,
        css=CSS,
        i18n=I18N,
        max_file_size=f"{int(settings.max_upload_mb * 1024)}kb",
        ssr_mode=False,
        footer_links=[],
        root_path=settings.root_path or None,
        auth=auth,
        auth_message="请输入访问密钥：用户名可以不填，密码为 RAG_API_KEY。",
    )
    demo.has_launched = True  # gradio.processing_utils._check_allowed: only uploaded files
    return mounted
