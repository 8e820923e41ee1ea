"""The dashboard through its HTTP surface: login, cookies, CSRF, escaping, CSP, scope, the forms."""

from __future__ import annotations

import re

from sqlalchemy import select

from monitor.models import Alert, AuditEvent, Label

pytest_plugins = ["tests.test_api_support"]  # fixtures: client, seeded

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    return CSRF.search(html).group(1)


def login(client, secret: str):
    page = client.get("/login")
    r = client.post("/login", data={"token": secret, "csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return r


def test_login_sets_a_strict_cookie_and_every_page_a_csp(client, seeded, db_session):
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp
    r = login(client, seeded.tokens["analyst"])
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert seeded.tokens["analyst"] not in r.headers["set-cookie"]
    home = client.get("/")
    assert home.status_code == 200 and "Armenia" in home.text and "Germany" in home.text
    assert [e.action for e in db_session.scalars(select(AuditEvent))] == ["login"]


def test_pages_need_a_login_and_a_bad_token_is_audited(client, seeded, db_session):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = client.get("/login")
    bad = client.post("/login", data={"token": "vgl_nope", "csrf_token": _csrf(page.text)})
    assert bad.status_code == 401 and "not valid" in bad.text
    assert "login_failed" in [e.action for e in db_session.scalars(select(AuditEvent))]


def test_forms_without_the_csrf_token_are_refused(client, seeded, db_session):
    assert client.post("/login", data={"token": seeded.tokens["analyst"]}).status_code == 403
    login(client, seeded.tokens["analyst"])
    alert_id = seeded.alerts["AM"]
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post(f"/alerts/{alert_id}/acknowledge", data=data)
        assert r.status_code == 403 and "reload the page" in r.text
    assert db_session.get(Alert, alert_id).status == "open"


def test_hostile_post_text_is_escaped_and_no_script_is_inline(client, seeded):
    login(client, seeded.tokens["analyst"])
    html = client.get("/review").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img" not in html and '<script>alert' not in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']
    assert not re.search(r"<[^>]+\son\w+=", html)  # no event-handler attributes in any tag
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")


def test_country_page_has_chart_breakdowns_terms_and_alerts(client, seeded):
    login(client, seeded.tokens["viewer"])
    html = client.get("/countries/AM").text
    assert "<svg" in html and "conspiracy" in html and "israel_azerbaijan_ties" in html
    assert "term-am" in html and f'href="/alerts/{seeded.alerts["AM"]}"' in html
    assert client.get("/countries/ZZ").status_code == 404


def test_acknowledge_and_label_from_the_pages(client, seeded, db_session):
    login(client, seeded.tokens["analyst"])
    alert_id = seeded.alerts["AM"]
    page = client.get(f"/alerts/{alert_id}")
    r = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": _csrf(page.text)}, follow_redirects=True)
    assert r.status_code == 200 and 'id="alert-status">acknowledged' in r.text and "acknowledged by analyst" in r.text
    review = client.get("/review").text
    post_id = int(re.search(r'action="/review/(\d+)"', review).group(1))
    r = client.post(f"/review/{post_id}", data={"csrf_token": _csrf(review), "verdict": "yes",
                                                "category": "conspiracy", "triggers": "", "note": "n"},
                    follow_redirects=False)
    assert r.status_code == 303
    label = db_session.scalar(select(Label).where(Label.post_id == post_id))
    assert (label.antisemitic, label.category, label.labelled_by) == (True, "conspiracy", "analyst")
    assert f'action="/review/{post_id}"' not in client.get("/review").text


def test_viewers_and_scoped_tokens_stay_in_their_lane(client, seeded):
    login(client, seeded.tokens["am_viewer"])
    home = client.get("/").text
    assert "Armenia" in home and "Germany" not in home
    assert client.get("/countries/DE").status_code == 403
    assert client.get(f"/alerts/{seeded.alerts['DE']}").status_code == 403
    review = client.get("/review").text
    assert " DE " not in review and "Antisemitic</button>" not in review
    page = client.get(f"/alerts/{seeded.alerts['AM']}")
    assert 'id="acknowledge"' not in page.text
    r = client.post(f"/alerts/{seeded.alerts['AM']}/acknowledge", data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 403


def test_logout_ends_the_session(client, seeded):
    login(client, seeded.tokens["viewer"])
    page = client.get("/")
    assert client.post("/logout", data={"csrf_token": _csrf(page.text)}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_token_logs_the_browser_out(client, seeded, db_session):
    import datetime as dt

    from monitor.models import ApiToken

    login(client, seeded.tokens["viewer"])
    db_session.get(ApiToken, seeded.token_ids["viewer"]).revoked_at = dt.datetime.now(dt.timezone.utc)
    db_session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_viewers_read_excerpts_in_the_review_queue_and_analysts_the_whole_post(client, seeded, db_session):
    """As in the API: a viewer, who cannot label, reads 280 characters of a post; an analyst reads all of it."""
    from monitor.models import Post

    post = db_session.get(Post, seeded.posts["AM"][0])  # score 0.5: at the head of the review queue
    post.text = "A long post about the budget. " * 12 + "THE-END-OF-THE-POST"
    db_session.flush()
    login(client, seeded.tokens["am_viewer"])
    viewer = client.get("/review").text
    assert "A long post about the budget." in viewer and "THE-END-OF-THE-POST" not in viewer
    client.post("/logout", data={"csrf_token": _csrf(client.get("/").text)})
    login(client, seeded.tokens["am_analyst"])
    assert "THE-END-OF-THE-POST" in client.get("/review").text
