"""The desk's alert list (/desk/alerts) and the admin's ingest keys of an organization."""

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.extensions import db
from app.models import IngestKey, Organization
from app.services.monitoring import ingest as service
from app.testkit.helpers import csrf_token

NOW = datetime(2026, 11, 25, 3, 0)  # 12:00 JST


def alert(severity, rule_id, source="edr", host="pc-01", rule_name=None):
    return {"source": source, "sensor": "sensor-1", "severity": severity, "rule_id": rule_id,
            "rule_name": rule_name or f"Rule {rule_id}", "hosts": [host],
            "occurred_at": "2026-11-25T02:59:00Z"}


def ingest(app, organization_id, *alerts, now=NOW):
    """Send the alerts as org's sensor; their ids."""
    with app.app_context():
        key = service.create_ingest_key(db.session.get(Organization, organization_id))
        result = service.ingest(key, "application/json", json.dumps(list(alerts)).encode(),
                                now=now).as_json()
        db.session.remove()
    return [a["id"] for a in result["alerts"]]


def rows(page):
    """The alert ids of the list, in order."""
    return [int(i) for i in re.findall(r'<tr data-alert="(\d+)"', page.text)]


@pytest.fixture
def stored(app, world):
    """Org A: a critical edr alert seen twice (with an incident), a low wazuh one; org B: a
    high one. {name: id}."""
    a = ingest(app, world.org_a, alert("critical", "C1"), alert("critical", "C1"),
               alert("low", "W1", source="wazuh", host="srv-01"))
    b = ingest(app, world.org_b, alert("high", "H1", host="pc-b"))
    return {"a_critical": a[0], "a_wazuh": a[2], "b_high": b[0]}


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin"])
def test_staff_see_every_alert_newest_first_with_its_sightings(login, world, stored, role):
    page = login(world.emails[role]).get("/desk/alerts?lang=en")
    assert page.status_code == 200
    assert rows(page) == [stored["b_high"], stored["a_wazuh"], stored["a_critical"]]
    critical = page.text.split(f'data-alert="{stored["a_critical"]}"')[1].split("</tr>")[0]
    assert '<td class="count">2</td>' in critical
    assert critical.count("2026-11-25 12:00 JST") == 2  # first and last seen, in Japan time
    assert "pc-01" in critical and "Rule C1" in critical and "甲商事" in critical
    assert re.search(r'href="/desk/incidents/\d+">INC-2026-\d{6}</a>', critical)


def test_an_alert_without_an_incident_has_no_link(login, world, stored):
    page = login(world.emails["desk"]).get("/desk/alerts")
    wazuh = page.text.split(f'data-alert="{stored["a_wazuh"]}"')[1].split("</tr>")[0]
    assert "/desk/incidents/" not in wazuh


@pytest.mark.parametrize(("query", "names"), [
    ("severity=low", ["a_wazuh"]), ("source=wazuh", ["a_wazuh"]),
    ("organization_id={org_a}", ["a_wazuh", "a_critical"]),
    ("organization_id={org_b}&severity=high", ["b_high"]), ("source=nothing", []),
    ("organization=甲商", ["a_wazuh", "a_critical"]), ("organization=乙工業", ["b_high"]),
    ("organization=%25", []),  # a literal %, not a wildcard
])
def test_the_filters_narrow_the_list(login, world, stored, query, names):
    query = query.format(org_a=world.org_a, org_b=world.org_b)
    page = login(world.emails["desk"]).get(f"/desk/alerts?{query}")
    assert rows(page) == [stored[name] for name in names]


def test_the_older_alerts_link_continues_after_the_last_row(app, login, world, monkeypatch):
    from app.web.desk import alerts as view

    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    ids = ingest(app, world.org_a, *(alert("low", f"R{n}") for n in range(5)))
    client = login(world.emails["desk"])
    page, seen = client.get("/desk/alerts?severity=low"), []
    while True:
        seen += rows(page)
        more = re.search(r'href="(/desk/alerts\?[^"]*cursor=[^"]*)"', page.text)
        if more is None:
            break
        assert "severity=low" in more.group(1)  # the filters stay on the next page
        page = client.get(more.group(1).replace("&amp;", "&"))
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize("query", ["severity=urgent", "cursor=not-a-cursor",
                                   "organization=" + "x" * 101])
def test_a_bad_filter_is_explained_and_the_list_shown_unfiltered(login, world, stored, query):
    client = login(world.emails["desk"])
    answer = client.get(f"/desk/alerts?{query}&lang=en")
    assert answer.status_code == 302 and answer.location.endswith("/desk/alerts")
    page = client.get("/desk/alerts?lang=en")
    assert "flash error" in page.text and len(rows(page)) == 3


def test_text_from_a_sensor_is_escaped(app, login, world):
    ingest(app, world.org_a, alert("low", "X1", rule_name="<script>alert(1)</script>"))
    page = login(world.emails["desk"]).get("/desk/alerts")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.parametrize("role", ["technician", "insurer", "customer"])
def test_other_roles_may_not_see_the_alert_list(login, world, stored, role):
    client = login(world.emails[role])
    assert client.get("/desk/alerts").status_code == 403
    assert 'href="/desk/alerts"' not in client.get("/report").text


def refuse(app, organization_id, body, content_type="application/json"):
    """Send a bad body as org's sensor; the error's reason."""
    with app.app_context():
        key = service.create_ingest_key(db.session.get(Organization, organization_id))
        with pytest.raises(InvalidInput) as refused:
            service.ingest(key, content_type, body, now=NOW)
        db.session.remove()
    return refused.value.details["reason"]


