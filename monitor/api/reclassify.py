"""Trigger a reclassification (unscoped admins): the workers run their model over outdated posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from monitor.api.deps import Db, audit
from monitor.api.errors import ApiError
from monitor.api.tokens import GlobalAdmin

router = APIRouter(tags=["classification"])


class Queued(BaseModel):
    task_id: str
    task: str


@router.post("/reclassify", response_model=Queued, status_code=202)
def reclassify(request: Request, session: Db, principal: GlobalAdmin,
               model_version: Annotated[str | None, Query(min_length=1, max_length=64)] = None) -> Queued:
    """Queue one task that sends every post not classified by the workers' model and trigger taxonomy to
    classification. With `model_version`, only a worker whose model has that version runs it (as
    `vigil reclassify --model-version`); a worker with another model leaves it to one that has it."""
    from monitor.reports.methodology import read_model_card
    from workers.app import app as celery_app

    if model_version is not None:  # the card names the version: no need to load the model into the API
        card = read_model_card(request.app.state.settings.model_dir)
        if card is None:
            raise ApiError(503, "model_card_unreadable", "the configured model's card cannot be read")
        if card.version != model_version:
            raise ApiError(409, "model_version_mismatch", f"the configured model is {card.version}, not {model_version}")
    name = "workers.tasks.reclassify_outdated"
    result = celery_app.send_task(name, args=[model_version] if model_version else [])
    audit(session, request, principal, "classification.reclassify", "posts",
          {"task_id": result.id, "model_version": model_version}, status=202)
    return Queued(task_id=result.id, task=name)
