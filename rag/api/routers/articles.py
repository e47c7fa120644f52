"""``PATCH /api/articles/{id}``: correct an article's title, date or author (``rag.corrections``).
The articles themselves are listed under ``GET /api/documents`` (``article_list``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...service import correct_article
from ..deps import holder_of, write_access

router = APIRouter(prefix="/api/articles", tags=["文档"])


class ArticleCorrection(BaseModel):
    """Body of ``PATCH /api/articles/{id}``: the fields to correct; a field left out is kept."""

    title: str | None = Field(default=None, description="标题")
    date: str | None = Field(default=None, description="日期 YYYY-MM-DD；空字符串表示日期不详")
    author: str | None = Field(default=None, description="作者；空字符串表示没有署名")


@router.patch("/{article_id}", dependencies=write_access, summary="更正一篇文章的标题、日期或作者")
async def patch_article(article_id: str, body: ArticleCorrection, request: Request) -> dict:
    """Store the corrected fields in the archive: date filters, citations and listings use them
    at once, and an ingest of the same file again keeps them. Same key rule as other writes.
    Returns ``{"id", "title", "date", "author", "source", "chunks", "corrected"}``; 404 for an
    unknown article id, 422 ``bad_date`` / ``bad_request`` for a bad value or nothing to change."""
    changes = body.model_dump(exclude_none=True)
    return await run_in_threadpool(lambda: correct_article(holder_of(request), article_id, **changes))
