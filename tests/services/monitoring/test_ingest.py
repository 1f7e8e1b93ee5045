"""The ingest service: keys, deduplication in a window, the severity policy, refusals."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from app.errors import InvalidInput, NotFound, Unauthorized
from app.extensions import db
from app.models import Alert, Incident, IngestKey, Notification, Organization, RejectedPayload
from app.services.monitoring import ingest as service
from app.services.monitoring import storms
from app.testkit import factories

SAMPLES = Path(__file__).parents[2] / "samples" / "alerts"
NOW = datetime(2026, 11, 25, 3, 0)


def generic(severity="low", rule_id="NET-SCAN-01", host="pc-01"):
    """A generic JSON alert body."""
    return json.dumps({"source": "edr", "sensor": "edr-0042", "severity": severity,
                       "rule_id": rule_id, "rule_name": "Port scan from the LAN",
                       "hosts": [host], "addresses": ["192.168.10.5"],
                       "occurred_at": "2026-11-25T02:59:00Z"}).encode()


def counts():
    """Rows of every table the ingest writes."""
    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in
                 (Alert, Incident, Notification, RejectedPayload, IngestKey))


@pytest.fixture
def world_key(ctx):
    """Org A's ingest key (and the world with a desk user)."""
    world = factories.make_world()
    return world, service.create_ingest_key(db.session.get(Organization, world["org_a"]))


def test_a_created_key_is_stored_only_as_its_hash(world_key):
    _, key = world_key
    stored = db.session.scalars(select(IngestKey)).one()
    assert key.startswith("kki_") and stored.prefix == key[:12]
    assert key not in stored.key_hash and len(stored.key_hash) == 64


@pytest.mark.parametrize("sample", ["generic_edr.json", "wazuh_sshd_brute_force.json",
                                    "wazuh_virustotal_malware.json", "fortigate_ips.cef",
                                    "fortigate_virus.cef"])
def test_each_sample_format_is_stored_as_a_new_alert_with_an_incident(world_key, sample):
    world, key = world_key
    content_type = "text/plain" if sample.endswith(".cef") else "application/json"
    result = service.ingest(key, content_type, (SAMPLES / sample).read_bytes(), now=NOW)
    body = result.as_json()
    assert body["incidents_created"] == 1 and body["alerts"][0]["new"] is True
    alert = db.session.get(Alert, body["alerts"][0]["id"])
    assert alert.organization_id == world["org_a"] and alert.count == 1 and alert.raw
    incident = db.session.get(Incident, alert.incident_id)
    assert (incident.channel, incident.discovery_source, incident.category) == \
        ("monitoring", "alert", "suspicious_traffic")
    assert incident.severity == alert.severity and alert.rule_name in incident.summary
    pages = db.session.scalars(select(Notification).where(
        Notification.template == "desk_alert")).all()
    assert [page.recipient for page in pages] == [world["emails"]["desk"]]
    assert pages[0].incident_id == incident.id and incident.reference in pages[0].body


def test_a_repeat_within_the_window_counts_on_the_alert_and_its_incident(world_key):
    _, key = world_key
    first = service.ingest(key, "application/json", generic("critical"), now=NOW).as_json()
    later = NOW + timedelta(minutes=59)
    again = service.ingest(key, "application/json", generic("critical"), now=later).as_json()
    assert again["alerts"][0] == {**first["alerts"][0], "count": 2, "new": False}
    assert again["incidents_created"] == 0
    alert = db.session.get(Alert, first["alerts"][0]["id"])
    assert (alert.first_seen_at, alert.last_seen_at) == (NOW, later)
    assert db.session.scalar(select(func.count(Incident.id))) == 1


def test_repeats_keep_sliding_the_window_from_the_last_sighting(world_key):
    _, key = world_key
    for minutes in (0, 50, 100, 150):
        result = service.ingest(key, "application/json", generic(),
                                now=NOW + timedelta(minutes=minutes))
    assert result.as_json()["alerts"][0]["count"] == 4
    assert db.session.scalar(select(func.count(Alert.id))) == 1


def test_a_repeat_after_the_window_is_a_new_alert_and_a_new_incident(world_key):
    _, key = world_key
    first = service.ingest(key, "application/json", generic("high"), now=NOW).as_json()
    late = NOW + timedelta(minutes=61)
    second = service.ingest(key, "application/json", generic("high"), now=late).as_json()
    assert second["alerts"][0]["new"] is True and second["incidents_created"] == 1
    assert second["alerts"][0]["id"] != first["alerts"][0]["id"]
    assert db.session.scalar(select(func.count(Incident.id))) == 2


def test_the_window_comes_from_the_configuration(world_key, app, monkeypatch):
    _, key = world_key
    monkeypatch.setitem(app.config, "ALERT_DEDUP_WINDOW_MINUTES", 5)
    service.ingest(key, "application/json", generic(), now=NOW)
    result = service.ingest(key, "application/json", generic(), now=NOW + timedelta(minutes=6))
    assert result.as_json()["alerts"][0]["new"] is True


