"""Trigger a reclassification (unscoped admins): the workers run their model over outdated posts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from monitor.api.deps import Db, audit
from monitor.api.tokens import GlobalAdmin

router = APIRouter(tags=["classification"])


class Queued(BaseModel):
    task_id: str
    task: str


@router.post("/reclassify", response_model=Queued, status_code=202)
def reclassify(request: Request, session: Db, principal: GlobalAdmin) -> Queued:
    """Queue one task that sends every post not classified by the workers' model and trigger taxonomy to
    classification."""
    from workers.app import app as celery_app

    name = "workers.tasks.reclassify_outdated"
    result = celery_app.send_task(name)
    audit(session, request, principal, "classification.reclassify", "posts", {"task_id": result.id}, status=202)
    return Queued(task_id=result.id, task=name)
