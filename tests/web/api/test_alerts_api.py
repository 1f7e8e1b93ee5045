"""POST /api/v1/alerts: ingest-key authentication, formats, limits, and concurrent senders."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, Incident, IngestKey, Notification, Organization, RejectedPayload
from app.services.monitoring import ingest as service
from tests.web.api.test_incidents_api import assert_error

SAMPLES = Path(__file__).parents[2] / "samples" / "alerts"
URL = "/api/v1/alerts"


def counts(app):
    """Rows of every table the ingest writes."""
    with app.app_context():
        result = tuple(db.session.scalar(select(func.count()).select_from(model)) for model in
                       (Alert, Incident, Notification, RejectedPayload, IngestKey))
        db.session.remove()
    return result


@pytest.fixture
def key(app, world):
    """An ingest key of org A."""
    with app.app_context():
        plain = service.create_ingest_key(db.session.get(Organization, world.org_a))
        db.session.remove()
    return plain


def send(client, key, body, content_type="application/json"):
    return client.post(URL, data=body, content_type=content_type,
                       headers={"Authorization": f"Bearer {key}"})


def generic(severity, rule_id, host="pc-01"):
    """One generic JSON alert (a dict)."""
    return {"source": "edr", "sensor": "edr-0042", "severity": severity, "rule_id": rule_id,
            "rule_name": f"Rule {rule_id}", "hosts": [host], "addresses": ["192.168.10.5"],
            "occurred_at": "2026-11-25T02:59:00+09:00"}


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.*")))
def test_each_sample_format_is_accepted_with_202(client, key, sample):
    content_type = "text/plain; charset=utf-8" if sample.endswith(".cef") else "application/json"
    response = send(client, key, (SAMPLES / sample).read_bytes(), content_type)
    assert response.status_code == 202, response.json
    assert response.json["incidents_created"] == 1
    [alert] = response.json["alerts"]
    assert alert["new"] is True and alert["count"] == 1 and alert["incident_id"]


def test_a_repeat_is_answered_with_the_same_alert_counted(client, key):
    body = json.dumps(generic("low", "R1"))
    first = send(client, key, body).json["alerts"][0]
    second = send(client, key, body)
    assert second.status_code == 202
    assert second.json == {"alerts": [{**first, "count": 2, "new": False}],
                           "incidents_created": 0, "results": [
                               {"line": 1, "outcome": "repeat", "reason": "",
                                "alert_id": first["id"]}]}


def test_cef_lines_are_one_alert_each(client, key):
    lines = (SAMPLES / "fortigate_ips.cef").read_bytes() + \
        (SAMPLES / "fortigate_virus.cef").read_bytes()
    response = send(client, key, lines, "text/plain")
    assert response.status_code == 202 and len(response.json["alerts"]) == 2


def test_a_batch_with_a_bad_record_stores_the_rest_and_answers_each_records_outcome(
        app, client, key):
    before = counts(app)
    body = json.dumps([generic("low", "R1"), {"source": "edr"}, generic("low", "R1")])
    response = send(client, key, body)
    assert response.status_code == 202
    [stored] = {a["id"] for a in response.json["alerts"]}
    assert response.json["results"] == [
        {"line": 1, "outcome": "accepted", "reason": "", "alert_id": stored},
        {"line": 2, "outcome": "refused",
         "reason": "severity is missing or not a non-empty string", "alert_id": None},
        {"line": 3, "outcome": "repeat", "reason": "", "alert_id": stored}]
    assert counts(app) == (before[0] + 1, *before[1:3], before[3] + 1, before[4])


def test_a_body_of_only_bad_records_is_422_with_each_lines_reason_and_is_kept(
        app, client, key):
    before = counts(app)
    response = send(client, key, json.dumps([{"source": "edr"}]))
    assert response.status_code == 422
    assert response.json["error"]["details"]["results"] == [
        {"line": 1, "outcome": "refused",
         "reason": "severity is missing or not a non-empty string", "alert_id": None}]
    assert counts(app) == (*before[:3], before[3] + 1, before[4])


def test_broken_json_is_422_and_kept_not_a_generic_400(app, client, key):
    response = send(client, key, (SAMPLES / "malformed" / "broken.json").read_bytes())
    assert response.status_code == 422 and counts(app)[3] == 1


def test_an_oversized_body_is_413_and_changes_nothing(app, client, key):
    before = counts(app)
    response = send(client, key, b" " * (1024 * 1024 + 1))
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    assert counts(app) == before


def test_the_size_limit_comes_from_the_configuration(app, client, key, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_MAX_BYTES", 100)
    response = send(client, key, json.dumps(generic("low", "R" * 100)))
    assert response.status_code == 413


@pytest.mark.parametrize("header", [None, "Bearer kki_wrong", "Basic a2tpOng="])
def test_a_missing_or_wrong_key_is_401_and_changes_nothing(app, client, key, header):
    before = counts(app)
    headers = {"Authorization": header} if header else {}
    response = client.post(URL, data=json.dumps(generic("critical", "R1")),
                           content_type="application/json", headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert counts(app) == before


def test_a_user_api_token_is_not_an_ingest_key(app, client, key, world):
    before = counts(app)
    response = send(client, world.tokens["admin"], json.dumps(generic("critical", "R1")))
    assert response.status_code == 401 and counts(app) == before


def test_a_revoked_key_is_401_and_changes_nothing(app, client, key, runner):
    assert runner.invoke(args=["ingest-key", "revoke", key[:12]]).exit_code == 0
    before = counts(app)
    response = send(client, key, json.dumps(generic("critical", "R1")))
    assert response.status_code == 401 and counts(app) == before


def test_the_cli_prints_a_working_key_for_an_organization_code(app, client, world, runner):
    with app.app_context():
        code = db.session.get(Organization, world.org_a).code
        db.session.remove()
    result = runner.invoke(args=["ingest-key", "create", code])
    assert result.exit_code == 0
    plain = result.output.strip()
    assert plain.startswith("kki_") and "\n" not in plain
    assert send(client, plain, json.dumps(generic("low", "R1"))).status_code == 202


def test_the_cli_refuses_an_unknown_organization_and_prefix(app, runner, world):
    before = counts(app)
    assert runner.invoke(args=["ingest-key", "create", "no-such-org"]).exit_code != 0
    assert runner.invoke(args=["ingest-key", "revoke", "kki_nothing1"]).exit_code != 0
    assert counts(app) == before


def test_concurrent_senders_end_with_one_alert_per_distinct_alert(app, key):
    # 8 senders x 10 batches of the same 5 alerts (one critical): 400 records in all.
    # PostgreSQL: the organization row lock; SQLite: BEGIN IMMEDIATE (app/__init__.py).
    batch = json.dumps([generic("critical" if i == 0 else "low", f"R{i}") for i in range(5)])

    def sender(_):
        client = app.test_client()
        return [send(client, key, batch).status_code for _ in range(10)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for result in pool.map(sender, range(8)) for s in result]
    assert statuses == [202] * 80
    with app.app_context():
        alerts = db.session.scalars(select(Alert)).all()
        incidents = db.session.scalar(select(func.count(Incident.id)))
        db.session.remove()
    assert len(alerts) == 5 and sum(a.count for a in alerts) == 400
    assert sorted(a.count for a in alerts) == [80] * 5 and incidents == 1


# ---------------------------------------------------------------- GET /api/v1/alerts


@pytest.fixture
def stored(app, world):
    """Alerts of both organizations: org A a critical edr alert (with its incident) and two
    low wazuh ones, org B a high one; {name: alert id}."""
    now = datetime(2026, 11, 25, 3, 0)
    wazuh = [{**generic("low", f"W{n}"), "source": "wazuh"} for n in range(2)]
    with app.app_context():
        keys = [service.create_ingest_key(db.session.get(Organization, org))
                for org in (world.org_a, world.org_b)]
        a = service.ingest(keys[0], "application/json",
                           json.dumps([generic("critical", "C1"), *wazuh]).encode(), now=now)
        b = service.ingest(keys[1], "application/json",
                           json.dumps(generic("high", "H1", host="srv-b")).encode(), now=now)
        ids = [entry["id"] for entry in a.as_json()["alerts"] + b.as_json()["alerts"]]
        db.session.remove()
    return dict(zip(("a_critical", "a_wazuh_0", "a_wazuh_1", "b_high"), ids, strict=True))


def listed(client, query=""):
    answer = client.get(f"{URL}{query}")
    assert answer.status_code == 200, answer.text
    return answer.json


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin"])
def test_staff_list_every_organizations_alerts_newest_first(api, stored, role):
    body = listed(api(role))
    assert [a["id"] for a in body["items"]] == sorted(stored.values(), reverse=True)
    assert body["next_cursor"] is None


def test_an_alert_shows_its_sightings_and_its_incident(api, stored, world):
    [item] = listed(api("desk"), "?severity=critical")["items"]
    assert item["id"] == stored["a_critical"] and item["organization_id"] == world.org_a
    assert item["incident_id"] and item["incident_reference"].startswith("INC-2026-")
    assert (item["count"], item["first_seen_at"], item["last_seen_at"], item["occurred_at"]) \
        == (1, "2026-11-25T03:00:00Z", "2026-11-25T03:00:00Z", "2026-11-24T17:59:00Z")
    assert (item["hosts"], item["rule_id"], item["source"]) == (["pc-01"], "C1", "edr")


def test_a_customer_sees_only_its_own_organizations_alerts(api, stored, world):
    own = [a["id"] for a in listed(api("customer"))["items"]]
    assert sorted(own) == sorted(v for k, v in stored.items() if k.startswith("a_"))
    other = listed(api("other_customer"))["items"]
    assert [a["id"] for a in other] == [stored["b_high"]]
    assert listed(api("customer"), f"?organization_id={world.org_b}")["items"] == []


@pytest.mark.parametrize("role", ["technician", "insurer"])
def test_technicians_and_insurers_may_not_list_alerts(api, stored, role):
    assert_error(api(role).get(URL), 403, "forbidden")


def test_listing_needs_a_user_token_not_an_ingest_key(client, key, stored):
    answer = client.get(URL, headers={"Authorization": f"Bearer {key}"})
    assert_error(answer, 401, "unauthorized")


@pytest.mark.parametrize(("query", "names"), [
    ("?source=wazuh", ["a_wazuh_1", "a_wazuh_0"]),
    ("?severity=low", ["a_wazuh_1", "a_wazuh_0"]),
    ("?severity=high", ["b_high"]),
    ("?organization_id={org_b}", ["b_high"]),
    ("?organization_id={org_a}&source=edr", ["a_critical"]),
    ("?source=fortigate", []),
])
def test_the_filters_narrow_the_list(api, stored, world, query, names):
    query = query.format(org_a=world.org_a, org_b=world.org_b)
    assert [a["id"] for a in listed(api("admin"), query)["items"]] == \
        [stored[name] for name in names]


def test_the_cursor_walks_every_page_once(api, stored):
    desk, seen, query = api("desk"), [], "?limit=3"
    while True:
        body = listed(desk, query)
        seen += [a["id"] for a in body["items"]]
        if body["next_cursor"] is None:
            break
        query = f"?limit=3&cursor={body['next_cursor']}"
    assert seen == sorted(stored.values(), reverse=True)


@pytest.mark.parametrize("query", ["?severity=urgent", "?limit=0", "?limit=201",
                                   "?cursor=not-a-cursor", "?organization_id=x",
                                   "?colour=blue", "?source=" + "x" * 33])
def test_bad_list_queries_are_422(api, stored, query):
    assert_error(api("desk").get(f"{URL}{query}"), 422, "validation_error")