def test_repeats_in_one_batch_count_on_one_alert(world_key):
    _, key = world_key
    body = b"[" + b",".join([generic("critical")] * 3 + [generic(rule_id="OTHER")]) + b"]"
    result = service.ingest(key, "application/json", body, now=NOW).as_json()
    assert [a["new"] for a in result["alerts"]] == [True, False, False, True]
    assert result["alerts"][0]["count"] == 3 and result["incidents_created"] == 1
    assert db.session.scalar(select(func.count(Alert.id))) == 2


@pytest.mark.parametrize("severity", ["medium", "low"])
def test_an_alert_below_the_policy_is_kept_for_the_reports_only(world_key, severity):
    _, key = world_key
    result = service.ingest(key, "application/json", generic(severity), now=NOW).as_json()
    assert result["incidents_created"] == 0 and result["alerts"][0]["incident_id"] is None
    assert counts()[:3] == (1, 0, 0)


def test_the_severity_policy_comes_from_the_configuration(world_key, app, monkeypatch):
    _, key = world_key
    monkeypatch.setitem(app.config, "ALERT_INCIDENT_SEVERITIES", ("critical",))
    result = service.ingest(key, "application/json", generic("high"), now=NOW).as_json()
    assert result["incidents_created"] == 0


@pytest.mark.parametrize("sample", sorted(p.name for p in (SAMPLES / "malformed").iterdir()))
def test_a_malformed_payload_is_kept_and_refused_with_its_reason(world_key, sample):
    _, key = world_key
    content_type = "text/plain" if sample.endswith(".cef") else "application/json"
    body = (SAMPLES / "malformed" / sample).read_bytes()
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        service.ingest(key, content_type, body, now=NOW)
    assert refused.value.status == 422 and refused.value.details["reason"]
    assert counts() == (*before[:3], before[3] + 1, before[4])
    kept = db.session.scalars(select(RejectedPayload)).one()
    assert kept.body.encode() == body[:65536] and kept.size == len(body)
    assert kept.reason and kept.received_at == NOW


def test_a_batch_stores_its_good_records_and_keeps_each_bad_one_with_its_line(world_key):
    _, key = world_key
    bad = b'{"source": "edr"}'
    body = b"[" + generic("critical") + b", " + bad + b", " + generic(rule_id="R2") + b"]"
    result = service.ingest(key, "application/json", body, now=NOW).as_json()
    assert [(r["line"], r["outcome"]) for r in result["results"]] == [
        (1, "accepted"), (2, "refused"), (3, "accepted")]
    assert result["results"][1]["reason"] == "severity is missing or not a non-empty string"
    assert result["results"][1]["alert_id"] is None
    assert [a["id"] for a in result["alerts"]] == [
        result["results"][0]["alert_id"], result["results"][2]["alert_id"]]
    assert counts()[:4] == (2, 1, 1, 1)
    kept = db.session.scalars(select(RejectedPayload)).one()
    assert (kept.line, kept.body) == (2, '{"source":"edr"}')
    assert kept.reason == "line 2: severity is missing or not a non-empty string"


def test_cef_lines_are_numbered_by_their_line_in_the_body_blank_lines_counted(world_key):
    _, key = world_key
    body = (SAMPLES / "mixed" / "cef_one_bad_header.cef").read_bytes()
    result = service.ingest(key, "text/plain", body, now=NOW).as_json()
    assert [(r["line"], r["outcome"]) for r in result["results"]] == [
        (1, "accepted"), (3, "refused")]
    assert result["results"][1]["reason"] == "CEF header has 4 of 7 fields"
    assert db.session.scalars(select(RejectedPayload)).one().line == 3


def test_a_batch_of_only_bad_records_is_422_with_every_lines_reason_and_kept_whole(world_key):
    _, key = world_key
    body = b'[{"source": "edr"}, 7]'
    with pytest.raises(InvalidInput) as refused:
        service.ingest(key, "application/json", body, now=NOW)
    assert [(r["line"], r["outcome"]) for r in refused.value.details["results"]] == [
        (1, "refused"), (2, "refused")]
    assert refused.value.details["results"][1]["reason"] == \
        "an alert must be a JSON object, not int"
    kept = db.session.scalars(select(RejectedPayload)).one()
    assert (kept.line, kept.body) == (None, body.decode())
    assert counts()[:3] == (0, 0, 0)


def test_a_repeat_keeps_the_newest_raw_records_as_samples(world_key, app, monkeypatch):
    _, key = world_key
    monkeypatch.setitem(app.config, "ALERT_SAMPLES", 3)
    bodies = [json.dumps({**json.loads(generic()), "note": n}).encode() for n in range(5)]
    for minutes, body in enumerate(bodies):
        result = service.ingest(key, "application/json", body,
                                now=NOW + timedelta(minutes=minutes)).as_json()
    alert = db.session.get(Alert, result["alerts"][0]["id"])
    assert alert.count == 5 and json.loads(alert.raw)["note"] == 0
    assert [json.loads(sample)["note"] for sample in alert.samples] == [2, 3, 4]


