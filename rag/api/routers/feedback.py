"""``POST /api/feedback``: a vote (有用 / 有误) on an answer, kept in the data dir (``rag.feedback``);
``rag feedback export`` turns the 有误 ones into evaluation dataset lines."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...feedback import FeedbackStore, make_feedback
from ..deps import settings_of, write_access
from ..schemas import FeedbackRequest, history_texts

router = APIRouter(prefix="/api", tags=["评价"])


@router.post("/feedback", dependencies=write_access, status_code=201, summary="评价一个答案（有用 / 有误）")
async def give_feedback(body: FeedbackRequest, request: Request) -> dict:
    """The body is the answer as ``POST /api/ask`` returned it (``question``, ``answer``,
    ``standalone_question``, ``abstained``, ``citations``; other fields are ignored) plus
    ``vote`` (``useful`` 有用 or ``wrong`` 有误) and optionally ``comment`` and ``history``
    (the earlier questions, as for ``/api/ask``). Same key rule as other writes.
    Returns the stored record (``id``, ``time``, ``vote``, …), status 201."""
    fb = make_feedback(
        body.model_dump(exclude={"history"}),
        body.vote,
        comment=body.comment,
        history=history_texts(body.history),
        channel="api",
    )
    await run_in_threadpool(FeedbackStore(settings_of(request).feedback_path).add, fb)
    return fb.to_dict()
