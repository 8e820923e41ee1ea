"""Admin writes: subscribers (scoped like everything else) and triggering a reclassification."""

from __future__ import annotations

from sqlalchemy import select

from monitor.models import AuditEvent, Subscriber
from tests.test_api_support import bearer

pytest_plugins = ["tests.test_api_support"]  # fixtures: client, seeded

NEW = {"email": "Analyst@NGO.example", "countries": ["am", "GE"], "min_severity": "high",
       "timezone": "Asia/Yerevan", "report_weekday": 0, "report_hour": 9}


def test_admin_manages_subscribers(client, seeded, db_session):
    admin = bearer(seeded.tokens["admin"])
    made = client.post("/api/v1/subscribers", json=NEW, headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["email"] == "analyst@ngo.example" and body["countries"] == ["AM", "GE"]
    assert client.post("/api/v1/subscribers", json=NEW, headers=admin).status_code == 409
    patched = client.patch(f"/api/v1/subscribers/{body['id']}", json={"active": False, "min_severity": "critical"},
                           headers=admin)
    assert patched.json()["active"] is False and patched.json()["min_severity"] == "critical"
    assert db_session.get(Subscriber, body["id"]).active is False
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert {"subscriber.create", "subscriber.update"} <= actions
    listed = client.get("/api/v1/subscribers", headers=admin).json()
    assert "analyst@ngo.example" in [s["email"] for s in listed]


def test_subscriber_input_is_checked(client, seeded):
    admin = bearer(seeded.tokens["admin"])
    for bad in ({**NEW, "countries": ["XX"]}, {**NEW, "timezone": "Mars/Olympus"}, {**NEW, "report_hour": 24},
                {**NEW, "email": "not-an-address"}, {**NEW, "webhook_url": "http://plain.example"}):
        assert client.post("/api/v1/subscribers", json=bad, headers=admin).status_code == 422, bad


def test_scoped_admin_sees_and_changes_only_its_countries(client, seeded, db_session):
    am_admin = bearer(seeded.tokens["am_admin"])
    listed = client.get("/api/v1/subscribers", headers=am_admin).json()
    assert [s["countries"] for s in listed] == [["AM"]]
    assert client.post("/api/v1/subscribers", json=NEW, headers=am_admin).status_code == 403
    de = client.get("/api/v1/subscribers", headers=bearer(seeded.tokens["admin"])).json()
    de_id = next(s["id"] for s in de if s["countries"] == ["DE"])
    assert client.patch(f"/api/v1/subscribers/{de_id}", json={"active": False}, headers=am_admin).status_code == 403
    assert client.get("/api/v1/subscribers", headers=bearer(seeded.tokens["analyst"])).status_code == 403
    # No countries would mean no scope at all (a subscriber in every admin's scope): refused.
    am_id = listed[0]["id"]
    assert client.patch(f"/api/v1/subscribers/{am_id}", json={"countries": []}, headers=am_admin).status_code == 422
    assert client.patch(f"/api/v1/subscribers/{am_id}", json={"countries": ["DE"]}, headers=am_admin).status_code == 403
    nowhere = Subscriber(email="nowhere@example.org", countries=[])  # as an older row or a direct write may hold
    db_session.add(nowhere)
    db_session.flush()
    assert "nowhere@example.org" not in [s["email"] for s in client.get("/api/v1/subscribers", headers=am_admin).json()]
    assert client.patch(f"/api/v1/subscribers/{nowhere.id}", json={"active": False}, headers=am_admin).status_code == 403


def test_reclassify_is_queued_for_unscoped_admins_only(client, seeded, db_session):
    queued = client.post("/api/v1/reclassify", headers=bearer(seeded.tokens["admin"]))
    assert queued.status_code == 202 and queued.json()["task"] == "workers.tasks.reclassify_outdated"
    assert "classification.reclassify" in set(db_session.scalars(select(AuditEvent.action)))
    assert client.post("/api/v1/reclassify", headers=bearer(seeded.tokens["am_admin"])).status_code == 403
    assert client.post("/api/v1/reclassify", headers=bearer(seeded.tokens["analyst"])).status_code == 403
    from classifiers.artifacts import load_model

    typo = client.post(f"/api/v1/reclassify?model_version={load_model().version}-typo",
                       headers=bearer(seeded.tokens["admin"]))
    assert typo.status_code == 409 and f"not {load_model().version}-typo" in typo.json()["error"]["message"]
    versioned = client.post(f"/api/v1/reclassify?model_version={load_model().version}",
                            headers=bearer(seeded.tokens["admin"]))
    assert versioned.status_code == 202
    details = db_session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "classification.reclassify")
                                 .order_by(AuditEvent.id.desc())).first()
    assert details == {"task_id": versioned.json()["task_id"], "model_version": load_model().version}