def test_a_kept_body_is_cut_at_64_kib(world_key):
    _, key = world_key
    body = b"x" * 100_000
    with pytest.raises(InvalidInput):
        service.ingest(key, "text/plain", body, now=NOW)
    kept = db.session.scalars(select(RejectedPayload)).one()
    assert len(kept.body) == 65536 and kept.size == 100_000


def test_an_oversized_body_is_refused_and_nothing_is_kept(world_key, app):
    _, key = world_key
    before = counts()
    with pytest.raises(service.PayloadTooLarge):
        service.ingest(key, "application/json", b" " * (1024 * 1024 + 1), now=NOW)
    assert counts() == before


@pytest.mark.parametrize("bad_key", ["", "kki_unknown", "kkt_something"])
def test_an_unknown_key_is_unauthorized_and_nothing_is_kept(world_key, bad_key):
    before = counts()
    with pytest.raises(Unauthorized):
        service.ingest(bad_key, "application/json", generic("critical"), now=NOW)
    assert counts() == before


def test_a_revoked_key_is_unauthorized(world_key):
    _, key = world_key
    assert service.revoke_ingest_key(key[:12], now=NOW) == 1
    before = counts()
    with pytest.raises(Unauthorized):
        service.ingest(key, "application/json", generic("critical"), now=NOW)
    assert counts() == before


def test_revoking_needs_the_whole_prefix(world_key):
    _, key = world_key
    with pytest.raises(NotFound):
        service.revoke_ingest_key(key[:6])
    assert db.session.scalars(select(IngestKey)).one().revoked_at is None


@pytest.fixture
def statements(app):
    """The SQL statements sent to the database while the test runs (executemany once)."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield sent
    event.remove(db.engine, "before_cursor_execute", record)


def test_a_batch_finds_its_twins_with_one_select_and_adds_its_alerts_with_one_insert(
        world_key, statements, dialect):
    _, key = world_key
    seen = [generic(rule_id=f"SEEN-{n}") for n in range(30)]
    service.ingest(key, "application/json", b"[" + b",".join(seen) + b"]", now=NOW)
    fresh = [generic(rule_id=f"NEW-{n}") for n in range(40)]
    body = b"[" + b",".join(seen + fresh + seen[:5] + fresh[:5]) + b"]"
    statements.clear()
    result = service.ingest(key, "application/json", body, now=NOW + timedelta(minutes=1))
    on_alerts = [s for s in statements if " alert " in f"{s} " or "INTO alert " in s]
    assert [s.split()[0] for s in on_alerts if "FROM alert" in s] == ["SELECT"]
    # SQLite cannot promise RETURNING rows in insert order, so SQLAlchemy sends its INSERTs
    # one by one there (in the same transaction); PostgreSQL gets one multi-row INSERT.
    inserts = [s for s in on_alerts if s.startswith("INSERT INTO alert ")]
    assert len(inserts) == (1 if dialect == "postgresql" else 40)
    assert len([s for s in on_alerts if s.startswith("UPDATE alert ")]) == 1
    answer = result.as_json()["alerts"]
    assert [a["new"] for a in answer] == [False] * 30 + [True] * 40 + [False] * 10
    assert [a["count"] for a in answer[:31]] == [3] * 5 + [2] * 25 + [2]
    assert db.session.scalar(select(func.count(Alert.id))) == 70


def test_keys_beyond_one_in_list_are_found_all_the_same(world_key, monkeypatch):
    # SQLite looks them up KEYS_PER_SELECT at a time; PostgreSQL in one array anyway.
    _, key = world_key
    monkeypatch.setattr(service, "KEYS_PER_SELECT", 3)
    first = [generic(rule_id=f"R{n}") for n in range(0, 10, 2)]
    service.ingest(key, "application/json", b"[" + b",".join(first) + b"]", now=NOW)
    every = [generic(rule_id=f"R{n}") for n in range(10)]
    result = service.ingest(key, "application/json", b"[" + b",".join(every) + b"]",
                            now=NOW).as_json()
    assert [a["new"] for a in result["alerts"]] == [False, True] * 5
    assert db.session.scalar(select(func.count(Alert.id))) == 10


def test_an_alert_its_incident_and_the_desk_page_are_one_commit(world_key, monkeypatch):
    _, key = world_key

    def page_fails(*args, **kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(storms, "page_desk", page_fails)
    before = counts()
    with pytest.raises(RuntimeError):
        service.ingest(key, "application/json", generic("critical"), now=NOW)
    db.session.rollback()
    assert counts() == before  # no alert without its incident, no incident without its alert