def test_refused_payloads_are_listed_for_the_desk_escaped_with_their_reason(app, login, world):
    refuse(app, world.org_a, b'{"source": "edr", "severity": "critical"')  # cut short
    refuse(app, world.org_b, b"<script>alert(1)</script>" + b"x" * 5000, "text/plain")
    page = login(world.emails["desk"]).get("/desk/alerts/refused?lang=en")
    assert page.status_code == 200
    assert page.text.count("<tr data-refused=") == 2
    assert page.text.index("&lt;script&gt;") < page.text.index("{&#34;source&#34;")  # newest first
    assert "<script>alert(1)" not in page.text
    assert "first 4096 bytes" in page.text and "x" * 4100 not in page.text
    assert 'href="/desk/alerts/refused"' in login(world.emails["desk"]).get("/desk/alerts").text


@pytest.mark.parametrize("role", ["technician", "insurer", "customer"])
def test_other_roles_may_not_see_refused_payloads(app, login, world, role):
    refuse(app, world.org_a, b"not json")
    assert login(world.emails[role]).get("/desk/alerts/refused").status_code == 403


def test_staff_have_the_alerts_link_in_the_menu(login, world):
    assert 'href="/desk/alerts"' in login(world.emails["desk"]).get("/desk/").text


# ---------------------------------------------------------------- ingest keys (admin)


def keys_path(world):
    return f"/admin/organizations/{world.org_a}/ingest-keys"


def key_rows(app):
    with app.app_context():
        result = [(k.prefix, k.revoked_at is not None) for k in
                  db.session.scalars(select(IngestKey).order_by(IngestKey.id))]
        db.session.remove()
    return result


def create_key(client, world):
    """Press 'Create a key'; the answer and the plain key it shows."""
    answer = client.post(keys_path(world),
                         data={"csrf_token": csrf_token(client, keys_path(world))})
    found = re.search(r'<code class="ingest-key">(kki_[^<]+)</code>', answer.text)
    return answer, found.group(1) if found else None


def send(client, key):
    return client.post("/api/v1/alerts", data=json.dumps(alert("low", "K1")),
                       content_type="application/json",
                       headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def test_a_created_key_is_shown_once_and_works(app, admin, world):
    answer, key = create_key(admin, world)
    assert answer.status_code == 200 and key
    assert key_rows(app) == [(key[:12], False)]
    again = admin.get(keys_path(world))
    assert key not in again.text and f"{key[:12]}…" in again.text
    assert send(app.test_client(), key).status_code == 202


def test_the_list_shows_each_keys_prefix_creation_and_revocation(app, admin, world):
    with app.app_context():
        organization = db.session.get(Organization, world.org_a)
        service.create_ingest_key(organization, now=NOW)
        old = service.create_ingest_key(organization, now=datetime(2026, 1, 5, 0, 0))
        service.revoke_ingest_key(old[:12], now=NOW)
        db.session.remove()
    page = admin.get(keys_path(world) + "?lang=en").text
    assert re.findall(r"<code>(kki_[^<]+)…</code>", page)[1] == old[:12]  # newest first
    assert "2026-01-05 09:00 JST" in page and page.count("2026-11-25 12:00 JST") == 2
    assert page.count('class="inline revoke-key"') == 1  # only the active key can be revoked


def test_revoking_needs_the_confirmation_and_then_refuses_the_key(app, admin, world):
    _, key = create_key(admin, world)
    with app.app_context():
        key_id = db.session.scalar(select(IngestKey.id))
        db.session.remove()
    path = f"/admin/ingest-keys/{key_id}/revoke"
    token = csrf_token(admin, keys_path(world))
    unconfirmed = admin.post(path + "?lang=en", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "This field is required" in unconfirmed.text
    assert key_rows(app) == [(key[:12], False)]
    revoked = admin.post(path, data={"csrf_token": token, "confirm": "y"})
    assert revoked.status_code == 302 and revoked.location.endswith(keys_path(world))
    assert key_rows(app) == [(key[:12], True)]
    assert send(app.test_client(), key).status_code == 401
    twice = admin.post(path, data={"csrf_token": token, "confirm": "y"})
    assert twice.status_code == 409 and key_rows(app) == [(key[:12], True)]


def test_posts_without_csrf_change_nothing(app, admin, world):
    _, key = create_key(admin, world)
    assert admin.post(keys_path(world)).status_code == 400
    assert admin.post("/admin/ingest-keys/1/revoke", data={"confirm": "y"}).status_code == 400
    assert key_rows(app) == [(key[:12], False)]


def test_an_unknown_key_or_organization_is_404(admin, world):
    token = csrf_token(admin, keys_path(world))
    assert admin.post("/admin/ingest-keys/999/revoke",
                      data={"csrf_token": token, "confirm": "y"}).status_code == 404
    assert admin.get("/admin/organizations/999999/ingest-keys").status_code == 404


def test_a_dispatcher_may_not_see_create_or_revoke_keys(app, login, world):
    with app.app_context():
        service.create_ingest_key(db.session.get(Organization, world.org_a))
        key_id = db.session.scalar(select(IngestKey.id))
        db.session.remove()
    client = login(world.emails["dispatcher"])
    assert client.get(keys_path(world)).status_code == 403
    token = csrf_token(client, "/desk/")  # the session's token (the log-out form's)
    assert client.post(keys_path(world), data={"csrf_token": token}).status_code == 403
    assert client.post(f"/admin/ingest-keys/{key_id}/revoke",
                       data={"csrf_token": token, "confirm": "y"}).status_code == 403
    assert "ingest-keys" not in client.get(
        f"/admin/organizations/{world.org_a}/contracts").text
    with app.app_context():
        assert db.session.scalar(select(func.count(IngestKey.id))) == 1
        assert db.session.scalars(select(IngestKey)).one().revoked_at is None
        db.session.remove()
