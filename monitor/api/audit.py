"""The audit log: every write, and every refused request, with who, what and when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from monitor.models import AuditEvent


def record_event(session: Session, *, action: str, method: str, path: str, status: int,
                 token_id: int | None = None, actor: str | None = None, target: str | None = None,
                 detail: dict | None = None) -> None:
    """Add one audit event to the session's transaction (never post texts or secrets in `detail`)."""
    session.add(AuditEvent(at=dt.datetime.now(dt.timezone.utc), token_id=token_id, actor=actor, action=action,
                           method=method[:10], path=path[:500], status=status, target=target, detail=detail or {}))
