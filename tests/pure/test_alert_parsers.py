"""Alert payloads in every accepted format become the exact NormalizedAlert; bad ones say why."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.alerts.parsers import (
    AlertFormatError,
    NormalizedAlert,
    dedup_key,
    parse_cef_line,
    parse_generic,
    parse_payload,
    parse_wazuh,
)

SAMPLES = Path(__file__).parents[1] / "samples" / "alerts"


def sample(name):
    """A sample payload's bytes."""
    return (SAMPLES / name).read_bytes()


def compact(name):
    """A JSON sample as the compact JSON kept in NormalizedAlert.raw."""
    return json.dumps(json.loads(sample(name)), ensure_ascii=False, separators=(",", ":"))


def cef(extension="rt=1732504202000 dvchost=fw01", header="CEF:0|Vendor|Product|1.0|100|Name|5|"):
    """A minimal CEF line."""
    return header + extension


def format_error(content_type, name):
    """The AlertFormatError raised for a malformed sample."""
    with pytest.raises(AlertFormatError) as caught:
        parse_payload(content_type, sample(f"malformed/{name}"))
    return caught.value


def test_a_wazuh_sshd_brute_force_alert_is_high_on_the_agent_host_with_the_attacker_address():
    assert parse_payload("application/json", sample("wazuh_sshd_brute_force.json")) == [
        NormalizedAlert(
            source="wazuh", sensor="wazuh-manager", severity="high", rule_id="5712",
            rule_name="sshd: brute force trying to get access to the system. Non existent user.",
            hosts=("web-srv01",), addresses=("192.168.10.21", "203.0.113.45"),
            occurred_at=datetime(2024, 11, 25, 3, 3, 41, 512000, tzinfo=UTC),
            raw=compact("wazuh_sshd_brute_force.json"))]


def test_a_wazuh_virustotal_malware_alert_at_level_12_is_critical():
    assert parse_wazuh(json.loads(sample("wazuh_virustotal_malware.json"))) == NormalizedAlert(
        source="wazuh", sensor="wazuh-manager", severity="critical", rule_id="87105",
        rule_name="VirusTotal: Alert - c:\\users\\tanaka\\downloads\\invoice_1125.exe"
                  " - 52 engines detected this file",
        hosts=("pc-keiri-03",), addresses=("192.168.10.53",),
        occurred_at=datetime(2024, 11, 25, 5, 20, 5, 31000, tzinfo=UTC),
        raw=compact("wazuh_virustotal_malware.json"))


def test_a_fortigate_ips_cef_line_with_a_syslog_prefix_and_epoch_ms_time_parses():
    line = sample("fortigate_ips.cef").decode().rstrip("\n")
    assert parse_payload("text/plain; charset=utf-8", sample("fortigate_ips.cef")) == [
        NormalizedAlert(
            source="Fortinet Fortigate", sensor="fw01", severity="high", rule_id="16384",
            rule_name="utm:ips signature", hosts=("web-srv01",),
            addresses=("203.0.113.77", "192.168.10.21"),
            occurred_at=datetime(2024, 11, 25, 3, 10, 2, tzinfo=UTC), raw=line)]


def test_a_fortigate_virus_cef_line_with_a_dated_jst_time_parses():
    line = sample("fortigate_virus.cef").decode().rstrip("\n")
    assert parse_cef_line(line) == NormalizedAlert(
        source="Fortinet Fortigate", sensor="fw01", severity="high", rule_id="8192",
        rule_name="utm:virus infected blocked", hosts=("pc-keiri-03",),
        addresses=("192.168.10.53", "198.51.100.23"),
        occurred_at=datetime(2024, 11, 25, 5, 31, 17, tzinfo=UTC), raw=line)


def test_a_generic_edr_alert_parses_with_addresses_in_canonical_form():
    assert parse_payload("application/json", sample("generic_edr.json")) == [NormalizedAlert(
        source="edr", sensor="edr-cloud-tenant-0042", severity="critical",
        rule_id="EDR-RANSOM-001", rule_name="Ransomware behaviour: mass file encryption",
        hosts=("pc-soumu-01",), addresses=("192.168.10.61", "fe80::1"),
        occurred_at=datetime(2024, 11, 25, 5, 44, 10, tzinfo=UTC),
        raw=compact("generic_edr.json"))]


def test_a_json_array_mixing_wazuh_and_generic_alerts_gives_one_alert_each_in_order():
    body = b"[" + sample("generic_edr.json") + b"," + sample("wazuh_sshd_brute_force.json") + b"]"
    alerts = parse_payload("application/json", body)
    assert [alert.rule_id for alert in alerts] == ["EDR-RANSOM-001", "5712"]


