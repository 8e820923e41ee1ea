"""The text of an alert, the same for e-mail and webhook."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.drivers import metric_filter
from monitor.alerts.params import GAP_METRIC, QUIET_METRIC
from monitor.alerts.series import DAY, day_start
from monitor.classification import filter_clauses
from monitor.models import Alert, Classification, Post
from monitor.privacy import excerpt


@dataclass(frozen=True)
class AlertText:
    """What an alert says, the same for e-mail and webhook."""

    subject: str
    body: str
    fields: dict


def _examples(session: Session, alert: Alert, limit: int = 3) -> list[dict]:
    """A few antisemitic posts of the alert's peak day (of its trigger or category): pseudonymised,
    truncated, with links."""
    day = dt.date.fromisoformat((alert.details or {}).get("day", alert.last_seen_on.isoformat()))
    start = day_start(day)
    top = [t["id"] for t in (alert.details or {}).get("triggers", [])[:1]]
    rows = session.execute(
        select(Post.url, Post.author_pseudonym, Post.text, Classification.category, Classification.triggers,
               Classification.score)
        .join(Classification, Classification.post_id == Post.id)
        .where(Post.country == alert.country, Classification.antisemitic.is_(True),
               Post.published_at >= start, Post.published_at < start + DAY,
               *filter_clauses(session, **metric_filter(alert.metric)))  # before the limit, not after
        .order_by(Classification.score.desc(), Post.id)
        .limit(200)
    ).all()
    # Posts with the top trigger first: they show what drives the rise.
    rows = sorted(rows, key=lambda r: (not (top and top[0] in (r.triggers or [])), -r.score))[:limit]
    return [{"author": (r.author_pseudonym or "unknown")[:12], "excerpt": excerpt(r.text, 160),
             "url": r.url} for r in rows]


def _what(metric: str) -> str:
    kind, _, key = metric.partition(":")
    return {"trigger": f"antisemitic posts about {key}", "category": f"antisemitic posts of category {key}"}.get(
        kind, "antisemitic posts")


def _news(alert: Alert) -> tuple[str, str]:
    """(subject suffix, body sentence) saying why an alert is announced again: it reopened or escalated."""
    if (alert.notice or 1) == 1:
        return "", ""
    if alert.notice_reason == "reopened":
        return " (reopened)", " Reopened: it had been resolved, and it goes on."
    return " (escalated)", f" Escalated: now {alert.severity}."


def _describe_gap(alert: Alert) -> AlertText:
    d = alert.details or {}
    since = d.get("last_success_at") or d.get("last_data_on")
    names = ", ".join(s["name"] for s in d.get("sources", [])) or "its sources"
    who = alert.country if alert.metric in (GAP_METRIC, QUIET_METRIC) else f"{alert.country} source {names}"
    why = {"failing": "its polls fail", "no_posts": (
        f"its sources answer but bring no posts, where their usual volume would have brought at least "
        f"{d.get('expected_posts', 0):g} (a frozen feed, a changed tag, a blocked account?)")}.get(
        d.get("reason"), "it is not being polled")
    errors = sorted({s["last_error"] for s in d.get("sources", []) if s.get("last_error")})
    suffix, news = _news(alert)
    subject = f"[Vigil {alert.severity}] {who}: no data since {since}{suffix}"
    what = "no post collected" if d.get("reason") == "no_posts" else "nothing collected successfully"
    body = (f"{who}: {what} since {since} ({alert.score:g} h); {why}"
            + (f" (last error: {errors[0]})" if errors else "") + ". This is missing data, not a drop "
            f"to zero: check the sources of {alert.country} ({names}).\n"
            f"Alert #{alert.id}, severity {alert.severity}.{news}")
    return AlertText(subject, body, {"alert_id": alert.id, "country": alert.country, "kind": alert.kind,
                                     "metric": alert.metric, "severity": alert.severity, "notice": alert.notice,
                                     "notice_reason": alert.notice_reason,
                                     "last_success_at": since, "sources": d.get("sources", [])})


def describe_alert(session: Session, alert: Alert) -> AlertText:
    """The alert's text: what rose, by how much against what baseline, since when, why, examples."""
    if alert.kind == "no_data":
        return _describe_gap(alert)
    d = alert.details or {}
    ratio = alert.observed / alert.expected if alert.expected > 0 else None
    rise = f"{ratio:.1f}x" if ratio is not None else "from nothing"
    posts = d.get("posts")
    share = f", {alert.observed / posts:.1%} of {posts} posts collected" if posts else ""
    when = (f"in the hour from {d['hour'][11:16]} UTC on {d.get('day')}" if d.get("resolution") == "hour"
            else f"on {d.get('day', alert.last_seen_on)}")
    what = _what(alert.metric)
    suffix, news = _news(alert)
    lines = [
        f"{alert.country}: {alert.observed:g} {what} {when} against {alert.expected:.1f} expected from "
        f"the share of the previous weeks ({rise}{share}).",
        f"Since {alert.started_on}, last seen {alert.last_seen_on}; severity {alert.severity} "
        f"(score {alert.score:.1f}); status {alert.status}.{news}",
    ]
    for label, key in (("Top triggers", "triggers"), ("Top categories", "categories")):
        items = d.get(key) or []
        if items:
            lines.append(f"{label}: " + "; ".join(
                f"{i['id']} {i['antisemitic']} posts" + (f" (lift {i['lift']:g}x)" if i.get("lift") else "")
                for i in items[:3]))
    if d.get("related"):
        lines.append("Also rising in this event: " + ", ".join(_what(m) for m in d["related"]) + ".")
    if d.get("terms"):
        lines.append("Emerging terms: " + ", ".join(f"{t['term']} ({t['posts']} posts)" for t in d["terms"]))
    examples = _examples(session, alert)
    if examples:
        lines.append("Examples (truncated; authors pseudonymised):")
        lines += [f"- [{e['author']}] {e['excerpt']} {e['url'] or ''}".rstrip() for e in examples]
    lines.append(f"Alert #{alert.id}. Acknowledge: vigil alerts ack {alert.id} --by NAME")
    subject = f"[Vigil {alert.severity}] {alert.country}: {what} {rise} since {alert.started_on}{suffix}"
    fields = {"alert_id": alert.id, "country": alert.country, "kind": alert.kind, "metric": alert.metric,
              "severity": alert.severity, "status": alert.status, "notice": alert.notice,
              "notice_reason": alert.notice_reason,
              "started_on": alert.started_on.isoformat(),
              "last_seen_on": alert.last_seen_on.isoformat(), "observed": alert.observed,
              "expected": alert.expected, "score": alert.score, "posts": posts,
              "resolution": d.get("resolution", "day"), "hour": d.get("hour"),
              "triggers": d.get("triggers", []), "categories": d.get("categories", []),
              "terms": d.get("terms", []), "related": d.get("related", []), "examples": examples}
    return AlertText(subject, "\n".join(lines), fields)
