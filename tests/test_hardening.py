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
    from ui.app import claim_upload

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