def test_blank_lines_between_cef_lines_are_ignored():
    body = sample("fortigate_ips.cef") + b"\r\n\n" + sample("fortigate_virus.cef") + b"\n\n"
    assert [a.rule_id for a in parse_payload("text/plain", body)] == ["16384", "8192"]


def test_broken_json_is_refused_as_record_0_saying_where():
    error = format_error("application/json", "broken.json")
    assert error.index == 0
    assert "not JSON" in error.reason and "line 3" in error.reason


def test_a_generic_alert_missing_its_sensor_is_named_by_its_array_index():
    error = format_error("application/json", "generic_missing_sensor.json")
    assert (error.index, error.reason) == (1, "sensor is missing or not a non-empty string")
    assert str(error) == "record 1: sensor is missing or not a non-empty string"


def test_a_generic_alert_with_an_unknown_severity_is_refused():
    error = format_error("application/json", "generic_wrong_severity.json")
    assert (error.index, error.reason) == (
        0, "severity 'urgent' is not one of critical, high, medium, low")


def test_a_timestamp_without_a_zone_is_refused_rather_than_guessed():
    error = format_error("application/json", "generic_naive_timestamp.json")
    assert (error.index, error.reason) == (0, "occurred_at has no time zone")
    error = format_error("text/plain", "cef_naive_rt.cef")
    assert (error.index, error.reason) == (0, "rt has no time zone")


def test_a_wazuh_level_outside_0_to_15_is_refused():
    error = format_error("application/json", "wazuh_level_out_of_range.json")
    assert (error.index, error.reason) == (0, "rule.level '16' is not an integer 0-15")


def test_a_bad_cef_header_is_named_by_its_line_number_counting_blank_lines():
    error = format_error("text/plain", "cef_bad_header.cef")
    assert (error.index, error.reason) == (2, "CEF header has 4 of 7 fields")


@pytest.mark.parametrize(("content_type", "body", "reason"), [
    ("application/xml", b"<alert/>", "unsupported content type 'application/xml'"),
    ("application/json", b"[]", "the JSON array holds no alerts"),
    ("application/json", b"[1]", "an alert must be a JSON object, not int"),
    ("application/json", b'{"rule": {}, "agent": {}}', "manager is missing or not an object"),
    ("text/plain", b"\n \n", "the body holds no CEF lines"),
    ("text/plain", b"hello", 'not a CEF line: no "CEF:" header'),
    ("text/plain", b"\xff\xfe", "body is not UTF-8 (byte 0)"),
])
def test_payloads_that_are_not_alerts_are_refused_with_the_reason(content_type, body, reason):
    with pytest.raises(AlertFormatError) as caught:
        parse_payload(content_type, body)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(("level", "severity"), [
    (0, "low"), (4, "low"), (5, "medium"), (7, "medium"), (8, "high"), (11, "high"),
    (12, "critical"), (15, "critical")])
def test_wazuh_levels_map_to_severities_at_the_documented_boundaries(level, severity):
    alert = json.loads(sample("wazuh_sshd_brute_force.json"))
    alert["rule"]["level"] = level
    assert parse_wazuh(alert).severity == severity


@pytest.mark.parametrize(("value", "severity"), [
    ("0", "low"), ("3", "low"), ("4", "medium"), ("6", "medium"), ("7", "high"), ("8", "high"),
    ("9", "critical"), ("10", "critical"), ("Low", "low"), ("Medium", "medium"),
    ("High", "high"), ("Very-High", "critical")])
def test_cef_severities_map_at_the_documented_boundaries(value, severity):
    assert parse_cef_line(cef(header=f"CEF:0|V|P|1|9|N|{value}|")).severity == severity


@pytest.mark.parametrize("value", ["11", "-1", "Critical", "", "7.5"])
def test_cef_severities_outside_the_scale_are_refused(value):
    with pytest.raises(AlertFormatError, match="CEF severity"):
        parse_cef_line(cef(header=f"CEF:0|V|P|1|9|N|{value}|"))


def test_escaped_pipes_and_backslashes_in_the_header_are_unescaped():
    alert = parse_cef_line(cef(header=r"CEF:0|Acme\|Labs|Sensor\\X|1.0|sig\|1|a\\b\|c|3|"))
    assert (alert.source, alert.rule_id, alert.rule_name) == (
        "Acme|Labs Sensor\\X", "sig|1", "a\\b|c")


def test_escaped_equals_backslash_and_newline_in_extension_values_are_unescaped():
    alert = parse_cef_line(cef(r"shost=a\=b\\c\nd dhost=x y rt=1732504202000 dvchost=fw\\01"))
    assert alert.hosts == ("a=b\\c\nd", "x y")
    assert alert.sensor == "fw\\01"


