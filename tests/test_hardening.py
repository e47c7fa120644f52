"""Reliability and security, round 2 (issue #20): each point of the issue as a test on the real
parts (a real server on loopback, Chroma on a temp dir, the Gradio queue protocol as a browser
speaks it). Faults that need mounts (full and read-only disks) are in ``test_disk_faults.py``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer, private_settings_and_pipeline
from ui.server import create_server

pytestmark = [
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

SECRET = "# 机密文件\n\n本报讯 5月9日，机密测试会议由张秘密主持，会议口令是蓝色海豚七号。\n"
NORMAL = "# 正常上传测试\n\n本报讯 5月23日，正常上传测试会议在县文化中心召开，会议由李正常主持。\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory, embed_cache):
    """A real server (API + chat) on loopback over a private store with the seed corpus."""
    settings, pipe = private_settings_and_pipeline(tmp_path_factory.mktemp("harden"), embed_cache)
    with LiveServer(create_server(settings, pipe)) as srv:
        yield srv, pipe


def _upload_fn_index(url: str) -> int:
    """The fn_index of the 文档管理 tab's upload event, from the page's own /config."""
    cfg = httpx.get(f"{url}/config").json()
    ids = {c["id"] for c in cfg["components"] if c.get("props", {}).get("elem_id") == "upload"}
    for i, dep in enumerate(cfg["dependencies"]):
        if any(t[0] in ids and t[1] == "upload" for t in dep["targets"]):
            return dep.get("id", i)
    raise AssertionError("no upload event in /config")


def _run_event(url: str, fn_index: int, data: list) -> dict:
    """One event through Gradio's queue as the browser sends it (POST /gradio_api/queue/join,
    then the SSE stream /gradio_api/queue/data): the ``process_completed`` message."""
    session = uuid.uuid4().hex[:11]
    body = {"fn_index": fn_index, "data": data, "session_hash": session, "event_data": None, "trigger_id": None}
    r = httpx.post(f"{url}/gradio_api/queue/join", json=body)
    assert r.status_code == 200, r.text
    with httpx.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}, timeout=120) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("the event never completed")


def _file_data(path: str | Path, name: str) -> dict:
    return {"path": str(path), "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def _sources(url: str) -> set[str]:
    return {d["source"] for d in httpx.get(f"{url}/api/documents").json()}


def _status_html(msg: dict) -> str:
    return msg["output"]["data"][3] if msg.get("success") else ""


# -- 1. the chat's upload event never opens a path a client names -------------------------------------------
def test_upload_event_never_ingests_a_server_file_a_client_names(live, tmp_path):
    """The attack of the issue: ``queue/join`` with a ``FileData`` naming a file on the server.
    Refused before Gradio copies anything (its own upload-folder check, switched on for the
    mounted app); a file planted inside Gradio's upload folder but never received by its upload
    route is refused by the event itself. Nothing is ingested, opened or deleted; the answer
    never quotes the file. A normal upload (upload route, then the event) still works, once."""
    from gradio.utils import get_upload_folder

    srv, pipe = live
    fn = _upload_fn_index(srv.url)
    before = sorted(pipe.store.all_ids())
    secret = tmp_path / "secret" / "机密.md"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")

    msg = _run_event(srv.url, fn, [_file_data(secret, "x.md"), "", ""])
    assert msg["success"] is False  # Gradio: "... it was not uploaded by a user"
    assert "已导入" not in json.dumps(msg, ensure_ascii=False)
    assert not list(Path(get_upload_folder()).rglob("机密.md"))  # no copy was made
    for trick in (f"{tmp_path}/secret/../secret/机密.md", f"{get_upload_folder()}/../../{secret}"):
        assert _run_event(srv.url, fn, [_file_data(trick, "x.md"), "", ""])["success"] is False

    planted = Path(get_upload_folder()) / f"planted-{uuid.uuid4().hex}" / "机密.md"
    planted.parent.mkdir(parents=True)
    planted.write_text(SECRET, encoding="utf-8")
    try:
        status = _status_html(_run_event(srv.url, fn, [_file_data(planted, "x.md"), "", ""]))
        assert 'class="rag-error"' in status and "服务器没有收到过这个文件" in status
        assert planted.exists()  # never deleted either
    finally:
        planted.unlink()
        planted.parent.rmdir()
    assert secret.read_text(encoding="utf-8") == SECRET
    assert sorted(pipe.store.all_ids()) == before and "机密.md" not in _sources(srv.url)
    ans = httpx.post(f"{srv.url}/api/ask", json={"question": "机密测试会议由谁主持？"}, timeout=60).json()
    assert "张秘密" not in json.dumps(ans, ensure_ascii=False) and "蓝色海豚" not in json.dumps(ans, ensure_ascii=False)

    # a normal upload: the page posts the file to Gradio's upload route, then names what it got back
    r = httpx.post(f"{srv.url}/gradio_api/upload", files={"files": ("正常.md", NORMAL.encode("utf-8"))})
    assert r.status_code == 200, r.text
    [received] = r.json()
    status = _status_html(_run_event(srv.url, fn, [_file_data(received, "正常.md"), "", "2024"]))
    assert "已导入 正常.md" in status and "文章 1 篇" in status, status
    assert "正常.md" in _sources(srv.url) and not Path(received).exists()  # the cached copy is deleted
    ans = httpx.post(f"{srv.url}/api/ask", json={"question": "正常上传测试会议由谁主持？"}, timeout=60).json()
    assert ans["citations"][0]["source"] == "正常.md" and "李正常" in ans["citations"][0]["passage"]
    # the same received path cannot be used twice (e.g. replayed by someone who saw it)
    Path(received).write_text(SECRET, encoding="utf-8")
    try:
        status = _status_html(_run_event(srv.url, fn, [_file_data(received, "正常.md"), "", ""]))
        assert "服务器没有收到过这个文件" in status
    finally:
        Path(received).unlink()
    assert pipe.delete_document("正常.md") > 0
    assert sorted(pipe.store.all_ids()) == before


def test_claim_upload_takes_only_received_regular_files_once(tmp_path):
    from ui.access import claim_upload

    real = tmp_path / "a.txt"
    real.write_text("x", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to("/etc/hostname")
    received = {str(real), str(link)}
    assert not claim_upload(received, "/etc/hostname")
    assert not claim_upload(received, str(link))  # a symlink is never followed
    assert claim_upload(received, f"{tmp_path}/./a.txt")  # the same file, spelled differently
    assert not claim_upload(received, str(real))  # once
    assert received == set()


# -- 2. a document is named by its file, never by a field inside it ----------------------------------------
BULLETIN = "绛县新闻-2024年4-5月.txt"
Q_HOST = "招商引资工作推进会议由谁主持？"


def _impostor_line(what: str = "一篇") -> str:
    """One .jsonl line claiming to belong to the bulletin (the issue's ``harmless.jsonl``)."""
    return json.dumps(
        {"title": "假文章", "text": f"本报讯 5月30日，{what}冒名的假文章，内容与招商引资无关。", "source": BULLETIN},
        ensure_ascii=False,
    )


def _assert_bulletin_intact(pipe, bulletin_ids: list[str], url: str | None = None) -> None:
    assert sorted(pipe.store.ids_where({"source": BULLETIN})) == bulletin_ids
    assert {d.source: d.articles for d in pipe.documents()}[BULLETIN] == 5
    answer = (
        httpx.post(f"{url}/api/ask", json={"question": Q_HOST}, timeout=60).json()
        if url
        else pipe.ask(Q_HOST).to_dict()
    )
    assert not answer["abstained"] and answer["answer"].startswith("王辨明"), answer["answer"]


def test_a_jsonl_line_never_renames_or_replaces_another_document(live, tmp_path):
    """The issue's attack through the API and the chat: the line's ``source`` is ignored, the
    upload is its own document, nothing of the bulletin is removed, the question still answers."""
    srv, pipe = live
    bulletin_ids = sorted(pipe.store.ids_where({"source": BULLETIN}))
    line = _impostor_line().encode("utf-8")

    r = httpx.post(f"{srv.url}/api/documents", files={"file": ("harmless.jsonl", line)}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "harmless.jsonl" and r.json()["removed"] == 0 and r.json()["articles"] == 1
    assert {d.source: d.articles for d in pipe.documents()}["harmless.jsonl"] == 1
    _assert_bulletin_intact(pipe, bulletin_ids, srv.url)

    line = _impostor_line("聊天界面上传的").encode("utf-8")
    r = httpx.post(f"{srv.url}/gradio_api/upload", files={"files": ("chat.jsonl", line)})
    status = _status_html(
        _run_event(srv.url, _upload_fn_index(srv.url), [_file_data(r.json()[0], "chat.jsonl"), "", ""])
    )
    assert "chat.jsonl" in status and "删除 0" in status, status
    _assert_bulletin_intact(pipe, bulletin_ids, srv.url)
    for name in ("harmless.jsonl", "chat.jsonl"):
        assert httpx.delete(f"{srv.url}/api/documents/{name}").json()["deleted"] > 0
    _assert_bulletin_intact(pipe, bulletin_ids, srv.url)


def test_rag_ingest_names_documents_by_their_files(tmp_path, embed_cache):
    """The same through ``rag ingest``, for a parsed .jsonl and a streamed .jsonl.gz."""
    import gzip

    from typer.testing import CliRunner

    from rag.cli import app
    from rag.settings import build_pipeline
    from tests.conftest import CORPUS, SEED, make_settings

    env = {
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBED_CACHE": str(embed_cache),
        "RAG_DICT": str(CORPUS / "dict.txt"),
    }
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(SEED)], env=env).exit_code == 0
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "harmless.jsonl").write_text(_impostor_line() + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "in" / "archive.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(_impostor_line("压缩包里") + "\n")
    files = [str(tmp_path / "in" / "harmless.jsonl"), str(tmp_path / "in" / "archive.jsonl.gz")]  # .gz: streamed
    r = runner.invoke(app, ["ingest", *files, "--json", "--workers", "1"], env=env)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["removed"] == 0 and report["articles"] == 2
    docs = {
        d["source"]: d["articles"] for d in json.loads(runner.invoke(app, ["docs", "list", "--json"], env=env).stdout)
    }
    assert docs == {BULLETIN: 5, "harmless.jsonl": 1, "archive.jsonl.gz": 1}
    pipe = build_pipeline(make_settings(tmp_path / "data", embed_cache))
    _assert_bulletin_intact(pipe, sorted(pipe.store.ids_where({"source": BULLETIN})))


# -- 3. docs behind the key, throttled guessing, Host header, no key in the log ----------------------------
KEY = "s3cret-key-20"


@pytest.fixture(scope="module")
def keyed(seed_settings, seed_pipeline):
    """The seed store served with a key on every route (``RAG_API_KEY_ALL=1``)."""
    from dataclasses import replace

    return replace(seed_settings, api_key=KEY, api_key_all=True), seed_pipeline


def test_docs_and_openapi_need_the_key_when_every_route_does(keyed):
    """``/docs``, ``/redoc``, ``/openapi.json`` (also under the root path) ask a browser for the key
    (HTTP Basic: any user name, the key as password) and take the usual headers too."""
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from rag.api import create_app

    settings, pipe = keyed
    for root in ("", "/rag"):
        c = TestClient(create_app(replace(settings, root_path=root), pipe))
        for path in (f"{root}/docs", f"{root}/redoc", f"{root}/openapi.json", "/openapi.json"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic"), (path, r.text)
            assert r.json()["error"]["code"] == "unauthorized" and "密码填 RAG_API_KEY" in r.json()["error"]["message"]
            assert c.get(path, auth=("任意", "wrong")).status_code == 403
            assert c.get(path, auth=("anyone", KEY)).status_code == 200
            assert c.get(path, headers={"X-API-Key": KEY}).status_code == 200
        assert KEY not in c.get(f"{root}/openapi.json", auth=("x", KEY)).text
        assert c.get("/api/health", auth=("x", KEY)).status_code == 200  # Basic works on the API too
    open_settings = replace(settings, api_key_all=False)  # without RAG_API_KEY_ALL the docs stay open
    assert TestClient(create_app(open_settings, pipe)).get("/docs").status_code == 200


def test_wrong_keys_are_throttled_per_client(keyed):
    """200 wrong keys: from the 11th on the client gets 429 ``too_many_attempts`` with
    Retry-After, even with the right key, while another client is unaffected; the window passes."""
    from fastapi.testclient import TestClient

    from rag.api import create_app

    settings, pipe = keyed
    app = create_app(settings, pipe)
    now = [1000.0]  # a clock the test moves: the window (60 s) passes only when it says so
    app.state.key_attempts.clock = lambda: now[0]
    guesser = TestClient(app, client=("10.0.0.66", 50000))
    codes = [guesser.get("/api/health", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(200)]
    assert codes[:10] == [403] * 10 and set(codes[10:]) == {429}
    r = guesser.get("/api/health", headers={"X-API-Key": KEY})
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
    assert "秒后再试" in r.json()["error"]["message"] and 1 <= int(r.headers["retry-after"]) <= 60
    assert (
        guesser.post("/api/ask", json={"question": "x"}, headers={"Authorization": f"Bearer {KEY}"}).status_code == 429
    )
    assert guesser.get("/docs", auth=("x", "guess")).status_code == 429
    staff = TestClient(app, client=("10.0.0.7", 50000))
    assert staff.get("/api/health", headers={"X-API-Key": KEY}).status_code == 200
    now[0] += 59.0
    assert guesser.get("/api/health", headers={"X-API-Key": KEY}).status_code == 429
    now[0] += 1.1
    assert guesser.get("/api/health", headers={"X-API-Key": KEY}).status_code == 200


def test_chat_login_upload_route_and_key_box_are_throttled(keyed, tmp_path):
    """The other places a key is typed: Gradio's login form (``RAG_API_KEY_ALL``), the chat's
    upload route (key in a cookie) and the documents tab's key box (upload, delete, unlock)."""
    from rag.errors import StoreError
    from rag.service import KeyAttempts, PipelineHolder
    from ui.access import unlock_upload
    from ui.app import make_doc_fns

    settings, pipe = keyed
    app = create_server(settings, pipe)
    app.state.key_attempts.max_failures = 3
    with LiveServer(app) as srv:
        login = [
            httpx.post(f"{srv.url}/login", data={"username": "a", "password": f"g{i}"}).status_code for i in range(5)
        ]
        assert login[:3] == [400] * 3 and login[3:] == [429, 429]
        r = httpx.post(f"{srv.url}/login", data={"username": "a", "password": KEY})
        assert r.status_code == 429 and "秒后再试" in r.text and int(r.headers["retry-after"]) >= 1
        up = httpx.post(f"{srv.url}/gradio_api/upload", files={"files": ("a.txt", b"x")}, cookies={"rag_key": KEY})
        assert up.status_code == 429  # the same client address (127.0.0.1) is throttled everywhere

    def no_store(_settings):  # the key is checked first: a throttled call never reaches the store
        raise StoreError("测试：不应打开向量库。")

    attempts = KeyAttempts(max_failures=3)
    received: set[str] = set()
    _refresh, upload, delete = make_doc_fns(PipelineHolder(settings, None, no_store), settings, received, attempts)
    assert not unlock_upload(settings, KEY[:5], attempts, "").interactive  # a prefix while typing: not counted
    assert attempts.wait("") == 0 and unlock_upload(settings, KEY, attempts, "").interactive
    assert not unlock_upload(settings, KEY[:-1] + "x", attempts, "").interactive  # counted
    for _ in range(2):  # request None in a direct call: client ""
        assert "管理密钥不正确" in delete("绛县新闻-2024年4-5月.txt", "wrong-key-guess")[2]
    path = tmp_path / "k.txt"
    path.write_text("# 标题\n\n本报讯 正文。\n", encoding="utf-8")
    received.add(str(path))
    assert "秒后再试" in upload(str(path), KEY)[3]
    assert not unlock_upload(settings, KEY, attempts, "").interactive  # throttled: stays closed
    assert unlock_upload(settings, KEY, attempts, "10.1.1.1").interactive  # another client


def test_host_header_is_checked_against_dns_rebinding(seed_settings, seed_pipeline):
    """A page on another site whose name now points at the server (DNS rebinding) sends its own
    name as ``Host``: refused with 400 ``bad_host``; IP literals, localhost and configured names pass."""
    from dataclasses import replace

    from rag.api.security import allowed_hosts, host_allowed

    assert allowed_hosts("", "127.0.0.1") == ["localhost"]
    assert allowed_hosts("rag.county.gov, *.oa.example", "127.0.0.1") == ["localhost", "rag.county.gov", "*.oa.example"]
    assert allowed_hosts("", "rag-box") == ["localhost", "rag-box"]
    import socket

    assert socket.gethostname().lower() in allowed_hosts("", "0.0.0.0")
    patterns = allowed_hosts("*.oa.example", "127.0.0.1")
    for ok in ("127.0.0.1:7860", "[::1]:7860", "10.2.3.4", "localhost:7860", "a.oa.example", "LOCALHOST"):
        assert host_allowed(ok, patterns), ok
    for bad in ("evil.example", "evil.example:7860", "oa.example.evil.example", "", "localhost.evil.example"):
        assert not host_allowed(bad, patterns), bad
    assert host_allowed("anything.example", allowed_hosts("*", "127.0.0.1"))

    settings = replace(seed_settings, allowed_hosts="rag.county.gov")
    with LiveServer(create_server(settings, seed_pipeline, bind_host="127.0.0.1")) as srv:
        for path in ("/api/health", "/", "/config", "/docs"):
            r = httpx.get(f"{srv.url}{path}", headers={"Host": "evil.example"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host", (path, r.text[:200])
            assert "RAG_ALLOWED_HOSTS" in r.json()["error"]["message"]
        r = httpx.post(
            f"{srv.url}/api/ask", json={"question": "调研组到了哪些学校？"}, headers={"Host": "evil.example:80"}
        )
        assert r.status_code == 400
        for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", "rag.county.gov"):
            assert httpx.get(f"{srv.url}/api/health", headers={"Host": host}).status_code == 200, host


def test_redact_keys_hides_query_credentials():
    from rag.api.security import RedactKeys

    f = RedactKeys(secrets=[KEY])
    assert f.redact("/api/health") == "/api/health"
    assert f.redact(f"/api/health?api_key={KEY}&x=1") == "/api/health?api_key=***&x=1"
    assert f.redact(f"/api/ask?k={KEY}&token=abc&page=2") == "/api/ask?k=***&token=***&page=2"
    assert KEY not in f.redact(f"/x?q=pre{KEY}post")


@pytest.mark.slow
def test_rag_serve_checks_the_host_and_keeps_keys_out_of_the_access_log(tmp_path, embed_cache):
    """``rag serve`` as run by staff: its default host list comes from ``--host`` (loopback here),
    and a key a client wrongly puts in a query string never reaches the access log."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from tests.conftest import CORPUS

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBED_CACHE": str(embed_cache),
        "RAG_DICT": str(CORPUS / "dict.txt"),
        "RAG_API_KEY": KEY,
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/api/health", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        assert httpx.get(f"{url}/api/health", params={"api_key": KEY, "page": "2"}).status_code == 200
        assert httpx.get(f"{url}/api/health", params={"my": KEY}).status_code == 200
        assert httpx.get(f"{url}/api/health", headers={"Host": "evil.example"}).status_code == 400
        assert httpx.get(f"{url}/api/health", headers={"Host": f"localhost:{port}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    text = log.read_text()
    assert "/api/health?api_key=***&page=2" in text and "/api/health?my=***" in text, text[-2000:]
    assert KEY not in text and "接受的主机名" in text


# -- 9. no 500 from long histories or lone surrogates; a 500 keeps the connection ---------------------------
def test_a_1000_turn_history_is_answered_everywhere(live):
    """The follow-up rewrite resolved a chain of follow-ups recursively: 1,000 turns went past
    Python's recursion limit (500 on every route). The pipeline now uses the last
    ``MAX_HISTORY_TURNS``; the follow-up still resolves."""
    from rag.pipeline import MAX_HISTORY_TURNS

    srv, pipe = live
    history = ["他强调了什么？"] * 990 + ["李晓军5月份调研了哪些地方？", "他强调了什么？"] * 5  # 1,000 turns
    standalone = pipe.ask("他强调了什么？", history).standalone_question  # the rewrite's own wording
    assert standalone.startswith("李晓军") and standalone.endswith("强调了什么？"), standalone
    assert pipe.ask("他强调了什么？", ["他强调了什么？"] * 1000).question == "他强调了什么？"  # no referent: no error
    assert 5 <= MAX_HISTORY_TURNS <= 50
    body = {"question": "他强调了什么？", "history": history}
    r = httpx.post(f"{srv.url}/api/ask", json=body, timeout=60)
    assert r.status_code == 200 and r.json()["standalone_question"] == standalone, r.text[:300]
    r = httpx.post(f"{srv.url}/api/ask/stream", json=body, timeout=60)
    assert r.status_code == 200 and "event: final" in r.text and "internal_error" not in r.text
    messages = [{"role": "user", "content": h} for h in history] + [{"role": "user", "content": "他强调了什么？"}]
    for stream in (False, True):
        r = httpx.post(f"{srv.url}/v1/chat/completions", json={"messages": messages, "stream": stream}, timeout=60)
        assert r.status_code == 200 and "internal_error" not in r.text, r.text[:300]


def test_lone_surrogates_are_replaced_not_a_500(live, tmp_path):
    """``"\\ud800"`` is valid JSON but no Unicode text: it could not be written to the feedback
    file (500 before). Every string of a JSON body becomes a scalar value string (U+FFFD)."""
    srv, pipe = live
    raw = '{"vote": "wrong", "question": "李晓军\\ud800调研了哪些地方？", "comment": "\\udc00错\\ud83d"}'
    r = httpx.post(f"{srv.url}/api/feedback", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["question"] == "李晓军\ufffd调研了哪些地方？" and r.json()["comment"] == "\ufffd错\ufffd"
    settings = srv.app.state.settings
    lines = settings.feedback_path.read_bytes().decode("utf-8").splitlines()  # valid UTF-8
    assert json.loads(lines[-1])["comment"] == "\ufffd错\ufffd"
    for raw in (
        '{"question": "李晓军\\ud800调研了哪些地方？"}',
        '{"question": "他强调了什么？", "history": ["李晓军\\udfff调研"]}',
        '{"question": "问", "date_from": "\\ud800"}',
    ):
        r = httpx.post(f"{srv.url}/api/ask", content=raw, headers={"content-type": "application/json"}, timeout=60)
        assert r.status_code in (200, 422) and "internal_error" not in r.text, (raw, r.text[:200])
        r.content.decode("utf-8")
    raw = '{"messages": [{"role": "user", "content": "李晓军\\ud800调研了哪些地方？"}]}'
    r = httpx.post(
        f"{srv.url}/v1/chat/completions", content=raw, headers={"content-type": "application/json"}, timeout=60
    )
    assert r.status_code == 200, r.text[:200]


class _Broken:
    """A pipeline whose every question fails with an unexpected error."""

    embedder = type("E", (), {"id": "x"})()

    def ask(self, *a, **kw):
        raise RuntimeError("boom")


def test_a_500_keeps_the_keep_alive_connection(seed_settings):
    """After an unexpected error the client gets the 500 JSON on an open connection: the next
    request on the same socket is answered (uvicorn closed it before: the app re-raised)."""
    import socket

    with LiveServer(create_server(seed_settings, _Broken())) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as sock:
            f = sock.makefile("rb")
            body = json.dumps({"question": "问题"}).encode()
            for _ in range(2):
                sock.sendall(
                    b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                status = f.readline()
                headers = {}
                while (line := f.readline()) not in (b"\r\n", b""):
                    k, _, v = line.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                reply = json.loads(f.read(int(headers["content-length"])))
                assert status.startswith(b"HTTP/1.1 500") and reply["error"]["code"] == "internal_error"
                assert headers.get("connection", "").lower() != "close"
            sock.sendall(b"GET /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert f.readline().startswith(b"HTTP/1.1 404")  # the same connection still serves
