"""Storms and noise: a burst of one rule family is one incident and one page; new incidents
per organization per hour are capped with one storm notice; the contract's policy keeps noise
(rule groups, levels) out of incidents and may remap Wazuh levels; dedup keeps apart events
that the identity tells apart."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Alert,
    Contract,
    Incident,
    IncidentEvent,
    IngestKey,
    Notification,
    Organization,
    RejectedPayload,
)
from app.services.monitoring import ingest as service
from app.testkit import factories

NOW = datetime(2026, 12, 6, 1, 0)  # 10:00 JST


@pytest.fixture
def world(ctx):
    return factories.make_world()


@pytest.fixture
def key(world):
    return service.create_ingest_key(db.session.get(Organization, world["org_a"]))


def ips_lines(sources, attack="HTTP.URI.SQL.Injection", start=0):
    """FortiGate IPS lines (severity 8, high) of one attack from each source address."""
    return "\n".join(
        f"<185>Dec  6 10:00:00 FGT60F CEF:0|Fortinet|Fortigate|v7.2.8|16384|utm:ips signature|"
        f"8|FTNTFGTeventtime=1796518800000000000 src=198.51.{n // 250}.{n % 250 + 1} "
        f"dst=192.0.2.10 FTNTFGTattack={attack}" for n in range(start, start + sources))


def send(key, text, now=NOW, content_type="text/plain"):
    return service.ingest(key, content_type, text.encode(), now=now).as_json()


def pages(template):
    """The distinct pages of a template (each goes to every desk user by e-mail and SMS)."""
    keys = db.session.scalars(select(Notification.dedupe_key).where(
        Notification.template == template)).all()
    return {key.rsplit(":", 2)[0] for key in keys}


def contract_policy(world, **policy):
    row = db.session.scalars(select(Contract).where(
        Contract.organization_id == world["org_a"])).one()
    row.alert_policy = policy
    db.session.commit()


def test_a_burst_of_one_attack_from_many_sources_is_one_incident_paged_once(key):
    result = send(key, ips_lines(60))
    assert [r["outcome"] for r in result["results"]] == ["accepted"] * 60
    assert result["incidents_created"] == 1
    alerts = db.session.scalars(select(Alert)).all()
    [incident_id] = {alert.incident_id for alert in alerts}
    assert len(alerts) == 60 and incident_id is not None
    assert len(pages("desk_alert")) == 1
    [burst] = db.session.scalars(select(IncidentEvent).where(
        IncidentEvent.kind == "alert_burst")).all()
    assert burst.incident_id == incident_id
    assert (burst.data["joined"], burst.data["alerts"], burst.data["rule_id"]) == (59, 60, "16384")
    assert len(burst.data["sources"]) == 50 and burst.data["more_sources"] == 10
    assert "198.51.0.2" in burst.data["sources"] and "198.51.0.1" not in burst.data["sources"]


def test_a_burst_continues_across_batches_within_the_window_and_ends_after_it(key, app):
    first = send(key, ips_lines(5))
    later = send(key, ips_lines(5, start=5), now=NOW + timedelta(minutes=29))
    assert later["incidents_created"] == 0
    assert {a["incident_id"] for a in later["alerts"]} == {first["alerts"][0]["incident_id"]}
    quiet = NOW + timedelta(minutes=29 + 31)  # the window runs from the family's last alert
    after = send(key, ips_lines(5, start=10), now=quiet)
    assert after["incidents_created"] == 1
    assert db.session.scalar(select(func.count(Incident.id))) == 2
    assert len(pages("desk_alert")) == 2


def test_an_incident_the_desk_has_closed_takes_no_more_of_its_burst(key):
    first = send(key, ips_lines(2))
    incident = db.session.get(Incident, first["alerts"][0]["incident_id"])
    incident.state = "closed"  # as the desk's close trigger leaves it
    db.session.commit()
    later = send(key, ips_lines(2, start=2), now=NOW + timedelta(minutes=5))
    assert later["incidents_created"] == 1
    assert later["alerts"][0]["incident_id"] != incident.id


def test_the_burst_window_comes_from_the_configuration(key, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_BURST_WINDOW_MINUTES", 5)
    send(key, ips_lines(2))
    assert send(key, ips_lines(2, start=2), now=NOW + timedelta(minutes=6))[
        "incidents_created"] == 1


def test_other_rule_families_are_not_part_of_a_burst(key):
    result = send(key, "\n".join([ips_lines(1), ips_lines(1, start=1).replace(
        "16384|utm:ips signature", "8192|utm:virus infected blocked")]))
    assert result["incidents_created"] == 2


def test_new_incidents_per_hour_are_capped_with_one_storm_notice(key, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_INCIDENTS_PER_HOUR", 3)
    lines = [ips_lines(1, start=n).replace("|16384|", f"|{16384 + n}|") for n in range(5)]
    result = send(key, "\n".join(lines))
    assert result["incidents_created"] == 3
    assert [a["incident_id"] is not None for a in result["alerts"]] == [True] * 3 + [False] * 2
    assert db.session.scalar(select(func.count(Alert.id))) == 5  # all kept for the reports
    assert pages("alert_storm") == {f"alert_storm:{key_org(key)}:2026120610"}
    notice = db.session.scalars(select(Notification).where(
        Notification.template == "alert_storm", Notification.channel == "email")).first()
    assert "アラート 2 件" in notice.subject and notice.incident_id is None
    more = [line.replace("|1638", "|2638") for line in lines]
    again = send(key, "\n".join(more), now=NOW + timedelta(minutes=30))
    assert again["incidents_created"] == 0 and len(pages("alert_storm")) == 1
    next_hour = send(key, "\n".join(line.replace("|1638", "|3638") for line in lines),
                     now=NOW + timedelta(minutes=61))
    assert next_hour["incidents_created"] == 3 and len(pages("alert_storm")) == 2


def key_org(key):
    return db.session.scalars(select(Alert.organization_id)).first()


def wazuh(level, groups, rule_id, **data):
    return json.dumps({"timestamp": "2026-12-06T10:00:00+09:00",
                       "rule": {"level": level, "description": f"Rule {rule_id}", "id": rule_id,
                                "groups": groups},
                       "agent": {"id": "004", "name": "pc-soumu-01"},
                       "manager": {"name": "wazuh-manager"}, **data})


NOISE = [wazuh(9, ["windows", "windows_application"], "60602"), wazuh(9, ["sca"], "19007"),
         wazuh(10, ["rootcheck", "policy_monitoring"], "512"),
         wazuh(10, ["windows", "windows_security"], "60204")]


def test_by_default_non_security_noise_is_stored_and_counted_but_opens_no_incident(key):
    result = send(key, "\n".join(NOISE), content_type="application/x-ndjson")
    assert [a["incident_id"] is not None for a in result["alerts"]] == [False, False, False, True]
    assert result["incidents_created"] == 1
    assert db.session.scalar(select(func.count(Alert.id))) == 4


def test_a_contract_may_exclude_other_groups_and_levels_or_none(key, world):
    contract_policy(world, exclude_groups=[], exclude_levels=[10])
    result = send(key, "\n".join(NOISE), content_type="application/x-ndjson")
    assert [a["incident_id"] is not None for a in result["alerts"]] == [True, True, False, False]


def test_a_contract_may_remap_wazuh_levels_and_the_alert_keeps_its_remapped_severity(
        key, world):
    contract_policy(world, wazuh_levels={"10": "medium"})
    result = send(key, NOISE[3], content_type="application/x-ndjson")
    assert result["incidents_created"] == 0
    assert db.session.get(Alert, result["alerts"][0]["id"]).severity == "medium"


def test_three_file_integrity_alerts_for_different_files_stay_three_alerts(key):
    lines = [wazuh(7, ["syscheck"], "550", syscheck={"path": path})
             for path in ("/etc/passwd", "/etc/shadow", "/etc/passwd")]
    result = send(key, "\n".join(lines), content_type="application/x-ndjson")
    assert [r["outcome"] for r in result["results"]] == ["accepted", "accepted", "repeat"]
    assert db.session.scalar(select(func.count(Alert.id))) == 2


def test_two_fortigate_attacks_under_one_signature_id_stay_two_alerts(key):
    lines = ips_lines(1) + "\n" + ips_lines(1, attack="Apache.Log4j.RCE") + "\n" + ips_lines(1)
    result = send(key, lines)
    assert [r["outcome"] for r in result["results"]] == ["accepted", "accepted", "repeat"]


# ---------------------------------------------------------------- syslog lines


class Key:
    """An IngestKey as the receiver may hold it, with or without the default sensor field."""

    def __init__(self, row, sensor=None):
        self.organization_id, self.prefix, self.sensor = row.organization_id, row.prefix, sensor


def stored_key(key_plain):
    return db.session.scalars(select(IngestKey).where(
        IngestKey.prefix == key_plain[:12])).one()


def test_syslog_lines_take_the_same_path_with_per_line_outcomes(key):
    lines = [ips_lines(1), "<134>Dec  6 10:00:01 fw01 not cef at all", ips_lines(1)]
    result = service.ingest_lines(stored_key(key), lines, sender="192.0.2.254", now=NOW)
    assert [(r["line"], r["outcome"]) for r in result.results] == [
        (1, "accepted"), (2, "refused"), (3, "repeat")]
    kept = db.session.scalars(select(RejectedPayload)).one()
    assert (kept.line, kept.content_type) == (2, "syslog from 192.0.2.254")
    assert kept.body == lines[1]


def test_syslog_lines_that_name_no_sensor_get_the_keys_then_the_senders(key):
    line = "CEF:0|Trend Micro|Apex One|14.0|100|Ransomware|9|rt=1796518800000"
    row = stored_key(key)
    service.ingest_lines(row, [line], sender="192.0.2.254", now=NOW)
    service.ingest_lines(Key(row, sensor="utm-honsha"), [line.replace("|100|", "|101|")],
                         sender="192.0.2.254", now=NOW)
    assert db.session.scalars(select(Alert.sensor).order_by(Alert.id)).all() == [
        "192.0.2.254", "utm-honsha"]


def test_a_syslog_batch_of_only_bad_lines_is_kept_and_raises_nothing(key):
    result = service.ingest_lines(stored_key(key), ["junk", "CEF:0|x\x00"], sender="192.0.2.1",
                                  now=NOW)
    assert [r["outcome"] for r in result.results] == ["refused", "refused"]
    assert [r.body for r in db.session.scalars(select(RejectedPayload).order_by(
        RejectedPayload.id))] == ["junk", "CEF:0|x\\u0000"]