def test_a_pipe_in_an_extension_value_needs_no_escape():
    assert parse_cef_line(cef("shost=a|b rt=0 dvchost=fw01")).hosts == ("a|b",)


def test_the_sensor_falls_back_to_device_id_then_the_syslog_host():
    assert parse_cef_line(cef("rt=0 deviceExternalId=FG100F")).sensor == "FG100F"
    assert parse_cef_line("<134>Nov 25 12:00:00 fw02 " + cef("rt=0")).sensor == "fw02"
    assert parse_cef_line("<134>1 2024-11-25T12:00:00+09:00 fw03 - - - - " + cef("rt=0")) \
        .sensor == "fw03"


@pytest.mark.parametrize(("rt", "expected"), [
    ("1732504202000", datetime(2024, 11, 25, 3, 10, 2, tzinfo=UTC)),
    ("Nov 25 2024 12:10:02 UTC", datetime(2024, 11, 25, 12, 10, 2, tzinfo=UTC)),
    ("Nov 25 2024 12:10:02.250 JST", datetime(2024, 11, 25, 3, 10, 2, 250000, tzinfo=UTC)),
    ("Jan 1 2025 08:00:00 +09:00", datetime(2024, 12, 31, 23, 0, tzinfo=UTC)),
])
def test_cef_times_in_both_forms_become_utc(rt, expected):
    assert parse_cef_line(cef(f"rt={rt} dvchost=fw01")).occurred_at == expected


@pytest.mark.parametrize(("extension", "reason"), [
    ("dvchost=fw01", "no event time: none of rt, end, start"),
    ("rt=0", "no sensor: none of dvchost, deviceExternalId, syslog host, dvc"),
    ("rt=Feb 30 2024 10:00:00 UTC dvchost=fw01", "rt is not a valid date"),
    ("rt=Nov 25 2024 10:00:00 CET dvchost=fw01", "rt has an unknown time zone 'CET'"),
    ("rt=yesterday dvchost=fw01", "rt is not epoch ms or 'MMM dd yyyy HH:mm:ss'"),
    ("rt=0 dvchost=fw01 src=10.0.0.999", "src is not an IP address"),
    ("garbage rt=0 dvchost=fw01", "CEF extension has text before its first key"),
])
def test_bad_cef_extensions_are_refused_with_the_reason(extension, reason):
    with pytest.raises(AlertFormatError) as caught:
        parse_cef_line(cef(extension))
    assert caught.value.reason.startswith(reason)


def test_an_unsupported_cef_version_is_refused():
    with pytest.raises(AlertFormatError, match="unsupported CEF version '2'"):
        parse_cef_line(cef(header="CEF:2|V|P|1|9|N|5|"))


def test_the_dedup_key_ignores_host_order_and_case_but_not_the_organization_or_rule():
    alert = parse_generic(json.loads(sample("generic_edr.json")))
    same = NormalizedAlert(**{**alert.__dict__, "hosts": ("PC-B", "pc-a"), "raw": "other"})
    swapped = NormalizedAlert(**{**same.__dict__, "hosts": ("pc-a", "pc-b")})
    assert dedup_key(1, same) == dedup_key(1, swapped)
    assert len(dedup_key(1, same)) == 64
    assert dedup_key(2, same) != dedup_key(1, same)
    assert dedup_key(1, alert) != dedup_key(1, same)
    other_rule = NormalizedAlert(**{**same.__dict__, "rule_id": "EDR-RANSOM-002"})
    assert dedup_key(1, other_rule) != dedup_key(1, same)


def test_without_hosts_the_dedup_key_uses_the_addresses():
    alert = parse_generic(json.loads(sample("generic_edr.json")))
    a = NormalizedAlert(**{**alert.__dict__, "hosts": (), "addresses": ("10.0.0.1",)})
    b = NormalizedAlert(**{**alert.__dict__, "hosts": (), "addresses": ("10.0.0.2",)})
    assert dedup_key(1, a) != dedup_key(1, b)


CEF_PIECES = st.sampled_from(
    ["CEF:", "CEF:0|", "|", "\\", "\\|", "\\=", "=", " ", "rt=", "src=", "dst=", "dvchost=",
     "shost=", "1732504202000", "Nov 25 2024 12:00:00", " +09:00", " JST", "10", "Very-High",
     "999.1.1.1", "::1", "\n", "<134>", "Nov 25 12:00:00 fw01 ", "0"])


@given(st.one_of(st.text(), st.lists(st.one_of(CEF_PIECES, st.text(max_size=5))).map("".join)))
def test_any_text_either_parses_or_raises_alert_format_error(text):
    try:
        alert = parse_cef_line(text)
    except AlertFormatError:
        return
    assert alert.severity in ("critical", "high", "medium", "low")
    assert alert.occurred_at.tzinfo is UTC
