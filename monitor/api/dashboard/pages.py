"""The pages: overview of countries, a country, an alert, the review queue; and their forms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from monitor.alerts import describe_alert
from monitor.api.alerts import change_alert, visible_alert
from monitor.api.dashboard.charts import trend_svg
from monitor.api.dashboard.login import PagePrincipal
from monitor.api.dashboard.render import check_csrf, render
from monitor.api.dashboard.summary import Window, breakdown, country_alerts, country_rows, emerging_terms
from monitor.api.deps import Db, Principal, audit
from monitor.api.errors import ApiError, forbidden
from monitor.api.posts import explain, get_visible_post, visible_text
from monitor.api.trends import trend_points
from monitor.countries import CountryError, validate_country
from monitor.labels import LabelError, add_label, disputed_posts, label_categories, labels_of, review_queue
from monitor.models import Post

router = APIRouter(include_in_schema=False)
TREND_WEEKS = 12
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PostId = Annotated[int, Path(ge=1, le=2**62)]
CsrfField = Annotated[str, Form(max_length=100)]


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _analyst(principal: Principal) -> None:
    if not principal.can("analyst"):
        raise forbidden("this needs the analyst role")


@router.get("/")
def overview(request: Request, session: Db, principal: PagePrincipal):
    window = Window(_today())
    return render(request, "overview.html", window=window, rows=country_rows(session, principal.countries, window))


@router.get("/countries/{country}")
def country_page(request: Request, session: Db, principal: PagePrincipal,
                 country: Annotated[str, Path(min_length=2, max_length=2)]):
    try:
        cc = validate_country(country)
    except CountryError:
        raise ApiError(404, "not_found", "no such country") from None
    principal.check_row(cc)
    window = Window(_today())
    start = window.end - dt.timedelta(weeks=TREND_WEEKS)
    points = trend_points(session, [cc], start - dt.timedelta(days=start.weekday()), window.end, resolution="week")
    return render(request, "country.html", country=cc, window=window,
                  chart=trend_svg(points, f"{cc}: antisemitic posts per week"),
                  categories=breakdown(session, cc, window, "category"),
                  triggers=breakdown(session, cc, window, "trigger"),
                  terms=emerging_terms(session, cc), alerts=country_alerts(session, cc))


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, session: Db, principal: PagePrincipal, alert_id: AlertId):
    alert = visible_alert(session, principal, alert_id)
    return render(request, "alert.html", alert=alert, text=describe_alert(session, alert))


@router.post("/alerts/{alert_id}/{action}")
def alert_action(request: Request, session: Db, principal: PagePrincipal, alert_id: AlertId,
                 action: Annotated[str, Path(pattern="^(acknowledge|resolve)$")], csrf_token: CsrfField = ""):
    check_csrf(request, csrf_token)
    _analyst(principal)
    change_alert(session, request, principal, alert_id, action)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.get("/review")
def review_page(request: Request, session: Db, principal: PagePrincipal):
    items = review_queue(session, principal.countries)
    disputed_ids = disputed_posts(session, principal.countries)
    by_id = {post.id: post for post in session.scalars(select(Post).where(Post.id.in_(disputed_ids)))}
    disputed = [by_id[i] for i in disputed_ids]
    labels = labels_of(session, disputed_ids)
    return render(request, "review.html", items=items, explain=explain, disputed=disputed, labels=labels,
                  can_label=principal.can("analyst"), categories=label_categories(),
                  shown=lambda text: visible_text(text, principal))


@router.post("/review/{post_id}")
def label_from_queue(request: Request, session: Db, principal: PagePrincipal, post_id: PostId,
                     verdict: Annotated[str, Form(pattern="^(yes|no)$")], csrf_token: CsrfField = "",
                     category: Annotated[str, Form(max_length=32)] = "",
                     triggers: Annotated[str, Form(max_length=500)] = "",
                     note: Annotated[str, Form(max_length=2000)] = ""):
    check_csrf(request, csrf_token)
    _analyst(principal)
    post = get_visible_post(session, principal, post_id)
    antisemitic = verdict == "yes"
    try:
        label = add_label(session, post.id, antisemitic, category if antisemitic else None,
                          [t.strip() for t in triggers.split(",") if t.strip()], note,
                          by=principal.name, token_id=principal.token_id)
    except LabelError as exc:
        raise ApiError(422, "invalid_label", str(exc)) from None
    audit(session, request, principal, "label.create", f"post:{post.id}",
          {"antisemitic": label.antisemitic, "category": label.category}, status=303)
    return RedirectResponse("/review", status_code=303)
