"""End to end in a real browser: Playwright driving Debian's Chromium (locale zh-CN) against
the server on loopback. Asks, follows up, opens sources on their highlighted quotes, checks
that no visible string is English and no emoji is used, uploads an article full of markup
through the documents tab and checks it is shown as text and never runs, deletes after a
confirmation, and uploads with the key; shows one source per article, [n] that open their source,
one point per line, a date corrected in the documents tab; an English-language browser sees
the page, Gradio's upload errors and the login in Chinese, and logs in with the key alone;
no request leaves loopback. (Through nginx under a path prefix, and feedback to an exported
line: ``tests/test_proxy.py``.)

Chromium: ``/usr/bin/chromium`` (``make browser`` installs it; never ``playwright install``).
Screenshot: saved under the test's tmp dir; with ``RAG_SCREENSHOT_DIR`` set (``make screenshot``)
a small palette PNG of the chat is also written there for the README.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.live_server import LiveServer, private_settings_and_pipeline
from ui.server import create_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Chromium missing: run `make browser` (apt-get install chromium)"
    ),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

Q_INVEST = "县长在招商引资工作推进会议上强调了什么？"
T_INVEST = "我县召开2024年招商引资工作推进会议"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
EVIL_ARTICLE = (
    f"# 网页安全测试{SCRIPT}专题\n\n"
    f"本报讯 5月22日，县信息中心开展网页安全测试，测试文本包含{SCRIPT}和{IMG}两段代码。"
    "网页安全测试要求所有代码按原文显示，不得执行。\n"
)

# Latin words allowed on the page: file types, units and the name of the key setting
ALLOWED_LATIN = {"txt", "md", "docx", "pdf", "html", "htm", "jsonl", "MB", "API", "RAG", "KEY", "YYYY", "MM", "DD"}
EMOJI = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff\ufe0f]")

# Records, in the page, every text the newest answer showed before its sources appeared.
WATCH_STREAM = """() => {
  window.__partials = new Set();
  new MutationObserver(() => {
    const bots = document.querySelectorAll('#chat .rag-answer, #chat .rag-pending');
    const last = bots[bots.length - 1];
    if (last && !last.closest('.message, [data-testid="bot"]')?.querySelector('.rag-sources')) {
      window.__partials.add(last.textContent);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, embed_cache):
    settings, pipe = private_settings_and_pipeline(tmp_path_factory.mktemp("browser"), embed_cache)
    with LiveServer(create_server(settings, pipe)) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        context.set_default_timeout(90_000)  # the 2-core CI box is shared; normal runs take seconds
        external: list[str] = []

        def guard(route):
            host = urlparse(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        pg = context.new_page()
        pg.external_requests = external
        pg.goto(server.url + "/")
        pg.wait_for_selector("#question textarea")
        yield pg
        browser.close()


def _ask(page, question: str, n_answers: int) -> None:
    """Type a question, send it, wait until the n-th final answer (or abstention) is shown."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .rag-sources, #chat .rag-abstain, #chat .rag-error').length >= n",
        arg=n_answers,
    )


def _last_bot_text(page) -> str:
    return page.locator("#chat .rag-answer, #chat .rag-abstain, #chat .rag-error").last.inner_text()


def _visible_text(page) -> str:
    """What a reader sees: the page's rendered text plus the placeholders of its inputs."""
    return page.evaluate("""() => document.body.innerText + '\\n' +
        [...document.querySelectorAll('[placeholder]')].map(e => e.getAttribute('placeholder')).join('\\n')""")


def _assert_chinese_only(page, skip: str | None = None) -> None:
    """No English word or emoji on the page (``skip``: a selector whose text, from the archive, is left out)."""
    if skip:
        page.eval_on_selector(skip, "e => e.style.display = 'none'")
    text = re.sub(r"\b[0-9a-f]{16}\b", "", _visible_text(page))  # article ids (文章编号 column) are no words
    if skip:
        page.eval_on_selector(skip, "e => e.style.display = ''")
    assert sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - ALLOWED_LATIN) == [], text
    assert not EMOJI.search(text), EMOJI.findall(text)


def test_chat_follow_up_and_sources(page, tmp_path):
    _assert_chinese_only(page)  # before anything is asked
    page.evaluate(WATCH_STREAM)
    _ask(page, Q_INVEST, 1)
    partials = page.evaluate("[...window.__partials]")
    assert len(partials) >= 3, partials  # the answer was shown growing before its sources came
    assert "[1]" in _last_bot_text(page)
    first = page.locator("#chat details.rag-source summary").first
    assert first.inner_text().startswith(f"[1] 《{T_INVEST}》")
    first.click()
    quote = page.locator("#chat details.rag-source .rag-quote").first
    assert quote.is_visible()
    marks = quote.locator("mark.rag-hl").all_inner_texts()  # the quoted sentences, inside their passage
    assert marks and all(m in quote.inner_text() for m in marks) and len("".join(marks)) < len(quote.inner_text())
    assert any("提高政治站位" in m for m in marks)
    assert page.locator("#feedback").is_visible() and page.locator("#fb-wrong").inner_text() == "有误"
    # the README screenshot: the answer, and its first source open on the highlighted quote
    page.wait_for_timeout(500)  # the chat scrolls itself to the bottom when a source opens; then ours
    page.evaluate("""() => { const ans = document.querySelector('#chat .rag-answer');
        let box = ans.parentElement;  // the chat's scrolling box
        while (box && !(box.scrollHeight > box.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(box).overflowY))) {
            box = box.parentElement; }
        if (box) box.scrollTop += ans.getBoundingClientRect().top - box.getBoundingClientRect().top - 110;
        window.scrollTo(0, 0); }""")
    page.wait_for_timeout(300)
    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    _publish(shot)

    _ask(page, "李晓军5月份调研了哪些地方？", 2)
    _ask(page, "他强调了什么？", 3)
    assert page.locator("#chat .rag-standalone").last.inner_text() == "按“李晓军5月份强调了什么？”检索"
    answer = _last_bot_text(page)
    assert "李晓军" in answer and "[1]" in answer
    sources = page.locator("#chat .rag-sources").last.locator("summary").all_inner_texts()
    assert sources and sources[0].startswith("[1] 《") and any("李晓军" in s for s in sources)
    _assert_chinese_only(page)

    last = page.locator("#chat .rag-sources").last.locator("details.rag-source").first
    last.locator("summary").click()
    assert last.locator("mark.rag-hl").first.is_visible()

    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat .rag-sources, #chat .rag-abstain').length === 0")
    assert not page.locator("#feedback").is_visible()
    page.get_by_role("tab", name="文档管理").click()
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('共 1 个文档')")
    _assert_chinese_only(page)
    page.get_by_role("tab", name="问答").click()
    assert page.external_requests == []


def test_one_source_per_article_clickable_refs_and_one_point_per_line(page):
    """Issue #23's example quoted four passages of one article as [1]–[4]: now one source with
    its quotes (asked here of a speaker's points, which the learned answer step gives one per
    sentence), the points on lines of their own, and [1] opens that source and scrolls to it."""
    n = page.locator("#chat .rag-sources, #chat .rag-abstain, #chat .rag-error").count()
    _ask(page, "县长在招商引资工作推进会议上强调了什么？", n + 1)
    answer = page.locator("#chat .rag-answer").last
    lines = answer.locator(".rag-line").all_inner_texts()
    assert len(lines) >= 4 and all(line.rstrip().endswith("[1]") for line in lines), lines
    tops = [b["y"] for b in (el.bounding_box() for el in answer.locator(".rag-line").all())]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)  # each point starts a line of its own
    sources = page.locator("#chat .rag-sources").last.locator("details.rag-source")
    assert sources.count() == 1
    summary = sources.first.locator("summary").inner_text()
    assert summary.startswith("[1] 《我县召开2024年招商引资工作推进会议》 2024-05-10 · 刘岚涛") and "引用" in summary
    assert not sources.first.evaluate("d => d.open")
    answer.locator(".rag-ref").last.click()
    page.wait_for_function(
        "() => { const d = [...document.querySelectorAll('#chat details.rag-source')].pop(); return d && d.open; }"
    )
    page.wait_for_timeout(800)  # the page script scrolls at 50 and 400 ms
    marked = "".join(sources.first.locator("mark.rag-hl").all_inner_texts())  # touching quotes share a mark
    assert all(line[:12] in marked for line in lines), (lines, marked)  # every quoted sentence, in its passages
    box = sources.first.locator("summary").bounding_box()
    chat = page.locator("#chat").bounding_box()
    assert chat["y"] - 1 <= box["y"] <= chat["y"] + chat["height"], (box, chat)  # scrolled into view
    _assert_chinese_only(page)


def test_correcting_a_date_in_the_documents_tab(page, tmp_path):
    """An article dated wrongly (the upload's year field was 2019) is corrected in the
    更正文章信息 panel: the table and the chat's sources show the new date."""
    upload = tmp_path / "更正测试.txt"
    upload.write_text(
        "# 县文化馆举办剪纸培训班\n\n本报讯 5月25日，县文化馆举办剪纸培训班，学员六十人。\n", encoding="utf-8"
    )
    page.get_by_role("tab", name="文档管理").click()
    page.fill("#upload-year textarea, #upload-year input", "2019")
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已导入 更正测试.txt')")
    assert "2019-05-25" in page.inner_text("#doc-table")
    page.fill("#upload-year textarea, #upload-year input", "")
    page.locator("#fix-panel").get_by_text("更正文章信息").click()
    page.get_by_label("要更正的文章").click()
    page.get_by_role("option", name=re.compile("县文化馆举办剪纸培训班")).click()
    date = page.locator("#fix-date textarea, #fix-date input")
    page.wait_for_function(
        "() => document.querySelector('#fix-date textarea, #fix-date input')?.value === '2019-05-25'"
    )
    date.fill("2024-05-25")
    page.click("#fix-save")
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已更正')")
    page.wait_for_function("document.querySelector('#doc-table')?.innerText.includes('2024-05-25')")
    row = next(r for r in page.inner_text("#doc-table").splitlines() if "剪纸" in r or "更正测试" in r)
    assert "2019" not in page.inner_text("#doc-table") and row
    page.get_by_role("tab", name="问答").click()
    n = page.locator("#chat .rag-sources, #chat .rag-abstain, #chat .rag-error").count()
    _ask(page, "县文化馆剪纸培训班有多少学员？", n + 1)
    summary = page.locator("#chat .rag-sources").last.locator("summary").first.inner_text()
    assert "县文化馆举办剪纸培训班" in summary and "2024-05-25" in summary
    page.get_by_role("tab", name="文档管理").click()
    page.get_by_role("tab", name="问答").click()


ARTICLE_2025 = (
    "# 我县召开2025年一季度经济运行分析会\n\n"
    "本报讯 2025年4月28日，我县召开2025年一季度经济运行分析会。县委副书记孙飞主持会议，"
    "县发改局、县统计局负责同志通报了一季度全县经济运行情况。\n"
)


def _ask_next(page, question: str) -> None:
    """Ask and wait for one more final answer than the chat shows now."""
    n = page.locator("#chat .rag-sources, #chat .rag-abstain, #chat .rag-error").count()
    _ask(page, question, n + 1)


def test_chat_conversation_topic_switch_answers_and_dates(server, page, tmp_path):
    """Issue 21 through the chat's own path (the chat sends its questions and answers): a new
    question is searched as asked after another topic, 他 is the person the previous answer
    named, and 去年/今年 count from the server's today (the pipeline's ``today``, which
    ``RAG_TODAY`` sets) with the 2025 article uploaded in the documents tab."""
    import datetime as dt

    pipe = server.app.state.holder.get()
    old_today, pipe.today = pipe.today, dt.date(2026, 3, 18)
    upload = tmp_path / "绛县新闻-2025年4月.txt"
    upload.write_text(ARTICLE_2025, encoding="utf-8")
    try:
        page.get_by_role("tab", name="文档管理").click()
        page.locator("#upload input[type=file]").set_input_files(str(upload))
        page.wait_for_function(
            "document.querySelector('#doc-status')?.innerText.includes('已导入 绛县新闻-2025年4月.txt')"
        )
        page.get_by_role("tab", name="问答").click()
        page.click("#new-chat")
        page.wait_for_function("document.querySelectorAll('#chat .rag-sources, #chat .rag-abstain').length === 0")

        _ask_next(page, "春季义务植树活动栽植了多少株苗木？")
        grey = page.locator("#chat .rag-standalone").count()
        _ask_next(page, "县委书记是谁？")
        assert "解芳" in _last_bot_text(page)
        assert page.locator("#chat .rag-standalone").count() == grey  # searched as asked: no rewrite shown

        _ask_next(page, "县教育局局长是谁？")
        assert _last_bot_text(page).startswith("张维华")
        _ask_next(page, "他是什么职务？")
        assert page.locator("#chat .rag-standalone").last.inner_text() == "按“张维华是什么职务？”检索"
        assert "县教育局局长" in _last_bot_text(page)

        _ask_next(page, "去年一季度经济运行分析会由谁主持？")
        answer = _last_bot_text(page)
        assert answer.startswith("孙飞") and "（按2025年检索）" in answer
        _ask_next(page, "那今年呢？")
        assert page.locator("#chat .rag-standalone").last.inner_text() == "按“2026年一季度经济运行分析会由谁主持？”检索"
        abstention = page.locator("#chat .rag-abstain").last.inner_text()
        assert "档案中没有2026年一季度经济运行分析会的报道；最近一次是2025年4月28日。[1]" in abstention
        source = page.locator("#chat .rag-sources").last.locator("summary").first.inner_text()
        assert source.startswith("[1] 《我县召开2025年一季度经济运行分析会》 2025-04-28")
        _assert_chinese_only(page)
    finally:
        pipe.today = old_today
        pipe.delete_document("绛县新闻-2025年4月.txt")
        page.click("#new-chat")
        # leave the documents tab settled (its list refreshed), so the next test's upload status stays
        page.get_by_role("tab", name="文档管理").click()
        page.wait_for_function("document.querySelector('#doc-status')?.innerText.startsWith('共 ')")
        page.get_by_role("tab", name="问答").click()
    assert page.external_requests == []


def test_markup_in_an_article_is_shown_as_text_and_never_runs(page, tmp_path):
    upload = tmp_path / "安全测试.txt"
    upload.write_text(EVIL_ARTICLE, encoding="utf-8")
    page.get_by_role("tab", name="文档管理").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已导入')")
    assert "已导入 安全测试.txt" in page.inner_text("#doc-status")
    table = page.inner_text("#doc-table")
    assert "安全测试.txt" in table and SCRIPT in table  # the title, as text

    page.get_by_role("tab", name="问答").click()
    n = page.locator("#chat .rag-sources, #chat .rag-abstain, #chat .rag-error").count()
    _ask(page, "网页安全测试要求什么？", n + 1)
    summary = page.locator("#chat .rag-sources").last.locator("summary").first
    assert f"网页安全测试{SCRIPT}专题" in summary.inner_text()
    summary.click()
    quote = page.locator("#chat .rag-sources").last.locator(".rag-quote").first
    assert SCRIPT in quote.inner_text() and IMG in quote.inner_text()
    assert quote.locator("mark.rag-hl").count() >= 1 and quote.locator("mark *").count() == 0  # marks hold text only
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#chat img[src='x']").count() == 0
    assert page.locator("#chat script").count() == 0
    assert page.external_requests == []


def test_deleting_a_document_asks_first_and_names_it(page, tmp_path):
    upload = tmp_path / "待删除.txt"
    upload.write_text(
        "# 待删除的测试稿\n\n本报讯 5月23日，县里召开待删除测试会议，会议内容仅供测试。\n", encoding="utf-8"
    )
    page.get_by_role("tab", name="文档管理").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已导入 待删除.txt')")
    pick = page.get_by_label("要删除的文档")
    pick.click()
    page.get_by_role("option", name="待删除.txt").click()
    page.get_by_role("button", name="删除所选文档").click()
    question = page.locator("#confirm-text")
    question.wait_for()
    assert "确定要删除文档「待删除.txt」（1 篇文章，1 个文本块）吗？" in question.inner_text()
    page.click("#confirm-no")
    page.wait_for_selector("#confirm-delete", state="hidden")
    assert "待删除.txt" in page.inner_text("#doc-table")  # cancelled: still there
    page.get_by_role("button", name="删除所选文档").click()
    page.click("#confirm-yes")
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已删除 待删除.txt')")
    assert "待删除.txt" not in page.inner_text("#doc-table")
    assert not page.locator("#confirm-delete").is_visible()
    page.get_by_role("tab", name="问答").click()


def test_uploading_in_the_chat_needs_the_key_when_one_is_set(server, page, tmp_path):
    """With RAG_API_KEY set, the documents tab's upload box stays closed until the right key
    is typed (the server would refuse the upload anyway: tests/test_api.py); then the file
    goes through Gradio's upload route, which the typed key (a cookie) lets through."""
    keyed = replace(server.app.state.settings, api_key="s3cret")
    upload = tmp_path / "带密钥.txt"
    upload.write_text("# 带密钥上传测试\n\n本报讯 5月24日，带密钥上传测试会议召开。\n", encoding="utf-8")
    with LiveServer(create_server(keyed, server.app.state.holder.get())) as srv:
        context = page.context.browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        try:
            pg = context.new_page()
            pg.set_default_timeout(90_000)
            pg.goto(srv.url + "/")
            pg.get_by_role("tab", name="文档管理").click()
            pg.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('个文档')")
            assert pg.locator("#upload input[type=file]").count() == 0
            key = pg.get_by_label("管理密钥（RAG_API_KEY）")
            key.fill("wrong")
            pg.wait_for_timeout(500)
            assert pg.locator("#upload input[type=file]").count() == 0
            assert "rag_key=wrong" in pg.evaluate("document.cookie")
            key.fill("s3cret")
            pg.locator("#upload input[type=file]").set_input_files(str(upload))
            pg.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已导入 带密钥.txt')")
            assert pg.locator("[data-testid='toast-body']").count() == 0
        finally:
            context.close()
    server.app.state.holder.get().delete_document("带密钥.txt")


def _english_browser(page):
    """``(browser, context)``: a second Chromium, English-language (``--lang=en-US``, locale
    en-US, an en-US Accept-Language), launched by the module's Playwright."""
    browser = page.context.browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=en-US"])
    context = browser.new_context(
        viewport={"width": 1100, "height": 900},
        locale="en-US",
        extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    context.set_default_timeout(90_000)
    return browser, context


def test_an_english_browser_sees_chinese_and_chinese_upload_errors(server, page, tmp_path):
    """Gradio's own strings and its two upload messages (a type it does not take, a file over
    the limit), which it writes in English, are Chinese in an English-language browser."""
    small = replace(server.app.state.settings, max_upload_mb=0.01)  # 10 KB
    zipped, big = tmp_path / "news.zip", tmp_path / "大文件.txt"
    zipped.write_bytes(b"PK\x03\x04" + b"0" * 64)
    big.write_text("县" * 8000, encoding="utf-8")  # 24 KB
    with LiveServer(create_server(small, server.app.state.holder.get())) as srv:
        browser, context = _english_browser(page)
        try:
            pg = context.new_page()
            pg.goto(srv.url + "/")
            pg.wait_for_selector("#question textarea")
            assert pg.evaluate("navigator.languages[0]") == "zh-CN"  # what Gradio was told
            assert pg.evaluate("document.documentElement.lang") == "zh-CN"
            _assert_chinese_only(pg)
            pg.get_by_role("tab", name="文档管理").click()
            pg.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('个文档')")
            _assert_chinese_only(pg, skip="#doc-table")  # the table lists archive titles (a <script> one too)
            for path, expected in (
                (zipped, "不支持的文件类型：news.zip。只能上传 .txt、.md"),
                (big, "文件太大：大文件.txt"),
            ):
                pg.locator("#upload input[type=file]").set_input_files(str(path))
                pg.wait_for_function(
                    "t => [...document.querySelectorAll('[data-testid=toast-text]')].some(e => e.innerText.includes(t))",
                    arg=expected,
                )
            toasts = pg.locator("[data-testid=toast-text]").all_inner_texts()
            english = re.compile(r"Invalid|allowed|Only|exceed|maximum|size|File")
            assert len(toasts) == 2 and not any(english.search(t) for t in toasts), toasts
            assert "上传上限 10.0 KB" in " ".join(toasts)
        finally:
            browser.close()


def test_login_with_the_key_alone_and_no_stale_error(server, page):
    """RAG_API_KEY_ALL: the login page is Chinese (in an English browser too); a wrong key says
    凭据不正确, which goes away as soon as the key is typed again; an empty user name with the
    right key logs in."""
    keyed = replace(server.app.state.settings, api_key="s3cret", api_key_all=True)
    with LiveServer(create_server(keyed, server.app.state.holder.get())) as srv:
        browser, context = _english_browser(page)
        try:
            pg = context.new_page()
            pg.goto(srv.url + "/")
            password = pg.locator("input[type=password]")
            password.wait_for()
            assert "用户名可以不填" in pg.inner_text("body")
            _assert_chinese_only(pg)
            password.fill("wrong")
            password.press("Enter")
            pg.wait_for_selector("p.creds")
            assert pg.locator("p.creds").inner_text() == "凭据不正确" and pg.locator("p.creds").is_visible()
            password.fill("s3c")
            assert not pg.locator("p.creds").is_visible()  # typing again clears it
            password.fill("s3cret")
            password.press("Enter")
            pg.wait_for_selector("#question textarea")  # logged in with an empty user name
            _assert_chinese_only(pg)
        finally:
            browser.close()


def _publish(shot: Path) -> None:
    """Copy the screenshot to ``RAG_SCREENSHOT_DIR`` (if set) as a small palette PNG."""
    target = os.environ.get("RAG_SCREENSHOT_DIR")
    if not target:
        return
    out = Path(target) / "chat.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        from PIL import Image

        Image.open(shot).convert("RGB").quantize(colors=64).save(out, optimize=True)
    except ImportError:
        shutil.copyfile(shot, out)
