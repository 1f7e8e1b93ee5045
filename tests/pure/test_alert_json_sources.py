"""Wazuh as shipped (alerts.json NDJSON, the indexer's _source and hits wrappers, levels
0-16, srcip forms, Windows/Office 365/syscheck fields) and the vendor JSON adapters
(Defender for Endpoint, Elastic Security, CrowdStrike Falcon, Vision One), each detected by
shape or named by `source`; samples written from the published field names."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.alerts.parsers import SOURCES, Context, parse_lines, parse_payload, parse_record
from app.domain.alerts.severity import WAZUH_LEVELS, wazuh_severity

VENDORS = Path(__file__).parents[1] / "samples" / "alerts" / "vendors"
RECEIVED = datetime(2026, 12, 6, 1, 0, 30, tzinfo=UTC)
CONTEXT = Context(RECEIVED, default_sensor="key-sensor")
TEN_JST = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def read(name, content_type="application/json", context=CONTEXT):
    """{line: alert} of a vendor sample; every record must be readable."""
    outcomes = parse_payload(content_type, (VENDORS / name).read_bytes(), context)
    assert [o.reason for o in outcomes] == [""] * len(outcomes)
    return {o.line: o.alert for o in outcomes}


def wazuh(**changes):
    """A minimal Wazuh alert with changes merged in."""
    return {"timestamp": "2026-12-06T10:00:00.000+0900",
            "rule": {"level": 10, "description": "d", "id": "1"},
            "agent": {"id": "001", "name": "pc-01"}, "manager": {"name": "wazuh-manager"},
            **changes}


# ---------------------------------------------------------------- Wazuh


def test_alerts_json_lines_are_read_as_ndjson_with_their_line_numbers():
    alerts = read("wazuh_alerts.json", "application/x-ndjson")
    assert sorted(alerts) == [1, 2, 4, 5, 6, 7, 8, 9]  # line 3 is blank
    assert [alerts[n].rule_id for n in (1, 2, 4)] == ["31151", "5710", "60602"]


def test_a_level_16_alert_is_critical_and_srcip_with_a_port_is_its_address():
    alert = read("wazuh_alerts.json", "application/x-ndjson")[1]
    assert (alert.level, alert.severity) == (16, "critical")
    assert alert.addresses == ("192.0.2.30", "203.0.113.50")
    assert alert.occurred_at == datetime(2026, 12, 6, 1, 0, 0, 123000, tzinfo=UTC)
    assert alert.identity == ("/.env",)  # data.url


@pytest.mark.parametrize(("srcip", "addresses"), [
    ("203.0.113.5", ("203.0.113.5",)),
    ("203.0.113.5:51234", ("203.0.113.5",)),
    ("[2001:db8::5]:40022", ("2001:db8::5",)),
    ("2001:db8::5", ("2001:db8::5",)),
    ("unknown", ()),
    ("-", ()),
    ("attacker.example.net", ()),
])
def test_srcip_in_every_form_wazuh_writes(srcip, addresses):
    alert = parse_record(wazuh(data={"srcip": srcip}), CONTEXT)
    assert alert.addresses == addresses


def test_windows_eventdata_gives_the_attacker_address_and_the_users():
    alert = read("wazuh_alerts.json", "application/x-ndjson")[5]
    assert alert.addresses == ("192.0.2.61", "198.51.100.23")
    assert alert.users == ("Administrator",)  # subjectUserName "-" is no user


def test_office_365_gives_the_user_and_the_client_address():
    alert = read("wazuh_alerts.json", "application/x-ndjson")[6]
    assert (alert.users, alert.addresses) == (("tanaka@example.co.jp",), ("203.0.113.88",))


def test_syscheck_alerts_for_different_files_have_different_identities():
    alerts = read("wazuh_alerts.json", "application/x-ndjson")
    assert (alerts[7].identity, alerts[8].identity) == (("/etc/passwd",), ("/etc/shadow",))
    registry = parse_record(wazuh(syscheck={"path": "HKEY_LOCAL_MACHINE\\Software\\Run",
                                            "value_name": "evil"}), CONTEXT)
    assert registry.identity == ("HKEY_LOCAL_MACHINE\\Software\\Run", "evil")


def test_rule_groups_are_kept_for_the_noise_policy():
    alerts = read("wazuh_alerts.json", "application/x-ndjson")
    assert alerts[4].groups == ("windows", "windows_application")
    assert alerts[9].groups == ("sca",)


def test_an_indexer_search_response_gives_each_hits_source_with_its_timestamp():
    alerts = read("wazuh_indexer_hits.json")
    assert [(a.rule_id, a.time_source, a.severity) for a in alerts.values()] == [
        ("52502", "@timestamp", "critical"), ("503", "@timestamp", "low")]
    assert alerts[1].occurred_at == TEN_JST


def test_a_single_source_wrapper_is_unwrapped():
    body = json.dumps({"_index": "wazuh-alerts", "_id": "x", "_source": wazuh()}).encode()
    [outcome] = parse_payload("application/json", body, CONTEXT)
    assert outcome.alert.rule_id == "1" and json.loads(outcome.alert.raw) == wazuh()


def test_without_a_manager_the_sensor_falls_back_to_the_agent_then_the_key():
    assert parse_record(wazuh(manager=None), CONTEXT).sensor == "pc-01"
    alert = {**wazuh(), "agent": {"id": "000"}}
    del alert["manager"]
    assert parse_record(alert, CONTEXT).sensor == "key-sensor"


@pytest.mark.parametrize(("level", "severity"), [
    (0, "low"), (4, "low"), (5, "medium"), (7, "medium"), (8, "high"), (11, "high"),
    (12, "critical"), (15, "critical"), (16, "critical"), ("9", "high")])
def test_wazuh_levels_map_through_the_documented_table(level, severity):
    rule = {"level": level, "description": "d", "id": "1"}
    assert parse_record(wazuh(rule=rule), CONTEXT).severity == severity


@pytest.mark.parametrize("level", [17, -1, 9.5, True, None, "high"])
def test_wazuh_levels_outside_0_to_16_are_refused(level):
    rule = {"level": level, "description": "d", "id": "1"}
    [outcome] = parse_payload("application/json", json.dumps(wazuh(rule=rule)).encode(),
                              CONTEXT)
    assert outcome.reason.startswith("rule.level") and "0-16" in outcome.reason


def test_a_contract_can_override_the_level_table():
    assert wazuh_severity(9) == "high"
    assert wazuh_severity(9, {"9": "medium"}) == "medium"
    assert wazuh_severity(10, {"9": "medium"}) == "high"


def test_the_wazuh_table_in_the_docs_is_the_one_in_the_code():
    docs = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()
    bands = {}
    for level, severity in WAZUH_LEVELS.items():
        bands.setdefault(severity, []).append(level)
    for severity, levels in bands.items():
        assert f"| {min(levels)}–{max(levels)} | {severity} |" in docs


# ---------------------------------------------------------------- vendor JSON


def test_a_defender_for_endpoint_alert_list_is_read_with_its_evidence():
    [alert] = read("defender_alerts.json").values()
    assert (alert.source, alert.severity, alert.rule_name, alert.hosts) == (
        "defender", "high", "Low-reputation arbitrary code executed by signed executable",
        ("pc-soumu-01.example.local",))
    assert (alert.addresses, alert.users) == (("198.51.100.30",), ("tanaka",))
    assert (alert.time_source, alert.identity) == (
        "firstEventTime", ("da637472900382838869_1364969609",))
    assert alert.occurred_at == datetime(2026, 12, 6, 0, 58, 11, 782085, tzinfo=UTC)


def test_elastic_detection_alerts_are_read_dotted_or_nested():
    dotted, nested = read("elastic_alerts.ndjson", "application/x-ndjson").values()
    assert (dotted.source, dotted.severity, dotted.hosts, dotted.users) == (
        "elastic", "high", ("pc-keiri-03",), ("suzuki",))
    assert (dotted.time_source, dotted.occurred_at) == ("kibana.alert.original_time", TEN_JST)
    assert (nested.rule_name, nested.severity, nested.hosts) == (
        "Unusual Network Connection via RunDLL32", "critical", ("pc-eigyo-07",))
    assert nested.addresses == ("192.0.2.45", "198.51.100.200")


def test_a_crowdstrike_detection_is_read_with_its_device_and_behaviors():
    [alert] = read("crowdstrike_detections.json").values()
    assert (alert.source, alert.severity, alert.rule_id, alert.hosts) == (
        "crowdstrike", "high", "T1003", ("PC-SOUMU-01",))
    assert alert.rule_name == "Credential Access / OS Credential Dumping"
    assert alert.addresses == ("192.0.2.61", "203.0.113.61") and alert.users == ("tanaka",)
    assert alert.identity[0] == "ldt:4f2a8b6c1d3e4f5a6b7c8d9e0f1a2b3c:4295011451"
    assert alert.occurred_at == datetime(2026, 12, 6, 1, 0, 0, 123456, tzinfo=UTC)


def test_a_vision_one_workbench_alert_is_read_with_its_impact_scope():
    [alert] = read("visionone_workbench.json").values()
    assert (alert.source, alert.severity, alert.rule_name) == (
        "visionone", "high", "Possible Credential Dumping via Registry")
    assert (alert.hosts, alert.addresses, alert.users) == (
        ("pc-keiri-03",), ("192.0.2.53",), ("EXAMPLE\\suzuki",))
    assert alert.identity == ("WB-14-20261206-00001",) and alert.occurred_at == TEN_JST


def test_vision_one_v2_workbench_ids_and_host_lists_are_read_too():
    record = {"workbenchId": "WB-9-20261206-00002", "model": "Ransomware Behavior",
              "severity": "critical", "createdTime": "2026-12-06T01:00:00Z",
              "impactScope": {"hosts": [{"hostName": "nas-01", "ips": ["192.0.2.99"]}],
                              "accounts": ["tanaka"]}}
    alert = parse_record(record, CONTEXT)
    assert (alert.source, alert.hosts, alert.addresses, alert.users) == (
        "visionone", ("nas-01",), ("192.0.2.99",), ("tanaka",))


@pytest.mark.parametrize(("name", "content_type", "source"), [
    ("defender_alerts.json", "application/json", "defender"),
    ("elastic_alerts.ndjson", "application/x-ndjson", "elastic"),
    ("crowdstrike_detections.json", "application/json", "crowdstrike"),
    ("visionone_workbench.json", "application/json", "visionone"),
    ("wazuh_indexer_hits.json", "application/json", "wazuh"),
])
def test_naming_the_source_reads_the_same_as_detecting_it(name, content_type, source):
    named = read(name, content_type, Context(RECEIVED, "key-sensor", source))
    assert named == read(name, content_type)
    assert {alert.source for alert in named.values()} == {source}


def test_a_named_source_that_does_not_fit_refuses_each_record_with_the_reason():
    body = (VENDORS / "defender_alerts.json").read_bytes()
    [outcome] = parse_payload("application/json", body, Context(RECEIVED, None, "crowdstrike"))
    assert outcome.reason == "detection_id (or composite_id) is missing"
    assert set(SOURCES) == {"generic", "wazuh", "defender", "elastic", "crowdstrike",
                            "visionone"}


@pytest.mark.parametrize(("record", "reason"), [
    ({"detectionSource": "WindowsDefenderAv", "machineId": "m", "id": "x", "title": "t",
      "severity": "Severe"}, "severity 'Severe' is not one of"),
    ({"kibana.alert.rule.name": "r", "kibana.alert.risk_score": 101},
     "neither kibana.alert.severity nor a kibana.alert.risk_score 0-100"),
    ({"detection_id": "d", "max_severity": "high"},
     "neither max_severity_displayname nor a max_severity 0-100"),
    ({"workbenchId": "w", "severity": "high"}, "id (or workbenchId) and model are required"),
    ({"detectionSource": "x", "machineId": "m", "id": "x", "severity": "High"},
     "title is missing"),
])
def test_vendor_records_missing_what_they_need_are_refused_with_the_reason(record, reason):
    [outcome] = parse_payload("application/json", json.dumps(record).encode(), CONTEXT)
    assert outcome.reason.startswith(reason)


KEYS = st.sampled_from([
    "rule", "level", "agent", "manager", "name", "id", "description", "groups", "timestamp",
    "@timestamp", "data", "srcip", "win", "eventdata", "ipAddress", "office365", "ClientIP",
    "syscheck", "path", "_source", "hits", "detectionSource", "computerDnsName", "machineId",
    "title", "severity", "evidence", "firstEventTime", "kibana.alert.rule.name",
    "kibana.alert.severity", "kibana.alert.risk_score", "kibana", "alert", "host.name",
    "detection_id", "device", "hostname", "behaviors", "max_severity",
    "max_severity_displayname", "created_timestamp", "workbenchId", "model", "impactScope",
    "entities", "entityType", "entityValue", "ips", "source", "sensor", "rule_id", "rule_name",
    "occurred_at", "hosts", "addresses"])
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2**70), st.floats(allow_nan=False),
              st.sampled_from(["high", "Very-High", "12", "16", "2026-12-06T01:00:00Z",
                               "Dec 06 10:00:00", "1796518800000", "192.0.2.1:80", "unknown",
                               "host", "", "\ud800"]), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(KEYS, children, max_size=5)), max_leaves=12)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # a shared machine
@given(st.dictionaries(KEYS, VALUES, max_size=8), st.sampled_from([None, *SOURCES]))
def test_any_json_record_is_either_an_alert_or_a_refusal_with_a_reason(record, source):
    [outcome] = parse_lines([json.dumps(record)], Context(RECEIVED, "key-sensor", source))
    if outcome.alert is None:
        assert outcome.reason
        return
    alert = outcome.alert
    assert alert.severity in ("critical", "high", "medium", "low") and alert.sensor
    assert all(isinstance(value, str) for value in (*alert.hosts, *alert.addresses,
                                                    *alert.users, *alert.identity))
